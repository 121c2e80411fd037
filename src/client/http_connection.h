// One HTTP/1.1 client connection over a POSIX TCP socket, with a deadline on every operation.
// libline's transport: plain sockets keep Boost.Asio out of the library and its compile time.
//
// Not thread-safe: a Connection is used by one call at a time (Client's pool hands it out).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace line::client::internal {

using SteadyClock = std::chrono::steady_clock;

struct HttpAnswer {
  int status = 0;
  std::string body;
  bool keep_alive = false;  // the connection may carry another request
};

// Why a round trip failed.
enum class TransportError {
  kNone,
  // The connection closed (EOF or reset) before a single byte of the answer arrived. On a
  // reused keep-alive connection this is the server having closed it while idle: the request
  // was not processed and may be sent again on a fresh connection.
  kClosedBeforeAnswer,
  kTimeout,
  kIo,         // any other socket error, or a close mid-answer
  kMalformed,  // the bytes received are not an HTTP/1.x answer
};

class Connection {
 public:
  // Connects to host:port before `deadline`. Returns null with `*error` set on failure.
  static std::unique_ptr<Connection> Open(const std::string& host, const std::string& port,
                                          SteadyClock::time_point deadline, std::string* error);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `request` (a complete HTTP request) and reads one answer, skipping 1xx interim
  // answers. On failure returns the reason with `*error` saying what happened; the connection
  // must then be discarded.
  TransportError RoundTrip(std::string_view request, SteadyClock::time_point deadline,
                           HttpAnswer* answer, std::string* error);

  // Whether the connection already carried a request (so a close before the answer means the
  // server dropped it while idle).
  bool reused() const { return reused_; }

 private:
  explicit Connection(int fd) : fd_(fd) {}
  // Waits for `events` on the socket until `deadline`; false with `*error` set on timeout.
  bool Wait(short events, SteadyClock::time_point deadline, std::string* error);
  // Appends what the socket has to buffer_. Returns 0 on EOF, -1 on error (`*error` set,
  // `*timed_out` when the deadline passed), else the byte count.
  long ReadSome(SteadyClock::time_point deadline, std::string* error, bool* timed_out);
  TransportError ReadAnswer(SteadyClock::time_point deadline, HttpAnswer* answer,
                            std::string* error);

  int fd_;
  bool reused_ = false;
  std::string buffer_;  // received bytes not yet consumed
};

}  // namespace line::client::internal
