// The exit codes scripts rely on: 0 ok, 1 the API refused (its code and message on stderr),
// 2 usage (with help), 3 unreachable within about 3 s; --help at every level exits 0.
#include <gtest/gtest.h>

#include "cli/linectl_test_base.h"

namespace line::testing {
namespace {

class ExitCodesTest : public LinectlTest {};

TEST_F(ExitCodesTest, ApiRefusalExitsOneWithTheApisCodeAndMessage) {
  LinectlRun missing = Linectl({"pool", "describe", "--pool", "00000000000000000000"});
  EXPECT_EQ(missing.exit_code, 1) << Describe({}, missing);
  EXPECT_NE(missing.err.find("404 PoolNotFound"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("00000000000000000000"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty()) << missing.out;

  std::string pool = CreatePool();
  LinectlRun bad_size = Linectl({"eval", "submit", "--pool", pool, "--size", "0", "--json"});
  EXPECT_EQ(bad_size.exit_code, 1);
  EXPECT_NE(bad_size.err.find("400 InvalidInput"), std::string::npos) << bad_size.err;
  EXPECT_NE(bad_size.err.find("size"), std::string::npos) << "the message names the field";
  EXPECT_TRUE(bad_size.out.empty()) << "no JSON document for a refused call";
  EXPECT_EQ(Int(DescribePool(pool), "pending_evals"), 0);

  LinectlRun bad_placement = Linectl({"pool", "create", "--placement", "random"});
  EXPECT_EQ(bad_placement.exit_code, 1);
  EXPECT_NE(bad_placement.err.find("placement"), std::string::npos) << bad_placement.err;
}

TEST_F(ExitCodesTest, UsageErrorsExitTwoWithAHint) {
  std::string pool = CreatePool();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{}, "no command given"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"pool"}, "needs a subcommand"},
      {{"pool", "describe"}, "missing --pool"},
      {{"pools", "--colour", "red"}, "has no option --colour"},
      {{"eval", "submit", "--pool", pool}, "missing --size"},
      {{"eval", "submit", "--pool", pool, "--size", "three"}, "--size must be an integer"},
      {{"eval", "submit", "--pool", pool, "--size", "1", "--payload", "{oops"}, "--payload"},
      {{"eval", "submit", "--pool", pool, "--size", "1", "--pool", pool}, "more than once"},
      {{"alloc", "complete", "--pool", pool, "--alloc"}, "--alloc needs a value"},
      {{"evals", "--pool", pool, "--max-results", "5000"}, "--max-results"},
      {{"health", "-x"}, "unknown option '-x'"},
  };
  for (const Case& c : cases) {
    LinectlRun run = Linectl(c.args);
    EXPECT_EQ(run.exit_code, 2) << Describe(c.args, run);
    EXPECT_NE(run.err.find(c.says), std::string::npos) << Describe(c.args, run);
    EXPECT_NE(run.err.find("--help"), std::string::npos) << "points at help: " << run.err;
  }
  EXPECT_EQ(Int(DescribePool(pool), "pending_evals"), 0) << "usage errors send nothing";
}

TEST_F(ExitCodesTest, HelpAtEveryLevelPrintsUsageAndExitsZero) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"-h"},
                                             {"pool", "--help"},
                                             {"pool", "create", "--help"},
                                             {"eval", "submit", "-h"},
                                             {"dead-letters", "redrive", "--help"},
                                             {"--help", "alloc", "complete"}}) {
    LinectlRun run = RunLinectl(args);  // no server needed
    EXPECT_EQ(run.exit_code, 0) << Describe(args, run);
    EXPECT_EQ(run.out.rfind("Usage: linectl", 0), 0u) << run.out;
  }
  LinectlRun top = RunLinectl({"--help"});
  for (const char* command :
       {"status", "health", "pool create", "pools", "worker heartbeat", "workers", "eval submit",
        "evals", "alloc receive", "allocs", "dead-letters redrive"}) {
    EXPECT_NE(top.out.find(std::string("  ") + command + " "), std::string::npos) << command;
  }
  EXPECT_NE(RunLinectl({"pool", "create", "--help"}).out.find("--placement spread|binpack"),
            std::string::npos);
}

TEST_F(ExitCodesTest, UnreachableServerExitsThreeWithinAboutThreeSeconds) {
  int dead_port = FreePort();
  LinectlRun run =
      RunLinectl({"status", "--server", "http://127.0.0.1:" + std::to_string(dead_port)});
  EXPECT_EQ(run.exit_code, 3) << Describe({}, run);
  EXPECT_NE(run.err.find("cannot reach"), std::string::npos) << run.err;
  EXPECT_LT(run.elapsed, std::chrono::milliseconds(5000)) << "the retry budget is 3 s";
  EXPECT_GE(run.elapsed, std::chrono::milliseconds(2000)) << "it retries for the budget";

  LinectlRun bad_address = RunLinectl({"health", "--server", "ftp://nowhere"});
  EXPECT_EQ(bad_address.exit_code, 2) << Describe({}, bad_address);
}

TEST_F(ExitCodesTest, LineServerPicksTheServerAndServerFlagWins) {
  LinectlRun from_env = RunLinectl({"health"}, {.env = {{"LINE_SERVER", server()}}});
  EXPECT_EQ(from_env.exit_code, 0) << Describe({}, from_env);
  EXPECT_EQ(from_env.out, "ok " + server() + "\n");

  int dead_port = FreePort();
  LinectlRun flag_wins =
      RunLinectl({"health", "--server", server()},
                 {.env = {{"LINE_SERVER", "http://127.0.0.1:" + std::to_string(dead_port)}}});
  EXPECT_EQ(flag_wins.exit_code, 0) << Describe({}, flag_wins);
}

}  // namespace
}  // namespace line::testing
