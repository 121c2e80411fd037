// RenewalGate: what this node knows of the deadlines its store holds for heart-beating workers,
// their replicas and their allocs, so that a heartbeat that would write nothing is answered without
// the writer (docs/decisions/0013-heartbeats-that-change-nothing.md).
//
// Heartbeats renew deadlines in steps (decision 0010), so most of them find every deadline
// already as late as they would set it, and their store write changes nothing; yet each still
// took a turn of the single writer, its statements, and two thread hops. The gate keeps, per
// worker, lower bounds of the deadlines the store holds, learnt from heartbeats that committed
// on this node: a renewal that returned true left the deadline at least where it asked.
//
// Exactness rests on the same ordering as SnapshotCache: a deadline in the store only ever goes
// down by a deletion or an ending (a worker deregistered or expired, a replica expired, a pool
// deleted, an alloc ended), every one happens in a write body that reports it as a
// CapacityDelta, and those deltas reach the gate in body order, before the body's commit
// (Forget). A bound learnt by a heartbeat is recorded after its commit, and only if its worker,
// its pool or everything was not forgotten since its body ran (generations), so a deletion
// ordered after the renewal always wins. The gate can make a heartbeat slower (it takes the
// writer), never wrong. Only for a node alone on its store: other nodes' deletions would not
// reach it.
//
// Thread-safe: heartbeats ask it on the HTTP threads; the writer thread records and forgets.
// Owned by the SnapshotCache it sits beside.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace line {

class RenewalGate {
 public:
  // A heartbeat of (pool_id, worker_id) at `now`, listing `datasets` and `alloc_ids`, that
  // would renew the worker to `worker_deadline`, each dataset to `replica_deadline` and each
  // alloc by its pool's alloc TTL (RenewedDeadline): true when the store is known to hold every
  // one of those deadlines already (and each alloc to be a live, acknowledged alloc of this
  // worker), so the worker is alive, holds each dataset, and the heartbeat's write would change
  // nothing.
  bool CoversHeartbeat(const std::string& pool_id, const std::string& worker_id,
                       const std::vector<std::string>& datasets,
                       const std::vector<std::string>& alloc_ids, TimeMs now,
                       TimeMs worker_deadline, TimeMs replica_deadline) const;

  // Moves on with every Forget; read by a heartbeat's body, given back to Record.
  uint64_t generation() const;

  // What a committed heartbeat renewed.
  struct Renewal {
    TimeMs worker_deadline = 0;
    std::vector<std::string> datasets;  // each held until replica_deadline or later
    TimeMs replica_deadline = 0;
    std::vector<std::string> alloc_ids;  // live allocs of the worker, acknowledged, renewed
    TimeMs alloc_deadline = 0;           // (the renewal sets it: exact, not a lower bound)
    int64_t alloc_ttl_ms = 0;            // the pool's, when alloc_ids is not empty
  };
  // After a heartbeat's commit. Ignored, and the worker forgotten, when the worker (or its
  // pool, or everything) was forgotten since `generation` was read in the body: that deletion
  // may come after the renewal, and what the renewal set is not known for sure.
  void Record(const std::string& pool_id, const std::string& worker_id, const Renewal& renewal,
              uint64_t generation);

  // In a write body, before its commit: the worker (or the pool, or everything) may have lost
  // rows or deadlines, or an alloc of the worker ended.
  void Forget(const std::string& pool_id, const std::string& worker_id);
  void ForgetPool(const std::string& pool_id);
  void ForgetAll();

  size_t workers() const;  // for tests

 private:
  // Sorted by id: a worker holds few datasets and runs few allocs.
  using Deadlines = std::vector<std::pair<std::string, TimeMs>>;
  struct Known {
    TimeMs worker_deadline = 0;
    Deadlines replicas;
    Deadlines allocs;
  };
  struct PoolKnown {
    int64_t alloc_ttl_ms = 0;  // 0 until a heartbeat listing allocs is recorded
    std::unordered_map<std::string, Known> workers;
  };

  // How many single forgets are remembered for Record's check before they are dropped for a
  // coarse one (a bound on memory; a coarse forget only makes records in flight be ignored).
  static constexpr size_t kRememberedForgets = 4096;

  static std::string WorkerKey(const std::string& pool_id, const std::string& worker_id) {
    return pool_id + '/' + worker_id;
  }
  // A coarse forget: every record read before now is ignored.
  void ForgetEveryRecordInFlightLocked();

  mutable std::mutex mu_;
  std::unordered_map<std::string, PoolKnown> pools_;  // guarded by mu_
  uint64_t generation_ = 0;                           // guarded by mu_: moves with every forget
  // Guarded by mu_: the generation of each worker's last forget since the last coarse one,
  // and the generation of that coarse one (ForgetPool, ForgetAll, or too many to remember).
  std::unordered_map<std::string, uint64_t> forgotten_;
  uint64_t coarse_generation_ = 0;
};

}  // namespace line
