#include "store/postgres/pg_reader_pool.h"

#include <utility>

namespace line::postgres {

PgReaderPool::PgReaderPool(PgConnector& connector, size_t max_connections)
    : connector_(connector), max_connections_(max_connections > 0 ? max_connections : 1) {}

Status PgReaderPool::WithConnection(const std::function<Status(PgConnection&)>& fn) {
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, Acquire());
  Status status = fn(*conn);
  Return(std::move(conn));
  return status;
}

Result<std::unique_ptr<PgConnection>> PgReaderPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    returned_.wait(lock, [this] { return !idle_.empty() || open_ < max_connections_; });
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->CheckIdle()) return conn;
      // The server dropped it while idle: replace it in the same slot.
    } else {
      ++open_;  // reserve the slot, then connect without holding the lock
    }
  }
  Result<std::unique_ptr<PgConnection>> conn = connector_.Connect();
  if (!conn.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
    }
    returned_.notify_one();
  }
  return conn;
}

void PgReaderPool::Return(std::unique_ptr<PgConnection> conn) {
  bool keep = conn->healthy();
  if (!keep) conn.reset();  // close outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keep) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  returned_.notify_one();
}

}  // namespace line::postgres
