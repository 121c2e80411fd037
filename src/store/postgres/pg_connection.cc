#include "store/postgres/pg_connection.h"

#include <cstdlib>
#include <utility>

#include "store/postgres/pg_error.h"

namespace line::postgres {

// --- PgParams ---

PgParams& PgParams::Add(std::string_view text) {
  values_.emplace_back(text);
  null_.push_back(false);
  return *this;
}

PgParams& PgParams::Add(int64_t value) { return Add(std::to_string(value)); }

PgParams& PgParams::AddBool(bool value) { return Add(value ? "t" : "f"); }

PgParams& PgParams::AddNull() {
  values_.emplace_back();
  null_.push_back(true);
  return *this;
}

PgParams& PgParams::AddOptional(const std::optional<int64_t>& value) {
  return value ? Add(*value) : AddNull();
}

PgParams& PgParams::AddTextOrNull(std::string_view text) {
  return text.empty() ? AddNull() : Add(text);
}

std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> pointers;
  pointers.reserve(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    pointers.push_back(null_[i] ? nullptr : values_[i].c_str());
  }
  return pointers;
}

// --- PgResult ---

std::string PgResult::Text(int row, int col) const {
  if (IsNull(row, col)) return "";
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtoll(PQgetvalue(result_.get(), row, col), nullptr, 10);
}

bool PgResult::Bool(int row, int col) const {
  return !IsNull(row, col) && PQgetvalue(result_.get(), row, col)[0] == 't';
}

std::optional<int64_t> PgResult::OptionalInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

int64_t PgResult::Affected() const {
  const char* tuples = PQcmdTuples(result_.get());
  return tuples[0] == '\0' ? 0 : std::strtoll(tuples, nullptr, 10);
}

// --- PgConnection ---

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& url,
                                                         const PgConnectionOptions& options) {
  // expand_dbname: `url` is a URI or conninfo; the keywords after it override or complete it.
  // connect_timeout bounds how long a call waits for a server that does not answer at all.
  std::vector<const char*> keys = {"dbname", "fallback_application_name", "connect_timeout"};
  std::vector<const char*> values = {url.c_str(), "lined", "5"};
  if (!options.application_name.empty()) {
    keys.push_back("application_name");
    values.push_back(options.application_name.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (raw == nullptr) return Status::Unavailable("postgres: connect: out of memory");
  std::unique_ptr<PgConnection> conn(new PgConnection(raw));
  PQsetNoticeProcessor(raw, &PgConnection::OnNotice, conn.get());
  if (PQstatus(raw) != CONNECTION_OK) {
    // libpq's message names host and port, never the password.
    return PgStatus("connect", raw, nullptr);
  }
  // Durable before acknowledged, whatever the server's default says; and times compare as
  // plain integers, so no session setting changes a query's meaning.
  LINE_RETURN_IF_ERROR(conn->Exec("session setup", "SET synchronous_commit = on").status());
  if (options.prepare) {
    for (const PgStatement& statement : AllPgSql()) {
      if (!statement.control) LINE_RETURN_IF_ERROR(conn->Prepare(statement.id));
    }
  }
  return conn;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

void PgConnection::OnNotice(void* self, const char* message) {
  // Notices are not for lined's log (libpq would print them on stderr). A FATAL one arrives
  // when the server ends an idle session: the socket closes right behind it.
  if (std::string_view(message).starts_with("FATAL"))
    static_cast<PgConnection*>(self)->broken_ = true;
}

bool PgConnection::CheckIdle() {
  // Reads only what is already there (never blocks). PQisBusy then parses it, which hands a
  // FATAL goodbye to OnNotice even when the end of the stream has not arrived behind it.
  if (healthy() && PQconsumeInput(conn_) == 0) broken_ = true;
  if (healthy()) (void)PQisBusy(conn_);
  return healthy();
}

Result<PgResult> PgConnection::Check(std::string_view what, PGresult* result) {
  ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(result);
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  last_error_state_ = state != nullptr ? state : "";
  Status error = PgStatus(what, conn_, result);
  // After a lost session nothing can be trusted to be where we think it is (a COMMIT may or
  // may not have happened): the owner replaces the connection.
  if (SessionLost(conn_, result)) broken_ = true;
  if (result != nullptr) PQclear(result);
  return error;
}

Status PgConnection::Prepare(PgSql id) {
  const PgStatement& statement = PgSqlFor(id);
  return Check(statement.name, PQprepare(conn_, statement.name, statement.text, 0, nullptr))
      .status();
}

Result<PgResult> PgConnection::Run(PgSql id, const PgParams& params) {
  const PgStatement& statement = PgSqlFor(id);
  std::vector<const char*> values = params.Pointers();
  return Check(statement.name, PQexecPrepared(conn_, statement.name, params.size(), values.data(),
                                              nullptr, nullptr, /*text=*/0));
}

Status PgConnection::Control(PgSql id) {
  const PgStatement& statement = PgSqlFor(id);
  return Check(statement.name, PQexec(conn_, statement.text)).status();
}

Result<PgResult> PgConnection::Exec(std::string_view what, const std::string& sql) {
  return Check(what, PQexec(conn_, sql.c_str()));
}

Result<PgResult> PgConnection::ExecParams(std::string_view what, const std::string& sql,
                                          const PgParams& params) {
  std::vector<const char*> values = params.Pointers();
  return Check(what, PQexecParams(conn_, sql.c_str(), params.size(), nullptr, values.data(),
                                  nullptr, nullptr, /*text=*/0));
}

}  // namespace line::postgres
