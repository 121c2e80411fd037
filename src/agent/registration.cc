#include "agent/registration.h"

#include <algorithm>

namespace line::agent {

client::Result<Registration> Register(client::Client& client, const std::string& pool_id,
                                      int64_t capacity) {
  client::Result<client::RegisterWorkerResponse> r =
      client.RegisterWorker({.pool_id = pool_id, .capacity = capacity});
  if (!r.ok()) return r.error();
  int64_t ttl = r->worker_ttl;
  for (int64_t other : {r->alloc_ttl, r->replica_ttl}) {
    if (other > 0) ttl = ttl > 0 ? std::min(ttl, other) : other;
  }
  Registration reg;
  reg.worker_id = r->worker_id;
  reg.worker_ttl = r->worker_ttl;
  if (ttl > 0) {
    reg.heartbeat_interval =
        std::max(std::chrono::milliseconds(100), std::chrono::milliseconds(ttl * 1000 / 3));
  }
  return reg;
}

client::ClientOptions AgentClientOptions(const std::string& server,
                                         std::chrono::milliseconds heartbeat_interval) {
  using std::chrono::milliseconds;
  client::ClientOptions options;
  options.server = server;
  options.timeout = std::clamp(heartbeat_interval, milliseconds(2000), milliseconds(10000));
  options.retry_budget = heartbeat_interval;
  options.max_backoff = std::min(milliseconds(1000), heartbeat_interval / 2);
  options.initial_backoff = std::min(milliseconds(50), options.max_backoff);
  return options;
}

}  // namespace line::agent
