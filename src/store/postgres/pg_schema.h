// The PostgreSQL store's schema: an ordered list of migrations and the version a database is
// at (table line_schema). See docs/decisions/0004-postgres-store.md.
//
// Thread-safety: functions over one connection, used by one thread. Concurrent migrations
// from several processes are serialised by an advisory lock inside each migration.
#pragma once

#include "common/status.h"
#include "store/postgres/pg_connection.h"

namespace line::postgres {

int LatestPgSchemaVersion();
// 0 for a database line has never touched.
Result<int> PgSchemaVersion(PgConnection& conn);
// Applies migrations up to and including `version` (tests use it to build an older database).
Status PgMigrateTo(PgConnection& conn, int version);
// Applies every migration; a database newer than this build is refused with kInternal.
Status PgMigrate(PgConnection& conn);

}  // namespace line::postgres
