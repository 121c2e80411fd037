// A batch submission runs the pool's scheduling round in its own transaction
// (Scheduler::PlaceOnSubmit): its evals are placed by the commit that acknowledges them, older
// pending evals still go first, and a submission whose commit is lost leaves neither evals,
// allocs, nor a charged snapshot behind.
#include <future>

#include "engine_fixture.h"

namespace line::testing {
namespace {

class PlaceOnSubmitTest : public EngineTest {
 protected:
  std::string SubmitHeld(const std::string& pool, int64_t size) {
    ScheduleEvalRequest req;
    req.pool_id = pool;
    req.eval.size = size;
    auto r = Call(&Service::ScheduleEval, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->eval_id : "";
  }

  // A pool with one worker whose snapshot is cached (a round has run), the worker's first
  // alloc received and out of the way.
  std::pair<std::string, std::string> WarmPool(int64_t capacity) {
    std::string pool = NewPool();
    std::string worker = NewWorker(pool, capacity);
    Submit(pool, 1);  // placed by a round, which builds the snapshot
    auto first = Call(&Service::ReceiveAllocs, ReceiveAllocsRequest{pool, worker, 10, 0});
    EXPECT_TRUE(first.ok() && first->allocs.size() == 1u);
    return {pool, worker};
  }
};

TEST_F(PlaceOnSubmitTest, ABatchIsPlacedByTheCommitThatAcknowledgesIt) {
  auto [pool, worker] = WarmPool(8);
  Settle();  // no round may be left to run while the writes are counted
  std::future<PollAnswer> answer = ParkPoll(pool, worker);
  const int64_t before = faulty_->writes();
  auto accepted = ScheduleBatch(pool, 3);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();

  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  PollAnswer got = answer.get();
  ASSERT_TRUE(got.result.ok()) << got.result.status().ToString();
  ASSERT_EQ(got.result->allocs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(got.result->allocs[i].eval_id, accepted->eval_ids[i]);
  // One write: the submission placed them itself. A woken round would have been a second.
  EXPECT_EQ(got.writes_so_far, before + 1);
  Settle();
  EXPECT_EQ(PoolOf(pool).pending_evals, 0);
  ExpectCapacityInvariant(pool);
}

TEST_F(PlaceOnSubmitTest, OlderPendingEvalsArePlacedFirst) {
  auto [pool, worker] = WarmPool(3);  // 2 units free
  // Hold the scheduler: two single evals wait for a round that does not come.
  engine_->scheduler().Stop();
  std::string older = SubmitHeld(pool, 1);
  std::string old = SubmitHeld(pool, 1);
  EXPECT_EQ(PoolOf(pool).pending_evals, 2);

  // The batch's own round places what was waiting first, and its eval no longer fits.
  auto accepted = ScheduleBatch(pool, 1);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(EvalOf(pool, older).state, "placed");
  EXPECT_EQ(EvalOf(pool, old).state, "placed");
  EXPECT_EQ(EvalOf(pool, accepted->eval_ids[0]).state, "pending");

  engine_->scheduler().Start();
  Settle();
  EXPECT_EQ(EvalOf(pool, accepted->eval_ids[0]).state, "pending");
  EXPECT_EQ(WorkerOf(pool, worker).free, 0);
  ExpectCapacityInvariant(pool);
}

TEST_F(PlaceOnSubmitTest, ALostCommitLeavesNoEvalNoAllocAndNoChargedSnapshot) {
  auto [pool, worker] = WarmPool(3);  // 2 units free
  std::future<PollAnswer> answer = ParkPoll(pool, worker);

  faulty_->SetFailAfterBody(true);  // the batch inserts and places, then its commit is lost
  auto lost = ScheduleBatch(pool, 2);
  EXPECT_EQ(lost.status().code(), Code::kStoreUnavailable);
  faulty_->SetFailAfterBody(false);
  Settle();
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "a poll must not be answered from a commit that was lost";
  EXPECT_EQ(PoolOf(pool).pending_evals, 0);
  EXPECT_EQ(WorkerOf(pool, worker).free, 2);

  // Had the snapshot kept the lost placement's charge, these would find no room and wait.
  auto accepted = ScheduleBatch(pool, 2);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  PollAnswer got = answer.get();
  ASSERT_TRUE(got.result.ok()) << got.result.status().ToString();
  EXPECT_EQ(got.result->allocs.size(), 2u);
  Settle();
  EXPECT_EQ(WorkerOf(pool, worker).free, 0);
  EXPECT_EQ(PoolOf(pool).pending_evals, 0);
  ExpectCapacityInvariant(pool);
}

// The store runs a whole group again when one of its bodies fails after writing: a batch that
// placed itself in the first run must not be placed twice, hand its poll allocs that were
// rolled back, or leave the snapshot charged twice.
TEST_F(PlaceOnSubmitTest, ABatchWhoseGroupRunsAgainIsPlacedOnce) {
  auto [pool, worker] = WarmPool(4);  // 3 units free
  std::future<PollAnswer> answer = ParkPoll(pool, worker);

  // Hold the writer so that the next writes form one group: the batch, then a body that
  // writes and fails, which makes the store roll the group back and run it again.
  std::promise<void> entered, release;
  std::promise<Status> held, spoiler;
  store_->Write(
      [&](Tx&) {
        entered.set_value();
        release.get_future().wait();
        return Status::Ok();
      },
      [&](Status s) { held.set_value(s); });
  entered.get_future().wait();
  std::promise<Result<ScheduleEvalsResponse>> batch_done;
  ScheduleEvalsRequest batch;
  batch.pool_id = pool;
  batch.evals.resize(2);
  for (EvalSpec& spec : batch.evals) spec.size = 1;
  engine_->service().ScheduleEvals(batch, [&](Result<ScheduleEvalsResponse> r) {
    batch_done.set_value(std::move(r));
  });
  store_->Write(
      [&](Tx& tx) -> Status {
        LINE_RETURN_IF_ERROR(tx.InsertPool(Pool{.pool_id = "spoiler"}));
        return Status(Code::kNotFound, "wrote, then failed");
      },
      [&](Status s) { spoiler.set_value(s); });
  release.set_value();

  EXPECT_TRUE(held.get_future().get().ok());
  EXPECT_EQ(spoiler.get_future().get().code(), Code::kNotFound);
  Result<ScheduleEvalsResponse> accepted = batch_done.get_future().get();
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  PollAnswer got = answer.get();
  ASSERT_TRUE(got.result.ok()) << got.result.status().ToString();
  ASSERT_EQ(got.result->allocs.size(), 2u);
  for (const ReceivedAlloc& a : got.result->allocs) {
    auto described = Call(&Service::DescribeAlloc, AllocRequest{pool, a.alloc_id});
    EXPECT_TRUE(described.ok()) << "handed an alloc that was rolled back: " << a.alloc_id;
  }
  Settle();
  EXPECT_EQ(WorkerOf(pool, worker).free, 1);
  ExpectCapacityInvariant(pool);
  // The snapshot was not left charged twice: the last free unit still takes an eval.
  std::string last = Submit(pool, 1);
  EXPECT_EQ(EvalOf(pool, last).state, "placed");
  EXPECT_EQ(WorkerOf(pool, worker).free, 0);
}

}  // namespace
}  // namespace line::testing
