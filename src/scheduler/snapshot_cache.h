// SnapshotCache: each pool's placement snapshot, kept between scheduling rounds so that placing
// an eval costs O(log W) instead of re-reading every worker each round.
//
// Exactness rests on ordering. Every change to a pool's capacity happens inside a store write
// body, and write bodies run one after another (the SQLite store's single writer). Each body
// that changes capacity records CapacityDeltas and applies them to the cache when it succeeds,
// in body order; the scheduling round is itself a write body that reads or builds the snapshot
// at its place in that order. A body or a commit that fails invalidates every pool it touched,
// so the next round rebuilds from the store. A stale snapshot can only cause a conditional
// claim to fail (a conflict), which invalidates the pool too: the cache can make placement
// slower, never wrong.
//
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/renewal_gate.h"

namespace line {

struct CapacityDelta {
  enum class Kind {
    kRelease,         // worker_id got `size` back
    kRemoveWorker,    // worker_id is no longer a candidate (died, drained, deregistered)
    kInvalidatePool,  // rebuild the pool's snapshot (a worker registered, replicas changed)
    kInvalidateAll,   // rebuild every snapshot (replicas of unknown pools expired)
    kDeletePool,      // the pool and everything of it were deleted (POOL_TTL after disband)
    kAllocEnded,      // an alloc of worker_id ended: nothing for snapshots (kRelease is), but
                      // the heartbeat gate forgets the worker (renewal_gate.h)
    kPlaced,          // the body placed on the pool's snapshot itself (nothing to apply); if
                      // the body runs again or fails, the snapshot it charged is dropped
  };
  Kind kind;
  std::string pool_id;
  std::string worker_id;
  int64_t size = 0;
};

// What one write body changed; applied to the cache only if the body succeeded.
using CapacityDeltas = std::vector<CapacityDelta>;

class SnapshotCache {
 public:
  // Takes the pool's snapshot out of the cache (nullptr if there is none): the caller places
  // on it and gives it back with Put() if it is still exact.
  std::unique_ptr<PoolSnapshot> Take(const std::string& pool_id);
  void Put(const std::string& pool_id, std::unique_ptr<PoolSnapshot> snapshot);
  // A counter that every invalidation of the pool moves on. Read it before Take(): a
  // snapshot built from reads that an invalidation may have overtaken (another node's
  // commit, reported by the cluster thread) is dropped by PutIfCurrent instead of kept.
  uint64_t Epoch(const std::string& pool_id) const;
  void PutIfCurrent(const std::string& pool_id, std::unique_ptr<PoolSnapshot> snapshot,
                    uint64_t epoch);

  void Apply(const CapacityDeltas& deltas);
  // After a failed body or commit: forget every pool the deltas name.
  void InvalidateTouched(const CapacityDeltas& deltas);
  void Invalidate(const std::string& pool_id);
  void InvalidateAll();

  size_t size() const;

  // The heartbeat gate beside the snapshots: the deltas that delete workers, replicas or pools
  // reach it through Apply and InvalidateTouched, in the same body order (renewal_gate.h).
  RenewalGate& renewals() { return renewals_; }

  // Called after a tracked write body committed, with what it changed: how the cluster learns
  // which pools another node's owner must look at again. Set once, before any write.
  using CommittedHook = std::function<void(const CapacityDeltas&)>;
  void SetCommittedHook(CommittedHook hook) { committed_hook_ = std::move(hook); }
  void Committed(const CapacityDeltas& deltas) const {
    if (committed_hook_ && !deltas.empty()) committed_hook_(deltas);
  }

 private:
  uint64_t EpochLocked(const std::string& pool_id) const;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<PoolSnapshot>> snapshots_;  // guarded by mu_
  std::unordered_map<std::string, uint64_t> epochs_;  // guarded by mu_: per-pool invalidations
  uint64_t all_epoch_ = 0;                            // guarded by mu_: InvalidateAll calls
  CommittedHook committed_hook_;                      // constant once writes begin
  RenewalGate renewals_;                              // thread-safe itself
};

}  // namespace line

#include <functional>

#include "store/store.h"

namespace line {

// A write body that reports what it did to pools' capacity.
using TrackedTxBody = std::function<Status(Tx&, CapacityDeltas&)>;

// Store::Write for bodies that change capacity: the body's deltas reach `cache` in body order
// when it succeeds, and its pools are invalidated if the body or its commit fails.
// `lazy`: through Store::WriteLazy (soft state, heartbeats).
void WriteTracked(Store& store, SnapshotCache& cache, TrackedTxBody body, TxDone done,
                  bool lazy = false);

}  // namespace line
