// DeliveryLedger: the allocs this node has handed to long-polls whose delivery marks may not
// be committed yet, so that the next poll of the same worker does not hand them out again.
//
// A poll answers from its read snapshot, and marks what it answered delivered with a lazy
// write that it does not wait for (decision 0012): until that commits, a read still finds
// those allocs deliverable. The ledger remembers each handed alloc for the visibility timeout,
// after which SPEC has it delivered again anyway, so a poll skips an alloc the ledger holds
// whatever its snapshot says. Only for a node that serves its store alone (Cluster::Alone):
// another node cannot see this ledger. Memory: a worker's allocs are forgotten once their
// timeout has passed, by its next poll or, for a worker that polls no more (expired, its pool
// deleted), by a sweep over every worker that any claim runs once a second at most.
//
// Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"

namespace line {

class DeliveryLedger {
 public:
  // Takes for the worker of `key` (AllocWaiters::Key), in order, up to `max` of `alloc_ids`
  // that were not handed to it after `since` (at or before it, an alloc is due again), and
  // records them as handed at `at`. Atomic, so two polls of one worker never take the same
  // alloc. Forgets what was handed at or before `since`.
  std::vector<std::string> Claim(const std::string& key, const std::vector<std::string>& alloc_ids,
                                 size_t max, TimeMs since, TimeMs at);
  // When the oldest alloc still held for the worker (handed after `since`) was handed; 0 if
  // none. Forgets what was handed at or before `since`.
  TimeMs EarliestHanded(const std::string& key, TimeMs since);
  // Drops everything about the worker (deregistered).
  void Forget(const std::string& key);

  size_t size() const;  // allocs remembered, over all workers

 private:
  struct Worker {
    std::deque<std::pair<TimeMs, std::string>> handed;  // oldest first
    std::unordered_set<std::string> ids;                // the same allocs, for lookups
  };
  static constexpr TimeMs kSweepEveryMs = 1000;
  static void Prune(Worker& worker, TimeMs since);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Worker> workers_;  // guarded by mu_
  TimeMs next_sweep_ = 0;                             // guarded by mu_
};

}  // namespace line
