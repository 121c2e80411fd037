#include "store/postgres/pg_schema.h"

#include <span>
#include <string>

namespace line::postgres {

namespace {

struct Migration {
  int version;  // line_schema.version once applied
  const char* what;
  const char* sql;
};

// The key of the transaction-level advisory lock every migration takes first: two nodes
// starting together queue on it, and the second finds the migration already applied.
constexpr int64_t kMigrationLock = 0x6c696e65'5f736368;  // "line_sch"

// Append only: a released migration never changes, because databases in the field have
// already applied it. The same tables as the SQLite store (docs/decisions/0002), in
// PostgreSQL's types: times are BIGINT milliseconds, flags are BOOLEAN, enums are TEXT names
// with CHECK constraints, seq is an identity column.
constexpr Migration kMigrations[] = {
    {1, "tables",
     R"sql(
CREATE TABLE pools(
  pool_id TEXT PRIMARY KEY,
  placement TEXT NOT NULL CHECK (placement IN ('spread', 'binpack')),
  max_retry BIGINT NOT NULL,
  alloc_ttl_s BIGINT NOT NULL,
  disbanded BOOLEAN NOT NULL,
  disbanded_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE workers(
  pool_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  capacity BIGINT NOT NULL,
  free BIGINT NOT NULL,
  ttl BIGINT NOT NULL,
  draining BOOLEAN NOT NULL,
  registered_at BIGINT NOT NULL,
  PRIMARY KEY (pool_id, worker_id),
  CHECK (free >= 0 AND free <= capacity)
);

CREATE TABLE replicas(
  pool_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  ttl BIGINT NOT NULL,
  PRIMARY KEY (pool_id, worker_id, dataset_id)
);

-- seq: arrival order, and the cursor of every eval listing.
CREATE TABLE evals(
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id TEXT NOT NULL,
  eval_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'placed', 'completed', 'dead')),
  dataset_id TEXT NOT NULL,
  size BIGINT NOT NULL,
  payload TEXT NOT NULL,
  attempt BIGINT NOT NULL,
  alloc_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  exit_code BIGINT,
  result TEXT NOT NULL,
  idempotency_key TEXT,  -- NULL when none, so that the unique index below ignores it
  dead_reason TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX evals_by_id ON evals(pool_id, eval_id);
CREATE UNIQUE INDEX evals_by_key ON evals(pool_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- An alloc is also its worker's queue entry: delivered_at and acked track delivery.
CREATE TABLE allocs(
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id TEXT NOT NULL,
  alloc_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  eval_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  size BIGINT NOT NULL,
  attempt BIGINT NOT NULL,
  locality BOOLEAN NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('live', 'completed', 'expired')),
  ttl BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  delivered_at BIGINT NOT NULL,
  acked BOOLEAN NOT NULL,
  ended_at BIGINT NOT NULL,
  end_reason TEXT NOT NULL
);
CREATE UNIQUE INDEX allocs_by_id ON allocs(pool_id, alloc_id);
)sql"},
    // One index per query shape of pg_sql.cc (tests/store/postgres_store_test.cc EXPLAINs
    // each statement). Unlike SQLite, an index does not end with seq by itself, so listings
    // in arrival order name it.
    {2, "secondary indexes",
     R"sql(
CREATE INDEX pools_disbanded ON pools(disbanded, disbanded_at, pool_id);
CREATE INDEX workers_by_ttl ON workers(ttl);
CREATE INDEX workers_by_free ON workers(pool_id, draining, free, worker_id);
CREATE INDEX replicas_by_ttl ON replicas(ttl);
CREATE INDEX evals_by_pool ON evals(pool_id, seq);
CREATE INDEX evals_by_state ON evals(pool_id, state, seq, size);
CREATE INDEX allocs_by_pool ON allocs(pool_id, seq);
CREATE INDEX allocs_by_worker ON allocs(pool_id, worker_id, seq);
CREATE INDEX allocs_by_eval ON allocs(pool_id, eval_id, seq);
CREATE INDEX allocs_by_state ON allocs(pool_id, state, seq);
CREATE INDEX allocs_live_by_worker ON allocs(pool_id, worker_id, seq) WHERE state = 'live';
CREATE INDEX allocs_live_by_ttl ON allocs(ttl) WHERE state = 'live';
)sql"},
    // Several lined nodes on one database (docs/decisions/0005-many-nodes.md). A node is
    // alive while the backend of its coordination connection is: leases are session advisory
    // locks held on that connection, so pg_locks joined with line_nodes names each pool's
    // owner. line_expiry records when the expiry lease holder last proved it was sweeping.
    {3, "cluster nodes",
     R"sql(
CREATE TABLE line_nodes(
  node_id TEXT PRIMARY KEY,
  listen TEXT NOT NULL,
  backend_pid INTEGER NOT NULL,
  started_at BIGINT NOT NULL
);
CREATE INDEX line_nodes_by_pid ON line_nodes(backend_pid);
CREATE TABLE line_expiry(
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  swept_at BIGINT NOT NULL
);
INSERT INTO line_expiry(singleton, swept_at) VALUES (1, 0);
)sql"},
    // A worker's poll: its allocs not yet acknowledged, new ones (delivered_at 0) first, then
    // those due again oldest first, without reading every live alloc of the worker.
    {4, "allocs to deliver",
     R"sql(
CREATE INDEX allocs_to_deliver ON allocs(pool_id, worker_id, delivered_at, seq)
  WHERE state = 'live' AND NOT acked;
)sql"},
    // Every placement and every release moved the worker's entry in workers_by_free, for
    // queries that read a pool's every worker anyway (snapshot builds, the blocked count).
    {5, "no index on free capacity",
     R"sql(
DROP INDEX IF EXISTS workers_by_free;
)sql"},
};

Status Apply(PgConnection& conn, const Migration& migration) {
  const std::string what =
      "migration " + std::to_string(migration.version) + " (" + migration.what + ")";
  LINE_RETURN_IF_ERROR(conn.Exec(what, "BEGIN").status());
  // Lock first, then look: whoever waited finds the version already moved on. The lock ends
  // with the transaction, so a node that dies mid-migration releases it.
  Status status =
      conn.Exec(what, "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")")
          .status();
  Result<int> current = status.ok() ? PgSchemaVersion(conn) : Result<int>(status);
  if (!current.ok()) status = current.status();
  if (status.ok() && *current < migration.version) {
    status = conn.Exec(what, migration.sql).status();
    if (status.ok()) {
      status =
          conn.Exec(what, "UPDATE line_schema SET version = " + std::to_string(migration.version))
              .status();
    }
  }
  if (!status.ok()) {
    (void)conn.Exec(what + " rollback", "ROLLBACK");  // the migration's own error matters more
    return status;
  }
  return conn.Exec(what + " commit", "COMMIT").status();
}

// Creates the version table once, under the same lock as the migrations: CREATE TABLE IF NOT
// EXISTS alone is not safe against a concurrent twin.
Status EnsureVersionTable(PgConnection& conn) {
  const std::string what = "schema version table";
  LINE_RETURN_IF_ERROR(conn.Exec(what, "BEGIN").status());
  Status status =
      conn.Exec(what, "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) +
                          ");"
                          "CREATE TABLE IF NOT EXISTS line_schema(version INTEGER NOT NULL);"
                          "INSERT INTO line_schema(version) SELECT 0 "
                          "WHERE NOT EXISTS (SELECT 1 FROM line_schema)")
          .status();
  if (!status.ok()) {
    (void)conn.Exec(what + " rollback", "ROLLBACK");
    return status;
  }
  return conn.Exec(what + " commit", "COMMIT").status();
}

}  // namespace

int LatestPgSchemaVersion() { return std::span(kMigrations).back().version; }

Result<int> PgSchemaVersion(PgConnection& conn) {
  LINE_ASSIGN_OR_RETURN(PgResult exists,
                        conn.Exec("schema version", "SELECT to_regclass('line_schema') IS NULL"));
  if (exists.Bool(0, 0)) return 0;
  LINE_ASSIGN_OR_RETURN(PgResult version,
                        conn.Exec("schema version", "SELECT max(version) FROM line_schema"));
  return static_cast<int>(version.Int(0, 0));
}

Status PgMigrateTo(PgConnection& conn, int version) {
  LINE_RETURN_IF_ERROR(EnsureVersionTable(conn));
  LINE_ASSIGN_OR_RETURN(int current, PgSchemaVersion(conn));
  if (current > LatestPgSchemaVersion()) {
    return Status::Internal("postgres: database schema version " + std::to_string(current) +
                            " is newer than this build's " +
                            std::to_string(LatestPgSchemaVersion()));
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version > version) break;
    if (migration.version > current) LINE_RETURN_IF_ERROR(Apply(conn, migration));
  }
  return Status::Ok();
}

Status PgMigrate(PgConnection& conn) { return PgMigrateTo(conn, LatestPgSchemaVersion()); }

}  // namespace line::postgres
