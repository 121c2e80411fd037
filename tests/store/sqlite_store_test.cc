// SQLite-only behaviour: durability pragmas, migrations, query plans, group commit, and the
// conformance suite's SQLite instantiation.
#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/error.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sql.h"
#include "store_conformance.h"
#include "store_test_util.h"
#include "testing/writer_gate.h"
#include "temp_dir.h"

namespace line::testing_store {
namespace {

using sqlite::Connection;
using sqlite::ConnectionOptions;

class SqliteHandle final : public StoreHandle {
 public:
  SqliteHandle() {
    Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(dir_.File("line.db"));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) store_ = std::move(opened).value();
  }
  Store& store() override { return *store_; }

 private:
  ScopedTempDir dir_;  // declared first: removed after the store is closed
  std::unique_ptr<SqliteStore> store_;
};

StoreFactory SqliteStoreFactory() {
  return StoreFactory{"Sqlite", [] { return std::make_unique<SqliteHandle>(); }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest, ::testing::Values(SqliteStoreFactory()),
                         StoreFactoryName);

std::unique_ptr<SqliteStore> MustOpen(const std::string& path,
                                      const SqliteStoreOptions& options = {}) {
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(path, options);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

std::unique_ptr<Connection> MustConnect(const std::string& path) {
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path, ConnectionOptions{});
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(conn).value() : nullptr;
}

// Names of the database's indexes that line created (not SQLite's automatic ones).
std::vector<std::string> IndexNames(Connection& conn) {
  std::vector<std::string> names;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(conn.db(),
                               "SELECT name FROM sqlite_master WHERE type = 'index' "
                               "AND sql IS NOT NULL ORDER BY name",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return names;
}

// The indexes of schema version 5, the last before the rows moved to memory (version 6 drops
// them all: the store's indexes live in memory).
const std::vector<std::string> kV5Indexes = {
    "allocs_by_eval",     "allocs_by_id",          "allocs_by_pool",    "allocs_by_state",
    "allocs_by_worker",   "allocs_live_by_ttl",    "allocs_live_by_worker",
    "allocs_to_deliver",  "evals_by_id",           "evals_by_key",      "evals_by_pool",
    "evals_by_state",     "pools_disbanded",       "replicas_by_ttl",   "workers_by_ttl"};

TEST(SqliteStoreTest, UsesWalAndFullSynchronousOnTheWriter) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  Result<std::string> journal = store->WriterPragma("journal_mode");
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  EXPECT_EQ(*journal, "wal");
  Result<std::string> synchronous = store->WriterPragma("synchronous");
  ASSERT_TRUE(synchronous.ok()) << synchronous.status().ToString();
  EXPECT_EQ(*synchronous, "2") << "FULL";
  EXPECT_EQ(store->WriterPragma("busy_timeout").value(), "5000");
  EXPECT_EQ(store->WriterPragma("temp_store").value(), "2") << "savepoint journals in memory";
  EXPECT_EQ(store->WriterPragma("ignore_check_constraints").value(), "1")
      << "the CHECKs are kept in memory; in SQL they cost a temporary table per row";
  EXPECT_EQ(store->WriterPragma("x; DROP TABLE pools").status().code(), Code::kInvalidInput);
}

// Lazy writes (heartbeats) commit without waiting for fsync; the next durable group switches
// the connection back to synchronous=FULL, so every other write stays durable.
TEST(SqliteStoreTest, LazyWritesSkipTheFsyncAndDurableOnesDoNot) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  std::promise<Status> lazy_done;
  store->WriteLazy([](Tx& tx) { return tx.InsertWorker(MakeWorker("p", "w", 4)); },
                   [&](Status s) { lazy_done.set_value(std::move(s)); });
  LINE_ASSERT_OK(lazy_done.get_future().get());
  EXPECT_EQ(store->Stats().lazy_commits, 1);
  std::optional<Worker> seen = ReadValue(*store, [](Tx& tx) { return tx.GetWorker("p", "w"); });
  EXPECT_TRUE(seen.has_value()) << "a lazy commit is visible like any other";

  const int64_t commits = store->Stats().commits;
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertWorker(MakeWorker("p", "x", 4)); }));
  EXPECT_EQ(store->Stats().commits, commits + 1);
  EXPECT_EQ(store->Stats().lazy_commits, 1) << "a durable write is never lazy";
  EXPECT_EQ(store->WriterPragma("synchronous").value(), "2") << "back to FULL";
}

TEST(SqliteStoreTest, MigratesAnEmptyFileToTheLatestVersion) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  {
    std::unique_ptr<SqliteStore> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->WriterPragma("user_version").value(),
              std::to_string(sqlite::LatestSchemaVersion()));
  }
  EXPECT_GE(sqlite::LatestSchemaVersion(), 2);
  std::unique_ptr<Connection> conn = MustConnect(path);
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(IndexNames(*conn), std::vector<std::string>{}) << "rows by primary key only";
}

TEST(SqliteStoreTest, MigratesAFileAtThePreviousVersionKeepingItsData) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  {
    std::unique_ptr<Connection> conn = MustConnect(path);
    ASSERT_NE(conn, nullptr);
    LINE_ASSERT_OK(sqlite::MigrateTo(*conn, sqlite::LatestSchemaVersion() - 1));
    ASSERT_EQ(sqlite::SchemaVersion(*conn).value(), sqlite::LatestSchemaVersion() - 1);
    EXPECT_EQ(IndexNames(*conn), kV5Indexes);
    // Rows as the previous version wrote them.
    LINE_ASSERT_OK(conn->Exec("seed", R"sql(
      INSERT INTO pools VALUES ('p', 'spread', 3, 30, 0, 0, 1000);
      INSERT INTO workers VALUES ('p', 'w', 10, 6, 5000, 0, 1000);
      INSERT INTO replicas VALUES ('p', 'd', 'w', 6000);
      INSERT INTO evals VALUES (7, 'p', 'e', 'placed', 'd', 4, '{"x":1}', 1, 'a', 'w', NULL,
                                '', 'key', '', 1000);
      INSERT INTO allocs VALUES (3, 'p', 'a', 'w', 'e', 'd', 4, 1, 1, 'live', 5000, 1000, 0, 0,
                                 0, '');
    )sql"));
  }
  std::unique_ptr<SqliteStore> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->WriterPragma("user_version").value(),
            std::to_string(sqlite::LatestSchemaVersion()));
  LINE_EXPECT_OK(store->Read([](Tx& tx) {
    std::optional<Pool> pool = *tx.GetPool("p");
    EXPECT_TRUE(pool.has_value() && pool->placement == PlacementPolicy::kSpread);
    std::optional<Worker> worker = *tx.GetWorker("p", "w");
    EXPECT_TRUE(worker.has_value() && worker->free == 6);
    EXPECT_EQ(*tx.WorkerDatasets("p", "w", 0), std::vector<std::string>{"d"});
    std::optional<Eval> eval = *tx.FindEvalByKey("p", "key");
    EXPECT_TRUE(eval.has_value() && eval->seq == 7 && eval->payload == R"({"x":1})");
    std::vector<Alloc> live = *tx.LiveAllocsOfWorker("p", "w");
    EXPECT_TRUE(live.size() == 1 && live[0].seq == 3 && live[0].locality);
    EXPECT_EQ(tx.CountPool("p", 0)->live_allocs, 1);
    EXPECT_EQ(tx.CountPool("p", 0)->blocked_evals, 0);
    // The indexes in memory cover the rows loaded: the undelivered alloc is still due.
    std::vector<Alloc> due = *tx.DeliverableAllocs("p", "w", 0, 10);
    EXPECT_TRUE(due.size() == 1 && due[0].alloc_id == "a");
    return Status::Ok();
  }));
  // New rows continue the old sequence.
  Eval next = MakeEval("p", "e2", 1);
  LINE_EXPECT_OK(WriteSync(*store, [&](Tx& tx) { return tx.InsertEval(next); }));
  EXPECT_GT(next.seq, 7);
  store.reset();
  std::unique_ptr<Connection> conn = MustConnect(path);
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(IndexNames(*conn), std::vector<std::string>{});
}

TEST(SqliteStoreTest, RefusesADatabaseFromANewerBuild) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  {
    std::unique_ptr<Connection> conn = MustConnect(path);
    ASSERT_NE(conn, nullptr);
    LINE_ASSERT_OK(conn->Exec("future", "PRAGMA user_version = 999"));
  }
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInternal);
  EXPECT_NE(opened.status().message().find("999"), std::string::npos) << opened.status().message();
}

TEST(SqliteStoreTest, ReopenAfterCloseKeepsTheData) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  {
    std::unique_ptr<SqliteStore> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) {
      LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p")));
      Eval e = MakeEval("p", "e", 2, "k");
      return tx.InsertEval(e);
    }));
    store->Close();
    EXPECT_EQ(store->Ping().code(), Code::kStoreUnavailable);
  }
  std::unique_ptr<SqliteStore> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  LINE_EXPECT_OK(store->Read([](Tx& tx) {
    EXPECT_TRUE(tx.GetPool("p")->has_value());
    EXPECT_TRUE(tx.FindEvalByKey("p", "k")->has_value());
    return Status::Ok();
  }));
}

// The steps of `sql`'s query plan (EXPLAIN QUERY PLAN's detail column), one per row; empty
// (and a test failure) if it does not prepare.
std::vector<std::string> PlanSteps(Connection& conn, std::string_view sql) {
  std::string explain = "EXPLAIN QUERY PLAN " + std::string(sql);
  sqlite3_stmt* stmt = nullptr;
  std::vector<std::string> steps;
  if (sqlite3_prepare_v2(conn.db(), explain.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(conn.db());
    sqlite3_finalize(stmt);
    return steps;
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    steps.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
  }
  sqlite3_finalize(stmt);
  return steps;
}

// Each commit finds the rows it writes by primary key: a DELETE or UPDATE searches the
// primary key (or the rowid), never scans; an INSERT OR REPLACE has no plan. Only the start-up loads read a
// whole table, once. Run against a database at the latest schema.
TEST(SqliteStoreTest, CommitsFindTheirRowsByPrimaryKey) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  MustOpen(path).reset();
  std::unique_ptr<Connection> conn = MustConnect(path);
  ASSERT_NE(conn, nullptr);
  int writes = 0;
  for (const sqlite::SqlStatement& statement : sqlite::AllSql()) {
    if (statement.control) continue;
    SCOPED_TRACE(statement.name);
    const std::string_view text = statement.text;
    std::vector<std::string> details = PlanSteps(*conn, text);
    for (const std::string& detail : details) {
      EXPECT_EQ(detail.find("TEMP B-TREE"), std::string::npos) << text << "\n  plan: " << detail;
    }
    if (text.starts_with("SELECT")) {
      EXPECT_TRUE(std::string_view(statement.name).starts_with("Load")) << text;
      continue;
    }
    ++writes;
    if (text.starts_with("INSERT OR REPLACE")) continue;
    ASSERT_TRUE(text.starts_with("DELETE") || text.starts_with("UPDATE")) << text;
    ASSERT_EQ(details.size(), 1u) << text;
    EXPECT_TRUE(details[0].starts_with("SEARCH ")) << text << "\n  plan: " << details[0];
    EXPECT_NE(details[0].find("PRIMARY KEY"), std::string::npos)
        << text << "\n  plan: " << details[0];
  }
  EXPECT_EQ(writes, 12)
      << "a put and an erase for each of the five tables, an update for evals and allocs";
}

TEST(SqliteStoreTest, GroupCommitSharesOneCommitAmongManyBodies) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  testing::WriterGate gate(*store);
  SqliteStoreStats before = store->Stats();

  std::atomic<int> done{0};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "e" + std::to_string(t * kPerThread + i);
        store->Write(
            [id](Tx& tx) {
              Eval e = MakeEval("p", id, 1);
              return tx.InsertEval(e);
            },
            [&](Status s) {
              EXPECT_TRUE(s.ok()) << s.ToString();
              if (done.fetch_add(1) + 1 == kThreads * kPerThread) all_done.set_value();
            });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  gate.Release();
  LINE_EXPECT_OK(gate.Done());
  all_done.get_future().wait();

  SqliteStoreStats after = store->Stats();
  int64_t bodies = after.bodies - before.bodies;
  int64_t commits = after.commits - before.commits;
  EXPECT_EQ(bodies, kThreads * kPerThread + 1);  // + the gate itself
  // Everything queued while the gate held the writer commits in one group of 1000.
  EXPECT_EQ(commits, 2) << "the gate's commit and one for the 1000 bodies queued behind it";
  EXPECT_EQ(after.failed_commits, 0);
  EXPECT_EQ(ReadValue(*store, [](Tx& tx) { return tx.CountPool("p", 0); }).pending_evals,
            kThreads * kPerThread);
}

TEST(SqliteStoreTest, GroupsAreBounded) {
  ScopedTempDir dir;
  SqliteStoreOptions options;
  options.max_group_bodies = 10;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"), options);
  ASSERT_NE(store, nullptr);
  testing::WriterGate gate(*store);
  SqliteStoreStats before = store->Stats();
  for (int i = 0; i < 95; ++i) {
    store->Write([i](Tx& tx) { return tx.InsertPool(MakePool("p" + std::to_string(i))); }, nullptr);
  }
  gate.Release();
  store->Close();  // drains the queue
  SqliteStoreStats after = store->Stats();
  EXPECT_EQ(after.bodies - before.bodies, 96);
  EXPECT_EQ(after.commits - before.commits, 1 + 10) << "the gate, then 95 bodies in tens";
}

TEST(SqliteStoreTest, CloseFromADoneCallbackDoesNotDeadlock) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  std::promise<Status> closed_from_done;
  store->Write([](Tx& tx) { return tx.InsertPool(MakePool("p")); },
               [&](Status s) {
                 store->Close();
                 closed_from_done.set_value(s);
               });
  LINE_EXPECT_OK(closed_from_done.get_future().get());
  EXPECT_EQ(WriteSync(*store, [](Tx&) { return Status::Ok(); }).code(), Code::kStoreUnavailable);
  store.reset();  // joins the writer from this thread
}

TEST(SqliteStoreTest, ErrorsNameTheStatementAndMapToCodes) {
  EXPECT_EQ(sqlite::SqliteError(nullptr, SQLITE_BUSY, "Commit").code(), Code::kStoreUnavailable);
  EXPECT_EQ(sqlite::SqliteError(nullptr, SQLITE_IOERR_FSYNC, "Commit").code(),
            Code::kStoreUnavailable);
  EXPECT_EQ(sqlite::SqliteError(nullptr, SQLITE_FULL, "Commit").code(), Code::kStoreUnavailable);
  EXPECT_EQ(sqlite::SqliteError(nullptr, SQLITE_CONSTRAINT_UNIQUE, "InsertPool").code(),
            Code::kInternal);
  EXPECT_EQ(sqlite::SqliteError(nullptr, SQLITE_MISUSE, "x").code(), Code::kInternal);

  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  Status duplicate = WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); });
  EXPECT_EQ(duplicate.code(), Code::kInternal);
  EXPECT_NE(duplicate.message().find("InsertPool"), std::string::npos) << duplicate.message();
  EXPECT_NE(duplicate.message().find("UNIQUE"), std::string::npos) << duplicate.message();
}

TEST(SqliteStoreTest, OpenFailsCleanlyWhenTheFileCannotBeOpened) {
  ScopedTempDir dir;
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(dir.File("missing/dir/line.db"));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kStoreUnavailable) << opened.status().ToString();
}

TEST(OpenStoreTest, SqliteUrlCreatesDirectoriesAndOpens) {
  ScopedTempDir dir;
  const std::string path = dir.File("a/b/line.db");
  Result<std::unique_ptr<Store>> opened = OpenStore("sqlite:" + path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  LINE_EXPECT_OK((*opened)->Ping());
  LINE_EXPECT_OK(WriteSync(**opened, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(OpenStoreTest, OtherUrlsAreInvalidInputNamingTheVariableAndValue) {
  for (const std::string url : {"mysql://db/line", "sqlite:", "", "/tmp/line.db"}) {
    SCOPED_TRACE(url);
    Result<std::unique_ptr<Store>> opened = OpenStore(url);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kInvalidInput);
    EXPECT_NE(opened.status().message().find("LINE_STORE"), std::string::npos);
    EXPECT_NE(opened.status().message().find("'" + url + "'"), std::string::npos)
        << opened.status().message();
  }
}

}  // namespace
}  // namespace line::testing_store

namespace line::testing_store {
namespace {

// The writer's commits must not pay for WAL checkpoints: a commit that grows the WAL past the
// threshold wakes the checkpointer thread, which copies it back into the database file.
TEST(SqliteCheckpointTest, ALargeCommitIsCheckpointedOffTheWriterAndKept) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  SqliteStoreOptions options;
  options.checkpoint_frames = 1000;  // the commit below writes about 2,000 pages
  std::unique_ptr<SqliteStore> store = MustOpen(path, options);
  ASSERT_NE(store, nullptr);
  const std::string payload = "\"" + std::string(3000, 'x') + "\"";
  LINE_ASSERT_OK(WriteSync(*store, [&](Tx& tx) {
    for (int i = 0; i < 2000; ++i) {
      Eval eval = MakeEval("p", "e" + std::to_string(i), 1);
      eval.payload = payload;
      LINE_RETURN_IF_ERROR(tx.InsertEval(eval));
    }
    return Status::Ok();
  }));
  // The checkpointer runs on its own thread: wait for it, with a bound.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (store->Stats().checkpoints == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(store->Stats().checkpoints, 1);
  store.reset();
  std::unique_ptr<SqliteStore> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  LINE_EXPECT_OK(reopened->Read([&](Tx& tx) {
    std::optional<Eval> last = *tx.GetEval("p", "e1999");
    EXPECT_TRUE(last.has_value() && last->payload == payload);
    return Status::Ok();
  }));
}

// Under a steady stream of commits the background checkpointer alone never copies the last
// frames (more are committed while it copies), and SQLite starts the WAL file over only once
// every frame is copied: the WAL grew to the hard limit (16 thresholds). The writer finishes
// each pass between two groups, so the file stays within a few thresholds.
TEST(SqliteCheckpointTest, UnderASteadyStreamOfCommitsTheWalStartsOver) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  SqliteStoreOptions options;
  options.checkpoint_frames = 64;
  std::unique_ptr<SqliteStore> store = MustOpen(path, options);
  ASSERT_NE(store, nullptr);
  const std::string payload = "\"" + std::string(3000, 'x') + "\"";  // about a page each
  constexpr int kWrites = 3000;
  constexpr int kInFlight = 4;  // keeps the writer busy: the next group is always queued
  std::mutex mu;
  std::condition_variable changed;
  int in_flight = 0;
  int failed = 0;
  for (int i = 0; i < kWrites; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return in_flight < kInFlight; });
      ++in_flight;
    }
    Eval eval = MakeEval("p", "e" + std::to_string(i), 1);
    eval.payload = payload;
    store->Write([eval](Tx& tx) mutable { return tx.InsertEval(eval); },
                 [&](Status status) {
                   std::lock_guard<std::mutex> lock(mu);
                   if (!status.ok()) ++failed;
                   --in_flight;
                   changed.notify_all();
                 });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    changed.wait(lock, [&] { return in_flight == 0; });
  }
  EXPECT_EQ(failed, 0);
  const SqliteStoreStats stats = store->Stats();
  EXPECT_GE(stats.commits, kWrites / kInFlight);  // many commits, not a few large groups
  EXPECT_GE(stats.checkpoints_finished_on_writer, 1);
  // SQLite never shrinks the WAL file: its size is the most it ever held. The hard limit is
  // 16 thresholds (1,024 frames here); a WAL that starts over stays far below it.
  constexpr int64_t kFrameBytes = 24 + 4096;
  const auto wal_bytes = static_cast<int64_t>(std::filesystem::file_size(path + "-wal"));
  EXPECT_LE(wal_bytes, 6 * options.checkpoint_frames * kFrameBytes)
      << "the WAL grew to " << wal_bytes / kFrameBytes << " frames";
  store.reset();
  std::unique_ptr<SqliteStore> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  LINE_EXPECT_OK(reopened->Read([&](Tx& tx) {
    for (const std::string& id : {"e0", "e1500", "e2999"}) {
      std::optional<Eval> eval = *tx.GetEval("p", id);
      EXPECT_TRUE(eval.has_value() && eval->payload == payload) << id;
    }
    return Status::Ok();
  }));
}

}  // namespace
}  // namespace line::testing_store
