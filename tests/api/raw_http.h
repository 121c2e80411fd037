// A blocking HTTP/1.1 client on raw POSIX sockets for the API tests: it sends exactly the bytes
// a test wants (pipelined requests, odd methods, Expect headers) and exposes response headers.
// Independent of the server's HTTP stack, so framing bugs cannot hide behind shared code.
// Every receive has a timeout, so a hung server fails the test instead of hanging it.
// Not thread-safe: one RawConnection per thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

namespace line::testing {

struct RawResponse {
  int status = 0;                              // 0: no complete response; `error` says why
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string error;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string Describe() const {
    return status == 0 ? "no response: " + error : std::to_string(status) + " " + body;
  }
};

inline std::string RequestText(std::string_view method, std::string_view path,
                               std::string_view body, std::string_view extra_headers = "") {
  std::string text;
  text.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  text.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  text.append(extra_headers).append("\r\n").append(body);
  return text;
}

class RawConnection {
 public:
  explicit RawConnection(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : timeout_(timeout) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Half-closes: the server sees the end of the input but may still answer.
  void ShutdownSend() { shutdown(fd_, SHUT_WR); }

  // Reads one Content-Length-framed response.
  RawResponse Read() {
    RawResponse r;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(&r.error)) return r;
    }
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) {
      r.error = "bad status line: " + status_line;
      return r;
    }
    while (line_end != std::string::npos) {
      size_t next = head.find("\r\n", line_end + 2);
      std::string line = head.substr(
          line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        r.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      line_end = next;
    }
    size_t length = static_cast<size_t>(std::atoll(r.Header("content-length").c_str()));
    while (buffer_.size() < length) {
      if (!Fill(&r.error)) return r;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    r.status = std::atoi(status_line.substr(9, 3).c_str());
    return r;
  }

  RawResponse Request(std::string_view method, std::string_view path, std::string_view body,
                      std::string_view extra_headers = "") {
    if (!Send(RequestText(method, path, body, extra_headers))) {
      RawResponse r;
      r.error = "send failed";
      return r;
    }
    return Read();
  }

  // True when response bytes are waiting to be read within `timeout` (none is read).
  bool WaitReadable(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }

  // True when the server closes the connection within `timeout` (data before the close, if
  // any, is discarded).
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return true;  // EOF or reset: closed
    }
  }

 private:
  bool Fill(std::string* error) {
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(timeout_.count()));
    if (ready <= 0) {
      *error = "timed out";
      return false;
    }
    char chunk[64 * 1024];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      *error = n == 0 ? "closed by server" : "recv failed";
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace line::testing
