// A worker of a lined cluster played by two threads, for tests of several nodes: it registers,
// heartbeats, long-polls ReceiveAllocs, "runs" each alloc for a short random time, several at
// once, and completes it. It talks to one node and fails over to the next when that node is
// gone or answers 503 (SPEC: outcome unknown), like a real worker should:
// - a completion retried after an unknown outcome that answers 409 AllocAlreadyEnded counts as
//   done when DescribeAlloc says `completed`;
// - a registration that expired (404 WorkerNotFound) is renewed by registering again.
//
// It records what it saw so tests can assert exactly-once delivery and completion, and checks
// the capacity invariant from the worker's side: the sizes of the allocs it runs at once never
// exceed its capacity. (An alloc stops counting when its CompleteAlloc is sent, before the
// server frees the capacity, so a correct server can never trip the check.)
//
// Thread-safe accessors; owns its threads. Call RequestStop() on every worker, then Stop(), so
// the long-polls of many workers end together rather than one after another.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace line::testing {

struct ClusterWorkerOptions {
  std::string pool_id;
  int64_t capacity = 4;
  std::vector<int> ports;  // every node of the cluster
  size_t home = 0;         // index into `ports` of the node it talks to first
  std::vector<std::string> datasets;
  // Each alloc runs for a time drawn uniformly from [min_run, max_run].
  std::chrono::milliseconds min_run{1};
  std::chrono::milliseconds max_run{10};
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(1);
  int wait_time_seconds = 2;
  uint32_t seed = 1;
  // The cluster's LINE_VISIBILITY_TIMEOUT: an alloc delivered again sooner than this after its
  // first delivery is recorded as an error.
  std::chrono::milliseconds visibility_timeout = std::chrono::seconds(10);
};

// What a worker saw, copied out at once.
struct ClusterWorkerReport {
  std::vector<std::string> worker_ids;  // each registration, first to last
  // First deliveries, in order, as (alloc_id, eval_id).
  std::vector<std::pair<std::string, std::string>> received;
  // Deliveries of an alloc it had received before (SPEC allows them when the alloc was not
  // acknowledged within the visibility timeout), each as "alloc_id after N ms, <its state>".
  std::vector<std::string> redeliveries;
  std::vector<int64_t> received_by_node;  // first deliveries per index of `ports`
  // Eval ids whose completion committed: answered 200, or 409 AllocAlreadyEnded after a try
  // with unknown outcome, with DescribeAlloc then showing `completed`.
  std::vector<std::string> completed;
  int64_t completions_confirmed_after_retry = 0;
  // "alloc_id: state" of received allocs that ended some other way (e.g. expired).
  std::vector<std::string> ended_otherwise;
  int64_t max_running = 0;  // the largest sum of sizes it ran at once
  std::vector<std::string> capacity_violations;
  // Answers that a correct cluster never gives it (each "path ... -> answer").
  std::vector<std::string> errors;
  int64_t retries = 0;  // tries with unknown outcome that it sent again (to another node)
  std::vector<std::string> retried_answers;  // the first few of those answers
};

class ClusterWorker {
 public:
  explicit ClusterWorker(ClusterWorkerOptions options);
  ~ClusterWorker();
  ClusterWorker(const ClusterWorker&) = delete;
  ClusterWorker& operator=(const ClusterWorker&) = delete;

  void RequestStop();
  // Stops and joins; the worker goes silent (it does not deregister).
  void Stop();

  bool registered() const;
  std::string worker_id() const;  // the current registration, "" before the first
  size_t completed_count() const;
  int64_t capacity() const { return options_.capacity; }
  ClusterWorkerReport report() const;

 private:
  struct Running {
    std::string eval_id;
    std::string worker_id;  // the registration it was received under
    int64_t size = 0;
    std::chrono::steady_clock::time_point finish;
    bool counted = true;  // still counts towards running_size_
  };

  void RunReceiver();
  void RunRunner();
  bool WaitForRegistration();

  const ClusterWorkerOptions options_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;              // wakes the runner (new allocs) and the receiver
  std::string worker_id_;                   // guarded by mu_
  bool reregister_ = false;                 // the receiver saw WorkerNotFound; guarded by mu_
  std::map<std::string, Running> running_;  // by alloc_id; guarded by mu_
  int64_t running_size_ = 0;                // guarded by mu_
  // When and by which node's port each alloc was first delivered; guarded by mu_.
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, int>> first_delivered_;
  std::set<std::string> completed_allocs_;  // completion answered 200; guarded by mu_
  ClusterWorkerReport report_;              // guarded by mu_

  std::thread runner_;
  std::thread receiver_;
};

}  // namespace line::testing
