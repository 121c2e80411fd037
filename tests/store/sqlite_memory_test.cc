// The embedded store keeps its rows in memory and writes each group's changed rows to its
// file (decision 0015). These tests hold it to that: the file, loaded again, is exactly what
// memory held; a commit that fails leaves memory as it was; a read never sees a group before
// it is durable; and one file serves one process.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"
#include "store_test_util.h"
#include "temp_dir.h"
#include "testing/writer_gate.h"

namespace line::testing_store {
namespace {

using sqlite::Connection;
using sqlite::ConnectionOptions;

std::unique_ptr<SqliteStore> MustOpen(const std::string& path,
                                      const SqliteStoreOptions& options = {}) {
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(path, options);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

void Exec(const std::string& path, const std::string& sql) {
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path, ConnectionOptions{});
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  LINE_ASSERT_OK((*conn)->Exec("test", sql));
}

// Everything a store holds, as text: every row of every pool through the listing primitives,
// and the answer of every query that reads an index, per pool and across pools (the replicas'
// deadline index is read by a deletion in a body that is then rolled back).
std::string Dump(Store& store, TimeMs now) {
  std::ostringstream out;
  int64_t expiring_replicas = -1;
  Status probe = WriteSync(store, [&](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(expiring_replicas, tx.DeleteReplicasExpiredBy(now + 100'000));
    return Status(Code::kNotFound, "rolled back: only counting");
  });
  EXPECT_EQ(probe.code(), Code::kNotFound) << probe.ToString();
  out << "expiring replicas " << expiring_replicas << "\n";
  Status status = store.Read([&](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(std::vector<Pool> pools, tx.ListPools("", 1000));
    for (const Pool& p : pools) {
      out << "pool " << p.pool_id << " " << PlacementName(p.placement) << " " << p.max_retry
          << " " << p.alloc_ttl_s << " " << p.disbanded << " " << p.disbanded_at << " "
          << p.created_at << "\n";
      LINE_ASSIGN_OR_RETURN(std::vector<Worker> workers, tx.ListWorkers(p.pool_id, "", 1000));
      for (const Worker& w : workers) {
        out << " worker " << w.worker_id << " " << w.capacity << " " << w.free << " " << w.ttl
            << " " << w.draining << " " << w.registered_at << "\n";
      }
      LINE_ASSIGN_OR_RETURN(std::vector<Replica> replicas, tx.PoolReplicas(p.pool_id, 0));
      for (const Replica& r : replicas) {
        out << " replica " << r.worker_id << " " << r.dataset_id << " " << r.ttl << "\n";
      }
      LINE_ASSIGN_OR_RETURN(std::vector<Eval> evals, tx.ListEvals(p.pool_id, {}, 0, 1000));
      for (const Eval& e : evals) {
        out << " eval " << e.seq << " " << e.eval_id << " " << EvalStateName(e.state) << " "
            << e.dataset_id << " " << e.size << " " << e.payload << " " << e.attempt << " "
            << e.alloc_id << " " << e.worker_id << " " << e.exit_code.value_or(-999) << " "
            << e.result << " [" << e.idempotency_key << "] " << e.dead_reason << " "
            << e.created_at << "\n";
        LINE_ASSIGN_OR_RETURN(std::optional<Eval> by_id, tx.GetEval(p.pool_id, e.eval_id));
        out << "  by id " << (by_id ? by_id->seq : -1);
        LINE_ASSIGN_OR_RETURN(std::optional<Eval> by_key,
                              tx.FindEvalByKey(p.pool_id, e.idempotency_key));
        out << " by key " << (by_key ? by_key->seq : -1) << " allocs";
        LINE_ASSIGN_OR_RETURN(std::vector<Alloc> history, tx.AllocsOfEval(p.pool_id, e.eval_id));
        for (const Alloc& a : history) out << " " << a.seq;
        out << "\n";
      }
      for (EvalState state : {EvalState::kPending, EvalState::kPlaced, EvalState::kCompleted,
                              EvalState::kDead}) {
        LINE_ASSIGN_OR_RETURN(std::vector<Eval> in_state, tx.ListEvals(p.pool_id, state, 0, 1000));
        out << " " << EvalStateName(state) << ":";
        for (const Eval& e : in_state) out << " " << e.seq;
        out << "\n";
      }
      LINE_ASSIGN_OR_RETURN(std::vector<Eval> pending, tx.PendingEvals(p.pool_id, 4, 0, 1000));
      out << " pending up to size 4:";
      for (const Eval& e : pending) out << " " << e.seq;
      out << "\n";
      LINE_ASSIGN_OR_RETURN(std::vector<Alloc> allocs, tx.ListAllocs(p.pool_id, "", {}, 0, 1000));
      std::set<std::string> alloc_workers;
      for (const Alloc& a : allocs) {
        out << " alloc " << a.seq << " " << a.alloc_id << " " << a.worker_id << " " << a.eval_id
            << " " << a.dataset_id << " " << a.size << " " << a.attempt << " " << a.locality
            << " " << AllocStateName(a.state) << " " << a.ttl << " " << a.created_at << " "
            << a.delivered_at << " " << a.acked << " " << a.ended_at << " " << a.end_reason
            << "\n";
        LINE_ASSIGN_OR_RETURN(std::optional<Alloc> by_id, tx.GetAlloc(p.pool_id, a.alloc_id));
        out << "  by id " << (by_id ? by_id->seq : -1) << "\n";
        alloc_workers.insert(a.worker_id);
      }
      for (const std::string& worker_id : alloc_workers) {
        out << " worker " << worker_id << " live:";
        LINE_ASSIGN_OR_RETURN(std::vector<Alloc> live, tx.LiveAllocsOfWorker(p.pool_id, worker_id));
        for (const Alloc& a : live) out << " " << a.seq;
        out << " due:";
        LINE_ASSIGN_OR_RETURN(std::vector<Alloc> due,
                              tx.DeliverableAllocs(p.pool_id, worker_id, now + 100, 1000));
        for (const Alloc& a : due) out << " " << a.seq;
        LINE_ASSIGN_OR_RETURN(TimeMs earliest, tx.EarliestUnackedDelivery(p.pool_id, worker_id));
        out << " earliest " << earliest << " listed:";
        for (AllocState state : {AllocState::kLive, AllocState::kCompleted}) {
          LINE_ASSIGN_OR_RETURN(std::vector<Alloc> listed,
                                tx.ListAllocs(p.pool_id, worker_id, state, 0, 1000));
          for (const Alloc& a : listed) out << " " << a.seq;
          out << " |";
        }
        out << "\n";
      }
      LINE_ASSIGN_OR_RETURN(PoolCounts c, tx.CountPool(p.pool_id, now));
      out << " counts " << c.workers << " " << c.capacity << " " << c.free << " "
          << c.pending_evals << " " << c.blocked_evals << " " << c.live_allocs << " "
          << c.dead_letters << "\n";
    }
    LINE_ASSIGN_OR_RETURN(std::vector<Worker> expired, tx.WorkersExpiredBy(now + 100'000, 1000));
    for (const Worker& w : expired) out << "expiring worker " << w.pool_id << "/" << w.worker_id << "\n";
    LINE_ASSIGN_OR_RETURN(std::vector<Alloc> due, tx.AllocsExpiredBy(now + 100'000, 1000));
    for (const Alloc& a : due) out << "expiring alloc " << a.pool_id << "/" << a.alloc_id << "\n";
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out.str();
}

// Writes of every kind, in groups, some of them failing after they wrote.
void WriteAMix(Store& store) {
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) -> Status {
    for (const char* pool_id : {"a", "b", "gone"}) LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool(pool_id)));
    for (const char* worker_id : {"w1", "w2", "w3"}) {
      LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("a", worker_id, 8)));
      LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("gone", worker_id, 8)));
      LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("a", worker_id, "d1")));
    }
    LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("a", "w1", "short", kNow + 10)));
    for (int i = 0; i < 6; ++i) {
      Eval eval = MakeEval(i % 2 ? "a" : "gone", "e" + std::to_string(i), 1 + i,
                           i == 3 ? "key-3" : "");
      LINE_RETURN_IF_ERROR(tx.InsertEval(eval));
    }
    return Status::Ok();
  }));
  // Placements, the way a scheduling round commits them.
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(std::vector<Eval> pending, tx.PendingEvals("a", 100, 0, 10));
    std::vector<Placement> placements;
    for (const Eval& eval : pending) {
      Alloc alloc = MakeAlloc("a", "x" + eval.eval_id, "w" + std::to_string(eval.size % 3 + 1),
                              eval.eval_id, eval.size);
      placements.push_back(Placement{eval, alloc});
    }
    LINE_ASSIGN_OR_RETURN(std::vector<bool> committed, tx.PlaceEvals(placements, kNow));
    for (bool c : committed) {
      if (!c) return Status::Internal("a placement was refused");
    }
    return Status::Ok();
  }));
  // Deliveries, renewals, an end, a drain, a deletion, expired replicas.
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.MarkDelivered("a", {"xe1", "xe3"}, kNow + 5, kNow).status());
    LINE_RETURN_IF_ERROR(tx.RenewAllocs("a", "w2", {"xe1"}, kNow + 60'000).status());
    LINE_RETURN_IF_ERROR(
        tx.EndAlloc("a", "xe5", AllocState::kCompleted, "completed", kNow + 7).status());
    LINE_ASSIGN_OR_RETURN(std::optional<Eval> e5, tx.GetEval("a", "e5"));
    Eval done = *e5;
    done.state = EvalState::kCompleted;
    done.exit_code = 0;
    done.result = R"({"ok":true})";
    LINE_RETURN_IF_ERROR(tx.UpdateEval(done, EvalState::kPlaced).status());
    LINE_RETURN_IF_ERROR(tx.ReleaseCapacity("a", done.worker_id, 6).status());
    LINE_RETURN_IF_ERROR(tx.SetWorkerDraining("a", "w3").status());
    LINE_RETURN_IF_ERROR(tx.DeleteWorker("a", "w3"));
    LINE_RETURN_IF_ERROR(tx.MarkPoolDisbanded("b", kNow + 8));
    return tx.DeleteReplicasExpiredBy(kNow + 20).status();
  }));
  // A group of three: the middle body writes, then fails, and only it is undone.
  {
    testing::WriterGate gate(store);
    DoneCounter counter;
    store.Write([](Tx& tx) { return tx.InsertWorker(MakeWorker("b", "kept-1", 2)); },
                counter.Callback());
    store.Write(
        [](Tx& tx) -> Status {
          LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("b", "undone", 2)));
          LINE_RETURN_IF_ERROR(tx.DeletePool("a"));
          return Status(Code::kNotFound, "wrote, then failed");
        },
        counter.Callback());
    store.Write([](Tx& tx) { return tx.InsertWorker(MakeWorker("b", "kept-2", 2)); },
                counter.Callback());
    gate.Release();
    counter.WaitFor(3);
    EXPECT_EQ(counter.ok(), 2);
  }
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) { return tx.DeletePool("gone"); }));
  // A pool changed, removed and made again in one body: the rows under its old and new data
  // share keys, and the file must end with the new ones.
  LINE_ASSERT_OK(WriteSync(store, [](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.ClaimCapacity("b", "kept-1", 1, kNow).status());
    LINE_RETURN_IF_ERROR(tx.DeletePool("b"));
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("b", 45)));
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("b", "kept-1", 3)));
    Eval reborn = MakeEval("b", "reborn", 1);
    return tx.InsertEval(reborn);
  }));
}

TEST(SqliteMemoryTest, TheFileLoadedAgainIsWhatMemoryHeld) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  std::string before;
  {
    std::unique_ptr<SqliteStore> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    WriteAMix(*store);
    before = Dump(*store, kNow);
  }
  // What the mix must have left, so that the comparison below is about something.
  EXPECT_NE(before.find("alloc 3 xe5"), std::string::npos) << before;
  EXPECT_NE(before.find("completed"), std::string::npos) << before;
  EXPECT_EQ(before.find("kept-2"), std::string::npos) << before;
  EXPECT_NE(before.find("worker kept-1 3 3"), std::string::npos) << before;
  EXPECT_NE(before.find("reborn"), std::string::npos) << before;
  EXPECT_EQ(before.find("undone"), std::string::npos) << before;
  EXPECT_EQ(before.find("pool gone"), std::string::npos) << before;
  EXPECT_EQ(before.find("replica w3"), std::string::npos) << before;
  EXPECT_EQ(before.find("short"), std::string::npos) << before;

  // The file holds no row that memory does not: nothing is left of the deleted pools.
  for (const char* table : {"workers", "replicas", "evals", "allocs"}) {
    Result<std::unique_ptr<Connection>> conn = Connection::Open(path, ConnectionOptions{});
    ASSERT_TRUE(conn.ok());
    EXPECT_EQ((*conn)->QueryText(std::string("SELECT count(*) FROM ") + table +
                                 " WHERE pool_id NOT IN (SELECT pool_id FROM pools)")
                  .value(),
              "0")
        << table << " rows outlived their pool in the file";
  }
  std::unique_ptr<SqliteStore> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Dump(*reopened, kNow), before);
  // The sequences go on past what was loaded.
  Eval next = MakeEval("a", "after-restart", 1);
  LINE_ASSERT_OK(WriteSync(*reopened, [&](Tx& tx) { return tx.InsertEval(next); }));
  EXPECT_GT(next.seq, 6);
}

// A body that deleted a pool and then failed puts back the pool and every index entry of its
// rows, the ones across pools included (expiry by deadline).
TEST(SqliteMemoryTest, AnUndonePoolDeletionPutsEveryIndexBack) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  WriteAMix(*store);
  const std::string before = Dump(*store, kNow);
  ASSERT_NE(before.find("expiring alloc a/"), std::string::npos) << before;
  ASSERT_NE(before.find("expiring worker a/"), std::string::npos) << before;
  Status failed = WriteSync(*store, [](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.DeletePool("a"));
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("a")));  // made again in the same body
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("a", "w9", 1)));
    return Status(Code::kNotFound, "and then failed");
  });
  EXPECT_EQ(failed.code(), Code::kNotFound);
  EXPECT_EQ(Dump(*store, kNow), before);
}

// A commit that fails after its bodies ran (here the file refuses a row) loses the whole
// group: memory is put back as it was, and so is the file.
TEST(SqliteMemoryTest, AFailedCommitLeavesMemoryAndFileAsTheyWere) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  std::unique_ptr<SqliteStore> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  WriteAMix(*store);  // rows of every kind, to be updated and deleted below
  Exec(path,
       "CREATE TRIGGER refuse BEFORE INSERT ON workers WHEN NEW.worker_id = 'refused' "
       "BEGIN SELECT RAISE(ABORT, 'injected'); END");
  const std::string before = Dump(*store, kNow);
  {
    testing::WriterGate gate(*store);
    DoneCounter counter;
    store->Write(
        [](Tx& tx) -> Status {
          LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("a", "fine", 2)));
          LINE_RETURN_IF_ERROR(tx.RenewWorker("a", "w1", kNow, kNow + 99'000).status());
          LINE_RETURN_IF_ERROR(
              tx.EndAlloc("a", "xe3", AllocState::kExpired, "expired", kNow + 9).status());
          LINE_RETURN_IF_ERROR(tx.ReleaseCapacity("a", "w2", 4).status());
          return tx.DeleteWorker("a", "w2");
        },
        counter.Callback());
    store->Write([](Tx& tx) { return tx.DeletePool("b"); }, counter.Callback());
    store->Write([](Tx& tx) { return tx.InsertWorker(MakeWorker("a", "refused", 2)); },
                 counter.Callback());
    gate.Release();
    counter.WaitFor(3);
    EXPECT_EQ(counter.ok(), 0) << "the group shares one commit, and it failed";
    ASSERT_EQ(counter.failures().size(), 3u);
    EXPECT_NE(counter.failures()[0].find("injected"), std::string::npos) << counter.failures()[0];
  }
  EXPECT_EQ(Dump(*store, kNow), before);
  store.reset();
  Exec(path, "DROP TRIGGER refuse");
  std::unique_ptr<SqliteStore> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Dump(*reopened, kNow), before);
  LINE_EXPECT_OK(WriteSync(*reopened, [](Tx& tx) { return tx.InsertWorker(MakeWorker("a", "fine", 2)); }));
}

// A read waits for a group that changed rows until that group is durable, and then sees it
// whole; it never sees the group's rows before the commit.
TEST(SqliteMemoryTest, AReadNeverSeesAGroupBeforeItIsDurable) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  std::promise<void> wrote;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<Status> committed;
  store->Write(
      [&](Tx& tx) -> Status {
        LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p")));
        wrote.set_value();
        released.wait();
        return tx.InsertWorker(MakeWorker("p", "w", 1));
      },
      [&](Status s) { committed.set_value(std::move(s)); });
  wrote.get_future().wait();
  auto read = std::async(std::launch::async, [&] {
    return ReadValue(*store, [](Tx& tx) -> Result<std::pair<bool, bool>> {
      LINE_ASSIGN_OR_RETURN(std::optional<Pool> pool, tx.GetPool("p"));
      LINE_ASSIGN_OR_RETURN(std::optional<Worker> worker, tx.GetWorker("p", "w"));
      return std::make_pair(pool.has_value(), worker.has_value());
    });
  });
  EXPECT_EQ(read.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "a read went on while a group was half written";
  release.set_value();
  LINE_EXPECT_OK(committed.get_future().get());
  EXPECT_EQ(read.get(), std::make_pair(true, true));
}

// A claim or a release changes only the worker's free capacity, which the file does not need:
// start-up derives it from the live allocs. So placements write no worker row, and the
// capacity is right again after a restart.
// The same while the group's bodies are done and its rows are being written: a trigger on the
// file makes that step last, and a read started then still waits for the commit.
TEST(SqliteMemoryTest, AReadWaitsForTheCommitNotJustTheBodies) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  std::unique_ptr<SqliteStore> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  Exec(path,
       "CREATE TRIGGER slow AFTER INSERT ON pools BEGIN SELECT count(*) FROM (WITH RECURSIVE "
       "c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c); "
       "END");
  std::promise<void> bodies_done;
  std::promise<Status> committed;
  store->Write(
      [&](Tx& tx) -> Status {
        LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p")));
        bodies_done.set_value();
        return Status::Ok();
      },
      [&](Status s) { committed.set_value(std::move(s)); });
  bodies_done.get_future().wait();
  auto read = std::async(std::launch::async, [&] {
    return ReadValue(*store, [](Tx& tx) { return tx.GetPool("p"); }).has_value();
  });
  EXPECT_EQ(read.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "a read went on while the group's rows were still being written";
  std::future<Status> outcome = committed.get_future();
  LINE_EXPECT_OK(outcome.get());
  EXPECT_TRUE(read.get()) << "and once durable, the read sees the group";
}

// A group that changes nothing never holds reads back, however long its body runs.
TEST(SqliteMemoryTest, AGroupThatChangesNothingNeverMakesAReadWait) {
  ScopedTempDir dir;
  std::unique_ptr<SqliteStore> store = MustOpen(dir.File("line.db"));
  ASSERT_NE(store, nullptr);
  LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  testing::WriterGate gate(*store);  // a body that only waits
  auto read = std::async(std::launch::async, [&] {
    return ReadValue(*store, [](Tx& tx) { return tx.GetPool("p"); }).has_value();
  });
  EXPECT_EQ(read.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  gate.Release();
  EXPECT_TRUE(read.get());
}

TEST(SqliteMemoryTest, FreeCapacityIsDerivedAtStartNotWrittenPerPlacement) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  {
    std::unique_ptr<SqliteStore> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) -> Status {
      LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p")));
      LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "w", 10)));
      for (const char* id : {"e1", "e2"}) {
        Eval eval = MakeEval("p", id, 3);
        LINE_RETURN_IF_ERROR(tx.InsertEval(eval));
      }
      return Status::Ok();
    }));
    Exec(path,
         "CREATE TABLE writes(n INTEGER NOT NULL); INSERT INTO writes VALUES (0);"
         "CREATE TRIGGER worker_writes AFTER INSERT ON workers "
         "BEGIN UPDATE writes SET n = n + 1; END;");
    LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) -> Status {
      LINE_ASSIGN_OR_RETURN(std::vector<Eval> pending, tx.PendingEvals("p", 100, 0, 10));
      std::vector<Placement> placements;
      for (const Eval& eval : pending) {
        placements.push_back(Placement{eval, MakeAlloc("p", "a-" + eval.eval_id, "w", eval.eval_id, 3)});
      }
      return tx.PlaceEvals(placements, kNow).status();
    }));
    LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) -> Status {
      LINE_RETURN_IF_ERROR(tx.EndAlloc("p", "a-e1", AllocState::kCompleted, "completed", kNow).status());
      return tx.ReleaseCapacity("p", "w", 3).status();
    }));
    EXPECT_EQ(ReadValue(*store, [](Tx& tx) { return tx.GetWorker("p", "w"); })->free, 7);
    Result<std::unique_ptr<Connection>> conn = Connection::Open(path, ConnectionOptions{});
    ASSERT_TRUE(conn.ok());
    EXPECT_EQ((*conn)->QueryText("SELECT n FROM writes").value(), "0") << "a worker row was written";
    EXPECT_EQ((*conn)->QueryText("SELECT free FROM workers").value(), "10") << "as registered";
    // A change beyond free capacity writes the row, free included.
    LINE_ASSERT_OK(WriteSync(*store, [](Tx& tx) {
      return tx.RenewWorker("p", "w", kNow, kNow + 90'000).status();
    }));
    EXPECT_EQ((*conn)->QueryText("SELECT n FROM writes").value(), "1");
    EXPECT_EQ((*conn)->QueryText("SELECT free FROM workers").value(), "7");
    // And the file's figure is not trusted: make it wrong, and start-up puts it right.
    LINE_ASSERT_OK((*conn)->Exec("test", "UPDATE workers SET free = 1"));
  }
  std::unique_ptr<SqliteStore> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(ReadValue(*reopened, [](Tx& tx) { return tx.GetWorker("p", "w"); })->free, 7)
      << "capacity 10 minus the one live alloc of size 3";
}

TEST(SqliteMemoryTest, OneFileServesOneProcessAtATime) {
  ScopedTempDir dir;
  const std::string path = dir.File("line.db");
  std::unique_ptr<SqliteStore> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  Result<std::unique_ptr<SqliteStore>> second = OpenSqliteStore(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kStoreUnavailable);
  EXPECT_NE(second.status().message().find(path), std::string::npos) << second.status().message();
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos)
      << second.status().message();
  store.reset();
  EXPECT_NE(MustOpen(path), nullptr) << "the lock goes with the store that held it";
}

}  // namespace
}  // namespace line::testing_store
