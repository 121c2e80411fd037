// FreeIndex against its contract: the policy's choice among slots with free >= size, ties to
// the smallest slot, after any sequence of updates; and against a brute-force scan.
#include "scheduler/free_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace line {
namespace {

constexpr PlacementPolicy kSpread = PlacementPolicy::kSpread;
constexpr PlacementPolicy kBinpack = PlacementPolicy::kBinpack;
constexpr int64_t kExactMax = FreeIndex::kExactMax;

// The choice by a scan over every slot: what FreeIndex must agree with.
int64_t BruteChoose(PlacementPolicy policy, const std::vector<int64_t>& free, int64_t size) {
  if (size < 1) return -1;
  int64_t best = -1;
  for (size_t s = 0; s < free.size(); ++s) {  // ascending: strict improvement keeps the smallest
    if (free[s] < size) continue;
    const bool better =
        best < 0 || (policy == kSpread ? free[s] > free[best] : free[s] < free[best]);
    if (better) best = static_cast<int64_t>(s);
  }
  return best;
}

int64_t BruteMaxFree(const std::vector<int64_t>& free) {
  int64_t most = 0;
  for (int64_t f : free) most = std::max(most, f);
  return most;
}

// An index with the free capacities it was told about, as PoolSnapshot keeps them. A lazy
// index is caught up before every choice, as PoolSnapshot::Place does.
class Tracked {
 public:
  Tracked(PlacementPolicy policy, std::vector<int64_t> free, bool lazy = false)
      : free_(std::move(free)), index_(policy, free_, lazy), identity_(free_.size()) {
    for (uint32_t s = 0; s < identity_.size(); ++s) identity_[s] = s;
  }
  void Set(uint32_t slot, int64_t value) {
    index_.Update(slot, free_[slot], value);
    free_[slot] = value;
  }
  int64_t Choose(int64_t size) {
    index_.CatchUp(free_, identity_.data());
    return index_.Choose(size);
  }
  FreeIndex& index() { return index_; }

 private:
  std::vector<int64_t> free_;
  FreeIndex index_;
  std::vector<uint32_t> identity_;  // slot -> "worker" for CatchUp
};

TEST(FreeIndexTest, SpreadChoosesTheMostFreeAndTiesGoToTheSmallestSlot) {
  Tracked t(kSpread, {5, 9, 3, 9, 9});

  EXPECT_EQ(t.Choose(1), 1);
  EXPECT_EQ(t.Choose(9), 1);
  EXPECT_EQ(t.Choose(10), -1);
  t.Set(1, 2);
  EXPECT_EQ(t.Choose(1), 3);
  t.Set(0, 9);  // now tied with 3 and 4, and smaller
  EXPECT_EQ(t.Choose(1), 0);
  EXPECT_EQ(t.index().MaxFree(), 9);
}

TEST(FreeIndexTest, BinpackChoosesTheLeastSufficientAndTiesGoToTheSmallestSlot) {
  Tracked t(kBinpack, {10, 4, 6, 6, 40});

  EXPECT_EQ(t.Choose(5), 2);  // 4 is not sufficient; 6 twice, slot 2 first
  EXPECT_EQ(t.Choose(4), 1);  // an exact fit
  EXPECT_EQ(t.Choose(11), 4);
  EXPECT_EQ(t.Choose(41), -1);
  t.Set(2, 0);
  EXPECT_EQ(t.Choose(5), 3);
  EXPECT_EQ(t.index().MaxFree(), 40);
}

TEST(FreeIndexTest, BinpackIsExactAcrossTheMaskAndTheLargeSet) {
  for (bool lazy : {false, true}) {
    // kExactMax is the last value in the masks, kExactMax + 1 the first in the ordered set.
    Tracked t(kBinpack, {kExactMax + 1, kExactMax, kExactMax + 1, 1'000'000'000'000, kExactMax},
              lazy);

    EXPECT_EQ(t.Choose(kExactMax), 1);
    EXPECT_EQ(t.Choose(kExactMax + 1), 0);
    EXPECT_EQ(t.Choose(kExactMax + 2), 3);
    if (!lazy) {
      EXPECT_EQ(t.index().MaxFree(), 1'000'000'000'000);
    }

    t.Set(1, 3);  // leaves the top of the mask
    t.Set(4, 3);
    EXPECT_EQ(t.Choose(kExactMax), 0);  // none left in the mask: the least large one
    EXPECT_EQ(t.Choose(2), 1);
    t.Set(0, kExactMax);  // from the set into the mask
    t.Set(2, 7);
    EXPECT_EQ(t.Choose(8), 0);
    EXPECT_EQ(t.Choose(kExactMax + 1), 3);
    t.Set(3, 5);  // the set is empty now; MaxFree comes from the mask
    if (!lazy) {
      EXPECT_EQ(t.index().MaxFree(), kExactMax);
    }
    EXPECT_EQ(t.Choose(kExactMax + 1), -1);
    t.Set(1, 2 * kExactMax);  // back into the set, on a reused node
    t.Set(4, 3 * kExactMax);
    EXPECT_EQ(t.Choose(kExactMax + 1), 1);
    if (!lazy) {
      EXPECT_EQ(t.index().MaxFree(), 3 * kExactMax);
    }
  }
}

TEST(FreeIndexTest, LazyBinpackSeesCapacityThatFirstExceedsTheMaskAfterConstruction) {
  Tracked t(kBinpack, {5, 9, 2}, /*lazy=*/true);  // nothing large: nothing tracked yet

  t.Set(2, 500);
  t.Set(0, 300);
  t.Set(0, 200);  // twice between two choices: one re-key
  EXPECT_EQ(t.Choose(100), 0);
  EXPECT_EQ(t.Choose(201), 2);
  t.Set(0, 1);
  t.Set(2, 4);
  EXPECT_EQ(t.Choose(100), -1);
  EXPECT_EQ(t.Choose(4), 2);
}

TEST(FreeIndexTest, NothingToChooseFromOrNothingToClaim) {
  for (PlacementPolicy policy : {kSpread, kBinpack}) {
    FreeIndex empty(policy, {});
    EXPECT_EQ(empty.Choose(1), -1);
    EXPECT_EQ(empty.MaxFree(), 0);

    Tracked t(policy, {0, -4, std::numeric_limits<int64_t>::min() / 2});
    EXPECT_EQ(t.Choose(1), -1);
    EXPECT_EQ(t.index().MaxFree(), 0);
    t.Set(1, 3);
    EXPECT_EQ(t.Choose(0), -1);  // size < 1 is never a claim
    EXPECT_EQ(t.Choose(-2), -1);
    EXPECT_EQ(t.Choose(3), 1);
  }
}

TEST(FreeIndexTest, OneSlot) {
  for (PlacementPolicy policy : {kSpread, kBinpack}) {
    Tracked t(policy, {7});
    EXPECT_EQ(t.Choose(7), 0);
    t.Set(0, 6);
    EXPECT_EQ(t.Choose(7), -1);
    EXPECT_EQ(t.Choose(6), 0);
    EXPECT_EQ(t.index().MaxFree(), 6);
  }
}

// Random slots and updates against the scan. Values cluster around kExactMax (mask, set and
// the move between them), with ties, negatives, removed-like values and rare huge ones; slot
// counts reach several levels of the tree, including counts that leave partial groups.
TEST(FreeIndexPropertyTest, AgreesWithAScanUnderRandomUpdates) {
  std::mt19937_64 rng(20241128);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto value = [&]() -> int64_t {
    switch (uniform(0, 9)) {
      case 0:
        return std::numeric_limits<int64_t>::min() / 2;
      case 1:
        return uniform(-3, 0);
      case 2:
        return uniform(1'000, 1'000'000'000'000);
      case 3:
      case 4:
        return uniform(kExactMax - 3, kExactMax + 3);
      default:
        return uniform(1, 12);
    }
  };
  size_t chosen = 0;
  size_t none = 0;
  for (int round = 0; round < 120; ++round) {
    const size_t n = round < 20 ? static_cast<size_t>(round) : static_cast<size_t>(uniform(1, 700));
    std::vector<int64_t> free(n);
    // Some rounds start with nothing above the mask, so a lazy index starts tracking late.
    const bool small_start = round % 3 == 0;
    for (int64_t& f : free) f = small_start ? uniform(-2, kExactMax) : value();
    for (PlacementPolicy policy : {kSpread, kBinpack}) {
      for (bool lazy : {false, true}) {
        std::vector<int64_t> want = free;
        Tracked t(policy, free, lazy);
        for (int op = 0; op < 400; ++op) {
          for (int64_t k = n > 0 ? uniform(0, 3) : 0; k > 0; --k) {  // several between choices
            const auto slot = static_cast<uint32_t>(uniform(0, static_cast<int64_t>(n) - 1));
            const int64_t v = uniform(0, 2) == 0 ? value() : want[slot] - uniform(-2, 8);
            t.Set(slot, v);
            want[slot] = v;
          }
          const int64_t size = uniform(0, 4) == 0 ? value() : uniform(1, 14);
          const int64_t expected = BruteChoose(policy, want, size);
          ASSERT_EQ(t.Choose(size), expected)
              << "round " << round << " op " << op << " size " << size << " binpack "
              << (policy == kBinpack) << " lazy " << lazy;
          if (!lazy) {
            ASSERT_EQ(t.index().MaxFree(), BruteMaxFree(want)) << "round " << round;
          }
          (expected >= 0 ? chosen : none) += 1;
        }
      }
    }
  }
  // Both outcomes must be common, or agreement proves little.
  EXPECT_GT(chosen, 40'000u);
  EXPECT_GT(none, 10'000u);
}

}  // namespace
}  // namespace line
