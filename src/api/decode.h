// JSON request bodies -> typed requests, with every syntax and range check of the API (the
// Service sees only well-formed requests). Pure functions; thread-safe.
//
// Rules shared by every endpoint (docs/api.md lists the bounds):
// - the body must be a JSON object; unknown fields are ignored;
// - an optional field that is absent or null takes its default;
// - a failure is InvalidInput whose message names the field (with its index inside arrays,
//   e.g. "evals[3].size") and the offending value.
#pragma once

#include <string_view>

#include "common/status.h"
#include "ops/requests.h"

namespace line {

// Bounds the decoders enforce.
inline constexpr int64_t kMaxCount = 2147483647;  // size and capacity: 1..2^31-1
inline constexpr int64_t kMaxRetryLimit = 1000;
inline constexpr int64_t kMaxAllocTtlSeconds = 86400;
inline constexpr size_t kMaxPayloadBytes = 64 * 1024;  // payload and result, serialized
inline constexpr int64_t kMaxResults = 1000;
inline constexpr size_t kMaxEvalsPerBatch = 10000;
inline constexpr int64_t kMaxMessages = 100;
inline constexpr int64_t kMaxWaitSeconds = 20;

Result<CreatePoolRequest> DecodeCreatePool(std::string_view body);
Result<RegisterWorkerRequest> DecodeRegisterWorker(std::string_view body);
// DisbandPool and DescribePool: {"pool_id"}.
Result<PoolRequest> DecodePoolRequest(std::string_view body);
Result<HeartbeatRequest> DecodeSendHeartbeat(std::string_view body);
Result<ScheduleEvalRequest> DecodeScheduleEval(std::string_view body);
Result<ScheduleEvalsRequest> DecodeScheduleEvals(std::string_view body);
Result<CompleteAllocRequest> DecodeCompleteAlloc(std::string_view body);
Result<ReceiveAllocsRequest> DecodeReceiveAllocs(std::string_view body);
Result<PageRequest> DecodeListPools(std::string_view body);
// DescribeWorker, DrainWorker and DeregisterWorker: {"pool_id","worker_id"}.
Result<WorkerRequest> DecodeWorkerRequest(std::string_view body);
Result<ListWorkersRequest> DecodeListWorkers(std::string_view body);
Result<EvalRequest> DecodeDescribeEval(std::string_view body);
Result<ListEvalsRequest> DecodeListEvals(std::string_view body);
Result<AllocRequest> DecodeDescribeAlloc(std::string_view body);
Result<ListAllocsRequest> DecodeListAllocs(std::string_view body);
// {"pool_id"} plus paging.
Result<PoolRequest> DecodeListDeadLetters(std::string_view body);
Result<RedriveRequest> DecodeRedriveDeadLetters(std::string_view body);

}  // namespace line
