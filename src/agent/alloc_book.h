// What the agent holds: every alloc from its receipt until its completion was reported (or
// refused for good), the capacity their sizes take, and the ids already seen, so that a
// redelivered alloc is never run twice.
//
// Thread-safe (one mutex). Owned by the Agent; the receive thread adds allocs, the event loop
// takes and finishes them, the reporter retires them, the heartbeat thread lists them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "line/client/types.h"

namespace line::agent {

class AllocBook {
 public:
  // Ids of retired allocs remembered for redelivery checks; older ones are forgotten (lined
  // never redelivers an alloc whose completion it acknowledged, so this is a safety margin).
  static constexpr size_t kRememberedRetired = 65536;

  explicit AllocBook(int64_t capacity) : capacity_(capacity) {}

  // Records a received alloc and queues it for the event loop. False (and nothing changes) when
  // the id was seen before: a redelivery.
  bool Accept(const client::ReceivedAlloc& alloc);
  // Removes and returns the allocs accepted since the last call, oldest first.
  std::vector<client::ReceivedAlloc> TakeAccepted();

  // The command of `alloc_id` ended (or will never run): its size no longer counts against
  // capacity. The alloc is still held (listed in heartbeats) until Retire.
  void Finish(const std::string& alloc_id);
  // The completion of `alloc_id` reached lined (or can never be delivered): forget it.
  void Retire(const std::string& alloc_id);

  // Capacity minus the sizes of held allocs that have not finished (queued ones included), so
  // negative when lined sent more than fits.
  int64_t Free() const;
  // Waits until Free() > 0, Interrupt() or `timeout`; returns Free().
  int64_t WaitForFree(std::chrono::milliseconds timeout);
  // Wakes WaitForFree callers (the agent is draining or stopping).
  void Interrupt();

  // Held allocs received under `worker_id`, sorted: what a heartbeat of that worker lists.
  std::vector<std::string> HeldBy(const std::string& worker_id) const;
  // Held allocs (received, not yet retired).
  size_t held() const;

 private:
  struct Held {
    std::string worker_id;
    int64_t size = 0;
    bool finished = false;
  };

  const int64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::map<std::string, Held> held_;             // guarded by mu_
  std::vector<client::ReceivedAlloc> accepted_;  // guarded by mu_
  std::set<std::string> retired_;                // guarded by mu_
  std::deque<std::string> retired_order_;        // guarded by mu_; oldest first
  int64_t committed_ = 0;                        // guarded by mu_; unfinished held sizes
  bool interrupted_ = false;                     // guarded by mu_
};

}  // namespace line::agent
