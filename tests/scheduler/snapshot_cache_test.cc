// Keeping a pool's snapshot between rounds: capacity coming back and workers leaving are applied
// in place, anything else drops the snapshot so the next round rebuilds it.
#include "scheduler/snapshot_cache.h"

#include <gtest/gtest.h>

namespace line {
namespace {

Worker MakeWorker(std::string worker_id, int64_t free) {
  Worker w;
  w.pool_id = "p";
  w.worker_id = std::move(worker_id);
  w.capacity = free;
  w.free = free;
  return w;
}

std::unique_ptr<PoolSnapshot> TwoWorkers() {
  return std::make_unique<PoolSnapshot>(PlacementPolicy::kSpread,
                                        std::vector<Worker>{MakeWorker("a", 4), MakeWorker("b", 6)},
                                        std::vector<Replica>{{"p", "d1", "a", 0}});
}

TEST(SnapshotTest, AdjustFreeGivesCapacityBackToTheIndexesItLivesIn) {
  PoolSnapshot snapshot = std::move(*TwoWorkers());
  ASSERT_EQ(snapshot.Place("d1", 4)->worker_id, "a");  // a is full now
  EXPECT_EQ(snapshot.FreeOf("a"), 0);
  EXPECT_NE(snapshot.Place("d1", 1)->worker_id, "a");  // no locality hit while a is full
  ASSERT_TRUE(snapshot.AdjustFree("a", 4));
  EXPECT_EQ(snapshot.FreeOf("a"), 4);
  auto hit = snapshot.Place("d1", 4);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->worker_id, "a");
  EXPECT_TRUE(hit->locality);
  EXPECT_FALSE(snapshot.AdjustFree("nobody", 1));
}

TEST(SnapshotTest, RemovedWorkerIsNeverChosenAgain) {
  PoolSnapshot snapshot = std::move(*TwoWorkers());
  ASSERT_TRUE(snapshot.Remove("b"));
  EXPECT_EQ(snapshot.FreeOf("b"), -1);
  EXPECT_EQ(snapshot.MaxFree(), 4);
  EXPECT_EQ(snapshot.Place("", 4)->worker_id, "a");
  EXPECT_EQ(snapshot.MaxFree(), 0);
  EXPECT_FALSE(snapshot.Place("", 1));
  EXPECT_FALSE(snapshot.AdjustFree("b", 6));  // capacity of a removed worker does not count
  EXPECT_FALSE(snapshot.Place("", 1));
}

TEST(SnapshotCacheTest, ReleaseAndRemoveAreAppliedInPlace) {
  SnapshotCache cache;
  cache.Put("p", TwoWorkers());
  cache.Apply({{CapacityDelta::Kind::kRelease, "p", "a", 3},
               {CapacityDelta::Kind::kRemoveWorker, "p", "b"}});
  std::unique_ptr<PoolSnapshot> snapshot = cache.Take("p");
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->FreeOf("a"), 7);
  EXPECT_EQ(snapshot->FreeOf("b"), -1);
  EXPECT_EQ(cache.Take("p"), nullptr);  // taken: the round owns it until Put
}

TEST(SnapshotCacheTest, ReleaseForAWorkerTheSnapshotDoesNotKnowDropsIt) {
  SnapshotCache cache;
  cache.Put("p", TwoWorkers());
  cache.Apply({{CapacityDelta::Kind::kRelease, "p", "newcomer", 1}});
  EXPECT_EQ(cache.Take("p"), nullptr);
}

TEST(SnapshotCacheTest, InvalidationsDropWhatTheyName) {
  SnapshotCache cache;
  cache.Put("p", TwoWorkers());
  cache.Put("q", TwoWorkers());
  cache.Apply({{CapacityDelta::Kind::kInvalidatePool, "p"}});
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.Take("q"), nullptr);
  cache.Put("q", TwoWorkers());
  cache.Put("r", TwoWorkers());
  cache.InvalidateTouched({{CapacityDelta::Kind::kRelease, "q", "a", 1}});
  EXPECT_EQ(cache.Take("q"), nullptr);
  EXPECT_NE(cache.Take("r"), nullptr);
  cache.Put("r", TwoWorkers());
  cache.Apply({{CapacityDelta::Kind::kInvalidateAll}});
  EXPECT_EQ(cache.size(), 0u);
}

TEST(SnapshotCacheTest, ASnapshotTakenBeforeAnInvalidationIsNotPutBack) {
  // Another node's commit arrives (from the cluster thread) while a round holds the snapshot:
  // what the round read may predate that commit, so it must not be cached.
  SnapshotCache cache;
  cache.Put("p", TwoWorkers());
  uint64_t epoch = cache.Epoch("p");
  std::unique_ptr<PoolSnapshot> taken = cache.Take("p");
  cache.Invalidate("p");
  cache.PutIfCurrent("p", std::move(taken), epoch);
  EXPECT_EQ(cache.Take("p"), nullptr);

  epoch = cache.Epoch("p");
  cache.InvalidateAll();
  cache.PutIfCurrent("p", TwoWorkers(), epoch);
  EXPECT_EQ(cache.Take("p"), nullptr);

  epoch = cache.Epoch("p");
  cache.Invalidate("other");  // another pool's invalidation does not matter
  cache.PutIfCurrent("p", TwoWorkers(), epoch);
  EXPECT_NE(cache.Take("p"), nullptr);
}

TEST(SnapshotCacheTest, CommittedWritesReachTheHookWithTheirDeltas) {
  SnapshotCache cache;
  std::vector<std::string> seen;
  cache.SetCommittedHook([&seen](const CapacityDeltas& deltas) {
    for (const CapacityDelta& delta : deltas) seen.push_back(delta.pool_id);
  });
  cache.Committed({{CapacityDelta::Kind::kRelease, "p", "a", 1}});
  cache.Committed({});
  EXPECT_EQ(seen, std::vector<std::string>{"p"});
}

}  // namespace
}  // namespace line
