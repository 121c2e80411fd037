// The SQLite statements of a group commit (store/group_commit_writer.h): BEGIN IMMEDIATE, one
// savepoint per body, COMMIT (the fsync, synchronous=FULL).
//
// Not thread-safe: used only by the writer thread, which owns the write connection.
#pragma once

#include <memory>

#include "store/group_commit_writer.h"
#include "store/sqlite/connection.h"

namespace line::sqlite {

class SqliteCommitSteps final : public GroupCommitSteps {
 public:
  explicit SqliteCommitSteps(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}

  Status Begin(bool durable) override;
  Status Savepoint() override;
  Status RunBody(const TxBody& body) override;
  Status RollbackToSavepoint() override;
  Status ReleaseSavepoint() override;
  Status Commit() override;
  void Abandon() override;

 private:
  std::unique_ptr<Connection> conn_;
  bool synchronous_full_ = true;  // the connection opens with synchronous=FULL
};

}  // namespace line::sqlite
