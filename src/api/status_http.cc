#include "api/status_http.h"

#include "api/encode.h"
#include "common/log.h"

namespace line {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidInput:
      return 400;
    case Code::kPoolNotFound:
    case Code::kWorkerNotFound:
    case Code::kAllocNotFound:
    case Code::kEvalNotFound:
    case Code::kNotFound:
      return 404;
    case Code::kMethodNotAllowed:
      return 405;
    case Code::kPoolDisbanded:
    case Code::kAllocNotOwned:
    case Code::kAllocAlreadyEnded:
    case Code::kIdempotencyConflict:
      return 409;
    case Code::kPayloadTooLarge:
      return 413;
    case Code::kStoreUnavailable:
      return 503;
    case Code::kInternal:
    case Code::kConflict:
      return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Status& status, std::string_view context) {
  // An OK status here would be a caller bug; answering 200 with an error body would hide it.
  Status shown = status.ok() ? Status::Internal("error response built from an OK status") : status;
  HttpResponse response;
  response.status = HttpStatusFor(shown.code());
  response.body = EncodeError(shown);
  if (response.status >= 500) {
    spdlog::error("{} -> {} {}: {}", context, response.status, CodeName(shown.code()),
                  shown.message());
  }
  return response;
}

}  // namespace line
