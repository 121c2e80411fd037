// The Service's calls end to end over a real store: scheduling, blocking and waking,
// completion rules, heartbeats, long-polls and idempotency.
#include <thread>

#include "engine_fixture.h"

namespace line::testing {
namespace {

class ServiceTest : public EngineTest {};

TEST_F(ServiceTest, BlockedEvalIsWokenByNewCapacityNotByPolling) {
  std::string pool = NewPool();
  NewWorker(pool, 3);
  std::string big = Submit(pool, 5);
  std::string small = Submit(pool, 2);  // fits although an older eval is blocked
  EXPECT_EQ(EvalOf(pool, big).state, "pending");
  EXPECT_EQ(EvalOf(pool, small).state, "placed");
  PoolDescription before = PoolOf(pool);
  EXPECT_EQ(before.pending_evals, 1);
  EXPECT_EQ(before.blocked_evals, 1);

  std::string roomy = NewWorker(pool, 8);  // capacity arrives: the pool is woken
  Settle();
  EXPECT_EQ(EvalOf(pool, big).state, "placed");
  EXPECT_EQ(EvalOf(pool, big).worker_id, roomy);
  EXPECT_EQ(PoolOf(pool).blocked_evals, 0);
  ExpectCapacityInvariant(pool);
}

TEST_F(ServiceTest, CompletionReleasesCapacityAndWakesBlockedEvals) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  std::string first = Submit(pool, 4);
  std::string second = Submit(pool, 4);
  ASSERT_EQ(EvalOf(pool, second).state, "pending");

  CompleteAllocRequest done;
  done.pool_id = pool;
  done.alloc_id = EvalOf(pool, first).alloc_id;
  done.worker_id = worker;
  done.exit_code = 0;
  done.result = R"({"ok":true})";
  ASSERT_TRUE(Call(&Service::CompleteAlloc, done).ok());
  Settle();
  EvalDescription completed = EvalOf(pool, first);
  EXPECT_EQ(completed.state, "completed");
  EXPECT_EQ(completed.exit_code, 0);
  EXPECT_EQ(completed.result, R"({"ok":true})");
  EXPECT_EQ(completed.history[0].reason, "completed");
  EXPECT_EQ(EvalOf(pool, second).state, "placed");

  // Completing it again changes nothing.
  EXPECT_EQ(Call(&Service::CompleteAlloc, done).status().code(), Code::kAllocAlreadyEnded);
  EXPECT_EQ(EvalOf(pool, first).state, "completed");
  ExpectCapacityInvariant(pool);
}

TEST_F(ServiceTest, CompletionByAnotherWorkerIsRefused) {
  std::string pool = NewPool();
  std::string owner = NewWorker(pool, 4);
  std::string other = NewWorker(pool, 1);
  std::string eval = Submit(pool, 4);
  CompleteAllocRequest done;
  done.pool_id = pool;
  done.alloc_id = EvalOf(pool, eval).alloc_id;
  done.worker_id = other;
  EXPECT_EQ(Call(&Service::CompleteAlloc, done).status().code(), Code::kAllocNotOwned);
  EXPECT_EQ(EvalOf(pool, eval).state, "placed");
  EXPECT_EQ(WorkerOf(pool, owner).free, 0);
}

TEST_F(ServiceTest, FailedCompletionRetriesAndKeepsTheLatestOutcome) {
  std::string pool = NewPool();
  NewWorker(pool, 4);
  std::string eval = Submit(pool, 2);
  CompleteAllocRequest failed;
  failed.pool_id = pool;
  failed.alloc_id = EvalOf(pool, eval).alloc_id;
  failed.exit_code = 3;
  failed.result = R"("boom")";
  failed.failed = true;
  ASSERT_TRUE(Call(&Service::CompleteAlloc, failed).ok());
  Settle();
  EvalDescription retried = EvalOf(pool, eval);
  EXPECT_EQ(retried.state, "placed");
  EXPECT_EQ(retried.attempt, 2);
  EXPECT_EQ(retried.exit_code, 3);
  EXPECT_EQ(retried.result, R"("boom")");
  EXPECT_EQ(retried.history[0].reason, "failed with exit code 3");
  ExpectCapacityInvariant(pool);
}

TEST_F(ServiceTest, HeartbeatReportsAllocsThatAreNotItsOwn) {
  std::string pool = NewPool();
  std::string a = NewWorker(pool, 4);
  std::string eval = Submit(pool, 4);
  std::string alloc = EvalOf(pool, eval).alloc_id;
  std::string b = NewWorker(pool, 4);
  auto r = Call(&Service::SendHeartbeat,
                HeartbeatRequest{pool, b, {alloc, "not-an-alloc"}, {"d1"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->unknown_allocs, (std::vector<std::string>{alloc, "not-an-alloc"}));
  auto own = Call(&Service::SendHeartbeat, HeartbeatRequest{pool, a, {alloc}, {}});
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(own->unknown_allocs.empty());
  EXPECT_EQ(WorkerOf(pool, b).datasets, std::vector<std::string>{"d1"});
}

TEST_F(ServiceTest, ErrorsNameWhatIsMissing) {
  std::string pool = NewPool();
  std::string nowhere = "0123456789abcdef0123";
  EXPECT_EQ(Call(&Service::DescribePool, PoolRequest{nowhere, {}}).status().code(),
            Code::kPoolNotFound);
  auto no_worker = Call(&Service::SendHeartbeat, HeartbeatRequest{pool, nowhere, {}, {}});
  EXPECT_EQ(no_worker.status().code(), Code::kWorkerNotFound);
  EXPECT_NE(no_worker.status().message().find(nowhere), std::string::npos);
  auto no_pool = Call(&Service::SendHeartbeat, HeartbeatRequest{nowhere, nowhere, {}, {}});
  EXPECT_EQ(no_pool.status().code(), Code::kPoolNotFound);
  EXPECT_EQ(Call(&Service::DescribeEval, EvalRequest{pool, nowhere}).status().code(),
            Code::kEvalNotFound);
  EXPECT_EQ(Call(&Service::DescribeAlloc, AllocRequest{pool, nowhere}).status().code(),
            Code::kAllocNotFound);
  CompleteAllocRequest done;
  done.pool_id = pool;
  done.alloc_id = nowhere;
  EXPECT_EQ(Call(&Service::CompleteAlloc, done).status().code(), Code::kAllocNotFound);
}

TEST_F(ServiceTest, IdempotencyKeyReturnsTheFirstEvalOrConflicts) {
  std::string pool = NewPool();
  ScheduleEvalRequest req;
  req.pool_id = pool;
  req.eval.size = 2;
  req.eval.idempotency_key = "job-1";
  auto first = Call(&Service::ScheduleEval, req);
  auto again = Call(&Service::ScheduleEval, req);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->eval_id, again->eval_id);
  EXPECT_EQ(PoolOf(pool).pending_evals, 1);

  req.eval.size = 3;
  auto conflict = Call(&Service::ScheduleEval, req);
  EXPECT_EQ(conflict.status().code(), Code::kIdempotencyConflict);
  EXPECT_NE(conflict.status().message().find("job-1"), std::string::npos);
}

TEST_F(ServiceTest, ScheduleEvalsIsAllOrNothing) {
  std::string pool = NewPool();
  ScheduleEvalRequest keyed;
  keyed.pool_id = pool;
  keyed.eval.size = 1;
  keyed.eval.idempotency_key = "k";
  ASSERT_TRUE(Call(&Service::ScheduleEval, keyed).ok());

  ScheduleEvalsRequest batch;
  batch.pool_id = pool;
  batch.evals.resize(3);
  for (auto& e : batch.evals) e.size = 1;
  batch.evals[2].idempotency_key = "k";
  batch.evals[2].size = 9;  // conflicts with the first use of "k"
  auto refused = Call(&Service::ScheduleEvals, batch);
  EXPECT_EQ(refused.status().code(), Code::kIdempotencyConflict);
  EXPECT_NE(refused.status().message().find("evals[2]"), std::string::npos);
  EXPECT_EQ(PoolOf(pool).pending_evals, 1);

  batch.evals[2].size = 1;
  auto accepted = Call(&Service::ScheduleEvals, batch);
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->eval_ids.size(), 3u);
  EXPECT_EQ(PoolOf(pool).pending_evals, 3);
}

// A round reads pending evals in growing chunks (Scheduler::kFirstChunk first) and stops
// reading where capacity ends: it must still place every eval that fits, oldest first, and
// leave the rest pending for the next release of capacity.
TEST_F(ServiceTest, ARoundPlacesPastItsFirstReadAndStopsWhereCapacityEnds) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 150);
  ScheduleEvalsRequest batch;
  batch.pool_id = pool;
  batch.evals.resize(200);
  for (auto& e : batch.evals) e.size = 1;
  auto accepted = Call(&Service::ScheduleEvals, batch);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  Settle();
  const std::vector<std::string>& ids = accepted->eval_ids;
  EXPECT_EQ(WorkerOf(pool, worker).free, 0);
  EXPECT_EQ(PoolOf(pool).pending_evals, 50);
  EXPECT_EQ(EvalOf(pool, ids[0]).state, "placed");
  EXPECT_EQ(EvalOf(pool, ids[149]).state, "placed");
  EXPECT_EQ(EvalOf(pool, ids[150]).state, "pending") << "oldest first";

  CompleteAllocRequest done;
  done.pool_id = pool;
  done.alloc_id = EvalOf(pool, ids[7]).alloc_id;
  done.worker_id = worker;
  done.exit_code = 0;
  ASSERT_TRUE(Call(&Service::CompleteAlloc, done).ok());
  Settle();
  EXPECT_EQ(EvalOf(pool, ids[150]).state, "placed") << "the released unit is used at once";
  EXPECT_EQ(EvalOf(pool, ids[151]).state, "pending");
  EXPECT_EQ(PoolOf(pool).pending_evals, 49);
  ExpectCapacityInvariant(pool);
}

TEST_F(ServiceTest, ReceiveDeliversOnceThenAgainAfterTheVisibilityTimeout) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  std::string eval = Submit(pool, 2);
  ReceiveAllocsRequest req{pool, worker, 10, 0};
  auto first = Call(&Service::ReceiveAllocs, req);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->allocs.size(), 1u);
  EXPECT_EQ(first->allocs[0].eval_id, eval);
  EXPECT_EQ(first->allocs[0].attempt, 1);
  EXPECT_TRUE(Call(&Service::ReceiveAllocs, req)->allocs.empty());

  clock_.Advance(options_.visibility_timeout * 1000);
  auto redelivered = Call(&Service::ReceiveAllocs, req);
  ASSERT_EQ(redelivered->allocs.size(), 1u);

  // A heartbeat listing it acknowledges it: never delivered again.
  ASSERT_TRUE(Heartbeat(pool, worker, {}, {first->allocs[0].alloc_id}).ok());
  clock_.Advance(options_.visibility_timeout * 1000);
  EXPECT_TRUE(Call(&Service::ReceiveAllocs, req)->allocs.empty());
}

TEST_F(ServiceTest, LongPollReturnsWhenAnAllocCommits) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  std::promise<Result<ReceiveAllocsResponse>> answered;
  auto answer = answered.get_future();
  engine_->service().ReceiveAllocs(
      ReceiveAllocsRequest{pool, worker, 10, 20},
      [&answered](Result<ReceiveAllocsResponse> r) { answered.set_value(std::move(r)); });
  // The clock never moves: only the commit can answer this poll.
  std::string eval = Submit(pool, 1);
  Result<ReceiveAllocsResponse> got = answer.get();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->allocs.size(), 1u);
  EXPECT_EQ(got->allocs[0].eval_id, eval);
}

TEST_F(ServiceTest, LongPollAnswersEmptyAtItsDeadline) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  std::promise<Result<ReceiveAllocsResponse>> answered;
  auto answer = answered.get_future();
  engine_->service().ReceiveAllocs(
      ReceiveAllocsRequest{pool, worker, 10, 5},
      [&answered](Result<ReceiveAllocsResponse> r) { answered.set_value(std::move(r)); });
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  clock_.Advance(5'000);
  Result<ReceiveAllocsResponse> got = answer.get();
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->allocs.empty());
}

TEST_F(ServiceTest, DeregisterPlacesItsEvalsElsewhere) {
  std::string pool = NewPool(PlacementPolicy::kBinpack);
  std::string leaving = NewWorker(pool, 3);
  std::string eval = Submit(pool, 3);
  std::string staying = NewWorker(pool, 3);
  ASSERT_EQ(EvalOf(pool, eval).worker_id, leaving);
  ASSERT_TRUE(Call(&Service::DeregisterWorker, WorkerRequest{pool, leaving}).ok());
  Settle();
  EvalDescription moved = EvalOf(pool, eval);
  EXPECT_EQ(moved.worker_id, staying);
  EXPECT_EQ(moved.attempt, 2);
  EXPECT_EQ(moved.history[0].reason, "worker deregistered");
  ExpectCapacityInvariant(pool);
}

TEST_F(ServiceTest, DrainedWorkerGetsNoNewPlacements) {
  std::string pool = NewPool();
  std::string drained = NewWorker(pool, 10);
  ASSERT_TRUE(Call(&Service::DrainWorker, WorkerRequest{pool, drained}).ok());
  EXPECT_TRUE(WorkerOf(pool, drained).draining);
  std::string eval = Submit(pool, 1);
  EXPECT_EQ(EvalOf(pool, eval).state, "pending");
  std::string fresh = NewWorker(pool, 2);
  Settle();
  EXPECT_EQ(EvalOf(pool, eval).worker_id, fresh);
}

TEST_F(ServiceTest, ListsPageWithNextToken) {
  std::string pool = NewPool();
  ScheduleEvalsRequest batch;
  batch.pool_id = pool;
  batch.evals.resize(5);
  for (auto& e : batch.evals) e.size = 1;
  auto ids = Call(&Service::ScheduleEvals, batch);
  ASSERT_TRUE(ids.ok());
  ListEvalsRequest req;
  req.pool_id = pool;
  req.page.max_results = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto r = Call(&Service::ListEvals, req);
    ASSERT_TRUE(r.ok());
    for (const auto& e : r->evals) seen.push_back(e.eval_id);
    if (r->next_token.empty()) break;
    req.page.next_token = r->next_token;
  }
  EXPECT_EQ(seen, ids->eval_ids);
  req.page.next_token = "garbage";
  EXPECT_EQ(Call(&Service::ListEvals, req).status().code(), Code::kInvalidInput);
}

}  // namespace
}  // namespace line::testing

namespace line::testing {
namespace {

class CachedSnapshotTest : public EngineTest {};

// A worker whose TTL passed but that the sweeper has not removed yet is still in the cached
// snapshot. Choosing it must lose the conditional claim, rebuild, and place elsewhere.
TEST_F(CachedSnapshotTest, StaleWorkerInTheSnapshotCostsAConflictNotADoubleBooking) {
  auto [pool, stale, fresh, warmup] = SetUpStaleSnapshot();
  clock_.Advance(5'000);  // stale's TTL passes; no sweep
  std::string eval = Submit(pool, 2);
  EvalDescription placed = EvalOf(pool, eval);
  EXPECT_EQ(placed.state, "placed");
  EXPECT_EQ(placed.worker_id, fresh);
  EXPECT_EQ(WorkerOf(pool, stale).free, 7);  // only the warm-up's claim
  ExpectCapacityInvariant(pool);
}

TEST_F(CachedSnapshotTest, IdlePoolBuildsNoSnapshotWhileWorkersRegister) {
  std::string pool = NewPool();
  for (int i = 0; i < 5; ++i) NewWorker(pool, 2);
  Settle();
  EXPECT_EQ(engine_->snapshot_cache().size(), 0u);  // woken five times, nothing to place
  std::string eval = Submit(pool, 1);
  EXPECT_EQ(EvalOf(pool, eval).state, "placed");
  EXPECT_EQ(engine_->snapshot_cache().size(), 1u);
}

TEST_F(CachedSnapshotTest, CompletionsFeedTheCachedSnapshot) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 2);
  std::vector<std::string> evals;
  for (int i = 0; i < 6; ++i) evals.push_back(Submit(pool, 2));
  // Capacity for one at a time: each completion lets exactly the next one in.
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(EvalOf(pool, evals[i]).state, "placed") << i;
    if (i + 1 < 6) {
      ASSERT_EQ(EvalOf(pool, evals[i + 1]).state, "pending") << i;
    }
    CompleteAllocRequest done;
    done.pool_id = pool;
    done.alloc_id = EvalOf(pool, evals[i]).alloc_id;
    ASSERT_TRUE(Call(&Service::CompleteAlloc, done).ok());
    Settle();
  }
  EXPECT_EQ(WorkerOf(pool, worker).free, 2);
  EXPECT_EQ(engine_->snapshot_cache().size(), 1u);  // never needed a rebuild to get here
  ExpectCapacityInvariant(pool);
}

}  // namespace
}  // namespace line::testing
