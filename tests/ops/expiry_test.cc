// Expiry on a manual clock, with no sleeps: allocs, workers, replicas and disbanded pools
// expire as SPEC says, and evals are retried, dead-lettered and redriven. (A heartbeat renews a
// worker or a replica to a deadline rounded up to a step, scheduler/renewal.h: never earlier.)
#include <algorithm>

#include "engine_fixture.h"

namespace line::testing {
namespace {

class ExpiryTest : public EngineTest {};

TEST_F(ExpiryTest, ExpiredAllocIsPlacedAgainAsTheNextAttempt) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  std::string eval = Submit(pool, 3);
  EvalDescription first = EvalOf(pool, eval);
  ASSERT_EQ(first.state, "placed");
  EXPECT_EQ(first.attempt, 1);

  // One millisecond before the alloc's TTL nothing happens; at the TTL it expires.
  clock_.Advance(options_.alloc_ttl * 1000 - 1);
  ASSERT_TRUE(Heartbeat(pool, worker).ok());  // keeps the worker, not the alloc
  Sweep();
  EXPECT_EQ(EvalOf(pool, eval).alloc_id, first.alloc_id);
  clock_.Advance(1);
  Sweep();

  EvalDescription second = EvalOf(pool, eval);
  EXPECT_EQ(second.state, "placed");
  EXPECT_EQ(second.attempt, 2);
  EXPECT_NE(second.alloc_id, first.alloc_id);
  ASSERT_EQ(second.history.size(), 2u);
  EXPECT_EQ(second.history[0].reason, "expired");
  EXPECT_TRUE(second.history[0].ended.has_value());
  EXPECT_FALSE(second.history[1].ended.has_value());
  EXPECT_EQ(WorkerOf(pool, worker).free, 7);  // the old claim came back, the new one holds
  ExpectCapacityInvariant(pool);
}

TEST_F(ExpiryTest, EvalIsDeadLetteredAfterMaxRetryThenRedriven) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  ScheduleEvalRequest req;
  req.pool_id = pool;
  req.eval.size = 4;
  req.eval.dataset_id = "d1";
  req.eval.payload = R"({"job":7})";
  auto submitted = Call(&Service::ScheduleEval, req);
  ASSERT_TRUE(submitted.ok());
  std::string eval = submitted->eval_id;
  Settle();

  for (int attempt = 1; attempt <= 3; ++attempt) {
    EXPECT_EQ(EvalOf(pool, eval).state, "placed") << "attempt " << attempt;
    EXPECT_EQ(EvalOf(pool, eval).attempt, attempt);
    clock_.Advance(options_.alloc_ttl * 1000);
    ASSERT_TRUE(Heartbeat(pool, worker).ok());
    Sweep();
  }
  EvalDescription dead = EvalOf(pool, eval);
  EXPECT_EQ(dead.state, "dead");
  EXPECT_EQ(WorkerOf(pool, worker).free, 10);
  EXPECT_EQ(PoolOf(pool).dead_letters, 1);

  auto letters = Call(&Service::ListDeadLetters, PoolRequest{pool, {}});
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->dead_letters.size(), 1u);
  const DeadLetterDescription& letter = letters->dead_letters[0];
  EXPECT_EQ(letter.pool_id, pool);
  EXPECT_EQ(letter.eval_id, eval);
  EXPECT_EQ(letter.dataset_id, "d1");
  EXPECT_EQ(letter.size, 4);
  EXPECT_EQ(letter.payload, R"({"job":7})");
  EXPECT_EQ(letter.attempts, 3);
  EXPECT_NE(letter.reason.find("expired"), std::string::npos) << letter.reason;

  auto redriven = Call(&Service::RedriveDeadLetters, RedriveRequest{pool, std::nullopt});
  ASSERT_TRUE(redriven.ok());
  EXPECT_EQ(redriven->redriven, 1);
  Settle();
  EvalDescription again = EvalOf(pool, eval);
  EXPECT_EQ(again.state, "placed");
  EXPECT_EQ(again.attempt, 1);  // attempts reset
  EXPECT_EQ(PoolOf(pool).dead_letters, 0);
  ExpectCapacityInvariant(pool);
}

TEST_F(ExpiryTest, DeadWorkerTakesItsAllocsWithItInTheSameStep) {
  options_.worker_ttl = 10;
  StopEngine();
  StartEngine();
  std::string pool = NewPool(PlacementPolicy::kBinpack);
  std::string doomed = NewWorker(pool, 5);
  std::string eval = Submit(pool, 5);
  ASSERT_EQ(EvalOf(pool, eval).worker_id, doomed);

  clock_.Advance(5'000);
  std::string survivor = NewWorker(pool, 5);  // registered later: lives longer
  clock_.Advance(5'000);  // doomed's TTL passes; its alloc's (30 s) has not
  Sweep();

  auto gone = Call(&Service::DescribeWorker, WorkerRequest{pool, doomed});
  EXPECT_EQ(gone.status().code(), Code::kWorkerNotFound);
  EvalDescription moved = EvalOf(pool, eval);
  EXPECT_EQ(moved.state, "placed");
  EXPECT_EQ(moved.worker_id, survivor);
  EXPECT_EQ(moved.attempt, 2);
  ASSERT_EQ(moved.history.size(), 2u);
  EXPECT_EQ(moved.history[0].reason, "worker expired");
  EXPECT_EQ(PoolOf(pool).workers, 1);
  ExpectCapacityInvariant(pool);
}

// A worker that goes silent after a heartbeat listing its alloc, with equal worker and alloc
// TTLs: both deadlines come from the same heartbeat in the same steps, so the alloc does not
// expire on its own a step before its worker, and its eval's history says "worker expired".
// (Found by a clean-clone CI run, with alloc renewals exact and worker renewals in steps.)
TEST_F(ExpiryTest, ASilentWorkerAndItsHeartbeatedAllocExpireTogether) {
  options_.worker_ttl = 10;
  options_.alloc_ttl = 10;
  StopEngine();
  StartEngine();
  std::string pool = NewPool();
  std::string doomed = NewWorker(pool, 5);
  std::string eval = Submit(pool, 5);
  ASSERT_EQ(EvalOf(pool, eval).worker_id, doomed);
  clock_.Advance(1'234);  // off any step boundary
  ASSERT_TRUE(Heartbeat(pool, doomed, {}, {EvalOf(pool, eval).alloc_id}).ok());

  clock_.Advance(10'000 + 1);  // past both exact TTLs, within the step
  Sweep();
  EXPECT_EQ(EvalOf(pool, eval).worker_id, doomed) << "the alloc expired before its worker";
  std::string survivor = NewWorker(pool, 5);
  clock_.Advance(1'000);  // past the step too
  Sweep();
  EvalDescription moved = EvalOf(pool, eval);
  EXPECT_EQ(moved.worker_id, survivor);
  ASSERT_EQ(moved.history.size(), 2u);
  EXPECT_EQ(moved.history[0].reason, "worker expired");
  ExpectCapacityInvariant(pool);
}

// A heartbeat keeps its worker for at least WORKER_TTL and at most one renewal step (a tenth of
// the TTL, at most 5 s) longer; a later heartbeat inside the step keeps the same deadline.
TEST_F(ExpiryTest, AHeartbeatKeepsItsWorkerAtLeastTheTtlAndAtMostAStepLonger) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  clock_.Advance(1'234);  // off any step boundary
  const TimeMs beat = clock_.NowMs();
  ASSERT_TRUE(Heartbeat(pool, worker).ok());
  const int64_t ttl_ms = options_.worker_ttl * 1000;
  const int64_t step_ms = std::min<int64_t>(ttl_ms / 10, 5'000);
  const int64_t deadline_s = WorkerOf(pool, worker).ttl;
  EXPECT_GE(deadline_s * 1000, beat + ttl_ms);
  EXPECT_LE(deadline_s * 1000, beat + ttl_ms + step_ms);
  clock_.Advance(1'000);
  ASSERT_TRUE(Heartbeat(pool, worker).ok());
  EXPECT_EQ(WorkerOf(pool, worker).ttl, deadline_s) << "within the same step, the same deadline";

  clock_.Advance(ttl_ms - 1'000 - 1);  // 1 ms before the first heartbeat's exact TTL
  Sweep();
  EXPECT_EQ(PoolOf(pool).workers, 1);
  clock_.Advance(step_ms + 1);  // past the exact TTL by a whole step
  Sweep();
  EXPECT_EQ(PoolOf(pool).workers, 0);
}

// Heartbeats inside one renewal step write nothing: neither the worker's row nor the rows of
// the replicas they list (the point of the steps: no row or TTL-index rewrite per heartbeat).
TEST_F(ExpiryTest, HeartbeatsWithinOneStepRewriteNoRow) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  clock_.Advance(1);  // just past a step boundary: the next 5 s are one step
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());  // moves both deadlines to a step
  ExecSql(
      "CREATE TABLE rewrites(n INTEGER NOT NULL); INSERT INTO rewrites VALUES (0);"
      // A commit writes a changed row whole (INSERT OR REPLACE): count the inserts.
      "CREATE TRIGGER worker_rewrites AFTER INSERT ON workers "
      "BEGIN UPDATE rewrites SET n = n + 1; END;"
      "CREATE TRIGGER replica_rewrites AFTER INSERT ON replicas "
      "BEGIN UPDATE rewrites SET n = n + 1; END;");
  clock_.Advance(1'000);  // well inside the 5 s step of both TTLs (100 s and 60 s here)
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  clock_.Advance(1'000);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  EXPECT_EQ(ExecSql("SELECT n FROM rewrites"), "0");
  EXPECT_EQ(WorkerOf(pool, worker).datasets, std::vector<std::string>{"d1"});

  clock_.Advance(5'000);  // the next step: one rewrite of each
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  EXPECT_EQ(ExecSql("SELECT n FROM rewrites"), "2");
}

// With the default TTLs (worker 30 s, step 3 s; replica 60 s) a replica renews in its
// worker's step, so both deadlines move at the same heartbeats: one heartbeat a second writes
// both rows every third second, and nothing in between.
TEST_F(ExpiryTest, AReplicaMovesAtTheSameHeartbeatsAsItsWorker) {
  options_.worker_ttl = 30;
  options_.replica_ttl = 60;
  StopEngine();
  StartEngine();
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  ExecSql(
      "CREATE TABLE rewrites(what TEXT NOT NULL);"
      "CREATE TRIGGER worker_rewrites AFTER INSERT ON workers "
      "BEGIN INSERT INTO rewrites VALUES ('worker'); END;"
      "CREATE TRIGGER replica_rewrites AFTER INSERT ON replicas "
      "BEGIN INSERT INTO rewrites VALUES ('replica'); END;");
  int writing_heartbeats = 0;
  for (int second = 1; second <= 15; ++second) {
    clock_.Advance(1'000);
    const std::string before = ExecSql("SELECT count(*) FROM rewrites");
    ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
    const int64_t workers = std::stoll(ExecSql(
        "SELECT count(*) FROM rewrites WHERE what = 'worker'"));
    const int64_t replicas = std::stoll(ExecSql(
        "SELECT count(*) FROM rewrites WHERE what = 'replica'"));
    EXPECT_EQ(workers, replicas) << "after the heartbeat of second " << second;
    if (ExecSql("SELECT count(*) FROM rewrites") != before) ++writing_heartbeats;
  }
  EXPECT_EQ(writing_heartbeats, 5) << "one heartbeat in three writes";
  // Both rounded from the same instant: 30 s apart, the replica's never early and at most
  // one 3 s step late.
  const int64_t replica_ttl = std::stoll(ExecSql("SELECT ttl FROM replicas"));
  const int64_t worker_ttl = std::stoll(ExecSql("SELECT ttl FROM workers"));
  EXPECT_EQ(replica_ttl - worker_ttl, 30'000);
  EXPECT_GE(replica_ttl, clock_.NowMs() + 60'000);
  EXPECT_LT(replica_ttl, clock_.NowMs() + 63'000);
}

TEST_F(ExpiryTest, ReplicaExpiresWithoutHeartbeatsListingIt) {
  options_.replica_ttl = 5;
  StopEngine();
  StartEngine();
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1", "d2"}).ok());
  clock_.Advance(3'000);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d2"}).ok());  // d1 no longer listed
  clock_.Advance(2'000);
  Sweep();
  EXPECT_EQ(WorkerOf(pool, worker).datasets, std::vector<std::string>{"d2"});

  std::string on_d1 = Submit(pool, 1, "d1");
  ASSERT_EQ(EvalOf(pool, on_d1).history.size(), 1u);
  EXPECT_FALSE(EvalOf(pool, on_d1).history[0].locality);
  std::string on_d2 = Submit(pool, 1, "d2");
  EXPECT_TRUE(EvalOf(pool, on_d2).history[0].locality);
}

TEST_F(ExpiryTest, DisbandedPoolIsDeletedAfterPoolTtl) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 2);
  std::string placed = Submit(pool, 2);
  std::string pending = Submit(pool, 2);  // blocked: no room
  ASSERT_EQ(EvalOf(pool, pending).state, "pending");

  ASSERT_TRUE(Call(&Service::DisbandPool, PoolRequest{pool, {}}).ok());
  ASSERT_TRUE(Call(&Service::DisbandPool, PoolRequest{pool, {}}).ok());  // no-op
  EXPECT_EQ(EvalOf(pool, pending).state, "dead");
  EXPECT_TRUE(PoolOf(pool).disbanded);
  ScheduleEvalRequest late;
  late.pool_id = pool;
  late.eval.size = 1;
  EXPECT_EQ(Call(&Service::ScheduleEval, late).status().code(), Code::kPoolDisbanded);
  EXPECT_EQ(Call(&Service::RegisterWorker, RegisterWorkerRequest{pool, 1}).status().code(),
            Code::kPoolDisbanded);

  // Its live alloc may still be heart-beaten and completed; its eval is not placed again.
  std::string alloc = EvalOf(pool, placed).alloc_id;
  ASSERT_TRUE(Heartbeat(pool, worker, {}, {alloc}).ok());
  CompleteAllocRequest done;
  done.pool_id = pool;
  done.alloc_id = alloc;
  done.exit_code = 0;
  ASSERT_TRUE(Call(&Service::CompleteAlloc, done).ok());
  EXPECT_EQ(EvalOf(pool, placed).state, "completed");

  clock_.Advance(options_.pool_ttl * 1000 - 1);
  Sweep();
  EXPECT_TRUE(Call(&Service::DescribePool, PoolRequest{pool, {}}).ok());
  clock_.Advance(1);
  Sweep();
  EXPECT_EQ(Call(&Service::DescribePool, PoolRequest{pool, {}}).status().code(),
            Code::kPoolNotFound);
  EXPECT_EQ(Call(&Service::DescribeEval, EvalRequest{pool, placed}).status().code(),
            Code::kPoolNotFound);
}

TEST_F(ExpiryTest, HeartbeatListingAnAllocKeepsItAlive) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  std::string eval = Submit(pool, 3);
  std::string alloc = EvalOf(pool, eval).alloc_id;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(20'000);
    ASSERT_TRUE(Heartbeat(pool, worker, {}, {alloc}).ok());
    Sweep();
  }
  EXPECT_EQ(EvalOf(pool, eval).alloc_id, alloc);
  EXPECT_EQ(EvalOf(pool, eval).attempt, 1);
}

TEST_F(ExpiryTest, StoreOutageGivesEveryoneAFullTtlWhenItEnds) {
  options_.worker_ttl = 10;
  StopEngine();
  StartEngine();
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  std::string eval = Submit(pool, 3);

  faulty_->SetDown(true);
  clock_.Advance(60'000);  // heartbeats could not have been stored all this time
  EXPECT_FALSE(engine_->SweepNow().ok());
  faulty_->SetDown(false);
  auto back = engine_->SweepNow();
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->deadlines_extended);
  EXPECT_EQ(back->expired_workers, 0);
  EXPECT_EQ(WorkerOf(pool, worker).worker_id, worker);
  EXPECT_EQ(EvalOf(pool, eval).attempt, 1);

  clock_.Advance(10'000);  // a full TTL later, silence counts again
  Sweep();
  EXPECT_EQ(Call(&Service::DescribeWorker, WorkerRequest{pool, worker}).status().code(),
            Code::kWorkerNotFound);
}

TEST_F(ExpiryTest, RestartGivesEveryoneAFullTtl) {
  options_.worker_ttl = 10;
  StopEngine();
  StartEngine();
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 10);
  std::string eval = Submit(pool, 3);
  StopEngine();
  clock_.Advance(60'000);  // lined was down far longer than every TTL
  StartEngine();
  Sweep();
  EXPECT_EQ(WorkerOf(pool, worker).worker_id, worker);
  EXPECT_EQ(EvalOf(pool, eval).attempt, 1);
  clock_.Advance(10'000);
  Sweep();
  EXPECT_EQ(Call(&Service::DescribeWorker, WorkerRequest{pool, worker}).status().code(),
            Code::kWorkerNotFound);
}

}  // namespace
}  // namespace line::testing
