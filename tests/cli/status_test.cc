// linectl status: every pool (all pages of ListPools) with its counts, ids in full.
#include <gtest/gtest.h>

#include "cli/linectl_test_base.h"

namespace line::testing {
namespace {

class StatusTest : public LinectlTest {};

TEST_F(StatusTest, ShowsEveryPoolsCountsAtAGlance) {
  std::string busy = CreatePool({{"placement", "binpack"}});
  std::string worker = RegisterWorker(busy, 10);
  RegisterWorker(busy, 5);
  ScheduleEval(busy, 4);
  ScheduleEval(busy, 4);
  ScheduleEval(busy, 100);  // fits nowhere: pending and blocked
  ASSERT_TRUE(WaitForQuiescence(client(), busy));
  std::string idle = CreatePool();
  std::string dead = CreatePool();
  ScheduleEval(dead, 1);
  Call("/DisbandPool", {{"pool_id", dead}});

  LinectlRun run = Linectl({"status"});
  ASSERT_EQ(run.exit_code, 0) << Describe({}, run);
  EXPECT_NE(run.out.find("3 pools"), std::string::npos) << run.out;
  // POOL PLACEMENT STATE WORKERS CAPACITY FREE PENDING BLOCKED LIVE-ALLOCS DEAD-LETTERS
  EXPECT_EQ(Row(run.out, busy), (std::vector<std::string>{busy, "binpack", "active", "2", "15", "7",
                                                          "1", "1", "2", "0"}))
      << run.out;
  EXPECT_EQ(Row(run.out, idle), (std::vector<std::string>{idle, "spread", "active", "0", "0", "0",
                                                          "0", "0", "0", "0"}));
  EXPECT_EQ(Row(run.out, dead), (std::vector<std::string>{dead, "spread", "disbanded", "0", "0",
                                                          "0", "0", "0", "0", "1"}));
  EXPECT_EQ(Row(run.out, "total"),
            (std::vector<std::string>{"total", "2", "15", "7", "1", "1", "2", "1"}));
}

TEST_F(StatusTest, ReadsEveryPageOfPools) {
  // ListPools pages hold at most 1,000; 1,005 pools take two pages.
  for (int i = 0; i < 1005; ++i) CreatePool();
  std::string last = CreatePool();
  LinectlRun run = Linectl({"status"});
  ASSERT_EQ(run.exit_code, 0) << Describe({}, run);
  EXPECT_NE(run.out.find("1006 pools"), std::string::npos) << run.out.substr(0, 200);
  EXPECT_FALSE(Row(run.out, last).empty());
  EXPECT_EQ(Arr(JsonOk({"status"}), "pools").size(), 1006u);
}

TEST_F(StatusTest, NoPoolsSaysSo) { EXPECT_EQ(Ok({"status"}), "server " + server() + ": 0 pools"); }

}  // namespace
}  // namespace line::testing
