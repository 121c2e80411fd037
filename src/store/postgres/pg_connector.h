// Opens connections to one database for the store: the URL, the connection options and the
// shared reconnect backoff in one place, so the writer and the readers reconnect alike.
//
// Thread-safety: thread-safe (constant after construction; the backoff locks itself).
#pragma once

#include <memory>
#include <string>

#include "store/postgres/pg_connection.h"
#include "store/postgres/reconnect_backoff.h"

namespace line::postgres {

class PgConnector {
 public:
  PgConnector(std::string url, PgConnectionOptions options, Clock* clock)
      : url_(std::move(url)), options_(std::move(options)), backoff_(clock) {}

  // A new connection with every statement prepared, or kStoreUnavailable (at once while the
  // backoff says to wait).
  Result<std::unique_ptr<PgConnection>> Connect();

  ReconnectBackoff& backoff() { return backoff_; }

 private:
  const std::string url_;  // holds the password: never logged
  const PgConnectionOptions options_;
  ReconnectBackoff backoff_;
};

}  // namespace line::postgres
