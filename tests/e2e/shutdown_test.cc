// Graceful stop: SIGTERM and SIGINT end lined with exit code 0 without abandoning a parked
// long-poll, and everything acknowledged before is there after a restart on the same store.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <future>
#include <thread>

#include "testing/e2e.h"

namespace line::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ShutdownTest : public LinedTest {};

TEST_F(ShutdownTest, SigtermExitsZeroAndCommittedStateSurvivesRestart) {
  std::string pool_id = CreatePool({{"placement", "binpack"}});
  std::string busy = RegisterWorker(pool_id, 4);
  Heartbeat(pool_id, busy, {}, {"d1"});
  std::string completed = ScheduleEval(pool_id, 4, "d1", json::value{{"n", 1}});
  json::object got =
      Call("/ReceiveAllocs", {{"pool_id", pool_id}, {"worker_id", busy}, {"wait_time_seconds", 5}});
  ASSERT_EQ(Arr(got, "allocs").size(), 1u) << json::serialize(got);
  Call("/CompleteAlloc", {{"pool_id", pool_id},
                          {"alloc_id", Str(Obj(Arr(got, "allocs")[0]), "alloc_id")},
                          {"exit_code", 3},
                          {"result", "done"}});
  std::string placed = ScheduleEval(pool_id, 3, "d1");
  std::string blocked = ScheduleEval(pool_id, 50);  // fits nowhere: stays pending
  std::string idle = RegisterWorker(pool_id, 1);
  ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
  json::object before = DescribePool(pool_id);

  // A long-poll parked on the idle worker when the signal arrives.
  std::unique_ptr<HttpClient> poller = NewClient();
  std::future<HttpResponse> poll = std::async(std::launch::async, [&] {
    return poller->Post(
        "/ReceiveAllocs",
        json::value{{"pool_id", pool_id}, {"worker_id", idle}, {"wait_time_seconds", 20}});
  });
  std::this_thread::sleep_for(milliseconds(300));  // let it park; no signal exists for that

  EXPECT_EQ(lined_->Terminate(seconds(30)), 0) << "SIGTERM is a graceful stop";
  ASSERT_EQ(poll.wait_for(seconds(5)), std::future_status::ready)
      << "the parked long-poll was left hanging after lined exited";
  HttpResponse parked = poll.get();
  if (parked.status != 0) {  // answered before closing: an empty, well-formed batch
    EXPECT_EQ(parked.status, 200) << parked.Describe();
    EXPECT_TRUE(Arr(Obj(parked.Json()), "allocs").empty()) << parked.body;
  }

  Status restarted = lined_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  client().Disconnect();
  json::object after = DescribePool(pool_id);
  for (const char* key : {"placement", "workers", "capacity", "free", "pending_evals",
                          "live_allocs", "dead_letters", "max_retry", "alloc_ttl"}) {
    EXPECT_EQ(after.at(key), before.at(key))
        << key << ": before " << json::serialize(before) << " after " << json::serialize(after);
  }
  json::object done = DescribeEval(pool_id, completed);
  EXPECT_EQ(Str(done, "state"), "completed");
  EXPECT_EQ(Int(done, "exit_code"), 3);
  EXPECT_EQ(done.at("result"), "done");
  EXPECT_EQ(Str(DescribeEval(pool_id, placed), "state"), "placed");
  EXPECT_EQ(Str(DescribeEval(pool_id, blocked), "state"), "pending");
  EXPECT_EQ(Strings(Arr(DescribeWorker(pool_id, busy), "datasets")),
            std::vector<std::string>{"d1"});
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));

  // The placed eval's alloc is still delivered to its worker after the restart.
  json::object redelivered =
      Call("/ReceiveAllocs", {{"pool_id", pool_id}, {"worker_id", busy}, {"wait_time_seconds", 1}});
  ASSERT_EQ(Arr(redelivered, "allocs").size(), 1u) << json::serialize(redelivered);
  EXPECT_EQ(Str(Obj(Arr(redelivered, "allocs")[0]), "eval_id"), placed);

  EXPECT_EQ(lined_->Kill(SIGINT), 0) << "SIGINT is a graceful stop too";
}

}  // namespace
}  // namespace line::testing
