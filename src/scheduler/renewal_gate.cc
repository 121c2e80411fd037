#include "scheduler/renewal_gate.h"

#include <algorithm>

#include "scheduler/renewal.h"

namespace line {
namespace {

using Deadline = std::pair<std::string, TimeMs>;

// Where `id` is, or would go, in `deadlines` (sorted by id).
template <typename Deadlines>
auto LowerBound(Deadlines& deadlines, const std::string& id) {
  return std::lower_bound(deadlines.begin(), deadlines.end(), id,
                          [](const Deadline& d, const std::string& key) { return d.first < key; });
}

// Every id in `ids` is known with a deadline at `deadline` or later.
bool AllCovered(const std::vector<Deadline>& known, const std::vector<std::string>& ids,
                TimeMs deadline) {
  for (const std::string& id : ids) {
    auto it = LowerBound(known, id);
    if (it == known.end() || it->first != id || it->second < deadline) return false;
  }
  return true;
}

// Sets (or, with `keep_later`, raises) the deadline of each of `ids`.
void Learn(std::vector<Deadline>& known, const std::vector<std::string>& ids, TimeMs deadline,
           bool keep_later) {
  for (const std::string& id : ids) {
    auto it = LowerBound(known, id);
    if (it != known.end() && it->first == id) {
      it->second = keep_later ? std::max(it->second, deadline) : deadline;
    } else {
      known.insert(it, {id, deadline});
    }
  }
}

}  // namespace

bool RenewalGate::CoversHeartbeat(const std::string& pool_id, const std::string& worker_id,
                                  const std::vector<std::string>& datasets,
                                  const std::vector<std::string>& alloc_ids, TimeMs now,
                                  TimeMs worker_deadline, TimeMs replica_deadline) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto pool = pools_.find(pool_id);
  if (pool == pools_.end()) return false;
  auto worker = pool->second.workers.find(worker_id);
  if (worker == pool->second.workers.end()) return false;
  const Known& known = worker->second;
  if (known.worker_deadline < worker_deadline ||
      !AllCovered(known.replicas, datasets, replica_deadline)) {
    return false;
  }
  if (alloc_ids.empty()) return true;
  // Known allocs imply a recorded alloc TTL: the heartbeat that taught them gave it.
  if (pool->second.alloc_ttl_ms == 0) return false;
  return AllCovered(known.allocs, alloc_ids, RenewedDeadline(now, pool->second.alloc_ttl_ms));
}

uint64_t RenewalGate::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void RenewalGate::Record(const std::string& pool_id, const std::string& worker_id,
                         const Renewal& renewal, uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  // Only a forget of this worker, its pool or everything since the body read `generation`
  // can make the renewal's bounds untrue; others (another worker's completion) cannot.
  bool overtaken = coarse_generation_ > generation;
  if (!overtaken) {
    auto it = forgotten_.find(WorkerKey(pool_id, worker_id));
    overtaken = it != forgotten_.end() && it->second > generation;
  }
  auto pool = pools_.find(pool_id);
  if (overtaken) {
    // Whatever is known of the worker may predate a renewal that lowered an alloc's deadline.
    if (pool != pools_.end()) pool->second.workers.erase(worker_id);
    return;
  }
  if (pool == pools_.end()) pool = pools_.emplace(pool_id, PoolKnown{}).first;
  if (!renewal.alloc_ids.empty()) pool->second.alloc_ttl_ms = renewal.alloc_ttl_ms;
  Known& known = pool->second.workers[worker_id];
  known.worker_deadline = std::max(known.worker_deadline, renewal.worker_deadline);
  // The heartbeat listed the worker's full list of datasets; bounds of datasets it no longer
  // lists stay true (their rows keep their deadlines until they expire, and expiry forgets).
  // Worker and replica renewals never shorten a deadline, so a bound only rises; an alloc's
  // renewal sets its deadline, so the bound is what it set.
  Learn(known.replicas, renewal.datasets, renewal.replica_deadline, /*keep_later=*/true);
  Learn(known.allocs, renewal.alloc_ids, renewal.alloc_deadline, /*keep_later=*/false);
}

void RenewalGate::Forget(const std::string& pool_id, const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  if (forgotten_.size() >= kRememberedForgets) {
    ForgetEveryRecordInFlightLocked();
  } else {
    forgotten_[WorkerKey(pool_id, worker_id)] = generation_;
  }
  auto pool = pools_.find(pool_id);
  if (pool == pools_.end()) return;
  pool->second.workers.erase(worker_id);
  if (pool->second.workers.empty()) pools_.erase(pool);
}

void RenewalGate::ForgetPool(const std::string& pool_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  ForgetEveryRecordInFlightLocked();
  pools_.erase(pool_id);
}

void RenewalGate::ForgetAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  ForgetEveryRecordInFlightLocked();
  pools_.clear();
}

void RenewalGate::ForgetEveryRecordInFlightLocked() {
  coarse_generation_ = generation_;
  forgotten_.clear();
}

size_t RenewalGate::workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [pool_id, pool] : pools_) n += pool.workers.size();
  return n;
}

}  // namespace line
