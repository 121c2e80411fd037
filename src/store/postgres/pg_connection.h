// One libpq connection, with the store's named statements prepared on it, plus the small
// value types the PostgreSQL store passes through it (parameters and results).
//
// Thread-safety: not thread-safe. A connection belongs to one thread at a time: the writer
// thread, or the reader that borrowed it from the pool.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/postgres/pg_sql.h"

namespace line::postgres {

// Text-format parameters for one statement, in $1, $2, ... order.
class PgParams {
 public:
  PgParams& Add(std::string_view text);
  PgParams& Add(int64_t value);
  PgParams& AddBool(bool value);
  PgParams& AddNull();
  PgParams& AddOptional(const std::optional<int64_t>& value);
  // SQL NULL for "", as for an absent idempotency key.
  PgParams& AddTextOrNull(std::string_view text);

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid while it lives and is not changed.
  std::vector<const char*> Pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// An owned PGresult with typed accessors for text-format columns.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;  // NULL reads as ""
  int64_t Int(int row, int col) const;       // NULL reads as 0
  bool Bool(int row, int col) const;         // 't' is true
  std::optional<int64_t> OptionalInt(int row, int col) const;
  // Parameters of a described prepared statement (PQdescribePrepared).
  int params() const { return PQnparams(result_.get()); }
  // Rows an INSERT, UPDATE or DELETE changed.
  int64_t Affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

struct PgConnectionOptions {
  // Sets application_name, so operators (and tests) can find this store's backends in
  // pg_stat_activity. Empty: the URL's application_name, or "lined".
  std::string application_name;
  // Prepare every statement of pg_sql.h once connected. Off only for the connection that
  // migrates, which runs before the tables exist.
  bool prepare = true;
};

class PgConnection {
 public:
  // Connects to `url` (a postgresql:// URI or a libpq conninfo string). Failure to reach the
  // server is kStoreUnavailable; messages never carry the password.
  static Result<std::unique_ptr<PgConnection>> Open(const std::string& url,
                                                    const PgConnectionOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs the prepared statement `id`.
  Result<PgResult> Run(PgSql id, const PgParams& params = PgParams());
  // Runs a transaction-control statement of the table (simple protocol, not prepared).
  Status Control(PgSql id);
  // Runs `sql` (one or more statements, no parameters); `what` names it in errors.
  Result<PgResult> Exec(std::string_view what, const std::string& sql);
  // Runs one unprepared statement with text parameters $1, $2, ...
  Result<PgResult> ExecParams(std::string_view what, const std::string& sql,
                              const PgParams& params);
  Status Prepare(PgSql id);

  // False once the server went away or an error said the session is gone: the owner must
  // drop this connection and open another.
  bool healthy() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }
  // healthy(), after reading whatever the server sent while the connection sat idle: a
  // server that terminated the session (pg_terminate_backend, restart) has said so and
  // closed the socket, and an idle connection learns it here rather than on the next call.
  bool CheckIdle();
  int backend_pid() const { return PQbackendPID(conn_); }
  // The SQLSTATE of the last statement that failed on this connection ("" if none did).
  const std::string& last_error_state() const { return last_error_state_; }
  void ClearLastError() { last_error_state_.clear(); }
  // For owners that read the socket themselves (LISTEN): what they saw ends the session.
  void MarkBroken() { broken_ = true; }
  PGconn* raw() { return conn_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  static void OnNotice(void* self, const char* message);
  // Turns a finished command into a result or the Status it deserves.
  Result<PgResult> Check(std::string_view what, PGresult* result);

  PGconn* conn_;
  bool broken_ = false;
  std::string last_error_state_;
};

}  // namespace line::postgres
