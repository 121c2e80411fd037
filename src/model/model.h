// The plain values line schedules with. No I/O and no behaviour beyond naming.
// Times are milliseconds since the Unix epoch (TimeMs); the wire shows whole seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace line {

enum class PlacementPolicy { kSpread, kBinpack };
const char* PlacementName(PlacementPolicy p);
std::optional<PlacementPolicy> ParsePlacement(std::string_view name);

struct Pool {
  std::string pool_id;
  PlacementPolicy placement = PlacementPolicy::kSpread;
  int64_t max_retry = 3;
  int64_t alloc_ttl_s = 30;
  bool disbanded = false;
  TimeMs disbanded_at = 0;  // 0 while active
  TimeMs created_at = 0;
};

struct Worker {
  std::string pool_id;
  std::string worker_id;
  int64_t capacity = 0;
  int64_t free = 0;  // capacity minus the sizes of its live allocs (invariant 1)
  TimeMs ttl = 0;    // expires when the clock reaches this
  bool draining = false;
  TimeMs registered_at = 0;
};

struct Replica {
  std::string pool_id;
  std::string dataset_id;
  std::string worker_id;
  TimeMs ttl = 0;
};

enum class EvalState { kPending, kPlaced, kCompleted, kDead };
const char* EvalStateName(EvalState s);
std::optional<EvalState> ParseEvalState(std::string_view name);

struct Eval {
  std::string pool_id;
  std::string eval_id;
  int64_t seq = 0;  // arrival order within the store; assigned on insert
  EvalState state = EvalState::kPending;
  std::string dataset_id;  // empty: no locality preference
  int64_t size = 0;
  std::string payload = "null";  // serialized JSON
  // The attempt the eval is on: 1 until its first placement ends, +1 per ended placement
  // that is retried. Dead letters report it as `attempts`.
  int64_t attempt = 1;
  std::string alloc_id;   // current or last alloc; empty if never placed
  std::string worker_id;  // worker of alloc_id
  std::optional<int64_t> exit_code;
  std::string result;  // serialized JSON of the latest completion; empty: none yet
  std::string idempotency_key;  // empty: none
  std::string dead_reason;      // set when state == kDead
  TimeMs created_at = 0;
};

// The eval's keys (pool_id, eval_id, seq) and the columns that change after its insert
// (state, attempt, alloc_id, worker_id, exit_code, result, dead_reason), without the rest:
// what an update by key needs, copied without the payload.
Eval KeysAndProgress(const Eval& eval);

enum class AllocState { kLive, kCompleted, kExpired };
const char* AllocStateName(AllocState s);
std::optional<AllocState> ParseAllocState(std::string_view name);

// An alloc row is also its worker's queue entry: `delivered_at` and `acked` track delivery
// through /ReceiveAllocs (see docs/decisions/0002-store-schema.md).
struct Alloc {
  std::string pool_id;
  std::string alloc_id;
  std::string worker_id;
  std::string eval_id;
  std::string dataset_id;
  int64_t size = 0;
  int64_t attempt = 1;
  bool locality = false;  // placed on a worker holding dataset_id
  AllocState state = AllocState::kLive;
  TimeMs ttl = 0;
  TimeMs created_at = 0;
  TimeMs delivered_at = 0;  // 0: never delivered
  bool acked = false;       // a heartbeat listed it or it ended: never deliver again
  TimeMs ended_at = 0;      // 0 while live
  std::string end_reason;   // "completed", "failed", "expired", "worker expired", ...
  int64_t seq = 0;          // order of creation; assigned on insert
};

}  // namespace line
