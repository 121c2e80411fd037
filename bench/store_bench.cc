// The embedded store's writer cost per placed eval, without HTTP or the scheduler: one write
// body inserts a batch of evals and places each (UpdateEval, ClaimCapacity, InsertAlloc, as a
// scheduling round commits them), and the group commit writes the rows and fsyncs. Reported
// per eval. `InMemory` runs the same body on the rows in memory alone (store/memory), without
// the file: the part of the cost that is memory work.
//
//   build/release/bench/store_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/memory/mem_tables.h"
#include "store/memory/mem_tx.h"
#include "store/sqlite/sqlite_store.h"

namespace line {
namespace {

constexpr int kWorkers = 1000;
constexpr TimeMs kNow = 1'700'000'000'000;

Status SetUp(Tx& tx) {
  Pool pool{.pool_id = "0197b2c4f0a1e3d2c5b6a7f8", .created_at = kNow};
  LINE_RETURN_IF_ERROR(tx.InsertPool(pool));
  for (int i = 0; i < kWorkers; ++i) {
    Worker worker{.pool_id = pool.pool_id,
                  .worker_id = "0197b2c4f0a1e3d2c5" + std::to_string(100000 + i),
                  .capacity = 1'000'000'000,
                  .free = 1'000'000'000,
                  .ttl = kNow + 3'600'000,
                  .registered_at = kNow};
    LINE_RETURN_IF_ERROR(tx.InsertWorker(worker));
  }
  return Status::Ok();
}

// Inserts `n` evals and places them round-robin over the workers, as one body.
Status PlaceBatch(Tx& tx, int n, int64_t& next_id) {
  std::vector<Eval> evals(n);
  for (Eval& eval : evals) {
    eval.pool_id = "0197b2c4f0a1e3d2c5b6a7f8";
    eval.eval_id = "0197b2c4f0a2" + std::to_string(100'000'000'000 + next_id++);
    eval.size = 1;
    eval.dataset_id = "dataset-17";
    eval.payload = R"({"cmd":"true","args":["--quick"]})";
    eval.created_at = kNow;
  }
  LINE_RETURN_IF_ERROR(tx.InsertEvals(evals));
  std::vector<Placement> placements;
  placements.reserve(evals.size());
  for (size_t i = 0; i < evals.size(); ++i) {
    Alloc alloc{.pool_id = evals[i].pool_id,
                .alloc_id = "0197b2c4f0a3" + std::to_string(100'000'000'000 + next_id++),
                .worker_id = "0197b2c4f0a1e3d2c5" + std::to_string(100000 + i % kWorkers),
                .eval_id = evals[i].eval_id,
                .dataset_id = evals[i].dataset_id,
                .size = 1,
                .ttl = kNow + 30'000,
                .created_at = kNow};
    placements.push_back(Placement{evals[i], std::move(alloc)});
  }
  LINE_ASSIGN_OR_RETURN(std::vector<bool> placed, tx.PlaceEvals(placements, kNow));
  for (bool p : placed) {
    if (!p) return Status::Internal("a placement was refused");
  }
  return Status::Ok();
}

void BM_PlaceBatchSqlite(benchmark::State& state) {
  char pattern[] = "/tmp/line-store-bench-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(dir + "/line.db");
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  std::unique_ptr<SqliteStore> store = std::move(opened).value();
  if (Status s = WriteSync(*store, SetUp); !s.ok()) state.SkipWithError(s.ToString().c_str());
  const int batch = static_cast<int>(state.range(0));
  int64_t next_id = 0;
  for (auto _ : state) {
    Status s = WriteSync(*store, [&](Tx& tx) { return PlaceBatch(tx, batch, next_id); });
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PlaceBatchSqlite)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_PlaceBatchInMemory(benchmark::State& state) {
  memory::MemTables tables;
  memory::MemTx tx(tables, /*writable=*/true);
  if (Status s = SetUp(tx); !s.ok()) state.SkipWithError(s.ToString().c_str());
  tables.ClearJournal();
  const int batch = static_cast<int>(state.range(0));
  int64_t next_id = 0;
  for (auto _ : state) {
    Status s = PlaceBatch(tx, batch, next_id);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    tables.ClearJournal();  // as a commit does
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_PlaceBatchInMemory)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace line

BENCHMARK_MAIN();
