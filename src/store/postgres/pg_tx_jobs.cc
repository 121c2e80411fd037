// PostgresTx: evals and allocs (the alloc row is also its worker's queue entry).
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_tx.h"

namespace line::postgres {

namespace {
std::string_view Name(EvalState state) { return EvalStateName(state); }
std::string_view Name(AllocState state) { return AllocStateName(state); }
}  // namespace

// --- Evals ---

Status PostgresTx::InsertEval(Eval& eval) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertEval"));
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kInsertEval, PgParams()
                                                          .Add(eval.pool_id)
                                                          .Add(eval.eval_id)
                                                          .Add(Name(eval.state))
                                                          .Add(eval.dataset_id)
                                                          .Add(eval.size)
                                                          .Add(eval.payload)
                                                          .Add(eval.attempt)
                                                          .Add(eval.alloc_id)
                                                          .Add(eval.worker_id)
                                                          .AddOptional(eval.exit_code)
                                                          .Add(eval.result)
                                                          .AddTextOrNull(eval.idempotency_key)
                                                          .Add(eval.dead_reason)
                                                          .Add(eval.created_at)));
  eval.seq = rows.Int(0, 0);  // RETURNING seq
  return Status::Ok();
}

Result<std::optional<Eval>> PostgresTx::GetEval(std::string_view pool_id,
                                                std::string_view eval_id) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kGetEval, PgParams().Add(pool_id).Add(eval_id)));
  return FirstRow(rows, &ReadEval);
}

Result<std::optional<Eval>> PostgresTx::FindEvalByKey(std::string_view pool_id,
                                                      std::string_view idempotency_key) {
  if (idempotency_key.empty()) return std::optional<Eval>();  // "" is "no key", never stored
  LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(PgSql::kFindEvalByKey,
                                                 PgParams().Add(pool_id).Add(idempotency_key)));
  return FirstRow(rows, &ReadEval);
}

Result<bool> PostgresTx::UpdateEval(const Eval& eval, EvalState expected) {
  LINE_RETURN_IF_ERROR(CheckWritable("UpdateEval"));
  return RunChanged(PgSql::kUpdateEval, PgParams()
                                            .Add(eval.pool_id)
                                            .Add(eval.eval_id)
                                            .Add(Name(eval.state))
                                            .Add(eval.attempt)
                                            .Add(eval.alloc_id)
                                            .Add(eval.worker_id)
                                            .AddOptional(eval.exit_code)
                                            .Add(eval.result)
                                            .Add(eval.dead_reason)
                                            .Add(Name(expected)));
}

Result<std::vector<Eval>> PostgresTx::ListEvals(std::string_view pool_id,
                                                std::optional<EvalState> state, int64_t after_seq,
                                                int64_t limit) {
  if (!state) {
    LINE_ASSIGN_OR_RETURN(
        PgResult rows,
        conn_.Run(PgSql::kListEvals, PgParams().Add(pool_id).Add(after_seq).Add(limit)));
    return CollectRows(rows, &ReadEval);
  }
  LINE_ASSIGN_OR_RETURN(
      PgResult rows,
      conn_.Run(PgSql::kListEvalsInState,
                PgParams().Add(pool_id).Add(Name(*state)).Add(after_seq).Add(limit)));
  return CollectRows(rows, &ReadEval);
}

Result<std::vector<Eval>> PostgresTx::PendingEvals(std::string_view pool_id, int64_t max_size,
                                                   int64_t after_seq, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kPendingEvals,
                                  PgParams().Add(pool_id).Add(after_seq).Add(max_size).Add(limit)));
  return CollectRows(rows, &ReadEval);
}

// --- Allocs ---

Status PostgresTx::InsertAlloc(Alloc& alloc) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertAlloc"));
  LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(PgSql::kInsertAlloc, PgParams()
                                                                          .Add(alloc.pool_id)
                                                                          .Add(alloc.alloc_id)
                                                                          .Add(alloc.worker_id)
                                                                          .Add(alloc.eval_id)
                                                                          .Add(alloc.dataset_id)
                                                                          .Add(alloc.size)
                                                                          .Add(alloc.attempt)
                                                                          .AddBool(alloc.locality)
                                                                          .Add(Name(alloc.state))
                                                                          .Add(alloc.ttl)
                                                                          .Add(alloc.created_at)
                                                                          .Add(alloc.delivered_at)
                                                                          .AddBool(alloc.acked)
                                                                          .Add(alloc.ended_at)
                                                                          .Add(alloc.end_reason)));
  alloc.seq = rows.Int(0, 0);  // RETURNING seq
  return Status::Ok();
}

Result<std::optional<Alloc>> PostgresTx::GetAlloc(std::string_view pool_id,
                                                  std::string_view alloc_id) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kGetAlloc, PgParams().Add(pool_id).Add(alloc_id)));
  return FirstRow(rows, &ReadAlloc);
}

Result<bool> PostgresTx::EndAlloc(std::string_view pool_id, std::string_view alloc_id,
                                  AllocState state, std::string_view reason, TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("EndAlloc"));
  if (state == AllocState::kLive) {
    return Status::Internal("postgres: EndAlloc of " + std::string(alloc_id) +
                            " to state live; an alloc ends as completed or expired");
  }
  return RunChanged(PgSql::kEndAlloc,
                    PgParams().Add(pool_id).Add(alloc_id).Add(Name(state)).Add(reason).Add(now));
}

Result<std::vector<std::string>> PostgresTx::RenewAllocs(std::string_view pool_id,
                                                         std::string_view worker_id,
                                                         const std::vector<std::string>& alloc_ids,
                                                         TimeMs ttl) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewAllocs"));
  std::vector<std::string> renewed;
  for (const std::string& alloc_id : alloc_ids) {
    LINE_ASSIGN_OR_RETURN(
        bool changed, RunChanged(PgSql::kRenewAlloc,
                                 PgParams().Add(pool_id).Add(alloc_id).Add(worker_id).Add(ttl)));
    if (changed) renewed.push_back(alloc_id);
  }
  return renewed;
}

Result<std::vector<Alloc>> PostgresTx::LiveAllocsOfWorker(std::string_view pool_id,
                                                          std::string_view worker_id) {
  LINE_ASSIGN_OR_RETURN(
      PgResult rows, conn_.Run(PgSql::kLiveAllocsOfWorker, PgParams().Add(pool_id).Add(worker_id)));
  return CollectRows(rows, &ReadAlloc);
}

Result<std::vector<Alloc>> PostgresTx::AllocsExpiredBy(TimeMs now, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kAllocsExpiredBy, PgParams().Add(now).Add(limit)));
  return CollectRows(rows, &ReadAlloc);
}

Result<std::vector<Alloc>> PostgresTx::ListAllocs(std::string_view pool_id,
                                                  std::string_view worker_id,
                                                  std::optional<AllocState> state,
                                                  int64_t after_seq, int64_t limit) {
  // Four statements rather than one with optional filters, so each has its own index plan.
  PgSql id = worker_id.empty()
                 ? (state ? PgSql::kListAllocsInState : PgSql::kListAllocs)
                 : (state ? PgSql::kListAllocsOfWorkerInState : PgSql::kListAllocsOfWorker);
  PgParams params;
  params.Add(pool_id);
  if (!worker_id.empty()) params.Add(worker_id);
  if (state) params.Add(Name(*state));
  params.Add(after_seq).Add(limit);
  LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(id, params));
  return CollectRows(rows, &ReadAlloc);
}

Result<std::vector<Alloc>> PostgresTx::AllocsOfEval(std::string_view pool_id,
                                                    std::string_view eval_id) {
  LINE_ASSIGN_OR_RETURN(PgResult rows,
                        conn_.Run(PgSql::kAllocsOfEval, PgParams().Add(pool_id).Add(eval_id)));
  return CollectRows(rows, &ReadAlloc);
}

Result<std::vector<Alloc>> PostgresTx::DeliverableAllocs(std::string_view pool_id,
                                                         std::string_view worker_id,
                                                         TimeMs redeliver_by, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(
      PgResult rows,
      conn_.Run(PgSql::kDeliverableAllocs,
                PgParams().Add(pool_id).Add(worker_id).Add(redeliver_by).Add(limit)));
  return CollectRows(rows, &ReadAlloc);
}

Result<std::vector<std::string>> PostgresTx::MarkDelivered(
    std::string_view pool_id, const std::vector<std::string>& alloc_ids, TimeMs at,
    TimeMs redeliver_by) {
  LINE_RETURN_IF_ERROR(CheckWritable("MarkDelivered"));
  std::vector<std::string> marked;
  for (const std::string& alloc_id : alloc_ids) {
    // Under READ COMMITTED a second node's mark waits for the first's commit and then sees
    // the new delivered_at: its condition fails and it does not hand the alloc out again.
    LINE_ASSIGN_OR_RETURN(bool changed,
                          RunChanged(PgSql::kMarkDelivered,
                                     PgParams().Add(pool_id).Add(alloc_id).Add(at).Add(redeliver_by)));
    if (changed) marked.push_back(alloc_id);
  }
  return marked;
}

Result<TimeMs> PostgresTx::EarliestUnackedDelivery(std::string_view pool_id,
                                                   std::string_view worker_id) {
  LINE_ASSIGN_OR_RETURN(PgResult rows, conn_.Run(PgSql::kEarliestUnackedDelivery,
                                                 PgParams().Add(pool_id).Add(worker_id)));
  return rows.Int(0, 0);  // an aggregate always yields one row
}

}  // namespace line::postgres
