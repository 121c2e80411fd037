// A tiny scripted HTTP/1.1 server on raw sockets for libline's transport tests: it counts
// accepted connections and requests, records request bodies, and answers each request with
// what the test's handler returns (or not at all, or by closing or resetting the connection,
// or by cutting the answer short: the ways an answer gets lost in an outage).
//
// Thread-safe: one thread accepts, one thread serves each connection; counters and recorded
// bodies are guarded by mu_. The destructor closes everything and joins the threads.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "line/client.h"

namespace line::client::testing {

struct FakeAnswer {
  int status = 200;
  std::string body = "{}";
  std::string extra_headers;  // each line ending in \r\n
  bool chunked = false;
  bool close_after = false;  // close the connection after answering (without saying so)
  bool no_answer = false;    // never answer; the connection stays open until shutdown
  bool drop = false;         // close the connection (FIN) without answering
  bool reset = false;        // reset the connection (RST) without answering
  size_t cut_after = 0;      // > 0: send only this many bytes of the answer, then close
};

// What the extended handler sees of a request.
struct FakeRequest {
  int index = 0;     // 0-based, over all connections
  std::string path;  // "/CompleteAlloc"
  std::string body;
};

class FakeServer {
 public:
  // `handler` gets the 0-based index of the request (over all connections) and its body.
  explicit FakeServer(std::function<FakeAnswer(int, const std::string&)> handler)
      : FakeServer([handler = std::move(handler)](
                       const FakeRequest& r) { return handler(r.index, r.body); },
                   0) {}

  // Listens on 127.0.0.1:`port` (0 = any free port); `handler` also sees the request's path.
  FakeServer(std::function<FakeAnswer(const FakeRequest&)> handler, int port)
      : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 64);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeServer() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);
    }
    accept_thread_.join();
    for (std::thread& t : conn_threads_) t.join();
    close(listen_fd_);
    for (int fd : conn_fds_) close(fd);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(bodies_.size());
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }
  // The path of every request so far, in order.
  std::vector<std::string> paths() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const std::string& head : heads_) out.push_back(PathOf(head));
    return out;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;  // shut down
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      ++connections_;
      conn_fds_.push_back(fd);
      conn_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
      size_t head_end;
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return;
        buf.append(chunk, static_cast<size_t>(n));
      }
      std::string head = buf.substr(0, head_end);
      size_t length = 0;
      if (size_t p = head.find("Content-Length: "); p != std::string::npos) {
        length = std::stoul(head.substr(p + 16));
      }
      while (buf.size() < head_end + 4 + length) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return;
        buf.append(chunk, static_cast<size_t>(n));
      }
      std::string body = buf.substr(head_end + 4, length);
      buf.erase(0, head_end + 4 + length);
      int index;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = static_cast<int>(bodies_.size());
        bodies_.push_back(body);
        heads_.push_back(head);
      }
      FakeAnswer a = handler_(FakeRequest{index, PathOf(head), body});
      if (a.no_answer) {
        while (recv(fd, chunk, sizeof(chunk), 0) > 0) {
        }
        return;
      }
      if (a.drop) {
        shutdown(fd, SHUT_RDWR);
        return;
      }
      if (a.reset) {
        linger abort{1, 0};  // close() then sends RST
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
        std::lock_guard<std::mutex> lock(mu_);
        std::erase(conn_fds_, fd);
        close(fd);
        return;
      }
      std::string out = "HTTP/1.1 " + std::to_string(a.status) + " X\r\n" + a.extra_headers +
                        "Content-Type: application/json\r\n";
      if (a.chunked) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        size_t half = a.body.size() / 2;
        for (std::string part : {a.body.substr(0, half), a.body.substr(half)}) {
          if (part.empty()) continue;
          char size[32];
          std::snprintf(size, sizeof(size), "%zx\r\n", part.size());
          out += size + part + "\r\n";
        }
        out += "0\r\n\r\n";
      } else {
        out += "Content-Length: " + std::to_string(a.body.size()) + "\r\n\r\n" + a.body;
      }
      if (a.cut_after > 0 && a.cut_after < out.size()) {
        send(fd, out.data(), a.cut_after, MSG_NOSIGNAL);
        shutdown(fd, SHUT_RDWR);
        return;
      }
      send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (a.close_after) {
        shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  // "POST /CompleteAlloc HTTP/1.1..." -> "/CompleteAlloc".
  static std::string PathOf(const std::string& head) {
    size_t start = head.find(' ');
    if (start == std::string::npos) return "";
    size_t end = head.find(' ', start + 1);
    return head.substr(start + 1, end == std::string::npos ? end : end - start - 1);
  }

  std::function<FakeAnswer(const FakeRequest&)> handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;

  std::mutex mu_;
  int connections_ = 0;                    // guarded by mu_
  std::vector<int> conn_fds_;              // guarded by mu_
  std::vector<std::thread> conn_threads_;  // guarded by mu_ (joined after accept_thread_)
  std::vector<std::string> bodies_;        // guarded by mu_
  std::vector<std::string> heads_;         // guarded by mu_
};

// Client options for tests against a fake server: retries come fast and are bounded.
inline ClientOptions FastRetries(const std::string& url) {
  ClientOptions o;
  o.server = url;
  o.timeout = std::chrono::seconds(5);
  o.initial_backoff = std::chrono::milliseconds(1);
  o.max_backoff = std::chrono::milliseconds(5);
  o.retry_budget = std::chrono::seconds(5);
  o.max_attempts = 10;
  return o;
}

// What lined answers while its store is away.
inline FakeAnswer Unavailable() {
  return {503, R"({"message":"store unavailable","code":"StoreUnavailable"})"};
}

}  // namespace line::client::testing
