// Fixture factories and small helpers shared by the store tests: rows with sensible defaults
// (tests override what they are about), and one-line ways to run a read or write body.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/store.h"

#define LINE_EXPECT_OK(expr)                                             \
  do {                                                                   \
    ::line::Status line_test_status_ = (expr);                           \
    EXPECT_TRUE(line_test_status_.ok()) << line_test_status_.ToString(); \
  } while (0)
#define LINE_ASSERT_OK(expr)                                             \
  do {                                                                   \
    ::line::Status line_test_status_ = (expr);                           \
    ASSERT_TRUE(line_test_status_.ok()) << line_test_status_.ToString(); \
  } while (0)

namespace line::testing_store {

inline constexpr TimeMs kNow = 1'700'000'000'000;

inline Pool MakePool(const std::string& pool_id, int64_t alloc_ttl_s = 30) {
  Pool pool;
  pool.pool_id = pool_id;
  pool.placement = PlacementPolicy::kBinpack;
  pool.max_retry = 5;
  pool.alloc_ttl_s = alloc_ttl_s;
  pool.created_at = kNow - 1000;
  return pool;
}

inline Worker MakeWorker(const std::string& pool_id, const std::string& worker_id, int64_t capacity,
                         TimeMs ttl = kNow + 30'000) {
  Worker worker;
  worker.pool_id = pool_id;
  worker.worker_id = worker_id;
  worker.capacity = capacity;
  worker.free = capacity;
  worker.ttl = ttl;
  worker.registered_at = kNow - 500;
  return worker;
}

inline Replica MakeReplica(const std::string& pool_id, const std::string& worker_id,
                           const std::string& dataset_id, TimeMs ttl = kNow + 60'000) {
  Replica replica;
  replica.pool_id = pool_id;
  replica.worker_id = worker_id;
  replica.dataset_id = dataset_id;
  replica.ttl = ttl;
  return replica;
}

// Counts done callbacks and lets the test wait for a number of them.
class DoneCounter {
 public:
  TxDone Callback() {
    return [this](Status s) {
      std::lock_guard<std::mutex> lock(mu_);
      if (s.ok()) {
        ++ok_;
      } else {
        failures_.push_back(s.ToString());
      }
      changed_.notify_all();
    };
  }
  void WaitFor(int total) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return ok_ + static_cast<int>(failures_.size()) >= total; });
  }
  int ok() {
    std::lock_guard<std::mutex> lock(mu_);
    return ok_;
  }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int ok_ = 0;
  std::vector<std::string> failures_;
};

inline Eval MakeEval(const std::string& pool_id, const std::string& eval_id, int64_t size,
                     const std::string& idempotency_key = "") {
  Eval eval;
  eval.pool_id = pool_id;
  eval.eval_id = eval_id;
  eval.size = size;
  eval.dataset_id = "ds-" + eval_id;
  eval.payload = R"({"cmd":"run )" + eval_id + R"("})";
  eval.idempotency_key = idempotency_key;
  eval.created_at = kNow;
  return eval;
}

inline Alloc MakeAlloc(const std::string& pool_id, const std::string& alloc_id,
                       const std::string& worker_id, const std::string& eval_id, int64_t size,
                       TimeMs ttl = kNow + 30'000) {
  Alloc alloc;
  alloc.pool_id = pool_id;
  alloc.alloc_id = alloc_id;
  alloc.worker_id = worker_id;
  alloc.eval_id = eval_id;
  alloc.dataset_id = "ds-" + eval_id;
  alloc.size = size;
  alloc.ttl = ttl;
  alloc.created_at = kNow;
  return alloc;
}

// Runs `f` (Tx& -> Result<T>) in a read transaction and returns its value; a failure is a
// test failure and yields T{}.
template <typename F>
auto ReadValue(Store& store, F f) {
  using T = std::decay_t<decltype(f(std::declval<Tx&>()).value())>;
  std::optional<T> out;
  Status status = store.Read([&](Tx& tx) {
    auto result = f(tx);
    if (!result.ok()) return result.status();
    out = std::move(result).value();
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out.value_or(T{});
}

// Runs `f` (Tx& -> Result<T>) in a write transaction, waits until it is durable, returns
// its value.
template <typename F>
auto WriteValue(Store& store, F f) {
  using T = std::decay_t<decltype(f(std::declval<Tx&>()).value())>;
  std::optional<T> out;
  Status status = WriteSync(store, [&](Tx& tx) {
    auto result = f(tx);
    if (!result.ok()) return result.status();
    out = std::move(result).value();
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out.value_or(T{});
}

}  // namespace line::testing_store
