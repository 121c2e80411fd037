// StateLock: the reader-writer lock over the embedded store's rows in memory. Readers share
// it; the writer thread holds it alone from the start of a group commit until the group is
// durable, so that a read never sees a row a crash could still take back.
//
// It prefers the writer: once the writer waits, new readers wait behind it, so that a steady
// stream of overlapping reads cannot starve the commits (glibc's default prefers readers).
// Hence a reader must never take it twice on one thread.
//
// Thread-safety: thread-safe.
#pragma once

#include <pthread.h>

namespace line::memory {

class StateLock {
 public:
  StateLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~StateLock() { pthread_rwlock_destroy(&lock_); }
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

  // The names std::shared_lock and std::unique_lock expect.
  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace line::memory
