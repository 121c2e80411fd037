// Every SQL statement the embedded store runs, by name, in one table. Connections prepare them
// once and reuse them; tests walk the table to EXPLAIN QUERY PLAN each one. The store answers
// every query from memory (store/memory/), so SQL only loads the rows at start-up and writes
// each committed row back by its primary key (docs/decisions/0015-embedded-store-in-memory.md).
//
// Thread-safety: the table is immutable.
#pragma once

#include <cstddef>
#include <span>

namespace line::sqlite {

enum class Sql {
  // Transaction control.
  kBegin,
  kBeginImmediate,
  kCommit,
  kRollback,
  kPing,
  // Start-up: every row of a table.
  kLoadPools,
  kLoadWorkers,
  kLoadReplicas,
  kLoadEvals,
  kLoadAllocs,
  // A committed row's image written, or its deletion, by primary key.
  kPutPool,
  kErasePool,
  kPutWorker,
  kEraseWorker,
  kPutReplica,
  kEraseReplica,
  kPutEval,
  kUpdateEval,  // the mutable columns of an eval already in the file
  kEraseEval,
  kPutAlloc,
  kUpdateAlloc,  // the mutable columns of an alloc already in the file
  kEraseAlloc,
  kCount,  // not a statement: the size of the table
};

struct SqlStatement {
  Sql id;
  const char* name;  // for error messages and test output
  const char* text;
  bool control;  // transaction control: nothing to plan
};

const SqlStatement& SqlFor(Sql id);
std::span<const SqlStatement> AllSql();

}  // namespace line::sqlite
