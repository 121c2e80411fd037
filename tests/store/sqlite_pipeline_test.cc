// The embedded store's commit is pipelined (decision 0017): the writer runs the next group's
// bodies while the committer makes the sealed group durable. These tests hold it to what that
// must not change: nothing of the next group is told before the sealed group is durable; a
// failed commit takes back the group that ran on top of it too, which then runs again; reads
// see only durable rows and are not starved by a steady stream of groups; and a read on the
// writer thread, where rows may not be durable yet, is refused.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"
#include "store_test_util.h"
#include "temp_dir.h"

namespace line::testing_store {
namespace {

using sqlite::Connection;
using sqlite::ConnectionOptions;

// Every group is handed to the committer, however quick its bodies (decision 0017).
std::unique_ptr<SqliteStore> MustOpen(const std::string& path) {
  SqliteStoreOptions options;
  options.pipeline_min_body_time = std::chrono::microseconds(0);
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(path, options);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

void Exec(const std::string& path, const std::string& sql) {
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path, ConnectionOptions{});
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  LINE_ASSERT_OK((*conn)->Exec("test", sql));
}

// Writing the pool named 'slow' to the file takes a while (a trigger counts to three million),
// so that its group is still committing when the next group's bodies run.
void MakePoolSlowToWrite(const std::string& path) {
  Exec(path,
       "CREATE TRIGGER slow AFTER INSERT ON pools WHEN NEW.pool_id = 'slow' BEGIN SELECT "
       "count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE "
       "x < 3000000) SELECT x FROM c); END");
}

bool HasPool(Store& store, const std::string& pool_id) {
  return ReadValue(store, [&](Tx& tx) { return tx.GetPool(pool_id); }).has_value();
}

TEST(SqlitePipelineTest, TheNextGroupRunsDuringTheCommitButIsToldOnlyAfterIt) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  std::unique_ptr<SqliteStore> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  MakePoolSlowToWrite(path);

  // The first body ends only once the second write is queued, so that the writer finds it
  // when it has sealed the first group.
  std::promise<void> first_ran;
  std::promise<void> second_queued;
  std::shared_future<void> queued = second_queued.get_future().share();
  std::atomic<bool> first_told{false};
  std::promise<Status> first_done;
  store->Write(
      [&](Tx& tx) -> Status {
        LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("slow")));
        first_ran.set_value();  // its group is taken: the second write gets one of its own
        queued.wait();
        return Status::Ok();
      },
      [&](Status s) {
        first_told = true;
        first_done.set_value(std::move(s));
      });
  first_ran.get_future().wait();

  std::promise<void> second_running;
  std::atomic<bool> second_ran_before_first_told{false};
  std::atomic<bool> second_saw_first{false};
  std::atomic<bool> first_told_before_second{false};
  std::promise<Status> second_done;
  store->Write(
      [&](Tx& tx) -> Status {
        second_ran_before_first_told = !first_told.load();
        LINE_ASSIGN_OR_RETURN(std::optional<Pool> slow, tx.GetPool("slow"));
        second_saw_first = slow.has_value();
        Status inserted = tx.InsertWorker(MakeWorker("slow", "w", 2));
        second_running.set_value();
        return inserted;
      },
      [&](Status s) {
        first_told_before_second = first_told.load();
        second_done.set_value(std::move(s));
      });
  second_queued.set_value();
  // A read from now on waits for both groups (the writer lets readers in only when nothing
  // is sealed), and then sees both.
  second_running.get_future().wait();
  auto read = std::async(std::launch::async, [&] {
    return ReadValue(*store, [](Tx& tx) { return tx.GetWorker("slow", "w"); }).has_value();
  });
  std::future<Status> first_outcome = first_done.get_future();
  if (first_outcome.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout) {
    // The first commit is still on its way (it takes about a second): the read waits for it.
    EXPECT_EQ(read.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
        << "a read went on while a group was sealed but not durable";
  }
  LINE_EXPECT_OK(first_outcome.get());
  LINE_EXPECT_OK(second_done.get_future().get());
  EXPECT_TRUE(second_ran_before_first_told) << "the second group waited for the first commit";
  EXPECT_TRUE(second_saw_first) << "bodies see the sealed group's rows";
  EXPECT_TRUE(first_told_before_second);
  EXPECT_TRUE(read.get());
  EXPECT_EQ(store->Stats().commits, 2);

  store.reset();
  std::unique_ptr<SqliteStore> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(ReadValue(*reopened, [](Tx& tx) { return tx.GetWorker("slow", "w"); }).has_value());
}

TEST(SqlitePipelineTest, AFailedCommitTakesBackTheGroupRunOnTopOfItWhichRunsAgain) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  std::unique_ptr<SqliteStore> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  MakePoolSlowToWrite(path);
  Exec(path,
       "CREATE TRIGGER refuse BEFORE INSERT ON workers WHEN NEW.worker_id = 'refused' "
       "BEGIN SELECT RAISE(ABORT, 'injected'); END");

  // The first group is slow to write and then refused by the file. Its body ends only once
  // the second write is queued.
  std::promise<void> first_ran;
  std::promise<void> second_queued;
  std::shared_future<void> queued = second_queued.get_future().share();
  std::promise<Status> first_done;
  store->Write(
      [&](Tx& tx) -> Status {
        LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("slow")));
        LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "refused", 2)));
        first_ran.set_value();  // its group is taken: the second write gets one of its own
        queued.wait();
        return Status::Ok();
      },
      [&](Status s) { first_done.set_value(std::move(s)); });
  first_ran.get_future().wait();

  // The second runs on top of it while it commits, and again once it has failed.
  std::vector<bool> runs_saw_slow;  // the writer thread's, read after the done
  std::promise<void> second_first_run;
  std::promise<Status> second_done;
  store->Write(
      [&](Tx& tx) -> Status {
        LINE_ASSIGN_OR_RETURN(std::optional<Pool> slow, tx.GetPool("slow"));
        runs_saw_slow.push_back(slow.has_value());
        if (runs_saw_slow.size() == 1) second_first_run.set_value();
        return tx.InsertWorker(MakeWorker("p", "second", 2));
      },
      [&](Status s) { second_done.set_value(std::move(s)); });
  second_queued.set_value();
  // A read from the second's first run on never sees the refused group's pool: it waits
  // until that is undone. (A read waiting earlier would make the writer settle the first
  // group before running the second.)
  second_first_run.get_future().wait();
  auto read = std::async(std::launch::async, [&] { return HasPool(*store, "slow"); });

  Status first = first_done.get_future().get();
  EXPECT_FALSE(first.ok());
  EXPECT_NE(first.ToString().find("injected"), std::string::npos) << first.ToString();
  LINE_EXPECT_OK(second_done.get_future().get());
  EXPECT_EQ(runs_saw_slow, (std::vector<bool>{true, false}))
      << "first on the sealed group's rows, then again without them";
  EXPECT_FALSE(read.get()) << "a read saw a group whose commit then failed";
  EXPECT_FALSE(HasPool(*store, "slow"));
  EXPECT_FALSE(ReadValue(*store, [](Tx& tx) { return tx.GetWorker("p", "refused"); }).has_value());
  EXPECT_TRUE(ReadValue(*store, [](Tx& tx) { return tx.GetWorker("p", "second"); }).has_value());
  EXPECT_EQ(store->Stats().failed_commits, 1);

  store.reset();
  std::unique_ptr<SqliteStore> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(HasPool(*reopened, "slow"));
  EXPECT_TRUE(ReadValue(*reopened, [](Tx& tx) { return tx.GetWorker("p", "second"); }).has_value());
}

// A feeder thread keeps up to 20,000 writes queued, so that the writer always finds its queue
// full after sealing a group: without a pause for readers the state lock would never be let
// go. Reads still get in, one after another, while the writes go on.
class SteadyWrites {
 public:
  explicit SteadyWrites(Store& store) : store_(store), feeder_([this] { Feed(); }) {}
  ~SteadyWrites() { Stop(); }
  int64_t written() const { return written_.load(); }
  int outstanding() {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
  }
  void Stop() {
    stop_ = true;
    if (feeder_.joinable()) feeder_.join();
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return outstanding_ == 0; });
  }

 private:
  void Feed() {
    for (int64_t i = 0; !stop_.load(); ++i) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] { return outstanding_ < 20000 || stop_.load(); });
        if (stop_.load()) return;
        ++outstanding_;
      }
      const std::string id = "w" + std::to_string(i);
      store_.Write([id](Tx& tx) { return tx.InsertWorker(MakeWorker("p", id, 1)); },
                   [this](Status s) {
                     if (s.ok()) ++written_;
                     std::lock_guard<std::mutex> lock(mu_);
                     --outstanding_;
                     changed_.notify_all();
                   });
    }
  }

  Store& store_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> written_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  int outstanding_ = 0;  // guarded by mu_
  std::thread feeder_;
};

TEST(SqlitePipelineTest, ReadsGetInWhileASteadyStreamOfGroupsCommits) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  SteadyWrites writes(*store);
  while (writes.written() < 1000) std::this_thread::yield();
  auto reads = std::async(std::launch::async, [&] {
    int seen = 0;
    for (int i = 0; i < 50; ++i) seen += HasPool(*store, "p") ? 1 : 0;
    return seen;
  });
  const bool finished = reads.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  const int queued_at_the_end = writes.outstanding();
  writes.Stop();  // lets a starved read in at last, so that the test ends either way
  EXPECT_TRUE(finished) << "50 reads did not get in within 20 s of steady writes";
  EXPECT_EQ(reads.get(), 50);
  EXPECT_GT(queued_at_the_end, 0) << "the reads got in only once the writes had stopped";
}

// A group is handed to the committer only when its bodies ran for at least the threshold (by
// default 1 ms): with less to overlap, the two thread wake-ups cost more than they save.
TEST(SqlitePipelineTest, OnlyAGroupWithLongBodiesIsHandedOver) {
  ScopedTempDir dir;
  // A threshold no preemption of a quick body reaches on a loaded machine.
  SqliteStoreOptions options;
  options.pipeline_min_body_time = std::chrono::milliseconds(50);
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(dir.File("line.db"), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqliteStore& store = **opened;
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) { return tx.InsertPool(MakePool("quick")); }));
  EXPECT_EQ(store.Stats().handed_over, 0);
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) {
    // Busy for 60 ms of work, as a batch's placements would be.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(60);
    while (std::chrono::steady_clock::now() < until) {
    }
    return tx.InsertPool(MakePool("long"));
  }));
  EXPECT_EQ(store.Stats().handed_over, 1);
  EXPECT_EQ(store.Stats().commits, 2);
  EXPECT_TRUE(HasPool(store, "quick"));
  EXPECT_TRUE(HasPool(store, "long"));
}

// While another process holds the file's write lock, a write waits for it (the busy timeout)
// and fails; reads meanwhile go on, since the writer takes the file's lock before any body
// changes a row.
TEST(SqlitePipelineTest, ReadsGoOnWhileAWriteWaitsForTheFile) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 3000;
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(path, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqliteStore& store = **opened;
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  Result<std::unique_ptr<Connection>> holder = Connection::Open(path, ConnectionOptions{});
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  LINE_ASSERT_OK((*holder)->Exec("hold", "BEGIN IMMEDIATE"));
  std::promise<Status> written;
  store.Write([](Tx& tx) { return tx.InsertWorker(MakeWorker("p", "w", 1)); },
              [&](Status s) { written.set_value(std::move(s)); });
  std::future<Status> outcome = written.get_future();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(HasPool(store, "p"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500))
      << "the read waited for the busy timeout";
  EXPECT_EQ(outcome.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "the write did not wait for the file";
  Status failed = outcome.get();
  EXPECT_FALSE(failed.ok());
  LINE_ASSERT_OK((*holder)->Exec("release", "ROLLBACK"));
  LINE_EXPECT_OK(WriteSync(store, [](Tx& tx) { return tx.InsertWorker(MakeWorker("p", "w", 1)); }));
}

TEST(SqlitePipelineTest, AReadOnTheWriterThreadIsRefused) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  std::promise<Status> in_body;
  std::promise<Status> in_done;
  store->Write(
      [&](Tx&) {
        in_body.set_value(store->Read([](Tx&) { return Status::Ok(); }));
        return Status::Ok();
      },
      [&](Status) { in_done.set_value(store->Read([](Tx&) { return Status::Ok(); })); });
  Status body = in_body.get_future().get();
  EXPECT_EQ(body.code(), Code::kInternal) << body.ToString();
  Status done = in_done.get_future().get();
  EXPECT_EQ(done.code(), Code::kInternal) << done.ToString();
  EXPECT_NE(done.ToString().find("writer thread"), std::string::npos) << done.ToString();
  LINE_EXPECT_OK(store->Read([](Tx&) { return Status::Ok(); }));  // from any other thread
}

}  // namespace
}  // namespace line::testing_store
