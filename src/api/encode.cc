#include "api/encode.h"

#include <cstdio>
#include <string_view>
#include <vector>

namespace line {
namespace {

// Appends JSON to a string, placing commas itself. Written by hand rather than through
// boost::json::value so that stored payloads (up to 64 KiB each, up to 1000 per page) are
// copied in as they are instead of being parsed and serialized again for every response.
class JsonWriter {
 public:
  void BeginObject() {
    Prefix();
    out_.push_back('{');
    first_.push_back(true);
  }
  void EndObject() {
    out_.push_back('}');
    first_.pop_back();
  }
  void BeginArray(std::string_view key) {
    Key(key);
    Prefix();
    out_.push_back('[');
    first_.push_back(true);
  }
  void EndArray() {
    out_.push_back(']');
    first_.pop_back();
  }
  void Key(std::string_view key) {
    Prefix();
    Quote(key);
    out_.push_back(':');
    after_key_ = true;
  }
  void Str(std::string_view key, std::string_view value) {
    Key(key);
    StrValue(value);
  }
  void StrValue(std::string_view value) {
    Prefix();
    Quote(value);
  }
  // A string that is null on the wire when empty.
  void StrOrNull(std::string_view key, std::string_view value) {
    if (value.empty()) {
      Null(key);
    } else {
      Str(key, value);
    }
  }
  void Int(std::string_view key, int64_t value) {
    Key(key);
    Prefix();
    out_ += std::to_string(value);
  }
  void IntOrNull(std::string_view key, const std::optional<int64_t>& value) {
    if (value.has_value()) {
      Int(key, *value);
    } else {
      Null(key);
    }
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    Prefix();
    out_ += value ? "true" : "false";
  }
  void Null(std::string_view key) {
    Key(key);
    Prefix();
    out_ += "null";
  }
  // Serialized JSON, embedded as is; null when empty.
  void Raw(std::string_view key, std::string_view json) {
    if (json.empty()) {
      Null(key);
      return;
    }
    Key(key);
    Prefix();
    out_ += json;
  }
  void StrArray(std::string_view key, const std::vector<std::string>& values) {
    BeginArray(key);
    for (const std::string& v : values) StrValue(v);
    EndArray();
  }
  std::string Take() { return std::move(out_); }

 private:
  void Prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
  void Quote(std::string_view s) {
    out_.push_back('"');
    for (char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\b':
          out_ += "\\b";
          break;
        case '\f':
          out_ += "\\f";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
            out_ += buf;
          } else {
            out_.push_back(c);
          }
      }
    }
    out_.push_back('"');
  }

  std::string out_;
  std::vector<bool> first_;  // per open object/array: nothing written in it yet
  bool after_key_ = false;
};

void WritePool(JsonWriter& w, const PoolDescription& p) {
  w.BeginObject();
  w.Str("pool_id", p.pool_id);
  w.Str("placement", p.placement);
  w.Int("max_retry", p.max_retry);
  w.Int("alloc_ttl", p.alloc_ttl);
  w.Bool("disbanded", p.disbanded);
  w.Int("workers", p.workers);
  w.Int("capacity", p.capacity);
  w.Int("free", p.free);
  w.Int("pending_evals", p.pending_evals);
  w.Int("blocked_evals", p.blocked_evals);
  w.Int("live_allocs", p.live_allocs);
  w.Int("dead_letters", p.dead_letters);
  w.Str("owner", p.owner);
  w.EndObject();
}

void WriteWorker(JsonWriter& w, const WorkerDescription& d) {
  w.BeginObject();
  w.Str("pool_id", d.pool_id);
  w.Str("worker_id", d.worker_id);
  w.Int("capacity", d.capacity);
  w.Int("free", d.free);
  w.Int("ttl", d.ttl);
  w.Bool("draining", d.draining);
  w.StrArray("datasets", d.datasets);
  w.StrArray("allocs", d.allocs);
  w.EndObject();
}

void WriteEval(JsonWriter& w, const EvalDescription& e) {
  w.BeginObject();
  w.Str("pool_id", e.pool_id);
  w.Str("eval_id", e.eval_id);
  w.Str("state", e.state);
  w.Str("dataset_id", e.dataset_id);
  w.Int("size", e.size);
  w.Raw("payload", e.payload);
  w.Int("attempt", e.attempt);
  w.StrOrNull("alloc_id", e.alloc_id);
  w.StrOrNull("worker_id", e.worker_id);
  w.IntOrNull("exit_code", e.exit_code);
  w.Raw("result", e.result);
  w.BeginArray("history");
  for (const HistoryEntry& h : e.history) {
    w.BeginObject();
    w.Str("alloc_id", h.alloc_id);
    w.Str("worker_id", h.worker_id);
    w.Bool("locality", h.locality);
    w.IntOrNull("ended", h.ended);
    w.StrOrNull("reason", h.reason);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteAlloc(JsonWriter& w, const AllocDescription& a) {
  w.BeginObject();
  w.Str("pool_id", a.pool_id);
  w.Str("alloc_id", a.alloc_id);
  w.Str("worker_id", a.worker_id);
  w.Str("eval_id", a.eval_id);
  w.Str("dataset_id", a.dataset_id);
  w.Int("size", a.size);
  w.Int("ttl", a.ttl);
  w.Str("state", a.state);
  w.Bool("locality", a.locality);
  w.EndObject();
}

// {"<key>":[items...]} plus "next_token" when more remain.
template <typename T, typename WriteItem>
std::string EncodeList(std::string_view key, const std::vector<T>& items,
                       const std::string& next_token, WriteItem write_item) {
  JsonWriter w;
  w.BeginObject();
  w.BeginArray(key);
  for (const T& item : items) write_item(w, item);
  w.EndArray();
  if (!next_token.empty()) w.Str("next_token", next_token);
  w.EndObject();
  return w.Take();
}

}  // namespace

std::string EncodeError(const Status& status) {
  JsonWriter w;
  w.BeginObject();
  w.Str("message", status.message());
  w.Str("code", CodeName(status.code()));
  w.EndObject();
  return w.Take();
}

std::string EncodeHealthy() { return R"({"status":"ok"})"; }

std::string EncodeJson(const Empty&) { return "{}"; }

std::string EncodeJson(const CreatePoolResponse& r) {
  JsonWriter w;
  w.BeginObject();
  w.Str("pool_id", r.pool_id);
  w.EndObject();
  return w.Take();
}

std::string EncodeJson(const RegisterWorkerResponse& r) {
  JsonWriter w;
  w.BeginObject();
  w.Str("pool_id", r.pool_id);
  w.Str("worker_id", r.worker_id);
  w.Str("queue_url", r.queue_url);
  w.Int("capacity", r.capacity);
  w.Int("worker_ttl", r.worker_ttl);
  w.Int("replica_ttl", r.replica_ttl);
  w.Int("alloc_ttl", r.alloc_ttl);
  w.EndObject();
  return w.Take();
}

std::string EncodeJson(const HeartbeatResponse& r) {
  JsonWriter w;
  w.BeginObject();
  w.StrArray("unknown_allocs", r.unknown_allocs);
  w.EndObject();
  return w.Take();
}

std::string EncodeJson(const ScheduleEvalResponse& r) {
  JsonWriter w;
  w.BeginObject();
  w.Str("eval_id", r.eval_id);
  w.EndObject();
  return w.Take();
}

std::string EncodeJson(const ScheduleEvalsResponse& r) {
  JsonWriter w;
  w.BeginObject();
  w.StrArray("eval_ids", r.eval_ids);
  w.EndObject();
  return w.Take();
}

std::string EncodeJson(const ReceiveAllocsResponse& r) {
  return EncodeList("allocs", r.allocs, "", [](JsonWriter& w, const ReceivedAlloc& a) {
    w.BeginObject();
    w.Str("pool_id", a.pool_id);
    w.Str("alloc_id", a.alloc_id);
    w.Str("worker_id", a.worker_id);
    w.Str("eval_id", a.eval_id);
    w.Str("dataset_id", a.dataset_id);
    w.Int("size", a.size);
    w.Raw("payload", a.payload);
    w.Int("attempt", a.attempt);
    w.EndObject();
  });
}

std::string EncodeJson(const PoolDescription& r) {
  JsonWriter w;
  WritePool(w, r);
  return w.Take();
}

std::string EncodeJson(const ListPoolsResponse& r) {
  return EncodeList("pools", r.pools, r.next_token, WritePool);
}

std::string EncodeJson(const WorkerDescription& r) {
  JsonWriter w;
  WriteWorker(w, r);
  return w.Take();
}

std::string EncodeJson(const ListWorkersResponse& r) {
  return EncodeList("workers", r.workers, r.next_token, WriteWorker);
}

std::string EncodeJson(const EvalDescription& r) {
  JsonWriter w;
  WriteEval(w, r);
  return w.Take();
}

std::string EncodeJson(const ListEvalsResponse& r) {
  return EncodeList("evals", r.evals, r.next_token, WriteEval);
}

std::string EncodeJson(const AllocDescription& r) {
  JsonWriter w;
  WriteAlloc(w, r);
  return w.Take();
}

std::string EncodeJson(const ListAllocsResponse& r) {
  return EncodeList("allocs", r.allocs, r.next_token, WriteAlloc);
}

std::string EncodeJson(const ListDeadLettersResponse& r) {
  return EncodeList("dead_letters", r.dead_letters, r.next_token,
                    [](JsonWriter& w, const DeadLetterDescription& d) {
                      w.BeginObject();
                      w.Str("pool_id", d.pool_id);
                      w.Str("eval_id", d.eval_id);
                      w.Str("dataset_id", d.dataset_id);
                      w.Int("size", d.size);
                      w.Raw("payload", d.payload);
                      w.Int("attempts", d.attempts);
                      w.Str("reason", d.reason);
                      w.EndObject();
                    });
}

std::string EncodeJson(const RedriveResponse& r) {
  JsonWriter w;
  w.BeginObject();
  w.Int("redriven", r.redriven);
  w.EndObject();
  return w.Take();
}

}  // namespace line
