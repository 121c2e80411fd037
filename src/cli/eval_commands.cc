// eval submit (one eval, or a file of them) | describe, and evals (ListEvals).

#include "cli/api.h"
#include "cli/bulk_submit.h"
#include "cli/commands.h"
#include "cli/output.h"

namespace line::cli {
namespace {

json::value ParseJsonFlag(const Invocation& inv, std::string_view flag, const std::string& text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) throw inv.Usage("--" + std::string(flag) + " must be JSON text, got '" + text + "'");
  return value;
}

int SubmitEval(const Invocation& inv, Context& ctx) {
  if (inv.Has("file")) return SubmitEvalFile(inv, ctx);
  if (inv.Has("batch-size")) throw inv.Usage("--batch-size goes with --file");
  if (!inv.Has("size")) throw inv.Usage("missing --size N (or --file F)");
  json::object body{{"pool_id", inv.Get("pool")}, {"size", *inv.Int("size")}};
  if (auto dataset = inv.Find("dataset")) body["dataset_id"] = *dataset;
  if (auto payload = inv.Find("payload")) body["payload"] = ParseJsonFlag(inv, "payload", *payload);
  // Without a key of the user's, a random one still makes libline's retry after a lost answer
  // harmless (it cannot create the eval twice).
  body["idempotency_key"] = inv.Find("idempotency-key").value_or(RandomIdempotencyKey());
  json::object answer = CallApi(ctx, "/ScheduleEval", body);
  if (ctx.json) {
    PrintJson(ctx, answer);
  } else {
    ctx.out << Text(answer, "eval_id") << "\n";
  }
  return kExitOk;
}

// Whether the eval's latest placement was a locality hit ("-" before its first placement).
std::string LatestLocality(const json::object& eval) {
  std::vector<json::object> history = Items(eval, "history");
  return history.empty() ? "-" : Text(history.back(), "locality");
}

int DescribeEval(const Invocation& inv, Context& ctx) {
  json::object answer =
      CallApi(ctx, "/DescribeEval", {{"pool_id", inv.Get("pool")}, {"eval_id", inv.Get("eval")}});
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  std::vector<std::pair<std::string, std::string>> fields;
  for (const char* key : {"pool_id", "eval_id", "state", "dataset_id", "size", "attempt",
                          "alloc_id", "worker_id", "exit_code"}) {
    fields.emplace_back(key, Text(answer, key));
  }
  fields.emplace_back("payload", JsonText(answer, "payload"));
  fields.emplace_back("result", JsonText(answer, "result"));
  PrintFields(ctx.out, fields);
  std::vector<json::object> history = Items(answer, "history");
  if (history.empty()) return kExitOk;
  ctx.out << "\nhistory:\n";
  Table table({"ALLOC", "WORKER", "LOCALITY", "ENDED", "REASON"});
  for (const json::object& entry : history) {
    table.AddRow({Text(entry, "alloc_id"), Text(entry, "worker_id"), Text(entry, "locality"),
                  Text(entry, "ended"), Text(entry, "reason")});
  }
  table.Print(ctx.out);
  return kExitOk;
}

int ListEvals(const Invocation& inv, Context& ctx) {
  json::object body{{"pool_id", inv.Get("pool")}};
  if (auto state = inv.Find("state")) body["state"] = *state;
  json::object answer = ListApi(ctx, inv, "/ListEvals", body, "evals");
  if (ctx.json) {
    PrintJson(ctx, answer);
    return kExitOk;
  }
  Table table({"EVAL", "STATE", "DATASET", "SIZE", "ATTEMPT", "WORKER", "LOCALITY", "EXIT"});
  for (const json::object& e : Items(answer, "evals")) {
    table.AddRow({Text(e, "eval_id"), Text(e, "state"), Text(e, "dataset_id"), Text(e, "size"),
                  Text(e, "attempt"), Text(e, "worker_id"), LatestLocality(e),
                  Text(e, "exit_code")});
  }
  table.Print(ctx.out);
  if (std::string token = Text(answer, "next_token"); token != "-") {
    ctx.err << "more evals: --next-token " << token << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddEvalCommands(std::vector<Command>* commands) {
  const FlagSpec pool{"pool", "P", "the pool's id", true};
  commands->push_back(
      {{"eval", "submit"},
       "submit one eval (prints its id), or every eval of a JSON Lines file",
       {pool,
        {"size", "N", "capacity units it needs (required without --file)"},
        {"dataset", "D", "the dataset it should run near (none: no preference)"},
        {"payload", "JSON", "any JSON value handed to the worker"},
        {"idempotency-key", "K", "resubmitting with the same key returns the same eval"},
        {"file", "F", "submit every line of F ('-' = stdin) instead"},
        {"batch-size", "N", "evals per /ScheduleEvals call with --file (default 1000)"}},
       "With --file, each non-blank line is one JSON object with the fields of a /ScheduleEvals\n"
       "eval: {\"dataset_id\", \"size\", \"payload\", \"idempotency_key\"} (size required). The\n"
       "whole file is checked first: a bad line exits 2 naming its line number, nothing sent.\n"
       "Evals go in batches, all or nothing each; a progress bar shows on a terminal. A refused\n"
       "batch exits 1 saying how many evals were accepted before it (they stay); lines with an\n"
       "idempotency_key can then be resubmitted safely. Prints every accepted eval id (with\n"
       "--json: {\"eval_ids\":[...]}).",
       SubmitEval});
  commands->push_back({{"eval", "describe"},
                       "an eval's state, placement, result and history",
                       {pool, {"eval", "E", "the eval's id", true}},
                       "",
                       DescribeEval});
  std::vector<FlagSpec> flags = {
      pool, {"state", "S", "only evals in state S: pending, placed, completed or dead"}};
  for (FlagSpec& f : PagingFlags()) flags.push_back(f);
  commands->push_back({{"evals"}, "list a pool's evals", flags, "", ListEvals});
}

}  // namespace line::cli
