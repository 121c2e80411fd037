// Committing a placement plan: for each placement, one conditional capacity claim, the alloc
// (which is also the worker's queue entry) and the eval's move to placed, all in the caller's
// transaction, so they commit together or not at all (SPEC invariant 4).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "model/model.h"
#include "scheduler/placement.h"
#include "store/store.h"

namespace line {

struct CommittedPlan {
  std::vector<Alloc> allocs;  // the allocs written, in plan order
  std::vector<size_t> eval_indexes;  // for each of `allocs`, the index of its eval in `evals`
  int64_t conflicts = 0;      // placements dropped because a condition no longer held
};

// Applies `plan` (computed over `evals`) inside `tx`. A placement whose eval is no longer
// pending, or whose worker can no longer take it, is dropped and counted as a conflict; its
// eval stays pending for the next round with a fresh snapshot. The allocs of placements marked
// in `delivered` (indexed like plan.placements; empty: none) are written already delivered at
// `now`, for a long-poll the round hands them to (poll_handoff.h).
Result<CommittedPlan> CommitPlan(Tx& tx, const Pool& pool, const std::vector<Eval>& evals,
                                 const Plan& plan, TimeMs now,
                                 const std::vector<bool>& delivered = {});

}  // namespace line
