// The Write/Read plumbing of LineService, shared by its operation files (pool_ops.cc, ...).
#pragma once

#include <memory>

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
void LineService::Submit(
    const std::string& pool_id,
    std::function<Result<T>(Tx&, CapacityDeltas&, Scheduler::SubmitPlacement&)> body,
    Reply<T> reply) {
  auto value = std::make_shared<std::optional<T>>();
  // Shared by every run of the body (the store may run it more than once) and the end.
  auto placement = std::make_shared<Scheduler::SubmitPlacement>();
  WriteTracked(
      *store_, *cache_,
      [value, placement, body = std::move(body)](Tx& tx, CapacityDeltas& deltas) -> Status {
        // What an earlier run placed was rolled back with it; its claims are kept.
        placement->ran = false;
        placement->outcome = Scheduler::RoundOutcome();
        Result<T> result = body(tx, deltas, *placement);
        if (!result.ok()) return result.status();
        *value = std::move(result).value();
        return Status::Ok();
      },
      [this, pool_id, value, placement, reply = std::move(reply)](Status status) {
        scheduler_->AfterSubmit(pool_id, *placement, status.ok());
        if (!status.ok()) {
          reply(std::move(status));
          return;
        }
        reply(std::move(**value));
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
