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

SqliteCommitSteps::~SqliteCommitSteps() { StopCommitter(); }

void SqliteCommitSteps::StopCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (committer_.joinable()) committer_.join();
}

void SqliteCommitSteps::BetweenGroups() {
  // Called by the writer when nothing is sealed: the committer is idle.
  if (checkpointer_ != nullptr) checkpointer_->FinishOnWriter(conn_->db());
}

Status SqliteCommitSteps::Begin(bool durable) {
  writer_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  // (A group runs again from here after a failed body: what its bodies asked for is forgotten.)
  after_commit_.clear();
  if (sealed_in_flight_ || in_transaction_) return Status::Ok();
  // Nothing is sealed, so the connection is free: take the file's write lock now, before any
  // body changes a row, as an unpipelined writer did. A file held by another process then
  // fails the group while readers go on, instead of holding them for the busy timeout. (A
  // group begun while another is sealed gets its BEGIN on the committer.)
  LINE_RETURN_IF_ERROR(SwitchSynchronous(durable));
  LINE_RETURN_IF_ERROR(conn_->Run(Sql::kBeginImmediate));
  in_transaction_ = true;
  return Status::Ok();
}

Status SqliteCommitSteps::SwitchSynchronous(bool durable) {
  // In WAL mode synchronous=NORMAL commits without fsync; the next FULL commit syncs the WAL,
  // earlier frames included. Switched only when the kind of group changes.
  if (durable == synchronous_full_) return Status::Ok();
  LINE_RETURN_IF_ERROR(conn_->Exec(
      "synchronous", durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  synchronous_full_ = durable;
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
  if (in_transaction_) {
    // Begun on this thread, so nothing is sealed and the connection is free. SQLite may
    // already have rolled back on its own; then this fails harmlessly.
    (void)conn_->Run(Sql::kRollback);
    in_transaction_ = false;
  }
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
  sealed_.begun = in_transaction_;  // the transaction goes with the sealed group
  in_transaction_ = false;
  if (!recorded.ok()) {
    if (sealed_.begun) (void)conn_->Run(Sql::kRollback);  // nothing is sealed: ours to use
    committed(std::move(recorded));
    return;
  }
  sealed_.durable = durable;
  sealed_.after = std::move(after_commit_);
  after_commit_.clear();
  // Nothing to write is not worth two thread wake-ups either.
  if (here || (sealed_.rows.empty() && sealed_.after.empty())) {
    // A group begun while another was sealed never gets here with `here`; with nothing to
    // write it may, and then commits nothing: the sealed group ahead of it is durable by the
    // time its dones are told (GroupCommitWriter waits for it).
    if (!sealed_.begun && !here) {
      committed(Status::Ok());
      return;
    }
    committed(CommitSealed());
    return;
  }
  sealed_in_flight_ = true;
  sealed_.committed = std::move(committed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = true;
  }
  wake_.notify_one();
}

void SqliteCommitSteps::Settle(bool ok) {
  sealed_in_flight_ = false;
  if (!ok) {
    // Abandon() has emptied the running group's journal: put the sealed group's back, and
    // undo it.
    tables_.SwapJournal(sealed_journal_);
    tables_.UndoTo(0);
    return;
  }
  // The before-images are freed once the lock is let go (a deleted pool's hold all its rows):
  // readers need not wait for that. Kept for one group at most.
  if (spent_journal_.empty()) {
    spent_journal_.swap(sealed_journal_);
  } else {
    sealed_journal_.clear();
  }
}

void SqliteCommitSteps::LetReadersIn() {
  if (held_.owns_lock()) held_.unlock();
  spent_journal_.clear();  // keeps its capacity
}

void SqliteCommitSteps::Idle() {
  if (held_.owns_lock()) held_.unlock();
  spent_journal_.clear();
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
    // Between two transactions: the checkpointer's leftovers, before the next BEGIN (only
    // when groups are handed over back to back; otherwise the writer does this after the
    // dones, BetweenGroups).
    if (checkpointer_ != nullptr && !sealed_.begun) checkpointer_->FinishOnWriter(conn_->db());
    Status status = CommitSealed();
    std::function<void(Status)> committed = std::move(sealed_.committed);
    sealed_.committed = nullptr;
    committed(std::move(status));  // sealed_ is the writer's again from here
  }
}

Status SqliteCommitSteps::CommitSealed() {
  if (!sealed_.begun) {
    LINE_RETURN_IF_ERROR(SwitchSynchronous(sealed_.durable));
    if (!sealed_.rows.empty()) LINE_RETURN_IF_ERROR(conn_->Run(Sql::kBeginImmediate));
  }
  if (sealed_.begun || !sealed_.rows.empty()) {
    Status status = sealed_.rows.RunOn(*conn_);
    if (status.ok()) status = conn_->Run(Sql::kCommit);
    if (!status.ok()) {
      // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); then this fails
      // harmlessly with "no transaction is active".
      (void)conn_->Run(Sql::kRollback);
      return status;
    }
  }
  for (auto& task : sealed_.after) {
    try {
      task(*conn_);
    } catch (...) {
      // A diagnostic's failure must not take the committer down; its caller sees no value.
    }
  }
  sealed_.after.clear();
  sealed_.rows.ShrinkIfHuge();
  return Status::Ok();
}

}  // namespace line::sqlite
