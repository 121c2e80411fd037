#include "testing/test_postgres.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

namespace line::testing {
namespace {

std::string ScriptPath() {
#ifdef LINE_SOURCE_DIR
  return std::string(LINE_SOURCE_DIR) + "/scripts/test-postgres.sh";
#else
  return "scripts/test-postgres.sh";
#endif
}

// Runs `command` through the shell; its stdout and stderr together, and its exit code.
struct CommandOutput {
  int exit_code = -1;
  std::string output;
};

CommandOutput RunCommand(const std::string& command) {
  CommandOutput result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    result.output = "popen failed for: " + command;
    return result;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string ShellQuote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::string TestPgServerUrl() {
  const char* url = std::getenv("LINE_TEST_PG");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "LINE_TEST_PG is not set. The cluster tests need a PostgreSQL server: run "
                     "`make test` (it starts a throwaway one), or start one with "
                     "`eval \"$(scripts/test-postgres.sh start)\"`, or set "
                     "LINE_TEST_PG=postgresql://user@host:port/db yourself.";
    return "";
  }
  return url;
}

std::string UrlWithSearchPath(const std::string& server, const std::string& schema) {
  bool uri = server.starts_with("postgresql://") || server.starts_with("postgres://");
  if (uri) {
    return server + (server.find('?') == std::string::npos ? "?" : "&") +
           "options=-csearch_path%3D" + schema;
  }
  return server + " options='-csearch_path=" + schema + "'";
}

ScopedPgSchema::ScopedPgSchema(const std::string& server) : server_(server) {
  if (server_.empty()) {
    error_ = "no PostgreSQL server to make a schema on";
    return;
  }
  std::random_device random;
  name_ = "line_c" + std::to_string(::getpid()) + "_" + std::to_string(random() % 1000000000);
  Result<std::string> made =
      QueryValue("SET client_min_messages = warning; CREATE SCHEMA " + name_ + "; SELECT 'made'");
  if (!made.ok()) {
    error_ = "CREATE SCHEMA " + name_ + " on " + server_ + ": " + made.status().message();
    return;
  }
  url_ = UrlWithSearchPath(server_, name_);
}

ScopedPgSchema::~ScopedPgSchema() {
  if (!url_.empty()) {
    Result<std::string> dropped = QueryValue("DROP SCHEMA " + name_ + " CASCADE; SELECT 'gone'");
    if (!dropped.ok()) {
      ADD_FAILURE() << "DROP SCHEMA " << name_ << ": " << dropped.status().message();
    }
  }
  if (admin_ != nullptr) PQfinish(admin_);
}

Result<std::string> ScopedPgSchema::QueryValue(const std::string& sql) {
  Result<std::string> first = QueryOnce(sql);
  if (first.ok() || (admin_ != nullptr && PQstatus(admin_) == CONNECTION_OK)) return first;
  // The session is gone (the server restarted, or ended it): once more on a new one.
  if (admin_ != nullptr) PQfinish(admin_);
  admin_ = nullptr;
  return QueryOnce(sql);
}

Result<std::string> ScopedPgSchema::QueryOnce(const std::string& sql) {
  if (admin_ == nullptr) {
    admin_ = PQconnectdb(server_.c_str());
    if (PQstatus(admin_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(admin_);
      PQfinish(admin_);
      admin_ = nullptr;
      return Status::Unavailable("connect: " + why);
    }
    PQclear(PQexec(admin_, "SET client_min_messages = warning"));
  }
  // PQexec runs every statement of `sql` and returns the last one's result.
  PGresult* result = PQexec(admin_, sql.c_str());
  ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string why = PQerrorMessage(admin_);
    PQclear(result);
    return Status::Internal(sql + ": " + why);
  }
  std::string value =
      PQntuples(result) > 0 && PQnfields(result) > 0 ? PQgetvalue(result, 0, 0) : "";
  PQclear(result);
  return value;
}

PrivatePostgres::~PrivatePostgres() {
  if (dir_.empty()) return;
  CommandOutput stopped = RunCommand(ScriptPath() + " stop " + ShellQuote(dir_));
  if (stopped.exit_code != 0) {
    ADD_FAILURE() << "test-postgres.sh stop " << dir_ << " failed: " << stopped.output;
  }
}

Status PrivatePostgres::Start() {
  if (!dir_.empty()) return Status::Internal("the private PostgreSQL is already running");
  CommandOutput started = RunCommand(ScriptPath() + " start");
  std::istringstream lines(started.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("LINE_TEST_PG=")) url_ = line.substr(13);
    if (line.starts_with("LINE_TEST_PG_DIR=")) dir_ = line.substr(17);
  }
  if (started.exit_code != 0 || url_.empty() || dir_.empty()) {
    return Status::Internal(
        "`" + ScriptPath() + " start` exited with " + std::to_string(started.exit_code) +
        " (the postgresql package must be installed: make deps); it said:\n" + started.output);
  }
  return Status::Ok();
}

Status PrivatePostgres::Halt() { return RunScript("halt"); }

Status PrivatePostgres::Resume() { return RunScript("resume"); }

Status PrivatePostgres::RunScript(const std::string& command) {
  if (dir_.empty()) return Status::Internal("the private PostgreSQL was not started");
  CommandOutput ran = RunCommand(ScriptPath() + " " + command + " " + ShellQuote(dir_));
  if (ran.exit_code != 0) {
    return Status::Internal("test-postgres.sh " + command + " " + dir_ + " exited with " +
                            std::to_string(ran.exit_code) + ": " + ran.output);
  }
  return Status::Ok();
}

}  // namespace line::testing
