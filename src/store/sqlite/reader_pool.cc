#include "store/sqlite/reader_pool.h"

#include <utility>

namespace line::sqlite {

ReaderPool::ReaderPool(std::string path, int busy_timeout_ms, size_t max_connections)
    : path_(std::move(path)),
      busy_timeout_ms_(busy_timeout_ms),
      max_connections_(max_connections > 0 ? max_connections : 1) {}

Status ReaderPool::WithConnection(const std::function<Status(Connection&)>& fn) {
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Acquire());
  Status status = fn(*conn);
  Return(std::move(conn));
  return status;
}

Result<std::unique_ptr<Connection>> ReaderPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    returned_.wait(lock, [this] { return !idle_.empty() || open_ < max_connections_; });
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;  // reserve the slot, then open without holding the lock
  }
  ConnectionOptions options;
  options.read_only = true;
  options.busy_timeout_ms = busy_timeout_ms_;
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path_, options);
  if (!conn.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
    }
    returned_.notify_one();
  }
  return conn;
}

void ReaderPool::Return(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(conn));
  }
  returned_.notify_one();
}

}  // namespace line::sqlite
