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
  int64_t conflicts = 0;      // placements dropped because a condition no longer held
};

// Applies `plan` (computed over `evals`) inside `tx`. A placement whose eval is no longer
// pending, or whose worker can no longer take it, is dropped and counted as a conflict; its
// eval stays pending for the next round with a fresh snapshot.
Result<CommittedPlan> CommitPlan(Tx& tx, const Pool& pool, const std::vector<Eval>& evals,
                                 const Plan& plan, TimeMs now);

}  // namespace line
