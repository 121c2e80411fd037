#include "store/postgres/pg_rows.h"

#include <string>

namespace line::postgres {

namespace {
// A stored name this build cannot parse means the file was written by something else: a bug,
// not an outage.
Status BadName(const char* column, const std::string& value) {
  return Status::Internal("postgres: unknown " + std::string(column) + " '" + value + "'");
}
}  // namespace

Result<Pool> ReadPool(const PgResult& rows, int row) {
  Pool pool;
  pool.pool_id = rows.Text(row, 0);
  std::string placement = rows.Text(row, 1);
  std::optional<PlacementPolicy> parsed = ParsePlacement(placement);
  if (!parsed) return BadName("placement", placement);
  pool.placement = *parsed;
  pool.max_retry = rows.Int(row, 2);
  pool.alloc_ttl_s = rows.Int(row, 3);
  pool.disbanded = rows.Bool(row, 4);
  pool.disbanded_at = rows.Int(row, 5);
  pool.created_at = rows.Int(row, 6);
  return pool;
}

Result<Worker> ReadWorker(const PgResult& rows, int row) {
  Worker worker;
  worker.pool_id = rows.Text(row, 0);
  worker.worker_id = rows.Text(row, 1);
  worker.capacity = rows.Int(row, 2);
  worker.free = rows.Int(row, 3);
  worker.ttl = rows.Int(row, 4);
  worker.draining = rows.Bool(row, 5);
  worker.registered_at = rows.Int(row, 6);
  return worker;
}

Result<Replica> ReadReplica(const PgResult& rows, int row) {
  Replica replica;
  replica.pool_id = rows.Text(row, 0);
  replica.dataset_id = rows.Text(row, 1);
  replica.worker_id = rows.Text(row, 2);
  replica.ttl = rows.Int(row, 3);
  return replica;
}

Result<Eval> ReadEval(const PgResult& rows, int row) {
  Eval eval;
  eval.pool_id = rows.Text(row, 0);
  eval.eval_id = rows.Text(row, 1);
  eval.seq = rows.Int(row, 2);
  std::string state = rows.Text(row, 3);
  std::optional<EvalState> parsed = ParseEvalState(state);
  if (!parsed) return BadName("eval state", state);
  eval.state = *parsed;
  eval.dataset_id = rows.Text(row, 4);
  eval.size = rows.Int(row, 5);
  eval.payload = rows.Text(row, 6);
  eval.attempt = rows.Int(row, 7);
  eval.alloc_id = rows.Text(row, 8);
  eval.worker_id = rows.Text(row, 9);
  eval.exit_code = rows.OptionalInt(row, 10);
  eval.result = rows.Text(row, 11);
  eval.idempotency_key = rows.Text(row, 12);  // NULL reads as ""
  eval.dead_reason = rows.Text(row, 13);
  eval.created_at = rows.Int(row, 14);
  return eval;
}

Result<Alloc> ReadAlloc(const PgResult& rows, int row) {
  Alloc alloc;
  alloc.pool_id = rows.Text(row, 0);
  alloc.alloc_id = rows.Text(row, 1);
  alloc.worker_id = rows.Text(row, 2);
  alloc.eval_id = rows.Text(row, 3);
  alloc.dataset_id = rows.Text(row, 4);
  alloc.size = rows.Int(row, 5);
  alloc.attempt = rows.Int(row, 6);
  alloc.locality = rows.Bool(row, 7);
  std::string state = rows.Text(row, 8);
  std::optional<AllocState> parsed = ParseAllocState(state);
  if (!parsed) return BadName("alloc state", state);
  alloc.state = *parsed;
  alloc.ttl = rows.Int(row, 9);
  alloc.created_at = rows.Int(row, 10);
  alloc.delivered_at = rows.Int(row, 11);
  alloc.acked = rows.Bool(row, 12);
  alloc.ended_at = rows.Int(row, 13);
  alloc.end_reason = rows.Text(row, 14);
  alloc.seq = rows.Int(row, 15);
  return alloc;
}

}  // namespace line::postgres
