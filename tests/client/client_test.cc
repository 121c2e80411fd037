// libline against a real lined: every endpoint round-trips with its typed fields, and API
// errors arrive as typed Errors with the API's status, code and message.
#include "line/client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "testing/lined_process.h"

namespace line::client {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // LINED_PATH explicitly: it is defined for the tests' sources, while the launcher's own
    // default is compiled in line_testkit, where it is not.
    line::testing::LinedOptions lined_options;
    lined_options.binary = LINED_PATH;
    lined_ = std::make_unique<line::testing::LinedProcess>(lined_options);
    Status started = lined_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    ClientOptions options;
    options.server = "http://127.0.0.1:" + std::to_string(lined_->port());
    options.retry_budget = std::chrono::seconds(2);
    client_ = std::make_unique<Client>(options);
  }
  void TearDown() override {
    if (HasFailure() && lined_ != nullptr) std::cerr << lined_->LogTail() << "\n";
  }

  std::string NewPool(CreatePoolRequest request = {}) {
    auto pool = client_->CreatePool(request);
    EXPECT_TRUE(pool.ok()) << pool.error().ToString();
    return pool.ok() ? pool->pool_id : std::string();
  }
  RegisterWorkerResponse NewWorker(const std::string& pool_id, int64_t capacity,
                                   std::vector<std::string> datasets = {}) {
    auto worker = client_->RegisterWorker({.pool_id = pool_id, .capacity = capacity});
    EXPECT_TRUE(worker.ok()) << worker.error().ToString();
    if (!worker.ok()) return {};
    auto beat = client_->SendHeartbeat(
        {.pool_id = pool_id, .worker_id = worker->worker_id, .datasets = std::move(datasets)});
    EXPECT_TRUE(beat.ok()) << beat.error().ToString();
    return *worker;
  }
  // Long-polls until `count` allocs arrived for the worker.
  std::vector<ReceivedAlloc> Receive(const std::string& pool_id, const std::string& worker_id,
                                     size_t count) {
    std::vector<ReceivedAlloc> got;
    for (int i = 0; i < 20 && got.size() < count; ++i) {
      auto r = client_->ReceiveAllocs(
          {.pool_id = pool_id, .worker_id = worker_id, .wait_time_seconds = 5});
      EXPECT_TRUE(r.ok()) << r.error().ToString();
      if (!r.ok()) break;
      got.insert(got.end(), r->allocs.begin(), r->allocs.end());
    }
    EXPECT_EQ(got.size(), count);
    return got;
  }

  std::unique_ptr<line::testing::LinedProcess> lined_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, HealthzAnswersOk) {
  auto health = client_->Healthz();
  ASSERT_TRUE(health.ok()) << health.error().ToString();
  EXPECT_EQ(health->status, "ok");
}

TEST_F(ClientTest, PoolRoundTripsEveryField) {
  std::string pool_id = NewPool({.placement = "binpack", .max_retry = 2, .alloc_ttl = 45});
  ASSERT_EQ(pool_id.size(), 24u);
  auto pool = client_->DescribePool({.pool_id = pool_id});
  ASSERT_TRUE(pool.ok()) << pool.error().ToString();
  EXPECT_EQ(pool->pool_id, pool_id);
  EXPECT_EQ(pool->placement, "binpack");
  EXPECT_EQ(pool->max_retry, 2);
  EXPECT_EQ(pool->alloc_ttl, 45);
  EXPECT_FALSE(pool->disbanded);
  EXPECT_EQ(pool->workers, 0);
  EXPECT_EQ(pool->capacity, 0);
  EXPECT_EQ(pool->owner, "127.0.0.1:" + std::to_string(lined_->port()))
      << "the one node on the embedded store schedules every pool";

  NewWorker(pool_id, 7);
  ASSERT_TRUE(client_->ScheduleEval({.pool_id = pool_id, .size = 100}).ok());  // blocked
  pool = client_->DescribePool({.pool_id = pool_id});
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->workers, 1);
  EXPECT_EQ(pool->capacity, 7);
  EXPECT_EQ(pool->free, 7);
  EXPECT_EQ(pool->pending_evals, 1);
  EXPECT_EQ(pool->live_allocs, 0);
  EXPECT_EQ(pool->dead_letters, 0);

  auto defaults = client_->DescribePool({.pool_id = NewPool()});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->placement, "spread");
  EXPECT_EQ(defaults->max_retry, 3);
  EXPECT_EQ(defaults->alloc_ttl, 30);

  ASSERT_TRUE(client_->DisbandPool({.pool_id = pool_id}).ok());
  pool = client_->DescribePool({.pool_id = pool_id});
  ASSERT_TRUE(pool.ok());
  EXPECT_TRUE(pool->disbanded);
  EXPECT_EQ(pool->dead_letters, 1);  // its pending eval was dead-lettered
}

TEST_F(ClientTest, ListPoolsPagesWithNextToken) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(NewPool());
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = client_->ListPools({.max_results = 2, .next_token = token});
    ASSERT_TRUE(page.ok()) << page.error().ToString();
    EXPECT_LE(page->pools.size(), 2u);
    for (const PoolDescription& p : page->pools) seen.insert(p.pool_id);
    token = page->next_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 3);
}

TEST_F(ClientTest, WorkerRoundTripsEveryField) {
  std::string pool_id = NewPool();
  auto worker = client_->RegisterWorker({.pool_id = pool_id, .capacity = 8});
  ASSERT_TRUE(worker.ok()) << worker.error().ToString();
  EXPECT_EQ(worker->pool_id, pool_id);
  EXPECT_EQ(worker->worker_id.size(), 24u);
  EXPECT_EQ(worker->queue_url, "line-" + pool_id + "-" + worker->worker_id);
  EXPECT_EQ(worker->capacity, 8);
  EXPECT_EQ(worker->worker_ttl, 30);
  EXPECT_EQ(worker->replica_ttl, 60);
  EXPECT_EQ(worker->alloc_ttl, 30);

  auto beat = client_->SendHeartbeat({.pool_id = pool_id,
                                      .worker_id = worker->worker_id,
                                      .allocs = {"not-an-alloc"},
                                      .datasets = {"d1", "d2/x"}});
  ASSERT_TRUE(beat.ok()) << beat.error().ToString();
  EXPECT_EQ(beat->unknown_allocs, std::vector<std::string>{"not-an-alloc"});

  auto described = client_->DescribeWorker({.pool_id = pool_id, .worker_id = worker->worker_id});
  ASSERT_TRUE(described.ok()) << described.error().ToString();
  EXPECT_EQ(described->pool_id, pool_id);
  EXPECT_EQ(described->worker_id, worker->worker_id);
  EXPECT_EQ(described->capacity, 8);
  EXPECT_EQ(described->free, 8);
  EXPECT_GT(described->ttl, std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  EXPECT_FALSE(described->draining);
  std::vector<std::string> datasets = described->datasets;
  std::sort(datasets.begin(), datasets.end());
  EXPECT_EQ(datasets, (std::vector<std::string>{"d1", "d2/x"}));
  EXPECT_TRUE(described->allocs.empty());

  NewWorker(pool_id, 1);
  NewWorker(pool_id, 2);
  auto first = client_->ListWorkers({.pool_id = pool_id, .max_results = 2});
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->workers.size(), 2u);
  ASSERT_FALSE(first->next_token.empty());
  auto rest = client_->ListWorkers({.pool_id = pool_id, .next_token = first->next_token});
  ASSERT_TRUE(rest.ok()) << rest.error().ToString();
  EXPECT_EQ(rest->workers.size(), 1u);
  EXPECT_TRUE(rest->next_token.empty());

  ASSERT_TRUE(client_->DrainWorker({.pool_id = pool_id, .worker_id = worker->worker_id}).ok());
  described = client_->DescribeWorker({.pool_id = pool_id, .worker_id = worker->worker_id});
  ASSERT_TRUE(described.ok());
  EXPECT_TRUE(described->draining);

  ASSERT_TRUE(client_->DeregisterWorker({.pool_id = pool_id, .worker_id = worker->worker_id}).ok());
  described = client_->DescribeWorker({.pool_id = pool_id, .worker_id = worker->worker_id});
  ASSERT_FALSE(described.ok());
  EXPECT_EQ(described.error().http_status, 404);
  EXPECT_EQ(described.error().code, "WorkerNotFound");
}

// One eval from submission to completion, checking payload/result JSON text and the nulls of
// DescribeEval before and after.
TEST_F(ClientTest, EvalLifecycleRoundTripsEveryField) {
  std::string pool_id = NewPool();
  RegisterWorkerResponse far = NewWorker(pool_id, 10);
  RegisterWorkerResponse near = NewWorker(pool_id, 4, {"d1"});

  auto scheduled =
      client_->ScheduleEval({.pool_id = pool_id,
                             .dataset_id = "d1",
                             .size = 3,
                             .payload = R"({ "cmd": "echo hi", "n": [1, true, null] })"});
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().ToString();
  const std::string eval_id = scheduled->eval_id;

  std::vector<ReceivedAlloc> allocs = Receive(pool_id, near.worker_id, 1);
  ASSERT_EQ(allocs.size(), 1u);
  const ReceivedAlloc& a = allocs[0];
  EXPECT_EQ(a.pool_id, pool_id);
  EXPECT_EQ(a.worker_id, near.worker_id);
  EXPECT_EQ(a.eval_id, eval_id);
  EXPECT_EQ(a.dataset_id, "d1");
  EXPECT_EQ(a.size, 3);
  EXPECT_EQ(a.attempt, 1);
  EXPECT_EQ(json::parse(a.payload), json::parse(R"({"cmd":"echo hi","n":[1,true,null]})"));

  auto placed = client_->DescribeEval({.pool_id = pool_id, .eval_id = eval_id});
  ASSERT_TRUE(placed.ok()) << placed.error().ToString();
  EXPECT_EQ(placed->state, "placed");
  EXPECT_EQ(placed->alloc_id, a.alloc_id);
  EXPECT_EQ(placed->worker_id, near.worker_id);
  EXPECT_FALSE(placed->exit_code.has_value());
  EXPECT_FALSE(placed->result.has_value());
  ASSERT_EQ(placed->history.size(), 1u);
  EXPECT_TRUE(placed->history[0].locality);
  EXPECT_FALSE(placed->history[0].ended.has_value());
  EXPECT_FALSE(placed->history[0].reason.has_value());

  auto alloc = client_->DescribeAlloc({.pool_id = pool_id, .alloc_id = a.alloc_id});
  ASSERT_TRUE(alloc.ok()) << alloc.error().ToString();
  EXPECT_EQ(alloc->pool_id, pool_id);
  EXPECT_EQ(alloc->alloc_id, a.alloc_id);
  EXPECT_EQ(alloc->worker_id, near.worker_id);
  EXPECT_EQ(alloc->eval_id, eval_id);
  EXPECT_EQ(alloc->dataset_id, "d1");
  EXPECT_EQ(alloc->size, 3);
  EXPECT_GT(alloc->ttl, 0);
  EXPECT_EQ(alloc->state, "live");
  EXPECT_TRUE(alloc->locality);

  auto live =
      client_->ListAllocs({.pool_id = pool_id, .worker_id = near.worker_id, .state = "live"});
  ASSERT_TRUE(live.ok()) << live.error().ToString();
  ASSERT_EQ(live->allocs.size(), 1u);
  EXPECT_EQ(live->allocs[0].alloc_id, a.alloc_id);
  auto none = client_->ListAllocs({.pool_id = pool_id, .worker_id = far.worker_id});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->allocs.empty());

  auto done = client_->CompleteAlloc({.pool_id = pool_id,
                                      .alloc_id = a.alloc_id,
                                      .worker_id = near.worker_id,
                                      .exit_code = 0,
                                      .result = R"({"out": "hi\n"})"});
  ASSERT_TRUE(done.ok()) << done.error().ToString();

  auto completed = client_->DescribeEval({.pool_id = pool_id, .eval_id = eval_id});
  ASSERT_TRUE(completed.ok()) << completed.error().ToString();
  EXPECT_EQ(completed->pool_id, pool_id);
  EXPECT_EQ(completed->eval_id, eval_id);
  EXPECT_EQ(completed->state, "completed");
  EXPECT_EQ(completed->dataset_id, "d1");
  EXPECT_EQ(completed->size, 3);
  EXPECT_EQ(completed->attempt, 1);
  EXPECT_EQ(completed->exit_code, 0);
  ASSERT_TRUE(completed->result.has_value());
  EXPECT_EQ(json::parse(*completed->result), json::parse(R"({"out":"hi\n"})"));
  ASSERT_EQ(completed->history.size(), 1u);
  EXPECT_EQ(completed->history[0].alloc_id, a.alloc_id);
  EXPECT_EQ(completed->history[0].worker_id, near.worker_id);
  EXPECT_TRUE(completed->history[0].ended.has_value());
  EXPECT_TRUE(completed->history[0].reason.has_value());

  auto ended = client_->DescribeAlloc({.pool_id = pool_id, .alloc_id = a.alloc_id});
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->state, "completed");

  // A second completion is 409 AllocAlreadyEnded, not retried.
  auto again = client_->CompleteAlloc({.pool_id = pool_id, .alloc_id = a.alloc_id});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().http_status, 409);
  EXPECT_EQ(again.error().code, "AllocAlreadyEnded");
  EXPECT_EQ(again.error().attempts, 1);
}

TEST_F(ClientTest, EvalWithoutPayloadOrDatasetReadsAsNullAndEmpty) {
  std::string pool_id = NewPool();
  auto scheduled = client_->ScheduleEval({.pool_id = pool_id, .size = 1});
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().ToString();
  auto eval = client_->DescribeEval({.pool_id = pool_id, .eval_id = scheduled->eval_id});
  ASSERT_TRUE(eval.ok()) << eval.error().ToString();
  EXPECT_EQ(eval->state, "pending");
  EXPECT_EQ(eval->payload, "null");
  EXPECT_EQ(eval->dataset_id, "");
  EXPECT_FALSE(eval->alloc_id.has_value());
  EXPECT_FALSE(eval->worker_id.has_value());
  EXPECT_FALSE(eval->exit_code.has_value());
  EXPECT_FALSE(eval->result.has_value());
  EXPECT_TRUE(eval->history.empty());
}

TEST_F(ClientTest, ScheduleEvalsAndListEvalsPaging) {
  std::string pool_id = NewPool();
  auto batch = client_->ScheduleEvals(
      {.pool_id = pool_id,
       .evals = {{.dataset_id = "a", .size = 1, .payload = "1"},
                 {.size = 2, .payload = R"("two")"},
                 {.dataset_id = "c", .size = 3, .idempotency_key = "key-3"}}});
  ASSERT_TRUE(batch.ok()) << batch.error().ToString();
  ASSERT_EQ(batch->eval_ids.size(), 3u);

  std::vector<EvalDescription> evals;
  std::string token;
  int pages = 0;
  do {
    auto page = client_->ListEvals(
        {.pool_id = pool_id, .state = "pending", .max_results = 2, .next_token = token});
    ASSERT_TRUE(page.ok()) << page.error().ToString();
    evals.insert(evals.end(), page->evals.begin(), page->evals.end());
    token = page->next_token;
    ++pages;
  } while (!token.empty() && pages < 5);
  EXPECT_EQ(pages, 2);
  ASSERT_EQ(evals.size(), 3u);
  std::sort(evals.begin(), evals.end(),
            [](const EvalDescription& x, const EvalDescription& y) { return x.size < y.size; });
  EXPECT_EQ(evals[0].eval_id, batch->eval_ids[0]);
  EXPECT_EQ(evals[0].dataset_id, "a");
  EXPECT_EQ(evals[0].payload, "1");
  EXPECT_EQ(evals[1].payload, R"("two")");
  EXPECT_EQ(evals[2].payload, "null");
  EXPECT_EQ(evals[2].eval_id, batch->eval_ids[2]);

  auto completed = client_->ListEvals({.pool_id = pool_id, .state = "completed"});
  ASSERT_TRUE(completed.ok());
  EXPECT_TRUE(completed->evals.empty());
  EXPECT_TRUE(completed->next_token.empty());
}

TEST_F(ClientTest, IdempotencyKeyDeduplicatesAndConflicts) {
  std::string pool_id = NewPool();
  auto first = client_->ScheduleEval({.pool_id = pool_id, .size = 2, .idempotency_key = "job-1"});
  auto second = client_->ScheduleEval({.pool_id = pool_id, .size = 2, .idempotency_key = "job-1"});
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(first->eval_id, second->eval_id);
  auto conflict =
      client_->ScheduleEval({.pool_id = pool_id, .size = 3, .idempotency_key = "job-1"});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().http_status, 409);
  EXPECT_EQ(conflict.error().code, "IdempotencyConflict");

  // Automatic keys are distinct per call: two identical submissions are two evals.
  auto a = client_->ScheduleEval({.pool_id = pool_id, .size = 1});
  auto b = client_->ScheduleEval({.pool_id = pool_id, .size = 1});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->eval_id, b->eval_id);
}

TEST_F(ClientTest, FailedCompletionDeadLettersAndRedrive) {
  std::string pool_id = NewPool({.max_retry = 1});
  RegisterWorkerResponse worker = NewWorker(pool_id, 5);
  auto scheduled = client_->ScheduleEval(
      {.pool_id = pool_id, .dataset_id = "dx", .size = 2, .payload = R"({"x":1})"});
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().ToString();
  std::vector<ReceivedAlloc> allocs = Receive(pool_id, worker.worker_id, 1);
  ASSERT_EQ(allocs.size(), 1u);
  auto failed = client_->CompleteAlloc({.pool_id = pool_id,
                                        .alloc_id = allocs[0].alloc_id,
                                        .exit_code = 3,
                                        .result = R"("boom")",
                                        .failed = true});
  ASSERT_TRUE(failed.ok()) << failed.error().ToString();

  auto eval = client_->DescribeEval({.pool_id = pool_id, .eval_id = scheduled->eval_id});
  ASSERT_TRUE(eval.ok());
  EXPECT_EQ(eval->state, "dead");
  EXPECT_EQ(eval->exit_code, 3);
  EXPECT_EQ(eval->result, R"("boom")");

  auto dead = client_->ListDeadLetters({.pool_id = pool_id});
  ASSERT_TRUE(dead.ok()) << dead.error().ToString();
  ASSERT_EQ(dead->dead_letters.size(), 1u);
  const DeadLetter& d = dead->dead_letters[0];
  EXPECT_EQ(d.pool_id, pool_id);
  EXPECT_EQ(d.eval_id, scheduled->eval_id);
  EXPECT_EQ(d.dataset_id, "dx");
  EXPECT_EQ(d.size, 2);
  EXPECT_EQ(d.payload, R"({"x":1})");
  EXPECT_EQ(d.attempts, 1);
  EXPECT_NE(d.reason.find("exit code 3"), std::string::npos) << d.reason;
  EXPECT_TRUE(dead->next_token.empty());

  auto none =
      client_->RedriveDeadLetters({.pool_id = pool_id, .eval_ids = std::vector<std::string>{}});
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_EQ(none->redriven, 0);
  auto redriven = client_->RedriveDeadLetters({.pool_id = pool_id});
  ASSERT_TRUE(redriven.ok()) << redriven.error().ToString();
  EXPECT_EQ(redriven->redriven, 1);
  eval = client_->DescribeEval({.pool_id = pool_id, .eval_id = scheduled->eval_id});
  ASSERT_TRUE(eval.ok());
  EXPECT_NE(eval->state, "dead");
  EXPECT_EQ(eval->attempt, 1);
}

TEST_F(ClientTest, ApiErrorsMapToTypedErrors) {
  const std::string missing = "00000000000000000000";
  auto pool = client_->DescribePool({.pool_id = missing});
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().http_status, 404);
  EXPECT_EQ(pool.error().code, "PoolNotFound");
  EXPECT_FALSE(pool.error().message.empty());
  EXPECT_EQ(pool.error().attempts, 1);

  std::string pool_id = NewPool();
  auto worker = client_->RegisterWorker({.pool_id = pool_id, .capacity = 0});
  ASSERT_FALSE(worker.ok());
  EXPECT_EQ(worker.error().http_status, 400);
  EXPECT_EQ(worker.error().code, "InvalidInput");
  EXPECT_NE(worker.error().message.find("capacity"), std::string::npos) << worker.error().message;
  EXPECT_EQ(worker.error().ToString().substr(0, 17), "400 InvalidInput:");

  auto bad_state = client_->ListEvals({.pool_id = pool_id, .state = "sleeping"});
  ASSERT_FALSE(bad_state.ok());
  EXPECT_EQ(bad_state.error().code, "InvalidInput");
  auto too_many = client_->ListPools({.max_results = 1001});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, "InvalidInput");

  auto no_eval = client_->DescribeEval({.pool_id = pool_id, .eval_id = missing});
  ASSERT_FALSE(no_eval.ok());
  EXPECT_EQ(no_eval.error().code, "EvalNotFound");
  auto no_alloc = client_->DescribeAlloc({.pool_id = pool_id, .alloc_id = missing});
  ASSERT_FALSE(no_alloc.ok());
  EXPECT_EQ(no_alloc.error().code, "AllocNotFound");

  ASSERT_TRUE(client_->DisbandPool({.pool_id = pool_id}).ok());
  ASSERT_TRUE(client_->DisbandPool({.pool_id = pool_id}).ok());  // a no-op the second time
  auto refused = client_->ScheduleEval({.pool_id = pool_id, .size = 1});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().http_status, 409);
  EXPECT_EQ(refused.error().code, "PoolDisbanded");

  auto unknown = client_->Call("/NoSuchAction", "{}");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().http_status, 404);
  EXPECT_EQ(unknown.error().code, "NotFound");
}

TEST_F(ClientTest, CompleteAllocByAnotherWorkerIsNotOwned) {
  std::string pool_id = NewPool();
  RegisterWorkerResponse worker = NewWorker(pool_id, 2);
  RegisterWorkerResponse other = NewWorker(pool_id, 1);
  ASSERT_TRUE(client_->ScheduleEval({.pool_id = pool_id, .size = 2}).ok());
  std::vector<ReceivedAlloc> allocs = Receive(pool_id, worker.worker_id, 1);
  ASSERT_EQ(allocs.size(), 1u);
  auto stolen = client_->CompleteAlloc(
      {.pool_id = pool_id, .alloc_id = allocs[0].alloc_id, .worker_id = other.worker_id});
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.error().code, "AllocNotOwned");
}

TEST_F(ClientTest, RawCallReturnsTheApiAnswer) {
  auto body = ToJson(CreatePoolRequest{.placement = "binpack"});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, R"({"placement":"binpack"})");
  auto answer = client_->Call("/CreatePool", *body);
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_NE(answer->back(), '\n');
  json::value v = json::parse(*answer);
  ASSERT_TRUE(v.is_object());
  std::string pool_id(v.as_object().at("pool_id").as_string());
  auto pool = client_->DescribePool({.pool_id = pool_id});
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->placement, "binpack");
}

// A long poll of W seconds must not be cut short by a per-call timeout below W.
TEST_F(ClientTest, LongPollGetsWaitTimePlusMargin) {
  std::string pool_id = NewPool();
  RegisterWorkerResponse worker = NewWorker(pool_id, 1);
  ClientOptions options = client_->options();
  options.server = client_->server();
  options.timeout = milliseconds(200);
  options.long_poll_margin = std::chrono::seconds(2);
  options.max_attempts = 1;
  Client short_timeout(options);
  auto start = std::chrono::steady_clock::now();
  auto polled = short_timeout.ReceiveAllocs(
      {.pool_id = pool_id, .worker_id = worker.worker_id, .wait_time_seconds = 1});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(polled.ok()) << polled.error().ToString();
  EXPECT_TRUE(polled->allocs.empty());
  EXPECT_GE(elapsed, milliseconds(900));  // the server held it for the full second

  // The same timeout on a plain call that waits as long does fail: the margin is what helps.
  auto cut = short_timeout.Call(
      "/ReceiveAllocs",
      *ToJson(ReceiveAllocsRequest{
          .pool_id = pool_id, .worker_id = worker.worker_id, .wait_time_seconds = 1}));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, "Unreachable");
}

TEST_F(ClientTest, KilledServerIsUnreachable) {
  ASSERT_TRUE(client_->Healthz().ok());  // a pooled keep-alive connection now exists
  lined_->Kill();
  auto start = std::chrono::steady_clock::now();
  auto pools = client_->ListPools();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(pools.ok());
  EXPECT_TRUE(pools.error().unreachable()) << pools.error().ToString();
  EXPECT_LT(elapsed, std::chrono::seconds(2) + milliseconds(1500));
  Status restarted = lined_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  auto after = client_->ListPools();  // the dead pooled connection is not reused
  EXPECT_TRUE(after.ok()) << after.error().ToString();
}

}  // namespace
}  // namespace line::client
