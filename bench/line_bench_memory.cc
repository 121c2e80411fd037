// --mode memory: how much lined's resident set grows per worker and per pending eval.
//
// RSS (VmRSS of /proc/<pid>/status) is read at rest before and after each step, a second after
// the last request so that work lined does behind the answers (scheduling rounds, snapshot
// rebuilds) is included:
//   1. warm-up, not measured: a few workers and evals, placed and blocked, so that arenas,
//      caches and threads that any first request creates exist before the first reading;
//   2. --workers workers register in a new pool, each heart-beating once with one dataset;
//   3. --evals evals (no payload: the target excludes it) are submitted in batches of --batch
//      to a pool whose only worker has capacity 1 and every eval has size 2, so they all stay
//      pending: blocked, which is where a scheduler keeps waiting work.
// Growth includes what the store keeps in lined's memory (SQLite's page cache), which is part
// of lined's cost. The figures are upper bounds for small counts: malloc hands memory back
// lazily and in pages, so run with thousands of each.
#include <atomic>
#include <cstdio>
#include <thread>

#include "line_bench_modes.h"

namespace line::bench {
namespace {

using testing::HttpClient;

// Submits `count` evals of `size` to `pool_id` in batches of `batch` over `connections`.
void SubmitEvals(int port, const std::string& pool_id, int64_t count, int batch, int64_t size,
                 int datasets, int connections) {
  std::atomic<int64_t> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      HttpClient client("127.0.0.1", port, std::chrono::seconds(120));
      for (int64_t first; (first = next.fetch_add(batch)) < count;) {
        json::array evals;
        for (int64_t i = first; i < std::min(count, first + batch); ++i) {
          evals.push_back(json::object{{"dataset_id", Dataset(i, datasets)}, {"size", size}});
        }
        CallOrDie(client, "/ScheduleEvals", {{"pool_id", pool_id}, {"evals", evals}});
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

int64_t RssAtRest(pid_t pid) {
  std::this_thread::sleep_for(std::chrono::seconds(1));
  return RssBytes(pid);
}

}  // namespace

int RunMemory(const Flags& flags, Target& target, json::object* summary) {
  if (target.pid() == 0) Die("--mode memory reads lined's /proc: give --pid with --server");
  const int port = target.port();
  const pid_t pid = target.pid();
  HttpClient admin("127.0.0.1", port, std::chrono::seconds(60));

  // 1. Warm-up.
  const int64_t rss_start = RssBytes(pid);
  {
    const std::string placed = CreatePool(admin);
    RegisterWorkers(port, placed, 100, 1'000'000, flags.datasets, flags.connections);
    SubmitEvals(port, placed, 2 * flags.batch, flags.batch, 1, flags.datasets, flags.connections);
    const std::string blocked = CreatePool(admin);
    RegisterWorkers(port, blocked, 1, 1, flags.datasets, 1);
    SubmitEvals(port, blocked, 2 * flags.batch, flags.batch, 2, flags.datasets, flags.connections);
  }

  // 2. Workers.
  const int64_t rss_before_workers = RssAtRest(pid);
  const std::string worker_pool = CreatePool(admin);
  RegisterWorkers(port, worker_pool, flags.workers, 64, flags.datasets, flags.connections);
  const int64_t rss_after_workers = RssAtRest(pid);

  // 3. Pending evals.
  const std::string eval_pool = CreatePool(admin);
  RegisterWorkers(port, eval_pool, 1, 1, flags.datasets, 1);
  const int64_t rss_before_evals = RssAtRest(pid);
  SubmitEvals(port, eval_pool, flags.evals, flags.batch, 2, flags.datasets, flags.connections);
  const int64_t rss_after_evals = RssAtRest(pid);
  const json::object pool = CallOrDie(admin, "/DescribePool", {{"pool_id", eval_pool}});
  const int64_t pending = Counter(pool, "pending_evals");

  const double per_worker =
      static_cast<double>(rss_after_workers - rss_before_workers) / flags.workers;
  const double per_eval =
      static_cast<double>(rss_after_evals - rss_before_evals) / static_cast<double>(flags.evals);
  auto mib = [](int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); };
  char row[200];
  std::printf("line-bench: mode memory, %d workers, %lld pending evals, %s\n", flags.workers,
              static_cast<long long>(flags.evals), target.store_kind().c_str());
  std::snprintf(row, sizeof row, "%.0f B  (RSS %.1f -> %.1f MiB)", per_worker,
                mib(rss_before_workers), mib(rss_after_workers));
  PrintRow("RSS growth per worker", row);
  std::snprintf(row, sizeof row, "%.0f B  (RSS %.1f -> %.1f MiB; %lld pending)", per_eval,
                mib(rss_before_evals), mib(rss_after_evals), static_cast<long long>(pending));
  PrintRow("RSS growth per pending eval", row);

  *summary = {{"workers", flags.workers},
              {"evals", flags.evals},
              {"pending_evals", pending},
              {"rss_start_bytes", rss_start},
              {"rss_before_workers_bytes", rss_before_workers},
              {"rss_after_workers_bytes", rss_after_workers},
              {"rss_before_evals_bytes", rss_before_evals},
              {"rss_after_evals_bytes", rss_after_evals},
              {"rss_bytes_per_worker", per_worker},
              {"rss_bytes_per_pending_eval", per_eval}};
  return pending == flags.evals ? 0 : 2;
}

}  // namespace line::bench
