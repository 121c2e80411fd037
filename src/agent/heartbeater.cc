#include "agent/heartbeater.h"

#include <spdlog/spdlog.h>

#include "agent/registration.h"

namespace line::agent {

Heartbeater::Heartbeater(client::Client& client, std::string pool_id, int64_t capacity,
                         AllocBook& book, Session& session, DatasetDir datasets,
                         std::chrono::milliseconds interval)
    : client_(client),
      pool_id_(std::move(pool_id)),
      capacity_(capacity),
      book_(book),
      session_(session),
      datasets_(std::move(datasets)),
      interval_(interval),
      backoff_(std::chrono::milliseconds(100), interval),
      thread_([this] { Run(); }) {}

Heartbeater::~Heartbeater() { thread_.join(); }

void Heartbeater::Run() {
  while (!session_.Get().stopping) {
    if (Round()) {
      if (unreachable_) spdlog::info("lined answers again");
      unreachable_ = false;
      backoff_.Reset();
      session_.WaitFor(interval_, [](const SessionState& s) {
        return s.stopping || s.heartbeat_wanted || s.renewal_requested ||
               (s.draining && !s.drain_acked);
      });
    } else {
      unreachable_ = true;
      session_.WaitFor(backoff_.Next(), [](const SessionState& s) { return s.stopping; });
    }
  }
}

bool Heartbeater::Round() {
  SessionState s = session_.Get();
  if (lost_) return true;
  if (s.renewal_requested) {
    if (s.draining) {
      lost_ = true;  // a draining agent takes no new work: no need to register again
      return true;
    }
    if (!Reregister()) return false;
    s = session_.Get();
  }
  if (s.draining && !s.drain_acked && !Drain(s)) return false;
  if (lost_) return true;
  return Heartbeat();
}

bool Heartbeater::Reregister() {
  client::Result<Registration> reg = Register(client_, pool_id_, capacity_);
  if (!reg.ok()) {
    spdlog::warn("registering again failed, will retry: {}", reg.error().ToString());
    return false;
  }
  interval_ = reg->heartbeat_interval;
  backoff_.set_max(interval_);
  spdlog::info("registered again as worker {} (heartbeat every {} ms)", reg->worker_id,
               interval_.count());
  session_.Registered(reg->worker_id);
  return true;
}

bool Heartbeater::Drain(const SessionState& s) {
  client::Result<client::Empty> r =
      client_.DrainWorker({.pool_id = pool_id_, .worker_id = s.worker_id});
  if (r.ok()) {
    spdlog::info("worker {} drains: lined places nothing more on it", s.worker_id);
  } else if (r.error().http_status == 404) {
    spdlog::warn("drain: lined no longer knows worker {}: {}", s.worker_id, r.error().ToString());
    lost_ = true;
  } else {
    spdlog::warn("drain failed, will retry: {}", r.error().ToString());
    return false;
  }
  session_.DrainAcked(s.generation);
  return true;
}

bool Heartbeater::Heartbeat() {
  SessionState s = session_.Get();
  session_.ClearHeartbeatWanted();
  client::SendHeartbeatRequest request{.pool_id = pool_id_,
                                       .worker_id = s.worker_id,
                                       .allocs = book_.HeldBy(s.worker_id),
                                       .datasets = datasets_.Read()};
  client::Result<client::SendHeartbeatResponse> r = client_.SendHeartbeat(request);
  if (r.ok()) {
    for (const std::string& id : r->unknown_allocs) {
      spdlog::debug("heartbeat: alloc {} is no longer live on lined", id);
    }
    return true;
  }
  const client::Error& e = r.error();
  if (e.http_status == 404 && e.code == "WorkerNotFound") {
    spdlog::warn(
        "lined no longer knows worker {} (its TTL passed while it was unreachable); "
        "registering again",
        s.worker_id);
    session_.RequestRenewal(s.generation);
    return Round();
  }
  if (!unreachable_) spdlog::warn("heartbeat failed, will retry: {}", e.ToString());
  return false;
}

}  // namespace line::agent
