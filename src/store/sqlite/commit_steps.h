// The embedded store's group commit (store/group_commit_writer.h). Bodies run on the rows in
// memory, each change journalled (store/memory/mem_tables.h); a body's failure is undone from
// the journal, not by SQL savepoints. At commit the journalled rows are written to the file by
// primary key and COMMIT makes them durable (the fsync, synchronous=FULL). A failed commit
// puts every row of the group back as it was.
//
// The state lock is held exclusively from the group's first change (MemTables takes it) until
// the group is durable or undone.
//
// Not thread-safe: used only by the writer thread, which owns the write connection.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "store/group_commit_writer.h"
#include "store/memory/mem_tables.h"
#include "store/memory/state_lock.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/connection.h"

namespace line::sqlite {

class SqliteCommitSteps final : public GroupCommitSteps {
 public:
  // `checkpointer` (may be null) finishes its WAL checkpoints between groups.
  SqliteCommitSteps(std::unique_ptr<Connection> conn, Checkpointer* checkpointer,
                    memory::MemTables& tables, memory::StateLock& lock)
      : conn_(std::move(conn)), checkpointer_(checkpointer), tables_(tables), lock_(lock) {
    tables_.LockBeforeChanges(&held_);
  }

  Status Begin(bool durable) override;
  Status Savepoint() override;
  Status RunBody(const TxBody& body) override;
  Status RollbackToSavepoint() override;
  Status ReleaseSavepoint() override;
  Status Commit() override;
  void Abandon() override;
  bool FailedBodyLeftNoTrace() override;
  void BetweenGroups() override;

  // The write connection, for diagnostics run inside a body (SqliteStore::WriterPragma).
  Connection& connection() { return *conn_; }

 private:
  void Unlock();

  std::unique_ptr<Connection> conn_;
  Checkpointer* const checkpointer_;
  memory::MemTables& tables_;
  memory::StateLock& lock_;
  std::unique_lock<memory::StateLock> held_{lock_, std::defer_lock};
  std::vector<size_t> savepoints_;  // journal sizes where the open savepoints began
  std::vector<memory::Change> spent_journal_;  // the last group's, freed outside the lock
  size_t journal_before_body_ = 0;
  bool in_transaction_ = false;
  bool synchronous_full_ = true;  // the connection opens with synchronous=FULL
};

}  // namespace line::sqlite
