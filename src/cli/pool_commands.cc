// pool create | describe | disband, and pools (ListPools).

#include "cli/api.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace line::cli {
namespace {

int CreatePool(const Invocation& inv, Context& ctx) {
  json::object body;
  if (auto placement = inv.Find("placement")) body["placement"] = *placement;
  // Bounds are the server's to judge (its 400 names them); only non-integers stop here.
  if (auto max_retry = inv.Int("max-retry")) body["max_retry"] = *max_retry;
  if (auto alloc_ttl = inv.Int("alloc-ttl")) body["alloc_ttl"] = *alloc_ttl;
  json::object answer = CallApi(ctx, "/CreatePool", body);
  if (ctx.json) {
    PrintJson(ctx, answer);
  } else {
    ctx.out << Text(answer, "pool_id") << "\n";  // alone, for pool=$(linectl pool create)
  }
  return kExitOk;
}

int DescribePool(const Invocation& inv, Context& ctx) {
  json::object answer = CallApi(ctx, "/DescribePool", {{"pool_id", inv.Get("pool")}});
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  std::vector<std::pair<std::string, std::string>> fields;
  for (const char* key :
       {"pool_id", "placement", "max_retry", "alloc_ttl", "disbanded", "workers", "capacity",
        "free", "pending_evals", "blocked_evals", "live_allocs", "dead_letters", "owner"}) {
    fields.emplace_back(key, Text(answer, key));
  }
  PrintFields(ctx.out, fields);
  return kExitOk;
}

int DisbandPool(const Invocation& inv, Context& ctx) {
  json::object answer = CallApi(ctx, "/DisbandPool", {{"pool_id", inv.Get("pool")}});
  if (ctx.json) {
    PrintJson(ctx, answer);
  } else {
    ctx.out << "disbanded pool " << inv.Get("pool") << "\n";
  }
  return kExitOk;
}

int ListPools(const Invocation& inv, Context& ctx) {
  json::object answer = ListApi(ctx, inv, "/ListPools", {}, "pools");
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  Table table(
      {"POOL", "PLACEMENT", "MAX RETRY", "ALLOC TTL", "DISBANDED", "WORKERS", "CAPACITY", "FREE",
       "OWNER"});
  for (const json::object& pool : Items(answer, "pools")) {
    table.AddRow({Text(pool, "pool_id"), Text(pool, "placement"), Text(pool, "max_retry"),
                  Text(pool, "alloc_ttl"), Text(pool, "disbanded"), Text(pool, "workers"),
                  Text(pool, "capacity"), Text(pool, "free"), Text(pool, "owner")});
  }
  table.Print(ctx.out);
  if (std::string token = Text(answer, "next_token"); token != "-") {
    ctx.err << "more pools: --next-token " << token << "\n";
  }
  return kExitOk;
}

FlagSpec PoolFlag() { return {"pool", "P", "the pool's id", /*required=*/true}; }

}  // namespace

void AddPoolCommands(std::vector<Command>* commands) {
  commands->push_back({{"pool", "create"},
                       "create a pool; prints its id",
                       {{"placement", "spread|binpack", "placement policy (server default spread)"},
                        {"max-retry", "N", "placements before an eval is dead-lettered"},
                        {"alloc-ttl", "S", "seconds an alloc lives without a heartbeat"}},
                       "",
                       CreatePool});
  commands->push_back(
      {{"pool", "describe"}, "a pool's settings and counts", {PoolFlag()}, "", DescribePool});
  commands->push_back({{"pool", "disband"},
                       "disband a pool: it refuses new work; pending evals are dead-lettered",
                       {PoolFlag()},
                       "",
                       DisbandPool});
  std::vector<FlagSpec> paging = PagingFlags();
  commands->push_back(
      {{"pools"}, "list every pool (see also 'linectl status')", paging, "", ListPools});
}

}  // namespace line::cli
