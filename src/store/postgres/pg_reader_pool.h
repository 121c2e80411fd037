// A bounded pool of read connections for Store::Read. Connections open on demand up to the
// bound; a caller beyond it waits for one to come back. A connection that lost its server is
// dropped rather than returned, and the next caller opens a fresh one (within the backoff).
//
// Thread-safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "store/postgres/pg_connector.h"

namespace line::postgres {

class PgReaderPool {
 public:
  // `connector` must outlive the pool.
  PgReaderPool(PgConnector& connector, size_t max_connections);

  // Lends `fn` a connection of its own for the duration of the call.
  Status WithConnection(const std::function<Status(PgConnection&)>& fn);

 private:
  Result<std::unique_ptr<PgConnection>> Acquire();
  // Back to the idle list, or closed when it is no longer healthy.
  void Return(std::unique_ptr<PgConnection> conn);

  PgConnector& connector_;
  const size_t max_connections_;

  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  size_t open_ = 0;                                  // guarded by mu_: idle + lent out
};

}  // namespace line::postgres
