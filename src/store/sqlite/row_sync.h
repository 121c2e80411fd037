// Between the embedded store's rows in memory (store/memory/mem_tables.h) and its file: every
// row is loaded once at start-up, and each group commit writes the rows its journal names, as
// they stand after the group, by primary key (docs/decisions/0015-embedded-store-in-memory.md).
//
// Thread-safety: stateless functions; the caller owns the connection and holds the tables'
// lock (exclusively, to load).
#pragma once

#include "common/status.h"
#include "store/memory/mem_tables.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/statement_batch.h"

namespace line::sqlite {

// Reads every row of the file into `tables`, which must be empty.
Status LoadRows(Connection& conn, memory::MemTables& tables);

// Writes the current image of every row named in the tables' journal, or deletes it where it
// no longer exists, inside the caller's transaction. Each row is written once however often
// the group changed it.
Status WriteJournalledRows(Connection& conn, const memory::MemTables& tables);

// The same statements, recorded into `out` (appended) to run later, on another thread:
// the rows are read now, while they are as the group left them.
Status RecordJournalledRows(const memory::MemTables& tables, StatementBatch& out);

}  // namespace line::sqlite
