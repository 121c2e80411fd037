// A worker played by a thread: long-polls ReceiveAllocs, completes some of what it receives,
// holds the rest and keeps it (and itself) alive with heartbeats. It records what it saw so
// tests can assert "nothing delivered twice" and "what was completed stays completed".
//
// Thread-safe accessors; owns its thread and its HttpClient. Transport failures (a killed
// server) are counted, not reported as test failures: crash tests expect them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace line::testing {

struct SimulatedWorkerOptions {
  std::string pool_id;
  std::string worker_id;
  std::vector<std::string> datasets;
  // Holds one of every `hold_every` allocs it receives live (listing it in its heartbeats) and
  // completes the others; 0 = completes everything.
  int hold_every = 0;
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(1);
  int wait_time_seconds = 1;
  // false: only heartbeats (itself, its datasets and what Hold() was given), receives nothing;
  // for tests that receive on the worker's behalf.
  bool receive = true;
};

class SimulatedWorker {
 public:
  SimulatedWorker(int port, SimulatedWorkerOptions options);
  ~SimulatedWorker();
  SimulatedWorker(const SimulatedWorker&) = delete;
  SimulatedWorker& operator=(const SimulatedWorker&) = delete;

  // Stops and joins the thread; the worker then simply goes silent (it does not deregister).
  void Stop();
  // Lists `alloc_id` in the heartbeats from now on (until the server calls it unknown).
  void Hold(const std::string& alloc_id);

  // Every alloc received, in order, as (alloc_id, eval_id); duplicates kept.
  std::vector<std::pair<std::string, std::string>> received() const;
  // Eval ids whose CompleteAlloc was answered 200.
  std::vector<std::string> completed() const;
  // Answers other than 200 from a server that answered (each as "path -> status body").
  std::vector<std::string> errors() const;
  int64_t transport_failures() const { return transport_failures_.load(); }
  const std::string& worker_id() const { return options_.worker_id; }

 private:
  void Run(int port);

  const SimulatedWorkerOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> transport_failures_{0};
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> received_;  // guarded by mu_
  std::vector<std::string> completed_;                         // guarded by mu_
  std::vector<std::string> errors_;                            // guarded by mu_
  std::set<std::string> held_;  // live allocs it keeps running; guarded by mu_
  std::thread thread_;
};

}  // namespace line::testing
