#include "agent/receiver.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/backoff.h"

namespace line::agent {
namespace {

constexpr int64_t kMaxMessages = 100;  // the API's bound on max_number_of_messages

}  // namespace

Receiver::Receiver(client::Client& client, std::string pool_id, AllocBook& book, Session& session,
                   std::chrono::milliseconds interval, std::function<void()> on_change)
    : client_(client),
      pool_id_(std::move(pool_id)),
      book_(book),
      session_(session),
      interval_(interval),
      on_change_(std::move(on_change)),
      thread_([this] { Run(); }) {}

Receiver::~Receiver() { thread_.join(); }

void Receiver::Run() {
  // Long polls end early when an alloc commits; their length only bounds how long a drain
  // waits for the poll in flight.
  const int64_t wait_seconds = std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(interval_).count(), 1, 5);
  Backoff backoff(std::chrono::milliseconds(100), interval_);
  bool failing = false;
  while (true) {
    SessionState s = session_.Get();
    if (s.stopping) break;
    if (s.draining) {
      FinalSweep();
      break;
    }
    if (s.renewal_requested) {
      session_.WaitFor(interval_, [&](const SessionState& now) {
        return now.stopping || now.draining || now.generation != s.generation;
      });
      continue;
    }
    int64_t free = book_.WaitForFree(interval_);
    if (free <= 0) continue;
    client::Result<client::ReceiveAllocsResponse> r =
        client_.ReceiveAllocs({.pool_id = pool_id_,
                               .worker_id = s.worker_id,
                               .max_number_of_messages = std::min(free, kMaxMessages),
                               .wait_time_seconds = wait_seconds});
    if (r.ok()) {
      failing = false;
      backoff.Reset();
      Deliver(r->allocs, s.worker_id);
      continue;
    }
    const client::Error& e = r.error();
    if (e.http_status == 404 && e.code == "WorkerNotFound") {
      session_.RequestRenewal(s.generation);
      continue;
    }
    if (!failing) spdlog::warn("receiving allocs failed, will retry: {}", e.ToString());
    failing = true;
    session_.WaitFor(backoff.Next(),
                     [](const SessionState& now) { return now.stopping || now.draining; });
  }
  done_ = true;
  on_change_();
}

void Receiver::FinalSweep() {
  // Allocs placed before lined took the drain may not have been received yet; collecting them
  // now runs them here instead of letting the deregistration send them elsewhere with one
  // attempt used up.
  SessionState s =
      session_.WaitFor(std::max<std::chrono::milliseconds>(3 * interval_, std::chrono::seconds(5)),
                       [](const SessionState& now) { return now.stopping || now.drain_acked; });
  if (!s.drain_acked || s.renewal_requested) return;
  while (true) {
    int64_t want = std::clamp<int64_t>(book_.Free(), 1, kMaxMessages);
    client::Result<client::ReceiveAllocsResponse> r = client_.ReceiveAllocs(
        {.pool_id = pool_id_, .worker_id = s.worker_id, .max_number_of_messages = want});
    if (!r.ok()) return;
    Deliver(r->allocs, s.worker_id);
    if (static_cast<int64_t>(r->allocs.size()) < want) return;
  }
}

size_t Receiver::Deliver(const std::vector<client::ReceivedAlloc>& allocs,
                         const std::string& worker_id) {
  size_t accepted = 0;
  for (client::ReceivedAlloc alloc : allocs) {
    if (alloc.worker_id.empty()) alloc.worker_id = worker_id;
    if (alloc.pool_id.empty()) alloc.pool_id = pool_id_;
    if (book_.Accept(alloc)) {
      ++accepted;
      spdlog::debug("received alloc {} (eval {}, size {}, attempt {})", alloc.alloc_id,
                    alloc.eval_id, alloc.size, alloc.attempt);
    } else {
      spdlog::info("ignoring alloc {} (eval {}): delivered again, already run or running",
                   alloc.alloc_id, alloc.eval_id);
    }
  }
  if (accepted > 0) {
    session_.RequestHeartbeat();  // acknowledge at once so lined does not deliver them again
    on_change_();
  }
  return accepted;
}

}  // namespace line::agent
