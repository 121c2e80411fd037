// The embedded store: its rows in memory, with every index its queries need, and one SQLite
// file in WAL mode with synchronous=FULL that a group-committing writer thread keeps them in.
// Reads are answered from memory; each group commit writes the rows it changed to the file by
// primary key. The file is loaded at open and belongs to one process, which a lock file
// enforces. See docs/decisions/0002-store-schema.md and 0015-embedded-store-in-memory.md.
//
// Thread-safety: thread-safe, like every Store.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "store/group_commit_writer.h"
#include "store/memory/mem_tables.h"
#include "store/memory/state_lock.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/commit_steps.h"
#include "store/sqlite/file_lock.h"
#include "store/sqlite/reader_pool.h"
#include "store/store.h"

namespace line {

struct SqliteStoreOptions {
  // Most bodies committed in one transaction. Bounds the work lost to one failed commit and
  // the wait of the first body of a group; thousands keep the fsync cost per body tiny.
  size_t max_group_bodies = 4096;
  // Most read connections open at once. Reads come from memory; these serve Ping only.
  size_t max_readers = 1;
  // How long a connection waits for a lock held by another (e.g. a second process).
  int busy_timeout_ms = 5000;
  // WAL frames (pages) committed between two checkpoints (sqlite/checkpointer.h).
  int checkpoint_frames = sqlite::Checkpointer::kDefaultThresholdFrames;
  // A group whose bodies ran for less is committed on the writer thread, not handed to the
  // committer (decision 0017). Zero: every group is handed over (tests of the pipeline).
  std::chrono::microseconds pipeline_min_body_time = GroupCommitWriter::kPipelineMinBodyTime;
};

struct SqliteStoreStats {
  int64_t commits = 0;         // write transactions committed (fsyncs, but for lazy_commits)
  int64_t bodies = 0;          // write bodies run; bodies / commits is the mean group size
  int64_t failed_commits = 0;  // groups lost to a BEGIN, savepoint or COMMIT failure
  int64_t checkpoints = 0;     // WAL checkpoints run (off the writer thread, normally)
  int64_t checkpoints_finished_on_writer = 0;  // of checkpoints: the writer's short last ones
  int64_t lazy_commits = 0;    // of commits: groups of lazy writes only, committed without fsync
  int64_t savepoint_reruns = 0;  // groups run again with savepoints after a body failed
  int64_t handed_over = 0;  // of commits: made on the committer thread (decision 0017)
};

class SqliteStore final : public Store {
 public:
  ~SqliteStore() override;  // Close()

  void Write(TxBody body, TxDone done) override;
  void WriteLazy(TxBody body, TxDone done) override;
  Status Read(const TxBody& body) override;
  Status Ping() override;
  void Close() override;

  SqliteStoreStats Stats() const;
  const std::string& path() const { return path_; }

  // The value of `PRAGMA <name>` on the writer's connection (e.g. "synchronous",
  // "journal_mode", "user_version"), read on the committer thread after every write queued
  // before it has committed. For tests and diagnostics; `name` must be a bare identifier.
  Result<std::string> WriterPragma(std::string_view name);

 private:
  friend Result<std::unique_ptr<SqliteStore>> OpenSqliteStore(const std::string& path,
                                                              const SqliteStoreOptions& options);
  SqliteStore(std::string path, std::unique_ptr<sqlite::FileLock> lock,
              std::unique_ptr<memory::MemTables> tables,
              std::unique_ptr<sqlite::Connection> writer,
              std::unique_ptr<sqlite::Checkpointer> checkpointer,
              const SqliteStoreOptions& options);

  const std::string path_;
  // Declared before the connections, so let go after them: then another process may open it.
  const std::unique_ptr<sqlite::FileLock> lock_;
  sqlite::ReaderPool readers_;
  // The rows, and the lock readers share and the writer holds alone. Declared before writer_,
  // whose bodies use them.
  const std::unique_ptr<memory::MemTables> tables_;
  memory::StateLock state_lock_;
  std::atomic<int> readers_waiting_{0};  // reads waiting for state_lock_
  sqlite::SqliteCommitSteps* steps_;     // owned by writer_; its bodies may use it
  // Declared before writer_ so that it outlives every commit (its hook runs inside them).
  std::unique_ptr<sqlite::Checkpointer> checkpointer_;
  GroupCommitWriter writer_;
  std::atomic<bool> closed_{false};
};

// Opens (creating if needed) and migrates the database file at `path`; its directory must
// exist. OpenStore("sqlite:PATH") also creates the directory.
Result<std::unique_ptr<SqliteStore>> OpenSqliteStore(const std::string& path,
                                                     const SqliteStoreOptions& options = {});

}  // namespace line
