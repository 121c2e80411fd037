// A batch submission runs the pool's scheduling round in its own transaction
// (Scheduler::PlaceOnSubmit): its evals are placed by the commit that acknowledges them, older
// pending evals still go first, and a submission whose commit is lost leaves neither evals,
// allocs, nor a charged snapshot behind.
#include <future>

#include "engine_fixture.h"
#include "testing/writer_gate.h"

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
    QuietWriter();  // the answer's delivery marks are written lazily, after it
    return {pool, worker};
  }

  // What became of a batch of `n` evals of size 1 and of `next`, queued while the writer was
  // held so that both ran in one group (after the holding body).
  struct SharedGroup {
    Result<ScheduleEvalsResponse> batch = Status::Internal("no answer");
    Status held, next;
  };
  SharedGroup BatchInAGroupWith(const std::string& pool, int n, TxBody next) {
    std::promise<Status> after;
    WriterGate gate(*store_);
    std::promise<Result<ScheduleEvalsResponse>> batch_done;
    ScheduleEvalsRequest batch;
    batch.pool_id = pool;
    batch.evals.resize(n);
    for (EvalSpec& spec : batch.evals) spec.size = 1;
    engine_->service().ScheduleEvals(batch, [&](Result<ScheduleEvalsResponse> r) {
      batch_done.set_value(std::move(r));
    });
    store_->Write(std::move(next), [&](Status s) { after.set_value(s); });
    gate.Release();
    SharedGroup group;
    group.held = gate.Done();
    group.next = after.get_future().get();
    group.batch = batch_done.get_future().get();
    return group;
  }

  // Makes every insert of an alloc fail from now on (`refuse`), or no more: a store error in
  // the middle of a placement, through a trigger.
  void RefuseAllocs(bool refuse) { faulty_->SetRefuseAllocs(refuse); }

  // Once allocs may be inserted again, the pool's failed round is retried (as the sweeper's
  // tick does) and places `accepted` on `worker`, through the poll parked all along.
  void ExpectPlacedOnceAllowed(const std::string& pool, const std::string& worker,
                               const ScheduleEvalsResponse& accepted,
                               std::future<PollAnswer>& answer) {
    EXPECT_EQ(PoolOf(pool).pending_evals, static_cast<int64_t>(accepted.eval_ids.size()));
    EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
    RefuseAllocs(false);
    engine_->scheduler().RetryFailed();
    ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "the poll claimed by the failed placement was lost";
    PollAnswer got = answer.get();
    ASSERT_TRUE(got.result.ok()) << got.result.status().ToString();
    ASSERT_EQ(got.result->allocs.size(), accepted.eval_ids.size());
    for (size_t i = 0; i < accepted.eval_ids.size(); ++i) {
      EXPECT_EQ(got.result->allocs[i].eval_id, accepted.eval_ids[i]);
    }
    Settle();
    EXPECT_EQ(PoolOf(pool).pending_evals, 0);
    ExpectCapacityInvariant(pool);
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

  // The batch, then a body that writes and fails, in one group: the store rolls the group
  // back and runs it again.
  SharedGroup group = BatchInAGroupWith(pool, 2, [](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.InsertPool(Pool{.pool_id = "spoiler"}));
    return Status(Code::kNotFound, "wrote, then failed");
  });
  EXPECT_TRUE(group.held.ok());
  EXPECT_EQ(group.next.code(), Code::kNotFound);
  ASSERT_TRUE(group.batch.ok()) << group.batch.status().ToString();
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

// The batch's own placement fails (a store error while it writes allocs): the batch is still
// acknowledged, its evals wait pending for the scheduler's round, and nothing was placed by
// half. Alone in its transaction, it is submitted again without its round.
TEST_F(PlaceOnSubmitTest, ABatchWhosePlacementFailsIsAcknowledgedAndPlacedLater) {
  auto [pool, worker] = WarmPool(8);
  Settle();
  std::future<PollAnswer> answer = ParkPoll(pool, worker);
  RefuseAllocs(true);
  engine_->scheduler().Stop();  // so that only the batch writes while they are counted
  const int64_t before = faulty_->writes();
  auto accepted = ScheduleBatch(pool, 3);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(faulty_->writes(), before + 2) << "the failed run, then the run without its round";
  engine_->scheduler().Start();
  Settle();  // the woken scheduler's round fails too, and the pool waits for a retry
  EXPECT_EQ(WorkerOf(pool, worker).free, 7);
  ExpectPlacedOnceAllowed(pool, worker, *accepted, answer);
}

// The same in a transaction shared with another write: the store runs the group again with a
// savepoint per body, and the batch's second run only inserts.
TEST_F(PlaceOnSubmitTest, ABatchWhosePlacementFailsInASharedTransactionIsAcknowledged) {
  auto [pool, worker] = WarmPool(8);
  Settle();
  std::future<PollAnswer> answer = ParkPoll(pool, worker);
  RefuseAllocs(true);
  engine_->scheduler().Stop();
  const int64_t before = faulty_->writes();
  SharedGroup group = BatchInAGroupWith(
      pool, 2, [](Tx& tx) { return tx.InsertPool(Pool{.pool_id = "neighbour"}); });
  EXPECT_TRUE(group.held.ok());
  EXPECT_TRUE(group.next.ok());
  ASSERT_TRUE(group.batch.ok()) << group.batch.status().ToString();
  const ScheduleEvalsResponse& accepted = *group.batch;
  EXPECT_EQ(faulty_->writes(), before + 3) << "the batch was not submitted a second time";
  engine_->scheduler().Start();
  Settle();
  ExpectPlacedOnceAllowed(pool, worker, accepted, answer);
}

}  // namespace
}  // namespace line::testing
