#include "store/sqlite/commit_steps.h"

#include <sqlite3.h>

#include "store/sqlite/sqlite_tx.h"

namespace line::sqlite {

Status SqliteCommitSteps::Begin(bool durable) {
  // In WAL mode synchronous=NORMAL commits without fsync; the next FULL commit syncs the WAL,
  // earlier frames included. Switched only when the kind of group changes.
  if (durable != synchronous_full_) {
    LINE_RETURN_IF_ERROR(conn_->Exec(
        "synchronous", durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    synchronous_full_ = durable;
  }
  return conn_->Run(Sql::kBeginImmediate);
}

Status SqliteCommitSteps::Savepoint() { return conn_->Run(Sql::kSavepoint); }

Status SqliteCommitSteps::RunBody(const TxBody& body) {
  changes_before_body_ = sqlite3_total_changes64(conn_->db());
  SqliteTx tx(*conn_);
  return body(tx);
}

bool SqliteCommitSteps::FailedBodyLeftNoTrace() {
  // Rows inserted, updated or deleted by statements that completed count; a statement that
  // failed was undone by SQLite itself and does not. Bodies write rows only (no DDL), so an
  // unchanged count means nothing to undo, as long as the transaction is still open.
  sqlite3* db = conn_->db();
  return sqlite3_get_autocommit(db) == 0 && sqlite3_total_changes64(db) == changes_before_body_;
}

Status SqliteCommitSteps::RollbackToSavepoint() { return conn_->Run(Sql::kRollbackTo); }

Status SqliteCommitSteps::ReleaseSavepoint() { return conn_->Run(Sql::kRelease); }

Status SqliteCommitSteps::Commit() { return conn_->Run(Sql::kCommit); }

void SqliteCommitSteps::Abandon() {
  // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); then this fails
  // harmlessly with "no transaction is active".
  (void)conn_->Run(Sql::kRollback);
}

void SqliteCommitSteps::BetweenGroups() {
  if (checkpointer_ != nullptr) checkpointer_->FinishOnWriter(conn_->db());
}

}  // namespace line::sqlite
