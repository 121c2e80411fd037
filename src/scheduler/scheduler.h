// Scheduler: places each pool's pending evals. A pool is scheduled when something woke it
// (an eval arrived or became pending again, capacity came back, a worker registered), never
// by polling: a pool whose pending evals fit nowhere sleeps until the next wake (its blocked
// set is simply "pending evals larger than any candidate's free capacity").
//
// One scheduling round of a pool is one write transaction: take the pool's snapshot from the
// SnapshotCache (building it from the store only when there is none), read the oldest pending
// evals that fit the largest free capacity, compute a plan in memory (pure, placement.h),
// commit it, and tell the owner which allocs committed. Rounds repeat while they make
// progress. Running the round in the store's write order is what keeps the cached snapshot
// exact (see snapshot_cache.h).
//
// Thread-safe. Owns one thread between Start() and Stop().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "model/model.h"
#include "scheduler/poll_handoff.h"
#include "scheduler/snapshot_cache.h"
#include "store/cluster.h"
#include "store/store.h"

namespace line {

struct Plan;

class Scheduler {
 public:
  // Called after a plan's commit is durable, with the allocs it created.
  using PlacedHook = std::function<void(const std::vector<Alloc>&)>;

  // `cluster` says which pools this node schedules (null: all of them) and carries wake-ups
  // to the owner of the others. `claim_poll` (may be null) finds the long-polls parked here
  // that a round hands its allocs to (poll_handoff.h).
  Scheduler(Store* store, Clock* clock, SnapshotCache* cache, PlacedHook on_placed,
            Cluster* cluster = nullptr, ClaimPoll claim_poll = nullptr);
  ~Scheduler();

  void Start();
  void Stop();

  // Marks a pool as worth scheduling, after a commit that may let its evals fit: here if this
  // node owns it, on its owner (through the cluster) otherwise. Cheap; callable from any
  // thread (including store callbacks).
  void Wake(const std::string& pool_id);
  // Wake() for this node only: the cluster's own events, which came from the owner's side.
  void WakeLocal(const std::string& pool_id);

  // Queues again every pool whose last scheduling failed (say, the store was unavailable).
  // The sweeper calls it on each tick, so a failure delays placement, never strands it.
  void RetryFailed();

  // Blocks until no pool is queued or being scheduled. For tests and shutdown.
  void WaitIdle();

  // The long-polls one placement claimed, by worker (poll_handoff.h). Kept when the store
  // runs the placing body again, so a poll is claimed once per placement.
  using Claims = std::map<std::string, ClaimedPoll>;

  struct RoundOutcome {
    int64_t placed = 0;
    int64_t conflicts = 0;
    int64_t blocked = 0;
    bool rebuilt = false;    // the snapshot was built from the store
    bool no_snapshot = false;  // not run: no cached snapshot, and it was not to build one
    bool more = false;       // stopped at kBatch evals: more may be pending that fit
    std::vector<Alloc> allocs;
    std::vector<HandedAlloc> handed;  // of `allocs`, those written delivered to a claimed poll
  };

  // What a submission's own round did (PlaceOnSubmit), for AfterSubmit. The caller resets
  // `ran` and `outcome` before each run of its body (LineService::SubmitOnce); the rest is
  // kept.
  struct SubmitPlacement {
    Claims claims;          // kept across runs of the body
    bool ran = false;       // the last run of the body ran a round
    RoundOutcome outcome;   // of that round
    // A run's round failed (and failed that run): every later run leaves the placing to the
    // scheduler's round, so that the submission itself goes through.
    bool round_failed = false;
  };
  // Called by a batch submission's write body after it inserted its evals: runs the pool's round
  // right there, in the same transaction, so that a new eval is placed (and handed to a
  // parked long-poll) by the commit that acknowledges it, without a wake-up, a round body and
  // a commit of its own. It is the same round a woken scheduler would run at that point of
  // the write order (pending evals oldest first, the submitted ones included), so nothing
  // overtakes anything. Only where this node schedules the pool and its snapshot is cached
  // (building one is left to the scheduler thread); otherwise it does nothing, and
  // AfterSubmit wakes the pool. Worth it for a batch, whose evals share the round's fixed
  // costs; a single eval is left to a woken round, which shares them with its neighbours.
  // A round that fails sets `round_failed` and fails this run of the body (its writes are
  // undone with the inserts); the caller runs the body again, and this time it only inserts.
  // (Not a savepoint around the round: keeping one open costs each placement ~18 %.)
  Status PlaceOnSubmit(Tx& tx, const std::string& pool_id, TimeMs now, CapacityDeltas& deltas,
                       SubmitPlacement& placement);
  // After the submission's write, committed or not: hands over or releases the claimed polls,
  // reports the allocs, and wakes the pool unless its round finished the job.
  void AfterSubmit(const std::string& pool_id, SubmitPlacement& placement, bool committed);

  // Largest number of pending evals one round considers, and how many it reads first (then
  // four times more each time, while capacity is left).
  static constexpr int64_t kBatch = 2000;
  static constexpr int64_t kFirstChunk = 32;

 private:
  void Loop();
  // One round. Progress (placed > 0) or lost races (conflicts > 0) are worth another round;
  // a round that did neither means what is left fits nowhere: sleep until woken.
  Status RunRound(const std::string& pool_id, RoundOutcome* outcome);

  // The round's transaction body; adds the kPlaced delta for the snapshot it charges.
  // `build`: build the pool's snapshot from the store when none is cached (else: no_snapshot).
  Status Round(Tx& tx, CapacityDeltas& deltas, const std::string& pool_id, TimeMs now,
               RoundOutcome& outcome, Claims& claims, bool build = true);
  // Claims the parked polls of the plan's workers; says which placements go to them (at most
  // each poll's maximum, in plan order).
  std::vector<bool> ClaimPolls(const std::string& pool_id, const Plan& plan, Claims& claims);
  // After the round: hands each claimed poll its allocs, or releases it.
  static void SettleClaims(Claims& claims, std::vector<HandedAlloc> handed);
  // After a round's commit: SettleClaims with its handed allocs, then on_placed_.
  void Announce(Claims& claims, RoundOutcome& outcome);

  Store* const store_;
  Clock* const clock_;
  SnapshotCache* const cache_;
  const PlacedHook on_placed_;
  Cluster* const cluster_;  // may be null
  const ClaimPoll claim_poll_;  // may be null

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::string> queue_;  // guarded by mu_
  std::set<std::string> queued_;   // guarded by mu_: pools in queue_
  std::set<std::string> failed_;  // guarded by mu_: pools whose last run failed
  std::map<std::string, int> conflict_rounds_;  // the scheduler thread's own: lost-race streaks
  bool busy_ = false;              // guarded by mu_: a pool is being scheduled
  bool stopping_ = false;          // guarded by mu_
  std::thread thread_;
};

}  // namespace line
