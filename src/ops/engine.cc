#include "ops/engine.h"

#include <set>

#include "common/log.h"

namespace line {

Engine::Engine(Store* store, Clock* clock, Options options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  waiters_ = std::make_unique<AllocWaiters>(clock_);
  scheduler_ = std::make_unique<Scheduler>(store_, clock_, &cache_, [this](const std::vector<Alloc>& allocs) {
    std::set<std::string> keys;
    for (const Alloc& a : allocs) keys.insert(AllocWaiters::Key(a.pool_id, a.worker_id));
    for (const std::string& key : keys) waiters_->Notify(key);
  });
  sweeper_ = std::make_unique<Sweeper>(store_, clock_, &cache_,
                                       Sweeper::Ttls{options_.pool_ttl, options_.worker_ttl,
                                                     options_.replica_ttl},
                                       [this](const SweepReport& r) { AfterSweep(r); });
  service_ = std::make_unique<LineService>(store_, clock_, scheduler_.get(), &cache_,
                                           waiters_.get(),
                                           options_);
}

Engine::~Engine() { Stop(); }

Status Engine::Start(bool sweeper_thread) {
  TimeMs now = clock_->NowMs();
  std::vector<std::string> pools;
  LINE_RETURN_IF_ERROR(WriteSync(*store_, [&](Tx& tx) -> Status {
    pools.clear();
    LINE_RETURN_IF_ERROR(tx.ExtendDeadlines(now, options_.worker_ttl * 1000,
                                            options_.replica_ttl * 1000));
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
  for (const std::string& pool_id : pools) scheduler_->Wake(pool_id);
  spdlog::info("engine started: {} active pools", pools.size());
  return Status::Ok();
}

void Engine::Stop() {
  sweeper_->Stop();
  scheduler_->Stop();
  waiters_->Stop();
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
