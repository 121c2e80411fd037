// PostgreSQL for end-to-end tests of several lined nodes: the shared test server (LINE_TEST_PG),
// a schema of a test's own on it, and a private server a test may restart
// (scripts/test-postgres.sh).
//
// Talks to PostgreSQL with plain libpq, not through src/store/postgres, so the tests do not
// share code with what they test. Not thread-safe: each object belongs to the test's main thread.
#pragma once

#include <libpq-fe.h>

#include <string>

#include "common/status.h"

namespace line::testing {

// LINE_TEST_PG. When it is unset, records a test failure that says how to get a server and
// returns "": the PostgreSQL tests never skip.
std::string TestPgServerUrl();

// `server` (a postgresql:// URL or a conninfo string) with search_path set to `schema`: the
// store URL of a lined that is to work in that schema.
std::string UrlWithSearchPath(const std::string& server, const std::string& schema);

// A fresh schema on `server`, dropped with everything in it when the object goes. Several
// lined started on url() form one cluster; tests in other schemas do not see them.
class ScopedPgSchema {
 public:
  explicit ScopedPgSchema(const std::string& server);
  ~ScopedPgSchema();
  ScopedPgSchema(const ScopedPgSchema&) = delete;
  ScopedPgSchema& operator=(const ScopedPgSchema&) = delete;

  bool ok() const { return !url_.empty(); }
  // Why ok() is false.
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }
  // The first column of the first row of `sql` as text, run on a connection of the test's own
  // (reconnected once when the server ended it, e.g. after a restart).
  Result<std::string> QueryValue(const std::string& sql);

 private:
  Result<std::string> QueryOnce(const std::string& sql);

  std::string server_;
  std::string name_;
  std::string url_;
  std::string error_;
  PGconn* admin_ = nullptr;  // owned; on the server's default schema
};

// A PostgreSQL of the test's own, started by scripts/test-postgres.sh in a temporary folder on
// a free port and stopped (folder removed) on destruction. For tests that restart the server.
class PrivatePostgres {
 public:
  PrivatePostgres() = default;
  ~PrivatePostgres();
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  // initdb and start; the message says what the script printed on failure.
  Status Start();
  // Fast shutdown, keeping the data: every session is cut and connections are refused.
  Status Halt();
  // Up again after Halt() on the same port and data; returns once it accepts connections.
  Status Resume();
  const std::string& url() const { return url_; }
  const std::string& dir() const { return dir_; }

 private:
  Status RunScript(const std::string& command);

  std::string url_;
  std::string dir_;
};

}  // namespace line::testing
