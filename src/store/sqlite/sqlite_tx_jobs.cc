// SqliteTx: evals and allocs (the alloc row is also its worker's queue entry).
#include <sqlite3.h>

#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_tx.h"

namespace line::sqlite {

namespace {
std::string_view Name(EvalState state) { return EvalStateName(state); }
std::string_view Name(AllocState state) { return AllocStateName(state); }
}  // namespace

// --- Evals ---

Status SqliteTx::InsertEval(Eval& eval) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertEval"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kInsertEval));
  query.Bind(1, eval.pool_id)
      .Bind(2, eval.eval_id)
      .Bind(3, Name(eval.state))
      .Bind(4, eval.dataset_id)
      .Bind(5, eval.size)
      .Bind(6, eval.payload)
      .Bind(7, eval.attempt)
      .Bind(8, eval.alloc_id)
      .Bind(9, eval.worker_id)
      .BindOptional(10, eval.exit_code)
      .Bind(11, eval.result)
      .BindTextOrNull(12, eval.idempotency_key)
      .Bind(13, eval.dead_reason)
      .Bind(14, eval.created_at);
  LINE_RETURN_IF_ERROR(query.Run());
  eval.seq = sqlite3_last_insert_rowid(conn_.db());
  return Status::Ok();
}

Result<std::optional<Eval>> SqliteTx::GetEval(std::string_view pool_id, std::string_view eval_id) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kGetEval));
  query.Bind(1, pool_id).Bind(2, eval_id);
  return FirstRow(query, &ReadEval);
}

Result<std::optional<Eval>> SqliteTx::FindEvalByKey(std::string_view pool_id,
                                                    std::string_view idempotency_key) {
  if (idempotency_key.empty()) return std::optional<Eval>();  // "" is "no key", never stored
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kFindEvalByKey));
  query.Bind(1, pool_id).Bind(2, idempotency_key);
  return FirstRow(query, &ReadEval);
}

Result<bool> SqliteTx::UpdateEval(const Eval& eval, EvalState expected) {
  LINE_RETURN_IF_ERROR(CheckWritable("UpdateEval"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kUpdateEval));
  query.Bind(1, eval.pool_id)
      .Bind(2, eval.eval_id)
      .Bind(3, Name(eval.state))
      .Bind(4, eval.attempt)
      .Bind(5, eval.alloc_id)
      .Bind(6, eval.worker_id)
      .BindOptional(7, eval.exit_code)
      .Bind(8, eval.result)
      .Bind(9, eval.dead_reason)
      .Bind(10, Name(expected));
  return RunChanged(query);
}

Result<std::vector<Eval>> SqliteTx::ListEvals(std::string_view pool_id,
                                              std::optional<EvalState> state, int64_t after_seq,
                                              int64_t limit) {
  if (!state) {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kListEvals));
    query.Bind(1, pool_id).Bind(2, after_seq).Bind(3, limit);
    return CollectRows(query, &ReadEval);
  }
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kListEvalsInState));
  query.Bind(1, pool_id).Bind(2, Name(*state)).Bind(3, after_seq).Bind(4, limit);
  return CollectRows(query, &ReadEval);
}

Result<std::vector<Eval>> SqliteTx::PendingEvals(std::string_view pool_id, int64_t max_size,
                                                 int64_t after_seq, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kPendingEvals));
  query.Bind(1, pool_id).Bind(2, after_seq).Bind(3, max_size).Bind(4, limit);
  return CollectRows(query, &ReadEval);
}

// --- Allocs ---

Status SqliteTx::InsertAlloc(Alloc& alloc) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertAlloc"));
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kInsertAlloc));
  query.Bind(1, alloc.pool_id)
      .Bind(2, alloc.alloc_id)
      .Bind(3, alloc.worker_id)
      .Bind(4, alloc.eval_id)
      .Bind(5, alloc.dataset_id)
      .Bind(6, alloc.size)
      .Bind(7, alloc.attempt)
      .Bind(8, int64_t{alloc.locality})
      .Bind(9, Name(alloc.state))
      .Bind(10, alloc.ttl)
      .Bind(11, alloc.created_at)
      .Bind(12, alloc.delivered_at)
      .Bind(13, int64_t{alloc.acked})
      .Bind(14, alloc.ended_at)
      .Bind(15, alloc.end_reason);
  LINE_RETURN_IF_ERROR(query.Run());
  alloc.seq = sqlite3_last_insert_rowid(conn_.db());
  return Status::Ok();
}

Result<std::optional<Alloc>> SqliteTx::GetAlloc(std::string_view pool_id,
                                                std::string_view alloc_id) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kGetAlloc));
  query.Bind(1, pool_id).Bind(2, alloc_id);
  return FirstRow(query, &ReadAlloc);
}

Result<bool> SqliteTx::EndAlloc(std::string_view pool_id, std::string_view alloc_id,
                                AllocState state, std::string_view reason, TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("EndAlloc"));
  if (state == AllocState::kLive) {
    return Status::Internal("sqlite: EndAlloc of " + std::string(alloc_id) +
                            " to state live; an alloc ends as completed or expired");
  }
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kEndAlloc));
  query.Bind(1, pool_id).Bind(2, alloc_id).Bind(3, Name(state)).Bind(4, reason).Bind(5, now);
  return RunChanged(query);
}

Result<std::vector<std::string>> SqliteTx::RenewAllocs(std::string_view pool_id,
                                                       std::string_view worker_id,
                                                       const std::vector<std::string>& alloc_ids,
                                                       TimeMs ttl) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewAllocs"));
  std::vector<std::string> renewed;
  for (const std::string& alloc_id : alloc_ids) {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kRenewAlloc));
    query.Bind(1, pool_id).Bind(2, alloc_id).Bind(3, worker_id).Bind(4, ttl);
    LINE_ASSIGN_OR_RETURN(bool changed, RunChanged(query));
    if (changed) renewed.push_back(alloc_id);
  }
  return renewed;
}

Result<std::vector<Alloc>> SqliteTx::LiveAllocsOfWorker(std::string_view pool_id,
                                                        std::string_view worker_id) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kLiveAllocsOfWorker));
  query.Bind(1, pool_id).Bind(2, worker_id);
  return CollectRows(query, &ReadAlloc);
}

Result<std::vector<Alloc>> SqliteTx::AllocsExpiredBy(TimeMs now, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kAllocsExpiredBy));
  query.Bind(1, now).Bind(2, limit);
  return CollectRows(query, &ReadAlloc);
}

Result<std::vector<Alloc>> SqliteTx::ListAllocs(std::string_view pool_id,
                                                std::string_view worker_id,
                                                std::optional<AllocState> state, int64_t after_seq,
                                                int64_t limit) {
  // Four statements rather than one with optional filters, so each has its own index plan.
  int next = 1;
  Sql id = worker_id.empty() ? (state ? Sql::kListAllocsInState : Sql::kListAllocs)
                             : (state ? Sql::kListAllocsOfWorkerInState : Sql::kListAllocsOfWorker);
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(id));
  query.Bind(next++, pool_id);
  if (!worker_id.empty()) query.Bind(next++, worker_id);
  if (state) query.Bind(next++, Name(*state));
  query.Bind(next++, after_seq);
  query.Bind(next, limit);
  return CollectRows(query, &ReadAlloc);
}

Result<std::vector<Alloc>> SqliteTx::AllocsOfEval(std::string_view pool_id,
                                                  std::string_view eval_id) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kAllocsOfEval));
  query.Bind(1, pool_id).Bind(2, eval_id);
  return CollectRows(query, &ReadAlloc);
}

Result<std::vector<Alloc>> SqliteTx::DeliverableAllocs(std::string_view pool_id,
                                                       std::string_view worker_id,
                                                       TimeMs redeliver_by, int64_t limit) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kDeliverableAllocs));
  query.Bind(1, pool_id).Bind(2, worker_id).Bind(3, redeliver_by).Bind(4, limit);
  return CollectRows(query, &ReadAlloc);
}

Result<std::vector<std::string>> SqliteTx::MarkDelivered(std::string_view pool_id,
                                                         const std::vector<std::string>& alloc_ids,
                                                         TimeMs at, TimeMs redeliver_by) {
  LINE_RETURN_IF_ERROR(CheckWritable("MarkDelivered"));
  std::vector<std::string> marked;
  for (const std::string& alloc_id : alloc_ids) {
    LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kMarkDelivered));
    query.Bind(1, pool_id).Bind(2, alloc_id).Bind(3, at).Bind(4, redeliver_by);
    LINE_ASSIGN_OR_RETURN(bool changed, RunChanged(query));
    if (changed) marked.push_back(alloc_id);
  }
  return marked;
}

Result<TimeMs> SqliteTx::EarliestUnackedDelivery(std::string_view pool_id,
                                                 std::string_view worker_id) {
  LINE_ASSIGN_OR_RETURN(Query query, conn_.Use(Sql::kEarliestUnackedDelivery));
  query.Bind(1, pool_id).Bind(2, worker_id);
  LINE_RETURN_IF_ERROR(query.Step().status());  // an aggregate always yields one row
  return query.Int(0);
}

}  // namespace line::sqlite
