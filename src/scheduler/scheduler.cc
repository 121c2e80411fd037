#include "scheduler/scheduler.h"

#include <algorithm>
#include <future>
#include <iterator>

#include "common/log.h"
#include "common/thread_name.h"
#include "scheduler/placement.h"
#include "scheduler/plan_commit.h"

namespace line {

Scheduler::Scheduler(Store* store, Clock* clock, SnapshotCache* cache, PlacedHook on_placed,
                     Cluster* cluster, ClaimPoll claim_poll)
    : store_(store),
      clock_(clock),
      cache_(cache),
      on_placed_(std::move(on_placed)),
      cluster_(cluster),
      claim_poll_(std::move(claim_poll)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    NameThisThread("line-scheduler");
    Loop();
  });
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
  if (cluster_ != nullptr && !cluster_->OwnsPool(pool_id)) {
    cluster_->PoolChanged(pool_id, /*capacity_changed=*/false);
    return;
  }
  WakeLocal(pool_id);
}

void Scheduler::WakeLocal(const std::string& pool_id) {
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
  for (const std::string& pool_id : failed) WakeLocal(pool_id);
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
    if (cluster_ != nullptr && !cluster_->OwnsPool(pool_id)) {
      // Another node schedules it; a snapshot kept here would only go stale.
      cache_->Invalidate(pool_id);
      conflict_rounds_.erase(pool_id);
      lock.lock();
      busy_ = false;
      if (queue_.empty()) idle_.notify_all();
      continue;
    }
    // One round, then the pool goes to the back of the queue if it has more to do: a pool
    // with a constant inflow cannot starve the others.
    RoundOutcome outcome;
    Status status = RunRound(pool_id, &outcome);
    bool again = false;
    if (!status.ok()) {
      // Its evals stay pending; RetryFailed() (the sweeper's tick) queues it again.
      spdlog::error("scheduling pool {} failed: {}", pool_id, status.ToString());
    } else if (outcome.placed > 0) {
      conflict_rounds_.erase(pool_id);
      again = true;
    } else if (outcome.conflicts > 0) {
      // Lost races are retried with a fresh snapshot a few times, never endlessly.
      again = ++conflict_rounds_[pool_id] <= 3;
    } else {
      conflict_rounds_.erase(pool_id);
    }
    lock.lock();
    if (!status.ok()) failed_.insert(pool_id);
    busy_ = false;
    if (again && queued_.insert(pool_id).second) queue_.push_back(pool_id);
    if (queue_.empty()) idle_.notify_all();
  }
  busy_ = false;
  idle_.notify_all();
}

Status Scheduler::RunRound(const std::string& pool_id, RoundOutcome* outcome) {
  TimeMs now = clock_->NowMs();
  // The round runs as a write body, in the store's write order: that is what keeps the cached
  // snapshot exact (snapshot_cache.h).
  Claims claims;
  std::promise<Status> done;
  WriteTracked(
      *store_, *cache_,
      [&](Tx& tx, CapacityDeltas& deltas) -> Status {
        *outcome = RoundOutcome();
        return Round(tx, deltas, pool_id, now, *outcome, claims);
      },
      [&done](Status s) { done.set_value(std::move(s)); });
  Status status = done.get_future().get();
  if (!status.ok()) {
    SettleClaims(claims, {});
    return status;
  }
  Announce(claims, *outcome);
  if (outcome->placed > 0 || outcome->conflicts > 0) {
    spdlog::debug("pool {}: placed {} evals ({} blocked, {} conflicts{})", pool_id,
                  outcome->placed, outcome->blocked, outcome->conflicts,
                  outcome->rebuilt ? ", snapshot rebuilt" : "");
  }
  return Status::Ok();
}

Status Scheduler::Round(Tx& tx, CapacityDeltas& deltas, const std::string& pool_id, TimeMs now,
                        RoundOutcome& outcome, Claims& claims, bool build) {
  // The round charges the pool's snapshot. Tracked with a kPlaced delta: if the store runs the
  // body again, or its commit fails, the snapshot is dropped there and then, on the writer
  // thread, before any later body (a batch placing itself) can take it.
  deltas.push_back({CapacityDelta::Kind::kPlaced, pool_id});
  LINE_ASSIGN_OR_RETURN(std::optional<Pool> pool, tx.GetPool(pool_id));
  if (!pool || pool->disbanded) {
    cache_->Invalidate(pool_id);
    return Status::Ok();
  }
  // Another node's commit invalidates the pool from the cluster thread at any moment; a
  // snapshot read before that must not go back into the cache.
  const uint64_t epoch = cache_->Epoch(pool_id);
  std::unique_ptr<PoolSnapshot> snapshot = cache_->Take(pool_id);
  if (!snapshot && !build) {
    outcome.no_snapshot = true;
    return Status::Ok();
  }
  if (!snapshot) {
    // Building costs O(W + R): not worth it for a pool with nothing to place (say, while a
    // thousand workers register and each wakes the pool).
    LINE_ASSIGN_OR_RETURN(std::vector<Eval> any, tx.PendingEvals(pool_id, INT64_MAX, 0, 1));
    if (any.empty()) return Status::Ok();
    LINE_ASSIGN_OR_RETURN(std::vector<Worker> candidates, tx.CandidateWorkers(pool_id, now));
    LINE_ASSIGN_OR_RETURN(std::vector<Replica> replicas, tx.PoolReplicas(pool_id, now));
    snapshot = std::make_unique<PoolSnapshot>(pool->placement, candidates, replicas);
    outcome.rebuilt = true;
  }
  // Read the pending evals in chunks that grow, and stop once nothing more can fit: a pool
  // with thousands pending and a few free units (the steady state of a busy pool, where each
  // completion wakes a round) reads a few dozen rows per round, not kBatch. Evals that fit
  // nowhere do not hold back later ones, so while capacity is left the reading goes on, up to
  // kBatch evals per round.
  std::vector<Eval> evals;
  Plan plan;
  int64_t after_seq = 0;
  int64_t chunk = kFirstChunk;
  while (true) {
    if (static_cast<int64_t>(evals.size()) >= kBatch) {
      outcome.more = true;
      break;
    }
    const int64_t max_free = snapshot->MaxFree();
    if (max_free <= 0) break;
    const int64_t want = std::min(chunk, kBatch - static_cast<int64_t>(evals.size()));
    LINE_ASSIGN_OR_RETURN(std::vector<Eval> more,
                          tx.PendingEvals(pool_id, max_free, after_seq, want));
    if (more.empty()) break;
    after_seq = more.back().seq;
    const size_t offset = evals.size();
    Plan part = ComputePlan(*snapshot, more);
    for (PlannedPlacement& p : part.placements) {
      p.eval_index += offset;
      plan.placements.push_back(std::move(p));
    }
    for (size_t i : part.blocked) plan.blocked.push_back(i + offset);
    const bool short_read = static_cast<int64_t>(more.size()) < want;
    std::move(more.begin(), more.end(), std::back_inserter(evals));
    if (short_read) break;  // no more pending evals that could fit
    chunk *= 4;
  }
  if (evals.empty()) {
    cache_->PutIfCurrent(pool_id, std::move(snapshot), epoch);
    return Status::Ok();
  }
  // On an error the snapshot (already charged with the plan) is dropped with this frame.
  const std::vector<bool> delivered = ClaimPolls(pool_id, plan, claims);
  LINE_ASSIGN_OR_RETURN(CommittedPlan committed,
                        CommitPlan(tx, *pool, evals, plan, now, delivered));
  for (size_t i = 0; i < committed.allocs.size(); ++i) {
    if (committed.allocs[i].delivered_at == 0) continue;
    outcome.handed.push_back(
        HandedAlloc{committed.allocs[i], evals[committed.eval_indexes[i]].payload});
  }
  outcome.placed = static_cast<int64_t>(committed.allocs.size());
  outcome.conflicts = committed.conflicts;
  outcome.blocked = static_cast<int64_t>(plan.blocked.size());
  outcome.allocs = std::move(committed.allocs);
  // A conflict means the snapshot charged a placement that did not happen: rebuild it.
  if (committed.conflicts == 0) cache_->PutIfCurrent(pool_id, std::move(snapshot), epoch);
  return Status::Ok();
}

std::vector<bool> Scheduler::ClaimPolls(const std::string& pool_id, const Plan& plan,
                                        Claims& claims) {
  std::vector<bool> delivered(plan.placements.size(), false);
  if (!claim_poll_) return delivered;
  std::set<std::string> none_parked;  // asked in this run of the body: no poll waiting
  std::map<std::string, int64_t> taken;
  for (size_t i = 0; i < plan.placements.size(); ++i) {
    const std::string& worker_id = plan.placements[i].worker_id;
    auto claim = claims.find(worker_id);
    if (claim == claims.end()) {
      if (none_parked.contains(worker_id)) continue;
      std::optional<ClaimedPoll> poll = claim_poll_(pool_id, worker_id);
      if (!poll) {
        none_parked.insert(worker_id);
        continue;
      }
      claim = claims.emplace(worker_id, std::move(*poll)).first;
    }
    int64_t& count = taken[worker_id];
    if (count >= claim->second.max_allocs) continue;  // the rest wait for its next poll
    ++count;
    delivered[i] = true;
  }
  return delivered;
}

void Scheduler::SettleClaims(Claims& claims, std::vector<HandedAlloc> handed) {
  std::map<std::string, std::vector<HandedAlloc>> by_worker;
  for (HandedAlloc& h : handed) by_worker[h.alloc.worker_id].push_back(std::move(h));
  for (auto& [worker_id, poll] : claims) {
    auto mine = by_worker.find(worker_id);
    if (mine == by_worker.end()) {
      poll.release();  // every placement on it was refused, or the round failed
    } else {
      poll.deliver(std::move(mine->second));
    }
  }
  claims.clear();
}

void Scheduler::Announce(Claims& claims, RoundOutcome& outcome) {
  // Durable now: the claimed polls answer first, then everyone else who may be waiting.
  SettleClaims(claims, std::move(outcome.handed));
  if (!outcome.allocs.empty() && on_placed_) on_placed_(outcome.allocs);
}

Status Scheduler::PlaceOnSubmit(Tx& tx, const std::string& pool_id, TimeMs now,
                                CapacityDeltas& deltas, SubmitPlacement& placement) {
  if (cluster_ != nullptr && !cluster_->OwnsPool(pool_id)) return Status::Ok();
  if (placement.round_failed) return Status::Ok();  // ran stays false: AfterSubmit wakes the pool
  Status placed = Round(tx, deltas, pool_id, now, placement.outcome, placement.claims,
                        /*build=*/false);
  if (!placed.ok()) {
    spdlog::warn("pool {}: placing a submission in its own transaction failed ({}); the "
                 "submission runs again without placing, and the scheduler will place it",
                 pool_id, placed.ToString());
    placement.round_failed = true;
    return placed;
  }
  placement.ran = true;
  return Status::Ok();
}

void Scheduler::AfterSubmit(const std::string& pool_id, SubmitPlacement& placement,
                            bool committed) {
  if (!committed) {
    SettleClaims(placement.claims, {});
    return;
  }
  RoundOutcome& outcome = placement.outcome;
  Announce(placement.claims, outcome);
  // Lost races are retried by the scheduler thread (with its bounded streak).
  if (!placement.ran || outcome.no_snapshot || outcome.more || outcome.conflicts > 0) {
    Wake(pool_id);
  }
}

}  // namespace line
