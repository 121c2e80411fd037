// alloc receive | complete | describe, and allocs (ListAllocs).
#include <algorithm>
#include <chrono>

#include "cli/api.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace line::cli {
namespace {

int ReceiveAllocs(const Invocation& inv, Context& ctx) {
  json::object body{{"pool_id", inv.Get("pool")}, {"worker_id", inv.Get("worker")}};
  std::optional<int64_t> wait = inv.Int("wait");
  if (auto max = inv.Int("max")) body["max_number_of_messages"] = *max;
  if (wait) body["wait_time_seconds"] = *wait;
  // A long poll must not be cut short by the per-attempt timeout.
  std::chrono::seconds timeout{std::clamp<int64_t>(wait.value_or(0), 0, 20) + 10};
  json::object answer = CallApi(ctx, "/ReceiveAllocs", body, timeout);
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  Table table({"ALLOC", "EVAL", "DATASET", "SIZE", "ATTEMPT", "PAYLOAD"});
  for (const json::object& a : Items(answer, "allocs")) {
    table.AddRow({Text(a, "alloc_id"), Text(a, "eval_id"), Text(a, "dataset_id"), Text(a, "size"),
                  Text(a, "attempt"), JsonText(a, "payload")});
  }
  table.Print(ctx.out);
  return kExitOk;
}

int CompleteAlloc(const Invocation& inv, Context& ctx) {
  json::object body{{"pool_id", inv.Get("pool")}, {"alloc_id", inv.Get("alloc")}};
  if (auto worker = inv.Find("worker")) body["worker_id"] = *worker;
  if (auto exit_code = inv.Int("exit-code")) body["exit_code"] = *exit_code;
  if (auto result = inv.Find("result")) {
    json::error_code ec;
    json::value parsed = json::parse(*result, ec);
    if (ec) throw inv.Usage("--result must be JSON text, got '" + *result + "'");
    body["result"] = std::move(parsed);
  }
  if (inv.Has("failed")) body["failed"] = true;
  json::object answer = CallApi(ctx, "/CompleteAlloc", body);
  if (ctx.json) {
    PrintJson(ctx, answer);
  } else {
    ctx.out << (inv.Has("failed") ? "failed" : "completed") << " alloc " << inv.Get("alloc")
            << "\n";
  }
  return kExitOk;
}

int DescribeAlloc(const Invocation& inv, Context& ctx) {
  json::object answer = CallApi(ctx, "/DescribeAlloc",
                                {{"pool_id", inv.Get("pool")}, {"alloc_id", inv.Get("alloc")}});
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  PrintFields(ctx.out, {{"pool_id", Text(answer, "pool_id")},
                        {"alloc_id", Text(answer, "alloc_id")},
                        {"worker_id", Text(answer, "worker_id")},
                        {"eval_id", Text(answer, "eval_id")},
                        {"dataset_id", Text(answer, "dataset_id")},
                        {"size", Text(answer, "size")},
                        {"ttl", Text(answer, "ttl") + " (" + Until(answer, "ttl") + ")"},
                        {"state", Text(answer, "state")},
                        {"locality", Text(answer, "locality")}});
  return kExitOk;
}

int ListAllocs(const Invocation& inv, Context& ctx) {
  json::object body{{"pool_id", inv.Get("pool")}};
  if (auto worker = inv.Find("worker")) body["worker_id"] = *worker;
  if (auto state = inv.Find("state")) body["state"] = *state;
  json::object answer = ListApi(ctx, inv, "/ListAllocs", body, "allocs");
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  Table table({"ALLOC", "STATE", "WORKER", "EVAL", "DATASET", "SIZE", "LOCALITY", "EXPIRES"});
  for (const json::object& a : Items(answer, "allocs")) {
    std::string expires = Text(a, "state") == "live" ? Until(a, "ttl") : "-";
    table.AddRow({Text(a, "alloc_id"), Text(a, "state"), Text(a, "worker_id"), Text(a, "eval_id"),
                  Text(a, "dataset_id"), Text(a, "size"), Text(a, "locality"), expires});
  }
  table.Print(ctx.out);
  if (std::string token = Text(answer, "next_token"); token != "-") {
    ctx.err << "more allocs: --next-token " << token << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddAllocCommands(std::vector<Command>* commands) {
  const FlagSpec pool{"pool", "P", "the pool's id", true};
  const FlagSpec alloc{"alloc", "A", "the alloc's id", true};
  commands->push_back({{"alloc", "receive"},
                       "receive a worker's new allocs (what line-worker does)",
                       {pool,
                        {"worker", "W", "the worker's id", true},
                        {"max", "N", "at most N allocs (1-100, default 10)"},
                        {"wait", "S", "long-poll up to S seconds (0-20, default 0)"}},
                       "",
                       ReceiveAllocs});
  commands->push_back(
      {{"alloc", "complete"},
       "end a live alloc: its capacity returns, its eval completes (or retries with --failed)",
       {pool,
        alloc,
        {"worker", "W", "the worker completing it (checked against the alloc's)"},
        {"exit-code", "N", "the command's exit code"},
        {"result", "JSON", "any JSON value kept as the eval's result"},
        {"failed", "", "place the eval again (attempt + 1), or dead-letter it"}},
       "",
       CompleteAlloc});
  commands->push_back({{"alloc", "describe"},
                       "an alloc's worker, eval, state and ttl",
                       {pool, alloc},
                       "",
                       DescribeAlloc});
  std::vector<FlagSpec> flags = {
      pool,
      {"worker", "W", "only this worker's allocs"},
      {"state", "S", "only allocs in state S: live, completed or expired"}};
  for (FlagSpec& f : PagingFlags()) flags.push_back(f);
  commands->push_back({{"allocs"}, "list a pool's allocs", flags, "", ListAllocs});
}

}  // namespace line::cli
