#include "agent/options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace line::agent {
namespace {

GetEnv Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const std::vector<std::string> kMinimal = {"--pool", "p1", "--capacity", "8", "--exec", "true"};

TEST(WorkerOptionsTest, ParsesEveryFlag) {
  ParsedArgs p =
      ParseWorkerArgs({"--server", "http://h:1", "--pool", "p1", "--capacity=8", "--datasets-dir",
                       "/data", "--dataset", "d1", "--dataset=d2", "--exec", "echo $LINE_EVAL_ID",
                       "--grace", "5", "--log-level", "debug"},
                      Env({}));
  ASSERT_EQ(p.error, "");
  EXPECT_FALSE(p.help);
  EXPECT_EQ(p.options.server, "http://h:1");
  EXPECT_EQ(p.options.pool_id, "p1");
  EXPECT_EQ(p.options.capacity, 8);
  EXPECT_EQ(p.options.datasets_dir, "/data");
  EXPECT_EQ(p.options.datasets, (std::vector<std::string>{"d1", "d2"}));
  EXPECT_EQ(p.options.exec, "echo $LINE_EVAL_ID");
  EXPECT_EQ(p.options.grace, std::chrono::seconds(5));
  EXPECT_EQ(p.options.log_level, "debug");
}

TEST(WorkerOptionsTest, DefaultsAndLineServer) {
  ParsedArgs p = ParseWorkerArgs(kMinimal, Env({{"LINE_SERVER", "http://env:2"}}));
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.options.server, "http://env:2");
  EXPECT_EQ(p.options.grace, std::chrono::seconds(30));
  EXPECT_TRUE(p.options.datasets.empty());

  std::vector<std::string> args = kMinimal;
  args.insert(args.end(), {"--server", "http://flag:3"});
  EXPECT_EQ(ParseWorkerArgs(args, Env({{"LINE_SERVER", "http://env:2"}})).options.server,
            "http://flag:3");
}

TEST(WorkerOptionsTest, Help) {
  EXPECT_TRUE(ParseWorkerArgs({"--help"}, Env({})).help);
  EXPECT_NE(WorkerUsage().find("--datasets-dir"), std::string::npos);
}

TEST(WorkerOptionsTest, ErrorsNameTheFlagAndValue) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{"--capacity", "8", "--exec", "true"}, "--pool is required"},
      {{"--pool", "p", "--exec", "true"}, "--capacity is required"},
      {{"--pool", "p", "--capacity", "8"}, "--exec is required"},
      {{"--pool", "p", "--capacity", "0", "--exec", "x"}, "--capacity must be an integer"},
      {{"--pool", "p", "--capacity", "2147483648", "--exec", "x"}, "got '2147483648'"},
      {{"--pool", "p", "--capacity", "8x", "--exec", "x"}, "got '8x'"},
      {{"--pool", "p", "--capacity", "1", "--exec", "x", "--grace", "-1"}, "--grace must be"},
      {{"--pool", "p", "--capacity", "1", "--exec", "x", "--dataset", "a b"}, "got 'a b'"},
      {{"--pool", "p", "--capacity", "1", "--exec", "x", "--log-level", "loud"}, "--log-level"},
      {{"--pool", "p", "--bogus"}, "unknown argument: --bogus"},
      {{"--pool"}, "--pool needs a value"},
  };
  for (const Case& c : cases) {
    ParsedArgs p = ParseWorkerArgs(c.args, Env({}));
    EXPECT_NE(p.error.find(c.expected), std::string::npos)
        << "args " << ::testing::PrintToString(c.args) << " gave error '" << p.error << "'";
  }
}

}  // namespace
}  // namespace line::agent
