// Cluster: how one lined node shares the scheduling of a store with the other nodes on it.
//
// On the embedded store there is one node and it does everything (SoloCluster). On PostgreSQL
// several nodes share one database (PgCluster, src/store/postgres/pg_cluster.h): each pool is
// scheduled by the node holding its lease, expiry runs on the node holding the expiry lease,
// and nodes tell each other about commits that should wake a pool's owner or a parked
// long-poll. Everything here is a hint on top of the store's conditional writes, which alone
// keep the invariants: a mistaken second owner loses its conflicting claims, a lost message
// delays work, never corrupts it. See docs/decisions/0005-many-nodes.md.
//
// Thread-safety: every method is thread-safe. Events are called on the cluster's own thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace line {

class Cluster {
 public:
  // What the cluster tells its node. Any of them may be null.
  struct Events {
    // Another node committed something that may let the pool's evals be placed: evals
    // arrived (`capacity_changed` false: just schedule it if owned) or workers' capacity
    // changed (true: also forget the capacity cached for it).
    std::function<void(const std::string& pool_id, bool capacity_changed)> pool_changed;
    // This node now schedules the pool (it was nobody's, or its owner died or handed it over).
    std::function<void(const std::string& pool_id)> pool_gained;
    // This node no longer schedules the pool; "" means every pool (the connection was lost).
    std::function<void(const std::string& pool_id)> pool_lost;
    // Another node committed allocs for this long-poll key (AllocWaiters::Key).
    std::function<void(const std::string& waiter_key)> allocs_committed;
    // This node took the expiry lease after nobody swept for a while: every node was down or
    // the store was, so heartbeats may have been impossible. Give everyone a full TTL first.
    std::function<void()> expiry_resumed_after_gap;
  };

  virtual ~Cluster() = default;

  virtual Status Start(Events events) = 0;
  virtual void Stop() = 0;

  // Whether this node should schedule the pool now.
  virtual bool OwnsPool(const std::string& pool_id) const = 0;
  // Whether this node should run the expiry sweeps now.
  virtual bool OwnsExpiry() const = 0;
  // The listen address of the node scheduling the pool, "" when nobody does at the moment.
  virtual std::string OwnerOf(const std::string& pool_id) const = 0;
  // Whether a node starting up should give everyone a full TTL (it is the whole cluster).
  virtual bool ExtendDeadlinesAtStart() const = 0;
  // OK while the node can take part (its coordination connection works).
  virtual Status Health() const = 0;
  // Whether this node alone serves its store, so that what it keeps in memory about the
  // store's rows (a long-poll's fresh deliveries, ops/delivery_ledger.h) is all there is.
  virtual bool Alone() const { return false; }

  // After a durable commit: tell the pool's owner (if it is another node) to look again, and
  // whether the commit changed capacity (then its cached snapshot is stale).
  virtual void PoolChanged(const std::string& pool_id, bool capacity_changed) = 0;
  // After a durable commit that created allocs: wake long-polls for these keys on every node.
  virtual void AllocsCommitted(const std::vector<std::string>& waiter_keys) = 0;
};

// The one node of an embedded store: owns every pool and the expiry, tells nobody anything.
class SoloCluster final : public Cluster {
 public:
  explicit SoloCluster(std::string listen) : listen_(std::move(listen)) {}

  Status Start(Events) override { return Status::Ok(); }
  void Stop() override {}
  bool OwnsPool(const std::string&) const override { return true; }
  bool OwnsExpiry() const override { return true; }
  std::string OwnerOf(const std::string&) const override { return listen_; }
  bool ExtendDeadlinesAtStart() const override { return true; }
  Status Health() const override { return Status::Ok(); }
  bool Alone() const override { return true; }
  void PoolChanged(const std::string&, bool) override {}
  void AllocsCommitted(const std::vector<std::string>&) override {}

 private:
  const std::string listen_;
};

// The cluster a node on `store_url` takes part in: SoloCluster for the embedded store,
// PgCluster for PostgreSQL. `listen` is the node's LINE_LISTEN, shown as pool owner.
Result<std::unique_ptr<Cluster>> OpenCluster(const std::string& store_url,
                                             const std::string& listen, Clock* clock);

}  // namespace line
