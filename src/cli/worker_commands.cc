// worker register | heartbeat | describe | drain | deregister, and workers (ListWorkers).

#include "cli/api.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace line::cli {
namespace {

json::object PoolAndWorker(const Invocation& inv) {
  return {{"pool_id", inv.Get("pool")}, {"worker_id", inv.Get("worker")}};
}

json::array Strings(const std::vector<std::string>& values) {
  json::array array;
  for (const std::string& value : values) array.emplace_back(value);
  return array;
}

int RegisterWorker(const Invocation& inv, Context& ctx) {
  int64_t capacity = *inv.Int("capacity");
  json::object answer =
      CallApi(ctx, "/RegisterWorker", {{"pool_id", inv.Get("pool")}, {"capacity", capacity}});
  if (ctx.json) {
    PrintJson(ctx, answer);
  } else {
    ctx.out << Text(answer, "worker_id") << "\n";  // alone, for worker=$(linectl worker ...)
  }
  return kExitOk;
}

int Heartbeat(const Invocation& inv, Context& ctx) {
  json::object body = PoolAndWorker(inv);
  body["allocs"] = Strings(inv.All("alloc"));
  body["datasets"] = Strings(inv.All("dataset"));
  json::object answer = CallApi(ctx, "/SendHeartbeat", body);
  if (ctx.json) {
    PrintJson(ctx, answer);
  } else {
    ctx.out << "unknown allocs: " << Text(answer, "unknown_allocs") << "\n";
  }
  return kExitOk;
}

void PrintWorkerTable(Context& ctx, const std::vector<json::object>& workers) {
  Table table({"WORKER", "CAPACITY", "FREE", "DRAINING", "EXPIRES", "ALLOCS", "DATASETS"});
  for (const json::object& w : workers) {
    const json::value* allocs = w.if_contains("allocs");
    size_t live = allocs != nullptr && allocs->is_array() ? allocs->as_array().size() : 0;
    table.AddRow({Text(w, "worker_id"), Text(w, "capacity"), Text(w, "free"), Text(w, "draining"),
                  Until(w, "ttl"), std::to_string(live), Text(w, "datasets")});
  }
  table.Print(ctx.out);
}

int DescribeWorker(const Invocation& inv, Context& ctx) {
  json::object answer = CallApi(ctx, "/DescribeWorker", PoolAndWorker(inv));
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  PrintFields(ctx.out, {{"pool_id", Text(answer, "pool_id")},
                        {"worker_id", Text(answer, "worker_id")},
                        {"capacity", Text(answer, "capacity")},
                        {"free", Text(answer, "free")},
                        {"ttl", Text(answer, "ttl") + " (" + Until(answer, "ttl") + ")"},
                        {"draining", Text(answer, "draining")},
                        {"datasets", Text(answer, "datasets")},
                        {"allocs", Text(answer, "allocs")}});
  return kExitOk;
}

// DrainWorker and DeregisterWorker: same request, an empty answer.
Command WorkerAction(const std::string& verb, const std::string& path, const std::string& done,
                     const std::string& summary) {
  return {{"worker", verb},
          summary,
          {{"pool", "P", "the pool's id", true}, {"worker", "W", "the worker's id", true}},
          "",
          [path, done](const Invocation& inv, Context& ctx) {
            json::object answer = CallApi(ctx, path, PoolAndWorker(inv));
            if (ctx.json) {
              PrintJson(ctx, answer);
            } else {
              ctx.out << done << " worker " << inv.Get("worker") << "\n";
            }
            return kExitOk;
          }};
}

int ListWorkers(const Invocation& inv, Context& ctx) {
  json::object answer =
      ListApi(ctx, inv, "/ListWorkers", {{"pool_id", inv.Get("pool")}}, "workers");
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  PrintWorkerTable(ctx, Items(answer, "workers"));
  if (std::string token = Text(answer, "next_token"); token != "-") {
    ctx.err << "more workers: --next-token " << token << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddWorkerCommands(std::vector<Command>* commands) {
  const FlagSpec pool{"pool", "P", "the pool's id", true};
  const FlagSpec worker{"worker", "W", "the worker's id", true};
  commands->push_back({{"worker", "register"},
                       "register a worker; prints its id (heartbeat it within worker_ttl)",
                       {pool, {"capacity", "N", "capacity units it offers", true}},
                       "",
                       RegisterWorker});
  commands->push_back(
      {{"worker", "heartbeat"},
       "renew a worker, its datasets and listed allocs; prints the unknown allocs",
       {pool,
        worker,
        {"alloc", "A", "a running alloc to renew (repeat for more)", false, true},
        {"dataset", "D", "a dataset it holds (repeat; the full list each time)", false, true}},
       "",
       Heartbeat});
  commands->push_back({{"worker", "describe"},
                       "a worker's capacity, ttl, datasets and allocs",
                       {pool, worker},
                       "",
                       DescribeWorker});
  commands->push_back(WorkerAction("drain", "/DrainWorker", "draining",
                                   "place nothing more on a worker; its allocs run to the end"));
  commands->push_back(WorkerAction("deregister", "/DeregisterWorker", "deregistered",
                                   "remove a worker now; its live allocs' evals are placed again"));
  std::vector<FlagSpec> flags = {pool};
  for (FlagSpec& f : PagingFlags()) flags.push_back(f);
  commands->push_back({{"workers"}, "list a pool's workers", flags, "", ListWorkers});
}

}  // namespace line::cli
