// GTest glue for end-to-end tests against a real lined: calling the API and reading its JSON
// with failures reported instead of exceptions, listing with pagination, SPEC invariant
// checks, and a fixture that owns one lined per test.
//
// The free functions are thread-safe as long as each thread uses its own HttpClient (GTest
// assertions are thread-safe with pthreads).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "testing/http_client.h"
#include "testing/lined_process.h"

namespace line::testing {

namespace json = boost::json;

// POSTs `request` to `path`; records a test failure unless the answer is 200 with a JSON
// object, which it returns (an empty object on failure).
json::object CallOk(HttpClient& client, std::string_view path, const json::value& request);

// Reads a field of an API answer, recording a failure (with the whole object) when it is
// missing or has another type.
std::string Str(const json::object& o, std::string_view key);
int64_t Int(const json::object& o, std::string_view key);
bool Bool(const json::object& o, std::string_view key);
const json::array& Arr(const json::object& o, std::string_view key);
const json::object& Obj(const json::value& v);
std::vector<std::string> Strings(const json::array& a);

// Every item of a List* call, following next_token until it is absent or empty.
Result<std::vector<json::object>> ListAll(HttpClient& client, std::string_view path,
                                          json::object request, std::string_view field,
                                          int64_t page_size = 1000);

// SPEC invariant 1 for every worker of the pool: free + sum(size of its live allocs, from
// ListAllocs state=live) == capacity and 0 <= free <= capacity; also that the worker's own
// `allocs` list names exactly those allocs. Reads several responses, so call it when the pool
// is quiescent (no placement or completion in flight), e.g. after WaitForQuiescence.
::testing::AssertionResult CheckCapacityInvariant(HttpClient& client, const std::string& pool_id);

// SPEC invariant 2's "never duplicated into two live allocs": no eval is the eval of two live
// allocs, and each live alloc's eval is `placed` on exactly that alloc.
::testing::AssertionResult CheckNoEvalInTwoLiveAllocs(HttpClient& client,
                                                      const std::string& pool_id);

// Waits until DescribePool's counters (free, live_allocs, pending_evals, blocked_evals) stay
// the same over `settle` (the scheduler has nothing more it can do), up to `timeout`.
::testing::AssertionResult WaitForQuiescence(
    HttpClient& client, const std::string& pool_id,
    std::chrono::milliseconds timeout = std::chrono::seconds(30),
    std::chrono::milliseconds settle = std::chrono::milliseconds(500));

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
// For waits on real time that cannot be avoided against a real process (TTL expiry).
bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// One lined per test, started in SetUp with the options of Options(), the log tail printed
// when the test failed.
class LinedTest : public ::testing::Test {
 protected:
  virtual LinedOptions Options() { return {}; }

  void SetUp() override;
  void TearDown() override;

  HttpClient& client() { return *client_; }
  // A fresh client for another thread.
  std::unique_ptr<HttpClient> NewClient() const;

  json::object Call(std::string_view path, const json::value& request) {
    return CallOk(*client_, path, request);
  }
  std::string CreatePool(json::object request = {});
  std::string RegisterWorker(const std::string& pool_id, int64_t capacity);
  void Heartbeat(const std::string& pool_id, const std::string& worker_id,
                 const std::vector<std::string>& allocs, const std::vector<std::string>& datasets);
  std::string ScheduleEval(const std::string& pool_id, int64_t size,
                           const std::string& dataset_id = "",
                           const json::value& payload = nullptr);
  json::object DescribeEval(const std::string& pool_id, const std::string& eval_id);
  json::object DescribePool(const std::string& pool_id);
  json::object DescribeWorker(const std::string& pool_id, const std::string& worker_id);

  std::unique_ptr<LinedProcess> lined_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace line::testing
