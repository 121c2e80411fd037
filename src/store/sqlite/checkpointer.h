// Checkpointer: copies the WAL back into the database file on a thread of its own. SQLite's
// auto-checkpoint runs inside the commit that crosses its threshold, i.e. on the store's single
// writer thread, where it took an eighth of all CPU under load (perf, docs/performance.md).
// Here the writer connection's auto-checkpoint is replaced by a WAL hook that only records the
// WAL's size and wakes this thread, which runs PASSIVE checkpoints on a connection of its own:
// they never block the writer or readers. If the WAL still grows past a hard limit (the thread
// cannot keep up, or a long reader pins old frames), the hook checkpoints inline, as SQLite
// would, so the file cannot grow without bound.
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
  // Checkpoints once the WAL holds `threshold_frames` pages (SQLite's default is 1,000).
  explicit Checkpointer(std::unique_ptr<Connection> conn, int threshold_frames = 1000);
  ~Checkpointer();  // Stop()

  // Installs the WAL hook on the writer's connection. Call before the writer's first commit.
  void Attach(sqlite3* writer_db);
  // A last checkpoint, then the thread ends. Call after the writer's last commit.
  void Stop();

  int64_t checkpoints() const { return checkpoints_.load(); }

 private:
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void Loop();

  std::unique_ptr<Connection> conn_;
  const int threshold_frames_;
  const int hard_limit_frames_;
  std::atomic<int64_t> checkpoints_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false;       // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace line::sqlite
