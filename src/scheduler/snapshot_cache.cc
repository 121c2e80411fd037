#include "scheduler/snapshot_cache.h"

namespace line {

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
      default:
        exact = false;
        break;
    }
    if (!exact) snapshots_.erase(it);
  }
}

void SnapshotCache::InvalidateTouched(const CapacityDeltas& deltas) {
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

void WriteTracked(Store& store, SnapshotCache& cache, TrackedTxBody body, TxDone done) {
  auto deltas = std::make_shared<CapacityDeltas>();
  store.Write(
      [&cache, deltas, body = std::move(body)](Tx& tx) -> Status {
        deltas->clear();
        Status status = body(tx, *deltas);
        if (status.ok()) cache.Apply(*deltas);
        return status;
      },
      [&cache, deltas, done = std::move(done)](Status status) {
        if (!status.ok()) {
          cache.InvalidateTouched(*deltas);
        } else {
          cache.Committed(*deltas);
        }
        done(std::move(status));
      });
}

}  // namespace line
