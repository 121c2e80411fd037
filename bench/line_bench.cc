// line-bench: a load generator for lined over its HTTP API.
//
//   line-bench [--mode batch|single] [--batch 1000] [--connections N] [--seconds S]
//              [--workers W] [--capacity C] [--simulate-workers] [--datasets D]
//              [--server http://127.0.0.1:PORT | --lined PATH [--store URL]]
//              [--drain-seconds S] [--json]
//
// Every connection is a keep-alive HTTP/1.1 connection driven by its own thread in a closed
// loop (next request as soon as the previous answer arrives), posting /ScheduleEvals batches or
// single /ScheduleEval requests for --seconds. Then it waits (at most --drain-seconds) until
// nothing is pending, so the placement rate covers every accepted eval. With
// --simulate-workers every worker is a thread long-polling /ReceiveAllocs and completing what
// it gets, so capacity recycles and the completion rate is measured too.
//
// Without --server it starts its own lined (default ../lined next to this binary, the layout
// of a CMake build directory) on a temporary SQLite store or on --store. Use a Release lined:
// the figures of a sanitizer build say nothing. It only ever talks to 127.0.0.1.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "line_bench_histogram.h"
#include "testing/http_client.h"
#include "testing/lined_process.h"

namespace {

namespace json = boost::json;
using line::bench::LatencyHistogram;
using line::testing::HttpClient;
using line::testing::HttpResponse;
using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
    "usage: line-bench [--mode batch|single] [--batch N] [--connections N] [--seconds S] "
    "[--workers W] [--capacity C] [--simulate-workers] [--datasets D] "
    "[--server http://127.0.0.1:PORT | --lined PATH [--store URL]] [--drain-seconds S] [--json]";

// One thread per simulated worker, each with its own long-poll connection: more than this
// would measure the machine's scheduler of threads rather than lined.
constexpr int kMaxSimulatedWorkers = 512;

struct Flags {
  bool batch_mode = true;
  int batch = 1000;
  int connections = 4;
  double seconds = 10;
  std::optional<int> workers;
  std::optional<int64_t> capacity;
  bool simulate_workers = false;
  int datasets = 100;
  int port = 0;  // of --server; 0 = start our own lined
  std::string lined;
  std::string store;
  double drain_seconds = 120;
  bool json = false;
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "line-bench: " << message << "\n";
  std::exit(1);
}

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

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
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
      if (value != "batch" && value != "single") Die("--mode is batch or single");
      flags.batch_mode = value == "batch";
    } else if (arg == "--batch") {
      flags.batch = std::atoi(value.c_str());
    } else if (arg == "--connections") {
      flags.connections = std::atoi(value.c_str());
    } else if (arg == "--seconds") {
      flags.seconds = std::atof(value.c_str());
    } else if (arg == "--workers") {
      flags.workers = std::atoi(value.c_str());
    } else if (arg == "--capacity") {
      flags.capacity = std::atoll(value.c_str());
    } else if (arg == "--datasets") {
      flags.datasets = std::atoi(value.c_str());
    } else if (arg == "--server") {
      flags.port = ParseServerPort(value);
    } else if (arg == "--lined") {
      flags.lined = value;
    } else if (arg == "--store") {
      flags.store = value;
    } else if (arg == "--drain-seconds") {
      flags.drain_seconds = std::atof(value.c_str());
    } else {
      Die("unknown flag " + arg + "\n" + kUsage);
    }
  }
  // Simulated workers hold allocs only briefly, so a small capacity keeps placement honest;
  // without them nothing ever frees capacity, so it must outlast the whole run.
  if (!flags.workers) flags.workers = flags.simulate_workers ? 32 : 1000;
  if (!flags.capacity) flags.capacity = flags.simulate_workers ? 64 : 1'000'000'000;
  if (flags.lined.empty()) {
    flags.lined = (std::filesystem::canonical("/proc/self/exe").parent_path() / ".." / "lined")
                      .lexically_normal()
                      .string();
  }
  if (flags.seconds <= 0 || flags.seconds > 3600 || flags.connections < 1 ||
      flags.connections > 1024 || *flags.workers < 1 || *flags.capacity < 1 ||
      flags.batch < 1 || flags.batch > 10000 || flags.datasets < 1 || flags.drain_seconds < 0 ||
      flags.drain_seconds > 3600) {
    Die("out of range: --seconds 0..3600, --connections 1..1024, --workers >= 1, "
        "--capacity >= 1, --batch 1..10000, --datasets >= 1, --drain-seconds 0..3600");
  }
  if (flags.simulate_workers && *flags.workers > kMaxSimulatedWorkers) {
    Die("--simulate-workers runs a thread per worker: --workers at most " +
        std::to_string(kMaxSimulatedWorkers));
  }
  if (flags.port != 0 && !flags.store.empty()) Die("--store is for the lined it starts itself");
  return flags;
}

json::object CallOrDie(HttpClient& client, std::string_view path, const json::value& request) {
  HttpResponse r = client.Post(path, request);
  json::value v = r.Json();
  if (r.status != 200 || !v.is_object()) Die("POST " + std::string(path) + " -> " + r.Describe());
  return std::move(v.as_object());
}

int64_t Counter(const json::object& pool, const char* key) {
  const json::value* v = pool.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

// append(), not "d" + ...: GCC 12 warns falsely (-Wrestrict) about the operator+ form.
std::string Dataset(int64_t i, int datasets) {
  return std::string("d").append(std::to_string(i % datasets));
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Counters shared by every thread; relaxed atomics, read once the threads have joined.
struct Totals {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> acknowledged{0};  // evals in 200 answers
  std::atomic<int64_t> errors{0};        // non-200 answers and lost connections
  std::atomic<int64_t> completed{0};     // CompleteAlloc answered 200
  std::atomic<int64_t> received{0};      // allocs delivered by ReceiveAllocs
};

// The request bodies a connection cycles through, built once: building JSON is the load
// generator's cost, and it shares the cores with lined.
std::vector<std::string> BuildBodies(const Flags& flags, const std::string& pool_id, int c) {
  std::vector<std::string> bodies;
  if (flags.batch_mode) {
    json::array evals;
    evals.reserve(static_cast<size_t>(flags.batch));
    for (int i = 0; i < flags.batch; ++i) {
      evals.push_back(json::object{{"dataset_id", Dataset(c * 7 + i, flags.datasets)},
                                   {"size", 1},
                                   {"payload", {{"n", i}}}});
    }
    bodies.push_back(json::serialize(json::object{{"pool_id", pool_id}, {"evals", evals}}));
  } else {
    for (int d = 0; d < flags.datasets; ++d) {
      bodies.push_back(json::serialize(json::object{{"pool_id", pool_id},
                                                    {"dataset_id", Dataset(c + d, flags.datasets)},
                                                    {"size", 1},
                                                    {"payload", {{"n", d}}}}));
    }
  }
  return bodies;
}

// A simulated worker: long-polls its queue and completes every alloc at once.
void RunWorker(int port, const std::string& pool_id, const std::string& worker_id,
               const std::atomic<bool>& stop, Totals& totals) {
  HttpClient client("127.0.0.1", port, std::chrono::seconds(30));
  std::string receive = json::serialize(json::object{{"pool_id", pool_id},
                                                     {"worker_id", worker_id},
                                                     {"max_number_of_messages", 100},
                                                     {"wait_time_seconds", 1}});
  while (!stop.load(std::memory_order_relaxed)) {
    HttpResponse r = client.PostRaw("/ReceiveAllocs", receive);
    if (r.status != 200) {
      totals.errors.fetch_add(1, std::memory_order_relaxed);
      if (r.status == 0) return;
      continue;
    }
    json::value v = r.Json();
    const json::value* allocs = v.is_object() ? v.as_object().if_contains("allocs") : nullptr;
    if (allocs == nullptr || !allocs->is_array()) continue;
    totals.received.fetch_add(static_cast<int64_t>(allocs->as_array().size()),
                              std::memory_order_relaxed);
    for (const json::value& alloc : allocs->as_array()) {
      HttpResponse done = client.Post(
          "/CompleteAlloc", json::object{{"pool_id", pool_id},
                                         {"alloc_id", alloc.as_object().at("alloc_id")},
                                         {"worker_id", worker_id},
                                         {"exit_code", 0}});
      if (done.status == 200) {
        totals.completed.fetch_add(1, std::memory_order_relaxed);
      } else {
        totals.errors.fetch_add(1, std::memory_order_relaxed);
        if (done.status == 0) return;
      }
    }
  }
}

void PrintRow(const char* measure, const std::string& figure) {
  std::printf("  %-34s %s\n", measure, figure.c_str());
}

std::string Rate(double per_second) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.0f /s", per_second);
  return buffer;
}

std::string Millis(int64_t ns) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f ms", static_cast<double>(ns) / 1e6);
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);

  std::unique_ptr<line::testing::LinedProcess> lined;
  int port = flags.port;
  if (port == 0) {
    line::testing::LinedOptions options;
    options.binary = flags.lined;
    // Nobody heartbeats during the run: TTLs long enough that nothing expires mid-measurement.
    options.env = {{"LINE_WORKER_TTL", "3600"},
                   {"LINE_REPLICA_TTL", "3600"},
                   {"LINE_ALLOC_TTL", "3600"},
                   {"LINE_MAX_BODY", std::to_string(64 << 20)}};
    // The launcher passes --store sqlite:<temp>; a later --store wins.
    if (!flags.store.empty()) options.extra_args = {"--store", flags.store};
    lined = std::make_unique<line::testing::LinedProcess>(options);
    if (line::Status s = lined->Start(); !s.ok()) Die(s.message());
    port = lined->port();
  }

  HttpClient admin("127.0.0.1", port, std::chrono::seconds(60));
  std::string pool_id(CallOrDie(admin, "/CreatePool", json::object{}).at("pool_id").as_string());

  // Workers each hold one dataset so placement also weighs locality. Registered from several
  // connections: set-up is not what is measured.
  std::vector<std::string> worker_ids(static_cast<size_t>(*flags.workers));
  {
    std::atomic<int> next{0};
    std::vector<std::thread> registrars;
    for (int c = 0; c < std::min(flags.connections, 8); ++c) {
      registrars.emplace_back([&] {
        HttpClient client("127.0.0.1", port);
        for (int w; (w = next++) < *flags.workers;) {
          json::object worker = CallOrDie(
              client, "/RegisterWorker", {{"pool_id", pool_id}, {"capacity", *flags.capacity}});
          worker_ids[static_cast<size_t>(w)] = worker.at("worker_id").as_string();
          CallOrDie(client, "/SendHeartbeat",
                    {{"pool_id", pool_id},
                     {"worker_id", worker.at("worker_id")},
                     {"allocs", json::array{}},
                     {"datasets", {Dataset(w, flags.datasets)}}});
        }
      });
    }
    for (std::thread& t : registrars) t.join();
  }

  Totals totals;
  std::atomic<bool> stop_workers{false};
  std::vector<std::thread> workers;
  if (flags.simulate_workers) {
    for (const std::string& id : worker_ids) {
      workers.emplace_back(RunWorker, port, std::cref(pool_id), std::cref(id),
                           std::cref(stop_workers), std::ref(totals));
    }
  }

  const int64_t evals_per_request = flags.batch_mode ? flags.batch : 1;
  const std::string path = flags.batch_mode ? "/ScheduleEvals" : "/ScheduleEval";
  std::mutex histogram_mu;
  LatencyHistogram histogram;
  Clock::time_point start = Clock::now();
  Clock::time_point stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(flags.seconds));
  std::vector<std::thread> submitters;
  for (int c = 0; c < flags.connections; ++c) {
    submitters.emplace_back([&, c] {
      std::vector<std::string> bodies = BuildBodies(flags, pool_id, c);
      HttpClient client("127.0.0.1", port, std::chrono::seconds(120));
      LatencyHistogram mine;
      for (size_t n = 0; Clock::now() < stop_at; ++n) {
        Clock::time_point sent = Clock::now();
        HttpResponse r = client.PostRaw(path, bodies[n % bodies.size()]);
        Clock::time_point answered = Clock::now();
        totals.requests.fetch_add(1, std::memory_order_relaxed);
        if (r.status != 200) {
          totals.errors.fetch_add(1, std::memory_order_relaxed);
          if (r.status == 0) {
            std::cerr << "line-bench: " << path << " -> " << r.Describe() << "\n";
            break;
          }
          continue;
        }
        mine.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(answered - sent).count());
        totals.acknowledged.fetch_add(evals_per_request, std::memory_order_relaxed);
      }
      std::lock_guard lock(histogram_mu);
      histogram.Merge(mine);
    });
  }
  for (std::thread& t : submitters) t.join();
  Clock::time_point submitted = Clock::now();
  const int64_t acknowledged = totals.acknowledged.load();

  // Placed = allocs committed: the live ones plus those the simulated workers completed.
  // DescribePool counts rows (O(evals)), so it is polled at most every 100 ms, and the drain
  // figures are late by at most that much.
  auto placed_now = [&](json::object* pool) {
    *pool = CallOrDie(admin, "/DescribePool", {{"pool_id", pool_id}});
    return Counter(*pool, "live_allocs") + totals.completed.load();
  };
  json::object pool;
  const int64_t placed_in_window = placed_now(&pool);
  const int64_t completed_in_window = totals.completed.load();
  Clock::time_point placed_by = submitted;
  Clock::time_point completed_by = submitted;
  bool drained = false;
  Clock::time_point give_up = submitted + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(flags.drain_seconds));
  int64_t placed = placed_in_window;
  for (bool first = true;; first = false) {
    if (!first) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      placed = placed_now(&pool);
    }
    Clock::time_point now = Clock::now();
    bool all_placed = Counter(pool, "pending_evals") == 0 && placed >= acknowledged;
    if (all_placed && placed_by == submitted) placed_by = now;
    if (all_placed && (!flags.simulate_workers || totals.completed.load() >= acknowledged)) {
      completed_by = now;
      drained = true;
      break;
    }
    if (now >= give_up) break;
  }
  stop_workers = true;
  for (std::thread& t : workers) t.join();

  const double window_s = Seconds(submitted - start);
  const double placed_s = Seconds((drained ? placed_by : Clock::now()) - start);
  const double completed_s = Seconds((drained ? completed_by : Clock::now()) - start);
  const int64_t completed = totals.completed.load();
  const double requests_per_s = static_cast<double>(totals.requests.load()) / window_s;
  const double acked_per_s = static_cast<double>(acknowledged) / window_s;
  const double placed_window_per_s = static_cast<double>(placed_in_window) / window_s;
  const double placed_per_s = static_cast<double>(placed) / placed_s;
  const double completed_per_s = static_cast<double>(completed) / completed_s;

  std::printf("line-bench: mode %s%s, %d connections, %d workers x capacity %lld%s, %s, %.1f s\n",
              flags.batch_mode ? "batch of " : "single",
              flags.batch_mode ? std::to_string(flags.batch).c_str() : "", flags.connections,
              *flags.workers, static_cast<long long>(*flags.capacity),
              flags.simulate_workers ? " (simulated)" : "",
              lined ? "own lined" : "--server", window_s);
  PrintRow("requests", Rate(requests_per_s) + "  (" + std::to_string(totals.requests.load()) +
                           ", " + std::to_string(totals.errors.load()) + " errors)");
  PrintRow("evals acknowledged", Rate(acked_per_s) + "  (" + std::to_string(acknowledged) + ")");
  PrintRow("evals placed during submission", Rate(placed_window_per_s) + "  (" +
                                                 std::to_string(placed_in_window) + ")");
  char drain[128];
  std::snprintf(drain, sizeof drain, "  (%lld of %lld by %.2f s%s)",
                static_cast<long long>(placed), static_cast<long long>(acknowledged), placed_s,
                drained ? "" : ", drain cap hit");
  PrintRow("evals placed, until all placed", Rate(placed_per_s) + drain);
  if (flags.simulate_workers) {
    std::snprintf(drain, sizeof drain, "  (%lld by %.2f s; %lld during submission)",
                  static_cast<long long>(completed), completed_s,
                  static_cast<long long>(completed_in_window));
    PrintRow("evals completed", Rate(completed_per_s) + drain);
  }
  std::string latency;
  for (auto [name, q] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}) {
    latency += std::string(name) + " " + Millis(histogram.ValueAtQuantile(q)) + "  ";
  }
  latency += "max " + Millis(histogram.max());
  PrintRow(("latency of " + path.substr(1)).c_str(), latency);

  if (flags.json) {
    auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
    json::object summary{
        {"mode", flags.batch_mode ? "batch" : "single"},
        {"batch", evals_per_request},
        {"connections", flags.connections},
        {"workers", *flags.workers},
        {"capacity", *flags.capacity},
        {"simulate_workers", flags.simulate_workers},
        {"seconds", window_s},
        {"requests", totals.requests.load()},
        {"errors", totals.errors.load()},
        {"requests_per_s", requests_per_s},
        {"evals_acknowledged", acknowledged},
        {"evals_acknowledged_per_s", acked_per_s},
        {"evals_placed_in_window_per_s", placed_window_per_s},
        {"evals_placed", placed},
        {"evals_placed_per_s", placed_per_s},
        {"drained", drained},
        {"latency_ms",
         {{"p50", ms(histogram.ValueAtQuantile(0.5))},
          {"p90", ms(histogram.ValueAtQuantile(0.9))},
          {"p99", ms(histogram.ValueAtQuantile(0.99))},
          {"p999", ms(histogram.ValueAtQuantile(0.999))},
          {"max", ms(histogram.max())}}}};
    if (flags.simulate_workers) {
      summary["evals_completed"] = completed;
      summary["evals_completed_per_s"] = completed_per_s;
    }
    std::printf("%s\n", json::serialize(summary).c_str());
  }

  if (lined) {
    int exit_code = lined->Terminate();
    if (exit_code != 0) {
      Die("lined exited with " + std::to_string(exit_code) + ":\n" + lined->LogTail());
    }
  }
  return drained && totals.errors.load() == 0 ? 0 : 2;
}
