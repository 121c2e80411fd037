// Reading result rows into model values. Column order is the LINE_*_COLUMNS lists of
// pg_sql.cc.
//
// Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "common/status.h"
#include "model/model.h"
#include "store/postgres/pg_connection.h"

namespace line::postgres {

Result<Pool> ReadPool(const PgResult& rows, int row);
Result<Worker> ReadWorker(const PgResult& rows, int row);
Result<Replica> ReadReplica(const PgResult& rows, int row);
Result<Eval> ReadEval(const PgResult& rows, int row);
Result<Alloc> ReadAlloc(const PgResult& rows, int row);

// Every row of `rows`, read with `read`.
template <typename T>
Result<std::vector<T>> CollectRows(const PgResult& rows, Result<T> (*read)(const PgResult&, int)) {
  std::vector<T> values;
  values.reserve(static_cast<size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) {
    LINE_ASSIGN_OR_RETURN(T value, read(rows, row));
    values.push_back(std::move(value));
  }
  return values;
}

// The first row of `rows`, if any.
template <typename T>
Result<std::optional<T>> FirstRow(const PgResult& rows, Result<T> (*read)(const PgResult&, int)) {
  if (rows.rows() == 0) return std::optional<T>();
  LINE_ASSIGN_OR_RETURN(T value, read(rows, 0));
  return std::optional<T>(std::move(value));
}

}  // namespace line::postgres
