// Capped exponential backoff with jitter for the agent's own retry loops (on top of libline's
// short per-call retries). The cap is a third of the worker TTL, so that a worker that lost
// lined never waits longer than that before trying again. Not thread-safe: one per loop.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace line::agent {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {}

  // The wait before the next try: uniform in [next/2, next], then next doubles up to the cap.
  std::chrono::milliseconds Next() {
    std::chrono::milliseconds current = std::min(next_, max_);
    next_ = std::min(current * 2, max_);
    std::uniform_int_distribution<long> jitter(current.count() / 2, current.count());
    return std::chrono::milliseconds(jitter(rng_));
  }
  void Reset() { next_ = initial_; }
  void set_max(std::chrono::milliseconds max) { max_ = max; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace line::agent
