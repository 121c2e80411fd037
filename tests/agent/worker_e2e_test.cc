// line-worker processes against a real lined: many evals exactly once, a killed worker, a
// command that outlives every TTL, a drain on SIGTERM, lined restarted under running workers,
// and a registration that expired while the worker was frozen.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <set>

#include "agent/worker_fixture.h"

namespace line::testing {
namespace {

using std::chrono::seconds;

// Appends the eval id to `started`, then waits for the file `gate` to exist.
std::string GatedCommand(const std::string& started, const std::string& gate) {
  return "echo \"$LINE_EVAL_ID\" >> " + started + "; while [ ! -e " + gate +
         " ]; do sleep 0.05; done";
}

std::vector<std::string> SubmitBatch(HttpClient& client, const std::string& pool_id, int n,
                                     int first) {
  json::array evals;
  for (int i = first; i < first + n; ++i) {
    evals.push_back(json::object{{"size", 1 + i % 3}, {"payload", {{"i", i}}}});
  }
  json::object answer = CallOk(client, "/ScheduleEvals", {{"pool_id", pool_id}, {"evals", evals}});
  return Strings(Arr(answer, "eval_ids"));
}

class WorkerE2eTest : public WorkerTest {};

TEST_F(WorkerE2eTest, ThreeWorkersRunThreeHundredEvalsExactlyOnce) {
  std::string pool_id = CreatePool();
  std::string out = Path("ran.txt");
  for (int i = 0; i < 3; ++i) StartWorker(pool_id, 8, "echo \"$LINE_EVAL_ID\" >> " + out);

  std::set<std::string> submitted;
  for (int first = 0; first < 300; first += 100) {
    std::vector<std::string> ids = SubmitBatch(client(), pool_id, 100, first);
    ASSERT_EQ(ids.size(), 100u);
    submitted.insert(ids.begin(), ids.end());
  }
  ASSERT_EQ(submitted.size(), 300u);
  ASSERT_TRUE(WaitUntilSettled(pool_id, seconds(120))) << json::serialize(DescribePool(pool_id));

  // Every id ran, once.
  std::vector<std::string> ran = Lines(out);
  EXPECT_EQ(ran.size(), 300u);
  EXPECT_EQ(std::set<std::string>(ran.begin(), ran.end()), submitted);

  // Every eval completed exactly once: one placement in its history, ended by completion.
  std::vector<json::object> evals = Evals(pool_id);
  ASSERT_EQ(evals.size(), 300u);
  std::set<std::string> workers_used;
  for (const json::object& e : evals) {
    EXPECT_EQ(Str(e, "state"), "completed") << json::serialize(e);
    EXPECT_EQ(Int(e, "attempt"), 1) << json::serialize(e);
    EXPECT_EQ(Int(e, "exit_code"), 0) << json::serialize(e);
    const json::array& history = Arr(e, "history");
    ASSERT_EQ(history.size(), 1u) << json::serialize(e);
    EXPECT_EQ(Str(Obj(history[0]), "reason"), "completed") << json::serialize(e);
    workers_used.insert(Str(e, "worker_id"));
  }
  EXPECT_EQ(workers_used.size(), 3u) << "spread placement uses every worker";
  EXPECT_EQ(Int(DescribePool(pool_id), "dead_letters"), 0);
  ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));
  EXPECT_TRUE(CheckNoEvalInTwoLiveAllocs(client(), pool_id));
}

TEST_F(WorkerE2eTest, AKilledWorkersEvalsArePlacedOnTheOthersAndComplete) {
  std::string pool_id = CreatePool();
  std::string started = Path("started.txt"), gate = Path("gate");
  WorkerProcess& doomed = StartWorker(pool_id, 2, GatedCommand(started, gate));
  std::string a = ScheduleEval(pool_id, 1), b = ScheduleEval(pool_id, 1);
  ASSERT_TRUE(WaitForLines(started, 2, seconds(30)));
  std::vector<json::object> before = Workers(pool_id);
  ASSERT_EQ(before.size(), 1u);
  std::string doomed_id = Str(before[0], "worker_id");

  StartWorker(pool_id, 4, GatedCommand(started, gate));
  ASSERT_TRUE(Eventually([&] { return Workers(pool_id).size() == 2; }, seconds(30)));
  doomed.Signal(SIGKILL);
  ASSERT_EQ(doomed.WaitExit(seconds(10)), 128 + SIGKILL);
  Touch(gate);  // the survivor's runs finish at once

  for (const std::string& eval_id : {a, b}) {
    ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "completed", seconds(30)));
    json::object e = DescribeEval(pool_id, eval_id);
    EXPECT_EQ(Int(e, "attempt"), 2) << json::serialize(e);
    EXPECT_NE(Str(e, "worker_id"), doomed_id) << json::serialize(e);
    const json::array& history = Arr(e, "history");
    ASSERT_EQ(history.size(), 2u) << json::serialize(e);
    EXPECT_EQ(Str(Obj(history[0]), "worker_id"), doomed_id);
    EXPECT_EQ(Str(Obj(history[0]), "reason"), "worker expired");
    EXPECT_EQ(Str(Obj(history[1]), "reason"), "completed");
  }
  ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));
}

TEST_F(WorkerE2eTest, ACommandLongerThanEveryTtlCompletesOnItsFirstAttempt) {
  std::string pool_id = CreatePool();
  StartWorker(pool_id, 2, "sleep 5; echo done");  // worker and alloc TTL are 2 s
  std::string eval_id = ScheduleEval(pool_id, 2);
  ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "completed", seconds(40)));
  json::object e = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(e, "attempt"), 1) << json::serialize(e);
  EXPECT_EQ(Arr(e, "history").size(), 1u) << json::serialize(e);
  EXPECT_EQ(Str(e, "result"), "done\n") << json::serialize(e);
}

TEST_F(WorkerE2eTest, SigtermDrainsDeregistersAndFailsNothing) {
  std::string pool_id = CreatePool();
  std::string started = Path("started.txt"), gate = Path("gate");
  WorkerProcess& worker = StartWorker(pool_id, 3, GatedCommand(started, gate));
  std::vector<std::string> evals = {ScheduleEval(pool_id, 1), ScheduleEval(pool_id, 1),
                                    ScheduleEval(pool_id, 1)};
  ASSERT_TRUE(WaitForLines(started, 3, seconds(30)));
  std::string worker_id = Str(Workers(pool_id).at(0), "worker_id");

  worker.Signal(SIGTERM);
  ASSERT_TRUE(Eventually([&] { return Bool(DescribeWorker(pool_id, worker_id), "draining"); },
                         seconds(10)));
  std::string late = ScheduleEval(pool_id, 1);  // must not land on the draining worker
  Touch(gate);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0) << worker.Log();

  EXPECT_TRUE(Workers(pool_id).empty()) << "the worker deregistered";
  for (const std::string& eval_id : evals) {
    json::object e = DescribeEval(pool_id, eval_id);
    EXPECT_EQ(Str(e, "state"), "completed") << json::serialize(e);
    EXPECT_EQ(Int(e, "attempt"), 1) << json::serialize(e);
  }
  json::object l = DescribeEval(pool_id, late);
  EXPECT_EQ(Str(l, "state"), "pending") << json::serialize(l);
  EXPECT_EQ(Arr(l, "history").size(), 0u) << json::serialize(l);
  EXPECT_EQ(Lines(started).size(), 3u);
  EXPECT_EQ(Int(DescribePool(pool_id), "dead_letters"), 0);
  EXPECT_NE(worker.Log().find("deregistered"), std::string::npos);
}

TEST_F(WorkerE2eTest, SigtermAfterTheGraceKillsAndReportsFailed) {
  std::string pool_id = Str(Call("/CreatePool", {{"max_retry", 1}}), "pool_id");
  WorkerProcess& worker = StartWorker(pool_id, 1, "echo running; exec sleep 60", {"--grace", "1"});
  std::string eval_id = ScheduleEval(pool_id, 1);
  ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "placed", seconds(30)));
  ASSERT_TRUE(Eventually([&] { return worker.Log().find("started pid") != std::string::npos; },
                         seconds(10)));
  worker.Signal(SIGINT);
  ASSERT_EQ(worker.WaitExit(seconds(30)), 0) << worker.Log();
  json::object e = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Str(e, "state"), "dead") << json::serialize(e);  // failed, and max_retry is 1
  EXPECT_EQ(Int(e, "exit_code"), 128 + SIGKILL) << json::serialize(e);
  EXPECT_EQ(Str(e, "result"), "running\n") << json::serialize(e);
}

TEST_F(WorkerE2eTest, RestartingLinedUnderRunningWorkersLosesNothing) {
  std::string pool_id = CreatePool();
  std::string started = Path("started.txt"), gate = Path("gate");
  StartWorker(pool_id, 4, GatedCommand(started, gate));
  StartWorker(pool_id, 4, GatedCommand(started, gate));
  ASSERT_TRUE(Eventually([&] { return Workers(pool_id).size() == 2; }, seconds(30)));
  std::vector<std::string> evals;
  for (int i = 0; i < 12; ++i) evals.push_back(ScheduleEval(pool_id, 1));
  ASSERT_TRUE(WaitForLines(started, 8, seconds(30)));  // 8 run, 4 wait for capacity

  ASSERT_TRUE(lined_->Restart().ok());
  Touch(gate);
  ASSERT_TRUE(WaitUntilSettled(pool_id, seconds(60))) << json::serialize(DescribePool(pool_id));
  for (const std::string& eval_id : evals) {
    json::object e = DescribeEval(pool_id, eval_id);
    EXPECT_EQ(Str(e, "state"), "completed") << json::serialize(e);
    EXPECT_EQ(Int(e, "attempt"), 1) << json::serialize(e);
  }
  std::vector<std::string> ran = Lines(started);
  EXPECT_EQ(ran.size(), 12u);
  EXPECT_EQ(std::set<std::string>(ran.begin(), ran.end()),
            std::set<std::string>(evals.begin(), evals.end()));
  EXPECT_EQ(Workers(pool_id).size(), 2u) << "the workers carried on";
  ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));
}

TEST_F(WorkerE2eTest, RegistersAgainWhenItsRegistrationExpiredAndStillReports) {
  std::string pool_id = CreatePool();
  std::string started = Path("started.txt"), gate = Path("gate");
  WorkerProcess& worker = StartWorker(pool_id, 1, GatedCommand(started, gate));
  std::string eval_id = ScheduleEval(pool_id, 1);
  ASSERT_TRUE(WaitForLines(started, 1, seconds(30)));
  std::string first_id = Str(Workers(pool_id).at(0), "worker_id");

  // A frozen agent cannot heartbeat: lined forgets it (its command runs on, in its own group).
  worker.Signal(SIGSTOP);
  bool expired = Eventually([&] { return Workers(pool_id).empty(); }, seconds(30));
  Touch(gate);  // the command ends while the agent is frozen
  worker.Signal(SIGCONT);
  ASSERT_TRUE(expired);

  ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "completed", seconds(30)));
  std::vector<json::object> workers = Workers(pool_id);
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_NE(Str(workers[0], "worker_id"), first_id) << "a new registration";
  json::object e = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(e, "attempt"), 2) << json::serialize(e);  // its first alloc expired
  EXPECT_EQ(Str(e, "worker_id"), Str(workers[0], "worker_id"));
  std::string log = worker.Log();
  EXPECT_NE(log.find("registered again"), std::string::npos);
  EXPECT_NE(log.find("had already ended"), std::string::npos) << "the late completion's 409";
}

}  // namespace
}  // namespace line::testing
