// Many workers and evals through a real lined: ten worker threads long-poll and complete what
// they get while a client submits a thousand evals in batches. Every eval must run exactly once
// and every unit of capacity must come back.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "testing/e2e.h"
#include "testing/simulated_worker.h"

namespace line::testing {
namespace {

constexpr int kWorkers = 10;
constexpr int kEvals = 1000;
constexpr int kBatch = 100;
constexpr int kSize = 3;

class LoadTest : public LinedTest {};

TEST_F(LoadTest, TenWorkersRunAThousandEvalsExactlyOnce) {
  std::string pool_id = CreatePool();
  std::vector<std::unique_ptr<SimulatedWorker>> workers;
  int64_t total_capacity = 0;
  for (int i = 0; i < kWorkers; ++i) {
    int64_t capacity = 6 + i % 5;  // 6..10: one or two evals at a time, never more
    total_capacity += capacity;
    SimulatedWorkerOptions options;
    options.pool_id = pool_id;
    options.worker_id = RegisterWorker(pool_id, capacity);
    options.datasets = {"d" + std::to_string(i % 5)};
    workers.push_back(std::make_unique<SimulatedWorker>(lined_->port(), options));
  }

  std::set<std::string> submitted;
  for (int first = 0; first < kEvals; first += kBatch) {
    json::array evals;
    for (int i = first; i < first + kBatch; ++i) {
      evals.push_back(json::object{
          {"dataset_id", "d" + std::to_string(i % 7)}, {"size", kSize}, {"payload", {{"i", i}}}});
    }
    json::object answer = Call("/ScheduleEvals", {{"pool_id", pool_id}, {"evals", evals}});
    std::vector<std::string> ids = Strings(Arr(answer, "eval_ids"));
    ASSERT_EQ(ids.size(), static_cast<size_t>(kBatch)) << json::serialize(answer);
    submitted.insert(ids.begin(), ids.end());
  }
  ASSERT_EQ(submitted.size(), static_cast<size_t>(kEvals)) << "eval ids must be unique";

  auto completed_count = [&] {
    size_t n = 0;
    for (const auto& w : workers) n += w->completed().size();
    return n;
  };
  bool all_done = Eventually([&] { return completed_count() >= kEvals; }, std::chrono::minutes(2));
  for (auto& w : workers) w->Stop();
  ASSERT_TRUE(all_done) << "only " << completed_count() << " of " << kEvals << " completed";

  // Nothing was received twice, nothing unknown was received, every answer was 200.
  std::map<std::string, int> times_received;
  std::set<std::string> alloc_ids;
  for (const auto& w : workers) {
    EXPECT_TRUE(w->errors().empty()) << w->errors().front();
    EXPECT_EQ(w->transport_failures(), 0);
    for (const auto& [alloc_id, eval_id] : w->received()) {
      ++times_received[eval_id];
      EXPECT_TRUE(alloc_ids.insert(alloc_id).second) << "alloc " << alloc_id << " received twice";
    }
  }
  EXPECT_EQ(times_received.size(), static_cast<size_t>(kEvals));
  for (const auto& [eval_id, n] : times_received) {
    EXPECT_TRUE(submitted.count(eval_id)) << "received unknown eval " << eval_id;
    EXPECT_EQ(n, 1) << "eval " << eval_id << " received " << n << " times";
  }

  // Each eval completed exactly once, on its first attempt.
  for (const std::string& eval_id : submitted) {
    json::object eval = DescribeEval(pool_id, eval_id);
    EXPECT_EQ(Str(eval, "state"), "completed") << json::serialize(eval);
    EXPECT_EQ(Arr(eval, "history").size(), 1u) << json::serialize(eval);
    EXPECT_EQ(Int(eval, "attempt"), 1);
    EXPECT_EQ(Int(eval, "exit_code"), 0);
  }

  ASSERT_TRUE(WaitForQuiescence(client(), pool_id));
  EXPECT_TRUE(CheckCapacityInvariant(client(), pool_id));
  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(Int(pool, "free"), total_capacity) << "every worker is back to full free";
  EXPECT_EQ(Int(pool, "capacity"), total_capacity);
  EXPECT_EQ(Int(pool, "live_allocs"), 0);
  EXPECT_EQ(Int(pool, "pending_evals"), 0);
  EXPECT_EQ(Int(pool, "dead_letters"), 0);
  Result<std::vector<json::object>> listed =
      ListAll(client(), "/ListEvals", {{"pool_id", pool_id}, {"state", "completed"}}, "evals",
              /*page_size=*/300);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::set<std::string> listed_ids;
  for (const json::object& e : *listed) listed_ids.insert(Str(e, "eval_id"));
  EXPECT_EQ(listed_ids, submitted) << "paging ListEvals sees every eval exactly once";
  EXPECT_EQ(listed->size(), static_cast<size_t>(kEvals));
}

// Idempotency must hold when the same keys race: threads submit the same 50 keys at once, some
// singly and some in batches, and every key still names exactly one eval.
TEST_F(LoadTest, ConcurrentSubmissionsOfOneKeyCreateOneEval) {
  constexpr int kKeys = 50;
  constexpr int kThreads = 6;
  std::string pool_id = CreatePool();
  auto eval_for = [](int k) {
    return json::object{{"dataset_id", "d" + std::to_string(k % 3)},
                        {"size", 1 + k % 4},
                        {"payload", {{"k", k}}},
                        {"idempotency_key", "same-" + std::to_string(k)}};
  };

  std::vector<std::map<int, std::string>> answers(kThreads);  // per thread: key -> eval id
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<HttpClient> client = NewClient();
      if (t % 2 == 0) {  // one key at a time, each thread in its own order
        for (int n = 0; n < kKeys; ++n) {
          int k = (n * 7 + t * 11) % kKeys;
          json::object request = eval_for(k);
          request["pool_id"] = pool_id;
          answers[t][k] = Str(CallOk(*client, "/ScheduleEval", request), "eval_id");
        }
      } else {  // all keys in batches of 10
        for (int first = 0; first < kKeys; first += 10) {
          json::array evals;
          for (int k = first; k < first + 10; ++k) evals.push_back(eval_for(k));
          std::vector<std::string> ids = Strings(
              Arr(CallOk(*client, "/ScheduleEvals", {{"pool_id", pool_id}, {"evals", evals}}),
                  "eval_ids"));
          for (size_t i = 0; i < ids.size(); ++i) answers[t][first + static_cast<int>(i)] = ids[i];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();

  std::set<std::string> distinct;
  for (int k = 0; k < kKeys; ++k) {
    for (int t = 1; t < kThreads; ++t) {
      EXPECT_EQ(answers[t][k], answers[0][k]) << "key same-" << k << " got two eval ids";
    }
    distinct.insert(answers[0][k]);
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kKeys));
  Result<std::vector<json::object>> all =
      ListAll(client(), "/ListEvals", {{"pool_id", pool_id}}, "evals");
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->size(), static_cast<size_t>(kKeys)) << "a racing key created a second eval";
  EXPECT_EQ(Int(DescribePool(pool_id), "pending_evals"), kKeys);
}

}  // namespace
}  // namespace line::testing
