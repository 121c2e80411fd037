// Typed requests and responses of every API call. The API layer decodes JSON into these (all
// syntax and range checks happen there) and encodes the responses; Service implements them.
// Times in responses are whole Unix seconds, as on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"

namespace line {

// Paging of List* calls. max_results is 1..1000 (default 100); next_token is opaque, "" for
// the first page.
struct PageRequest {
  int64_t max_results = 100;
  std::string next_token;
};

struct CreatePoolRequest {
  std::optional<PlacementPolicy> placement;  // default spread
  std::optional<int64_t> max_retry;          // default LINE_MAX_RETRY
  std::optional<int64_t> alloc_ttl;          // seconds; default LINE_ALLOC_TTL
};
struct CreatePoolResponse {
  std::string pool_id;
};

struct RegisterWorkerRequest {
  std::string pool_id;
  int64_t capacity = 0;
};
struct RegisterWorkerResponse {
  std::string pool_id;
  std::string worker_id;
  std::string queue_url;
  int64_t capacity = 0;
  int64_t worker_ttl = 0;  // seconds
  int64_t replica_ttl = 0;
  int64_t alloc_ttl = 0;
};

struct PoolRequest {  // DisbandPool, DescribePool, ListDeadLetters (+ page)
  std::string pool_id;
  PageRequest page;
};

struct WorkerRequest {  // DescribeWorker, DrainWorker, DeregisterWorker
  std::string pool_id;
  std::string worker_id;
};

struct HeartbeatRequest {
  std::string pool_id;
  std::string worker_id;
  std::vector<std::string> allocs;
  std::vector<std::string> datasets;
};
struct HeartbeatResponse {
  std::vector<std::string> unknown_allocs;
};

struct EvalSpec {
  std::string dataset_id;  // "" = no locality preference
  int64_t size = 0;
  std::string payload = "null";  // serialized JSON, at most 64 KiB
  std::string idempotency_key;   // "" = none
};

struct ScheduleEvalRequest {
  std::string pool_id;
  EvalSpec eval;
};
struct ScheduleEvalResponse {
  std::string eval_id;
};

struct ScheduleEvalsRequest {
  std::string pool_id;
  std::vector<EvalSpec> evals;  // 1..10000
};
struct ScheduleEvalsResponse {
  std::vector<std::string> eval_ids;
};

struct CompleteAllocRequest {
  std::string pool_id;
  std::string alloc_id;
  std::optional<std::string> worker_id;
  std::optional<int64_t> exit_code;
  std::string result;  // serialized JSON; "" = absent
  bool failed = false;
};

struct ReceiveAllocsRequest {
  std::string pool_id;
  std::string worker_id;
  int64_t max_number_of_messages = 10;  // 1..100
  int64_t wait_time_seconds = 0;        // 0..20
};
struct ReceivedAlloc {
  std::string pool_id;
  std::string alloc_id;
  std::string worker_id;
  std::string eval_id;
  std::string dataset_id;
  int64_t size = 0;
  std::string payload;  // serialized JSON
  int64_t attempt = 0;
};
struct ReceiveAllocsResponse {
  std::vector<ReceivedAlloc> allocs;
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
  int64_t pending_evals = 0;
  int64_t blocked_evals = 0;
  int64_t live_allocs = 0;
  int64_t dead_letters = 0;
  // The LINE_LISTEN of the node scheduling the pool now; "" when none does (disbanded, or
  // between an owner's death and the takeover).
  std::string owner;
};
struct ListPoolsResponse {
  std::vector<PoolDescription> pools;
  std::string next_token;  // "" = no more
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
struct ListWorkersRequest {
  std::string pool_id;
  PageRequest page;
};
struct ListWorkersResponse {
  std::vector<WorkerDescription> workers;
  std::string next_token;
};

struct EvalRequest {
  std::string pool_id;
  std::string eval_id;
};
struct HistoryEntry {
  std::string alloc_id;
  std::string worker_id;
  bool locality = false;
  std::optional<int64_t> ended;  // Unix seconds; empty while the alloc is live
  std::string reason;            // "" while live
};
struct EvalDescription {
  std::string pool_id;
  std::string eval_id;
  std::string state;
  std::string dataset_id;
  int64_t size = 0;
  std::string payload;  // serialized JSON
  int64_t attempt = 0;
  std::string alloc_id;   // "" = null on the wire
  std::string worker_id;  // "" = null on the wire
  std::optional<int64_t> exit_code;
  std::string result;  // serialized JSON; "" = null on the wire
  std::vector<HistoryEntry> history;
};
struct ListEvalsRequest {
  std::string pool_id;
  std::optional<EvalState> state;
  PageRequest page;
};
struct ListEvalsResponse {
  std::vector<EvalDescription> evals;
  std::string next_token;
};

struct AllocRequest {
  std::string pool_id;
  std::string alloc_id;
};
struct AllocDescription {
  std::string pool_id;
  std::string alloc_id;
  std::string worker_id;
  std::string eval_id;
  std::string dataset_id;
  int64_t size = 0;
  int64_t ttl = 0;  // Unix seconds
  std::string state;
  bool locality = false;
};
struct ListAllocsRequest {
  std::string pool_id;
  std::string worker_id;  // "" = all workers
  std::optional<AllocState> state;
  PageRequest page;
};
struct ListAllocsResponse {
  std::vector<AllocDescription> allocs;
  std::string next_token;
};

struct DeadLetterDescription {
  std::string pool_id;
  std::string eval_id;
  std::string dataset_id;
  int64_t size = 0;
  std::string payload;  // serialized JSON
  int64_t attempts = 0;
  std::string reason;
};
struct ListDeadLettersResponse {
  std::vector<DeadLetterDescription> dead_letters;
  std::string next_token;
};

struct RedriveRequest {
  std::string pool_id;
  std::optional<std::vector<std::string>> eval_ids;  // empty optional = all dead letters
};
struct RedriveResponse {
  int64_t redriven = 0;
};

struct Empty {};

}  // namespace line
