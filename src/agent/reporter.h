// Reports finished allocs to lined (CompleteAlloc) from a thread of its own, so that the event
// loop never waits on the network. While lined is unreachable it keeps retrying, oldest first,
// with backoff capped at a third of the worker TTL. A completion is reported under the worker
// id the alloc was received with, even after the agent registered again. A completion whose
// earlier try committed unseen (the answer was lost in an outage) counts as reported when the
// retry answers 409 AllocAlreadyEnded and the alloc shows "completed".
//
// Thread-safe: Submit from the event loop, Flush from the agent's shutdown. Owns its thread;
// the Client and AllocBook are borrowed and must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/alloc_book.h"
#include "line/client/client.h"

namespace line::agent {

struct Completion {
  std::string pool_id;
  std::string alloc_id;
  std::string eval_id;
  std::string worker_id;             // the registration the alloc was received under
  std::optional<int64_t> exit_code;  // absent when the command never ran
  std::string result_json;           // a JSON string: the tail of the output
  bool failed = false;
};

class Reporter {
 public:
  Reporter(client::Client& client, AllocBook& book, std::chrono::milliseconds max_backoff);
  ~Reporter();  // stops (dropping what was not reported) and joins
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  void Submit(Completion completion);
  // Waits until every submitted completion was reported (or refused for good) or `deadline`.
  // Returns whether all were.
  bool Flush(std::chrono::steady_clock::time_point deadline);

 private:
  void Run();
  // One CompleteAlloc; false when it should be tried again later (lined unreachable or 5xx:
  // it may have committed all the same). `unanswered_before`: an earlier Report of `c`
  // returned false, so a 409 AllocAlreadyEnded may be its own doing (libline checks).
  bool Report(const Completion& c, bool unanswered_before);

  client::Client& client_;
  AllocBook& book_;
  const std::chrono::milliseconds max_backoff_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Completion> queue_;  // guarded by mu_; front is being reported
  bool stopping_ = false;         // guarded by mu_
  std::thread thread_;            // last: starts after the fields it uses
};

}  // namespace line::agent
