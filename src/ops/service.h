// Service: every API call as one asynchronous operation over the Store, plus the wake-ups
// that follow a commit (scheduler, long-polls). The API layer only decodes, calls, encodes.
//
// Thread-safe. A Reply may run on any thread (the store's writer, the scheduler, the long-poll
// timer, or the caller's own); it must not block. Every Reply is called exactly once.
#pragma once

#include <functional>

#include "common/status.h"
#include "ops/requests.h"

namespace line {

template <typename T>
using Reply = std::function<void(Result<T>)>;

class Service {
 public:
  virtual ~Service() = default;

  virtual void CreatePool(CreatePoolRequest req, Reply<CreatePoolResponse> reply) = 0;
  virtual void RegisterWorker(RegisterWorkerRequest req, Reply<RegisterWorkerResponse> reply) = 0;
  virtual void DisbandPool(PoolRequest req, Reply<Empty> reply) = 0;
  virtual void SendHeartbeat(HeartbeatRequest req, Reply<HeartbeatResponse> reply) = 0;
  virtual void ScheduleEval(ScheduleEvalRequest req, Reply<ScheduleEvalResponse> reply) = 0;
  virtual void ScheduleEvals(ScheduleEvalsRequest req, Reply<ScheduleEvalsResponse> reply) = 0;
  virtual void CompleteAlloc(CompleteAllocRequest req, Reply<Empty> reply) = 0;
  virtual void ReceiveAllocs(ReceiveAllocsRequest req, Reply<ReceiveAllocsResponse> reply) = 0;
  virtual void DescribePool(PoolRequest req, Reply<PoolDescription> reply) = 0;
  virtual void ListPools(PageRequest req, Reply<ListPoolsResponse> reply) = 0;
  virtual void DescribeWorker(WorkerRequest req, Reply<WorkerDescription> reply) = 0;
  virtual void ListWorkers(ListWorkersRequest req, Reply<ListWorkersResponse> reply) = 0;
  virtual void DescribeEval(EvalRequest req, Reply<EvalDescription> reply) = 0;
  virtual void ListEvals(ListEvalsRequest req, Reply<ListEvalsResponse> reply) = 0;
  virtual void DescribeAlloc(AllocRequest req, Reply<AllocDescription> reply) = 0;
  virtual void ListAllocs(ListAllocsRequest req, Reply<ListAllocsResponse> reply) = 0;
  virtual void ListDeadLetters(PoolRequest req, Reply<ListDeadLettersResponse> reply) = 0;
  virtual void RedriveDeadLetters(RedriveRequest req, Reply<RedriveResponse> reply) = 0;
  virtual void DrainWorker(WorkerRequest req, Reply<Empty> reply) = 0;
  virtual void DeregisterWorker(WorkerRequest req, Reply<Empty> reply) = 0;
  // OK when the store answers.
  virtual Status Health() = 0;
};

}  // namespace line
