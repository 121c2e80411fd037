#include "api/router.h"

#include <string>
#include <utility>

#include "api/decode.h"
#include "api/encode.h"
#include "api/status_http.h"

namespace line {
namespace {

// POST `path`: body -> decode -> (service.*call)(request, reply) -> encode or error.
template <typename Req, typename Resp>
void Route(HttpServer& server, Service& service, const std::string& path,
           Result<Req> (*decode)(std::string_view), void (Service::*call)(Req, Reply<Resp>)) {
  server.Handle("POST", path,
                [&service, path, decode, call](HttpRequest request, Responder respond) {
                  Result<Req> decoded = decode(request.body);
                  if (!decoded.ok()) {
                    respond(ErrorResponse(decoded.status(), path));
                    return;
                  }
                  (service.*call)(std::move(decoded).value(),
                                  [respond = std::move(respond), path](Result<Resp> result) {
                                    if (!result.ok()) {
                                      respond(ErrorResponse(result.status(), path));
                                      return;
                                    }
                                    HttpResponse response;
                                    response.body = EncodeJson(*result);
                                    respond(std::move(response));
                                  });
                });
}

}  // namespace

void RegisterRoutes(HttpServer& server, Service& service) {
  Route(server, service, "/CreatePool", &DecodeCreatePool, &Service::CreatePool);
  Route(server, service, "/RegisterWorker", &DecodeRegisterWorker, &Service::RegisterWorker);
  Route(server, service, "/DisbandPool", &DecodePoolRequest, &Service::DisbandPool);
  Route(server, service, "/SendHeartbeat", &DecodeSendHeartbeat, &Service::SendHeartbeat);
  Route(server, service, "/ScheduleEval", &DecodeScheduleEval, &Service::ScheduleEval);
  Route(server, service, "/ScheduleEvals", &DecodeScheduleEvals, &Service::ScheduleEvals);
  Route(server, service, "/CompleteAlloc", &DecodeCompleteAlloc, &Service::CompleteAlloc);
  Route(server, service, "/ReceiveAllocs", &DecodeReceiveAllocs, &Service::ReceiveAllocs);
  Route(server, service, "/DescribePool", &DecodePoolRequest, &Service::DescribePool);
  Route(server, service, "/ListPools", &DecodeListPools, &Service::ListPools);
  Route(server, service, "/DescribeWorker", &DecodeWorkerRequest, &Service::DescribeWorker);
  Route(server, service, "/ListWorkers", &DecodeListWorkers, &Service::ListWorkers);
  Route(server, service, "/DescribeEval", &DecodeDescribeEval, &Service::DescribeEval);
  Route(server, service, "/ListEvals", &DecodeListEvals, &Service::ListEvals);
  Route(server, service, "/DescribeAlloc", &DecodeDescribeAlloc, &Service::DescribeAlloc);
  Route(server, service, "/ListAllocs", &DecodeListAllocs, &Service::ListAllocs);
  Route(server, service, "/ListDeadLetters", &DecodeListDeadLetters, &Service::ListDeadLetters);
  Route(server, service, "/RedriveDeadLetters", &DecodeRedriveDeadLetters,
        &Service::RedriveDeadLetters);
  Route(server, service, "/DrainWorker", &DecodeWorkerRequest, &Service::DrainWorker);
  Route(server, service, "/DeregisterWorker", &DecodeWorkerRequest, &Service::DeregisterWorker);

  server.Handle("GET", "/healthz", [&service](HttpRequest, Responder respond) {
    Status health = service.Health();
    if (!health.ok()) {
      // An unhealthy store is reported as unavailable whatever code the check used.
      Status shown =
          health.code() == Code::kStoreUnavailable ? health : Status::Unavailable(health.message());
      respond(ErrorResponse(shown, "/healthz"));
      return;
    }
    HttpResponse response;
    response.body = EncodeHealthy();
    respond(std::move(response));
  });
}

}  // namespace line
