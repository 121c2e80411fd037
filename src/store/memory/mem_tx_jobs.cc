// MemTx: evals and allocs (the alloc row is also its worker's queue entry).
#include <algorithm>

#include "store/memory/mem_tx.h"

namespace line::memory {

namespace {

constexpr size_t Index(EvalState state) { return static_cast<size_t>(state); }
constexpr size_t Index(AllocState state) { return static_cast<size_t>(state); }


}  // namespace

// --- Evals ---

Status MemTx::InsertEval(Eval& eval) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertEval"));
  if (const PoolData* data = tables_.Find(eval.pool_id)) {
    if (data->eval_by_id.contains(std::string_view(eval.eval_id))) {
      return Status::Internal("store: InsertEval: UNIQUE: eval '" + eval.eval_id + "' of pool '" +
                              eval.pool_id + "' already exists");
    }
    if (!eval.idempotency_key.empty() &&
        data->eval_by_key.contains(std::string_view(eval.idempotency_key))) {
      return Status::Internal("store: InsertEval: UNIQUE: idempotency key '" + eval.idempotency_key +
                              "' of pool '" + eval.pool_id + "' is taken");
    }
  }
  eval.seq = tables_.NextEvalSeq();
  tables_.SetEval(eval.pool_id, eval.seq, eval);
  return Status::Ok();
}

Result<std::optional<Eval>> MemTx::GetEval(std::string_view pool_id, std::string_view eval_id) {
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return std::optional<Eval>();
  auto it = data->eval_by_id.find(eval_id);
  if (it == data->eval_by_id.end()) return std::optional<Eval>();
  return std::optional<Eval>(ToEval(data->evals.at(it->second), data->pool_id, it->second));
}

Result<std::optional<Eval>> MemTx::FindEvalByKey(std::string_view pool_id,
                                                 std::string_view idempotency_key) {
  if (idempotency_key.empty()) return std::optional<Eval>();  // "" is "no key", never stored
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return std::optional<Eval>();
  auto it = data->eval_by_key.find(idempotency_key);
  if (it == data->eval_by_key.end()) return std::optional<Eval>();
  return std::optional<Eval>(ToEval(data->evals.at(it->second), data->pool_id, it->second));
}

Result<bool> MemTx::UpdateEval(const Eval& eval, EvalState expected) {
  LINE_RETURN_IF_ERROR(CheckWritable("UpdateEval"));
  const PoolData* data = tables_.Find(eval.pool_id);
  if (data == nullptr) return false;
  auto id = data->eval_by_id.find(std::string_view(eval.eval_id));
  if (id == data->eval_by_id.end()) return false;
  const int64_t seq = id->second;
  if (data->evals.at(seq).state != expected) return false;
  tables_.SetEvalProgress(eval.pool_id, seq, eval);
  return true;
}

Result<std::vector<Eval>> MemTx::ListEvals(std::string_view pool_id,
                                           std::optional<EvalState> state, int64_t after_seq,
                                           int64_t limit) {
  std::vector<Eval> evals;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return evals;
  if (!state) {
    for (auto it = data->evals.upper_bound(after_seq); it != data->evals.end() && !Full(evals, limit);
         ++it) {
      evals.push_back(ToEval(it->second, data->pool_id, it->first));
    }
    return evals;
  }
  const auto& seqs = data->evals_by_state[Index(*state)];
  for (auto it = seqs.upper_bound(after_seq); it != seqs.end() && !Full(evals, limit); ++it) {
    evals.push_back(ToEval(data->evals.at(*it), data->pool_id, *it));
  }
  return evals;
}

Result<std::vector<Eval>> MemTx::PendingEvals(std::string_view pool_id, int64_t max_size,
                                              int64_t after_seq, int64_t limit) {
  std::vector<Eval> evals;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return evals;
  const auto& seqs = data->evals_by_state[Index(EvalState::kPending)];
  for (auto it = seqs.upper_bound(after_seq); it != seqs.end() && !Full(evals, limit); ++it) {
    const EvalRow& row = data->evals.at(*it);
    if (row.size <= max_size) evals.push_back(ToEval(row, data->pool_id, *it));
  }
  return evals;
}

// --- Allocs ---

const Alloc* MemTx::FindAlloc(std::string_view pool_id, std::string_view alloc_id) const {
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return nullptr;
  auto it = data->alloc_by_id.find(alloc_id);
  return it == data->alloc_by_id.end() ? nullptr : &data->allocs.at(it->second);
}

Status MemTx::InsertAlloc(Alloc& alloc) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertAlloc"));
  if (FindAlloc(alloc.pool_id, alloc.alloc_id) != nullptr) {
    return Status::Internal("store: InsertAlloc: UNIQUE: alloc '" + alloc.alloc_id + "' of pool '" +
                            alloc.pool_id + "' already exists");
  }
  alloc.seq = tables_.NextAllocSeq();
  tables_.SetAlloc(alloc.pool_id, alloc.seq, alloc);
  return Status::Ok();
}

Result<std::optional<Alloc>> MemTx::GetAlloc(std::string_view pool_id, std::string_view alloc_id) {
  const Alloc* alloc = FindAlloc(pool_id, alloc_id);
  return alloc == nullptr ? std::optional<Alloc>() : std::optional<Alloc>(*alloc);
}

Result<bool> MemTx::EndAlloc(std::string_view pool_id, std::string_view alloc_id,
                             AllocState state, std::string_view reason, TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("EndAlloc"));
  if (state == AllocState::kLive) {
    return Status::Internal("store: EndAlloc of " + std::string(alloc_id) +
                            " to state live; an alloc ends as completed or expired");
  }
  const Alloc* alloc = FindAlloc(pool_id, alloc_id);
  if (alloc == nullptr || alloc->state != AllocState::kLive) return false;
  Alloc ended = *alloc;
  ended.state = state;
  ended.end_reason = std::string(reason);
  ended.ended_at = now;
  ended.acked = true;
  const int64_t seq = ended.seq;
  tables_.SetAlloc(pool_id, seq, std::move(ended));
  return true;
}

Result<std::vector<std::string>> MemTx::RenewAllocs(std::string_view pool_id,
                                                    std::string_view worker_id,
                                                    const std::vector<std::string>& alloc_ids,
                                                    TimeMs ttl) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewAllocs"));
  std::vector<std::string> renewed;
  for (const std::string& alloc_id : alloc_ids) {
    const Alloc* alloc = FindAlloc(pool_id, alloc_id);
    if (alloc == nullptr || alloc->worker_id != worker_id || alloc->state != AllocState::kLive) {
      continue;
    }
    if (alloc->ttl != ttl || !alloc->acked) {
      Alloc next = *alloc;
      next.ttl = ttl;
      next.acked = true;
      const int64_t seq = next.seq;
      tables_.SetAlloc(pool_id, seq, std::move(next));
    }
    renewed.push_back(alloc_id);
  }
  return renewed;
}

Result<std::vector<Alloc>> MemTx::LiveAllocsOfWorker(std::string_view pool_id,
                                                     std::string_view worker_id) {
  std::vector<Alloc> allocs;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return allocs;
  auto w = data->allocs_by_worker.find(worker_id);
  if (w == data->allocs_by_worker.end()) return allocs;
  for (int64_t seq : w->second.live) allocs.push_back(data->allocs.at(seq));
  return allocs;
}

Result<std::vector<Alloc>> MemTx::AllocsExpiredBy(TimeMs now, int64_t limit) {
  std::vector<Alloc> allocs;
  for (const auto& [ttl, seq, pool_id] : tables_.live_allocs_by_ttl()) {
    if (ttl > now || Full(allocs, limit)) break;
    allocs.push_back(tables_.Find(pool_id)->allocs.at(seq));
  }
  return allocs;
}

Result<std::vector<Alloc>> MemTx::ListAllocs(std::string_view pool_id,
                                             std::string_view worker_id,
                                             std::optional<AllocState> state, int64_t after_seq,
                                             int64_t limit) {
  std::vector<Alloc> allocs;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return allocs;
  auto take = [&](const memory::SeqSet& seqs) {
    for (auto it = seqs.upper_bound(after_seq); it != seqs.end() && !Full(allocs, limit); ++it) {
      const Alloc& alloc = data->allocs.at(*it);
      if (state && alloc.state != *state) continue;
      allocs.push_back(alloc);
    }
  };
  if (!worker_id.empty()) {
    auto w = data->allocs_by_worker.find(worker_id);
    if (w == data->allocs_by_worker.end()) return allocs;
    // A worker's live allocs have an index of their own; ended ones are read from its history.
    take(state == AllocState::kLive ? w->second.live : w->second.all);
    return allocs;
  }
  if (state) {
    take(data->allocs_by_state[Index(*state)]);
    return allocs;
  }
  for (auto it = data->allocs.upper_bound(after_seq); it != data->allocs.end() && !Full(allocs, limit);
       ++it) {
    allocs.push_back(it->second);
  }
  return allocs;
}

Result<std::vector<Alloc>> MemTx::AllocsOfEval(std::string_view pool_id,
                                               std::string_view eval_id) {
  std::vector<Alloc> allocs;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return allocs;
  auto e = data->allocs_by_eval.find(eval_id);
  if (e == data->allocs_by_eval.end()) return allocs;
  std::vector<int64_t> seqs(e->second.begin(), e->second.end());
  std::sort(seqs.begin(), seqs.end());  // oldest first: the eval's history in order
  for (int64_t seq : seqs) allocs.push_back(data->allocs.at(seq));
  return allocs;
}

Result<std::vector<Alloc>> MemTx::DeliverableAllocs(std::string_view pool_id,
                                                    std::string_view worker_id,
                                                    TimeMs redeliver_by, int64_t limit) {
  std::vector<Alloc> allocs;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return allocs;
  auto w = data->allocs_by_worker.find(worker_id);
  if (w == data->allocs_by_worker.end()) return allocs;
  const TimeMs bound = std::max<TimeMs>(redeliver_by, 0);
  for (const auto& [delivered_at, seq] : w->second.to_deliver) {
    if (delivered_at > bound || Full(allocs, limit)) break;
    allocs.push_back(data->allocs.at(seq));
  }
  return allocs;
}

Result<std::vector<std::string>> MemTx::MarkDelivered(std::string_view pool_id,
                                                      const std::vector<std::string>& alloc_ids,
                                                      TimeMs at, TimeMs redeliver_by) {
  LINE_RETURN_IF_ERROR(CheckWritable("MarkDelivered"));
  std::vector<std::string> marked;
  for (const std::string& alloc_id : alloc_ids) {
    const Alloc* alloc = FindAlloc(pool_id, alloc_id);
    if (alloc == nullptr || alloc->state != AllocState::kLive || alloc->acked ||
        (alloc->delivered_at != 0 && alloc->delivered_at > redeliver_by)) {
      continue;
    }
    Alloc delivered = *alloc;
    delivered.delivered_at = at;
    const int64_t seq = delivered.seq;
    tables_.SetAlloc(pool_id, seq, std::move(delivered));
    marked.push_back(alloc_id);
  }
  return marked;
}

Result<TimeMs> MemTx::EarliestUnackedDelivery(std::string_view pool_id,
                                              std::string_view worker_id) {
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return TimeMs{0};
  auto w = data->allocs_by_worker.find(worker_id);
  if (w == data->allocs_by_worker.end()) return TimeMs{0};
  // Ordered by delivered_at: the first past the never-delivered (0) ones is the earliest.
  auto it = w->second.to_deliver.upper_bound({0, INT64_MAX});
  return it == w->second.to_deliver.end() ? TimeMs{0} : it->first;
}

}  // namespace line::memory
