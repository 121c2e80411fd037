// libline's transport against a scripted fake server: which answers are retried, how often,
// keep-alive reuse, timeouts, and what reaches the wire.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "client/fake_server.h"
#include "line/client.h"
#include "testing/lined_process.h"

namespace line::client {
namespace {

using std::chrono::milliseconds;
using testing::FakeAnswer;
using testing::FakeServer;

using testing::FastRetries;
using testing::Unavailable;

TEST(TransportTest, RetriesOn503ThenSucceeds) {
  FakeServer server([](int i, const std::string&) {
    return i < 2 ? Unavailable() : FakeAnswer{200, R"({"pool_id":"0123456789abcdef0123"})"};
  });
  Client client(FastRetries(server.url()));
  auto pool = client.CreatePool({});
  ASSERT_TRUE(pool.ok()) << pool.error().ToString();
  EXPECT_EQ(pool->pool_id, "0123456789abcdef0123");
  EXPECT_EQ(server.requests(), 3);
}

TEST(TransportTest, NeverRetriesA4xx) {
  FakeServer server([](int, const std::string&) {
    return FakeAnswer{400,
                      R"({"message":"capacity must be an integer from 1 to 2147483647, got 0",)"
                      R"("code":"InvalidInput"})"};
  });
  Client client(FastRetries(server.url()));
  auto worker = client.RegisterWorker({.pool_id = "0123456789abcdef0123", .capacity = 0});
  ASSERT_FALSE(worker.ok());
  EXPECT_EQ(worker.error().http_status, 400);
  EXPECT_EQ(worker.error().code, "InvalidInput");
  EXPECT_EQ(worker.error().message, "capacity must be an integer from 1 to 2147483647, got 0");
  EXPECT_EQ(worker.error().attempts, 1);
  EXPECT_EQ(server.requests(), 1);
}

TEST(TransportTest, NeverRetriesA409OrA500) {
  FakeServer server([](int i, const std::string&) {
    return i == 0 ? FakeAnswer{409, R"({"message":"ended","code":"AllocAlreadyEnded"})"}
                  : FakeAnswer{500, R"({"message":"bug","code":"InternalError"})"};
  });
  Client client(FastRetries(server.url()));
  auto first = client.CompleteAlloc({.pool_id = "p", .alloc_id = "a"});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "AllocAlreadyEnded");
  EXPECT_EQ(first.error().attempts, 1);
  auto second = client.DescribePool({.pool_id = "p"});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().http_status, 500);
  EXPECT_EQ(second.error().code, "InternalError");
  EXPECT_EQ(server.requests(), 2);
}

TEST(TransportTest, Persistent503StopsAtMaxAttempts) {
  FakeServer server([](int, const std::string&) { return Unavailable(); });
  ClientOptions options = FastRetries(server.url());
  options.max_attempts = 4;
  Client client(options);
  auto pool = client.DescribePool({.pool_id = "p"});
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().http_status, 503);
  EXPECT_EQ(pool.error().code, "StoreUnavailable");
  EXPECT_EQ(pool.error().attempts, 4);
  EXPECT_EQ(server.requests(), 4);
}

TEST(TransportTest, RetryBudgetZeroMeansOneAttempt) {
  FakeServer server([](int, const std::string&) { return Unavailable(); });
  ClientOptions options = FastRetries(server.url());
  options.retry_budget = milliseconds(0);
  Client client(options);
  auto pool = client.DescribePool({.pool_id = "p"});
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().attempts, 1);
  EXPECT_EQ(server.requests(), 1);
}

TEST(TransportTest, KeepAliveReusesOneConnection) {
  FakeServer server([](int, const std::string&) { return FakeAnswer{200, R"({"status":"ok"})"}; });
  Client client(FastRetries(server.url()));
  for (int i = 0; i < 5; ++i) {
    auto health = client.Healthz();
    ASSERT_TRUE(health.ok()) << health.error().ToString();
    EXPECT_EQ(health->status, "ok");
  }
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.heads()[0].substr(0, 21), "GET /healthz HTTP/1.1");
}

TEST(TransportTest, ConnectionCloseIsHonoured) {
  FakeServer server([](int, const std::string&) {
    return FakeAnswer{200, "{}", "Connection: close\r\n", false, /*close_after=*/true};
  });
  Client client(FastRetries(server.url()));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.DisbandPool({.pool_id = "p"}).ok());
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.connections(), 3);
}

// The server closes an idle keep-alive connection without announcing it: the next request on
// it finds it closed before any answer and goes out again on a fresh connection, silently.
TEST(TransportTest, StaleKeepAliveConnectionIsReplacedWithoutARetry) {
  FakeServer server([](int, const std::string&) {
    return FakeAnswer{200, "{}", "", false, /*close_after=*/true};
  });
  ClientOptions options = FastRetries(server.url());
  options.max_attempts = 1;  // proves the re-send is not counted as a retry
  Client client(options);
  for (int i = 0; i < 3; ++i) {
    auto r = client.DrainWorker({.pool_id = "p", .worker_id = "w"});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.connections(), 3);
}

TEST(TransportTest, DeadServerIsUnreachableWithinTheRetryBudget) {
  int port = line::testing::FreePort();  // nothing listens there
  ClientOptions options;
  options.server = "http://127.0.0.1:" + std::to_string(port);
  options.retry_budget = milliseconds(600);
  options.max_attempts = 1000;
  options.initial_backoff = milliseconds(10);
  options.max_backoff = milliseconds(100);
  Client client(options);
  auto start = std::chrono::steady_clock::now();
  auto pools = client.ListPools();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(pools.ok());
  EXPECT_TRUE(pools.error().unreachable());
  EXPECT_EQ(pools.error().http_status, 0);
  EXPECT_EQ(pools.error().code, "Unreachable");
  EXPECT_NE(pools.error().message.find("connect"), std::string::npos) << pools.error().message;
  EXPECT_GT(pools.error().attempts, 1);
  EXPECT_LT(elapsed, milliseconds(600 + 500));
}

TEST(TransportTest, NoAnswerTimesOutAsUnreachable) {
  FakeServer server([](int, const std::string&) {
    FakeAnswer a;
    a.no_answer = true;
    return a;
  });
  ClientOptions options = FastRetries(server.url());
  options.timeout = milliseconds(200);
  options.max_attempts = 2;
  Client client(options);
  auto start = std::chrono::steady_clock::now();
  auto pool = client.DescribePool({.pool_id = "p"});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, "Unreachable");
  EXPECT_NE(pool.error().message.find("no answer within 200 ms"), std::string::npos)
      << pool.error().message;
  EXPECT_EQ(pool.error().attempts, 2);  // a timeout may be retried: no answer came
  EXPECT_EQ(server.requests(), 2);
  EXPECT_GE(elapsed, milliseconds(400));
}

TEST(TransportTest, ChunkedAnswerIsDecoded) {
  FakeServer server([](int, const std::string&) {
    FakeAnswer a{200, R"({"eval_ids":["a","b","c"]})"};
    a.chunked = true;
    return a;
  });
  Client client(FastRetries(server.url()));
  auto ids = client.ScheduleEvals({.pool_id = "p", .evals = {{.size = 1}}});
  ASSERT_TRUE(ids.ok()) << ids.error().ToString();
  EXPECT_EQ(ids->eval_ids, (std::vector<std::string>{"a", "b", "c"}));
  auto again = client.ScheduleEvals({.pool_id = "p", .evals = {{.size = 1}}});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->eval_ids.size(), 3u);
  EXPECT_EQ(server.connections(), 1);  // the connection stays usable after a chunked answer
}

TEST(TransportTest, UnexpectedAnswersAreBadResponse) {
  FakeServer server([](int i, const std::string&) {
    if (i == 0) return FakeAnswer{200, "not json"};
    if (i == 1) return FakeAnswer{200, R"({"pool_id":7})"};
    return FakeAnswer{502, "<html>bad gateway</html>"};
  });
  Client client(FastRetries(server.url()));
  auto a = client.CreatePool({});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "BadResponse");
  EXPECT_EQ(a.error().http_status, 200);
  auto b = client.CreatePool({});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "BadResponse");
  EXPECT_NE(b.error().message.find("pool_id"), std::string::npos) << b.error().message;
  auto c = client.CreatePool({});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().http_status, 502);
  EXPECT_EQ(c.error().code, "BadResponse");
  EXPECT_EQ(c.error().attempts, 1);  // only 503 is retried among the 5xx
  EXPECT_EQ(server.requests(), 3);
}

TEST(TransportTest, InvalidPayloadIsRefusedBeforeSending) {
  FakeServer server([](int, const std::string&) { return FakeAnswer{}; });
  Client client(FastRetries(server.url()));
  auto eval = client.ScheduleEval({.pool_id = "p", .size = 1, .payload = "{not json"});
  ASSERT_FALSE(eval.ok());
  EXPECT_EQ(eval.error().http_status, 0);
  EXPECT_EQ(eval.error().code, "InvalidInput");
  EXPECT_NE(eval.error().message.find("payload"), std::string::npos);
  auto batch =
      client.ScheduleEvals({.pool_id = "p", .evals = {{.size = 1}, {.size = 1, .payload = "["}}});
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.error().message.find("evals[1].payload"), std::string::npos)
      << batch.error().message;
  auto done = client.CompleteAlloc({.pool_id = "p", .alloc_id = "a", .result = "nope"});
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message.find("result"), std::string::npos);
  EXPECT_EQ(server.requests(), 0);
}

// Retries after a 503 must send the same idempotency key, or a retry could submit twice.
TEST(TransportTest, AutoIdempotencyKeyIsStableAcrossRetries) {
  FakeServer server([](int i, const std::string&) {
    return i == 0 ? Unavailable() : FakeAnswer{200, R"({"eval_id":"e"})"};
  });
  Client client(FastRetries(server.url()));
  auto eval = client.ScheduleEval({.pool_id = "p", .size = 2, .payload = R"({"k":[1,2]})"});
  ASSERT_TRUE(eval.ok()) << eval.error().ToString();
  std::vector<std::string> bodies = server.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0], bodies[1]);
  boost::json::object sent = boost::json::parse(bodies[0]).as_object();
  ASSERT_TRUE(sent.contains("idempotency_key"));
  EXPECT_FALSE(sent["idempotency_key"].as_string().empty());
  EXPECT_EQ(sent["payload"], boost::json::parse(R"({"k":[1,2]})"));
  EXPECT_EQ(sent["size"], 2);
}

TEST(TransportTest, AutoIdempotencyKeysCanBeTurnedOff) {
  FakeServer server([](int, const std::string&) { return FakeAnswer{200, R"({"eval_id":"e"})"}; });
  ClientOptions options = FastRetries(server.url());
  options.auto_idempotency_keys = false;
  Client client(options);
  ASSERT_TRUE(client.ScheduleEval({.pool_id = "p", .size = 1}).ok());
  boost::json::object sent = boost::json::parse(server.bodies()[0]).as_object();
  EXPECT_FALSE(sent.contains("idempotency_key"));
  EXPECT_FALSE(sent.contains("payload"));  // absent payload is not sent
}

TEST(TransportTest, ManyThreadsShareOneClient) {
  FakeServer server([](int, const std::string&) { return FakeAnswer{200, R"({"redriven":2})"}; });
  Client client(FastRetries(server.url()));
  constexpr int kThreads = 4;
  constexpr int kCalls = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        auto r = client.RedriveDeadLetters({.pool_id = "p"});
        if (r.ok() && r->redriven == 2) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kCalls);
  EXPECT_EQ(server.requests(), kThreads * kCalls);
  EXPECT_LE(server.connections(), kThreads);  // connections are reused, never one per call
}

TEST(TransportTest, ServerAddressForms) {
  EXPECT_EQ(Client({.server = "127.0.0.1:9"}).server(), "http://127.0.0.1:9");
  EXPECT_EQ(Client({.server = "http://localhost:8081/"}).server(), "http://localhost:8081");
  Client bad({.server = "https://example.com:443"});
  auto r = bad.Healthz();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidInput");
  EXPECT_NE(r.error().message.find("https://example.com:443"), std::string::npos);
}

TEST(TransportTest, ServerDefaultsToLineServerThenLocalhost) {
  const char* saved = std::getenv("LINE_SERVER");
  std::string saved_value = saved != nullptr ? saved : "";
  unsetenv("LINE_SERVER");
  EXPECT_EQ(Client().server(), "http://127.0.0.1:8080");
  setenv("LINE_SERVER", "http://10.1.2.3:7000", 1);
  EXPECT_EQ(Client().server(), "http://10.1.2.3:7000");
  EXPECT_EQ(Client({.server = "http://h:1"}).server(), "http://h:1");
  if (saved != nullptr) {
    setenv("LINE_SERVER", saved_value.c_str(), 1);
  } else {
    unsetenv("LINE_SERVER");
  }
}

}  // namespace
}  // namespace line::client
