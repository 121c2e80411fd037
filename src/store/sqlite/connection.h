// One SQLite connection with its cache of prepared statements (one per entry of the statement
// table, prepared on first use and kept until the connection closes).
//
// Thread-safety: not thread-safe. The store gives each connection to one thread at a time
// (the writer thread, or a reader holding it from the pool), which is also why connections
// are opened with SQLITE_OPEN_NOMUTEX.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/sqlite/sql.h"
#include "store/sqlite/statement.h"

struct sqlite3;

namespace line::sqlite {

struct ConnectionOptions {
  bool read_only = false;          // PRAGMA query_only=1: every write fails
  int busy_timeout_ms = 5000;      // how long to wait for another connection's lock
  int64_t cache_size_kib = 65536;  // page cache of this connection
};

class Connection {
 public:
  // Opens (creating if needed) the database file at `path` and applies the pragmas line
  // relies on: WAL journal, synchronous=FULL, busy_timeout, and query_only for readers.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A use of the cached statement `id`; the Query resets it when it goes out of scope.
  Result<Query> Use(Sql id);
  // Runs the cached statement `id`, which takes no parameters.
  Status Run(Sql id);

  // Runs ad-hoc SQL with no parameters (schema changes, pragmas). Not for hot paths.
  Status Exec(std::string_view what, const std::string& sql);
  // The first column of the first row of an ad-hoc query, as text ("" if no row).
  Result<std::string> QueryText(const std::string& sql);
  Result<int64_t> QueryInt(const std::string& sql);

  bool read_only() const { return read_only_; }
  sqlite3* db() const { return db_; }

 private:
  Connection(sqlite3* db, bool read_only) : db_(db), read_only_(read_only) {}

  sqlite3* db_;
  bool read_only_;
  std::array<std::unique_ptr<Statement>, static_cast<size_t>(Sql::kCount)> statements_;
};

}  // namespace line::sqlite
