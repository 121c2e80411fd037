// libline through an outage, against a scripted lined that commits a write and then loses its
// answer: the connection drops, is reset or cut mid-answer, or the answer is a 503. The outcome
// is then unknown to the client, so it retries: ScheduleEval(s) with the same idempotency keys
// get the ids of the first try, and a completion whose first try committed ends in success
// (its retry's 409 AllocAlreadyEnded is checked with DescribeAlloc), while a real 409 stays one.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/fake_server.h"
#include "line/client.h"
#include "testing/lined_process.h"

namespace line::client {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using testing::FakeAnswer;
using testing::FakeRequest;
using testing::FakeServer;

using testing::FastRetries;
using testing::Unavailable;

// How the answer of a committed write gets lost.
enum class Loss { kDrop, kReset, kCut, k503 };

std::string LossName(const ::testing::TestParamInfo<Loss>& info) {
  switch (info.param) {
    case Loss::kDrop:
      return "ConnectionDropped";
    case Loss::kReset:
      return "ConnectionReset";
    case Loss::kCut:
      return "AnswerCutShort";
    case Loss::k503:
      return "StoreUnavailable";
  }
  return "?";
}

FakeAnswer Lose(Loss loss, FakeAnswer answer) {
  switch (loss) {
    case Loss::kDrop:
      answer.drop = true;
      break;
    case Loss::kReset:
      answer.reset = true;
      break;
    case Loss::kCut:
      answer.cut_after = 20;  // "HTTP/1.1 200 X\r\nCont"
      break;
    case Loss::k503:
      return Unavailable();
  }
  return answer;
}

// lined for one pool "p", as far as these tests need it: evals by idempotency key (a known key
// returns its eval's id and creates nothing), allocs by state. A write that commits in request
// `i` (0-based, over all requests) has its answer lost the `loss` way when `lose_at` holds `i`.
// Thread-safe (the server's threads call it).
class CommittingLined {
 public:
  CommittingLined(Loss loss, std::set<int> lose_at,
                  const std::map<std::string, std::string>& allocs = {})
      : loss_(loss),
        lose_at_(std::move(lose_at)),
        allocs_(allocs),
        server_([this](const FakeRequest& r) { return Answer(r); }, 0) {}

  FakeServer& server() { return server_; }
  std::string url() const { return server_.url(); }
  int evals_created() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_eval_;
  }
  // The ids the first write (of any kind) committed, in order.
  std::vector<std::string> first_commit() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_commit_;
  }
  std::string alloc_state(const std::string& alloc_id) {
    std::lock_guard<std::mutex> lock(mu_);
    return allocs_[alloc_id];
  }
  // From now on every DescribeAlloc answers 503.
  void BreakDescribeAlloc() {
    std::lock_guard<std::mutex> lock(mu_);
    describe_down_ = true;
  }
  // The store is down: every call answers 503 and commits nothing.
  void SetStoreDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    store_down_ = down;
  }
  void SetAllocState(const std::string& alloc_id, const std::string& state) {
    std::lock_guard<std::mutex> lock(mu_);
    allocs_[alloc_id] = state;
  }
  // The idempotency keys each request carried (one list per ScheduleEval(s) request).
  std::vector<std::vector<std::string>> keys() {
    std::vector<std::vector<std::string>> out;
    for (const std::string& body : server_.bodies()) {
      json::object req = json::parse(body).as_object();
      std::vector<std::string> keys;
      if (const json::value* evals = req.if_contains("evals")) {
        for (const json::value& e : evals->as_array()) {
          keys.push_back(json::value_to<std::string>(e.at("idempotency_key")));
        }
      } else if (req.contains("idempotency_key")) {
        keys.push_back(json::value_to<std::string>(req.at("idempotency_key")));
      } else {
        continue;
      }
      out.push_back(keys);
    }
    return out;
  }

 private:
  FakeAnswer Answer(const FakeRequest& r) {
    json::object req = json::parse(r.body).as_object();
    std::lock_guard<std::mutex> lock(mu_);
    if (store_down_) return Unavailable();
    if (r.path == "/ScheduleEval") {
      std::vector<std::string> ids = {CommitEvalLocked(req)};
      return LoseLocked(r.index, ids, {200, json::serialize(json::object{{"eval_id", ids[0]}})});
    }
    if (r.path == "/ScheduleEvals") {
      std::vector<std::string> ids;
      json::array out;
      for (const json::value& e : req.at("evals").as_array()) {
        ids.push_back(CommitEvalLocked(e.as_object()));
        out.push_back(json::string(ids.back()));
      }
      return LoseLocked(r.index, ids, {200, json::serialize(json::object{{"eval_ids", out}})});
    }
    std::string alloc_id = json::value_to<std::string>(req.at("alloc_id"));
    if (r.path == "/CompleteAlloc") {
      std::string& state = allocs_[alloc_id];
      if (state != "live") {
        return {409, json::serialize(json::object{
                         {"message", "alloc_id " + alloc_id + " already ended (" + state + ")"},
                         {"code", "AllocAlreadyEnded"}})};
      }
      state = "completed";  // what lined leaves after a failed completion too
      return LoseLocked(r.index, {alloc_id}, {200, "{}"});
    }
    if (r.path == "/DescribeAlloc") {
      if (describe_down_) return Unavailable();
      return {200, json::serialize(json::object{{"pool_id", "p"},
                                                {"alloc_id", alloc_id},
                                                {"worker_id", "w"},
                                                {"eval_id", "e"},
                                                {"dataset_id", ""},
                                                {"size", 1},
                                                {"ttl", 0},
                                                {"state", allocs_[alloc_id]},
                                                {"locality", false}})};
    }
    return {404, R"({"message":"unknown path","code":"NotFound"})"};
  }

  std::string CommitEvalLocked(const json::object& eval) {
    std::string key;
    if (const json::value* k = eval.if_contains("idempotency_key")) {
      key = json::value_to<std::string>(*k);
      if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
    }
    std::string id = "eval-" + std::to_string(next_eval_++);
    if (!key.empty()) by_key_[key] = id;
    return id;
  }

  FakeAnswer LoseLocked(int index, const std::vector<std::string>& committed, FakeAnswer answer) {
    if (first_commit_.empty()) first_commit_ = committed;
    return lose_at_.contains(index) ? Lose(loss_, std::move(answer)) : answer;
  }

  const Loss loss_;
  const std::set<int> lose_at_;
  std::mutex mu_;
  std::map<std::string, std::string> allocs_;  // guarded by mu_: alloc id -> state
  std::map<std::string, std::string> by_key_;  // guarded by mu_: idempotency key -> eval id
  int next_eval_ = 0;                          // guarded by mu_
  bool describe_down_ = false;                 // guarded by mu_
  bool store_down_ = false;                    // guarded by mu_
  std::vector<std::string> first_commit_;      // guarded by mu_
  FakeServer server_;                          // last: its threads call Answer
};

class LostAnswerTest : public ::testing::TestWithParam<Loss> {};

INSTANTIATE_TEST_SUITE_P(EveryLoss, LostAnswerTest,
                         ::testing::Values(Loss::kDrop, Loss::kReset, Loss::kCut, Loss::k503),
                         LossName);

TEST_P(LostAnswerTest, ScheduleEvalRetryReturnsTheIdOfTheCommittedFirstTry) {
  CommittingLined lined(GetParam(), {0});
  Client client(FastRetries(lined.url()));
  auto eval = client.ScheduleEval({.pool_id = "p", .size = 1, .payload = R"({"n":1})"});
  ASSERT_TRUE(eval.ok()) << eval.error().ToString();
  EXPECT_EQ(lined.server().requests(), 2);  // the first committed, its answer was lost
  EXPECT_EQ(eval->eval_id, lined.first_commit().at(0));
  EXPECT_EQ(lined.evals_created(), 1);
  std::vector<std::vector<std::string>> keys = lined.keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], keys[1]);  // one key per call, the same on every try
  EXPECT_EQ(lined.server().bodies()[0], lined.server().bodies()[1]);
}

TEST_P(LostAnswerTest, ScheduleEvalsRetryReturnsTheIdsOfTheCommittedFirstTry) {
  CommittingLined lined(GetParam(), {0, 1});  // two tries commit, both answers are lost
  Client client(FastRetries(lined.url()));
  auto ids = client.ScheduleEvals(
      {.pool_id = "p",
       .evals = {
           {.size = 1}, {.size = 2, .idempotency_key = "mine-1"}, {.size = 3, .payload = "[1]"}}});
  ASSERT_TRUE(ids.ok()) << ids.error().ToString();
  EXPECT_EQ(lined.server().requests(), 3);
  EXPECT_EQ(ids->eval_ids, lined.first_commit());
  EXPECT_EQ(lined.evals_created(), 3);
  std::vector<std::vector<std::string>> keys = lined.keys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0], keys[1]);
  EXPECT_EQ(keys[0], keys[2]);
  ASSERT_EQ(keys[0].size(), 3u);
  EXPECT_EQ(keys[0][1], "mine-1");  // the caller's own key is kept
  EXPECT_NE(keys[0][0], keys[0][2]);
}

TEST_P(LostAnswerTest, CompletionWhoseFirstTryCommittedSucceeds) {
  CommittingLined lined(GetParam(), {0}, {{"a1", "live"}});
  Client client(FastRetries(lined.url()));
  auto done =
      client.CompleteAlloc({.pool_id = "p", .alloc_id = "a1", .worker_id = "w", .exit_code = 0});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(lined.server().paths(),
            (std::vector<std::string>{"/CompleteAlloc", "/CompleteAlloc", "/DescribeAlloc"}));
  json::object describe = json::parse(lined.server().bodies()[2]).as_object();
  EXPECT_EQ(describe, (json::object{{"pool_id", "p"}, {"alloc_id", "a1"}}));
  EXPECT_EQ(lined.alloc_state("a1"), "completed");
}

// A failed completion (failed: true) also leaves the alloc "completed" (SPEC: its eval is
// pending again, but the alloc ended by completion, not by expiry).
TEST_P(LostAnswerTest, FailedCompletionWhoseFirstTryCommittedSucceeds) {
  CommittingLined lined(GetParam(), {0}, {{"a1", "live"}});
  Client client(FastRetries(lined.url()));
  auto done = client.CompleteAlloc(
      {.pool_id = "p", .alloc_id = "a1", .worker_id = "w", .exit_code = 3, .failed = true});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(lined.server().paths().back(), "/DescribeAlloc");
}

TEST(OutageTest, FirstTryA409IsReturnedUnchanged) {
  CommittingLined lined(Loss::k503, {}, {{"gone", "expired"}, {"done", "completed"}});
  Client client(FastRetries(lined.url()));
  for (std::string alloc_id : {"gone", "done"}) {
    auto r = client.CompleteAlloc({.pool_id = "p", .alloc_id = alloc_id, .exit_code = 0});
    ASSERT_FALSE(r.ok()) << alloc_id;
    EXPECT_EQ(r.error().http_status, 409);
    EXPECT_EQ(r.error().code, "AllocAlreadyEnded");
    EXPECT_EQ(r.error().attempts, 1);
  }
  // Sent once, so the 409 is lined's own word: nothing was checked.
  EXPECT_EQ(lined.server().paths(), (std::vector<std::string>{"/CompleteAlloc", "/CompleteAlloc"}));
}

// The first try found the store down and committed nothing; by the retry the alloc had expired.
TEST(OutageTest, RetriedCompletionOfAnExpiredAllocStaysA409) {
  CommittingLined lined(Loss::k503, {}, {{"a1", "live"}});
  lined.SetStoreDown(true);
  ClientOptions options = FastRetries(lined.url());
  options.initial_backoff = milliseconds(300);
  options.max_backoff = milliseconds(300);
  Client client(options);
  std::thread outage_ends([&] {
    std::this_thread::sleep_for(milliseconds(100));
    lined.SetAllocState("a1", "expired");
    lined.SetStoreDown(false);
  });
  auto r = client.CompleteAlloc({.pool_id = "p", .alloc_id = "a1", .exit_code = 0});
  outage_ends.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 409);
  EXPECT_EQ(r.error().code, "AllocAlreadyEnded");
  EXPECT_GT(r.error().attempts, 1);
  EXPECT_EQ(lined.server().paths().back(), "/DescribeAlloc");  // checked, and it had expired
}

TEST(OutageTest, CompletionThatCannotBeCheckedIsStillUnknown) {
  CommittingLined lined(Loss::kDrop, {0}, {{"a1", "live"}});
  lined.BreakDescribeAlloc();
  ClientOptions options = FastRetries(lined.url());
  options.max_attempts = 3;
  Client client(options);
  auto r = client.CompleteAlloc({.pool_id = "p", .alloc_id = "a1", .exit_code = 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 503);
  EXPECT_EQ(r.error().code, "StoreUnavailable");
  EXPECT_NE(r.error().message.find("AllocAlreadyEnded"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("DescribeAlloc"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().attempts, 2);  // the CompleteAlloc's own
}

// For callers that retry on their own after libline gave up (line-worker's reporter): the
// earlier call may have committed, so even a first-try 409 is checked.
TEST(OutageTest, EarlierCallUnansweredChecksAFirstTry409) {
  CommittingLined lined(Loss::k503, {}, {{"mine", "completed"}, {"gone", "expired"}});
  Client client(FastRetries(lined.url()));
  auto mine = client.CompleteAlloc({.pool_id = "p", .alloc_id = "mine", .exit_code = 0},
                                   {.earlier_call_unanswered = true});
  ASSERT_TRUE(mine.ok()) << mine.error().ToString();
  auto gone = client.CompleteAlloc({.pool_id = "p", .alloc_id = "gone", .exit_code = 0},
                                   {.earlier_call_unanswered = true});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "AllocAlreadyEnded");
  EXPECT_EQ(gone.error().attempts, 1);
  EXPECT_EQ(lined.server().paths(), (std::vector<std::string>{"/CompleteAlloc", "/DescribeAlloc",
                                                              "/CompleteAlloc", "/DescribeAlloc"}));
}

// A write on a reused keep-alive connection that closes before any answer is sent again at
// once, not counted as a retry (the server most likely closed it while idle). But lined may
// have seen it: the keys stay the same, and a completion's 409 is checked all the same.
TEST(OutageTest, ResendOnAReusedConnectionIsTreatedAsPossiblyCommitted) {
  CommittingLined lined(Loss::kDrop, {1, 3}, {{"a1", "live"}});
  ClientOptions options = FastRetries(lined.url());
  options.max_attempts = 1;  // no retries at all: only the re-send
  Client client(options);
  auto warm = client.CompleteAlloc({.pool_id = "p", .alloc_id = "none"});  // 409, keeps the conn
  ASSERT_FALSE(warm.ok());
  auto eval = client.ScheduleEval({.pool_id = "p", .size = 1});
  ASSERT_TRUE(eval.ok()) << eval.error().ToString();
  EXPECT_EQ(eval->eval_id, lined.first_commit().at(0));
  EXPECT_EQ(lined.evals_created(), 1);
  auto done = client.CompleteAlloc({.pool_id = "p", .alloc_id = "a1", .exit_code = 0});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(lined.server().paths(),
            (std::vector<std::string>{"/CompleteAlloc", "/ScheduleEval", "/ScheduleEval",
                                      "/CompleteAlloc", "/CompleteAlloc", "/DescribeAlloc"}));
}

TEST(OutageTest, EveryCallGetsAKeyOfItsOwn) {
  CommittingLined lined(Loss::k503, {});
  Client client(FastRetries(lined.url()));
  auto a = client.ScheduleEval({.pool_id = "p", .size = 1});
  auto b = client.ScheduleEval({.pool_id = "p", .size = 1});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->eval_id, b->eval_id);  // the same request twice is two evals
  std::vector<std::vector<std::string>> keys = lined.keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_NE(keys[0], keys[1]);
}

// An outage that outlasts the call: refused connections, resets and 503s are all retried with
// backoff until the retry budget is spent, not given up on early nor pursued past it.
enum class Down { kRefused, kReset, k503 };

class PersistentOutageTest : public ::testing::TestWithParam<Down> {};

INSTANTIATE_TEST_SUITE_P(EveryOutage, PersistentOutageTest,
                         ::testing::Values(Down::kRefused, Down::kReset, Down::k503),
                         [](const ::testing::TestParamInfo<Down>& info) {
                           return info.param == Down::kRefused ? "Refused"
                                  : info.param == Down::kReset ? "Reset"
                                                               : "StoreUnavailable";
                         });

TEST_P(PersistentOutageTest, IsRetriedWithBackoffUntilTheBudget) {
  std::optional<FakeServer> server;
  std::string url = "http://127.0.0.1:" + std::to_string(line::testing::FreePort());
  if (GetParam() != Down::kRefused) {
    Down down = GetParam();
    server.emplace(
        [down](const FakeRequest&) {
          FakeAnswer a = Unavailable();
          a.reset = down == Down::kReset;
          return a;
        },
        0);
    url = server->url();
  }
  ClientOptions options = FastRetries(url);
  options.retry_budget = milliseconds(700);
  options.initial_backoff = milliseconds(20);
  options.max_backoff = milliseconds(100);
  options.max_attempts = 1000;
  Client client(options);
  auto start = std::chrono::steady_clock::now();
  auto eval = client.ScheduleEval({.pool_id = "p", .size = 1});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(eval.ok());
  EXPECT_EQ(eval.error().code, GetParam() == Down::k503 ? "StoreUnavailable" : "Unreachable");
  EXPECT_GE(elapsed, milliseconds(690));        // retried up to the budget (to the ms)...
  EXPECT_LT(elapsed, milliseconds(700 + 500));  // ...and no further
  // Backoff, not a busy loop: full jitter under a 100 ms cap waits ~50 ms on average.
  EXPECT_GT(eval.error().attempts, 3);
  EXPECT_LT(eval.error().attempts, 100);
  if (server) {
    EXPECT_EQ(server->requests(), eval.error().attempts);
  }
}

// lined comes back within the budget: the call that started during the outage succeeds.
TEST(OutageTest, CallMadeDuringAnOutageSucceedsWhenTheServerReturns) {
  int port = line::testing::FreePort();
  ClientOptions options = FastRetries("http://127.0.0.1:" + std::to_string(port));
  options.initial_backoff = milliseconds(20);
  options.max_backoff = milliseconds(100);
  options.max_attempts = 1000;
  Client client(options);
  std::optional<Result<ScheduleEvalResponse>> eval;
  auto start = std::chrono::steady_clock::now();
  std::thread call([&] { eval.emplace(client.ScheduleEval({.pool_id = "p", .size = 1})); });
  std::this_thread::sleep_for(milliseconds(400));
  FakeServer server(
      [](const FakeRequest&) {
        return FakeAnswer{200, R"({"eval_id":"e1"})"};
      },
      port);
  call.join();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(eval.has_value());
  ASSERT_TRUE(eval->ok()) << eval->error().ToString();
  EXPECT_EQ((*eval)->eval_id, "e1");
  EXPECT_EQ(server.requests(), 1);
  EXPECT_GE(elapsed, milliseconds(400));
}

}  // namespace
}  // namespace line::client
