// Sweeper: expires what passed its deadline (SPEC "Time and retries"): workers (their live
// allocs expire in the same transaction), allocs, replicas, and disbanded pools past POOL_TTL.
//
// Thread-safe. Owns one thread between Start() and Stop(); tests call SweepOnce() on a
// ManualClock instead.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "scheduler/snapshot_cache.h"
#include "store/store.h"

namespace line {

struct SweepReport {
  int64_t expired_workers = 0;
  int64_t expired_allocs = 0;  // including those of expired workers
  int64_t dead_lettered = 0;
  int64_t expired_replicas = 0;
  int64_t deleted_pools = 0;
  bool deadlines_extended = false;      // the store came back: everyone got a full TTL
  std::vector<std::pair<std::string, std::string>> gone_workers;  // (pool_id, worker_id) removed
  std::set<std::string> pools_to_wake;  // evals became pending there
};

class Sweeper {
 public:
  // Called after every sweep that committed, with what it did (often nothing).
  using SweptHook = std::function<void(const SweepReport&)>;

  struct Ttls {
    int64_t pool_ttl_s = 300;
    int64_t worker_ttl_s = 30;   // for the full TTL granted after an outage
    int64_t replica_ttl_s = 60;  // likewise
  };

  // `may_sweep` (null: always) says whether this node runs expiry now: with several nodes on
  // one store only the holder of the expiry lease does, so each deadline is acted on once.
  Sweeper(Store* store, Clock* clock, SnapshotCache* cache, Ttls ttls, SweptHook on_swept,
          std::function<bool()> may_sweep = nullptr);
  ~Sweeper();

  // Sweeps every `interval_ms` until Stop().
  void Start(int64_t interval_ms = 250);
  void Stop();

  // One sweep at the clock's current time, committed before it returns. If the previous sweep
  // failed (the store was unavailable), this one first gives every worker, replica and alloc a
  // full TTL from now, in the same transaction: heartbeats that could not be stored during an
  // outage are not held against anyone (SPEC "Time and retries").
  Result<SweepReport> SweepOnce();

  // Makes the next sweep give everyone a full TTL first, as after a store outage: the cluster
  // says nobody swept for a while (every node, or the store, was down).
  void RequestFullTtl() { store_was_down_ = true; }

 private:
  void Loop(int64_t interval_ms);

  Store* const store_;
  Clock* const clock_;
  SnapshotCache* const cache_;
  const Ttls ttls_;
  std::atomic<bool> store_was_down_{false};
  const SweptHook on_swept_;
  const std::function<bool()> may_sweep_;

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace line
