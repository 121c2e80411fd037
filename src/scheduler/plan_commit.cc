#include "scheduler/plan_commit.h"

#include "common/ids.h"

namespace line {

Result<CommittedPlan> CommitPlan(Tx& tx, const Pool& pool, const std::vector<Eval>& evals,
                                 const Plan& plan, TimeMs now) {
  CommittedPlan committed;
  committed.allocs.reserve(plan.placements.size());
  for (const PlannedPlacement& placement : plan.placements) {
    const Eval& pending = evals[placement.eval_index];
    Alloc alloc;
    alloc.pool_id = pool.pool_id;
    alloc.alloc_id = NewId();
    alloc.worker_id = placement.worker_id;
    alloc.eval_id = pending.eval_id;
    alloc.dataset_id = pending.dataset_id;
    alloc.size = pending.size;
    alloc.attempt = pending.attempt;
    alloc.locality = placement.locality;
    alloc.state = AllocState::kLive;
    alloc.ttl = now + pool.alloc_ttl_s * 1000;
    alloc.created_at = now;

    // The eval first, conditionally: if it is no longer pending (the plan's read may be
    // stale), nothing else is written for it.
    Eval placed = pending;
    placed.state = EvalState::kPlaced;
    placed.alloc_id = alloc.alloc_id;
    placed.worker_id = alloc.worker_id;
    LINE_ASSIGN_OR_RETURN(bool moved, tx.UpdateEval(placed, EvalState::kPending));
    if (!moved) {
      ++committed.conflicts;
      continue;
    }
    LINE_ASSIGN_OR_RETURN(bool claimed, tx.ClaimCapacity(pool.pool_id, placement.worker_id,
                                                         pending.size, now));
    if (!claimed) {
      // The worker can no longer take it: put the eval back exactly as it was.
      LINE_ASSIGN_OR_RETURN(bool restored, tx.UpdateEval(pending, EvalState::kPlaced));
      if (!restored) return Status::Internal("eval " + pending.eval_id + " changed mid-plan");
      ++committed.conflicts;
      continue;
    }
    LINE_RETURN_IF_ERROR(tx.InsertAlloc(alloc));
    committed.allocs.push_back(std::move(alloc));
  }
  return committed;
}

}  // namespace line
