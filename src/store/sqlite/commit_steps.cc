#include "store/sqlite/commit_steps.h"

#include <sqlite3.h>

#include "store/memory/mem_tx.h"
#include "store/sqlite/row_sync.h"

namespace line::sqlite {

Status SqliteCommitSteps::Begin(bool durable) {
  // In WAL mode synchronous=NORMAL commits without fsync; the next FULL commit syncs the WAL,
  // earlier frames included. Switched only when the kind of group changes.
  if (durable != synchronous_full_) {
    LINE_RETURN_IF_ERROR(conn_->Exec(
        "synchronous", durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    synchronous_full_ = durable;
  }
  // Taken first, so that a file locked by another process fails the group before any body
  // runs, as the store's outage contract expects. Readers go on meanwhile: the state lock
  // waits for the group's first change.
  LINE_RETURN_IF_ERROR(conn_->Run(Sql::kBeginImmediate));
  in_transaction_ = true;
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
  LINE_RETURN_IF_ERROR(WriteJournalledRows(*conn_, tables_));
  LINE_RETURN_IF_ERROR(conn_->Run(Sql::kCommit));
  in_transaction_ = false;
  // The entries are freed after the lock is let go: a deleted pool's before-image holds all
  // of its rows, and readers need not wait for them to be freed.
  tables_.SwapJournal(spent_journal_);
  savepoints_.clear();
  Unlock();
  spent_journal_.clear();  // keeps its capacity for the next swap
  return Status::Ok();
}

void SqliteCommitSteps::Abandon() {
  if (in_transaction_) {
    // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); then this fails
    // harmlessly with "no transaction is active".
    (void)conn_->Run(Sql::kRollback);
    in_transaction_ = false;
  }
  tables_.UndoTo(0);
  savepoints_.clear();
  Unlock();
}

void SqliteCommitSteps::Unlock() {
  if (held_.owns_lock()) held_.unlock();
}

void SqliteCommitSteps::BetweenGroups() {
  if (checkpointer_ != nullptr) checkpointer_->FinishOnWriter(conn_->db());
}

}  // namespace line::sqlite
