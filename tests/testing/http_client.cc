#include "testing/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace line::testing {
namespace {

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

bool HeaderIs(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  if (strncasecmp(line.data(), name.data(), name.size()) != 0) return false;
  std::string_view v = line.substr(name.size() + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  *value = v;
  return true;
}

}  // namespace

boost::json::value HttpResponse::Json() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return v;
}

std::string HttpResponse::Code() const {
  boost::json::value v = Json();
  if (!v.is_object()) return "";
  const boost::json::value* code = v.as_object().if_contains("code");
  if (code == nullptr || !code->is_string()) return "";
  return std::string(code->as_string());
}

std::string HttpResponse::Describe() const {
  if (status == 0) return "no response: " + error;
  std::string shown = body.size() > 2000 ? body.substr(0, 2000) + "..." : body;
  return std::to_string(status) + " " + shown;
}

HttpClient::HttpClient(std::string host, int port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { Disconnect(); }

void HttpClient::Disconnect() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpClient::Connect(std::string* error) {
  Disconnect();
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *error = Errno("socket");
    return false;
  }
  timeval tv{};
  tv.tv_sec = timeout_.count() / 1000;
  tv.tv_usec = (timeout_.count() % 1000) * 1000;
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  // Requests are written in one send; without NODELAY, Nagle plus delayed ACKs would add 40 ms
  // to every request after the first on a connection.
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    *error = "not an IPv4 address: " + host_;
    Disconnect();
    return false;
  }
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = Errno("connect to " + host_ + ":" + std::to_string(port_));
    Disconnect();
    return false;
  }
  return true;
}

bool HttpClient::ReadMore(std::string* error) {
  char chunk[64 * 1024];
  while (true) {
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      *error = "connection closed by server";
      return false;
    }
    if (errno == EINTR) continue;
    *error = (errno == EAGAIN || errno == EWOULDBLOCK)
                 ? "timed out after " + std::to_string(timeout_.count()) + " ms"
                 : Errno("recv");
    return false;
  }
}

HttpResponse HttpClient::Exchange(std::string_view request, bool* closed_before_response) {
  HttpResponse response;
  *closed_before_response = false;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The server may answer (e.g. 413) and close before reading a large body; what it said
      // is still worth reading, so stop sending and fall through to the read.
      break;
    }
    sent += static_cast<size_t>(n);
  }

  // Status line and headers.
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    size_t before = buffer_.size();
    if (!ReadMore(&response.error)) {
      *closed_before_response = before == 0;
      Disconnect();
      return response;
    }
  }
  std::string_view head(buffer_.data(), header_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    response.error = "malformed status line: " + std::string(status_line);
    Disconnect();
    return response;
  }
  int status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  bool chunked = false;
  bool close_after = status_line.substr(0, 8) == "HTTP/1.0";
  int64_t content_length = -1;
  while (line_end != std::string_view::npos) {
    size_t next = head.find("\r\n", line_end + 2);
    std::string_view line =
        head.substr(line_end + 2,
                    next == std::string_view::npos ? std::string_view::npos : next - line_end - 2);
    std::string_view value;
    if (HeaderIs(line, "Content-Length", &value)) {
      content_length = std::atoll(std::string(value).c_str());
    } else if (HeaderIs(line, "Transfer-Encoding", &value)) {
      chunked = strncasecmp(value.data(), "chunked", 7) == 0;
    } else if (HeaderIs(line, "Connection", &value)) {
      if (strncasecmp(value.data(), "close", 5) == 0) close_after = true;
      if (strncasecmp(value.data(), "keep-alive", 10) == 0) close_after = false;
    }
    line_end = next;
  }
  buffer_.erase(0, header_end + 4);
  // A response cut short leaves the connection at an unknown position: never reuse it.
  auto fail = [this](HttpResponse* cut) {
    Disconnect();
    return std::move(*cut);
  };

  if (chunked) {
    while (true) {
      size_t size_end;
      while ((size_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!ReadMore(&response.error)) return fail(&response);
      }
      size_t chunk_size = std::strtoul(buffer_.substr(0, size_end).c_str(), nullptr, 16);
      buffer_.erase(0, size_end + 2);
      while (buffer_.size() < chunk_size + 2) {
        if (!ReadMore(&response.error)) return fail(&response);
      }
      response.body.append(buffer_, 0, chunk_size);
      buffer_.erase(0, chunk_size + 2);
      if (chunk_size == 0) break;  // no trailers are expected from lined
    }
  } else if (content_length >= 0) {
    while (buffer_.size() < static_cast<size_t>(content_length)) {
      if (!ReadMore(&response.error)) return fail(&response);
    }
    response.body = buffer_.substr(0, static_cast<size_t>(content_length));
    buffer_.erase(0, static_cast<size_t>(content_length));
  } else {
    // No framing: the body runs to the end of the connection.
    std::string ignored;
    while (ReadMore(&ignored)) {
    }
    response.body = std::move(buffer_);
    close_after = true;
  }
  response.status = status;
  response.error.clear();
  if (close_after) Disconnect();
  return response;
}

HttpResponse HttpClient::Request(std::string_view method, std::string_view path,
                                 std::string_view body) {
  std::string request;
  request.reserve(body.size() + 200);
  request.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  request.append("Host: ").append(host_).append(":").append(std::to_string(port_));
  request.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  request.append(std::to_string(body.size())).append("\r\n\r\n").append(body);

  for (int attempt = 0;; ++attempt) {
    bool reused = fd_ >= 0;
    if (!reused) {
      HttpResponse failed;
      if (!Connect(&failed.error)) return failed;
    }
    bool closed_before_response = false;
    HttpResponse response = Exchange(request, &closed_before_response);
    if (response.status != 0 || !reused || !closed_before_response || attempt > 0) {
      return response;
    }
  }
}

HttpResponse HttpClient::PostRaw(std::string_view path, std::string_view body) {
  return Request("POST", path, body);
}

HttpResponse HttpClient::Post(std::string_view path, const boost::json::value& body) {
  return Request("POST", path, boost::json::serialize(body));
}

HttpResponse HttpClient::Get(std::string_view path) { return Request("GET", path, ""); }

}  // namespace line::testing
