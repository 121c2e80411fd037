// An eventfd that other threads write to wake the agent's event loop out of poll(). Thread-safe
// (Wake may be called from any thread); the event loop owns it and reads it.
#pragma once

namespace line::agent {

class Waker {
 public:
  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  int fd() const { return fd_; }
  void Wake();
  // Resets the counter after poll() said the fd is readable.
  void Clear();

 private:
  int fd_ = -1;
};

}  // namespace line::agent
