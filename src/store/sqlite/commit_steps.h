// The embedded store's group commit (store/group_commit_writer.h), pipelined. Bodies run on the
// rows in memory, each change journalled (store/memory/mem_tables.h); a body's failure is undone
// from the journal, not by SQL savepoints. When the group's bodies have run, the writer seals
// it: the rows its journal names are recorded as they now stand (a StatementBatch), and the
// committer thread writes them to the file by primary key and COMMITs (the fsync,
// synchronous=FULL) while the writer runs the next group's bodies
// (docs/decisions/0017-pipelined-commit.md). A failed commit puts every row back as it was:
// the later group's first, then the sealed group's.
//
// The state lock is held exclusively from the first change after an idle moment until the
// writer is idle again (nothing running, nothing sealed): readers only ever see durable rows.
// When readers wait, the writer stops between two groups to let them in.
//
// A group whose bodies were quick is committed on the writer thread instead (Seal's `here`),
// which saves two thread wake-ups where there was little to overlap.
//
// Thread-safety: the GroupCommitSteps methods and AfterCommit are the writer thread's. The
// connection is used by the committer thread while a group is sealed, and by the writer
// thread only when nothing is (a commit `here`); the hand-over orders the two.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/group_commit_writer.h"
#include "store/memory/mem_tables.h"
#include "store/memory/state_lock.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/statement_batch.h"

namespace line::sqlite {

class SqliteCommitSteps final : public GroupCommitSteps {
 public:
  // `checkpointer` (may be null) finishes its WAL checkpoints between commits. `readers_waiting`
  // counts the reads waiting for the state lock (SqliteStore::Read).
  SqliteCommitSteps(std::unique_ptr<Connection> conn, Checkpointer* checkpointer,
                    memory::MemTables& tables, memory::StateLock& lock,
                    const std::atomic<int>& readers_waiting);
  ~SqliteCommitSteps() override;  // stops the committer thread (nothing may be sealed)

  Status Begin(bool durable) override;
  Status Savepoint() override;
  Status RunBody(const TxBody& body) override;
  Status RollbackToSavepoint() override;
  Status ReleaseSavepoint() override;
  Status Commit() override;  // never called: the commit is pipelined
  void Abandon() override;
  bool FailedBodyLeftNoTrace() override;
  bool Pipelined() const override { return true; }
  void Seal(bool durable, bool here, std::function<void(Status)> committed) override;
  void Settle(bool ok) override;
  bool ReadersWaiting() override { return readers_waiting_.load() > 0; }
  void LetReadersIn() override;
  void Idle() override;
  void BetweenGroups() override;
  void Stop() override { StopCommitter(); }

  // From a body: `task` runs on the write connection, on the committer thread, right after
  // the body's group has committed and before its dones are told (SqliteStore::WriterPragma).
  void AfterCommit(std::function<void(Connection&)> task);
  // Whether the caller is the writer thread (any thread may ask).
  bool OnWriterThread() const { return writer_thread_.load() == std::this_thread::get_id(); }

 private:
  // What the committer thread commits: the writer fills it at Seal and leaves it alone until
  // `committed` has been called.
  struct Sealed {
    StatementBatch rows;
    bool durable = true;
    bool begun = false;  // its transaction was begun by the writer (Begin), before its bodies
    std::vector<std::function<void(Connection&)>> after;
    std::function<void(Status)> committed;
  };

  void CommitterLoop();
  void StopCommitter();
  Status CommitSealed();  // committer thread, or the writer's when nothing else is sealed
  Status SwitchSynchronous(bool durable);  // whoever uses the connection

  // The committer thread's while a group is sealed (see above).
  std::unique_ptr<Connection> conn_;
  Checkpointer* const checkpointer_;
  bool synchronous_full_ = true;  // the connection opens with synchronous=FULL

  // Writer thread only.
  memory::MemTables& tables_;
  memory::StateLock& lock_;
  const std::atomic<int>& readers_waiting_;
  std::unique_lock<memory::StateLock> held_{lock_, std::defer_lock};
  std::vector<size_t> savepoints_;  // journal sizes where the open savepoints began
  std::vector<memory::Change> sealed_journal_;  // the sealed group's undo, until it settles
  std::vector<memory::Change> spent_journal_;   // a settled group's, freed outside the lock
  bool sealed_in_flight_ = false;  // a group is with the committer
  bool in_transaction_ = false;    // Begin opened the running group's SQL transaction
  std::vector<std::function<void(Connection&)>> after_commit_;  // the running group's
  size_t journal_before_body_ = 0;
  std::atomic<std::thread::id> writer_thread_;  // set at the first Begin

  // The hand-over: sealed_ is the writer's until ready_ is set, the committer's until it calls
  // sealed_.committed.
  Sealed sealed_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool ready_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread committer_;
};

}  // namespace line::sqlite
