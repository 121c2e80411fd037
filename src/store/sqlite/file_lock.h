// FileLock: the embedded store's claim on its file. The rows live in one process's memory,
// so a second process writing the same file would lose one side's writes; an advisory lock on
// <path>.lock, held for the store's life, refuses it at open. The kernel drops the lock when
// the process dies, however it dies.
//
// Thread-safety: a FileLock is owned by one store; it is only made, moved and destroyed.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace line::sqlite {

class FileLock {
 public:
  // kStoreUnavailable naming the path when another process holds it.
  static Result<std::unique_ptr<FileLock>> Take(const std::string& db_path);
  ~FileLock();  // closes the descriptor, which lets the lock go
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace line::sqlite
