#include "store/sqlite/sql.h"

#include <array>

namespace line::sqlite {

namespace {

// Column lists in the order the row readers (rows.cc) expect them.
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

constexpr std::array<SqlStatement, static_cast<size_t>(Sql::kCount)> kStatements = {{
    {Sql::kBegin, "Begin", "BEGIN", true},
    {Sql::kBeginImmediate, "BeginImmediate", "BEGIN IMMEDIATE", true},
    {Sql::kCommit, "Commit", "COMMIT", true},
    {Sql::kRollback, "Rollback", "ROLLBACK", true},
    {Sql::kSavepoint, "Savepoint", "SAVEPOINT body", true},
    {Sql::kRelease, "Release", "RELEASE body", true},
    {Sql::kRollbackTo, "RollbackTo", "ROLLBACK TO body", true},
    {Sql::kPing, "Ping", "SELECT 1", true},

    {Sql::kGetPool, "GetPool", "SELECT " LINE_POOL_COLUMNS " FROM pools WHERE pool_id = ?1", false},
    {Sql::kInsertPool, "InsertPool",
     "INSERT INTO pools(" LINE_POOL_COLUMNS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", false},
    // A pool already disbanded keeps its first disbanded_at, so repeating DisbandPool cannot
    // postpone the deletion of its data.
    {Sql::kMarkPoolDisbanded, "MarkPoolDisbanded",
     "UPDATE pools SET disbanded = 1, disbanded_at = ?2 WHERE pool_id = ?1 AND disbanded = 0",
     false},
    {Sql::kListPools, "ListPools",
     "SELECT " LINE_POOL_COLUMNS " FROM pools WHERE pool_id > ?1 ORDER BY pool_id LIMIT ?2", false},
    {Sql::kPoolsDisbandedBy, "PoolsDisbandedBy",
     "SELECT pool_id FROM pools WHERE disbanded = 1 AND disbanded_at <= ?1 "
     "ORDER BY disbanded_at, pool_id LIMIT ?2",
     false},
    {Sql::kDeletePoolAllocs, "DeletePoolAllocs", "DELETE FROM allocs WHERE pool_id = ?1", false},
    {Sql::kDeletePoolEvals, "DeletePoolEvals", "DELETE FROM evals WHERE pool_id = ?1", false},
    {Sql::kDeletePoolReplicas, "DeletePoolReplicas", "DELETE FROM replicas WHERE pool_id = ?1",
     false},
    {Sql::kDeletePoolWorkers, "DeletePoolWorkers", "DELETE FROM workers WHERE pool_id = ?1", false},
    {Sql::kDeletePool, "DeletePool", "DELETE FROM pools WHERE pool_id = ?1", false},
    {Sql::kCountWorkers, "CountWorkers",
     "SELECT count(*), coalesce(sum(capacity), 0), coalesce(sum(free), 0) FROM workers "
     "WHERE pool_id = ?1",
     false},
    {Sql::kCountEvalsInState, "CountEvalsInState",
     "SELECT count(*) FROM evals WHERE pool_id = ?1 AND state = ?2", false},
    // Blocked: larger than the largest free capacity among candidates; with no candidate the
    // bound is -1, so every pending eval counts.
    {Sql::kCountBlockedEvals, "CountBlockedEvals",
     "SELECT count(*) FROM evals WHERE pool_id = ?1 AND state = 'pending' AND size > "
     "coalesce((SELECT max(free) FROM workers WHERE pool_id = ?1 AND draining = 0 "
     "AND ttl > ?2), -1)",
     false},
    {Sql::kCountLiveAllocs, "CountLiveAllocs",
     "SELECT count(*) FROM allocs WHERE pool_id = ?1 AND state = 'live'", false},

    {Sql::kGetWorker, "GetWorker",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE pool_id = ?1 AND worker_id = ?2", false},
    {Sql::kInsertWorker, "InsertWorker",
     "INSERT INTO workers(" LINE_WORKER_COLUMNS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", false},
    {Sql::kRenewWorker, "RenewWorker",
     "UPDATE workers SET ttl = ?4 WHERE pool_id = ?1 AND worker_id = ?2 AND ttl > ?3 "
     "AND ttl < ?4",
     false},
    {Sql::kWorkerAliveAt, "WorkerAliveAt",
     "SELECT 1 FROM workers WHERE pool_id = ?1 AND worker_id = ?2 AND ttl > ?3", false},
    {Sql::kSetWorkerDraining, "SetWorkerDraining",
     "UPDATE workers SET draining = 1 WHERE pool_id = ?1 AND worker_id = ?2", false},
    {Sql::kDeleteWorkerReplicas, "DeleteWorkerReplicas",
     "DELETE FROM replicas WHERE pool_id = ?1 AND worker_id = ?2", false},
    {Sql::kDeleteWorker, "DeleteWorker",
     "DELETE FROM workers WHERE pool_id = ?1 AND worker_id = ?2", false},
    {Sql::kListWorkers, "ListWorkers",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE pool_id = ?1 AND worker_id > ?2 "
     "ORDER BY worker_id LIMIT ?3",
     false},
    // A pool's workers in primary-key order: a snapshot build reads them all anyway.
    {Sql::kCandidateWorkers, "CandidateWorkers",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE pool_id = ?1 AND draining = 0 "
     "AND ttl > ?2 ORDER BY worker_id",
     false},
    {Sql::kWorkersExpiredBy, "WorkersExpiredBy",
     "SELECT " LINE_WORKER_COLUMNS " FROM workers WHERE ttl <= ?1 ORDER BY ttl LIMIT ?2", false},
    {Sql::kClaimCapacity, "ClaimCapacity",
     "UPDATE workers SET free = free - ?3 WHERE pool_id = ?1 AND worker_id = ?2 AND ttl > ?4 "
     "AND draining = 0 AND free >= ?3",
     false},
    {Sql::kReleaseCapacity, "ReleaseCapacity",
     "UPDATE workers SET free = free + ?3 WHERE pool_id = ?1 AND worker_id = ?2 "
     "AND free + ?3 <= capacity",
     false},

    {Sql::kUpsertReplica, "UpsertReplica",
     "INSERT INTO replicas(" LINE_REPLICA_COLUMNS ") VALUES(?1, ?2, ?3, ?4) "
     "ON CONFLICT(pool_id, worker_id, dataset_id) DO UPDATE SET ttl = excluded.ttl",
     false},
    {Sql::kRenewReplica, "RenewReplica",
     "UPDATE replicas SET ttl = ?4 WHERE pool_id = ?1 AND worker_id = ?3 AND dataset_id = ?2 "
     "AND ttl > ?5 AND ttl < ?4",
     false},
    {Sql::kReplicaHeldAt, "ReplicaHeldAt",
     "SELECT 1 FROM replicas WHERE pool_id = ?1 AND worker_id = ?3 AND dataset_id = ?2 "
     "AND ttl > ?4",
     false},
    {Sql::kWorkerDatasets, "WorkerDatasets",
     "SELECT dataset_id FROM replicas WHERE pool_id = ?1 AND worker_id = ?2 AND ttl > ?3 "
     "ORDER BY dataset_id",
     false},
    {Sql::kPoolReplicas, "PoolReplicas",
     "SELECT " LINE_REPLICA_COLUMNS " FROM replicas WHERE pool_id = ?1 AND ttl > ?2 "
     "ORDER BY worker_id, dataset_id",
     false},
    {Sql::kDeleteReplicasExpiredBy, "DeleteReplicasExpiredBy",
     "DELETE FROM replicas WHERE ttl <= ?1", false},

    {Sql::kInsertEval, "InsertEval",
     "INSERT INTO evals(pool_id, eval_id, state, dataset_id, size, payload, attempt, alloc_id, "
     "worker_id, exit_code, result, idempotency_key, dead_reason, created_at) "
     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
     false},
    {Sql::kGetEval, "GetEval",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = ?1 AND eval_id = ?2", false},
    {Sql::kFindEvalByKey, "FindEvalByKey",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = ?1 AND idempotency_key = ?2", false},
    {Sql::kUpdateEval, "UpdateEval",
     "UPDATE evals SET state = ?3, attempt = ?4, alloc_id = ?5, worker_id = ?6, exit_code = ?7, "
     "result = ?8, dead_reason = ?9 WHERE pool_id = ?1 AND eval_id = ?2 AND state = ?10",
     false},
    {Sql::kListEvals, "ListEvals",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = ?1 AND seq > ?2 "
     "ORDER BY seq LIMIT ?3",
     false},
    {Sql::kListEvalsInState, "ListEvalsInState",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = ?1 AND state = ?2 AND seq > ?3 "
     "ORDER BY seq LIMIT ?4",
     false},
    {Sql::kPendingEvals, "PendingEvals",
     "SELECT " LINE_EVAL_COLUMNS " FROM evals WHERE pool_id = ?1 AND state = 'pending' "
     "AND seq > ?2 AND size <= ?3 ORDER BY seq LIMIT ?4",
     false},

    {Sql::kInsertAlloc, "InsertAlloc",
     "INSERT INTO allocs(pool_id, alloc_id, worker_id, eval_id, dataset_id, size, attempt, "
     "locality, state, ttl, created_at, delivered_at, acked, ended_at, end_reason) "
     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
     false},
    {Sql::kGetAlloc, "GetAlloc",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND alloc_id = ?2", false},
    {Sql::kEndAlloc, "EndAlloc",
     "UPDATE allocs SET state = ?3, end_reason = ?4, ended_at = ?5, acked = 1 "
     "WHERE pool_id = ?1 AND alloc_id = ?2 AND state = 'live'",
     false},
    {Sql::kRenewAlloc, "RenewAlloc",
     "UPDATE allocs SET ttl = ?4, acked = 1 WHERE pool_id = ?1 AND alloc_id = ?2 "
     "AND worker_id = ?3 AND state = 'live'",
     false},
    {Sql::kLiveAllocsOfWorker, "LiveAllocsOfWorker",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND worker_id = ?2 "
     "AND state = 'live' ORDER BY seq",
     false},
    {Sql::kAllocsExpiredBy, "AllocsExpiredBy",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE state = 'live' AND ttl <= ?1 "
     "ORDER BY ttl LIMIT ?2",
     false},
    {Sql::kListAllocs, "ListAllocs",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND seq > ?2 "
     "ORDER BY seq LIMIT ?3",
     false},
    {Sql::kListAllocsInState, "ListAllocsInState",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND state = ?2 "
     "AND seq > ?3 ORDER BY seq LIMIT ?4",
     false},
    {Sql::kListAllocsOfWorker, "ListAllocsOfWorker",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND worker_id = ?2 "
     "AND seq > ?3 ORDER BY seq LIMIT ?4",
     false},
    {Sql::kListAllocsOfWorkerInState, "ListAllocsOfWorkerInState",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND worker_id = ?2 "
     "AND state = ?3 AND seq > ?4 ORDER BY seq LIMIT ?5",
     false},
    {Sql::kAllocsOfEval, "AllocsOfEval",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND eval_id = ?2 "
     "ORDER BY seq",
     false},
    {Sql::kDeliverableAllocs, "DeliverableAllocs",
     "SELECT " LINE_ALLOC_COLUMNS " FROM allocs WHERE pool_id = ?1 AND worker_id = ?2 "
     "AND state = 'live' AND acked = 0 AND delivered_at <= max(?3, 0) "
     "ORDER BY delivered_at, seq LIMIT ?4",
     false},
    {Sql::kMarkDelivered, "MarkDelivered",
     "UPDATE allocs SET delivered_at = ?3 WHERE pool_id = ?1 AND alloc_id = ?2 "
     "AND state = 'live' AND acked = 0 AND (delivered_at = 0 OR delivered_at <= ?4)",
     false},
    {Sql::kEarliestUnackedDelivery, "EarliestUnackedDelivery",
     "SELECT coalesce(min(delivered_at), 0) FROM allocs WHERE pool_id = ?1 AND worker_id = ?2 "
     "AND state = 'live' AND acked = 0 AND delivered_at > 0",
     false},

    {Sql::kExtendWorkers, "ExtendWorkers", "UPDATE workers SET ttl = ?1 WHERE ttl < ?1", false},
    {Sql::kExtendReplicas, "ExtendReplicas", "UPDATE replicas SET ttl = ?1 WHERE ttl < ?1", false},
    {Sql::kPoolAllocTtls, "PoolAllocTtls",
     "SELECT pool_id, alloc_ttl_s FROM pools WHERE pool_id > ?1 ORDER BY pool_id LIMIT ?2", false},
    {Sql::kExtendPoolAllocs, "ExtendPoolAllocs",
     "UPDATE allocs SET ttl = ?2 WHERE pool_id = ?1 AND state = 'live' AND ttl < ?2", false},
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
static_assert(InEnumOrder(), "kStatements must list statements in the order of enum Sql");

}  // namespace

const SqlStatement& SqlFor(Sql id) { return kStatements[static_cast<size_t>(id)]; }

std::span<const SqlStatement> AllSql() { return kStatements; }

}  // namespace line::sqlite
