#include "store/sqlite/rows.h"

#include <string>

namespace line::sqlite {

namespace {
// A stored name this build cannot parse means the file was written by something else: a bug,
// not an outage.
Status BadName(const char* column, const std::string& value) {
  return Status::Internal("sqlite: unknown " + std::string(column) + " '" + value + "'");
}
}  // namespace

Result<Pool> ReadPool(const Query& row) {
  Pool pool;
  pool.pool_id = row.Text(0);
  std::string placement = row.Text(1);
  std::optional<PlacementPolicy> parsed = ParsePlacement(placement);
  if (!parsed) return BadName("placement", placement);
  pool.placement = *parsed;
  pool.max_retry = row.Int(2);
  pool.alloc_ttl_s = row.Int(3);
  pool.disbanded = row.Bool(4);
  pool.disbanded_at = row.Int(5);
  pool.created_at = row.Int(6);
  return pool;
}

Result<Worker> ReadWorker(const Query& row) {
  Worker worker;
  worker.pool_id = row.Text(0);
  worker.worker_id = row.Text(1);
  worker.capacity = row.Int(2);
  worker.free = row.Int(3);
  worker.ttl = row.Int(4);
  worker.draining = row.Bool(5);
  worker.registered_at = row.Int(6);
  return worker;
}

Result<Replica> ReadReplica(const Query& row) {
  Replica replica;
  replica.pool_id = row.Text(0);
  replica.dataset_id = row.Text(1);
  replica.worker_id = row.Text(2);
  replica.ttl = row.Int(3);
  return replica;
}

Result<Eval> ReadEval(const Query& row) {
  Eval eval;
  eval.pool_id = row.Text(0);
  eval.eval_id = row.Text(1);
  eval.seq = row.Int(2);
  std::string state = row.Text(3);
  std::optional<EvalState> parsed = ParseEvalState(state);
  if (!parsed) return BadName("eval state", state);
  eval.state = *parsed;
  eval.dataset_id = row.Text(4);
  eval.size = row.Int(5);
  eval.payload = row.Text(6);
  eval.attempt = row.Int(7);
  eval.alloc_id = row.Text(8);
  eval.worker_id = row.Text(9);
  eval.exit_code = row.OptionalInt(10);
  eval.result = row.Text(11);
  eval.idempotency_key = row.Text(12);  // NULL reads as ""
  eval.dead_reason = row.Text(13);
  eval.created_at = row.Int(14);
  return eval;
}

Result<Alloc> ReadAlloc(const Query& row) {
  Alloc alloc;
  alloc.pool_id = row.Text(0);
  alloc.alloc_id = row.Text(1);
  alloc.worker_id = row.Text(2);
  alloc.eval_id = row.Text(3);
  alloc.dataset_id = row.Text(4);
  alloc.size = row.Int(5);
  alloc.attempt = row.Int(6);
  alloc.locality = row.Bool(7);
  std::string state = row.Text(8);
  std::optional<AllocState> parsed = ParseAllocState(state);
  if (!parsed) return BadName("alloc state", state);
  alloc.state = *parsed;
  alloc.ttl = row.Int(9);
  alloc.created_at = row.Int(10);
  alloc.delivered_at = row.Int(11);
  alloc.acked = row.Bool(12);
  alloc.ended_at = row.Int(13);
  alloc.end_reason = row.Text(14);
  alloc.seq = row.Int(15);
  return alloc;
}

}  // namespace line::sqlite
