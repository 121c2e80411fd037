// Reports finished allocs to lined (CompleteAlloc) from threads of its own, so that the event
// loop never waits on the network. Several completions are in flight at once: each waits for a
// durable commit in lined, and one at a time would cap a worker at one completion per commit
// (about 150/s), however many slots it has. While lined is unreachable each reporting thread
// keeps retrying its completion, with backoff capped at a third of the worker TTL. A completion
// is reported under the worker id the alloc was received with, even after the agent registered
// again. A completion whose earlier try committed unseen (the answer was lost in an outage)
// counts as reported when the retry answers 409 AllocAlreadyEnded and the alloc shows
// "completed".
//
// Thread-safe: Submit from the event loop, Flush from the agent's shutdown. Owns its threads;
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
#include <vector>

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
  // `concurrency`: how many completions may be in flight at once (at least 1).
  Reporter(client::Client& client, AllocBook& book, std::chrono::milliseconds max_backoff,
           int concurrency = 1);
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
  std::deque<Completion> queue_;       // guarded by mu_: not yet taken by a reporting thread
  int in_flight_ = 0;                  // guarded by mu_: taken, not yet reported
  std::vector<Completion> abandoned_;  // guarded by mu_: in flight when stopping
  bool stopping_ = false;              // guarded by mu_
  std::vector<std::thread> threads_;   // last: they start after the fields they use
};

}  // namespace line::agent
