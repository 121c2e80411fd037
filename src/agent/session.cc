#include "agent/session.h"

namespace line::agent {

SessionState Session::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void Session::Registered(const std::string& worker_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.worker_id = worker_id;
    ++state_.generation;
    state_.renewal_requested = false;
    state_.drain_acked = false;
  }
  changed_.notify_all();
}

void Session::RequestRenewal(uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_.generation != generation) return;
    state_.renewal_requested = true;
  }
  changed_.notify_all();
}

void Session::RequestHeartbeat() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.heartbeat_wanted = true;
  }
  changed_.notify_all();
}

void Session::ClearHeartbeatWanted() {
  std::lock_guard<std::mutex> lock(mu_);
  state_.heartbeat_wanted = false;
}

void Session::BeginDrain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.draining = true;
  }
  changed_.notify_all();
}

void Session::DrainAcked(uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_.generation != generation) return;
    state_.drain_acked = true;
  }
  changed_.notify_all();
}

void Session::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.stopping = true;
  }
  changed_.notify_all();
}

}  // namespace line::agent
