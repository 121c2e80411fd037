#include "store/sqlite/commit_steps.h"

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
  SqliteTx tx(*conn_);
  return body(tx);
}

Status SqliteCommitSteps::RollbackToSavepoint() { return conn_->Run(Sql::kRollbackTo); }

Status SqliteCommitSteps::ReleaseSavepoint() { return conn_->Run(Sql::kRelease); }

Status SqliteCommitSteps::Commit() { return conn_->Run(Sql::kCommit); }

void SqliteCommitSteps::Abandon() {
  // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); then this fails
  // harmlessly with "no transaction is active".
  (void)conn_->Run(Sql::kRollback);
}

}  // namespace line::sqlite
