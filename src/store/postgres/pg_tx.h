// The Tx primitives over one PostgreSQL connection. The caller (writer thread or reader pool)
// opens and ends the transaction; a PostgresTx only runs statements inside it.
//
// Thread-safety: not thread-safe; used by one thread for one body, like its connection.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace line::postgres {

class PostgresTx final : public Tx {
 public:
  // With `read_only`, write primitives fail with kInternal before reaching the server (whose
  // own refusal would abort the whole read transaction).
  PostgresTx(PgConnection& conn, bool read_only) : conn_(conn), read_only_(read_only) {}

  // The connection underneath, for PostgreSQL-only diagnostics in tests.
  PgConnection& connection() { return conn_; }

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

  // Four statements for the whole round instead of three per placement (pg_tx_place.cc).
  Result<std::vector<bool>> PlaceEvals(std::vector<Placement>& placements, TimeMs now) override;
  Status InsertEvals(std::vector<Eval>& evals) override;

  // Write primitives called so far (each passes CheckWritable first), whatever they changed:
  // zero means the body wrote nothing (PgCommitSteps::FailedBodyLeftNoTrace).
  int64_t write_calls() const { return write_calls_; }

 private:
  // kInternal naming `primitive` when this Tx belongs to a read transaction. Counts the call.
  Status CheckWritable(const char* primitive) const;
  // Runs the write statement `id` and reports whether it changed a row.
  Result<bool> RunChanged(PgSql id, const PgParams& params);

  PgConnection& conn_;
  const bool read_only_;
  mutable int64_t write_calls_ = 0;
};

}  // namespace line::postgres
