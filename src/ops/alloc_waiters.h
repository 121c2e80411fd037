// AllocWaiters: parked /ReceiveAllocs long-polls. A waiting long-poll is a callback in a map,
// not a thread: it fires when an alloc for its worker commits (Notify) or at its deadline.
//
// Lost wake-ups are impossible by generation counting: a caller reads Generation(key) before
// looking for allocs, and Wait() fires at once if a Notify happened in between.
//
// A waiter may also take allocs handed over directly: the scheduler claims it (Claim) during a
// round and then either gives it the round's allocs or sends it back to looking (Refire);
// see scheduler/poll_handoff.h.
//
// Thread-safe. Owns one timer thread between Start() and Stop(); deadlines are read on Clock.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "scheduler/poll_handoff.h"

namespace line {

class AllocWaiters {
 public:
  using Fire = std::function<void()>;
  using Take = std::function<void(std::vector<HandedAlloc>)>;

  // A waiter taken out of waiting by Claim(): call `take` with its allocs, or hand `fire` to
  // Refire().
  struct Claimed {
    Fire fire;
    Take take;
    int64_t max_take = 0;
  };

  explicit AllocWaiters(Clock* clock);
  ~AllocWaiters();

  void Start();
  // Fires every parked waiter (their long-polls answer with what they have) and stops.
  void Stop();

  static std::string Key(const std::string& pool_id, const std::string& worker_id);

  uint64_t Generation(const std::string& key);
  // Parks `fire` until Notify(key) bumps the generation past `seen`, or until `deadline`.
  // Fires on the waiter thread, never on the caller's or the notifier's. Returns false,
  // without parking or firing, once Stop() has begun: the caller answers at once instead.
  // With `take`, the waiter can also be claimed and given up to `max_take` allocs directly.
  bool Wait(const std::string& key, uint64_t seen, TimeMs deadline, Fire fire,
            Take take = nullptr, int64_t max_take = 0);
  // Takes out the longest-parked waiter of `key` that takes allocs; nullopt if there is none
  // (or Stop() has begun). Neither its deadline nor a Notify fires it any more.
  std::optional<Claimed> Claim(const std::string& key);
  // Fires a claimed waiter after all, on the waiter thread (on the caller's once stopping).
  void Refire(Fire fire);
  void Notify(const std::string& key);
  // Drops the key's generation once its worker is gone, so the map does not grow with every
  // worker ever seen. A poll racing with this sees a changed generation and looks again (and
  // finds no worker): a spurious wake-up, never a lost one.
  void Forget(const std::string& key);

  size_t parked() const;

 private:
  struct Waiter {
    uint64_t id;
    TimeMs deadline;
    Fire fire;
    Take take;  // may be null: this waiter only fires
    int64_t max_take = 0;
  };
  void EraseDeadline(const Waiter& w);  // with mu_ held
  void Loop();
  void FireAll(std::vector<Fire>& fires);

  Clock* const clock_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::unordered_map<std::string, uint64_t> generations_;          // guarded by mu_
  std::unordered_map<std::string, std::vector<Waiter>> by_key_;    // guarded by mu_
  std::multimap<TimeMs, std::pair<std::string, uint64_t>> by_deadline_;  // guarded by mu_
  std::vector<Fire> immediate_;  // guarded by mu_: waiters that were notified before parking
  uint64_t next_id_ = 1;         // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::thread thread_;
};

}  // namespace line
