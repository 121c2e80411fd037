#include "scheduler/scheduler.h"

#include "common/log.h"
#include "scheduler/placement.h"
#include "scheduler/plan_commit.h"

namespace line {

Scheduler::Scheduler(Store* store, Clock* clock, PlacedHook on_placed)
    : store_(store), clock_(clock), on_placed_(std::move(on_placed)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Wake(const std::string& pool_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queued_.insert(pool_id).second) return;
    queue_.push_back(pool_id);
  }
  wake_.notify_one();
}

void Scheduler::RetryFailed() {
  std::set<std::string> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed.swap(failed_);
  }
  for (const std::string& pool_id : failed) Wake(pool_id);
}

void Scheduler::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return (queue_.empty() || stopping_) && !busy_; });
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    std::string pool_id = std::move(queue_.front());
    queue_.pop_front();
    queued_.erase(pool_id);
    busy_ = true;
    lock.unlock();
    Status status = RunPool(pool_id);
    if (!status.ok()) {
      // Its evals stay pending; RetryFailed() (the sweeper's tick) queues it again.
      spdlog::error("scheduling pool {} failed: {}", pool_id, status.ToString());
    }
    lock.lock();
    if (!status.ok()) failed_.insert(pool_id);
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
  busy_ = false;
  idle_.notify_all();
}

Status Scheduler::RunPool(const std::string& pool_id) {
  // Rounds that only lost races are retried a few times, never endlessly.
  int conflict_rounds = 0;
  while (true) {
    RoundOutcome outcome;
    LINE_RETURN_IF_ERROR(RunRound(pool_id, &outcome));
    if (outcome.placed > 0) {
      conflict_rounds = 0;
      continue;
    }
    if (outcome.conflicts > 0 && ++conflict_rounds <= 3) continue;
    return Status::Ok();
  }
}

Status Scheduler::RunRound(const std::string& pool_id, RoundOutcome* outcome) {
  TimeMs now = clock_->NowMs();
  std::optional<Pool> pool;
  std::vector<Worker> candidates;
  std::vector<Replica> replicas;
  std::vector<Eval> evals;
  int64_t max_free = 0;
  LINE_RETURN_IF_ERROR(store_->Read([&](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(pool, tx.GetPool(pool_id));
    if (!pool || pool->disbanded) return Status::Ok();
    LINE_ASSIGN_OR_RETURN(candidates, tx.CandidateWorkers(pool_id, now));
    for (const Worker& w : candidates) max_free = std::max(max_free, w.free);
    if (max_free <= 0) return Status::Ok();
    LINE_ASSIGN_OR_RETURN(evals, tx.PendingEvals(pool_id, max_free, 0, kBatch));
    if (evals.empty()) return Status::Ok();
    LINE_ASSIGN_OR_RETURN(replicas, tx.PoolReplicas(pool_id, now));
    return Status::Ok();
  }));
  if (!pool || evals.empty()) return Status::Ok();

  PoolSnapshot snapshot(pool->placement, candidates, replicas);
  Plan plan = ComputePlan(snapshot, evals);
  if (plan.placements.empty()) return Status::Ok();

  CommittedPlan committed;
  Status status = WriteSync(*store_, [&](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(committed, CommitPlan(tx, *pool, evals, plan, now));
    return Status::Ok();
  });
  LINE_RETURN_IF_ERROR(status);
  if (!committed.allocs.empty() && on_placed_) on_placed_(committed.allocs);
  spdlog::debug("pool {}: placed {} evals ({} blocked, {} conflicts)", pool_id,
                committed.allocs.size(), plan.blocked.size(), committed.conflicts);
  outcome->placed = static_cast<int64_t>(committed.allocs.size());
  outcome->conflicts = committed.conflicts;
  return Status::Ok();
}

}  // namespace line
