// Wires every API path to the Service: decode the body, call, encode the reply or map the
// error (status_http.h). The API layer only translates; all decisions are the Service's.
#pragma once

#include "api/http_server.h"
#include "ops/service.h"

namespace line {

// Registers POST /<Action> for every endpoint of SPEC.md and GET /healthz on `server`, before
// its Start(). `service` must outlive the server (replies may arrive until Stop() returns).
void RegisterRoutes(HttpServer& server, Service& service);

}  // namespace line
