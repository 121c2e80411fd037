// When the store may try to open a connection again after failing to: exponential backoff
// from 100 ms, doubling, capped at 5 s (issue 4 "Outages"). Calls made meanwhile fail at once
// with kStoreUnavailable instead of each waiting out a connect timeout.
//
// Thread-safety: thread-safe; shared by the writer thread and the reader pool.
#pragma once

#include <cstdint>
#include <mutex>

#include "common/clock.h"
#include "common/status.h"

namespace line::postgres {

class ReconnectBackoff {
 public:
  static constexpr int64_t kFirstDelayMs = 100;
  static constexpr int64_t kMaxDelayMs = 5000;

  explicit ReconnectBackoff(Clock* clock) : clock_(clock) {}

  // OK when a connection attempt may be made now; kStoreUnavailable while backing off.
  Status MayConnect() const;
  // Records a failed attempt: the next one waits twice as long as the last (at most 5 s).
  void Failed();
  // Records a connection that works: the next failure starts again from the first delay.
  void Succeeded();
  // The delay the next failure will impose; for tests.
  int64_t next_delay_ms() const;

 private:
  Clock* const clock_;
  mutable std::mutex mu_;
  int64_t delay_ms_ = kFirstDelayMs;  // guarded by mu_
  TimeMs retry_at_ = 0;               // guarded by mu_
};

}  // namespace line::postgres
