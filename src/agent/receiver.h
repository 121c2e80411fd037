// The receive thread: long-polls ReceiveAllocs for the current registration, asking for no
// more allocs than could fit (each takes at least one unit), and hands new ones to the event
// loop through the AllocBook. Redeliveries (ids already seen) are dropped. Once the agent
// drains and lined acknowledged the drain, it collects what was placed before the drain with
// a last non-waiting call, and ends.
//
// Owns its thread; borrows the Client, AllocBook and Session. `on_change` is called (from the
// receive thread) after new allocs were accepted and when the thread ends.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "agent/alloc_book.h"
#include "agent/session.h"
#include "line/client/client.h"

namespace line::agent {

class Receiver {
 public:
  Receiver(client::Client& client, std::string pool_id, AllocBook& book, Session& session,
           std::chrono::milliseconds interval, std::function<void()> on_change);
  ~Receiver();  // joins; call Session::Stop() or BeginDrain() first
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // The thread has ended: no alloc will be accepted any more.
  bool done() const { return done_; }

 private:
  void Run();
  void FinalSweep();
  // Accepts the new allocs; returns how many were new.
  size_t Deliver(const std::vector<client::ReceivedAlloc>& allocs, const std::string& worker_id);

  client::Client& client_;
  const std::string pool_id_;
  AllocBook& book_;
  Session& session_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> on_change_;
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: starts after the fields it uses
};

}  // namespace line::agent
