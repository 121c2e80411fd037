// Every linectl subcommand against a live lined, in the order a pool's life uses them, with
// the default table output checked for full ids and the effect checked through the API.
#include <gtest/gtest.h>

#include "cli/linectl_test_base.h"

namespace line::testing {
namespace {

class CommandsTest : public LinectlTest {};

TEST_F(CommandsTest, EverySubcommandWorksAgainstALiveServer) {
  EXPECT_EQ(Ok({"health"}), "ok " + server());

  std::string pool =
      Ok({"pool", "create", "--placement", "binpack", "--max-retry", "1", "--alloc-ttl", "60"});
  ASSERT_EQ(pool.size(), 24u) << "pool create prints the bare id: " << pool;
  std::string described = Ok({"pool", "describe", "--pool", pool});
  EXPECT_NE(described.find("placement:      binpack"), std::string::npos) << described;
  EXPECT_NE(described.find("max_retry:      1"), std::string::npos) << described;
  EXPECT_NE(described.find("alloc_ttl:      60"), std::string::npos) << described;
  EXPECT_NE(described.find("owner:          127.0.0.1:"), std::string::npos) << described;
  EXPECT_EQ(Row(Ok({"pools"}), pool).at(1), "binpack");

  std::string worker = Ok({"worker", "register", "--pool", pool, "--capacity", "8"});
  ASSERT_EQ(worker.size(), 24u) << worker;
  EXPECT_EQ(Ok({"worker", "heartbeat", "--pool", pool, "--worker", worker, "--dataset", "d1",
                "--dataset", "d2"}),
            "unknown allocs: -");
  std::vector<std::string> worker_row = Row(Ok({"workers", "--pool", pool}), worker);
  ASSERT_FALSE(worker_row.empty()) << "the workers table shows the full worker id";
  EXPECT_EQ(worker_row.back(), "d1,d2");
  EXPECT_NE(
      Ok({"worker", "describe", "--pool", pool, "--worker", worker}).find("datasets:   d1,d2"),
      std::string::npos);

  std::string eval = Ok({"eval", "submit", "--pool", pool, "--dataset", "d2", "--size", "3",
                         "--payload", R"({"cmd":"train"})"});
  ASSERT_EQ(eval.size(), 24u) << eval;
  std::string received =
      Ok({"alloc", "receive", "--pool", pool, "--worker", worker, "--max", "5", "--wait", "5"});
  std::vector<std::string> alloc_row;
  std::istringstream lines(received);
  std::string line;
  std::getline(lines, line);  // header
  std::getline(lines, line);
  std::string alloc = line.substr(0, 24);
  alloc_row = Row(received, alloc);
  ASSERT_GE(alloc_row.size(), 6u) << received;
  EXPECT_EQ(alloc_row[1], eval);
  EXPECT_EQ(alloc_row[2], "d2");
  EXPECT_EQ(alloc_row[5], R"({"cmd":"train"})");

  std::vector<std::string> live = Row(Ok({"allocs", "--pool", pool, "--state", "live"}), alloc);
  ASSERT_GE(live.size(), 7u);
  EXPECT_EQ(live[1], "live");
  EXPECT_EQ(live[2], worker);
  EXPECT_EQ(live[6], "yes") << "placed near d2: a locality hit";
  EXPECT_NE(Ok({"allocs", "--pool", pool, "--worker", worker}).find(alloc), std::string::npos);
  EXPECT_NE(Ok({"alloc", "describe", "--pool", pool, "--alloc", alloc}).find("state:       live"),
            std::string::npos);
  EXPECT_EQ(Ok({"worker", "heartbeat", "--pool", pool, "--worker", worker, "--alloc", alloc,
                "--alloc", "00000000000000000000", "--dataset", "d1"}),
            "unknown allocs: 00000000000000000000");

  EXPECT_EQ(Ok({"alloc", "complete", "--pool", pool, "--alloc", alloc, "--worker", worker,
                "--exit-code", "0", "--result", R"({"accuracy":1})"}),
            "completed alloc " + alloc);
  std::string done = Ok({"eval", "describe", "--pool", pool, "--eval", eval});
  EXPECT_NE(done.find("state:       completed"), std::string::npos) << done;
  EXPECT_NE(done.find(R"(result:      {"accuracy":1})"), std::string::npos) << done;
  EXPECT_EQ(Row(done, alloc).at(1), worker) << "history row: alloc, worker, ...";
  EXPECT_EQ(Row(Ok({"evals", "--pool", pool, "--state", "completed"}), eval).at(1), "completed");

  // A failed completion with max_retry 1 dead-letters the eval; redrive makes it pending.
  std::string doomed = Ok({"eval", "submit", "--pool", pool, "--size", "2"});
  json::object again =
      JsonOk({"alloc", "receive", "--pool", pool, "--worker", worker, "--wait", "5"});
  ASSERT_EQ(Arr(again, "allocs").size(), 1u);
  std::string doomed_alloc = Str(Obj(Arr(again, "allocs")[0]), "alloc_id");
  Ok({"alloc", "complete", "--pool", pool, "--alloc", doomed_alloc, "--exit-code", "7",
      "--failed"});
  EXPECT_EQ(Row(Ok({"evals", "--pool", pool, "--state", "dead"}), doomed).at(1), "dead");
  std::vector<std::string> letter = Row(Ok({"dead-letters", "--pool", pool}), doomed);
  ASSERT_GE(letter.size(), 4u);
  EXPECT_EQ(letter[3], "1") << "attempts";
  Ok({"worker", "drain", "--pool", pool, "--worker", worker});
  EXPECT_TRUE(Bool(DescribeWorker(pool, worker), "draining"));
  EXPECT_EQ(Ok({"dead-letters", "redrive", "--pool", pool, "--eval", doomed}), "redriven: 1");
  EXPECT_EQ(Str(DescribeEval(pool, doomed), "state"), "pending")
      << "redriven, and the only worker is draining";

  EXPECT_EQ(Ok({"worker", "deregister", "--pool", pool, "--worker", worker}),
            "deregistered worker " + worker);
  EXPECT_EQ(Int(DescribePool(pool), "workers"), 0);
  EXPECT_EQ(Ok({"pool", "disband", "--pool", pool}), "disbanded pool " + pool);
  EXPECT_TRUE(Bool(DescribePool(pool), "disbanded"));
  std::vector<std::string> status_row = Row(Ok({"status"}), pool);
  ASSERT_GE(status_row.size(), 3u);
  EXPECT_EQ(status_row[2], "disbanded");
}

TEST_F(CommandsTest, RedriveWithoutEvalsRedrivesEveryDeadLetter) {
  std::string pool = CreatePool();
  for (int i = 0; i < 3; ++i) ScheduleEval(pool, 1);
  Call("/DisbandPool", {{"pool_id", pool}});  // its pending evals become dead letters
  EXPECT_EQ(Int(DescribePool(pool), "dead_letters"), 3);
  LinectlRun run = Linectl({"dead-letters", "redrive", "--pool", pool});
  EXPECT_EQ(run.exit_code, 1) << "a disbanded pool refuses redrives: " << run.err;
  EXPECT_NE(run.err.find("PoolDisbanded"), std::string::npos) << run.err;

  std::string live_pool = CreatePool({{"max_retry", 1}});
  std::string worker = RegisterWorker(live_pool, 4);
  for (int i = 0; i < 2; ++i) {
    std::string eval = ScheduleEval(live_pool, 1);
    json::object got =
        Call("/ReceiveAllocs",
             {{"pool_id", live_pool}, {"worker_id", worker}, {"wait_time_seconds", 5}});
    ASSERT_EQ(Arr(got, "allocs").size(), 1u);
    Call("/CompleteAlloc", {{"pool_id", live_pool},
                            {"alloc_id", Str(Obj(Arr(got, "allocs")[0]), "alloc_id")},
                            {"failed", true}});
  }
  EXPECT_EQ(Int(DescribePool(live_pool), "dead_letters"), 2);
  json::object redriven = JsonOk({"dead-letters", "redrive", "--pool", live_pool});
  EXPECT_EQ(Int(redriven, "redriven"), 2);
  EXPECT_EQ(Int(DescribePool(live_pool), "dead_letters"), 0);
}

}  // namespace
}  // namespace line::testing
