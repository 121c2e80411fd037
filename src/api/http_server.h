// An asynchronous HTTP/1.1 server: an epoll loop per io thread, Beast's request parser
// (decision 0016; both kept out of this header so that the files including it compile fast). It routes by exact path to handlers that answer later,
// from any thread: a waiting long-poll holds no thread, only its connection's memory.
//
// Per connection, requests are handled one at a time in arrival order (pipelined requests wait
// in the read buffer until the previous response is written). Every JSON response body ends
// with "\n": the server appends it, so encoders produce bare JSON.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace line {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target without its query string
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string body;  // for JSON, without the trailing newline (the server adds it)
  std::string content_type = "application/json";
};

// Sends the response. Call it exactly once, from any thread, at any later time; further calls
// are ignored. If every copy is destroyed without a call, the client gets a 500 instead of
// waiting forever. Calls after the server stopped are dropped.
using Responder = std::function<void(HttpResponse)>;

// Runs on an io thread; must not block (hand long work to other threads and answer through the
// Responder).
using Handler = std::function<void(HttpRequest, Responder)>;

struct HttpServerOptions {
  // "host:port" ("[::1]:8080" for IPv6). Port 0 picks a free port; see HttpServer::port().
  std::string listen = "127.0.0.1:8080";
  int io_threads = 2;
  // Larger request bodies get 413 PayloadTooLarge and the connection is closed.
  size_t max_body_bytes = 8 * 1024 * 1024;
  // A keep-alive connection idle this long (or a request arriving this slowly) is closed.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // A response whose write makes no progress for this long (the client stopped reading)
  // closes the connection.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
  // Stop() waits this long for in-flight requests (a long-poll lasts up to 20 s) before it
  // closes their connections anyway.
  std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(25);
};

// Thread-safety: Handle() before Start(); Start(), Stop() and the destructor from one
// controlling thread, never from a handler; port() after a successful Start(). Handlers and
// Responders run concurrently on the io threads and wherever Responders are called.
class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()s.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes `method` on exactly `path` to `handler`. Another method on a known path is 405
  // MethodNotAllowed; an unknown path is 404 NotFound. One method per path.
  void Handle(std::string_view method, std::string path, Handler handler);

  // Binds, listens and starts the io threads. Fails (listen address unparsable or in use)
  // without starting anything.
  Status Start();

  // The bound port (the chosen one when listening on port 0).
  int port() const;

  // Graceful shutdown: stops accepting, closes idle keep-alive connections at once, lets
  // in-flight requests finish and writes their responses (then closes those connections), and
  // joins the io threads. After options.shutdown_timeout, remaining connections are closed
  // without their responses. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace line
