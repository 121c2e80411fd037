// HTTP/1.1 framing for the server: reading requests out of a connection's bytes and writing
// response heads. The parsing is Beast's (request line, fields, Content-Length and chunked
// framing, header and body limits), kept behind this header so that the server's event loop
// compiles without Beast or Asio.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_server.h"
#include "common/status.h"

namespace line {

// Reads one request at a time from the bytes a connection received, which the caller keeps
// contiguous: bytes not consumed by Feed() must be given again, with more after them. Only the
// fields the server acts on are kept (no fields container per request).
class HttpRequestReader {
 public:
  explicit HttpRequestReader(size_t max_body_bytes);
  ~HttpRequestReader();
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  // Parses from `input` and returns how many of its bytes were consumed (the caller drops
  // them). Stops at the end of a request: bytes of a pipelined next one stay unconsumed.
  size_t Feed(std::string_view input);

  bool header_done() const;
  bool done() const;  // a whole request was read: take it with TakeRequest()
  // The request cannot be read: error() is InvalidInput (malformed) or PayloadTooLarge.
  bool failed() const;
  const Status& error() const;

  // After header_done(): what the head said.
  bool expects_continue() const;
  bool keep_alive() const;
  int version() const;  // 10 or 11

  // After done(): the request (its body moved out). The reader starts over for the next one.
  HttpRequest TakeRequest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The interim response a client sending "Expect: 100-continue" waits for before its body.
inline constexpr std::string_view kHttpContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Appends the status line and fields of a response with a body of `body_size` bytes. HTTP/1.1
// keeps a connection open unless told otherwise and HTTP/1.0 closes it unless told otherwise,
// so "Connection" is written only where it differs from the version's default.
void AppendResponseHead(std::string& out, int version, int status, std::string_view content_type,
                        size_t body_size, bool keep_alive);

}  // namespace line
