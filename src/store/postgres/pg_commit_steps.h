// The PostgreSQL statements of a group commit (store/group_commit_writer.h), as in the SQLite
// store: one transaction per group, one savepoint per body, COMMIT returning once the WAL is
// flushed (synchronous_commit=on), so the bodies of one node run one after another.
//
// A lost connection fails the group in flight with kStoreUnavailable (its outcome is unknown
// if COMMIT was sent); the next group reconnects, no sooner than the connector's backoff.
//
// Not thread-safe: used only by the writer thread; reconnects() may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "store/group_commit_writer.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_connector.h"

namespace line::postgres {

class PgCommitSteps final : public GroupCommitSteps {
 public:
  PgCommitSteps(PgConnector& connector, std::unique_ptr<PgConnection> conn)
      : connector_(connector), conn_(std::move(conn)) {}

  Status Begin(bool durable) override;
  Status Savepoint() override;
  Status RunBody(const TxBody& body) override;
  Status RollbackToSavepoint() override;
  // A deadlock with another node's transaction (40P01) or a serialization failure (40001).
  bool BodyMayRunAgain() override;
  bool FailedBodyLeftNoTrace() override;
  Status ReleaseSavepoint() override;
  Status Commit() override;
  void Abandon() override;

  // Write connections opened after the first.
  int64_t reconnects() const { return reconnects_.load(); }

 private:
  PgConnector& connector_;
  std::unique_ptr<PgConnection> conn_;  // null after a loss, until the next Begin
  std::atomic<int64_t> reconnects_{0};
  bool body_wrote_ = false;  // the last body called a write primitive
};

}  // namespace line::postgres
