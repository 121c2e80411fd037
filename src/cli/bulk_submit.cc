#include "cli/bulk_submit.h"

#include <chrono>
#include <fstream>
#include <iostream>

#include "cli/api.h"
#include "cli/eval_file.h"
#include "cli/output.h"
#include "cli/progress.h"

namespace line::cli {
namespace {

// A batch of 1,000 evals commits in well under a second; the default 10 s per attempt leaves
// too little room for the largest batch (10,000 evals, near 8 MiB) on a busy server.
constexpr std::chrono::seconds kBatchTimeout{60};

std::vector<FileEval> ReadFileOrExit(const Invocation& inv) {
  std::string path = inv.Get("file");
  std::vector<FileEval> evals;
  std::string error;
  bool ok = false;
  if (path == "-") {
    ok = ReadEvalFile(std::cin, "<stdin>", &evals, &error);
  } else {
    std::ifstream in(path);
    if (!in) throw inv.Usage("cannot open " + path);
    ok = ReadEvalFile(in, path, &evals, &error);
  }
  if (!ok) throw inv.Usage(error + "\nnothing was submitted");
  return evals;
}

}  // namespace

int SubmitEvalFile(const Invocation& inv, Context& ctx) {
  for (const char* single : {"dataset", "size", "payload", "idempotency-key"}) {
    if (inv.Has(single)) {
      throw inv.Usage(std::string("--file and --") + single +
                      " exclude each other: the file's lines carry the eval fields");
    }
  }
  int64_t batch_size = inv.Int("batch-size", 1, 10000).value_or(1000);
  std::vector<FileEval> evals = ReadFileOrExit(inv);
  std::string pool = inv.Get("pool");

  json::array accepted;
  ProgressBar progress(ctx.err, static_cast<int64_t>(evals.size()), StderrIsTerminal());
  size_t batches = 0;
  for (size_t begin = 0; begin < evals.size(); begin += batch_size) {
    size_t end = std::min(evals.size(), begin + static_cast<size_t>(batch_size));
    json::array batch;
    for (size_t i = begin; i < end; ++i) {
      json::object eval = evals[i].eval;
      // A key on every eval makes libline's retry after a lost answer harmless; lines that
      // carry their own key are also safe to submit again in a later run.
      json::value* key = eval.if_contains("idempotency_key");
      if (key == nullptr || !key->is_string() || key->as_string().empty()) {
        eval["idempotency_key"] = RandomIdempotencyKey();
      }
      batch.push_back(std::move(eval));
    }
    json::object answer;
    try {
      answer = CallApi(ctx, "/ScheduleEvals", {{"pool_id", pool}, {"evals", std::move(batch)}},
                       kBatchTimeout);
    } catch (CliExit& exit) {
      progress.Done();
      if (ctx.json) PrintJson(ctx, json::object{{"eval_ids", accepted}});
      std::string range =
          "lines " + std::to_string(evals[begin].line) + "-" + std::to_string(evals[end - 1].line);
      exit.message = "batch " + std::to_string(batches + 1) + " (" + range + ") " +
                     (exit.code == kExitUnreachable ? "not sent or outcome unknown" : "refused") +
                     ": " + exit.message + "\n" + std::to_string(accepted.size()) +
                     " evals were accepted before it and stay; resubmitting the file is safe " +
                     "for lines with an idempotency_key";
      throw;
    }
    ++batches;
    if (const json::value* ids = answer.if_contains("eval_ids"); ids && ids->is_array()) {
      for (const json::value& id : ids->as_array()) {
        if (!ctx.json && id.is_string()) ctx.out << std::string_view(id.as_string()) << "\n";
        accepted.push_back(id);
      }
    }
    ctx.out.flush();
    progress.Update(static_cast<int64_t>(accepted.size()));
  }
  progress.Done();
  if (ctx.json) PrintJson(ctx, json::object{{"eval_ids", accepted}});
  ctx.err << "accepted " << accepted.size() << " evals in " << batches << " batches\n";
  return kExitOk;
}

}  // namespace line::cli
