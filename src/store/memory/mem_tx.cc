// MemTx: pools, workers, replicas and start-up. Evals and allocs are in mem_tx_jobs.cc.
#include "store/memory/mem_tx.h"

#include <algorithm>
#include <limits>

namespace line::memory {

namespace {

// What the SQL stores' UNIQUE and CHECK constraints say, as the same kind of error.
Status Constraint(const char* primitive, const std::string& what) {
  return Status::Internal(std::string("store: ") + primitive + ": " + what);
}

}  // namespace

Status MemTx::CheckWritable(const char* primitive) const {
  if (writable_) return Status::Ok();
  return Status::Internal(std::string("store: ") + primitive + " called in a read transaction");
}

const Worker* MemTx::FindWorker(std::string_view pool_id, std::string_view worker_id) const {
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return nullptr;
  auto it = data->workers.find(worker_id);
  return it == data->workers.end() ? nullptr : &it->second;
}

// --- Pools ---

Result<std::optional<Pool>> MemTx::GetPool(std::string_view pool_id) {
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return std::optional<Pool>();
  return data->pool;
}

Status MemTx::InsertPool(const Pool& pool) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertPool"));
  if (const PoolData* data = tables_.Find(pool.pool_id); data != nullptr && data->pool) {
    return Constraint("InsertPool", "UNIQUE: pool '" + pool.pool_id + "' already exists");
  }
  tables_.SetPool(pool.pool_id, pool);
  return Status::Ok();
}

Status MemTx::MarkPoolDisbanded(std::string_view pool_id, TimeMs at) {
  LINE_RETURN_IF_ERROR(CheckWritable("MarkPoolDisbanded"));
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr || !data->pool || data->pool->disbanded) return Status::Ok();
  Pool pool = *data->pool;
  pool.disbanded = true;
  pool.disbanded_at = at;
  tables_.SetPool(pool_id, std::move(pool));
  return Status::Ok();
}

Result<std::vector<Pool>> MemTx::ListPools(std::string_view after_pool_id, int64_t limit) {
  std::vector<Pool> pools;
  const auto& all = tables_.pools();
  for (auto it = all.upper_bound(after_pool_id);
       it != all.end() && !Full(pools, limit); ++it) {
    if (it->second->pool) pools.push_back(*it->second->pool);
  }
  return pools;
}

Result<std::vector<std::string>> MemTx::PoolsDisbandedBy(TimeMs cutoff, int64_t limit) {
  // Pools are few; the sweeper asks now and then.
  std::vector<std::pair<TimeMs, std::string>> found;
  for (const auto& [pool_id, data] : tables_.pools()) {
    if (data->pool && data->pool->disbanded && data->pool->disbanded_at <= cutoff) {
      found.emplace_back(data->pool->disbanded_at, pool_id);
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> pool_ids;
  for (auto& [at, pool_id] : found) {
    if (Full(pool_ids, limit)) break;
    pool_ids.push_back(std::move(pool_id));
  }
  return pool_ids;
}

Status MemTx::DeletePool(std::string_view pool_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeletePool"));
  tables_.RemovePool(pool_id);
  return Status::Ok();
}

Result<PoolCounts> MemTx::CountPool(std::string_view pool_id, TimeMs now) {
  PoolCounts counts;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return counts;
  int64_t max_free = -1;  // among candidates; with none, every pending eval is blocked
  for (const auto& [worker_id, worker] : data->workers) {
    ++counts.workers;
    counts.capacity += worker.capacity;
    counts.free += worker.free;
    if (!worker.draining && worker.ttl > now) max_free = std::max(max_free, worker.free);
  }
  const auto& pending = data->evals_by_state[static_cast<size_t>(EvalState::kPending)];
  counts.pending_evals = static_cast<int64_t>(pending.size());
  counts.dead_letters =
      static_cast<int64_t>(data->evals_by_state[static_cast<size_t>(EvalState::kDead)].size());
  for (int64_t seq : pending) {
    if (data->evals.at(seq).size > max_free) ++counts.blocked_evals;
  }
  counts.live_allocs =
      static_cast<int64_t>(data->allocs_by_state[static_cast<size_t>(AllocState::kLive)].size());
  return counts;
}

// --- Workers ---

Result<std::optional<Worker>> MemTx::GetWorker(std::string_view pool_id,
                                               std::string_view worker_id) {
  const Worker* worker = FindWorker(pool_id, worker_id);
  return worker == nullptr ? std::optional<Worker>() : std::optional<Worker>(*worker);
}

Status MemTx::InsertWorker(const Worker& worker) {
  LINE_RETURN_IF_ERROR(CheckWritable("InsertWorker"));
  if (FindWorker(worker.pool_id, worker.worker_id) != nullptr) {
    return Constraint("InsertWorker", "UNIQUE: worker '" + worker.worker_id + "' of pool '" +
                                          worker.pool_id + "' already exists");
  }
  if (worker.free < 0 || worker.free > worker.capacity) {
    return Constraint("InsertWorker", "CHECK: free " + std::to_string(worker.free) +
                                          " is outside [0, capacity " +
                                          std::to_string(worker.capacity) + "]");
  }
  tables_.SetWorker(worker.pool_id, worker.worker_id, worker);
  return Status::Ok();
}

Result<bool> MemTx::RenewWorker(std::string_view pool_id, std::string_view worker_id,
                                TimeMs alive_at, TimeMs ttl) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewWorker"));
  const Worker* worker = FindWorker(pool_id, worker_id);
  if (worker == nullptr || worker->ttl <= alive_at) return false;
  if (worker->ttl < ttl) {
    Worker renewed = *worker;
    renewed.ttl = ttl;
    tables_.SetWorker(pool_id, worker_id, std::move(renewed));
  }
  return true;
}

Result<bool> MemTx::SetWorkerDraining(std::string_view pool_id, std::string_view worker_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("SetWorkerDraining"));
  const Worker* worker = FindWorker(pool_id, worker_id);
  if (worker == nullptr) return false;
  if (!worker->draining) {
    Worker draining = *worker;
    draining.draining = true;
    tables_.SetWorker(pool_id, worker_id, std::move(draining));
  }
  return true;
}

Status MemTx::DeleteWorker(std::string_view pool_id, std::string_view worker_id) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeleteWorker"));
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return Status::Ok();
  std::vector<std::string> datasets;
  for (auto it = data->replicas.lower_bound(ViewPair(worker_id, ""));
       it != data->replicas.end() && it->first.first == worker_id; ++it) {
    datasets.push_back(it->first.second);
  }
  for (const std::string& dataset_id : datasets) {
    tables_.SetReplica(pool_id, worker_id, dataset_id, std::nullopt);
  }
  if (FindWorker(pool_id, worker_id) != nullptr) {
    tables_.SetWorker(pool_id, worker_id, std::nullopt);
  }
  return Status::Ok();
}

Result<std::vector<Worker>> MemTx::ListWorkers(std::string_view pool_id,
                                               std::string_view after_worker_id, int64_t limit) {
  std::vector<Worker> workers;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return workers;
  for (auto it = data->workers.upper_bound(after_worker_id);
       it != data->workers.end() && !Full(workers, limit); ++it) {
    workers.push_back(it->second);
  }
  return workers;
}

Result<std::vector<Worker>> MemTx::CandidateWorkers(std::string_view pool_id, TimeMs now) {
  std::vector<Worker> workers;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return workers;
  for (const auto& [worker_id, worker] : data->workers) {
    if (!worker.draining && worker.ttl > now) workers.push_back(worker);
  }
  return workers;
}

Result<std::vector<Worker>> MemTx::WorkersExpiredBy(TimeMs now, int64_t limit) {
  std::vector<Worker> workers;
  for (const auto& [ttl, pool_id, worker_id] : tables_.workers_by_ttl()) {
    if (ttl > now || Full(workers, limit)) break;
    workers.push_back(*FindWorker(pool_id, worker_id));
  }
  return workers;
}

Result<bool> MemTx::ClaimCapacity(std::string_view pool_id, std::string_view worker_id,
                                  int64_t size, TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("ClaimCapacity"));
  const Worker* worker = FindWorker(pool_id, worker_id);
  if (worker == nullptr || worker->ttl <= now || worker->draining || worker->free < size) {
    return false;
  }
  if (worker->free - size > worker->capacity) {
    return Constraint("ClaimCapacity", "CHECK: size " + std::to_string(size) +
                                           " would raise free above capacity");
  }
  tables_.SetWorkerFree(pool_id, worker_id, worker->free - size);
  return true;
}

Result<bool> MemTx::ReleaseCapacity(std::string_view pool_id, std::string_view worker_id,
                                    int64_t size) {
  LINE_RETURN_IF_ERROR(CheckWritable("ReleaseCapacity"));
  const Worker* worker = FindWorker(pool_id, worker_id);
  if (worker == nullptr || worker->free + size > worker->capacity) return false;
  if (worker->free + size < 0) {
    return Constraint("ReleaseCapacity", "CHECK: size " + std::to_string(size) +
                                             " would take free below 0");
  }
  tables_.SetWorkerFree(pool_id, worker_id, worker->free + size);
  return true;
}

// --- Replicas ---

Status MemTx::UpsertReplica(const Replica& replica) {
  LINE_RETURN_IF_ERROR(CheckWritable("UpsertReplica"));
  tables_.SetReplica(replica.pool_id, replica.worker_id, replica.dataset_id, replica);
  return Status::Ok();
}

Result<bool> MemTx::RenewReplica(const Replica& replica, TimeMs alive_at) {
  LINE_RETURN_IF_ERROR(CheckWritable("RenewReplica"));
  const PoolData* data = tables_.Find(replica.pool_id);
  if (data == nullptr) return false;
  auto it = data->replicas.find(ViewPair(replica.worker_id, replica.dataset_id));
  if (it == data->replicas.end() || it->second.ttl <= alive_at) return false;
  if (it->second.ttl < replica.ttl) {
    Replica renewed = it->second;
    renewed.ttl = replica.ttl;
    tables_.SetReplica(replica.pool_id, replica.worker_id, replica.dataset_id, std::move(renewed));
  }
  return true;
}

Result<std::vector<std::string>> MemTx::WorkerDatasets(std::string_view pool_id,
                                                       std::string_view worker_id, TimeMs now) {
  std::vector<std::string> datasets;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return datasets;
  for (auto it = data->replicas.lower_bound(ViewPair(worker_id, ""));
       it != data->replicas.end() && it->first.first == worker_id; ++it) {
    if (it->second.ttl > now) datasets.push_back(it->first.second);
  }
  return datasets;
}

Result<std::vector<Replica>> MemTx::PoolReplicas(std::string_view pool_id, TimeMs now) {
  std::vector<Replica> replicas;
  const PoolData* data = tables_.Find(pool_id);
  if (data == nullptr) return replicas;
  for (const auto& [key, replica] : data->replicas) {
    if (replica.ttl > now) replicas.push_back(replica);
  }
  return replicas;
}

Result<int64_t> MemTx::DeleteReplicasExpiredBy(TimeMs now) {
  LINE_RETURN_IF_ERROR(CheckWritable("DeleteReplicasExpiredBy"));
  std::vector<std::tuple<std::string, std::string, std::string>> expired;
  for (const auto& [ttl, pool_id, worker_id, dataset_id] : tables_.replicas_by_ttl()) {
    if (ttl > now) break;
    expired.emplace_back(pool_id, worker_id, dataset_id);
  }
  for (const auto& [pool_id, worker_id, dataset_id] : expired) {
    tables_.SetReplica(pool_id, worker_id, dataset_id, std::nullopt);
  }
  return static_cast<int64_t>(expired.size());
}

// --- Start-up ---

Status MemTx::ExtendDeadlines(TimeMs now, int64_t worker_ttl_ms, int64_t replica_ttl_ms) {
  LINE_RETURN_IF_ERROR(CheckWritable("ExtendDeadlines"));
  const TimeMs worker_ttl = now + worker_ttl_ms;
  const TimeMs replica_ttl = now + replica_ttl_ms;
  std::vector<Worker> workers;
  for (const auto& [ttl, pool_id, worker_id] : tables_.workers_by_ttl()) {
    if (ttl >= worker_ttl) break;
    workers.push_back(*FindWorker(pool_id, worker_id));
  }
  for (Worker& worker : workers) {
    worker.ttl = worker_ttl;
    std::string pool_id = worker.pool_id, worker_id = worker.worker_id;
    tables_.SetWorker(pool_id, worker_id, std::move(worker));
  }
  std::vector<Replica> replicas;
  for (const auto& [ttl, pool_id, worker_id, dataset_id] : tables_.replicas_by_ttl()) {
    if (ttl >= replica_ttl) break;
    replicas.push_back(tables_.Find(pool_id)->replicas.at(StringPair(worker_id, dataset_id)));
  }
  for (Replica& replica : replicas) {
    replica.ttl = replica_ttl;
    std::string pool_id = replica.pool_id, worker_id = replica.worker_id,
                dataset_id = replica.dataset_id;
    tables_.SetReplica(pool_id, worker_id, dataset_id, std::move(replica));
  }
  // Allocs get their own pool's alloc_ttl; allocs of a pool without its row keep theirs.
  std::vector<Alloc> allocs;
  for (const auto& [pool_id, data] : tables_.pools()) {
    if (!data->pool) continue;
    const TimeMs alloc_ttl = now + data->pool->alloc_ttl_s * 1000;
    for (int64_t seq : data->allocs_by_state[static_cast<size_t>(AllocState::kLive)]) {
      const Alloc& alloc = data->allocs.at(seq);
      if (alloc.ttl < alloc_ttl) {
        allocs.push_back(alloc);
        allocs.back().ttl = alloc_ttl;
      }
    }
  }
  for (Alloc& alloc : allocs) {
    std::string pool_id = alloc.pool_id;
    const int64_t seq = alloc.seq;
    tables_.SetAlloc(pool_id, seq, std::move(alloc));
  }
  return Status::Ok();
}

}  // namespace line::memory
