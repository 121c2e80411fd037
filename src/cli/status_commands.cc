// status (every pool's counts at a glance) and health (GET /healthz).
#include "cli/api.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace line::cli {
namespace {

int Status(const Invocation& inv, Context& ctx) {
  json::object answer = ListApi(ctx, inv, "/ListPools", {}, "pools");
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  static constexpr const char* kCounts[] = {"workers",       "capacity",      "free",
                                            "pending_evals", "blocked_evals", "live_allocs",
                                            "dead_letters"};
  Table table({"POOL", "PLACEMENT", "STATE", "WORKERS", "CAPACITY", "FREE", "PENDING", "BLOCKED",
               "LIVE ALLOCS", "DEAD LETTERS"});
  std::vector<int64_t> totals(std::size(kCounts));
  std::vector<json::object> pools = Items(answer, "pools");
  for (const json::object& pool : pools) {
    std::vector<std::string> row = {Text(pool, "pool_id"), Text(pool, "placement"),
                                    Text(pool, "disbanded") == "yes" ? "disbanded" : "active"};
    for (size_t i = 0; i < std::size(kCounts); ++i) {
      row.push_back(std::to_string(Int(pool, kCounts[i])));
      totals[i] += Int(pool, kCounts[i]);
    }
    table.AddRow(std::move(row));
  }
  ctx.out << "server " << ctx.client.server() << ": " << pools.size()
          << (pools.size() == 1 ? " pool" : " pools") << "\n\n";
  if (pools.empty()) return kExitOk;
  if (pools.size() > 1) {
    std::vector<std::string> row = {"total", "", ""};
    for (int64_t total : totals) row.push_back(std::to_string(total));
    table.AddRow(std::move(row));
  }
  table.Print(ctx.out);
  return kExitOk;
}

int Health(const Invocation& inv, Context& ctx) {
  client::Result<client::HealthzResponse> health = ctx.client.Healthz();
  if (!health) throw ExitFor(health.error(), ctx.client.server());
  if (ctx.json) {
    PrintJson(ctx, json::object{{"status", health->status}});
  } else {
    ctx.out << health->status << " " << ctx.client.server() << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddStatusCommands(std::vector<Command>* commands) {
  commands->push_back({{"status"},
                       "every pool's workers, capacity, free, pending, blocked, live allocs and "
                       "dead letters",
                       {},
                       "Reads every page of /ListPools. With --json: {\"pools\":[...]}, the "
                       "pools as /DescribePool\nreturns them.",
                       Status});
  commands->push_back(
      {{"health"}, "whether lined and its store answer (GET /healthz)", {}, "", Health});
}

}  // namespace line::cli
