#include "store/postgres/lease_plan.h"

#include <algorithm>

namespace line::postgres {

namespace {

uint64_t Fnv1a64(std::string_view a, std::string_view b) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&hash](std::string_view text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 0x100000001b3ULL;
    }
  };
  mix(a);
  mix(std::string_view("\0", 1));  // "ab"+"c" and "a"+"bc" must differ
  mix(b);
  // FNV's low bits mix poorly for short inputs; a final avalanche spreads them.
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  return hash;
}

}  // namespace

uint32_t PoolLeaseKey(std::string_view pool_id) {
  uint32_t key = static_cast<uint32_t>(Fnv1a64("pool", pool_id));
  return key == 0 ? 1 : key;
}

std::string PreferredOwner(std::string_view pool_id, const std::vector<std::string>& live_nodes) {
  std::string best;
  uint64_t best_score = 0;
  for (const std::string& node : live_nodes) {
    uint64_t score = Fnv1a64(node, pool_id);
    if (best.empty() || score > best_score || (score == best_score && node < best)) {
      best = node;
      best_score = score;
    }
  }
  return best;
}

LeaseDecision DecideLeases(const LeaseInputs& in) {
  LeaseDecision out;
  // Keys shared by several pools: keep (or take) the key if any of its pools prefers me.
  std::map<uint32_t, bool> preferred_by_me;
  for (const std::string& pool : in.pools) {
    uint32_t key = PoolLeaseKey(pool);
    bool mine = PreferredOwner(pool, in.live_nodes) == in.me;
    preferred_by_me[key] = preferred_by_me[key] || mine;
  }
  for (const auto& [key, mine] : preferred_by_me) {
    auto held = in.holder.find(key);
    if (held != in.holder.end()) {
      // Hand over only to a node that is alive to take it; never when I am preferred.
      if (held->second == in.me && !mine && in.live_nodes.size() > 1) out.release.insert(key);
      continue;
    }
    auto streak = in.unowned_ticks.find(key);
    int ticks = (streak == in.unowned_ticks.end() ? 0 : streak->second) + 1;
    out.unowned_ticks[key] = ticks;
    if (mine || ticks >= kPatienceTicks) out.take.insert(key);
  }
  // Leases of pools that are gone (disbanded, deleted) are given back, so a long-lived node
  // does not hold one lock per pool it ever scheduled.
  for (const auto& [key, node] : in.holder) {
    if (node == in.me && !preferred_by_me.contains(key)) out.release.insert(key);
  }
  return out;
}

}  // namespace line::postgres
