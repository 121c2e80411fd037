// DeliveryLedger: what a node alone on its store has handed to long-polls, kept for the
// visibility timeout so that a poll never hands out an alloc whose mark is still on its way.
#include "ops/delivery_ledger.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace line {
namespace {

using Ids = std::vector<std::string>;

TEST(DeliveryLedgerTest, ClaimsUpToItsMaximumInOrderAndNeverTheSameAllocTwice) {
  DeliveryLedger ledger;
  EXPECT_EQ(ledger.Claim("p/w", {"a", "b", "c"}, 2, /*since=*/0, /*at=*/100), (Ids{"a", "b"}));
  // A second poll of the same worker, on the same snapshot: only what the first left.
  EXPECT_EQ(ledger.Claim("p/w", {"a", "b", "c"}, 10, 0, 101), (Ids{"c"}));
  EXPECT_TRUE(ledger.Claim("p/w", {"a", "b", "c"}, 10, 0, 102).empty());
  EXPECT_EQ(ledger.size(), 3u);
}

TEST(DeliveryLedgerTest, AnAllocIsDueAgainOnceItWasHandedAtOrBeforeSince) {
  DeliveryLedger ledger;
  ledger.Claim("p/w", {"a"}, 10, 0, /*at=*/100);
  ledger.Claim("p/w", {"b"}, 10, 0, /*at=*/200);
  EXPECT_EQ(ledger.EarliestHanded("p/w", /*since=*/0), 100);
  // since 99: both still held. since 100: "a" (handed at 100) is due again, "b" is not.
  EXPECT_TRUE(ledger.Claim("p/w", {"a", "b"}, 10, /*since=*/99, 300).empty());
  EXPECT_EQ(ledger.Claim("p/w", {"a", "b"}, 10, /*since=*/100, 300), (Ids{"a"}));
  EXPECT_EQ(ledger.EarliestHanded("p/w", 100), 200);
  EXPECT_EQ(ledger.size(), 2u);  // "b" at 200, "a" again at 300
  // Nothing held after its timeout: no wake-up in the past for a poll to spin on.
  EXPECT_EQ(ledger.EarliestHanded("p/w", /*since=*/300), 0);
  EXPECT_EQ(ledger.size(), 0u);
}

TEST(DeliveryLedgerTest, WorkersAreApartAndForgettingOneDropsItsAllocs) {
  DeliveryLedger ledger;
  ledger.Claim("p/w1", {"a"}, 10, 0, 100);
  EXPECT_EQ(ledger.Claim("p/w2", {"a"}, 10, 0, 100), (Ids{"a"}));  // another worker's queue
  ledger.Forget("p/w1");
  EXPECT_EQ(ledger.EarliestHanded("p/w1", 0), 0);
  EXPECT_EQ(ledger.Claim("p/w1", {"a"}, 10, 0, 101), (Ids{"a"}));
  EXPECT_EQ(ledger.size(), 2u);
}

TEST(DeliveryLedgerTest, AWorkerWithNothingHeldTakesNoRoom) {
  DeliveryLedger ledger;
  ledger.Claim("p/w", {"a"}, 10, 0, 100);
  EXPECT_TRUE(ledger.Claim("p/w", {}, 10, /*since=*/100, 200).empty());
  EXPECT_EQ(ledger.size(), 0u);
  EXPECT_EQ(ledger.EarliestHanded("p/w", 100), 0);
}

// A worker that polls no more (expired, or its pool deleted) is forgotten all the same: any
// claim sweeps every worker's timed-out allocs, at most once a second.
TEST(DeliveryLedgerTest, AWorkerThatPollsNoMoreIsForgottenByOthersClaims) {
  DeliveryLedger ledger;
  ledger.Claim("p/gone", {"a", "b"}, 10, 0, /*at=*/100);
  ledger.Claim("p/w", {"c"}, 10, /*since=*/50, 100);
  EXPECT_EQ(ledger.size(), 3u);  // "a" and "b" are within their timeout still
  ledger.Claim("p/w", {"d"}, 10, /*since=*/2'000, 2'100);
  EXPECT_EQ(ledger.size(), 1u);  // only "d": "p/gone" swept, "c" pruned
  EXPECT_EQ(ledger.EarliestHanded("p/gone", 2'000), 0);
}

}  // namespace
}  // namespace line
