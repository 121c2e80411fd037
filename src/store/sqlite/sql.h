// Every SQL statement the SQLite store runs, by name, in one table. Connections prepare them
// once and reuse them; tests walk the table to EXPLAIN QUERY PLAN each one.
//
// Thread-safety: the table is immutable.
#pragma once

#include <cstddef>
#include <span>

namespace line::sqlite {

enum class Sql {
  // Transaction control.
  kBegin,
  kBeginImmediate,
  kCommit,
  kRollback,
  kSavepoint,
  kRelease,
  kRollbackTo,
  kPing,
  // Pools.
  kGetPool,
  kInsertPool,
  kMarkPoolDisbanded,
  kListPools,
  kPoolsDisbandedBy,
  kDeletePoolAllocs,
  kDeletePoolEvals,
  kDeletePoolReplicas,
  kDeletePoolWorkers,
  kDeletePool,
  kCountWorkers,
  kCountEvalsInState,
  kCountBlockedEvals,
  kCountLiveAllocs,
  // Workers.
  kGetWorker,
  kInsertWorker,
  kRenewWorker,
  kWorkerAliveAt,
  kSetWorkerDraining,
  kDeleteWorkerReplicas,
  kDeleteWorker,
  kListWorkers,
  kCandidateWorkers,
  kWorkersExpiredBy,
  kClaimCapacity,
  kReleaseCapacity,
  // Replicas.
  kUpsertReplica,
  kRenewReplica,
  kReplicaHeldAt,
  kWorkerDatasets,
  kPoolReplicas,
  kDeleteReplicasExpiredBy,
  // Evals.
  kInsertEval,
  kGetEval,
  kFindEvalByKey,
  kUpdateEval,
  kListEvals,
  kListEvalsInState,
  kPendingEvals,
  // Allocs.
  kInsertAlloc,
  kGetAlloc,
  kEndAlloc,
  kRenewAlloc,
  kLiveAllocsOfWorker,
  kAllocsExpiredBy,
  kListAllocs,
  kListAllocsInState,
  kListAllocsOfWorker,
  kListAllocsOfWorkerInState,
  kAllocsOfEval,
  kDeliverableAllocs,
  kMarkDelivered,
  kEarliestUnackedDelivery,
  // Start-up.
  kExtendWorkers,
  kExtendReplicas,
  kPoolAllocTtls,
  kExtendPoolAllocs,
  kCount,  // not a statement: the size of the table
};

struct SqlStatement {
  Sql id;
  const char* name;  // for error messages and test output
  const char* text;
  bool control;  // transaction control: nothing to plan
};

const SqlStatement& SqlFor(Sql id);
std::span<const SqlStatement> AllSql();

}  // namespace line::sqlite
