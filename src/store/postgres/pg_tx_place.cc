// Tx::PlaceEvals on PostgreSQL: a round's placements in four statements, whatever their
// number, instead of three round trips per placement. Same conditions as the single-row
// primitives; the one difference (allowed by the contract) is that a worker's claim is
// all-or-nothing for the round: if it cannot take every placement planned on it, none of
// them happens and their evals stay pending.
#include <map>
#include <set>

#include "store/postgres/pg_arrays.h"
#include "store/postgres/pg_tx.h"

namespace line::postgres {

Result<std::vector<bool>> PostgresTx::PlaceEvals(std::vector<Placement>& placements, TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("PlaceEvals"));
  std::vector<bool> committed(placements.size(), false);
  if (placements.empty()) return committed;
  const std::string& pool_id = placements.front().alloc.pool_id;
  for (const Placement& p : placements) {
    const Alloc& a = p.alloc;
    // The insert below writes a fresh live alloc; anything else is a caller's bug.
    if (a.pool_id != pool_id || a.state != AllocState::kLive || a.delivered_at < 0 ||
        a.acked || a.ended_at != 0 || !a.end_reason.empty() || a.eval_id != p.pending.eval_id) {
      return Status::Internal("PlaceEvals: placement of eval " + p.pending.eval_id +
                              " is not a fresh live alloc of pool " + pool_id);
    }
  }

  // 1. Move the evals that are still pending.
  PgArray eval_ids, alloc_ids, worker_ids;
  for (const Placement& p : placements) {
    eval_ids.AddText(p.pending.eval_id);
    alloc_ids.AddText(p.alloc.alloc_id);
    worker_ids.AddText(p.alloc.worker_id);
  }
  LINE_ASSIGN_OR_RETURN(PgResult moved_rows,
                        conn_.Run(PgSql::kPlaceMoveEvals, PgParams()
                                                              .Add(pool_id)
                                                              .Add(eval_ids.str())
                                                              .Add(alloc_ids.str())
                                                              .Add(worker_ids.str())));
  std::set<std::string> moved;
  for (int row = 0; row < moved_rows.rows(); ++row) moved.insert(moved_rows.Text(row, 0));
  if (moved.empty()) return committed;

  // 2. Claim, per worker, the total of its moved placements.
  std::map<std::string, int64_t> totals;
  for (const Placement& p : placements) {
    if (moved.contains(p.pending.eval_id)) totals[p.alloc.worker_id] += p.alloc.size;
  }
  PgArray claim_workers, claim_totals;
  for (const auto& [worker_id, total] : totals) {
    claim_workers.AddText(worker_id);
    claim_totals.AddInt(total);
  }
  LINE_ASSIGN_OR_RETURN(PgResult claimed_rows, conn_.Run(PgSql::kPlaceClaimWorkers,
                                                         PgParams()
                                                             .Add(pool_id)
                                                             .Add(claim_workers.str())
                                                             .Add(claim_totals.str())
                                                             .Add(now)));
  std::set<std::string> claimed;
  for (int row = 0; row < claimed_rows.rows(); ++row) claimed.insert(claimed_rows.Text(row, 0));

  // 3. Put back, exactly as they were, the evals moved onto a worker that refused.
  PgArray restore_ids, restore_allocs, restore_workers;
  bool restore = false;
  for (const Placement& p : placements) {
    if (moved.contains(p.pending.eval_id) && !claimed.contains(p.alloc.worker_id)) {
      restore_ids.AddText(p.pending.eval_id);
      restore_allocs.AddText(p.pending.alloc_id);
      restore_workers.AddText(p.pending.worker_id);
      restore = true;
    }
  }
  if (restore) {
    LINE_RETURN_IF_ERROR(conn_.Run(PgSql::kPlaceRestoreEvals, PgParams()
                                                                   .Add(pool_id)
                                                                   .Add(restore_ids.str())
                                                                   .Add(restore_allocs.str())
                                                                   .Add(restore_workers.str()))
                             .status());
  }

  // 4. The allocs of the placements that hold.
  PgArray ids, workers, evals, datasets, sizes, attempts, localities, ttls, created, delivered;
  std::map<std::string, size_t> index_of_alloc;
  for (size_t i = 0; i < placements.size(); ++i) {
    const Placement& p = placements[i];
    if (!moved.contains(p.pending.eval_id) || !claimed.contains(p.alloc.worker_id)) continue;
    const Alloc& a = p.alloc;
    ids.AddText(a.alloc_id);
    workers.AddText(a.worker_id);
    evals.AddText(a.eval_id);
    datasets.AddText(a.dataset_id);
    sizes.AddInt(a.size);
    attempts.AddInt(a.attempt);
    localities.AddBool(a.locality);
    ttls.AddInt(a.ttl);
    created.AddInt(a.created_at);
    delivered.AddInt(a.delivered_at);
    index_of_alloc[a.alloc_id] = i;
  }
  if (index_of_alloc.empty()) return committed;
  LINE_ASSIGN_OR_RETURN(PgResult inserted, conn_.Run(PgSql::kPlaceInsertAllocs,
                                                     PgParams()
                                                         .Add(pool_id)
                                                         .Add(ids.str())
                                                         .Add(workers.str())
                                                         .Add(evals.str())
                                                         .Add(datasets.str())
                                                         .Add(sizes.str())
                                                         .Add(attempts.str())
                                                         .Add(localities.str())
                                                         .Add(ttls.str())
                                                         .Add(created.str())
                                                         .Add(delivered.str())));
  if (static_cast<size_t>(inserted.rows()) != index_of_alloc.size()) {
    return Status::Internal("PlaceEvals: inserted " + std::to_string(inserted.rows()) +
                            " allocs of " + std::to_string(index_of_alloc.size()));
  }
  for (int row = 0; row < inserted.rows(); ++row) {
    size_t i = index_of_alloc.at(inserted.Text(row, 0));
    placements[i].alloc.seq = inserted.Int(row, 1);
    committed[i] = true;
  }
  return committed;
}

}  // namespace line::postgres

namespace line::postgres {

Status PostgresTx::InsertEvals(std::vector<Eval>& evals) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertEvals"));
  if (evals.empty()) return Status::Ok();
  const std::string& pool_id = evals.front().pool_id;
  PgArray ids, datasets, sizes, payloads, attempts, created;
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < evals.size(); ++i) {
    const Eval& e = evals[i];
    // The statement writes fresh pending evals; anything else is a caller's bug.
    if (e.pool_id != pool_id || e.state != EvalState::kPending || !e.idempotency_key.empty() ||
        !e.alloc_id.empty() || !e.worker_id.empty() || e.exit_code.has_value() ||
        !e.result.empty() || !e.dead_reason.empty()) {
      return Status::Internal("InsertEvals: eval " + e.eval_id + " is not a fresh pending eval");
    }
    ids.AddText(e.eval_id);
    datasets.AddText(e.dataset_id);
    sizes.AddInt(e.size);
    payloads.AddText(e.payload);
    attempts.AddInt(e.attempt);
    created.AddInt(e.created_at);
    index_of[e.eval_id] = i;
  }
  LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(PgSql::kInsertEvals, PgParams()
                                                                        .Add(pool_id)
                                                                        .Add(ids.str())
                                                                        .Add(datasets.str())
                                                                        .Add(sizes.str())
                                                                        .Add(payloads.str())
                                                                        .Add(attempts.str())
                                                                        .Add(created.str())));
  if (static_cast<size_t>(rows.rows()) != evals.size()) {
    return Status::Internal("InsertEvals: inserted " + std::to_string(rows.rows()) + " of " +
                            std::to_string(evals.size()));
  }
  for (int row = 0; row < rows.rows(); ++row) {
    evals[index_of.at(rows.Text(row, 0))].seq = rows.Int(row, 1);
  }
  return Status::Ok();
}

}  // namespace line::postgres
