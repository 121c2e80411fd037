// line-bench: a load generator and probe for lined over its HTTP API.
//
//   line-bench [--mode batch|single|latency|heartbeat|memory|exec] [flags]
//              [--server http://127.0.0.1:PORT [--pid PID] | --lined PATH [--store URL]] [--json]
//
// Modes (one file each, line_bench_<file>.cc; defaults per mode in kUsage below):
//   batch, single  closed-loop /ScheduleEvals or /ScheduleEval over keep-alive connections,
//                  then the time until everything accepted is placed (load);
//   latency        submit-to-visible latency: single evals at a fixed --rate while simulated
//                  workers wait in /ReceiveAllocs (latency);
//   heartbeat      lined's CPU while --workers workers heartbeat once a second (heartbeat);
//   memory         lined's RSS growth per worker and per pending eval (memory);
//   exec           evals/s run to completion by real line-worker processes (exec).
// Every mode prints readable rows; --json adds one machine-readable line, the last one, with
// "bench", "mode" and "store" and the mode's figures (scripts/bench.sh collects these).
//
// Without --server it starts its own lined (default ../lined next to this binary, the layout
// of a CMake build directory) on a temporary SQLite store or on --store. Use a Release lined:
// the figures of a sanitizer build say nothing. It only ever talks to 127.0.0.1.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "line_bench_common.h"
#include "line_bench_modes.h"

namespace {

using line::bench::Die;
using line::bench::Flags;
using line::bench::Mode;

constexpr char kUsage[] = R"(usage: line-bench [--mode M] [flags] [--json]
  --mode batch      /ScheduleEvals of --batch evals (1000), closed loop; 4 connections,
                    1,000 workers of ample capacity
  --mode single     /ScheduleEval, closed loop; 64 connections, 1,000 workers
      both: --seconds S (10) --drain-seconds S (120) --workers W --capacity C --datasets D (100)
            --simulate-workers (a thread per worker completing its allocs; 32 x capacity 64)
  --mode latency    /ScheduleEval at --rate R per second (500) over 64 connections, while
                    --workers (4) simulated workers wait in /ReceiveAllocs; reports the time
                    from sending an eval to its alloc reaching a worker
  --mode heartbeat  --workers (10000) heartbeat once a second for --seconds (10) over
                    --connections (128); reports lined's CPU as % of one core
  --mode memory     lined's RSS growth per worker (--workers, 10000) and per pending eval
                    (--evals, 100000)
  --mode exec       --worker-processes K (4) line-worker processes of --capacity (16) running
                    --exec CMD (true) per alloc; --evals (10000) submitted in batches of --batch
                    over 2 connections; reports evals/s from submission to completion;
                    --line-worker PATH (default ../line-worker next to this binary)
  --connections N   keep-alive connections (default per mode, above)
  --server http://127.0.0.1:PORT  use a running lined (--pid PID: its process, for heartbeat
                    and memory); otherwise --lined PATH (default ../lined) is started on a
                    temporary SQLite store, or on --store URL (e.g. postgresql://...)
  --json            print one JSON line of figures last)";

// Accepts http://127.0.0.1:PORT or http://localhost:PORT (trailing slash allowed): the
// benchmark must never load a machine it was not started on.
int ParseServerPort(std::string url) {
  for (const char* prefix : {"http://127.0.0.1:", "http://localhost:"}) {
    std::string p = prefix;
    if (url.rfind(p, 0) == 0) {
      std::string rest = url.substr(p.size());
      if (!rest.empty() && rest.back() == '/') rest.pop_back();
      int port = std::atoi(rest.c_str());
      if (port > 0 && port < 65536 && std::to_string(port) == rest) return port;
    }
  }
  Die("--server must be http://127.0.0.1:PORT (got " + url + ")");
}

std::optional<Mode> ParseMode(const std::string& name) {
  for (Mode m : {Mode::kBatch, Mode::kSingle, Mode::kLatency, Mode::kHeartbeat, Mode::kMemory,
                 Mode::kExec}) {
    if (name == line::bench::ModeName(m)) return m;
  }
  return std::nullopt;
}

std::string NextToBinary(const char* name) {
  return (std::filesystem::canonical("/proc/self/exe").parent_path() / ".." / name)
      .lexically_normal()
      .string();
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  std::optional<int> connections;
  std::optional<double> seconds;
  std::optional<int> workers;
  std::optional<int64_t> capacity;
  std::optional<int64_t> evals;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--simulate-workers") {
      flags.simulate_workers = true;
      continue;
    }
    if (arg == "--json") {
      flags.json = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage << "\n";
      std::exit(0);
    }
    if (i + 1 >= argc) Die("missing value after " + arg + "\n" + kUsage);
    std::string value = argv[++i];
    if (arg == "--mode") {
      std::optional<Mode> mode = ParseMode(value);
      if (!mode)
        Die("--mode is batch, single, latency, heartbeat, memory or exec (got " + value + ")");
      flags.mode = *mode;
    } else if (arg == "--batch") {
      flags.batch = std::atoi(value.c_str());
    } else if (arg == "--connections") {
      connections = std::atoi(value.c_str());
    } else if (arg == "--seconds") {
      seconds = std::atof(value.c_str());
    } else if (arg == "--workers") {
      workers = std::atoi(value.c_str());
    } else if (arg == "--capacity") {
      capacity = std::atoll(value.c_str());
    } else if (arg == "--datasets") {
      flags.datasets = std::atoi(value.c_str());
    } else if (arg == "--server") {
      flags.port = ParseServerPort(value);
    } else if (arg == "--pid") {
      flags.pid = std::atoi(value.c_str());
    } else if (arg == "--lined") {
      flags.lined = value;
    } else if (arg == "--store") {
      flags.store = value;
    } else if (arg == "--drain-seconds") {
      flags.drain_seconds = std::atof(value.c_str());
    } else if (arg == "--rate") {
      flags.rate = std::atof(value.c_str());
    } else if (arg == "--evals") {
      evals = std::atoll(value.c_str());
    } else if (arg == "--worker-processes") {
      flags.worker_processes = std::atoi(value.c_str());
    } else if (arg == "--line-worker") {
      flags.line_worker = value;
    } else if (arg == "--exec") {
      flags.exec = value;
    } else {
      Die("unknown flag " + arg + "\n" + kUsage);
    }
  }

  const Mode mode = flags.mode;
  const bool load = mode == Mode::kBatch || mode == Mode::kSingle;
  int default_connections = 4;
  if (mode == Mode::kSingle) default_connections = 64;
  if (mode == Mode::kLatency) default_connections = 64;
  // Enough in flight that heartbeats gathered for a lazy commit (up to 5 ms) still reach
  // 10,000/s; real workers each hold a connection of their own.
  if (mode == Mode::kHeartbeat) default_connections = 128;
  if (mode == Mode::kExec) default_connections = 2;
  flags.connections = connections.value_or(default_connections);
  flags.seconds = seconds.value_or(10);
  // Simulated workers hold allocs only briefly, so a small capacity keeps placement honest;
  // without them nothing ever frees capacity, so it must outlast the whole run.
  int default_workers = 1000;
  int64_t default_capacity = 1'000'000'000;
  if (load && flags.simulate_workers) {
    default_workers = 32;
    default_capacity = 64;
  }
  if (mode == Mode::kLatency) default_workers = 4;
  if (mode == Mode::kHeartbeat || mode == Mode::kMemory) {
    default_workers = 10'000;
    default_capacity = 64;
  }
  if (mode == Mode::kExec) default_capacity = 16;
  flags.workers = workers.value_or(default_workers);
  flags.capacity = capacity.value_or(default_capacity);
  flags.evals = evals.value_or(mode == Mode::kMemory ? 100'000 : 10'000);
  if (flags.lined.empty()) flags.lined = NextToBinary("lined");
  if (flags.line_worker.empty()) flags.line_worker = NextToBinary("line-worker");

  if (flags.seconds <= 0 || flags.seconds > 3600 || flags.connections < 1 ||
      flags.connections > 1024 || flags.workers < 1 || flags.capacity < 1 || flags.batch < 1 ||
      flags.batch > 10000 || flags.datasets < 1 || flags.drain_seconds < 0 ||
      flags.drain_seconds > 3600 || flags.rate <= 0 || flags.rate > 1e6 || flags.evals < 1 ||
      flags.worker_processes < 1 || flags.worker_processes > 256) {
    Die("out of range: --seconds 0..3600, --connections 1..1024, --workers >= 1, "
        "--capacity >= 1, --batch 1..10000, --datasets >= 1, --drain-seconds 0..3600, "
        "--rate 0..1000000, --evals >= 1, --worker-processes 1..256");
  }
  // One thread per simulated worker, each with its own long-poll connection: more than this
  // would measure the machine's scheduler of threads rather than lined.
  constexpr int kMaxSimulatedWorkers = 512;
  if (((load && flags.simulate_workers) || mode == Mode::kLatency) &&
      flags.workers > kMaxSimulatedWorkers) {
    Die("simulated workers are a thread each: --workers at most " +
        std::to_string(kMaxSimulatedWorkers));
  }
  if (flags.port != 0 && !flags.store.empty()) Die("--store is for the lined it starts itself");
  if (flags.port == 0 && flags.pid != 0) Die("--pid is for --server");
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  line::bench::Target target(flags);
  boost::json::object summary;
  int exit_code = 0;
  switch (flags.mode) {
    case Mode::kBatch:
    case Mode::kSingle:
      exit_code = line::bench::RunLoad(flags, target, &summary);
      break;
    case Mode::kLatency:
      exit_code = line::bench::RunLatency(flags, target, &summary);
      break;
    case Mode::kHeartbeat:
      exit_code = line::bench::RunHeartbeat(flags, target, &summary);
      break;
    case Mode::kMemory:
      exit_code = line::bench::RunMemory(flags, target, &summary);
      break;
    case Mode::kExec:
      exit_code = line::bench::RunExec(flags, target, &summary);
      break;
  }
  target.Finish();
  if (flags.json) {
    boost::json::object line{{"bench", "line-bench"},
                             {"mode", line::bench::ModeName(flags.mode)},
                             {"store", target.store_kind()}};
    for (const auto& [key, value] : summary) line[key] = value;
    std::printf("%s\n", boost::json::serialize(line).c_str());
  }
  return exit_code;
}
