// line-worker against a scripted server, for what a correct lined never does (delivering one
// alloc again after it ran, handing over more allocs than fit the capacity) and for outages
// timed to the request: a completion that commits and then loses its answer.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "agent/worker_process.h"
#include "client/fake_server.h"
#include "testing/e2e.h"

namespace line::testing {
namespace {

using client::testing::FakeAnswer;
using client::testing::FakeRequest;
using client::testing::FakeServer;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string AllocJson(const std::string& id, int size) {
  return json::serialize(json::object{{"pool_id", "p1"},
                                      {"alloc_id", id},
                                      {"worker_id", "w1"},
                                      {"eval_id", "e-" + id},
                                      {"dataset_id", ""},
                                      {"size", size},
                                      {"payload", nullptr},
                                      {"attempt", 1}});
}

// How the scripted lined treats completions.
struct CompletionScript {
  // Alloc states ("live", "completed", "expired") before any completion; others are live.
  std::map<std::string, std::string> allocs;
  // How the answer of the first completion is lost; it commits all the same, so the worker
  // cannot know that it did.
  enum class Loss {
    kNone,
    // No answer ever comes: the call times out (2 s) after its retry budget (1 s) is spent, so
    // libline gives up after that one attempt and only the worker's next call meets the 409.
    kHang,
    // lined answers 503 StoreUnavailable to it, and to every call for `outage`.
    kOutage,
  };
  Loss first_answer = Loss::kNone;
  milliseconds outage{0};
  // How long each CompleteAlloc takes to answer (lined waiting for its commit).
  milliseconds complete_delay{0};
};

// Answers like lined for worker w1 of pool p1; ReceiveAllocs returns the scripted batches in
// order, then waits briefly and returns nothing (a long poll that timed out). CompleteAlloc
// ends a live alloc ("completed") and answers 409 AllocAlreadyEnded for one that ended;
// DescribeAlloc shows the alloc's state.
class ScriptedLined {
 public:
  explicit ScriptedLined(std::vector<std::string> batches, CompletionScript script = {})
      : batches_(std::move(batches)),
        allocs_(std::move(script.allocs)),
        loss_(script.first_answer),
        outage_(script.outage),
        complete_delay_(script.complete_delay),
        server_([this](const FakeRequest& r) { return Answer(r); }, 0) {}

  std::string url() const { return server_.url(); }
  // Every CompleteAlloc body received so far.
  std::vector<json::object> completions() {
    std::vector<json::object> out;
    for (const std::string& body : server_.bodies()) {
      json::value v = json::parse(body);
      if (v.as_object().contains("exit_code")) out.push_back(v.as_object());
    }
    return out;
  }
  int receives() const { return receives_; }
  // How many requests went to `path`.
  int calls(const std::string& path) {
    std::vector<std::string> paths = server_.paths();
    return static_cast<int>(std::count(paths.begin(), paths.end(), path));
  }
  // The most CompleteAlloc calls that were in the server at one time.
  int most_concurrent_completions() const { return most_completing_; }
  // How many CompleteAlloc calls were answered 409 AllocAlreadyEnded.
  int conflicts() {
    std::lock_guard<std::mutex> lock(mu_);
    return conflicts_;
  }

 private:
  FakeAnswer Answer(const FakeRequest& r) {
    static const FakeAnswer kUnavailable{
        503, R"({"message":"store unavailable","code":"StoreUnavailable"})"};
    json::object req = json::parse(r.body).as_object();
    if (r.path == "/CompleteAlloc" && complete_delay_.count() > 0) {
      const int now = ++completing_;
      for (int most = most_completing_; now > most;) {
        if (most_completing_.compare_exchange_weak(most, now)) break;
      }
      std::this_thread::sleep_for(complete_delay_);
      --completing_;
    }
    if (r.path == "/CompleteAlloc" || r.path == "/DescribeAlloc" || r.path == "/SendHeartbeat") {
      std::lock_guard<std::mutex> lock(mu_);
      if (std::chrono::steady_clock::now() < down_until_) return kUnavailable;
      if (r.path == "/DescribeAlloc") return DescribeLocked(req);
      if (r.path == "/CompleteAlloc") {
        completed_ = true;  // a completion arrived (Receive's later batches wait for one)
        std::string& state = allocs_[json::value_to<std::string>(req.at("alloc_id"))];
        if (!state.empty() && state != "live") {
          ++conflicts_;
          return {409,
                  json::serialize(json::object{{"message", "alloc already ended (" + state + ")"},
                                               {"code", "AllocAlreadyEnded"}})};
        }
        state = "completed";
        if (!first_answer_lost_ && loss_ != CompletionScript::Loss::kNone) {
          first_answer_lost_ = true;
          if (loss_ == CompletionScript::Loss::kHang) return {.no_answer = true};
          down_until_ = std::chrono::steady_clock::now() + outage_;
          return kUnavailable;  // committed, but the answer says the store is unavailable
        }
        return {200, "{}"};
      }
    }
    if (req.contains("capacity")) {
      return {200, R"({"pool_id":"p1","worker_id":"w1","queue_url":"line-p1-w1","capacity":)" +
                       json::serialize(req.at("capacity")) +
                       R"(,"worker_ttl":3,"replica_ttl":3,"alloc_ttl":3})"};
    }
    if (req.contains("max_number_of_messages")) {
      int n = receives_++;
      // Later batches wait for the first completion: a redelivery after the alloc ran.
      for (int i = 0; n > 0 && !completed_ && i < 250; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (n < static_cast<int>(batches_.size())) return {200, batches_[n]};
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return {200, R"({"allocs":[]})"};
    }
    return {200, "{}"};  // heartbeat, drain, deregister
  }

  FakeAnswer DescribeLocked(const json::object& req) {
    std::string alloc_id = json::value_to<std::string>(req.at("alloc_id"));
    std::string state = allocs_[alloc_id].empty() ? "live" : allocs_[alloc_id];
    return {200, json::serialize(json::object{{"pool_id", "p1"},
                                              {"alloc_id", alloc_id},
                                              {"worker_id", "w1"},
                                              {"eval_id", "e-" + alloc_id},
                                              {"dataset_id", ""},
                                              {"size", 1},
                                              {"ttl", 0},
                                              {"state", state},
                                              {"locality", false}})};
  }

  std::vector<std::string> batches_;
  std::atomic<int> receives_{0};
  std::atomic<bool> completed_{false};
  std::mutex mu_;
  std::map<std::string, std::string> allocs_;  // guarded by mu_: id -> state
  const CompletionScript::Loss loss_;
  const milliseconds outage_;
  const milliseconds complete_delay_;
  std::atomic<int> completing_{0};
  std::atomic<int> most_completing_{0};
  bool first_answer_lost_ = false;                    // guarded by mu_
  std::chrono::steady_clock::time_point down_until_;  // guarded by mu_; {} = no outage yet
  int conflicts_ = 0;                                 // guarded by mu_
  FakeServer server_;                                 // last: its threads call Answer
};

class WorkerFakeServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && worker_) std::cerr << "---- line-worker log\n" << worker_->Log();
  }
  WorkerProcess& Start(const std::string& url, int capacity, const std::string& exec) {
    worker_ = std::make_unique<WorkerProcess>(
        std::vector<std::string>{"--server", url, "--pool", "p1", "--capacity",
                                 std::to_string(capacity), "--exec", exec, "--log-level", "debug"},
        dir_.path() / "worker.log");
    EXPECT_TRUE(worker_->Start());
    return *worker_;
  }
  std::vector<std::string> Lines(const std::string& name) {
    std::ifstream in(dir_.path() / name);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  TempDir dir_;
  std::unique_ptr<WorkerProcess> worker_;
};

// Each completion waits for a commit in lined; reported one at a time they would cap the
// worker at one completion per commit, whatever its capacity.
TEST_F(WorkerFakeServerTest, CompletionsAreReportedSeveralAtATime) {
  std::string batch = R"({"allocs":[)" + AllocJson("a1", 1) + "," + AllocJson("a2", 1) + "," +
                      AllocJson("a3", 1) + "," + AllocJson("a4", 1) + "]}";
  ScriptedLined lined({batch}, CompletionScript{.complete_delay = milliseconds(500)});
  WorkerProcess& worker = Start(lined.url(), 4, "true");
  ASSERT_TRUE(Eventually([&] { return lined.completions().size() >= 4; }, seconds(30)));
  EXPECT_GE(lined.most_concurrent_completions(), 2);
  std::set<std::string> reported;
  for (const json::object& c : lined.completions()) {
    reported.insert(json::value_to<std::string>(c.at("alloc_id")));
  }
  EXPECT_EQ(reported, (std::set<std::string>{"a1", "a2", "a3", "a4"}));
  worker.Signal(SIGTERM);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0);
  EXPECT_EQ(lined.completions().size(), 4u) << "each reported once";
}

TEST_F(WorkerFakeServerTest, ARedeliveredAllocIsNotRunAgain) {
  std::string once = R"({"allocs":[)" + AllocJson("a1", 1) + "]}";
  ScriptedLined lined({once, once, once});  // delivered three times, the later ones after it ran
  std::string ran = (dir_.path() / "ran").string();
  WorkerProcess& worker = Start(lined.url(), 2, "echo \"$LINE_ALLOC_ID\" >> " + ran);
  ASSERT_TRUE(Eventually([&] { return lined.receives() > 3; }, seconds(30)));
  ASSERT_TRUE(Eventually([&] { return !lined.completions().empty(); }, seconds(30)));
  worker.Signal(SIGTERM);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0);
  EXPECT_EQ(Lines("ran"), std::vector<std::string>{"a1"});
  std::vector<json::object> completions = lined.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].at("alloc_id"), "a1");
  EXPECT_EQ(completions[0].at("worker_id"), "w1");
  EXPECT_TRUE(completions[0].if_contains("failed") == nullptr ||
              completions[0].at("failed") == false)
      << json::serialize(completions[0]);
  EXPECT_EQ(completions[0].at("exit_code"), 0);
  EXPECT_NE(worker.Log().find("delivered again"), std::string::npos);
}

TEST_F(WorkerFakeServerTest, AllocsBeyondTheCapacityWaitAndSizesNeverExceedIt) {
  // Capacity 2, but five units arrive at once.
  ScriptedLined lined({R"({"allocs":[)" + AllocJson("a1", 1) + "," + AllocJson("a2", 1) + "," +
                       AllocJson("a3", 2) + "," + AllocJson("a4", 1) + "]}"});
  std::string log = (dir_.path() / "sizes").string();
  WorkerProcess& worker =
      Start(lined.url(), 2,
            "echo \"+$LINE_SIZE\" >> " + log + "; sleep 0.3; echo \"-$LINE_SIZE\" >> " + log);
  ASSERT_TRUE(Eventually([&] { return lined.completions().size() == 4; }, seconds(30)));
  worker.Signal(SIGTERM);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0);

  std::vector<std::string> events = Lines("sizes");
  ASSERT_EQ(events.size(), 8u);
  int running = 0, peak = 0;
  for (const std::string& event : events) {
    running += std::stoi(event);
    peak = std::max(peak, running);
    EXPECT_LE(running, 2) << ::testing::PrintToString(events);
  }
  EXPECT_EQ(peak, 2);
  EXPECT_EQ(running, 0);
}

// The first try of a completion commits, but its answer never comes: libline gives up on that
// call (Unreachable) and the reporter tries again later, when lined answers 409
// AllocAlreadyEnded on the first attempt of the new call. The reporter tells libline that an
// earlier call went unanswered, the alloc shows "completed", and so the completion counts as
// reported: no warning, nothing sent again.
TEST_F(WorkerFakeServerTest, CompletionWhoseAnswerWasLostCountsAsReportedOnTheNextCall) {
  ScriptedLined lined({R"({"allocs":[)" + AllocJson("a1", 1) + "]}"},
                      {.first_answer = CompletionScript::Loss::kHang});
  WorkerProcess& worker = Start(lined.url(), 1, "true");
  ASSERT_TRUE(Eventually(
      [&] { return worker.Log().find("alloc a1 reported") != std::string::npos; }, seconds(30)));
  std::this_thread::sleep_for(milliseconds(1500));  // several backoffs: nothing more is sent
  EXPECT_EQ(lined.calls("/CompleteAlloc"), 2);
  EXPECT_EQ(lined.conflicts(), 1);
  EXPECT_EQ(lined.calls("/DescribeAlloc"), 1);
  worker.Signal(SIGTERM);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0);
  std::string log = worker.Log();
  EXPECT_NE(log.find("reporting its completion failed, will retry"), std::string::npos);
  EXPECT_EQ(log.find("had already ended"), std::string::npos);  // not taken for an expiry
  EXPECT_EQ(log.find("never reached lined"), std::string::npos);
  EXPECT_EQ(log.find("refused its completion"), std::string::npos);
}

// The same through a store outage: the first try commits and is answered 503, and lined stays
// down (503 to everything) for longer than libline's retry budget. Whether the 409 that ends it
// comes on a retry inside one call or on a later call, the completion counts as reported.
TEST_F(WorkerFakeServerTest, CompletionWhoseFirstTryCommittedDuringAnOutageCountsAsReported) {
  ScriptedLined lined(
      {R"({"allocs":[)" + AllocJson("a1", 1) + "]}"},
      {.first_answer = CompletionScript::Loss::kOutage, .outage = milliseconds(2500)});
  WorkerProcess& worker = Start(lined.url(), 1, "true");
  ASSERT_TRUE(Eventually(
      [&] { return worker.Log().find("alloc a1 reported") != std::string::npos; }, seconds(30)));
  int completions = lined.calls("/CompleteAlloc");
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(lined.calls("/CompleteAlloc"), completions);
  EXPECT_EQ(lined.conflicts(), 1);
  EXPECT_EQ(lined.calls("/DescribeAlloc"), 1);
  worker.Signal(SIGTERM);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0);
  std::string log = worker.Log();
  EXPECT_NE(log.find("reporting its completion failed, will retry"), std::string::npos);
  EXPECT_EQ(log.find("had already ended"), std::string::npos);
  EXPECT_EQ(log.find("never reached lined"), std::string::npos);
  EXPECT_EQ(log.find("refused its completion"), std::string::npos);
}

// An alloc that really expired before its completion arrived: the 409 on the first try is
// lined's own word, logged as before, and nothing is checked or sent again.
TEST_F(WorkerFakeServerTest, CompletionOfAnAllocThatExpiredIsLoggedAsEnded) {
  ScriptedLined lined({R"({"allocs":[)" + AllocJson("a1", 1) + "]}"},
                      {.allocs = {{"a1", "expired"}}});
  WorkerProcess& worker = Start(lined.url(), 1, "true");
  ASSERT_TRUE(Eventually([&] { return lined.conflicts() == 1; }, seconds(30)));
  ASSERT_TRUE(Eventually(
      [&] { return worker.Log().find("had already ended") != std::string::npos; }, seconds(10)));
  worker.Signal(SIGTERM);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0);
  EXPECT_EQ(lined.calls("/CompleteAlloc"), 1);
  EXPECT_EQ(lined.calls("/DescribeAlloc"), 0);
  EXPECT_EQ(worker.Log().find("alloc a1 reported"), std::string::npos);
}

}  // namespace
}  // namespace line::testing
