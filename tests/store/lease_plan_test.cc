// The pure part of pool ownership across nodes: which leases a node takes or hands over.
#include "store/postgres/lease_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace line::postgres {
namespace {

std::vector<std::string> Pools(int n) {
  std::vector<std::string> pools;
  for (int i = 0; i < n; ++i) pools.push_back("pool-" + std::to_string(i));
  return pools;
}

TEST(LeasePlanTest, PoolKeysAreStableAndNeverTheExpiryKey) {
  EXPECT_EQ(PoolLeaseKey("abc"), PoolLeaseKey("abc"));
  EXPECT_NE(PoolLeaseKey("abc"), PoolLeaseKey("abd"));
  std::set<uint32_t> keys;
  for (const std::string& pool : Pools(10000)) {
    EXPECT_NE(PoolLeaseKey(pool), 0u);
    keys.insert(PoolLeaseKey(pool));
  }
  EXPECT_GT(keys.size(), 9990u) << "32-bit keys of 10,000 pools should almost never collide";
}

TEST(LeasePlanTest, PreferredOwnersSpreadPoolsOverNodes) {
  const std::vector<std::string> nodes = {"n1", "n2", "n3"};
  std::map<std::string, int> share;
  for (const std::string& pool : Pools(3000)) ++share[PreferredOwner(pool, nodes)];
  ASSERT_EQ(share.size(), 3u);
  for (const auto& [node, count] : share) {
    EXPECT_GT(count, 800) << node;
    EXPECT_LT(count, 1200) << node;
  }
  EXPECT_EQ(PreferredOwner("p", {}), "");
}

TEST(LeasePlanTest, OnlyPoolsOfADeadNodeMoveWhenItLeaves) {
  const std::vector<std::string> three = {"n1", "n2", "n3"};
  const std::vector<std::string> two = {"n1", "n2"};
  for (const std::string& pool : Pools(500)) {
    std::string before = PreferredOwner(pool, three);
    if (before != "n3") EXPECT_EQ(PreferredOwner(pool, two), before) << pool;
  }
}

TEST(LeasePlanTest, ThePreferredNodeTakesAnUnownedPoolAtOnce) {
  LeaseInputs in;
  in.pools = Pools(50);
  in.live_nodes = {"n1", "n2"};
  in.me = "n1";
  LeaseDecision decision = DecideLeases(in);
  for (const std::string& pool : in.pools) {
    bool mine = PreferredOwner(pool, in.live_nodes) == "n1";
    EXPECT_EQ(decision.take.contains(PoolLeaseKey(pool)), mine) << pool;
  }
  EXPECT_TRUE(decision.release.empty());
}

TEST(LeasePlanTest, AnyNodeTakesAPoolLeftUnownedForThePatienceTicks) {
  LeaseInputs in;
  in.pools = {"p"};
  in.live_nodes = {"n1", "n2"};
  in.me = PreferredOwner("p", in.live_nodes) == "n1" ? "n2" : "n1";  // not preferred
  for (int tick = 1; tick < kPatienceTicks; ++tick) {
    LeaseDecision decision = DecideLeases(in);
    EXPECT_TRUE(decision.take.empty()) << "tick " << tick;
    in.unowned_ticks = decision.unowned_ticks;
  }
  EXPECT_TRUE(DecideLeases(in).take.contains(PoolLeaseKey("p")));
}

TEST(LeasePlanTest, AHeldPoolIsHandedToItsPreferredLiveNodeAndNeverToNobody) {
  LeaseInputs in;
  in.pools = {"p"};
  in.live_nodes = {"n1", "n2"};
  std::string preferred = PreferredOwner("p", in.live_nodes);
  in.me = preferred == "n1" ? "n2" : "n1";
  in.holder[PoolLeaseKey("p")] = in.me;
  EXPECT_TRUE(DecideLeases(in).release.contains(PoolLeaseKey("p")));

  in.live_nodes = {in.me};  // alone: keep it
  EXPECT_TRUE(DecideLeases(in).release.empty());

  in.live_nodes = {"n1", "n2"};
  in.holder[PoolLeaseKey("p")] = preferred;  // another node holds it: nothing to do here
  LeaseDecision decision = DecideLeases(in);
  EXPECT_TRUE(decision.take.empty());
  EXPECT_TRUE(decision.release.empty());
}

TEST(LeasePlanTest, ALeaseOfAPoolThatIsGoneIsGivenBack) {
  LeaseInputs in;
  in.pools = {"still-here"};
  in.live_nodes = {"n1"};
  in.me = "n1";
  in.holder[PoolLeaseKey("still-here")] = "n1";
  in.holder[PoolLeaseKey("disbanded")] = "n1";
  in.holder[PoolLeaseKey("someone-elses")] = "n2";
  LeaseDecision decision = DecideLeases(in);
  EXPECT_EQ(decision.release, std::set<uint32_t>{PoolLeaseKey("disbanded")});
  EXPECT_TRUE(decision.take.empty());
}

}  // namespace
}  // namespace line::postgres
