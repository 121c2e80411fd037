#include "store/sqlite/row_sync.h"

#include <set>
#include <string>
#include <tuple>
#include <boost/unordered/unordered_flat_set.hpp>

#include "store/sqlite/rows.h"

namespace line::sqlite {

using memory::Change;
using memory::MemLoader;
using memory::MemTables;
using memory::PoolData;
using memory::Table;

namespace {

template <typename T>
Status LoadTable(Connection& conn, Sql id, Result<T> (*read)(const Query&), MemLoader& loader) {
  LINE_ASSIGN_OR_RETURN(Query query, conn.Use(id));
  while (true) {
    LINE_ASSIGN_OR_RETURN(bool more, query.Step());
    if (!more) return Status::Ok();
    LINE_ASSIGN_OR_RETURN(T row, read(query));
    loader.Add(std::move(row));
  }
}

bool SameButFree(const Worker& a, const Worker& b) {
  return a.capacity == b.capacity && a.ttl == b.ttl && a.draining == b.draining &&
         a.registered_at == b.registered_at;
}

// Writes rows by key, once each: the group's journal may name a row many times.
class RowWriter {
 public:
  RowWriter(StatementBatch& out, const MemTables& tables) : out_(out), tables_(tables) {}

  // Pools, workers and replicas are keyed by name: a pool removed and made again in one group
  // has the same keys in new data, so the current image is looked up by name.
  Status Pool(const std::string& pool_id) {
    if (!pools_.insert(pool_id).second) return Status::Ok();
    const PoolData* data = tables_.Find(pool_id);
    if (data == nullptr || !data->pool) {
      LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kErasePool));
      query.Bind(1, pool_id);
      return query.Run();
    }
    const line::Pool& pool = *data->pool;
    LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kPutPool));
    query.Bind(1, pool.pool_id)
        .Bind(2, std::string_view(PlacementName(pool.placement)))
        .Bind(3, pool.max_retry)
        .Bind(4, pool.alloc_ttl_s)
        .Bind(5, int64_t{pool.disbanded})
        .Bind(6, pool.disbanded_at)
        .Bind(7, pool.created_at);
    return query.Run();
  }

  // `at_start`: the row as the group found it (its first journal entry's before-image), if
  // known. A worker whose free capacity alone changed is not written: the file's `free` is
  // derived again from the live allocs at start-up (LoadRows), so placements and releases
  // cost no worker row.
  Status Worker(const std::string& pool_id, const std::string& worker_id,
                const line::Worker* at_start = nullptr) {
    if (!workers_.emplace(pool_id, worker_id).second) return Status::Ok();
    const line::Worker* worker = nullptr;
    if (const PoolData* data = tables_.Find(pool_id)) {
      if (auto it = data->workers.find(worker_id); it != data->workers.end()) worker = &it->second;
    }
    if (worker != nullptr && at_start != nullptr && SameButFree(*worker, *at_start)) {
      return Status::Ok();
    }
    if (worker == nullptr) {
      LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kEraseWorker));
      query.Bind(1, pool_id).Bind(2, worker_id);
      return query.Run();
    }
    LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kPutWorker));
    query.Bind(1, worker->pool_id)
        .Bind(2, worker->worker_id)
        .Bind(3, worker->capacity)
        .Bind(4, worker->free)
        .Bind(5, worker->ttl)
        .Bind(6, int64_t{worker->draining})
        .Bind(7, worker->registered_at);
    return query.Run();
  }

  Status Replica(const std::string& pool_id, const std::string& worker_id,
                 const std::string& dataset_id) {
    if (!replicas_.emplace(pool_id, worker_id, dataset_id).second) return Status::Ok();
    const line::Replica* replica = nullptr;
    if (const PoolData* data = tables_.Find(pool_id)) {
      if (auto it = data->replicas.find(memory::ViewPair(worker_id, dataset_id));
          it != data->replicas.end()) {
        replica = &it->second;
      }
    }
    if (replica == nullptr) {
      LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kEraseReplica));
      query.Bind(1, pool_id).Bind(2, worker_id).Bind(3, dataset_id);
      return query.Run();
    }
    LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kPutReplica));
    query.Bind(1, replica->pool_id)
        .Bind(2, replica->dataset_id)
        .Bind(3, replica->worker_id)
        .Bind(4, replica->ttl);
    return query.Run();
  }

  // Evals and allocs are keyed by seq, never reused within a run: a row is current only in
  // the data it was journalled in, if that data is still the pool's.
  // `in_file`: the row existed when the group began (its first journal entry has a
  // before-image), so it is in the file and only its mutable columns need writing: an eval's
  // ids, payload and size, an alloc's ids, worker and size never change.
  Status Eval(const PoolData& data, int64_t seq, bool in_file = false) {
    if (!evals_.insert(seq).second) return Status::Ok();
    const memory::EvalRow* eval = nullptr;
    if (tables_.IsCurrent(data)) {
      if (auto it = data.evals.find(seq); it != data.evals.end()) eval = &it->second;
    }
    if (eval == nullptr) {
      LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kEraseEval));
      query.Bind(1, seq);
      return query.Run();
    }
    static const memory::EvalOutcome kNone;
    const memory::EvalOutcome& outcome = eval->outcome ? *eval->outcome : kNone;
    if (in_file) {
      LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kUpdateEval));
      query.Bind(1, seq)
          .Bind(2, std::string_view(EvalStateName(eval->state)))
          .Bind(3, eval->attempt)
          .Bind(4, outcome.alloc_id)
          .Bind(5, outcome.worker_id)
          .BindOptional(6, outcome.exit_code)
          .Bind(7, outcome.result)
          .Bind(8, outcome.dead_reason);
      return query.Run();
    }
    LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kPutEval));
    query.Bind(1, data.pool_id)
        .Bind(2, eval->eval_id)
        .Bind(3, seq)
        .Bind(4, std::string_view(EvalStateName(eval->state)))
        .Bind(5, eval->dataset_id)
        .Bind(6, eval->size)
        .Bind(7, eval->payload)
        .Bind(8, eval->attempt)
        .Bind(9, outcome.alloc_id)
        .Bind(10, outcome.worker_id)
        .BindOptional(11, outcome.exit_code)
        .Bind(12, outcome.result)
        .BindTextOrNull(13, eval->idempotency_key)
        .Bind(14, outcome.dead_reason)
        .Bind(15, eval->created_at);
    return query.Run();
  }

  Status Alloc(const PoolData& data, int64_t seq, bool in_file = false) {
    if (!allocs_.insert(seq).second) return Status::Ok();
    const line::Alloc* alloc = nullptr;
    if (tables_.IsCurrent(data)) {
      if (auto it = data.allocs.find(seq); it != data.allocs.end()) alloc = &it->second;
    }
    if (alloc == nullptr) {
      LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kEraseAlloc));
      query.Bind(1, seq);
      return query.Run();
    }
    if (in_file) {
      LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kUpdateAlloc));
      query.Bind(1, seq)
          .Bind(2, std::string_view(AllocStateName(alloc->state)))
          .Bind(3, alloc->ttl)
          .Bind(4, alloc->delivered_at)
          .Bind(5, int64_t{alloc->acked})
          .Bind(6, alloc->ended_at)
          .Bind(7, alloc->end_reason);
      return query.Run();
    }
    LINE_ASSIGN_OR_RETURN(StatementBatch::Use query, out_.Statement(Sql::kPutAlloc));
    query.Bind(1, alloc->pool_id)
        .Bind(2, alloc->alloc_id)
        .Bind(3, alloc->worker_id)
        .Bind(4, alloc->eval_id)
        .Bind(5, alloc->dataset_id)
        .Bind(6, alloc->size)
        .Bind(7, alloc->attempt)
        .Bind(8, int64_t{alloc->locality})
        .Bind(9, std::string_view(AllocStateName(alloc->state)))
        .Bind(10, alloc->ttl)
        .Bind(11, alloc->created_at)
        .Bind(12, alloc->delivered_at)
        .Bind(13, int64_t{alloc->acked})
        .Bind(14, alloc->ended_at)
        .Bind(15, alloc->end_reason)
        .Bind(16, seq);
    return query.Run();
  }

  // Every row of a pool removed in the group, as it stands now: gone, or made again.
  Status RemovedPool(const PoolData& removed) {
    LINE_RETURN_IF_ERROR(Pool(removed.pool_id));
    for (const auto& [worker_id, worker] : removed.workers) {
      LINE_RETURN_IF_ERROR(Worker(removed.pool_id, worker_id));
    }
    for (const auto& [key, replica] : removed.replicas) {
      LINE_RETURN_IF_ERROR(Replica(removed.pool_id, key.first, key.second));
    }
    for (const auto& [seq, eval] : removed.evals) LINE_RETURN_IF_ERROR(Eval(removed, seq));
    for (const auto& [seq, alloc] : removed.allocs) LINE_RETURN_IF_ERROR(Alloc(removed, seq));
    return Status::Ok();
  }

 private:
  StatementBatch& out_;
  const MemTables& tables_;
  std::set<std::string> pools_;
  std::set<std::pair<std::string, std::string>> workers_;
  std::set<std::tuple<std::string, std::string, std::string>> replicas_;
  boost::unordered_flat_set<int64_t> evals_;  // seqs are unique across the store
  boost::unordered_flat_set<int64_t> allocs_;
};

}  // namespace

Status LoadRows(Connection& conn, MemTables& tables) {
  MemLoader loader(tables);
  LINE_RETURN_IF_ERROR(LoadTable(conn, Sql::kLoadPools, &ReadPool, loader));
  LINE_RETURN_IF_ERROR(LoadTable(conn, Sql::kLoadWorkers, &ReadWorker, loader));
  LINE_RETURN_IF_ERROR(LoadTable(conn, Sql::kLoadReplicas, &ReadReplica, loader));
  LINE_RETURN_IF_ERROR(LoadTable(conn, Sql::kLoadEvals, &ReadEval, loader));
  LINE_RETURN_IF_ERROR(LoadTable(conn, Sql::kLoadAllocs, &ReadAlloc, loader));
  loader.DeriveFreeCapacity();
  return Status::Ok();
}

Status WriteJournalledRows(Connection& conn, const MemTables& tables) {
  StatementBatch batch;
  LINE_RETURN_IF_ERROR(RecordJournalledRows(tables, batch));
  return batch.RunOn(conn);
}

Status RecordJournalledRows(const MemTables& tables, StatementBatch& out) {
  RowWriter writer(out, tables);
  for (const Change& change : tables.journal()) {
    switch (change.table) {
      case Table::kPool:
        LINE_RETURN_IF_ERROR(writer.Pool(change.pool->pool_id));
        break;
      case Table::kWorker:
        LINE_RETURN_IF_ERROR(writer.Worker(change.pool->pool_id, change.worker_id,
                                           std::get_if<Worker>(&change.before)));
        break;
      case Table::kWorkerFree:
        break;  // the file's `free` is derived at start-up (see RowWriter::Worker)
      case Table::kReplica:
        LINE_RETURN_IF_ERROR(
            writer.Replica(change.pool->pool_id, change.worker_id, change.dataset_id));
        break;
      case Table::kEval:
        LINE_RETURN_IF_ERROR(writer.Eval(*change.pool, change.seq,
                                         std::holds_alternative<memory::EvalRow>(change.before)));
        break;
      case Table::kEvalProgress:
        // Changed in place, so the row was there before this change; had the group made it,
        // its insert would be an earlier entry, the one the writer goes by.
        LINE_RETURN_IF_ERROR(writer.Eval(*change.pool, change.seq, /*in_file=*/true));
        break;
      case Table::kAlloc:
        LINE_RETURN_IF_ERROR(
            writer.Alloc(*change.pool, change.seq, std::holds_alternative<Alloc>(change.before)));
        break;
      case Table::kPoolData:
        LINE_RETURN_IF_ERROR(writer.RemovedPool(*change.removed));
        break;
    }
  }
  return Status::Ok();
}

}  // namespace line::sqlite
