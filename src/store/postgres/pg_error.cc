#include "store/postgres/pg_error.h"

#include <string>

namespace line::postgres {

namespace {
// libpq's messages span lines ("...\n\tThis probably means..."); ours are one line, as they
// end up in logs and in JSON error bodies.
std::string Trimmed(const char* message) {
  std::string text;
  for (const char* c = message != nullptr ? message : ""; *c != '\0'; ++c) {
    bool space = *c == '\n' || *c == '\t' || *c == ' ';
    if (!space) {
      text += *c;
    } else if (!text.empty() && text.back() != ' ') {
      text += ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}
}  // namespace

bool IsTransientSqlState(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return false;
  std::string_view cls = sqlstate.substr(0, 2);
  return cls == "08"              // connection exception
         || cls == "53"           // insufficient resources (disk full, too many connections)
         || cls == "58"           // system error (I/O)
         || sqlstate == "57P01"   // admin_shutdown, e.g. pg_terminate_backend
         || sqlstate == "57P02"   // crash_shutdown
         || sqlstate == "57P03"   // cannot_connect_now (starting up, shutting down)
         || sqlstate == "40001"   // serialization_failure
         || sqlstate == "40P01"   // deadlock_detected
         || sqlstate == "55P03";  // lock_not_available
}

bool SessionLost(PGconn* conn, const PGresult* result) {
  if (result == nullptr || PQstatus(conn) != CONNECTION_OK) return true;
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  if (state == nullptr) return true;
  std::string_view code(state);
  return code.starts_with("08") || code.starts_with("57P");
}

Status PgStatus(std::string_view what, PGconn* conn, const PGresult* result) {
  std::string prefix = "postgres: " + std::string(what) + ": ";
  if (result == nullptr) {
    return Status::Unavailable(prefix + Trimmed(PQerrorMessage(conn)));
  }
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string message = Trimmed(PQresultErrorMessage(result));
  if (message.empty()) message = Trimmed(PQerrorMessage(conn));
  // No SQLSTATE means libpq itself failed (the socket closed): an outage.
  if (state == nullptr || PQstatus(conn) != CONNECTION_OK || IsTransientSqlState(state)) {
    return Status::Unavailable(prefix + message);
  }
  return Status::Internal(prefix + message + " (SQLSTATE " + state + ")");
}

}  // namespace line::postgres
