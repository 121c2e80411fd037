#include "client/codec.h"

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace line::client {
namespace json = boost::json;

namespace {

// ---- Encoding ----

// Builds a request object; remembers the first invalid JSON text it was given.
class Writer {
 public:
  void Str(std::string_view key, std::string_view v) { o_[key] = v; }
  void StrIfSet(std::string_view key, const std::optional<std::string>& v) {
    if (v) o_[key] = *v;
  }
  void StrIfNotEmpty(std::string_view key, std::string_view v) {
    if (!v.empty()) o_[key] = v;
  }
  void Int(std::string_view key, int64_t v) { o_[key] = v; }
  void IntIfSet(std::string_view key, const std::optional<int64_t>& v) {
    if (v) o_[key] = *v;
  }
  void Strings(std::string_view key, const std::vector<std::string>& v) {
    json::array a;
    a.reserve(v.size());
    for (const auto& s : v) a.emplace_back(s);
    o_[key] = std::move(a);
  }
  // Embeds JSON text as a value.
  void JsonIfSet(std::string_view key, const std::optional<std::string>& text) {
    if (!text) return;
    std::optional<json::value> v = ParseJson(key, *text);
    if (v) o_[key] = std::move(*v);
  }
  std::optional<json::value> ParseJson(std::string_view field, std::string_view text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) {
      if (error_.empty()) {
        error_ = std::string(field) + " is not valid JSON text (" + ec.message() +
                 "): " + std::string(text.substr(0, 100));
      }
      return std::nullopt;
    }
    return v;
  }
  void Paging(const std::optional<int64_t>& max_results, const std::string& next_token) {
    IntIfSet("max_results", max_results);
    StrIfNotEmpty("next_token", next_token);
  }
  json::object& object() { return o_; }

  Result<std::string> Finish() {
    if (!error_.empty()) return Error{0, std::string(kInvalidInput), error_, 0};
    return json::serialize(o_);
  }

 private:
  json::object o_;
  std::string error_;
};

json::object EncodeEval(Writer& w, std::string_view field, const std::string& dataset_id,
                        int64_t size, const std::optional<std::string>& payload,
                        const std::string& idempotency_key) {
  json::object e;
  e["dataset_id"] = dataset_id;
  e["size"] = size;
  if (payload) {
    std::optional<json::value> v = w.ParseJson(std::string(field) + "payload", *payload);
    if (v) e["payload"] = std::move(*v);
  }
  if (!idempotency_key.empty()) e["idempotency_key"] = idempotency_key;
  return e;
}

// ---- Decoding ----

// Reads the fields of one answer object. The first problem is kept in `*error` (with the path
// of the field, e.g. "evals[2].size") and later reads return defaults.
class Reader {
 public:
  Reader(const json::object& o, std::string path, std::string* error)
      : o_(o), path_(std::move(path)), error_(error) {}

  std::string Str(std::string_view key) {
    const json::value* v = Get(key, /*required=*/true);
    if (v == nullptr) return {};
    if (!v->is_string()) return Fail(key, "a string"), std::string();
    return std::string(v->get_string());
  }
  // A string that may be null or absent ("" then).
  std::string StrOrEmpty(std::string_view key) {
    std::optional<std::string> s = OptStr(key);
    return s ? *s : std::string();
  }
  std::optional<std::string> OptStr(std::string_view key) {
    const json::value* v = Get(key, /*required=*/false);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) return Fail(key, "a string or null"), std::nullopt;
    return std::string(v->get_string());
  }
  int64_t Int(std::string_view key) {
    const json::value* v = Get(key, /*required=*/true);
    if (v == nullptr) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= INT64_MAX)
      return static_cast<int64_t>(v->get_uint64());
    return Fail(key, "an integer"), 0;
  }
  std::optional<int64_t> OptInt(std::string_view key) {
    const json::value* v = Get(key, /*required=*/false);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return Int(key);
  }
  bool Bool(std::string_view key) {
    const json::value* v = Get(key, /*required=*/true);
    if (v == nullptr) return false;
    if (!v->is_bool()) return Fail(key, "a boolean"), false;
    return v->get_bool();
  }
  // Any JSON value, as text; absent reads as "null".
  std::string JsonText(std::string_view key) {
    const json::value* v = Get(key, /*required=*/false);
    return v == nullptr ? "null" : json::serialize(*v);
  }
  // null or absent = nullopt.
  std::optional<std::string> OptJsonText(std::string_view key) {
    const json::value* v = Get(key, /*required=*/false);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return json::serialize(*v);
  }
  std::vector<std::string> Strings(std::string_view key, bool required = true) {
    std::vector<std::string> out;
    const json::value* v = Get(key, required);
    if (v == nullptr || (!required && v->is_null())) return out;
    if (!v->is_array()) return Fail(key, "an array"), out;
    const json::array& a = v->get_array();
    out.reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) {
        Fail(std::string(key) + "[" + std::to_string(i) + "]", "a string");
        return {};
      }
      out.emplace_back(a[i].get_string());
    }
    return out;
  }
  // Decodes each object of an array with `item`.
  template <typename T>
  std::vector<T> Objects(std::string_view key, const std::function<void(Reader&, T*)>& item) {
    std::vector<T> out;
    const json::value* v = Get(key, /*required=*/true);
    if (v == nullptr) return out;
    if (!v->is_array()) return Fail(key, "an array"), out;
    const json::array& a = v->get_array();
    out.resize(a.size());
    for (size_t i = 0; i < a.size() && error_->empty(); ++i) {
      std::string path = Path(key) + "[" + std::to_string(i) + "]";
      if (!a[i].is_object()) {
        *error_ = path + " is not an object";
        break;
      }
      Reader r(a[i].get_object(), path + ".", error_);
      item(r, &out[i]);
    }
    if (!error_->empty()) out.clear();
    return out;
  }

 private:
  const json::value* Get(std::string_view key, bool required) {
    if (!error_->empty()) return nullptr;
    const json::value* v = o_.if_contains(key);
    if (v == nullptr && required) *error_ = "missing field " + Path(key);
    return v;
  }
  void Fail(std::string_view key, std::string_view what) {
    if (error_->empty()) *error_ = Path(key) + " is not " + std::string(what);
  }
  std::string Path(std::string_view key) const { return path_ + std::string(key); }

  const json::object& o_;
  std::string path_;
  std::string* error_;
};

void ReadPool(Reader& r, PoolDescription* p) {
  p->pool_id = r.Str("pool_id");
  p->placement = r.Str("placement");
  p->max_retry = r.Int("max_retry");
  p->alloc_ttl = r.Int("alloc_ttl");
  p->disbanded = r.Bool("disbanded");
  p->workers = r.Int("workers");
  p->capacity = r.Int("capacity");
  p->free = r.Int("free");
  p->pending_evals = r.Int("pending_evals");
  p->blocked_evals = r.Int("blocked_evals");
  p->live_allocs = r.Int("live_allocs");
  p->dead_letters = r.Int("dead_letters");
  p->owner = r.StrOrEmpty("owner");  // servers before issue 4 do not send it
}

void ReadWorker(Reader& r, WorkerDescription* w) {
  w->pool_id = r.Str("pool_id");
  w->worker_id = r.Str("worker_id");
  w->capacity = r.Int("capacity");
  w->free = r.Int("free");
  w->ttl = r.Int("ttl");
  w->draining = r.Bool("draining");
  w->datasets = r.Strings("datasets");
  w->allocs = r.Strings("allocs");
}

void ReadHistory(Reader& r, HistoryEntry* h) {
  h->alloc_id = r.Str("alloc_id");
  h->worker_id = r.Str("worker_id");
  h->locality = r.Bool("locality");
  h->ended = r.OptInt("ended");
  h->reason = r.OptStr("reason");
}

void ReadEval(Reader& r, EvalDescription* e) {
  e->pool_id = r.Str("pool_id");
  e->eval_id = r.Str("eval_id");
  e->state = r.Str("state");
  e->dataset_id = r.StrOrEmpty("dataset_id");
  e->size = r.Int("size");
  e->payload = r.JsonText("payload");
  e->attempt = r.Int("attempt");
  e->alloc_id = r.OptStr("alloc_id");
  e->worker_id = r.OptStr("worker_id");
  e->exit_code = r.OptInt("exit_code");
  e->result = r.OptJsonText("result");
  e->history = r.Objects<HistoryEntry>("history", ReadHistory);
}

void ReadAlloc(Reader& r, AllocDescription* a) {
  a->pool_id = r.Str("pool_id");
  a->alloc_id = r.Str("alloc_id");
  a->worker_id = r.Str("worker_id");
  a->eval_id = r.Str("eval_id");
  a->dataset_id = r.StrOrEmpty("dataset_id");
  a->size = r.Int("size");
  a->ttl = r.Int("ttl");
  a->state = r.Str("state");
  a->locality = r.Bool("locality");
}

void ReadReceived(Reader& r, ReceivedAlloc* a) {
  a->pool_id = r.Str("pool_id");
  a->alloc_id = r.Str("alloc_id");
  a->worker_id = r.Str("worker_id");
  a->eval_id = r.Str("eval_id");
  a->dataset_id = r.StrOrEmpty("dataset_id");
  a->size = r.Int("size");
  a->payload = r.JsonText("payload");
  a->attempt = r.Int("attempt");
}

void ReadDeadLetter(Reader& r, DeadLetter* d) {
  d->pool_id = r.Str("pool_id");
  d->eval_id = r.Str("eval_id");
  d->dataset_id = r.StrOrEmpty("dataset_id");
  d->size = r.Int("size");
  d->payload = r.JsonText("payload");
  d->attempts = r.Int("attempts");
  d->reason = r.StrOrEmpty("reason");
}

// Parses `body` as an object and runs `read` on it.
template <typename T, typename F>
bool DecodeWith(std::string_view body, T* out, std::string* error, F read) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    *error = "answer is not JSON (" + ec.message() + "): " + std::string(body.substr(0, 200));
    return false;
  }
  if (!v.is_object()) {
    *error = "answer is not a JSON object: " + std::string(body.substr(0, 200));
    return false;
  }
  error->clear();
  Reader r(v.get_object(), "", error);
  read(r, out);
  return error->empty();
}

}  // namespace

// ---- Public encoders ----

Result<std::string> ToJson(const CreatePoolRequest& r) {
  Writer w;
  w.StrIfSet("placement", r.placement);
  w.IntIfSet("max_retry", r.max_retry);
  w.IntIfSet("alloc_ttl", r.alloc_ttl);
  return w.Finish();
}
Result<std::string> ToJson(const RegisterWorkerRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Int("capacity", r.capacity);
  return w.Finish();
}
Result<std::string> ToJson(const DisbandPoolRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  return w.Finish();
}
Result<std::string> ToJson(const SendHeartbeatRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("worker_id", r.worker_id);
  w.Strings("allocs", r.allocs);
  w.Strings("datasets", r.datasets);
  return w.Finish();
}
Result<std::string> ToJson(const ScheduleEvalRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  for (auto& [k, v] : EncodeEval(w, "", r.dataset_id, r.size, r.payload, r.idempotency_key)) {
    w.object()[k] = std::move(v);
  }
  return w.Finish();
}
Result<std::string> ToJson(const ScheduleEvalsRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  json::array evals;
  evals.reserve(r.evals.size());
  for (size_t i = 0; i < r.evals.size(); ++i) {
    const EvalSpec& e = r.evals[i];
    evals.emplace_back(EncodeEval(w, "evals[" + std::to_string(i) + "].", e.dataset_id, e.size,
                                  e.payload, e.idempotency_key));
  }
  w.object()["evals"] = std::move(evals);
  return w.Finish();
}
Result<std::string> ToJson(const CompleteAllocRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("alloc_id", r.alloc_id);
  w.StrIfSet("worker_id", r.worker_id);
  w.IntIfSet("exit_code", r.exit_code);
  w.JsonIfSet("result", r.result);
  if (r.failed) w.object()["failed"] = true;
  return w.Finish();
}
Result<std::string> ToJson(const ReceiveAllocsRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("worker_id", r.worker_id);
  w.Int("max_number_of_messages", r.max_number_of_messages);
  w.Int("wait_time_seconds", r.wait_time_seconds);
  return w.Finish();
}
Result<std::string> ToJson(const DescribePoolRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  return w.Finish();
}
Result<std::string> ToJson(const ListPoolsRequest& r) {
  Writer w;
  w.Paging(r.max_results, r.next_token);
  return w.Finish();
}
Result<std::string> ToJson(const DescribeWorkerRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("worker_id", r.worker_id);
  return w.Finish();
}
Result<std::string> ToJson(const ListWorkersRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Paging(r.max_results, r.next_token);
  return w.Finish();
}
Result<std::string> ToJson(const DescribeEvalRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("eval_id", r.eval_id);
  return w.Finish();
}
Result<std::string> ToJson(const ListEvalsRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.StrIfSet("state", r.state);
  w.Paging(r.max_results, r.next_token);
  return w.Finish();
}
Result<std::string> ToJson(const DescribeAllocRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("alloc_id", r.alloc_id);
  return w.Finish();
}
Result<std::string> ToJson(const ListAllocsRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.StrIfNotEmpty("worker_id", r.worker_id);
  w.StrIfSet("state", r.state);
  w.Paging(r.max_results, r.next_token);
  return w.Finish();
}
Result<std::string> ToJson(const ListDeadLettersRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Paging(r.max_results, r.next_token);
  return w.Finish();
}
Result<std::string> ToJson(const RedriveDeadLettersRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  if (r.eval_ids) w.Strings("eval_ids", *r.eval_ids);
  return w.Finish();
}
Result<std::string> ToJson(const DrainWorkerRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("worker_id", r.worker_id);
  return w.Finish();
}
Result<std::string> ToJson(const DeregisterWorkerRequest& r) {
  Writer w;
  w.Str("pool_id", r.pool_id);
  w.Str("worker_id", r.worker_id);
  return w.Finish();
}

// ---- Decoders ----

namespace internal {

bool Decode(std::string_view body, CreatePoolResponse* out, std::string* error) {
  return DecodeWith(body, out, error,
                    [](Reader& r, CreatePoolResponse* o) { o->pool_id = r.Str("pool_id"); });
}
bool Decode(std::string_view body, RegisterWorkerResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, RegisterWorkerResponse* o) {
    o->pool_id = r.Str("pool_id");
    o->worker_id = r.Str("worker_id");
    o->queue_url = r.Str("queue_url");
    o->capacity = r.Int("capacity");
    o->worker_ttl = r.Int("worker_ttl");
    o->replica_ttl = r.Int("replica_ttl");
    o->alloc_ttl = r.Int("alloc_ttl");
  });
}
bool Decode(std::string_view body, Empty* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader&, Empty*) {});
}
bool Decode(std::string_view body, SendHeartbeatResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, SendHeartbeatResponse* o) {
    o->unknown_allocs = r.Strings("unknown_allocs", /*required=*/false);
  });
}
bool Decode(std::string_view body, ScheduleEvalResponse* out, std::string* error) {
  return DecodeWith(body, out, error,
                    [](Reader& r, ScheduleEvalResponse* o) { o->eval_id = r.Str("eval_id"); });
}
bool Decode(std::string_view body, ScheduleEvalsResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, ScheduleEvalsResponse* o) {
    o->eval_ids = r.Strings("eval_ids");
  });
}
bool Decode(std::string_view body, ReceiveAllocsResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, ReceiveAllocsResponse* o) {
    o->allocs = r.Objects<ReceivedAlloc>("allocs", ReadReceived);
  });
}
bool Decode(std::string_view body, PoolDescription* out, std::string* error) {
  return DecodeWith(body, out, error, ReadPool);
}
bool Decode(std::string_view body, ListPoolsResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, ListPoolsResponse* o) {
    o->pools = r.Objects<PoolDescription>("pools", ReadPool);
    o->next_token = r.StrOrEmpty("next_token");
  });
}
bool Decode(std::string_view body, WorkerDescription* out, std::string* error) {
  return DecodeWith(body, out, error, ReadWorker);
}
bool Decode(std::string_view body, ListWorkersResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, ListWorkersResponse* o) {
    o->workers = r.Objects<WorkerDescription>("workers", ReadWorker);
    o->next_token = r.StrOrEmpty("next_token");
  });
}
bool Decode(std::string_view body, EvalDescription* out, std::string* error) {
  return DecodeWith(body, out, error, ReadEval);
}
bool Decode(std::string_view body, ListEvalsResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, ListEvalsResponse* o) {
    o->evals = r.Objects<EvalDescription>("evals", ReadEval);
    o->next_token = r.StrOrEmpty("next_token");
  });
}
bool Decode(std::string_view body, AllocDescription* out, std::string* error) {
  return DecodeWith(body, out, error, ReadAlloc);
}
bool Decode(std::string_view body, ListAllocsResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, ListAllocsResponse* o) {
    o->allocs = r.Objects<AllocDescription>("allocs", ReadAlloc);
    o->next_token = r.StrOrEmpty("next_token");
  });
}
bool Decode(std::string_view body, ListDeadLettersResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, ListDeadLettersResponse* o) {
    o->dead_letters = r.Objects<DeadLetter>("dead_letters", ReadDeadLetter);
    o->next_token = r.StrOrEmpty("next_token");
  });
}
bool Decode(std::string_view body, RedriveDeadLettersResponse* out, std::string* error) {
  return DecodeWith(body, out, error, [](Reader& r, RedriveDeadLettersResponse* o) {
    o->redriven = r.Int("redriven");
  });
}
bool Decode(std::string_view body, HealthzResponse* out, std::string* error) {
  return DecodeWith(body, out, error,
                    [](Reader& r, HealthzResponse* o) { o->status = r.Str("status"); });
}

bool DecodeError(std::string_view body, std::string* code, std::string* message) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const json::value* c = v.get_object().if_contains("code");
  const json::value* m = v.get_object().if_contains("message");
  if (c == nullptr || !c->is_string()) return false;
  *code = std::string(c->get_string());
  *message = m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string();
  return true;
}

}  // namespace internal
}  // namespace line::client
