// line-worker against a scripted server, for what a correct lined never does: delivering one
// alloc again after it ran, and handing over more allocs than fit the capacity.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "agent/worker_process.h"
#include "client/fake_server.h"
#include "testing/e2e.h"

namespace line::testing {
namespace {

using client::testing::FakeAnswer;
using client::testing::FakeServer;
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

// Answers like lined for worker w1 of pool p1; ReceiveAllocs returns the scripted batches in
// order, then waits briefly and returns nothing (a long poll that timed out).
class ScriptedLined {
 public:
  explicit ScriptedLined(std::vector<std::string> batches)
      : batches_(std::move(batches)),
        server_([this](int, const std::string& body) { return Answer(body); }) {}

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

 private:
  FakeAnswer Answer(const std::string& body) {
    json::object req = json::parse(body).as_object();
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
    if (req.contains("exit_code")) completed_ = true;
    return {200, "{}"};  // heartbeat, completion, drain, deregister
  }

  std::vector<std::string> batches_;
  std::atomic<int> receives_{0};
  std::atomic<bool> completed_{false};
  FakeServer server_;  // last: its threads call Answer
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

}  // namespace
}  // namespace line::testing
