#include "client/http_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace line::client::internal {
namespace {

int MillisUntil(SteadyClock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ParseSize(std::string_view s, int base, size_t* out) {
  s = Trim(s);
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

// A failure after the answer's head arrived: the request was certainly received.
TransportError MidAnswer(TransportError failure) {
  return failure == TransportError::kTimeout ? failure : TransportError::kIo;
}

}  // namespace

std::unique_ptr<Connection> Connection::Open(const std::string& host, const std::string& port,
                                             SteadyClock::time_point deadline, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addrs = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &addrs); rc != 0) {
    *error = "resolve " + host + ":" + port + ": " + gai_strerror(rc);
    return nullptr;
  }
  std::string last = "no address";
  for (addrinfo* a = addrs; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    std::unique_ptr<Connection> conn(new Connection(fd));
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = std::strerror(errno);
        continue;
      }
      if (!conn->Wait(POLLOUT, deadline, &last)) continue;
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0) {
        last = std::strerror(so_error);
        continue;
      }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // small requests, no Nagle
    freeaddrinfo(addrs);
    return conn;
  }
  freeaddrinfo(addrs);
  *error = "connect " + host + ":" + port + ": " + last;
  return nullptr;
}

Connection::~Connection() { close(fd_); }

bool Connection::Wait(short events, SteadyClock::time_point deadline, std::string* error) {
  for (;;) {
    pollfd p{fd_, events, 0};
    int rc = poll(&p, 1, MillisUntil(deadline));
    if (rc > 0) return true;
    if (rc == 0) {
      *error = "timed out";
      return false;
    }
    if (errno != EINTR) {
      *error = std::string("poll: ") + std::strerror(errno);
      return false;
    }
  }
}

long Connection::ReadSome(SteadyClock::time_point deadline, std::string* error, bool* timed_out) {
  char chunk[16384];
  for (;;) {
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n >= 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return static_cast<long>(n);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      *error = std::string("recv: ") + std::strerror(errno);
      return -1;
    }
    if (!Wait(POLLIN, deadline, error)) {
      *timed_out = true;
      return -1;
    }
  }
}

TransportError Connection::RoundTrip(std::string_view request, SteadyClock::time_point deadline,
                                     HttpAnswer* answer, std::string* error) {
  bool was_reused = reused_;
  reused_ = true;
  while (!request.empty()) {
    ssize_t n = send(fd_, request.data(), request.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      request.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!Wait(POLLOUT, deadline, error)) return TransportError::kTimeout;
      continue;
    }
    *error = std::string("send: ") + std::strerror(errno);
    // A reset while sending on an idle reused connection: the server had closed it.
    return was_reused && (errno == EPIPE || errno == ECONNRESET)
               ? TransportError::kClosedBeforeAnswer
               : TransportError::kIo;
  }
  return ReadAnswer(deadline, answer, error);
}

TransportError Connection::ReadAnswer(SteadyClock::time_point deadline, HttpAnswer* answer,
                                      std::string* error) {
  bool any_byte = !buffer_.empty();
  // Reads more into buffer_, mapping EOF and errors to the TransportError to return.
  auto more = [&](TransportError* failure) {
    bool timed_out = false;
    long n = ReadSome(deadline, error, &timed_out);
    if (n > 0) {
      any_byte = true;
      return true;
    }
    if (timed_out) {
      *failure = TransportError::kTimeout;
    } else {
      if (n == 0) *error = "connection closed by the server";
      *failure = any_byte ? TransportError::kIo : TransportError::kClosedBeforeAnswer;
    }
    return false;
  };

  for (;;) {  // 1xx interim answers are skipped
    TransportError failure = TransportError::kNone;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (buffer_.size() > 64 * 1024) {
        *error = "answer header over 64 KiB";
        return TransportError::kMalformed;
      }
      if (!more(&failure)) return failure;
    }
    std::string_view head(buffer_.data(), head_end);
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
      *error = "not an HTTP answer: " + std::string(status_line.substr(0, 80));
      return TransportError::kMalformed;
    }
    bool http10 = status_line[7] == '0';
    size_t status = 0;
    if (!ParseSize(status_line.substr(9, 3), 10, &status) || status < 100 || status > 599) {
      *error = "bad HTTP status line: " + std::string(status_line.substr(0, 80));
      return TransportError::kMalformed;
    }
    bool keep_alive = !http10;
    bool chunked = false;
    bool has_length = false;
    size_t length = 0;
    std::string_view rest =
        line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
    while (!rest.empty()) {
      size_t eol = rest.find("\r\n");
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = Lower(Trim(line.substr(0, colon)));
      std::string value = Lower(Trim(line.substr(colon + 1)));
      if (name == "content-length") {
        if (!ParseSize(value, 10, &length)) {
          *error = "bad Content-Length: " + value;
          return TransportError::kMalformed;
        }
        has_length = true;
      } else if (name == "transfer-encoding") {
        chunked = value.find("chunked") != std::string::npos;
      } else if (name == "connection") {
        if (value.find("close") != std::string::npos) keep_alive = false;
        if (value.find("keep-alive") != std::string::npos) keep_alive = true;
      }
    }
    buffer_.erase(0, head_end + 4);
    if (status < 200) continue;

    answer->status = static_cast<int>(status);
    answer->body.clear();
    if (chunked) {
      for (;;) {
        size_t eol;
        while ((eol = buffer_.find("\r\n")) == std::string::npos) {
          if (!more(&failure)) return MidAnswer(failure);
        }
        std::string_view size_field(buffer_.data(), eol);
        size_field = size_field.substr(0, size_field.find(';'));
        size_t chunk = 0;
        if (!ParseSize(size_field, 16, &chunk)) {
          *error = "bad chunk size";
          return TransportError::kMalformed;
        }
        if (chunk == 0) {
          // Skip trailers up to the blank line ("0\r\n\r\n" without trailers).
          size_t end;
          while ((end = buffer_.find("\r\n\r\n", eol)) == std::string::npos) {
            if (!more(&failure)) return MidAnswer(failure);
          }
          buffer_.erase(0, end + 4);
          break;
        }
        while (buffer_.size() < eol + 2 + chunk + 2) {
          if (!more(&failure)) return MidAnswer(failure);
        }
        answer->body.append(buffer_, eol + 2, chunk);
        buffer_.erase(0, eol + 2 + chunk + 2);
      }
    } else if (has_length) {
      while (buffer_.size() < length) {
        if (!more(&failure)) return MidAnswer(failure);
      }
      answer->body.assign(buffer_, 0, length);
      buffer_.erase(0, length);
    } else {
      // Neither length nor chunks: the body runs to the close.
      keep_alive = false;
      for (;;) {
        bool timed_out = false;
        long n = ReadSome(deadline, error, &timed_out);
        if (n == 0) break;
        if (n < 0) return timed_out ? TransportError::kTimeout : TransportError::kIo;
      }
      answer->body = std::move(buffer_);
      buffer_.clear();
    }
    // Bytes beyond the answer were never asked for: do not trust the connection again.
    answer->keep_alive = keep_alive && buffer_.empty();
    return TransportError::kNone;
  }
}

}  // namespace line::client::internal
