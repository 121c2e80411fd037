// A Service for API tests: records every call, answers with canned values or one configured
// error, and parks ReceiveAllocs calls so that a test can answer them later from its own thread
// (the long-poll shape). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ops/service.h"

namespace line::testing {

inline constexpr char kPoolId[] = "0123456789abcdef0123";
inline constexpr char kWorkerId[] = "aaaaaaaaaabbbbbbbbbb";
inline constexpr char kEvalId[] = "ccccccccccdddddddddd";
inline constexpr char kAllocId[] = "eeeeeeeeeeffffffffff";

class FakeService : public Service {
 public:
  // Every call but Health answers with `status` from now on (OK restores canned answers).
  void FailWith(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }
  void SetHealth(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    health_ = std::move(status);
  }
  // Park ReceiveAllocs calls instead of answering them (default: answer at once, empty).
  void ParkReceives(bool park) {
    std::lock_guard<std::mutex> lock(mu_);
    park_receives_ = park;
  }
  // Waits for a parked ReceiveAllocs call and takes its reply; nullopt after `timeout`.
  std::optional<Reply<ReceiveAllocsResponse>> TakeParked(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!parked_cv_.wait_for(lock, timeout, [this] { return !parked_.empty(); })) {
      return std::nullopt;
    }
    Reply<ReceiveAllocsResponse> reply = std::move(parked_.front());
    parked_.pop_front();
    return reply;
  }
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // The last request of a few calls whose decoding the router tests follow through.
  ScheduleEvalRequest last_schedule_eval() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_schedule_eval_;
  }
  CompleteAllocRequest last_complete_alloc() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_complete_alloc_;
  }
  ListEvalsRequest last_list_evals() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_list_evals_;
  }

  void CreatePool(CreatePoolRequest req, Reply<CreatePoolResponse> reply) override {
    Answer("CreatePool", reply, CreatePoolResponse{kPoolId});
  }
  void RegisterWorker(RegisterWorkerRequest req, Reply<RegisterWorkerResponse> reply) override {
    RegisterWorkerResponse r{req.pool_id, kWorkerId, "line-q", req.capacity, 30, 60, 30};
    Answer("RegisterWorker", reply, std::move(r));
  }
  void DisbandPool(PoolRequest req, Reply<Empty> reply) override {
    Answer("DisbandPool", reply, Empty{});
  }
  void SendHeartbeat(HeartbeatRequest req, Reply<HeartbeatResponse> reply) override {
    Answer("SendHeartbeat", reply, HeartbeatResponse{req.allocs});
  }
  void ScheduleEval(ScheduleEvalRequest req, Reply<ScheduleEvalResponse> reply) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_schedule_eval_ = req;
    }
    Answer("ScheduleEval", reply, ScheduleEvalResponse{kEvalId});
  }
  void ScheduleEvals(ScheduleEvalsRequest req, Reply<ScheduleEvalsResponse> reply) override {
    ScheduleEvalsResponse r;
    r.eval_ids.assign(req.evals.size(), kEvalId);
    Answer("ScheduleEvals", reply, std::move(r));
  }
  void CompleteAlloc(CompleteAllocRequest req, Reply<Empty> reply) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_complete_alloc_ = req;
    }
    Answer("CompleteAlloc", reply, Empty{});
  }
  void ReceiveAllocs(ReceiveAllocsRequest req, Reply<ReceiveAllocsResponse> reply) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("ReceiveAllocs");
      if (park_receives_) {
        parked_.push_back(std::move(reply));
        parked_cv_.notify_all();
        return;
      }
    }
    reply(ReceiveAllocsResponse{});
  }
  void DescribePool(PoolRequest req, Reply<PoolDescription> reply) override {
    PoolDescription d;
    d.pool_id = req.pool_id;
    d.placement = "spread";
    Answer("DescribePool", reply, std::move(d));
  }
  void ListPools(PageRequest req, Reply<ListPoolsResponse> reply) override {
    Answer("ListPools", reply, ListPoolsResponse{});
  }
  void DescribeWorker(WorkerRequest req, Reply<WorkerDescription> reply) override {
    WorkerDescription d;
    d.pool_id = req.pool_id;
    d.worker_id = req.worker_id;
    Answer("DescribeWorker", reply, std::move(d));
  }
  void ListWorkers(ListWorkersRequest req, Reply<ListWorkersResponse> reply) override {
    Answer("ListWorkers", reply, ListWorkersResponse{});
  }
  void DescribeEval(EvalRequest req, Reply<EvalDescription> reply) override {
    EvalDescription d;
    d.pool_id = req.pool_id;
    d.eval_id = req.eval_id;
    d.state = "pending";
    d.payload = "null";
    Answer("DescribeEval", reply, std::move(d));
  }
  void ListEvals(ListEvalsRequest req, Reply<ListEvalsResponse> reply) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_list_evals_ = req;
    }
    ListEvalsResponse r;
    r.next_token = "more";
    Answer("ListEvals", reply, std::move(r));
  }
  void DescribeAlloc(AllocRequest req, Reply<AllocDescription> reply) override {
    AllocDescription d;
    d.pool_id = req.pool_id;
    d.alloc_id = req.alloc_id;
    d.state = "live";
    Answer("DescribeAlloc", reply, std::move(d));
  }
  void ListAllocs(ListAllocsRequest req, Reply<ListAllocsResponse> reply) override {
    Answer("ListAllocs", reply, ListAllocsResponse{});
  }
  void ListDeadLetters(PoolRequest req, Reply<ListDeadLettersResponse> reply) override {
    Answer("ListDeadLetters", reply, ListDeadLettersResponse{});
  }
  void RedriveDeadLetters(RedriveRequest req, Reply<RedriveResponse> reply) override {
    int64_t n = req.eval_ids ? static_cast<int64_t>(req.eval_ids->size()) : 7;
    Answer("RedriveDeadLetters", reply, RedriveResponse{n});
  }
  void DrainWorker(WorkerRequest req, Reply<Empty> reply) override {
    Answer("DrainWorker", reply, Empty{});
  }
  void DeregisterWorker(WorkerRequest req, Reply<Empty> reply) override {
    Answer("DeregisterWorker", reply, Empty{});
  }
  Status Health() override {
    std::lock_guard<std::mutex> lock(mu_);
    return health_;
  }

 private:
  template <typename T>
  void Answer(const char* name, Reply<T>& reply, T canned) {
    Status fail;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(name);
      fail = fail_;
    }
    if (fail.ok()) {
      reply(std::move(canned));
    } else {
      reply(std::move(fail));
    }
  }

  mutable std::mutex mu_;
  std::condition_variable parked_cv_;
  Status fail_;
  Status health_;
  bool park_receives_ = false;
  std::deque<Reply<ReceiveAllocsResponse>> parked_;
  std::vector<std::string> calls_;
  ScheduleEvalRequest last_schedule_eval_;
  CompleteAllocRequest last_complete_alloc_;
  ListEvalsRequest last_list_evals_;
};

}  // namespace line::testing
