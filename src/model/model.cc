#include "model/model.h"

namespace line {

const char* PlacementName(PlacementPolicy p) {
  return p == PlacementPolicy::kBinpack ? "binpack" : "spread";
}

std::optional<PlacementPolicy> ParsePlacement(std::string_view name) {
  if (name == "spread") return PlacementPolicy::kSpread;
  if (name == "binpack") return PlacementPolicy::kBinpack;
  return std::nullopt;
}

const char* EvalStateName(EvalState s) {
  switch (s) {
    case EvalState::kPending: return "pending";
    case EvalState::kPlaced: return "placed";
    case EvalState::kCompleted: return "completed";
    case EvalState::kDead: return "dead";
  }
  return "pending";
}

std::optional<EvalState> ParseEvalState(std::string_view name) {
  if (name == "pending") return EvalState::kPending;
  if (name == "placed") return EvalState::kPlaced;
  if (name == "completed") return EvalState::kCompleted;
  if (name == "dead") return EvalState::kDead;
  return std::nullopt;
}

const char* AllocStateName(AllocState s) {
  switch (s) {
    case AllocState::kLive: return "live";
    case AllocState::kCompleted: return "completed";
    case AllocState::kExpired: return "expired";
  }
  return "live";
}

std::optional<AllocState> ParseAllocState(std::string_view name) {
  if (name == "live") return AllocState::kLive;
  if (name == "completed") return AllocState::kCompleted;
  if (name == "expired") return AllocState::kExpired;
  return std::nullopt;
}

Eval KeysAndProgress(const Eval& eval) {
  Eval out;
  out.pool_id = eval.pool_id;
  out.eval_id = eval.eval_id;
  out.seq = eval.seq;
  out.state = eval.state;
  out.payload.clear();
  out.attempt = eval.attempt;
  out.alloc_id = eval.alloc_id;
  out.worker_id = eval.worker_id;
  out.exit_code = eval.exit_code;
  out.result = eval.result;
  out.dead_reason = eval.dead_reason;
  return out;
}

}  // namespace line
