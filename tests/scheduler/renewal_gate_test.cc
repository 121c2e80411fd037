// RenewalGate on its own: it covers a heartbeat only with bounds at least as late as the
// heartbeat would set, for every dataset it lists, and forgets what a deletion may have taken.
#include "scheduler/renewal_gate.h"

#include <gtest/gtest.h>

namespace line {
namespace {

TEST(RenewalGateTest, AnEmptyGateCoversNothing) {
  RenewalGate gate;
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {}, 1'000, 1'000));
}

TEST(RenewalGateTest, CoversOnlyDeadlinesNoLaterThanTheRecordedOnesForKnownDatasets) {
  RenewalGate gate;
  gate.Record("p", "w", {"d2", "d1"}, /*worker_deadline=*/30'000, /*replica_deadline=*/60'000,
              gate.generation());
  EXPECT_TRUE(gate.CoversHeartbeat("p", "w", {"d1", "d2"}, 30'000, 60'000));
  EXPECT_TRUE(gate.CoversHeartbeat("p", "w", {"d1"}, 27'000, 55'000));
  EXPECT_TRUE(gate.CoversHeartbeat("p", "w", {}, 30'000, 0));
  // One step later, for the worker or a replica: the store would be written.
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d1"}, 33'000, 60'000));
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d1"}, 30'000, 65'000));
  // A dataset it has not held (its replica would be inserted), another worker, another pool.
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d1", "d3"}, 30'000, 60'000));
  EXPECT_FALSE(gate.CoversHeartbeat("p", "v", {}, 30'000, 60'000));
  EXPECT_FALSE(gate.CoversHeartbeat("q", "w", {}, 30'000, 60'000));
}

TEST(RenewalGateTest, ARecordNeverLowersABoundAndAddsNewDatasets) {
  RenewalGate gate;
  gate.Record("p", "w", {"d1"}, 33'000, 65'000, gate.generation());
  gate.Record("p", "w", {"d3"}, 30'000, 60'000, gate.generation());
  EXPECT_TRUE(gate.CoversHeartbeat("p", "w", {"d1"}, 33'000, 65'000));
  EXPECT_TRUE(gate.CoversHeartbeat("p", "w", {"d1", "d3"}, 33'000, 60'000));
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d3"}, 30'000, 65'000));
}

TEST(RenewalGateTest, ARecordReadBeforeAForgetIsIgnored) {
  RenewalGate gate;
  const uint64_t read_in_body = gate.generation();
  gate.Forget("p", "w");  // say, a deregistration later in the same group
  gate.Record("p", "w", {"d1"}, 30'000, 60'000, read_in_body);
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d1"}, 30'000, 60'000));
  EXPECT_EQ(gate.workers(), 0u);
}

TEST(RenewalGateTest, ForgettingAWorkerAPoolOrEverythingUncoversThem) {
  RenewalGate gate;
  auto record = [&](const char* pool, const char* worker) {
    gate.Record(pool, worker, {"d"}, 30'000, 60'000, gate.generation());
  };
  record("p", "w");
  record("p", "v");
  record("q", "w");
  gate.Forget("p", "w");
  EXPECT_FALSE(gate.CoversHeartbeat("p", "w", {"d"}, 30'000, 60'000));
  EXPECT_TRUE(gate.CoversHeartbeat("p", "v", {"d"}, 30'000, 60'000));
  gate.ForgetPool("p");
  EXPECT_FALSE(gate.CoversHeartbeat("p", "v", {"d"}, 30'000, 60'000));
  EXPECT_TRUE(gate.CoversHeartbeat("q", "w", {"d"}, 30'000, 60'000));
  gate.ForgetAll();
  EXPECT_FALSE(gate.CoversHeartbeat("q", "w", {"d"}, 30'000, 60'000));
  EXPECT_EQ(gate.workers(), 0u);
}

}  // namespace
}  // namespace line
