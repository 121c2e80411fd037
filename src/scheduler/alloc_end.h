// Ending an alloc and settling its eval: the one place that decides between completed,
// pending again (attempt + 1) and dead-lettered. Completion, failure, expiry, worker death,
// deregistration and disband all come through here, so the rules cannot drift apart.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "model/model.h"
#include "scheduler/snapshot_cache.h"
#include "store/store.h"

namespace line {

struct AllocEnding {
  AllocState state = AllocState::kExpired;  // kCompleted or kExpired
  std::string reason;                       // "completed", "failed", "expired", ...
  bool retry = false;             // place the eval again (or dead-letter it when used up)
  bool release_capacity = true;   // false when the worker is already gone
  bool record_outcome = false;    // store exit_code and result on the eval
  std::optional<int64_t> exit_code;
  std::string result;  // serialized JSON; "" = null
};

// What ending an alloc did to its eval.
enum class EvalSettled { kNothing, kCompleted, kPending, kDead };

// Ends `alloc` (which must be live) and settles its eval inside `tx`; capacity given back is
// recorded in `deltas`. Fails with kAllocAlreadyEnded, changing nothing, if the alloc ended
// meanwhile (the conditional write refused it).
Result<EvalSettled> EndAllocAndSettle(Tx& tx, const Pool& pool, const Alloc& alloc,
                                      const AllocEnding& ending, TimeMs now,
                                      CapacityDeltas& deltas);

}  // namespace line
