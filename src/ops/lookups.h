// Lookups shared by the operations: fetch a row or fail with the SPEC's 404/409.
#pragma once

#include <string>

#include "common/status.h"
#include "model/model.h"
#include "store/store.h"

namespace line {

// The pool, or 404 PoolNotFound.
Result<Pool> FindPool(Tx& tx, const std::string& pool_id);
// The pool if it is not disbanded: 404 PoolNotFound, or 409 PoolDisbanded.
Result<Pool> FindActivePool(Tx& tx, const std::string& pool_id);
// The worker if it is registered and its TTL has not passed, or 404 WorkerNotFound. A worker
// past its TTL is dead even before the sweeper deletes it.
Result<Worker> FindLiveWorker(Tx& tx, const std::string& pool_id, const std::string& worker_id,
                              TimeMs now);
Result<Eval> FindEval(Tx& tx, const std::string& pool_id, const std::string& eval_id);
Result<Alloc> FindAlloc(Tx& tx, const std::string& pool_id, const std::string& alloc_id);

}  // namespace line
