// The Write/Read plumbing of LineService, shared by its operation files (pool_ops.cc, ...).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "ops/line_service.h"

namespace line {

template <typename T>
void LineService::Write(std::function<Result<T>(Tx&)> body, Reply<T> reply,
                        std::function<void(const T&)> after) {
  Write<T>([body = std::move(body)](Tx& tx, CapacityDeltas&) { return body(tx); },
           std::move(reply), std::move(after));
}

template <typename T>
void LineService::Write(std::function<Result<T>(Tx&, CapacityDeltas&)> body, Reply<T> reply,
                        std::function<void(const T&)> after, bool lazy) {
  auto value = std::make_shared<std::optional<T>>();
  WriteTracked(
      *store_, *cache_,
      [value, body = std::move(body)](Tx& tx, CapacityDeltas& deltas) -> Status {
        Result<T> result = body(tx, deltas);
        if (!result.ok()) return result.status();
        *value = std::move(result).value();
        return Status::Ok();
      },
      [value, reply = std::move(reply), after = std::move(after)](Status status) {
        if (!status.ok()) {
          reply(std::move(status));
          return;
        }
        if (after) after(**value);
        reply(std::move(**value));
      },
      lazy);
}

template <typename T>
struct LineService::Submission {
  std::string pool_id;
  std::function<Result<T>(Tx&, CapacityDeltas&, Scheduler::SubmitPlacement&)> body;
  Reply<T> reply;
  std::optional<T> value;
  // Shared by every run of the body (the store may run it more than once) and the end.
  Scheduler::SubmitPlacement placement;
  bool last_run_failed = false;  // the body's own last run failed: nothing of it is left
  bool round_failed_last_run = false;  // and its round was what failed it
  bool submitted_again = false;
};

template <typename T>
void LineService::Submit(
    const std::string& pool_id,
    std::function<Result<T>(Tx&, CapacityDeltas&, Scheduler::SubmitPlacement&)> body,
    Reply<T> reply) {
  auto submission = std::make_shared<Submission<T>>();
  submission->pool_id = pool_id;
  submission->body = std::move(body);
  submission->reply = std::move(reply);
  SubmitOnce(std::move(submission));
}

template <typename T>
void LineService::SubmitOnce(std::shared_ptr<Submission<T>> submission) {
  WriteTracked(
      *store_, *cache_,
      [submission](Tx& tx, CapacityDeltas& deltas) -> Status {
        Scheduler::SubmitPlacement& placement = submission->placement;
        // What an earlier run placed was rolled back with it; its claims are kept.
        placement.ran = false;
        placement.outcome = Scheduler::RoundOutcome();
        submission->last_run_failed = true;
        const bool round_had_failed = placement.round_failed;
        Result<T> result = submission->body(tx, deltas, placement);
        submission->round_failed_last_run = placement.round_failed && !round_had_failed;
        if (!result.ok()) return result.status();
        submission->value = std::move(result).value();
        submission->last_run_failed = false;
        return Status::Ok();
      },
      [this, submission](Status status) {
        scheduler_->AfterSubmit(submission->pool_id, submission->placement, status.ok());
        // Its round failed the body's last run, and the store did not run it again (it was
        // alone in its transaction, or already in its savepoint rerun): once more, now
        // without the round. Only then: after a failed commit the writes may have landed,
        // and must not be made twice.
        if (!status.ok() && submission->last_run_failed && submission->round_failed_last_run &&
            !submission->submitted_again) {
          submission->submitted_again = true;
          SubmitOnce(submission);
          return;
        }
        if (!status.ok()) {
          submission->reply(std::move(status));
          return;
        }
        submission->reply(std::move(*submission->value));
      });
}

template <typename T>
void LineService::Read(const std::function<Result<T>(Tx&)>& body, const Reply<T>& reply) {
  std::optional<T> value;
  Status status = store_->Read([&](Tx& tx) -> Status {
    Result<T> result = body(tx);
    if (!result.ok()) return result.status();
    value = std::move(result).value();
    return Status::Ok();
  });
  if (!status.ok()) {
    reply(std::move(status));
  } else {
    reply(std::move(*value));
  }
}

}  // namespace line
