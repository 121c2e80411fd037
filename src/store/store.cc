#include "store/store.h"

#include <future>

namespace line {

Status WriteSync(Store& store, TxBody body) {
  std::promise<Status> outcome;
  std::future<Status> result = outcome.get_future();
  store.Write(std::move(body), [&outcome](Status s) { outcome.set_value(std::move(s)); });
  return result.get();
}

}  // namespace line

namespace line {

Status Tx::InsertEvals(std::vector<Eval>& evals) {
  for (Eval& eval : evals) LINE_RETURN_IF_ERROR(InsertEval(eval));
  return Status::Ok();
}

Result<std::vector<bool>> Tx::PlaceEvals(std::vector<Placement>& placements, TimeMs now) {
  std::vector<bool> committed(placements.size(), false);
  for (size_t i = 0; i < placements.size(); ++i) {
    Placement& p = placements[i];
    // The eval first, conditionally: if it is no longer pending (the plan's read may be
    // stale), nothing else is written for it.
    Eval placed = KeysAndProgress(p.pending);
    placed.state = EvalState::kPlaced;
    placed.alloc_id = p.alloc.alloc_id;
    placed.worker_id = p.alloc.worker_id;
    LINE_ASSIGN_OR_RETURN(bool moved, UpdateEval(placed, EvalState::kPending));
    if (!moved) continue;
    LINE_ASSIGN_OR_RETURN(bool claimed, ClaimCapacity(p.alloc.pool_id, p.alloc.worker_id,
                                                      p.alloc.size, now));
    if (!claimed) {
      // The worker can no longer take it: put the eval back exactly as it was.
      LINE_ASSIGN_OR_RETURN(bool restored, UpdateEval(p.pending, EvalState::kPlaced));
      if (!restored) return Status::Internal("eval " + p.pending.eval_id + " changed mid-plan");
      continue;
    }
    LINE_RETURN_IF_ERROR(InsertAlloc(p.alloc));
    committed[i] = true;
  }
  return committed;
}

}  // namespace line
