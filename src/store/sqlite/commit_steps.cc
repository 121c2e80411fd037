#include "store/sqlite/commit_steps.h"

#include <sqlite3.h>

#include <chrono>
#include <utility>

#include "common/thread_name.h"
#include "store/memory/mem_tx.h"
#include "store/sqlite/row_sync.h"

namespace line::sqlite {

SqliteCommitSteps::SqliteCommitSteps(std::unique_ptr<Connection> conn, Checkpointer* checkpointer,
                                     memory::MemTables& tables, memory::StateLock& lock,
                                     const std::atomic<int>& readers_waiting)
    : conn_(std::move(conn)),
      checkpointer_(checkpointer),
      tables_(tables),
      lock_(lock),
      readers_waiting_(readers_waiting) {
  tables_.LockBeforeChanges(&held_);
  committer_ = std::thread([this] {
    NameThisThread("line-committer");
    CommitterLoop();
  });
}

SqliteCommitSteps::~SqliteCommitSteps() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  committer_.join();
  if (held_.owns_lock()) held_.unlock();
}

Status SqliteCommitSteps::Begin(bool durable) {
  // Memory only: the SQL transaction, and whether it waits for the disk (Seal), are the
  // committer's. (A group runs again from here after a failed body, so whatever its bodies
  // asked for earlier is forgotten.)
  (void)durable;
  writer_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  after_commit_.clear();
  return Status::Ok();
}

Status SqliteCommitSteps::Savepoint() {
  savepoints_.push_back(tables_.JournalSize());
  return Status::Ok();
}

Status SqliteCommitSteps::RunBody(const TxBody& body) {
  journal_before_body_ = tables_.JournalSize();
  memory::MemTx tx(tables_, /*writable=*/true);
  return body(tx);
}

bool SqliteCommitSteps::FailedBodyLeftNoTrace() {
  return tables_.JournalSize() == journal_before_body_;
}

Status SqliteCommitSteps::RollbackToSavepoint() {
  if (savepoints_.empty()) return Status::Internal("sqlite: rollback with no savepoint open");
  tables_.UndoTo(savepoints_.back());
  return Status::Ok();
}

Status SqliteCommitSteps::ReleaseSavepoint() {
  if (savepoints_.empty()) return Status::Internal("sqlite: release with no savepoint open");
  savepoints_.pop_back();
  return Status::Ok();
}

Status SqliteCommitSteps::Commit() {
  return Status::Internal("sqlite: commits are pipelined (Seal), never made in place");
}

void SqliteCommitSteps::Abandon() {
  tables_.UndoTo(0);
  savepoints_.clear();
  after_commit_.clear();
  // The state lock stays held: a sealed group may still be on its way to the disk. Idle()
  // lets it go.
}

void SqliteCommitSteps::AfterCommit(std::function<void(Connection&)> task) {
  after_commit_.push_back(std::move(task));
}

void SqliteCommitSteps::Seal(bool durable, bool here, std::function<void(Status)> committed) {
  sealed_.rows.Clear();
  // The rows are read here, on the writer thread, while they are as the group left them; the
  // next group may change them before the committer writes.
  Status recorded = RecordJournalledRows(tables_, sealed_.rows);
  // The journal is the sealed group's undo until it settles; the next group starts its own.
  tables_.SwapJournal(sealed_journal_);
  savepoints_.clear();
  if (!recorded.ok()) {
    committed(std::move(recorded));
    return;
  }
  sealed_.durable = durable;
  sealed_.after = std::move(after_commit_);
  after_commit_.clear();
  if (here) {
    // Nothing else is sealed, so the committer is idle and leaves the connection alone.
    if (checkpointer_ != nullptr) checkpointer_->FinishOnWriter(conn_->db());
    committed(CommitSealed());
    return;
  }
  sealed_.committed = std::move(committed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = true;
  }
  wake_.notify_one();
}

void SqliteCommitSteps::Settle(bool ok) {
  if (!ok) {
    // Abandon() has emptied the running group's journal: put the sealed group's back, and
    // undo it.
    tables_.SwapJournal(sealed_journal_);
    tables_.UndoTo(0);
  }
  sealed_journal_.clear();  // keeps its capacity for the next swap
}

void SqliteCommitSteps::Idle() {
  if (!held_.owns_lock()) return;
  held_.unlock();
  // The lock prefers the writer, so the writer's next first change could take it again
  // before the readers it just woke do: give them a moment to get in.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
  while (readers_waiting_.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
}

void SqliteCommitSteps::CommitterLoop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return ready_ || stopping_; });
      if (!ready_) return;  // stopping, and nothing sealed
      ready_ = false;
    }
    // Between two transactions: the checkpointer's leftovers, before the next BEGIN.
    if (checkpointer_ != nullptr) checkpointer_->FinishOnWriter(conn_->db());
    Status status = CommitSealed();
    std::function<void(Status)> committed = std::move(sealed_.committed);
    sealed_.committed = nullptr;
    committed(std::move(status));  // sealed_ is the writer's again from here
  }
}

Status SqliteCommitSteps::CommitSealed() {
  // In WAL mode synchronous=NORMAL commits without fsync; the next FULL commit syncs the WAL,
  // earlier frames included. Switched only when the kind of group changes.
  if (sealed_.durable != synchronous_full_) {
    LINE_RETURN_IF_ERROR(conn_->Exec("synchronous", sealed_.durable ? "PRAGMA synchronous=FULL"
                                                                    : "PRAGMA synchronous=NORMAL"));
    synchronous_full_ = sealed_.durable;
  }
  if (!sealed_.rows.empty()) {
    LINE_RETURN_IF_ERROR(conn_->Run(Sql::kBeginImmediate));
    Status status = sealed_.rows.RunOn(*conn_);
    if (status.ok()) status = conn_->Run(Sql::kCommit);
    if (!status.ok()) {
      // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); then this fails
      // harmlessly with "no transaction is active".
      (void)conn_->Run(Sql::kRollback);
      return status;
    }
  }
  for (auto& task : sealed_.after) task(*conn_);
  sealed_.after.clear();
  return Status::Ok();
}

}  // namespace line::sqlite
