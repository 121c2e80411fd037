#include "store/sqlite/sqlite_store.h"

#include <future>
#include <memory>
#include <utility>

#include "common/log.h"
#include "store/sqlite/commit_steps.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_tx.h"

namespace line {

using sqlite::Connection;
using sqlite::ConnectionOptions;
using sqlite::Sql;
using sqlite::SqliteTx;

Result<std::unique_ptr<SqliteStore>> OpenSqliteStore(const std::string& path,
                                                     const SqliteStoreOptions& options) {
  ConnectionOptions writer_options;
  writer_options.busy_timeout_ms = options.busy_timeout_ms;
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::Open(path, writer_options));
  LINE_RETURN_IF_ERROR(sqlite::Migrate(*writer));
  // WAL checkpoints run on a thread of their own, not inside the writer's commits.
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> checkpoint_conn,
                        Connection::Open(path, writer_options));
  auto checkpointer = std::make_unique<sqlite::Checkpointer>(std::move(checkpoint_conn),
                                                             options.checkpoint_frames);
  checkpointer->Attach(writer->db());
  std::unique_ptr<SqliteStore> store(
      new SqliteStore(path, std::move(writer), std::move(checkpointer), options));
  // Open one reader now, so that a file readers cannot use fails here and not on first read.
  LINE_RETURN_IF_ERROR(store->Ping());
  return store;
}

SqliteStore::SqliteStore(std::string path, std::unique_ptr<Connection> writer,
                         std::unique_ptr<sqlite::Checkpointer> checkpointer,
                         const SqliteStoreOptions& options)
    : path_(std::move(path)),
      readers_(path_, options.busy_timeout_ms, options.max_readers),
      checkpointer_(std::move(checkpointer)),
      writer_(std::make_unique<sqlite::SqliteCommitSteps>(std::move(writer), checkpointer_.get()),
              options.max_group_bodies, "sqlite: the store is closed") {}

SqliteStore::~SqliteStore() { Close(); }

void SqliteStore::Write(TxBody body, TxDone done) {
  writer_.Write(std::move(body), std::move(done));
}

void SqliteStore::WriteLazy(TxBody body, TxDone done) {
  writer_.Write(std::move(body), std::move(done), /*durable=*/false);
}

Status SqliteStore::Read(const TxBody& body) {
  if (closed_.load()) return Status::Unavailable("sqlite: the store is closed");
  return readers_.WithConnection([&body](Connection& conn) {
    // A deferred BEGIN takes its snapshot at the first read and keeps it to COMMIT, so every
    // statement of the body sees the same committed state.
    LINE_RETURN_IF_ERROR(conn.Run(Sql::kBegin));
    SqliteTx tx(conn);
    Status status = body(tx);
    Status end = conn.Run(Sql::kCommit);
    if (!end.ok()) {
      (void)conn.Run(Sql::kRollback);  // leave the connection clean for its next borrower
      if (status.ok()) status = std::move(end);
    }
    return status;
  });
}

Status SqliteStore::Ping() {
  return Read([](Tx& tx) { return static_cast<SqliteTx&>(tx).connection().Run(Sql::kPing); });
}

void SqliteStore::Close() {
  const bool was_closed = closed_.exchange(true);
  writer_.Close();
  checkpointer_->Stop();  // after the writer's last commit: one last checkpoint
  if (!was_closed) {
    spdlog::info("sqlite: {} WAL checkpoints, {} of them finished on the writer",
                 checkpointer_->checkpoints(), checkpointer_->finished_on_writer());
  }
}

SqliteStoreStats SqliteStore::Stats() const {
  WriterStats writer = writer_.Stats();
  SqliteStoreStats stats;
  stats.commits = writer.commits;
  stats.bodies = writer.bodies;
  stats.failed_commits = writer.failed_commits;
  stats.checkpoints = checkpointer_->checkpoints();
  stats.checkpoints_finished_on_writer = checkpointer_->finished_on_writer();
  stats.lazy_commits = writer.lazy_commits;
  stats.savepoint_reruns = writer.savepoint_reruns;
  return stats;
}

Result<std::string> SqliteStore::WriterPragma(std::string_view name) {
  bool bare = !name.empty();
  for (char c : name) bare = bare && ((c >= 'a' && c <= 'z') || c == '_');
  if (!bare)
    return Status::InvalidInput("pragma name must be [a-z_]+, got '" + std::string(name) + "'");
  std::string sql = "PRAGMA " + std::string(name);
  std::promise<Result<std::string>> value;
  std::future<Result<std::string>> future = value.get_future();
  // Only the writer thread may touch the writer's connection, so ask it through a body. The
  // body's Tx is a SqliteTx because this store made it.
  auto result = std::make_shared<Result<std::string>>(std::string());
  Write(
      [&sql, result](Tx& tx) {
        *result = static_cast<SqliteTx&>(tx).connection().QueryText(sql);
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

}  // namespace line
