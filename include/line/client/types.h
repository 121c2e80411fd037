// Typed requests and responses of every endpoint of SPEC.md's HTTP API, as plain structs that
// mirror the wire field by field (same names, snake_case). docs/api.md gives the bounds the
// server checks; the client checks nothing but the JSON syntax of payload and result.
//
// Conventions:
// - `payload` and `result` are JSON text (a serialized JSON value, e.g. R"({"cmd":"ls"})" or
//   "null"), so users pick their own JSON library. Responses return the server's
//   re-serialization (whitespace dropped, numbers normalized).
// - std::optional in a request = the field is not sent (the server applies its default);
//   in a response = the field was null.
// - Ids the client supplies as plain strings use "" for "not given" (the API treats "" and
//   absent alike for optional ids).
// - Times are whole Unix seconds; durations are seconds.
// - List requests take max_results (absent = server default 100, at most 1000) and
//   next_token ("" = first page); responses carry next_token, "" when no more remain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "line/client/result.h"

namespace line::client {

// ---- The original's endpoints ----

struct CreatePoolRequest {
  std::optional<std::string> placement;  // "spread" (default) or "binpack"
  std::optional<int64_t> max_retry;      // default LINE_MAX_RETRY
  std::optional<int64_t> alloc_ttl;      // seconds; default LINE_ALLOC_TTL
};
struct CreatePoolResponse {
  std::string pool_id;
};

struct RegisterWorkerRequest {
  std::string pool_id;
  int64_t capacity = 0;  // >= 1
};
struct RegisterWorkerResponse {
  std::string pool_id;
  std::string worker_id;
  std::string queue_url;
  int64_t capacity = 0;
  int64_t worker_ttl = 0;  // seconds: heartbeat well within this
  int64_t replica_ttl = 0;
  int64_t alloc_ttl = 0;
};

struct DisbandPoolRequest {
  std::string pool_id;
};

struct SendHeartbeatRequest {
  std::string pool_id;
  std::string worker_id;
  std::vector<std::string> allocs;    // the worker's running allocs (renewed and acknowledged)
  std::vector<std::string> datasets;  // the worker's full dataset list
};
struct SendHeartbeatResponse {
  std::vector<std::string> unknown_allocs;  // listed ids that are not this worker's live allocs
};

// One eval of ScheduleEvals; the fields of ScheduleEvalRequest without pool_id.
struct EvalSpec {
  std::string dataset_id;              // "" = no locality preference
  int64_t size = 0;                    // >= 1
  std::optional<std::string> payload;  // JSON text; absent = null
  std::string idempotency_key;         // "" = none (see ClientOptions::auto_idempotency_keys)
};

struct ScheduleEvalRequest {
  std::string pool_id;
  std::string dataset_id;              // "" = no locality preference
  int64_t size = 0;                    // >= 1
  std::optional<std::string> payload;  // JSON text; absent = null
  std::string idempotency_key;         // "" = none (see ClientOptions::auto_idempotency_keys)
};
struct ScheduleEvalResponse {
  std::string eval_id;
};

struct ScheduleEvalsRequest {
  std::string pool_id;
  std::vector<EvalSpec> evals;  // 1..10000, all or nothing
};
struct ScheduleEvalsResponse {
  std::vector<std::string> eval_ids;  // in the order of the request's evals
};

// A completion sent again after a dropped connection or a 503 answers 409 AllocAlreadyEnded
// when the first send committed; Client::CompleteAlloc then checks DescribeAlloc and returns
// success (see there).
struct CompleteAllocRequest {
  std::string pool_id;
  std::string alloc_id;
  std::optional<std::string> worker_id;  // when given, must be the alloc's (else 409 AllocNotOwned)
  std::optional<int64_t> exit_code;
  std::optional<std::string> result;  // JSON text; absent = no result
  bool failed = false;                // true = retry the eval (attempt + 1) or dead-letter it
};

// ---- Endpoints line adds ----

struct ReceiveAllocsRequest {
  std::string pool_id;
  std::string worker_id;
  int64_t max_number_of_messages = 10;  // 1..100
  // 0..20; the call's timeout is stretched to wait_time_seconds + ClientOptions::
  // long_poll_margin so a long poll is never cut short by the client.
  int64_t wait_time_seconds = 0;
};
struct ReceivedAlloc {
  std::string pool_id;
  std::string alloc_id;
  std::string worker_id;
  std::string eval_id;
  std::string dataset_id;  // "" = none
  int64_t size = 0;
  std::string payload;  // JSON text ("null" when the eval had none)
  int64_t attempt = 0;
};
struct ReceiveAllocsResponse {
  std::vector<ReceivedAlloc> allocs;
};

struct DescribePoolRequest {
  std::string pool_id;
};
struct PoolDescription {
  std::string pool_id;
  std::string placement;
  int64_t max_retry = 0;
  int64_t alloc_ttl = 0;
  bool disbanded = false;
  int64_t workers = 0;
  int64_t capacity = 0;
  int64_t free = 0;
  int64_t pending_evals = 0;  // every pending eval, blocked ones included
  int64_t blocked_evals = 0;
  int64_t live_allocs = 0;
  int64_t dead_letters = 0;
  // The LINE_LISTEN of the lined node scheduling the pool now; "" when none does (disbanded,
  // or between an owner's death and the takeover when several nodes share PostgreSQL).
  std::string owner;
};
using DescribePoolResponse = PoolDescription;

struct ListPoolsRequest {
  std::optional<int64_t> max_results;
  std::string next_token;
};
struct ListPoolsResponse {
  std::vector<PoolDescription> pools;
  std::string next_token;  // "" = no more
};

struct DescribeWorkerRequest {
  std::string pool_id;
  std::string worker_id;
};
struct WorkerDescription {
  std::string pool_id;
  std::string worker_id;
  int64_t capacity = 0;
  int64_t free = 0;
  int64_t ttl = 0;  // Unix seconds
  bool draining = false;
  std::vector<std::string> datasets;
  std::vector<std::string> allocs;  // live alloc ids
};
using DescribeWorkerResponse = WorkerDescription;

struct ListWorkersRequest {
  std::string pool_id;
  std::optional<int64_t> max_results;
  std::string next_token;
};
struct ListWorkersResponse {
  std::vector<WorkerDescription> workers;
  std::string next_token;  // "" = no more
};

struct DescribeEvalRequest {
  std::string pool_id;
  std::string eval_id;
};
struct HistoryEntry {
  std::string alloc_id;
  std::string worker_id;
  bool locality = false;              // the placement was a locality hit
  std::optional<int64_t> ended;       // Unix seconds; null while the alloc is live
  std::optional<std::string> reason;  // null while the alloc is live
};
struct EvalDescription {
  std::string pool_id;
  std::string eval_id;
  std::string state;       // "pending", "placed", "completed" or "dead"
  std::string dataset_id;  // "" = none
  int64_t size = 0;
  std::string payload;  // JSON text
  int64_t attempt = 0;
  std::optional<std::string> alloc_id;   // null until first placed
  std::optional<std::string> worker_id;  // null until first placed
  std::optional<int64_t> exit_code;      // the latest completion's
  std::optional<std::string> result;     // JSON text of the latest completion's result
  std::vector<HistoryEntry> history;
};
using DescribeEvalResponse = EvalDescription;

struct ListEvalsRequest {
  std::string pool_id;
  std::optional<std::string> state;  // "pending", "placed", "completed", "dead"; absent = all
  std::optional<int64_t> max_results;
  std::string next_token;
};
struct ListEvalsResponse {
  std::vector<EvalDescription> evals;
  std::string next_token;  // "" = no more
};

struct DescribeAllocRequest {
  std::string pool_id;
  std::string alloc_id;
};
struct AllocDescription {
  std::string pool_id;
  std::string alloc_id;
  std::string worker_id;
  std::string eval_id;
  std::string dataset_id;  // "" = none
  int64_t size = 0;
  int64_t ttl = 0;    // Unix seconds
  std::string state;  // "live", "completed" or "expired"
  bool locality = false;
};
using DescribeAllocResponse = AllocDescription;

struct ListAllocsRequest {
  std::string pool_id;
  std::string worker_id;             // "" = all workers
  std::optional<std::string> state;  // "live", "completed", "expired"; absent = all
  std::optional<int64_t> max_results;
  std::string next_token;
};
struct ListAllocsResponse {
  std::vector<AllocDescription> allocs;
  std::string next_token;  // "" = no more
};

struct ListDeadLettersRequest {
  std::string pool_id;
  std::optional<int64_t> max_results;
  std::string next_token;
};
struct DeadLetter {
  std::string pool_id;
  std::string eval_id;
  std::string dataset_id;  // "" = none
  int64_t size = 0;
  std::string payload;  // JSON text
  int64_t attempts = 0;
  std::string reason;
};
struct ListDeadLettersResponse {
  std::vector<DeadLetter> dead_letters;
  std::string next_token;  // "" = no more
};

struct RedriveDeadLettersRequest {
  std::string pool_id;
  std::optional<std::vector<std::string>> eval_ids;  // absent = every dead letter of the pool
};
struct RedriveDeadLettersResponse {
  int64_t redriven = 0;
};

struct DrainWorkerRequest {
  std::string pool_id;
  std::string worker_id;
};

struct DeregisterWorkerRequest {
  std::string pool_id;
  std::string worker_id;
};

struct HealthzResponse {
  std::string status;  // "ok"
};

// The JSON body each request is sent as: for callers that want the API's raw answer (e.g.
// `linectl --json`) through Client::Call. Fails only on payload/result text that is not JSON.
Result<std::string> ToJson(const CreatePoolRequest& r);
Result<std::string> ToJson(const RegisterWorkerRequest& r);
Result<std::string> ToJson(const DisbandPoolRequest& r);
Result<std::string> ToJson(const SendHeartbeatRequest& r);
Result<std::string> ToJson(const ScheduleEvalRequest& r);
Result<std::string> ToJson(const ScheduleEvalsRequest& r);
Result<std::string> ToJson(const CompleteAllocRequest& r);
Result<std::string> ToJson(const ReceiveAllocsRequest& r);
Result<std::string> ToJson(const DescribePoolRequest& r);
Result<std::string> ToJson(const ListPoolsRequest& r);
Result<std::string> ToJson(const DescribeWorkerRequest& r);
Result<std::string> ToJson(const ListWorkersRequest& r);
Result<std::string> ToJson(const DescribeEvalRequest& r);
Result<std::string> ToJson(const ListEvalsRequest& r);
Result<std::string> ToJson(const DescribeAllocRequest& r);
Result<std::string> ToJson(const ListAllocsRequest& r);
Result<std::string> ToJson(const ListDeadLettersRequest& r);
Result<std::string> ToJson(const RedriveDeadLettersRequest& r);
Result<std::string> ToJson(const DrainWorkerRequest& r);
Result<std::string> ToJson(const DeregisterWorkerRequest& r);

}  // namespace line::client
