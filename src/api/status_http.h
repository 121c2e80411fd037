// The one place that maps a Status code to an HTTP status (STYLE.md: errors map at the edge, in
// one function), and the error response built from it.
#pragma once

#include <string_view>

#include "api/http_server.h"
#include "common/status.h"

namespace line {

// 400 InvalidInput; 404 the *NotFound codes; 409 PoolDisbanded, AllocNotOwned,
// AllocAlreadyEnded, IdempotencyConflict; 413 PayloadTooLarge; 405 MethodNotAllowed;
// 503 StoreUnavailable; 500 everything else (Internal, and a Conflict that escaped: both bugs).
// kOk maps to 200.
int HttpStatusFor(Code code);

// `{"message":...,"code":...}` with HttpStatusFor(status.code()). Logs 5xx at error level with
// `context` (the request path), since a 5xx is either a bug or an outage someone must see.
// Thread-safe.
HttpResponse ErrorResponse(const Status& status, std::string_view context);

}  // namespace line
