// The Tx primitives over one SQLite connection. The caller (writer thread or reader pool)
// opens and ends the transaction; a SqliteTx only runs statements inside it.
//
// Thread-safety: not thread-safe; used by one thread for one body, like its connection.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/store.h"

namespace line::sqlite {

class SqliteTx final : public Tx {
 public:
  // Write primitives fail with kInternal when `conn` is a read-only connection.
  explicit SqliteTx(Connection& conn) : conn_(conn) {}

  // The connection underneath, for SQLite-only diagnostics (pragmas) in tests.
  Connection& connection() { return conn_; }

  // --- Pools ---
  Result<std::optional<Pool>> GetPool(std::string_view pool_id) override;
  Status InsertPool(const Pool& pool) override;
  Status MarkPoolDisbanded(std::string_view pool_id, TimeMs at) override;
  Result<std::vector<Pool>> ListPools(std::string_view after_pool_id, int64_t limit) override;
  Result<std::vector<std::string>> PoolsDisbandedBy(TimeMs cutoff, int64_t limit) override;
  Status DeletePool(std::string_view pool_id) override;
  Result<PoolCounts> CountPool(std::string_view pool_id, TimeMs now) override;

  // --- Workers ---
  Result<std::optional<Worker>> GetWorker(std::string_view pool_id,
                                          std::string_view worker_id) override;
  Status InsertWorker(const Worker& worker) override;
  Result<bool> RenewWorker(std::string_view pool_id, std::string_view worker_id,
                           TimeMs alive_at, TimeMs ttl) override;
  Result<bool> SetWorkerDraining(std::string_view pool_id, std::string_view worker_id) override;
  Status DeleteWorker(std::string_view pool_id, std::string_view worker_id) override;
  Result<std::vector<Worker>> ListWorkers(std::string_view pool_id,
                                          std::string_view after_worker_id, int64_t limit) override;
  Result<std::vector<Worker>> CandidateWorkers(std::string_view pool_id, TimeMs now) override;
  Result<std::vector<Worker>> WorkersExpiredBy(TimeMs now, int64_t limit) override;
  Result<bool> ClaimCapacity(std::string_view pool_id, std::string_view worker_id, int64_t size,
                             TimeMs now) override;
  Result<bool> ReleaseCapacity(std::string_view pool_id, std::string_view worker_id,
                               int64_t size) override;

  // --- Replicas ---
  Status UpsertReplica(const Replica& replica) override;
  Result<bool> RenewReplica(const Replica& replica, TimeMs alive_at) override;
  Result<std::vector<std::string>> WorkerDatasets(std::string_view pool_id,
                                                  std::string_view worker_id, TimeMs now) override;
  Result<std::vector<Replica>> PoolReplicas(std::string_view pool_id, TimeMs now) override;
  Result<int64_t> DeleteReplicasExpiredBy(TimeMs now) override;

  // --- Evals ---
  Status InsertEval(Eval& eval) override;
  Result<std::optional<Eval>> GetEval(std::string_view pool_id, std::string_view eval_id) override;
  Result<std::optional<Eval>> FindEvalByKey(std::string_view pool_id,
                                            std::string_view idempotency_key) override;
  Result<bool> UpdateEval(const Eval& eval, EvalState expected) override;
  Result<std::vector<Eval>> ListEvals(std::string_view pool_id, std::optional<EvalState> state,
                                      int64_t after_seq, int64_t limit) override;
  Result<std::vector<Eval>> PendingEvals(std::string_view pool_id, int64_t max_size,
                                         int64_t after_seq, int64_t limit) override;

  // --- Allocs ---
  Status InsertAlloc(Alloc& alloc) override;
  Result<std::optional<Alloc>> GetAlloc(std::string_view pool_id,
                                        std::string_view alloc_id) override;
  Result<bool> EndAlloc(std::string_view pool_id, std::string_view alloc_id, AllocState state,
                        std::string_view reason, TimeMs now) override;
  Result<std::vector<std::string>> RenewAllocs(std::string_view pool_id, std::string_view worker_id,
                                               const std::vector<std::string>& alloc_ids,
                                               TimeMs ttl) override;
  Result<std::vector<Alloc>> LiveAllocsOfWorker(std::string_view pool_id,
                                                std::string_view worker_id) override;
  Result<std::vector<Alloc>> AllocsExpiredBy(TimeMs now, int64_t limit) override;
  Result<std::vector<Alloc>> ListAllocs(std::string_view pool_id, std::string_view worker_id,
                                        std::optional<AllocState> state, int64_t after_seq,
                                        int64_t limit) override;
  Result<std::vector<Alloc>> AllocsOfEval(std::string_view pool_id,
                                          std::string_view eval_id) override;
  Result<std::vector<Alloc>> DeliverableAllocs(std::string_view pool_id, std::string_view worker_id,
                                               TimeMs redeliver_by, int64_t limit) override;
  Result<std::vector<std::string>> MarkDelivered(std::string_view pool_id,
                                                 const std::vector<std::string>& alloc_ids,
                                                 TimeMs at, TimeMs redeliver_by) override;
  Result<TimeMs> EarliestUnackedDelivery(std::string_view pool_id,
                                         std::string_view worker_id) override;

  // --- Start-up ---
  Status ExtendDeadlines(TimeMs now, int64_t worker_ttl_ms, int64_t replica_ttl_ms) override;

 private:
  // kInternal naming `primitive` when this Tx reads through a read-only connection; a body
  // that writes inside Store::Read is a bug, and must not reach SQLite's own refusal.
  Status CheckWritable(const char* primitive) const;
  // Runs the write statement `query` and reports whether it changed a row.
  static Result<bool> RunChanged(Query& query);

  Connection& conn_;
};

}  // namespace line::sqlite
