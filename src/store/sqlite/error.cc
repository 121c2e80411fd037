#include "store/sqlite/error.h"

#include <sqlite3.h>

#include <string>

namespace line::sqlite {

bool IsUnavailableCode(int rc) {
  switch (rc & 0xff) {  // the primary code; extended codes refine it
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return true;
    default:
      return false;
  }
}

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: ";
  message.append(what);
  message += ": ";
  // errmsg describes the most recent failure on the handle, which is the one being reported;
  // errstr is the generic text when there is no handle.
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (code " + std::to_string(rc) + ")";
  return IsUnavailableCode(rc) ? Status::Unavailable(std::move(message))
                               : Status::Internal(std::move(message));
}

}  // namespace line::sqlite
