// HttpServer over real sockets: routing errors, limits, keep-alive and pipelining, replies from
// other threads, and graceful shutdown.
#include "api/http_server.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "api/raw_http.h"

namespace line {
namespace {

using testing::RawConnection;
using testing::RawResponse;
using testing::RequestText;
using namespace std::chrono_literals;

std::string Code(const RawResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("code")) return "";
  return std::string(v.as_object().at("code").as_string());
}

// Responders parked by the /Slow handler, for a test to answer from its own thread.
class Parking {
 public:
  void Park(Responder r) {
    std::lock_guard<std::mutex> lock(mu_);
    parked_.push_back(std::move(r));
    cv_.notify_all();
  }
  std::optional<Responder> Take(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !parked_.empty(); })) return std::nullopt;
    Responder r = std::move(parked_.front());
    parked_.erase(parked_.begin());
    return r;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Responder> parked_;
};

HttpResponse Json(std::string body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

class HttpServerTest : public ::testing::Test {
 protected:
  // Starts a server with /Echo (answers the body inside JSON at once), /Slow (parks the
  // responder), /Twice (answers twice), /Drop (never answers) and GET /Get.
  void StartServer(HttpServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options);
    server_->Handle("POST", "/Echo", [](HttpRequest req, Responder respond) {
      boost::json::object o;
      o["body"] = req.body;
      o["method"] = req.method;
      respond(Json(boost::json::serialize(o)));
    });
    server_->Handle("POST", "/Slow", [this](HttpRequest req, Responder respond) {
      parking_.Park(std::move(respond));
    });
    server_->Handle("POST", "/Twice", [](HttpRequest req, Responder respond) {
      respond(Json(R"({"n":1})"));
      respond(Json(R"({"n":2})"));
    });
    server_->Handle("POST", "/Drop", [](HttpRequest req, Responder respond) {});
    server_->Handle("GET", "/Get",
                    [](HttpRequest req, Responder respond) { respond(Json(R"({"got":true})")); });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  std::unique_ptr<HttpServer> server_;
  Parking parking_;
  int port_ = 0;
};

TEST_F(HttpServerTest, ListensOnAChosenPort) {
  StartServer();
  EXPECT_GT(port_, 0);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.Request("POST", "/Echo", "{}").status, 200);
}

TEST_F(HttpServerTest, StartFailsOnABadOrBusyAddress) {
  StartServer();
  HttpServerOptions busy;
  busy.listen = "127.0.0.1:" + std::to_string(port_);
  HttpServer second(busy);
  Status s = second.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(busy.listen), std::string::npos) << s.ToString();

  HttpServerOptions bad;
  bad.listen = "nonsense";
  HttpServer third(bad);
  EXPECT_EQ(third.Start().code(), Code::kInvalidInput);
  bad.listen = "127.0.0.1:99999";
  HttpServer fourth(bad);
  EXPECT_EQ(fourth.Start().code(), Code::kInvalidInput);
}

TEST_F(HttpServerTest, JsonResponsesEndWithNewlineAndSayJson) {
  StartServer();
  RawConnection c(port_);
  RawResponse r = c.Request("POST", "/Echo", R"({"a":1})");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Header("content-type"), "application/json");
  ASSERT_FALSE(r.body.empty());
  EXPECT_EQ(r.body.back(), '\n');
  EXPECT_EQ(r.body, R"({"body":"{\"a\":1}","method":"POST"})"
                    "\n");

  RawResponse missing = c.Request("POST", "/Nope", "{}");
  EXPECT_EQ(missing.Header("content-type"), "application/json");
  EXPECT_EQ(missing.body.back(), '\n');
}

TEST_F(HttpServerTest, UnknownPathIs404NotFound) {
  StartServer();
  RawConnection c(port_);
  RawResponse r = c.Request("POST", "/Nope", "{}");
  EXPECT_EQ(r.status, 404) << r.Describe();
  EXPECT_EQ(Code(r), "NotFound");
  EXPECT_NE(r.body.find("/Nope"), std::string::npos);
  // The connection stays usable after an error answer.
  EXPECT_EQ(c.Request("POST", "/Echo", "{}").status, 200);
  // A path that is not UTF-8 is not echoed as such: the error body stays valid JSON.
  RawResponse binary = c.Request("POST", "/N\xC3\x28", "{}");
  EXPECT_EQ(binary.status, 404) << binary.Describe();
  EXPECT_EQ(Code(binary), "NotFound");
}

TEST_F(HttpServerTest, OtherMethodOnAKnownPathIs405) {
  StartServer();
  RawConnection c(port_);
  RawResponse get = c.Request("GET", "/Echo", "");
  EXPECT_EQ(get.status, 405) << get.Describe();
  EXPECT_EQ(Code(get), "MethodNotAllowed");
  RawResponse post = c.Request("POST", "/Get", "{}");
  EXPECT_EQ(post.status, 405) << post.Describe();
  EXPECT_EQ(c.Request("GET", "/Get", "").status, 200);
}

TEST_F(HttpServerTest, QueryStringIsNotPartOfThePath) {
  StartServer();
  RawConnection c(port_);
  EXPECT_EQ(c.Request("POST", "/Echo?x=1", "{}").status, 200);
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413AndClosesTheConnection) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  {
    RawConnection c(port_);
    RawResponse at_limit = c.Request("POST", "/Echo", std::string(1024, 'x'));
    EXPECT_EQ(at_limit.status, 200) << at_limit.Describe();
  }
  RawConnection c(port_);
  RawResponse over = c.Request("POST", "/Echo", std::string(1025, 'x'));
  EXPECT_EQ(over.status, 413) << over.Describe();
  EXPECT_EQ(Code(over), "PayloadTooLarge");
  EXPECT_EQ(over.Header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed(5s));
}

// After an answer that ends the connection (413 here), the server half-closes and discards
// what the client still sends, so that the client reads the answer instead of a reset; a
// client that keeps sending is cut off after the linger timeout (1 s), not held forever.
TEST_F(HttpServerTest, AClientThatKeepsSendingAfterA413IsCutOffAfterTheLinger) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  RawConnection c(port_);
  // Taken before the request: the linger starts when the server has answered, so the bound
  // below holds however late this thread reads the answer.
  const auto start = std::chrono::steady_clock::now();
  RawResponse over = c.Request("POST", "/Echo", std::string(1025, 'x'));
  ASSERT_EQ(over.status, 413) << over.Describe();
  bool cut = false;
  while (std::chrono::steady_clock::now() - start < 10s) {
    if (!c.Send("more of a body nobody wants\r\n")) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(20ms);  // a client trickling bytes, not a wait for a result
  }
  const auto lingered = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(cut) << "still draining the client after 10 s";
  EXPECT_GE(lingered, 900ms) << "cut off before the linger timeout";
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  RawConnection c(port_);
  std::string chunk(800, 'y');
  std::string text = "POST /Echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" +
                     chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n";
  ASSERT_TRUE(c.Send(text));
  RawResponse r = c.Read();
  EXPECT_EQ(r.status, 413) << r.Describe();
  EXPECT_EQ(Code(r), "PayloadTooLarge");
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  StartServer();
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("POST /Echo HTTP/1.1\r\nContent-Length: nope\r\n\r\n"));
  RawResponse r = c.Read();
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_EQ(Code(r), "InvalidInput");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  RawConnection c(port_);
  for (int i = 0; i < 3; ++i) {
    RawResponse r = c.Request("POST", "/Echo", std::to_string(i));
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.Describe();
    EXPECT_NE(r.body.find("\"body\":\"" + std::to_string(i) + "\""), std::string::npos);
    EXPECT_NE(r.Header("connection"), "close");
  }
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  StartServer();
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("POST /Echo HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"));
  RawResponse r = c.Read();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(c.WaitClosed(5s));
}

TEST_F(HttpServerTest, Http10WithKeepAliveIsToldSoAndKeptOpen) {
  StartServer();
  RawConnection c(port_);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send("POST /Echo HTTP/1.0\r\nConnection: keep-alive\r\n"
                       "Content-Length: 1\r\n\r\n" +
                       std::to_string(i)));
    RawResponse r = c.Read();
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.Describe();
    EXPECT_EQ(r.Header("connection"), "keep-alive") << r.Describe();
    EXPECT_NE(r.body.find("\"body\":\"" + std::to_string(i) + "\""), std::string::npos);
  }
}

TEST_F(HttpServerTest, AChunkedBodySentWithItsHeaderAndAPipelinedRequestAreBothAnswered) {
  StartServer();
  RawConnection c(port_);
  // One segment: a whole chunked request, then a whole second one behind it.
  ASSERT_TRUE(c.Send("POST /Echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" +
                     RequestText("POST", "/Echo", "2")));
  RawResponse first = c.Read();
  RawResponse second = c.Read();
  EXPECT_NE(first.body.find("\"body\":\"abcde\""), std::string::npos) << first.Describe();
  EXPECT_NE(second.body.find("\"body\":\"2\""), std::string::npos) << second.Describe();
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrderEvenWhenTheFirstIsSlow) {
  StartServer();
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(RequestText("POST", "/Slow", "{}") + RequestText("POST", "/Echo", "2")));
  std::optional<Responder> slow = parking_.Take();
  ASSERT_TRUE(slow.has_value());
  std::thread([r = *slow] { r(Json(R"({"first":true})")); }).join();
  RawResponse first = c.Read();
  RawResponse second = c.Read();
  EXPECT_EQ(first.body, "{\"first\":true}\n") << first.Describe();
  EXPECT_NE(second.body.find("\"body\":\"2\""), std::string::npos) << second.Describe();
}

// Each answer leads to parsing the next request: many of them in one segment must neither
// recurse (stack) nor be answered out of order, whether the handler answers or the server does.
TEST_F(HttpServerTest, AThousandPipelinedRequestsAreAllAnsweredInOrder) {
  StartServer();
  RawConnection c(port_);
  constexpr int kRequests = 1000;  // requests and answers both fit in loopback socket buffers
  std::string text;
  for (int i = 0; i < kRequests; ++i) {
    text += i % 2 == 0 ? RequestText("POST", "/Echo", std::to_string(i))
                       : RequestText("POST", "/Missing" + std::to_string(i), "");
  }
  ASSERT_TRUE(c.Send(text));
  for (int i = 0; i < kRequests; ++i) {
    RawResponse r = c.Read();
    if (i % 2 == 0) {
      ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.Describe();
      ASSERT_NE(r.body.find("\"body\":\"" + std::to_string(i) + "\""), std::string::npos)
          << "request " << i << ": " << r.Describe();
    } else {
      ASSERT_EQ(r.status, 404) << "request " << i << ": " << r.Describe();
      ASSERT_NE(r.body.find("/Missing" + std::to_string(i)), std::string::npos) << r.Describe();
    }
  }
}

// A client may send its request and shut its side (`nc -N`, some scripts): it still gets the
// answer, given later from another thread, and then the connection closes.
TEST_F(HttpServerTest, AClientThatShutsItsSideAfterTheRequestStillGetsTheAnswer) {
  StartServer();
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(RequestText("POST", "/Slow", "{}")));
  c.ShutdownSend();
  std::optional<Responder> parked = parking_.Take();
  ASSERT_TRUE(parked.has_value());
  std::thread answer([&parked] { (*parked)(Json(R"({"after_eof":true})")); });
  answer.join();
  RawResponse r = c.Read();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "{\"after_eof\":true}\n");
  EXPECT_TRUE(c.WaitClosed(5s));
}

// With one io thread as with several (the fixture's default is 2), answers from other threads
// reach the right connection.
TEST_F(HttpServerTest, OneIoThreadServesConnectionsAnsweredFromOtherThreads) {
  HttpServerOptions options;
  options.io_threads = 1;
  StartServer(options);
  RawConnection slow(port_);
  ASSERT_TRUE(slow.Send(RequestText("POST", "/Slow", "{}")));
  std::optional<Responder> parked = parking_.Take();
  ASSERT_TRUE(parked.has_value());
  RawConnection fast(port_);
  EXPECT_EQ(fast.Request("POST", "/Echo", "{}").status, 200);
  std::thread answer([&parked] { (*parked)(Json(R"({"one":1})")); });
  answer.join();
  RawResponse r = slow.Read();
  EXPECT_EQ(r.body, "{\"one\":1}\n") << r.Describe();
}

TEST_F(HttpServerTest, LateReplyFromAnotherThreadHoldsNoIoThread) {
  HttpServerOptions options;
  options.io_threads = 1;  // if the parked request held the only io thread, /Echo would hang
  StartServer(options);
  std::future<RawResponse> slow = std::async(std::launch::async, [this] {
    RawConnection c(port_);
    return c.Request("POST", "/Slow", "{}");
  });
  std::optional<Responder> parked = parking_.Take();
  ASSERT_TRUE(parked.has_value());

  RawConnection other(port_);
  RawResponse fast = other.Request("POST", "/Echo", "{}");
  EXPECT_EQ(fast.status, 200) << fast.Describe();
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout);

  std::thread([r = *parked] { r(Json(R"({"late":1})", 200)); }).join();
  RawResponse late = slow.get();
  EXPECT_EQ(late.status, 200) << late.Describe();
  EXPECT_EQ(late.body, "{\"late\":1}\n");
}

TEST_F(HttpServerTest, ASecondResponseIsIgnored) {
  StartServer();
  RawConnection c(port_);
  RawResponse first = c.Request("POST", "/Twice", "{}");
  EXPECT_EQ(first.body, "{\"n\":1}\n");
  // The ignored second answer must not be taken for the next request's.
  RawResponse next = c.Request("POST", "/Echo", "next");
  EXPECT_NE(next.body.find("\"body\":\"next\""), std::string::npos) << next.Describe();
}

TEST_F(HttpServerTest, ADroppedResponderAnswers500) {
  StartServer();
  RawConnection c(port_);
  RawResponse r = c.Request("POST", "/Drop", "{}");
  EXPECT_EQ(r.status, 500) << r.Describe();
  EXPECT_EQ(Code(r), "InternalError");
}

TEST_F(HttpServerTest, Expect100ContinueGetsAnInterimResponse) {
  StartServer();
  RawConnection c(port_);
  ASSERT_TRUE(
      c.Send("POST /Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
             "Expect: 100-continue\r\n\r\n"));
  RawResponse interim = c.Read();
  EXPECT_EQ(interim.status, 100) << interim.Describe();
  ASSERT_TRUE(c.Send("{}"));
  RawResponse r = c.Read();
  EXPECT_EQ(r.status, 200) << r.Describe();
}

TEST_F(HttpServerTest, StopWithAnIdleKeepAliveConnectionReturnsPromptly) {
  HttpServerOptions options;
  options.shutdown_timeout = 20s;
  StartServer(options);
  RawConnection idle(port_);
  ASSERT_EQ(idle.Request("POST", "/Echo", "{}").status, 200);

  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(idle.WaitClosed(5s));
  RawConnection refused(port_);
  EXPECT_FALSE(refused.connected());
}

TEST_F(HttpServerTest, StopLetsAnInFlightRequestFinish) {
  HttpServerOptions options;
  options.shutdown_timeout = 20s;
  StartServer(options);
  RawConnection idle(port_);
  ASSERT_EQ(idle.Request("POST", "/Echo", "{}").status, 200);
  RawConnection busy(port_);
  ASSERT_TRUE(busy.Send(RequestText("POST", "/Slow", "{}")));
  std::optional<Responder> parked = parking_.Take();
  ASSERT_TRUE(parked.has_value());

  std::thread stopper([this] { server_->Stop(); });
  // The idle connection closing shows Stop() is under way; the busy one is still waited for.
  EXPECT_TRUE(idle.WaitClosed(5s));
  (*parked)(Json(R"({"finished":true})"));
  RawResponse r = busy.Read();
  stopper.join();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "{\"finished\":true}\n");
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(busy.WaitClosed(5s));
}

TEST_F(HttpServerTest, StopGivesUpOnRequestsAfterTheShutdownTimeout) {
  HttpServerOptions options;
  options.shutdown_timeout = 200ms;
  StartServer(options);
  RawConnection first(port_);
  ASSERT_TRUE(first.Send(RequestText("POST", "/Slow", "{}")));
  std::optional<Responder> first_parked = parking_.Take();
  ASSERT_TRUE(first_parked.has_value());
  RawConnection second(port_);
  ASSERT_TRUE(second.Send(RequestText("POST", "/Slow", "{}")));
  std::optional<Responder> second_parked = parking_.Take();
  ASSERT_TRUE(second_parked.has_value());

  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(first.WaitClosed(5s));
  EXPECT_TRUE(second.WaitClosed(5s));
  // Answers arriving after the stop, and after the server is destroyed, are dropped without
  // touching freed memory (ASan would report it).
  (*first_parked)(Json("{}"));
  server_.reset();
  (*second_parked)(Json("{}"));
  first_parked.reset();
  second_parked.reset();
}

// Timeouts are deadlines checked by one server-wide sweep (every 250 ms), not a timer per read.
class HttpTimeoutTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.idle_timeout = 300ms;
    StartServer(options);
  }
};

TEST_F(HttpTimeoutTest, AnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  RawConnection idle(port_);
  ASSERT_EQ(idle.Request("POST", "/Echo", "{}").status, 200);
  EXPECT_FALSE(idle.WaitClosed(150ms)) << "closed before the idle timeout";
  EXPECT_TRUE(idle.WaitClosed(3s)) << "still open long after the idle timeout";
}

TEST_F(HttpTimeoutTest, AHalfSentRequestIsClosedAfterTheIdleTimeout) {
  RawConnection stalled(port_);
  ASSERT_TRUE(stalled.Send("POST /Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"));
  EXPECT_TRUE(stalled.WaitClosed(3s)) << "a client that stops mid-request holds a connection";
}

// A client that stops reading a large response is cut off after write_timeout, also while the
// server is stopping: Stop() does not wait for it until its shutdown_timeout.
TEST_F(HttpServerTest, AClientThatStopsReadingIsCutOffAfterTheWriteTimeout) {
  HttpServerOptions options;
  options.write_timeout = 300ms;
  options.shutdown_timeout = 20s;
  options.max_body_bytes = 64 * 1024 * 1024;
  StartServer(options);
  RawConnection stuck(port_);
  // Echoed back, 32 MiB is more than the kernel's socket buffers hold: the write blocks.
  ASSERT_TRUE(stuck.Send(RequestText("POST", "/Echo", std::string(32 * 1024 * 1024, 'x'))));
  // Its first bytes arrive: the response is being written, and stalls (nothing reads it).
  ASSERT_TRUE(stuck.WaitReadable(10s));
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s)
      << "Stop() waited for a client that never reads";
}

TEST_F(HttpTimeoutTest, ARequestInUseOrBeingHandledIsNotTimedOut) {
  RawConnection busy(port_);
  ASSERT_TRUE(busy.Send(RequestText("POST", "/Slow", "{}")));
  std::optional<Responder> parked = parking_.Take();
  ASSERT_TRUE(parked.has_value());
  // Requests every 60 ms on another connection keep it open past the idle timeout and the
  // sweep's lateness (300 + 250 ms), while the parked one waits (a long-poll may take 20 s).
  RawConnection active(port_);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(active.Request("POST", "/Echo", "{}").status, 200) << "request " << i;
    EXPECT_FALSE(active.WaitClosed(60ms)) << "closed while in use, after request " << i;
  }
  (*parked)(Json(R"({"late":true})"));
  RawResponse r = busy.Read();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "{\"late\":true}\n");
}

}  // namespace
}  // namespace line
