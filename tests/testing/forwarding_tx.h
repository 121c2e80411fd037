// ForwardingTx: a Tx that hands every primitive to another one. Tests derive from it to change
// one primitive (fault injection) and keep the rest. PlaceEvals and InsertEvals are left to
// Tx's defaults, which call the primitives below, overrides included.
#pragma once

#include "store/store.h"

namespace line::testing {

class ForwardingTx : public Tx {
 public:
  explicit ForwardingTx(Tx& inner) : inner_(inner) {}

  Result<std::optional<Pool>> GetPool(std::string_view pool_id) override {
    return inner_.GetPool(pool_id);
  }
  Status InsertPool(const Pool& pool) override {
    return inner_.InsertPool(pool);
  }
  Status MarkPoolDisbanded(std::string_view pool_id, TimeMs at) override {
    return inner_.MarkPoolDisbanded(pool_id, at);
  }
  Result<std::vector<Pool>> ListPools(std::string_view after_pool_id, int64_t limit) override {
    return inner_.ListPools(after_pool_id, limit);
  }
  Result<std::vector<std::string>> PoolsDisbandedBy(TimeMs cutoff, int64_t limit) override {
    return inner_.PoolsDisbandedBy(cutoff, limit);
  }
  Status DeletePool(std::string_view pool_id) override {
    return inner_.DeletePool(pool_id);
  }
  Result<PoolCounts> CountPool(std::string_view pool_id, TimeMs now) override {
    return inner_.CountPool(pool_id, now);
  }
  Result<std::optional<Worker>> GetWorker(std::string_view pool_id, std::string_view worker_id) override {
    return inner_.GetWorker(pool_id, worker_id);
  }
  Status InsertWorker(const Worker& worker) override {
    return inner_.InsertWorker(worker);
  }
  Result<bool> RenewWorker(std::string_view pool_id, std::string_view worker_id, TimeMs alive_at, TimeMs ttl) override {
    return inner_.RenewWorker(pool_id, worker_id, alive_at, ttl);
  }
  Result<bool> SetWorkerDraining(std::string_view pool_id, std::string_view worker_id) override {
    return inner_.SetWorkerDraining(pool_id, worker_id);
  }
  Status DeleteWorker(std::string_view pool_id, std::string_view worker_id) override {
    return inner_.DeleteWorker(pool_id, worker_id);
  }
  Result<std::vector<Worker>> ListWorkers(std::string_view pool_id, std::string_view after_worker_id, int64_t limit) override {
    return inner_.ListWorkers(pool_id, after_worker_id, limit);
  }
  Result<std::vector<Worker>> CandidateWorkers(std::string_view pool_id, TimeMs now) override {
    return inner_.CandidateWorkers(pool_id, now);
  }
  Result<std::vector<Worker>> WorkersExpiredBy(TimeMs now, int64_t limit) override {
    return inner_.WorkersExpiredBy(now, limit);
  }
  Result<bool> ClaimCapacity(std::string_view pool_id, std::string_view worker_id, int64_t size, TimeMs now) override {
    return inner_.ClaimCapacity(pool_id, worker_id, size, now);
  }
  Result<bool> ReleaseCapacity(std::string_view pool_id, std::string_view worker_id, int64_t size) override {
    return inner_.ReleaseCapacity(pool_id, worker_id, size);
  }
  Status UpsertReplica(const Replica& replica) override {
    return inner_.UpsertReplica(replica);
  }
  Result<bool> RenewReplica(const Replica& replica, TimeMs alive_at) override {
    return inner_.RenewReplica(replica, alive_at);
  }
  Result<std::vector<std::string>> WorkerDatasets(std::string_view pool_id, std::string_view worker_id, TimeMs now) override {
    return inner_.WorkerDatasets(pool_id, worker_id, now);
  }
  Result<std::vector<Replica>> PoolReplicas(std::string_view pool_id, TimeMs now) override {
    return inner_.PoolReplicas(pool_id, now);
  }
  Result<int64_t> DeleteReplicasExpiredBy(TimeMs now) override {
    return inner_.DeleteReplicasExpiredBy(now);
  }
  Status InsertEval(Eval& eval) override {
    return inner_.InsertEval(eval);
  }
  Result<std::optional<Eval>> GetEval(std::string_view pool_id, std::string_view eval_id) override {
    return inner_.GetEval(pool_id, eval_id);
  }
  Result<std::optional<Eval>> FindEvalByKey(std::string_view pool_id, std::string_view idempotency_key) override {
    return inner_.FindEvalByKey(pool_id, idempotency_key);
  }
  Result<bool> UpdateEval(const Eval& eval, EvalState expected) override {
    return inner_.UpdateEval(eval, expected);
  }
  Result<std::vector<Eval>> ListEvals(std::string_view pool_id, std::optional<EvalState> state, int64_t after_seq, int64_t limit) override {
    return inner_.ListEvals(pool_id, state, after_seq, limit);
  }
  Result<std::vector<Eval>> PendingEvals(std::string_view pool_id, int64_t max_size, int64_t after_seq, int64_t limit) override {
    return inner_.PendingEvals(pool_id, max_size, after_seq, limit);
  }
  Status InsertAlloc(Alloc& alloc) override {
    return inner_.InsertAlloc(alloc);
  }
  Result<std::optional<Alloc>> GetAlloc(std::string_view pool_id, std::string_view alloc_id) override {
    return inner_.GetAlloc(pool_id, alloc_id);
  }
  Result<bool> EndAlloc(std::string_view pool_id, std::string_view alloc_id, AllocState state, std::string_view reason, TimeMs now) override {
    return inner_.EndAlloc(pool_id, alloc_id, state, reason, now);
  }
  Result<std::vector<std::string>> RenewAllocs(std::string_view pool_id, std::string_view worker_id, const std::vector<std::string>& alloc_ids, TimeMs ttl) override {
    return inner_.RenewAllocs(pool_id, worker_id, alloc_ids, ttl);
  }
  Result<std::vector<Alloc>> LiveAllocsOfWorker(std::string_view pool_id, std::string_view worker_id) override {
    return inner_.LiveAllocsOfWorker(pool_id, worker_id);
  }
  Result<std::vector<Alloc>> AllocsExpiredBy(TimeMs now, int64_t limit) override {
    return inner_.AllocsExpiredBy(now, limit);
  }
  Result<std::vector<Alloc>> ListAllocs(std::string_view pool_id, std::string_view worker_id, std::optional<AllocState> state, int64_t after_seq, int64_t limit) override {
    return inner_.ListAllocs(pool_id, worker_id, state, after_seq, limit);
  }
  Result<std::vector<Alloc>> AllocsOfEval(std::string_view pool_id, std::string_view eval_id) override {
    return inner_.AllocsOfEval(pool_id, eval_id);
  }
  Result<std::vector<Alloc>> DeliverableAllocs(std::string_view pool_id, std::string_view worker_id, TimeMs redeliver_by, int64_t limit) override {
    return inner_.DeliverableAllocs(pool_id, worker_id, redeliver_by, limit);
  }
  Result<std::vector<std::string>> MarkDelivered(std::string_view pool_id, const std::vector<std::string>& alloc_ids, TimeMs at, TimeMs redeliver_by) override {
    return inner_.MarkDelivered(pool_id, alloc_ids, at, redeliver_by);
  }
  Result<TimeMs> EarliestUnackedDelivery(std::string_view pool_id, std::string_view worker_id) override {
    return inner_.EarliestUnackedDelivery(pool_id, worker_id);
  }
  Status ExtendDeadlines(TimeMs now, int64_t worker_ttl_ms, int64_t replica_ttl_ms) override {
    return inner_.ExtendDeadlines(now, worker_ttl_ms, replica_ttl_ms);
  }

 protected:
  Tx& inner_;
};

}  // namespace line::testing
