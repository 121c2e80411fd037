// A scheduling round hands its new allocs straight to the long-polls parked on this node
// (scheduler/poll_handoff.h): the poll is answered from the round's own commit, the allocs are
// stored as delivered by that commit, and a poll whose round did not commit goes back to
// waiting instead of being lost or answered with allocs that do not exist.
#include <future>

#include "engine_fixture.h"
#include "testing/writer_gate.h"

namespace line::testing {
namespace {

class PollHandoffTest : public EngineTest {
 protected:
  std::vector<std::string> EvalIdsReceived(const std::string& pool, const std::string& worker) {
    auto got = Call(&Service::ReceiveAllocs, ReceiveAllocsRequest{pool, worker, 10, 0});
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    std::vector<std::string> ids;
    if (got.ok()) {
      for (const ReceivedAlloc& a : got->allocs) ids.push_back(a.eval_id);
    }
    return ids;
  }
};

TEST_F(PollHandoffTest, AParkedPollIsAnsweredByThePlacingRoundWithoutAWriteOfItsOwn) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  Settle();  // the round the registration woke is a write too: let it pass before counting
  std::future<PollAnswer> answer = ParkPoll(pool, worker, /*max_allocs=*/2);
  const int64_t before = faulty_->writes();
  auto accepted = ScheduleBatch(pool, 3);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  std::vector<std::string> evals = accepted->eval_ids;

  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  PollAnswer got = answer.get();
  ASSERT_TRUE(got.result.ok()) << got.result.status().ToString();
  // Its maximum, oldest first, with their payloads.
  ASSERT_EQ(got.result->allocs.size(), 2u);
  EXPECT_EQ(got.result->allocs[0].eval_id, evals[0]);
  EXPECT_EQ(got.result->allocs[0].payload, "{\"n\":0}");
  EXPECT_EQ(got.result->allocs[1].eval_id, evals[1]);
  EXPECT_EQ(got.result->allocs[1].worker_id, worker);
  EXPECT_EQ(got.result->allocs[1].attempt, 1);
  // Two writes: the submission and the round (a new pool has no snapshot yet, so the batch
  // does not place itself; a woken round does). A poll that read and marked its allocs itself
  // would answer only after a third.
  EXPECT_EQ(got.writes_so_far, before + 2);
  Settle();

  // The third was placed but not handed over: the next poll gets it.
  EXPECT_EQ(EvalIdsReceived(pool, worker), std::vector<std::string>{evals[2]});
  // The round stored the two it handed over as delivered: not again before the visibility
  // timeout, and again after it (none was acknowledged).
  EXPECT_TRUE(EvalIdsReceived(pool, worker).empty());
  clock_.Advance(options_.visibility_timeout * 1000);
  EXPECT_EQ(EvalIdsReceived(pool, worker).size(), 3u);
  ExpectCapacityInvariant(pool);
}

TEST_F(PollHandoffTest, APollClaimedByARoundThatDidNotCommitWaitsForTheNextOne) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  // Hold the scheduler so that the poll is parked before the round runs.
  engine_->scheduler().Stop();
  ScheduleEvalRequest req;
  req.pool_id = pool;
  req.eval.size = 1;
  auto submitted = Call(&Service::ScheduleEval, req);
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  std::future<PollAnswer> answer = ParkPoll(pool, worker);

  faulty_->SetFailAfterBody(true);  // the round claims the poll, places, and loses its commit
  engine_->scheduler().Start();
  Settle();
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "a poll must not be answered from a round that did not commit";
  EXPECT_EQ(PoolOf(pool).pending_evals, 1);

  // The sweeper's tick retries failed pools; this time the round commits.
  faulty_->SetFailAfterBody(false);
  engine_->scheduler().RetryFailed();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the released poll was lost";
  PollAnswer got = answer.get();
  ASSERT_TRUE(got.result.ok()) << got.result.status().ToString();
  ASSERT_EQ(got.result->allocs.size(), 1u);
  EXPECT_EQ(got.result->allocs[0].eval_id, submitted->eval_id);
  Settle();
  EXPECT_TRUE(EvalIdsReceived(pool, worker).empty());  // delivered once
}

// A round claims the poll of a worker its stale snapshot still offers, then loses that
// worker's claim (its TTL passed): the round commits without it, and the poll is released to
// look for itself — where it learns its worker has expired — instead of being kept or lost.
TEST_F(PollHandoffTest, APollWhosePlacementWasRefusedIsReleasedByTheCommittedRound) {
  auto [pool, stale, fresh, warmup] = SetUpStaleSnapshot();
  ASSERT_EQ(EvalIdsReceived(pool, stale), std::vector<std::string>{warmup});
  std::future<PollAnswer> answer = ParkPoll(pool, stale);

  clock_.Advance(5'000);  // stale's TTL passes; no sweep, so the snapshot still offers it
  std::string eval = Submit(pool, 2);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the claimed poll was never released";
  PollAnswer got = answer.get();
  EXPECT_EQ(got.result.status().code(), Code::kWorkerNotFound)
      << (got.result.ok() ? "answered with allocs" : got.result.status().ToString());
  EXPECT_EQ(EvalOf(pool, eval).worker_id, fresh);
  ExpectCapacityInvariant(pool);
}

// A node alone on its store answers a poll from its read snapshot and stores the delivery
// marks lazily, without waiting for them (decision 0012): the answer does not queue behind
// the writer, a second poll does not get the same allocs while the marks are on their way,
// and the stored marks hold back redelivery after a restart until the visibility timeout.
TEST_F(PollHandoffTest, APollIsAnsweredWithoutWaitingForTheWriterAndNeverTwice) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  const std::string eval = Submit(pool, 1);  // placed, not delivered: nobody was polling
  Settle();

  WriterGate gate(*store_);

  auto first = std::async(std::launch::async, [&] {
    return Call(&Service::ReceiveAllocs, ReceiveAllocsRequest{pool, worker, 10, 0});
  });
  const bool answered = first.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  // Another poll of the same worker meanwhile: its snapshot still shows the alloc
  // undelivered (the mark waits behind the held writer), and it must not get it.
  auto second = std::async(std::launch::async, [&] {
    return Call(&Service::ReceiveAllocs, ReceiveAllocsRequest{pool, worker, 10, 0});
  });
  const bool second_answered =
      second.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  gate.Release();
  ASSERT_TRUE(answered) << "the poll waited for the writer";
  Result<ReceiveAllocsResponse> got = first.get();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->allocs.size(), 1u);
  EXPECT_EQ(got->allocs[0].eval_id, eval);
  ASSERT_TRUE(second_answered);
  Result<ReceiveAllocsResponse> again = second.get();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->allocs.empty()) << "an alloc was handed out twice";

  // The mark reaches the store (a durable write commits whatever lazy one is queued ahead).
  ASSERT_TRUE(WriteSync(*store_, [](Tx&) { return Status::Ok(); }).ok());
  StopEngine();
  StartEngine();  // no ledger now: only the stored mark holds the alloc back
  EXPECT_TRUE(EvalIdsReceived(pool, worker).empty());
  clock_.Advance(options_.visibility_timeout * 1000);
  EXPECT_EQ(EvalIdsReceived(pool, worker), std::vector<std::string>{eval});
}

// Once the visibility timeout of what it was last handed has passed, an idle worker's poll
// parks until its deadline: it must not take that past instant as its wake-up time, fire at
// once, find nothing, and park again, over and over (found in review).
TEST_F(PollHandoffTest, AnIdleWorkersPollParksQuietlyAfterItsLastAllocsTimeout) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  const std::string eval = Submit(pool, 1);
  Settle();
  auto got = Call(&Service::ReceiveAllocs, ReceiveAllocsRequest{pool, worker, 10, 0});
  ASSERT_TRUE(got.ok() && got->allocs.size() == 1u);
  ASSERT_TRUE(Heartbeat(pool, worker, {}, {got->allocs[0].alloc_id}).ok());  // acknowledged
  clock_.Advance(options_.visibility_timeout * 1000 + 1);

  const int64_t reads_before = faulty_->reads();
  std::future<PollAnswer> answer = ParkPoll(pool, worker);
  // Real time, for the parked poll to spin in if it would: the clock itself never moves.
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  EXPECT_LE(faulty_->reads() - reads_before, 2) << "the parked poll keeps waking up";
  StopEngine();  // answers the parked poll (empty) as the engine stops
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

}  // namespace
}  // namespace line::testing
