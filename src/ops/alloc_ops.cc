// Alloc calls: CompleteAlloc, ReceiveAllocs (the long-poll), DescribeAlloc, ListAllocs.
#include <algorithm>
#include <set>

#include "common/log.h"
#include "ops/describe.h"
#include "ops/line_service_inl.h"
#include "ops/lookups.h"
#include "scheduler/alloc_end.h"

namespace line {
namespace {

// A node alone on its store reads this many deliverable allocs beyond a poll's maximum, to
// find enough among them that the ledger does not hold back (their marks not yet committed).
constexpr int64_t kLedgerSlack = 32;
// How soon a poll whose snapshot showed only held-back allocs looks again: their lazy marks
// commit with the writer's next group, or after at most 5 ms of gathering when the writer has
// nothing else; if they have not by then, the poll parks again.
constexpr TimeMs kLedgerRecheckMs = 20;

// What a long-poll answers for `alloc`, whose eval carries `payload`.
ReceivedAlloc ToReceived(const Alloc& alloc, std::string payload) {
  return ReceivedAlloc{alloc.pool_id, alloc.alloc_id, alloc.worker_id, alloc.eval_id,
                       alloc.dataset_id, alloc.size, std::move(payload), alloc.attempt};
}

}  // namespace

void LineService::CompleteAlloc(CompleteAllocRequest req, Reply<Empty> reply) {
  TimeMs now = clock_->NowMs();
  std::string pool_id = req.pool_id;
  Write<Empty>(
      [req = std::move(req), now](Tx& tx, CapacityDeltas& deltas) -> Result<Empty> {
        // A disbanded pool's allocs may still complete (SPEC).
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(Alloc alloc, FindAlloc(tx, pool.pool_id, req.alloc_id));
        if (req.worker_id && *req.worker_id != alloc.worker_id) {
          return Status(Code::kAllocNotOwned, "alloc_id " + alloc.alloc_id +
                                                  " belongs to worker " + alloc.worker_id +
                                                  ", not worker_id " + *req.worker_id);
        }
        if (alloc.state != AllocState::kLive) {
          return Status(Code::kAllocAlreadyEnded, "alloc_id " + alloc.alloc_id +
                                                      " already ended (" +
                                                      AllocStateName(alloc.state) + ")");
        }
        AllocEnding ending{.state = AllocState::kCompleted,
                           .reason = req.failed ? "failed" : "completed",
                           .retry = req.failed,
                           .release_capacity = true,
                           .record_outcome = true,
                           .exit_code = req.exit_code,
                           .result = req.result};
        if (req.failed && req.exit_code) {
          ending.reason = "failed with exit code " + std::to_string(*req.exit_code);
        }
        LINE_ASSIGN_OR_RETURN(EvalSettled settled,
                              EndAllocAndSettle(tx, pool, alloc, ending, now, deltas));
        (void)settled;
        return Empty{};
      },
      std::move(reply),
      // Capacity came back (and a failed eval may be pending again): wake the pool.
      [this, pool_id](const Empty&) { scheduler_->Wake(pool_id); });
}

void LineService::ReceiveAllocs(ReceiveAllocsRequest req, Reply<ReceiveAllocsResponse> reply) {
  TimeMs deadline = clock_->NowMs() + req.wait_time_seconds * 1000;
  ReceiveAttempt(std::make_shared<ReceiveAllocsRequest>(std::move(req)),
                 std::make_shared<Reply<ReceiveAllocsResponse>>(std::move(reply)), deadline);
}

void LineService::ReceiveAttempt(std::shared_ptr<ReceiveAllocsRequest> req,
                                 std::shared_ptr<Reply<ReceiveAllocsResponse>> reply,
                                 TimeMs deadline) {
  const std::string key = AllocWaiters::Key(req->pool_id, req->worker_id);
  // Read before looking, so a commit that lands after the look still wakes us (no lost wake).
  const uint64_t generation = waiters_->Generation(key);
  const TimeMs now = clock_->NowMs();
  const int64_t visibility_ms = options_.visibility_timeout * 1000;

  // Look on a read snapshot first: an empty poll then costs the writer nothing. A node alone
  // on its store skips what it handed out within the visibility timeout (the ledger): those
  // allocs' delivery marks may still be on their way to the store.
  const bool alone = cluster_->Alone();
  bool due = false;  // something is deliverable to the worker
  std::string pool_id;
  std::vector<std::string> claimed;    // alone: what this poll claimed in the ledger,
  std::vector<ReceivedAlloc> answer;   // and the answer made of them
  bool held_back = false;  // deliverable in the snapshot, but in the ledger
  TimeMs next_redelivery = 0;
  Status looked = store_->Read([&](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req->pool_id));
    LINE_ASSIGN_OR_RETURN(Worker worker, FindLiveWorker(tx, pool.pool_id, req->worker_id, now));
    pool_id = pool.pool_id;
    const int64_t want = alone ? req->max_number_of_messages + kLedgerSlack : 1;
    LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs,
                          tx.DeliverableAllocs(pool.pool_id, worker.worker_id,
                                               now - visibility_ms, want));
    if (alone && !allocs.empty()) {
      std::vector<std::string> ids;
      for (const Alloc& alloc : allocs) ids.push_back(alloc.alloc_id);
      const auto max = static_cast<size_t>(req->max_number_of_messages);
      claimed = ledger_.Claim(key, ids, max, now - visibility_ms, now);
      held_back = claimed.size() < std::min(max, allocs.size());
      const std::set<std::string> mine(claimed.begin(), claimed.end());
      for (const Alloc& alloc : allocs) {
        if (!mine.contains(alloc.alloc_id)) continue;
        // (A failure here leaves the claimed allocs held: delivered again after the timeout.)
        LINE_ASSIGN_OR_RETURN(Eval eval, FindEval(tx, pool.pool_id, alloc.eval_id));
        answer.push_back(ToReceived(alloc, std::move(eval.payload)));
      }
      due = !claimed.empty();
    } else {
      due = !allocs.empty();
    }
    if (!due) {
      LINE_ASSIGN_OR_RETURN(TimeMs earliest,
                            tx.EarliestUnackedDelivery(pool.pool_id, worker.worker_id));
      if (earliest > 0) next_redelivery = earliest + visibility_ms;
    }
    return Status::Ok();
  });
  if (!looked.ok()) {
    (*reply)(looked);
    return;
  }
  if (due && alone) {
    AnswerClaimed(*reply, pool_id, std::move(claimed), std::move(answer), now);
    return;
  }
  if (due) {
    TakeDue(req, reply, deadline, now);
    return;
  }
  if (now >= deadline) {
    (*reply)(ReceiveAllocsResponse{});
    return;
  }
  // Only wake-ups still to come: one already past would fire at once, find the same, and
  // park again, over and over (say, a redelivery whose new mark has not committed yet).
  TimeMs wake_at = deadline;
  if (next_redelivery > now) wake_at = std::min(wake_at, next_redelivery);
  if (alone) {
    const TimeMs handed = ledger_.EarliestHanded(key, now - visibility_ms);
    if (handed > 0) wake_at = std::min(wake_at, handed + visibility_ms);
    // Held back only while their marks commit: look again soon, in case the snapshot's
    // first rows were all held back and hid others behind them.
    if (held_back) wake_at = std::min(wake_at, now + kLedgerRecheckMs);
  }
  // A round placing on this worker may hand its allocs over directly, already marked
  // delivered in the round's own commit (scheduler/poll_handoff.h).
  auto take = [reply](std::vector<HandedAlloc> handed) {
    ReceiveAllocsResponse response;
    for (HandedAlloc& h : handed) {
      response.allocs.push_back(ToReceived(h.alloc, std::move(h.payload)));
    }
    (*reply)(std::move(response));
  };
  bool parked = waiters_->Wait(
      key, generation, wake_at,
      [this, req, reply, deadline] { ReceiveAttempt(req, reply, deadline); }, std::move(take),
      req->max_number_of_messages);
  if (!parked) (*reply)(ReceiveAllocsResponse{});  // shutting down: answer empty now
}

void LineService::AnswerClaimed(const Reply<ReceiveAllocsResponse>& reply,
                                const std::string& pool_id, std::vector<std::string> claimed,
                                std::vector<ReceivedAlloc> answer, TimeMs now) {
  // The snapshot's allocs are committed, and the ledger (which the read claimed them in)
  // keeps this node's later polls off them, so the answer need not wait for the marks
  // (decision 0012). The marks go to the store lazily: they matter only after a restart,
  // when the ledger is gone; a mark lost with the process means only that the alloc is
  // delivered again (at-least-once, like a lost acknowledgement).
  const int64_t visibility_ms = options_.visibility_timeout * 1000;
  store_->WriteLazy(
      [pool_id, claimed = std::move(claimed), now, visibility_ms](Tx& tx) -> Status {
        return tx.MarkDelivered(pool_id, claimed, now, now - visibility_ms).status();
      },
      [pool_id](Status status) {
        if (!status.ok()) {
          spdlog::warn("pool {}: delivery marks not stored ({}); the allocs will be delivered "
                       "again after a restart", pool_id, status.ToString());
        }
      });
  ReceiveAllocsResponse response;
  response.allocs = std::move(answer);
  reply(std::move(response));
}

void LineService::TakeDue(std::shared_ptr<ReceiveAllocsRequest> req,
                          std::shared_ptr<Reply<ReceiveAllocsResponse>> reply, TimeMs deadline,
                          TimeMs now) {
  const int64_t visibility_ms = options_.visibility_timeout * 1000;
  // Several nodes: take them in a write transaction, which re-checks and marks delivery.
  Write<ReceiveAllocsResponse>(
      [req, now, visibility_ms](Tx& tx) -> Result<ReceiveAllocsResponse> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req->pool_id));
        LINE_ASSIGN_OR_RETURN(Worker worker,
                              FindLiveWorker(tx, pool.pool_id, req->worker_id, now));
        LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs,
                              tx.DeliverableAllocs(pool.pool_id, worker.worker_id,
                                                   now - visibility_ms,
                                                   req->max_number_of_messages));
        std::vector<std::string> ids;
        for (const Alloc& alloc : allocs) ids.push_back(alloc.alloc_id);
        // Conditional: a poll of the same worker on another node may have taken some first.
        std::set<std::string> marked;
        if (!ids.empty()) {
          LINE_ASSIGN_OR_RETURN(std::vector<std::string> taken,
                                tx.MarkDelivered(pool.pool_id, ids, now, now - visibility_ms));
          marked.insert(taken.begin(), taken.end());
        }
        ReceiveAllocsResponse response;
        for (const Alloc& alloc : allocs) {
          if (!marked.contains(alloc.alloc_id)) continue;
          LINE_ASSIGN_OR_RETURN(Eval eval, FindEval(tx, pool.pool_id, alloc.eval_id));
          response.allocs.push_back(ToReceived(alloc, std::move(eval.payload)));
        }
        return response;
      },
      [this, req, reply, deadline](Result<ReceiveAllocsResponse> result) {
        // Another poll of the same worker may have taken them first: keep waiting then.
        if (result.ok() && result->allocs.empty() && clock_->NowMs() < deadline) {
          ReceiveAttempt(req, reply, deadline);
          return;
        }
        (*reply)(std::move(result));
      });
}

void LineService::DescribeAlloc(AllocRequest req, Reply<AllocDescription> reply) {
  Read<AllocDescription>(
      [&req](Tx& tx) -> Result<AllocDescription> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(Alloc alloc, FindAlloc(tx, pool.pool_id, req.alloc_id));
        return DescribeAllocRow(alloc);
      },
      reply);
}

void LineService::ListAllocs(ListAllocsRequest req, Reply<ListAllocsResponse> reply) {
  Read<ListAllocsResponse>(
      [&req](Tx& tx) -> Result<ListAllocsResponse> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(int64_t after, ParseSeqToken(req.page.next_token));
        LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs,
                              tx.ListAllocs(pool.pool_id, req.worker_id, req.state, after,
                                            req.page.max_results + 1));
        ListAllocsResponse response;
        response.next_token = TakePage(allocs, req.page.max_results,
                                       [](const Alloc& a) { return SeqToken(a.seq); });
        for (const Alloc& alloc : allocs) response.allocs.push_back(DescribeAllocRow(alloc));
        return response;
      },
      reply);
}

}  // namespace line
