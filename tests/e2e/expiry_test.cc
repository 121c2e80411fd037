// Expiry, retries and dead letters through the real process with short TTLs. Waiting on real
// time is inherent here (lined runs on the system clock); every wait polls with a deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "testing/e2e.h"
#include "testing/simulated_worker.h"

namespace line::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ExpiryTest : public LinedTest {
 protected:
  LinedOptions Options() override {
    LinedOptions options;
    // A worker TTL of 2 s leaves a heart-beating worker room for a slow ASan build on busy
    // cores; allocs expire after 1 s unless the pool says otherwise.
    options.env["LINE_WORKER_TTL"] = "2";
    options.env["LINE_REPLICA_TTL"] = "2";
    options.env["LINE_ALLOC_TTL"] = "1";
    options.env["LINE_POOL_TTL"] = "1";
    return options;
  }

  // A worker kept alive by a background heartbeat every 200 ms, receiving nothing itself.
  std::unique_ptr<SimulatedWorker> KeepAlive(const std::string& pool_id,
                                             const std::string& worker_id) {
    SimulatedWorkerOptions options;
    options.pool_id = pool_id;
    options.worker_id = worker_id;
    options.receive = false;
    options.heartbeat_interval = milliseconds(200);
    return std::make_unique<SimulatedWorker>(lined_->port(), options);
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

TEST_F(ExpiryTest, SilentWorkerDiesAndItsEvalRunsElsewhereAsAttemptTwo) {
  // Long alloc TTL: only the worker's death may end the first alloc.
  std::string pool_id = CreatePool({{"alloc_ttl", 30}});
  std::string doomed = RegisterWorker(pool_id, 4);
  Heartbeat(pool_id, doomed, {}, {"d1"});
  std::string eval_id = ScheduleEval(pool_id, 3, "d1", json::value{{"job", "x"}});
  json::object first = ReceiveOne(pool_id, doomed);
  std::string first_alloc = Str(first, "alloc_id");
  EXPECT_EQ(Int(first, "attempt"), 1);

  std::string survivor = RegisterWorker(pool_id, 4);
  std::unique_ptr<SimulatedWorker> beating = KeepAlive(pool_id, survivor);

  // The doomed worker falls silent; within its TTL plus a sweep its eval moves.
  json::object eval;
  ASSERT_TRUE(Eventually(
      [&] {
        eval = DescribeEval(pool_id, eval_id);
        return Str(eval, "worker_id") == survivor;
      },
      seconds(10)))
      << "eval never moved off the silent worker: " << json::serialize(eval);
  EXPECT_EQ(Str(eval, "state"), "placed");
  EXPECT_EQ(Int(eval, "attempt"), 2);
  json::object second = ReceiveOne(pool_id, survivor);
  beating->Hold(Str(second, "alloc_id"));
  EXPECT_EQ(Str(second, "eval_id"), eval_id);
  EXPECT_EQ(Int(second, "attempt"), 2);
  EXPECT_EQ(second.at("payload"), (json::value{{"job", "x"}}));

  const json::array& history = Arr(eval, "history");
  ASSERT_EQ(history.size(), 2u) << json::serialize(eval);
  EXPECT_EQ(Str(Obj(history[0]), "alloc_id"), first_alloc);
  EXPECT_EQ(Str(Obj(history[0]), "worker_id"), doomed);
  EXPECT_TRUE(Bool(Obj(history[0]), "locality"));
  EXPECT_GT(Int(Obj(history[0]), "ended"), 0);
  EXPECT_FALSE(Str(Obj(history[0]), "reason").empty());
  EXPECT_EQ(Str(Obj(history[1]), "worker_id"), survivor);
  EXPECT_FALSE(Bool(Obj(history[1]), "locality")) << "the survivor never held d1";

  json::object expired = Call("/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", first_alloc}});
  EXPECT_EQ(Str(expired, "state"), "expired");
  HttpResponse gone =
      client().Post("/DescribeWorker", json::value{{"pool_id", pool_id}, {"worker_id", doomed}});
  EXPECT_EQ(gone.status, 404) << gone.Describe();
  EXPECT_EQ(gone.Code(), "WorkerNotFound");
  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(Int(pool, "workers"), 1);
  EXPECT_EQ(Int(pool, "free"), 1);
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));
}

TEST_F(ExpiryTest, EvalIsDeadLetteredAfterMaxRetryAndRedriven) {
  std::string pool_id = CreatePool({{"max_retry", 2}});
  json::object described = DescribePool(pool_id);
  EXPECT_EQ(Int(described, "alloc_ttl"), 1) << "LINE_ALLOC_TTL is the pool's default";
  EXPECT_EQ(Int(described, "max_retry"), 2);
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::unique_ptr<SimulatedWorker> beating = KeepAlive(pool_id, worker_id);

  // The worker stays alive but never lists the allocs: each expires after 1 s.
  json::value payload = {{"job", 7}};
  std::string doomed = ScheduleEval(pool_id, 2, "d9", payload);
  std::string also_doomed = ScheduleEval(pool_id, 1);
  ASSERT_TRUE(
      Eventually([&] { return Int(DescribePool(pool_id), "dead_letters") == 2; }, seconds(15)))
      << json::serialize(DescribePool(pool_id));

  json::object eval = DescribeEval(pool_id, doomed);
  EXPECT_EQ(Str(eval, "state"), "dead");
  EXPECT_EQ(Arr(eval, "history").size(), 2u) << "placed max_retry times: " << json::serialize(eval);
  Result<std::vector<json::object>> letters =
      ListAll(client(), "/ListDeadLetters", {{"pool_id", pool_id}}, "dead_letters");
  ASSERT_TRUE(letters.ok()) << letters.status().message();
  ASSERT_EQ(letters->size(), 2u);
  const json::object* letter = nullptr;
  for (const json::object& l : *letters) {
    if (Str(l, "eval_id") == doomed) letter = &l;
  }
  ASSERT_NE(letter, nullptr) << "no dead letter for " << doomed;
  EXPECT_EQ(Str(*letter, "pool_id"), pool_id);
  EXPECT_EQ(Str(*letter, "dataset_id"), "d9");
  EXPECT_EQ(Int(*letter, "size"), 2);
  EXPECT_EQ(letter->at("payload"), payload);
  EXPECT_EQ(Int(*letter, "attempts"), 2);
  EXPECT_FALSE(Str(*letter, "reason").empty());
  EXPECT_EQ(Int(DescribeWorker(pool_id, worker_id), "free"), 4) << "expiry returned capacity";

  // Redrive one by id: it runs again from attempt 1.
  json::object redriven =
      Call("/RedriveDeadLetters", {{"pool_id", pool_id}, {"eval_ids", {doomed}}});
  EXPECT_EQ(Int(redriven, "redriven"), 1);
  json::object alloc = ReceiveOne(pool_id, worker_id);
  beating->Hold(Str(alloc, "alloc_id"));
  EXPECT_EQ(Str(alloc, "eval_id"), doomed);
  EXPECT_EQ(Int(alloc, "attempt"), 1) << "attempts are reset by a redrive";
  eval = DescribeEval(pool_id, doomed);
  EXPECT_EQ(Str(eval, "state"), "placed");
  EXPECT_EQ(Int(eval, "attempt"), 1);

  // Redrive without ids takes the rest.
  EXPECT_EQ(Int(Call("/RedriveDeadLetters", {{"pool_id", pool_id}}), "redriven"), 1);
  std::string state = Str(DescribeEval(pool_id, also_doomed), "state");
  EXPECT_TRUE(state == "pending" || state == "placed") << state;
  EXPECT_EQ(Int(DescribePool(pool_id), "dead_letters"), 0);
  EXPECT_TRUE(Arr(Call("/ListDeadLetters", {{"pool_id", pool_id}}), "dead_letters").empty());
}

TEST_F(ExpiryTest, HeartbeatListingAnAllocKeepsItAlive) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::unique_ptr<SimulatedWorker> beating = KeepAlive(pool_id, worker_id);
  std::string eval_id = ScheduleEval(pool_id, 2);
  std::string alloc_id = Str(ReceiveOne(pool_id, worker_id), "alloc_id");
  beating->Hold(alloc_id);

  // Three alloc TTLs later it is still the same live alloc. Asserting that something does not
  // happen over time takes that time.
  std::this_thread::sleep_for(seconds(3));
  json::object alloc = Call("/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", alloc_id}});
  EXPECT_EQ(Str(alloc, "state"), "live");
  json::object eval = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(eval, "attempt"), 1);
  EXPECT_EQ(Str(eval, "alloc_id"), alloc_id);
}

TEST_F(ExpiryTest, DeregisteredWorkersAllocIsPlacedAgainAndDrainedWorkerGetsNothing) {
  std::string pool_id = CreatePool({{"alloc_ttl", 30}});
  std::string leaving = RegisterWorker(pool_id, 4);
  std::unique_ptr<SimulatedWorker> beat_leaving = KeepAlive(pool_id, leaving);
  std::string eval_id = ScheduleEval(pool_id, 2);
  std::string first_alloc = Str(ReceiveOne(pool_id, leaving), "alloc_id");

  std::string drained = RegisterWorker(pool_id, 8);
  Call("/DrainWorker", {{"pool_id", pool_id}, {"worker_id", drained}});
  EXPECT_TRUE(Bool(DescribeWorker(pool_id, drained), "draining"));
  std::string stays = RegisterWorker(pool_id, 2);
  std::unique_ptr<SimulatedWorker> beat_drained = KeepAlive(pool_id, drained);
  std::unique_ptr<SimulatedWorker> beat_stays = KeepAlive(pool_id, stays);

  beat_leaving->Stop();
  Call("/DeregisterWorker", {{"pool_id", pool_id}, {"worker_id", leaving}});
  json::object moved = ReceiveOne(pool_id, stays);
  EXPECT_EQ(Str(moved, "eval_id"), eval_id);
  EXPECT_EQ(Int(moved, "attempt"), 2);
  EXPECT_EQ(Str(Call("/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", first_alloc}}), "state"),
            "expired");
  EXPECT_EQ(Int(DescribeWorker(pool_id, drained), "free"), 8) << "a draining worker gets nothing";
}

TEST_F(ExpiryTest, DisbandedPoolIsReadableUntilPoolTtlThenEveryCallIs404) {
  std::string pool_id = CreatePool({{"alloc_ttl", 30}});
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::unique_ptr<SimulatedWorker> beating = KeepAlive(pool_id, worker_id);
  std::string eval_id = ScheduleEval(pool_id, 2);
  std::string alloc_id = Str(ReceiveOne(pool_id, worker_id), "alloc_id");

  Call("/DisbandPool", {{"pool_id", pool_id}});
  EXPECT_TRUE(Bool(DescribePool(pool_id), "disbanded")) << "reads answer until POOL_TTL";
  EXPECT_EQ(Str(DescribeEval(pool_id, eval_id), "state"), "placed");

  HttpResponse last;
  EXPECT_TRUE(Eventually(
      [&] {
        last = client().Post("/DescribePool", json::value{{"pool_id", pool_id}});
        return last.status == 404;
      },
      seconds(10)))
      << "disbanded pool still there after LINE_POOL_TTL=1: " << last.Describe();
  EXPECT_EQ(last.Code(), "PoolNotFound");
  for (const auto& [path, request] : std::vector<std::pair<std::string, json::value>>{
           {"/DescribeEval", {{"pool_id", pool_id}, {"eval_id", eval_id}}},
           {"/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", alloc_id}}},
           {"/DescribeWorker", {{"pool_id", pool_id}, {"worker_id", worker_id}}},
           {"/CompleteAlloc", {{"pool_id", pool_id}, {"alloc_id", alloc_id}}},
           {"/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 1}}},
           {"/ScheduleEval", {{"pool_id", pool_id}, {"size", 1}}},
           {"/ListEvals", {{"pool_id", pool_id}}},
           {"/DisbandPool", {{"pool_id", pool_id}}}}) {
    HttpResponse r = client().Post(path, request);
    EXPECT_EQ(r.status, 404) << path << " on a deleted pool -> " << r.Describe();
  }
  Result<std::vector<json::object>> pools = ListAll(client(), "/ListPools", {}, "pools");
  ASSERT_TRUE(pools.ok()) << pools.status().message();
  for (const json::object& p : *pools) EXPECT_NE(Str(p, "pool_id"), pool_id);
}

}  // namespace
}  // namespace line::testing
