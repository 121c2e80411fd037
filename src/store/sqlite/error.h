// How a SQLite result code becomes a Status: problems of the environment (I/O, a full disk,
// a busy or locked database) are kStoreUnavailable, everything else (constraint violations,
// misuse, bad SQL) is kInternal, a bug.
#pragma once

#include <string_view>

#include "common/status.h"

struct sqlite3;

namespace line::sqlite {

// `what` names the statement or step that failed; the message adds sqlite's errmsg for `db`
// (which may be null when opening failed before a handle existed).
Status SqliteError(sqlite3* db, int rc, std::string_view what);

// True for result codes that mean "the store cannot be reached" rather than "a bug".
bool IsUnavailableCode(int rc);

}  // namespace line::sqlite
