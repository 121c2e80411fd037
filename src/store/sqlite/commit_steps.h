// The SQLite statements of a group commit (store/group_commit_writer.h): BEGIN IMMEDIATE, one
// savepoint per body, COMMIT (the fsync, synchronous=FULL).
//
// Not thread-safe: used only by the writer thread, which owns the write connection.
#pragma once

#include <cstdint>
#include <memory>

#include "store/group_commit_writer.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/connection.h"

namespace line::sqlite {

class SqliteCommitSteps final : public GroupCommitSteps {
 public:
  // `checkpointer` (may be null) finishes its WAL checkpoints between groups.
  SqliteCommitSteps(std::unique_ptr<Connection> conn, Checkpointer* checkpointer)
      : conn_(std::move(conn)), checkpointer_(checkpointer) {}

  Status Begin(bool durable) override;
  Status Savepoint() override;
  Status RunBody(const TxBody& body) override;
  Status RollbackToSavepoint() override;
  Status ReleaseSavepoint() override;
  Status Commit() override;
  void Abandon() override;
  bool FailedBodyLeftNoTrace() override;
  void BetweenGroups() override;

 private:
  std::unique_ptr<Connection> conn_;
  Checkpointer* const checkpointer_;
  int64_t changes_before_body_ = 0;  // sqlite3_total_changes64 when the last body started
  bool synchronous_full_ = true;  // the connection opens with synchronous=FULL
};

}  // namespace line::sqlite
