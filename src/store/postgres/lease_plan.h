// Which pool leases a node should try to take or hand over on one coordination tick. Pure:
// the PgCluster thread gathers the inputs from PostgreSQL and applies the decision.
//
// Pools are spread over the live nodes by rendezvous hashing: the node whose hash with the
// pool is highest is the pool's preferred owner. A node takes an unowned pool at once when it
// is the preferred owner, and after `kPatienceTicks` ticks when it is not (the preferred node
// may be dead or not yet registered); a node holding a pool whose preferred owner is another
// live node hands it over, so pools spread out again when nodes join.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace line::postgres {

// The advisory-lock key of a pool: a 32-bit hash, never 0 (0 is the expiry lease). Two pools
// may share a key; then one node owns both, which is harmless.
uint32_t PoolLeaseKey(std::string_view pool_id);

// The live node preferred to own `pool_id`; "" when there is none.
std::string PreferredOwner(std::string_view pool_id, const std::vector<std::string>& live_nodes);

struct LeaseInputs {
  std::string me;                              // this node's id
  std::vector<std::string> pools;              // every active pool
  std::vector<std::string> live_nodes;         // node ids whose lease connection is alive
  std::map<uint32_t, std::string> holder;      // key -> node id holding it now (incl. me)
  std::map<uint32_t, int> unowned_ticks;       // key -> ticks it has been seen unowned
};

struct LeaseDecision {
  std::set<uint32_t> take;     // try pg_try_advisory_lock
  // pg_advisory_unlock: the preferred owner is another live node, or the pool is gone
  std::set<uint32_t> release;
  std::map<uint32_t, int> unowned_ticks;  // the streaks to remember for the next tick
};

constexpr int kPatienceTicks = 3;

LeaseDecision DecideLeases(const LeaseInputs& in);

}  // namespace line::postgres
