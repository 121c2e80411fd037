#include "store/sqlite/schema.h"

#include <span>
#include <string>

namespace line::sqlite {

namespace {

struct Migration {
  int version;  // user_version once applied
  const char* what;
  const char* sql;
};

// Append only: a released migration never changes, because databases in the field have
// already applied it. Times are integer milliseconds (TimeMs); enums are stored by name so the
// file reads well in the sqlite3 shell. See docs/decisions/0002-store-schema.md.
constexpr Migration kMigrations[] = {
    {1, "tables",
     R"sql(
CREATE TABLE pools(
  pool_id TEXT PRIMARY KEY,
  placement TEXT NOT NULL CHECK (placement IN ('spread', 'binpack')),
  max_retry INTEGER NOT NULL,
  alloc_ttl_s INTEGER NOT NULL,
  disbanded INTEGER NOT NULL,
  disbanded_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE workers(
  pool_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  free INTEGER NOT NULL,
  ttl INTEGER NOT NULL,
  draining INTEGER NOT NULL,
  registered_at INTEGER NOT NULL,
  PRIMARY KEY (pool_id, worker_id),
  CHECK (free >= 0 AND free <= capacity)
) WITHOUT ROWID;

CREATE TABLE replicas(
  pool_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  ttl INTEGER NOT NULL,
  PRIMARY KEY (pool_id, worker_id, dataset_id)
) WITHOUT ROWID;

-- seq is the rowid: arrival order, and the cursor of every eval listing.
CREATE TABLE evals(
  seq INTEGER PRIMARY KEY,
  pool_id TEXT NOT NULL,
  eval_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'placed', 'completed', 'dead')),
  dataset_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  payload TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  alloc_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  exit_code INTEGER,
  result TEXT NOT NULL,
  idempotency_key TEXT,  -- NULL when none, so that the unique index below ignores it
  dead_reason TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX evals_by_id ON evals(pool_id, eval_id);
CREATE UNIQUE INDEX evals_by_key ON evals(pool_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- An alloc is also its worker's queue entry: delivered_at and acked track delivery.
CREATE TABLE allocs(
  seq INTEGER PRIMARY KEY,
  pool_id TEXT NOT NULL,
  alloc_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  eval_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  locality INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('live', 'completed', 'expired')),
  ttl INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL,
  acked INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  end_reason TEXT NOT NULL
);
CREATE UNIQUE INDEX allocs_by_id ON allocs(pool_id, alloc_id);
)sql"},
    // Every query in sql.cc searches one of these (tests/store assert it with EXPLAIN QUERY
    // PLAN). An index on a rowid table ends with the rowid, i.e. with seq, so (pool_id) alone
    // already yields a pool's rows in arrival order.
    {2, "secondary indexes",
     R"sql(
CREATE INDEX pools_disbanded ON pools(disbanded, disbanded_at);
CREATE INDEX workers_by_ttl ON workers(ttl);
CREATE INDEX workers_by_free ON workers(pool_id, draining, free);
CREATE INDEX replicas_by_ttl ON replicas(ttl);
CREATE INDEX evals_by_pool ON evals(pool_id);
CREATE INDEX evals_by_state ON evals(pool_id, state, seq, size);
CREATE INDEX allocs_by_pool ON allocs(pool_id);
CREATE INDEX allocs_by_worker ON allocs(pool_id, worker_id);
CREATE INDEX allocs_by_eval ON allocs(pool_id, eval_id);
CREATE INDEX allocs_live_by_worker ON allocs(pool_id, worker_id) WHERE state = 'live';
CREATE INDEX allocs_live_by_ttl ON allocs(ttl) WHERE state = 'live';
)sql"},
    // Ended allocs stay until their pool is deleted: counting or listing a pool's allocs by
    // state must not read its whole history.
    {3, "allocs by state",
     R"sql(
CREATE INDEX allocs_by_state ON allocs(pool_id, state);
)sql"},
    // A worker's poll looks for its allocs not yet acknowledged, new ones (delivered_at 0)
    // first, then those due again oldest first. Found through allocs_live_by_worker, each poll
    // read every live alloc of the worker: O(n) for a worker with many. An entry lives only
    // from placement to the first acknowledgement.
    {4, "allocs to deliver",
     R"sql(
CREATE INDEX allocs_to_deliver ON allocs(pool_id, worker_id, delivered_at)
  WHERE state = 'live' AND acked = 0;
)sql"},
    // Every placement and every release moved the worker's entry in workers_by_free: two more
    // random pages in each commit, for queries that read a pool's every worker anyway
    // (snapshot builds, DescribePool's blocked count), through the primary key just as well.
    {5, "no index on free capacity",
     R"sql(
DROP INDEX IF EXISTS workers_by_free;
)sql"},
    // The rows live in memory with every index the store's queries need
    // (docs/decisions/0015-embedded-store-in-memory.md); the file is written by primary key
    // only. Each index here cost the writer a B-tree insert per row for nothing.
    {6, "rows by primary key only",
     R"sql(
DROP INDEX IF EXISTS pools_disbanded;
DROP INDEX IF EXISTS workers_by_ttl;
DROP INDEX IF EXISTS replicas_by_ttl;
DROP INDEX IF EXISTS evals_by_id;
DROP INDEX IF EXISTS evals_by_key;
DROP INDEX IF EXISTS evals_by_pool;
DROP INDEX IF EXISTS evals_by_state;
DROP INDEX IF EXISTS allocs_by_id;
DROP INDEX IF EXISTS allocs_by_pool;
DROP INDEX IF EXISTS allocs_by_worker;
DROP INDEX IF EXISTS allocs_by_eval;
DROP INDEX IF EXISTS allocs_live_by_worker;
DROP INDEX IF EXISTS allocs_live_by_ttl;
DROP INDEX IF EXISTS allocs_by_state;
DROP INDEX IF EXISTS allocs_to_deliver;
)sql"},
};

Status Apply(Connection& conn, const Migration& migration) {
  const std::string what =
      "migration " + std::to_string(migration.version) + " (" + migration.what + ")";
  // IMMEDIATE: take the write lock first, so two processes opening one file cannot both
  // apply the same migration.
  LINE_RETURN_IF_ERROR(conn.Exec(what, "BEGIN IMMEDIATE"));
  LINE_ASSIGN_OR_RETURN(int current, SchemaVersion(conn));
  Status status;
  if (current < migration.version) {
    status = conn.Exec(what, migration.sql);
    if (status.ok()) {
      status = conn.Exec(what, "PRAGMA user_version = " + std::to_string(migration.version));
    }
  }
  if (!status.ok()) {
    (void)conn.Exec(what + " rollback", "ROLLBACK");  // the migration's own error matters more
    return status;
  }
  return conn.Exec(what + " commit", "COMMIT");
}

}  // namespace

int LatestSchemaVersion() { return std::span(kMigrations).back().version; }

Result<int> SchemaVersion(Connection& conn) {
  LINE_ASSIGN_OR_RETURN(int64_t version, conn.QueryInt("PRAGMA user_version"));
  return static_cast<int>(version);
}

Status MigrateTo(Connection& conn, int version) {
  LINE_ASSIGN_OR_RETURN(int current, SchemaVersion(conn));
  if (current > LatestSchemaVersion()) {
    return Status::Internal("sqlite: database schema version " + std::to_string(current) +
                            " is newer than this build's " + std::to_string(LatestSchemaVersion()));
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version > version) break;
    if (migration.version > current) LINE_RETURN_IF_ERROR(Apply(conn, migration));
  }
  return Status::Ok();
}

Status Migrate(Connection& conn) { return MigrateTo(conn, LatestSchemaVersion()); }

}  // namespace line::sqlite
