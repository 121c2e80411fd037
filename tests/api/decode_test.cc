// The decoders: every field of every endpoint refused when missing, mistyped, out of range or
// of the wrong shape, with a message naming the field and the value; the happy paths and the
// defaults.
#include "api/decode.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "api/encode.h"

namespace line {
namespace {

constexpr char kPool[] = "0123456789abcdef0123";
constexpr char kWorker[] = "aaaaaaaaaabbbbbbbbbb";
constexpr char kEval[] = "ccccccccccdddddddddd";
constexpr char kAlloc[] = "eeeeeeeeeeffffffffff";

using Decoder = std::function<Status(std::string_view)>;

template <typename T>
Decoder D(Result<T> (*decode)(std::string_view)) {
  return [decode](std::string_view body) { return decode(body).status(); };
}

// `{"pool_id":kPool, <rest>}`
std::string WithPool(const std::string& rest) {
  return std::string("{\"pool_id\":\"") + kPool + "\"" + (rest.empty() ? "" : "," + rest) + "}";
}
std::string WithWorker(const std::string& rest) {
  return WithPool(std::string("\"worker_id\":\"") + kWorker + "\"" +
                  (rest.empty() ? "" : "," + rest));
}

struct BadCase {
  const char* endpoint;
  Decoder decode;
  std::string body;
  std::string message;  // the exact message expected
};

// Every endpoint decoder, for the checks that apply to all of them.
const std::vector<std::pair<const char*, Decoder>>& AllDecoders() {
  static const auto* all = new std::vector<std::pair<const char*, Decoder>>{
      {"CreatePool", D(&DecodeCreatePool)},
      {"RegisterWorker", D(&DecodeRegisterWorker)},
      {"PoolRequest", D(&DecodePoolRequest)},
      {"SendHeartbeat", D(&DecodeSendHeartbeat)},
      {"ScheduleEval", D(&DecodeScheduleEval)},
      {"ScheduleEvals", D(&DecodeScheduleEvals)},
      {"CompleteAlloc", D(&DecodeCompleteAlloc)},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs)},
      {"ListPools", D(&DecodeListPools)},
      {"WorkerRequest", D(&DecodeWorkerRequest)},
      {"ListWorkers", D(&DecodeListWorkers)},
      {"DescribeEval", D(&DecodeDescribeEval)},
      {"ListEvals", D(&DecodeListEvals)},
      {"DescribeAlloc", D(&DecodeDescribeAlloc)},
      {"ListAllocs", D(&DecodeListAllocs)},
      {"ListDeadLetters", D(&DecodeListDeadLetters)},
      {"RedriveDeadLetters", D(&DecodeRedriveDeadLetters)},
  };
  return *all;
}

TEST(DecodeTest, EveryEndpointRefusesABodyThatIsNotAJsonObject) {
  for (const auto& [name, decode] : AllDecoders()) {
    SCOPED_TRACE(name);
    for (const char* body : {"", "{", "{\"a\":}", "nul", "{\"a\":1}x"}) {
      Status s = decode(body);
      EXPECT_EQ(s.code(), Code::kInvalidInput) << body;
      EXPECT_EQ(s.message().rfind("body must be a JSON object, got invalid JSON (", 0), 0u)
          << s.message();
    }
    EXPECT_EQ(decode("[1,2]").message(), "body must be a JSON object, got [1,2]");
    EXPECT_EQ(decode("\"x\"").message(), "body must be a JSON object, got \"x\"");
    EXPECT_EQ(decode("null").message(), "body must be a JSON object, got null");
    EXPECT_EQ(decode("7").code(), Code::kInvalidInput);
  }
}

TEST(DecodeTest, EveryEndpointWithAPoolChecksPoolId) {
  for (const auto& [name, decode] : AllDecoders()) {
    std::string n = name;
    if (n == "CreatePool" || n == "ListPools") continue;
    SCOPED_TRACE(name);
    EXPECT_EQ(decode("{}").message(), "pool_id is required");
    EXPECT_EQ(decode(R"({"pool_id":"xyz"})").message(),
              "pool_id must be a 24-character lowercase hex id (or 20, from earlier versions), got \"xyz\"");
    EXPECT_EQ(decode(R"({"pool_id":"0123456789ABCDEF0123"})").message(),
              "pool_id must be a 24-character lowercase hex id (or 20, from earlier versions), got \"0123456789ABCDEF0123\"");
    EXPECT_EQ(decode(R"({"pool_id":"0123456789abcdef01234"})").code(), Code::kInvalidInput);
    EXPECT_EQ(decode(R"({"pool_id":"0123456789abcdef012g"})").code(), Code::kInvalidInput);
    EXPECT_EQ(decode(R"({"pool_id":""})").code(), Code::kInvalidInput);
    EXPECT_EQ(decode(R"({"pool_id":5})").message(),
              "pool_id must be a 24-character lowercase hex id (or 20, from earlier versions), got 5");
    EXPECT_EQ(decode(R"({"pool_id":null})").message(),
              "pool_id must be a 24-character lowercase hex id (or 20, from earlier versions), got null");
  }
}

const std::string kIdRule = " must be a 24-character lowercase hex id (or 20, from earlier versions), got ";
const std::string kIntRule = " must be an integer from ";
const std::string kClientRule = " must be 1-128 characters of [A-Za-z0-9._/-], got ";
const std::string kOptClientRule = " must be empty or 1-128 characters of [A-Za-z0-9._/-], got ";

std::vector<BadCase> BadCases() {
  const std::string long_id(129, 'a');
  return {
      // CreatePool
      {"CreatePool", D(&DecodeCreatePool), R"({"placement":"random"})",
       R"(placement must be "spread" or "binpack", got "random")"},
      {"CreatePool", D(&DecodeCreatePool), R"({"placement":1})",
       R"(placement must be "spread" or "binpack", got 1)"},
      {"CreatePool", D(&DecodeCreatePool), R"({"placement":""})",
       R"(placement must be "spread" or "binpack", got "")"},
      {"CreatePool", D(&DecodeCreatePool), R"({"max_retry":0})",
       "max_retry" + kIntRule + "1 to 1000, got 0"},
      {"CreatePool", D(&DecodeCreatePool), R"({"max_retry":1001})",
       "max_retry" + kIntRule + "1 to 1000, got 1001"},
      {"CreatePool", D(&DecodeCreatePool), R"({"max_retry":"3"})",
       "max_retry" + kIntRule + "1 to 1000, got \"3\""},
      {"CreatePool", D(&DecodeCreatePool), R"({"max_retry":2.5})",
       "max_retry" + kIntRule + "1 to 1000, got 2.5E0"},
      {"CreatePool", D(&DecodeCreatePool), R"({"alloc_ttl":0})",
       "alloc_ttl" + kIntRule + "1 to 86400, got 0"},
      {"CreatePool", D(&DecodeCreatePool), R"({"alloc_ttl":86401})",
       "alloc_ttl" + kIntRule + "1 to 86400, got 86401"},
      {"CreatePool", D(&DecodeCreatePool), R"({"alloc_ttl":true})",
       "alloc_ttl" + kIntRule + "1 to 86400, got true"},
      // RegisterWorker
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(""), "capacity is required"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":0)"),
       "capacity" + kIntRule + "1 to 2147483647, got 0"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":-1)"),
       "capacity" + kIntRule + "1 to 2147483647, got -1"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":2147483648)"),
       "capacity" + kIntRule + "1 to 2147483647, got 2147483648"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":18446744073709551615)"),
       "capacity" + kIntRule + "1 to 2147483647, got 18446744073709551615"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":3.5)"),
       "capacity" + kIntRule + "1 to 2147483647, got 3.5E0"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":3.0)"),
       "capacity" + kIntRule + "1 to 2147483647, got 3E0"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":"3")"),
       "capacity" + kIntRule + "1 to 2147483647, got \"3\""},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":null)"),
       "capacity" + kIntRule + "1 to 2147483647, got null"},
      {"RegisterWorker", D(&DecodeRegisterWorker), WithPool(R"("capacity":[1])"),
       "capacity" + kIntRule + "1 to 2147483647, got [1]"},
      // SendHeartbeat
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithPool(""), "worker_id is required"},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithPool(R"("worker_id":"w1")"),
       "worker_id" + kIdRule + "\"w1\""},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithWorker(R"("allocs":"x")"),
       R"(allocs must be an array of strings, got "x")"},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithWorker(R"("allocs":["a",1])"),
       "allocs[1] must be a string, got 1"},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithWorker(R"("datasets":{})"),
       "datasets must be an array of strings, got {}"},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithWorker(R"("datasets":["ok","a b"])"),
       "datasets[1]" + kClientRule + "\"a b\""},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithWorker(R"("datasets":[""])"),
       "datasets[0]" + kClientRule + "\"\""},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithWorker(R"("datasets":[null])"),
       "datasets[0]" + kClientRule + "null"},
      {"SendHeartbeat", D(&DecodeSendHeartbeat), WithWorker("\"datasets\":[\"" + long_id + "\"]"),
       "datasets[0]" + kClientRule + "\"" + long_id.substr(0, 99) + "..."},
      // ScheduleEval
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(""), "size is required"},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":0)"),
       "size" + kIntRule + "1 to 2147483647, got 0"},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":"3")"),
       "size" + kIntRule + "1 to 2147483647, got \"3\""},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":1e3)"),
       "size" + kIntRule + "1 to 2147483647, got 1E3"},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":1,"dataset_id":"a b")"),
       "dataset_id" + kOptClientRule + "\"a b\""},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":1,"dataset_id":5)"),
       "dataset_id" + kOptClientRule + "5"},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":1,"dataset_id":"d\u00e9")"),
       "dataset_id" + kOptClientRule + "\"d\xC3\xA9\""},
      {"ScheduleEval", D(&DecodeScheduleEval),
       WithPool("\"size\":1,\"payload\":\"" + std::string(65535, 'p') + "\""),
       "payload must serialize to at most 65536 bytes, got 65537 bytes"},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":1,"idempotency_key":"a b")"),
       "idempotency_key" + kOptClientRule + "\"a b\""},
      {"ScheduleEval", D(&DecodeScheduleEval), WithPool(R"("size":1,"idempotency_key":7)"),
       "idempotency_key" + kOptClientRule + "7"},
      // ScheduleEvals
      {"ScheduleEvals", D(&DecodeScheduleEvals), WithPool(""), "evals is required"},
      {"ScheduleEvals", D(&DecodeScheduleEvals), WithPool(R"("evals":{})"),
       "evals must be an array of 1 to 10000 eval objects, got {}"},
      {"ScheduleEvals", D(&DecodeScheduleEvals), WithPool(R"("evals":null)"),
       "evals must be an array of 1 to 10000 eval objects, got null"},
      {"ScheduleEvals", D(&DecodeScheduleEvals), WithPool(R"("evals":[])"),
       "evals must be an array of 1 to 10000 eval objects, got 0 elements"},
      {"ScheduleEvals", D(&DecodeScheduleEvals), WithPool(R"("evals":[5])"),
       "evals[0] must be an object, got 5"},
      {"ScheduleEvals", D(&DecodeScheduleEvals),
       WithPool(R"("evals":[{"size":1},{"size":1},{"size":1},{"dataset_id":"d"}])"),
       "evals[3].size is required"},
      {"ScheduleEvals", D(&DecodeScheduleEvals), WithPool(R"("evals":[{"size":1},{"size":0}])"),
       "evals[1].size" + kIntRule + "1 to 2147483647, got 0"},
      {"ScheduleEvals", D(&DecodeScheduleEvals),
       WithPool(R"("evals":[{"size":1,"dataset_id":"a b"}])"),
       "evals[0].dataset_id" + kOptClientRule + "\"a b\""},
      {"ScheduleEvals", D(&DecodeScheduleEvals),
       WithPool(R"("evals":[{"size":1},{"size":1,"idempotency_key":"?"}])"),
       "evals[1].idempotency_key" + kOptClientRule + "\"?\""},
      {"ScheduleEvals", D(&DecodeScheduleEvals),
       WithPool("\"evals\":[{\"size\":1,\"payload\":\"" + std::string(70000, 'p') + "\"}]"),
       "evals[0].payload must serialize to at most 65536 bytes, got 70002 bytes"},
      // CompleteAlloc
      {"CompleteAlloc", D(&DecodeCompleteAlloc), WithPool(""), "alloc_id is required"},
      {"CompleteAlloc", D(&DecodeCompleteAlloc), WithPool(R"("alloc_id":"a1")"),
       "alloc_id" + kIdRule + "\"a1\""},
      {"CompleteAlloc", D(&DecodeCompleteAlloc),
       WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"worker_id\":\"w1\""),
       "worker_id" + kIdRule + "\"w1\""},
      {"CompleteAlloc", D(&DecodeCompleteAlloc),
       WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"exit_code\":1.5"),
       "exit_code" + kIntRule + "-2147483648 to 2147483647, got 1.5E0"},
      {"CompleteAlloc", D(&DecodeCompleteAlloc),
       WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"exit_code\":\"0\""),
       "exit_code" + kIntRule + "-2147483648 to 2147483647, got \"0\""},
      {"CompleteAlloc", D(&DecodeCompleteAlloc),
       WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"exit_code\":2147483648"),
       "exit_code" + kIntRule + "-2147483648 to 2147483647, got 2147483648"},
      {"CompleteAlloc", D(&DecodeCompleteAlloc),
       WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"failed\":\"yes\""),
       R"(failed must be true or false, got "yes")"},
      {"CompleteAlloc", D(&DecodeCompleteAlloc),
       WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"failed\":1"),
       "failed must be true or false, got 1"},
      {"CompleteAlloc", D(&DecodeCompleteAlloc),
       WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"result\":[\"" +
                std::string(65534, 'r') + "\"]"),
       "result must serialize to at most 65536 bytes, got 65538 bytes"},
      // ReceiveAllocs
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithPool(""), "worker_id is required"},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithPool(R"("worker_id":7)"),
       "worker_id" + kIdRule + "7"},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithWorker(R"("max_number_of_messages":0)"),
       "max_number_of_messages" + kIntRule + "1 to 100, got 0"},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithWorker(R"("max_number_of_messages":101)"),
       "max_number_of_messages" + kIntRule + "1 to 100, got 101"},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithWorker(R"("max_number_of_messages":"10")"),
       "max_number_of_messages" + kIntRule + "1 to 100, got \"10\""},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithWorker(R"("wait_time_seconds":-1)"),
       "wait_time_seconds" + kIntRule + "0 to 20, got -1"},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithWorker(R"("wait_time_seconds":21)"),
       "wait_time_seconds" + kIntRule + "0 to 20, got 21"},
      {"ReceiveAllocs", D(&DecodeReceiveAllocs), WithWorker(R"("wait_time_seconds":0.5)"),
       "wait_time_seconds" + kIntRule + "0 to 20, got 5E-1"},
      // ListPools
      {"ListPools", D(&DecodeListPools), R"({"max_results":0})",
       "max_results" + kIntRule + "1 to 1000, got 0"},
      {"ListPools", D(&DecodeListPools), R"({"max_results":1001})",
       "max_results" + kIntRule + "1 to 1000, got 1001"},
      {"ListPools", D(&DecodeListPools), R"({"max_results":"5"})",
       "max_results" + kIntRule + "1 to 1000, got \"5\""},
      {"ListPools", D(&DecodeListPools), R"({"next_token":5})",
       "next_token must be a string, got 5"},
      // DescribeWorker, DrainWorker, DeregisterWorker
      {"WorkerRequest", D(&DecodeWorkerRequest), WithPool(""), "worker_id is required"},
      {"WorkerRequest", D(&DecodeWorkerRequest), WithPool(R"("worker_id":"")"),
       "worker_id" + kIdRule + "\"\""},
      {"WorkerRequest", D(&DecodeWorkerRequest), WithPool(R"("worker_id":"W")"),
       "worker_id" + kIdRule + "\"W\""},
      // ListWorkers
      {"ListWorkers", D(&DecodeListWorkers), WithPool(R"("max_results":1001)"),
       "max_results" + kIntRule + "1 to 1000, got 1001"},
      {"ListWorkers", D(&DecodeListWorkers), WithPool(R"("next_token":[])"),
       "next_token must be a string, got []"},
      // DescribeEval
      {"DescribeEval", D(&DecodeDescribeEval), WithPool(""), "eval_id is required"},
      {"DescribeEval", D(&DecodeDescribeEval), WithPool(R"("eval_id":"e")"),
       "eval_id" + kIdRule + "\"e\""},
      // ListEvals
      {"ListEvals", D(&DecodeListEvals), WithPool(R"("state":"live")"),
       R"(state must be pending, placed, completed or dead, got "live")"},
      {"ListEvals", D(&DecodeListEvals), WithPool(R"("state":1)"),
       "state must be pending, placed, completed or dead, got 1"},
      {"ListEvals", D(&DecodeListEvals), WithPool(R"("max_results":0)"),
       "max_results" + kIntRule + "1 to 1000, got 0"},
      {"ListEvals", D(&DecodeListEvals), WithPool(R"("next_token":false)"),
       "next_token must be a string, got false"},
      // DescribeAlloc
      {"DescribeAlloc", D(&DecodeDescribeAlloc), WithPool(""), "alloc_id is required"},
      {"DescribeAlloc", D(&DecodeDescribeAlloc), WithPool(R"("alloc_id":{})"),
       "alloc_id" + kIdRule + "{}"},
      // ListAllocs
      {"ListAllocs", D(&DecodeListAllocs), WithPool(R"("worker_id":"w")"),
       "worker_id" + kIdRule + "\"w\""},
      {"ListAllocs", D(&DecodeListAllocs), WithPool(R"("state":"pending")"),
       R"(state must be live, completed or expired, got "pending")"},
      {"ListAllocs", D(&DecodeListAllocs), WithPool(R"("max_results":5000)"),
       "max_results" + kIntRule + "1 to 1000, got 5000"},
      // ListDeadLetters
      {"ListDeadLetters", D(&DecodeListDeadLetters), WithPool(R"("max_results":-3)"),
       "max_results" + kIntRule + "1 to 1000, got -3"},
      {"ListDeadLetters", D(&DecodeListDeadLetters), WithPool(R"("next_token":1)"),
       "next_token must be a string, got 1"},
      // RedriveDeadLetters
      {"RedriveDeadLetters", D(&DecodeRedriveDeadLetters), WithPool(R"("eval_ids":"x")"),
       R"(eval_ids must be an array of eval ids, got "x")"},
      {"RedriveDeadLetters", D(&DecodeRedriveDeadLetters),
       WithPool(std::string("\"eval_ids\":[\"") + kEval + "\",\"bad\"]"),
       "eval_ids[1]" + kIdRule + "\"bad\""},
  };
}

TEST(DecodeTest, InvalidFieldsAreRefusedWithAMessageNamingFieldAndValue) {
  for (const BadCase& c : BadCases()) {
    SCOPED_TRACE(std::string(c.endpoint) + " " + c.body.substr(0, 200));
    Status s = c.decode(c.body);
    EXPECT_EQ(s.code(), Code::kInvalidInput);
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST(DecodeTest, ShownValuesAreCutAtACharacterBoundaryAndStayValidJson) {
  // 60 two-byte characters: 100 bytes of quotes and text would cut one in half.
  std::string accents;
  for (int i = 0; i < 60; ++i) accents += "\xC3\xA9";
  Status s = DecodeScheduleEval(WithPool("\"size\":1,\"dataset_id\":\"" + accents + "\"")).status();
  ASSERT_EQ(s.code(), Code::kInvalidInput);
  EXPECT_LT(s.message().size(), 200u);
  EXPECT_EQ(s.message().substr(s.message().size() - 3), "...");
  boost::system::error_code ec;
  boost::json::parse(EncodeError(s), ec);  // refuses invalid UTF-8
  EXPECT_FALSE(ec) << ec.message();
}

TEST(DecodeTest, NestingDeeperThanTheLimitIsInvalidJson) {
  std::string deep = std::string(100, '[') + std::string(100, ']');
  Status s = DecodeScheduleEval(WithPool("\"size\":1,\"payload\":" + deep)).status();
  EXPECT_EQ(s.code(), Code::kInvalidInput);
  std::string ok = std::string(40, '[') + std::string(40, ']');
  EXPECT_TRUE(DecodeScheduleEval(WithPool("\"size\":1,\"payload\":" + ok)).ok());
}

TEST(DecodeTest, CreatePool) {
  Result<CreatePoolRequest> empty = DecodeCreatePool("{}");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_FALSE(empty->placement.has_value());
  EXPECT_FALSE(empty->max_retry.has_value());
  EXPECT_FALSE(empty->alloc_ttl.has_value());

  Result<CreatePoolRequest> nulls =
      DecodeCreatePool(R"({"placement":null,"max_retry":null,"alloc_ttl":null})");
  ASSERT_TRUE(nulls.ok()) << nulls.status().ToString();
  EXPECT_FALSE(nulls->placement.has_value());

  Result<CreatePoolRequest> full =
      DecodeCreatePool(R"({"placement":"binpack","max_retry":1000,"alloc_ttl":86400,"x":1})");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->placement, PlacementPolicy::kBinpack);
  EXPECT_EQ(full->max_retry, 1000);
  EXPECT_EQ(full->alloc_ttl, 86400);
  EXPECT_EQ(DecodeCreatePool(R"({"placement":"spread","max_retry":1,"alloc_ttl":1})")->placement,
            PlacementPolicy::kSpread);
}

TEST(DecodeTest, RegisterWorker) {
  Result<RegisterWorkerRequest> r =
      DecodeRegisterWorker(WithPool(R"("capacity":2147483647,"unknown":{"a":[1]})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->capacity, 2147483647);
  EXPECT_EQ(DecodeRegisterWorker(WithPool(R"("capacity":1)"))->capacity, 1);
}

TEST(DecodeTest, PoolRequest) {
  Result<PoolRequest> r = DecodePoolRequest(WithPool(""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
}

TEST(DecodeTest, SendHeartbeat) {
  Result<HeartbeatRequest> r = DecodeSendHeartbeat(
      WithWorker(std::string("\"allocs\":[\"") + kAlloc +
                 "\",\"not-an-id\",\"\"],\"datasets\":[\"d1\",\"a/b.c_d-E9\"]"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->worker_id, kWorker);
  EXPECT_EQ(r->allocs, (std::vector<std::string>{kAlloc, "not-an-id", ""}));
  EXPECT_EQ(r->datasets, (std::vector<std::string>{"d1", "a/b.c_d-E9"}));

  // Clients that serialize empty lists as null (Go's nil slices) or omit them.
  for (const std::string& body : {WithWorker(""), WithWorker(R"("allocs":null,"datasets":null)"),
                                  WithWorker(R"("allocs":[],"datasets":[])")}) {
    Result<HeartbeatRequest> e = DecodeSendHeartbeat(body);
    ASSERT_TRUE(e.ok()) << body << ": " << e.status().ToString();
    EXPECT_TRUE(e->allocs.empty());
    EXPECT_TRUE(e->datasets.empty());
  }
  std::string longest(128, 'z');
  EXPECT_TRUE(DecodeSendHeartbeat(WithWorker("\"datasets\":[\"" + longest + "\"]")).ok());
}

TEST(DecodeTest, ScheduleEvalDefaults) {
  Result<ScheduleEvalRequest> r = DecodeScheduleEval(WithPool(R"("size":5)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->eval.size, 5);
  EXPECT_EQ(r->eval.dataset_id, "");
  EXPECT_EQ(r->eval.payload, "null");
  EXPECT_EQ(r->eval.idempotency_key, "");

  for (const char* no_dataset : {R"("size":1,"dataset_id":"")", R"("size":1,"dataset_id":null)",
                                 R"("size":1,"idempotency_key":"")"}) {
    Result<ScheduleEvalRequest> e = DecodeScheduleEval(WithPool(no_dataset));
    ASSERT_TRUE(e.ok()) << no_dataset << ": " << e.status().ToString();
    EXPECT_EQ(e->eval.dataset_id, "");
    EXPECT_EQ(e->eval.idempotency_key, "");
  }
}

TEST(DecodeTest, ScheduleEvalFull) {
  Result<ScheduleEvalRequest> r = DecodeScheduleEval(WithPool(
      R"("size":2147483647,"dataset_id":"data/set-1.v2","payload":{"cmd": ["run", 1.5, null]},)"
      R"("idempotency_key":"key_1")"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->eval.size, 2147483647);
  EXPECT_EQ(r->eval.dataset_id, "data/set-1.v2");
  EXPECT_EQ(boost::json::parse(r->eval.payload), boost::json::parse(R"({"cmd":["run",1.5,null]})"));
  EXPECT_EQ(r->eval.idempotency_key, "key_1");

  // Any JSON value is a payload, including scalars and an explicit null.
  for (const char* payload : {"\"text\"", "42", "true", "null", "[]"}) {
    Result<ScheduleEvalRequest> p =
        DecodeScheduleEval(WithPool(std::string("\"size\":1,\"payload\":") + payload));
    ASSERT_TRUE(p.ok()) << payload;
    EXPECT_EQ(p->eval.payload, payload);
  }
  // Exactly at the limit: a string of 65534 characters serializes to 65536 bytes.
  Result<ScheduleEvalRequest> at_limit =
      DecodeScheduleEval(WithPool("\"size\":1,\"payload\":\"" + std::string(65534, 'p') + "\""));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->eval.payload.size(), 65536u);
}

TEST(DecodeTest, ScheduleEvals) {
  Result<ScheduleEvalsRequest> r = DecodeScheduleEvals(WithPool(
      R"("evals":[{"size":1},{"size":2,"dataset_id":"d","payload":[1],"idempotency_key":"k"}])"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  ASSERT_EQ(r->evals.size(), 2u);
  EXPECT_EQ(r->evals[0].size, 1);
  EXPECT_EQ(r->evals[0].payload, "null");
  EXPECT_EQ(r->evals[1].size, 2);
  EXPECT_EQ(r->evals[1].dataset_id, "d");
  EXPECT_EQ(r->evals[1].payload, "[1]");
  EXPECT_EQ(r->evals[1].idempotency_key, "k");
}

TEST(DecodeTest, ScheduleEvalsTakesUpTo10000) {
  auto batch = [](size_t n) {
    std::string evals;
    for (size_t i = 0; i < n; ++i) evals += std::string(i ? "," : "") + R"({"size":1})";
    return WithPool("\"evals\":[" + evals + "]");
  };
  Result<ScheduleEvalsRequest> max = DecodeScheduleEvals(batch(10000));
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(max->evals.size(), 10000u);
  EXPECT_EQ(DecodeScheduleEvals(batch(10001)).status().message(),
            "evals must be an array of 1 to 10000 eval objects, got 10001 elements");
}

TEST(DecodeTest, CompleteAllocDefaults) {
  Result<CompleteAllocRequest> r =
      DecodeCompleteAlloc(WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->alloc_id, kAlloc);
  EXPECT_FALSE(r->worker_id.has_value());
  EXPECT_FALSE(r->exit_code.has_value());
  EXPECT_EQ(r->result, "");
  EXPECT_FALSE(r->failed);

  Result<CompleteAllocRequest> nulls = DecodeCompleteAlloc(
      WithPool(std::string("\"alloc_id\":\"") + kAlloc +
               "\",\"worker_id\":\"\",\"exit_code\":null,\"result\":null,\"failed\":null"));
  ASSERT_TRUE(nulls.ok()) << nulls.status().ToString();
  EXPECT_FALSE(nulls->worker_id.has_value());
  EXPECT_FALSE(nulls->exit_code.has_value());
  EXPECT_EQ(nulls->result, "");
  EXPECT_FALSE(nulls->failed);
}

TEST(DecodeTest, CompleteAllocFull) {
  Result<CompleteAllocRequest> r = DecodeCompleteAlloc(
      WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"worker_id\":\"" + kWorker +
               "\",\"exit_code\":-2147483648,\"result\":{\"out\": \"ok\"},\"failed\":true"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->worker_id, std::optional<std::string>(kWorker));
  EXPECT_EQ(r->exit_code, std::optional<int64_t>(-2147483648LL));
  EXPECT_EQ(r->result, R"({"out":"ok"})");
  EXPECT_TRUE(r->failed);
  Result<CompleteAllocRequest> text = DecodeCompleteAlloc(
      WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\",\"result\":\"\",\"exit_code\":0"));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->result, "\"\"");  // an empty string is a result, unlike null
  EXPECT_EQ(text->exit_code, std::optional<int64_t>(0));
}

TEST(DecodeTest, ReceiveAllocs) {
  Result<ReceiveAllocsRequest> d = DecodeReceiveAllocs(WithWorker(""));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->pool_id, kPool);
  EXPECT_EQ(d->worker_id, kWorker);
  EXPECT_EQ(d->max_number_of_messages, 10);
  EXPECT_EQ(d->wait_time_seconds, 0);
  Result<ReceiveAllocsRequest> lo =
      DecodeReceiveAllocs(WithWorker(R"("max_number_of_messages":1,"wait_time_seconds":0)"));
  ASSERT_TRUE(lo.ok());
  EXPECT_EQ(lo->max_number_of_messages, 1);
  Result<ReceiveAllocsRequest> hi =
      DecodeReceiveAllocs(WithWorker(R"("max_number_of_messages":100,"wait_time_seconds":20)"));
  ASSERT_TRUE(hi.ok());
  EXPECT_EQ(hi->max_number_of_messages, 100);
  EXPECT_EQ(hi->wait_time_seconds, 20);
}

TEST(DecodeTest, ListPools) {
  Result<PageRequest> d = DecodeListPools("{}");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->max_results, 100);
  EXPECT_EQ(d->next_token, "");
  Result<PageRequest> p = DecodeListPools(R"({"max_results":1000,"next_token":"abc"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->max_results, 1000);
  EXPECT_EQ(p->next_token, "abc");
  EXPECT_EQ(DecodeListPools(R"({"max_results":1})")->max_results, 1);
}

TEST(DecodeTest, WorkerRequest) {
  Result<WorkerRequest> r = DecodeWorkerRequest(WithWorker(""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->worker_id, kWorker);
}

TEST(DecodeTest, ListWorkers) {
  Result<ListWorkersRequest> d = DecodeListWorkers(WithPool(""));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->pool_id, kPool);
  EXPECT_EQ(d->page.max_results, 100);
  Result<ListWorkersRequest> p = DecodeListWorkers(WithPool(R"("max_results":7,"next_token":"t")"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->page.max_results, 7);
  EXPECT_EQ(p->page.next_token, "t");
}

TEST(DecodeTest, DescribeEval) {
  Result<EvalRequest> r =
      DecodeDescribeEval(WithPool(std::string("\"eval_id\":\"") + kEval + "\""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->eval_id, kEval);
}

TEST(DecodeTest, ListEvals) {
  Result<ListEvalsRequest> d = DecodeListEvals(WithPool(""));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->state.has_value());
  EXPECT_EQ(d->page.max_results, 100);
  const std::vector<std::pair<const char*, EvalState>> states = {
      {"pending", EvalState::kPending},
      {"placed", EvalState::kPlaced},
      {"completed", EvalState::kCompleted},
      {"dead", EvalState::kDead}};
  for (const auto& [name, state] : states) {
    Result<ListEvalsRequest> r =
        DecodeListEvals(WithPool(std::string("\"state\":\"") + name + "\",\"max_results\":3"));
    ASSERT_TRUE(r.ok()) << name;
    EXPECT_EQ(r->state, state);
    EXPECT_EQ(r->page.max_results, 3);
  }
  EXPECT_FALSE(DecodeListEvals(WithPool(R"("state":null)"))->state.has_value());
}

TEST(DecodeTest, DescribeAlloc) {
  Result<AllocRequest> r =
      DecodeDescribeAlloc(WithPool(std::string("\"alloc_id\":\"") + kAlloc + "\""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->alloc_id, kAlloc);
}

TEST(DecodeTest, ListAllocs) {
  Result<ListAllocsRequest> d = DecodeListAllocs(WithPool(R"("worker_id":"")"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->worker_id, "");
  EXPECT_FALSE(d->state.has_value());
  EXPECT_EQ(d->page.max_results, 100);
  const std::vector<std::pair<const char*, AllocState>> states = {
      {"live", AllocState::kLive},
      {"completed", AllocState::kCompleted},
      {"expired", AllocState::kExpired}};
  for (const auto& [name, state] : states) {
    Result<ListAllocsRequest> r = DecodeListAllocs(
        WithWorker(std::string("\"state\":\"") + name + "\",\"next_token\":\"n\""));
    ASSERT_TRUE(r.ok()) << name;
    EXPECT_EQ(r->worker_id, kWorker);
    EXPECT_EQ(r->state, state);
    EXPECT_EQ(r->page.next_token, "n");
  }
}

TEST(DecodeTest, ListDeadLetters) {
  Result<PoolRequest> r = DecodeListDeadLetters(WithPool(R"("max_results":10,"next_token":"x")"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pool_id, kPool);
  EXPECT_EQ(r->page.max_results, 10);
  EXPECT_EQ(r->page.next_token, "x");
  EXPECT_EQ(DecodeListDeadLetters(WithPool(""))->page.max_results, 100);
}

TEST(DecodeTest, RedriveDeadLetters) {
  Result<RedriveRequest> all = DecodeRedriveDeadLetters(WithPool(""));
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->eval_ids.has_value());
  EXPECT_FALSE(DecodeRedriveDeadLetters(WithPool(R"("eval_ids":null)"))->eval_ids.has_value());
  Result<RedriveRequest> none = DecodeRedriveDeadLetters(WithPool(R"("eval_ids":[])"));
  ASSERT_TRUE(none.ok());
  ASSERT_TRUE(none->eval_ids.has_value());
  EXPECT_TRUE(none->eval_ids->empty());
  Result<RedriveRequest> some =
      DecodeRedriveDeadLetters(WithPool(std::string("\"eval_ids\":[\"") + kEval + "\"]"));
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->eval_ids, std::optional<std::vector<std::string>>({kEval}));
}

}  // namespace
}  // namespace line
