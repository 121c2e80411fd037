#include "scheduler/plan_commit.h"

#include "common/ids.h"

namespace line {

Result<CommittedPlan> CommitPlan(Tx& tx, const Pool& pool, const std::vector<Eval>& evals,
                                 const Plan& plan, TimeMs now) {
  CommittedPlan committed;
  committed.allocs.reserve(plan.placements.size());
  for (const PlannedPlacement& placement : plan.placements) {
    const Eval& planned = evals[placement.eval_index];
    // Re-read inside the write transaction: the snapshot the plan came from may be stale.
    LINE_ASSIGN_OR_RETURN(std::optional<Eval> current, tx.GetEval(pool.pool_id, planned.eval_id));
    if (!current || current->state != EvalState::kPending) {
      ++committed.conflicts;
      continue;
    }
    LINE_ASSIGN_OR_RETURN(bool claimed, tx.ClaimCapacity(pool.pool_id, placement.worker_id,
                                                         current->size, now));
    if (!claimed) {
      ++committed.conflicts;
      continue;
    }
    Alloc alloc;
    alloc.pool_id = pool.pool_id;
    alloc.alloc_id = NewId();
    alloc.worker_id = placement.worker_id;
    alloc.eval_id = current->eval_id;
    alloc.dataset_id = current->dataset_id;
    alloc.size = current->size;
    alloc.attempt = current->attempt;
    alloc.locality = placement.locality;
    alloc.state = AllocState::kLive;
    alloc.ttl = now + pool.alloc_ttl_s * 1000;
    alloc.created_at = now;
    LINE_RETURN_IF_ERROR(tx.InsertAlloc(alloc));

    Eval placed = std::move(*current);
    placed.state = EvalState::kPlaced;
    placed.alloc_id = alloc.alloc_id;
    placed.worker_id = alloc.worker_id;
    LINE_ASSIGN_OR_RETURN(bool updated, tx.UpdateEval(placed, EvalState::kPending));
    // We read it pending in this same transaction; failing now means the store is broken,
    // and failing the body rolls the claim and the alloc back with it.
    if (!updated) return Status::Internal("eval " + placed.eval_id + " changed mid-transaction");
    committed.allocs.push_back(std::move(alloc));
  }
  return committed;
}

}  // namespace line
