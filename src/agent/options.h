// line-worker's command line: the flags, their defaults, --help text and validation.
//
// Plain values; ParseWorkerArgs is a pure function of argv and the environment (passed in, so
// tests need no real environment). Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace line::agent {

struct WorkerOptions {
  // lined's address; default $LINE_SERVER, else libline's default (http://127.0.0.1:8080).
  std::string server;
  std::string pool_id;                // required
  int64_t capacity = 0;               // required, 1..2^31-1
  std::string datasets_dir;           // "" = none; its entries' names are datasets
  std::vector<std::string> datasets;  // --dataset, repeatable; always listed
  std::string exec;                   // required: run with /bin/sh -c for each alloc
  std::chrono::seconds grace{30};     // after SIGTERM, how long running commands may finish
  std::string log_level = "info";     // spdlog level name
};

// What the command line asked for: run with `options`, print help, or fail with `error`
// (usage error: exit code 2).
struct ParsedArgs {
  WorkerOptions options;
  bool help = false;
  std::string error;  // "" = none
};

// Reads an environment variable; nullopt when unset.
using GetEnv = std::function<std::optional<std::string>(const std::string&)>;

// Accepts "--flag value" and "--flag=value". Validates every field (messages name the flag and
// the value).
ParsedArgs ParseWorkerArgs(const std::vector<std::string>& args, const GetEnv& get_env);

// The --help text.
std::string WorkerUsage();

}  // namespace line::agent
