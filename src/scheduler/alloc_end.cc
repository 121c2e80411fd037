#include "scheduler/alloc_end.h"

namespace line {

Result<EvalSettled> EndAllocAndSettle(Tx& tx, const Pool& pool, const Alloc& alloc,
                                      const AllocEnding& ending, TimeMs now,
                                      CapacityDeltas& deltas) {
  LINE_ASSIGN_OR_RETURN(bool ended, tx.EndAlloc(alloc.pool_id, alloc.alloc_id, ending.state,
                                                 ending.reason, now));
  if (!ended) {
    return Status(Code::kAllocAlreadyEnded, "alloc_id " + alloc.alloc_id + " already ended");
  }
  deltas.push_back({CapacityDelta::Kind::kAllocEnded, alloc.pool_id, alloc.worker_id});
  if (ending.release_capacity) {
    // False only when the worker is gone (its capacity went with it): nothing to give back.
    LINE_ASSIGN_OR_RETURN(bool released,
                          tx.ReleaseCapacity(alloc.pool_id, alloc.worker_id, alloc.size));
    if (released) {
      deltas.push_back({CapacityDelta::Kind::kRelease, alloc.pool_id, alloc.worker_id,
                        alloc.size});
    }
  }

  LINE_ASSIGN_OR_RETURN(std::optional<Eval> found, tx.GetEval(alloc.pool_id, alloc.eval_id));
  // The eval moved on (a redrive, say) only if this alloc is no longer its current one.
  if (!found || found->state != EvalState::kPlaced || found->alloc_id != alloc.alloc_id) {
    return EvalSettled::kNothing;
  }
  Eval eval = std::move(*found);
  if (ending.record_outcome) {
    eval.exit_code = ending.exit_code;
    eval.result = ending.result;
  }
  EvalSettled settled;
  if (!ending.retry) {
    eval.state = EvalState::kCompleted;
    settled = EvalSettled::kCompleted;
  } else if (pool.disbanded) {
    eval.state = EvalState::kDead;
    eval.dead_reason = "pool disbanded";
    settled = EvalSettled::kDead;
  } else if (eval.attempt >= pool.max_retry) {
    eval.state = EvalState::kDead;
    eval.dead_reason = ending.reason + " on attempt " + std::to_string(eval.attempt) + " of " +
                       std::to_string(pool.max_retry);
    settled = EvalSettled::kDead;
  } else {
    eval.state = EvalState::kPending;
    eval.attempt += 1;
    settled = EvalSettled::kPending;
  }
  LINE_ASSIGN_OR_RETURN(bool updated, tx.UpdateEval(eval, EvalState::kPlaced));
  if (!updated) return Status::Internal("eval " + eval.eval_id + " changed under its alloc");
  return settled;
}

}  // namespace line
