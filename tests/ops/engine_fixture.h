// A real Engine over a real SQLite file, on a ManualClock: the scheduler and long-poll threads
// run (they never read time to decide when), the sweeper runs only when a test says SweepNow().
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "common/clock.h"
#include "ops/engine.h"
#include "store/store.h"
#include "testing/faulty_store.h"

namespace line::testing {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/line-ops-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    options_.worker_ttl = 100;
    options_.replica_ttl = 60;
    options_.alloc_ttl = 30;
    options_.max_retry = 3;
    options_.pool_ttl = 300;
    options_.visibility_timeout = 10;
    StartEngine();
  }

  void TearDown() override {
    StopEngine();
    std::filesystem::remove_all(dir_);
  }

  void StartEngine() {
    auto store = OpenStore("sqlite:" + dir_ + "/line.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    faulty_ = new FaultyStore(std::move(store).value());
    store_.reset(faulty_);
    engine_ = std::make_unique<Engine>(store_.get(), &clock_, options_);
    Status started = engine_->Start(/*sweeper_thread=*/false);
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  void StopEngine() {
    if (engine_) engine_->Stop();
    engine_.reset();
    if (store_) store_->Close();
    store_.reset();
  }

  // Calls a Service method and waits for its reply.
  template <typename T, typename Req>
  Result<T> Call(void (Service::*method)(Req, Reply<T>), Req req) {
    std::promise<Result<T>> promise;
    auto future = promise.get_future();
    (engine_->service().*method)(std::move(req),
                                 [&promise](Result<T> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  // A parked long-poll's answer, and the store writes asked for by the time it came.
  struct PollAnswer {
    Result<ReceiveAllocsResponse> result = Status::Internal("no answer");
    int64_t writes_so_far = 0;
  };

  // Parks a long-poll for up to 20 s (the clock never moves, so only a commit can answer it).
  std::future<PollAnswer> ParkPoll(const std::string& pool, const std::string& worker,
                                   int64_t max_allocs = 10) {
    auto answered = std::make_shared<std::promise<PollAnswer>>();
    std::future<PollAnswer> answer = answered->get_future();
    engine_->service().ReceiveAllocs(
        ReceiveAllocsRequest{pool, worker, max_allocs, 20},
        [this, answered](Result<ReceiveAllocsResponse> r) {
          answered->set_value(PollAnswer{std::move(r), faulty_->writes()});
        });
    return answer;
  }

  // /ScheduleEvals of `n` evals of `size`, payloads {"n":0}, {"n":1}, ...
  Result<ScheduleEvalsResponse> ScheduleBatch(const std::string& pool, int n, int64_t size = 1) {
    ScheduleEvalsRequest batch;
    batch.pool_id = pool;
    for (int i = 0; i < n; ++i) {
      EvalSpec spec;
      spec.size = size;
      spec.payload = "{\"n\":" + std::to_string(i) + "}";
      batch.evals.push_back(spec);
    }
    return Call(&Service::ScheduleEvals, batch);
  }

  // A spread pool set up for a stale snapshot: worker TTL 10 s (the engine restarts), `stale`
  // (capacity 8) registered 5 s before `fresh` (capacity 4), and a warm-up eval placed on
  // `stale`, which built and cached the snapshot. Advancing the clock 5 s more expires
  // `stale` while the snapshot still offers it (nothing sweeps in these tests).
  struct StaleSnapshotSetup {
    std::string pool, stale, fresh, warmup;
  };
  StaleSnapshotSetup SetUpStaleSnapshot() {
    options_.worker_ttl = 10;
    StopEngine();
    StartEngine();
    StaleSnapshotSetup s;
    s.pool = NewPool(PlacementPolicy::kSpread);  // the freer worker first
    s.stale = NewWorker(s.pool, 8);
    clock_.Advance(5'000);
    s.fresh = NewWorker(s.pool, 4);
    s.warmup = Submit(s.pool, 1);
    EXPECT_EQ(EvalOf(s.pool, s.warmup).worker_id, s.stale);
    return s;
  }

  // Runs `sql` on the engine's SQLite file through a connection of the test's own (say, to
  // add a trigger that injects a failure or counts writes); returns the first column of the
  // first row, if any.
  std::string ExecSql(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((dir_ + "/line.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10'000);
    std::string first;
    char* error = nullptr;
    auto keep_first = [](void* out, int columns, char** values, char**) {
      auto* text = static_cast<std::string*>(out);
      if (text->empty() && columns > 0 && values[0] != nullptr) *text = values[0];
      return 0;
    };
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), keep_first, &first, &error), SQLITE_OK)
        << (error != nullptr ? error : "") << " in " << sql;
    sqlite3_free(error);
    sqlite3_close(db);
    return first;
  }

  // Lets the scheduler place whatever it was woken for.
  void Settle() { engine_->scheduler().WaitIdle(); }

  // Returns once every write asked for so far (lazy ones included) has run: the store's one
  // writer takes them in order, so an empty write's commit comes after all of theirs. A test
  // that counts writes or groups calls this first, so that an earlier lazy write (a poll's
  // delivery marks, say) cannot share a group with what it counts.
  void QuietWriter() {
    std::promise<Status> done;
    store_->Write([](Tx&) { return Status::Ok(); },
                  [&done](Status status) { done.set_value(std::move(status)); });
    Status status = done.get_future().get();
    ASSERT_TRUE(status.ok()) << status.ToString();
  }

  void Sweep() {
    auto report = engine_->SweepNow();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    Settle();
  }

  std::string NewPool(PlacementPolicy placement = PlacementPolicy::kSpread) {
    CreatePoolRequest req;
    req.placement = placement;
    auto r = Call(&Service::CreatePool, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->pool_id : "";
  }

  std::string NewWorker(const std::string& pool, int64_t capacity) {
    auto r = Call(&Service::RegisterWorker, RegisterWorkerRequest{pool, capacity});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->worker_id : "";
  }

  Status Heartbeat(const std::string& pool, const std::string& worker,
                   std::vector<std::string> datasets = {}, std::vector<std::string> allocs = {}) {
    auto r = Call(&Service::SendHeartbeat,
                  HeartbeatRequest{pool, worker, std::move(allocs), std::move(datasets)});
    return r.status();
  }

  std::string Submit(const std::string& pool, int64_t size, const std::string& dataset = "") {
    ScheduleEvalRequest req;
    req.pool_id = pool;
    req.eval.size = size;
    req.eval.dataset_id = dataset;
    auto r = Call(&Service::ScheduleEval, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    Settle();
    return r.ok() ? r->eval_id : "";
  }

  EvalDescription EvalOf(const std::string& pool, const std::string& eval_id) {
    auto r = Call(&Service::DescribeEval, EvalRequest{pool, eval_id});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : EvalDescription{};
  }

  WorkerDescription WorkerOf(const std::string& pool, const std::string& worker_id) {
    auto r = Call(&Service::DescribeWorker, WorkerRequest{pool, worker_id});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : WorkerDescription{};
  }

  PoolDescription PoolOf(const std::string& pool) {
    auto r = Call(&Service::DescribePool, PoolRequest{pool, {}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : PoolDescription{};
  }

  // SPEC invariant 1 for every worker of the pool.
  void ExpectCapacityInvariant(const std::string& pool) {
    ListWorkersRequest req;
    req.pool_id = pool;
    req.page.max_results = 1000;
    auto workers = Call(&Service::ListWorkers, req);
    ASSERT_TRUE(workers.ok());
    for (const WorkerDescription& w : workers->workers) {
      ListAllocsRequest areq;
      areq.pool_id = pool;
      areq.worker_id = w.worker_id;
      areq.state = AllocState::kLive;
      areq.page.max_results = 1000;
      auto allocs = Call(&Service::ListAllocs, areq);
      ASSERT_TRUE(allocs.ok());
      int64_t used = 0;
      for (const AllocDescription& a : allocs->allocs) used += a.size;
      EXPECT_EQ(w.free + used, w.capacity) << "worker " << w.worker_id;
      EXPECT_GE(w.free, 0);
      EXPECT_LE(w.free, w.capacity);
    }
  }

  std::string dir_;
  Options options_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  FaultyStore* faulty_ = nullptr;  // owned by store_: injects outages
  std::unique_ptr<Engine> engine_;
};

}  // namespace line::testing
