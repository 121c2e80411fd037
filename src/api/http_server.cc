#include "api/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/status_http.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace line {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// After an error response that left request bytes unread, how long to keep reading (and
// discarding) them so that closing does not reset the connection before the client has read
// the response.
constexpr auto kLingerTimeout = std::chrono::seconds(1);
// How often connections are checked against their deadlines (so a timeout may run this much
// late). One timer for the server instead of one armed and cancelled around every read and
// write: that was 5-10 % of a core at 10,000 heartbeats/s (docs/performance.md).
constexpr auto kDeadlineSweep = std::chrono::milliseconds(250);
// A connection keeps its last response body's buffer for the next response up to this size.
constexpr size_t kKeptResponseBytes = 64 * 1024;

// Shared by the server and every Responder. While `open`, the io_context is alive and posting
// to it is allowed; Stop() closes it before stopping the io_context, so a Responder called late
// (even after the server is destroyed) does nothing.
struct Gate {
  std::mutex mu;
  bool open = true;
};

// The Gate of the server whose io thread this is; nullptr on every other thread.
thread_local const Gate* io_thread_gate = nullptr;

// `text` cut to 200 bytes of printable ASCII, for echoing client input in an error message
// (which must stay valid UTF-8 inside its JSON string).
std::string Printable(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

// Splits "host:port" / "[v6]:port" into an endpoint.
Result<tcp::endpoint> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidInput("listen address must be host:port, got \"" + listen + "\"");
  }
  std::string host = listen.substr(0, colon);
  std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      port_text.find_first_not_of("0123456789") == std::string::npos) {
    port = std::stoi(port_text);
  }
  if (port < 0 || port > 65535) {
    return Status::InvalidInput("listen port must be 0 to 65535, got \"" + listen + "\"");
  }
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return Status::InvalidInput("listen host must be an IP address or localhost, got \"" + listen +
                                "\"");
  }
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

}  // namespace

class Session;

// The server's state, shared with its sessions (which cannot name the private HttpServer::Impl,
// so Impl derives from this). Fields are grouped by who may touch them, as marked.
struct ServerCore {
  explicit ServerCore(HttpServerOptions o) : options(std::move(o)) {}

  struct Route {
    std::string method;
    Handler handler;
  };

  void DoAccept();
  // Closes the connections past their deadline, then comes back after kDeadlineSweep.
  void SweepDeadlines();
  void OnAccept(boost::system::error_code ec, tcp::socket socket);
  // Adds a new session to the registry; false once stopping (the caller then closes it).
  bool Register(const std::shared_ptr<Session>& session);
  void Unregister(uint64_t id);

  // Constant after Start().
  const HttpServerOptions options;
  std::map<std::string, Route, std::less<>> routes;

  // Declared first among the Asio objects so that it is destroyed last: sockets and timers
  // must go before their io_context.
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::strand<asio::io_context::executor_type> accept_strand = asio::make_strand(ioc);
  tcp::acceptor acceptor{accept_strand};
  asio::steady_timer accept_retry{accept_strand};
  asio::steady_timer deadline_sweep{accept_strand};
  // accept strand only: deadlines are enforced until the io threads stop, so that a client
  // that stops reading cannot hold Stop() for its whole shutdown_timeout.
  bool sweeping = true;
  uint64_t next_session_id = 1;  // acceptor strand only
  std::vector<std::thread> threads;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  int port = 0;
  bool started = false;  // controlling thread only
  bool stopped = false;  // controlling thread only

  std::mutex mu;
  std::condition_variable sessions_empty;
  bool stopping = false;                                            // guarded by mu
  std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions;  // guarded by mu
};

// One connection. Everything but the Responder runs on the connection's strand (with one I/O
// thread, on that thread), so the state needs no lock; only the deadline is read by the sweep.
// Owned by the server's registry while open, and by its pending operations.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore* server, uint64_t id, tcp::socket socket)
      : server_(server), id_(id), stream_(std::move(socket)) {}

  using SteadyClock = std::chrono::steady_clock;

  // Past its deadline (read by the server's sweep, from another thread).
  bool Overdue(SteadyClock::time_point now) const {
    return deadline_ns_.load(std::memory_order_relaxed) < now.time_since_epoch().count();
  }
  // The sweep found it overdue: on the strand, close it unless it moved on meanwhile.
  void OnOverdue() {
    if (Overdue(SteadyClock::now())) Close();
  }

  void Start() {
    if (!server_->Register(shared_from_this())) {
      boost::system::error_code ec;
      stream_.close(ec);
      state_ = State::kClosed;
      return;
    }
    DoRead();
  }

  // The server is stopping: an idle connection closes now, a busy one after its response.
  void OnServerStop() {
    stopping_ = true;
    if (state_ == State::kReading) Close();
  }

  // Shutdown ran out of patience: close whatever the state.
  void ForceClose() { Close(); }

  // Writes the response to the request being handled (from a Responder, on the strand).
  void Deliver(HttpResponse response) {
    if (state_ != State::kHandling) return;  // closed meanwhile
    state_ = State::kWriting;
    bool keep_alive = keep_alive_ && !stopping_ && !close_after_response_;
    if (response.content_type == "application/json" &&
        (response.body.empty() || response.body.back() != '\n')) {
      response.body.push_back('\n');
    }
    response_body_ = std::move(response.body);
    FormatHead(response.status, response.content_type, keep_alive);
    SetDeadline(server_->options.write_timeout);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(response_head_),
                                              asio::buffer(response_body_)};
    asio::async_write(stream_, buffers,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->OnWrite(keep_alive, ec);
                      });
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }
  uint64_t id() const { return id_; }

 private:
  enum class State { kReading, kHandling, kWriting, kClosed };

  // Calls Session::Deliver through the strand, at most once; answers 500 if dropped uncalled.
  struct ResponderState {
    std::weak_ptr<Session> session;
    std::shared_ptr<Gate> gate;
    std::atomic<bool> called{false};

    ~ResponderState() {
      if (called.load()) return;
      {
        // After Stop() nobody is waiting: no 500 to send, and nothing worth logging.
        std::lock_guard<std::mutex> lock(gate->mu);
        if (!gate->open) return;
      }
      Send(ErrorResponse(Status::Internal("the request was dropped without a response"),
                         "responder"));
    }
    void Send(HttpResponse response) {
      if (called.exchange(true)) return;
      if (io_thread_gate == gate.get()) {
        // On one of the server's own io threads its io_context is running, so no lock is
        // needed to use it; and on the session's thread (an answer the handler had at once,
        // such as a heartbeat the renewal gate covers) the response is written at once.
        std::shared_ptr<Session> s = session.lock();
        if (s == nullptr) return;
        asio::dispatch(s->executor(), [s, response = std::move(response)]() mutable {
          s->Deliver(std::move(response));
        });
        return;
      }
      std::lock_guard<std::mutex> lock(gate->mu);
      if (!gate->open) return;
      std::shared_ptr<Session> s = session.lock();
      if (s == nullptr) return;
      asio::post(s->executor(), [s, response = std::move(response)]() mutable {
        s->Deliver(std::move(response));
      });
    }
  };

  void DoRead() {
    if (stopping_) {
      Close();
      return;
    }
    state_ = State::kReading;
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    SetDeadline(server_->options.idle_timeout);  // for the whole request to arrive
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnReadHeader(ec); });
  }

  void OnReadHeader(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) {
      OnReadError(ec);
      return;
    }
    // curl and others wait (up to a second) for "100 Continue" before sending a larger body.
    auto expect = parser_->get().find(http::field::expect);
    if (expect != parser_->get().end() && beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (self->state_ == State::kClosed) return;
                          if (ec) {
                            self->Close();
                            return;
                          }
                          self->ReadBody();
                        });
      return;
    }
    // Most requests arrive whole, their body in the same segment as their header: parse it
    // from the buffer here rather than start another read operation to find it there.
    while (!parser_->is_done() && buffer_.size() > 0) {
      beast::error_code put_ec;
      const size_t used = parser_->put(buffer_.data(), put_ec);
      buffer_.consume(used);
      if (put_ec == http::error::need_more) break;
      if (put_ec) {
        OnReadError(put_ec);
        return;
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) {
      OnRead({});
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      Reject(Status(Code::kPayloadTooLarge, "request body is larger than the limit of " +
                                                std::to_string(server_->options.max_body_bytes) +
                                                " bytes"));
    } else if (&ec.category() == &http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      Reject(Status::InvalidInput("malformed HTTP request: " + ec.message()));
    } else {
      Close();  // the client left, timed out, or the server is closing the connection
    }
  }

  // Answers a request that could not be read whole, then closes the connection.
  void Reject(Status status) {
    state_ = State::kHandling;
    close_after_response_ = true;
    Deliver(ErrorResponse(status, "http"));
  }

  void OnRead(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) {
      OnReadError(ec);
      return;
    }
    state_ = State::kHandling;
    ClearDeadline();  // a long-poll may take its time; the write has its own deadline
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpRequest request;
    request.method = std::string(req.method_string());
    std::string_view target = req.target();
    request.path = std::string(target.substr(0, target.find('?')));
    request.body = std::move(req.body());
    parser_.reset();

    auto route = server_->routes.find(request.path);
    if (route == server_->routes.end()) {
      Deliver(ErrorResponse(Status(Code::kNotFound, "no such path: " + Printable(request.path)),
                            "http"));
      return;
    }
    if (route->second.method != request.method) {
      Deliver(ErrorResponse(
          Status(Code::kMethodNotAllowed,
                 request.path + " takes " + route->second.method + ", got " +
                     Printable(request.method)),
          "http"));
      return;
    }
    auto state = std::make_shared<ResponderState>();
    state->session = weak_from_this();
    state->gate = server_->gate;
    Responder respond = [state](HttpResponse response) { state->Send(std::move(response)); };
    try {
      route->second.handler(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      // Handlers report errors through the Responder; an exception here is a bug.
      state->Send(ErrorResponse(Status::Internal(e.what()), route->first));
    }
  }

  void OnWrite(bool keep_alive, beast::error_code ec) {
    // A large answer (a page of evals with their payloads) is not kept for the next one.
    if (response_body_.capacity() > kKeptResponseBytes) std::string().swap(response_body_);
    if (state_ == State::kClosed) return;
    if (ec) {
      Close();
      return;
    }
    if (close_after_response_) {
      Linger();
      return;
    }
    if (!keep_alive) {
      Close();
      return;
    }
    DoRead();
  }

  // Half-closes, then discards what the client still sends until it closes or kLingerTimeout.
  void Linger() {
    beast::error_code ec;
    stream_.shutdown(tcp::socket::shutdown_send, ec);
    SetDeadline(kLingerTimeout);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->state_ == State::kClosed) {
                                self->Close();
                                return;
                              }
                              self->Drain();
                            });
  }

  // The status line and headers of the response in response_body_, into response_head_: the
  // same bytes Beast's serializer wrote for these fields, without building a fields container
  // per response (its allocations were a visible part of the HTTP thread's time).
  void FormatHead(int status, const std::string& content_type, bool keep_alive) {
    response_head_.clear();
    response_head_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    response_head_ += std::to_string(status);
    response_head_ += ' ';
    response_head_ += std::string_view(http::obsolete_reason(static_cast<http::status>(status)));
    response_head_ += "\r\nServer: line\r\nContent-Type: ";
    response_head_ += content_type;
    response_head_ += "\r\nContent-Length: ";
    response_head_ += std::to_string(response_body_.size());
    // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
    if (version_ >= 11 && !keep_alive) response_head_ += "\r\nConnection: close";
    if (version_ < 11 && keep_alive) response_head_ += "\r\nConnection: keep-alive";
    response_head_ += "\r\n\r\n";
  }

  // Timeouts: a deadline per connection, enforced by the server's sweep (SweepDeadlines).
  void SetDeadline(SteadyClock::duration timeout) {
    deadline_ns_.store((SteadyClock::now() + timeout).time_since_epoch().count(),
                       std::memory_order_relaxed);
  }
  void ClearDeadline() {
    deadline_ns_.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    beast::error_code ec;
    stream_.shutdown(tcp::socket::shutdown_both, ec);
    stream_.close(ec);
    server_->Unregister(id_);
  }

  ServerCore* const server_;  // outlives every open session (Stop() waits for them)
  const uint64_t id_;
  tcp::socket stream_;
  std::atomic<int64_t> deadline_ns_{std::numeric_limits<int64_t>::max()};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string response_head_;  // the response being written: head, then body
  std::string response_body_;
  State state_ = State::kReading;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool stopping_ = false;
  bool close_after_response_ = false;
  std::array<char, 16 * 1024> drain_{};
};

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

void ServerCore::DoAccept() {
  // With one I/O thread everything already runs in order on it: a strand per connection
  // would only add a hop to every completion.
  asio::any_io_executor executor = options.io_threads <= 1
                                       ? asio::any_io_executor(ioc.get_executor())
                                       : asio::any_io_executor(asio::make_strand(ioc));
  acceptor.async_accept(executor,
                        [this](boost::system::error_code ec, tcp::socket socket) {
                          OnAccept(ec, std::move(socket));
                        });
}

void ServerCore::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (!acceptor.is_open() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Typically out of file descriptors: back off instead of spinning on the error.
    spdlog::warn("http accept failed: {}", ec.message());
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec && acceptor.is_open()) DoAccept();
    });
    return;
  }
  boost::system::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  auto session = std::make_shared<Session>(this, next_session_id++, std::move(socket));
  asio::dispatch(session->executor(), [session] { session->Start(); });
  DoAccept();
}

void ServerCore::SweepDeadlines() {
  std::vector<std::shared_ptr<Session>> overdue;
  {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [id, session] : sessions) {
      if (session->Overdue(now)) overdue.push_back(session);
    }
  }
  for (auto& session : overdue) {
    asio::post(session->executor(), [session] { session->OnOverdue(); });
  }
  deadline_sweep.expires_after(kDeadlineSweep);
  deadline_sweep.async_wait([this](boost::system::error_code ec) {
    if (!ec && sweeping) SweepDeadlines();
  });
}

bool ServerCore::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard<std::mutex> lock(mu);
  if (stopping) return false;
  sessions.emplace(session->id(), session);
  return true;
}

void ServerCore::Unregister(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  sessions.erase(id);
  if (sessions.empty()) sessions_empty.notify_all();
}

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string_view method, std::string path, Handler handler) {
  impl_->routes[std::move(path)] = ServerCore::Route{std::string(method), std::move(handler)};
}

int HttpServer::port() const { return impl_->port; }

Status HttpServer::Start() {
  Impl& s = *impl_;
  if (s.started) return Status::Internal("HttpServer started twice");
  LINE_ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseListen(s.options.listen));
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    return Status::Unavailable(std::string("cannot ") + what + " " + s.options.listen + ": " +
                               ec.message());
  };
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set options to listen on");
  s.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  s.port = s.acceptor.local_endpoint(ec).port();
  s.started = true;
  s.work.emplace(asio::make_work_guard(s.ioc));
  asio::post(s.accept_strand, [&s] {
    s.DoAccept();
    s.SweepDeadlines();
  });
  int n = std::max(1, s.options.io_threads);
  for (int i = 0; i < n; ++i) s.threads.emplace_back([&s] {
      NameThisThread("line-http");
      io_thread_gate = s.gate.get();
      s.ioc.run();
      io_thread_gate = nullptr;
    });
  return Status::Ok();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  if (!s.started) return;

  // 1. Stop accepting; wait until the acceptor is closed so no session starts after this.
  std::promise<void> acceptor_closed;
  asio::post(s.accept_strand, [&s, &acceptor_closed] {
    boost::system::error_code ec;
    s.acceptor.close(ec);
    s.accept_retry.cancel();
    acceptor_closed.set_value();
  });
  acceptor_closed.get_future().wait();

  // 2. Close idle connections; busy ones close after their response.
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.stopping = true;
    for (auto& [id, session] : s.sessions) open.push_back(session);
  }
  for (auto& session : open) {
    asio::post(session->executor(), [session] { session->OnServerStop(); });
  }
  open.clear();

  // 3. Wait for in-flight requests, then give up on the rest.
  {
    std::unique_lock<std::mutex> lock(s.mu);
    if (!s.sessions_empty.wait_for(lock, s.options.shutdown_timeout,
                                   [&s] { return s.sessions.empty(); })) {
      spdlog::warn("http shutdown: closing {} connections with requests still in flight",
                   s.sessions.size());
      for (auto& [id, session] : s.sessions) open.push_back(session);
    }
  }
  for (auto& session : open) {
    asio::post(session->executor(), [session] { session->ForceClose(); });
  }
  open.clear();
  {
    // ForceClose runs promptly on the io threads; the bound only guards against a handler
    // that never returns.
    std::unique_lock<std::mutex> lock(s.mu);
    s.sessions_empty.wait_for(lock, std::chrono::seconds(5), [&s] { return s.sessions.empty(); });
  }

  // 4. Stop enforcing deadlines; no Responder may post from here on; then stop the io
  // threads.
  std::promise<void> sweep_stopped;
  asio::post(s.accept_strand, [&s, &sweep_stopped] {
    s.sweeping = false;
    s.deadline_sweep.cancel();
    sweep_stopped.set_value();
  });
  sweep_stopped.get_future().wait();
  {
    std::lock_guard<std::mutex> lock(s.gate->mu);
    s.gate->open = false;
  }
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  std::lock_guard<std::mutex> lock(s.mu);
  s.sessions.clear();
}

}  // namespace line
