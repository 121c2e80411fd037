// The agent's standing with lined: its current registration (worker id), whether it drains,
// and whether it is stopping. Changes wake every thread waiting on the session.
//
// Thread-safe (one mutex and condition variable). Owned by the Agent; the heartbeat thread
// (re-)registers and acknowledges the drain, the receive thread asks for re-registration
// when lined no longer knows the worker, the event loop starts the drain and the stop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace line::agent {

struct SessionState {
  std::string worker_id;           // the current registration
  uint64_t generation = 0;         // +1 at each registration
  bool renewal_requested = false;  // lined said WorkerNotFound: register again
  bool draining = false;           // SIGTERM/SIGINT: take no new allocs
  bool drain_acked = false;        // lined took the drain of the current registration
  bool stopping = false;           // the threads should end
  bool heartbeat_wanted = false;   // new allocs arrived: acknowledge them now, not later
};

class Session {
 public:
  SessionState Get() const;

  void Registered(const std::string& worker_id);
  // Asks the heartbeat thread to register again, unless `generation` was already replaced.
  void RequestRenewal(uint64_t generation);
  void RequestHeartbeat();
  void ClearHeartbeatWanted();
  void BeginDrain();
  void DrainAcked(uint64_t generation);
  void Stop();

  // Waits until `done(state)` holds or `timeout` passes; returns the state then.
  template <typename Pred>
  SessionState WaitFor(std::chrono::milliseconds timeout, Pred done) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, timeout, [&] { return done(state_); });
    return state_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  SessionState state_;  // guarded by mu_
};

}  // namespace line::agent
