#include "agent/reporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/backoff.h"

namespace line::agent {

Reporter::Reporter(client::Client& client, AllocBook& book, std::chrono::milliseconds max_backoff,
                   int concurrency)
    : client_(client), book_(book), max_backoff_(max_backoff) {
  for (int i = 0; i < std::max(1, concurrency); ++i) threads_.emplace_back([this] { Run(); });
}

Reporter::~Reporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
  for (Completion& c : queue_) abandoned_.push_back(std::move(c));
  for (const Completion& c : abandoned_) {
    spdlog::error(
        "alloc {} (eval {}): completion never reached lined; it will expire and be placed "
        "again",
        c.alloc_id, c.eval_id);
  }
}

void Reporter::Submit(Completion completion) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(completion));
  }
  changed_.notify_all();
}

bool Reporter::Flush(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_until(lock, deadline, [&] { return queue_.empty() && in_flight_ == 0; });
}

void Reporter::Run() {
  Backoff backoff(std::chrono::milliseconds(100), max_backoff_);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    // Oldest first; the completion stays this thread's until it is reported.
    Completion c = std::move(queue_.front());
    queue_.pop_front();
    ++in_flight_;
    // Whether an earlier report of `c` got no answer: it may have committed.
    bool unanswered = false;
    while (true) {
      lock.unlock();
      bool done = Report(c, unanswered);
      lock.lock();
      if (done) break;
      unanswered = true;
      if (changed_.wait_for(lock, backoff.Next(), [&] { return stopping_; })) {
        abandoned_.push_back(std::move(c));
        --in_flight_;
        return;
      }
    }
    backoff.Reset();
    book_.Retire(c.alloc_id);
    --in_flight_;
    changed_.notify_all();  // Flush
  }
}

bool Reporter::Report(const Completion& c, bool unanswered_before) {
  client::CompleteAllocRequest request{.pool_id = c.pool_id,
                                       .alloc_id = c.alloc_id,
                                       .worker_id = c.worker_id,
                                       .exit_code = c.exit_code,
                                       .result = c.result_json,
                                       .failed = c.failed};
  // libline turns a 409 AllocAlreadyEnded into success when an earlier send, in this call or
  // (with earlier_call_unanswered) in an earlier one, committed this completion.
  client::Result<client::Empty> r =
      client_.CompleteAlloc(request, {.earlier_call_unanswered = unanswered_before});
  if (r.ok()) {
    spdlog::debug("alloc {} reported", c.alloc_id);
    return true;
  }
  const client::Error& e = r.error();
  if (e.http_status == 409 && e.code == "AllocAlreadyEnded") {
    // Not by this completion: lined ended the alloc first (it expired or its worker was
    // deregistered, e.g. while lined was unreachable), so its eval runs again elsewhere.
    spdlog::warn(
        "alloc {} (eval {}) had already ended when its completion arrived (it "
        "expired while lined was unreachable): {}",
        c.alloc_id, c.eval_id, e.ToString());
    return true;
  }
  if (e.http_status == 0 || e.http_status >= 500) {
    spdlog::warn("alloc {}: reporting its completion failed, will retry: {}", c.alloc_id,
                 e.ToString());
    return false;
  }
  // Any other 4xx will not change by retrying (the alloc, worker or pool is gone or not ours).
  spdlog::error("alloc {} (eval {}): lined refused its completion: {}", c.alloc_id, c.eval_id,
                e.ToString());
  return true;
}

}  // namespace line::agent
