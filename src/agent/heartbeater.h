// The heartbeat thread: keeps the worker, its replicas and its held allocs alive, registers
// again when lined forgot the worker (its TTL passed during an outage), and sends DrainWorker
// once the agent drains.
//
// Owns its thread and the DatasetDir; borrows the Client, AllocBook and Session, which must
// outlive it. Stops when the Session stops.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "agent/alloc_book.h"
#include "agent/backoff.h"
#include "agent/dataset_dir.h"
#include "agent/session.h"
#include "line/client/client.h"

namespace line::agent {

class Heartbeater {
 public:
  Heartbeater(client::Client& client, std::string pool_id, int64_t capacity, AllocBook& book,
              Session& session, DatasetDir datasets, std::chrono::milliseconds interval);
  ~Heartbeater();  // joins; call Session::Stop() first
  Heartbeater(const Heartbeater&) = delete;
  Heartbeater& operator=(const Heartbeater&) = delete;

 private:
  void Run();
  // Registration renewal, drain and heartbeat as needed; false if lined could not be reached
  // (or refused) and the round should be retried after a backoff.
  bool Round();
  bool Reregister();
  bool Drain(const SessionState& s);
  bool Heartbeat();

  // Everything below is used by the heartbeat thread alone once it started.
  client::Client& client_;
  const std::string pool_id_;
  const int64_t capacity_;
  AllocBook& book_;
  Session& session_;
  DatasetDir datasets_;
  std::chrono::milliseconds interval_;
  Backoff backoff_;
  bool lost_ = false;         // lined forgot the worker while draining: nothing to heartbeat
  bool unreachable_ = false;  // the last round failed (log the outage once, and its end)
  std::thread thread_;        // last: starts after the fields it uses
};

}  // namespace line::agent
