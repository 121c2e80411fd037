// The deadline a heartbeat renews a worker or a replica to: now + TTL, rounded up to a step of
// a tenth of the TTL (at most 5 s). With heartbeats more frequent than the step, most of them
// find the deadline already that late, and the store writes nothing for them (Tx::RenewWorker
// never shortens a deadline): each write moved a row and its entry in the TTL index the
// sweeper reads. The cost is leniency, never haste: an expiry comes at least TTL after the
// last heartbeat, and at most one step later (docs/decisions/0010-ttl-renewal-steps.md).
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/clock.h"

namespace line {

inline constexpr int64_t kMaxRenewalStepMs = 5'000;

inline TimeMs RenewedDeadline(TimeMs now, int64_t ttl_ms) {
  const int64_t step = std::clamp<int64_t>(ttl_ms / 10, 1, kMaxRenewalStepMs);
  const TimeMs exact = now + ttl_ms;
  return (exact + step - 1) / step * step;
}

}  // namespace line
