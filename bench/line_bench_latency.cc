// --mode latency: how long from submitting an eval until its alloc reaches the worker.
//
// --workers simulated workers (threads) stay parked in /ReceiveAllocs. Meanwhile the
// connections submit single /ScheduleEval requests open-loop at --rate per second: request n is
// due at start + n / rate, whatever happened to the requests before it, and goes out on the
// first free connection. Each eval carries its send time (steady clock, ns) in its payload; the
// worker thread that receives its alloc records arrival - send. So the figure is the whole
// path: HTTP, durable submission, scheduling round, durable placement, long-poll wake-up and
// the answer — everything but what a worker does with the alloc.
//
// Requests that leave more than 1 ms after they were due are counted (late_sends): many of them
// mean the generator could not hold the rate (too few --connections, or lined is saturated),
// and the latency then describes a lower rate than asked.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "line_bench_modes.h"

namespace line::bench {
namespace {

using testing::HttpClient;
using testing::HttpResponse;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct WorkerTotals {
  std::mutex mu;
  LatencyHistogram visible;  // guarded by mu; each thread merges its own at the end
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> errors{0};
};

// A parked worker: long-polls (1 s at a time, so it notices `stop`) and records, for every
// alloc, the time since its eval was sent. Nothing completes the allocs: their capacity is
// ample, and lined runs with a visibility timeout longer than the run, so none is delivered
// twice and the only load on lined is the submissions and the deliveries.
void ParkedWorker(int port, const std::string& pool_id, const std::string& worker_id,
                  const std::atomic<bool>& stop, WorkerTotals& totals) {
  HttpClient client("127.0.0.1", port, std::chrono::seconds(30));
  const std::string receive = json::serialize(json::object{{"pool_id", pool_id},
                                                           {"worker_id", worker_id},
                                                           {"max_number_of_messages", 100},
                                                           {"wait_time_seconds", 1}});
  LatencyHistogram mine;
  while (!stop.load(std::memory_order_relaxed)) {
    HttpResponse r = client.PostRaw("/ReceiveAllocs", receive);
    const int64_t arrived = NowNs();
    if (r.status != 200) {
      totals.errors.fetch_add(1, std::memory_order_relaxed);
      if (r.status == 0) break;
      continue;
    }
    json::value v = r.Json();
    const json::value* allocs = v.is_object() ? v.as_object().if_contains("allocs") : nullptr;
    if (allocs == nullptr || !allocs->is_array()) continue;
    for (const json::value& alloc : allocs->as_array()) {
      const json::value* payload = alloc.as_object().if_contains("payload");
      const json::value* sent = payload != nullptr && payload->is_object()
                                    ? payload->as_object().if_contains("t")
                                    : nullptr;
      if (sent == nullptr || !sent->is_int64()) continue;
      mine.Record(arrived - sent->as_int64());
      totals.received.fetch_add(1, std::memory_order_relaxed);
    }
  }
  std::lock_guard lock(totals.mu);
  totals.visible.Merge(mine);
}

}  // namespace

int RunLatency(const Flags& flags, Target& target, json::object* summary) {
  const int port = target.port();
  HttpClient admin("127.0.0.1", port, std::chrono::seconds(60));
  const std::string pool_id = CreatePool(admin);
  const std::vector<std::string> worker_ids = RegisterWorkers(
      port, pool_id, flags.workers, flags.capacity, flags.datasets, std::min(flags.workers, 8));

  WorkerTotals worker_totals;
  std::atomic<bool> stop_workers{false};
  std::vector<std::thread> workers;
  for (const std::string& id : worker_ids) {
    workers.emplace_back(ParkedWorker, port, std::cref(pool_id), std::cref(id),
                         std::cref(stop_workers), std::ref(worker_totals));
  }
  // Let every worker reach its long-poll before the first eval goes out.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // The body is cut around the send time, so that a request costs one string concatenation.
  std::vector<std::string> prefixes;
  for (int d = 0; d < flags.datasets; ++d) {
    prefixes.push_back(R"({"pool_id":)" + json::serialize(json::value(pool_id)) +
                       R"(,"dataset_id":")" + Dataset(d, flags.datasets) +
                       R"(","size":1,"payload":{"t":)");
  }
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> acknowledged{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> late{0};
  std::mutex ack_mu;
  LatencyHistogram ack_latency;
  const auto interval = std::chrono::duration<double>(1.0 / flags.rate);
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(20);
  const Clock::time_point stop_at = start + FromSeconds(flags.seconds);
  std::vector<std::thread> submitters;
  for (int c = 0; c < flags.connections; ++c) {
    submitters.emplace_back([&] {
      HttpClient client("127.0.0.1", port, std::chrono::seconds(60));
      LatencyHistogram mine;
      while (true) {
        const int64_t n = next.fetch_add(1, std::memory_order_relaxed);
        const Clock::time_point due =
            start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
        if (due >= stop_at) break;
        std::this_thread::sleep_until(due);
        const Clock::time_point sent = Clock::now();
        if (sent >= stop_at) break;  // behind schedule: the window closes on time all the same
        if (sent - due > std::chrono::milliseconds(1)) late.fetch_add(1, std::memory_order_relaxed);
        std::string body = prefixes[static_cast<size_t>(n) % prefixes.size()];
        body.append(std::to_string(NowNs())).append("}}");
        HttpResponse r = client.PostRaw("/ScheduleEval", body);
        const Clock::time_point answered = Clock::now();
        requests.fetch_add(1, std::memory_order_relaxed);
        if (r.status != 200) {
          errors.fetch_add(1, std::memory_order_relaxed);
          if (r.status == 0) break;
          continue;
        }
        acknowledged.fetch_add(1, std::memory_order_relaxed);
        mine.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(answered - sent).count());
      }
      std::lock_guard lock(ack_mu);
      ack_latency.Merge(mine);
    });
  }
  for (std::thread& t : submitters) t.join();
  const Clock::time_point submitted = Clock::now();

  // Every acknowledged eval should reach a worker; wait for the stragglers.
  const Clock::time_point give_up = submitted + FromSeconds(std::min(flags.drain_seconds, 30.0));
  while (worker_totals.received.load() < acknowledged.load() && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop_workers = true;
  for (std::thread& t : workers) t.join();

  const double window_s = Seconds(submitted - start);
  const int64_t received = worker_totals.received.load();
  const int64_t total_errors = errors.load() + worker_totals.errors.load();
  const double achieved = static_cast<double>(acknowledged.load()) / window_s;
  const LatencyHistogram& visible = worker_totals.visible;

  std::printf(
      "line-bench: mode latency, %.0f ScheduleEval/s asked over %d connections, %d "
      "parked workers, %s, %.1f s\n",
      flags.rate, flags.connections, flags.workers, target.store_kind().c_str(), window_s);
  PrintRow("ScheduleEval acknowledged", Rate(achieved) + "  (" +
                                            std::to_string(acknowledged.load()) + ", " +
                                            std::to_string(total_errors) + " errors, " +
                                            std::to_string(late.load()) + " sent > 1 ms late)");
  PrintRow("allocs received", std::to_string(received));
  PrintRow("submit -> visible to long-poll", LatencyText(visible));
  PrintRow("latency of ScheduleEval", LatencyText(ack_latency));

  *summary = {{"rate", flags.rate},
              {"connections", flags.connections},
              {"workers", flags.workers},
              {"seconds", window_s},
              {"requests", requests.load()},
              {"errors", total_errors},
              {"late_sends", late.load()},
              {"evals_acknowledged", acknowledged.load()},
              {"evals_acknowledged_per_s", achieved},
              {"allocs_received", received},
              {"visible_latency_ms", LatencyJson(visible)},
              {"latency_ms", LatencyJson(ack_latency)}};
  return total_errors == 0 && received >= acknowledged.load() ? 0 : 2;
}

}  // namespace line::bench
