// Placement and retry rules of SPEC as a client sees them through a real lined: exact dataset
// matching, spread and binpack, no head-of-line blocking, blocked evals woken by capacity,
// failed completions retried then dead-lettered, a disbanded pool's live allocs, and paging.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "testing/e2e.h"

namespace line::testing {
namespace {

using std::chrono::seconds;

class SchedulingTest : public LinedTest {
 protected:
  // The eval's worker once it is placed (bounded wait: placement is asynchronous).
  std::string PlacedOn(const std::string& pool_id, const std::string& eval_id) {
    json::object eval;
    bool placed = Eventually(
        [&] {
          eval = DescribeEval(pool_id, eval_id);
          return Str(eval, "state") == "placed";
        },
        seconds(10));
    EXPECT_TRUE(placed) << json::serialize(eval);
    return Str(eval, "worker_id");
  }

  json::object ReceiveOne(const std::string& pool_id, const std::string& worker_id) {
    json::object r =
        Call("/ReceiveAllocs",
             {{"pool_id", pool_id}, {"worker_id", worker_id}, {"wait_time_seconds", 5}});
    EXPECT_EQ(Arr(r, "allocs").size(), 1u) << json::serialize(r);
    if (Arr(r, "allocs").empty()) return {};
    return Obj(Arr(r, "allocs")[0]);
  }
};

TEST_F(SchedulingTest, DatasetsMatchExactlyNeverByPrefix) {
  std::string pool_id = CreatePool();
  std::string holds_d10 = RegisterWorker(pool_id, 20);  // most free: spread's choice
  std::string holds_d1 = RegisterWorker(pool_id, 5);
  Heartbeat(pool_id, holds_d10, {}, {"d10"});
  Heartbeat(pool_id, holds_d1, {}, {"d1"});

  std::string near_d1 = ScheduleEval(pool_id, 2, "d1");
  EXPECT_EQ(PlacedOn(pool_id, near_d1), holds_d1) << "locality beats spread";
  std::string near_d = ScheduleEval(pool_id, 2, "d");
  EXPECT_EQ(PlacedOn(pool_id, near_d), holds_d10) << "\"d\" is a prefix of both, held by neither";

  json::object hit = DescribeEval(pool_id, near_d1);
  EXPECT_TRUE(Bool(Obj(Arr(hit, "history")[0]), "locality"));
  json::object miss = DescribeEval(pool_id, near_d);
  EXPECT_FALSE(Bool(Obj(Arr(miss, "history")[0]), "locality"));
}

TEST_F(SchedulingTest, SpreadTakesTheMostFreeWorkerAndBinpackTheLeastSufficient) {
  std::string spread = CreatePool({{"placement", "spread"}});
  std::string spread_big = RegisterWorker(spread, 10);
  RegisterWorker(spread, 6);
  EXPECT_EQ(PlacedOn(spread, ScheduleEval(spread, 2)), spread_big);

  std::string binpack = CreatePool({{"placement", "binpack"}});
  RegisterWorker(binpack, 10);
  std::string binpack_small = RegisterWorker(binpack, 6);
  RegisterWorker(binpack, 1);  // fits nothing of size 2: not a candidate
  EXPECT_EQ(PlacedOn(binpack, ScheduleEval(binpack, 2)), binpack_small);
}

TEST_F(SchedulingTest, BlockedEvalDoesNotHoldBackOthersAndWakesOnCapacity) {
  std::string pool_id = CreatePool();
  std::string small = RegisterWorker(pool_id, 4);
  std::string big_eval = ScheduleEval(pool_id, 8);
  std::string small_eval = ScheduleEval(pool_id, 3);
  EXPECT_EQ(PlacedOn(pool_id, small_eval), small) << "the later eval that fits is placed";
  ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(Int(pool, "pending_evals"), 1);
  EXPECT_EQ(Int(pool, "blocked_evals"), 1);
  EXPECT_EQ(Str(DescribeEval(pool_id, big_eval), "state"), "pending");

  std::string large = RegisterWorker(pool_id, 8);
  EXPECT_EQ(PlacedOn(pool_id, big_eval), large) << "a new worker wakes the blocked eval";
  pool = DescribePool(pool_id);
  EXPECT_EQ(Int(pool, "pending_evals"), 0);
  EXPECT_EQ(Int(pool, "blocked_evals"), 0);
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));
}

TEST_F(SchedulingTest, FailedCompletionIsRetriedThenDeadLettered) {
  std::string pool_id = CreatePool({{"max_retry", 2}});
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::string eval_id = ScheduleEval(pool_id, 3, "", json::value{{"try", "me"}});

  json::object first = ReceiveOne(pool_id, worker_id);
  EXPECT_EQ(Int(first, "attempt"), 1);
  Call("/CompleteAlloc", {{"pool_id", pool_id},
                          {"alloc_id", Str(first, "alloc_id")},
                          {"worker_id", worker_id},
                          {"exit_code", 1},
                          {"result", "boom"},
                          {"failed", true}});
  json::object second = ReceiveOne(pool_id, worker_id);
  EXPECT_EQ(Str(second, "eval_id"), eval_id);
  EXPECT_EQ(Int(second, "attempt"), 2);
  json::object between = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(between, "exit_code"), 1) << "the latest completion shows, failed ones included";
  EXPECT_EQ(between.at("result"), "boom");

  Call("/CompleteAlloc", {{"pool_id", pool_id},
                          {"alloc_id", Str(second, "alloc_id")},
                          {"exit_code", 2},
                          {"result", "boom again"},
                          {"failed", true}});
  json::object dead = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Str(dead, "state"), "dead");
  EXPECT_EQ(Int(dead, "exit_code"), 2);
  EXPECT_EQ(dead.at("result"), "boom again");
  EXPECT_EQ(Arr(dead, "history").size(), 2u);
  json::object letters = Call("/ListDeadLetters", {{"pool_id", pool_id}});
  ASSERT_EQ(Arr(letters, "dead_letters").size(), 1u) << json::serialize(letters);
  EXPECT_EQ(Int(Obj(Arr(letters, "dead_letters")[0]), "attempts"), 2);
  EXPECT_EQ(Obj(Arr(letters, "dead_letters")[0]).at("payload"), (json::value{{"try", "me"}}));
  EXPECT_EQ(Int(DescribeWorker(pool_id, worker_id), "free"), 4);
}

TEST_F(SchedulingTest, DisbandedPoolsLiveAllocsRunToTheirEndButAreNotPlacedAgain) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::string finishes = ScheduleEval(pool_id, 2);
  std::string fails = ScheduleEval(pool_id, 2);
  std::map<std::string, json::object> by_eval;  // both allocs, whichever call brings them
  ASSERT_TRUE(Eventually(
      [&] {
        json::object r =
            Call("/ReceiveAllocs",
                 {{"pool_id", pool_id}, {"worker_id", worker_id}, {"wait_time_seconds", 1}});
        for (const json::value& alloc : Arr(r, "allocs")) {
          by_eval[Str(Obj(alloc), "eval_id")] = Obj(alloc);
        }
        return by_eval.size() == 2;
      },
      seconds(10)));
  const json::object& a = by_eval[finishes];
  const json::object& b = by_eval[fails];

  Call("/DisbandPool", {{"pool_id", pool_id}});
  json::object beat = Call("/SendHeartbeat", {{"pool_id", pool_id},
                                              {"worker_id", worker_id},
                                              {"allocs", {Str(a, "alloc_id"), Str(b, "alloc_id")}},
                                              {"datasets", json::array{}}});
  EXPECT_TRUE(Arr(beat, "unknown_allocs").empty()) << "live allocs may still be heart-beaten";
  Call("/CompleteAlloc",
       {{"pool_id", pool_id}, {"alloc_id", Str(a, "alloc_id")}, {"exit_code", 0}});
  Call(
      "/CompleteAlloc",
      {{"pool_id", pool_id}, {"alloc_id", Str(b, "alloc_id")}, {"exit_code", 1}, {"failed", true}});

  EXPECT_EQ(Str(DescribeEval(pool_id, finishes), "state"), "completed");
  EXPECT_EQ(Str(DescribeEval(pool_id, fails), "state"), "dead")
      << "a disbanded pool does not place an eval again";
  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(Int(pool, "pending_evals"), 0);
  EXPECT_EQ(Int(pool, "live_allocs"), 0);
  EXPECT_EQ(Int(pool, "free"), 4);
}

TEST_F(SchedulingTest, ListsPageWithNextToken) {
  std::string pool_id = CreatePool();
  std::set<std::string> registered;
  for (int i = 0; i < 5; ++i) registered.insert(RegisterWorker(pool_id, 1 + i));

  json::object page = Call("/ListWorkers", {{"pool_id", pool_id}, {"max_results", 2}});
  EXPECT_EQ(Arr(page, "workers").size(), 2u);
  EXPECT_FALSE(Str(page, "next_token").empty()) << "more remain";
  Result<std::vector<json::object>> all =
      ListAll(client(), "/ListWorkers", {{"pool_id", pool_id}}, "workers", /*page_size=*/2);
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::set<std::string> listed;
  for (const json::object& w : *all) listed.insert(Str(w, "worker_id"));
  EXPECT_EQ(all->size(), 5u);
  EXPECT_EQ(listed, registered);
  json::object everything = Call("/ListWorkers", {{"pool_id", pool_id}, {"max_results", 1000}});
  EXPECT_EQ(Arr(everything, "workers").size(), 5u);
  const json::value* token = everything.if_contains("next_token");
  EXPECT_TRUE(token == nullptr || token->is_null() || token->as_string().empty())
      << "no next_token when nothing remains: " << json::serialize(everything);

  Result<std::vector<json::object>> pools = ListAll(client(), "/ListPools", {}, "pools");
  ASSERT_TRUE(pools.ok()) << pools.status().message();
  bool found = false;
  for (const json::object& p : *pools) {
    if (Str(p, "pool_id") == pool_id) {
      found = true;
      EXPECT_EQ(Int(p, "workers"), 5);
      EXPECT_EQ(Int(p, "capacity"), 15);
    }
  }
  EXPECT_TRUE(found) << "ListPools misses " << pool_id;
}

}  // namespace
}  // namespace line::testing
