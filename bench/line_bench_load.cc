// --mode batch | single: every connection is a keep-alive connection driven by its own thread
// in a closed loop (next request as soon as the previous answer arrives), posting /ScheduleEvals
// batches or single /ScheduleEval requests for --seconds. Then it waits (at most
// --drain-seconds) until nothing is pending, so the placement rate covers every accepted eval.
// With --simulate-workers every worker is a thread long-polling /ReceiveAllocs and completing
// what it gets, so capacity recycles and the completion rate is measured too.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "line_bench_modes.h"

namespace line::bench {
namespace {

using testing::HttpClient;
using testing::HttpResponse;

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
  if (flags.mode == Mode::kBatch) {
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
      HttpResponse done =
          client.Post("/CompleteAlloc", json::object{{"pool_id", pool_id},
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

}  // namespace

int RunLoad(const Flags& flags, Target& target, json::object* summary) {
  const int port = target.port();
  HttpClient admin("127.0.0.1", port, std::chrono::seconds(60));
  const std::string pool_id = CreatePool(admin);

  // Workers each hold one dataset so placement also weighs locality. Registered from several
  // connections: set-up is not what is measured.
  const std::vector<std::string> worker_ids = RegisterWorkers(
      port, pool_id, flags.workers, flags.capacity, flags.datasets, std::min(flags.connections, 8));

  Totals totals;
  std::atomic<bool> stop_workers{false};
  std::vector<std::thread> workers;
  if (flags.simulate_workers) {
    for (const std::string& id : worker_ids) {
      workers.emplace_back(RunWorker, port, std::cref(pool_id), std::cref(id),
                           std::cref(stop_workers), std::ref(totals));
    }
  }

  const bool batch_mode = flags.mode == Mode::kBatch;
  const int64_t evals_per_request = batch_mode ? flags.batch : 1;
  const std::string path = batch_mode ? "/ScheduleEvals" : "/ScheduleEval";
  std::mutex histogram_mu;
  LatencyHistogram histogram;
  Clock::time_point start = Clock::now();
  Clock::time_point stop_at = start + FromSeconds(flags.seconds);
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
  Clock::time_point give_up = submitted + FromSeconds(flags.drain_seconds);
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
              batch_mode ? "batch of " : "single",
              batch_mode ? std::to_string(flags.batch).c_str() : "", flags.connections,
              flags.workers, static_cast<long long>(flags.capacity),
              flags.simulate_workers ? " (simulated)" : "", target.store_kind().c_str(), window_s);
  PrintRow("requests", Rate(requests_per_s) + "  (" + std::to_string(totals.requests.load()) +
                           ", " + std::to_string(totals.errors.load()) + " errors)");
  PrintRow("evals acknowledged", Rate(acked_per_s) + "  (" + std::to_string(acknowledged) + ")");
  PrintRow("evals placed during submission",
           Rate(placed_window_per_s) + "  (" + std::to_string(placed_in_window) + ")");
  char drain[128];
  std::snprintf(drain, sizeof drain, "  (%lld of %lld by %.2f s%s)", static_cast<long long>(placed),
                static_cast<long long>(acknowledged), placed_s, drained ? "" : ", drain cap hit");
  PrintRow("evals placed, until all placed", Rate(placed_per_s) + drain);
  if (flags.simulate_workers) {
    std::snprintf(drain, sizeof drain, "  (%lld by %.2f s; %lld during submission)",
                  static_cast<long long>(completed), completed_s,
                  static_cast<long long>(completed_in_window));
    PrintRow("evals completed", Rate(completed_per_s) + drain);
  }
  PrintRow("latency of " + path.substr(1), LatencyText(histogram));

  *summary = {{"batch", evals_per_request},
              {"connections", flags.connections},
              {"workers", flags.workers},
              {"capacity", flags.capacity},
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
              {"latency_ms", LatencyJson(histogram)}};
  if (flags.simulate_workers) {
    (*summary)["evals_completed"] = completed;
    (*summary)["evals_completed_per_s"] = completed_per_s;
  }
  return drained && totals.errors.load() == 0 ? 0 : 2;
}

}  // namespace line::bench
