// A heartbeat that would write nothing is answered without the writer (scheduler/renewal_gate.h,
// decision 0013), and never for a worker a deletion ordered before it removed.
#include <future>

#include "engine_fixture.h"
#include "scheduler/renewal.h"
#include "testing/writer_gate.h"

namespace line::testing {
namespace {

class HeartbeatGateTest : public EngineTest {
 protected:
  // A heartbeat sent now, answered whenever it is answered.
  std::future<Status> HeartbeatAsync(const std::string& pool, const std::string& worker,
                                     std::vector<std::string> datasets) {
    auto answered = std::make_shared<std::promise<Status>>();
    std::future<Status> answer = answered->get_future();
    engine_->service().SendHeartbeat(
        HeartbeatRequest{pool, worker, {}, std::move(datasets)},
        [answered](Result<HeartbeatResponse> r) { answered->set_value(r.status()); });
    return answer;
  }
};

TEST_F(HeartbeatGateTest, AHeartbeatThatWouldWriteNothingIsAnsweredWhileTheWriterIsHeld) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());  // the writer's: the gate learns from it
  Settle();

  const int64_t writes = faulty_->writes();
  WriterGate held(*store_);
  // Same instant, same datasets: every deadline is already as late as it would be set.
  std::future<Status> covered = HeartbeatAsync(pool, worker, {"d1"});
  ASSERT_EQ(covered.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "answered on the caller's thread";
  EXPECT_TRUE(covered.get().ok());
  EXPECT_EQ(faulty_->writes(), writes + 1) << "only the gate's own write";

  // A dataset it did not hold must be stored: that heartbeat waits for the writer.
  std::future<Status> new_dataset = HeartbeatAsync(pool, worker, {"d1", "d2"});
  EXPECT_EQ(faulty_->writes(), writes + 2);
  held.Release();
  EXPECT_TRUE(new_dataset.get().ok());
  EXPECT_EQ(WorkerOf(pool, worker).datasets, (std::vector<std::string>{"d1", "d2"}));
}

TEST_F(HeartbeatGateTest, AHeartbeatOneRenewalStepLaterTakesTheWriterAndMovesTheDeadline) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  const int64_t ttl_before = WorkerOf(pool, worker).ttl;
  const int64_t writes = faulty_->writes();
  clock_.Advance(kMaxRenewalStepMs);  // worker TTL 100 s: steps of 5 s
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  EXPECT_EQ(faulty_->writes(), writes + 1);
  EXPECT_EQ(WorkerOf(pool, worker).ttl, ttl_before + kMaxRenewalStepMs / 1000);
}

TEST_F(HeartbeatGateTest, AfterDeregisteringAHeartbeatIsRefusedNotAnsweredFromTheGate) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());  // covered by now
  ASSERT_TRUE(Call(&Service::DeregisterWorker, WorkerRequest{pool, worker}).ok());
  Status after = Heartbeat(pool, worker, {"d1"});
  EXPECT_EQ(after.code(), Code::kWorkerNotFound) << after.ToString();
}

TEST_F(HeartbeatGateTest, AHeartbeatCommittedWithALaterDeregistrationTeachesTheGateNothing) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  // One group: a heartbeat that must write (a new dataset), then the deregistration. The
  // heartbeat's done comes after the deregistration's body; it must not teach the gate that
  // the worker lives.
  std::future<Status> heartbeat;
  std::promise<Status> deregistered;
  {
    WriterGate held(*store_);
    heartbeat = HeartbeatAsync(pool, worker, {"d1", "d2"});
    engine_->service().DeregisterWorker(
        WorkerRequest{pool, worker},
        [&deregistered](Result<Empty> r) { deregistered.set_value(r.status()); });
  }
  EXPECT_TRUE(heartbeat.get().ok());
  EXPECT_TRUE(deregistered.get_future().get().ok());
  Status after = Heartbeat(pool, worker, {"d1", "d2"});
  EXPECT_EQ(after.code(), Code::kWorkerNotFound) << after.ToString();
  EXPECT_EQ(engine_->snapshot_cache().renewals().workers(), 0u);
}

TEST_F(HeartbeatGateTest, AWorkerExpiredAndSweptIsForgotten) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  std::string other = NewWorker(pool, 4);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  ASSERT_TRUE(Heartbeat(pool, other, {"d1"}).ok());
  EXPECT_EQ(engine_->snapshot_cache().renewals().workers(), 2u);
  clock_.Advance(options_.worker_ttl * 1000 + kMaxRenewalStepMs);
  Sweep();
  EXPECT_EQ(engine_->snapshot_cache().renewals().workers(), 0u);
  Status after = Heartbeat(pool, worker, {"d1"});
  EXPECT_EQ(after.code(), Code::kWorkerNotFound) << after.ToString();
}

TEST_F(HeartbeatGateTest, AHeartbeatListingItsAcknowledgedAllocsIsCoveredUntilOneEnds) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}).ok());
  const std::string alloc_id = EvalOf(pool, Submit(pool, 1)).alloc_id;
  ASSERT_FALSE(alloc_id.empty());
  Settle();

  // The first heartbeat listing it acknowledges and renews it: a write.
  int64_t writes = faulty_->writes();
  ASSERT_TRUE(Heartbeat(pool, worker, {"d1"}, {alloc_id}).ok());
  EXPECT_EQ(faulty_->writes(), writes + 1);
  // The same again within the step: covered, no write, nothing unknown.
  auto covered = Call(&Service::SendHeartbeat, HeartbeatRequest{pool, worker, {alloc_id}, {"d1"}});
  ASSERT_TRUE(covered.ok()) << covered.status().ToString();
  EXPECT_TRUE(covered->unknown_allocs.empty());
  EXPECT_EQ(faulty_->writes(), writes + 1);

  // Once it ended, the next heartbeat listing it takes the writer and hears it is unknown.
  CompleteAllocRequest done;
  done.pool_id = pool;
  done.alloc_id = alloc_id;
  ASSERT_TRUE(Call(&Service::CompleteAlloc, done).ok());
  auto after = Call(&Service::SendHeartbeat, HeartbeatRequest{pool, worker, {alloc_id}, {"d1"}});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->unknown_allocs, std::vector<std::string>{alloc_id});
}

TEST_F(HeartbeatGateTest, AnAllocOfAnotherWorkerIsNeverCovered) {
  std::string pool = NewPool();
  std::string worker = NewWorker(pool, 4);
  const std::string alloc_id = EvalOf(pool, Submit(pool, 1)).alloc_id;
  std::string other = NewWorker(pool, 4);
  ASSERT_TRUE(Heartbeat(pool, worker, {}, {alloc_id}).ok());
  ASSERT_TRUE(Heartbeat(pool, other, {}).ok());
  for (int i = 0; i < 2; ++i) {
    auto r = Call(&Service::SendHeartbeat, HeartbeatRequest{pool, other, {alloc_id}, {}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->unknown_allocs, std::vector<std::string>{alloc_id});
  }
}

}  // namespace
}  // namespace line::testing
