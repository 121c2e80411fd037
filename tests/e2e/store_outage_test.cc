// 503 StoreUnavailable through the real process: another process holds SQLite's write lock on
// lined's store file, so lined's writes cannot commit within its busy timeout. Deterministic:
// the lock is held for as long as the test says, whatever the timing.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>

#include "testing/e2e.h"

namespace line::testing {
namespace {

using Clock = std::chrono::steady_clock;

// An exclusive writer on a SQLite file for as long as it lives: BEGIN IMMEDIATE takes the
// write lock (in WAL mode readers carry on, writers wait and then fail with SQLITE_BUSY).
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      error_ = "open " + path + ": " + sqlite3_errmsg(db_);
      return;
    }
    char* message = nullptr;
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, &message) != SQLITE_OK) {
      error_ = std::string("BEGIN IMMEDIATE: ") + (message ? message : "?");
      sqlite3_free(message);
    }
  }
  ~WriteLockHolder() { Release(); }
  void Release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }
  const std::string& error() const { return error_; }

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

class StoreOutageTest : public LinedTest {};

TEST_F(StoreOutageTest, WritesAreStoreUnavailableWhileTheStoreIsLockedAndWorkAfterwards) {
  std::string pool_id = CreatePool();

  WriteLockHolder lock(lined_->store_path());
  ASSERT_TRUE(lock.error().empty()) << lock.error();
  Clock::time_point start = Clock::now();
  HttpResponse refused =
      client().Post("/RegisterWorker", json::value{{"pool_id", pool_id}, {"capacity", 2}});
  EXPECT_EQ(refused.status, 503) << refused.Describe();
  EXPECT_EQ(refused.Code(), "StoreUnavailable") << refused.body;
  ASSERT_FALSE(refused.body.empty());
  EXPECT_EQ(refused.body.back(), '\n');
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(20)) << "an outage must answer, not hang";

  // The store comes back: lined serves writes again, and the refused write did not happen.
  lock.Release();
  EXPECT_EQ(Int(DescribePool(pool_id), "workers"), 0) << "a refused request changes nothing";
  std::string worker_id = RegisterWorker(pool_id, 2);
  EXPECT_EQ(worker_id.size(), 24u);
  EXPECT_EQ(Int(DescribePool(pool_id), "workers"), 1);
}

}  // namespace
}  // namespace line::testing
