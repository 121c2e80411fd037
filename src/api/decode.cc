#include "api/decode.h"

#include <boost/json.hpp>
#include <limits>
#include <string>
#include <utility>

#include "common/ids.h"

namespace line {
namespace {

namespace json = boost::json;

constexpr std::string_view kGeneratedIdRule = "a 24-character lowercase hex id (or 20, from earlier versions)";
constexpr std::string_view kClientIdRule = "1-128 characters of [A-Za-z0-9._/-]";
constexpr size_t kMaxShownValue = 100;
// Deep enough for any sane payload, shallow enough that parsing cannot exhaust the stack.
constexpr size_t kMaxJsonDepth = 64;

// The value as it appeared (re-serialized), cut short so that a message stays readable. Cuts at
// a UTF-8 character boundary: the message is echoed inside a JSON string.
std::string Show(const json::value& value) {
  std::string shown = json::serialize(value);
  if (shown.size() <= kMaxShownValue) return shown;
  size_t cut = kMaxShownValue;
  while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) --cut;
  shown.resize(cut);
  return shown + "...";
}

// The fields of one JSON object, named with a prefix ("evals[3].") in messages.
class Fields {
 public:
  Fields(const json::object& object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  // The field, or nullptr when it is absent. A null value is returned as such.
  const json::value* Find(std::string_view key) const { return object_.if_contains(key); }
  // The field, or nullptr when it is absent or null (an optional field's default then holds).
  const json::value* FindSet(std::string_view key) const {
    const json::value* v = object_.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  std::string Name(std::string_view key) const { return prefix_ + std::string(key); }

  Status Missing(std::string_view key) const {
    return Status::InvalidInput(Name(key) + " is required");
  }
  Status Invalid(std::string_view key, std::string_view rule, const json::value& got) const {
    return Status::InvalidInput(Name(key) + " must be " + std::string(rule) + ", got " + Show(got));
  }

 private:
  const json::object& object_;
  const std::string prefix_;
};

Status CheckGeneratedId(const Fields& f, std::string_view key, const json::value& v,
                        std::string* out) {
  if (!v.is_string() || !IsGeneratedId(v.get_string())) return f.Invalid(key, kGeneratedIdRule, v);
  *out = std::string(v.get_string());
  return Status::Ok();
}

Status RequiredId(const Fields& f, std::string_view key, std::string* out) {
  const json::value* v = f.Find(key);
  if (v == nullptr) return f.Missing(key);
  return CheckGeneratedId(f, key, *v, out);
}

// Absent, null and "" all mean "not given" (clients that serialize zero values send "").
Status OptionalId(const Fields& f, std::string_view key, std::string* out) {
  const json::value* v = f.FindSet(key);
  if (v == nullptr || (v->is_string() && v->get_string().empty())) return Status::Ok();
  return CheckGeneratedId(f, key, *v, out);
}

// A client id, or "" when absent, null or "".
Status OptionalClientId(const Fields& f, std::string_view key, std::string* out) {
  const json::value* v = f.FindSet(key);
  if (v == nullptr || (v->is_string() && v->get_string().empty())) return Status::Ok();
  if (!v->is_string() || !IsClientId(v->get_string())) {
    return f.Invalid(key, "empty or " + std::string(kClientIdRule), *v);
  }
  *out = std::string(v->get_string());
  return Status::Ok();
}

// JSON integers only: 3.0, 3e0 and "3" are refused, so that nothing is silently truncated.
Status CheckInt(const Fields& f, std::string_view key, const json::value& v, int64_t lo, int64_t hi,
                int64_t* out) {
  if (!v.is_int64() || v.get_int64() < lo || v.get_int64() > hi) {
    return f.Invalid(key, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi), v);
  }
  *out = v.get_int64();
  return Status::Ok();
}

Status RequiredInt(const Fields& f, std::string_view key, int64_t lo, int64_t hi, int64_t* out) {
  const json::value* v = f.Find(key);
  if (v == nullptr) return f.Missing(key);
  return CheckInt(f, key, *v, lo, hi, out);
}

// Leaves *out (the default) alone when absent or null.
Status OptionalInt(const Fields& f, std::string_view key, int64_t lo, int64_t hi, int64_t* out) {
  const json::value* v = f.FindSet(key);
  if (v == nullptr) return Status::Ok();
  return CheckInt(f, key, *v, lo, hi, out);
}

Status OptionalInt(const Fields& f, std::string_view key, int64_t lo, int64_t hi,
                   std::optional<int64_t>* out) {
  const json::value* v = f.FindSet(key);
  if (v == nullptr) return Status::Ok();
  int64_t value = 0;
  LINE_RETURN_IF_ERROR(CheckInt(f, key, *v, lo, hi, &value));
  *out = value;
  return Status::Ok();
}

Status OptionalBool(const Fields& f, std::string_view key, bool* out) {
  const json::value* v = f.FindSet(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_bool()) return f.Invalid(key, "true or false", *v);
  *out = v->get_bool();
  return Status::Ok();
}

Status OptionalString(const Fields& f, std::string_view key, std::string* out) {
  const json::value* v = f.FindSet(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return f.Invalid(key, "a string", *v);
  *out = std::string(v->get_string());
  return Status::Ok();
}

// Any JSON value, serialized. Leaves *out alone when absent; with `null_is_absent`, also when
// null (a result of null is no result).
Status OptionalJson(const Fields& f, std::string_view key, bool null_is_absent, std::string* out) {
  const json::value* v = null_is_absent ? f.FindSet(key) : f.Find(key);
  if (v == nullptr) return Status::Ok();
  std::string text = json::serialize(*v);
  if (text.size() > kMaxPayloadBytes) {
    return Status::InvalidInput(f.Name(key) + " must serialize to at most " +
                                std::to_string(kMaxPayloadBytes) + " bytes, got " +
                                std::to_string(text.size()) + " bytes");
  }
  *out = std::move(text);
  return Status::Ok();
}

// An optional array; nullptr when absent or null.
Status OptionalArray(const Fields& f, std::string_view key, std::string_view rule,
                     const json::array** out) {
  const json::value* v = f.FindSet(key);
  *out = nullptr;
  if (v == nullptr) return Status::Ok();
  if (!v->is_array()) return f.Invalid(key, rule, *v);
  *out = &v->get_array();
  return Status::Ok();
}

std::string Indexed(std::string_view key, size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

Status OptionalStringArray(const Fields& f, std::string_view key, std::vector<std::string>* out) {
  const json::array* array = nullptr;
  LINE_RETURN_IF_ERROR(OptionalArray(f, key, "an array of strings", &array));
  if (array == nullptr) return Status::Ok();
  for (size_t i = 0; i < array->size(); ++i) {
    const json::value& v = (*array)[i];
    if (!v.is_string()) return f.Invalid(Indexed(key, i), "a string", v);
    out->emplace_back(v.get_string());
  }
  return Status::Ok();
}

Status OptionalClientIdArray(const Fields& f, std::string_view key, std::vector<std::string>* out) {
  const json::array* array = nullptr;
  LINE_RETURN_IF_ERROR(OptionalArray(f, key, "an array of strings", &array));
  if (array == nullptr) return Status::Ok();
  for (size_t i = 0; i < array->size(); ++i) {
    const json::value& v = (*array)[i];
    if (!v.is_string() || !IsClientId(v.get_string())) {
      return f.Invalid(Indexed(key, i), kClientIdRule, v);
    }
    out->emplace_back(v.get_string());
  }
  return Status::Ok();
}

Status Page(const Fields& f, PageRequest* page) {
  LINE_RETURN_IF_ERROR(OptionalInt(f, "max_results", 1, kMaxResults, &page->max_results));
  return OptionalString(f, "next_token", &page->next_token);
}

Status DecodeEvalSpec(const Fields& f, EvalSpec* eval) {
  LINE_RETURN_IF_ERROR(OptionalClientId(f, "dataset_id", &eval->dataset_id));
  LINE_RETURN_IF_ERROR(RequiredInt(f, "size", 1, kMaxCount, &eval->size));
  LINE_RETURN_IF_ERROR(OptionalJson(f, "payload", /*null_is_absent=*/false, &eval->payload));
  return OptionalClientId(f, "idempotency_key", &eval->idempotency_key);
}

// Parses the body as a JSON object and fills a Req through `fill(fields, req)`.
template <typename Req, typename Fill>
Result<Req> Decode(std::string_view body, Fill fill) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value root = json::parse(body, ec, json::storage_ptr(), options);
  if (ec) {
    return Status::InvalidInput("body must be a JSON object, got invalid JSON (" + ec.message() +
                                ")");
  }
  if (!root.is_object()) {
    return Status::InvalidInput("body must be a JSON object, got " + Show(root));
  }
  Fields fields(root.get_object(), "");
  Req req;
  LINE_RETURN_IF_ERROR(fill(fields, req));
  return req;
}

}  // namespace

Result<CreatePoolRequest> DecodeCreatePool(std::string_view body) {
  return Decode<CreatePoolRequest>(body, [](const Fields& f, CreatePoolRequest& r) -> Status {
    if (const json::value* v = f.FindSet("placement")) {
      std::optional<PlacementPolicy> placement;
      if (v->is_string()) placement = ParsePlacement(v->get_string());
      if (!placement) return f.Invalid("placement", "\"spread\" or \"binpack\"", *v);
      r.placement = placement;
    }
    LINE_RETURN_IF_ERROR(OptionalInt(f, "max_retry", 1, kMaxRetryLimit, &r.max_retry));
    return OptionalInt(f, "alloc_ttl", 1, kMaxAllocTtlSeconds, &r.alloc_ttl);
  });
}

Result<RegisterWorkerRequest> DecodeRegisterWorker(std::string_view body) {
  return Decode<RegisterWorkerRequest>(
      body, [](const Fields& f, RegisterWorkerRequest& r) -> Status {
        LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
        return RequiredInt(f, "capacity", 1, kMaxCount, &r.capacity);
      });
}

Result<PoolRequest> DecodePoolRequest(std::string_view body) {
  return Decode<PoolRequest>(body, [](const Fields& f, PoolRequest& r) -> Status {
    return RequiredId(f, "pool_id", &r.pool_id);
  });
}

Result<HeartbeatRequest> DecodeSendHeartbeat(std::string_view body) {
  return Decode<HeartbeatRequest>(body, [](const Fields& f, HeartbeatRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    LINE_RETURN_IF_ERROR(RequiredId(f, "worker_id", &r.worker_id));
    // Alloc ids of any shape pass: the Service reports the unknown ones back instead of
    // failing the whole heartbeat.
    LINE_RETURN_IF_ERROR(OptionalStringArray(f, "allocs", &r.allocs));
    return OptionalClientIdArray(f, "datasets", &r.datasets);
  });
}

Result<ScheduleEvalRequest> DecodeScheduleEval(std::string_view body) {
  return Decode<ScheduleEvalRequest>(body, [](const Fields& f, ScheduleEvalRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    return DecodeEvalSpec(f, &r.eval);
  });
}

Result<ScheduleEvalsRequest> DecodeScheduleEvals(std::string_view body) {
  return Decode<ScheduleEvalsRequest>(body, [](const Fields& f, ScheduleEvalsRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    const std::string rule =
        "an array of 1 to " + std::to_string(kMaxEvalsPerBatch) + " eval objects";
    const json::value* v = f.Find("evals");
    if (v == nullptr) return f.Missing("evals");
    if (!v->is_array()) return f.Invalid("evals", rule, *v);
    const json::array& evals = v->get_array();
    if (evals.empty() || evals.size() > kMaxEvalsPerBatch) {
      return Status::InvalidInput(f.Name("evals") + " must be " + rule + ", got " +
                                  std::to_string(evals.size()) + " elements");
    }
    r.evals.resize(evals.size());
    for (size_t i = 0; i < evals.size(); ++i) {
      std::string name = Indexed("evals", i);
      if (!evals[i].is_object()) return f.Invalid(name, "an object", evals[i]);
      LINE_RETURN_IF_ERROR(DecodeEvalSpec(Fields(evals[i].get_object(), name + "."), &r.evals[i]));
    }
    return Status::Ok();
  });
}

Result<CompleteAllocRequest> DecodeCompleteAlloc(std::string_view body) {
  return Decode<CompleteAllocRequest>(body, [](const Fields& f, CompleteAllocRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    LINE_RETURN_IF_ERROR(RequiredId(f, "alloc_id", &r.alloc_id));
    std::string worker_id;
    LINE_RETURN_IF_ERROR(OptionalId(f, "worker_id", &worker_id));
    if (!worker_id.empty()) r.worker_id = std::move(worker_id);
    // Exit statuses are C ints.
    LINE_RETURN_IF_ERROR(OptionalInt(f, "exit_code", std::numeric_limits<int32_t>::min(),
                                     std::numeric_limits<int32_t>::max(), &r.exit_code));
    LINE_RETURN_IF_ERROR(OptionalJson(f, "result", /*null_is_absent=*/true, &r.result));
    return OptionalBool(f, "failed", &r.failed);
  });
}

Result<ReceiveAllocsRequest> DecodeReceiveAllocs(std::string_view body) {
  return Decode<ReceiveAllocsRequest>(body, [](const Fields& f, ReceiveAllocsRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    LINE_RETURN_IF_ERROR(RequiredId(f, "worker_id", &r.worker_id));
    LINE_RETURN_IF_ERROR(
        OptionalInt(f, "max_number_of_messages", 1, kMaxMessages, &r.max_number_of_messages));
    return OptionalInt(f, "wait_time_seconds", 0, kMaxWaitSeconds, &r.wait_time_seconds);
  });
}

Result<PageRequest> DecodeListPools(std::string_view body) {
  return Decode<PageRequest>(body, [](const Fields& f, PageRequest& r) { return Page(f, &r); });
}

Result<WorkerRequest> DecodeWorkerRequest(std::string_view body) {
  return Decode<WorkerRequest>(body, [](const Fields& f, WorkerRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    return RequiredId(f, "worker_id", &r.worker_id);
  });
}

Result<ListWorkersRequest> DecodeListWorkers(std::string_view body) {
  return Decode<ListWorkersRequest>(body, [](const Fields& f, ListWorkersRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    return Page(f, &r.page);
  });
}

Result<EvalRequest> DecodeDescribeEval(std::string_view body) {
  return Decode<EvalRequest>(body, [](const Fields& f, EvalRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    return RequiredId(f, "eval_id", &r.eval_id);
  });
}

Result<ListEvalsRequest> DecodeListEvals(std::string_view body) {
  return Decode<ListEvalsRequest>(body, [](const Fields& f, ListEvalsRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    if (const json::value* v = f.FindSet("state")) {
      if (v->is_string()) r.state = ParseEvalState(v->get_string());
      if (!r.state) return f.Invalid("state", "pending, placed, completed or dead", *v);
    }
    return Page(f, &r.page);
  });
}

Result<AllocRequest> DecodeDescribeAlloc(std::string_view body) {
  return Decode<AllocRequest>(body, [](const Fields& f, AllocRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    return RequiredId(f, "alloc_id", &r.alloc_id);
  });
}

Result<ListAllocsRequest> DecodeListAllocs(std::string_view body) {
  return Decode<ListAllocsRequest>(body, [](const Fields& f, ListAllocsRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    LINE_RETURN_IF_ERROR(OptionalId(f, "worker_id", &r.worker_id));
    if (const json::value* v = f.FindSet("state")) {
      if (v->is_string()) r.state = ParseAllocState(v->get_string());
      if (!r.state) return f.Invalid("state", "live, completed or expired", *v);
    }
    return Page(f, &r.page);
  });
}

Result<PoolRequest> DecodeListDeadLetters(std::string_view body) {
  return Decode<PoolRequest>(body, [](const Fields& f, PoolRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    return Page(f, &r.page);
  });
}

Result<RedriveRequest> DecodeRedriveDeadLetters(std::string_view body) {
  return Decode<RedriveRequest>(body, [](const Fields& f, RedriveRequest& r) -> Status {
    LINE_RETURN_IF_ERROR(RequiredId(f, "pool_id", &r.pool_id));
    const json::array* ids = nullptr;
    LINE_RETURN_IF_ERROR(OptionalArray(f, "eval_ids", "an array of eval ids", &ids));
    if (ids == nullptr) return Status::Ok();
    r.eval_ids.emplace();
    for (size_t i = 0; i < ids->size(); ++i) {
      std::string id;
      LINE_RETURN_IF_ERROR(CheckGeneratedId(f, Indexed("eval_ids", i), (*ids)[i], &id));
      r.eval_ids->push_back(std::move(id));
    }
    return Status::Ok();
  });
}

}  // namespace line
