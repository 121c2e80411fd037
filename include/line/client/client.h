// libline: the C++ client of lined's HTTP API (SPEC.md), one method per endpoint.
//
//   line::client::Client client;  // $LINE_SERVER, else http://127.0.0.1:8080
//   auto pool = client.CreatePool({.placement = "binpack"});
//   if (!pool) std::cerr << pool.error().ToString() << "\n";
//   else std::cout << pool->pool_id << "\n";
//
// Transport: HTTP/1.1 over keep-alive connections kept in a small pool. Each attempt has a
// timeout; failed attempts are retried with capped exponential backoff and full jitter while
// the retry budget and max_attempts allow, but only when no answer came (connection refused,
// reset, timeout, dropped mid-request) or the answer was 503. A 4xx or any other 5xx is
// returned at once. See docs/client.md.
//
// Retries of calls that change state: a dropped connection or a 503 means "outcome unknown".
// - ScheduleEval(s) are made safe by idempotency keys (auto_idempotency_keys adds one to every
//   eval that has none, so a retry never submits twice).
// - CompleteAlloc retried after a committed first attempt answers 409 AllocAlreadyEnded:
//   Error::attempts > 1 says the client retried; callers then treat it as success.
// - The other writes are idempotent in effect (CreatePool and RegisterWorker may create an
//   unused pool or worker when a retry follows a lost answer; an unused worker expires).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "line/client/result.h"
#include "line/client/types.h"

namespace line::client {

struct ClientOptions {
  // "http://host:port" (also "host:port"). Empty = $LINE_SERVER, else DefaultServer().
  std::string server;
  // Bound on each attempt: connect, send and the whole answer.
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  // ReceiveAllocs with wait_time_seconds W gets max(timeout, W + long_poll_margin) per attempt.
  std::chrono::milliseconds long_poll_margin = std::chrono::seconds(5);
  // No retry starts later than this after the call began (attempts still in flight finish
  // under their own timeout). 0 = never retry.
  std::chrono::milliseconds retry_budget = std::chrono::seconds(10);
  // Attempts per call, the first included (1 = never retry).
  int max_attempts = 8;
  // Backoff before retry n (n = 1, 2, ...) is uniform in [0, min(max_backoff,
  // initial_backoff * 2^(n-1))] (full jitter), cut so it ends within the retry budget.
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(50);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(1);
  // Idle keep-alive connections kept for reuse; more may be open while calls run.
  int max_idle_connections = 8;
  // Give every ScheduleEval(s) eval without an idempotency_key a random one, so retries after
  // a lost answer cannot submit it twice.
  bool auto_idempotency_keys = true;
};

// "http://127.0.0.1:8080".
std::string DefaultServer();

// Thread-safe: one Client may serve any number of threads at once (each call borrows its own
// connection). Not copyable; owns its connections, which close when it is destroyed.
class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The server address in use, normalized to "http://host:port".
  const std::string& server() const;
  const ClientOptions& options() const;

  Result<CreatePoolResponse> CreatePool(const CreatePoolRequest& request);
  Result<RegisterWorkerResponse> RegisterWorker(const RegisterWorkerRequest& request);
  Result<Empty> DisbandPool(const DisbandPoolRequest& request);
  Result<SendHeartbeatResponse> SendHeartbeat(const SendHeartbeatRequest& request);
  Result<ScheduleEvalResponse> ScheduleEval(const ScheduleEvalRequest& request);
  Result<ScheduleEvalsResponse> ScheduleEvals(const ScheduleEvalsRequest& request);
  Result<Empty> CompleteAlloc(const CompleteAllocRequest& request);

  Result<ReceiveAllocsResponse> ReceiveAllocs(const ReceiveAllocsRequest& request);
  Result<DescribePoolResponse> DescribePool(const DescribePoolRequest& request);
  Result<ListPoolsResponse> ListPools(const ListPoolsRequest& request = {});
  Result<DescribeWorkerResponse> DescribeWorker(const DescribeWorkerRequest& request);
  Result<ListWorkersResponse> ListWorkers(const ListWorkersRequest& request);
  Result<DescribeEvalResponse> DescribeEval(const DescribeEvalRequest& request);
  Result<ListEvalsResponse> ListEvals(const ListEvalsRequest& request);
  Result<DescribeAllocResponse> DescribeAlloc(const DescribeAllocRequest& request);
  Result<ListAllocsResponse> ListAllocs(const ListAllocsRequest& request);
  Result<ListDeadLettersResponse> ListDeadLetters(const ListDeadLettersRequest& request);
  Result<RedriveDeadLettersResponse> RedriveDeadLetters(const RedriveDeadLettersRequest& request);
  Result<Empty> DrainWorker(const DrainWorkerRequest& request);
  Result<Empty> DeregisterWorker(const DeregisterWorkerRequest& request);

  // GET /healthz. A 503 (store down) is an Error with code StoreUnavailable, after retries.
  Result<HealthzResponse> Healthz();

  // POSTs `json_body` to `path` (e.g. "/CreatePool") with the same timeouts and retries, and
  // returns the answer's body as JSON text (trailing newline removed) when it is 200. Errors
  // as for the typed calls. `timeout` overrides ClientOptions::timeout for this call.
  Result<std::string> Call(std::string_view path, std::string_view json_body,
                           std::optional<std::chrono::milliseconds> timeout = std::nullopt);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace line::client
