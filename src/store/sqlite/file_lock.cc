#include "store/sqlite/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace line::sqlite {

Result<std::unique_ptr<FileLock>> FileLock::Take(const std::string& db_path) {
  const std::string lock_path = db_path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::Unavailable("sqlite: cannot open " + lock_path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Status::Unavailable("sqlite: " + db_path + " is in use by another process (its lock " +
                                 lock_path +
                                 " is held); the embedded store serves one lined at a time, "
                                 "several share a PostgreSQL store");
    }
    return Status::Unavailable("sqlite: cannot lock " + lock_path + ": " + std::strerror(error));
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() { ::close(fd_); }

}  // namespace line::sqlite
