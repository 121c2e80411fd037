// ReceiveAllocs over real HTTP: a long-poll wakes when an alloc commits, an alloc is delivered
// once, and one never acknowledged comes back after LINE_VISIBILITY_TIMEOUT.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "testing/e2e.h"

namespace line::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

class ReceiveTest : public LinedTest {
 protected:
  LinedOptions Options() override {
    LinedOptions options;
    options.env["LINE_VISIBILITY_TIMEOUT"] = "1";
    return options;
  }

  static json::object Receive(HttpClient& client, const std::string& pool_id,
                              const std::string& worker_id, int wait_seconds) {
    return CallOk(client, "/ReceiveAllocs",
                  {{"pool_id", pool_id},
                   {"worker_id", worker_id},
                   {"max_number_of_messages", 10},
                   {"wait_time_seconds", wait_seconds}});
  }
};

TEST_F(ReceiveTest, LongPollWaitsWhileThereIsNothing) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);
  Clock::time_point start = Clock::now();
  json::object received = Receive(client(), pool_id, worker_id, 1);
  milliseconds waited = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_TRUE(Arr(received, "allocs").empty()) << json::serialize(received);
  EXPECT_GE(waited, milliseconds(900)) << "wait_time_seconds 1 returned early";
  EXPECT_LT(waited, seconds(3));
}

TEST_F(ReceiveTest, LongPollReturnsAsSoonAsAnAllocCommits) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);

  std::unique_ptr<HttpClient> worker_client = NewClient();
  std::future<std::pair<json::object, milliseconds>> poll = std::async(std::launch::async, [&] {
    Clock::time_point start = Clock::now();
    json::object r = Receive(*worker_client, pool_id, worker_id, 10);
    return std::make_pair(r, std::chrono::duration_cast<milliseconds>(Clock::now() - start));
  });
  // Give the long-poll time to reach the server and park; if it were late, the alloc would
  // already be queued and the call would return at once anyway, so this cannot flake.
  std::this_thread::sleep_for(milliseconds(300));
  std::string eval_id = ScheduleEval(pool_id, 2);

  ASSERT_EQ(poll.wait_for(seconds(15)), std::future_status::ready);
  auto [received, waited] = poll.get();
  EXPECT_LT(waited, seconds(2)) << "the long-poll did not wake on the commit";
  const json::array& allocs = Arr(received, "allocs");
  ASSERT_EQ(allocs.size(), 1u) << json::serialize(received);
  EXPECT_EQ(Str(Obj(allocs[0]), "eval_id"), eval_id);
}

TEST_F(ReceiveTest, UnacknowledgedAllocIsDeliveredAgainAfterTheVisibilityTimeout) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::string eval_id = ScheduleEval(pool_id, 2, "", json::value{{"task", 1}});

  json::object first = Receive(client(), pool_id, worker_id, 5);
  ASSERT_EQ(Arr(first, "allocs").size(), 1u) << json::serialize(first);
  const json::object& alloc = Obj(Arr(first, "allocs")[0]);
  std::string alloc_id = Str(alloc, "alloc_id");

  // Delivered once: an immediate second call has nothing.
  EXPECT_TRUE(Arr(Receive(client(), pool_id, worker_id, 0), "allocs").empty());

  // Not acknowledged within 1 s: a later call returns it again, unchanged.
  json::object again;
  ASSERT_TRUE(Eventually(
      [&] {
        again = Receive(client(), pool_id, worker_id, 1);
        return !Arr(again, "allocs").empty();
      },
      seconds(6)))
      << "the unacknowledged alloc never came back";
  ASSERT_EQ(Arr(again, "allocs").size(), 1u) << json::serialize(again);
  const json::object& redelivered = Obj(Arr(again, "allocs")[0]);
  EXPECT_EQ(Str(redelivered, "alloc_id"), alloc_id);
  EXPECT_EQ(Str(redelivered, "eval_id"), eval_id);
  EXPECT_EQ(Int(redelivered, "attempt"), 1) << "redelivery is not a new placement";
  EXPECT_EQ(redelivered.at("payload"), alloc.at("payload"));

  // A heartbeat listing it acknowledges it: it does not come back any more.
  json::object beat = Call("/SendHeartbeat", {{"pool_id", pool_id},
                                              {"worker_id", worker_id},
                                              {"allocs", {alloc_id}},
                                              {"datasets", json::array{}}});
  EXPECT_TRUE(Arr(beat, "unknown_allocs").empty()) << json::serialize(beat);
  Clock::time_point quiet_until = Clock::now() + milliseconds(2500);
  while (Clock::now() < quiet_until) {
    json::object later = Receive(client(), pool_id, worker_id, 1);
    EXPECT_TRUE(Arr(later, "allocs").empty())
        << "acknowledged alloc delivered again: " << json::serialize(later);
  }
  EXPECT_EQ(Str(DescribeEval(pool_id, eval_id), "state"), "placed");
}

TEST_F(ReceiveTest, CompletionAcknowledgesAndHeartbeatReportsUnknownAllocs) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::string other_id = RegisterWorker(pool_id, 4);
  ScheduleEval(pool_id, 4);
  ScheduleEval(pool_id, 4);  // one each: spread and capacity 4 leave no choice

  json::object mine = Receive(client(), pool_id, worker_id, 5);
  ASSERT_EQ(Arr(mine, "allocs").size(), 1u) << json::serialize(mine);
  std::string alloc_id = Str(Obj(Arr(mine, "allocs")[0]), "alloc_id");
  json::object theirs = Receive(client(), pool_id, other_id, 5);
  ASSERT_EQ(Arr(theirs, "allocs").size(), 1u) << json::serialize(theirs);
  std::string their_alloc = Str(Obj(Arr(theirs, "allocs")[0]), "alloc_id");

  Call("/CompleteAlloc", {{"pool_id", pool_id}, {"alloc_id", alloc_id}, {"exit_code", 0}});

  // Another worker's alloc, an ended one and a made-up one are all unknown to this worker,
  // and none of them fails the heartbeat.
  const std::string made_up = "ffffffffffffffffffff";
  json::object beat = Call("/SendHeartbeat", {{"pool_id", pool_id},
                                              {"worker_id", worker_id},
                                              {"allocs", {alloc_id, their_alloc, made_up}},
                                              {"datasets", json::array{}}});
  std::vector<std::string> unknown = Strings(Arr(beat, "unknown_allocs"));
  std::sort(unknown.begin(), unknown.end());
  std::vector<std::string> expected = {alloc_id, their_alloc, made_up};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(unknown, expected);

  // The completed alloc is never redelivered.
  Clock::time_point quiet_until = Clock::now() + milliseconds(2500);
  while (Clock::now() < quiet_until) {
    EXPECT_TRUE(Arr(Receive(client(), pool_id, worker_id, 1), "allocs").empty());
  }
}

TEST_F(ReceiveTest, MaxNumberOfMessagesBoundsABatch) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 10);
  std::set<std::string> scheduled;
  for (int i = 0; i < 5; ++i) scheduled.insert(ScheduleEval(pool_id, 2));
  ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
  ASSERT_EQ(Int(DescribePool(pool_id), "live_allocs"), 5);

  std::set<std::string> received;
  json::object two =
      Call("/ReceiveAllocs",
           {{"pool_id", pool_id}, {"worker_id", worker_id}, {"max_number_of_messages", 2}});
  EXPECT_EQ(Arr(two, "allocs").size(), 2u) << json::serialize(two);
  for (const json::value& a : Arr(two, "allocs")) received.insert(Str(Obj(a), "eval_id"));
  json::object rest =
      Call("/ReceiveAllocs",
           {{"pool_id", pool_id}, {"worker_id", worker_id}, {"max_number_of_messages", 100}});
  EXPECT_EQ(Arr(rest, "allocs").size(), 3u) << json::serialize(rest);
  for (const json::value& a : Arr(rest, "allocs")) received.insert(Str(Obj(a), "eval_id"));
  EXPECT_EQ(received, scheduled) << "each alloc delivered once across the two calls";
}

}  // namespace
}  // namespace line::testing
