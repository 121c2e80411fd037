// The modes of line-bench, one file each. Every mode prints its human-readable rows, fills
// `summary` with its figures (the --json line), and returns the exit code: 0, or 2 when the
// run finished but some request failed or the work did not drain in time (the figures are then
// printed all the same, and say so).
#pragma once

#include "line_bench_common.h"

namespace line::bench {

// --mode batch | single: closed-loop /ScheduleEvals or /ScheduleEval, then the drain
// (line_bench_load.cc).
int RunLoad(const Flags& flags, Target& target, json::object* summary);
// --mode latency: submit-to-visible latency at a fixed rate (line_bench_latency.cc).
int RunLatency(const Flags& flags, Target& target, json::object* summary);
// --mode heartbeat: lined's CPU while many workers heartbeat (line_bench_heartbeat.cc).
int RunHeartbeat(const Flags& flags, Target& target, json::object* summary);
// --mode memory: lined's RSS per worker and per pending eval (line_bench_memory.cc).
int RunMemory(const Flags& flags, Target& target, json::object* summary);
// --mode exec: evals run to completion by real line-worker processes (line_bench_exec.cc).
int RunExec(const Flags& flags, Target& target, json::object* summary);

}  // namespace line::bench
