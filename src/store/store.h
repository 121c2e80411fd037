// The Store: line's only door to durable state. Everything above it speaks in Tx primitives
// (rows, conditional writes, indexed queries); only implementations under store/ speak SQL.
//
// Thread-safety: a Store is thread-safe. A Tx is used by one thread for the duration of the
// body it was handed to, and never after.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "model/model.h"

namespace line {

// Aggregates for DescribePool, computed inside one snapshot.
struct PoolCounts {
  int64_t workers = 0;        // registered workers, live or not yet swept
  int64_t capacity = 0;       // sum of their capacity
  int64_t free = 0;           // sum of their free capacity
  int64_t pending_evals = 0;  // evals in state pending
  int64_t blocked_evals = 0;  // pending evals larger than every candidate's free capacity
  int64_t live_allocs = 0;
  int64_t dead_letters = 0;   // evals in state dead
};

// One eval the scheduler places, as Tx::PlaceEvals commits it.
struct Placement {
  // The eval as the plan read it (state pending): its keys and mutable columns, which are
  // all that placing it and putting it back touch; the payload need not be there.
  Eval pending;
  Alloc alloc;   // the alloc that places it: worker_id, size, ids; seq is set on insert
};

// One transaction. Every method may fail with kStoreUnavailable (the store cannot be reached)
// or kInternal (a bug, such as a constraint violation). Methods documented "conditional"
// return false, and change nothing, when their condition does not hold; that is how a double
// claim or a double release is refused even between processes.
class Tx {
 public:
  virtual ~Tx() = default;

  // --- Pools ---
  virtual Result<std::optional<Pool>> GetPool(std::string_view pool_id) = 0;
  virtual Status InsertPool(const Pool& pool) = 0;
  // A pool already disbanded keeps its first disbanded_at.
  virtual Status MarkPoolDisbanded(std::string_view pool_id, TimeMs at) = 0;
  // Ordered by pool_id, those greater than `after_pool_id` ("" = from the start).
  virtual Result<std::vector<Pool>> ListPools(std::string_view after_pool_id, int64_t limit) = 0;
  // Disbanded pools with disbanded_at <= cutoff.
  virtual Result<std::vector<std::string>> PoolsDisbandedBy(TimeMs cutoff, int64_t limit) = 0;
  // Deletes the pool and every worker, replica, eval and alloc of it.
  virtual Status DeletePool(std::string_view pool_id) = 0;
  // `now` decides which workers are candidates for blocked_evals.
  virtual Result<PoolCounts> CountPool(std::string_view pool_id, TimeMs now) = 0;

  // --- Workers ---
  virtual Result<std::optional<Worker>> GetWorker(std::string_view pool_id,
                                                  std::string_view worker_id) = 0;
  virtual Status InsertWorker(const Worker& worker) = 0;
  // Conditional: if the worker is alive at `alive_at` (ttl > alive_at), moves its ttl to `ttl`,
  // unless it is already that late (a renewal never shortens it, and one that would not move
  // it writes nothing). True if alive; false, changing nothing, if there is no such worker or
  // it has expired.
  virtual Result<bool> RenewWorker(std::string_view pool_id, std::string_view worker_id,
                                   TimeMs alive_at, TimeMs ttl) = 0;
  // False if there is no such worker.
  virtual Result<bool> SetWorkerDraining(std::string_view pool_id,
                                         std::string_view worker_id) = 0;
  // Deletes the worker and its replicas (its allocs stay, for history).
  virtual Status DeleteWorker(std::string_view pool_id, std::string_view worker_id) = 0;
  // Ordered by worker_id, those greater than `after_worker_id`.
  virtual Result<std::vector<Worker>> ListWorkers(std::string_view pool_id,
                                                  std::string_view after_worker_id,
                                                  int64_t limit) = 0;
  // Placement candidates: ttl > now and not draining (any free capacity).
  virtual Result<std::vector<Worker>> CandidateWorkers(std::string_view pool_id, TimeMs now) = 0;
  // Workers of any pool with ttl <= now.
  virtual Result<std::vector<Worker>> WorkersExpiredBy(TimeMs now, int64_t limit) = 0;
  // Conditional: free -= size only if ttl > now, not draining and free >= size.
  virtual Result<bool> ClaimCapacity(std::string_view pool_id, std::string_view worker_id,
                                     int64_t size, TimeMs now) = 0;
  // Conditional: free += size only if the worker exists and free + size <= capacity.
  virtual Result<bool> ReleaseCapacity(std::string_view pool_id, std::string_view worker_id,
                                       int64_t size) = 0;

  // --- Replicas ---
  // Inserts or renews (pool_id, dataset_id, worker_id) with replica.ttl.
  virtual Status UpsertReplica(const Replica& replica) = 0;
  // Conditional: if the replica is held at `alive_at` (ttl > alive_at), moves its ttl to
  // replica.ttl unless it is already that late, as RenewWorker. False, changing nothing, if the
  // worker does not hold it (never did, or it expired).
  virtual Result<bool> RenewReplica(const Replica& replica, TimeMs alive_at) = 0;
  // Dataset ids of the worker's replicas with ttl > now, ordered.
  virtual Result<std::vector<std::string>> WorkerDatasets(std::string_view pool_id,
                                                          std::string_view worker_id,
                                                          TimeMs now) = 0;
  // The pool's replicas with ttl > now.
  virtual Result<std::vector<Replica>> PoolReplicas(std::string_view pool_id, TimeMs now) = 0;
  // Deletes replicas (of any pool) with ttl <= now; returns how many.
  virtual Result<int64_t> DeleteReplicasExpiredBy(TimeMs now) = 0;

  // --- Evals ---
  // Assigns eval.seq (increasing with insertion order across the store).
  virtual Status InsertEval(Eval& eval) = 0;
  // InsertEval for each, in order (seqs increase along the vector). The default inserts one
  // by one; PostgreSQL overrides it with one statement. For new evals without an
  // idempotency key (those with one are looked up first, one by one).
  virtual Status InsertEvals(std::vector<Eval>& evals);
  virtual Result<std::optional<Eval>> GetEval(std::string_view pool_id,
                                              std::string_view eval_id) = 0;
  virtual Result<std::optional<Eval>> FindEvalByKey(std::string_view pool_id,
                                                    std::string_view idempotency_key) = 0;
  // Conditional: overwrites the mutable fields (state, attempt, alloc_id, worker_id, exit_code,
  // result, dead_reason) of the eval named by eval.pool_id/eval.eval_id, only if its stored
  // state is `expected`.
  virtual Result<bool> UpdateEval(const Eval& eval, EvalState expected) = 0;
  // Ordered by seq, those with seq > after_seq; all states when `state` is empty.
  virtual Result<std::vector<Eval>> ListEvals(std::string_view pool_id,
                                              std::optional<EvalState> state, int64_t after_seq,
                                              int64_t limit) = 0;
  // Pending evals with size <= max_size and seq > after_seq, oldest first.
  virtual Result<std::vector<Eval>> PendingEvals(std::string_view pool_id, int64_t max_size,
                                                 int64_t after_seq, int64_t limit) = 0;

  // --- Allocs (each is also its worker's queue entry) ---
  // Assigns alloc.seq.
  virtual Status InsertAlloc(Alloc& alloc) = 0;
  virtual Result<std::optional<Alloc>> GetAlloc(std::string_view pool_id,
                                                std::string_view alloc_id) = 0;
  // Conditional: only a live alloc ends; sets state, ended_at = now, end_reason, acked.
  virtual Result<bool> EndAlloc(std::string_view pool_id, std::string_view alloc_id,
                                AllocState state, std::string_view reason, TimeMs now) = 0;
  // Renews (ttl) and acknowledges those of `alloc_ids` that are live allocs of this worker;
  // returns the ids it renewed.
  virtual Result<std::vector<std::string>> RenewAllocs(std::string_view pool_id,
                                                       std::string_view worker_id,
                                                       const std::vector<std::string>& alloc_ids,
                                                       TimeMs ttl) = 0;
  virtual Result<std::vector<Alloc>> LiveAllocsOfWorker(std::string_view pool_id,
                                                        std::string_view worker_id) = 0;
  // Live allocs of any pool with ttl <= now.
  virtual Result<std::vector<Alloc>> AllocsExpiredBy(TimeMs now, int64_t limit) = 0;
  // Ordered by seq, seq > after_seq; `worker_id` empty = every worker; `state` empty = all.
  virtual Result<std::vector<Alloc>> ListAllocs(std::string_view pool_id,
                                                std::string_view worker_id,
                                                std::optional<AllocState> state,
                                                int64_t after_seq, int64_t limit) = 0;
  // Every alloc ever made for the eval, oldest first (its history).
  virtual Result<std::vector<Alloc>> AllocsOfEval(std::string_view pool_id,
                                                  std::string_view eval_id) = 0;
  // Live, unacknowledged allocs of the worker that were never delivered or were last delivered
  // at or before `redeliver_by`: the never delivered first, oldest first, then the longest
  // unacknowledged. O(log n + limit) however many live allocs the worker has.
  virtual Result<std::vector<Alloc>> DeliverableAllocs(std::string_view pool_id,
                                                       std::string_view worker_id,
                                                       TimeMs redeliver_by, int64_t limit) = 0;
  // Conditional: sets delivered_at = at on those of `alloc_ids` that are still deliverable
  // (live, unacknowledged, never delivered or last delivered at or before `redeliver_by`),
  // and returns their ids. Two polls of one worker on two nodes therefore cannot both take
  // the same alloc inside its visibility timeout.
  virtual Result<std::vector<std::string>> MarkDelivered(std::string_view pool_id,
                                                         const std::vector<std::string>& alloc_ids,
                                                         TimeMs at, TimeMs redeliver_by) = 0;
  // The earliest delivered_at among the worker's live, unacknowledged, delivered allocs; 0 if
  // none. Tells a long-poll when the next redelivery falls due.
  virtual Result<TimeMs> EarliestUnackedDelivery(std::string_view pool_id,
                                                 std::string_view worker_id) = 0;

  // --- Placement ---
  // Commits a scheduling round's placements. For each: conditionally moves the eval from
  // pending to placed (alloc_id and worker_id set), claims its size on its worker
  // (ClaimCapacity's condition), and inserts its alloc (alloc.seq set). A placement whose eval
  // is no longer pending, or whose worker cannot take it, changes nothing; `committed[i]`
  // says whether placement i happened. A store may refuse more than strictly necessary
  // (every placement on a worker that cannot take them all), never less. An alloc may come
  // already delivered (delivered_at set: a long-poll takes it straight from the round).
  // The default runs the single-row primitives above; a store with costly round trips
  // (PostgreSQL) overrides it with set-based statements.
  virtual Result<std::vector<bool>> PlaceEvals(std::vector<Placement>& placements, TimeMs now);

  // --- Start-up ---
  // Gives every worker, replica and live alloc at least one full TTL from `now`: worker ttl
  // >= now + worker_ttl_ms, replica ttl >= now + replica_ttl_ms, alloc ttl >= now + its
  // pool's alloc_ttl.
  virtual Status ExtendDeadlines(TimeMs now, int64_t worker_ttl_ms, int64_t replica_ttl_ms) = 0;
};

// The body of a transaction. Returning an error rolls back the body's own writes only.
using TxBody = std::function<Status(Tx&)>;
// Told the outcome once the transaction is durable (or failed).
using TxDone = std::function<void(Status)>;

class Store {
 public:
  virtual ~Store() = default;

  // Queues a write transaction. `body` runs on the store's writer thread in a group commit
  // shared with whatever else was queued meanwhile; `done` runs on the writer thread after
  // that commit is durable (fsync), or with the error that stopped it. If the body fails,
  // done gets the body's status and the body's writes are rolled back, and only they. A body
  // may run more than once before its single done (the group runs again after another
  // body's failure or a lost race), each time in a fresh transaction: it must not count on
  // effects of an earlier run. `done` must not block; it may queue further writes.
  virtual void Write(TxBody body, TxDone done) = 0;

  // Write() for soft state that the next write re-establishes anyway (heartbeats: TTL
  // renewals, replicas, delivery acks). `done` may run before the commit reaches the disk: a
  // group of lazy bodies only commits without waiting for the fsync, and the next durable
  // commit makes it durable with itself. A process crash loses nothing (the OS has the
  // data); an OS crash or power loss may lose the last lazy commits, which a restart covers
  // by granting everyone a full TTL (docs/decisions/0006-lazy-heartbeats.md). The default is
  // a durable write.
  virtual void WriteLazy(TxBody body, TxDone done) { Write(std::move(body), std::move(done)); }

  // Runs `body` on a consistent read snapshot, on the caller's thread. The body must not write.
  virtual Status Read(const TxBody& body) = 0;

  // OK when the store answers (for /healthz).
  virtual Status Ping() = 0;

  // Commits what is queued, then stops the writer. Later writes fail with kStoreUnavailable.
  virtual void Close() = 0;
};

// Queues `body` and waits for its durable outcome. For tests and start-up, never for a thread
// that serves requests.
Status WriteSync(Store& store, TxBody body);

// Opens the store named by a LINE_STORE value ("sqlite:PATH", or "postgresql://..." and
// "postgres://..."), creating and migrating it.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url);

}  // namespace line
