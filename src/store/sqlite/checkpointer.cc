#include "store/sqlite/checkpointer.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/thread_name.h"

namespace line::sqlite {

namespace {

// After its first pass, the thread goes on with further passes (at most this many) for the
// frames committed during the one before, as long as there were this many at least: each
// pass is shorter than the last, and whatever is left when it stops is the writer's to copy.
constexpr int kCatchUpPasses = 3;
constexpr int kCatchUpFrames = 64;

}  // namespace

Checkpointer::Checkpointer(std::unique_ptr<Connection> conn, int threshold_frames)
    : conn_(std::move(conn)),
      threshold_frames_(std::max(1, threshold_frames)),
      hard_limit_frames_(threshold_frames_ * kHardLimitThresholds),
      thread_([this] {
        NameThisThread("line-checkpoint");
        Loop();
      }) {}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Attach(sqlite3* writer_db) { sqlite3_wal_hook(writer_db, &OnCommit, this); }

int Checkpointer::OnCommit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* checkpointer = static_cast<Checkpointer*>(self);
  if (frames >= checkpointer->hard_limit_frames_) {
    // Runs on the writer thread inside its commit, exactly where SQLite's own auto-checkpoint
    // would: the safety valve, not the common path.
    if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
        SQLITE_OK) {
      checkpointer->checkpoints_.fetch_add(1);
    }
    return SQLITE_OK;
  }
  // Frames committed since the last pass ended; all of them once the WAL has started over.
  int since_last_pass = frames - checkpointer->last_pass_frames_.load(std::memory_order_relaxed);
  if (since_last_pass < 0) since_last_pass = frames;
  if (since_last_pass >= checkpointer->threshold_frames_ &&
      !checkpointer->finish_due_.load(std::memory_order_relaxed)) {
    {
      std::lock_guard<std::mutex> lock(checkpointer->mu_);
      // Again under the lock, which the thread holds when it sets finish_due_: a pass that
      // just ended is not followed by another before the writer has finished it.
      if (checkpointer->finish_due_.load()) return SQLITE_OK;
      checkpointer->due_ = true;
    }
    checkpointer->wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::FinishOnWriter(sqlite3* writer_db) {
  if (!finish_due_.load(std::memory_order_relaxed) || !finish_due_.exchange(false)) return;
  // PASSIVE still: a reader that pins old frames is not waited for; the WAL then starts over
  // after a later pass.
  if (sqlite3_wal_checkpoint_v2(writer_db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr) == SQLITE_OK) {
    checkpoints_.fetch_add(1);
    finished_on_writer_.fetch_add(1);
  }
}

void Checkpointer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

int Checkpointer::Pass(int* log_frames) {
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           log_frames, &copied);
  if (rc == SQLITE_OK) {
    checkpoints_.fetch_add(1);
  } else if (rc != SQLITE_BUSY) {
    // Not fatal: the WAL keeps every committed frame; the next checkpoint tries again.
    spdlog::warn("sqlite: checkpoint failed: {}", sqlite3_errmsg(conn_->db()));
  }
  return rc;
}

void Checkpointer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return due_ || stopping_; });
    const bool last = stopping_;
    due_ = false;
    lock.unlock();
    int log_frames = 0;
    int rc = Pass(&log_frames);
    for (int pass = 0; pass < kCatchUpPasses && rc == SQLITE_OK && !last; ++pass) {
      const int before = log_frames;
      rc = Pass(&log_frames);
      if (log_frames - before < kCatchUpFrames) break;  // (negative once the WAL started over)
    }
    lock.lock();
    if (rc == SQLITE_OK) {
      last_pass_frames_.store(log_frames, std::memory_order_relaxed);
      if (!last) finish_due_.store(true);
    }
    if (last) return;
    // Commits during the passes asked for another; what they added is the writer's to finish,
    // and the next pass waits for another threshold of frames.
    due_ = false;
  }
}

}  // namespace line::sqlite
