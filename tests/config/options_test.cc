// Configuration: LINE_* variables, flags that win over them, and errors that name the knob.
#include "config/options.h"

#include <gtest/gtest.h>

#include <map>

namespace line {
namespace {

std::map<std::string, std::string>* g_env = nullptr;

const char* FakeEnv(const char* name) {
  auto it = g_env->find(name);
  return it == g_env->end() ? nullptr : it->second.c_str();
}

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override { g_env = &env_; }
  Result<ParsedCommandLine> Parse(std::vector<std::string> args) {
    return ParseCommandLine(args, &FakeEnv);
  }
  std::map<std::string, std::string> env_;
};

TEST_F(OptionsTest, DefaultsMatchSpec) {
  auto parsed = Parse({});
  ASSERT_TRUE(parsed.ok());
  const Options& o = parsed->options;
  EXPECT_EQ(o.deployment, "line");
  EXPECT_EQ(o.pool_ttl, 300);
  EXPECT_EQ(o.worker_ttl, 30);
  EXPECT_EQ(o.replica_ttl, 60);
  EXPECT_EQ(o.alloc_ttl, 30);
  EXPECT_EQ(o.max_retry, 3);
  EXPECT_EQ(o.visibility_timeout, 10);
  EXPECT_EQ(o.max_body, 8388608);
  EXPECT_EQ(o.store, "sqlite:line-data/line.db");
  EXPECT_EQ(o.listen, "127.0.0.1:8080");
  EXPECT_TRUE(o.Validate().ok());
}

TEST_F(OptionsTest, EnvironmentSetsAndFlagWins) {
  env_["LINE_WORKER_TTL"] = "7";
  env_["LINE_DEPLOYMENT"] = "prod";
  auto parsed = Parse({"--worker-ttl", "9", "--listen=127.0.0.1:9000"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->options.worker_ttl, 9);
  EXPECT_EQ(parsed->options.deployment, "prod");
  EXPECT_EQ(parsed->options.listen, "127.0.0.1:9000");
}

TEST_F(OptionsTest, NonNumberNamesTheVariable) {
  env_["LINE_ALLOC_TTL"] = "abc";
  auto parsed = Parse({});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("LINE_ALLOC_TTL"), std::string::npos);
  EXPECT_NE(parsed.status().message().find("abc"), std::string::npos);
}

TEST_F(OptionsTest, ZeroOrNegativeTtlIsRejectedByName) {
  for (const char* name : {"LINE_POOL_TTL", "LINE_WORKER_TTL", "LINE_REPLICA_TTL",
                           "LINE_ALLOC_TTL", "LINE_MAX_RETRY"}) {
    for (const char* value : {"0", "-1"}) {
      env_.clear();
      env_[name] = value;
      auto parsed = Parse({});
      ASSERT_TRUE(parsed.ok()) << name;
      Status valid = parsed->options.Validate();
      EXPECT_FALSE(valid.ok()) << name << "=" << value;
      EXPECT_NE(valid.message().find(name), std::string::npos) << valid.message();
    }
  }
}

TEST_F(OptionsTest, UnknownFlagAndMissingValueAreErrors) {
  EXPECT_FALSE(Parse({"--no-such-flag", "1"}).ok());
  auto missing = Parse({"--worker-ttl"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("worker-ttl"), std::string::npos);
  auto bad_flag = Parse({"--max-retry", "x"});
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_NE(bad_flag.status().message().find("LINE_MAX_RETRY"), std::string::npos);
}

TEST_F(OptionsTest, HelpListsEveryVariable) {
  std::string help = HelpText();
  for (const char* name :
       {"LINE_DEPLOYMENT", "LINE_POOL_TTL", "LINE_WORKER_TTL", "LINE_REPLICA_TTL",
        "LINE_ALLOC_TTL", "LINE_MAX_RETRY", "LINE_VISIBILITY_TIMEOUT", "LINE_MAX_BODY",
        "LINE_STORE", "LINE_LISTEN"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
  EXPECT_TRUE(Parse({"--help"})->help);
}

}  // namespace
}  // namespace line

namespace line {
namespace {

class OptionsEdgeTest : public OptionsTest {};

TEST_F(OptionsEdgeTest, FlagWinsEvenOverAnInvalidVariable) {
  env_["LINE_WORKER_TTL"] = "abc";
  auto parsed = Parse({"--worker-ttl", "5"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->options.worker_ttl, 5);
}

TEST_F(OptionsEdgeTest, HugeDurationsAreRefusedByName) {
  env_["LINE_WORKER_TTL"] = "9223372036854775";
  auto parsed = Parse({});
  ASSERT_TRUE(parsed.ok());
  Status valid = parsed->options.Validate();
  EXPECT_FALSE(valid.ok());
  EXPECT_NE(valid.message().find("LINE_WORKER_TTL"), std::string::npos) << valid.message();
}

TEST_F(OptionsEdgeTest, ListenNeedsAPortFrom0To65535) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http", ":80"}) {
    Options o;
    o.listen = bad;
    Status valid = o.Validate();
    EXPECT_FALSE(valid.ok()) << bad;
    EXPECT_NE(valid.message().find("LINE_LISTEN"), std::string::npos) << valid.message();
  }
  Options o;
  o.listen = "127.0.0.1:0";
  EXPECT_TRUE(o.Validate().ok());
}

TEST_F(OptionsEdgeTest, DescribeNeverShowsAStorePassword) {
  Options o;
  o.store = "postgresql://line:s3cret@db.example/line";
  std::string described = o.Describe();
  EXPECT_EQ(described.find("s3cret"), std::string::npos) << described;
  EXPECT_NE(described.find("postgresql://line:***@db.example/line"), std::string::npos);
}

}  // namespace
}  // namespace line
