#include "common/status.h"

namespace line {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "Ok";
    case Code::kInvalidInput: return "InvalidInput";
    case Code::kPoolNotFound: return "PoolNotFound";
    case Code::kWorkerNotFound: return "WorkerNotFound";
    case Code::kAllocNotFound: return "AllocNotFound";
    case Code::kEvalNotFound: return "EvalNotFound";
    case Code::kNotFound: return "NotFound";
    case Code::kPoolDisbanded: return "PoolDisbanded";
    case Code::kAllocNotOwned: return "AllocNotOwned";
    case Code::kAllocAlreadyEnded: return "AllocAlreadyEnded";
    case Code::kIdempotencyConflict: return "IdempotencyConflict";
    case Code::kPayloadTooLarge: return "PayloadTooLarge";
    case Code::kMethodNotAllowed: return "MethodNotAllowed";
    case Code::kStoreUnavailable: return "StoreUnavailable";
    case Code::kInternal: return "InternalError";
    case Code::kConflict: return "Conflict";
  }
  return "InternalError";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace line
