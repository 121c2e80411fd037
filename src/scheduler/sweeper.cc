#include "scheduler/sweeper.h"

#include <future>
#include <vector>

#include "common/log.h"
#include "common/thread_name.h"
#include "scheduler/alloc_end.h"

namespace line {
namespace {

// Rows handled per transaction, so one sweep never holds the writer for long.
constexpr int64_t kSweepBatch = 1000;

void Count(EvalSettled settled, const std::string& pool_id, SweepReport& report) {
  if (settled == EvalSettled::kPending) report.pools_to_wake.insert(pool_id);
  if (settled == EvalSettled::kDead) ++report.dead_lettered;
}

// One transaction's worth of expiry. Sets *more when a batch limit was hit.
Status SweepBatch(Tx& tx, TimeMs now, int64_t pool_ttl_ms, SweepReport& report,
                  std::vector<std::string>& log_lines, CapacityDeltas& deltas, bool* more) {
  // A worker's live allocs expire in the same transaction as the worker itself.
  LINE_ASSIGN_OR_RETURN(std::vector<Worker> dead_workers, tx.WorkersExpiredBy(now, kSweepBatch));
  for (const Worker& worker : dead_workers) {
    LINE_ASSIGN_OR_RETURN(std::optional<Pool> pool, tx.GetPool(worker.pool_id));
    if (!pool) continue;
    LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs,
                          tx.LiveAllocsOfWorker(worker.pool_id, worker.worker_id));
    AllocEnding ending{.state = AllocState::kExpired,
                       .reason = "worker expired",
                       .retry = true,
                       .release_capacity = false};
    for (const Alloc& alloc : allocs) {
      LINE_ASSIGN_OR_RETURN(EvalSettled settled,
                            EndAllocAndSettle(tx, *pool, alloc, ending, now, deltas));
      Count(settled, alloc.pool_id, report);
      ++report.expired_allocs;
    }
    LINE_RETURN_IF_ERROR(tx.DeleteWorker(worker.pool_id, worker.worker_id));
    deltas.push_back({CapacityDelta::Kind::kRemoveWorker, worker.pool_id, worker.worker_id});
    report.gone_workers.emplace_back(worker.pool_id, worker.worker_id);
    ++report.expired_workers;
    std::string ended;
    for (const Alloc& alloc : allocs) ended += " " + alloc.alloc_id + " (eval " + alloc.eval_id + ")";
    log_lines.push_back("worker " + worker.worker_id + " of pool " + worker.pool_id +
                        " expired; its live allocs expired with it:" +
                        (ended.empty() ? std::string(" none") : ended));
  }

  LINE_ASSIGN_OR_RETURN(std::vector<Alloc> dead_allocs, tx.AllocsExpiredBy(now, kSweepBatch));
  AllocEnding ending{.state = AllocState::kExpired, .reason = "expired", .retry = true};
  for (const Alloc& alloc : dead_allocs) {
    LINE_ASSIGN_OR_RETURN(std::optional<Pool> pool, tx.GetPool(alloc.pool_id));
    if (!pool) continue;
    LINE_ASSIGN_OR_RETURN(EvalSettled settled,
                          EndAllocAndSettle(tx, *pool, alloc, ending, now, deltas));
    Count(settled, alloc.pool_id, report);
    // Capacity came back to the worker, so blocked evals of the pool may fit now.
    report.pools_to_wake.insert(alloc.pool_id);
    ++report.expired_allocs;
    log_lines.push_back("alloc " + alloc.alloc_id + " of pool " + alloc.pool_id + " (eval " +
                        alloc.eval_id + ", attempt " + std::to_string(alloc.attempt) +
                        ") expired" + (settled == EvalSettled::kDead ? "; dead-lettered" : ""));
  }

  LINE_ASSIGN_OR_RETURN(int64_t replicas, tx.DeleteReplicasExpiredBy(now));
  report.expired_replicas += replicas;
  if (replicas > 0) log_lines.push_back(std::to_string(replicas) + " replicas expired");
  // Which pools lost them is not known here; snapshots are rebuilt (replica expiry is rare).
  if (replicas > 0) deltas.push_back({CapacityDelta::Kind::kInvalidateAll});

  LINE_ASSIGN_OR_RETURN(std::vector<std::string> old_pools,
                        tx.PoolsDisbandedBy(now - pool_ttl_ms, kSweepBatch));
  for (const std::string& pool_id : old_pools) {
    LINE_RETURN_IF_ERROR(tx.DeletePool(pool_id));
    deltas.push_back({CapacityDelta::Kind::kDeletePool, pool_id});
    ++report.deleted_pools;
    log_lines.push_back("pool " + pool_id + " deleted, POOL_TTL after its disband");
  }
  *more = static_cast<int64_t>(dead_workers.size()) == kSweepBatch ||
          static_cast<int64_t>(dead_allocs.size()) == kSweepBatch ||
          static_cast<int64_t>(old_pools.size()) == kSweepBatch;
  return Status::Ok();
}

}  // namespace

Sweeper::Sweeper(Store* store, Clock* clock, SnapshotCache* cache, Ttls ttls,
                 SweptHook on_swept, std::function<bool()> may_sweep)
    : store_(store), clock_(clock), cache_(cache), ttls_(ttls),
      on_swept_(std::move(on_swept)), may_sweep_(std::move(may_sweep)) {}

Sweeper::~Sweeper() { Stop(); }

void Sweeper::Start(int64_t interval_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, interval_ms] {
    NameThisThread("line-sweeper");
    Loop(interval_ms);
  });
}

void Sweeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<SweepReport> Sweeper::SweepOnce() {
  TimeMs now = clock_->NowMs();
  SweepReport total;
  bool more = true;
  while (more) {
    more = false;
    SweepReport batch;
    std::vector<std::string> log_lines;
    const bool recovering = store_was_down_.load();
    std::promise<Status> outcome;
    WriteTracked(
        *store_, *cache_,
        [&](Tx& tx, CapacityDeltas& deltas) -> Status {
          batch = SweepReport();
          log_lines.clear();
          if (recovering) {
            LINE_RETURN_IF_ERROR(tx.ExtendDeadlines(now, ttls_.worker_ttl_s * 1000,
                                                    ttls_.replica_ttl_s * 1000));
            batch.deadlines_extended = true;
          }
          return SweepBatch(tx, now, ttls_.pool_ttl_s * 1000, batch, log_lines, deltas, &more);
        },
        [&outcome](Status s) { outcome.set_value(std::move(s)); });
    Status status = outcome.get_future().get();
    if (!status.ok()) {
      store_was_down_ = true;
      return status;
    }
    if (recovering) {
      store_was_down_ = false;
      spdlog::warn("expiry: the store is back; every worker, replica and alloc got a full TTL");
    }
    for (const std::string& line : log_lines) spdlog::info("expiry: {}", line);
    total.expired_workers += batch.expired_workers;
    total.expired_allocs += batch.expired_allocs;
    total.dead_lettered += batch.dead_lettered;
    total.expired_replicas += batch.expired_replicas;
    total.deleted_pools += batch.deleted_pools;
    total.deadlines_extended = total.deadlines_extended || batch.deadlines_extended;
    total.gone_workers.insert(total.gone_workers.end(), batch.gone_workers.begin(),
                              batch.gone_workers.end());
    total.pools_to_wake.insert(batch.pools_to_wake.begin(), batch.pools_to_wake.end());
  }
  return total;
}

void Sweeper::Loop(int64_t interval_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    // Another node holds the expiry lease: nothing to sweep here, but the tick still lets
    // the hook retry failed scheduling.
    Result<SweepReport> report =
        (may_sweep_ && !may_sweep_()) ? Result<SweepReport>(SweepReport{}) : SweepOnce();
    if (!report.ok()) {
      spdlog::error("expiry sweep failed: {}", report.status().ToString());
    } else if (on_swept_) {
      on_swept_(*report);
    }
    lock.lock();
    TimeMs deadline = clock_->NowMs() + interval_ms;
    while (!stopping_ && clock_->WaitUntil(stop_cv_, lock, deadline)) {
    }
  }
}

}  // namespace line
