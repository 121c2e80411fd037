#include "store/postgres/postgres_store.h"

#include <future>
#include <memory>
#include <utility>

#include "store/postgres/pg_schema.h"
#include "store/postgres/pg_tx.h"

namespace line {

using postgres::PgConnection;
using postgres::PgConnectionOptions;
using postgres::PgConnector;
using postgres::PgSql;
using postgres::PostgresTx;

Result<std::unique_ptr<PostgresStore>> OpenPostgresStore(const std::string& url,
                                                         const PostgresStoreOptions& options) {
  PgConnectionOptions conn_options;
  conn_options.application_name = options.application_name;
  {
    // Migrate on a connection of its own: statements can only be prepared once the tables
    // they name exist.
    PgConnectionOptions migrate_options = conn_options;
    migrate_options.prepare = false;
    LINE_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> migrator,
                          PgConnection::Open(url, migrate_options));
    LINE_RETURN_IF_ERROR(postgres::PgMigrate(*migrator));
  }
  auto connector = std::make_unique<PgConnector>(
      url, conn_options, options.clock != nullptr ? options.clock : SystemClock());
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, connector->Connect());
  std::unique_ptr<PostgresStore> store(
      new PostgresStore(std::move(connector), std::move(writer), options));
  // Open one reader now, so that a server readers cannot use fails here and not on first read.
  LINE_RETURN_IF_ERROR(store->Ping());
  return store;
}

PostgresStore::PostgresStore(std::unique_ptr<PgConnector> connector,
                             std::unique_ptr<PgConnection> writer,
                             const PostgresStoreOptions& options)
    : connector_(std::move(connector)),
      readers_(*connector_, options.max_readers),
      writer_(
          [&] {
            auto steps = std::make_unique<postgres::PgCommitSteps>(*connector_, std::move(writer));
            writer_steps_ = steps.get();  // kept for its reconnect count; writer_ owns it
            return steps;
          }(),
          options.max_group_bodies, "postgres: the store is closed") {}

PostgresStore::~PostgresStore() { Close(); }

void PostgresStore::Write(TxBody body, TxDone done) {
  writer_.Write(std::move(body), std::move(done));
}

void PostgresStore::WriteLazy(TxBody body, TxDone done) {
  writer_.Write(std::move(body), std::move(done), /*durable=*/false);
}

Status PostgresStore::Read(const TxBody& body) {
  if (closed_.load()) return Status::Unavailable("postgres: the store is closed");
  return readers_.WithConnection([&body](PgConnection& conn) {
    // REPEATABLE READ: one snapshot, taken at the first statement, for the whole body.
    LINE_RETURN_IF_ERROR(conn.Control(PgSql::kBeginRead));
    PostgresTx tx(conn, /*read_only=*/true);
    Status status = body(tx);
    Status end = conn.Control(PgSql::kCommit);
    if (!end.ok()) {
      if (conn.healthy()) (void)conn.Control(PgSql::kRollback);  // clean for the next borrower
      // A lost connection outranks the body's view: what it read may be incomplete.
      if (status.ok() || end.code() == Code::kStoreUnavailable) status = std::move(end);
    }
    return status;
  });
}

Status PostgresStore::Ping() {
  return Read(
      [](Tx& tx) { return static_cast<PostgresTx&>(tx).connection().Control(PgSql::kPing); });
}

void PostgresStore::Close() {
  closed_.store(true);
  writer_.Close();
}

PostgresStoreStats PostgresStore::Stats() const {
  WriterStats writer = writer_.Stats();
  PostgresStoreStats stats;
  stats.commits = writer.commits;
  stats.bodies = writer.bodies;
  stats.failed_commits = writer.failed_commits;
  stats.reconnects = writer_steps_->reconnects();
  return stats;
}

Result<std::string> PostgresStore::OnWriter(std::function<Result<std::string>(PgConnection&)> fn) {
  std::promise<Result<std::string>> value;
  std::future<Result<std::string>> future = value.get_future();
  // Only the writer thread may touch the writer's connection, so ask it through a body. The
  // body's Tx is a PostgresTx because this store made it.
  auto result = std::make_shared<Result<std::string>>(std::string());
  Write(
      [&fn, result](Tx& tx) {
        *result = fn(static_cast<PostgresTx&>(tx).connection());
        return result->status();
      },
      [&value, result](Status status) {
        if (status.ok()) {
          value.set_value(std::move(*result));
        } else {
          value.set_value(std::move(status));
        }
      });
  return future.get();
}

Result<std::string> PostgresStore::WriterSetting(std::string_view name) {
  bool bare = !name.empty();
  for (char c : name) bare = bare && ((c >= 'a' && c <= 'z') || c == '_');
  if (!bare) {
    return Status::InvalidInput("setting name must be [a-z_]+, got '" + std::string(name) + "'");
  }
  std::string sql = "SHOW " + std::string(name);
  return OnWriter([&sql](PgConnection& conn) -> Result<std::string> {
    LINE_ASSIGN_OR_RETURN(postgres::PgResult rows, conn.Exec("SHOW", sql));
    return rows.Text(0, 0);
  });
}

Result<int> PostgresStore::WriterBackendPid() {
  LINE_ASSIGN_OR_RETURN(std::string pid, OnWriter([](PgConnection& conn) -> Result<std::string> {
                          return std::to_string(conn.backend_pid());
                        }));
  return std::stoi(pid);
}

}  // namespace line
