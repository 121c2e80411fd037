// Every SQL statement the PostgreSQL store runs, by name, in one table. Each connection
// prepares the non-control statements once (PQprepare) and runs them by name; tests walk the
// table to EXPLAIN each one.
//
// Thread-safety: the table is immutable.
#pragma once

#include <cstddef>
#include <span>

namespace line::postgres {

enum class PgSql {
  // Transaction control (simple protocol, never prepared).
  kBeginWrite,
  kBeginRead,
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
  // Placement, set-based (Tx::PlaceEvals).
  kPlaceMoveEvals,
  kPlaceClaimWorkers,
  kPlaceRestoreEvals,
  kPlaceInsertAllocs,
  kInsertEvals,
  kCount,  // not a statement: the size of the table
};

struct PgStatement {
  PgSql id;
  const char* name;  // the prepared statement's name, and the name in error messages
  const char* text;
  bool control;  // transaction control: run as is, nothing to plan
};

const PgStatement& PgSqlFor(PgSql id);
std::span<const PgStatement> AllPgSql();

}  // namespace line::postgres
