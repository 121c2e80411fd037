// Engine: one scheduler instance over a store: the Service, the pool scheduler, the expiry
// sweeper and the long-poll waiters, wired so that every commit wakes what it should, here
// and, through the Cluster, on the other nodes sharing the store.
// lined owns one; tests own one over a ManualClock and drive it by hand.
//
// Thread-safe after Start(). Does not own the store.
#pragma once

#include <memory>

#include "common/clock.h"
#include "config/options.h"
#include "ops/alloc_waiters.h"
#include "ops/line_service.h"
#include "scheduler/scheduler.h"
#include "scheduler/sweeper.h"
#include "store/store.h"

namespace line {

class Engine {
 public:
  // `cluster` null: this node is alone on its store (SoloCluster).
  Engine(Store* store, Clock* clock, Options options, std::unique_ptr<Cluster> cluster = nullptr);
  ~Engine();

  // Joins the cluster, gives everything a full TTL from now when this node is the whole
  // cluster (an outage or restart must not expire everyone; with several nodes the expiry
  // lease decides that), starts the scheduler and long-poll threads, wakes every pool so evals
  // pending before a restart get placed, and starts the sweeper thread unless
  // `sweeper_thread` is false (tests on a ManualClock call SweepNow() instead).
  Status Start(bool sweeper_thread = true);
  // Stops the threads; parked long-polls answer with what they have.
  void Stop();

  Service& service() { return *service_; }
  Scheduler& scheduler() { return *scheduler_; }
  Sweeper& sweeper() { return *sweeper_; }
  AllocWaiters& waiters() { return *waiters_; }
  Cluster& cluster() { return *cluster_; }
  SnapshotCache& snapshot_cache() { return cache_; }

  // One expiry sweep now, its wake-ups applied. For tests on a ManualClock.
  Result<SweepReport> SweepNow();

 private:
  void AfterSweep(const SweepReport& report);
  Cluster::Events ClusterEvents();

  Store* const store_;
  Clock* const clock_;
  const Options options_;
  std::unique_ptr<Cluster> cluster_;
  SnapshotCache cache_;
  std::unique_ptr<AllocWaiters> waiters_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Sweeper> sweeper_;
  std::unique_ptr<LineService> service_;
};

}  // namespace line
