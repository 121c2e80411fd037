// dead-letters (ListDeadLetters) and dead-letters redrive.
#include "cli/api.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace line::cli {
namespace {

int ListDeadLetters(const Invocation& inv, Context& ctx) {
  json::object answer =
      ListApi(ctx, inv, "/ListDeadLetters", {{"pool_id", inv.Get("pool")}}, "dead_letters");
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  Table table({"EVAL", "DATASET", "SIZE", "ATTEMPTS", "REASON", "PAYLOAD"});
  for (const json::object& d : Items(answer, "dead_letters")) {
    table.AddRow({Text(d, "eval_id"), Text(d, "dataset_id"), Text(d, "size"), Text(d, "attempts"),
                  Text(d, "reason"), JsonText(d, "payload")});
  }
  table.Print(ctx.out);
  if (std::string token = Text(answer, "next_token"); token != "-") {
    ctx.err << "more dead letters: --next-token " << token << "\n";
  }
  return kExitOk;
}

int Redrive(const Invocation& inv, Context& ctx) {
  json::object body{{"pool_id", inv.Get("pool")}};
  // Without --eval the field stays absent: the API then redrives every dead letter.
  if (inv.Has("eval")) {
    json::array ids;
    for (const std::string& id : inv.All("eval")) ids.emplace_back(id);
    body["eval_ids"] = std::move(ids);
  }
  json::object answer = CallApi(ctx, "/RedriveDeadLetters", body);
  if (ctx.json) {
    PrintJson(ctx, answer);
  } else {
    ctx.out << "redriven: " << Text(answer, "redriven") << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddDeadLetterCommands(std::vector<Command>* commands) {
  const FlagSpec pool{"pool", "P", "the pool's id", true};
  std::vector<FlagSpec> flags = {pool};
  for (FlagSpec& f : PagingFlags()) flags.push_back(f);
  commands->push_back({{"dead-letters"},
                       "list a pool's dead-lettered evals",
                       flags,
                       "See also 'linectl dead-letters redrive'.",
                       ListDeadLetters});
  commands->push_back(
      {{"dead-letters", "redrive"},
       "make dead letters pending again with attempts reset",
       {pool, {"eval", "E", "redrive only this eval (repeat for more; none: all)", false, true}},
       "",
       Redrive});
}

}  // namespace line::cli
