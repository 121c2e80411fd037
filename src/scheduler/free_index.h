// FreeIndex: a fixed set of slots (workers) indexed by free capacity for one placement policy,
// answering "the policy's choice among slots with free >= size" in O(log n). Used by
// PoolSnapshot for the pool and for each dataset's holders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "model/model.h"

namespace line {

// Slots are dense indexes 0..n-1 given at construction; ties break by the smallest slot, so a
// caller that numbers slots in worker-id order gets SPEC's tie-break for free. Update takes
// the old free capacity from the caller, who keeps the authoritative value.
//
// The shape is an implicit 8-ary tree over the slots in order, each level a contiguous array
// of 64-byte groups (a node's 8 children are one cache line). A change to a slot recomputes
// its ancestors bottom-up and stops at the first one whose value does not change; a choice
// is one descent from the root to the leftmost leaf that satisfies it, which is the smallest
// slot. A placement thus touches a few cache lines per index, where re-keying nodes of a
// pointer-based ordered set touched many (docs/performance.md, "Placement with locality").
//
// - spread: a node holds the most free capacity below it. The choice is the leftmost leaf
//   holding the root's value. Ties are the common case under spread and end updates early: a
//   worker that loses capacity changes its ancestors only while it was their sole maximum.
// - binpack: "least free >= size" is a successor query by value, which no single aggregate
//   over slots answers. Free capacities in [1, kExactMax] (the common case: slot counts) are
//   one bit each in a 64-bit mask per node: the lowest root bit at or above `size` is the
//   least sufficient value, and the leftmost leaf with that bit is its smallest slot. Larger
//   capacities go to an ordered set of (free, slot), whose nodes are reused, not reallocated.
//   A lazy index (a dataset's) only queues its slots whose set entry may be out of date and
//   re-keys them in CatchUp, before the next Choose: a worker's R datasets are then not R
//   cold trees to walk per placement, and repeated changes to one slot cost one re-key.
//
// Not thread-safe; owned by its PoolSnapshot. Movable, not copyable.
class FreeIndex {
 public:
  static constexpr int64_t kExactMax = 64;  // binpack: free in [1, kExactMax] is in the masks

  FreeIndex() = default;
  // `free[slot]` is the initial free capacity of each slot. `lazy`: see CatchUp.
  FreeIndex(PlacementPolicy policy, const std::vector<int64_t>& free, bool lazy = false);

  FreeIndex(FreeIndex&&) = default;
  FreeIndex& operator=(FreeIndex&&) = default;

  // The policy's choice among slots with free >= size, or -1 if none has or size < 1. A lazy
  // index must be caught up first.
  int64_t Choose(int64_t size) const;
  // Lazy binpack indexes: brings the ordered set of large free capacities up to date, where
  // free[worker_of_slot[slot]] is each slot's current free capacity. Cheap when nothing is
  // queued (always, while no free capacity exceeds kExactMax).
  void CatchUp(const std::vector<int64_t>& free, const uint32_t* worker_of_slot);
  // Slot `slot` had `old_free` and now has `new_free`. Under binpack it may allocate when a
  // free capacity rises above kExactMax (capacity given back); lowering one, as a placement
  // does, never allocates.
  void Update(uint32_t slot, int64_t old_free, int64_t new_free);
  // The largest free capacity of any slot, 0 if no slot has any. Not for lazy indexes.
  int64_t MaxFree() const;
  // Starts loading the cache lines an Update of `slot` touches first: its leaf's group and
  // its parent's. A placement updates R + 1 indexes whose lines are cold; asking for all of
  // them before updating any overlaps the misses instead of taking them one after another.
  void Prefetch(uint32_t slot) const {
    if (levels_ < 2) return;  // a single group: small enough to be in cache
    const char* groups = policy_ == PlacementPolicy::kSpread
                             ? reinterpret_cast<const char*>(most_.data())
                             : reinterpret_cast<const char*>(masks_.data());
    const size_t leaf_group = slot / kFanout;
    const size_t parent_group = level_begin_[1] + leaf_group / kFanout;
    __builtin_prefetch(groups + 64 * leaf_group, 1);
    __builtin_prefetch(groups + 64 * parent_group, 1);
  }

  static constexpr int kFanout = 8;
  template <typename T>
  struct alignas(64) Group {  // one cache line
    T node[kFanout];
  };

 private:
  static uint64_t BitOf(int64_t free) {
    return free >= 1 && free <= kExactMax ? uint64_t{1} << (free - 1) : 0;
  }
  void UpdateLarge(uint32_t slot, int64_t old_free, int64_t new_free);
  void StartKeying();  // lazy: begins tracking large_'s keys (all slots absent but those set)

  PlacementPolicy policy_ = PlacementPolicy::kSpread;
  // Level 0 holds the leaves (slot order), the last level the root alone. Level l is groups
  // [level_begin_[l], level_begin_[l + 1]); node j of level l + 1 sums up the group j of level
  // l. Padding nodes hold the identity (INT64_MIN, no bits). 2^32 slots need 12 levels.
  static constexpr int kMaxLevels = 12;
  int levels_ = 0;
  uint32_t level_begin_[kMaxLevels + 1] = {};

  std::vector<Group<int64_t>> most_;    // spread: most free capacity below each node
  std::vector<Group<uint64_t>> masks_;  // binpack: which values in [1, kExactMax] are below

  using Large = std::set<std::pair<int64_t, uint32_t>>;  // binpack: (free, slot), free > kExactMax
  Large large_;
  std::vector<Large::node_type> spare_;  // nodes of slots that left large_, for reuse
  // Lazy binpack only, allocated when a free capacity first exceeds kExactMax (so never for
  // pools of small capacities): the free capacity each slot has in large_ (0: not in it), the
  // slots queued for CatchUp, and whether each is queued.
  bool lazy_ = false;
  uint32_t slots_ = 0;
  std::vector<int64_t> keyed_;
  std::vector<uint32_t> stale_;
  std::vector<uint8_t> queued_;
};

}  // namespace line
