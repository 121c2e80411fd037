// The server is a plain epoll loop per io thread (decision 0016): per request one wake-up, one
// recv and one sendmsg, and no per-operation handler objects, strands or timers. Requests are
// parsed by Beast's parser (http_wire.h).
#include "api/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "api/http_wire.h"
#include "api/status_http.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace line {
namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// epoll tags: the listener, the loop's wake-up eventfd, then connection ids.
constexpr uint64_t kListenerTag = 0;
constexpr uint64_t kWakeTag = 1;
constexpr uint64_t kFirstConnectionId = 2;

// After an error response that left request bytes unread, how long to keep reading (and
// discarding) them so that closing does not reset the connection before the client has read
// the response.
constexpr auto kLingerTimeout = 1s;
// How often connections are checked against their deadlines (so a timeout may run this much
// late): one pass over a loop's connections instead of a timer armed around every read.
constexpr auto kDeadlineSweep = 250ms;
// Out of file descriptors: how long to stop accepting before trying again.
constexpr auto kAcceptBackoff = 100ms;
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;
// Accepts per wake-up, so that a burst of connections does not starve the open ones.
constexpr int kAcceptsPerWake = 64;

// `text` cut to 200 bytes of printable ASCII, for echoing client input in an error message
// (which must stay valid UTF-8 inside its JSON string).
std::string Printable(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

struct ListenAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

// Splits "host:port" / "[v6]:port" into a socket address.
Result<ListenAddress> ParseListen(const std::string& listen) {
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
  ListenAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    address.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    address.length = sizeof(sockaddr_in6);
  } else {
    return Status::InvalidInput("listen host must be an IP address or localhost, got \"" + listen +
                                "\"");
  }
  return address;
}

// Where Stop() has got to; every loop applies each step in order when woken.
enum class Phase : int {
  kRunning,
  kDraining,    // no more accepts; idle connections closed, busy ones after their response
  kClosingAll,  // shutdown_timeout passed: close everything
  kQuitting,    // leave the loop
};

// A response for a connection's request `serial`.
struct Delivery {
  uint64_t connection_id;
  uint64_t serial;
  HttpResponse response;
};

// Responses handed to one loop from other threads. Shared with every Responder, so that one
// called after the server stopped (or was destroyed) finds it closed and does nothing.
struct Inbox {
  std::mutex mu;
  bool open = true;                  // guarded by mu
  bool woken = false;                // guarded by mu: wake_fd has a wake-up not yet seen
  std::vector<Delivery> deliveries;  // guarded by mu
  int wake_fd = -1;                  // an eventfd the loop polls; closed with the last reference

  ~Inbox() {
    if (wake_fd >= 0) close(wake_fd);
  }
  // Call with mu held.
  void WakeLocked() {
    if (woken) return;
    woken = true;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd, &one, sizeof(one));
  }
};

// One client connection, owned by the loop that accepted it and touched only on its thread.
struct Connection {
  enum class State {
    kReading,    // waiting for (the rest of) a request
    kHandling,   // a handler has the request; its Responder has not answered yet
    kWriting,    // the response did not fit in the socket buffer: waiting to write the rest
    kLingering,  // after an error response: discarding input until the client closes
  };

  Connection(uint64_t id, int fd, size_t max_body_bytes)
      : id(id), fd(fd), reader(max_body_bytes) {}

  const uint64_t id;
  const int fd;
  State state = State::kReading;
  std::string in;  // received and not yet parsed
  HttpRequestReader reader;
  uint64_t serial = 0;  // the request being handled; a Responder names it
  std::string head;     // the response being written: head, then body
  std::string body;
  size_t sent = 0;  // bytes of head + body written
  uint32_t interest = EPOLLIN;
  SteadyClock::time_point deadline;
  int version = 11;
  bool keep_alive = true;
  bool continue_sent = false;
  bool close_after_response = false;  // an error response: linger, then close
  bool peer_closed = false;           // the client shut its sending side
};

}  // namespace

class Loop;

// The server's state shared with its loops (which cannot name the private HttpServer::Impl, so
// Impl derives from this).
struct ServerCore {
  explicit ServerCore(HttpServerOptions o) : options(std::move(o)) {}

  struct Route {
    std::string method;
    Handler handler;
  };

  // Wakes every loop to apply a new phase.
  void SetPhase(Phase p);
  // Counts a new connection; false once stopping (the caller then closes it).
  bool AddConnection();
  void RemoveConnection();

  // Constant after Start().
  const HttpServerOptions options;
  std::map<std::string, Route, std::less<>> routes;
  int listen_fd = -1;
  int port = 0;

  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::thread> threads;
  std::atomic<Phase> phase{Phase::kRunning};
  std::atomic<uint64_t> next_connection_id{kFirstConnectionId};
  bool started = false;  // controlling thread only
  bool stopped = false;  // controlling thread only

  std::mutex mu;
  std::condition_variable changed;  // on mu: a count below moved
  int open_connections = 0;         // guarded by mu
  int loops_draining = 0;           // guarded by mu: loops that stopped accepting
};

namespace {
// The loop running on this thread; nullptr elsewhere.
thread_local Loop* current_loop = nullptr;
}  // namespace

// One io thread's epoll set: the listener (shared by every loop, EPOLLEXCLUSIVE), the wake-up
// eventfd, and the connections this loop accepted. Level-triggered throughout, so one recv per
// readiness is enough and a request never costs the extra recv that finds the socket empty.
class Loop {
 public:
  explicit Loop(ServerCore* server)
      : inbox(std::make_shared<Inbox>()), server_(server), scratch_(new char[kReadChunk]) {}
  ~Loop() {
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  Status Init();
  void Run();

  // A response given on this loop's own thread: written once the current event is handled.
  void PushLocal(Delivery d) { local_.push_back(std::move(d)); }
  void Wake() {
    std::lock_guard<std::mutex> lock(inbox->mu);
    inbox->WakeLocked();
  }

  const std::shared_ptr<Inbox> inbox;

 private:
  void ApplyPhase(Phase phase);
  int TimeoutMs() const;
  void Accept();
  void ListenAgain();
  void TakeInbox();
  void RunLocal();
  void Deliver(Delivery d);
  void OnEvent(uint64_t id, uint32_t events);
  void OnReadable(Connection& c);

  // Each of these may close `c` (destroying it): those returning bool return whether `c` is
  // still open, and the caller must not touch it otherwise.
  void Pump(Connection& c);  // parses and dispatches what `c` has buffered
  bool Dispatch(Connection& c);
  void Reject(Connection& c, const Status& status);
  bool Respond(Connection& c, HttpResponse response);
  bool Flush(Connection& c);
  bool AfterWrite(Connection& c);
  void StartReading(Connection& c);
  void SetInterest(Connection& c, uint32_t interest);
  void Sweep();
  void Close(Connection& c);
  // Closes every connection `pred` picks (ids first: closing erases from the map).
  template <typename Pred>
  void CloseWhere(Pred pred) {
    std::vector<uint64_t> picked;
    for (auto& [id, c] : connections_) {
      if (pred(*c)) picked.push_back(id);
    }
    for (uint64_t id : picked) Close(*connections_.at(id));
  }
  void CloseAll();

  ServerCore* const server_;
  int epoll_fd_ = -1;
  boost::unordered_flat_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<Delivery> local_;
  std::unique_ptr<char[]> scratch_;  // recv buffer; what a connection keeps is copied out
  Phase applied_ = Phase::kRunning;
  bool listening_ = false;
  SteadyClock::time_point listen_again_at_ = SteadyClock::time_point::max();
  SteadyClock::time_point next_sweep_ = SteadyClock::now() + kDeadlineSweep;
};

namespace {

// Hands one request's response to its loop, at most once; answers 500 if dropped uncalled.
struct ResponderState {
  std::shared_ptr<Inbox> inbox;
  uint64_t connection_id = 0;
  uint64_t serial = 0;
  std::atomic<bool> called{false};

  ~ResponderState() {
    if (called.load(std::memory_order_relaxed)) return;
    {
      // After Stop() nobody is waiting: no 500 to send, and nothing worth logging.
      std::lock_guard<std::mutex> lock(inbox->mu);
      if (!inbox->open) return;
    }
    Send(ErrorResponse(Status::Internal("the request was dropped without a response"),
                       "responder"));
  }

  void Send(HttpResponse response) {
    if (called.exchange(true)) return;
    Delivery d{connection_id, serial, std::move(response)};
    if (current_loop != nullptr && current_loop->inbox.get() == inbox.get()) {
      // On the connection's own thread (a heartbeat answered at once): no lock, no wake-up.
      current_loop->PushLocal(std::move(d));
      return;
    }
    std::lock_guard<std::mutex> lock(inbox->mu);
    if (!inbox->open) return;
    inbox->deliveries.push_back(std::move(d));
    inbox->WakeLocked();
  }
};

}  // namespace

Status Loop::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::Unavailable(std::string("epoll_create1: ") + strerror(errno));
  inbox->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inbox->wake_fd < 0) return Status::Unavailable(std::string("eventfd: ") + strerror(errno));
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.u64 = kWakeTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, inbox->wake_fd, &wake) != 0) {
    return Status::Unavailable(std::string("epoll_ctl: ") + strerror(errno));
  }
  ListenAgain();
  if (!listening_) return Status::Unavailable(std::string("epoll_ctl: ") + strerror(errno));
  return Status::Ok();
}

void Loop::ListenAgain() {
  epoll_event listener{};
  // EPOLLEXCLUSIVE: a new connection wakes one loop, not all of them.
  listener.events = EPOLLIN | EPOLLEXCLUSIVE;
  listener.data.u64 = kListenerTag;
  listening_ = epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, server_->listen_fd, &listener) == 0;
  listen_again_at_ = SteadyClock::time_point::max();
}

void Loop::Run() {
  current_loop = this;
  std::vector<epoll_event> events(kMaxEvents);
  for (;;) {
    const Phase phase = server_->phase.load(std::memory_order_acquire);
    if (phase != applied_) {
      ApplyPhase(phase);
      if (phase == Phase::kQuitting) break;
    }
    const int n = epoll_wait(epoll_fd_, events.data(), kMaxEvents, TimeoutMs());
    if (n < 0 && errno != EINTR) {
      spdlog::error("http: epoll_wait failed: {}", strerror(errno));
      std::this_thread::sleep_for(10ms);  // not expected; never spin on it
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenerTag) {
        Accept();
      } else if (tag == kWakeTag) {
        TakeInbox();
      } else {
        OnEvent(tag, events[i].events);
      }
      RunLocal();
    }
    const auto now = SteadyClock::now();
    if (now >= next_sweep_) Sweep();
    if (now >= listen_again_at_ && applied_ == Phase::kRunning) ListenAgain();
  }
  CloseAll();
  local_.clear();
  current_loop = nullptr;
}

void Loop::ApplyPhase(Phase phase) {
  if (applied_ < Phase::kDraining && phase >= Phase::kDraining) {
    if (listening_) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, server_->listen_fd, nullptr);
    listening_ = false;
    listen_again_at_ = SteadyClock::time_point::max();
    CloseWhere([](const Connection& c) { return c.state == Connection::State::kReading; });
    std::lock_guard<std::mutex> lock(server_->mu);
    ++server_->loops_draining;
    server_->changed.notify_all();
  }
  if (applied_ < Phase::kClosingAll && phase >= Phase::kClosingAll) CloseAll();
  applied_ = phase;
}

int Loop::TimeoutMs() const {
  const auto now = SteadyClock::now();
  const auto next = std::min(next_sweep_, listen_again_at_);
  if (next <= now) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next - now).count());
}

void Loop::Accept() {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    if (server_->phase.load(std::memory_order_acquire) != Phase::kRunning) return;
    const int fd = accept4(server_->listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Typically out of file descriptors: back off instead of spinning on the error.
      spdlog::warn("http accept failed: {}", strerror(errno));
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, server_->listen_fd, nullptr);
      listening_ = false;
      listen_again_at_ = SteadyClock::now() + kAcceptBackoff;
      return;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!server_->AddConnection()) {
      close(fd);
      return;
    }
    const uint64_t id = server_->next_connection_id.fetch_add(1, std::memory_order_relaxed);
    auto c = std::make_unique<Connection>(id, fd, server_->options.max_body_bytes);
    c->deadline = SteadyClock::now() + server_->options.idle_timeout;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      spdlog::warn("http: cannot watch a new connection: {}", strerror(errno));
      close(fd);
      server_->RemoveConnection();
      continue;
    }
    connections_.emplace(id, std::move(c));
  }
}

void Loop::TakeInbox() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(inbox->wake_fd, &count, sizeof(count));
  std::vector<Delivery> deliveries;
  {
    std::lock_guard<std::mutex> lock(inbox->mu);
    inbox->woken = false;
    deliveries.swap(inbox->deliveries);
  }
  for (Delivery& d : deliveries) Deliver(std::move(d));
}

void Loop::RunLocal() {
  // A delivery can lead to the next pipelined request's handler, which may push another.
  while (!local_.empty()) {
    std::vector<Delivery> batch;
    batch.swap(local_);
    for (Delivery& d : batch) Deliver(std::move(d));
  }
}

void Loop::Deliver(Delivery d) {
  auto it = connections_.find(d.connection_id);
  if (it == connections_.end()) return;  // closed meanwhile
  Connection& c = *it->second;
  if (c.state != Connection::State::kHandling || c.serial != d.serial) return;
  if (!Respond(c, std::move(d.response))) return;
  if (c.state == Connection::State::kReading) Pump(c);
}

void Loop::OnEvent(uint64_t id, uint32_t events) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (events & EPOLLERR) {
    Close(c);
    return;
  }
  if (c.state == Connection::State::kWriting) {
    // Writable, or hung up (the write then fails and closes).
    if (!Flush(c)) return;
    if (c.state == Connection::State::kReading) Pump(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP)) OnReadable(c);
}

void Loop::OnReadable(Connection& c) {
  const ssize_t n = recv(c.fd, scratch_.get(), kReadChunk, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    Close(c);
    return;
  }
  if (n == 0) {
    // Between requests (or mid-request: the rest will never come) the client is done. While
    // its request is handled it may still read the response: answer, then close.
    if (c.state == Connection::State::kReading || c.state == Connection::State::kLingering) {
      Close(c);
      return;
    }
    c.peer_closed = true;
    SetInterest(c, c.interest & ~EPOLLIN);
    return;
  }
  if (c.state == Connection::State::kLingering) return;  // discarded
  c.in.append(scratch_.get(), static_cast<size_t>(n));
  if (c.state == Connection::State::kReading) {
    Pump(c);
  } else if (c.in.size() > kReadChunk) {
    // Pipelined far ahead: read again after the response (the kernel's buffers hold the rest).
    SetInterest(c, c.interest & ~EPOLLIN);
  }
}

void Loop::Pump(Connection& c) {
  while (c.state == Connection::State::kReading && !c.in.empty()) {
    const size_t used = c.reader.Feed(c.in);
    c.in.erase(0, used);
    if (c.reader.failed()) {
      Reject(c, c.reader.error());
      return;
    }
    if (c.reader.done()) {
      if (!Dispatch(c)) return;
      continue;
    }
    if (c.reader.header_done() && c.reader.expects_continue() && !c.continue_sent) {
      c.continue_sent = true;
      const ssize_t n = send(c.fd, kHttpContinue.data(), kHttpContinue.size(), MSG_NOSIGNAL);
      if (n != static_cast<ssize_t>(kHttpContinue.size())) {
        Close(c);
        return;
      }
    }
    break;  // the rest of the request has not arrived
  }
  if (c.state == Connection::State::kReading && c.peer_closed) Close(c);  // nothing more comes
}

bool Loop::Dispatch(Connection& c) {
  c.state = Connection::State::kHandling;
  c.deadline = SteadyClock::time_point::max();  // a long-poll may take its time
  c.keep_alive = c.reader.keep_alive();
  c.version = c.reader.version();
  c.continue_sent = false;
  ++c.serial;
  HttpRequest request = c.reader.TakeRequest();

  auto route = server_->routes.find(request.path);
  if (route == server_->routes.end()) {
    return Respond(c, ErrorResponse(Status(Code::kNotFound, "no such path: " +
                                                                Printable(request.path)),
                                    "http"));
  }
  if (route->second.method != request.method) {
    return Respond(c, ErrorResponse(Status(Code::kMethodNotAllowed,
                                           request.path + " takes " + route->second.method +
                                               ", got " + Printable(request.method)),
                                    "http"));
  }
  auto state = std::make_shared<ResponderState>();
  state->inbox = inbox;
  state->connection_id = c.id;
  state->serial = c.serial;
  Responder respond = [state](HttpResponse response) { state->Send(std::move(response)); };
  try {
    route->second.handler(std::move(request), std::move(respond));
  } catch (const std::exception& e) {
    // Handlers report errors through the Responder; an exception here is a bug.
    state->Send(ErrorResponse(Status::Internal(e.what()), route->first));
  }
  // The answer, if the handler gave it at once, is in local_: written after this event.
  return true;
}

void Loop::Reject(Connection& c, const Status& status) {
  c.state = Connection::State::kHandling;
  c.close_after_response = true;
  Respond(c, ErrorResponse(status, "http"));
}

bool Loop::Respond(Connection& c, HttpResponse response) {
  c.state = Connection::State::kWriting;
  c.keep_alive = c.keep_alive && applied_ == Phase::kRunning && !c.close_after_response;
  if (response.content_type == "application/json" &&
      (response.body.empty() || response.body.back() != '\n')) {
    response.body.push_back('\n');
  }
  c.body = std::move(response.body);
  c.head.clear();
  AppendResponseHead(c.head, c.version, response.status, response.content_type, c.body.size(),
                     c.keep_alive);
  c.sent = 0;
  return Flush(c);
}

bool Loop::Flush(Connection& c) {
  const size_t total = c.head.size() + c.body.size();
  while (c.sent < total) {
    iovec iov[2];
    int count = 0;
    if (c.sent < c.head.size()) {
      iov[count++] = {c.head.data() + c.sent, c.head.size() - c.sent};
      if (!c.body.empty()) iov[count++] = {c.body.data(), c.body.size()};
    } else {
      const size_t offset = c.sent - c.head.size();
      iov[count++] = {c.body.data() + offset, c.body.size() - offset};
    }
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = sendmsg(c.fd, &message, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The client reads slower than we write: wait for room, up to write_timeout.
      c.deadline = SteadyClock::now() + server_->options.write_timeout;
      if (!(c.interest & EPOLLOUT)) SetInterest(c, EPOLLOUT);
      return true;
    }
    Close(c);
    return false;
  }
  // The next answer brings its own buffer (Respond moves it in), so this one is freed now
  // rather than held by an idle connection (a page of evals with payloads can be large).
  std::string().swap(c.body);
  return AfterWrite(c);
}

bool Loop::AfterWrite(Connection& c) {
  if (c.close_after_response) {
    // Half-close, then discard what the client still sends until it closes or the linger ends.
    shutdown(c.fd, SHUT_WR);
    c.state = Connection::State::kLingering;
    c.deadline = SteadyClock::now() + kLingerTimeout;
    c.in.clear();
    SetInterest(c, c.peer_closed ? 0u : uint32_t{EPOLLIN});
    if (c.peer_closed) {
      Close(c);
      return false;
    }
    return true;
  }
  // Draining: a response begun before Stop() said keep-alive; close after it anyway.
  if (!c.keep_alive || applied_ != Phase::kRunning || (c.peer_closed && c.in.empty())) {
    Close(c);
    return false;
  }
  StartReading(c);
  return true;
}

void Loop::StartReading(Connection& c) {
  c.state = Connection::State::kReading;
  c.deadline = SteadyClock::now() + server_->options.idle_timeout;  // for the whole request
  const uint32_t interest = c.peer_closed ? 0u : uint32_t{EPOLLIN};
  if (c.interest != interest) SetInterest(c, interest);
}

void Loop::SetInterest(Connection& c, uint32_t interest) {
  epoll_event ev{};
  ev.events = interest;
  ev.data.u64 = c.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.interest = interest;
}

void Loop::Sweep() {
  const auto now = SteadyClock::now();
  CloseWhere([now](const Connection& c) { return c.deadline < now; });
  next_sweep_ = now + kDeadlineSweep;
}

void Loop::Close(Connection& c) {
  close(c.fd);  // also takes it out of the epoll set
  connections_.erase(c.id);
  server_->RemoveConnection();
}

void Loop::CloseAll() {
  CloseWhere([](const Connection&) { return true; });
}

void ServerCore::SetPhase(Phase p) {
  phase.store(p, std::memory_order_release);
  for (auto& loop : loops) loop->Wake();
}

bool ServerCore::AddConnection() {
  std::lock_guard<std::mutex> lock(mu);
  if (phase.load(std::memory_order_acquire) != Phase::kRunning) return false;
  ++open_connections;
  return true;
}

void ServerCore::RemoveConnection() {
  std::lock_guard<std::mutex> lock(mu);
  if (--open_connections == 0) changed.notify_all();
}

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
  ~Impl() {
    if (listen_fd >= 0) close(listen_fd);
  }
};

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
  LINE_ASSIGN_OR_RETURN(ListenAddress address, ParseListen(s.options.listen));
  auto fail = [&](const char* what) {
    Status status = Status::Unavailable(std::string("cannot ") + what + " " + s.options.listen +
                                        ": " + strerror(errno));
    s.loops.clear();
    if (s.listen_fd >= 0) close(s.listen_fd);
    s.listen_fd = -1;
    return status;
  };
  s.listen_fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.listen_fd < 0) return fail("open a socket for");
  const int one = 1;
  if (setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return fail("set options to listen on");
  }
  if (bind(s.listen_fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) !=
      0) {
    return fail("bind");
  }
  if (listen(s.listen_fd, SOMAXCONN) != 0) return fail("listen on");
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  if (getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
    return fail("read the address of");
  }
  s.port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const int n = std::max(1, s.options.io_threads);
  for (int i = 0; i < n; ++i) {
    s.loops.push_back(std::make_unique<Loop>(&s));
    Status status = s.loops.back()->Init();
    if (!status.ok()) {
      s.loops.clear();
      close(s.listen_fd);
      s.listen_fd = -1;
      return status;
    }
  }
  s.started = true;
  for (auto& loop : s.loops) {
    s.threads.emplace_back([loop = loop.get()] {
      NameThisThread("line-http");
      loop->Run();
    });
  }
  return Status::Ok();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  if (!s.started) return;

  // 1. Stop accepting and close idle connections; busy ones close after their response. Once
  // every loop has let go of the listener, closing it refuses new connections.
  s.SetPhase(Phase::kDraining);
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.changed.wait(lock, [&s] { return s.loops_draining == static_cast<int>(s.loops.size()); });
  }
  close(s.listen_fd);
  s.listen_fd = -1;

  // 2. Wait for in-flight requests, then give up on the rest.
  {
    std::unique_lock<std::mutex> lock(s.mu);
    if (!s.changed.wait_for(lock, s.options.shutdown_timeout,
                            [&s] { return s.open_connections == 0; })) {
      spdlog::warn("http shutdown: closing {} connections with requests still in flight",
                   s.open_connections);
      lock.unlock();
      s.SetPhase(Phase::kClosingAll);
      lock.lock();
      // The loops close them promptly; the bound only guards against a handler that never
      // returns.
      s.changed.wait_for(lock, 5s, [&s] { return s.open_connections == 0; });
    }
  }

  // 3. No Responder may hand anything over from here on; then the loops leave.
  for (auto& loop : s.loops) {
    std::lock_guard<std::mutex> lock(loop->inbox->mu);
    loop->inbox->open = false;
  }
  s.SetPhase(Phase::kQuitting);
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

}  // namespace line
