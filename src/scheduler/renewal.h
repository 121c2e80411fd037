// The deadline a heartbeat renews a worker, a replica or an alloc to: the heartbeat's instant
// rounded up to a renewal step, plus the TTL. A step is a tenth of the TTL, at most 5 s; a
// replica renews in its worker's step when that is shorter (3 s for the default TTLs of 30 s
// and 60 s), so that both deadlines move at the same heartbeats. With heartbeats more frequent
// than the step, most of them find every deadline already that late, and the store writes
// nothing for them (Tx::RenewWorker never shortens a deadline): each write moved a row and its
// entry in the TTL index the sweeper reads. The cost is leniency, never haste: an expiry comes
// at least TTL after the last heartbeat, and at most one step later
// (docs/decisions/0010-ttl-renewal-steps.md).
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/clock.h"

namespace line {

inline constexpr int64_t kMaxRenewalStepMs = 5'000;

inline int64_t RenewalStepMs(int64_t ttl_ms) {
  return std::clamp<int64_t>(ttl_ms / 10, 1, kMaxRenewalStepMs);
}

// Rounding the instant (not the deadline) makes every deadline renewed in one step move at
// the same heartbeat, whatever the TTLs.
inline TimeMs RenewedDeadline(TimeMs now, int64_t ttl_ms, int64_t step_ms) {
  return (now + step_ms - 1) / step_ms * step_ms + ttl_ms;
}

inline TimeMs RenewedDeadline(TimeMs now, int64_t ttl_ms) {
  return RenewedDeadline(now, ttl_ms, RenewalStepMs(ttl_ms));
}

// A replica's deadline, in the step of its worker's when that is the shorter.
inline TimeMs RenewedReplicaDeadline(TimeMs now, int64_t replica_ttl_ms, int64_t worker_ttl_ms) {
  return RenewedDeadline(now, replica_ttl_ms,
                         std::min(RenewalStepMs(replica_ttl_ms), RenewalStepMs(worker_ttl_ms)));
}

}  // namespace line
