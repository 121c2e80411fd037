// LineService: the Service over a Store. Each write call is one transaction body queued on
// the store's group-committing writer; its reply is sent only after the commit is durable,
// and the wake-ups it causes (scheduler, long-polls) follow that same commit.
//
// Thread-safe. Does not own the store, the scheduler or the waiters (Engine does).
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "config/options.h"
#include "ops/alloc_waiters.h"
#include "ops/delivery_ledger.h"
#include "ops/service.h"
#include "scheduler/scheduler.h"
#include "scheduler/snapshot_cache.h"
#include "store/store.h"

namespace line {

class LineService final : public Service {
 public:
  LineService(Store* store, Clock* clock, Scheduler* scheduler, SnapshotCache* cache,
              AllocWaiters* waiters, Cluster* cluster, Options options);

  void CreatePool(CreatePoolRequest req, Reply<CreatePoolResponse> reply) override;
  void RegisterWorker(RegisterWorkerRequest req, Reply<RegisterWorkerResponse> reply) override;
  void DisbandPool(PoolRequest req, Reply<Empty> reply) override;
  void SendHeartbeat(HeartbeatRequest req, Reply<HeartbeatResponse> reply) override;
  void ScheduleEval(ScheduleEvalRequest req, Reply<ScheduleEvalResponse> reply) override;
  void ScheduleEvals(ScheduleEvalsRequest req, Reply<ScheduleEvalsResponse> reply) override;
  void CompleteAlloc(CompleteAllocRequest req, Reply<Empty> reply) override;
  void ReceiveAllocs(ReceiveAllocsRequest req, Reply<ReceiveAllocsResponse> reply) override;
  void DescribePool(PoolRequest req, Reply<PoolDescription> reply) override;
  void ListPools(PageRequest req, Reply<ListPoolsResponse> reply) override;
  void DescribeWorker(WorkerRequest req, Reply<WorkerDescription> reply) override;
  void ListWorkers(ListWorkersRequest req, Reply<ListWorkersResponse> reply) override;
  void DescribeEval(EvalRequest req, Reply<EvalDescription> reply) override;
  void ListEvals(ListEvalsRequest req, Reply<ListEvalsResponse> reply) override;
  void DescribeAlloc(AllocRequest req, Reply<AllocDescription> reply) override;
  void ListAllocs(ListAllocsRequest req, Reply<ListAllocsResponse> reply) override;
  void ListDeadLetters(PoolRequest req, Reply<ListDeadLettersResponse> reply) override;
  void RedriveDeadLetters(RedriveRequest req, Reply<RedriveResponse> reply) override;
  void DrainWorker(WorkerRequest req, Reply<Empty> reply) override;
  void DeregisterWorker(WorkerRequest req, Reply<Empty> reply) override;
  Status Health() override;

 private:
  // Runs `body` as a write transaction; on a durable commit runs `after` (wake-ups), then
  // replies with the body's value. Any failure replies with its Status.
  // A body that changes pools' capacity reports it in CapacityDeltas (snapshot_cache.h).
  // `lazy`: soft state the next write re-establishes (Store::WriteLazy): heartbeats.
  template <typename T>
  void Write(std::function<Result<T>(Tx&, CapacityDeltas&)> body, Reply<T> reply,
             std::function<void(const T&)> after = nullptr, bool lazy = false);
  template <typename T>
  void Write(std::function<Result<T>(Tx&)> body, Reply<T> reply,
             std::function<void(const T&)> after = nullptr);
  // A submission: Write for a body that inserts evals into `pool_id` and offers them to
  // Scheduler::PlaceOnSubmit with `placement`; after the commit (or its failure) the
  // scheduler settles what was placed, then the reply goes out.
  // If the submission's own round fails, the body runs again without it (PlaceOnSubmit).
  template <typename T>
  void Submit(const std::string& pool_id,
              std::function<Result<T>(Tx&, CapacityDeltas&, Scheduler::SubmitPlacement&)> body,
              Reply<T> reply);
  template <typename T>
  struct Submission;
  template <typename T>
  void SubmitOnce(std::shared_ptr<Submission<T>> submission);
  // Runs `body` on a read snapshot and replies at once.
  template <typename T>
  void Read(const std::function<Result<T>(Tx&)>& body, const Reply<T>& reply);

  // One attempt of a long-poll: deliver what is due, or park until woken or `deadline`.
  void ReceiveAttempt(std::shared_ptr<ReceiveAllocsRequest> req,
                      std::shared_ptr<Reply<ReceiveAllocsResponse>> reply, TimeMs deadline);
  // A poll of a node alone on its store, whose read claimed `claimed` in the ledger: answers
  // with them at once and marks them delivered lazily (decision 0012).
  void AnswerClaimed(const Reply<ReceiveAllocsResponse>& reply, const std::string& pool_id,
                     std::vector<std::string> claimed, std::vector<ReceivedAlloc> answer,
                     TimeMs now);
  // A poll of a node beside others that found something due: takes it in a durable write,
  // which re-checks and marks delivery, and answers with what it marked.
  void TakeDue(std::shared_ptr<ReceiveAllocsRequest> req,
               std::shared_ptr<Reply<ReceiveAllocsResponse>> reply, TimeMs deadline, TimeMs now);

  Store* const store_;
  Clock* const clock_;
  Scheduler* const scheduler_;
  SnapshotCache* const cache_;
  AllocWaiters* const waiters_;
  Cluster* const cluster_;  // who owns a pool (DescribePool), whether this node can serve
  DeliveryLedger ledger_;   // allocs handed to polls, marks perhaps not yet committed
  const Options options_;
};

}  // namespace line
