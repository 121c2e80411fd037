#include "agent/waker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace line::agent {

Waker::Waker() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) {
    std::perror("eventfd");
    std::abort();  // the event loop cannot work without it
  }
}

Waker::~Waker() { close(fd_); }

void Waker::Wake() {
  uint64_t one = 1;
  (void)!write(fd_, &one, sizeof(one));
}

void Waker::Clear() {
  uint64_t count;
  (void)!read(fd_, &count, sizeof(count));
}

}  // namespace line::agent
