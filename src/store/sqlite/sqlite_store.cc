#include "store/sqlite/sqlite_store.h"

#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "common/log.h"
#include "store/memory/mem_tx.h"
#include "store/sqlite/commit_steps.h"
#include "store/sqlite/row_sync.h"
#include "store/sqlite/schema.h"

namespace line {

using sqlite::Connection;
using sqlite::ConnectionOptions;
using sqlite::Sql;

Result<std::unique_ptr<SqliteStore>> OpenSqliteStore(const std::string& path,
                                                     const SqliteStoreOptions& options) {
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::FileLock> lock, sqlite::FileLock::Take(path));
  ConnectionOptions writer_options;
  writer_options.busy_timeout_ms = options.busy_timeout_ms;
  // The writer's page cache holds pages being appended to; rows are read from memory.
  writer_options.cache_size_kib = 2048;
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::Open(path, writer_options));
  LINE_RETURN_IF_ERROR(sqlite::Migrate(*writer));
  auto tables = std::make_unique<memory::MemTables>();
  LINE_RETURN_IF_ERROR(writer->Run(Sql::kBegin));
  Status loaded = sqlite::LoadRows(*writer, *tables);
  (void)writer->Run(Sql::kCommit);  // a read transaction: nothing to lose
  LINE_RETURN_IF_ERROR(loaded);
  // The CHECKs of the tables are kept in memory (MemTx refuses a free outside [0, capacity];
  // states are enums). Evaluated here too, `state IN (...)` made SQLite build a temporary
  // table for every eval and alloc it wrote: a quarter of the commit's time.
  LINE_RETURN_IF_ERROR(
      writer->Exec("ignore_check_constraints", "PRAGMA ignore_check_constraints = ON"));
  // WAL checkpoints run on a thread of their own, not inside the writer's commits.
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> checkpoint_conn,
                        Connection::Open(path, writer_options));
  auto checkpointer = std::make_unique<sqlite::Checkpointer>(std::move(checkpoint_conn),
                                                             options.checkpoint_frames);
  checkpointer->Attach(writer->db());
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, std::move(lock), std::move(tables),
                                                     std::move(writer), std::move(checkpointer),
                                                     options));
  // Open one reader now, so that a file readers cannot use fails here and not on first read.
  LINE_RETURN_IF_ERROR(store->Ping());
  return store;
}

namespace {
std::unique_ptr<sqlite::SqliteCommitSteps> MakeSteps(std::unique_ptr<Connection> writer,
                                                     sqlite::Checkpointer* checkpointer,
                                                     memory::MemTables& tables,
                                                     memory::StateLock& lock,
                                                     const std::atomic<int>& readers_waiting,
                                                     sqlite::SqliteCommitSteps** steps) {
  auto made = std::make_unique<sqlite::SqliteCommitSteps>(std::move(writer), checkpointer, tables,
                                                          lock, readers_waiting);
  *steps = made.get();
  return made;
}
}  // namespace

SqliteStore::SqliteStore(std::string path, std::unique_ptr<sqlite::FileLock> lock,
                         std::unique_ptr<memory::MemTables> tables,
                         std::unique_ptr<Connection> writer,
                         std::unique_ptr<sqlite::Checkpointer> checkpointer,
                         const SqliteStoreOptions& options)
    : path_(std::move(path)),
      lock_(std::move(lock)),
      readers_(path_, options.busy_timeout_ms, options.max_readers),
      tables_(std::move(tables)),
      checkpointer_(std::move(checkpointer)),
      writer_(MakeSteps(std::move(writer), checkpointer_.get(), *tables_, state_lock_,
                        readers_waiting_, &steps_),
              options.max_group_bodies, "sqlite: the store is closed",
              options.pipeline_min_body_time) {}

SqliteStore::~SqliteStore() { Close(); }

void SqliteStore::Write(TxBody body, TxDone done) {
  writer_.Write(std::move(body), std::move(done));
}

void SqliteStore::WriteLazy(TxBody body, TxDone done) {
  writer_.Write(std::move(body), std::move(done), /*durable=*/false);
}

Status SqliteStore::Read(const TxBody& body) {
  if (closed_.load()) return Status::Unavailable("sqlite: the store is closed");
  // The writer holds the lock from its first change until everything it changed is durable,
  // so what a read sees is committed, and stays the same for the whole body.
  // The writer thread may hold the lock for a group whose rows are not durable yet: a body
  // or a done callback reading there would see them (or wait for itself).
  if (steps_->OnWriterThread()) {
    return Status::Internal(
        "sqlite: Store::Read called on the store's writer thread (from a body or a done "
        "callback); it would see writes that are not durable yet");
  }
  // Counted while waiting: a writer that has held the lock across pipelined groups stops
  // between two of them to let the read in (SqliteCommitSteps::Idle).
  readers_waiting_.fetch_add(1);
  std::shared_lock<memory::StateLock> shared(state_lock_);
  readers_waiting_.fetch_sub(1);
  memory::MemTx tx(*tables_, /*writable=*/false);
  return body(tx);
}

Status SqliteStore::Ping() {
  if (closed_.load()) return Status::Unavailable("sqlite: the store is closed");
  return readers_.WithConnection([](Connection& conn) { return conn.Run(Sql::kPing); });
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
  stats.handed_over = writer.handed_over;
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
  // Only the committer thread may touch the writer's connection: a body asks for the query
  // to run there once its group has committed.
  auto result = std::make_shared<Result<std::string>>(std::string());
  sqlite::SqliteCommitSteps* steps = steps_;
  Write(
      [sql, result, steps](Tx&) {
        steps->AfterCommit(
            [sql, result](Connection& connection) { *result = connection.QueryText(sql); });
        return Status::Ok();
      },
      [&value, result](Status status) {
        if (!status.ok()) {
          value.set_value(std::move(status));
        } else {
          value.set_value(std::move(*result));
        }
      });
  return future.get();
}

}  // namespace line
