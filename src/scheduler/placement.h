// Placement: the pure core of the scheduler. A pool snapshot plus pending evals in, a plan
// out; no I/O, no locks, no clock (SPEC "Placement", ARCHITECTURE "scheduler/").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/model.h"
#include "scheduler/free_index.h"

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
// dataset keep a FreeIndex over their workers (a dataset's slots are its holders in worker
// order, so the smallest slot is the smallest id). A change to a worker's free capacity
// updates the pool's index and the indexes of the R datasets it holds at once; each update is
// a short walk up a contiguous array that stops where nothing changes (see free_index.h).
// Only binpack's free capacities above FreeIndex::kExactMax are caught up in a dataset's
// index lazily, when that dataset is next asked for.
class PoolSnapshot {
 public:
  PoolSnapshot(PlacementPolicy policy, const std::vector<Worker>& candidates,
               const std::vector<Replica>& replicas);  // replicas of unknown workers are ignored

  // A snapshot is one scheduler pass's working state, handed around by unique_ptr; copying
  // hundreds of thousands of index nodes by accident is not offered.
  PoolSnapshot(const PoolSnapshot&) = delete;
  PoolSnapshot& operator=(const PoolSnapshot&) = delete;
  PoolSnapshot(PoolSnapshot&&) = default;
  PoolSnapshot& operator=(PoolSnapshot&&) = default;

  // Chooses a worker for work of `size` near `dataset_id` ("" = no preference) by SPEC's
  // rules and deducts `size` from it. nullopt if no candidate has free >= size, and for
  // size < 1, which SPEC rejects at submission: placing it would add capacity, not claim it.
  // O(log W) for the choice plus O(R log W) for the chosen worker's R replicas; never a scan,
  // never an allocation.
  std::optional<PlacementChoice> Place(std::string_view dataset_id, int64_t size);

  // Changes a candidate's free capacity by `delta` (capacity came back: delta > 0). False if
  // the worker is unknown or removed. O(R log W), like Place.
  bool AdjustFree(std::string_view worker_id, int64_t delta);
  // Takes a worker out of the candidates for good (it died, drained or left). False if
  // unknown. It stays in the indexes with a free capacity no eval can fit.
  bool Remove(std::string_view worker_id);

  int64_t MaxFree() const;  // largest free capacity of any candidate (0 if none)
  size_t worker_count() const { return ids_.size(); }
  int64_t FreeOf(std::string_view worker_id) const;  // -1 if unknown (for tests)
  PlacementPolicy policy() const { return policy_; }

 private:
  // Heterogeneous lookup so Place can find a dataset by string_view without building a string.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Sets worker w's free capacity in free_ and in every index that holds it.
  void SetFree(uint32_t w, int64_t free);
  // The index of a known worker id, or -1.
  int64_t IndexOf(std::string_view worker_id) const;

  // The free capacity of a removed worker: below any size, so never chosen.
  static constexpr int64_t kRemoved = INT64_MIN / 2;

  PlacementPolicy policy_;
  std::vector<std::string> ids_;  // worker index -> id, sorted
  std::vector<int64_t> free_;     // worker index -> free capacity
  FreeIndex pool_;                // slot = worker index
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> dataset_of_;
  std::vector<FreeIndex> holders_;  // dataset index -> its holders; slot = rank among them
  // Dataset d's holders are holder_worker_[holders_begin_[d] .. holders_begin_[d + 1]), in
  // worker order: slot -> worker index.
  std::vector<uint32_t> holders_begin_;
  std::vector<uint32_t> holder_worker_;
  // The replicas of worker w are held_[held_begin_[w] .. held_begin_[w + 1]): which dataset,
  // and w's slot in that dataset's index.
  struct Held {
    uint32_t dataset;
    uint32_t slot;
  };
  std::vector<uint32_t> held_begin_;
  std::vector<Held> held_;
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
