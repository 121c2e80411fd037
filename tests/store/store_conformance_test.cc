// The Tx primitives and the Store contract, for every backend (see store_conformance.h).
#include "store_conformance.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store_test_util.h"
#include "testing/writer_gate.h"

namespace line::testing_store {
namespace {

std::vector<std::string> PoolIds(const std::vector<Pool>& pools) {
  std::vector<std::string> ids;
  for (const Pool& p : pools) ids.push_back(p.pool_id);
  return ids;
}
std::vector<std::string> WorkerIds(const std::vector<Worker>& workers) {
  std::vector<std::string> ids;
  for (const Worker& w : workers) ids.push_back(w.worker_id);
  return ids;
}
std::vector<std::string> EvalIds(const std::vector<Eval>& evals) {
  std::vector<std::string> ids;
  for (const Eval& e : evals) ids.push_back(e.eval_id);
  return ids;
}
std::vector<std::string> AllocIds(const std::vector<Alloc>& allocs) {
  std::vector<std::string> ids;
  for (const Alloc& a : allocs) ids.push_back(a.alloc_id);
  return ids;
}
using Ids = std::vector<std::string>;

using testing::WriterGate;


// --- Pools ---

TEST_P(StoreConformanceTest, PoolRoundTripsAndDuplicateIsInternal) {
  Pool pool = MakePool("p1", 45);
  pool.placement = PlacementPolicy::kSpread;
  pool.max_retry = 7;
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) { return tx.InsertPool(pool); }));

  std::optional<Pool> got = ReadValue(store(), [](Tx& tx) { return tx.GetPool("p1"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->pool_id, "p1");
  EXPECT_EQ(got->placement, PlacementPolicy::kSpread);
  EXPECT_EQ(got->max_retry, 7);
  EXPECT_EQ(got->alloc_ttl_s, 45);
  EXPECT_FALSE(got->disbanded);
  EXPECT_EQ(got->disbanded_at, 0);
  EXPECT_EQ(got->created_at, pool.created_at);
  EXPECT_FALSE(ReadValue(store(), [](Tx& tx) { return tx.GetPool("p2"); }).has_value());

  Status duplicate = WriteSync(store(), [&](Tx& tx) { return tx.InsertPool(pool); });
  EXPECT_EQ(duplicate.code(), Code::kInternal) << duplicate.ToString();
}

TEST_P(StoreConformanceTest, DisbandKeepsFirstTimeAndPoolsDisbandedByHonoursCutoff) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    for (const char* id : {"a", "b", "c", "d"}) LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool(id)));
    LINE_RETURN_IF_ERROR(tx.MarkPoolDisbanded("c", kNow + 10));
    LINE_RETURN_IF_ERROR(tx.MarkPoolDisbanded("a", kNow + 20));
    LINE_RETURN_IF_ERROR(tx.MarkPoolDisbanded("b", kNow + 30));
    return tx.MarkPoolDisbanded("c", kNow + 99);  // a second disband keeps the first time
  }));
  std::optional<Pool> c = ReadValue(store(), [](Tx& tx) { return tx.GetPool("c"); });
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->disbanded);
  EXPECT_EQ(c->disbanded_at, kNow + 10);

  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.PoolsDisbandedBy(kNow + 20, 10); }),
            (Ids{"c", "a"}));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.PoolsDisbandedBy(kNow + 30, 1); }),
            (Ids{"c"}));
  EXPECT_TRUE(ReadValue(store(), [](Tx& tx) { return tx.PoolsDisbandedBy(kNow + 9, 10); }).empty());
}

TEST_P(StoreConformanceTest, ListPoolsPagesInPoolIdOrder) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    for (const char* id : {"p3", "p1", "p4", "p2"}) {
      LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool(id)));
    }
    return Status::Ok();
  }));
  EXPECT_EQ(PoolIds(ReadValue(store(), [](Tx& tx) { return tx.ListPools("", 2); })),
            (Ids{"p1", "p2"}));
  EXPECT_EQ(PoolIds(ReadValue(store(), [](Tx& tx) { return tx.ListPools("p2", 2); })),
            (Ids{"p3", "p4"}));
  EXPECT_TRUE(ReadValue(store(), [](Tx& tx) { return tx.ListPools("p4", 2); }).empty());
}

// Populates pool `p` with one of everything.
Status FillPool(Tx& tx, const std::string& p) {
  LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool(p)));
  LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker(p, "w", 10)));
  LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica(p, "w", "d")));
  Eval eval = MakeEval(p, "e", 2, "key");
  LINE_RETURN_IF_ERROR(tx.InsertEval(eval));
  Alloc alloc = MakeAlloc(p, "a", "w", "e", 2);
  return tx.InsertAlloc(alloc);
}

TEST_P(StoreConformanceTest, DeletePoolDeletesEverythingOfThatPoolOnly) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    LINE_RETURN_IF_ERROR(FillPool(tx, "gone"));
    return FillPool(tx, "kept");
  }));
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) { return tx.DeletePool("gone"); }));

  LINE_EXPECT_OK(store().Read([](Tx& tx) {
    for (const std::string p : {"gone", "kept"}) {
      bool present = p == "kept";
      SCOPED_TRACE(p);
      EXPECT_EQ(tx.GetPool(p)->has_value(), present);
      EXPECT_EQ(tx.GetWorker(p, "w")->has_value(), present);
      EXPECT_EQ(tx.PoolReplicas(p, kNow)->size(), present ? 1u : 0u);
      EXPECT_EQ(tx.GetEval(p, "e")->has_value(), present);
      EXPECT_EQ(tx.FindEvalByKey(p, "key")->has_value(), present);
      EXPECT_EQ(tx.ListEvals(p, std::nullopt, 0, 100)->size(), present ? 1u : 0u);
      EXPECT_EQ(tx.GetAlloc(p, "a")->has_value(), present);
      EXPECT_EQ(tx.ListAllocs(p, "", std::nullopt, 0, 100)->size(), present ? 1u : 0u);
    }
    return Status::Ok();
  }));
  // The key is free again in the deleted pool.
  LINE_EXPECT_OK(WriteSync(store(), [](Tx& tx) {
    Eval again = MakeEval("gone", "e2", 1, "key");
    return tx.InsertEval(again);
  }));
}

TEST_P(StoreConformanceTest, CountPoolCountsAndBlockedUsesOnlyCandidates) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p")));
    Worker small = MakeWorker("p", "small", 4);
    small.free = 2;
    Worker big = MakeWorker("p", "big", 6);
    big.free = 4;
    Worker expired = MakeWorker("p", "expired", 50, /*ttl=*/kNow);
    Worker draining = MakeWorker("p", "draining", 40);
    draining.draining = true;
    for (const Worker& w : {small, big, expired, draining}) {
      LINE_RETURN_IF_ERROR(tx.InsertWorker(w));
    }
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("other", "huge", 1000)));
    int n = 0;
    for (int64_t size : {1, 4, 5, 11}) {  // pending; 5 and 11 fit no candidate
      Eval e = MakeEval("p", "pending" + std::to_string(n++), size);
      LINE_RETURN_IF_ERROR(tx.InsertEval(e));
    }
    Eval placed = MakeEval("p", "placed", 100);
    placed.state = EvalState::kPlaced;
    LINE_RETURN_IF_ERROR(tx.InsertEval(placed));
    Eval dead = MakeEval("p", "dead", 100);
    dead.state = EvalState::kDead;
    LINE_RETURN_IF_ERROR(tx.InsertEval(dead));
    Alloc live = MakeAlloc("p", "live", "small", "placed", 2);
    LINE_RETURN_IF_ERROR(tx.InsertAlloc(live));
    Alloc ended = MakeAlloc("p", "ended", "big", "placed", 2);
    ended.state = AllocState::kCompleted;
    return tx.InsertAlloc(ended);
  }));

  PoolCounts counts = ReadValue(store(), [](Tx& tx) { return tx.CountPool("p", kNow); });
  EXPECT_EQ(counts.workers, 4);
  EXPECT_EQ(counts.capacity, 4 + 6 + 50 + 40);
  EXPECT_EQ(counts.free, 2 + 4 + 50 + 40);
  EXPECT_EQ(counts.pending_evals, 4);
  EXPECT_EQ(counts.blocked_evals, 2);
  EXPECT_EQ(counts.live_allocs, 1);
  EXPECT_EQ(counts.dead_letters, 1);

  // Once `big` expires too, only `small` (free 2) is a candidate: sizes 4, 5, 11 are blocked.
  counts = ReadValue(store(), [](Tx& tx) { return tx.CountPool("p", kNow + 30'000); });
  EXPECT_EQ(counts.blocked_evals, 4) << "no candidate at all: every pending eval is blocked";
  counts = ReadValue(store(), [](Tx& tx) { return tx.CountPool("p", kNow + 29'999); });
  EXPECT_EQ(counts.blocked_evals, 2);

  PoolCounts empty = ReadValue(store(), [](Tx& tx) { return tx.CountPool("none", kNow); });
  EXPECT_EQ(empty.workers, 0);
  EXPECT_EQ(empty.capacity, 0);
  EXPECT_EQ(empty.pending_evals, 0);
}

TEST_P(StoreConformanceTest, CountPoolWithNoCandidateBlocksEveryPendingEval) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p")));
    for (int i = 0; i < 3; ++i) {
      Eval e = MakeEval("p", "e" + std::to_string(i), 1);
      LINE_RETURN_IF_ERROR(tx.InsertEval(e));
    }
    return Status::Ok();
  }));
  PoolCounts counts = ReadValue(store(), [](Tx& tx) { return tx.CountPool("p", kNow); });
  EXPECT_EQ(counts.pending_evals, 3);
  EXPECT_EQ(counts.blocked_evals, 3);
}

// --- Workers ---

TEST_P(StoreConformanceTest, WorkerRoundTripRenewDrainDelete) {
  Worker worker = MakeWorker("p", "w1", 8);
  worker.free = 5;
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.InsertWorker(worker));
    LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("p", "w1", "d1")));
    Alloc alloc = MakeAlloc("p", "a1", "w1", "e1", 3);
    return tx.InsertAlloc(alloc);
  }));
  std::optional<Worker> got = ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w1"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->capacity, 8);
  EXPECT_EQ(got->free, 5);
  EXPECT_EQ(got->ttl, worker.ttl);
  EXPECT_FALSE(got->draining);
  EXPECT_EQ(got->registered_at, worker.registered_at);
  EXPECT_EQ(WriteSync(store(), [&](Tx& tx) { return tx.InsertWorker(worker); }).code(),
            Code::kInternal);

  const TimeMs later = worker.ttl + 99;
  EXPECT_TRUE(
      WriteValue(store(), [&](Tx& tx) { return tx.RenewWorker("p", "w1", kNow, later); }));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w1"); })->ttl, later);
  // A renewal never shortens the deadline, and an alive worker is alive even when its renewal
  // moved nothing.
  EXPECT_TRUE(WriteValue(
      store(), [&](Tx& tx) { return tx.RenewWorker("p", "w1", kNow, worker.ttl); }));
  EXPECT_TRUE(
      WriteValue(store(), [&](Tx& tx) { return tx.RenewWorker("p", "w1", kNow, later); }));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w1"); })->ttl, later);
  // Not alive at `later` (its ttl): an expired worker is not brought back.
  EXPECT_FALSE(WriteValue(
      store(), [&](Tx& tx) { return tx.RenewWorker("p", "w1", later, later + 500); }));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w1"); })->ttl, later);
  EXPECT_FALSE(WriteValue(store(), [](Tx& tx) { return tx.RenewWorker("p", "no", kNow, kNow); }));
  EXPECT_TRUE(WriteValue(store(), [](Tx& tx) { return tx.SetWorkerDraining("p", "w1"); }));
  EXPECT_TRUE(WriteValue(store(), [](Tx& tx) { return tx.SetWorkerDraining("p", "w1"); }))
      << "an already draining worker still exists";
  EXPECT_FALSE(WriteValue(store(), [](Tx& tx) { return tx.SetWorkerDraining("p", "no"); }));
  got = ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w1"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ttl, later);
  EXPECT_TRUE(got->draining);

  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) { return tx.DeleteWorker("p", "w1"); }));
  LINE_EXPECT_OK(store().Read([](Tx& tx) {
    EXPECT_FALSE(tx.GetWorker("p", "w1")->has_value());
    EXPECT_TRUE(tx.WorkerDatasets("p", "w1", kNow)->empty());
    EXPECT_TRUE(tx.GetAlloc("p", "a1")->has_value()) << "allocs stay for history";
    return Status::Ok();
  }));
}

TEST_P(StoreConformanceTest, ListWorkersPagesInWorkerIdOrderWithinPool) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    for (const char* id : {"w3", "w1", "w2"})
      LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", id, 1)));
    return tx.InsertWorker(MakeWorker("q", "w0", 1));
  }));
  EXPECT_EQ(WorkerIds(ReadValue(store(), [](Tx& tx) { return tx.ListWorkers("p", "", 2); })),
            (Ids{"w1", "w2"}));
  EXPECT_EQ(WorkerIds(ReadValue(store(), [](Tx& tx) { return tx.ListWorkers("p", "w2", 2); })),
            (Ids{"w3"}));
}

TEST_P(StoreConformanceTest, CandidatesAreLiveAndNotDrainingWhateverTheirFree) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    Worker full = MakeWorker("p", "full", 4);
    full.free = 0;
    Worker draining = MakeWorker("p", "draining", 4);
    draining.draining = true;
    for (const Worker& w :
         {MakeWorker("p", "live", 4), full, draining, MakeWorker("p", "expired", 4, /*ttl=*/kNow),
          MakeWorker("q", "elsewhere", 4)}) {
      LINE_RETURN_IF_ERROR(tx.InsertWorker(w));
    }
    return Status::Ok();
  }));
  Ids ids = WorkerIds(ReadValue(store(), [](Tx& tx) { return tx.CandidateWorkers("p", kNow); }));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (Ids{"full", "live"}));
}

TEST_P(StoreConformanceTest, WorkersExpiredByCoversEveryPoolUpToNow) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "at", 1, kNow)));
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("q", "before", 1, kNow - 5)));
    return tx.InsertWorker(MakeWorker("p", "after", 1, kNow + 1));
  }));
  EXPECT_EQ(WorkerIds(ReadValue(store(), [](Tx& tx) { return tx.WorkersExpiredBy(kNow, 10); })),
            (Ids{"before", "at"}));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.WorkersExpiredBy(kNow, 1); }).size(), 1u);
}

TEST_P(StoreConformanceTest, ClaimCapacityIsConditional) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    Worker draining = MakeWorker("p", "draining", 10);
    draining.draining = true;
    LINE_RETURN_IF_ERROR(tx.InsertWorker(draining));
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "expired", 10, /*ttl=*/kNow)));
    return tx.InsertWorker(MakeWorker("p", "w", 10));
  }));
  auto claim = [&](const char* worker, int64_t size) {
    return WriteValue(store(), [&](Tx& tx) { return tx.ClaimCapacity("p", worker, size, kNow); });
  };
  auto free_of = [&](const char* worker) {
    return ReadValue(store(), [&](Tx& tx) { return tx.GetWorker("p", worker); })->free;
  };
  EXPECT_FALSE(claim("w", 11)) << "free < size";
  EXPECT_EQ(free_of("w"), 10);
  EXPECT_TRUE(claim("w", 7));
  EXPECT_EQ(free_of("w"), 3);
  EXPECT_FALSE(claim("w", 4));
  EXPECT_TRUE(claim("w", 3)) << "free == size fits exactly";
  EXPECT_EQ(free_of("w"), 0);
  EXPECT_FALSE(claim("draining", 1));
  EXPECT_EQ(free_of("draining"), 10);
  EXPECT_FALSE(claim("expired", 1)) << "ttl == now is expired";
  EXPECT_EQ(free_of("expired"), 10);
  EXPECT_FALSE(claim("missing", 1));
}

TEST_P(StoreConformanceTest, LazyWritesCommitAndFailLikeOthers) {
  DoneCounter done;
  store().WriteLazy([](Tx& tx) { return tx.InsertWorker(MakeWorker("p", "w", 4)); },
                    done.Callback());
  store().WriteLazy([](Tx& tx) -> Status {
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "rolled-back", 4)));
    return Status::InvalidInput("the body's own error");
  }, done.Callback());
  done.WaitFor(2);
  EXPECT_EQ(done.ok(), 1);
  ASSERT_EQ(done.failures().size(), 1u);
  EXPECT_NE(done.failures()[0].find("the body's own error"), std::string::npos);
  EXPECT_TRUE(ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w"); }).has_value());
  EXPECT_FALSE(
      ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "rolled-back"); }).has_value());
  // A durable write after a lazy one works as ever.
  LINE_EXPECT_OK(WriteSync(
      store(), [](Tx& tx) { return tx.RenewWorker("p", "w", kNow, kNow + 1).status(); }));
}

TEST_P(StoreConformanceTest, InsertEvalsKeepsTheOrderAndEveryField) {
  std::vector<Eval> evals;
  for (const char* id : {"z", "a", "m"}) {  // ids out of order: seq follows the vector
    Eval eval = MakeEval("p", id, 3);
    eval.state = EvalState::kPending;
    eval.attempt = 1;
    eval.payload = R"({"quote":"\"","slash":"\\","brace":"{,}"})";
    evals.push_back(eval);
  }
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) { return tx.InsertEvals(evals); }));
  EXPECT_GT(evals[0].seq, 0);
  EXPECT_LT(evals[0].seq, evals[1].seq);
  EXPECT_LT(evals[1].seq, evals[2].seq);
  std::vector<Eval> pending =
      ReadValue(store(), [](Tx& tx) { return tx.PendingEvals("p", 10, 0, 10); });
  ASSERT_EQ(pending.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(pending[i].eval_id, evals[i].eval_id);
    EXPECT_EQ(pending[i].seq, evals[i].seq);
    EXPECT_EQ(pending[i].payload, evals[i].payload) << "any text survives the array literal";
    EXPECT_EQ(pending[i].dataset_id, evals[i].dataset_id);
    EXPECT_EQ(pending[i].size, 3);
    EXPECT_EQ(pending[i].attempt, 1);
    EXPECT_EQ(pending[i].created_at, kNow);
    EXPECT_FALSE(pending[i].exit_code.has_value());
  }
  std::vector<Eval> none;
  LINE_EXPECT_OK(WriteSync(store(), [&](Tx& tx) { return tx.InsertEvals(none); }));
}

// PlaceEvals: each placement moves its eval, claims its worker and inserts its alloc, or
// changes nothing. (PostgreSQL does it set-based, SQLite row by row: same contract.)
TEST_P(StoreConformanceTest, PlaceEvalsCommitsWholePlacementsOnly) {
  std::vector<Eval> evals;
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) -> Status {
    evals.clear();
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "roomy", 10)));
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "full", 3)));
    Worker draining = MakeWorker("p", "draining", 10);
    draining.draining = true;
    LINE_RETURN_IF_ERROR(tx.InsertWorker(draining));
    for (const char* id : {"e1", "e2", "e3", "e4", "gone"}) {
      Eval eval = MakeEval("p", id, 2);
      LINE_RETURN_IF_ERROR(tx.InsertEval(eval));
      evals.push_back(eval);
    }
    // "gone" is no longer pending when the round commits (another node placed it).
    Eval taken = evals.back();
    taken.state = EvalState::kPlaced;
    taken.alloc_id = "other";
    taken.worker_id = "roomy";
    LINE_ASSIGN_OR_RETURN(bool moved, tx.UpdateEval(taken, EvalState::kPending));
    return moved ? Status::Ok() : Status::Internal("setup");
  }));
  auto placement = [&](int i, const char* worker) {
    Placement p;
    p.pending = evals[static_cast<size_t>(i)];
    p.alloc = MakeAlloc("p", "a-" + p.pending.eval_id, worker, p.pending.eval_id, 2);
    p.alloc.state = AllocState::kLive;
    p.alloc.attempt = p.pending.attempt;
    p.alloc.locality = i % 2 == 0;
    return p;
  };
  // e1, e2 fit on roomy; e3 and e4 (4 in all) do not both fit on full (3); e4 on draining
  // would never fit; "gone" was taken.
  std::vector<Placement> placements = {placement(0, "roomy"), placement(1, "roomy"),
                                        placement(2, "full"), placement(3, "draining"),
                                        placement(4, "roomy")};
  // e2's alloc goes straight to a parked long-poll: it is written already delivered.
  placements[1].alloc.delivered_at = kNow;
  std::vector<Placement> second = {placement(3, "full"), placement(2, "full")};
  std::vector<bool> done, done_second;
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(done, tx.PlaceEvals(placements, kNow));
    return Status::Ok();
  }));
  ASSERT_EQ(done.size(), placements.size());
  EXPECT_TRUE(done[0]);
  EXPECT_TRUE(done[1]);
  EXPECT_TRUE(done[2]) << "2 of full's 3";
  EXPECT_FALSE(done[3]) << "draining takes nothing";
  EXPECT_FALSE(done[4]) << "no longer pending";
  // Two more on full (2 + 2 > the 1 left): at least the one that cannot fit is refused.
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(done_second, tx.PlaceEvals(second, kNow));
    return Status::Ok();
  }));
  ASSERT_EQ(done_second.size(), 2u);
  EXPECT_FALSE(done_second[0]) << "e4 (2) does not fit in the 1 left";
  EXPECT_FALSE(done_second[1]) << "e3 is placed already";

  auto worker_free = [&](const char* id) {
    return ReadValue(store(), [&](Tx& tx) { return tx.GetWorker("p", id); })->free;
  };
  EXPECT_EQ(worker_free("roomy"), 6);
  EXPECT_EQ(worker_free("full"), 1);
  EXPECT_EQ(worker_free("draining"), 10);
  for (size_t i = 0; i < placements.size(); ++i) {
    const Placement& p = placements[i];
    std::optional<Eval> eval =
        ReadValue(store(), [&](Tx& tx) { return tx.GetEval("p", p.pending.eval_id); });
    std::optional<Alloc> alloc =
        ReadValue(store(), [&](Tx& tx) { return tx.GetAlloc("p", p.alloc.alloc_id); });
    ASSERT_TRUE(eval.has_value());
    if (done[i]) {
      EXPECT_EQ(eval->state, EvalState::kPlaced) << p.pending.eval_id;
      EXPECT_EQ(eval->alloc_id, p.alloc.alloc_id);
      EXPECT_EQ(eval->worker_id, p.alloc.worker_id);
      ASSERT_TRUE(alloc.has_value()) << p.pending.eval_id;
      EXPECT_EQ(alloc->state, AllocState::kLive);
      EXPECT_EQ(alloc->size, 2);
      EXPECT_EQ(alloc->locality, p.alloc.locality);
      EXPECT_EQ(alloc->seq, p.alloc.seq) << "seq is reported back";
      EXPECT_EQ(alloc->delivered_at, p.alloc.delivered_at) << p.pending.eval_id;
      EXPECT_GT(alloc->seq, 0);
    } else {
      EXPECT_FALSE(alloc.has_value()) << p.pending.eval_id;
    }
  }
  std::optional<Eval> e4 = ReadValue(store(), [&](Tx& tx) { return tx.GetEval("p", "e4"); });
  EXPECT_EQ(e4->state, EvalState::kPending) << "refused twice, still exactly as it was";
  EXPECT_EQ(e4->alloc_id, "");
  EXPECT_EQ(e4->worker_id, "");
  std::optional<Eval> gone = ReadValue(store(), [&](Tx& tx) { return tx.GetEval("p", "gone"); });
  EXPECT_EQ(gone->alloc_id, "other") << "another node's placement is left alone";
}

TEST_P(StoreConformanceTest, ReleaseCapacityIsConditional) {
  Worker worker = MakeWorker("p", "w", 10);
  worker.free = 4;
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) { return tx.InsertWorker(worker); }));
  auto release = [&](const char* id, int64_t size) {
    return WriteValue(store(), [&](Tx& tx) { return tx.ReleaseCapacity("p", id, size); });
  };
  EXPECT_FALSE(release("w", 7)) << "4 + 7 > capacity 10";
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w"); })->free, 4);
  EXPECT_TRUE(release("w", 6)) << "back to exactly capacity";
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.GetWorker("p", "w"); })->free, 10);
  EXPECT_FALSE(release("w", 1)) << "a double release is refused";
  EXPECT_FALSE(release("missing", 1));
}

// --- Replicas ---

TEST_P(StoreConformanceTest, ReplicasUpsertRenewListAndExpire) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("p", "w", "d10", kNow + 10)));
    LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("p", "w", "d1", kNow)));
    LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("p", "w2", "d1", kNow + 10)));
    return tx.UpsertReplica(MakeReplica("q", "w", "d1", kNow - 1));
  }));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.WorkerDatasets("p", "w", kNow); }),
            (Ids{"d10"}))
      << "d1 has ttl == now: expired";
  // Renewing d1 updates its ttl instead of adding a row.
  LINE_ASSERT_OK(WriteSync(
      store(), [](Tx& tx) { return tx.UpsertReplica(MakeReplica("p", "w", "d1", kNow + 20)); }));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.WorkerDatasets("p", "w", kNow); }),
            (Ids{"d1", "d10"}));
  // RenewReplica renews only a replica held at the given time, and never adds one.
  EXPECT_TRUE(WriteValue(
      store(), [](Tx& tx) { return tx.RenewReplica(MakeReplica("p", "w", "d1", kNow + 20), kNow); }));
  EXPECT_TRUE(WriteValue(store(), [](Tx& tx) {
    return tx.RenewReplica(MakeReplica("p", "w", "d1", kNow + 5), kNow);
  })) << "held, though the renewal moves nothing";
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.WorkerDatasets("p", "w", kNow + 19); }),
            (Ids{"d1"}))
      << "a renewal never shortens a replica's deadline (d10's passed at kNow + 10)";
  EXPECT_FALSE(WriteValue(store(), [](Tx& tx) {
    return tx.RenewReplica(MakeReplica("p", "w", "d1", kNow + 90), kNow + 20);
  })) << "expired at kNow + 20";
  EXPECT_FALSE(WriteValue(store(), [](Tx& tx) {
    return tx.RenewReplica(MakeReplica("p", "w", "d7", kNow + 90), kNow);
  })) << "never held";
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.WorkerDatasets("p", "w", kNow); }),
            (Ids{"d1", "d10"}));
  std::vector<Replica> pool = ReadValue(store(), [](Tx& tx) { return tx.PoolReplicas("p", kNow); });
  ASSERT_EQ(pool.size(), 3u);
  for (const Replica& r : pool) {
    EXPECT_EQ(r.pool_id, "p");
    if (r.worker_id == "w" && r.dataset_id == "d1") {
      EXPECT_EQ(r.ttl, kNow + 20);
    }
  }
  EXPECT_EQ(WriteValue(store(), [](Tx& tx) { return tx.DeleteReplicasExpiredBy(kNow + 10); }), 3)
      << "d10 and w2/d1 (ttl == cutoff) in p, and q's";
  pool = ReadValue(store(), [](Tx& tx) { return tx.PoolReplicas("p", 0); });
  ASSERT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool[0].dataset_id, "d1");
  EXPECT_TRUE(ReadValue(store(), [](Tx& tx) { return tx.PoolReplicas("q", 0); }).empty());
}

// --- Evals ---

TEST_P(StoreConformanceTest, EvalRoundTripAndIncreasingSeq) {
  Eval first = MakeEval("p", "e1", 3, "k1");
  first.exit_code = 0;
  first.result = R"({"ok":true})";
  first.alloc_id = "a0";
  first.worker_id = "w0";
  first.attempt = 2;
  Eval second = MakeEval("p", "e2", 4);
  second.dataset_id = "";
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.InsertEval(first));
    return tx.InsertEval(second);
  }));
  EXPECT_GT(first.seq, 0);
  EXPECT_GT(second.seq, first.seq);
  Eval third = MakeEval("q", "e3", 1);
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) { return tx.InsertEval(third); }));
  EXPECT_GT(third.seq, second.seq) << "seq increases across the store";

  std::optional<Eval> got = ReadValue(store(), [](Tx& tx) { return tx.GetEval("p", "e1"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->seq, first.seq);
  EXPECT_EQ(got->state, EvalState::kPending);
  EXPECT_EQ(got->dataset_id, first.dataset_id);
  EXPECT_EQ(got->size, 3);
  EXPECT_EQ(got->payload, first.payload);
  EXPECT_EQ(got->attempt, 2);
  EXPECT_EQ(got->alloc_id, "a0");
  EXPECT_EQ(got->worker_id, "w0");
  EXPECT_EQ(got->exit_code, std::optional<int64_t>(0));
  EXPECT_EQ(got->result, first.result);
  EXPECT_EQ(got->idempotency_key, "k1");
  EXPECT_EQ(got->created_at, kNow);
  got = ReadValue(store(), [](Tx& tx) { return tx.GetEval("p", "e2"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->dataset_id, "");
  EXPECT_FALSE(got->exit_code.has_value());
  EXPECT_EQ(got->idempotency_key, "");
  EXPECT_FALSE(ReadValue(store(), [](Tx& tx) { return tx.GetEval("q", "e1"); }).has_value());
}

TEST_P(StoreConformanceTest, IdempotencyKeyIsUniquePerPool) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    Eval e = MakeEval("p", "e1", 1, "key");
    LINE_RETURN_IF_ERROR(tx.InsertEval(e));
    Eval other_pool = MakeEval("q", "e1", 1, "key");
    LINE_RETURN_IF_ERROR(tx.InsertEval(other_pool));
    for (const char* id : {"n1", "n2"}) {  // no key: never a conflict
      Eval no_key = MakeEval("p", id, 1);
      LINE_RETURN_IF_ERROR(tx.InsertEval(no_key));
    }
    return Status::Ok();
  }));
  Status duplicate = WriteSync(store(), [](Tx& tx) {
    Eval e = MakeEval("p", "e2", 1, "key");
    return tx.InsertEval(e);
  });
  EXPECT_EQ(duplicate.code(), Code::kInternal) << duplicate.ToString();
  EXPECT_FALSE(ReadValue(store(), [](Tx& tx) { return tx.GetEval("p", "e2"); }).has_value());

  std::optional<Eval> found =
      ReadValue(store(), [](Tx& tx) { return tx.FindEvalByKey("p", "key"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->eval_id, "e1");
  EXPECT_EQ(found->pool_id, "p");
  EXPECT_FALSE(ReadValue(store(), [](Tx& tx) { return tx.FindEvalByKey("p", ""); }).has_value());
  EXPECT_FALSE(
      ReadValue(store(), [](Tx& tx) { return tx.FindEvalByKey("p", "other"); }).has_value());
}

TEST_P(StoreConformanceTest, UpdateEvalOnlyFromExpectedState) {
  Eval eval = MakeEval("p", "e", 2);
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) { return tx.InsertEval(eval); }));
  Eval placed = eval;
  placed.state = EvalState::kPlaced;
  placed.alloc_id = "a1";
  placed.worker_id = "w1";
  EXPECT_TRUE(
      WriteValue(store(), [&](Tx& tx) { return tx.UpdateEval(placed, EvalState::kPending); }));
  Eval completed = placed;
  completed.state = EvalState::kCompleted;
  completed.exit_code = 3;
  completed.result = "[1]";
  EXPECT_FALSE(WriteValue(store(), [&](Tx& tx) {
    return tx.UpdateEval(completed, EvalState::kPending);
  })) << "stored state is placed, not pending";
  std::optional<Eval> got = ReadValue(store(), [](Tx& tx) { return tx.GetEval("p", "e"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, EvalState::kPlaced);
  EXPECT_FALSE(got->exit_code.has_value());

  Eval dead = placed;
  dead.state = EvalState::kDead;
  dead.attempt = 4;
  dead.dead_reason = "retries exhausted";
  dead.exit_code = 9;
  dead.result = R"({"err":1})";
  EXPECT_TRUE(WriteValue(store(), [&](Tx& tx) { return tx.UpdateEval(dead, EvalState::kPlaced); }));
  got = ReadValue(store(), [](Tx& tx) { return tx.GetEval("p", "e"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, EvalState::kDead);
  EXPECT_EQ(got->attempt, 4);
  EXPECT_EQ(got->alloc_id, "a1");
  EXPECT_EQ(got->worker_id, "w1");
  EXPECT_EQ(got->exit_code, std::optional<int64_t>(9));
  EXPECT_EQ(got->result, dead.result);
  EXPECT_EQ(got->dead_reason, "retries exhausted");
  EXPECT_EQ(got->seq, eval.seq) << "seq is not a mutable field";

  Eval missing = MakeEval("p", "missing", 1);
  EXPECT_FALSE(
      WriteValue(store(), [&](Tx& tx) { return tx.UpdateEval(missing, EvalState::kPending); }));
}

TEST_P(StoreConformanceTest, ListEvalsAndPendingEvalsPageInArrivalOrder) {
  std::vector<int64_t> seqs;
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) {
    // sizes 5, 1, 3, 2 with e1 placed; one eval in another pool in between.
    int64_t sizes[] = {5, 1, 3, 2};
    for (int i = 0; i < 4; ++i) {
      Eval e = MakeEval("p", "e" + std::to_string(i), sizes[i]);
      if (i == 1) e.state = EvalState::kPlaced;
      LINE_RETURN_IF_ERROR(tx.InsertEval(e));
      seqs.push_back(e.seq);
      Eval other = MakeEval("q", "x" + std::to_string(i), 1);
      LINE_RETURN_IF_ERROR(tx.InsertEval(other));
    }
    return Status::Ok();
  }));
  auto list = [&](std::optional<EvalState> state, int64_t after, int64_t limit) {
    return EvalIds(
        ReadValue(store(), [&](Tx& tx) { return tx.ListEvals("p", state, after, limit); }));
  };
  EXPECT_EQ(list(std::nullopt, 0, 100), (Ids{"e0", "e1", "e2", "e3"}));
  EXPECT_EQ(list(std::nullopt, 0, 2), (Ids{"e0", "e1"}));
  EXPECT_EQ(list(std::nullopt, seqs[1], 2), (Ids{"e2", "e3"}));
  EXPECT_EQ(list(EvalState::kPending, 0, 100), (Ids{"e0", "e2", "e3"}));
  EXPECT_EQ(list(EvalState::kPending, seqs[0], 1), (Ids{"e2"}));
  EXPECT_EQ(list(EvalState::kPlaced, 0, 100), (Ids{"e1"}));
  EXPECT_TRUE(list(EvalState::kDead, 0, 100).empty());

  auto pending = [&](int64_t max_size, int64_t after, int64_t limit) {
    return EvalIds(
        ReadValue(store(), [&](Tx& tx) { return tx.PendingEvals("p", max_size, after, limit); }));
  };
  EXPECT_EQ(pending(3, 0, 100), (Ids{"e2", "e3"})) << "e0 (5) too big, e1 not pending";
  EXPECT_EQ(pending(5, 0, 100), (Ids{"e0", "e2", "e3"}));
  EXPECT_EQ(pending(5, 0, 2), (Ids{"e0", "e2"}));
  EXPECT_EQ(pending(5, seqs[2], 100), (Ids{"e3"}));
  EXPECT_TRUE(pending(0, 0, 100).empty());
}

// --- Allocs ---

TEST_P(StoreConformanceTest, AllocRoundTripAndEndOnlyOnce) {
  Alloc alloc = MakeAlloc("p", "a1", "w1", "e1", 3);
  alloc.attempt = 2;
  alloc.locality = true;
  Alloc later = MakeAlloc("p", "a2", "w1", "e1", 3);
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.InsertAlloc(alloc));
    return tx.InsertAlloc(later);
  }));
  EXPECT_GT(alloc.seq, 0);
  EXPECT_GT(later.seq, alloc.seq);
  std::optional<Alloc> got = ReadValue(store(), [](Tx& tx) { return tx.GetAlloc("p", "a1"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->worker_id, "w1");
  EXPECT_EQ(got->eval_id, "e1");
  EXPECT_EQ(got->dataset_id, alloc.dataset_id);
  EXPECT_EQ(got->size, 3);
  EXPECT_EQ(got->attempt, 2);
  EXPECT_TRUE(got->locality);
  EXPECT_EQ(got->state, AllocState::kLive);
  EXPECT_EQ(got->ttl, alloc.ttl);
  EXPECT_EQ(got->created_at, kNow);
  EXPECT_EQ(got->delivered_at, 0);
  EXPECT_FALSE(got->acked);
  EXPECT_EQ(got->ended_at, 0);
  EXPECT_EQ(got->seq, alloc.seq);

  EXPECT_TRUE(WriteValue(store(), [](Tx& tx) {
    return tx.EndAlloc("p", "a1", AllocState::kCompleted, "completed", kNow + 5);
  }));
  EXPECT_FALSE(WriteValue(store(), [](Tx& tx) {
    return tx.EndAlloc("p", "a1", AllocState::kExpired, "expired", kNow + 6);
  })) << "an alloc ends once";
  EXPECT_FALSE(WriteValue(store(), [](Tx& tx) {
    return tx.EndAlloc("p", "missing", AllocState::kExpired, "expired", kNow);
  }));
  got = ReadValue(store(), [](Tx& tx) { return tx.GetAlloc("p", "a1"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, AllocState::kCompleted);
  EXPECT_EQ(got->end_reason, "completed");
  EXPECT_EQ(got->ended_at, kNow + 5);
  EXPECT_TRUE(got->acked);
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.GetAlloc("p", "a2"); })->state,
            AllocState::kLive);
}

TEST_P(StoreConformanceTest, RenewAllocsRenewsOnlyThisWorkersLiveAllocs) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    Alloc mine = MakeAlloc("p", "mine", "w", "e1", 1, kNow + 1);
    Alloc ended = MakeAlloc("p", "ended", "w", "e2", 1, kNow + 1);
    ended.state = AllocState::kExpired;
    Alloc theirs = MakeAlloc("p", "theirs", "other", "e3", 1, kNow + 1);
    Alloc other_pool = MakeAlloc("q", "mine2", "w", "e4", 1, kNow + 1);
    for (Alloc* a : {&mine, &ended, &theirs, &other_pool}) LINE_RETURN_IF_ERROR(tx.InsertAlloc(*a));
    return Status::Ok();
  }));
  Ids renewed = WriteValue(store(), [](Tx& tx) {
    return tx.RenewAllocs("p", "w", {"mine", "ended", "theirs", "unknown", "mine2"}, kNow + 50);
  });
  EXPECT_EQ(renewed, (Ids{"mine"}));
  LINE_EXPECT_OK(store().Read([](Tx& tx) {
    EXPECT_EQ((*tx.GetAlloc("p", "mine"))->ttl, kNow + 50);
    EXPECT_TRUE((*tx.GetAlloc("p", "mine"))->acked);
    EXPECT_EQ((*tx.GetAlloc("p", "theirs"))->ttl, kNow + 1);
    EXPECT_FALSE((*tx.GetAlloc("p", "theirs"))->acked);
    EXPECT_EQ((*tx.GetAlloc("p", "ended"))->ttl, kNow + 1);
    EXPECT_EQ((*tx.GetAlloc("q", "mine2"))->ttl, kNow + 1);
    return Status::Ok();
  }));
}

TEST_P(StoreConformanceTest, LiveExpiredAndEvalHistoryQueries) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    Alloc first = MakeAlloc("p", "a1", "w", "e", 1, kNow - 10);
    first.state = AllocState::kExpired;
    Alloc second = MakeAlloc("p", "a2", "w2", "e", 1, kNow - 5);
    Alloc third = MakeAlloc("p", "a3", "w", "f", 1, kNow);
    Alloc fourth = MakeAlloc("q", "a4", "w", "g", 1, kNow - 20);
    Alloc fifth = MakeAlloc("p", "a5", "w", "h", 1, kNow + 1);
    for (Alloc* a : {&first, &second, &third, &fourth, &fifth}) {
      LINE_RETURN_IF_ERROR(tx.InsertAlloc(*a));
    }
    return Status::Ok();
  }));
  EXPECT_EQ(AllocIds(ReadValue(store(), [](Tx& tx) { return tx.LiveAllocsOfWorker("p", "w"); })),
            (Ids{"a3", "a5"}));
  EXPECT_EQ(AllocIds(ReadValue(store(), [](Tx& tx) { return tx.AllocsExpiredBy(kNow, 10); })),
            (Ids{"a4", "a2", "a3"}))
      << "live only, ttl <= now, any pool, earliest first";
  EXPECT_EQ(AllocIds(ReadValue(store(), [](Tx& tx) { return tx.AllocsExpiredBy(kNow, 1); })),
            (Ids{"a4"}));
  EXPECT_EQ(AllocIds(ReadValue(store(), [](Tx& tx) { return tx.AllocsOfEval("p", "e"); })),
            (Ids{"a1", "a2"}));
  EXPECT_TRUE(ReadValue(store(), [](Tx& tx) { return tx.AllocsOfEval("q", "e"); }).empty());
}

TEST_P(StoreConformanceTest, ListAllocsFiltersAndPages) {
  std::vector<int64_t> seqs;
  LINE_ASSERT_OK(WriteSync(store(), [&](Tx& tx) {
    const char* workers[] = {"w1", "w2", "w1", "w1"};
    for (int i = 0; i < 4; ++i) {
      Alloc a = MakeAlloc("p", "a" + std::to_string(i), workers[i], "e", 1);
      if (i == 2) a.state = AllocState::kCompleted;
      LINE_RETURN_IF_ERROR(tx.InsertAlloc(a));
      seqs.push_back(a.seq);
      Alloc other = MakeAlloc("q", "x" + std::to_string(i), "w1", "e", 1);
      LINE_RETURN_IF_ERROR(tx.InsertAlloc(other));
    }
    return Status::Ok();
  }));
  auto list = [&](const char* worker, std::optional<AllocState> state, int64_t after,
                  int64_t limit) {
    return AllocIds(ReadValue(
        store(), [&](Tx& tx) { return tx.ListAllocs("p", worker, state, after, limit); }));
  };
  EXPECT_EQ(list("", std::nullopt, 0, 100), (Ids{"a0", "a1", "a2", "a3"}));
  EXPECT_EQ(list("", std::nullopt, seqs[0], 2), (Ids{"a1", "a2"}));
  EXPECT_EQ(list("", AllocState::kLive, 0, 100), (Ids{"a0", "a1", "a3"}));
  EXPECT_EQ(list("", AllocState::kCompleted, 0, 100), (Ids{"a2"}));
  EXPECT_EQ(list("w1", std::nullopt, 0, 100), (Ids{"a0", "a2", "a3"}));
  EXPECT_EQ(list("w1", std::nullopt, seqs[0], 1), (Ids{"a2"}));
  EXPECT_EQ(list("w1", AllocState::kLive, 0, 100), (Ids{"a0", "a3"}));
  EXPECT_EQ(list("w1", AllocState::kLive, seqs[0], 100), (Ids{"a3"}));
  EXPECT_TRUE(list("w2", AllocState::kExpired, 0, 100).empty());
}

TEST_P(StoreConformanceTest, DeliveryRedeliveryAndAcknowledgement) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    for (const char* id : {"a1", "a2", "a3"}) {
      Alloc a = MakeAlloc("p", id, "w", "e", 1);
      LINE_RETURN_IF_ERROR(tx.InsertAlloc(a));
    }
    Alloc other = MakeAlloc("p", "o1", "other", "e", 1);
    return tx.InsertAlloc(other);
  }));
  auto deliverable = [&](TimeMs redeliver_by, int64_t limit) {
    return AllocIds(ReadValue(
        store(), [&](Tx& tx) { return tx.DeliverableAllocs("p", "w", redeliver_by, limit); }));
  };
  auto earliest = [&] {
    return ReadValue(store(), [](Tx& tx) { return tx.EarliestUnackedDelivery("p", "w"); });
  };
  EXPECT_EQ(deliverable(kNow - 1'000'000, 10), (Ids{"a1", "a2", "a3"}))
      << "never delivered: deliverable whatever the cutoff";
  EXPECT_EQ(deliverable(kNow, 2), (Ids{"a1", "a2"}));
  EXPECT_EQ(earliest(), 0) << "nothing delivered yet";

  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) -> Status {
    LINE_ASSIGN_OR_RETURN(std::vector<std::string> first,
                          tx.MarkDelivered("p", {"a1", "a2"}, kNow + 100, kNow));
    if (first != std::vector<std::string>{"a1", "a2"}) return Status::Internal("first mark");
    // A second poll within the visibility timeout (another node's) takes nothing already
    // taken: only a3, never delivered, is marked.
    LINE_ASSIGN_OR_RETURN(std::vector<std::string> again,
                          tx.MarkDelivered("p", {"a1", "a3"}, kNow + 200, kNow + 99));
    if (again != std::vector<std::string>{"a3"}) return Status::Internal("second mark");
    return Status::Ok();
  }));
  EXPECT_EQ(ReadValue(store(), [](Tx& tx) { return tx.GetAlloc("p", "a1"); })->delivered_at,
            kNow + 100);
  EXPECT_TRUE(deliverable(kNow + 99, 10).empty());
  EXPECT_EQ(deliverable(kNow + 100, 10), (Ids{"a1", "a2"}));
  EXPECT_EQ(earliest(), kNow + 100);
  // A poll takes what was never delivered first, then what waited longest for its ack.
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    Alloc a = MakeAlloc("p", "a4", "w", "e", 1);
    return tx.InsertAlloc(a);
  }));
  EXPECT_EQ(deliverable(kNow + 1000, 10), (Ids{"a4", "a1", "a2", "a3"}));
  EXPECT_EQ(deliverable(kNow + 1000, 2), (Ids{"a4", "a1"}));

  // A heartbeat acknowledges a1, completion ends a2 (and a4): none is delivered again.
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.EndAlloc("p", "a4", AllocState::kCompleted, "completed", kNow + 150)
                             .status());
    LINE_RETURN_IF_ERROR(tx.RenewAllocs("p", "w", {"a1"}, kNow + 500).status());
    return tx.EndAlloc("p", "a2", AllocState::kCompleted, "completed", kNow + 150).status();
  }));
  EXPECT_EQ(deliverable(kNow + 1000, 10), (Ids{"a3"}));
  EXPECT_EQ(earliest(), kNow + 200);
  LINE_ASSERT_OK(WriteSync(
      store(), [](Tx& tx) { return tx.RenewAllocs("p", "w", {"a3"}, kNow + 500).status(); }));
  EXPECT_TRUE(deliverable(kNow + 1000, 10).empty());
  EXPECT_EQ(earliest(), 0);
}

// --- Start-up ---

TEST_P(StoreConformanceTest, ExtendDeadlinesGivesEveryoneAFullTtl) {
  constexpr TimeMs kStart = kNow + 1'000'000;
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("p", /*alloc_ttl_s=*/30)));
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("q", /*alloc_ttl_s=*/90)));
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "stale", 1, kNow)));
    LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("p", "fresh", 1, kStart + 999'999)));
    LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("p", "stale", "d", kNow)));
    LINE_RETURN_IF_ERROR(tx.UpsertReplica(MakeReplica("q", "x", "d", kStart + 999'999)));
    Alloc p_live = MakeAlloc("p", "a1", "stale", "e", 1, kNow);
    Alloc q_live = MakeAlloc("q", "a2", "x", "e", 1, kNow);
    Alloc ended = MakeAlloc("p", "a3", "stale", "e", 1, kNow);
    ended.state = AllocState::kCompleted;
    Alloc long_lived = MakeAlloc("p", "a4", "stale", "e", 1, kStart + 999'999);
    for (Alloc* a : {&p_live, &q_live, &ended, &long_lived}) {
      LINE_RETURN_IF_ERROR(tx.InsertAlloc(*a));
    }
    return Status::Ok();
  }));
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    return tx.ExtendDeadlines(kStart, /*worker_ttl_ms=*/30'000, /*replica_ttl_ms=*/60'000);
  }));
  LINE_EXPECT_OK(store().Read([](Tx& tx) {
    EXPECT_EQ((*tx.GetWorker("p", "stale"))->ttl, kStart + 30'000);
    EXPECT_EQ((*tx.GetWorker("p", "fresh"))->ttl, kStart + 999'999) << "never shortened";
    EXPECT_EQ(*tx.WorkerDatasets("p", "stale", kStart + 59'999), (Ids{"d"}));
    EXPECT_TRUE(tx.WorkerDatasets("p", "stale", kStart + 60'000)->empty());
    EXPECT_EQ((*tx.PoolReplicas("q", 0))[0].ttl, kStart + 999'999);
    EXPECT_EQ((*tx.GetAlloc("p", "a1"))->ttl, kStart + 30'000);
    EXPECT_EQ((*tx.GetAlloc("q", "a2"))->ttl, kStart + 90'000) << "its own pool's alloc_ttl";
    EXPECT_EQ((*tx.GetAlloc("p", "a3"))->ttl, kNow) << "ended allocs keep their ttl";
    EXPECT_EQ((*tx.GetAlloc("p", "a4"))->ttl, kStart + 999'999);
    return Status::Ok();
  }));
}

// --- The Store contract ---

TEST_P(StoreConformanceTest, FailedBodyRollsBackOnlyItsOwnWrites) {
  WriterGate gate(store());  // the three writes below queue up behind the gate together
  std::promise<Status> first, failing, last;
  store().Write([](Tx& tx) { return tx.InsertPool(MakePool("first")); },
                [&](Status s) { first.set_value(s); });
  store().Write(
      [](Tx& tx) {
        LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("failing")));
        LINE_RETURN_IF_ERROR(tx.InsertWorker(MakeWorker("first", "w", 5)));
        return Status(Code::kConflict, "changed my mind");
      },
      [&](Status s) { failing.set_value(s); });
  store().Write(
      [](Tx& tx) {
        LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("last")));
        return tx.InsertWorker(MakeWorker("first", "w", 7));  // same key as the rolled back row
      },
      [&](Status s) { last.set_value(s); });
  gate.Release();
  LINE_EXPECT_OK(gate.Done());
  LINE_EXPECT_OK(first.get_future().get());
  Status failed = failing.get_future().get();
  EXPECT_EQ(failed.code(), Code::kConflict);
  EXPECT_EQ(failed.message(), "changed my mind");
  LINE_EXPECT_OK(last.get_future().get());

  LINE_EXPECT_OK(store().Read([](Tx& tx) {
    EXPECT_TRUE(tx.GetPool("first")->has_value());
    EXPECT_FALSE(tx.GetPool("failing")->has_value());
    EXPECT_TRUE(tx.GetPool("last")->has_value());
    std::optional<Worker> w = *tx.GetWorker("first", "w");
    EXPECT_TRUE(w.has_value() && w->capacity == 7);
    return Status::Ok();
  }));
}

// A group runs without savepoints; a body that fails after writing makes it run again with
// one per body, but one that fails before writing anything (most failures: not found, already
// ended) leaves nothing to undo, and the group goes on. (SQLite knows by its change count,
// PostgreSQL by whether the body called a write primitive and the transaction is intact.)
TEST_P(StoreConformanceTest, AFailedBodyReRunsItsGroupOnlyIfItWrote) {
  Store* store = &this->store();
  for (bool failing_body_writes : {false, true}) {
    SCOPED_TRACE(failing_body_writes ? "the failing body wrote" : "the failing body only read");
    const std::string suffix = failing_body_writes ? "-w" : "-r";
    std::atomic<int> first_runs{0}, last_runs{0};
    std::promise<Status> first, failing, last;
    WriterGate gate(*store);
    store->Write(
        [&](Tx& tx) {
          ++first_runs;
          return tx.InsertPool(MakePool("first" + suffix));
        },
        [&](Status s) { first.set_value(s); });
    store->Write(
        [&](Tx& tx) -> Status {
          if (failing_body_writes) LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("failing")));
          return Status(Code::kNotFound, "no such thing");
        },
        [&](Status s) { failing.set_value(s); });
    store->Write(
        [&](Tx& tx) {
          ++last_runs;
          return tx.InsertPool(MakePool("last" + suffix));
        },
        [&](Status s) { last.set_value(s); });
    gate.Release();
    LINE_EXPECT_OK(gate.Done());
    LINE_EXPECT_OK(first.get_future().get());
    EXPECT_EQ(failing.get_future().get().code(), Code::kNotFound);
    LINE_EXPECT_OK(last.get_future().get());
    const int runs = failing_body_writes ? 2 : 1;
    EXPECT_EQ(first_runs.load(), runs) << "the group ran again only if the failing body wrote";
    EXPECT_EQ(last_runs.load(), 1) << "a body after the failing one runs in the final pass only";
    EXPECT_TRUE(ReadValue(*store, [&](Tx& tx) { return tx.GetPool("first" + suffix); }));
    EXPECT_TRUE(ReadValue(*store, [&](Tx& tx) { return tx.GetPool("last" + suffix); }));
    EXPECT_FALSE(ReadValue(*store, [](Tx& tx) { return tx.GetPool("failing"); }));
  }
}

// A group runs without savepoints first; a lone body that fails is rolled back with its
// transaction, and runs only once.
TEST_P(StoreConformanceTest, ALoneFailingBodyIsRolledBackAndRunsOnce) {
  std::atomic<int> runs{0};
  Status failed = WriteSync(store(), [&](Tx& tx) {
    ++runs;
    LINE_RETURN_IF_ERROR(tx.InsertPool(MakePool("lone")));
    return Status(Code::kConflict, "changed my mind");
  });
  EXPECT_EQ(failed.code(), Code::kConflict);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(ReadValue(store(), [](Tx& tx) { return tx.GetPool("lone"); }).has_value());
  // The writer is fine afterwards.
  LINE_EXPECT_OK(WriteSync(store(), [](Tx& tx) { return tx.InsertPool(MakePool("lone")); }));
  EXPECT_TRUE(ReadValue(store(), [](Tx& tx) { return tx.GetPool("lone"); }).has_value());
}

TEST_P(StoreConformanceTest, ConstraintViolationFailsOnlyThatBody) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) { return tx.InsertPool(MakePool("p")); }));
  WriterGate gate(store());
  std::promise<Status> duplicate, fine;
  store().Write([](Tx& tx) { return tx.InsertPool(MakePool("p")); },
                [&](Status s) { duplicate.set_value(s); });
  store().Write([](Tx& tx) { return tx.InsertPool(MakePool("q")); },
                [&](Status s) { fine.set_value(s); });
  gate.Release();
  LINE_EXPECT_OK(gate.Done());
  EXPECT_EQ(duplicate.get_future().get().code(), Code::kInternal);
  LINE_EXPECT_OK(fine.get_future().get());
  EXPECT_TRUE(ReadValue(store(), [](Tx& tx) { return tx.GetPool("q"); }).has_value());
}

TEST_P(StoreConformanceTest, ConcurrentWritersAllCommitAndEachDoneRunsOnce) {
  constexpr int kThreads = 6;
  constexpr int kPerThread = 150;
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  DoneCounter counter;
  TxDone count = counter.Callback();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        store().Write(
            [n](Tx& tx) {
              Eval e = MakeEval("p", "e" + std::to_string(n), 1, "k" + std::to_string(n));
              return tx.InsertEval(e);
            },
            [&, n](Status s) {
              calls[n].fetch_add(1);
              count(std::move(s));
            });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  counter.WaitFor(kThreads * kPerThread);
  EXPECT_EQ(counter.ok(), kThreads * kPerThread);
  EXPECT_TRUE(counter.failures().empty()) << counter.failures().front();
  for (int n = 0; n < kThreads * kPerThread; ++n) EXPECT_EQ(calls[n].load(), 1) << n;
  std::vector<Eval> all =
      ReadValue(store(), [](Tx& tx) { return tx.ListEvals("p", std::nullopt, 0, 100'000); });
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const Eval& a, const Eval& b) { return a.seq < b.seq; }));
}

TEST_P(StoreConformanceTest, DoneMayQueueAnotherWrite) {
  std::promise<Status> second_done;
  store().Write([](Tx& tx) { return tx.InsertPool(MakePool("one")); },
                [&](Status s) {
                  EXPECT_TRUE(s.ok()) << s.ToString();
                  store().Write([](Tx& tx) { return tx.InsertPool(MakePool("two")); },
                                [&](Status s2) { second_done.set_value(s2); });
                });
  LINE_EXPECT_OK(second_done.get_future().get());
  std::vector<Pool> pools = ReadValue(store(), [](Tx& tx) { return tx.ListPools("", 10); });
  EXPECT_EQ(PoolIds(pools), (Ids{"one", "two"}));
}

TEST_P(StoreConformanceTest, WritesInAReadTransactionFailCleanly) {
  Status status = store().Read([](Tx& tx) {
    Eval e = MakeEval("p", "e", 1);
    Status insert = tx.InsertEval(e);
    EXPECT_EQ(insert.code(), Code::kInternal) << insert.ToString();
    EXPECT_EQ(tx.ClaimCapacity("p", "w", 1, kNow).status().code(), Code::kInternal);
    EXPECT_EQ(tx.DeletePool("p").code(), Code::kInternal);
    return Status::Ok();
  });
  LINE_EXPECT_OK(status);
  EXPECT_FALSE(ReadValue(store(), [](Tx& tx) { return tx.GetEval("p", "e"); }).has_value());
  // And a failing read body's status comes back as it was.
  Status mine = store().Read([](Tx&) { return Status(Code::kEvalNotFound, "no such eval"); });
  EXPECT_EQ(mine.code(), Code::kEvalNotFound);
  LINE_EXPECT_OK(store().Ping());
}

TEST_P(StoreConformanceTest, ReadsFromManyThreadsSeeConsistentSnapshots) {
  LINE_ASSERT_OK(WriteSync(store(), [](Tx& tx) {
    for (const char* id : {"a", "b"}) {
      Worker w = MakeWorker("p", id, 200);
      w.free = 100;
      LINE_RETURN_IF_ERROR(tx.InsertWorker(w));
    }
    return Status::Ok();
  }));
  // The writer moves capacity from a to b and back in one transaction each time; a reader
  // must always see a.free + b.free == 200 (never a half-applied transaction).
  std::atomic<bool> stop{false};
  std::thread mover([&] {
    for (int i = 0; i < 200; ++i) {
      Status s = WriteSync(store(), [i](Tx& tx) -> Status {
        const char* from = i % 2 == 0 ? "a" : "b";
        const char* to = i % 2 == 0 ? "b" : "a";
        LINE_ASSIGN_OR_RETURN(bool claimed, tx.ClaimCapacity("p", from, 10, kNow));
        LINE_ASSIGN_OR_RETURN(bool released, tx.ReleaseCapacity("p", to, 10));
        if (!claimed || !released) return Status::Internal("move failed");
        return Status::Ok();
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  std::atomic<int> reads{0};
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop.load() || reads.load() < 8) {
        Status s = store().Read([](Tx& tx) {
          int64_t a = (*tx.GetWorker("p", "a"))->free;
          int64_t b = (*tx.GetWorker("p", "b"))->free;
          EXPECT_EQ(a + b, 200);
          return Status::Ok();
        });
        EXPECT_TRUE(s.ok()) << s.ToString();
        reads.fetch_add(1);
      }
    });
  }
  mover.join();
  for (std::thread& t : readers) t.join();
  EXPECT_GE(reads.load(), 8);
}

TEST_P(StoreConformanceTest, CloseCommitsWhatIsQueuedAndRefusesLaterWrites) {
  constexpr int kQueued = 50;
  DoneCounter counter;
  {
    WriterGate gate(store());
    for (int i = 0; i < kQueued; ++i) {
      store().Write([i](Tx& tx) { return tx.InsertPool(MakePool("p" + std::to_string(i))); },
                    counter.Callback());
    }
    gate.Release();
    store().Close();
    LINE_EXPECT_OK(gate.Done());
  }
  EXPECT_EQ(counter.ok(), kQueued) << "Close returns after the queued writes are durable";
  std::promise<Status> refused;
  store().Write([](Tx& tx) { return tx.InsertPool(MakePool("late")); },
                [&](Status s) { refused.set_value(s); });
  std::future<Status> outcome = refused.get_future();
  ASSERT_EQ(outcome.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "done is called at once";
  EXPECT_EQ(outcome.get().code(), Code::kStoreUnavailable);
  EXPECT_EQ(WriteSync(store(), [](Tx&) { return Status::Ok(); }).code(), Code::kStoreUnavailable);
  store().Close();  // a second Close is harmless
}

}  // namespace
}  // namespace line::testing_store
