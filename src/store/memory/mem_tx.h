// MemTx: the Tx primitives over MemTables, with the semantics of the SQL stores' statements
// (the store conformance suite is their specification). A writable MemTx changes the tables
// through their journalling mutators; a read-only one refuses every write.
//
// Thread-safety: used by one thread, under the store's lock (shared to read, exclusive to
// write), for the duration of one body.
#pragma once

#include "store/memory/mem_tables.h"
#include "store/store.h"

namespace line::memory {

// Whether a page of rows has reached its limit.
inline bool Full(const auto& rows, int64_t limit) {
  return static_cast<int64_t>(rows.size()) >= limit;
}

class MemTx final : public Tx {
 public:
  MemTx(MemTables& tables, bool writable) : tables_(tables), writable_(writable) {}

  Result<std::optional<Pool>> GetPool(std::string_view pool_id) override;
  Status InsertPool(const Pool& pool) override;
  Status MarkPoolDisbanded(std::string_view pool_id, TimeMs at) override;
  Result<std::vector<Pool>> ListPools(std::string_view after_pool_id, int64_t limit) override;
  Result<std::vector<std::string>> PoolsDisbandedBy(TimeMs cutoff, int64_t limit) override;
  Status DeletePool(std::string_view pool_id) override;
  Result<PoolCounts> CountPool(std::string_view pool_id, TimeMs now) override;

  Result<std::optional<Worker>> GetWorker(std::string_view pool_id,
                                          std::string_view worker_id) override;
  Status InsertWorker(const Worker& worker) override;
  Result<bool> RenewWorker(std::string_view pool_id, std::string_view worker_id, TimeMs alive_at,
                           TimeMs ttl) override;
  Result<bool> SetWorkerDraining(std::string_view pool_id, std::string_view worker_id) override;
  Status DeleteWorker(std::string_view pool_id, std::string_view worker_id) override;
  Result<std::vector<Worker>> ListWorkers(std::string_view pool_id,
                                          std::string_view after_worker_id,
                                          int64_t limit) override;
  Result<std::vector<Worker>> CandidateWorkers(std::string_view pool_id, TimeMs now) override;
  Result<std::vector<Worker>> WorkersExpiredBy(TimeMs now, int64_t limit) override;
  Result<bool> ClaimCapacity(std::string_view pool_id, std::string_view worker_id, int64_t size,
                             TimeMs now) override;
  Result<bool> ReleaseCapacity(std::string_view pool_id, std::string_view worker_id,
                               int64_t size) override;

  Status UpsertReplica(const Replica& replica) override;
  Result<bool> RenewReplica(const Replica& replica, TimeMs alive_at) override;
  Result<std::vector<std::string>> WorkerDatasets(std::string_view pool_id,
                                                  std::string_view worker_id,
                                                  TimeMs now) override;
  Result<std::vector<Replica>> PoolReplicas(std::string_view pool_id, TimeMs now) override;
  Result<int64_t> DeleteReplicasExpiredBy(TimeMs now) override;

  Status InsertEval(Eval& eval) override;
  Result<std::optional<Eval>> GetEval(std::string_view pool_id,
                                      std::string_view eval_id) override;
  Result<std::optional<Eval>> FindEvalByKey(std::string_view pool_id,
                                            std::string_view idempotency_key) override;
  Result<bool> UpdateEval(const Eval& eval, EvalState expected) override;
  Result<std::vector<Eval>> ListEvals(std::string_view pool_id, std::optional<EvalState> state,
                                      int64_t after_seq, int64_t limit) override;
  Result<std::vector<Eval>> PendingEvals(std::string_view pool_id, int64_t max_size,
                                         int64_t after_seq, int64_t limit) override;

  Status InsertAlloc(Alloc& alloc) override;
  Result<std::optional<Alloc>> GetAlloc(std::string_view pool_id,
                                        std::string_view alloc_id) override;
  Result<bool> EndAlloc(std::string_view pool_id, std::string_view alloc_id, AllocState state,
                        std::string_view reason, TimeMs now) override;
  Result<std::vector<std::string>> RenewAllocs(std::string_view pool_id,
                                               std::string_view worker_id,
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
  Result<std::vector<Alloc>> DeliverableAllocs(std::string_view pool_id,
                                               std::string_view worker_id, TimeMs redeliver_by,
                                               int64_t limit) override;
  Result<std::vector<std::string>> MarkDelivered(std::string_view pool_id,
                                                 const std::vector<std::string>& alloc_ids,
                                                 TimeMs at, TimeMs redeliver_by) override;
  Result<TimeMs> EarliestUnackedDelivery(std::string_view pool_id,
                                         std::string_view worker_id) override;

  Status ExtendDeadlines(TimeMs now, int64_t worker_ttl_ms, int64_t replica_ttl_ms) override;

 private:
  // kInternal naming the primitive when this is a read transaction.
  Status CheckWritable(const char* primitive) const;
  const Worker* FindWorker(std::string_view pool_id, std::string_view worker_id) const;
  const Alloc* FindAlloc(std::string_view pool_id, std::string_view alloc_id) const;

  MemTables& tables_;
  const bool writable_;
};

}  // namespace line::memory
