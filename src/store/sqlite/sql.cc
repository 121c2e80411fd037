#include "store/sqlite/sql.h"

#include <array>

namespace line::sqlite {

namespace {

// Column lists in the order the row readers (rows.cc) and writers (row_sync.cc) use.
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
    {Sql::kPing, "Ping", "SELECT 1", true},

    {Sql::kLoadPools, "LoadPools", "SELECT " LINE_POOL_COLUMNS " FROM pools", false},
    {Sql::kLoadWorkers, "LoadWorkers", "SELECT " LINE_WORKER_COLUMNS " FROM workers", false},
    {Sql::kLoadReplicas, "LoadReplicas", "SELECT " LINE_REPLICA_COLUMNS " FROM replicas", false},
    {Sql::kLoadEvals, "LoadEvals", "SELECT " LINE_EVAL_COLUMNS " FROM evals", false},
    {Sql::kLoadAllocs, "LoadAllocs", "SELECT " LINE_ALLOC_COLUMNS " FROM allocs", false},

    {Sql::kPutPool, "PutPool",
     "INSERT OR REPLACE INTO pools(" LINE_POOL_COLUMNS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
     false},
    {Sql::kErasePool, "ErasePool", "DELETE FROM pools WHERE pool_id = ?1", false},
    {Sql::kPutWorker, "PutWorker",
     "INSERT OR REPLACE INTO workers(" LINE_WORKER_COLUMNS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
     false},
    {Sql::kEraseWorker, "EraseWorker", "DELETE FROM workers WHERE pool_id = ?1 AND worker_id = ?2",
     false},
    {Sql::kPutReplica, "PutReplica",
     "INSERT OR REPLACE INTO replicas(" LINE_REPLICA_COLUMNS ") VALUES(?1, ?2, ?3, ?4)", false},
    {Sql::kEraseReplica, "EraseReplica",
     "DELETE FROM replicas WHERE pool_id = ?1 AND worker_id = ?2 AND dataset_id = ?3", false},
    {Sql::kPutEval, "PutEval",
     "INSERT OR REPLACE INTO evals(" LINE_EVAL_COLUMNS
     ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
     false},
    {Sql::kUpdateEval, "UpdateEval",
     "UPDATE evals SET state = ?2, attempt = ?3, alloc_id = ?4, worker_id = ?5, exit_code = ?6, "
     "result = ?7, dead_reason = ?8 WHERE seq = ?1",
     false},
    {Sql::kEraseEval, "EraseEval", "DELETE FROM evals WHERE seq = ?1", false},
    {Sql::kPutAlloc, "PutAlloc",
     "INSERT OR REPLACE INTO allocs(" LINE_ALLOC_COLUMNS
     ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
     false},
    {Sql::kUpdateAlloc, "UpdateAlloc",
     "UPDATE allocs SET state = ?2, ttl = ?3, delivered_at = ?4, acked = ?5, ended_at = ?6, "
     "end_reason = ?7 WHERE seq = ?1",
     false},
    {Sql::kEraseAlloc, "EraseAlloc", "DELETE FROM allocs WHERE seq = ?1", false},
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
