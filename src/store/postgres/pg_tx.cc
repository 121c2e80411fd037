// PostgresTx: pools, workers, replicas and start-up. Evals and allocs are in pg_tx_jobs.cc.
#include "store/postgres/pg_tx.h"

#include <utility>

#include "store/postgres/pg_rows.h"

namespace line::postgres {

Status PostgresTx::CheckWritable(const char* primitive) const {
  ++write_calls_;
  if (!read_only_) return Status::Ok();
  return Status::Internal(std::string("postgres: ") + primitive + " called in a read transaction");
}

Result<bool> PostgresTx::RunChanged(PgSql id, const PgParams& params) {
  LINE_ASSIGN_OR_RETURN(PgResult result, conn_.Run(id, params));
  return result.Affected() > 0;
}

// --- Pools ---

Result<std::optional<Pool>> PostgresTx::GetPool(std::string_view pool_id) {
  LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(PgSql::kGetPool, PgParams().Add(pool_id)));
  return FirstRow(rows, &ReadPool);
}

Status PostgresTx::InsertPool(const Pool& pool) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertPool"));
  return conn_
      .Run(PgSql::kInsertPool, PgParams()
                                   .Add(pool.pool_id)
                                   .Add(PlacementName(pool.placement))
                                   .Add(pool.max_retry)
                                   .Add(pool.alloc_ttl_s)
                                   .AddBool(pool.disbanded)
                                   .Add(pool.disbanded_at)
                                   .Add(pool.created_at))
      .status();
}

Status PostgresTx::MarkPoolDisbanded(std::string_view pool_id, TimeMs at) {
  LINE_RETURN_IF_ERROR(CheckWritable("MarkPoolDisbanded"));
  return conn_.Run(PgSql::kMarkPoolDisbanded, PgParams().Add(pool_id).Add(at)).status();
}

Result<std::vector<Pool>> PostgresTx::ListPools(std::string_view after_pool_id, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kListPools, PgParams().Add(after_pool_id).Add(limit)));
  return CollectRows(rows, &ReadPool);
}

Result<std::vector<std::string>> PostgresTx::PoolsDisbandedBy(TimeMs cutoff, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kPoolsDisbandedBy, PgParams().Add(cutoff).Add(limit)));
  std::vector<std::string> pool_ids;
  for (int row = 0; row < rows.rows(); ++row) pool_ids.push_back(rows.Text(row, 0));
  return pool_ids;
}

Status PostgresTx::DeletePool(std::string_view pool_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeletePool"));
  for (PgSql id : {PgSql::kDeletePoolAllocs, PgSql::kDeletePoolEvals, PgSql::kDeletePoolReplicas,
                   PgSql::kDeletePoolWorkers, PgSql::kDeletePool}) {
    LINE_RETURN_IF_ERROR(conn_.Run(id, PgParams().Add(pool_id)).status());
  }
  return Status::Ok();
}

Result<PoolCounts> PostgresTx::CountPool(std::string_view pool_id, TimeMs now) {
  PoolCounts counts;
  {
    // An aggregate always yields one row.
    LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(PgSql::kCountWorkers, PgParams().Add(pool_id)));
    counts.workers = rows.Int(0, 0);
    counts.capacity = rows.Int(0, 1);
    counts.free = rows.Int(0, 2);
  }
  for (auto [state, field] : {std::pair{EvalState::kPending, &PoolCounts::pending_evals},
                              std::pair{EvalState::kDead, &PoolCounts::dead_letters}}) {
    LINE_ASSIGN_OR_RETURN(
        PgResult rows,
        conn_.Run(PgSql::kCountEvalsInState, PgParams().Add(pool_id).Add(EvalStateName(state))));
    counts.*field = rows.Int(0, 0);
  }
  {
    LINE_ASSIGN_OR_RETURN(PgResult rows,
                          conn_.Run(PgSql::kCountBlockedEvals, PgParams().Add(pool_id).Add(now)));
    counts.blocked_evals = rows.Int(0, 0);
  }
  {
    LINE_ASSIGN_OR_RETURN(PgResult rows,
                          conn_.Run(PgSql::kCountLiveAllocs, PgParams().Add(pool_id)));
    counts.live_allocs = rows.Int(0, 0);
  }
  return counts;
}

// --- Workers ---

Result<std::optional<Worker>> PostgresTx::GetWorker(std::string_view pool_id,
                                                    std::string_view worker_id) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kGetWorker, PgParams().Add(pool_id).Add(worker_id)));
  return FirstRow(rows, &ReadWorker);
}

Status PostgresTx::InsertWorker(const Worker& worker) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertWorker"));
  return conn_
      .Run(PgSql::kInsertWorker, PgParams()
                                     .Add(worker.pool_id)
                                     .Add(worker.worker_id)
                                     .Add(worker.capacity)
                                     .Add(worker.free)
                                     .Add(worker.ttl)
                                     .AddBool(worker.draining)
                                     .Add(worker.registered_at))
      .status();
}

Result<bool> PostgresTx::RenewWorker(std::string_view pool_id, std::string_view worker_id,
                                     TimeMs alive_at, TimeMs ttl) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewWorker"));
  // One statement: the row is renewed if its deadline is earlier, else share-locked if it is
  // already that late. Either way a concurrent delete (another node's expiry or deregistration)
  // is waited for and then seen, as a plain UPDATE would; a bare SELECT of the statement's
  // snapshot would call a just-deleted worker alive.
  LINE_ASSIGN_OR_RETURN(PgResult alive,
                        conn_.Run(PgSql::kRenewWorker,
                                  PgParams().Add(pool_id).Add(worker_id).Add(alive_at).Add(ttl)));
  return alive.rows() > 0;
}

Result<bool> PostgresTx::SetWorkerDraining(std::string_view pool_id, std::string_view worker_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("SetWorkerDraining"));
  // PostgreSQL counts a matched row even when it was already draining, as SQLite does.
  return RunChanged(PgSql::kSetWorkerDraining, PgParams().Add(pool_id).Add(worker_id));
}

Status PostgresTx::DeleteWorker(std::string_view pool_id, std::string_view worker_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeleteWorker"));
  for (PgSql id : {PgSql::kDeleteWorkerReplicas, PgSql::kDeleteWorker}) {
    LINE_RETURN_IF_ERROR(conn_.Run(id, PgParams().Add(pool_id).Add(worker_id)).status());
  }
  return Status::Ok();
}

Result<std::vector<Worker>> PostgresTx::ListWorkers(std::string_view pool_id,
                                                    std::string_view after_worker_id,
                                                    int64_t limit) {
  LINE_ASSIGN_OR_RETURN(
      PgResult rows,
      conn_.Run(PgSql::kListWorkers, PgParams().Add(pool_id).Add(after_worker_id).Add(limit)));
  return CollectRows(rows, &ReadWorker);
}

Result<std::vector<Worker>> PostgresTx::CandidateWorkers(std::string_view pool_id, TimeMs now) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kCandidateWorkers, PgParams().Add(pool_id).Add(now)));
  return CollectRows(rows, &ReadWorker);
}

Result<std::vector<Worker>> PostgresTx::WorkersExpiredBy(TimeMs now, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kWorkersExpiredBy, PgParams().Add(now).Add(limit)));
  return CollectRows(rows, &ReadWorker);
}

Result<bool> PostgresTx::ClaimCapacity(std::string_view pool_id, std::string_view worker_id,
                                       int64_t size, TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("ClaimCapacity"));
  return RunChanged(PgSql::kClaimCapacity,
                    PgParams().Add(pool_id).Add(worker_id).Add(size).Add(now));
}

Result<bool> PostgresTx::ReleaseCapacity(std::string_view pool_id, std::string_view worker_id,
                                         int64_t size) {
  LINE_RETURN_IF_ERROR(CheckWritable("ReleaseCapacity"));
  return RunChanged(PgSql::kReleaseCapacity, PgParams().Add(pool_id).Add(worker_id).Add(size));
}

// --- Replicas ---

Status PostgresTx::UpsertReplica(const Replica& replica) {
  LINE_RETURN_IF_ERROR(CheckWritable("UpsertReplica"));
  return conn_
      .Run(PgSql::kUpsertReplica, PgParams()
                                      .Add(replica.pool_id)
                                      .Add(replica.dataset_id)
                                      .Add(replica.worker_id)
                                      .Add(replica.ttl))
      .status();
}

Result<bool> PostgresTx::RenewReplica(const Replica& replica, TimeMs alive_at) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewReplica"));
  LINE_ASSIGN_OR_RETURN(PgResult held, conn_.Run(PgSql::kRenewReplica, PgParams()
                                                                          .Add(replica.pool_id)
                                                                          .Add(replica.dataset_id)
                                                                          .Add(replica.worker_id)
                                                                          .Add(replica.ttl)
                                                                          .Add(alive_at)));
  return held.rows() > 0;
}

Result<std::vector<std::string>> PostgresTx::WorkerDatasets(std::string_view pool_id,
                                                            std::string_view worker_id,
                                                            TimeMs now) {
  LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(PgSql::kWorkerDatasets,
                                                 PgParams().Add(pool_id).Add(worker_id).Add(now)));
  std::vector<std::string> datasets;
  for (int row = 0; row < rows.rows(); ++row) datasets.push_back(rows.Text(row, 0));
  return datasets;
}

Result<std::vector<Replica>> PostgresTx::PoolReplicas(std::string_view pool_id, TimeMs now) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kPoolReplicas, PgParams().Add(pool_id).Add(now)));
  return CollectRows(rows, &ReadReplica);
}

Result<int64_t> PostgresTx::DeleteReplicasExpiredBy(TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeleteReplicasExpiredBy"));
  LINE_ASSIGN_OR_RETURN(PgResult result,
                        conn_.Run(PgSql::kDeleteReplicasExpiredBy, PgParams().Add(now)));
  return result.Affected();
}

// --- Start-up ---

Status PostgresTx::ExtendDeadlines(TimeMs now, int64_t worker_ttl_ms, int64_t replica_ttl_ms) {
  LINE_RETURN_IF_ERROR(CheckWritable("ExtendDeadlines"));
  LINE_RETURN_IF_ERROR(
      conn_.Run(PgSql::kExtendWorkers, PgParams().Add(now + worker_ttl_ms)).status());
  LINE_RETURN_IF_ERROR(
      conn_.Run(PgSql::kExtendReplicas, PgParams().Add(now + replica_ttl_ms)).status());
  // Allocs get their own pool's alloc_ttl, so walk the pools a page at a time (through the
  // primary key, never a scan) and extend each pool's live allocs with one indexed update.
  constexpr int64_t kPage = 1000;
  std::string after;
  while (true) {
    LINE_ASSIGN_OR_RETURN(PgResult page,
                          conn_.Run(PgSql::kPoolAllocTtls, PgParams().Add(after).Add(kPage)));
    for (int row = 0; row < page.rows(); ++row) {
      LINE_RETURN_IF_ERROR(
          conn_
              .Run(PgSql::kExtendPoolAllocs,
                   PgParams().Add(page.Text(row, 0)).Add(now + page.Int(row, 1) * 1000))
              .status());
    }
    if (page.rows() < kPage) return Status::Ok();
    after = page.Text(page.rows() - 1, 0);
  }
}

}  // namespace line::postgres
