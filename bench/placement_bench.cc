// Placements per second of the pure placement core, per pool size, policy and locality.
//
// Workers have a realistic capacity (64) and evals sizes 1..8, so spread touches every worker
// in turn and binpack walks through them: the indexes stay as large and as cold as they would
// in a real pool. When the snapshot runs low it is rebuilt outside the timed region, so the
// figures are the steady state of Place, not of construction (measured separately below).
//
//   placement_bench --benchmark_filter=BM_Place/
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "scheduler/placement.h"

namespace line {
namespace {

constexpr int64_t kCapacity = 64;
constexpr int64_t kMaxSize = 8;
// BM_PlaceWideCapacity: the same pool with capacities and sizes 16x larger. Binpack keeps free
// capacities up to 64 as bits and larger ones in an ordered set (scheduler/free_index.h), so
// this is its slow path; spread does not care.
constexpr int64_t kWideScale = 16;
constexpr int kDatasetsPerWorker = 8;
constexpr int kDatasetUniverse = 1024;
constexpr size_t kEvalStream = 1 << 16;

struct Pool {
  std::vector<Worker> workers;
  std::vector<Replica> replicas;
  std::vector<Eval> evals;  // cycled through; only dataset_id and size matter
};

Pool MakePool(int worker_count, bool locality, int64_t scale = 1) {
  std::mt19937_64 rng(42);
  Pool pool;
  pool.workers.reserve(worker_count);
  for (int i = 0; i < worker_count; ++i) {
    Worker w;
    w.pool_id = "pool-1";
    w.worker_id = "worker-" + std::to_string(rng());  // random ids: no help from input order
    w.capacity = kCapacity * scale;
    w.free = kCapacity * scale;
    pool.workers.push_back(std::move(w));
  }
  std::uniform_int_distribution<int> dataset(0, kDatasetUniverse - 1);
  if (locality) {
    pool.replicas.reserve(static_cast<size_t>(worker_count) * kDatasetsPerWorker);
    for (const Worker& w : pool.workers) {
      for (int k = 0; k < kDatasetsPerWorker; ++k) {
        Replica r;
        r.pool_id = "pool-1";
        r.dataset_id = "dataset-" + std::to_string(dataset(rng));
        r.worker_id = w.worker_id;
        pool.replicas.push_back(std::move(r));
      }
    }
  }
  std::uniform_int_distribution<int64_t> size(1, kMaxSize * scale);
  pool.evals.resize(kEvalStream);
  for (Eval& e : pool.evals) {
    e.pool_id = "pool-1";
    if (locality) e.dataset_id = "dataset-" + std::to_string(dataset(rng));
    e.size = size(rng);
  }
  return pool;
}

// Args: workers, policy (0 spread, 1 binpack), locality (0 no datasets, 1 datasets).
void PlaceLoop(benchmark::State& state, int64_t scale) {
  const int worker_count = static_cast<int>(state.range(0));
  const auto policy = state.range(1) == 0 ? PlacementPolicy::kSpread : PlacementPolicy::kBinpack;
  const bool locality = state.range(2) != 0;
  const Pool pool = MakePool(worker_count, locality, scale);
  const int64_t max_size = kMaxSize * scale;

  auto snapshot = std::make_unique<PoolSnapshot>(policy, pool.workers, pool.replicas);
  size_t next = 0;
  int64_t hits = 0;
  int64_t refills = 0;
  for (auto _ : state) {
    if (snapshot->MaxFree() < max_size) {  // running low: refill, untimed
      state.PauseTiming();
      snapshot.reset();
      snapshot = std::make_unique<PoolSnapshot>(policy, pool.workers, pool.replicas);
      ++refills;
      state.ResumeTiming();
    }
    const Eval& eval = pool.evals[next];
    next = (next + 1) & (kEvalStream - 1);
    auto choice = snapshot->Place(eval.dataset_id, eval.size);
    benchmark::DoNotOptimize(choice);
    hits += choice && choice->locality ? 1 : 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["locality_hit_rate"] =
      benchmark::Counter(static_cast<double>(hits) / static_cast<double>(state.iterations()));
  state.counters["refills"] = static_cast<double>(refills);
}

void BM_Place(benchmark::State& state) { PlaceLoop(state, 1); }
void BM_PlaceWideCapacity(benchmark::State& state) { PlaceLoop(state, kWideScale); }

void PlaceArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"workers", "binpack", "locality"});
  for (int locality : {0, 1}) {
    for (int policy : {0, 1}) {
      for (int workers : {1'000, 10'000, 100'000}) b->Args({workers, policy, locality});
    }
  }
}
BENCHMARK(BM_Place)->Apply(PlaceArgs);
BENCHMARK(BM_PlaceWideCapacity)->Apply(PlaceArgs);

// Building the snapshot is paid once per scheduler pass: how it compares to the placements.
void BM_BuildSnapshot(benchmark::State& state) {
  const Pool pool = MakePool(static_cast<int>(state.range(0)), state.range(1) != 0);
  for (auto _ : state) {
    PoolSnapshot snapshot(PlacementPolicy::kSpread, pool.workers, pool.replicas);
    benchmark::DoNotOptimize(snapshot.worker_count());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));  // workers indexed per second
}
BENCHMARK(BM_BuildSnapshot)
    ->ArgNames({"workers", "locality"})
    ->ArgsProduct({{1'000, 10'000, 100'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace line

BENCHMARK_MAIN();
