#include "ops/engine.h"

#include <set>

#include "common/log.h"

namespace line {

Engine::Engine(Store* store, Clock* clock, Options options, std::unique_ptr<Cluster> cluster)
    : store_(store), clock_(clock), options_(std::move(options)), cluster_(std::move(cluster)) {
  if (cluster_ == nullptr) cluster_ = std::make_unique<SoloCluster>(options_.listen);
  waiters_ = std::make_unique<AllocWaiters>(clock_);
  scheduler_ = std::make_unique<Scheduler>(
      store_, clock_, &cache_,
      [this](const std::vector<Alloc>& allocs) {
        std::set<std::string> keys;
        for (const Alloc& a : allocs) keys.insert(AllocWaiters::Key(a.pool_id, a.worker_id));
        for (const std::string& key : keys) waiters_->Notify(key);
        // A long-poll for the same worker may be parked on another node.
        cluster_->AllocsCommitted(std::vector<std::string>(keys.begin(), keys.end()));
      },
      cluster_.get(),
      [this](const std::string& pool_id,
             const std::string& worker_id) -> std::optional<ClaimedPoll> {
        std::optional<AllocWaiters::Claimed> claimed =
            waiters_->Claim(AllocWaiters::Key(pool_id, worker_id));
        if (!claimed) return std::nullopt;
        return ClaimedPoll{
            .max_allocs = claimed->max_take,
            .deliver = std::move(claimed->take),
            .release = [this, fire = std::move(claimed->fire)]() mutable {
              waiters_->Refire(std::move(fire));
            }};
      });
  sweeper_ = std::make_unique<Sweeper>(
      store_, clock_, &cache_,
      Sweeper::Ttls{options_.pool_ttl, options_.worker_ttl, options_.replica_ttl},
      [this](const SweepReport& r) { AfterSweep(r); }, [this] { return cluster_->OwnsExpiry(); });
  // Capacity a commit here changed may be cached by the pool's owner on another node.
  cache_.SetCommittedHook([this](const CapacityDeltas& deltas) {
    std::set<std::string> pools;
    for (const CapacityDelta& delta : deltas) {
      // Placements are the owner's own: no other node keeps a snapshot of its pools. An
      // ended alloc changes capacity only through its kRelease.
      if (delta.kind == CapacityDelta::Kind::kPlaced ||
          delta.kind == CapacityDelta::Kind::kAllocEnded) {
        continue;
      }
      if (!delta.pool_id.empty()) pools.insert(delta.pool_id);
    }
    for (const std::string& pool_id : pools) cluster_->PoolChanged(pool_id, /*capacity_changed=*/true);
  });
  service_ = std::make_unique<LineService>(store_, clock_, scheduler_.get(), &cache_,
                                           waiters_.get(), cluster_.get(), options_);
}

Cluster::Events Engine::ClusterEvents() {
  Cluster::Events events;
  events.pool_changed = [this](const std::string& pool_id, bool capacity_changed) {
    // Capacity changed in a commit this node did not see: the cached snapshot is stale.
    if (capacity_changed) cache_.Invalidate(pool_id);
    if (cluster_->OwnsPool(pool_id)) scheduler_->WakeLocal(pool_id);
  };
  events.pool_gained = [this](const std::string& pool_id) {
    cache_.Invalidate(pool_id);
    scheduler_->WakeLocal(pool_id);
  };
  events.pool_lost = [this](const std::string& pool_id) {
    if (pool_id.empty()) {
      cache_.InvalidateAll();
    } else {
      cache_.Invalidate(pool_id);
    }
  };
  events.allocs_committed = [this](const std::string& key) { waiters_->Notify(key); };
  events.expiry_resumed_after_gap = [this] { sweeper_->RequestFullTtl(); };
  return events;
}

Engine::~Engine() { Stop(); }

Status Engine::Start(bool sweeper_thread) {
  LINE_RETURN_IF_ERROR(cluster_->Start(ClusterEvents()));
  TimeMs now = clock_->NowMs();
  const bool extend = cluster_->ExtendDeadlinesAtStart();
  std::vector<std::string> pools;
  LINE_RETURN_IF_ERROR(WriteSync(*store_, [&](Tx& tx) -> Status {
    pools.clear();
    if (extend) {
      LINE_RETURN_IF_ERROR(tx.ExtendDeadlines(now, options_.worker_ttl * 1000,
                                              options_.replica_ttl * 1000));
    }
    std::string after;
    while (true) {
      LINE_ASSIGN_OR_RETURN(std::vector<Pool> page, tx.ListPools(after, 1000));
      if (page.empty()) break;
      after = page.back().pool_id;
      for (const Pool& p : page) {
        if (!p.disbanded) pools.push_back(p.pool_id);
      }
    }
    return Status::Ok();
  }));
  waiters_->Start();
  scheduler_->Start();
  if (sweeper_thread) sweeper_->Start();
  // Pools other nodes own are skipped by the scheduler; their owners look for themselves.
  for (const std::string& pool_id : pools) scheduler_->WakeLocal(pool_id);
  spdlog::info("engine started: {} active pools", pools.size());
  return Status::Ok();
}

void Engine::Stop() {
  sweeper_->Stop();
  scheduler_->Stop();
  waiters_->Stop();
  // Last: closing the coordination connection hands this node's leases to the others.
  cluster_->Stop();
}

Result<SweepReport> Engine::SweepNow() {
  Result<SweepReport> report = sweeper_->SweepOnce();
  if (report.ok()) AfterSweep(*report);
  return report;
}

void Engine::AfterSweep(const SweepReport& report) {
  for (const std::string& pool_id : report.pools_to_wake) scheduler_->Wake(pool_id);
  for (const auto& [pool_id, worker_id] : report.gone_workers) {
    waiters_->Forget(AllocWaiters::Key(pool_id, worker_id));
  }
  scheduler_->RetryFailed();
}

}  // namespace line
