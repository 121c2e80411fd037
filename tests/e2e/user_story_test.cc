// The original system's user story, end to end against a real lined over HTTP: a pool, a
// worker holding dataset d1, one eval placed near it, received, heart-beaten, completed, and
// the pool disbanded.
#include <gtest/gtest.h>

#include "testing/e2e.h"

namespace line::testing {
namespace {

class UserStoryTest : public LinedTest {};

TEST_F(UserStoryTest, EvalIsPlacedNearItsDatasetRunAndCompleted) {
  std::string pool_id = CreatePool();
  ASSERT_EQ(pool_id.size(), 24u) << "generated ids are 24 hex characters";

  json::object worker = Call("/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 10}});
  std::string worker_id = Str(worker, "worker_id");
  ASSERT_EQ(worker_id.size(), 24u);
  EXPECT_EQ(Str(worker, "pool_id"), pool_id);
  EXPECT_EQ(Int(worker, "capacity"), 10);
  EXPECT_EQ(Str(worker, "queue_url"), "line-" + pool_id + "-" + worker_id);
  EXPECT_EQ(Int(worker, "worker_ttl"), 30);
  EXPECT_EQ(Int(worker, "replica_ttl"), 60);
  EXPECT_EQ(Int(worker, "alloc_ttl"), 30);

  json::object beat = Call("/SendHeartbeat", {{"pool_id", pool_id},
                                              {"worker_id", worker_id},
                                              {"allocs", json::array{}},
                                              {"datasets", {"d1"}}});
  EXPECT_TRUE(Arr(beat, "unknown_allocs").empty());

  json::value payload = {{"command", "train"}, {"epochs", 3}};
  std::string eval_id = ScheduleEval(pool_id, 3, "d1", payload);
  ASSERT_EQ(eval_id.size(), 24u);

  json::object received = Call("/ReceiveAllocs", {{"pool_id", pool_id},
                                                  {"worker_id", worker_id},
                                                  {"max_number_of_messages", 10},
                                                  {"wait_time_seconds", 5}});
  const json::array& allocs = Arr(received, "allocs");
  ASSERT_EQ(allocs.size(), 1u) << json::serialize(received);
  const json::object& alloc = Obj(allocs[0]);
  std::string alloc_id = Str(alloc, "alloc_id");
  EXPECT_EQ(alloc_id.size(), 24u);
  EXPECT_EQ(Str(alloc, "pool_id"), pool_id);
  EXPECT_EQ(Str(alloc, "worker_id"), worker_id);
  EXPECT_EQ(Str(alloc, "eval_id"), eval_id);
  EXPECT_EQ(Str(alloc, "dataset_id"), "d1");
  EXPECT_EQ(Int(alloc, "size"), 3);
  EXPECT_EQ(alloc.at("payload"), payload);
  EXPECT_EQ(Int(alloc, "attempt"), 1);

  json::object busy = DescribeWorker(pool_id, worker_id);
  EXPECT_EQ(Int(busy, "free"), 7);
  EXPECT_EQ(Strings(Arr(busy, "allocs")), std::vector<std::string>{alloc_id});
  EXPECT_EQ(Strings(Arr(busy, "datasets")), std::vector<std::string>{"d1"});
  json::object placed = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Str(placed, "state"), "placed");
  EXPECT_EQ(Str(placed, "alloc_id"), alloc_id);
  EXPECT_EQ(Str(placed, "worker_id"), worker_id);

  beat = Call("/SendHeartbeat", {{"pool_id", pool_id},
                                 {"worker_id", worker_id},
                                 {"allocs", {alloc_id}},
                                 {"datasets", {"d1"}}});
  EXPECT_TRUE(Arr(beat, "unknown_allocs").empty()) << json::serialize(beat);

  json::value result = {{"accuracy", 0.5}, {"files", {"a", "b"}}};
  Call("/CompleteAlloc", {{"pool_id", pool_id},
                          {"alloc_id", alloc_id},
                          {"worker_id", worker_id},
                          {"exit_code", 0},
                          {"result", result}});

  json::object done = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Str(done, "state"), "completed");
  EXPECT_EQ(Str(done, "dataset_id"), "d1");
  EXPECT_EQ(Int(done, "size"), 3);
  EXPECT_EQ(Int(done, "attempt"), 1);
  EXPECT_EQ(done.at("payload"), payload);
  EXPECT_EQ(Int(done, "exit_code"), 0);
  EXPECT_EQ(done.at("result"), result);
  const json::array& history = Arr(done, "history");
  ASSERT_EQ(history.size(), 1u) << json::serialize(done);
  const json::object& entry = Obj(history[0]);
  EXPECT_EQ(Str(entry, "alloc_id"), alloc_id);
  EXPECT_EQ(Str(entry, "worker_id"), worker_id);
  EXPECT_TRUE(Bool(entry, "locality")) << "the only worker holds d1";
  EXPECT_GT(Int(entry, "ended"), 1'600'000'000) << "Unix seconds";
  EXPECT_FALSE(Str(entry, "reason").empty()) << json::serialize(entry);

  json::object alloc_after = Call("/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", alloc_id}});
  EXPECT_EQ(Str(alloc_after, "state"), "completed");
  EXPECT_TRUE(Bool(alloc_after, "locality"));

  json::object idle = DescribeWorker(pool_id, worker_id);
  EXPECT_EQ(Int(idle, "free"), 10);
  EXPECT_TRUE(Arr(idle, "allocs").empty());
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));

  HttpResponse disband = client().Post("/DisbandPool", json::value{{"pool_id", pool_id}});
  EXPECT_EQ(disband.status, 200) << disband.Describe();

  HttpResponse refused = client().Post(
      "/ScheduleEval", json::value{{"pool_id", pool_id}, {"dataset_id", "d1"}, {"size", 3}});
  EXPECT_EQ(refused.status, 409) << refused.Describe();
  EXPECT_EQ(refused.Code(), "PoolDisbanded");

  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(Str(pool, "pool_id"), pool_id);
  EXPECT_TRUE(Bool(pool, "disbanded"));
  EXPECT_EQ(Int(pool, "pending_evals"), 0);
  EXPECT_EQ(Int(pool, "live_allocs"), 0);
}

}  // namespace
}  // namespace line::testing
