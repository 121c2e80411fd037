// SIGKILL mid-load: several client threads submit evals (batches, and single evals with
// idempotency keys) while workers receive and complete some of them; lined is killed without
// warning and restarted on the same store. SPEC's invariants must hold afterwards: every
// acknowledged eval is still there exactly once, idempotency keys still find their evals, no
// eval is in two live allocs, and capacity balances.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "testing/e2e.h"
#include "testing/simulated_worker.h"

namespace line::testing {
namespace {

constexpr size_t kAcknowledgedBeforeKill = 2000;
constexpr int kBatchSubmitters = 2;
constexpr int kKeyedSubmitters = 3;
constexpr int kBatchSize = 20;

// What the clients were told before the crash.
struct Acknowledged {
  std::mutex mu;
  std::set<std::string> eval_ids;                      // every id answered with 200
  std::map<std::string, json::object> keyed_requests;  // idempotency key -> its request
  std::map<std::string, std::string> eval_id_by_key;   // idempotency key -> its eval id
  std::atomic<size_t> count{0};
};

int64_t SizeOf(int i) { return 1 + i % 3; }

// Half of each batch carries idempotency keys, so keys are also committed in batches.
void SubmitBatches(int port, const std::string& pool_id, int thread, std::atomic<bool>* stop,
                   Acknowledged* acked) {
  HttpClient client("127.0.0.1", port);
  for (int batch = 0; !*stop; ++batch) {
    json::array evals;
    std::vector<std::pair<std::string, json::object>> keyed;  // (key, single-eval request)
    for (int i = 0; i < kBatchSize; ++i) {
      json::object eval = {{"dataset_id", "d" + std::to_string(i % 4)},
                           {"size", SizeOf(i)},
                           {"payload", {{"thread", thread}, {"batch", batch}, {"i", i}}}};
      if (i % 2 == 0) {
        std::string key = "batch-" + std::to_string(thread) + "-" + std::to_string(batch) + "-" +
                          std::to_string(i);
        eval["idempotency_key"] = key;
        json::object single = eval;
        single["pool_id"] = pool_id;
        keyed.emplace_back(key, std::move(single));
      }
      evals.push_back(std::move(eval));
    }
    HttpResponse r =
        client.Post("/ScheduleEvals", json::value{{"pool_id", pool_id}, {"evals", evals}});
    if (r.status == 0) return;  // lined is gone
    ASSERT_EQ(r.status, 200) << r.Describe();
    std::vector<std::string> ids = Strings(Arr(Obj(r.Json()), "eval_ids"));
    ASSERT_EQ(ids.size(), static_cast<size_t>(kBatchSize)) << r.body;
    std::lock_guard lock(acked->mu);
    acked->eval_ids.insert(ids.begin(), ids.end());
    for (size_t k = 0; k < keyed.size(); ++k) {
      acked->keyed_requests[keyed[k].first] = keyed[k].second;
      acked->eval_id_by_key[keyed[k].first] = ids[2 * k];  // keyed items are the even ones
    }
    acked->count += ids.size();
  }
}

void SubmitKeyed(int port, const std::string& pool_id, int thread, std::atomic<bool>* stop,
                 Acknowledged* acked) {
  HttpClient client("127.0.0.1", port);
  for (int i = 0; !*stop; ++i) {
    std::string key = "crash-" + std::to_string(thread) + "-" + std::to_string(i);
    json::object request = {{"pool_id", pool_id},
                            {"dataset_id", "d" + std::to_string(i % 4)},
                            {"size", SizeOf(i)},
                            {"payload", {{"key", key}}},
                            {"idempotency_key", key}};
    HttpResponse r = client.Post("/ScheduleEval", request);
    if (r.status == 0) return;
    ASSERT_EQ(r.status, 200) << r.Describe();
    std::string eval_id = Str(Obj(r.Json()), "eval_id");
    std::lock_guard lock(acked->mu);
    acked->eval_ids.insert(eval_id);
    acked->keyed_requests[key] = request;
    acked->eval_id_by_key[key] = eval_id;
    ++acked->count;
  }
}

class CrashTest : public LinedTest {
 protected:
  std::vector<std::string> RegisterWorkers(const std::string& pool_id) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(RegisterWorker(pool_id, 20));
    return ids;
  }

  // Workers and submitters run against lined until `more` evals beyond those already
  // acknowledged are acknowledged; then lined is SIGKILLed while they are still at it, and
  // restarted on the same store. `round` keeps idempotency keys of different rounds apart.
  void LoadKillRestart(const std::string& pool_id, const std::vector<std::string>& worker_ids,
                       size_t more, int round, Acknowledged* acked,
                       std::set<std::string>* completed) {
    std::vector<std::unique_ptr<SimulatedWorker>> workers;
    for (size_t i = 0; i < worker_ids.size(); ++i) {
      SimulatedWorkerOptions options;
      options.pool_id = pool_id;
      options.worker_id = worker_ids[i];
      options.datasets = {"d" + std::to_string(i)};
      options.hold_every = 4;  // a quarter held live across the crash, the rest completed
      workers.push_back(std::make_unique<SimulatedWorker>(lined_->port(), options));
    }
    size_t target = acked->count + more;
    std::atomic<bool> stop{false};
    std::vector<std::thread> submitters;
    for (int t = 0; t < kBatchSubmitters; ++t) {
      submitters.emplace_back(SubmitBatches, lined_->port(), pool_id, round * 100 + t, &stop,
                              acked);
    }
    for (int t = 0; t < kKeyedSubmitters; ++t) {
      submitters.emplace_back(SubmitKeyed, lined_->port(), pool_id, round * 100 + t, &stop, acked);
    }

    bool loaded = Eventually([&] { return acked->count >= target; }, std::chrono::minutes(2));
    int killed = lined_->Kill(SIGKILL);
    stop = true;
    for (std::thread& t : submitters) t.join();
    for (auto& w : workers) w->Stop();
    ASSERT_TRUE(loaded) << "only " << acked->count << " of " << target
                        << " evals acknowledged in 2 minutes";
    EXPECT_EQ(killed, 128 + SIGKILL);
    for (const auto& w : workers) {
      EXPECT_TRUE(w->errors().empty()) << w->errors().front();
      std::vector<std::string> c = w->completed();
      completed->insert(c.begin(), c.end());
    }

    Status restarted = lined_->Restart();
    ASSERT_TRUE(restarted.ok()) << restarted.message();
    client().Disconnect();
  }

  // SPEC invariants 1-3 after the crashes, from what the clients were told before them.
  void VerifyAfterRestart(const std::string& pool_id, Acknowledged& acked,
                          const std::set<std::string>& completed_before) {
    // Every acknowledged eval is still there, in a state SPEC allows; completions stay completed.
    std::lock_guard lock(acked.mu);
    std::cerr << "crash test: " << acked.eval_ids.size() << " evals acknowledged ("
              << acked.eval_id_by_key.size() << " keyed), " << completed_before.size()
              << " completions acknowledged\n";
    size_t missing = 0;
    for (const std::string& eval_id : acked.eval_ids) {
      HttpResponse r =
          client().Post("/DescribeEval", json::value{{"pool_id", pool_id}, {"eval_id", eval_id}});
      if (r.status != 200) {
        if (++missing <= 10)
          ADD_FAILURE() << "acknowledged eval " << eval_id << " lost: " << r.Describe();
        continue;
      }
      std::string state = Str(Obj(r.Json()), "state");
      EXPECT_TRUE(state == "pending" || state == "placed" || state == "completed" ||
                  state == "dead")
          << eval_id << " is " << state;
      if (completed_before.count(eval_id)) {
        EXPECT_EQ(state, "completed") << "acknowledged completion of " << eval_id << " lost";
      }
    }
    EXPECT_EQ(missing, 0u) << "acknowledged evals lost in the crash";

    // ListEvals has every acknowledged eval once and no duplicate ids.
    Result<std::vector<json::object>> listed =
        ListAll(client(), "/ListEvals", {{"pool_id", pool_id}}, "evals");
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    std::set<std::string> listed_ids;
    for (const json::object& e : *listed) {
      EXPECT_TRUE(listed_ids.insert(Str(e, "eval_id")).second)
          << "ListEvals lists " << Str(e, "eval_id") << " twice";
    }
    for (const std::string& eval_id : acked.eval_ids) {
      EXPECT_TRUE(listed_ids.count(eval_id)) << eval_id << " missing from ListEvals";
    }
    json::object pool = DescribePool(pool_id);
    EXPECT_EQ(Int(pool, "pending_evals") + Int(pool, "live_allocs") +
                  static_cast<int64_t>(std::count_if(
                      listed->begin(), listed->end(),
                      [](const json::object& e) { return Str(e, "state") == "completed"; })) +
                  Int(pool, "dead_letters"),
              static_cast<int64_t>(listed->size()))
        << "every eval is pending, placed (one live alloc each), completed or dead: "
        << json::serialize(pool);

    // Resubmitting an acknowledged key finds the same eval and creates nothing.
    for (const auto& [key, request] : acked.keyed_requests) {
      json::object again = Call("/ScheduleEval", request);
      EXPECT_EQ(Str(again, "eval_id"), acked.eval_id_by_key[key]) << "key " << key;
    }
    Result<std::vector<json::object>> relisted =
        ListAll(client(), "/ListEvals", {{"pool_id", pool_id}}, "evals");
    ASSERT_TRUE(relisted.ok()) << relisted.status().message();
    EXPECT_EQ(relisted->size(), listed->size()) << "resubmitted keys created new evals";

    ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
    EXPECT_TRUE(CheckNoEvalInTwoLiveAllocs(client(), pool_id));
    EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));

    // And the restarted server keeps working.
    EXPECT_EQ(ScheduleEval(pool_id, 1).size(), 24u);
  }
};

TEST_F(CrashTest, AcknowledgedEvalsSurviveSigkillMidLoad) {
  std::string pool_id = CreatePool();
  std::vector<std::string> worker_ids = RegisterWorkers(pool_id);
  Acknowledged acked;
  std::set<std::string> completed;
  LoadKillRestart(pool_id, worker_ids, kAcknowledgedBeforeKill, 0, &acked, &completed);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_FALSE(completed.empty()) << "the workers completed nothing before the crash";
  VerifyAfterRestart(pool_id, acked, completed);
}

TEST_F(CrashTest, InvariantsHoldAcrossRepeatedKills) {
  std::string pool_id = CreatePool();
  std::vector<std::string> worker_ids = RegisterWorkers(pool_id);
  Acknowledged acked;
  std::set<std::string> completed;
  for (int round = 1; round <= 3; ++round) {
    LoadKillRestart(pool_id, worker_ids, 400, round, &acked, &completed);
    ASSERT_FALSE(HasFatalFailure()) << "round " << round;
  }
  VerifyAfterRestart(pool_id, acked, completed);
}

// SPEC: an outage must not expire the cluster. lined is down for longer than every TTL; after
// the restart each worker and alloc still gets a full TTL, and only then expires as usual.
class OutageTest : public LinedTest {
 protected:
  LinedOptions Options() override {
    LinedOptions options;
    options.env = {{"LINE_WORKER_TTL", "2"}, {"LINE_REPLICA_TTL", "2"}, {"LINE_ALLOC_TTL", "2"}};
    return options;
  }
};

TEST_F(OutageTest, RestartGivesEveryWorkerAndAllocAFullTtl) {
  std::string pool_id = CreatePool();
  std::string worker_id = RegisterWorker(pool_id, 4);
  std::string eval_id = ScheduleEval(pool_id, 2);
  json::object got = Call(
      "/ReceiveAllocs", {{"pool_id", pool_id}, {"worker_id", worker_id}, {"wait_time_seconds", 5}});
  ASSERT_EQ(Arr(got, "allocs").size(), 1u) << json::serialize(got);
  std::string alloc_id = Str(Obj(Arr(got, "allocs")[0]), "alloc_id");
  Heartbeat(pool_id, worker_id, {alloc_id}, {"d1"});

  EXPECT_EQ(lined_->Kill(SIGKILL), 128 + SIGKILL);
  // The outage outlasts every TTL; that takes real time.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  Status restarted = lined_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  client().Disconnect();

  json::object worker = DescribeWorker(pool_id, worker_id);
  EXPECT_EQ(Strings(Arr(worker, "allocs")), std::vector<std::string>{alloc_id});
  EXPECT_EQ(Strings(Arr(worker, "datasets")), std::vector<std::string>{"d1"});
  EXPECT_EQ(Str(Call("/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", alloc_id}}), "state"),
            "live");
  json::object eval = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Str(eval, "state"), "placed");
  EXPECT_EQ(Int(eval, "attempt"), 1);

  // Nobody heartbeats after the restart: expiry resumes with the fresh TTL.
  EXPECT_TRUE(Eventually(
      [&] {
        return client()
                   .Post("/DescribeWorker",
                         json::value{{"pool_id", pool_id}, {"worker_id", worker_id}})
                   .status == 404;
      },
      std::chrono::seconds(10)))
      << "the worker never expired after the restart";
  EXPECT_EQ(Str(Call("/DescribeAlloc", {{"pool_id", pool_id}, {"alloc_id", alloc_id}}), "state"),
            "expired");
}

}  // namespace
}  // namespace line::testing
