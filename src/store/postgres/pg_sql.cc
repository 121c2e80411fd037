#include "store/postgres/pg_sql.h"

#include <array>

namespace line::postgres {

namespace {

// Column lists in the order the row readers (pg_rows.cc) expect them.
#define LINE_POOL_COLUMNS \
  "pool_id, placement, max_retry, alloc_ttl_s, disbanded, disbanded_at, created_at"
#define LINE_WORKER_COLUMNS "pool_id, worker_id, capacity, free, ttl, draining, registered_at"
#define LINE_REPLICA_COLUMNS "pool_id, dataset_id, worker_id, ttl"
#define LINE_EVAL_COLUMNS                                                                   \
  "pool_id, eval_id, seq, state, dataset_id, size, payload, attempt, alloc_id, worker_id, " \
  "exit_code, result, idempotency_key, dead_reason, created_at"
#define LINE_ALLOC_COLUMNS                                                                   \
  "pool_id, alloc_id, worker_id, eval_id, dataset_id, size, attempt, locality, state, ttl, " \
  "created_at, delivered_at, acked, ended_at, end_reason, seq"

// The SQLite store's statements in PostgreSQL's dialect: $n parameters, boolean flags, and
// RETURNING for the generated seq. Every statement's meaning is the same as there.
constexpr std::array<PgStatement, static_cast<size_t>(PgSql::kCount)> kStatements = {{
    {PgSql::kBeginWrite, "BeginWrite", "BEGIN ISOLATION LEVEL READ COMMITTED", true},
    {PgSql::kBeginRead, "BeginRead", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", true},
    {PgSql::kCommit, "Commit", "COMMIT", true},
    {PgSql::kRollback, "Rollback", "ROLLBACK", true},
    {PgSql::kSavepoint, "Savepoint", "SAVEPOINT body", true},
    {PgSql::kRelease, "Release", "RELEASE SAVEPOINT body", true},
    {PgSql::kRollbackTo, "RollbackTo", "ROLLBACK TO SAVEPOINT body", true},
    {PgSql::kPing, "Ping", "SELECT 1", true},

    {PgSql::kGetPool, "GetPool", "SELECT " LINE_POOL_COLUMNS " FROM pools WHERE pool_id = $1",
     false},
    {PgSql::kInsertPool, "InsertPool",
     "INSERT INTO pools(" LINE_POOL_COLUMNS ") VALUES($1, $2, $3, $4, $5, $6, $7)", false},
    // A pool already disbanded keeps its first disbanded_at, so repeating DisbandPool cannot
    // postpone the deletion of its data.
    {PgSql::kMarkPoolDisbanded, "MarkPoolDisbanded",
     "UPDATE pools SET disbanded = true, disbanded_at = $2 WHERE pool_id = $1 AND NOT disbanded",
     false},
    {PgSql::kListPools, "ListPools",
     "SELECT " LINE_POOL_COLUMNS " FROM pools WHERE pool_id > $1 ORDER BY pool_id LIMIT $2", false},
    {PgSql::kPoolsDisbandedBy, "PoolsDisbandedBy",
     "SELECT pool_id FROM pools WHERE disbanded AND disbanded_at <= $1 "
     "ORDER BY disbanded_at, pool_id LIMIT $2",
     false},
    {PgSql::kDeletePoolAllocs, "DeletePoolAllocs", "DELETE FROM allocs WHERE pool_id = $1", false},
    {PgSql::kDeletePoolEvals, "DeletePoolEvals", "DELETE FROM evals WHERE pool_id = $1", false},
    {PgSql::kDeletePoolReplicas, "DeletePoolReplicas", "DELETE FROM replicas WHERE pool_id = $1",
     false},
    {PgSql::kDeletePoolWorkers, "DeletePoolWorkers", "DELETE FROM workers WHERE pool_id = $1",
     false},
    {PgSql::kDeletePool, "DeletePool", "DELETE FROM pools WHERE pool_id = $1", false},
    {PgSql::kCountWorkers, "CountWorkers",
     "SELECT count(*), coalesce(sum(capacity), 0), coalesce(sum(free), 0) FROM workers "
     "WHERE pool_id = $1",
     false},
    {PgSql::kCountEvalsInState, "CountEvalsInState",
     "SELECT count(*) FROM evals WHERE pool_id = $1 AND state = $2", false},
    // Blocked: larger than the largest free capacity among candidates; with no candidate the
    // bound is -1, so every pending eval counts.
    {PgSql::kCountBlockedEvals, "CountBlockedEvals",
     "SELECT count(*) FROM evals WHERE pool_id = $1 AND state = 'pending' AND size > "
     "coalesce((SELECT max(free) FROM workers WHERE pool_id = $1 AND draining = false "
     "AND ttl > $2), -1)",
     false},
    {PgSql::kCountLiveAllocs, "CountLiveAllocs",
     "SELECT count(*) FROM allocs WHERE pool_id = $1 AND state = 'live'", false},

    {PgSql::kGetWorker, "GetWorker",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE pool_id = $1 AND worker_id = $2", false},
    {PgSql::kInsertWorker, "InsertWorker",
     "INSERT INTO workers(" LINE_WORKER_COLUMNS ") VALUES($1, $2, $3, $4, $5, $6, $7)", false},
    {PgSql::kRenewWorker, "RenewWorker",
     "WITH renewed AS (UPDATE workers SET ttl = $4 WHERE pool_id = $1 AND worker_id = $2 "
     "AND ttl > $3 AND ttl < $4 RETURNING 1), "
     "late AS (SELECT 1 FROM workers WHERE pool_id = $1 AND worker_id = $2 AND ttl > $3 "
     "AND ttl >= $4 FOR KEY SHARE) "
     "SELECT 1 FROM renewed UNION ALL SELECT 1 FROM late",
     false},
    {PgSql::kSetWorkerDraining, "SetWorkerDraining",
     "UPDATE workers SET draining = true WHERE pool_id = $1 AND worker_id = $2", false},
    {PgSql::kDeleteWorkerReplicas, "DeleteWorkerReplicas",
     "DELETE FROM replicas WHERE pool_id = $1 AND worker_id = $2", false},
    {PgSql::kDeleteWorker, "DeleteWorker",
     "DELETE FROM workers WHERE pool_id = $1 AND worker_id = $2", false},
    {PgSql::kListWorkers, "ListWorkers",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE pool_id = $1 AND worker_id > $2 "
     "ORDER BY worker_id LIMIT $3",
     false},
    // A pool's workers in primary-key order: a snapshot build reads them all anyway.
    {PgSql::kCandidateWorkers, "CandidateWorkers",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE pool_id = $1 AND draining = false "
     "AND ttl > $2 ORDER BY worker_id",
     false},
    {PgSql::kWorkersExpiredBy, "WorkersExpiredBy",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE ttl <= $1 ORDER BY ttl LIMIT $2", false},
    {PgSql::kClaimCapacity, "ClaimCapacity",
     "UPDATE workers SET free = free - $3 WHERE pool_id = $1 AND worker_id = $2 AND ttl > $4 "
     "AND draining = false AND free >= $3",
     false},
    {PgSql::kReleaseCapacity, "ReleaseCapacity",
     "UPDATE workers SET free = free + $3 WHERE pool_id = $1 AND worker_id = $2 "
     "AND free + $3 <= capacity",
     false},

    {PgSql::kUpsertReplica, "UpsertReplica",
     "INSERT INTO replicas(" LINE_REPLICA_COLUMNS ") VALUES($1, $2, $3, $4) "
     "ON CONFLICT(pool_id, worker_id, dataset_id) DO UPDATE SET ttl = excluded.ttl",
     false},
    {PgSql::kRenewReplica, "RenewReplica",
     "WITH renewed AS (UPDATE replicas SET ttl = $4 WHERE pool_id = $1 AND worker_id = $3 "
     "AND dataset_id = $2 AND ttl > $5 AND ttl < $4 RETURNING 1), "
     "late AS (SELECT 1 FROM replicas WHERE pool_id = $1 AND worker_id = $3 AND dataset_id = $2 "
     "AND ttl > $5 AND ttl >= $4 FOR KEY SHARE) "
     "SELECT 1 FROM renewed UNION ALL SELECT 1 FROM late",
     false},
    {PgSql::kWorkerDatasets, "WorkerDatasets",
     "SELECT dataset_id FROM replicas WHERE pool_id = $1 AND worker_id = $2 AND ttl > $3 "
     "ORDER BY dataset_id",
     false},
    {PgSql::kPoolReplicas, "PoolReplicas",
     "SELECT " LINE_REPLICA_COLUMNS " FROM replicas WHERE pool_id = $1 AND ttl > $2 "
     "ORDER BY worker_id, dataset_id",
     false},
    {PgSql::kDeleteReplicasExpiredBy, "DeleteReplicasExpiredBy",
     "DELETE FROM replicas WHERE ttl <= $1", false},

    {PgSql::kInsertEval, "InsertEval",
     "INSERT INTO evals(pool_id, eval_id, state, dataset_id, size, payload, attempt, alloc_id, "
     "worker_id, exit_code, result, idempotency_key, dead_reason, created_at) "
     "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING seq",
     false},
    {PgSql::kGetEval, "GetEval",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = $1 AND eval_id = $2", false},
    {PgSql::kFindEvalByKey, "FindEvalByKey",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = $1 AND idempotency_key = $2", false},
    {PgSql::kUpdateEval, "UpdateEval",
     "UPDATE evals SET state = $3, attempt = $4, alloc_id = $5, worker_id = $6, exit_code = $7, "
     "result = $8, dead_reason = $9 WHERE pool_id = $1 AND eval_id = $2 AND state = $10",
     false},
    {PgSql::kListEvals, "ListEvals",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = $1 AND seq > $2 "
     "ORDER BY seq LIMIT $3",
     false},
    {PgSql::kListEvalsInState, "ListEvalsInState",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = $1 AND state = $2 AND seq > $3 "
     "ORDER BY seq LIMIT $4",
     false},
    {PgSql::kPendingEvals, "PendingEvals",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = $1 AND state = 'pending' "
     "AND seq > $2 AND size <= $3 ORDER BY seq LIMIT $4",
     false},

    {PgSql::kInsertAlloc, "InsertAlloc",
     "INSERT INTO allocs(pool_id, alloc_id, worker_id, eval_id, dataset_id, size, attempt, "
     "locality, state, ttl, created_at, delivered_at, acked, ended_at, end_reason) "
     "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING seq",
     false},
    {PgSql::kGetAlloc, "GetAlloc",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND alloc_id = $2", false},
    {PgSql::kEndAlloc, "EndAlloc",
     "UPDATE allocs SET state = $3, end_reason = $4, ended_at = $5, acked = true "
     "WHERE pool_id = $1 AND alloc_id = $2 AND state = 'live'",
     false},
    {PgSql::kRenewAlloc, "RenewAlloc",
     "UPDATE allocs SET ttl = $4, acked = true WHERE pool_id = $1 AND alloc_id = $2 "
     "AND worker_id = $3 AND state = 'live'",
     false},
    {PgSql::kLiveAllocsOfWorker, "LiveAllocsOfWorker",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND worker_id = $2 "
     "AND state = 'live' ORDER BY seq",
     false},
    {PgSql::kAllocsExpiredBy, "AllocsExpiredBy",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE state = 'live' AND ttl <= $1 "
     "ORDER BY ttl LIMIT $2",
     false},
    {PgSql::kListAllocs, "ListAllocs",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND seq > $2 "
     "ORDER BY seq LIMIT $3",
     false},
    {PgSql::kListAllocsInState, "ListAllocsInState",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND state = $2 "
     "AND seq > $3 ORDER BY seq LIMIT $4",
     false},
    {PgSql::kListAllocsOfWorker, "ListAllocsOfWorker",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND worker_id = $2 "
     "AND seq > $3 ORDER BY seq LIMIT $4",
     false},
    {PgSql::kListAllocsOfWorkerInState, "ListAllocsOfWorkerInState",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND worker_id = $2 "
     "AND state = $3 AND seq > $4 ORDER BY seq LIMIT $5",
     false},
    {PgSql::kAllocsOfEval, "AllocsOfEval",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND eval_id = $2 "
     "ORDER BY seq",
     false},
    {PgSql::kDeliverableAllocs, "DeliverableAllocs",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = $1 AND worker_id = $2 "
     "AND state = 'live' AND NOT acked AND delivered_at <= greatest($3::bigint, 0) "
     "ORDER BY delivered_at, seq LIMIT $4",
     false},
    {PgSql::kMarkDelivered, "MarkDelivered",
     "UPDATE allocs SET delivered_at = $3 WHERE pool_id = $1 AND alloc_id = $2 "
     "AND state = 'live' AND NOT acked AND (delivered_at = 0 OR delivered_at <= $4)", false},
    {PgSql::kEarliestUnackedDelivery, "EarliestUnackedDelivery",
     "SELECT coalesce(min(delivered_at), 0) FROM allocs WHERE pool_id = $1 AND worker_id = $2 "
     "AND state = 'live' AND NOT acked AND delivered_at > 0",
     false},

    {PgSql::kExtendWorkers, "ExtendWorkers", "UPDATE workers SET ttl = $1 WHERE ttl < $1", false},
    {PgSql::kExtendReplicas, "ExtendReplicas", "UPDATE replicas SET ttl = $1 WHERE ttl < $1",
     false},
    {PgSql::kPoolAllocTtls, "PoolAllocTtls",
     "SELECT pool_id, alloc_ttl_s FROM pools WHERE pool_id > $1 ORDER BY pool_id LIMIT $2", false},
    {PgSql::kExtendPoolAllocs, "ExtendPoolAllocs",
     "UPDATE allocs SET ttl = $2 WHERE pool_id = $1 AND state = 'live' AND ttl < $2", false},

    // A round's placements in four statements (pg_tx_place.cc). Arrays are parallel, one
    // element per placement (per worker for the claim). Every condition is the single-row
    // statement's: UpdateEval's state check, ClaimCapacity's ttl/draining/free check.
    {PgSql::kPlaceMoveEvals, "PlaceMoveEvals",
     "UPDATE evals SET state = 'placed', alloc_id = p.alloc_id, worker_id = p.worker_id "
     "FROM unnest($2::text[], $3::text[], $4::text[]) AS p(eval_id, alloc_id, worker_id) "
     "WHERE evals.pool_id = $1 AND evals.eval_id = p.eval_id AND evals.state = 'pending' "
     "RETURNING evals.eval_id",
     false},
    {PgSql::kPlaceClaimWorkers, "PlaceClaimWorkers",
     "UPDATE workers SET free = free - c.total "
     "FROM unnest($2::text[], $3::bigint[]) AS c(worker_id, total) "
     "WHERE workers.pool_id = $1 AND workers.worker_id = c.worker_id AND workers.ttl > $4 "
     "AND workers.draining = false AND workers.free >= c.total "
     "RETURNING workers.worker_id",
     false},
    {PgSql::kPlaceRestoreEvals, "PlaceRestoreEvals",
     "UPDATE evals SET state = 'pending', alloc_id = p.alloc_id, worker_id = p.worker_id "
     "FROM unnest($2::text[], $3::text[], $4::text[]) AS p(eval_id, alloc_id, worker_id) "
     "WHERE evals.pool_id = $1 AND evals.eval_id = p.eval_id AND evals.state = 'placed'",
     false},
    {PgSql::kPlaceInsertAllocs, "PlaceInsertAllocs",
     "INSERT INTO allocs(pool_id, alloc_id, worker_id, eval_id, dataset_id, size, attempt, "
     "locality, state, ttl, created_at, delivered_at, acked, ended_at, end_reason) "
     "SELECT $1, a.alloc_id, a.worker_id, a.eval_id, a.dataset_id, a.size, a.attempt, "
     "a.locality, 'live', a.ttl, a.created_at, a.delivered_at, false, 0, '' "
     "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], "
     "$8::boolean[], $9::bigint[], $10::bigint[], $11::bigint[]) "
     "AS a(alloc_id, worker_id, eval_id, dataset_id, size, attempt, locality, ttl, created_at, "
     "delivered_at) "
     "RETURNING alloc_id, seq",
     false},
    // New evals without an idempotency key, many at once (Tx::InsertEvals). WITH ORDINALITY
    // and ORDER BY make the identity column follow the request's order.
    {PgSql::kInsertEvals, "InsertEvals",
     "INSERT INTO evals(pool_id, eval_id, state, dataset_id, size, payload, attempt, alloc_id, "
     "worker_id, exit_code, result, idempotency_key, dead_reason, created_at) "
     "SELECT $1, e.eval_id, 'pending', e.dataset_id, e.size, e.payload, e.attempt, '', '', "
     "NULL, '', NULL, '', e.created_at "
     "FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[]) "
     "WITH ORDINALITY AS e(eval_id, dataset_id, size, payload, attempt, created_at, n) "
     "ORDER BY e.n RETURNING eval_id, seq",
     false},
}};

#undef LINE_POOL_COLUMNS
#undef LINE_WORKER_COLUMNS
#undef LINE_REPLICA_COLUMNS
#undef LINE_EVAL_COLUMNS
#undef LINE_ALLOC_COLUMNS

// The table is indexed by the enum; a statement out of place would run the wrong SQL.
constexpr bool InEnumOrder() {
  for (size_t i = 0; i < kStatements.size(); ++i) {
    if (static_cast<size_t>(kStatements[i].id) != i) return false;
  }
  return true;
}
static_assert(InEnumOrder(), "kStatements must list statements in the order of enum PgSql");

}  // namespace

const PgStatement& PgSqlFor(PgSql id) { return kStatements[static_cast<size_t>(id)]; }

std::span<const PgStatement> AllPgSql() { return kStatements; }

}  // namespace line::postgres
