// Worker calls: RegisterWorker, SendHeartbeat, DrainWorker, DeregisterWorker, Describe/List.
#include <algorithm>
#include <set>

#include "common/ids.h"
#include "common/log.h"
#include "ops/describe.h"
#include "ops/line_service_inl.h"
#include "ops/lookups.h"
#include "scheduler/renewal.h"
#include "scheduler/alloc_end.h"

namespace line {

void LineService::RegisterWorker(RegisterWorkerRequest req, Reply<RegisterWorkerResponse> reply) {
  TimeMs now = clock_->NowMs();
  Worker worker;
  worker.pool_id = req.pool_id;
  worker.worker_id = NewId();
  worker.capacity = req.capacity;
  worker.free = req.capacity;
  worker.ttl = now + options_.worker_ttl * 1000;
  worker.registered_at = now;
  RegisterWorkerResponse response;
  response.pool_id = worker.pool_id;
  response.worker_id = worker.worker_id;
  response.queue_url = options_.deployment + "-" + worker.pool_id + "-" + worker.worker_id;
  response.capacity = worker.capacity;
  response.worker_ttl = options_.worker_ttl;
  response.replica_ttl = options_.replica_ttl;
  Write<RegisterWorkerResponse>(
      [worker, response](Tx& tx, CapacityDeltas& deltas) mutable -> Result<RegisterWorkerResponse> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindActivePool(tx, worker.pool_id));
        LINE_RETURN_IF_ERROR(tx.InsertWorker(worker));
        deltas.push_back({CapacityDelta::Kind::kInvalidatePool, pool.pool_id});
        response.alloc_ttl = pool.alloc_ttl_s;
        return response;
      },
      std::move(reply), [this](const RegisterWorkerResponse& r) {
        spdlog::info("worker {} registered in pool {} with capacity {}", r.worker_id, r.pool_id,
                     r.capacity);
        scheduler_->Wake(r.pool_id);  // new capacity: blocked evals may fit
      });
}

void LineService::SendHeartbeat(HeartbeatRequest request, Reply<HeartbeatResponse> reply) {
  const TimeMs now = clock_->NowMs();
  const TimeMs worker_deadline = RenewedDeadline(now, options_.worker_ttl * 1000);
  const TimeMs replica_deadline =
      RenewedReplicaDeadline(now, options_.replica_ttl * 1000, options_.worker_ttl * 1000);
  // Alone on its store, this node sees every deletion, so its gate knows when a heartbeat
  // would write nothing; beside other nodes it does not (renewal_gate.h, decision 0013).
  RenewalGate* gate = cluster_->Alone() ? &cache_->renewals() : nullptr;
  if (gate != nullptr && gate->CoversHeartbeat(request.pool_id, request.worker_id,
                                               request.datasets, request.allocs, now,
                                               worker_deadline, replica_deadline)) {
    reply(HeartbeatResponse{});
    return;
  }
  auto req = std::make_shared<const HeartbeatRequest>(std::move(request));
  // What the body renewed, for the gate once it has committed.
  struct Learnt {
    uint64_t generation = 0;
    RenewalGate::Renewal renewal;
  };
  auto learnt = std::make_shared<Learnt>();
  learnt->renewal.worker_deadline = worker_deadline;
  learnt->renewal.datasets = req->datasets;
  learnt->renewal.replica_deadline = replica_deadline;
  Write<HeartbeatResponse>(
      [req, now, worker_deadline, replica_deadline, gate,
       learnt](Tx& tx, CapacityDeltas& deltas) -> Result<HeartbeatResponse> {
        // Read before the renewal: a deletion after this point keeps the gate from learning
        // this heartbeat's deadlines.
        if (gate != nullptr) learnt->generation = gate->generation();
        learnt->renewal.alloc_ids.clear();
        // The worker is renewed only if alive, in the renewal's own statement(s) (RenewWorker).
        // A live worker also proves its pool exists (a pool's workers are deleted with it;
        // a disbanded pool's workers still heartbeat their running allocs, SPEC), so the
        // pool is read only to name an error or for its alloc TTL.
        LINE_ASSIGN_OR_RETURN(bool alive, tx.RenewWorker(req->pool_id, req->worker_id, now,
                                                         worker_deadline));
        if (!alive) {
          // No such pool, or the worker is not registered or expired: the lookups' errors.
          LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req->pool_id));
          LINE_RETURN_IF_ERROR(FindLiveWorker(tx, pool.pool_id, req->worker_id, now).status());
          return Status::Internal("worker " + req->worker_id + " alive but not renewed");
        }
        std::set<std::string> datasets(req->datasets.begin(), req->datasets.end());
        bool invalidated = false;
        for (const std::string& dataset_id : datasets) {
          Replica replica{req->pool_id, dataset_id, req->worker_id, replica_deadline};
          LINE_ASSIGN_OR_RETURN(bool held, tx.RenewReplica(replica, now));
          if (held) continue;
          LINE_RETURN_IF_ERROR(tx.UpsertReplica(replica));
          // A dataset it did not hold changes locality: the pool's snapshot is rebuilt.
          if (!invalidated) {
            deltas.push_back({CapacityDelta::Kind::kInvalidatePool, req->pool_id});
            invalidated = true;
          }
        }
        HeartbeatResponse response;
        if (!req->allocs.empty()) {
          LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req->pool_id));
          // Only this worker's live allocs are renewed; the rest are reported, not fatal. In
          // the same steps as the worker: with equal TTLs a silent worker and its allocs
          // expire together, and the allocs end as "worker expired", not a step before it.
          const TimeMs alloc_deadline = RenewedDeadline(now, pool.alloc_ttl_s * 1000);
          LINE_ASSIGN_OR_RETURN(
              std::vector<std::string> renewed_ids,
              tx.RenewAllocs(pool.pool_id, req->worker_id, req->allocs, alloc_deadline));
          learnt->renewal.alloc_ids = renewed_ids;
          learnt->renewal.alloc_deadline = alloc_deadline;
          learnt->renewal.alloc_ttl_ms = pool.alloc_ttl_s * 1000;
          std::set<std::string> known(renewed_ids.begin(), renewed_ids.end());
          std::set<std::string> reported;
          for (const std::string& id : req->allocs) {
            if (!known.count(id) && reported.insert(id).second) {
              response.unknown_allocs.push_back(id);
            }
          }
        }
        return response;
      },
      // Soft state: renewals, replicas and acks that the next heartbeat repeats, and a
      // restart grants everyone a full TTL anyway (docs/decisions/0006-lazy-heartbeats.md).
      std::move(reply),
      [req, gate, learnt](const HeartbeatResponse&) {
        if (gate == nullptr) return;
        gate->Record(req->pool_id, req->worker_id, learnt->renewal, learnt->generation);
      },
      /*lazy=*/true);
}

void LineService::DrainWorker(WorkerRequest req, Reply<Empty> reply) {
  TimeMs now = clock_->NowMs();
  Write<Empty>(
      [req, now](Tx& tx, CapacityDeltas& deltas) -> Result<Empty> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(Worker worker, FindLiveWorker(tx, pool.pool_id, req.worker_id, now));
        LINE_ASSIGN_OR_RETURN(bool drained, tx.SetWorkerDraining(pool.pool_id, worker.worker_id));
        if (!drained) return Status::Internal("worker vanished while draining");
        deltas.push_back({CapacityDelta::Kind::kRemoveWorker, pool.pool_id, worker.worker_id});
        return Empty{};
      },
      std::move(reply), [req](const Empty&) {
        spdlog::info("worker {} of pool {} draining", req.worker_id, req.pool_id);
      });
}

void LineService::DeregisterWorker(WorkerRequest req, Reply<Empty> reply) {
  TimeMs now = clock_->NowMs();
  auto requeued = std::make_shared<bool>(false);
  auto ended = std::make_shared<size_t>(0);
  Write<Empty>(
      [req, now, requeued, ended](Tx& tx, CapacityDeltas& deltas) -> Result<Empty> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(std::optional<Worker> worker,
                              tx.GetWorker(pool.pool_id, req.worker_id));
        if (!worker) {
          return Status(Code::kWorkerNotFound,
                        "worker_id " + req.worker_id + " is not registered in pool " + pool.pool_id);
        }
        LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs,
                              tx.LiveAllocsOfWorker(pool.pool_id, worker->worker_id));
        // Its live allocs end like an expiry: placed again, or dead-lettered when used up.
        AllocEnding ending{.state = AllocState::kExpired,
                           .reason = "worker deregistered",
                           .retry = true,
                           .release_capacity = false};
        for (const Alloc& alloc : allocs) {
          LINE_ASSIGN_OR_RETURN(EvalSettled settled,
                                EndAllocAndSettle(tx, pool, alloc, ending, now, deltas));
          if (settled == EvalSettled::kPending) *requeued = true;
        }
        *ended = allocs.size();
        LINE_RETURN_IF_ERROR(tx.DeleteWorker(pool.pool_id, worker->worker_id));
        deltas.push_back({CapacityDelta::Kind::kRemoveWorker, pool.pool_id, worker->worker_id});
        return Empty{};
      },
      std::move(reply), [this, req, requeued, ended](const Empty&) {
        spdlog::info("worker {} of pool {} deregistered; {} live allocs ended", req.worker_id,
                     req.pool_id, *ended);
        if (*requeued) scheduler_->Wake(req.pool_id);
        waiters_->Forget(AllocWaiters::Key(req.pool_id, req.worker_id));
        ledger_.Forget(AllocWaiters::Key(req.pool_id, req.worker_id));
      });
}

void LineService::DescribeWorker(WorkerRequest req, Reply<WorkerDescription> reply) {
  TimeMs now = clock_->NowMs();
  Read<WorkerDescription>(
      [&req, now](Tx& tx) -> Result<WorkerDescription> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(std::optional<Worker> worker,
                              tx.GetWorker(pool.pool_id, req.worker_id));
        if (!worker) {
          return Status(Code::kWorkerNotFound,
                        "worker_id " + req.worker_id + " is not registered in pool " + pool.pool_id);
        }
        return DescribeWorkerRow(tx, *worker, now);
      },
      reply);
}

void LineService::ListWorkers(ListWorkersRequest req, Reply<ListWorkersResponse> reply) {
  TimeMs now = clock_->NowMs();
  Read<ListWorkersResponse>(
      [&req, now](Tx& tx) -> Result<ListWorkersResponse> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(std::string after, ParseIdToken(req.page.next_token));
        LINE_ASSIGN_OR_RETURN(std::vector<Worker> workers,
                              tx.ListWorkers(pool.pool_id, after, req.page.max_results + 1));
        ListWorkersResponse response;
        response.next_token = TakePage(workers, req.page.max_results,
                                       [](const Worker& w) { return w.worker_id; });
        for (const Worker& worker : workers) {
          LINE_ASSIGN_OR_RETURN(WorkerDescription d, DescribeWorkerRow(tx, worker, now));
          response.workers.push_back(std::move(d));
        }
        return response;
      },
      reply);
}

}  // namespace line
