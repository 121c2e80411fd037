// A bounded pool of read-only connections (PRAGMA query_only=1) for Store::Read. Connections
// open on demand up to the bound; a caller beyond it waits for one to come back. In WAL mode
// readers never block the writer, nor it them.
//
// Thread-safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/connection.h"

namespace line::sqlite {

class ReaderPool {
 public:
  ReaderPool(std::string path, int busy_timeout_ms, size_t max_connections);

  // Lends `fn` a connection of its own for the duration of the call.
  Status WithConnection(const std::function<Status(Connection&)>& fn);

 private:
  Result<std::unique_ptr<Connection>> Acquire();
  void Return(std::unique_ptr<Connection> conn);

  const std::string path_;
  const int busy_timeout_ms_;
  const size_t max_connections_;

  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  size_t open_ = 0;                                // guarded by mu_: idle + lent out
};

}  // namespace line::sqlite
