// PgCluster: a lined node's part in a cluster of nodes sharing one PostgreSQL database.
//
// One thread owns one extra connection (the coordination connection) and on it:
// - registers the node in line_nodes (node id, LINE_LISTEN, backend pid);
// - holds the leases as session advisory locks: one per pool it schedules and, on one node,
//   the expiry lease. PostgreSQL drops them when the connection dies, which is how another
//   node takes over from a dead one;
// - LISTENs on the database's channel and sends the NOTIFYs others need: "a pool changed"
//   (its owner schedules it) and "allocs committed for worker W" (long-polls on any node).
// Every tick (500 ms, sooner when a message names a pool nobody owns) it re-reads the pools,
// the live nodes and the lease holders, and takes or hands over leases (lease_plan.h).
//
// Losing the connection means owning nothing, at once; the thread reconnects with the
// store's backoff (at most 5 s) and starts over. See docs/decisions/0005-many-nodes.md.
//
// Thread-safety: thread-safe; events run on the cluster thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/cluster.h"
#include "store/postgres/pg_connector.h"

namespace line {

class PgCluster final : public Cluster {
 public:
  static constexpr int64_t kTickMs = 500;
  // Nobody proved to be sweeping for this long: the next expiry holder grants a full TTL.
  static constexpr int64_t kExpiryGapMs = 3000;
  // Every this many ticks the owner re-reads its pools from the store, in case a message was
  // lost while the connection was down.
  static constexpr int kResyncTicks = 10;

  PgCluster(std::string url, std::string listen, Clock* clock);
  ~PgCluster() override;

  Status Start(Events events) override;
  void Stop() override;

  bool OwnsPool(const std::string& pool_id) const override;
  bool OwnsExpiry() const override;
  std::string OwnerOf(const std::string& pool_id) const override;
  bool ExtendDeadlinesAtStart() const override { return false; }
  Status Health() const override;

  void PoolChanged(const std::string& pool_id, bool capacity_changed) override;
  void AllocsCommitted(const std::vector<std::string>& waiter_keys) override;

  const std::string& node_id() const { return node_id_; }

 private:
  void Loop();
  // Opens the connection, registers the node and LISTENs. False while the store is away.
  bool Connect();
  // Forgets the connection and every lease, telling the node what it lost.
  void Disconnect(const std::string& why);
  Status Tick(bool resync);
  Status TakeExpiryLease();
  Status SendOutgoing();
  // Reads what arrived on the socket and dispatches notifications. False: connection lost.
  bool Receive();
  void Dispatch(const std::string& payload);
  // Waits for the socket, a wake-up (outgoing messages, Stop) or `timeout_ms`.
  void WaitForActivity(int64_t timeout_ms);
  void Poke();

  const std::string listen_;
  Clock* const clock_;
  const std::string node_id_;
  postgres::PgConnector connector_;
  Events events_;

  // The cluster thread's own.
  std::unique_ptr<postgres::PgConnection> conn_;
  std::string channel_;      // per database and schema: line_<hex>
  uint32_t lock_class_ = 0;  // first advisory-lock key, per schema
  // lock_class_ as the int4 text parameter the advisory-lock functions take.
  std::string LockClassParam() const;
  std::map<uint32_t, int> unowned_ticks_;
  std::set<uint32_t> held_keys_;

  mutable std::mutex mu_;
  std::set<uint32_t> owned_keys_;                    // guarded by mu_
  std::map<uint32_t, std::string> owner_listen_;     // guarded by mu_: key -> listen, others'
  bool owns_expiry_ = false;                         // guarded by mu_
  bool connected_ = false;                           // guarded by mu_
  std::set<std::string> outgoing_;                   // guarded by mu_: payloads to NOTIFY
  bool tick_soon_ = false;                           // guarded by mu_
  bool stopping_ = false;                            // guarded by mu_

  int wake_fd_ = -1;  // eventfd: Poke() makes the thread look at the queue
  std::thread thread_;
};

}  // namespace line
