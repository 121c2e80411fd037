#include "ops/describe.h"

#include <charconv>

#include "common/ids.h"

namespace line {

int64_t ToWireSeconds(TimeMs ms) { return ms <= 0 ? 0 : (ms + 999) / 1000; }

PoolDescription DescribePoolRow(const Pool& pool, const PoolCounts& counts) {
  PoolDescription d;
  d.pool_id = pool.pool_id;
  d.placement = PlacementName(pool.placement);
  d.max_retry = pool.max_retry;
  d.alloc_ttl = pool.alloc_ttl_s;
  d.disbanded = pool.disbanded;
  d.workers = counts.workers;
  d.capacity = counts.capacity;
  d.free = counts.free;
  d.pending_evals = counts.pending_evals;
  d.blocked_evals = counts.blocked_evals;
  d.live_allocs = counts.live_allocs;
  d.dead_letters = counts.dead_letters;
  return d;
}

AllocDescription DescribeAllocRow(const Alloc& alloc) {
  AllocDescription d;
  d.pool_id = alloc.pool_id;
  d.alloc_id = alloc.alloc_id;
  d.worker_id = alloc.worker_id;
  d.eval_id = alloc.eval_id;
  d.dataset_id = alloc.dataset_id;
  d.size = alloc.size;
  d.ttl = ToWireSeconds(alloc.ttl);
  d.state = AllocStateName(alloc.state);
  d.locality = alloc.locality;
  return d;
}

DeadLetterDescription DescribeDeadLetter(const Eval& eval) {
  DeadLetterDescription d;
  d.pool_id = eval.pool_id;
  d.eval_id = eval.eval_id;
  d.dataset_id = eval.dataset_id;
  d.size = eval.size;
  d.payload = eval.payload;
  d.attempts = eval.attempt;
  d.reason = eval.dead_reason;
  return d;
}

Result<EvalDescription> DescribeEvalRow(Tx& tx, const Eval& eval) {
  EvalDescription d;
  d.pool_id = eval.pool_id;
  d.eval_id = eval.eval_id;
  d.state = EvalStateName(eval.state);
  d.dataset_id = eval.dataset_id;
  d.size = eval.size;
  d.payload = eval.payload;
  d.attempt = eval.attempt;
  d.alloc_id = eval.alloc_id;
  d.worker_id = eval.worker_id;
  d.exit_code = eval.exit_code;
  d.result = eval.result;
  LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs, tx.AllocsOfEval(eval.pool_id, eval.eval_id));
  for (const Alloc& alloc : allocs) {
    HistoryEntry h;
    h.alloc_id = alloc.alloc_id;
    h.worker_id = alloc.worker_id;
    h.locality = alloc.locality;
    if (alloc.state != AllocState::kLive) {
      h.ended = alloc.ended_at / 1000;
      h.reason = alloc.end_reason;
    }
    d.history.push_back(std::move(h));
  }
  return d;
}

Result<WorkerDescription> DescribeWorkerRow(Tx& tx, const Worker& worker, TimeMs now) {
  WorkerDescription d;
  d.pool_id = worker.pool_id;
  d.worker_id = worker.worker_id;
  d.capacity = worker.capacity;
  d.free = worker.free;
  d.ttl = ToWireSeconds(worker.ttl);
  d.draining = worker.draining;
  LINE_ASSIGN_OR_RETURN(d.datasets, tx.WorkerDatasets(worker.pool_id, worker.worker_id, now));
  LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs,
                        tx.LiveAllocsOfWorker(worker.pool_id, worker.worker_id));
  for (const Alloc& alloc : allocs) d.allocs.push_back(alloc.alloc_id);
  return d;
}

Result<int64_t> ParseSeqToken(const std::string& token) {
  if (token.empty()) return int64_t{0};
  int64_t seq = 0;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), seq);
  if (ec != std::errc() || ptr != token.data() + token.size() || seq < 0) {
    return Status::InvalidInput("next_token is not a token this list returned, got \"" + token +
                                "\"");
  }
  return seq;
}

Result<std::string> ParseIdToken(const std::string& token) {
  if (!token.empty() && !IsGeneratedId(token)) {
    return Status::InvalidInput("next_token is not a token this list returned, got \"" + token +
                                "\"");
  }
  return token;
}

std::string SeqToken(int64_t seq) { return std::to_string(seq); }

}  // namespace line
