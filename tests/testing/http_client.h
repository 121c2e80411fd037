// A small blocking HTTP/1.1 keep-alive client for talking to a real lined in end-to-end tests
// and the e2e benchmark. Deliberately independent of the server's own HTTP stack (raw POSIX
// sockets), so a bug in the server's framing cannot be hidden by sharing code with it.
//
// Not thread-safe: one HttpClient per thread. Every socket operation has a timeout, so a hung
// server fails the test instead of hanging it.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace line::testing {

struct HttpResponse {
  // The HTTP status code, or 0 when no response arrived (connection refused, reset, timed out);
  // `error` then says why.
  int status = 0;
  std::string body;
  std::string error;

  // The body parsed as JSON; null when it is not JSON (the caller's assertions then fail with
  // the raw body in their message).
  boost::json::value Json() const;
  // The "code" field of an error body, "" when absent.
  std::string Code() const;
  // One line for assertion messages: "409 {...}" or "no response: <error>".
  std::string Describe() const;
};

class HttpClient {
 public:
  // `timeout` bounds each send/receive on the socket; it must exceed the longest long-poll a
  // test issues (wait_time_seconds is at most 20).
  HttpClient(std::string host, int port,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Post(std::string_view path, const boost::json::value& body);
  // The body as given, e.g. malformed JSON.
  HttpResponse PostRaw(std::string_view path, std::string_view body);
  HttpResponse Get(std::string_view path);
  // Any method; used by tests of the server's method and framing handling.
  HttpResponse Request(std::string_view method, std::string_view path, std::string_view body);

  // Drops the connection; the next request opens a fresh one (e.g. after a server restart).
  void Disconnect();
  int port() const { return port_; }

 private:
  bool Connect(std::string* error);
  // One attempt on the current connection. `*closed_before_response` is set when the connection
  // closed before a single response byte: an idle keep-alive connection the server had already
  // closed, so the request may be retried once on a fresh one.
  HttpResponse Exchange(std::string_view request, bool* closed_before_response);
  bool ReadMore(std::string* error);

  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;  // bytes received but not yet consumed
};

}  // namespace line::testing
