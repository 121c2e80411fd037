// RAII over sqlite3_stmt: `Statement` owns a prepared statement for the life of its
// connection; `Query` is one use of it, which resets the statement and clears its bindings
// when it goes out of scope, so a cached statement is always ready for the next use and never
// holds a read snapshot open.
//
// Thread-safety: neither is thread-safe; both belong to the thread using their connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace line::sqlite {

class Statement {
 public:
  Statement(sqlite3_stmt* stmt, const char* name) : stmt_(stmt), name_(name) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt* get() const { return stmt_; }
  const char* name() const { return name_; }

 private:
  sqlite3_stmt* stmt_;
  const char* name_;  // static storage: a name from the statement table
};

// Binds parameters (1-based, as in SQL's ?1), steps and reads columns. Text is bound with
// SQLITE_STATIC: the caller's buffers outlive the Query, which clears the bindings before the
// buffers can go away, so no copy is made.
class Query {
 public:
  Query(sqlite3* db, const Statement& statement)
      : db_(db), stmt_(statement.get()), name_(statement.name()) {}
  ~Query();
  // Movable so that it can travel in a Result; the moved-from Query resets nothing.
  Query(Query&& other) noexcept
      : db_(other.db_), stmt_(other.stmt_), name_(other.name_), bind_rc_(other.bind_rc_) {
    other.stmt_ = nullptr;
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query& operator=(Query&&) = delete;

  Query& Bind(int index, std::string_view text);
  Query& Bind(int index, int64_t value);
  Query& BindNull(int index);
  // Binds NULL for an empty string (columns where "none" must not collide in a unique index).
  Query& BindTextOrNull(int index, std::string_view text);
  Query& BindOptional(int index, const std::optional<int64_t>& value);

  // True when a row is ready to read, false when the statement is done.
  Result<bool> Step();
  // Steps to completion, ignoring any rows.
  Status Run();

  int64_t Int(int column) const;
  bool Bool(int column) const { return Int(column) != 0; }
  std::string Text(int column) const;
  bool IsNull(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const char* name_;
  int bind_rc_ = 0;  // the first failed bind, reported by the next Step()
};

}  // namespace line::sqlite
