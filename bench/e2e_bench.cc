// End-to-end throughput of a real lined: a pool of 1,000 workers with ample capacity, clients
// POSTing /ScheduleEvals in batches of 1,000 over a few keep-alive connections for a fixed
// time. Reports evals/s acknowledged (durable, 200) and evals/s placed (DescribePool shows no
// pending eval and one live alloc per eval).
//
//   e2e_bench [--lined PATH] [--seconds N] [--connections C] [--workers W] [--batch B]
//             [--store URL]   (e.g. postgresql://postgres@127.0.0.1:PORT/postgres)
//             [--nodes N]     (N lined on the one --store, PostgreSQL only; connection c
//                              talks to node c % N)
//             [--drain-seconds S]  (give up waiting for placement after S s, default 600)
//             [--json]        (one machine-readable line last, for scripts/bench.sh)
//
// PATH defaults to ../lined next to this binary (the layout of a CMake build directory); use a
// Release build of lined, the numbers of a sanitizer build say nothing.
//
// The HTTP client and process launcher are the e2e harness's (line_testkit, GTest-free).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/http_client.h"
#include "testing/lined_process.h"

namespace {

namespace json = boost::json;
using line::testing::HttpClient;
using line::testing::HttpResponse;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string lined;
  double seconds = 10;
  int connections = 4;
  int workers = 1000;
  int batch = 1000;
  std::string store;  // a LINE_STORE URL; empty = SQLite in a temporary folder
  int nodes = 1;      // lined processes sharing --store
  double drain_seconds = 600;
  bool json = false;
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "e2e_bench: " << message << "\n";
  std::exit(1);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") {
      flags.json = true;
      continue;
    }
    if (i + 1 >= argc) Die("missing value after " + arg);
    std::string value = argv[++i];
    if (arg == "--lined") {
      flags.lined = value;
    } else if (arg == "--seconds") {
      flags.seconds = std::atof(value.c_str());
    } else if (arg == "--connections") {
      flags.connections = std::atoi(value.c_str());
    } else if (arg == "--workers") {
      flags.workers = std::atoi(value.c_str());
    } else if (arg == "--batch") {
      flags.batch = std::atoi(value.c_str());
    } else if (arg == "--nodes") {
      flags.nodes = std::atoi(value.c_str());
    } else if (arg == "--store") {
      flags.store = value;
    } else if (arg == "--drain-seconds") {
      flags.drain_seconds = std::atof(value.c_str());
    } else {
      Die("unknown flag " + arg +
          " (usage: e2e_bench [--lined PATH] [--seconds N] [--connections C] [--workers W] "
          "[--batch B] [--store URL] [--nodes N] [--drain-seconds S] [--json])");
    }
  }
  if (flags.lined.empty()) {
    flags.lined = (std::filesystem::canonical("/proc/self/exe").parent_path() / ".." / "lined")
                      .lexically_normal()
                      .string();
  }
  if (flags.seconds <= 0 || flags.connections < 1 || flags.workers < 1 || flags.batch < 1 ||
      flags.batch > 10000 || flags.drain_seconds < 0) {
    Die("--seconds > 0, --connections >= 1, --workers >= 1, --batch 1..10000, "
        "--drain-seconds >= 0");
  }
  return flags;
}

json::object CallOrDie(HttpClient& client, std::string_view path, const json::value& request) {
  HttpResponse r = client.Post(path, request);
  json::value v = r.Json();
  if (r.status != 200 || !v.is_object()) {
    Die("POST " + std::string(path) + " -> " + r.Describe());
  }
  return std::move(v.as_object());
}

int64_t Counter(const json::object& pool, const char* key) {
  const json::value* v = pool.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : -1;
}

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(samples.size() - 1));
  return samples[index];
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);

  line::testing::LinedOptions options;
  options.binary = flags.lined;
  // Nobody heartbeats during the run: TTLs long enough that nothing expires mid-measurement.
  options.env = {{"LINE_WORKER_TTL", "3600"},
                 {"LINE_REPLICA_TTL", "3600"},
                 {"LINE_ALLOC_TTL", "3600"},
                 {"LINE_MAX_BODY", std::to_string(64 << 20)}};
  // The launcher passes --store sqlite:<temp>; a later --store wins.
  if (!flags.store.empty()) options.extra_args = {"--store", flags.store};
  if (flags.nodes < 1) Die("--nodes must be at least 1");
  if (flags.nodes > 1 && !flags.store.starts_with("postgres")) {
    Die("--nodes above 1 needs a shared store: --store postgresql://...");
  }
  std::vector<std::unique_ptr<line::testing::LinedProcess>> nodes;
  std::vector<int> ports;
  for (int n = 0; n < flags.nodes; ++n) {
    nodes.push_back(std::make_unique<line::testing::LinedProcess>(options));
    if (line::Status s = nodes.back()->Start(); !s.ok()) Die(s.message());
    ports.push_back(nodes.back()->port());
  }
  line::testing::LinedProcess& lined = *nodes.front();
  auto port_of = [&ports](int connection) { return ports[connection % ports.size()]; };
  int port = ports.front();

  HttpClient admin("127.0.0.1", port);
  std::string pool_id(CallOrDie(admin, "/CreatePool", json::object{}).at("pool_id").as_string());

  // Workers with ample capacity, each holding one of 100 datasets so placement also weighs
  // locality. Registered from several connections: set-up is not what is measured.
  constexpr int kDatasets = 100;
  constexpr int64_t kCapacity = 1'000'000'000;
  std::atomic<int> next_worker{0};
  std::vector<std::thread> registrars;
  for (int c = 0; c < flags.connections; ++c) {
    registrars.emplace_back([&, c] {
      HttpClient client("127.0.0.1", port_of(c));
      for (int w; (w = next_worker++) < flags.workers;) {
        json::object worker =
            CallOrDie(client, "/RegisterWorker", {{"pool_id", pool_id}, {"capacity", kCapacity}});
        CallOrDie(client, "/SendHeartbeat",
                  {{"pool_id", pool_id},
                   {"worker_id", worker.at("worker_id")},
                   {"allocs", json::array{}},
                   {"datasets", {std::string("d").append(std::to_string(w % kDatasets))}}});
      }
    });
  }
  for (std::thread& t : registrars) t.join();

  // One request body per connection, reused: building JSON is the client's cost, not lined's.
  std::atomic<int64_t> accepted{0};
  std::atomic<bool> failed{false};
  std::mutex latencies_mu;
  std::vector<double> latencies_ms;
  Clock::time_point start = Clock::now();
  Clock::time_point stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(flags.seconds));
  std::vector<std::thread> submitters;
  for (int c = 0; c < flags.connections; ++c) {
    submitters.emplace_back([&, c] {
      json::array evals;
      for (int i = 0; i < flags.batch; ++i) {
        evals.push_back(json::object{
            {"dataset_id", std::string("d").append(std::to_string((c * 7 + i) % kDatasets))},
            {"size", 1},
            {"payload", {{"n", i}}}});
      }
      std::string body = json::serialize(json::object{{"pool_id", pool_id}, {"evals", evals}});
      HttpClient client("127.0.0.1", port_of(c), std::chrono::seconds(120));
      std::vector<double> mine;
      while (Clock::now() < stop_at && !failed) {
        Clock::time_point sent = Clock::now();
        HttpResponse r = client.PostRaw("/ScheduleEvals", body);
        if (r.status != 200) {
          std::cerr << "e2e_bench: ScheduleEvals -> " << r.Describe() << "\n";
          failed = true;
          return;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        accepted += flags.batch;
      }
      std::lock_guard lock(latencies_mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : submitters) t.join();
  Clock::time_point submitted = Clock::now();
  if (failed) Die("a ScheduleEvals call failed; lined log:\n" + lined.LogTail());
  json::object at_submit_end = CallOrDie(admin, "/DescribePool", {{"pool_id", pool_id}});

  // Placement finishes when nothing is pending and every accepted eval holds a live alloc.
  json::object pool;
  Clock::time_point placed_by;
  Clock::time_point give_up =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(flags.drain_seconds));
  bool drained = false;
  while (true) {
    pool = CallOrDie(admin, "/DescribePool", {{"pool_id", pool_id}});
    placed_by = Clock::now();
    if (Counter(pool, "pending_evals") == 0 && Counter(pool, "live_allocs") == accepted) {
      drained = true;
      break;
    }
    if (placed_by > give_up) {
      std::cerr << "e2e_bench: evals still pending after " << flags.drain_seconds
                << " s: " << json::serialize(pool) << "\n";
      break;
    }
    // DescribePool counts the pool's evals (O(evals)): poll gently so the probe does not
    // take the cores it is measuring. The figure is then late by at most 100 ms.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  double submit_s = std::chrono::duration<double>(submitted - start).count();
  double place_s = std::chrono::duration<double>(placed_by - start).count();
  int64_t total = accepted.load();
  // Undrained: the rate of what was placed by the time it gave up.
  int64_t placed = drained ? total : Counter(pool, "live_allocs");
  double accepted_per_s = static_cast<double>(total) / submit_s;
  double placed_per_s = static_cast<double>(placed) / place_s;
  double p50 = Percentile(latencies_ms, 0.5);
  double p99 = Percentile(latencies_ms, 0.99);
  std::printf(
      "e2e_bench: %d node(s), %d workers, %d connections, batches of %d, %.1f s: %lld evals "
      "accepted = %.0f evals/s accepted (ScheduleEvals p50 %.1f ms, p99 %.1f ms); %lld placed "
      "at submit end, %s %.2f s = %.0f evals/s placed\n",
      flags.nodes, flags.workers, flags.connections, flags.batch, submit_s,
      static_cast<long long>(total), accepted_per_s, p50, p99,
      static_cast<long long>(Counter(at_submit_end, "live_allocs")),
      drained ? "all placed after" : "NOT all placed after", place_s, placed_per_s);
  if (flags.json) {
    json::object summary{
        {"bench", "e2e_bench"},
        {"store", flags.store.empty() || flags.store.starts_with("sqlite")
                      ? "sqlite"
                      : (flags.store.starts_with("postgres") ? "postgresql" : "other")},
        {"nodes", flags.nodes},
        {"workers", flags.workers},
        {"connections", flags.connections},
        {"batch", flags.batch},
        {"seconds", submit_s},
        {"evals_accepted", total},
        {"evals_accepted_per_s", accepted_per_s},
        {"evals_placed", placed},
        {"evals_placed_per_s", placed_per_s},
        {"placed_seconds", place_s},
        {"drained", drained},
        {"latency_ms", {{"p50", p50}, {"p99", p99}}}};
    std::printf("%s\n", json::serialize(summary).c_str());
  }

  for (auto& node : nodes) {
    int exit_code = node->Terminate();
    if (exit_code != 0)
      Die("lined exited with " + std::to_string(exit_code) + ":\n" + node->LogTail());
  }
  return drained ? 0 : 2;
}
