// Reading result rows into model values. Column order is the LINE_*_COLUMNS lists of sql.cc.
//
// Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "common/status.h"
#include "model/model.h"
#include "store/sqlite/statement.h"

namespace line::sqlite {

Result<Pool> ReadPool(const Query& row);
Result<Worker> ReadWorker(const Query& row);
Result<Replica> ReadReplica(const Query& row);
Result<Eval> ReadEval(const Query& row);
Result<Alloc> ReadAlloc(const Query& row);

// Every remaining row of `query`, read with `read`.
template <typename T>
Result<std::vector<T>> CollectRows(Query& query, Result<T> (*read)(const Query&)) {
  std::vector<T> rows;
  while (true) {
    LINE_ASSIGN_OR_RETURN(bool more, query.Step());
    if (!more) return rows;
    LINE_ASSIGN_OR_RETURN(T value, read(query));
    rows.push_back(std::move(value));
  }
}

// The first row of `query`, if any.
template <typename T>
Result<std::optional<T>> FirstRow(Query& query, Result<T> (*read)(const Query&)) {
  LINE_ASSIGN_OR_RETURN(bool found, query.Step());
  if (!found) return std::optional<T>();
  LINE_ASSIGN_OR_RETURN(T value, read(query));
  return std::optional<T>(std::move(value));
}

}  // namespace line::sqlite
