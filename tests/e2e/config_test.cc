// lined's configuration as a user meets it: bad values stop it at start-up naming the variable,
// --help lists every variable, and environment and flags reach the API (the flag winning).
#include <gtest/gtest.h>

#include <string>

#include "testing/e2e.h"

namespace line::testing {
namespace {

// Start-up arguments that would work: a free port and a store in `dir`.
std::vector<std::string> GoodArgs(const TempDir& dir) {
  return {"--listen", "127.0.0.1:" + std::to_string(FreePort()), "--store",
          "sqlite:" + (dir.path() / "line.db").string()};
}

TEST(ConfigTest, InvalidTtlIsAStartUpErrorNamingTheVariable) {
  TempDir dir;
  for (const char* value : {"0", "-1", "abc", "5s"}) {
    ExitResult r = LinedProcess::RunToExit(GoodArgs(dir), {{"LINE_WORKER_TTL", value}},
                                           std::chrono::seconds(10));
    EXPECT_GT(r.exit_code, 0) << "LINE_WORKER_TTL=\"" << value << "\" must stop lined; output:\n"
                              << r.output;
    EXPECT_LT(r.exit_code, 128) << "exit, not a crash or a hang; output:\n" << r.output;
    EXPECT_NE(r.output.find("LINE_WORKER_TTL"), std::string::npos)
        << "LINE_WORKER_TTL=\"" << value << "\": output does not name it:\n"
        << r.output;
  }
}

TEST(ConfigTest, EveryTtlAndMaxRetryIsValidated) {
  TempDir dir;
  for (const char* name : {"LINE_POOL_TTL", "LINE_REPLICA_TTL", "LINE_ALLOC_TTL", "LINE_MAX_RETRY",
                           "LINE_VISIBILITY_TIMEOUT"}) {
    ExitResult r = LinedProcess::RunToExit(GoodArgs(dir), {{name, "0"}}, std::chrono::seconds(10));
    EXPECT_GT(r.exit_code, 0) << name << "=0 must stop lined; output:\n" << r.output;
    EXPECT_LT(r.exit_code, 128) << r.output;
    EXPECT_NE(r.output.find(name), std::string::npos) << name << " not named:\n" << r.output;
  }
}

TEST(ConfigTest, HelpListsEveryVariableAndExitsZero) {
  ExitResult r = LinedProcess::RunToExit({"--help"}, {}, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* name :
       {"LINE_DEPLOYMENT", "LINE_POOL_TTL", "LINE_WORKER_TTL", "LINE_REPLICA_TTL", "LINE_ALLOC_TTL",
        "LINE_MAX_RETRY", "LINE_VISIBILITY_TIMEOUT", "LINE_MAX_BODY", "LINE_STORE",
        "LINE_LISTEN"}) {
    EXPECT_NE(r.output.find(name), std::string::npos) << name << " missing from --help:\n"
                                                      << r.output;
  }
}

class ConfiguredLinedTest : public LinedTest {
 protected:
  LinedOptions Options() override {
    LinedOptions options;
    options.env = {{"LINE_WORKER_TTL", "5"},
                   {"LINE_REPLICA_TTL", "6"},
                   {"LINE_ALLOC_TTL", "7"},
                   {"LINE_MAX_RETRY", "4"},
                   {"LINE_DEPLOYMENT", "prod"}};
    options.extra_args = {"--worker-ttl", "9"};
    return options;
  }
};

TEST_F(ConfiguredLinedTest, EnvironmentAndFlagsReachTheApiAndTheFlagWins) {
  std::string pool_id = CreatePool();
  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(Int(pool, "max_retry"), 4);
  EXPECT_EQ(Int(pool, "alloc_ttl"), 7);
  EXPECT_EQ(Str(pool, "placement"), "spread") << "the default policy";

  json::object worker = Call("/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 3}});
  EXPECT_EQ(Int(worker, "worker_ttl"), 9) << "--worker-ttl beats LINE_WORKER_TTL";
  EXPECT_EQ(Int(worker, "replica_ttl"), 6);
  EXPECT_EQ(Int(worker, "alloc_ttl"), 7);
  EXPECT_EQ(Str(worker, "queue_url"), "prod-" + pool_id + "-" + Str(worker, "worker_id"));

  // A pool's own settings override the defaults.
  std::string own = CreatePool({{"placement", "binpack"}, {"max_retry", 1}, {"alloc_ttl", 11}});
  json::object own_pool = DescribePool(own);
  EXPECT_EQ(Str(own_pool, "placement"), "binpack");
  EXPECT_EQ(Int(own_pool, "max_retry"), 1);
  EXPECT_EQ(Int(own_pool, "alloc_ttl"), 11);
  EXPECT_EQ(Int(Call("/RegisterWorker", {{"pool_id", own}, {"capacity", 1}}), "alloc_ttl"), 11);
}

}  // namespace
}  // namespace line::testing
