// RegisterWorker and what its answer means for the agent's pacing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "line/client/client.h"

namespace line::agent {

struct Registration {
  std::string worker_id;
  // How often to heartbeat: a third of the shortest of the worker, alloc and replica TTLs
  // (SPEC asks for a third of worker_ttl; a pool's alloc_ttl may be shorter, and running
  // allocs must outlive it too). At least 100 ms.
  std::chrono::milliseconds heartbeat_interval{10000};
  int64_t worker_ttl = 0;
};

// Registers once (with libline's own retries only).
client::Result<Registration> Register(client::Client& client, const std::string& pool_id,
                                      int64_t capacity);

// libline options for the agent's calls, given the heartbeat interval: per-call retries end
// within one interval so the agent's own loops stay in charge of longer outages.
client::ClientOptions AgentClientOptions(const std::string& server,
                                         std::chrono::milliseconds heartbeat_interval);

}  // namespace line::agent
