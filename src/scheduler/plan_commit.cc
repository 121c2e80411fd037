#include "scheduler/plan_commit.h"

#include "common/ids.h"

namespace line {

Result<CommittedPlan> CommitPlan(Tx& tx, const Pool& pool, const std::vector<Eval>& evals,
                                 const Plan& plan, TimeMs now,
                                 const std::vector<bool>& delivered) {
  std::vector<Placement> placements;
  placements.reserve(plan.placements.size());
  for (size_t i = 0; i < plan.placements.size(); ++i) {
    const PlannedPlacement& planned = plan.placements[i];
    const Eval& pending = evals[planned.eval_index];
    Placement& p = placements.emplace_back();
    p.pending = KeysAndProgress(pending);  // the payload stays behind: placing needs none
    Alloc& alloc = p.alloc;
    alloc.pool_id = pool.pool_id;
    alloc.alloc_id = NewId();
    alloc.worker_id = planned.worker_id;
    alloc.eval_id = pending.eval_id;
    alloc.dataset_id = pending.dataset_id;
    alloc.size = pending.size;
    alloc.attempt = pending.attempt;
    alloc.locality = planned.locality;
    alloc.state = AllocState::kLive;
    alloc.ttl = now + pool.alloc_ttl_s * 1000;
    alloc.created_at = now;
    if (i < delivered.size() && delivered[i]) alloc.delivered_at = now;
  }
  LINE_ASSIGN_OR_RETURN(std::vector<bool> done, tx.PlaceEvals(placements, now));
  CommittedPlan committed;
  committed.allocs.reserve(placements.size());
  committed.eval_indexes.reserve(placements.size());
  for (size_t i = 0; i < placements.size(); ++i) {
    if (done[i]) {
      committed.allocs.push_back(std::move(placements[i].alloc));
      committed.eval_indexes.push_back(plan.placements[i].eval_index);
    } else {
      ++committed.conflicts;
    }
  }
  return committed;
}

}  // namespace line
