// --json: exactly one JSON document on stdout, wherever the flag stands, holding the API's
// answer; list commands merge every page into one object.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "cli/linectl_test_base.h"

namespace line::testing {
namespace {

class JsonTest : public LinectlTest {};

TEST_F(JsonTest, JsonMayStandAnywhereAndPrintsOneDocument) {
  LinectlRun first = Linectl({"--json", "pool", "create", "--placement", "spread"});
  LinectlRun middle = Linectl({"pool", "--json", "create", "--placement", "spread"});
  LinectlRun last = Linectl({"pool", "create", "--placement", "spread", "--json"});
  std::vector<std::string> pools;
  for (const LinectlRun* run : {&first, &middle, &last}) {
    ASSERT_EQ(run->exit_code, 0) << Describe({}, *run);
    json::object answer = ParseOne(run->out);
    EXPECT_EQ(answer.size(), 1u) << "the API's answer: {\"pool_id\"}";
    pools.push_back(Str(answer, "pool_id"));
    EXPECT_EQ(pools.back().size(), 24u);
  }
  // A value that looks like --json is still the flag's value.
  LinectlRun payload =
      Linectl({"eval", "submit", "--pool", pools[0], "--size", "1", "--payload", R"("--json")"});
  ASSERT_EQ(payload.exit_code, 0) << Describe({}, payload);
  EXPECT_EQ(payload.out.size(), 25u) << "a bare id, not JSON: " << payload.out;
  std::string eval_id = payload.out.substr(0, 24);
  EXPECT_EQ(DescribeEval(pools[0], eval_id).at("payload"), json::value("--json"));
}

TEST_F(JsonTest, EveryCommandsJsonIsTheApisAnswer) {
  std::string pool = Str(JsonOk({"pool", "create"}), "pool_id");
  json::object described = JsonOk({"pool", "describe", "--pool", pool});
  EXPECT_EQ(described, DescribePool(pool));
  json::object worker = JsonOk({"worker", "register", "--pool", pool, "--capacity", "4"});
  std::string worker_id = Str(worker, "worker_id");
  EXPECT_EQ(Str(worker, "queue_url"), "line-" + pool + "-" + worker_id);
  EXPECT_EQ(Int(worker, "worker_ttl"), 30);
  json::object beat =
      JsonOk({"worker", "heartbeat", "--pool", pool, "--worker", worker_id, "--dataset", "d1"});
  EXPECT_TRUE(Arr(beat, "unknown_allocs").empty());
  EXPECT_EQ(JsonOk({"worker", "describe", "--pool", pool, "--worker", worker_id}),
            DescribeWorker(pool, worker_id));
  EXPECT_EQ(Arr(JsonOk({"workers", "--pool", pool}), "workers").size(), 1u);

  json::object submitted = JsonOk({"eval", "submit", "--pool", pool, "--size", "1", "--dataset",
                                   "d1", "--payload", "[1,2]", "--idempotency-key", "k-1"});
  std::string eval_id = Str(submitted, "eval_id");
  EXPECT_EQ(submitted.size(), 1u);
  json::object received =
      JsonOk({"alloc", "receive", "--pool", pool, "--worker", worker_id, "--wait", "5"});
  ASSERT_EQ(Arr(received, "allocs").size(), 1u);
  const json::object& alloc = Obj(Arr(received, "allocs")[0]);
  EXPECT_EQ(alloc.at("payload"), json::value({1, 2}));
  std::string alloc_id = Str(alloc, "alloc_id");
  EXPECT_EQ(Str(JsonOk({"alloc", "describe", "--pool", pool, "--alloc", alloc_id}), "state"),
            "live");
  EXPECT_EQ(Arr(JsonOk({"allocs", "--pool", pool, "--state", "live"}), "allocs").size(), 1u);
  EXPECT_TRUE(JsonOk({"alloc", "complete", "--pool", pool, "--alloc", alloc_id, "--exit-code", "0"})
                  .empty())
      << "CompleteAlloc answers {}";
  json::object eval = JsonOk({"eval", "describe", "--pool", pool, "--eval", eval_id});
  EXPECT_EQ(Str(eval, "state"), "completed");
  EXPECT_EQ(Int(eval, "exit_code"), 0);
  EXPECT_EQ(Arr(JsonOk({"evals", "--pool", pool}), "evals").size(), 1u);
  EXPECT_TRUE(Arr(JsonOk({"dead-letters", "--pool", pool}), "dead_letters").empty());
  EXPECT_EQ(Int(JsonOk({"dead-letters", "redrive", "--pool", pool}), "redriven"), 0);
  EXPECT_TRUE(JsonOk({"worker", "drain", "--pool", pool, "--worker", worker_id}).empty());
  EXPECT_TRUE(JsonOk({"worker", "deregister", "--pool", pool, "--worker", worker_id}).empty());
  EXPECT_EQ(Str(JsonOk({"health"}), "status"), "ok");
  json::object status = JsonOk({"status"});
  ASSERT_EQ(Arr(status, "pools").size(), 1u);
  EXPECT_EQ(Str(Obj(Arr(status, "pools")[0]), "pool_id"), pool);
  EXPECT_EQ(Arr(JsonOk({"pools"}), "pools").size(), 1u);
  EXPECT_TRUE(JsonOk({"pool", "disband", "--pool", pool}).empty());
}

TEST_F(JsonTest, ListsMergeEveryPageUnlessOnePageIsAskedFor) {
  std::string pool = CreatePool();
  // More than the 1,000 a page holds, so the default listing must follow next_token.
  std::string lines;
  for (int i = 0; i < 1203; ++i)
    lines += R"({"size":1})"
             "\n";
  LinectlRun submit =
      Linectl({"eval", "submit", "--pool", pool, "--file", "-", "--json"}, {.stdin_text = lines});
  ASSERT_EQ(submit.exit_code, 0) << Describe({}, submit);
  std::vector<std::string> ids = Strings(Arr(ParseOne(submit.out), "eval_ids"));
  ASSERT_EQ(ids.size(), 1203u);

  json::object all = JsonOk({"evals", "--pool", pool});
  EXPECT_EQ(all.size(), 1u) << "one object holding the list, no next_token";
  const json::array& evals = Arr(all, "evals");
  ASSERT_EQ(evals.size(), 1203u);
  std::set<std::string> listed;
  for (const json::value& e : evals) listed.insert(Str(Obj(e), "eval_id"));
  EXPECT_EQ(listed, std::set<std::string>(ids.begin(), ids.end()));

  std::string table = Ok({"evals", "--pool", pool, "--state", "pending"});
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 1203) << "header + 1203 rows";

  json::object page = JsonOk({"evals", "--pool", pool, "--max-results", "100"});
  EXPECT_EQ(Arr(page, "evals").size(), 100u);
  std::string token = Str(page, "next_token");
  ASSERT_FALSE(token.empty());
  json::object next =
      JsonOk({"evals", "--pool", pool, "--max-results", "100", "--next-token", token});
  EXPECT_EQ(Arr(next, "evals").size(), 100u);
  EXPECT_NE(Str(Obj(Arr(next, "evals")[0]), "eval_id"), Str(Obj(Arr(page, "evals")[0]), "eval_id"));
}

}  // namespace
}  // namespace line::testing
