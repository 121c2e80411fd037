// Handing a round's new allocs straight to the long-polls parked on this node.
//
// A /ReceiveAllocs that found nothing parks until an alloc for its worker commits. Woken, it
// would read its allocs and mark them delivered in a write of its own: a second durable commit
// (and two more thread hops) between placement and the worker. Instead a round claims the
// parked poll of each worker it places on, writes up to that poll's maximum of those allocs
// already delivered (delivered_at = the round's time) in the round's own transaction, and after
// the commit hands them over; the poll answers at once. Delivery stays at-least-once: an
// answer lost on the way (the connection closed meanwhile) is delivered again after the
// visibility timeout, like any delivered alloc that was not acknowledged.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"

namespace line {

// A placed alloc with its eval's payload: what a long-poll answers with.
struct HandedAlloc {
  Alloc alloc;
  std::string payload;
};

// A parked long-poll, taken out of waiting for one round. Exactly one of `deliver` and
// `release` must be called, once.
struct ClaimedPoll {
  int64_t max_allocs = 1;
  std::function<void(std::vector<HandedAlloc>)> deliver;
  // Nothing was committed for it after all: it goes back to looking for itself.
  std::function<void()> release;
};

// Claims the parked long-poll of (pool, worker) on this node, if there is one. Called from
// inside the round's transaction body: it must be quick and must not touch the store.
using ClaimPoll =
    std::function<std::optional<ClaimedPoll>(const std::string& pool_id,
                                             const std::string& worker_id)>;

}  // namespace line
