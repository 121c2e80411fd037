// --mode heartbeat: what --workers heart-beating once a second cost lined in CPU.
//
// The workers are registered first (each with one dataset), then every one of them sends
// /SendHeartbeat once a second for --seconds, listing its dataset and no allocs, spread evenly
// over the second (worker w at offset w / workers) and over --connections keep-alive
// connections: open loop, so a slow answer delays only that connection's next heartbeats (a
// connection that falls behind sends back to back until the window closes; the heartbeat rate
// then shows the shortfall). lined's
// CPU time (utime + stime of /proc/<pid>/stat) is read before and after, so the figure is the
// share of one core lined spent, whatever the load generator spent on the same cores.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "line_bench_modes.h"

namespace line::bench {

using testing::HttpClient;
using testing::HttpResponse;

int RunHeartbeat(const Flags& flags, Target& target, json::object* summary) {
  if (target.pid() == 0) Die("--mode heartbeat reads lined's /proc: give --pid with --server");
  const int port = target.port();
  HttpClient admin("127.0.0.1", port, std::chrono::seconds(60));
  const std::string pool_id = CreatePool(admin);
  const Clock::time_point registering = Clock::now();
  const std::vector<std::string> worker_ids = RegisterWorkers(
      port, pool_id, flags.workers, flags.capacity, flags.datasets, std::max(flags.connections, 8));
  const double register_s = Seconds(Clock::now() - registering);

  std::vector<std::string> bodies;
  bodies.reserve(worker_ids.size());
  for (size_t w = 0; w < worker_ids.size(); ++w) {
    bodies.push_back(json::serialize(
        json::object{{"pool_id", pool_id},
                     {"worker_id", worker_ids[w]},
                     {"allocs", json::array{}},
                     {"datasets", {Dataset(static_cast<int64_t>(w), flags.datasets)}}}));
  }

  // lined at rest first: what its own timers cost, for comparison.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double idle_cpu0 = CpuSeconds(target.pid());
  const Clock::time_point idle_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double idle_percent =
      100 * (CpuSeconds(target.pid()) - idle_cpu0) / Seconds(Clock::now() - idle_start);

  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> errors{0};
  std::mutex latency_mu;
  LatencyHistogram latency;
  const int n = flags.workers;
  const double cpu0 = CpuSeconds(target.pid());
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop_at = start + FromSeconds(flags.seconds);
  std::vector<std::thread> connections;
  for (int c = 0; c < std::min(flags.connections, n); ++c) {
    connections.emplace_back([&, c] {
      HttpClient client("127.0.0.1", port, std::chrono::seconds(60));
      LatencyHistogram mine;
      // Returns when the window closes or the connection is lost.
      auto beat = [&] {
        for (int64_t round = 0;; ++round) {
          for (int w = c; w < n; w += flags.connections) {
            const Clock::time_point due =
                start + FromSeconds(static_cast<double>(round) + static_cast<double>(w) / n);
            if (due >= stop_at) return;
            std::this_thread::sleep_until(due);
            const Clock::time_point before = Clock::now();
            // Behind schedule: the window still closes on time, and the rate shows the lag.
            if (before >= stop_at) return;
            HttpResponse r = client.PostRaw("/SendHeartbeat", bodies[static_cast<size_t>(w)]);
            mine.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - before)
                            .count());
            sent.fetch_add(1, std::memory_order_relaxed);
            if (r.status != 200) {
              errors.fetch_add(1, std::memory_order_relaxed);
              if (r.status == 0) return;
            }
          }
        }
      };
      beat();
      std::lock_guard lock(latency_mu);
      latency.Merge(mine);
    });
  }
  for (std::thread& t : connections) t.join();
  const double window_s = Seconds(Clock::now() - start);
  const double cpu_s = CpuSeconds(target.pid()) - cpu0;
  const double cpu_percent = 100 * cpu_s / window_s;
  const double heartbeats_per_s = static_cast<double>(sent.load()) / window_s;

  char cpu[160];
  std::printf(
      "line-bench: mode heartbeat, %d workers once a second over %d connections, %s, "
      "%.1f s (registration took %.1f s)\n",
      n, flags.connections, target.store_kind().c_str(), window_s, register_s);
  PrintRow("heartbeats", Rate(heartbeats_per_s) + "  (" + std::to_string(sent.load()) + ", " +
                             std::to_string(errors.load()) + " errors; asked " + Rate(n) + ")");
  std::snprintf(cpu, sizeof cpu, "%.1f %% of one core (%.2f s CPU in %.2f s; at rest %.1f %%)",
                cpu_percent, cpu_s, window_s, idle_percent);
  PrintRow("lined CPU", cpu);
  PrintRow("latency of SendHeartbeat", LatencyText(latency));

  *summary = {{"workers", n},
              {"connections", flags.connections},
              {"seconds", window_s},
              {"heartbeats", sent.load()},
              {"errors", errors.load()},
              {"heartbeats_per_s", heartbeats_per_s},
              {"heartbeats_asked_per_s", n},
              {"lined_cpu_seconds", cpu_s},
              {"lined_cpu_percent", cpu_percent},
              {"lined_idle_cpu_percent", idle_percent},
              {"register_seconds", register_s},
              {"latency_ms", LatencyJson(latency)}};
  return errors.load() == 0 ? 0 : 2;
}

}  // namespace line::bench
