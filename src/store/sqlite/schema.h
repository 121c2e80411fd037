// The store's schema as an ordered list of migrations. PRAGMA user_version records how many
// have been applied; opening a store applies the missing ones, each in its own transaction.
//
// Thread-safety: functions here use the connection they are given, which must not be in use
// by another thread.
#pragma once

#include "common/status.h"
#include "store/sqlite/connection.h"

namespace line::sqlite {

// The version a freshly migrated database has.
int LatestSchemaVersion();

// Brings the database to LatestSchemaVersion(). Fails (kInternal) on a database written by a
// newer line, whose schema this build does not know.
Status Migrate(Connection& conn);

// Applies migrations up to `version` only; for tests that need a database at an older
// version.
Status MigrateTo(Connection& conn, int version);

// The database's PRAGMA user_version.
Result<int> SchemaVersion(Connection& conn);

}  // namespace line::sqlite
