#include "ops/lookups.h"

namespace line {

Result<Pool> FindPool(Tx& tx, const std::string& pool_id) {
  LINE_ASSIGN_OR_RETURN(std::optional<Pool> pool, tx.GetPool(pool_id));
  if (!pool) return Status(Code::kPoolNotFound, "pool_id " + pool_id + " does not exist");
  return std::move(*pool);
}

Result<Pool> FindActivePool(Tx& tx, const std::string& pool_id) {
  LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, pool_id));
  if (pool.disbanded) return Status(Code::kPoolDisbanded, "pool_id " + pool_id + " is disbanded");
  return pool;
}

Result<Worker> FindLiveWorker(Tx& tx, const std::string& pool_id, const std::string& worker_id,
                              TimeMs now) {
  LINE_ASSIGN_OR_RETURN(std::optional<Worker> worker, tx.GetWorker(pool_id, worker_id));
  if (!worker || worker->ttl <= now) {
    return Status(Code::kWorkerNotFound,
                  "worker_id " + worker_id + " is not registered in pool " + pool_id);
  }
  return std::move(*worker);
}

Result<Eval> FindEval(Tx& tx, const std::string& pool_id, const std::string& eval_id) {
  LINE_ASSIGN_OR_RETURN(std::optional<Eval> eval, tx.GetEval(pool_id, eval_id));
  if (!eval) {
    return Status(Code::kEvalNotFound, "eval_id " + eval_id + " does not exist in pool " + pool_id);
  }
  return std::move(*eval);
}

Result<Alloc> FindAlloc(Tx& tx, const std::string& pool_id, const std::string& alloc_id) {
  LINE_ASSIGN_OR_RETURN(std::optional<Alloc> alloc, tx.GetAlloc(pool_id, alloc_id));
  if (!alloc) {
    return Status(Code::kAllocNotFound,
                  "alloc_id " + alloc_id + " does not exist in pool " + pool_id);
  }
  return std::move(*alloc);
}

}  // namespace line
