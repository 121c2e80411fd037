// Checkpointer: copies the WAL back into the database file on a thread of its own. SQLite's
// auto-checkpoint runs inside the commit that crosses its threshold, i.e. on the store's single
// writer thread, where it took an eighth of all CPU under load (perf, docs/performance.md).
// Here the writer connection's auto-checkpoint is replaced by a WAL hook that only records the
// WAL's size and wakes this thread, which runs PASSIVE checkpoints on a connection of its own:
// they never block the writer or readers. If the WAL still grows past a hard limit (the thread
// cannot keep up, or a long reader pins old frames), the hook checkpoints inline, as SQLite
// would, so the file cannot grow without bound.
//
// A pass running beside the writer never catches up with it: commits made during the pass
// leave frames it did not copy, and SQLite starts the WAL file over only at a write
// transaction that begins when every frame has been copied. Under a steady load the WAL
// therefore grew to the hard limit (about 250 MB) and was only ever reset by the valve, inline;
// meanwhile every commit woke a new pass, so the thread ran some 800 passes a second, each
// with an fsync. Now:
//   - a pass waits for `threshold_frames` more frames since the last one ended;
//   - it catches up with a few shorter passes of its own, then leaves the rest, the frames of
//     the commits made meanwhile, to the writer: FinishOnWriter, between two groups, where no
//     commit can race it, so the writer's next transaction starts the WAL over (unless a
//     reader still uses it).
// (docs/decisions/0011-wal-starts-over-under-load.md)
//
// Thread-safe. Owns one thread; must outlive every commit on the writer it is attached to.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "store/sqlite/connection.h"

namespace line::sqlite {

class Checkpointer {
 public:
  // Checkpoints once `threshold_frames` pages have been committed to the WAL since the last
  // pass (SQLite's own default is 1,000 in all; 4,000 is about 16 MB).
  static constexpr int kDefaultThresholdFrames = 4000;
  // The hard limit, in thresholds: 64,000 frames (about 250 MB) by default.
  static constexpr int kHardLimitThresholds = 16;

  explicit Checkpointer(std::unique_ptr<Connection> conn,
                        int threshold_frames = kDefaultThresholdFrames);
  ~Checkpointer();  // Stop()

  // Installs the WAL hook on the writer's connection. Call before the writer's first commit.
  void Attach(sqlite3* writer_db);
  // A last checkpoint, then the thread ends. Call after the writer's last commit.
  void Stop();

  // On the writer thread, outside any transaction: copies what the last background pass left
  // (the frames committed while it ran), so that the WAL can start over. Does nothing unless a
  // background pass has ended since the last call.
  void FinishOnWriter(sqlite3* writer_db);

  int64_t checkpoints() const { return checkpoints_.load(); }
  // Of checkpoints(): those FinishOnWriter ran.
  int64_t finished_on_writer() const { return finished_on_writer_.load(); }

 private:
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  // One PASSIVE checkpoint on the thread's connection; sets the WAL's length in frames.
  int Pass(int* log_frames);
  void Loop();

  std::unique_ptr<Connection> conn_;
  const int threshold_frames_;
  const int hard_limit_frames_;
  std::atomic<int64_t> checkpoints_{0};
  std::atomic<int64_t> finished_on_writer_{0};
  // A background pass has ended, and the writer is to finish it. While set, commits do not
  // start another pass, which would only hold the checkpoint lock against the writer's.
  std::atomic<bool> finish_due_{false};
  // The WAL's length in frames when the last pass ended: the next one waits for another
  // threshold of frames.
  std::atomic<int> last_pass_frames_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false;       // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace line::sqlite
