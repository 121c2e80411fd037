#include "testing/e2e.h"

#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace line::testing {
namespace {

using Clock = std::chrono::steady_clock;

const json::value* Field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) ADD_FAILURE() << "no field \"" << key << "\" in " << json::serialize(o);
  return v;
}

}  // namespace

json::object CallOk(HttpClient& client, std::string_view path, const json::value& request) {
  HttpResponse r = client.Post(path, request);
  if (r.status != 200) {
    ADD_FAILURE() << "POST " << path << " " << json::serialize(request) << " -> " << r.Describe();
    return {};
  }
  json::value v = r.Json();
  if (!v.is_object()) {
    ADD_FAILURE() << "POST " << path
                  << " answered 200 with a body that is no JSON object: " << r.body;
    return {};
  }
  // SPEC: responses end with a newline; checked on every successful call the tests make.
  if (r.body.back() != '\n') {
    ADD_FAILURE() << "POST " << path << " answered without a final newline: " << r.body;
  }
  return std::move(v.as_object());
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  if (v == nullptr || v->is_null()) return "";
  if (!v->is_string()) {
    ADD_FAILURE() << "field \"" << key << "\" is not a string in " << json::serialize(o);
    return "";
  }
  return std::string(v->as_string());
}

int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  ADD_FAILURE() << "field \"" << key << "\" is not an integer in " << json::serialize(o);
  return -1;
}

bool Bool(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  if (v == nullptr) return false;
  if (!v->is_bool()) {
    ADD_FAILURE() << "field \"" << key << "\" is not a boolean in " << json::serialize(o);
    return false;
  }
  return v->as_bool();
}

const json::array& Arr(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const json::value* v = Field(o, key);
  if (v == nullptr) return kEmpty;
  if (!v->is_array()) {
    ADD_FAILURE() << "field \"" << key << "\" is not an array in " << json::serialize(o);
    return kEmpty;
  }
  return v->as_array();
}

const json::object& Obj(const json::value& v) {
  static const json::object kEmpty;
  if (!v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << json::serialize(v);
    return kEmpty;
  }
  return v.as_object();
}

std::vector<std::string> Strings(const json::array& a) {
  std::vector<std::string> out;
  for (const json::value& v : a) {
    if (v.is_string()) {
      out.emplace_back(v.as_string());
    } else {
      ADD_FAILURE() << "not a string: " << json::serialize(v);
    }
  }
  return out;
}

Result<std::vector<json::object>> ListAll(HttpClient& client, std::string_view path,
                                          json::object request, std::string_view field,
                                          int64_t page_size) {
  std::vector<json::object> items;
  std::set<std::string> tokens_seen;
  request["max_results"] = page_size;
  while (true) {
    HttpResponse r = client.Post(path, request);
    if (r.status != 200) {
      return Status::Internal("POST " + std::string(path) + " " + json::serialize(request) +
                              " -> " + r.Describe());
    }
    json::value v = r.Json();
    if (!v.is_object() || !v.as_object().contains(field) || !v.as_object().at(field).is_array()) {
      return Status::Internal("POST " + std::string(path) + " answered without array \"" +
                              std::string(field) + "\": " + r.body);
    }
    for (json::value& item : v.as_object().at(field).as_array()) {
      if (!item.is_object()) return Status::Internal("list item is no object: " + r.body);
      items.push_back(std::move(item.as_object()));
    }
    const json::value* token = v.as_object().if_contains("next_token");
    if (token == nullptr || token->is_null() ||
        (token->is_string() && token->as_string().empty())) {
      return items;
    }
    if (!token->is_string()) return Status::Internal("next_token is no string: " + r.body);
    std::string next(token->as_string());
    // A server that hands out the same token twice would make this loop forever.
    if (!tokens_seen.insert(next).second) {
      return Status::Internal("POST " + std::string(path) + " repeated next_token " + next);
    }
    request["next_token"] = next;
  }
}

::testing::AssertionResult CheckCapacityInvariant(HttpClient& client, const std::string& pool_id) {
  Result<std::vector<json::object>> workers =
      ListAll(client, "/ListWorkers", {{"pool_id", pool_id}}, "workers");
  if (!workers.ok()) return ::testing::AssertionFailure() << workers.status().message();
  std::ostringstream problems;
  for (const json::object& w : *workers) {
    std::string worker_id = Str(w, "worker_id");
    int64_t capacity = Int(w, "capacity");
    int64_t free = Int(w, "free");
    Result<std::vector<json::object>> live =
        ListAll(client, "/ListAllocs",
                {{"pool_id", pool_id}, {"worker_id", worker_id}, {"state", "live"}}, "allocs");
    if (!live.ok()) return ::testing::AssertionFailure() << live.status().message();
    int64_t held = 0;
    std::set<std::string> live_ids;
    for (const json::object& a : *live) {
      if (Str(a, "worker_id") != worker_id || Str(a, "state") != "live") {
        problems << "ListAllocs worker_id=" << worker_id << " state=live returned "
                 << json::serialize(a) << "\n";
      }
      held += Int(a, "size");
      live_ids.insert(Str(a, "alloc_id"));
    }
    std::vector<std::string> listed = Strings(Arr(w, "allocs"));
    std::set<std::string> listed_ids(listed.begin(), listed.end());
    if (free < 0 || free > capacity || free + held != capacity) {
      problems << "worker " << worker_id << ": capacity " << capacity << ", free " << free
               << ", live allocs hold " << held << " in " << live->size() << " allocs\n";
    }
    if (listed_ids != live_ids || listed.size() != listed_ids.size()) {
      problems << "worker " << worker_id << " lists allocs " << json::serialize(w.at("allocs"))
               << " but ListAllocs state=live has " << live_ids.size() << "\n";
    }
  }
  if (!problems.str().empty()) {
    return ::testing::AssertionFailure() << "capacity invariant broken in pool " << pool_id << ":\n"
                                         << problems.str();
  }
  return ::testing::AssertionSuccess() << workers->size() << " workers balanced";
}

::testing::AssertionResult CheckNoEvalInTwoLiveAllocs(HttpClient& client,
                                                      const std::string& pool_id) {
  Result<std::vector<json::object>> live =
      ListAll(client, "/ListAllocs", {{"pool_id", pool_id}, {"state", "live"}}, "allocs");
  if (!live.ok()) return ::testing::AssertionFailure() << live.status().message();
  std::map<std::string, std::vector<std::string>> allocs_by_eval;
  for (const json::object& a : *live) {
    allocs_by_eval[Str(a, "eval_id")].push_back(Str(a, "alloc_id"));
  }
  std::ostringstream problems;
  for (const auto& [eval_id, alloc_ids] : allocs_by_eval) {
    if (alloc_ids.size() > 1) {
      problems << "eval " << eval_id << " is in " << alloc_ids.size() << " live allocs\n";
      continue;
    }
    HttpResponse r =
        client.Post("/DescribeEval", json::value{{"pool_id", pool_id}, {"eval_id", eval_id}});
    json::value v = r.Json();
    if (r.status != 200 || !v.is_object()) {
      problems << "DescribeEval " << eval_id << " of a live alloc -> " << r.Describe() << "\n";
      continue;
    }
    const json::object& e = v.as_object();
    if (Str(e, "state") != "placed" || Str(e, "alloc_id") != alloc_ids[0]) {
      problems << "eval " << eval_id << " of live alloc " << alloc_ids[0]
               << " is not placed on it: " << r.body << "\n";
    }
  }
  if (!problems.str().empty()) return ::testing::AssertionFailure() << problems.str();
  return ::testing::AssertionSuccess() << live->size() << " live allocs, all distinct evals";
}

::testing::AssertionResult WaitForQuiescence(HttpClient& client, const std::string& pool_id,
                                             std::chrono::milliseconds timeout,
                                             std::chrono::milliseconds settle) {
  Clock::time_point deadline = Clock::now() + timeout;
  std::string last;
  Clock::time_point last_change = Clock::now();
  while (Clock::now() < deadline) {
    HttpResponse r = client.Post("/DescribePool", json::value{{"pool_id", pool_id}});
    json::value v = r.Json();
    if (r.status != 200 || !v.is_object()) {
      return ::testing::AssertionFailure() << "DescribePool -> " << r.Describe();
    }
    json::object& p = v.as_object();
    std::string counters;
    for (const char* key : {"free", "live_allocs", "pending_evals", "blocked_evals"}) {
      counters += std::string(key) + "=" + (p.contains(key) ? json::serialize(p[key]) : "?") + " ";
    }
    if (counters != last) {
      last = counters;
      last_change = Clock::now();
    } else if (Clock::now() - last_change >= settle) {
      return ::testing::AssertionSuccess() << counters;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ::testing::AssertionFailure()
         << "pool " << pool_id << " still changing after " << timeout.count() << " ms: " << last;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void LinedTest::SetUp() {
  lined_ = std::make_unique<LinedProcess>(Options());
  Status started = lined_->Start();
  ASSERT_TRUE(started.ok()) << started.message();
  client_ = NewClient();
}

void LinedTest::TearDown() {
  if (HasFailure() && lined_ != nullptr) {
    std::cerr << "---- lined log (" << lined_->log_path() << ") ----\n"
              << lined_->LogTail() << "\n---- end of lined log ----\n";
  }
  client_.reset();
  lined_.reset();
}

std::unique_ptr<HttpClient> LinedTest::NewClient() const {
  return std::make_unique<HttpClient>("127.0.0.1", lined_->port());
}

std::string LinedTest::CreatePool(json::object request) {
  return Str(Call("/CreatePool", request), "pool_id");
}

std::string LinedTest::RegisterWorker(const std::string& pool_id, int64_t capacity) {
  return Str(Call("/RegisterWorker", {{"pool_id", pool_id}, {"capacity", capacity}}), "worker_id");
}

void LinedTest::Heartbeat(const std::string& pool_id, const std::string& worker_id,
                          const std::vector<std::string>& allocs,
                          const std::vector<std::string>& datasets) {
  json::array a(allocs.begin(), allocs.end());
  json::array d(datasets.begin(), datasets.end());
  Call("/SendHeartbeat",
       {{"pool_id", pool_id}, {"worker_id", worker_id}, {"allocs", a}, {"datasets", d}});
}

std::string LinedTest::ScheduleEval(const std::string& pool_id, int64_t size,
                                    const std::string& dataset_id, const json::value& payload) {
  return Str(
      Call(
          "/ScheduleEval",
          {{"pool_id", pool_id}, {"dataset_id", dataset_id}, {"size", size}, {"payload", payload}}),
      "eval_id");
}

json::object LinedTest::DescribeEval(const std::string& pool_id, const std::string& eval_id) {
  return Call("/DescribeEval", {{"pool_id", pool_id}, {"eval_id", eval_id}});
}

json::object LinedTest::DescribePool(const std::string& pool_id) {
  return Call("/DescribePool", {{"pool_id", pool_id}});
}

json::object LinedTest::DescribeWorker(const std::string& pool_id, const std::string& worker_id) {
  return Call("/DescribeWorker", {{"pool_id", pool_id}, {"worker_id", worker_id}});
}

}  // namespace line::testing
