// Stories about where placement puts work: given workers, their free capacity and replicas,
// place evals and check the choice against SPEC's "Placement" rules.
#include "scheduler/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace line {
namespace {

// Fixture factories: only what a story is about is spelled out; the rest is a sane default.
Worker MakeWorker(std::string worker_id, int64_t free, int64_t capacity = 0) {
  Worker w;
  w.pool_id = "pool-1";
  w.worker_id = std::move(worker_id);
  w.capacity = capacity > 0 ? capacity : free;
  w.free = free;
  w.ttl = 1'000'000;
  return w;
}

Replica MakeReplica(std::string dataset_id, std::string worker_id) {
  Replica r;
  r.pool_id = "pool-1";
  r.dataset_id = std::move(dataset_id);
  r.worker_id = std::move(worker_id);
  r.ttl = 1'000'000;
  return r;
}

Eval MakeEval(std::string dataset_id, int64_t size) {
  Eval e;
  e.pool_id = "pool-1";
  e.eval_id = "eval-" + std::to_string(size);
  e.dataset_id = std::move(dataset_id);
  e.size = size;
  return e;
}

constexpr PlacementPolicy kSpread = PlacementPolicy::kSpread;
constexpr PlacementPolicy kBinpack = PlacementPolicy::kBinpack;

TEST(PlacementTest, LocalityHitChoosesTheReplicaHolderOverAFreerWorker) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 100), MakeWorker("w2", 10)},
                        {MakeReplica("d1", "w2")});

  auto choice = snapshot.Place("d1", 5);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w2");
  EXPECT_TRUE(choice->locality);
}

TEST(PlacementTest, DatasetIdThatIsOnlyAPrefixOfAReplicaIsNoMatch) {
  // The original matched replicas by prefix: "d1" found the holder of "d10".
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 100), MakeWorker("w2", 10)},
                        {MakeReplica("d10", "w2")});

  auto choice = snapshot.Place("d1", 5);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w1");  // by policy: most free
  EXPECT_FALSE(choice->locality);
}

TEST(PlacementTest, ReplicaIdLongerThanTheEvalsDatasetIsNoMatchEitherWay) {
  PoolSnapshot snapshot(kBinpack, {MakeWorker("w1", 10), MakeWorker("w2", 50)},
                        {MakeReplica("d1", "w2")});

  auto choice = snapshot.Place("d10", 5);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w1");  // by policy: least sufficient
  EXPECT_FALSE(choice->locality);
}

TEST(PlacementTest, HolderWithoutEnoughFreeFallsBackToPolicy) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 3), MakeWorker("w2", 20), MakeWorker("w3", 8)},
                        {MakeReplica("d1", "w1")});

  auto choice = snapshot.Place("d1", 5);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w2");
  EXPECT_FALSE(choice->locality);
  EXPECT_EQ(snapshot.FreeOf("w1"), 3);  // the holder was not charged
}

TEST(PlacementTest, AmongSeveralHoldersThePolicyDecides) {
  std::vector<Worker> workers = {MakeWorker("a", 100), MakeWorker("b", 30), MakeWorker("c", 9),
                                 MakeWorker("d", 6)};
  std::vector<Replica> replicas = {MakeReplica("d1", "b"), MakeReplica("d1", "c"),
                                   MakeReplica("d1", "d")};
  PoolSnapshot spread(kSpread, workers, replicas);
  PoolSnapshot binpack(kBinpack, workers, replicas);

  auto spread_choice = spread.Place("d1", 7);
  auto binpack_choice = binpack.Place("d1", 7);

  ASSERT_TRUE(spread_choice && binpack_choice);
  EXPECT_EQ(spread_choice->worker_id, "b");   // most free holder, not the freer non-holder "a"
  EXPECT_EQ(binpack_choice->worker_id, "c");  // least sufficient holder; "d" is too small
  EXPECT_TRUE(spread_choice->locality);
  EXPECT_TRUE(binpack_choice->locality);
}

TEST(PlacementTest, UnknownDatasetOrNoPreferenceUsesPolicyWithoutLocality) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 10), MakeWorker("w2", 20)},
                        {MakeReplica("d1", "w1")});

  auto unknown = snapshot.Place("d9", 1);
  auto none = snapshot.Place("", 1);

  ASSERT_TRUE(unknown && none);
  EXPECT_EQ(unknown->worker_id, "w2");
  EXPECT_FALSE(unknown->locality);
  EXPECT_EQ(none->worker_id, "w2");
  EXPECT_FALSE(none->locality);
}

TEST(PlacementTest, ReplicasOfUnknownWorkersAreIgnored) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 10)}, {MakeReplica("d1", "gone")});

  auto choice = snapshot.Place("d1", 1);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w1");
  EXPECT_FALSE(choice->locality);
  EXPECT_EQ(snapshot.FreeOf("gone"), -1);
}

TEST(PlacementTest, SpreadPicksTheWorkerWithTheMostFreeCapacity) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 10), MakeWorker("w2", 40), MakeWorker("w3", 25)},
                        {});

  auto choice = snapshot.Place("", 5);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w2");
}

TEST(PlacementTest, BinpackPicksTheLeastSufficientFreeCapacity) {
  PoolSnapshot snapshot(
      kBinpack,
      {MakeWorker("w1", 4), MakeWorker("w2", 40), MakeWorker("w3", 6), MakeWorker("w4", 9)}, {});

  auto choice = snapshot.Place("", 5);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w3");  // w1 has 4 < 5: not sufficient
}

TEST(PlacementTest, BinpackTakesAnExactFit) {
  PoolSnapshot snapshot(kBinpack, {MakeWorker("w1", 6), MakeWorker("w2", 5)}, {});

  auto choice = snapshot.Place("", 5);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w2");
  EXPECT_EQ(snapshot.FreeOf("w2"), 0);
}

// Ids chosen so that lexicographic and numeric order disagree ("w10" < "w9"), given out of
// order, so the tie-break cannot be an accident of input order.
std::vector<Worker> TiedWorkers() {
  return {MakeWorker("w9", 10), MakeWorker("w10", 10), MakeWorker("w2", 10), MakeWorker("x1", 10)};
}

TEST(PlacementTest, SpreadTiesBreakBySmallestWorkerId) {
  PoolSnapshot snapshot(kSpread, TiedWorkers(), {});

  auto choice = snapshot.Place("", 1);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w10");
}

TEST(PlacementTest, BinpackTiesBreakBySmallestWorkerId) {
  std::vector<Worker> workers = TiedWorkers();
  workers.push_back(MakeWorker("a", 50));  // not tied: more than needed
  PoolSnapshot snapshot(kBinpack, workers, {});

  auto choice = snapshot.Place("", 10);

  ASSERT_TRUE(choice.has_value());
  EXPECT_EQ(choice->worker_id, "w10");
}

TEST(PlacementTest, LocalityTiesBreakBySmallestWorkerId) {
  std::vector<Replica> replicas = {MakeReplica("d1", "w9"), MakeReplica("d1", "w2")};
  PoolSnapshot spread(kSpread, TiedWorkers(), replicas);
  PoolSnapshot binpack(kBinpack, TiedWorkers(), replicas);

  auto spread_choice = spread.Place("d1", 3);
  auto binpack_choice = binpack.Place("d1", 3);

  ASSERT_TRUE(spread_choice && binpack_choice);
  EXPECT_EQ(spread_choice->worker_id, "w2");
  EXPECT_EQ(binpack_choice->worker_id, "w2");
}

std::vector<std::pair<std::string, bool>> Choices(const Plan& plan) {
  std::vector<std::pair<std::string, bool>> out;
  for (const PlannedPlacement& p : plan.placements) out.emplace_back(p.worker_id, p.locality);
  return out;
}

TEST(PlacementTest, SamePoolGivesTheSamePlanRegardlessOfInputOrderAndRun) {
  for (PlacementPolicy policy : {kSpread, kBinpack}) {
    std::vector<Worker> workers = TiedWorkers();
    std::vector<Replica> replicas = {MakeReplica("d1", "w9"), MakeReplica("d1", "x1")};
    std::vector<Eval> evals;
    for (int i = 0; i < 12; ++i) evals.push_back(MakeEval(i % 3 == 0 ? "d1" : "", 1 + i % 4));

    PoolSnapshot first(policy, workers, replicas);
    const Plan expected = ComputePlan(first, evals);
    ASSERT_FALSE(expected.placements.empty());

    std::mt19937 rng(7);
    for (int run = 0; run < 20; ++run) {
      std::shuffle(workers.begin(), workers.end(), rng);
      std::shuffle(replicas.begin(), replicas.end(), rng);
      PoolSnapshot again(policy, workers, replicas);
      const Plan plan = ComputePlan(again, evals);
      EXPECT_EQ(Choices(plan), Choices(expected)) << "policy " << PlacementName(policy);
      EXPECT_EQ(plan.blocked, expected.blocked);
    }
  }
}

TEST(PlacementTest, PlacingDeductsCapacity) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 10), MakeWorker("w2", 4)}, {});

  ASSERT_TRUE(snapshot.Place("", 7));

  EXPECT_EQ(snapshot.FreeOf("w1"), 3);
  EXPECT_EQ(snapshot.FreeOf("w2"), 4);
  EXPECT_EQ(snapshot.FreeOf("nobody"), -1);
}

TEST(PlacementTest, SuccessiveSpreadPlacementsSpreadOut) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("a", 10), MakeWorker("b", 10), MakeWorker("c", 10)},
                        {});

  std::vector<std::string> chosen;
  for (int i = 0; i < 6; ++i) chosen.push_back(snapshot.Place("", 2)->worker_id);

  EXPECT_EQ(chosen, (std::vector<std::string>{"a", "b", "c", "a", "b", "c"}));
  EXPECT_EQ(snapshot.FreeOf("a"), 6);
  EXPECT_EQ(snapshot.FreeOf("b"), 6);
  EXPECT_EQ(snapshot.FreeOf("c"), 6);
}

TEST(PlacementTest, SuccessiveBinpackPlacementsFillOneWorkerFirst) {
  PoolSnapshot snapshot(kBinpack, {MakeWorker("a", 10), MakeWorker("b", 10)}, {});

  std::vector<std::string> chosen;
  for (int i = 0; i < 6; ++i) chosen.push_back(snapshot.Place("", 3)->worker_id);

  EXPECT_EQ(chosen, (std::vector<std::string>{"a", "a", "a", "b", "b", "b"}));
  EXPECT_EQ(snapshot.FreeOf("a"), 1);
}

TEST(PlacementTest, DeductionMovesTheWorkerInItsDatasetIndexToo) {
  // After w1 is charged, the next eval on d1 must see w1's new free capacity.
  PoolSnapshot snapshot(
      kSpread, {MakeWorker("w1", 10), MakeWorker("w2", 8), MakeWorker("w3", 50)},
      {MakeReplica("d1", "w1"), MakeReplica("d1", "w2"), MakeReplica("d2", "w1")});

  EXPECT_EQ(snapshot.Place("d1", 4)->worker_id, "w1");  // 10 -> 6
  EXPECT_EQ(snapshot.Place("d1", 4)->worker_id, "w2");  // 8 -> 4
  auto third = snapshot.Place("d2", 7);                 // w1 has only 6 now
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->worker_id, "w3");
  EXPECT_FALSE(third->locality);
}

TEST(PlacementTest, FitsNowhereIsBlockedWithoutHoldingBackLaterEvals) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 10), MakeWorker("w2", 6)}, {});
  std::vector<Eval> evals = {MakeEval("", 4), MakeEval("", 50), MakeEval("", 5)};

  Plan plan = ComputePlan(snapshot, evals);

  EXPECT_EQ(plan.blocked, (std::vector<size_t>{1}));
  ASSERT_EQ(plan.placements.size(), 2u);
  EXPECT_EQ(plan.placements[0].eval_index, 0u);
  EXPECT_EQ(plan.placements[0].worker_id, "w1");  // 10 -> 6, tie with w2 at 6
  EXPECT_EQ(plan.placements[1].eval_index, 2u);
  EXPECT_EQ(plan.placements[1].worker_id, "w1");  // the tie goes to the smaller id
  EXPECT_EQ(snapshot.FreeOf("w1"), 1);
}

TEST(PlacementTest, OlderEvalsGetCapacityFirst) {
  PoolSnapshot snapshot(kBinpack, {MakeWorker("w1", 5)}, {});
  std::vector<Eval> evals = {MakeEval("", 5), MakeEval("", 5)};

  Plan plan = ComputePlan(snapshot, evals);

  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].eval_index, 0u);
  EXPECT_EQ(plan.blocked, (std::vector<size_t>{1}));
}

TEST(PlacementTest, EmptySnapshotBlocksEveryEval) {
  PoolSnapshot snapshot(kSpread, {}, {MakeReplica("d1", "w1")});
  std::vector<Eval> evals = {MakeEval("d1", 1), MakeEval("", 1), MakeEval("", 3)};

  Plan plan = ComputePlan(snapshot, evals);

  EXPECT_TRUE(plan.placements.empty());
  EXPECT_EQ(plan.blocked, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(snapshot.worker_count(), 0u);
  EXPECT_EQ(snapshot.MaxFree(), 0);
}

TEST(PlacementTest, SizeBelowOneIsNeverPlaced) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 10)}, {});

  EXPECT_FALSE(snapshot.Place("", 0));
  EXPECT_FALSE(snapshot.Place("", -5));
  EXPECT_EQ(snapshot.FreeOf("w1"), 10);  // no capacity appeared from nowhere
}

TEST(PlacementTest, MaxFreeTracksPlacements) {
  for (PlacementPolicy policy : {kSpread, kBinpack}) {
    PoolSnapshot snapshot(policy, {MakeWorker("w1", 10), MakeWorker("w2", 7)}, {});
    EXPECT_EQ(snapshot.MaxFree(), 10);

    ASSERT_TRUE(snapshot.Place("", 10));  // only w1 fits: 10 -> 0
    EXPECT_EQ(snapshot.MaxFree(), 7);
    ASSERT_TRUE(snapshot.Place("", 3));  // w2: 7 -> 4
    EXPECT_EQ(snapshot.MaxFree(), 4);
    EXPECT_FALSE(snapshot.Place("", 5));
    EXPECT_EQ(snapshot.MaxFree(), 4);
  }
}

TEST(PlacementTest, DuplicateWorkersAndReplicasCountOnce) {
  PoolSnapshot snapshot(kSpread, {MakeWorker("w1", 10), MakeWorker("w1", 99)},
                        {MakeReplica("d1", "w1"), MakeReplica("d1", "w1")});

  EXPECT_EQ(snapshot.worker_count(), 1u);
  EXPECT_EQ(snapshot.FreeOf("w1"), 10);  // the first row wins
  ASSERT_TRUE(snapshot.Place("d1", 4));
  ASSERT_TRUE(snapshot.Place("d1", 4));
  EXPECT_EQ(snapshot.FreeOf("w1"), 2);
  EXPECT_FALSE(snapshot.Place("d1", 4));
}

// A brute-force reading of SPEC's rules: scan every worker, no indexes.
class ReferencePlacer {
 public:
  ReferencePlacer(PlacementPolicy policy, const std::vector<Worker>& workers,
                  const std::vector<Replica>& replicas)
      : policy_(policy) {
    for (const Worker& w : workers) free_.emplace(w.worker_id, w.free);
    for (const Replica& r : replicas) holds_.emplace(r.worker_id, r.dataset_id);
  }

  std::optional<PlacementChoice> Place(const std::string& dataset, int64_t size) {
    if (size < 1) return std::nullopt;
    const std::string* best = nullptr;
    bool locality = false;
    if (!dataset.empty()) {
      best = Choose(size, [&](const std::string& id) { return holds_.count({id, dataset}) > 0; });
      locality = best != nullptr;
    }
    if (best == nullptr) best = Choose(size, [](const std::string&) { return true; });
    if (best == nullptr) return std::nullopt;
    free_[*best] -= size;
    return PlacementChoice{*best, locality};
  }

  // As PoolSnapshot's: false for unknown (and, for AdjustFree, removed) workers.
  bool AdjustFree(const std::string& id, int64_t delta) {
    auto it = free_.find(id);
    if (it == free_.end() || removed_.count(id) > 0) return false;
    it->second += delta;
    return true;
  }
  bool Remove(const std::string& id) {
    if (free_.count(id) == 0) return false;
    removed_.insert(id);
    return true;
  }

  int64_t FreeOf(const std::string& id) const { return removed_.count(id) > 0 ? -1 : free_.at(id); }
  int64_t MaxFree() const {
    int64_t most = 0;
    for (const auto& [id, free] : free_) {
      if (removed_.count(id) == 0) most = std::max(most, free);
    }
    return most;
  }

 private:
  template <typename Filter>
  const std::string* Choose(int64_t size, Filter filter) const {
    const std::string* best = nullptr;
    int64_t best_free = 0;
    for (const auto& [id, free] : free_) {  // ascending id: strict improvement keeps the smallest
      if (free < size || removed_.count(id) > 0 || !filter(id)) continue;
      bool better = best == nullptr ||
                    (policy_ == PlacementPolicy::kSpread ? free > best_free : free < best_free);
      if (better) {
        best = &id;
        best_free = free;
      }
    }
    return best;
  }

  PlacementPolicy policy_;
  std::map<std::string, int64_t> free_;
  std::set<std::pair<std::string, std::string>> holds_;  // (worker, dataset)
  std::set<std::string> removed_;
};

struct RandomPool {
  std::vector<Worker> workers;
  std::vector<Replica> replicas;
  std::vector<Eval> evals;
};

// Small ranges on purpose: many ties in free capacity, ids whose numeric and lexicographic
// orders disagree, dataset ids that are prefixes of one another ("d1", "d10", "d11").
RandomPool MakeRandomPool(std::mt19937& rng) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  RandomPool pool;
  std::set<std::string> ids;
  const int worker_count = uniform(0, 40);
  while (static_cast<int>(ids.size()) < worker_count)
    ids.insert("w" + std::to_string(uniform(0, 150)));
  for (const std::string& id : ids) {
    const int capacity = uniform(1, 24);
    pool.workers.push_back(MakeWorker(id, uniform(0, capacity), capacity));
  }
  std::shuffle(pool.workers.begin(), pool.workers.end(), rng);
  for (const Worker& w : pool.workers) {
    for (int n = uniform(0, 4); n > 0; --n) {
      pool.replicas.push_back(MakeReplica("d" + std::to_string(uniform(1, 12)), w.worker_id));
    }
  }
  for (int n = uniform(0, 3); n > 0; --n) {  // replicas of workers outside the pool
    pool.replicas.push_back(MakeReplica("d" + std::to_string(uniform(1, 12)), "gone"));
  }
  for (int n = uniform(50, 250); n > 0; --n) {
    const int d = uniform(0, 14);  // 0: no preference; 13, 14: held by nobody
    pool.evals.push_back(MakeEval(d == 0 ? "" : "d" + std::to_string(d), uniform(1, 9)));
  }
  return pool;
}

TEST(PlacementPropertyTest, PlaceAgreesWithBruteForceReference) {
  std::mt19937 rng(20240601);
  size_t compared = 0;
  size_t localities = 0;
  size_t blocked = 0;
  for (int round = 0; round < 60; ++round) {
    const RandomPool pool = MakeRandomPool(rng);
    for (PlacementPolicy policy : {kSpread, kBinpack}) {
      PoolSnapshot snapshot(policy, pool.workers, pool.replicas);
      ReferencePlacer reference(policy, pool.workers, pool.replicas);
      for (size_t i = 0; i < pool.evals.size(); ++i) {
        const Eval& eval = pool.evals[i];
        auto got = snapshot.Place(eval.dataset_id, eval.size);
        auto want = reference.Place(eval.dataset_id, eval.size);
        ASSERT_EQ(got.has_value(), want.has_value())
            << "round " << round << " policy " << PlacementName(policy) << " eval " << i;
        if (want) {
          ASSERT_EQ(got->worker_id, want->worker_id) << "round " << round << " eval " << i;
          ASSERT_EQ(got->locality, want->locality) << "round " << round << " eval " << i;
          ASSERT_EQ(snapshot.FreeOf(got->worker_id), reference.FreeOf(want->worker_id));
          localities += want->locality ? 1 : 0;
        } else {
          ++blocked;
        }
        ++compared;
      }
      int64_t max_free = 0;
      for (const Worker& w : pool.workers)
        max_free = std::max(max_free, reference.FreeOf(w.worker_id));
      EXPECT_EQ(snapshot.MaxFree(), max_free) << "round " << round;
    }
  }
  // The generator must exercise every branch, or agreement proves little.
  EXPECT_GT(compared, 10'000u);
  EXPECT_GT(localities, 1'000u);
  EXPECT_GT(blocked, 1'000u);
}

TEST(PlacementPropertyTest, ComputePlanAgreesWithBruteForceReference) {
  std::mt19937 rng(99);
  for (int round = 0; round < 40; ++round) {
    const RandomPool pool = MakeRandomPool(rng);
    for (PlacementPolicy policy : {kSpread, kBinpack}) {
      PoolSnapshot snapshot(policy, pool.workers, pool.replicas);
      ReferencePlacer reference(policy, pool.workers, pool.replicas);

      const Plan plan = ComputePlan(snapshot, pool.evals);

      Plan want;
      for (size_t i = 0; i < pool.evals.size(); ++i) {
        auto choice = reference.Place(pool.evals[i].dataset_id, pool.evals[i].size);
        if (choice) {
          want.placements.push_back(PlannedPlacement{i, choice->worker_id, choice->locality});
        } else {
          want.blocked.push_back(i);
        }
      }
      ASSERT_EQ(plan.placements.size(), want.placements.size()) << "round " << round;
      for (size_t k = 0; k < want.placements.size(); ++k) {
        EXPECT_EQ(plan.placements[k].eval_index, want.placements[k].eval_index);
        EXPECT_EQ(plan.placements[k].worker_id, want.placements[k].worker_id);
        EXPECT_EQ(plan.placements[k].locality, want.placements[k].locality);
      }
      EXPECT_EQ(plan.blocked, want.blocked) << "round " << round;
    }
  }
}

// Capacity going back and forth as in a running pool: placements interleaved with releases
// (AdjustFree up, sometimes down), removals and calls for unknown workers. Capacities reach
// above 64 too, so binpack's exact small values, its ordered set of large ones and the moves
// between them are all crossed.
TEST(PlacementPropertyTest, PlaceAdjustFreeAndRemoveAgreeWithBruteForceReference) {
  std::mt19937 rng(1128);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  size_t placed = 0;
  size_t localities = 0;
  size_t blocked = 0;
  size_t adjusted = 0;
  size_t removed = 0;
  for (int round = 0; round < 50; ++round) {
    RandomPool pool = MakeRandomPool(rng);
    const bool large = round % 2 == 1;
    if (large) {
      for (Worker& w : pool.workers) {
        w.capacity = uniform(1, 140);
        w.free = uniform(0, static_cast<int>(w.capacity));
      }
    }
    std::vector<std::string> ids = {"nobody"};
    for (const Worker& w : pool.workers) ids.push_back(w.worker_id);
    for (PlacementPolicy policy : {kSpread, kBinpack}) {
      PoolSnapshot snapshot(policy, pool.workers, pool.replicas);
      ReferencePlacer reference(policy, pool.workers, pool.replicas);
      for (int op = 0; op < 600; ++op) {
        const std::string& id = ids[uniform(0, static_cast<int>(ids.size()) - 1)];
        const int kind = uniform(0, 19);
        if (kind < 4) {
          const int64_t delta = uniform(-3, large ? 70 : 9);
          ASSERT_EQ(snapshot.AdjustFree(id, delta), reference.AdjustFree(id, delta))
              << "round " << round << " op " << op;
          ++adjusted;
        } else if (kind == 4) {
          ASSERT_EQ(snapshot.Remove(id), reference.Remove(id)) << "round " << round;
          ++removed;
        } else {
          const Eval& eval = pool.evals[uniform(0, static_cast<int>(pool.evals.size()) - 1)];
          const int64_t size = large && uniform(0, 3) == 0 ? uniform(40, 90) : eval.size;
          auto got = snapshot.Place(eval.dataset_id, size);
          auto want = reference.Place(eval.dataset_id, size);
          ASSERT_EQ(got.has_value(), want.has_value())
              << "round " << round << " policy " << PlacementName(policy) << " op " << op;
          if (want) {
            ASSERT_EQ(got->worker_id, want->worker_id) << "round " << round << " op " << op;
            ASSERT_EQ(got->locality, want->locality) << "round " << round << " op " << op;
            ++placed;
            localities += want->locality ? 1 : 0;
          } else {
            ++blocked;
          }
        }
        ASSERT_EQ(snapshot.FreeOf(id), id == "nobody" ? -1 : reference.FreeOf(id))
            << "round " << round << " op " << op;
        ASSERT_EQ(snapshot.MaxFree(), reference.MaxFree()) << "round " << round << " op " << op;
      }
    }
  }
  EXPECT_GT(placed, 10'000u);
  EXPECT_GT(localities, 2'000u);
  EXPECT_GT(blocked, 2'000u);
  EXPECT_GT(adjusted, 5'000u);
  EXPECT_GT(removed, 1'000u);
}

TEST(PlacementTest, RemovedWorkerIsNeverChosenAndCannotBeAdjusted) {
  for (PlacementPolicy policy : {kSpread, kBinpack}) {
    PoolSnapshot snapshot(policy, {MakeWorker("w1", 100), MakeWorker("w2", 5)},
                          {MakeReplica("d1", "w1")});

    ASSERT_TRUE(snapshot.Remove("w1"));

    EXPECT_EQ(snapshot.FreeOf("w1"), -1);
    EXPECT_EQ(snapshot.MaxFree(), 5);
    EXPECT_FALSE(snapshot.AdjustFree("w1", 10));
    auto choice = snapshot.Place("d1", 3);  // its only holder is gone: by policy, no locality
    ASSERT_TRUE(choice.has_value());
    EXPECT_EQ(choice->worker_id, "w2");
    EXPECT_FALSE(choice->locality);
    EXPECT_FALSE(snapshot.Place("d1", 50));
    EXPECT_TRUE(snapshot.Remove("w1"));  // known, already removed
    EXPECT_FALSE(snapshot.Remove("nobody"));
  }
}

TEST(PlacementTest, CapacityGivenBackIsSeenByTheDatasetIndexes) {
  for (PlacementPolicy policy : {kSpread, kBinpack}) {
    PoolSnapshot snapshot(policy, {MakeWorker("w1", 2), MakeWorker("w2", 200)},
                          {MakeReplica("d1", "w1")});
    ASSERT_FALSE(snapshot.Place("d1", 100)->locality);  // w1 is too small: w2, 200 -> 100

    ASSERT_TRUE(snapshot.AdjustFree("w1", 150));  // past the exact range of binpack's index

    auto choice = snapshot.Place("d1", 100);
    ASSERT_TRUE(choice.has_value());
    EXPECT_EQ(choice->worker_id, "w1");
    EXPECT_TRUE(choice->locality);
    EXPECT_EQ(snapshot.FreeOf("w1"), 52);
  }
}

}  // namespace
}  // namespace line
