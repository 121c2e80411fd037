// PostgreSQL-only behaviour: session settings, migrations (from empty, from the previous
// version, two nodes at once), query plans, outages, the user story through a real lined,
// and the conformance suite's PostgreSQL instantiation. Needs LINE_TEST_PG (`make test` starts a
// throwaway server and sets it); each test works in a schema of its own, so tests can run in
// parallel against one server.
#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_schema.h"
#include "store/postgres/pg_sql.h"
#include "store/postgres/pg_tx.h"
#include "store/postgres/reconnect_backoff.h"
#include "store_conformance.h"
#include "store_test_util.h"
#include "testing/e2e.h"

namespace line::testing_store {
namespace {

using postgres::PgConnection;
using postgres::PgConnectionOptions;
using postgres::PgResult;

// The server under test. Never skips: a missing server is a failed test, with the remedy.
std::string TestPgUrl() {
  const char* url = std::getenv("LINE_TEST_PG");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "LINE_TEST_PG is not set. The PostgreSQL tests need a server: run "
                     "`make test` (it starts a throwaway one), or start one with "
                     "`eval \"$(scripts/test-postgres.sh start)\"`, or set "
                     "LINE_TEST_PG=postgresql://user@host:port/db yourself.";
    return "";
  }
  return url;
}

std::unique_ptr<PgConnection> MustConnect(const std::string& url) {
  PgConnectionOptions options;
  options.prepare = false;
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url, options);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(conn).value() : nullptr;
}

PgResult MustExec(PgConnection& conn, const std::string& sql) {
  Result<PgResult> result = conn.Exec("test", sql);
  EXPECT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
  return result.ok() ? std::move(result).value() : PgResult(nullptr);
}

// A fresh schema on the test server, dropped with everything in it at the end. url() reaches
// it: the server URL with search_path set to the schema.
class ScopedSchema {
 public:
  ScopedSchema() : server_(TestPgUrl()) {
    if (server_.empty()) return;
    std::random_device random;
    name_ = "line_t" + std::to_string(::getpid()) + "_" + std::to_string(random() % 1000000000);
    admin_ = MustConnect(server_);
    if (admin_ == nullptr) return;
    MustExec(*admin_, "SET client_min_messages = warning");  // no NOTICEs from DROP CASCADE
    MustExec(*admin_, "CREATE SCHEMA " + name_);
    bool uri = server_.starts_with("postgresql://") || server_.starts_with("postgres://");
    url_ = uri ? server_ + (server_.find('?') == std::string::npos ? "?" : "&") +
                     "options=-csearch_path%3D" + name_
               : server_ + " options='-csearch_path=" + name_ + "'";
  }
  ~ScopedSchema() {
    if (admin_ != nullptr) MustExec(*admin_, "DROP SCHEMA " + name_ + " CASCADE");
  }
  bool ok() const { return !url_.empty(); }
  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }
  PgConnection& admin() { return *admin_; }

 private:
  std::string server_;
  std::string name_;
  std::string url_;
  std::unique_ptr<PgConnection> admin_;  // on the server's default schema
};

PostgresStoreOptions OptionsFor(const ScopedSchema& schema) {
  PostgresStoreOptions options;
  options.application_name = schema.name();  // so a test can find (and kill) its backends
  return options;
}

std::unique_ptr<PostgresStore> MustOpen(const ScopedSchema& schema) {
  Result<std::unique_ptr<PostgresStore>> opened =
      OpenPostgresStore(schema.url(), OptionsFor(schema));
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

class PostgresHandle final : public StoreHandle {
 public:
  PostgresHandle() {
    if (schema_.ok()) store_ = MustOpen(schema_);
  }
  bool ok() const { return store_ != nullptr; }
  Store& store() override { return *store_; }

 private:
  ScopedSchema schema_;  // declared first: dropped after the store is closed
  std::unique_ptr<PostgresStore> store_;
};

StoreFactory PostgresStoreFactory() {
  return StoreFactory{"Postgres", []() -> std::unique_ptr<StoreHandle> {
                        auto handle = std::make_unique<PostgresHandle>();
                        if (!handle->ok()) return nullptr;  // the failure says why
                        return handle;
                      }};
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest, ::testing::Values(PostgresStoreFactory()),
                         StoreFactoryName);

std::vector<std::string> IndexNames(PgConnection& admin, const std::string& schema) {
  PgResult rows = MustExec(admin, "SELECT indexname FROM pg_indexes WHERE schemaname = '" + schema +
                                      "' AND indexname NOT LIKE '%_pkey' ORDER BY 1");
  std::vector<std::string> names;
  for (int row = 0; row < rows.rows(); ++row) names.push_back(rows.Text(row, 0));
  return names;
}

const std::vector<std::string> kV1Indexes = {"allocs_by_id", "evals_by_id", "evals_by_key"};
const std::vector<std::string> kLatestIndexes = {
    "allocs_by_eval",   "allocs_by_id",       "allocs_by_pool",        "allocs_by_state",
    "allocs_by_worker", "allocs_live_by_ttl", "allocs_live_by_worker", "allocs_to_deliver",
    "evals_by_id",
    "evals_by_key",     "evals_by_pool",      "evals_by_state",        "line_nodes_by_pid",
    "pools_disbanded",  "replicas_by_ttl",    "workers_by_ttl"};

int StoredVersion(PgConnection& admin, const std::string& schema) {
  return static_cast<int>(
      MustExec(admin, "SELECT version FROM " + schema + ".line_schema").Int(0, 0));
}

TEST(PostgresStoreTest, WriterCommitsSynchronouslyInReadCommitted) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  std::unique_ptr<PostgresStore> store = MustOpen(schema);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->WriterSetting("synchronous_commit").value(), "on");
  EXPECT_EQ(store->WriterSetting("transaction_isolation").value(), "read committed");
  EXPECT_EQ(store->WriterSetting("x; DROP TABLE pools").status().code(), Code::kInvalidInput);
  LINE_EXPECT_OK(store->Read([](Tx& tx) {
    Result<PgResult> level = static_cast<postgres::PostgresTx&>(tx).connection().Exec(
        "isolation", "SHOW transaction_isolation");
    EXPECT_TRUE(level.ok() && level->Text(0, 0) == "repeatable read");
    return Status::Ok();
  }));
}

TEST(PostgresStoreTest, MigratesAnEmptySchemaToTheLatestVersion) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  ASSERT_NE(MustOpen(schema), nullptr);
  EXPECT_GE(postgres::LatestPgSchemaVersion(), 2);
  EXPECT_EQ(StoredVersion(schema.admin(), schema.name()), postgres::LatestPgSchemaVersion());
  EXPECT_EQ(IndexNames(schema.admin(), schema.name()), kLatestIndexes);
  ASSERT_NE(MustOpen(schema), nullptr) << "opening a migrated schema again changes nothing";
  EXPECT_EQ(StoredVersion(schema.admin(), schema.name()), postgres::LatestPgSchemaVersion());
}

TEST(PostgresStoreTest, MigratesFromTheFirstVersionKeepingItsData) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  {
    std::unique_ptr<PgConnection> conn = MustConnect(schema.url());
    ASSERT_NE(conn, nullptr);
    LINE_ASSERT_OK(postgres::PgMigrateTo(*conn, 1));
    MustExec(*conn,
             "INSERT INTO pools VALUES('old', 'spread', 3, 30, false, 0, 1);"
             "INSERT INTO evals(pool_id, eval_id, state, dataset_id, size, payload, attempt, "
             "alloc_id, worker_id, result, dead_reason, created_at) "
             "VALUES('old', 'e1', 'pending', 'd', 2, '{}', 0, '', '', '', '', 1)");
  }
  EXPECT_EQ(StoredVersion(schema.admin(), schema.name()), 1);
  EXPECT_EQ(IndexNames(schema.admin(), schema.name()), kV1Indexes);

  std::unique_ptr<PostgresStore> store = MustOpen(schema);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(StoredVersion(schema.admin(), schema.name()), postgres::LatestPgSchemaVersion());
  EXPECT_EQ(IndexNames(schema.admin(), schema.name()), kLatestIndexes);
  std::optional<Pool> pool = ReadValue(*store, [](Tx& tx) { return tx.GetPool("old"); });
  ASSERT_TRUE(pool.has_value());
  EXPECT_EQ(pool->placement, PlacementPolicy::kSpread);
  std::vector<Eval> pending =
      ReadValue(*store, [](Tx& tx) { return tx.PendingEvals("old", 10, 0, 10); });
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].eval_id, "e1");
}

TEST(PostgresStoreTest, NodesStartingTogetherMigrateOnce) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  constexpr int kNodes = 4;
  std::vector<Status> outcomes(kNodes);
  std::vector<std::thread> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.emplace_back([&, i] {
      Result<std::unique_ptr<PostgresStore>> opened =
          OpenPostgresStore(schema.url(), OptionsFor(schema));
      outcomes[i] = opened.status();
    });
  }
  for (std::thread& node : nodes) node.join();
  for (const Status& outcome : outcomes) LINE_EXPECT_OK(outcome);
  EXPECT_EQ(StoredVersion(schema.admin(), schema.name()), postgres::LatestPgSchemaVersion());
  EXPECT_EQ(IndexNames(schema.admin(), schema.name()), kLatestIndexes);
}

TEST(PostgresStoreTest, RefusesASchemaNewerThanThisBuild) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  ASSERT_NE(MustOpen(schema), nullptr);
  MustExec(schema.admin(), "UPDATE " + schema.name() + ".line_schema SET version = 999");
  Result<std::unique_ptr<PostgresStore>> opened =
      OpenPostgresStore(schema.url(), OptionsFor(schema));
  EXPECT_EQ(opened.status().code(), Code::kInternal) << opened.status().ToString();
}

// Every statement that reads or changes existing rows finds them through an index. Small
// tables make the planner prefer scanning, so scans are priced out (enable_seqscan = off):
// a Seq Scan left in the plan means no index can serve the statement at all.
TEST(PostgresStoreTest, EveryQueryUsesAnIndex) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  ASSERT_NE(MustOpen(schema), nullptr);
  PgConnectionOptions options;
  options.application_name = schema.name();
  Result<std::unique_ptr<PgConnection>> opened = PgConnection::Open(schema.url(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PgConnection& conn = **opened;
  MustExec(conn, "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan");
  int checked = 0;
  for (const postgres::PgStatement& statement : postgres::AllPgSql()) {
    if (statement.control || std::string_view(statement.text).starts_with("INSERT")) continue;
    PgResult described(PQdescribePrepared(conn.raw(), statement.name));
    std::string args;
    for (int i = 0; i < described.params(); ++i) {
      args += i == 0 ? "NULL" : ", NULL";
    }
    std::string explain = std::string("EXPLAIN EXECUTE \"") + statement.name + "\"" +
                          (args.empty() ? "" : "(" + args + ")");
    PgResult plan = MustExec(conn, explain);
    std::string text;
    for (int row = 0; row < plan.rows(); ++row) text += plan.Text(row, 0) + "\n";
    EXPECT_EQ(text.find("Seq Scan"), std::string::npos) << statement.name << ":\n" << text;
    EXPECT_NE(text.find("Index"), std::string::npos) << statement.name << ":\n" << text;
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

// Terminates every server process of this test's store (they carry its application_name).
int TerminateBackends(ScopedSchema& schema, const std::string& which = "") {
  std::string filter = which.empty() ? "" : " AND pid = " + which;
  PgResult killed = MustExec(schema.admin(),
                             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE application_name = '" +
                                 schema.name() + "'" + filter);
  // pg_terminate_backend only signals: wait until the processes are gone.
  for (int i = 0; i < 500; ++i) {
    PgResult left = MustExec(schema.admin(),
                             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                 schema.name() + "'" + filter);
    if (left.Int(0, 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return static_cast<int>(killed.Int(0, 0));
}

TEST(PostgresStoreTest, WriterConnectionKilledMidGroupIsUnavailableThenRecovers) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  std::unique_ptr<PostgresStore> store = MustOpen(schema);
  ASSERT_NE(store, nullptr);
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("before")); }));
  Result<int> pid = store->WriterBackendPid();
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();

  // The body runs on the writer thread while this thread waits, so it may use the admin
  // connection: it kills its own session half-way.
  Status lost = WriteSync(*store, [&](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("lost")));
    EXPECT_EQ(TerminateBackends(schema, std::to_string(*pid)), 1);
    return tx.InsertPool(MakePool("after"));
  });
  EXPECT_EQ(lost.code(), Code::kStoreUnavailable) << lost.ToString();
  // The next write reconnects at once: only failed connection attempts back off.
  LINE_EXPECT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("after")); }));
  EXPECT_EQ(store->Stats().reconnects, 1);
  std::vector<Pool> pools = ReadValue(*store, [](Tx& tx) { return tx.ListPools("", 10); });
  ASSERT_EQ(pools.size(), 2u) << "nothing of the lost group committed";
  EXPECT_EQ(pools[0].pool_id, "after");
  EXPECT_EQ(pools[1].pool_id, "before");
}

TEST(PostgresStoreTest, ReaderConnectionKilledMidReadIsUnavailableNeverAWrongAnswer) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  std::unique_ptr<PostgresStore> store = MustOpen(schema);
  ASSERT_NE(store, nullptr);
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));

  Status lost = store->Read([&](Tx& tx) {
    EXPECT_TRUE(tx.GetPool("p")->has_value());
    int pid = static_cast<postgres::PostgresTx&>(tx).connection().backend_pid();
    EXPECT_EQ(TerminateBackends(schema, std::to_string(pid)), 1);
    Result<std::optional<Pool>> gone = tx.GetPool("p");
    EXPECT_EQ(gone.status().code(), Code::kStoreUnavailable) << gone.status().ToString();
    return Status::Ok();  // a careless body: the store still reports the outage
  });
  EXPECT_EQ(lost.code(), Code::kStoreUnavailable) << lost.ToString();
  LINE_EXPECT_OK(store->Ping());
  EXPECT_TRUE(ReadValue(*store, [](Tx& tx) { return tx.GetPool("p"); }).has_value());
}

TEST(PostgresStoreTest, ConnectionsKilledWhileIdleAreReplaced) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  std::unique_ptr<PostgresStore> store = MustOpen(schema);
  ASSERT_NE(store, nullptr);
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  ASSERT_GE(TerminateBackends(schema), 2) << "the writer and the reader Open left idle";
  // The server said goodbye to each idle session before it went (TerminateBackends waits for
  // that), so each connection notices before it is used, and no call sees the outage.
  EXPECT_TRUE(ReadValue(*store, [](Tx& tx) { return tx.GetPool("p"); }).has_value());
  LINE_EXPECT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("q")); }));
  EXPECT_EQ(store->Stats().reconnects, 1);
}

TEST(PostgresStoreTest, UnreachableServerIsUnavailableAndKeepsThePasswordOut) {
  Result<std::unique_ptr<Store>> opened = OpenStore("postgresql://line:s3cret-pw@127.0.0.1:1/line");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kStoreUnavailable) << opened.status().ToString();
  EXPECT_EQ(opened.status().message().find("s3cret-pw"), std::string::npos)
      << opened.status().message();
}

TEST(PostgresStoreTest, OpenStoreTakesBothUrlSchemes) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  for (std::string url : {schema.url(), "postgres://" + schema.url().substr(13)}) {
    if (!url.starts_with("postgres")) continue;  // a conninfo LINE_TEST_PG has no scheme
    Result<std::unique_ptr<Store>> opened = OpenStore(url);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    LINE_EXPECT_OK((*opened)->Ping());
  }
}

TEST(ReconnectBackoffTest, DoublesFromAHundredMillisecondsUpToFiveSeconds) {
  ManualClock clock;
  postgres::ReconnectBackoff backoff(&clock);
  LINE_EXPECT_OK(backoff.MayConnect());
  std::vector<int64_t> waits;
  for (int i = 0; i < 9; ++i) {
    backoff.Failed();
    int64_t waited = 0;
    while (!backoff.MayConnect().ok()) {
      EXPECT_EQ(backoff.MayConnect().code(), Code::kStoreUnavailable);
      clock.Advance(10);
      waited += 10;
    }
    waits.push_back(waited);
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000}));
  backoff.Succeeded();
  backoff.Failed();
  EXPECT_FALSE(backoff.MayConnect().ok());
  clock.Advance(100);
  LINE_EXPECT_OK(backoff.MayConnect());
}

// The original's user story through a real lined on PostgreSQL: placed near its dataset,
// received, completed once (a retried completion is 409 AllocAlreadyEnded), a retried
// submission with the same idempotency key gets the same id.
class PostgresLinedTest : public line::testing::LinedTest {
 protected:
  line::testing::LinedOptions Options() override {
    line::testing::LinedOptions options;
    if (schema_.ok()) options.extra_args = {"--store", schema_.url()};  // the last --store wins
    return options;
  }
  ScopedSchema schema_;  // made before SetUp starts lined, dropped after TearDown stops it
};

TEST_F(PostgresLinedTest, EvalIsPlacedNearItsDatasetRunAndCompletedOnce) {
  namespace json = boost::json;
  ASSERT_TRUE(schema_.ok());
  std::string pool_id = CreatePool();
  std::string near = RegisterWorker(pool_id, 10);
  std::string far = RegisterWorker(pool_id, 10);
  Heartbeat(pool_id, near, {}, {"d1"});
  Heartbeat(pool_id, far, {}, {});

  json::object request = {{"pool_id", pool_id},
                          {"dataset_id", "d1"},
                          {"size", 3},
                          {"payload", {{"command", "train"}}},
                          {"idempotency_key", "job-1"}};
  std::string eval_id = line::testing::Str(Call("/ScheduleEval", request), "eval_id");
  EXPECT_EQ(line::testing::Str(Call("/ScheduleEval", request), "eval_id"), eval_id)
      << "a retried submission returns the first id";

  json::object received = Call(
      "/ReceiveAllocs", {{"pool_id", pool_id}, {"worker_id", near}, {"wait_time_seconds", 10}});
  const json::array& allocs = line::testing::Arr(received, "allocs");
  ASSERT_EQ(allocs.size(), 1u) << json::serialize(received);
  std::string alloc_id = line::testing::Str(line::testing::Obj(allocs[0]), "alloc_id");
  EXPECT_EQ(line::testing::Int(DescribeWorker(pool_id, near), "free"), 7);

  json::object complete = {
      {"pool_id", pool_id}, {"alloc_id", alloc_id}, {"worker_id", near}, {"exit_code", 0}};
  Call("/CompleteAlloc", complete);
  line::testing::HttpResponse again = client().Post("/CompleteAlloc", complete);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.Code(), "AllocAlreadyEnded");

  json::object eval = DescribeEval(pool_id, eval_id);
  EXPECT_EQ(line::testing::Str(eval, "state"), "completed");
  const json::array& history = line::testing::Arr(eval, "history");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_TRUE(line::testing::Bool(line::testing::Obj(history[0]), "locality"));
  json::object pool = DescribePool(pool_id);
  EXPECT_EQ(line::testing::Int(pool, "free"), 20);
  EXPECT_EQ(line::testing::Int(pool, "live_allocs"), 0);
  Call("/DisbandPool", {{"pool_id", pool_id}});
  EXPECT_TRUE(line::testing::Bool(DescribePool(pool_id), "disbanded"));
  // And it all happened in this test's schema, not in some file.
  EXPECT_EQ(
      MustExec(schema_.admin(), "SELECT count(*) FROM " + schema_.name() + ".allocs").Int(0, 0), 1);
}

// Two nodes' writers claim the same two workers in opposite orders: PostgreSQL breaks the
// deadlock by failing one statement (40P01). The loser's group rolls back and runs again, so
// both writes succeed and both claims count, instead of one caller getting a 503.
TEST(PostgresStoreTest, ABodyThatLosesADeadlockToAnotherNodeRunsAgain) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  std::unique_ptr<PostgresStore> a = MustOpen(schema);
  std::unique_ptr<PostgresStore> b = MustOpen(schema);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  LINE_ASSERT_OK(WriteSync(*a, [](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p")));
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "w1", 10)));
    return tx.InsertWorker(MakeWorker("p", "w2", 10));
  }));
  std::atomic<int> holding{0};  // bodies that took their first row lock
  std::atomic<int> runs{0};
  auto crossed = [&](const std::string& first, const std::string& second) {
    return [&, first, second](Tx& tx) -> Status {
      ++runs;
      LINE_ASSIGN_OR_RETURN(bool claimed, tx.ClaimCapacity("p", first, 1, kNow));
      if (!claimed) return Status::Internal("first claim refused");
      ++holding;
      // Wait (bounded) until the other body holds its first row too: then both block.
      for (int i = 0; i < 500 && holding.load() < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      LINE_ASSIGN_OR_RETURN(claimed, tx.ClaimCapacity("p", second, 1, kNow));
      if (!claimed) return Status::Internal("second claim refused");
      return Status::Ok();
    };
  };
  Status status_a, status_b;
  std::thread ta([&] { status_a = WriteSync(*a, crossed("w1", "w2")); });
  std::thread tb([&] { status_b = WriteSync(*b, crossed("w2", "w1")); });
  ta.join();
  tb.join();
  LINE_EXPECT_OK(status_a);
  LINE_EXPECT_OK(status_b);
  EXPECT_EQ(runs.load(), 3) << "the deadlock's loser ran once more";
  for (const char* worker : {"w1", "w2"}) {
    std::optional<Worker> w = ReadValue(*a, [&](Tx& tx) { return tx.GetWorker("p", worker); });
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->free, 8) << worker << ": both bodies' claims committed, once each";
  }
}

// A heartbeat's renewal on one node while another node deletes the worker (its expiry or
// deregistration) and has not committed yet: whether the renewal would move the deadline or
// finds it already that late (decision 0010), it waits for the delete and then sees it. It
// never calls a worker alive that is gone (a SELECT of the statement's snapshot did).
TEST(PostgresStoreTest, ARenewalWaitsForAConcurrentDeleteAndSeesIt) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  std::unique_ptr<PostgresStore> deleter = MustOpen(schema);
  std::unique_ptr<PostgresStore> renewer = MustOpen(schema);
  ASSERT_TRUE(deleter != nullptr && renewer != nullptr);
  LINE_ASSERT_OK(WriteSync(*deleter, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  for (const bool moves : {false, true}) {
    SCOPED_TRACE(moves ? "a renewal that moves the deadline" : "a deadline already that late");
    const Worker worker = MakeWorker("p", "w", 10);
    LINE_ASSERT_OK(WriteSync(*deleter, [&](Tx& tx) { return tx.InsertWorker(worker); }));
    std::promise<void> deleted, release;
    Status delete_status;
    std::thread deleting([&] {
      delete_status = WriteSync(*deleter, [&](Tx& tx) -> Status {
        LINE_RETURN_IF_ERROR(tx.DeleteWorker("p", "w"));
        deleted.set_value();
        release.get_future().wait();  // holds the row lock, uncommitted
        return Status::Ok();
      });
    });
    deleted.get_future().wait();
    std::optional<bool> alive;
    Status renew_status;
    std::thread renewing([&] {
      const TimeMs to = moves ? worker.ttl + 1'000 : worker.ttl - 1'000;
      renew_status = WriteSync(*renewer, [&](Tx& tx) -> Status {
        LINE_ASSIGN_OR_RETURN(bool renewed, tx.RenewWorker("p", "w", kNow, to));
        alive = renewed;
        return Status::Ok();
      });
    });
    // Let the renewal reach the lock before the delete commits (bounded).
    bool waiting = false;
    for (int i = 0; i < 1000 && !waiting; ++i) {
      waiting = MustExec(schema.admin(),
                         "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                    .Int(0, 0) > 0;
      if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(waiting) << "the renewal never waited for the delete's lock";
    release.set_value();
    deleting.join();
    renewing.join();
    LINE_EXPECT_OK(delete_status);
    LINE_ASSERT_OK(renew_status);
    ASSERT_TRUE(alive.has_value());
    EXPECT_FALSE(*alive) << "a deleted worker was reported alive";
  }
}

// The cycle runs through a lock an *earlier* body of the same group holds: rolling back only
// the losing body cannot break it, so the whole group runs again in a new transaction.
TEST(PostgresStoreTest, ADeadlockThroughAnEarlierBodyOfTheGroupRerunsTheWholeGroup) {
  ScopedSchema schema;
  ASSERT_TRUE(schema.ok());
  std::unique_ptr<PostgresStore> a = MustOpen(schema);
  std::unique_ptr<PostgresStore> b = MustOpen(schema);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  LINE_ASSERT_OK(WriteSync(*a, [](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "w1", 10)));
    return tx.InsertWorker(MakeWorker("p", "w2", 10));
  }));
  std::atomic<bool> a_holds_w1{false}, b_holds_w2{false}, queued{false};
  auto wait_for = [](const std::atomic<bool>& flag) {
    for (int i = 0; i < 500 && !flag.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  auto claim = [](Tx& tx, const char* worker) -> Status {
    LINE_ASSIGN_OR_RETURN(bool claimed, tx.ClaimCapacity("p", worker, 1, kNow));
    return claimed ? Status::Ok() : Status::Internal(std::string("claim refused: ") + worker);
  };
  DoneCounter done_a;
  // Holds A's writer until both bodies below are queued, so they share the next group.
  a->Write([&](Tx&) -> Status { wait_for(queued); return Status::Ok(); }, done_a.Callback());
  a->Write([&](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(claim(tx, "w1"));
    a_holds_w1 = true;
    wait_for(b_holds_w2);
    return Status::Ok();
  }, done_a.Callback());
  a->Write([&](Tx& tx) { return claim(tx, "w2"); }, done_a.Callback());
  queued = true;
  Status status_b = WriteSync(*b, [&](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(claim(tx, "w2"));
    b_holds_w2 = true;
    wait_for(a_holds_w1);
    return claim(tx, "w1");
  });
  done_a.WaitFor(3);
  LINE_EXPECT_OK(status_b);
  EXPECT_EQ(done_a.ok(), 3) << ::testing::PrintToString(done_a.failures());
  for (const char* worker : {"w1", "w2"}) {
    std::optional<Worker> w = ReadValue(*a, [&](Tx& tx) { return tx.GetWorker("p", worker); });
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->free, 8) << worker << ": A's claim and B's, once each";
  }
}

}  // namespace
}  // namespace line::testing_store
