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
// - ScheduleEval(s) are made safe by idempotency keys: auto_idempotency_keys gives every eval
//   without one a random key, chosen once per call and sent unchanged on every retry, so a
//   retry of a call that committed returns the ids of the first try and creates nothing.
// - CompleteAlloc: when a send that may have committed is followed by 409 AllocAlreadyEnded,
//   libline asks DescribeAlloc and answers success if the alloc is "completed" (see
//   CompleteAlloc below). A 409 on a call sent only once is returned unchanged.
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

// Per-call options of Client::CompleteAlloc.
struct CompleteAllocOptions {
  // An earlier CompleteAlloc call with this same request got no answer (Unreachable) or a 503,
  // so it may have committed: a 409 AllocAlreadyEnded is then checked as after a retry, even on
  // this call's first attempt. For callers that retry on their own when libline gives up.
  bool earlier_call_unanswered = false;
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
  // Ends the alloc. If the request was sent more than once within this call (a retry after a
  // dropped connection or a 503, or a re-send after a stale keep-alive connection), or
  // `call.earlier_call_unanswered`, an earlier send may have committed it; a 409
  // AllocAlreadyEnded is then checked with DescribeAlloc:
  //   - state "completed" (what a successful and a failed completion both leave): success;
  //   - any other state (e.g. "expired"), or DescribeAlloc answers a 4xx: that 409, unchanged;
  //   - DescribeAlloc gets no answer or 503: that error (Unreachable / StoreUnavailable, with
  //     both steps in its message), since whether this completion committed is still unknown.
  // A 409 AllocAlreadyEnded on a call sent once is returned unchanged: the alloc had really
  // ended before (it expired, or was completed by someone else).
  Result<Empty> CompleteAlloc(const CompleteAllocRequest& request,
                              const CompleteAllocOptions& call = {});

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
