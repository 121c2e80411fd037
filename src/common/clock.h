// Clock: every read of the time and every timed wait goes through one, so TTL, long-poll and
// expiry tests run on a ManualClock without sleeping.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace line {

// Milliseconds since the Unix epoch. Wire times are whole seconds; the store keeps ms so that
// a TTL is neither shortened nor stretched by rounding.
using TimeMs = int64_t;

// Thread-safe. Implementations outlive everything that holds a pointer to them.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs NowMs() const = 0;
  // Waits on `cv` (with `lock` held) until notified or until NowMs() >= deadline.
  // Returns false on deadline. Spurious wake-ups may return true.
  virtual bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimeMs deadline) = 0;
};

// The wall clock (system_clock); waits use the steady clock underneath.
Clock* SystemClock();

// A clock that moves only when told to. Waiters wake when Advance() passes their deadline.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start = 1'700'000'000'000) : now_(start) {}
  TimeMs NowMs() const override;
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimeMs deadline) override;
  void Advance(TimeMs delta_ms);
  void Set(TimeMs now);

 private:
  mutable std::mutex mu_;
  TimeMs now_;
  std::condition_variable changed_;
};

}  // namespace line
