// Responses -> JSON text, with exactly the field names of SPEC.md's tables. Output is bare JSON
// (no trailing newline; HttpServer appends it). Serialized JSON held in the responses
// (payload, result) is embedded as a JSON value, not as a string. Pure functions.
#pragma once

#include <string>

#include "common/status.h"
#include "ops/requests.h"

namespace line {

// {"message":"...","code":"<CodeName>"}
std::string EncodeError(const Status& status);
// {"status":"ok"}
std::string EncodeHealthy();

std::string EncodeJson(const Empty&);  // {}
std::string EncodeJson(const CreatePoolResponse& r);
std::string EncodeJson(const RegisterWorkerResponse& r);
std::string EncodeJson(const HeartbeatResponse& r);  // unknown_allocs is always present
std::string EncodeJson(const ScheduleEvalResponse& r);
std::string EncodeJson(const ScheduleEvalsResponse& r);
std::string EncodeJson(const ReceiveAllocsResponse& r);
std::string EncodeJson(const PoolDescription& r);
std::string EncodeJson(const ListPoolsResponse& r);
std::string EncodeJson(const WorkerDescription& r);
std::string EncodeJson(const ListWorkersResponse& r);
// alloc_id, worker_id and result are null when empty, exit_code when absent; a history entry's
// ended and reason are null while its alloc is live.
std::string EncodeJson(const EvalDescription& r);
std::string EncodeJson(const ListEvalsResponse& r);
std::string EncodeJson(const AllocDescription& r);
std::string EncodeJson(const ListAllocsResponse& r);
std::string EncodeJson(const ListDeadLettersResponse& r);
std::string EncodeJson(const RedriveResponse& r);

}  // namespace line
