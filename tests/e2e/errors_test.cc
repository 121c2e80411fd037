// Every error code of SPEC over real HTTP: the status, the {"message","code"} body ending in a
// newline, the message naming the offending field, and that a bad request changes nothing.
#include <gtest/gtest.h>

#include <string>

#include "testing/e2e.h"

namespace line::testing {
namespace {

constexpr int64_t kMaxBody = 200'000;

// Checks one error answer against SPEC's error shape.
::testing::AssertionResult IsError(const HttpResponse& r, int status, const std::string& code,
                                   const std::string& field = "") {
  if (r.status != status) {
    return ::testing::AssertionFailure()
           << "expected " << status << " " << code << ", got " << r.Describe();
  }
  json::value v = r.Json();
  if (!v.is_object() || v.as_object().size() != 2 || !v.as_object().contains("message") ||
      !v.as_object().contains("code") || !v.as_object().at("message").is_string() ||
      !v.as_object().at("code").is_string()) {
    return ::testing::AssertionFailure() << "error body is not {\"message\",\"code\"}: " << r.body;
  }
  if (r.Code() != code) {
    return ::testing::AssertionFailure() << "expected code " << code << ", got " << r.body;
  }
  if (r.body.empty() || r.body.back() != '\n') {
    return ::testing::AssertionFailure() << "body does not end with a newline: " << r.body;
  }
  std::string message(v.as_object().at("message").as_string());
  if (message.empty()) return ::testing::AssertionFailure() << "empty message: " << r.body;
  if (!field.empty() && message.find(field) == std::string::npos) {
    return ::testing::AssertionFailure() << "message does not name \"" << field << "\": " << r.body;
  }
  return ::testing::AssertionSuccess();
}

class ErrorsTest : public LinedTest {
 protected:
  LinedOptions Options() override {
    LinedOptions options;
    options.env["LINE_MAX_BODY"] = std::to_string(kMaxBody);
    return options;
  }

  HttpResponse Post(std::string_view path, const json::value& body) {
    return client().Post(path, body);
  }
};

TEST_F(ErrorsTest, MalformedJsonIsInvalidInput) {
  EXPECT_TRUE(IsError(client().PostRaw("/CreatePool", "{not json"), 400, "InvalidInput"));
  EXPECT_TRUE(IsError(client().PostRaw("/CreatePool", ""), 400, "InvalidInput"));
  EXPECT_TRUE(IsError(client().PostRaw("/CreatePool", "[1,2]"), 400, "InvalidInput"));
  EXPECT_TRUE(IsError(client().PostRaw("/RegisterWorker", "{\"pool_id\": \"x\", \"capacity\": 1"),
                      400, "InvalidInput"));
  // The connection survives a bad request.
  EXPECT_EQ(client().PostRaw("/CreatePool", "{}").status, 200);
}

TEST_F(ErrorsTest, MissingOrInvalidFieldIsInvalidInputNamingTheField) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 5);

  EXPECT_TRUE(IsError(Post("/RegisterWorker", {{"capacity", 1}}), 400, "InvalidInput", "pool_id"));
  EXPECT_TRUE(
      IsError(Post("/RegisterWorker", {{"pool_id", pool_id}}), 400, "InvalidInput", "capacity"));
  EXPECT_TRUE(IsError(Post("/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 0}}), 400,
                      "InvalidInput", "capacity"));
  EXPECT_TRUE(IsError(Post("/RegisterWorker", {{"pool_id", pool_id}, {"capacity", "10"}}), 400,
                      "InvalidInput", "capacity"));
  EXPECT_TRUE(IsError(Post("/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 2147483648}}),
                      400, "InvalidInput", "capacity"));
  EXPECT_TRUE(
      IsError(Post("/CreatePool", {{"placement", "random"}}), 400, "InvalidInput", "placement"));
  EXPECT_TRUE(IsError(Post("/CreatePool", {{"max_retry", 0}}), 400, "InvalidInput", "max_retry"));

  EXPECT_TRUE(IsError(Post("/ScheduleEval", {{"pool_id", pool_id}, {"size", 0}}), 400,
                      "InvalidInput", "size"));
  EXPECT_TRUE(IsError(Post("/ScheduleEval", {{"pool_id", pool_id}, {"size", -3}}), 400,
                      "InvalidInput", "size"));
  EXPECT_TRUE(IsError(Post("/ScheduleEval", {{"pool_id", pool_id}}), 400, "InvalidInput", "size"));
  EXPECT_TRUE(IsError(Post("/ScheduleEval", {{"pool_id", pool_id}, {"size", 1.5}}), 400,
                      "InvalidInput", "size"));
  EXPECT_TRUE(IsError(
      Post("/ScheduleEval", {{"pool_id", pool_id}, {"size", 1}, {"dataset_id", "has space"}}), 400,
      "InvalidInput", "dataset_id"));
  EXPECT_TRUE(
      IsError(Post("/ScheduleEval",
                   {{"pool_id", pool_id}, {"size", 1}, {"idempotency_key", std::string(129, 'k')}}),
              400, "InvalidInput", "idempotency_key"));
  // 64 KiB is the largest payload; the body itself is well under LINE_MAX_BODY.
  EXPECT_TRUE(
      IsError(Post("/ScheduleEval",
                   {{"pool_id", pool_id}, {"size", 1}, {"payload", std::string(70 * 1024, 'p')}}),
              400, "InvalidInput", "payload"));

  EXPECT_TRUE(
      IsError(Post("/ReceiveAllocs",
                   {{"pool_id", pool_id}, {"worker_id", worker_id}, {"wait_time_seconds", 21}}),
              400, "InvalidInput", "wait_time_seconds"));
  EXPECT_TRUE(
      IsError(Post("/ReceiveAllocs",
                   {{"pool_id", pool_id}, {"worker_id", worker_id}, {"max_number_of_messages", 0}}),
              400, "InvalidInput", "max_number_of_messages"));
  EXPECT_TRUE(IsError(
      Post("/ReceiveAllocs",
           {{"pool_id", pool_id}, {"worker_id", worker_id}, {"max_number_of_messages", 101}}),
      400, "InvalidInput", "max_number_of_messages"));
  EXPECT_TRUE(IsError(Post("/ListEvals", {{"pool_id", pool_id}, {"max_results", 1001}}), 400,
                      "InvalidInput", "max_results"));
  EXPECT_TRUE(IsError(Post("/ListEvals", {{"pool_id", pool_id}, {"state", "running"}}), 400,
                      "InvalidInput", "state"));
  EXPECT_TRUE(IsError(Post("/SendHeartbeat", {{"pool_id", pool_id},
                                              {"worker_id", worker_id},
                                              {"allocs", json::array{}},
                                              {"datasets", {"ok", "not ok!"}}}),
                      400, "InvalidInput", "datasets"));

  // None of it changed anything.
  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(Int(pool, "workers"), 1);
  EXPECT_EQ(Int(pool, "pending_evals"), 0);
  EXPECT_EQ(Int(pool, "live_allocs"), 0);
  EXPECT_TRUE(Arr(DescribeWorker(pool_id, worker_id), "datasets").empty());
}

TEST_F(ErrorsTest, ScheduleEvalsIsAllOrNothing) {
  std::string pool_id = CreatePool();
  json::array evals = {json::object{{"size", 1}}, json::object{{"size", 2}},
                       json::object{{"size", 0}}};
  EXPECT_TRUE(IsError(Post("/ScheduleEvals", {{"pool_id", pool_id}, {"evals", evals}}), 400,
                      "InvalidInput", "size"));
  json::array too_many(10'001, json::object{{"size", 1}});
  EXPECT_TRUE(IsError(Post("/ScheduleEvals", {{"pool_id", pool_id}, {"evals", too_many}}), 400,
                      "InvalidInput", "evals"));
  EXPECT_EQ(Int(DescribePool(pool_id), "pending_evals"), 0);
  Result<std::vector<json::object>> all =
      ListAll(client(), "/ListEvals", {{"pool_id", pool_id}}, "evals");
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_TRUE(all->empty());
}

TEST_F(ErrorsTest, UnknownThingsAreNotFound) {
  std::string pool_id = CreatePool();
  const std::string unknown = "00000000000000000000";
  EXPECT_TRUE(IsError(Post("/DescribePool", {{"pool_id", unknown}}), 404, "PoolNotFound"));
  EXPECT_TRUE(IsError(Post("/RegisterWorker", {{"pool_id", unknown}, {"capacity", 1}}), 404,
                      "PoolNotFound"));
  EXPECT_TRUE(
      IsError(Post("/ScheduleEval", {{"pool_id", unknown}, {"size", 1}}), 404, "PoolNotFound"));
  EXPECT_TRUE(IsError(Post("/DescribeWorker", {{"pool_id", pool_id}, {"worker_id", unknown}}), 404,
                      "WorkerNotFound"));
  EXPECT_TRUE(IsError(Post("/SendHeartbeat", {{"pool_id", pool_id},
                                              {"worker_id", unknown},
                                              {"allocs", json::array{}},
                                              {"datasets", json::array{}}}),
                      404, "WorkerNotFound"));
  EXPECT_TRUE(IsError(Post("/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", unknown}}), 404,
                      "AllocNotFound"));
  EXPECT_TRUE(IsError(Post("/CompleteAlloc", {{"pool_id", pool_id}, {"alloc_id", unknown}}), 404,
                      "AllocNotFound"));
  EXPECT_TRUE(IsError(Post("/DescribeEval", {{"pool_id", pool_id}, {"eval_id", unknown}}), 404,
                      "EvalNotFound"));
  EXPECT_TRUE(IsError(client().PostRaw("/NoSuchAction", "{}"), 404, "NotFound"));
  EXPECT_TRUE(IsError(client().PostRaw("/", "{}"), 404, "NotFound"));
}

TEST_F(ErrorsTest, WrongMethodIsMethodNotAllowed) {
  EXPECT_TRUE(IsError(client().Get("/CreatePool"), 405, "MethodNotAllowed"));
  EXPECT_TRUE(IsError(client().Request("PUT", "/ScheduleEval", "{}"), 405, "MethodNotAllowed"));
  EXPECT_TRUE(IsError(client().Request("DELETE", "/DescribePool", "{}"), 405, "MethodNotAllowed"));
}

TEST_F(ErrorsTest, DisbandedPoolRefusesNewWorkEvalsAndRedrives) {
  std::string pool_id = CreatePool();
  std::string pending = ScheduleEval(pool_id, 4);  // no worker: stays pending
  Call("/DisbandPool", {{"pool_id", pool_id}});
  Call("/DisbandPool", {{"pool_id", pool_id}});  // a second disband is a no-op 200

  EXPECT_TRUE(IsError(Post("/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 1}}), 409,
                      "PoolDisbanded"));
  EXPECT_TRUE(
      IsError(Post("/ScheduleEval", {{"pool_id", pool_id}, {"size", 1}}), 409, "PoolDisbanded"));
  EXPECT_TRUE(IsError(
      Post("/ScheduleEvals", {{"pool_id", pool_id}, {"evals", {json::object{{"size", 1}}}}}), 409,
      "PoolDisbanded"));
  EXPECT_TRUE(IsError(Post("/RedriveDeadLetters", {{"pool_id", pool_id}}), 409, "PoolDisbanded"));

  // Its pending eval was dead-lettered in the same step, and reads still answer.
  EXPECT_EQ(Str(DescribeEval(pool_id, pending), "state"), "dead");
  json::object letters = Call("/ListDeadLetters", {{"pool_id", pool_id}});
  ASSERT_EQ(Arr(letters, "dead_letters").size(), 1u) << json::serialize(letters);
  const json::object& letter = Obj(Arr(letters, "dead_letters")[0]);
  EXPECT_EQ(Str(letter, "eval_id"), pending);
  EXPECT_EQ(Str(letter, "reason"), "pool disbanded");
  json::object pool = DescribePool(pool_id);
  EXPECT_TRUE(Bool(pool, "disbanded"));
  EXPECT_EQ(Int(pool, "pending_evals"), 0);
  EXPECT_EQ(Int(pool, "dead_letters"), 1);
}

TEST_F(ErrorsTest, CompletingSomeoneElsesOrAnEndedAllocIsAConflict) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::string eval_id = ScheduleEval(pool_id, 4);
  json::object received = Call(
      "/ReceiveAllocs", {{"pool_id", pool_id}, {"worker_id", worker_id}, {"wait_time_seconds", 5}});
  ASSERT_EQ(Arr(received, "allocs").size(), 1u) << json::serialize(received);
  std::string alloc_id = Str(Obj(Arr(received, "allocs")[0]), "alloc_id");
  std::string other_worker = RegisterWorker(pool_id, 4);

  EXPECT_TRUE(IsError(Post("/CompleteAlloc", {{"pool_id", pool_id},
                                              {"alloc_id", alloc_id},
                                              {"worker_id", other_worker},
                                              {"exit_code", 0}}),
                      409, "AllocNotOwned"));
  EXPECT_EQ(Str(DescribeEval(pool_id, eval_id), "state"), "placed") << "a refusal changes nothing";

  Call("/CompleteAlloc", {{"pool_id", pool_id},
                          {"alloc_id", alloc_id},
                          {"worker_id", worker_id},
                          {"exit_code", 7},
                          {"result", "first"}});
  EXPECT_TRUE(IsError(Post("/CompleteAlloc", {{"pool_id", pool_id},
                                              {"alloc_id", alloc_id},
                                              {"worker_id", worker_id},
                                              {"exit_code", 0},
                                              {"result", "second"}}),
                      409, "AllocAlreadyEnded"));
  json::object eval = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(eval, "exit_code"), 7) << "the second completion changed nothing";
  EXPECT_EQ(eval.at("result"), "first");
  EXPECT_EQ(Int(DescribeWorker(pool_id, worker_id), "free"), 4) << "released exactly once";
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));
}

TEST_F(ErrorsTest, IdempotencyKeyReturnsTheFirstEvalOrConflicts) {
  std::string pool_id = CreatePool();
  json::object request = {{"pool_id", pool_id},
                          {"dataset_id", "d1"},
                          {"size", 2},
                          {"payload", {{"n", 1}}},
                          {"idempotency_key", "job-42"}};
  std::string first = Str(Call("/ScheduleEval", request), "eval_id");
  std::string again = Str(Call("/ScheduleEval", request), "eval_id");
  EXPECT_EQ(again, first);

  json::object changed = request;
  changed["size"] = 3;
  EXPECT_TRUE(IsError(Post("/ScheduleEval", changed), 409, "IdempotencyConflict"));

  // The same key through the batch call finds the same eval.
  json::object batch_item = request;
  batch_item.erase("pool_id");
  json::object batch = Call("/ScheduleEvals", {{"pool_id", pool_id}, {"evals", {batch_item}}});
  EXPECT_EQ(Strings(Arr(batch, "eval_ids")), std::vector<std::string>{first});

  // A key is scoped to its pool.
  std::string other_pool = CreatePool();
  json::object elsewhere = request;
  elsewhere["pool_id"] = other_pool;
  EXPECT_NE(Str(Call("/ScheduleEval", elsewhere), "eval_id"), first);

  EXPECT_EQ(Int(DescribePool(pool_id), "pending_evals"), 1) << "created exactly once";
}

TEST_F(ErrorsTest, BodyOverMaxBodyIsPayloadTooLarge) {
  std::string pool_id = CreatePool();
  std::string big = "{\"pool_id\":\"" + pool_id + "\",\"size\":1,\"dataset_id\":\"" +
                    std::string(kMaxBody, 'd') + "\"}";
  HttpResponse r = client().PostRaw("/ScheduleEval", big);
  EXPECT_TRUE(IsError(r, 413, "PayloadTooLarge"));
  client().Disconnect();  // the server may close a connection whose body it did not read
  EXPECT_EQ(Int(DescribePool(pool_id), "pending_evals"), 0);
}

// lined with its default LINE_MAX_BODY of 8 MiB: a batch of 10,000 evals that fills most of it
// is accepted whole, a body one byte over the limit is refused.
class DefaultLimitsTest : public LinedTest {};

TEST_F(DefaultLimitsTest, TenThousandEvalsFitAndEightMibPlusOneDoesNot) {
  std::string pool_id = CreatePool();
  json::array evals;
  for (int i = 0; i < 10'000; ++i) {
    evals.push_back(json::object{{"size", 1}, {"payload", std::string(700, 'x')}});
  }
  std::string body = json::serialize(json::object{{"pool_id", pool_id}, {"evals", evals}});
  ASSERT_GT(body.size(), 7'000'000u);
  ASSERT_LT(body.size(), 8u << 20);
  HttpResponse accepted = client().PostRaw("/ScheduleEvals", body);
  ASSERT_EQ(accepted.status, 200) << accepted.Describe();
  EXPECT_EQ(Arr(Obj(accepted.Json()), "eval_ids").size(), 10'000u);
  EXPECT_EQ(Int(DescribePool(pool_id), "pending_evals"), 10'000);

  std::string over = "{\"pool_id\":\"" + pool_id + "\",\"evals\":[],\"pad\":\"";
  over += std::string((8u << 20) + 1 - over.size() - 2, 'p');
  over += "\"}";
  ASSERT_EQ(over.size(), (8u << 20) + 1);
  EXPECT_TRUE(IsError(client().PostRaw("/ScheduleEvals", over), 413, "PayloadTooLarge"));
  client().Disconnect();
  EXPECT_EQ(Int(DescribePool(pool_id), "pending_evals"), 10'000);
}

}  // namespace
}  // namespace line::testing
