#include "store/memory/mem_tables.h"

#include <algorithm>

namespace line::memory {

namespace {

size_t Index(EvalState state) { return static_cast<size_t>(state); }
size_t Index(AllocState state) { return static_cast<size_t>(state); }

// New seqs are the largest yet, so an insert at the end is the usual case; the hint makes it
// O(1) instead of a walk from the root.
void InsertSeq(SeqSet& seqs, int64_t seq) { seqs.emplace_hint(seqs.end(), seq); }

// The row of `seq`, or end(). A new row's seq is larger than every seq in the map, and
// seeing that from the last entry spares a walk from the root to a leaf (a cache miss a level
// in a map of 100,000s of rows), on every insert.
template <typename Map>
typename Map::iterator FindSeq(Map& rows, int64_t seq) {
  if (rows.empty() || rows.rbegin()->first < seq) return rows.end();
  return rows.find(seq);
}

using BeforeImage = std::variant<std::monostate, Pool, Worker, Replica, EvalRow, Alloc, EvalProgress>;

template <typename T>
std::optional<T> Take(BeforeImage& before) {
  if (!std::holds_alternative<T>(before)) return std::nullopt;
  return std::optional<T>(std::get<T>(std::move(before)));
}

// The variant holding a Put's returned row, or monostate.
template <typename T>
BeforeImage Before(std::optional<T> row) {
  if (!row) return std::monostate();
  return std::move(*row);
}

// Whether any outcome field is set: a row without one keeps no EvalOutcome.
bool HasOutcome(const Eval& eval) {
  return !eval.alloc_id.empty() || !eval.worker_id.empty() || eval.exit_code ||
         !eval.result.empty() || !eval.dead_reason.empty();
}

}  // namespace

EvalRow ToRow(Eval eval) {
  EvalRow row{.eval_id = std::move(eval.eval_id),
              .dataset_id = std::move(eval.dataset_id),
              .payload = std::move(eval.payload),
              .idempotency_key = std::move(eval.idempotency_key),
              .size = eval.size,
              .attempt = eval.attempt,
              .created_at = eval.created_at,
              .state = eval.state};
  if (HasOutcome(eval)) {
    row.outcome = std::make_unique<EvalOutcome>(EvalOutcome{.alloc_id = std::move(eval.alloc_id),
                                                            .worker_id = std::move(eval.worker_id),
                                                            .exit_code = eval.exit_code,
                                                            .result = std::move(eval.result),
                                                            .dead_reason = std::move(eval.dead_reason)});
  }
  return row;
}

Eval ToEval(const EvalRow& row, std::string_view pool_id, int64_t seq) {
  Eval eval;
  eval.pool_id = std::string(pool_id);
  eval.eval_id = row.eval_id;
  eval.seq = seq;
  eval.state = row.state;
  eval.dataset_id = row.dataset_id;
  eval.size = row.size;
  eval.payload = row.payload;
  eval.attempt = row.attempt;
  eval.idempotency_key = row.idempotency_key;
  eval.created_at = row.created_at;
  if (row.outcome) {
    eval.alloc_id = row.outcome->alloc_id;
    eval.worker_id = row.outcome->worker_id;
    eval.exit_code = row.outcome->exit_code;
    eval.result = row.outcome->result;
    eval.dead_reason = row.outcome->dead_reason;
  }
  return eval;
}

const PoolData* MemTables::Find(std::string_view pool_id) const {
  auto it = pools_.find(pool_id);
  return it == pools_.end() ? nullptr : it->second.get();
}

PoolData& MemTables::Data(std::string_view pool_id) {
  auto it = pools_.find(pool_id);
  if (it == pools_.end()) {
    auto data = std::make_unique<PoolData>();
    data->pool_id = std::string(pool_id);
    std::string key = data->pool_id;
    it = pools_.emplace(std::move(key), std::move(data)).first;
  }
  return *it->second;
}

void MemTables::Record(Change change) {
  journal_.push_back(std::move(change));
}

// --- Mutators: take the lock, put the row, journal what it replaced ---

void MemTables::SetPool(std::string_view pool_id, std::optional<Pool> row) {
  BeforeChange();
  PoolData& data = Data(pool_id);
  Record(Change{.table = Table::kPool, .pool = &data, .before = Before(PutPool(data, std::move(row)))});
}

void MemTables::SetWorker(std::string_view pool_id, std::string_view worker_id,
                          std::optional<Worker> row) {
  BeforeChange();
  PoolData& data = Data(pool_id);
  std::string key(worker_id);  // before the put: the view may be into the row it replaces
  auto before = Before(PutWorker(data, key, std::move(row)));
  Record(Change{.table = Table::kWorker, .pool = &data, .worker_id = std::move(key),
                .before = std::move(before)});
}

void MemTables::SetReplica(std::string_view pool_id, std::string_view worker_id,
                           std::string_view dataset_id, std::optional<Replica> row) {
  BeforeChange();
  PoolData& data = Data(pool_id);
  std::string worker(worker_id), dataset(dataset_id);
  auto before = Before(PutReplica(data, worker, dataset, std::move(row)));
  Record(Change{.table = Table::kReplica, .pool = &data, .worker_id = std::move(worker),
                .dataset_id = std::move(dataset), .before = std::move(before)});
}

void MemTables::SetEval(std::string_view pool_id, int64_t seq, std::optional<Eval> row) {
  BeforeChange();
  PoolData& data = Data(pool_id);
  std::optional<EvalRow> stored;
  if (row) stored = ToRow(std::move(*row));
  Record(Change{.table = Table::kEval, .pool = &data, .seq = seq,
                .before = Before(PutEval(data, seq, std::move(stored)))});
}

void MemTables::SetAlloc(std::string_view pool_id, int64_t seq, std::optional<Alloc> row) {
  BeforeChange();
  PoolData& data = Data(pool_id);
  Record(Change{.table = Table::kAlloc, .pool = &data, .seq = seq,
                .before = Before(PutAlloc(data, seq, std::move(row)))});
}

void MemTables::SetWorkerFree(std::string_view pool_id, std::string_view worker_id,
                              int64_t free) {
  BeforeChange();
  PoolData& data = Data(pool_id);
  Worker& worker = data.workers.find(worker_id)->second;
  Record(Change{.table = Table::kWorkerFree, .pool = &data, .worker_id = worker.worker_id,
                .free = worker.free});
  worker.free = free;  // not an index key
}

void MemTables::SetEvalProgress(std::string_view pool_id, int64_t seq, const Eval& progress) {
  BeforeChange();
  PoolData& data = Data(pool_id);
  EvalProgress now{.state = progress.state, .attempt = progress.attempt};
  if (HasOutcome(progress)) {
    now.outcome = std::make_unique<EvalOutcome>(EvalOutcome{.alloc_id = progress.alloc_id,
                                                            .worker_id = progress.worker_id,
                                                            .exit_code = progress.exit_code,
                                                            .result = progress.result,
                                                            .dead_reason = progress.dead_reason});
  }
  Record(Change{.table = Table::kEvalProgress, .pool = &data, .seq = seq,
                .before = PutEvalProgress(data, seq, std::move(now))});
}

void MemTables::RemovePool(std::string_view pool_id) {
  if (Find(pool_id) == nullptr) return;
  BeforeChange();
  std::unique_ptr<PoolData> data = TakePoolData(pool_id);
  PoolData* removed = data.get();
  journal_.push_back(Change{.table = Table::kPoolData, .pool = removed, .removed = std::move(data)});
}

// --- Undo ---

void MemTables::UndoTo(size_t size) {
  while (journal_.size() > size) {
    Change change = std::move(journal_.back());
    journal_.pop_back();
    PoolData& data = *change.pool;
    switch (change.table) {
      case Table::kPool:
        PutPool(data, Take<Pool>(change.before));
        break;
      case Table::kWorker:
        PutWorker(data, change.worker_id, Take<Worker>(change.before));
        break;
      case Table::kWorkerFree:
        data.workers.find(change.worker_id)->second.free = change.free;
        break;
      case Table::kReplica:
        PutReplica(data, change.worker_id, change.dataset_id, Take<Replica>(change.before));
        break;
      case Table::kEvalProgress:
        PutEvalProgress(data, change.seq, std::get<EvalProgress>(std::move(change.before)));
        break;
      case Table::kEval:
        PutEval(data, change.seq, Take<EvalRow>(change.before));
        break;
      case Table::kAlloc:
        PutAlloc(data, change.seq, Take<Alloc>(change.before));
        break;
      case Table::kPoolData:
        RestorePoolData(std::move(change.removed));
        break;
    }
  }
}

// --- Putting rows and keeping indexes ---

std::optional<Pool> MemTables::PutPool(PoolData& data, std::optional<Pool> row) {
  std::optional<Pool> old = std::move(data.pool);
  data.pool = std::move(row);
  return old;
}

std::optional<Worker> MemTables::PutWorker(PoolData& data, std::string_view worker_id,
                                           std::optional<Worker> row) {
  std::optional<Worker> old;
  auto it = data.workers.find(worker_id);
  if (it != data.workers.end()) {
    const TimeMs old_ttl = it->second.ttl;
    if (!row || row->ttl != old_ttl) workers_by_ttl_.erase({old_ttl, data.pool_id, it->first});
    old = std::move(it->second);
    if (!row) {
      data.workers.erase(it);
      return old;
    }
    it->second = std::move(*row);
    if (it->second.ttl == old_ttl) return old;  // most changes are of free capacity only
  } else {
    if (!row) return old;
    it = data.workers.emplace(std::string(worker_id), std::move(*row)).first;
  }
  workers_by_ttl_.emplace(it->second.ttl, data.pool_id, it->first);
  return old;
}

std::optional<Replica> MemTables::PutReplica(PoolData& data, std::string_view worker_id,
                                             std::string_view dataset_id,
                                             std::optional<Replica> row) {
  std::optional<Replica> old;
  auto it = data.replicas.find(ViewPair(worker_id, dataset_id));
  if (it != data.replicas.end()) {
    const TimeMs old_ttl = it->second.ttl;
    if (!row || row->ttl != old_ttl) {
      replicas_by_ttl_.erase({old_ttl, data.pool_id, it->first.first, it->first.second});
    }
    old = std::move(it->second);
    if (!row) {
      data.replicas.erase(it);
      return old;
    }
    it->second = std::move(*row);
    if (it->second.ttl == old_ttl) return old;
  } else {
    if (!row) return old;
    it = data.replicas
             .emplace(StringPair(std::string(worker_id), std::string(dataset_id)), std::move(*row))
             .first;
  }
  replicas_by_ttl_.emplace(it->second.ttl, data.pool_id, it->first.first, it->first.second);
  return old;
}

std::optional<EvalRow> MemTables::PutEval(PoolData& data, int64_t seq,
                                          std::optional<EvalRow> row) {
  std::optional<EvalRow> old;
  auto it = FindSeq(data.evals, seq);
  if (it != data.evals.end()) {
    EvalRow& stored = it->second;
    if (row && row->eval_id == stored.eval_id && row->idempotency_key == stored.idempotency_key) {
      // An update (the ids never change): hand the stored id strings to the new row, so that
      // the index keys viewing them stay valid, and touch only the state index.
      row->eval_id.swap(stored.eval_id);
      row->idempotency_key.swap(stored.idempotency_key);
      if (row->state != stored.state) {
        data.evals_by_state[Index(stored.state)].erase(seq);
        InsertSeq(data.evals_by_state[Index(row->state)], seq);
      }
      old = std::move(stored);
      stored = std::move(*row);
      return old;
    }
    // Out of the indexes first: their keys view this row's strings.
    data.eval_by_id.erase(std::string_view(stored.eval_id));
    if (!stored.idempotency_key.empty()) {
      data.eval_by_key.erase(std::string_view(stored.idempotency_key));
    }
    data.evals_by_state[Index(stored.state)].erase(seq);
    old = std::move(stored);
    if (!row) {
      data.evals.erase(it);
      return old;
    }
    it->second = std::move(*row);
  } else {
    if (!row) return old;
    it = data.evals.emplace_hint(data.evals.end(), seq, std::move(*row));
  }
  const EvalRow& now = it->second;
  data.eval_by_id.emplace(std::string_view(now.eval_id), seq);
  if (!now.idempotency_key.empty()) {
    data.eval_by_key.emplace(std::string_view(now.idempotency_key), seq);
  }
  InsertSeq(data.evals_by_state[Index(now.state)], seq);
  return old;
}

EvalProgress MemTables::PutEvalProgress(PoolData& data, int64_t seq, EvalProgress progress) {
  EvalRow& row = data.evals.find(seq)->second;
  if (row.state != progress.state) {
    data.evals_by_state[Index(row.state)].erase(seq);
    InsertSeq(data.evals_by_state[Index(progress.state)], seq);
  }
  std::swap(row.state, progress.state);
  std::swap(row.attempt, progress.attempt);
  row.outcome.swap(progress.outcome);
  return progress;
}

void MemTables::IndexAllocState(PoolData& data, WorkerAllocs& worker, int64_t seq,
                                const Alloc& alloc, bool add) {
  if (add) {
    InsertSeq(data.allocs_by_state[Index(alloc.state)], seq);
  } else {
    data.allocs_by_state[Index(alloc.state)].erase(seq);
  }
  if (alloc.state != AllocState::kLive) return;
  if (add) {
    InsertSeq(worker.live, seq);
    if (!alloc.acked) worker.to_deliver.emplace(alloc.delivered_at, seq);
    live_allocs_by_ttl_.emplace(alloc.ttl, seq, data.pool_id);
  } else {
    worker.live.erase(seq);
    worker.to_deliver.erase({alloc.delivered_at, seq});
    live_allocs_by_ttl_.erase({alloc.ttl, seq, data.pool_id});
  }
}

std::optional<Alloc> MemTables::PutAlloc(PoolData& data, int64_t seq, std::optional<Alloc> row) {
  std::optional<Alloc> old;
  auto it = FindSeq(data.allocs, seq);
  if (it != data.allocs.end()) {
    Alloc& stored = it->second;
    if (row && row->alloc_id == stored.alloc_id && row->worker_id == stored.worker_id &&
        row->eval_id == stored.eval_id) {
      // An update (an alloc keeps its ids and worker): hand the stored strings the index keys
      // view to the new row, and redo only the entries that depend on what changed.
      row->alloc_id.swap(stored.alloc_id);
      row->eval_id.swap(stored.eval_id);
      WorkerAllocs& worker = data.allocs_by_worker.find(std::string_view(stored.worker_id))->second;
      const bool moved = row->state != stored.state || row->acked != stored.acked ||
                         row->delivered_at != stored.delivered_at || row->ttl != stored.ttl;
      if (moved) IndexAllocState(data, worker, seq, stored, /*add=*/false);
      old = std::move(stored);
      stored = std::move(*row);
      if (moved) IndexAllocState(data, worker, seq, stored, /*add=*/true);
      return old;
    }
    data.alloc_by_id.erase(std::string_view(stored.alloc_id));
    if (auto w = data.allocs_by_worker.find(std::string_view(stored.worker_id));
        w != data.allocs_by_worker.end()) {
      IndexAllocState(data, w->second, seq, stored, /*add=*/false);
      w->second.all.erase(seq);
      if (w->second.all.empty()) data.allocs_by_worker.erase(w);
    }
    UnindexAllocOfEval(data, seq, stored);
    old = std::move(stored);
    if (!row) {
      data.allocs.erase(it);
      return old;
    }
    it->second = std::move(*row);
  } else {
    if (!row) return old;
    it = data.allocs.emplace_hint(data.allocs.end(), seq, std::move(*row));
  }
  const Alloc& now = it->second;
  data.alloc_by_id.emplace(std::string_view(now.alloc_id), seq);
  auto w = data.allocs_by_worker.find(std::string_view(now.worker_id));
  if (w == data.allocs_by_worker.end()) {
    w = data.allocs_by_worker.emplace(now.worker_id, WorkerAllocs()).first;
  }
  InsertSeq(w->second.all, seq);
  IndexAllocState(data, w->second, seq, now, /*add=*/true);
  auto [e, added] = data.allocs_by_eval.try_emplace(std::string_view(now.eval_id));
  e->second.push_back(seq);  // when added, the key views this row's eval_id, as seqs.front()
  return old;
}

void MemTables::UnindexAllocOfEval(PoolData& data, int64_t seq, const Alloc& alloc) {
  auto e = data.allocs_by_eval.find(std::string_view(alloc.eval_id));
  if (e == data.allocs_by_eval.end()) return;
  auto& seqs = e->second;
  auto at = std::find(seqs.begin(), seqs.end(), seq);
  if (at == seqs.end()) return;
  seqs.erase(at);
  if (seqs.empty()) {
    data.allocs_by_eval.erase(e);
    return;
  }
  if (e->first.data() == alloc.eval_id.data()) {
    // The key views the row going away: view the next alloc's row instead (same text).
    auto moved = std::move(seqs);
    data.allocs_by_eval.erase(e);
    data.allocs_by_eval.emplace(std::string_view(data.allocs.at(moved.front()).eval_id),
                                std::move(moved));
  }
}

void MemTables::IndexAcrossPools(const PoolData& data, bool add) {
  // Entries view the strings of `data` itself, which stay where they are while it lives.
  for (const auto& [worker_id, worker] : data.workers) {
    WorkerByTtl entry(worker.ttl, data.pool_id, worker_id);
    add ? (void)workers_by_ttl_.insert(entry) : (void)workers_by_ttl_.erase(entry);
  }
  for (const auto& [key, replica] : data.replicas) {
    ReplicaByTtl entry(replica.ttl, data.pool_id, key.first, key.second);
    add ? (void)replicas_by_ttl_.insert(entry) : (void)replicas_by_ttl_.erase(entry);
  }
  for (int64_t seq : data.allocs_by_state[Index(AllocState::kLive)]) {
    AllocByTtl entry(data.allocs.at(seq).ttl, seq, data.pool_id);
    add ? (void)live_allocs_by_ttl_.insert(entry) : (void)live_allocs_by_ttl_.erase(entry);
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
  // journal unwinds newest first), so what stands there now is empty and referred to by no
  // entry left in the journal.
  if (auto it = pools_.find(data->pool_id); it != pools_.end()) {
    IndexAcrossPools(*it->second, /*add=*/false);
    pools_.erase(it);
  }
  IndexAcrossPools(*data, /*add=*/true);
  std::string pool_id = data->pool_id;
  pools_.emplace(std::move(pool_id), std::move(data));
}

// --- Loading ---

void MemLoader::Add(Pool pool) {
  PoolData& data = tables_.Data(pool.pool_id);
  tables_.PutPool(data, std::move(pool));
}

void MemLoader::Add(Worker worker) {
  PoolData& data = tables_.Data(worker.pool_id);
  std::string worker_id = worker.worker_id;  // the row is moved into its place below
  tables_.PutWorker(data, worker_id, std::move(worker));
}

void MemLoader::Add(Replica replica) {
  PoolData& data = tables_.Data(replica.pool_id);
  std::string worker_id = replica.worker_id, dataset_id = replica.dataset_id;
  tables_.PutReplica(data, worker_id, dataset_id, std::move(replica));
}

void MemLoader::Add(Eval eval) {
  tables_.next_eval_seq_ = std::max(tables_.next_eval_seq_, eval.seq + 1);
  PoolData& data = tables_.Data(eval.pool_id);
  const int64_t seq = eval.seq;
  tables_.PutEval(data, seq, ToRow(std::move(eval)));
}

void MemLoader::Add(Alloc alloc) {
  tables_.next_alloc_seq_ = std::max(tables_.next_alloc_seq_, alloc.seq + 1);
  PoolData& data = tables_.Data(alloc.pool_id);
  const int64_t seq = alloc.seq;
  tables_.PutAlloc(data, seq, std::move(alloc));
}

int64_t MemLoader::DeriveFreeCapacity() {
  int64_t corrected = 0;
  for (auto& [pool_id, data] : tables_.pools_) {
    for (auto& [worker_id, worker] : data->workers) {
      int64_t used = 0;
      if (auto w = data->allocs_by_worker.find(std::string_view(worker_id));
          w != data->allocs_by_worker.end()) {
        for (int64_t seq : w->second.live) used += data->allocs.at(seq).size;
      }
      // More live allocs than capacity cannot be committed; clamped all the same, so that a
      // damaged file cannot make the store refuse to open.
      const int64_t free = std::clamp<int64_t>(worker.capacity - used, 0, worker.capacity);
      if (worker.free != free) ++corrected;
      worker.free = free;  // not an index key: no index to update
    }
  }
  return corrected;
}

}  // namespace line::memory
