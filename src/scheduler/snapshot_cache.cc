#include "scheduler/snapshot_cache.h"

namespace line {
namespace {

// What a body's deltas deleted, told to the heartbeat gate (renewal_gate.h): a worker no
// longer a candidate may be gone, an ended alloc is no longer renewed, expired replicas are of
// unknown workers, a deleted pool took all of its workers with it.
void ForgetDeleted(const CapacityDeltas& deltas, RenewalGate& gate) {
  for (const CapacityDelta& delta : deltas) {
    switch (delta.kind) {
      case CapacityDelta::Kind::kRemoveWorker:
      case CapacityDelta::Kind::kAllocEnded:
        gate.Forget(delta.pool_id, delta.worker_id);
        break;
      case CapacityDelta::Kind::kInvalidateAll:
        gate.ForgetAll();
        break;
      case CapacityDelta::Kind::kDeletePool:
        gate.ForgetPool(delta.pool_id);
        break;
      default:
        break;
    }
  }
}

}  // namespace

std::unique_ptr<PoolSnapshot> SnapshotCache::Take(const std::string& pool_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = snapshots_.find(pool_id);
  if (it == snapshots_.end()) return nullptr;
  std::unique_ptr<PoolSnapshot> snapshot = std::move(it->second);
  snapshots_.erase(it);
  return snapshot;
}

void SnapshotCache::Put(const std::string& pool_id, std::unique_ptr<PoolSnapshot> snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  snapshots_[pool_id] = std::move(snapshot);
}

uint64_t SnapshotCache::EpochLocked(const std::string& pool_id) const {
  auto it = epochs_.find(pool_id);
  // Both counters only grow, so their sum changes whenever either does.
  return all_epoch_ + (it == epochs_.end() ? 0 : it->second);
}

uint64_t SnapshotCache::Epoch(const std::string& pool_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return EpochLocked(pool_id);
}

void SnapshotCache::PutIfCurrent(const std::string& pool_id,
                                 std::unique_ptr<PoolSnapshot> snapshot, uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (EpochLocked(pool_id) != epoch) return;
  snapshots_[pool_id] = std::move(snapshot);
}

void SnapshotCache::Apply(const CapacityDeltas& deltas) {
  ForgetDeleted(deltas, renewals_);
  std::lock_guard<std::mutex> lock(mu_);
  for (const CapacityDelta& delta : deltas) {
    if (delta.kind == CapacityDelta::Kind::kInvalidateAll) {
      snapshots_.clear();
      continue;
    }
    auto it = snapshots_.find(delta.pool_id);
    if (it == snapshots_.end()) continue;
    bool exact = true;
    switch (delta.kind) {
      case CapacityDelta::Kind::kRelease:
        // An unknown worker here means the snapshot missed its registration: rebuild.
        exact = it->second->AdjustFree(delta.worker_id, delta.size);
        break;
      case CapacityDelta::Kind::kRemoveWorker:
        it->second->Remove(delta.worker_id);  // unknown: it was never a candidate
        break;
      case CapacityDelta::Kind::kPlaced:
        break;  // charged already, by the placement itself
      case CapacityDelta::Kind::kAllocEnded:
        break;  // its capacity, if any came back, is a kRelease of its own
      default:
        exact = false;
        break;
    }
    if (!exact) snapshots_.erase(it);
  }
}

void SnapshotCache::InvalidateTouched(const CapacityDeltas& deltas) {
  ForgetDeleted(deltas, renewals_);
  std::lock_guard<std::mutex> lock(mu_);
  for (const CapacityDelta& delta : deltas) {
    if (delta.kind == CapacityDelta::Kind::kInvalidateAll) {
      snapshots_.clear();
      return;
    }
    snapshots_.erase(delta.pool_id);
  }
}

void SnapshotCache::Invalidate(const std::string& pool_id) {
  std::lock_guard<std::mutex> lock(mu_);
  snapshots_.erase(pool_id);
  ++epochs_[pool_id];
}

void SnapshotCache::InvalidateAll() {
  std::lock_guard<std::mutex> lock(mu_);
  snapshots_.clear();
  ++all_epoch_;
}

size_t SnapshotCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshots_.size();
}

}  // namespace line

namespace line {

void WriteTracked(Store& store, SnapshotCache& cache, TrackedTxBody body, TxDone done,
                  bool lazy) {
  struct Run {
    CapacityDeltas deltas;
    bool applied = false;  // a run of the body applied its deltas to the cache
  };
  auto run = std::make_shared<Run>();
  TxBody tracked = [&cache, run, body = std::move(body)](Tx& tx) -> Status {
        // Run again (the store rolled the group back after a lost race): what the earlier run
        // applied never happened, so its pools and this run's are rebuilt, not adjusted.
        const bool again = run->applied;
        if (again) cache.InvalidateTouched(run->deltas);
        run->deltas.clear();
        Status status = body(tx, run->deltas);
        if (status.ok()) {
          if (again) {
            cache.InvalidateTouched(run->deltas);
          } else {
            cache.Apply(run->deltas);
          }
          run->applied = true;
        }
        return status;
      };
  TxDone after = [&cache, run, done = std::move(done)](Status status) {
        if (!status.ok()) {
          cache.InvalidateTouched(run->deltas);
        } else {
          cache.Committed(run->deltas);
        }
        done(std::move(status));
      };
  if (lazy) {
    store.WriteLazy(std::move(tracked), std::move(after));
  } else {
    store.Write(std::move(tracked), std::move(after));
  }
}

}  // namespace line
