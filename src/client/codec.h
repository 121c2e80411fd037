// JSON <-> libline's public types (include/line/client/types.h), with Boost.JSON. Kept out of
// the public headers so users never see Boost.
//
// Decoding is strict about what SPEC.md promises (a required field missing or of another type
// is an error naming it) and ignores fields it does not know, so a newer server still works.
#pragma once

#include <string>
#include <string_view>

#include "line/client/types.h"

namespace line::client::internal {

// Decodes an API answer body (a JSON object) into `*out`; false with `*error` naming the field.
bool Decode(std::string_view body, CreatePoolResponse* out, std::string* error);
bool Decode(std::string_view body, RegisterWorkerResponse* out, std::string* error);
bool Decode(std::string_view body, Empty* out, std::string* error);
bool Decode(std::string_view body, SendHeartbeatResponse* out, std::string* error);
bool Decode(std::string_view body, ScheduleEvalResponse* out, std::string* error);
bool Decode(std::string_view body, ScheduleEvalsResponse* out, std::string* error);
bool Decode(std::string_view body, ReceiveAllocsResponse* out, std::string* error);
bool Decode(std::string_view body, PoolDescription* out, std::string* error);
bool Decode(std::string_view body, ListPoolsResponse* out, std::string* error);
bool Decode(std::string_view body, WorkerDescription* out, std::string* error);
bool Decode(std::string_view body, ListWorkersResponse* out, std::string* error);
bool Decode(std::string_view body, EvalDescription* out, std::string* error);
bool Decode(std::string_view body, ListEvalsResponse* out, std::string* error);
bool Decode(std::string_view body, AllocDescription* out, std::string* error);
bool Decode(std::string_view body, ListAllocsResponse* out, std::string* error);
bool Decode(std::string_view body, ListDeadLettersResponse* out, std::string* error);
bool Decode(std::string_view body, RedriveDeadLettersResponse* out, std::string* error);
bool Decode(std::string_view body, HealthzResponse* out, std::string* error);

// Reads the {"message","code"} of an error answer; false when the body is not one.
bool DecodeError(std::string_view body, std::string* code, std::string* message);

}  // namespace line::client::internal
