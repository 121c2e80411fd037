#include "store/sqlite/checkpointer.h"

#include <spdlog/spdlog.h>

namespace line::sqlite {

Checkpointer::Checkpointer(std::unique_ptr<Connection> conn, int threshold_frames)
    : conn_(std::move(conn)),
      threshold_frames_(threshold_frames),
      hard_limit_frames_(threshold_frames * 64),
      thread_([this] { Loop(); }) {}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Attach(sqlite3* writer_db) { sqlite3_wal_hook(writer_db, &OnCommit, this); }

int Checkpointer::OnCommit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* checkpointer = static_cast<Checkpointer*>(self);
  if (frames >= checkpointer->hard_limit_frames_) {
    // Runs on the writer thread inside its commit, exactly where SQLite's own auto-checkpoint
    // would: the safety valve, not the common path.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    checkpointer->checkpoints_.fetch_add(1);
    return SQLITE_OK;
  }
  if (frames >= checkpointer->threshold_frames_) {
    {
      std::lock_guard<std::mutex> lock(checkpointer->mu_);
      checkpointer->due_ = true;
    }
    checkpointer->wake_.notify_one();
  }
  return SQLITE_OK;
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

void Checkpointer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return due_ || stopping_; });
    const bool last = stopping_;
    due_ = false;
    lock.unlock();
    int log_frames = 0;
    int copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &log_frames, &copied);
    if (rc == SQLITE_OK) {
      checkpoints_.fetch_add(1);
    } else if (rc != SQLITE_BUSY) {
      // Not fatal: the WAL keeps every committed frame; the next checkpoint tries again.
      spdlog::warn("sqlite: checkpoint failed: {}", sqlite3_errmsg(conn_->db()));
    }
    lock.lock();
    if (last) return;
  }
}

}  // namespace line::sqlite
