#include "agent/options.h"

#include <charconv>
#include <limits>
#include <string_view>

#include "agent/dataset_dir.h"

namespace line::agent {
namespace {

constexpr int64_t kMaxCapacity = std::numeric_limits<int32_t>::max();

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

bool IsLogLevel(const std::string& level) {
  for (const char* known : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (level == known) return true;
  }
  return false;
}

}  // namespace

std::string WorkerUsage() {
  return R"(usage: line-worker --pool POOL --capacity N --exec CMD [options]

Registers with lined as a worker of POOL offering N units of capacity, heartbeats, receives
allocations and runs CMD (with /bin/sh -c) for each, then reports its exit code and output.

  --server URL         lined's address (default $LINE_SERVER, else http://127.0.0.1:8080)
  --pool POOL          the pool to join (required)
  --capacity N         units of capacity, 1..2147483647 (required)
  --exec CMD           the command run for each alloc (required)
  --datasets-dir DIR   the names of DIR's entries are the datasets this worker holds
                       (re-read at every heartbeat; hidden and invalid names are skipped)
  --dataset NAME       a dataset this worker holds; repeatable
  --grace SECONDS      after SIGTERM/SIGINT, how long running commands may finish before they
                       are killed and reported failed (default 30)
  --log-level LEVEL    trace, debug, info (default), warn, error
  --help               this text

The command's environment has LINE_POOL_ID, LINE_ALLOC_ID, LINE_EVAL_ID, LINE_DATASET,
LINE_SIZE, LINE_ATTEMPT and LINE_PAYLOAD (the eval's payload as JSON text). A non-zero exit
reports the alloc failed (the eval is retried); a command killed by signal N exits 128+N.
Exit codes: 0 after a clean shutdown, 1 when lined refuses the registration, 2 usage.
)";
}

ParsedArgs ParseWorkerArgs(const std::vector<std::string>& args, const GetEnv& get_env) {
  ParsedArgs parsed;
  WorkerOptions& o = parsed.options;
  if (std::optional<std::string> server = get_env("LINE_SERVER")) o.server = *server;
  bool have_capacity = false;
  auto fail = [&parsed](std::string message) {
    parsed.error = std::move(message);
    return parsed;
  };

  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (size_t eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (flag == "--help" || flag == "-h") {
      parsed.help = true;
      return parsed;
    }
    static const char* const kValued[] = {"--server",  "--pool",  "--capacity",  "--exec",
                                          "--dataset", "--grace", "--log-level", "--datasets-dir"};
    bool known = false;
    for (const char* k : kValued) known = known || flag == k;
    if (!known) return fail("unknown argument: " + args[i]);
    if (!value) {
      if (i + 1 >= args.size()) return fail(flag + " needs a value");
      value = args[++i];
    }
    if (flag == "--server") {
      o.server = *value;
    } else if (flag == "--pool") {
      o.pool_id = *value;
    } else if (flag == "--capacity") {
      std::optional<int64_t> n = ParseInt(*value);
      if (!n || *n < 1 || *n > kMaxCapacity) {
        return fail("--capacity must be an integer from 1 to 2147483647, got '" + *value + "'");
      }
      o.capacity = *n;
      have_capacity = true;
    } else if (flag == "--exec") {
      o.exec = *value;
    } else if (flag == "--datasets-dir") {
      o.datasets_dir = *value;
    } else if (flag == "--dataset") {
      if (!IsValidDatasetId(*value)) {
        return fail("--dataset must be 1-128 characters of [A-Za-z0-9._/-], got '" + *value + "'");
      }
      o.datasets.push_back(*value);
    } else if (flag == "--grace") {
      std::optional<int64_t> n = ParseInt(*value);
      if (!n || *n < 0) return fail("--grace must be an integer >= 0, got '" + *value + "'");
      o.grace = std::chrono::seconds(*n);
    } else if (flag == "--log-level") {
      if (!IsLogLevel(*value))
        return fail(
            "--log-level must be trace, debug, info, warn, "
            "error, critical or off, got '" +
            *value + "'");
      o.log_level = *value;
    }
  }
  if (o.pool_id.empty()) return fail("--pool is required");
  if (!have_capacity) return fail("--capacity is required");
  if (o.exec.empty()) return fail("--exec is required");
  return parsed;
}

}  // namespace line::agent
