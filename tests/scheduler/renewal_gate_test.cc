// RenewalGate on its own: it covers a heartbeat only with bounds at least as late as the
// heartbeat would set, for every dataset it lists, and forgets what a deletion may have taken.
#include "scheduler/renewal_gate.h"

#include <gtest/gtest.h>

#include <string>

namespace line {
namespace {

// A worker's renewal to 30 s, its datasets' to 60 s, its allocs' to 40 s.
RenewalGate::Renewal Renewed(std::vector<std::string> datasets,
                             std::vector<std::string> allocs = {}, TimeMs worker = 30'000,
                             TimeMs replica = 60'000) {
  RenewalGate::Renewal r;
  r.worker_deadline = worker;
  r.datasets = std::move(datasets);
  r.replica_deadline = replica;
  r.alloc_ids = std::move(allocs);
  r.alloc_deadline = 40'000;
  r.alloc_ttl_ms = 30'000;
  return r;
}

// CoversHeartbeat of a heartbeat listing no allocs.
bool Covers(const RenewalGate& gate, const char* pool, const char* worker,
            std::vector<std::string> datasets, TimeMs worker_deadline, TimeMs replica_deadline) {
  return gate.CoversHeartbeat(pool, worker, datasets, {}, /*now=*/0, worker_deadline,
                              replica_deadline);
}

TEST(RenewalGateTest, AnEmptyGateCoversNothing) {
  RenewalGate gate;
  EXPECT_FALSE(Covers(gate, "p", "w", {}, 1'000, 1'000));
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {}, {"a1"}, 0, 0, 0));
}

TEST(RenewalGateTest, CoversOnlyDeadlinesNoLaterThanTheRecordedOnesForKnownDatasets) {
  RenewalGate gate;
  gate.Record("p", "w", Renewed({"d2", "d1"}), gate.generation());
  EXPECT_TRUE(Covers(gate, "p", "w", {"d1", "d2"}, 30'000, 60'000));
  EXPECT_TRUE(Covers(gate, "p", "w", {"d1"}, 27'000, 55'000));
  EXPECT_TRUE(Covers(gate, "p", "w", {}, 30'000, 0));
  // One step later, for the worker or a replica: the store would be written.
  EXPECT_FALSE(Covers(gate, "p", "w", {"d1"}, 33'000, 60'000));
  EXPECT_FALSE(Covers(gate, "p", "w", {"d1"}, 30'000, 65'000));
  // A dataset it has not held (its replica would be inserted), another worker, another pool.
  EXPECT_FALSE(Covers(gate, "p", "w", {"d1", "d3"}, 30'000, 60'000));
  EXPECT_FALSE(Covers(gate, "p", "v", {}, 30'000, 60'000));
  EXPECT_FALSE(Covers(gate, "q", "w", {}, 30'000, 60'000));
}

TEST(RenewalGateTest, ARecordNeverLowersABoundAndAddsNewDatasets) {
  RenewalGate gate;
  gate.Record("p", "w", Renewed({"d1"}, {}, 33'000, 65'000), gate.generation());
  gate.Record("p", "w", Renewed({"d3"}), gate.generation());
  EXPECT_TRUE(Covers(gate, "p", "w", {"d1"}, 33'000, 65'000));
  EXPECT_TRUE(Covers(gate, "p", "w", {"d1", "d3"}, 33'000, 60'000));
  EXPECT_FALSE(Covers(gate, "p", "w", {"d3"}, 30'000, 65'000));
}

TEST(RenewalGateTest, ARecordReadBeforeAForgetIsIgnored) {
  RenewalGate gate;
  const uint64_t read_in_body = gate.generation();
  gate.Forget("p", "w");  // say, a deregistration later in the same group
  gate.Record("p", "w", Renewed({"d1"}), read_in_body);
  EXPECT_FALSE(Covers(gate, "p", "w", {"d1"}, 30'000, 60'000));
  EXPECT_EQ(gate.workers(), 0u);
}

TEST(RenewalGateTest, OnlyAForgetOfTheSameWorkerItsPoolOrEverythingStopsARecord) {
  RenewalGate gate;
  uint64_t read_in_body = gate.generation();
  gate.Forget("p", "v");  // another worker's alloc ended in the same group
  gate.Record("p", "w", Renewed({"d1"}), read_in_body);
  EXPECT_TRUE(Covers(gate, "p", "w", {"d1"}, 30'000, 60'000));

  read_in_body = gate.generation();
  gate.ForgetPool("q");  // coarse: every record in flight is ignored, and its worker forgotten
  gate.Record("p", "w", Renewed({"d1"}, {}, 33'000), read_in_body);
  EXPECT_FALSE(Covers(gate, "p", "w", {"d1"}, 30'000, 60'000));

  // More single forgets than it remembers turn into a coarse one: still never a stale record.
  read_in_body = gate.generation();
  gate.Forget("p", "w");
  for (int i = 0; i < 5'000; ++i) gate.Forget("p", "x" + std::to_string(i));
  gate.Record("p", "w", Renewed({"d1"}), read_in_body);
  EXPECT_FALSE(Covers(gate, "p", "w", {"d1"}, 30'000, 60'000));
  // A record read after them all is learnt.
  gate.Record("p", "w", Renewed({"d1"}), gate.generation());
  EXPECT_TRUE(Covers(gate, "p", "w", {"d1"}, 30'000, 60'000));
}

TEST(RenewalGateTest, ForgettingAWorkerAPoolOrEverythingUncoversThem) {
  RenewalGate gate;
  auto record = [&](const char* pool, const char* worker) {
    gate.Record(pool, worker, Renewed({"d"}), gate.generation());
  };
  record("p", "w");
  record("p", "v");
  record("q", "w");
  gate.Forget("p", "w");
  EXPECT_FALSE(Covers(gate, "p", "w", {"d"}, 30'000, 60'000));
  EXPECT_TRUE(Covers(gate, "p", "v", {"d"}, 30'000, 60'000));
  gate.ForgetPool("p");
  EXPECT_FALSE(Covers(gate, "p", "v", {"d"}, 30'000, 60'000));
  EXPECT_TRUE(Covers(gate, "q", "w", {"d"}, 30'000, 60'000));
  gate.ForgetAll();
  EXPECT_FALSE(Covers(gate, "q", "w", {"d"}, 30'000, 60'000));
  EXPECT_EQ(gate.workers(), 0u);
}

TEST(RenewalGateTest, CoversAllocsRenewedToTheirDeadlineByThePoolsAllocTtl) {
  RenewalGate gate;
  gate.Record("p", "w", Renewed({"d1"}, {"a2", "a1"}), gate.generation());
  // Alloc deadlines follow the pool's alloc TTL (30 s, steps of 3 s) from `now`.
  EXPECT_TRUE(gate.CoversHeartbeat("p", "w", {"d1"}, {"a1", "a2"}, 9'000, 30'000, 60'000));
  EXPECT_TRUE(gate.CoversHeartbeat("p", "w", {"d1"}, {"a1"}, 6'000, 30'000, 60'000));
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d1"}, {"a1"}, 13'000, 30'000, 60'000));
  // An alloc no committed heartbeat renewed (unknown, another worker's, not acknowledged).
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d1"}, {"a1", "a3"}, 9'000, 30'000, 60'000));
  // An alloc's renewal sets its deadline: the bound follows it down as well as up.
  RenewalGate::Renewal earlier = Renewed({}, {"a1"});
  earlier.alloc_deadline = 37'000;
  gate.Record("p", "w", earlier, gate.generation());
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {}, {"a1"}, 9'000, 30'000, 60'000));
  // An alloc that ended: the worker is forgotten.
  gate.Forget("p", "w");
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d1"}, {"a2"}, 9'000, 30'000, 60'000));
}

}  // namespace
}  // namespace line
