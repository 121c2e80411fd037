// `linectl eval submit --file F`: submits a JSON Lines file of evals through /ScheduleEvals in
// batches, printing each accepted eval id (or one {"eval_ids":[...]} with --json).
#pragma once

#include "cli/command.h"

namespace line::cli {

// Exit 2 for a bad file (nothing sent); exit 1 (3 when unreachable) when a batch is refused,
// after saying how many evals were accepted before it (those stay).
int SubmitEvalFile(const Invocation& inv, Context& ctx);

}  // namespace line::cli
