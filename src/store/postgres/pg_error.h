// How a libpq failure becomes a Status: an outage (the server or the session is gone, or a
// transient conflict) is kStoreUnavailable, so callers answer 503 and clients retry; anything
// else (a constraint violation, bad SQL) is a bug, kInternal.
//
// Thread-safety: stateless functions.
#pragma once

#include <libpq-fe.h>

#include <string_view>

#include "common/status.h"

namespace line::postgres {

// True for SQLSTATEs that say "try again later", not "this request is wrong".
bool IsTransientSqlState(std::string_view sqlstate);

// True when the session itself is gone (no result, the socket closed, a connection-class or
// shutdown SQLSTATE): the connection must be replaced. A deadlock is transient, not this.
bool SessionLost(PGconn* conn, const PGresult* result);

// The Status for a command named `what` that ended with `result` (may be null) on `conn`.
Status PgStatus(std::string_view what, PGconn* conn, const PGresult* result);

}  // namespace line::postgres
