#include "store/postgres/pg_commit_steps.h"

#include "store/postgres/pg_tx.h"

namespace line::postgres {

Status PgCommitSteps::Begin(bool durable) {
  if (conn_ == nullptr || !conn_->CheckIdle()) {
    conn_.reset();
    Result<std::unique_ptr<PgConnection>> fresh = connector_.Connect();
    if (!fresh.ok()) return fresh.status();
    conn_ = std::move(fresh).value();
    ++reconnects_;
  }
  LINE_RETURN_IF_ERROR(conn_->Control(PgSql::kBeginWrite));
  // Lazy groups: the COMMIT returns before the WAL flush (this transaction only).
  if (!durable) return conn_->Exec("lazy commit", "SET LOCAL synchronous_commit = off").status();
  return Status::Ok();
}

Status PgCommitSteps::Savepoint() { return conn_->Control(PgSql::kSavepoint); }

Status PgCommitSteps::RunBody(const TxBody& body) {
  PostgresTx tx(*conn_, /*read_only=*/false);
  conn_->ClearLastError();
  Status status = body(tx);
  body_wrote_ = tx.write_calls() > 0;
  // A failed statement aborts PostgreSQL's transaction until ROLLBACK TO, so a body that
  // returned OK over a failed statement is rolled back too, rather than losing the group.
  if (status.ok() && PQtransactionStatus(conn_->raw()) == PQTRANS_INERROR) {
    status = Status::Internal("postgres: a statement of the body failed but it returned OK");
  }
  return status;
}

bool PgCommitSteps::BodyMayRunAgain() {
  const std::string& state = conn_->last_error_state();
  return conn_->healthy() && (state == "40P01" || state == "40001");
}

bool PgCommitSteps::FailedBodyLeftNoTrace() {
  // Every write primitive of PostgresTx passes CheckWritable, which counts it; a body that
  // called none and left the transaction intact (a failed statement aborts it) changed
  // nothing: the usual failures (not found, already ended) come from reads.
  return conn_ != nullptr && conn_->healthy() && !body_wrote_ &&
         PQtransactionStatus(conn_->raw()) == PQTRANS_INTRANS;
}

Status PgCommitSteps::RollbackToSavepoint() { return conn_->Control(PgSql::kRollbackTo); }

Status PgCommitSteps::ReleaseSavepoint() { return conn_->Control(PgSql::kRelease); }

Status PgCommitSteps::Commit() { return conn_->Control(PgSql::kCommit); }

void PgCommitSteps::Abandon() {
  if (conn_ != nullptr && conn_->healthy()) {
    (void)conn_->Control(PgSql::kRollback);
  } else {
    conn_.reset();  // the next group reconnects
  }
}

}  // namespace line::postgres
