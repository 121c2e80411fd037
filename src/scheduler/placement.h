// Placement: the pure core of the scheduler. A pool snapshot plus pending evals in, a plan
// out; no I/O, no locks, no clock (SPEC "Placement", ARCHITECTURE "scheduler/").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/model.h"

namespace line {

struct PlacementChoice {
  std::string worker_id;
  bool locality = false;  // the worker holds a replica of the eval's dataset
};

// The placement view of one pool: its candidate workers (live, not draining — the caller
// filters) with their free capacity, and which datasets each holds. Not thread-safe; a value
// owned by whoever builds it (one scheduler pass).
//
// Worker ids are interned to dense indexes in lexicographic order, so "smallest worker_id"
// is "smallest index" and ties never compare strings on the hot path. The pool and every
// dataset keep an ordered index of (free, index) arranged by the policy, so a choice is the
// first entry (spread) or a lower_bound (binpack). Entries are re-keyed by extracting and
// re-inserting their node, which allocates nothing. The pool index is updated at once; a
// dataset index only when that dataset is next asked for: a deduction merely queues the
// worker's entries in its datasets' dirty lists. Re-keying them together then walks one tree
// that is already in cache instead of R cold trees per placement, and repeated deductions of
// one worker between lookups cost one re-key (about 1.5-2x at 100k workers with 8 replicas
// each; see bench/placement_bench.cc).
class PoolSnapshot {
 public:
  PoolSnapshot(PlacementPolicy policy, const std::vector<Worker>& candidates,
               const std::vector<Replica>& replicas);  // replicas of unknown workers are ignored

  // The snapshot keeps iterators into its own indexes; a copy would point into the
  // original's, so copying is not offered. Moving keeps them valid (the nodes move along).
  PoolSnapshot(const PoolSnapshot&) = delete;
  PoolSnapshot& operator=(const PoolSnapshot&) = delete;
  PoolSnapshot(PoolSnapshot&&) = default;
  PoolSnapshot& operator=(PoolSnapshot&&) = default;

  // Chooses a worker for work of `size` near `dataset_id` ("" = no preference) by SPEC's
  // rules and deducts `size` from it. nullopt if no candidate has free >= size, and for
  // size < 1, which SPEC rejects at submission: placing it would add capacity, not claim it.
  // O(log W) plus O(R log W) for the chosen worker's R replicas; never a scan.
  std::optional<PlacementChoice> Place(std::string_view dataset_id, int64_t size);

  // Changes a candidate's free capacity by `delta` (capacity came back: delta > 0). False if
  // the worker is unknown or removed. O(log W) plus O(R) queueing, like Place.
  bool AdjustFree(std::string_view worker_id, int64_t delta);
  // Takes a worker out of the candidates for good (it died, drained or left). False if
  // unknown. Its entries stay in the indexes with a free capacity no eval can fit.
  bool Remove(std::string_view worker_id);

  int64_t MaxFree() const;  // largest free capacity of any candidate (0 if none)
  size_t worker_count() const { return ids_.size(); }
  int64_t FreeOf(std::string_view worker_id) const;  // -1 if unknown (for tests)
  PlacementPolicy policy() const { return policy_; }

 private:
  struct Entry {
    int64_t free;
    uint32_t worker;  // index into ids_, ordered like the ids
  };
  // Orders entries so that begin() is the spread choice (most free, then smallest id) or, for
  // binpack, so that lower_bound({size, 0}) is the binpack choice (least sufficient free,
  // then smallest id).
  struct Order {
    bool most_free_first;
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.free != b.free) return most_free_first ? a.free > b.free : a.free < b.free;
      return a.worker < b.worker;
    }
  };
  using Index = std::set<Entry, Order>;

  // Heterogeneous lookup so Place can find a dataset by string_view without building a string.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // The index's choice for `size`, or end() if no entry has free >= size.
  Index::iterator Best(Index& index, int64_t size) const;
  // Moves the worker's entry from `it` to its new free capacity; returns where it now is.
  static Index::iterator Rekey(Index& index, Index::iterator it, int64_t free);
  // Brings the dataset's index up to date with free_ by re-keying its dirty entries.
  void Sync(uint32_t dataset);
  // Sets worker w's free capacity: re-keys its pool entry, queues its dataset entries.
  void SetFree(uint32_t w, int64_t free);
  // The index of a known worker id, or -1.
  int64_t IndexOf(std::string_view worker_id) const;

  // The free capacity of a removed worker: below any size, so never chosen.
  static constexpr int64_t kRemoved = INT64_MIN / 2;

  PlacementPolicy policy_;
  std::vector<std::string> ids_;           // worker index -> id, sorted
  std::vector<int64_t> free_;              // worker index -> free capacity
  Index pool_;                             // every candidate
  std::vector<Index::iterator> pool_pos_;  // worker index -> its entry in pool_
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> dataset_of_;
  std::vector<Index> holders_;  // dataset index -> candidates holding a replica of it
  // The replicas of worker w are held_[held_begin_[w] .. held_begin_[w + 1]): the dataset
  // and where w's entry is in that dataset's index. The entry's key is w's free capacity as
  // of the last Sync of the dataset; `dirty` says it is queued in dirty_[dataset].
  struct Held {
    uint32_t dataset;
    bool dirty = false;
    Index::iterator pos;
  };
  std::vector<uint32_t> held_begin_;
  std::vector<Held> held_;
  // dataset index -> held_ indexes whose key is stale. Reserved to the dataset's holder count
  // (an entry is queued at most once), so queuing never allocates.
  std::vector<std::vector<uint32_t>> dirty_;
};

struct PlannedPlacement {
  size_t eval_index;
  std::string worker_id;
  bool locality = false;
};

struct Plan {
  std::vector<PlannedPlacement> placements;  // in eval order
  std::vector<size_t> blocked;               // indexes of evals that fit nowhere
};

// Pure: places `evals` (given oldest first) one by one on `snapshot`, which it updates.
// An eval that fits nowhere is blocked and does not hold back later ones (no head-of-line
// blocking). Uses Eval::dataset_id and Eval::size only.
Plan ComputePlan(PoolSnapshot& snapshot, const std::vector<Eval>& evals);

}  // namespace line
