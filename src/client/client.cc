#include "line/client/client.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "client/codec.h"
#include "client/http_connection.h"

namespace line::client {
namespace {

using internal::Connection;
using internal::HttpAnswer;
using internal::SteadyClock;
using internal::TransportError;

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng;
}

// 32 random hex characters: unique enough that two evals never share one by chance.
std::string RandomKey() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key = "libline-";
  for (int i = 0; i < 2; ++i) {
    uint64_t bits = Rng()();
    for (int j = 0; j < 16; ++j, bits >>= 4) key += kHex[bits & 15];
  }
  return key;
}

struct ServerAddress {
  std::string url;  // normalized "http://host:port"
  std::string host;
  std::string port;
  std::string error;  // non-empty when the address is unusable
};

ServerAddress ParseServer(std::string server) {
  ServerAddress a;
  if (server.empty()) {
    const char* env = std::getenv("LINE_SERVER");
    server = env != nullptr && *env != '\0' ? env : DefaultServer();
  }
  std::string_view s = server;
  if (s.substr(0, 7) == "http://") {
    s.remove_prefix(7);
  } else if (s.find("://") != std::string_view::npos) {
    a.error = "server address must be http://host:port, got " + server;
    return a;
  }
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  std::string_view host = s;
  std::string_view port = "80";
  if (!s.empty() && s.front() == '[') {  // [v6]:port
    size_t close = s.find(']');
    if (close == std::string_view::npos) {
      a.error = "bad server address " + server;
      return a;
    }
    host = s.substr(1, close - 1);
    if (s.size() > close + 1 && s[close + 1] == ':') port = s.substr(close + 2);
  } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty() || port.empty() || host.find('/') != std::string_view::npos ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    a.error = "bad server address " + server + " (want http://host:port)";
    return a;
  }
  a.host = host;
  a.port = port;
  bool v6 = a.host.find(':') != std::string::npos;
  a.url = "http://" + (v6 ? "[" + a.host + "]" : a.host) + ":" + a.port;
  return a;
}

}  // namespace

std::string DefaultServer() { return "http://127.0.0.1:8080"; }

// Thread-safe: the idle-connection pool is guarded by mu_; everything else is constant after
// construction. A call holds its connection exclusively and returns it only after a complete
// answer that allows keep-alive.
class Client::Impl {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)), address_(ParseServer(options_.server)) {
    host_header_ = address_.url.empty() ? std::string() : address_.url.substr(7);
  }

  const ClientOptions& options() const { return options_; }
  const std::string& server() const { return address_.url; }

  // One call with retries. On 200 returns the body; otherwise the Error. `*sent_again` (when
  // given) tells whether the request went out more than once: a retry, or the silent re-send
  // after a reused connection closed. Either way an earlier send may have been processed.
  Result<std::string> Do(std::string_view method, std::string_view path, std::string_view body,
                         std::chrono::milliseconds timeout, bool* sent_again = nullptr) {
    if (sent_again != nullptr) *sent_again = false;
    if (!address_.error.empty()) return Error{0, std::string(kInvalidInput), address_.error, 0};
    // Built once: every retry sends these very bytes (the same idempotency keys included).
    std::string request = BuildRequest(method, path, body);
    const auto start = SteadyClock::now();
    int attempts = 0;
    for (;;) {
      ++attempts;
      HttpAnswer answer;
      std::string transport_error;
      bool resent = false;
      bool answered = Attempt(request, timeout, &answer, &transport_error, &resent);
      if (sent_again != nullptr && (attempts > 1 || resent)) *sent_again = true;
      Error error;
      if (answered) {
        if (answer.status == 200) return std::move(answer.body);
        error = ErrorOf(answer);
      } else {
        error = Error{
            0, std::string(kUnreachable),
            std::string(method) + " " + address_.url + std::string(path) + ": " + transport_error,
            0};
      }
      error.attempts = attempts;
      // Only "no answer" and 503 may succeed when asked again; a 4xx never will.
      bool retryable = !answered || answer.status == 503;
      if (!retryable || attempts >= options_.max_attempts) return error;
      auto backoff = Backoff(attempts);
      auto budget_left = std::chrono::duration_cast<std::chrono::milliseconds>(
          start + options_.retry_budget - SteadyClock::now());
      if (budget_left <= std::chrono::milliseconds::zero()) return error;
      // Backing off is the point here: the server needs time to come back.
      std::this_thread::sleep_for(std::min(backoff, budget_left));
    }
  }

  template <typename T>
  Result<T> Typed(std::string_view path, const Result<std::string>& body,
                  std::chrono::milliseconds timeout) {
    if (!body.ok()) return body.error();
    Result<std::string> answer = Do("POST", path, *body, timeout);
    return DecodeAnswer<T>(answer);
  }

  template <typename T>
  static Result<T> DecodeAnswer(const Result<std::string>& answer) {
    if (!answer.ok()) return answer.error();
    T out;
    std::string error;
    if (!internal::Decode(*answer, &out, &error)) {
      return Error{200, std::string(kBadResponse), error, 1};
    }
    return out;
  }

 private:
  std::string BuildRequest(std::string_view method, std::string_view path,
                           std::string_view body) const {
    std::string r;
    r.reserve(body.size() + 160);
    r.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
    r.append(host_header_).append("\r\nUser-Agent: libline/0.1\r\nAccept: application/json\r\n");
    if (method != "GET") {
      r.append("Content-Type: application/json\r\nContent-Length: ");
      r.append(std::to_string(body.size())).append("\r\n");
    }
    r.append("\r\n").append(body);
    return r;
  }

  // One attempt: on a pooled connection (once more on a fresh one when the pooled connection
  // turns out to have been closed by the server while idle) or a new one.
  // `*resent` is set when the request went out a second time within this attempt.
  bool Attempt(const std::string& request, std::chrono::milliseconds timeout, HttpAnswer* answer,
               std::string* error, bool* resent) {
    const auto deadline = SteadyClock::now() + timeout;
    for (bool first = true;; first = false) {
      if (!first) *resent = true;
      std::unique_ptr<Connection> conn = TakeIdle();
      if (conn == nullptr) {
        conn = Connection::Open(address_.host, address_.port, deadline, error);
        if (conn == nullptr) return false;
      }
      bool reused = conn->reused();
      TransportError failure = conn->RoundTrip(request, deadline, answer, error);
      if (failure == TransportError::kNone) {
        if (answer->keep_alive) GiveBack(std::move(conn));
        return true;
      }
      if (failure == TransportError::kTimeout) {
        *error = "no answer within " + std::to_string(timeout.count()) + " ms";
      }
      // Most likely the server closed the idle connection and never saw the request: send it
      // again at once, not counted as a retry. (It may have seen it after all, so *resent.)
      if (!(reused && failure == TransportError::kClosedBeforeAnswer)) return false;
    }
  }

  std::unique_ptr<Connection> TakeIdle() {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.empty()) return nullptr;
    std::unique_ptr<Connection> conn = std::move(idle_.back());  // most recent: least stale
    idle_.pop_back();
    return conn;
  }

  void GiveBack(std::unique_ptr<Connection> conn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(idle_.size()) < options_.max_idle_connections) {
      idle_.push_back(std::move(conn));
    }
  }

  std::chrono::milliseconds Backoff(int attempts) const {
    auto cap = options_.initial_backoff;
    for (int i = 1; i < attempts && cap < options_.max_backoff; ++i) cap *= 2;
    cap = std::min(cap, options_.max_backoff);
    if (cap <= std::chrono::milliseconds::zero()) return std::chrono::milliseconds::zero();
    std::uniform_int_distribution<int64_t> pick(0, cap.count());
    return std::chrono::milliseconds(pick(Rng()));
  }

  static Error ErrorOf(const HttpAnswer& answer) {
    Error e;
    e.http_status = answer.status;
    if (!internal::DecodeError(answer.body, &e.code, &e.message)) {
      e.code = std::string(kBadResponse);
      e.message = "HTTP " + std::to_string(answer.status) + ": " + answer.body.substr(0, 200);
    }
    return e;
  }

  const ClientOptions options_;
  const ServerAddress address_;
  std::string host_header_;

  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

const std::string& Client::server() const { return impl_->server(); }
const ClientOptions& Client::options() const { return impl_->options(); }

Result<CreatePoolResponse> Client::CreatePool(const CreatePoolRequest& request) {
  return impl_->Typed<CreatePoolResponse>("/CreatePool", ToJson(request), options().timeout);
}
Result<RegisterWorkerResponse> Client::RegisterWorker(const RegisterWorkerRequest& request) {
  return impl_->Typed<RegisterWorkerResponse>("/RegisterWorker", ToJson(request),
                                              options().timeout);
}
Result<Empty> Client::DisbandPool(const DisbandPoolRequest& request) {
  return impl_->Typed<Empty>("/DisbandPool", ToJson(request), options().timeout);
}
Result<SendHeartbeatResponse> Client::SendHeartbeat(const SendHeartbeatRequest& request) {
  return impl_->Typed<SendHeartbeatResponse>("/SendHeartbeat", ToJson(request), options().timeout);
}
Result<ScheduleEvalResponse> Client::ScheduleEval(const ScheduleEvalRequest& request) {
  if (options().auto_idempotency_keys && request.idempotency_key.empty()) {
    ScheduleEvalRequest keyed = request;
    keyed.idempotency_key = RandomKey();
    return impl_->Typed<ScheduleEvalResponse>("/ScheduleEval", ToJson(keyed), options().timeout);
  }
  return impl_->Typed<ScheduleEvalResponse>("/ScheduleEval", ToJson(request), options().timeout);
}
Result<ScheduleEvalsResponse> Client::ScheduleEvals(const ScheduleEvalsRequest& request) {
  bool missing = std::any_of(request.evals.begin(), request.evals.end(),
                             [](const EvalSpec& e) { return e.idempotency_key.empty(); });
  if (options().auto_idempotency_keys && missing) {
    ScheduleEvalsRequest keyed = request;
    for (EvalSpec& e : keyed.evals) {
      if (e.idempotency_key.empty()) e.idempotency_key = RandomKey();
    }
    return impl_->Typed<ScheduleEvalsResponse>("/ScheduleEvals", ToJson(keyed), options().timeout);
  }
  return impl_->Typed<ScheduleEvalsResponse>("/ScheduleEvals", ToJson(request), options().timeout);
}
Result<Empty> Client::CompleteAlloc(const CompleteAllocRequest& request,
                                    const CompleteAllocOptions& call) {
  Result<std::string> body = ToJson(request);
  if (!body.ok()) return body.error();
  bool sent_again = false;
  Result<std::string> answer =
      impl_->Do("POST", "/CompleteAlloc", *body, options().timeout, &sent_again);
  if (answer.ok() || answer.error().http_status != 409 ||
      answer.error().code != "AllocAlreadyEnded" || !(sent_again || call.earlier_call_unanswered)) {
    return Impl::DecodeAnswer<Empty>(answer);
  }
  // An earlier send may have committed this very completion: the alloc's state tells. Both a
  // successful and a failed completion leave it "completed"; an expiry (or a deregistration)
  // leaves it "expired".
  const Error& ended = answer.error();
  Result<DescribeAllocResponse> alloc =
      DescribeAlloc({.pool_id = request.pool_id, .alloc_id = request.alloc_id});
  if (alloc.ok()) {
    if (alloc->state == "completed") return Empty{};
    return ended;
  }
  const Error& check = alloc.error();
  if (check.http_status == 0 || check.http_status == 503) {
    // Still unknown whether this completion committed: say so, as for a lost answer.
    Error unknown = check;
    unknown.message = "CompleteAlloc of alloc_id " + request.alloc_id +
                      " answered 409 AllocAlreadyEnded, and checking whether an earlier send "
                      "committed it failed: DescribeAlloc: " +
                      check.message;
    unknown.attempts = ended.attempts;
    return unknown;
  }
  return ended;  // e.g. the pool is gone: the alloc had ended, no telling how
}
Result<ReceiveAllocsResponse> Client::ReceiveAllocs(const ReceiveAllocsRequest& request) {
  auto long_poll = std::chrono::seconds(std::max<int64_t>(0, request.wait_time_seconds)) +
                   options().long_poll_margin;
  return impl_->Typed<ReceiveAllocsResponse>(
      "/ReceiveAllocs", ToJson(request),
      std::max(options().timeout,
               std::chrono::duration_cast<std::chrono::milliseconds>(long_poll)));
}
Result<DescribePoolResponse> Client::DescribePool(const DescribePoolRequest& request) {
  return impl_->Typed<DescribePoolResponse>("/DescribePool", ToJson(request), options().timeout);
}
Result<ListPoolsResponse> Client::ListPools(const ListPoolsRequest& request) {
  return impl_->Typed<ListPoolsResponse>("/ListPools", ToJson(request), options().timeout);
}
Result<DescribeWorkerResponse> Client::DescribeWorker(const DescribeWorkerRequest& request) {
  return impl_->Typed<DescribeWorkerResponse>("/DescribeWorker", ToJson(request),
                                              options().timeout);
}
Result<ListWorkersResponse> Client::ListWorkers(const ListWorkersRequest& request) {
  return impl_->Typed<ListWorkersResponse>("/ListWorkers", ToJson(request), options().timeout);
}
Result<DescribeEvalResponse> Client::DescribeEval(const DescribeEvalRequest& request) {
  return impl_->Typed<DescribeEvalResponse>("/DescribeEval", ToJson(request), options().timeout);
}
Result<ListEvalsResponse> Client::ListEvals(const ListEvalsRequest& request) {
  return impl_->Typed<ListEvalsResponse>("/ListEvals", ToJson(request), options().timeout);
}
Result<DescribeAllocResponse> Client::DescribeAlloc(const DescribeAllocRequest& request) {
  return impl_->Typed<DescribeAllocResponse>("/DescribeAlloc", ToJson(request), options().timeout);
}
Result<ListAllocsResponse> Client::ListAllocs(const ListAllocsRequest& request) {
  return impl_->Typed<ListAllocsResponse>("/ListAllocs", ToJson(request), options().timeout);
}
Result<ListDeadLettersResponse> Client::ListDeadLetters(const ListDeadLettersRequest& request) {
  return impl_->Typed<ListDeadLettersResponse>("/ListDeadLetters", ToJson(request),
                                               options().timeout);
}
Result<RedriveDeadLettersResponse> Client::RedriveDeadLetters(
    const RedriveDeadLettersRequest& request) {
  return impl_->Typed<RedriveDeadLettersResponse>("/RedriveDeadLetters", ToJson(request),
                                                  options().timeout);
}
Result<Empty> Client::DrainWorker(const DrainWorkerRequest& request) {
  return impl_->Typed<Empty>("/DrainWorker", ToJson(request), options().timeout);
}
Result<Empty> Client::DeregisterWorker(const DeregisterWorkerRequest& request) {
  return impl_->Typed<Empty>("/DeregisterWorker", ToJson(request), options().timeout);
}

Result<HealthzResponse> Client::Healthz() {
  return Impl::DecodeAnswer<HealthzResponse>(impl_->Do("GET", "/healthz", "", options().timeout));
}

Result<std::string> Client::Call(std::string_view path, std::string_view json_body,
                                 std::optional<std::chrono::milliseconds> timeout) {
  Result<std::string> answer =
      impl_->Do("POST", path, json_body, timeout.value_or(options().timeout));
  if (answer.ok() && !answer->empty() && answer->back() == '\n') answer->pop_back();
  return answer;
}

}  // namespace line::client
