#include "scheduler/free_index.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace line {
namespace {

constexpr int kFanout = FreeIndex::kFanout;
template <typename T>
using Group = FreeIndex::Group<T>;

// Builds every level above the leaves, each node combining its group of children.
template <typename T, typename Combine>
void BuildUp(std::vector<Group<T>>& groups, const uint32_t* level_begin, int levels,
             Combine combine) {
  for (int l = 1; l < levels; ++l) {
    for (uint32_t g = level_begin[l - 1]; g < level_begin[l]; ++g) {
      T value = groups[g].node[0];
      for (int k = 1; k < kFanout; ++k) value = combine(value, groups[g].node[k]);
      const uint32_t j = g - level_begin[l - 1];  // the parent's index in level l
      groups[level_begin[l] + j / kFanout].node[j % kFanout] = value;
    }
  }
}

// Sets leaf `slot` and recomputes its ancestors until one comes out unchanged: its own
// ancestors then are unchanged too.
template <typename T, typename Combine>
void SetLeaf(std::vector<Group<T>>& groups, const uint32_t* level_begin, int levels, size_t slot,
             T value, Combine combine) {
  size_t j = slot;
  groups[level_begin[0] + j / kFanout].node[j % kFanout] = value;
  for (int l = 1; l < levels; ++l) {
    const Group<T>& children = groups[level_begin[l - 1] + j / kFanout];
    T combined = children.node[0];
    for (int k = 1; k < kFanout; ++k) combined = combine(combined, children.node[k]);
    j /= kFanout;
    T& parent = groups[level_begin[l] + j / kFanout].node[j % kFanout];
    if (parent == combined) return;
    parent = combined;
  }
}

// The leftmost leaf satisfying `pred`, given that the root does (so some child of every node
// on the way does).
template <typename T, typename Pred>
size_t Leftmost(const std::vector<Group<T>>& groups, const uint32_t* level_begin, int levels,
                Pred pred) {
  size_t j = 0;
  for (int l = levels - 1; l >= 1; --l) {
    const Group<T>& children = groups[level_begin[l - 1] + j];
    int k = 0;
    while (!pred(children.node[k])) ++k;
    j = j * kFanout + k;
  }
  return j;
}

const auto kMost = [](int64_t a, int64_t b) { return std::max(a, b); };
const auto kAny = [](uint64_t a, uint64_t b) { return a | b; };
constexpr int64_t kNoFree = std::numeric_limits<int64_t>::min();

}  // namespace

FreeIndex::FreeIndex(PlacementPolicy policy, const std::vector<int64_t>& free, bool lazy)
    : policy_(policy), lazy_(lazy), slots_(static_cast<uint32_t>(free.size())) {
  if (free.empty()) return;
  // Level sizes, leaves first, each rounded up to whole groups.
  size_t nodes = free.size();
  while (true) {
    const size_t groups = (nodes + kFanout - 1) / kFanout;
    level_begin_[levels_ + 1] = level_begin_[levels_] + static_cast<uint32_t>(groups);
    ++levels_;
    if (nodes == 1) break;
    nodes = groups;
  }
  const uint32_t total = level_begin_[levels_];
  if (policy_ == PlacementPolicy::kSpread) {
    Group<int64_t> empty;
    std::fill(std::begin(empty.node), std::end(empty.node), kNoFree);
    most_.assign(total, empty);
    for (size_t s = 0; s < free.size(); ++s) most_[s / kFanout].node[s % kFanout] = free[s];
    BuildUp(most_, level_begin_, levels_, kMost);
    return;
  }
  masks_.assign(total, Group<uint64_t>{});
  spare_.reserve(free.size());  // at most one node per slot ever exists: pushing never allocates
  for (uint32_t s = 0; s < free.size(); ++s) {
    masks_[s / kFanout].node[s % kFanout] = BitOf(free[s]);
    if (free[s] > kExactMax) {
      large_.emplace(free[s], s);
      if (lazy_ && keyed_.empty()) StartKeying();
      if (lazy_) keyed_[s] = free[s];
    }
  }
  BuildUp(masks_, level_begin_, levels_, kAny);
}

int64_t FreeIndex::Choose(int64_t size) const {
  if (levels_ == 0 || size < 1) return -1;  // size < 1 is no claim (and no valid shift below)
  const uint32_t root = level_begin_[levels_ - 1];
  if (policy_ == PlacementPolicy::kSpread) {
    const int64_t most = most_[root].node[0];
    if (most < size) return -1;
    return static_cast<int64_t>(
        Leftmost(most_, level_begin_, levels_, [most](int64_t v) { return v == most; }));
  }
  if (size <= kExactMax) {
    // Bits of values >= size; the lowest is the least sufficient value any slot has.
    const uint64_t fit = masks_[root].node[0] & (~uint64_t{0} << (size - 1));
    if (fit != 0) {
      const int bit = std::countr_zero(fit);
      return static_cast<int64_t>(
          Leftmost(masks_, level_begin_, levels_, [bit](uint64_t m) { return (m >> bit) & 1; }));
    }
  }
  // Every large value exceeds every masked one, so they are only the choice when no bit fits.
  auto it = large_.lower_bound({size, 0});
  return it == large_.end() ? -1 : static_cast<int64_t>(it->second);
}

void FreeIndex::Update(uint32_t slot, int64_t old_free, int64_t new_free) {
  if (policy_ == PlacementPolicy::kSpread) {
    SetLeaf(most_, level_begin_, levels_, slot, new_free, kMost);
    return;
  }
  const uint64_t bit = BitOf(new_free);
  if (bit != BitOf(old_free)) SetLeaf(masks_, level_begin_, levels_, slot, bit, kAny);
  if (!lazy_) {
    if (old_free > kExactMax || new_free > kExactMax) UpdateLarge(slot, old_free, new_free);
    return;
  }
  if (keyed_.empty()) {
    if (new_free <= kExactMax) return;  // nothing was ever large: large_ is empty and right
    StartKeying();
  }
  // Queued if its entry (or its absence) in large_ may no longer match its free capacity.
  if (!queued_[slot] && (keyed_[slot] != 0 || new_free > kExactMax)) {
    queued_[slot] = 1;
    stale_.push_back(slot);  // reserved to the slot count: never reallocates
  }
}

void FreeIndex::StartKeying() {
  keyed_.assign(slots_, 0);
  queued_.assign(slots_, 0);
  stale_.reserve(slots_);
}

void FreeIndex::CatchUp(const std::vector<int64_t>& free, const uint32_t* worker_of_slot) {
  for (uint32_t slot : stale_) {
    const int64_t now = free[worker_of_slot[slot]];
    if (keyed_[slot] != now) UpdateLarge(slot, keyed_[slot], now);
    keyed_[slot] = now > kExactMax ? now : 0;
    queued_[slot] = 0;
  }
  stale_.clear();  // keeps its capacity
}

void FreeIndex::UpdateLarge(uint32_t slot, int64_t old_free, int64_t new_free) {
  if (old_free <= kExactMax && new_free <= kExactMax) return;
  Large::node_type node;
  if (old_free > kExactMax) {
    node = large_.extract({old_free, slot});
  } else if (!spare_.empty()) {
    node = std::move(spare_.back());
    spare_.pop_back();
  }
  if (new_free <= kExactMax) {
    spare_.push_back(std::move(node));
    return;
  }
  if (node.empty()) {
    large_.emplace(new_free, slot);  // more large slots than ever before: the one allocation
    return;
  }
  node.value() = {new_free, slot};
  large_.insert(std::move(node));
}

int64_t FreeIndex::MaxFree() const {
  if (levels_ == 0) return 0;
  const uint32_t root = level_begin_[levels_ - 1];
  if (policy_ == PlacementPolicy::kSpread) return std::max<int64_t>(most_[root].node[0], 0);
  if (!large_.empty()) return large_.rbegin()->first;
  const uint64_t all = masks_[root].node[0];
  return all == 0 ? 0 : 64 - std::countl_zero(all);  // highest bit b is value b + 1
}

}  // namespace line
