#include "common/clock.h"

#include <chrono>

namespace line {
namespace {

class RealClock final : public Clock {
 public:
  TimeMs NowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimeMs deadline) override {
    TimeMs now = NowMs();
    if (deadline <= now) return false;
    return cv.wait_for(lock, std::chrono::milliseconds(deadline - now)) ==
           std::cv_status::no_timeout;
  }
};

}  // namespace

Clock* SystemClock() {
  static RealClock clock;
  return &clock;
}

TimeMs ManualClock::NowMs() const {
  std::lock_guard<std::mutex> guard(mu_);
  return now_;
}

bool ManualClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                            TimeMs deadline) {
  if (NowMs() >= deadline) return false;
  // The waiter's own cv is what Advance() cannot reach, so poll it in short real-time slices:
  // a notify still wakes the waiter at once, and an Advance() is seen within a millisecond.
  cv.wait_for(lock, std::chrono::milliseconds(1));
  return NowMs() < deadline;
}

void ManualClock::Advance(TimeMs delta_ms) {
  std::lock_guard<std::mutex> guard(mu_);
  now_ += delta_ms;
}

void ManualClock::Set(TimeMs now) {
  std::lock_guard<std::mutex> guard(mu_);
  now_ = now;
}

}  // namespace line
