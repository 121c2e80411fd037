#include "config/options.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "common/redact.h"

namespace line {
namespace {

// One knob: its flag, its variable, its help, and where it lands in Options.
struct Knob {
  const char* flag;  // without the leading "--"
  const char* env;
  const char* help;
  std::string Options::*text = nullptr;
  int64_t Options::*number = nullptr;
};

const std::vector<Knob>& Knobs() {
  static const std::vector<Knob> knobs = {
      {"deployment", "LINE_DEPLOYMENT", "name prefix of queues (default line)",
       &Options::deployment},
      {"pool-ttl", "LINE_POOL_TTL", "seconds a disbanded pool's data is kept (default 300)",
       nullptr, &Options::pool_ttl},
      {"worker-ttl", "LINE_WORKER_TTL",
       "worker liveness per heartbeat, seconds; up to a tenth (at most 5 s) more (default 30)",
       nullptr, &Options::worker_ttl},
      {"replica-ttl", "LINE_REPLICA_TTL",
       "replica validity per heartbeat, seconds; up to a tenth (at most 5 s) more (default 60)",
       nullptr, &Options::replica_ttl},
      {"alloc-ttl", "LINE_ALLOC_TTL", "alloc life without a heartbeat, seconds; after a heartbeat up to a tenth (at "
       "most 5 s) more (default 30)",
       nullptr, &Options::alloc_ttl},
      {"max-retry", "LINE_MAX_RETRY", "placements before an eval is dead-lettered (default 3)",
       nullptr, &Options::max_retry},
      {"visibility-timeout", "LINE_VISIBILITY_TIMEOUT",
       "seconds before an unacknowledged alloc is delivered again (default 10)", nullptr,
       &Options::visibility_timeout},
      {"max-body", "LINE_MAX_BODY", "largest request body in bytes (default 8388608)", nullptr,
       &Options::max_body},
      {"store", "LINE_STORE",
       "store URL: sqlite:PATH (default sqlite:line-data/line.db; one lined per file) or "
       "postgresql://...; several lined on one PostgreSQL form one scheduler",
       &Options::store},
      {"listen", "LINE_LISTEN",
       "HTTP listen address host:port (default 127.0.0.1:8080); shown as a pool's owner",
       &Options::listen},
      {"threads", "LINE_THREADS", "HTTP I/O threads (default: half the cores, at least 1)", nullptr,
       &Options::threads},
      {"log-level", "LINE_LOG_LEVEL", "debug, info, warn or error (default info)",
       &Options::log_level},
  };
  return knobs;
}

Status Assign(const Knob& knob, const std::string& value, const std::string& source,
              Options& options) {
  if (knob.text != nullptr) {
    options.*knob.text = value;
    return Status::Ok();
  }
  int64_t parsed = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
  if (value.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidInput(source + " must be a whole number, got \"" + value + "\"");
  }
  options.*knob.number = parsed;
  return Status::Ok();
}

}  // namespace

// Half the cores: the store writer, the scheduler and the checkpointer need the other half
// under load, and every I/O thread more than the load needs adds wake-ups of its own (on 2
// cores, 1 I/O thread instead of 2: 10,000 heartbeats/s cost 45-57 % of a core instead of
// 64-70 %, and single requests went 6.8-7.6k -> 8.1k/s; docs/performance.md).
int64_t DefaultThreads() {
  return std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()) / 2);
}

Status Options::Validate() const {
  // Upper bounds keep deadline arithmetic (now + ttl * 1000 ms) far from overflow.
  constexpr int64_t kYear = 365 * 24 * 3600;
  struct Bounded {
    const char* env;
    int64_t value;
    int64_t max;
  };
  for (const Bounded& b : {Bounded{"LINE_POOL_TTL", pool_ttl, kYear},
                           Bounded{"LINE_WORKER_TTL", worker_ttl, kYear},
                           Bounded{"LINE_REPLICA_TTL", replica_ttl, kYear},
                           Bounded{"LINE_ALLOC_TTL", alloc_ttl, 86400},
                           Bounded{"LINE_MAX_RETRY", max_retry, 1000},
                           Bounded{"LINE_VISIBILITY_TIMEOUT", visibility_timeout, kYear},
                           Bounded{"LINE_MAX_BODY", max_body, int64_t{1} << 30},
                           Bounded{"LINE_THREADS", threads, 256}}) {
    if (b.value <= 0 || b.value > b.max) {
      return Status::InvalidInput(std::string(b.env) + " must be from 1 to " +
                                  std::to_string(b.max) + ", got " + std::to_string(b.value));
    }
  }
  if (deployment.empty()) return Status::InvalidInput("LINE_DEPLOYMENT must not be empty");
  if (store.empty()) return Status::InvalidInput("LINE_STORE must not be empty");
  auto colon = listen.rfind(':');
  int64_t port = -1;
  if (colon != std::string::npos && colon > 0) {
    const char* begin = listen.data() + colon + 1;
    const char* end = listen.data() + listen.size();
    auto [ptr, ec] = std::from_chars(begin, end, port);
    if (ec != std::errc() || ptr != end || begin == end) port = -1;
  }
  if (port < 0 || port > 65535) {
    return Status::InvalidInput("LINE_LISTEN must be host:port with a port from 0 to 65535, got \"" +
                                listen + "\"");
  }
  if (log_level != "debug" && log_level != "info" && log_level != "warn" &&
      log_level != "error") {
    return Status::InvalidInput("LINE_LOG_LEVEL must be debug, info, warn or error, got \"" +
                                log_level + "\"");
  }
  return Status::Ok();
}

std::string Options::Describe() const {
  std::ostringstream out;
  bool first = true;
  for (const Knob& knob : Knobs()) {
    if (!first) out << ' ';
    first = false;
    out << knob.env << '=';
    if (knob.text == &Options::store) {
      out << RedactUrl(store);
    } else if (knob.text != nullptr) {
      out << this->*knob.text;
    } else {
      out << this->*knob.number;
    }
  }
  return out.str();
}

Result<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                           const char* (*getenv)(const char*)) {
  ParsedCommandLine parsed;
  // Flags first: a flag wins over its variable, so a variable a flag overrides is never read
  // (not even to complain about it).
  std::vector<const Knob*> set_by_flag;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return Status::InvalidInput("unexpected argument \"" + arg + "\" (see --help)");
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Knob* match = nullptr;
    for (const Knob& knob : Knobs()) {
      if (name == knob.flag) match = &knob;
    }
    if (match == nullptr) {
      return Status::InvalidInput("unknown flag \"--" + name + "\" (see --help)");
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return Status::InvalidInput("flag --" + name + " needs a value");
      }
      value = args[++i];
    }
    LINE_RETURN_IF_ERROR(Assign(*match, value, "--" + name + " (" + match->env + ")",
                                parsed.options));
    set_by_flag.push_back(match);
  }
  for (const Knob& knob : Knobs()) {
    if (std::find(set_by_flag.begin(), set_by_flag.end(), &knob) != set_by_flag.end()) continue;
    if (const char* value = getenv(knob.env); value != nullptr) {
      LINE_RETURN_IF_ERROR(Assign(knob, value, knob.env, parsed.options));
    }
  }
  return parsed;
}

std::string HelpText() {
  std::ostringstream out;
  out << "lined: the line scheduler server (HTTP API, scheduler, expiry sweeper).\n\n"
         "Usage: lined [--flag value]...\n\n"
         "Each flag has an environment variable; the flag wins. Durations are seconds.\n\n";
  for (const Knob& knob : Knobs()) {
    std::string left = std::string("  --") + knob.flag + " / " + knob.env;
    out << left;
    if (left.size() < 44) out << std::string(44 - left.size(), ' ');
    out << ' ' << knob.help << '\n';
  }
  out << "  --help                                       print this text\n";
  return out.str();
}

}  // namespace line
