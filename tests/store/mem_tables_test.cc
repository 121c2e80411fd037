// MemTables' in-place changes and its flat indexes, below the store: what each journals, that
// undoing them puts every index back, and that the index of allocs by eval keeps viewing a
// live row when the row its key viewed goes.
#include "store/memory/mem_tables.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/memory/mem_tx.h"
#include "store_test_util.h"

namespace line::testing_store {
namespace {

using memory::MemTables;
using memory::MemTx;
using memory::PoolData;
using memory::Table;

constexpr size_t Index(EvalState state) { return static_cast<size_t>(state); }

std::vector<int64_t> AllocSeqsOf(MemTx& tx, const std::string& eval_id) {
  std::vector<int64_t> seqs;
  Result<std::vector<Alloc>> allocs = tx.AllocsOfEval("p", eval_id);
  EXPECT_TRUE(allocs.ok()) << allocs.status().ToString();
  for (const Alloc& a : allocs.value()) seqs.push_back(a.seq);
  return seqs;
}

TEST(MemTablesTest, AClaimJournalsOnlyTheFreeCapacityAndUndoesToIt) {
  MemTables tables;
  MemTx tx(tables, /*writable=*/true);
  LINE_ASSERT_OK(tx.InsertPool(MakePool("p")));
  LINE_ASSERT_OK(tx.InsertWorker(MakeWorker("p", "w1", 8)));
  tables.ClearJournal();

  ASSERT_TRUE(tx.ClaimCapacity("p", "w1", 3, kNow).value());
  ASSERT_TRUE(tx.ClaimCapacity("p", "w1", 2, kNow).value());
  ASSERT_EQ(tables.JournalSize(), 2u);
  EXPECT_EQ(tables.journal()[0].table, Table::kWorkerFree);
  EXPECT_EQ(tables.journal()[0].free, 8);
  EXPECT_EQ(tables.journal()[1].free, 5);
  EXPECT_EQ(tx.GetWorker("p", "w1").value()->free, 3);

  tables.UndoTo(1);
  EXPECT_EQ(tx.GetWorker("p", "w1").value()->free, 5);
  tables.UndoTo(0);
  EXPECT_EQ(tx.GetWorker("p", "w1").value()->free, 8);
  // Nothing else of the worker moved: it still expires when it did.
  std::vector<Worker> due = tx.WorkersExpiredBy(kNow + 1'000'000'000, 10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].worker_id, "w1");
}

TEST(MemTablesTest, AnEvalUpdateChangesItsProgressInPlaceAndUndoesWithItsStateIndex) {
  MemTables tables;
  MemTx tx(tables, /*writable=*/true);
  LINE_ASSERT_OK(tx.InsertPool(MakePool("p")));
  Eval eval = MakeEval("p", "e1", 2, "key-1");
  LINE_ASSERT_OK(tx.InsertEval(eval));
  tables.ClearJournal();

  Eval placed = KeysAndProgress(eval);
  EXPECT_TRUE(placed.payload.empty()) << "the update carries no payload";
  placed.state = EvalState::kPlaced;
  placed.alloc_id = "a1";
  placed.worker_id = "w1";
  ASSERT_TRUE(tx.UpdateEval(placed, EvalState::kPending).value());
  ASSERT_EQ(tables.JournalSize(), 1u);
  EXPECT_EQ(tables.journal()[0].table, Table::kEvalProgress);

  Eval now = tx.GetEval("p", "e1").value().value();
  EXPECT_EQ(now.state, EvalState::kPlaced);
  EXPECT_EQ(now.alloc_id, "a1");
  EXPECT_EQ(now.payload, eval.payload) << "the payload stays as inserted";
  EXPECT_EQ(now.idempotency_key, "key-1");
  const PoolData* data = tables.Find("p");
  EXPECT_TRUE(data->evals_by_state[Index(EvalState::kPending)].empty());
  EXPECT_EQ(data->evals_by_state[Index(EvalState::kPlaced)].count(eval.seq), 1u);
  EXPECT_FALSE(tx.UpdateEval(placed, EvalState::kPending).value()) << "no longer pending";

  tables.UndoTo(0);
  now = tx.GetEval("p", "e1").value().value();
  EXPECT_EQ(now.state, EvalState::kPending);
  EXPECT_EQ(now.alloc_id, "");
  EXPECT_EQ(now.worker_id, "");
  EXPECT_EQ(data->evals_by_state[Index(EvalState::kPending)].count(eval.seq), 1u);
  EXPECT_TRUE(data->evals_by_state[Index(EvalState::kPlaced)].empty());
  EXPECT_EQ(tx.FindEvalByKey("p", "key-1").value()->seq, eval.seq);
}

TEST(MemTablesTest, AnEvalsAllocsStayFoundWhenTheRowItsIndexKeyViewedGoes) {
  MemTables tables;
  MemTx tx(tables, /*writable=*/true);
  LINE_ASSERT_OK(tx.InsertPool(MakePool("p")));
  tables.ClearJournal();
  std::vector<int64_t> seqs;
  for (const char* alloc_id : {"a1", "a2", "a3"}) {
    // A fresh string per alloc, so that no two rows share the eval_id's buffer.
    Alloc alloc = MakeAlloc("p", alloc_id, "w1", std::string("an-eval-id-longer-than-sso"), 1);
    LINE_ASSERT_OK(tx.InsertAlloc(alloc));
    seqs.push_back(alloc.seq);
  }
  EXPECT_EQ(AllocSeqsOf(tx, "an-eval-id-longer-than-sso"), seqs);
  // The first alloc's row is the one the index key views; remove it, then its successor.
  tables.SetAlloc("p", seqs[0], std::nullopt);
  EXPECT_EQ(AllocSeqsOf(tx, "an-eval-id-longer-than-sso"),
            (std::vector<int64_t>{seqs[1], seqs[2]}));
  tables.SetAlloc("p", seqs[1], std::nullopt);
  EXPECT_EQ(AllocSeqsOf(tx, "an-eval-id-longer-than-sso"), (std::vector<int64_t>{seqs[2]}));
  // Undoing the removals brings both back, in order.
  tables.UndoTo(3);
  EXPECT_EQ(AllocSeqsOf(tx, "an-eval-id-longer-than-sso"), seqs);
  tables.UndoTo(0);
  EXPECT_TRUE(AllocSeqsOf(tx, "an-eval-id-longer-than-sso").empty());
  EXPECT_TRUE(tables.Find("p")->allocs_by_eval.empty());
}

}  // namespace
}  // namespace line::testing_store
