// SqliteTx: pools, workers, replicas and start-up. Evals and allocs are in sqlite_tx_jobs.cc.
#include "store/sqlite/sqlite_tx.h"

#include <utility>

#include "store/sqlite/rows.h"

namespace line::sqlite {

Status SqliteTx::CheckWritable(const char* primitive) const {
  if (!conn_.read_only()) return Status::Ok();
  return Status::Internal(std::string("sqlite: ") + primitive + " called in a read transaction");
}

Result<bool> SqliteTx::RunChanged(Query& query) {
  LINE_RETURN_IF_ERROR(query.Run());
  return query.Changes() > 0;
}

// --- Pools ---

Result<std::optional<Pool>> SqliteTx::GetPool(std::string_view pool_id) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kGetPool));
  query.Bind(1, pool_id);
  return FirstRow(query, &ReadPool);
}

Status SqliteTx::InsertPool(const Pool& pool) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertPool"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kInsertPool));
  query.Bind(1, pool.pool_id)
      .Bind(2, std::string_view(PlacementName(pool.placement)))
      .Bind(3, pool.max_retry)
      .Bind(4, pool.alloc_ttl_s)
      .Bind(5, int64_t{pool.disbanded})
      .Bind(6, pool.disbanded_at)
      .Bind(7, pool.created_at);
  return query.Run();
}

Status SqliteTx::MarkPoolDisbanded(std::string_view pool_id, TimeMs at) {
  LINE_RETURN_IF_ERROR(CheckWritable("MarkPoolDisbanded"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kMarkPoolDisbanded));
  query.Bind(1, pool_id).Bind(2, at);
  return query.Run();
}

Result<std::vector<Pool>> SqliteTx::ListPools(std::string_view after_pool_id, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kListPools));
  query.Bind(1, after_pool_id).Bind(2, limit);
  return CollectRows(query, &ReadPool);
}

Result<std::vector<std::string>> SqliteTx::PoolsDisbandedBy(TimeMs cutoff, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kPoolsDisbandedBy));
  query.Bind(1, cutoff).Bind(2, limit);
  std::vector<std::string> pool_ids;
  while (true) {
    LINE_ASSIGN_OR_RETURN(bool more, query.Step());
    if (!more) return pool_ids;
    pool_ids.push_back(query.Text(0));
  }
}

Status SqliteTx::DeletePool(std::string_view pool_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeletePool"));
  for (Sql id : {Sql::kDeletePoolAllocs, Sql::kDeletePoolEvals, Sql::kDeletePoolReplicas,
                 Sql::kDeletePoolWorkers, Sql::kDeletePool}) {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(id));
    query.Bind(1, pool_id);
    LINE_RETURN_IF_ERROR(query.Run());
  }
  return Status::Ok();
}

Result<PoolCounts> SqliteTx::CountPool(std::string_view pool_id, TimeMs now) {
  PoolCounts counts;
  {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kCountWorkers));
    query.Bind(1, pool_id);
    LINE_RETURN_IF_ERROR(query.Step().status());  // an aggregate always yields one row
    counts.workers = query.Int(0);
    counts.capacity = query.Int(1);
    counts.free = query.Int(2);
  }
  for (auto [state, field] : {std::pair{EvalState::kPending, &PoolCounts::pending_evals},
                              std::pair{EvalState::kDead, &PoolCounts::dead_letters}}) {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kCountEvalsInState));
    query.Bind(1, pool_id).Bind(2, std::string_view(EvalStateName(state)));
    LINE_RETURN_IF_ERROR(query.Step().status());
    counts.*field = query.Int(0);
  }
  {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kCountBlockedEvals));
    query.Bind(1, pool_id).Bind(2, now);
    LINE_RETURN_IF_ERROR(query.Step().status());
    counts.blocked_evals = query.Int(0);
  }
  {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kCountLiveAllocs));
    query.Bind(1, pool_id);
    LINE_RETURN_IF_ERROR(query.Step().status());
    counts.live_allocs = query.Int(0);
  }
  return counts;
}

// --- Workers ---

Result<std::optional<Worker>> SqliteTx::GetWorker(std::string_view pool_id,
                                                  std::string_view worker_id) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kGetWorker));
  query.Bind(1, pool_id).Bind(2, worker_id);
  return FirstRow(query, &ReadWorker);
}

Status SqliteTx::InsertWorker(const Worker& worker) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertWorker"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kInsertWorker));
  query.Bind(1, worker.pool_id)
      .Bind(2, worker.worker_id)
      .Bind(3, worker.capacity)
      .Bind(4, worker.free)
      .Bind(5, worker.ttl)
      .Bind(6, int64_t{worker.draining})
      .Bind(7, worker.registered_at);
  return query.Run();
}

Result<bool> SqliteTx::RenewWorker(std::string_view pool_id, std::string_view worker_id,
                                   TimeMs alive_at, TimeMs ttl) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewWorker"));
  LINE_ASSIGN_OR_RETURN(Query renew, conn_.Use(Sql::kRenewWorker));
  renew.Bind(1, pool_id).Bind(2, worker_id).Bind(3, alive_at).Bind(4, ttl);
  LINE_ASSIGN_OR_RETURN(bool renewed, RunChanged(renew));
  if (renewed) return true;
  // Not moved: expired, unknown, or already renewed as late (most heartbeats, by design).
  LINE_ASSIGN_OR_RETURN(Query alive, conn_.Use(Sql::kWorkerAliveAt));
  alive.Bind(1, pool_id).Bind(2, worker_id).Bind(3, alive_at);
  return alive.Step();
}

Result<bool> SqliteTx::SetWorkerDraining(std::string_view pool_id, std::string_view worker_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("SetWorkerDraining"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kSetWorkerDraining));
  query.Bind(1, pool_id).Bind(2, worker_id);
  return RunChanged(query);  // counts a matched row even when it was already draining
}

Status SqliteTx::DeleteWorker(std::string_view pool_id, std::string_view worker_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeleteWorker"));
  for (Sql id : {Sql::kDeleteWorkerReplicas, Sql::kDeleteWorker}) {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(id));
    query.Bind(1, pool_id).Bind(2, worker_id);
    LINE_RETURN_IF_ERROR(query.Run());
  }
  return Status::Ok();
}

Result<std::vector<Worker>> SqliteTx::ListWorkers(std::string_view pool_id,
                                                  std::string_view after_worker_id, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kListWorkers));
  query.Bind(1, pool_id).Bind(2, after_worker_id).Bind(3, limit);
  return CollectRows(query, &ReadWorker);
}

Result<std::vector<Worker>> SqliteTx::CandidateWorkers(std::string_view pool_id, TimeMs now) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kCandidateWorkers));
  query.Bind(1, pool_id).Bind(2, now);
  return CollectRows(query, &ReadWorker);
}

Result<std::vector<Worker>> SqliteTx::WorkersExpiredBy(TimeMs now, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kWorkersExpiredBy));
  query.Bind(1, now).Bind(2, limit);
  return CollectRows(query, &ReadWorker);
}

Result<bool> SqliteTx::ClaimCapacity(std::string_view pool_id, std::string_view worker_id,
                                     int64_t size, TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("ClaimCapacity"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kClaimCapacity));
  query.Bind(1, pool_id).Bind(2, worker_id).Bind(3, size).Bind(4, now);
  return RunChanged(query);
}

Result<bool> SqliteTx::ReleaseCapacity(std::string_view pool_id, std::string_view worker_id,
                                       int64_t size) {
  LINE_RETURN_IF_ERROR(CheckWritable("ReleaseCapacity"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kReleaseCapacity));
  query.Bind(1, pool_id).Bind(2, worker_id).Bind(3, size);
  return RunChanged(query);
}

// --- Replicas ---

Status SqliteTx::UpsertReplica(const Replica& replica) {
  LINE_RETURN_IF_ERROR(CheckWritable("UpsertReplica"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kUpsertReplica));
  query.Bind(1, replica.pool_id)
      .Bind(2, replica.dataset_id)
      .Bind(3, replica.worker_id)
      .Bind(4, replica.ttl);
  return query.Run();
}

Result<bool> SqliteTx::RenewReplica(const Replica& replica, TimeMs alive_at) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewReplica"));
  LINE_ASSIGN_OR_RETURN(Query renew, conn_.Use(Sql::kRenewReplica));
  renew.Bind(1, replica.pool_id)
      .Bind(2, replica.dataset_id)
      .Bind(3, replica.worker_id)
      .Bind(4, replica.ttl)
      .Bind(5, alive_at);
  LINE_ASSIGN_OR_RETURN(bool renewed, RunChanged(renew));
  if (renewed) return true;
  LINE_ASSIGN_OR_RETURN(Query held, conn_.Use(Sql::kReplicaHeldAt));
  held.Bind(1, replica.pool_id)
      .Bind(2, replica.dataset_id)
      .Bind(3, replica.worker_id)
      .Bind(4, alive_at);
  return held.Step();
}

Result<std::vector<std::string>> SqliteTx::WorkerDatasets(std::string_view pool_id,
                                                          std::string_view worker_id, TimeMs now) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kWorkerDatasets));
  query.Bind(1, pool_id).Bind(2, worker_id).Bind(3, now);
  std::vector<std::string> datasets;
  while (true) {
    LINE_ASSIGN_OR_RETURN(bool more, query.Step());
    if (!more) return datasets;
    datasets.push_back(query.Text(0));
  }
}

Result<std::vector<Replica>> SqliteTx::PoolReplicas(std::string_view pool_id, TimeMs now) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kPoolReplicas));
  query.Bind(1, pool_id).Bind(2, now);
  return CollectRows(query, &ReadReplica);
}

Result<int64_t> SqliteTx::DeleteReplicasExpiredBy(TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeleteReplicasExpiredBy"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kDeleteReplicasExpiredBy));
  query.Bind(1, now);
  LINE_RETURN_IF_ERROR(query.Run());
  return query.Changes();
}

// --- Start-up ---

Status SqliteTx::ExtendDeadlines(TimeMs now, int64_t worker_ttl_ms, int64_t replica_ttl_ms) {
  LINE_RETURN_IF_ERROR(CheckWritable("ExtendDeadlines"));
  {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kExtendWorkers));
    query.Bind(1, now + worker_ttl_ms);
    LINE_RETURN_IF_ERROR(query.Run());
  }
  {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kExtendReplicas));
    query.Bind(1, now + replica_ttl_ms);
    LINE_RETURN_IF_ERROR(query.Run());
  }
  // Allocs get their own pool's alloc_ttl, so walk the pools a page at a time (through the
  // primary key, never a scan) and extend each pool's live allocs with one indexed update.
  constexpr int64_t kPage = 1000;
  std::string after;
  while (true) {
    std::vector<std::pair<std::string, int64_t>> page;
    {
      LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kPoolAllocTtls));
      query.Bind(1, after).Bind(2, kPage);
      while (true) {
        LINE_ASSIGN_OR_RETURN(bool more, query.Step());
        if (!more) break;
        page.emplace_back(query.Text(0), query.Int(1));
      }
    }
    for (const auto& [pool_id, alloc_ttl_s] : page) {
      LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kExtendPoolAllocs));
      query.Bind(1, pool_id).Bind(2, now + alloc_ttl_s * 1000);
      LINE_RETURN_IF_ERROR(query.Run());
    }
    if (static_cast<int64_t>(page.size()) < kPage) return Status::Ok();
    after = page.back().first;
  }
}

}  // namespace line::sqlite
