// The router over a real HttpServer and a FakeService: each path reaches its Service method,
// decoding errors never reach the Service, Service errors map to their HTTP status, /healthz.
#include "api/router.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <string>
#include <thread>

#include "api/fake_service.h"
#include "api/http_server.h"
#include "api/raw_http.h"

namespace line {
namespace {

namespace json = boost::json;
using testing::FakeService;
using testing::kAllocId;
using testing::kEvalId;
using testing::kPoolId;
using testing::kWorkerId;
using testing::RawConnection;
using testing::RawResponse;

json::value Parse(const RawResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  return ec ? json::value(nullptr) : v;
}

std::string Code(const RawResponse& r) {
  json::value v = Parse(r);
  if (!v.is_object() || !v.as_object().contains("code")) return "";
  return std::string(v.as_object().at("code").as_string());
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options);
    RegisterRoutes(*server_, service_);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<RawConnection>(server_->port());
  }
  void TearDown() override { server_->Stop(); }

  RawResponse Post(const std::string& path, const std::string& body) {
    return client_->Request("POST", path, body);
  }

  FakeService service_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<RawConnection> client_;
};

std::string P() { return std::string("\"pool_id\":\"") + kPoolId + "\""; }
std::string W() { return std::string("\"worker_id\":\"") + kWorkerId + "\""; }

struct RouteCase {
  std::string path;
  std::string body;
  std::string call;      // the Service method expected to run
  std::string response;  // the expected body, without the newline
};

TEST_F(RouterTest, EveryPathReachesItsServiceMethodAndEncodesTheReply) {
  const std::string eval = std::string("\"eval_id\":\"") + kEvalId + "\"";
  const std::string alloc = std::string("\"alloc_id\":\"") + kAllocId + "\"";
  const std::vector<RouteCase> cases = {
      {"/CreatePool", "{}", "CreatePool", std::string("{\"pool_id\":\"") + kPoolId + "\"}"},
      {"/RegisterWorker", "{" + P() + ",\"capacity\":4}", "RegisterWorker",
       "{" + P() + "," + W() +
           ",\"queue_url\":\"line-q\",\"capacity\":4,\"worker_ttl\":30,\"replica_ttl\":60,"
           "\"alloc_ttl\":30}"},
      {"/DisbandPool", "{" + P() + "}", "DisbandPool", "{}"},
      {"/SendHeartbeat", "{" + P() + "," + W() + ",\"allocs\":[\"zz\"]}", "SendHeartbeat",
       R"({"unknown_allocs":["zz"]})"},
      {"/ScheduleEval", "{" + P() + ",\"size\":1}", "ScheduleEval", "{" + eval + "}"},
      {"/ScheduleEvals", "{" + P() + ",\"evals\":[{\"size\":1},{\"size\":2}]}", "ScheduleEvals",
       std::string("{\"eval_ids\":[\"") + kEvalId + "\",\"" + kEvalId + "\"]}"},
      {"/CompleteAlloc", "{" + P() + "," + alloc + "}", "CompleteAlloc", "{}"},
      {"/ReceiveAllocs", "{" + P() + "," + W() + "}", "ReceiveAllocs", R"({"allocs":[]})"},
      {"/DescribePool", "{" + P() + "}", "DescribePool",
       "{" + P() +
           ",\"placement\":\"spread\",\"max_retry\":0,\"alloc_ttl\":0,\"disbanded\":false,"
           "\"workers\":0,\"capacity\":0,\"free\":0,\"pending_evals\":0,\"blocked_evals\":0,"
           "\"live_allocs\":0,\"dead_letters\":0,\"owner\":\"\"}"},
      {"/ListPools", "{}", "ListPools", R"({"pools":[]})"},
      {"/DescribeWorker", "{" + P() + "," + W() + "}", "DescribeWorker",
       "{" + P() + "," + W() +
           ",\"capacity\":0,\"free\":0,\"ttl\":0,\"draining\":false,\"datasets\":[],"
           "\"allocs\":[]}"},
      {"/ListWorkers", "{" + P() + "}", "ListWorkers", R"({"workers":[]})"},
      {"/DescribeEval", "{" + P() + "," + eval + "}", "DescribeEval",
       "{" + P() + "," + eval +
           ",\"state\":\"pending\",\"dataset_id\":\"\",\"size\":0,\"payload\":null,"
           "\"attempt\":0,\"alloc_id\":null,\"worker_id\":null,\"exit_code\":null,"
           "\"result\":null,\"history\":[]}"},
      {"/ListEvals", "{" + P() + "}", "ListEvals", R"({"evals":[],"next_token":"more"})"},
      {"/DescribeAlloc", "{" + P() + "," + alloc + "}", "DescribeAlloc",
       "{" + P() + "," + alloc +
           ",\"worker_id\":\"\",\"eval_id\":\"\",\"dataset_id\":\"\",\"size\":0,\"ttl\":0,"
           "\"state\":\"live\",\"locality\":false}"},
      {"/ListAllocs", "{" + P() + "}", "ListAllocs", R"({"allocs":[]})"},
      {"/ListDeadLetters", "{" + P() + "}", "ListDeadLetters", R"({"dead_letters":[]})"},
      {"/RedriveDeadLetters", "{" + P() + "}", "RedriveDeadLetters", R"({"redriven":7})"},
      {"/DrainWorker", "{" + P() + "," + W() + "}", "DrainWorker", "{}"},
      {"/DeregisterWorker", "{" + P() + "," + W() + "}", "DeregisterWorker", "{}"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const RouteCase& c = cases[i];
    SCOPED_TRACE(c.path);
    RawResponse r = Post(c.path, c.body);
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.body, c.response + "\n");
    std::vector<std::string> calls = service_.calls();
    ASSERT_EQ(calls.size(), i + 1);
    EXPECT_EQ(calls.back(), c.call);
  }
}

TEST_F(RouterTest, InvalidBodiesAre400AndNeverReachTheService) {
  for (const char* path : {"/CreatePool", "/ScheduleEval", "/ListPools", "/RedriveDeadLetters"}) {
    SCOPED_TRACE(path);
    RawResponse bad_json = Post(path, "{\"pool_id\":");
    EXPECT_EQ(bad_json.status, 400) << bad_json.Describe();
    EXPECT_EQ(Code(bad_json), "InvalidInput");
    RawResponse not_object = Post(path, "[]");
    EXPECT_EQ(not_object.status, 400) << not_object.Describe();
  }
  RawResponse bad_field = Post("/RegisterWorker", "{" + P() + ",\"capacity\":0}");
  EXPECT_EQ(bad_field.status, 400);
  json::value v = Parse(bad_field);
  ASSERT_TRUE(v.is_object()) << bad_field.body;
  EXPECT_EQ(std::string(v.as_object().at("message").as_string()),
            "capacity must be an integer from 1 to 2147483647, got 0");
  EXPECT_TRUE(service_.calls().empty());
}

TEST_F(RouterTest, ServiceErrorsMapToTheirHttpStatus) {
  struct Case {
    Status status;
    int http;
  };
  const std::vector<Case> cases = {
      {Status(Code::kPoolNotFound, "pool x not found"), 404},
      {Status(Code::kWorkerNotFound, "w"), 404},
      {Status(Code::kPoolDisbanded, "pool disbanded"), 409},
      {Status(Code::kIdempotencyConflict, "key reused"), 409},
      {Status::Unavailable("store down"), 503},
      {Status::Internal("bug"), 500},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status.ToString());
    service_.FailWith(c.status);
    RawResponse r = Post("/ScheduleEval", "{" + P() + ",\"size\":1}");
    EXPECT_EQ(r.status, c.http) << r.Describe();
    json::value v = Parse(r);
    ASSERT_TRUE(v.is_object()) << r.body;
    EXPECT_EQ(Code(r), CodeName(c.status.code()));
    EXPECT_EQ(std::string(v.as_object().at("message").as_string()), c.status.message());
  }
}

TEST_F(RouterTest, DecodedFieldsReachTheService) {
  RawResponse r = Post("/ScheduleEval", "{" + P() +
                                            ",\"dataset_id\":\"d/1\",\"size\":3,"
                                            "\"payload\":{\"cmd\":[1, 2]},"
                                            "\"idempotency_key\":\"k-1\",\"extra\":true}");
  ASSERT_EQ(r.status, 200) << r.Describe();
  ScheduleEvalRequest req = service_.last_schedule_eval();
  EXPECT_EQ(req.pool_id, kPoolId);
  EXPECT_EQ(req.eval.dataset_id, "d/1");
  EXPECT_EQ(req.eval.size, 3);
  EXPECT_EQ(req.eval.payload, R"({"cmd":[1,2]})");
  EXPECT_EQ(req.eval.idempotency_key, "k-1");

  ASSERT_EQ(Post("/ListEvals", "{" + P() + ",\"state\":\"dead\",\"max_results\":5}").status, 200);
  ListEvalsRequest list = service_.last_list_evals();
  ASSERT_TRUE(list.state.has_value());
  EXPECT_EQ(*list.state, EvalState::kDead);
  EXPECT_EQ(list.page.max_results, 5);
}

TEST_F(RouterTest, LongPollAnsweredLaterFromAnotherThread) {
  service_.ParkReceives(true);
  std::future<RawResponse> poll = std::async(std::launch::async, [this] {
    RawConnection c(server_->port());
    return c.Request("POST", "/ReceiveAllocs",
                     "{" + P() + "," + W() + ",\"wait_time_seconds\":20}");
  });
  std::optional<Reply<ReceiveAllocsResponse>> reply = service_.TakeParked();
  ASSERT_TRUE(reply.has_value());
  // Meanwhile the server answers others.
  EXPECT_EQ(Post("/CreatePool", "{}").status, 200);

  ReceiveAllocsResponse answer;
  ReceivedAlloc a;
  a.pool_id = kPoolId;
  a.alloc_id = kAllocId;
  a.worker_id = kWorkerId;
  a.eval_id = kEvalId;
  a.size = 2;
  a.payload = R"({"x":1})";
  a.attempt = 1;
  answer.allocs.push_back(a);
  std::thread([r = *reply, answer] { r(answer); }).join();
  RawResponse r = poll.get();
  ASSERT_EQ(r.status, 200) << r.Describe();
  json::value v = Parse(r);
  ASSERT_TRUE(v.is_object()) << r.body;
  const json::array& allocs = v.as_object().at("allocs").as_array();
  ASSERT_EQ(allocs.size(), 1u);
  EXPECT_EQ(allocs[0].as_object().at("payload"), json::parse(R"({"x":1})"));
  EXPECT_EQ(std::string(allocs[0].as_object().at("alloc_id").as_string()), kAllocId);
}

TEST_F(RouterTest, HealthzIs200WhenTheStoreAnswersAnd503Otherwise) {
  RawResponse ok = client_->Request("GET", "/healthz", "");
  EXPECT_EQ(ok.status, 200) << ok.Describe();
  EXPECT_EQ(ok.body, "{\"status\":\"ok\"}\n");

  service_.SetHealth(Status::Unavailable("database is locked"));
  RawResponse down = client_->Request("GET", "/healthz", "");
  EXPECT_EQ(down.status, 503) << down.Describe();
  EXPECT_EQ(Code(down), "StoreUnavailable");
  EXPECT_NE(down.body.find("database is locked"), std::string::npos);

  EXPECT_EQ(client_->Request("POST", "/healthz", "{}").status, 405);
}

TEST_F(RouterTest, GetOnAnApiPathIs405AndUnknownPathIs404) {
  RawResponse get = client_->Request("GET", "/CreatePool", "");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(Code(get), "MethodNotAllowed");
  RawResponse unknown = Post("/CreatePools", "{}");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Code(unknown), "NotFound");
}

}  // namespace
}  // namespace line
