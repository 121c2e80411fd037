// The encoders: field names and types of every response, nulls, embedded JSON, escaping, and
// that encoders leave the trailing newline to the server (tested in http_server_test.cc).
#include "api/encode.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "api/status_http.h"

namespace line {
namespace {

namespace json = boost::json;

json::value Parsed(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return v;
}

// Asserts `encoded` is bare JSON equal to `expected` (field order included).
void ExpectJson(const std::string& encoded, const std::string& expected) {
  EXPECT_EQ(encoded, expected);
  EXPECT_NE(encoded.back(), '\n');
  EXPECT_EQ(Parsed(encoded), Parsed(expected));
}

EvalDescription SampleEval() {
  EvalDescription e;
  e.pool_id = "p";
  e.eval_id = "e";
  e.state = "completed";
  e.dataset_id = "d";
  e.size = 3;
  e.payload = R"({"cmd":"run"})";
  e.attempt = 2;
  e.alloc_id = "a2";
  e.worker_id = "w";
  e.exit_code = 0;
  e.result = R"([1,"x"])";
  e.history.push_back(HistoryEntry{"a1", "w", true, 1700000000, "expired"});
  e.history.push_back(HistoryEntry{"a2", "w", false, std::nullopt, ""});
  return e;
}

TEST(EncodeTest, Error) {
  ExpectJson(EncodeError(Status(Code::kPoolNotFound, "pool p not found")),
             R"({"message":"pool p not found","code":"PoolNotFound"})");
}

TEST(EncodeTest, StringsAreEscaped) {
  std::string nasty = "q\"b\\n\nt\tc\x01 \xC3\xA9/";
  std::string encoded = EncodeError(Status::InvalidInput(nasty));
  json::value v = Parsed(encoded);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().at("message").as_string(), nasty);
  EXPECT_NE(encoded.find("\\u0001"), std::string::npos);
}

TEST(EncodeTest, HealthyAndEmpty) {
  ExpectJson(EncodeHealthy(), R"({"status":"ok"})");
  ExpectJson(EncodeJson(Empty{}), "{}");
}

TEST(EncodeTest, CreatePoolAndRegisterWorker) {
  ExpectJson(EncodeJson(CreatePoolResponse{"p1"}), R"({"pool_id":"p1"})");
  ExpectJson(EncodeJson(RegisterWorkerResponse{"p", "w", "line-p-w", 8, 30, 60, 45}),
             R"({"pool_id":"p","worker_id":"w","queue_url":"line-p-w","capacity":8,)"
             R"("worker_ttl":30,"replica_ttl":60,"alloc_ttl":45})");
}

TEST(EncodeTest, HeartbeatAlwaysListsUnknownAllocs) {
  ExpectJson(EncodeJson(HeartbeatResponse{}), R"({"unknown_allocs":[]})");
  ExpectJson(EncodeJson(HeartbeatResponse{{"a", "b"}}), R"({"unknown_allocs":["a","b"]})");
}

TEST(EncodeTest, ScheduleEvalAndEvals) {
  ExpectJson(EncodeJson(ScheduleEvalResponse{"e1"}), R"({"eval_id":"e1"})");
  ExpectJson(EncodeJson(ScheduleEvalsResponse{{"e1", "e2"}}), R"({"eval_ids":["e1","e2"]})");
}

TEST(EncodeTest, ReceiveAllocsEmbedsThePayload) {
  ReceiveAllocsResponse r;
  r.allocs.push_back(ReceivedAlloc{"p", "a", "w", "e", "d", 2, R"({"k":[1,2]})", 1});
  r.allocs.push_back(ReceivedAlloc{"p", "b", "w", "f", "", 1, "", 3});
  ExpectJson(EncodeJson(r),
             R"({"allocs":[{"pool_id":"p","alloc_id":"a","worker_id":"w","eval_id":"e",)"
             R"("dataset_id":"d","size":2,"payload":{"k":[1,2]},"attempt":1},)"
             R"({"pool_id":"p","alloc_id":"b","worker_id":"w","eval_id":"f",)"
             R"("dataset_id":"","size":1,"payload":null,"attempt":3}]})");
  ExpectJson(EncodeJson(ReceiveAllocsResponse{}), R"({"allocs":[]})");
}

TEST(EncodeTest, DescribePoolAndListPools) {
  PoolDescription p{"p", "binpack", 3, 30, false, 2, 10, 4, 5, 1, 3, 7, "127.0.0.1:8080"};
  const std::string pool =
      R"({"pool_id":"p","placement":"binpack","max_retry":3,"alloc_ttl":30,"disbanded":false,)"
      R"("workers":2,"capacity":10,"free":4,"pending_evals":5,"blocked_evals":1,)"
      R"("live_allocs":3,"dead_letters":7,"owner":"127.0.0.1:8080"})";
  ExpectJson(EncodeJson(p), pool);
  ExpectJson(EncodeJson(ListPoolsResponse{{p, p}, ""}), R"({"pools":[)" + pool + "," + pool + "]}");
  ExpectJson(EncodeJson(ListPoolsResponse{{p}, "tok"}),
             R"({"pools":[)" + pool + R"(],"next_token":"tok"})");
}

TEST(EncodeTest, DescribeWorkerAndListWorkers) {
  WorkerDescription w{"p", "w", 8, 5, 1700000030, true, {"d1", "d2"}, {"a1"}};
  const std::string worker =
      R"({"pool_id":"p","worker_id":"w","capacity":8,"free":5,"ttl":1700000030,)"
      R"("draining":true,"datasets":["d1","d2"],"allocs":["a1"]})";
  ExpectJson(EncodeJson(w), worker);
  ExpectJson(EncodeJson(ListWorkersResponse{{w}, ""}), R"({"workers":[)" + worker + "]}");
  ExpectJson(EncodeJson(ListWorkersResponse{{}, "n"}), R"({"workers":[],"next_token":"n"})");
}

TEST(EncodeTest, DescribeEvalEmbedsJsonAndShowsHistory) {
  ExpectJson(EncodeJson(SampleEval()),
             R"({"pool_id":"p","eval_id":"e","state":"completed","dataset_id":"d","size":3,)"
             R"("payload":{"cmd":"run"},"attempt":2,"alloc_id":"a2","worker_id":"w",)"
             R"("exit_code":0,"result":[1,"x"],"history":[)"
             R"({"alloc_id":"a1","worker_id":"w","locality":true,"ended":1700000000,)"
             R"("reason":"expired"},)"
             R"({"alloc_id":"a2","worker_id":"w","locality":false,"ended":null,"reason":null}]})");
}

TEST(EncodeTest, DescribeEvalNeverPlacedHasNulls) {
  EvalDescription e;
  e.pool_id = "p";
  e.eval_id = "e";
  e.state = "pending";
  e.size = 1;
  e.payload = "null";
  e.attempt = 1;
  ExpectJson(EncodeJson(e),
             R"({"pool_id":"p","eval_id":"e","state":"pending","dataset_id":"","size":1,)"
             R"("payload":null,"attempt":1,"alloc_id":null,"worker_id":null,"exit_code":null,)"
             R"("result":null,"history":[]})");
}

TEST(EncodeTest, ListEvals) {
  std::string encoded = EncodeJson(ListEvalsResponse{{SampleEval()}, "t2"});
  json::value v = Parsed(encoded);
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.as_object().at("evals").as_array().size(), 1u);
  EXPECT_EQ(v.as_object().at("evals").as_array()[0], Parsed(EncodeJson(SampleEval())));
  EXPECT_EQ(v.as_object().at("next_token"), "t2");
  ExpectJson(EncodeJson(ListEvalsResponse{}), R"({"evals":[]})");
}

TEST(EncodeTest, DescribeAllocAndListAllocs) {
  AllocDescription a{"p", "a", "w", "e", "d", 4, 1700000100, "expired", true};
  const std::string alloc =
      R"({"pool_id":"p","alloc_id":"a","worker_id":"w","eval_id":"e","dataset_id":"d",)"
      R"("size":4,"ttl":1700000100,"state":"expired","locality":true})";
  ExpectJson(EncodeJson(a), alloc);
  ExpectJson(EncodeJson(ListAllocsResponse{{a}, "x"}),
             R"({"allocs":[)" + alloc + R"(],"next_token":"x"})");
}

TEST(EncodeTest, ListDeadLettersEmbedsThePayload) {
  ListDeadLettersResponse r;
  r.dead_letters.push_back(DeadLetterDescription{"p", "e", "d", 2, "[true]", 3, "expired"});
  ExpectJson(EncodeJson(r),
             R"({"dead_letters":[{"pool_id":"p","eval_id":"e","dataset_id":"d","size":2,)"
             R"("payload":[true],"attempts":3,"reason":"expired"}]})");
}

TEST(EncodeTest, Redrive) { ExpectJson(EncodeJson(RedriveResponse{12}), R"({"redriven":12})"); }

TEST(StatusHttpTest, EveryCodeMapsToItsHttpStatus) {
  const std::vector<std::pair<Code, int>> table = {
      {Code::kOk, 200},
      {Code::kInvalidInput, 400},
      {Code::kPoolNotFound, 404},
      {Code::kWorkerNotFound, 404},
      {Code::kAllocNotFound, 404},
      {Code::kEvalNotFound, 404},
      {Code::kNotFound, 404},
      {Code::kMethodNotAllowed, 405},
      {Code::kPoolDisbanded, 409},
      {Code::kAllocNotOwned, 409},
      {Code::kAllocAlreadyEnded, 409},
      {Code::kIdempotencyConflict, 409},
      {Code::kPayloadTooLarge, 413},
      {Code::kInternal, 500},
      {Code::kConflict, 500},
      {Code::kStoreUnavailable, 503},
  };
  for (const auto& [code, http] : table) {
    EXPECT_EQ(HttpStatusFor(code), http) << CodeName(code);
  }
}

TEST(StatusHttpTest, ErrorResponseCarriesStatusAndBody) {
  HttpResponse r = ErrorResponse(Status(Code::kAllocAlreadyEnded, "alloc a ended"), "/Complete");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"message":"alloc a ended","code":"AllocAlreadyEnded"})");
  // An OK status is a caller bug: it must not turn into a 200.
  EXPECT_EQ(ErrorResponse(Status::Ok(), "/x").status, 500);
}

}  // namespace
}  // namespace line
