// Options: every knob of lined, with its default. One table of knobs (options.cc) produces the
// flags, the LINE_* environment variables and --help, so the three never drift apart.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace line {

// Half the cores (at least 1): the default count of HTTP I/O threads.
int64_t DefaultThreads();

struct Options {
  std::string deployment = "line";    // LINE_DEPLOYMENT: prefix of queue names
  int64_t pool_ttl = 300;             // LINE_POOL_TTL: seconds a disbanded pool's data is kept
  int64_t worker_ttl = 30;            // LINE_WORKER_TTL: worker liveness per heartbeat
  int64_t replica_ttl = 60;           // LINE_REPLICA_TTL: replica validity per heartbeat
  int64_t alloc_ttl = 30;             // LINE_ALLOC_TTL: alloc life without a heartbeat
  int64_t max_retry = 3;              // LINE_MAX_RETRY: placements before dead-lettering
  int64_t visibility_timeout = 10;    // LINE_VISIBILITY_TIMEOUT: redelivery of unacked allocs
  int64_t max_body = 8 * 1024 * 1024; // LINE_MAX_BODY: largest request body in bytes
  std::string store = "sqlite:line-data/line.db";  // LINE_STORE
  std::string listen = "127.0.0.1:8080";           // LINE_LISTEN
  int64_t threads = DefaultThreads();  // LINE_THREADS: HTTP I/O threads (default: cores / 2)
  std::string log_level = "info";     // LINE_LOG_LEVEL: debug, info, warn, error

  // Checks ranges; the message names the variable (e.g. "LINE_WORKER_TTL must be ...").
  Status Validate() const;
  // One line listing the effective settings, for the start-up log.
  std::string Describe() const;
};

// What the command line asked for besides running.
struct ParsedCommandLine {
  Options options;
  bool help = false;
};

// Reads LINE_* variables through `getenv`, then flags (`--worker-ttl 5` or `--worker-ttl=5`);
// a flag wins over its variable. Unknown flags, missing values and non-numbers are errors
// naming the flag or the variable. Does not call Validate().
Result<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                           const char* (*getenv)(const char*));

// The text of `lined --help`.
std::string HelpText();

}  // namespace line
