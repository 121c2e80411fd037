#include "store/memory/mem_tables.h"

namespace line::memory {

namespace {
size_t Index(EvalState state) { return static_cast<size_t>(state); }
size_t Index(AllocState state) { return static_cast<size_t>(state); }
}  // namespace

const PoolData* MemTables::Find(std::string_view pool_id) const {
  auto it = pools_.find(pool_id);
  return it == pools_.end() ? nullptr : it->second.get();
}

PoolData& MemTables::Data(std::string_view pool_id) {
  auto it = pools_.find(pool_id);
  if (it == pools_.end()) {
    auto data = std::make_unique<PoolData>();
    data->pool_id = std::string(pool_id);
    it = pools_.emplace(data->pool_id, std::move(data)).first;
  }
  return *it->second;
}

void MemTables::Record(Change change) {
  BeforeChange();
  if (journalling_) journal_.push_back(std::move(change));
}

// --- Mutators: record the before-image, then put the row ---

void MemTables::SetPool(std::string_view pool_id, std::optional<Pool> row) {
  Change change{.table = Table::kPool, .pool_id = std::string(pool_id)};
  if (const PoolData* data = Find(pool_id); data != nullptr && data->pool) change.before = *data->pool;
  Record(std::move(change));
  PutPool(pool_id, std::move(row));
}

void MemTables::SetWorker(std::string_view pool_id, std::string_view worker_id,
                          std::optional<Worker> row) {
  Change change{.table = Table::kWorker,
                .pool_id = std::string(pool_id),
                .worker_id = std::string(worker_id)};
  if (const PoolData* data = Find(pool_id)) {
    if (auto it = data->workers.find(worker_id); it != data->workers.end()) {
      change.before = it->second;
    }
  }
  Record(std::move(change));
  PutWorker(pool_id, worker_id, std::move(row));
}

void MemTables::SetReplica(std::string_view pool_id, std::string_view worker_id,
                           std::string_view dataset_id, std::optional<Replica> row) {
  Change change{.table = Table::kReplica,
                .pool_id = std::string(pool_id),
                .worker_id = std::string(worker_id),
                .dataset_id = std::string(dataset_id)};
  if (const PoolData* data = Find(pool_id)) {
    if (auto it = data->replicas.find(ViewPair(worker_id, dataset_id));
        it != data->replicas.end()) {
      change.before = it->second;
    }
  }
  Record(std::move(change));
  PutReplica(pool_id, worker_id, dataset_id, std::move(row));
}

void MemTables::SetEval(std::string_view pool_id, int64_t seq, std::optional<Eval> row) {
  Change change{.table = Table::kEval, .pool_id = std::string(pool_id), .seq = seq};
  if (const PoolData* data = Find(pool_id)) {
    if (auto it = data->evals.find(seq); it != data->evals.end()) change.before = it->second;
  }
  Record(std::move(change));
  PutEval(pool_id, seq, std::move(row));
}

void MemTables::SetAlloc(std::string_view pool_id, int64_t seq, std::optional<Alloc> row) {
  Change change{.table = Table::kAlloc, .pool_id = std::string(pool_id), .seq = seq};
  if (const PoolData* data = Find(pool_id)) {
    if (auto it = data->allocs.find(seq); it != data->allocs.end()) change.before = it->second;
  }
  Record(std::move(change));
  PutAlloc(pool_id, seq, std::move(row));
}

void MemTables::RemovePool(std::string_view pool_id) {
  if (Find(pool_id) == nullptr) return;
  BeforeChange();
  std::unique_ptr<PoolData> data = TakePoolData(pool_id);
  if (data == nullptr) return;
  if (journalling_) {
    journal_.push_back(
        Change{.table = Table::kPoolData, .pool_id = std::string(pool_id), .removed = std::move(data)});
  }
}

// --- Undo ---

void MemTables::UndoTo(size_t size) {
  while (journal_.size() > size) {
    Change change = std::move(journal_.back());
    journal_.pop_back();
    switch (change.table) {
      case Table::kPool:
        PutPool(change.pool_id, std::holds_alternative<Pool>(change.before)
                                    ? std::optional<Pool>(std::get<Pool>(std::move(change.before)))
                                    : std::nullopt);
        break;
      case Table::kWorker:
        PutWorker(change.pool_id, change.worker_id,
                  std::holds_alternative<Worker>(change.before)
                      ? std::optional<Worker>(std::get<Worker>(std::move(change.before)))
                      : std::nullopt);
        break;
      case Table::kReplica:
        PutReplica(change.pool_id, change.worker_id, change.dataset_id,
                   std::holds_alternative<Replica>(change.before)
                       ? std::optional<Replica>(std::get<Replica>(std::move(change.before)))
                       : std::nullopt);
        break;
      case Table::kEval:
        PutEval(change.pool_id, change.seq,
                std::holds_alternative<Eval>(change.before)
                    ? std::optional<Eval>(std::get<Eval>(std::move(change.before)))
                    : std::nullopt);
        break;
      case Table::kAlloc:
        PutAlloc(change.pool_id, change.seq,
                 std::holds_alternative<Alloc>(change.before)
                     ? std::optional<Alloc>(std::get<Alloc>(std::move(change.before)))
                     : std::nullopt);
        break;
      case Table::kPoolData:
        RestorePoolData(std::move(change.removed));
        break;
    }
  }
}

// --- Putting rows and keeping indexes ---

void MemTables::PutPool(std::string_view pool_id, std::optional<Pool> row) {
  Data(pool_id).pool = std::move(row);
}

void MemTables::PutWorker(std::string_view pool_id, std::string_view worker_id,
                          std::optional<Worker> row) {
  PoolData& data = Data(pool_id);
  auto it = data.workers.find(worker_id);
  if (it != data.workers.end()) {
    workers_by_ttl_.erase({it->second.ttl, data.pool_id, it->second.worker_id});
    if (!row) {
      data.workers.erase(it);
      return;
    }
    it->second = std::move(*row);
  } else {
    if (!row) return;
    it = data.workers.emplace(std::string(worker_id), std::move(*row)).first;
  }
  workers_by_ttl_.emplace(it->second.ttl, data.pool_id, it->second.worker_id);
}

void MemTables::PutReplica(std::string_view pool_id, std::string_view worker_id,
                           std::string_view dataset_id, std::optional<Replica> row) {
  PoolData& data = Data(pool_id);
  auto it = data.replicas.find(ViewPair(worker_id, dataset_id));
  if (it != data.replicas.end()) {
    replicas_by_ttl_.erase({it->second.ttl, data.pool_id, it->first.first, it->first.second});
    if (!row) {
      data.replicas.erase(it);
      return;
    }
    it->second = std::move(*row);
  } else {
    if (!row) return;
    it = data.replicas
             .emplace(StringPair(std::string(worker_id), std::string(dataset_id)), std::move(*row))
             .first;
  }
  replicas_by_ttl_.emplace(it->second.ttl, data.pool_id, it->first.first, it->first.second);
}

void MemTables::PutEval(std::string_view pool_id, int64_t seq, std::optional<Eval> row) {
  PoolData& data = Data(pool_id);
  auto it = data.evals.find(seq);
  if (it != data.evals.end()) {
    const Eval& old = it->second;
    data.eval_by_id.erase(std::string_view(old.eval_id));
    if (!old.idempotency_key.empty()) data.eval_by_key.erase(std::string_view(old.idempotency_key));
    data.evals_by_state[Index(old.state)].erase(seq);
    if (!row) {
      data.evals.erase(it);
      return;
    }
    it->second = std::move(*row);
  } else {
    if (!row) return;
    it = data.evals.emplace(seq, std::move(*row)).first;
  }
  const Eval& now = it->second;
  data.eval_by_id.emplace(std::string_view(now.eval_id), seq);
  if (!now.idempotency_key.empty()) data.eval_by_key.emplace(std::string_view(now.idempotency_key), seq);
  data.evals_by_state[Index(now.state)].insert(seq);
}

void MemTables::PutAlloc(std::string_view pool_id, int64_t seq, std::optional<Alloc> row) {
  PoolData& data = Data(pool_id);
  auto it = data.allocs.find(seq);
  if (it != data.allocs.end()) {
    const Alloc& old = it->second;
    data.alloc_by_id.erase(std::string_view(old.alloc_id));
    if (auto w = data.allocs_by_worker.find(old.worker_id); w != data.allocs_by_worker.end()) {
      w->second.all.erase(seq);
      w->second.live.erase(seq);
      w->second.to_deliver.erase({old.delivered_at, seq});
      if (w->second.all.empty()) data.allocs_by_worker.erase(w);
    }
    if (auto e = data.allocs_by_eval.find(old.eval_id); e != data.allocs_by_eval.end()) {
      e->second.erase(seq);
      if (e->second.empty()) data.allocs_by_eval.erase(e);
    }
    data.allocs_by_state[Index(old.state)].erase(seq);
    if (old.state == AllocState::kLive) live_allocs_by_ttl_.erase({old.ttl, seq, data.pool_id});
    if (!row) {
      data.allocs.erase(it);
      return;
    }
    it->second = std::move(*row);
  } else {
    if (!row) return;
    it = data.allocs.emplace(seq, std::move(*row)).first;
  }
  const Alloc& now = it->second;
  data.alloc_by_id.emplace(std::string_view(now.alloc_id), seq);
  auto w = data.allocs_by_worker.find(now.worker_id);
  if (w == data.allocs_by_worker.end()) w = data.allocs_by_worker.emplace(now.worker_id, WorkerAllocs()).first;
  w->second.all.insert(seq);
  if (now.state == AllocState::kLive) {
    w->second.live.insert(seq);
    if (!now.acked) w->second.to_deliver.emplace(now.delivered_at, seq);
    live_allocs_by_ttl_.emplace(now.ttl, seq, data.pool_id);
  }
  auto e = data.allocs_by_eval.find(now.eval_id);
  if (e == data.allocs_by_eval.end()) e = data.allocs_by_eval.emplace(now.eval_id, std::set<int64_t>()).first;
  e->second.insert(seq);
  data.allocs_by_state[Index(now.state)].insert(seq);
}

void MemTables::IndexAcrossPools(const PoolData& data, bool add) {
  for (const auto& [worker_id, worker] : data.workers) {
    auto entry = std::make_tuple(worker.ttl, data.pool_id, worker_id);
    add ? (void)workers_by_ttl_.insert(std::move(entry)) : (void)workers_by_ttl_.erase(entry);
  }
  for (const auto& [key, replica] : data.replicas) {
    auto entry = std::make_tuple(replica.ttl, data.pool_id, key.first, key.second);
    add ? (void)replicas_by_ttl_.insert(std::move(entry)) : (void)replicas_by_ttl_.erase(entry);
  }
  for (int64_t seq : data.allocs_by_state[Index(AllocState::kLive)]) {
    auto entry = std::make_tuple(data.allocs.at(seq).ttl, seq, data.pool_id);
    add ? (void)live_allocs_by_ttl_.insert(std::move(entry)) : (void)live_allocs_by_ttl_.erase(entry);
  }
}

std::unique_ptr<PoolData> MemTables::TakePoolData(std::string_view pool_id) {
  auto it = pools_.find(pool_id);
  if (it == pools_.end()) return nullptr;
  std::unique_ptr<PoolData> data = std::move(it->second);
  pools_.erase(it);
  IndexAcrossPools(*data, /*add=*/false);
  return data;
}

void MemTables::RestorePoolData(std::unique_ptr<PoolData> data) {
  // Whatever was made under this pool_id after the removal has been undone already (the
  // journal unwinds newest first), so what stands there now is empty.
  if (auto it = pools_.find(data->pool_id); it != pools_.end()) {
    IndexAcrossPools(*it->second, /*add=*/false);
    pools_.erase(it);
  }
  IndexAcrossPools(*data, /*add=*/true);
  std::string pool_id = data->pool_id;
  pools_.emplace(std::move(pool_id), std::move(data));
}

// --- Loading ---

void MemLoader::Add(Eval eval) {
  tables_.next_eval_seq_ = std::max(tables_.next_eval_seq_, eval.seq + 1);
  std::string pool_id = eval.pool_id;
  const int64_t seq = eval.seq;
  tables_.PutEval(pool_id, seq, std::move(eval));
}

void MemLoader::Add(Alloc alloc) {
  tables_.next_alloc_seq_ = std::max(tables_.next_alloc_seq_, alloc.seq + 1);
  std::string pool_id = alloc.pool_id;
  const int64_t seq = alloc.seq;
  tables_.PutAlloc(pool_id, seq, std::move(alloc));
}

}  // namespace line::memory
