// What a command sees and what line-worker reports about it, through a real lined: the LINE_*
// environment, the output tail as `result`, exit codes of signalled and failing commands, and
// the datasets directory in heartbeats. Plus the command line itself.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "agent/worker_fixture.h"

namespace line::testing {
namespace {

using std::chrono::seconds;

class WorkerCommandTest : public WorkerTest {};

TEST_F(WorkerCommandTest, EnvironmentReachesTheCommandAndResultHoldsTheOutputTail) {
  std::string pool_id = CreatePool();
  // 5,000 bytes of 'x', an invalid byte, then the environment on stderr (merged).
  StartWorker(pool_id, 4,
              "head -c 5000 /dev/zero | tr '\\0' x; printf '\\377'; "
              "printf '|%s' \"$LINE_POOL_ID\" \"$LINE_ALLOC_ID\" \"$LINE_EVAL_ID\" "
              "\"$LINE_DATASET\" \"$LINE_SIZE\" \"$LINE_ATTEMPT\" \"$LINE_PAYLOAD\" >&2");
  std::string eval_id = ScheduleEval(pool_id, 3, "d7", json::object{{"k", {1, "two"}}});
  ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "completed", seconds(30)));
  json::object e = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(e, "exit_code"), 0);
  // `result` is a JSON string on the wire; Str decodes it.
  ASSERT_TRUE(e.at("result").is_string()) << json::serialize(e);
  std::string text = Str(e, "result");

  std::string env =
      "|" + pool_id + "|" + Str(e, "alloc_id") + "|" + eval_id + "|d7|3|1|" + R"({"k":[1,"two"]})";
  ASSERT_GT(text.size(), env.size());
  EXPECT_EQ(text.substr(text.size() - env.size()), env);
  // The last 4,096 bytes, with the invalid byte (1) replaced by U+FFFD (3).
  EXPECT_EQ(text.size(), 4096u + 2);
  std::string before_env = text.substr(0, text.size() - env.size());
  EXPECT_EQ(before_env.substr(before_env.size() - 3), "\xEF\xBF\xBD");
  EXPECT_EQ(before_env.find_first_not_of('x'), before_env.size() - 3);
}

TEST_F(WorkerCommandTest, ASignalledCommandReports128PlusNAndIsRetriedUntilDead) {
  std::string pool_id = Str(Call("/CreatePool", {{"max_retry", 2}}), "pool_id");
  StartWorker(pool_id, 1, "echo \"$LINE_ATTEMPT\" >> " + Path("attempts") + "; kill -KILL $$");
  std::string eval_id = ScheduleEval(pool_id, 1);
  ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "dead", seconds(30)));
  json::object e = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(e, "exit_code"), 128 + SIGKILL) << json::serialize(e);
  const json::array& history = Arr(e, "history");
  ASSERT_EQ(history.size(), 2u) << json::serialize(e);
  EXPECT_EQ(Str(Obj(history[0]), "reason"), "failed with exit code 137");
  EXPECT_EQ(Lines(Path("attempts")), (std::vector<std::string>{"1", "2"}));
  Result<std::vector<json::object>> dead =
      ListAll(client(), "/ListDeadLetters", {{"pool_id", pool_id}}, "dead_letters");
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE(Str((*dead)[0], "reason").find("exit code 137"), std::string::npos)
      << json::serialize((*dead)[0]);
}

TEST_F(WorkerCommandTest, ANonZeroExitIsReportedFailedAndTheRetryRuns) {
  std::string pool_id = CreatePool();
  StartWorker(pool_id, 2, "echo attempt $LINE_ATTEMPT; [ \"$LINE_ATTEMPT\" -ge 2 ]");
  std::string eval_id = ScheduleEval(pool_id, 1);
  ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "completed", seconds(30)));
  json::object e = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(Int(e, "attempt"), 2) << json::serialize(e);
  EXPECT_EQ(Int(e, "exit_code"), 0);
  EXPECT_EQ(Str(e, "result"), "attempt 2\n");
  const json::array& history = Arr(e, "history");
  ASSERT_EQ(history.size(), 2u) << json::serialize(e);
  EXPECT_EQ(Str(Obj(history[0]), "reason"), "failed with exit code 1");
  EXPECT_EQ(Str(Obj(history[1]), "reason"), "completed");
}

TEST_F(WorkerCommandTest, HeartbeatsListTheDatasetsDirectoryAsItChanges) {
  std::string pool_id = CreatePool();
  std::filesystem::path dir = scratch_.path() / "datasets";
  std::filesystem::create_directory(dir);
  std::ofstream(dir / "d1") << "x";
  std::ofstream(dir / ".tmp-d2") << "x";
  std::ofstream(dir / "bad name") << "x";
  WorkerProcess& worker =
      StartWorker(pool_id, 2, "true", {"--datasets-dir", dir.string(), "--dataset", "extra"});
  auto datasets = [&] {
    std::vector<json::object> workers = Workers(pool_id);
    return workers.size() == 1 ? Strings(Arr(workers[0], "datasets")) : std::vector<std::string>{};
  };
  ASSERT_TRUE(Eventually(
      [&] {
        return datasets() == std::vector<std::string>{"d1", "extra"};
      },
      seconds(10)))
      << ::testing::PrintToString(datasets());
  std::filesystem::rename(dir / ".tmp-d2", dir / "d2");  // a finished download
  ASSERT_TRUE(Eventually(
      [&] {
        return datasets() == std::vector<std::string>{"d1", "d2", "extra"};
      },
      seconds(10)))
      << ::testing::PrintToString(datasets());

  std::string eval_id = ScheduleEval(pool_id, 1, "d2");
  ASSERT_TRUE(WaitForEvalState(pool_id, eval_id, "completed", seconds(30)));
  EXPECT_TRUE(Bool(Obj(Arr(DescribeEval(pool_id, eval_id), "history").at(0)), "locality"));
  std::string log = worker.Log();
  EXPECT_NE(log.find("skipping 'bad name'"), std::string::npos) << log;
  EXPECT_NE(log.find("skipping '.tmp-d2'"), std::string::npos) << log;
}

TEST_F(WorkerCommandTest, ARefusedRegistrationExitsOne) {
  auto [code, output] = RunWorkerToExit(
      {"--server", server(), "--pool", "00000000000000000000", "--capacity", "1", "--exec", "true"},
      seconds(30));
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("PoolNotFound"), std::string::npos) << output;
}

TEST(WorkerUsageTest, HelpAndUsageErrors) {
  auto [help_code, help] = RunWorkerToExit({"--help"}, seconds(10));
  EXPECT_EQ(help_code, 0);
  EXPECT_NE(help.find("usage: line-worker"), std::string::npos) << help;
  auto [code, output] = RunWorkerToExit({"--pool", "p", "--capacity", "0"}, seconds(10));
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("--capacity must be"), std::string::npos) << output;
}

}  // namespace
}  // namespace line::testing
