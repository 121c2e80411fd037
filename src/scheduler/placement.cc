#include "scheduler/placement.h"

#include <algorithm>
#include <utility>

namespace line {

PoolSnapshot::PoolSnapshot(PlacementPolicy policy, const std::vector<Worker>& candidates,
                           const std::vector<Replica>& replicas)
    : policy_(policy) {
  // Intern ids in lexicographic order so the index doubles as the tie-break. A worker listed
  // twice keeps its first row: the caller's filter, not this view, decides which row is true.
  std::vector<const Worker*> sorted;
  sorted.reserve(candidates.size());
  for (const Worker& w : candidates) sorted.push_back(&w);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Worker* a, const Worker* b) { return a->worker_id < b->worker_id; });
  sorted.erase(
      std::unique(sorted.begin(), sorted.end(),
                  [](const Worker* a, const Worker* b) { return a->worker_id == b->worker_id; }),
      sorted.end());
  ids_.reserve(sorted.size());
  free_.reserve(sorted.size());
  for (const Worker* w : sorted) {
    ids_.push_back(w->worker_id);
    free_.push_back(w->free);
  }
  pool_ = FreeIndex(policy, free_);

  // (worker, dataset) pairs of known workers, deduplicated: a replica reported twice must
  // not give one worker two slots in a dataset's index.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  pairs.reserve(replicas.size());
  for (const Replica& r : replicas) {
    if (r.dataset_id.empty()) continue;  // "" means "no preference", never a dataset
    auto w = std::lower_bound(ids_.begin(), ids_.end(), r.worker_id);
    if (w == ids_.end() || *w != r.worker_id) continue;
    auto it =
        dataset_of_.try_emplace(r.dataset_id, static_cast<uint32_t>(dataset_of_.size())).first;
    pairs.emplace_back(static_cast<uint32_t>(w - ids_.begin()), it->second);
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  const size_t datasets = dataset_of_.size();

  // held_ lists each worker's replicas contiguously (pairs are sorted by worker), and walking
  // the pairs in that order gives each dataset's holders ascending slots in worker order.
  held_begin_.assign(ids_.size() + 1, 0);
  holders_begin_.assign(datasets + 1, 0);
  for (const auto& [w, dataset] : pairs) {
    ++held_begin_[w + 1];
    ++holders_begin_[dataset + 1];
  }
  for (size_t w = 0; w < ids_.size(); ++w) held_begin_[w + 1] += held_begin_[w];
  for (size_t d = 0; d < datasets; ++d) holders_begin_[d + 1] += holders_begin_[d];
  held_.resize(pairs.size());
  holder_worker_.resize(pairs.size());
  std::vector<uint32_t> next_slot(datasets, 0);
  for (size_t k = 0; k < pairs.size(); ++k) {
    const auto [w, dataset] = pairs[k];
    const uint32_t slot = next_slot[dataset]++;
    held_[k] = Held{dataset, slot};
    holder_worker_[holders_begin_[dataset] + slot] = w;
  }
  holders_.reserve(datasets);
  std::vector<int64_t> free;
  for (size_t d = 0; d < datasets; ++d) {
    free.clear();
    for (uint32_t k = holders_begin_[d]; k < holders_begin_[d + 1]; ++k) {
      free.push_back(free_[holder_worker_[k]]);
    }
    holders_.emplace_back(policy, free, /*lazy=*/true);
  }
}

std::optional<PlacementChoice> PoolSnapshot::Place(std::string_view dataset_id, int64_t size) {
  if (size < 1) return std::nullopt;

  int64_t w = -1;
  bool locality = false;
  if (!dataset_id.empty()) {
    // Exact lookup by the whole id: "d1" finds only "d1", never "d10".
    if (auto d = dataset_of_.find(dataset_id); d != dataset_of_.end()) {
      FreeIndex& holders = holders_[d->second];
      const uint32_t* worker_of_slot = &holder_worker_[holders_begin_[d->second]];
      holders.CatchUp(free_, worker_of_slot);
      const int64_t slot = holders.Choose(size);
      if (slot >= 0) {
        w = worker_of_slot[slot];
        locality = true;
      }
    }
  }
  if (w < 0) {
    w = pool_.Choose(size);
    if (w < 0) return std::nullopt;
  }

  // The id is copied last; start loading it now so that its miss overlaps the updates'.
  __builtin_prefetch(&ids_[w]);
  SetFree(static_cast<uint32_t>(w), free_[w] - size);
  return PlacementChoice{ids_[w], locality};
}

void PoolSnapshot::SetFree(uint32_t w, int64_t free) {
  for (uint32_t h = held_begin_[w]; h < held_begin_[w + 1]; ++h) {
    holders_[held_[h].dataset].Prefetch(held_[h].slot);
  }
  pool_.Prefetch(w);
  const int64_t old = free_[w];
  free_[w] = free;
  pool_.Update(w, old, free);
  for (uint32_t h = held_begin_[w]; h < held_begin_[w + 1]; ++h) {
    holders_[held_[h].dataset].Update(held_[h].slot, old, free);
  }
}

int64_t PoolSnapshot::IndexOf(std::string_view worker_id) const {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), worker_id);
  if (it == ids_.end() || *it != worker_id) return -1;
  return it - ids_.begin();
}

bool PoolSnapshot::AdjustFree(std::string_view worker_id, int64_t delta) {
  int64_t w = IndexOf(worker_id);
  if (w < 0 || free_[w] == kRemoved) return false;
  SetFree(static_cast<uint32_t>(w), free_[w] + delta);
  return true;
}

bool PoolSnapshot::Remove(std::string_view worker_id) {
  int64_t w = IndexOf(worker_id);
  if (w < 0) return false;
  if (free_[w] != kRemoved) SetFree(static_cast<uint32_t>(w), kRemoved);
  return true;
}

int64_t PoolSnapshot::MaxFree() const { return pool_.MaxFree(); }

int64_t PoolSnapshot::FreeOf(std::string_view worker_id) const {
  int64_t w = IndexOf(worker_id);
  if (w < 0 || free_[w] == kRemoved) return -1;
  return free_[w];
}

Plan ComputePlan(PoolSnapshot& snapshot, const std::vector<Eval>& evals) {
  Plan plan;
  plan.placements.reserve(evals.size());
  for (size_t i = 0; i < evals.size(); ++i) {
    const Eval& eval = evals[i];
    // Skip the search once nothing can fit: MaxFree is O(1) and a full pool is common.
    std::optional<PlacementChoice> choice;
    if (eval.size <= snapshot.MaxFree()) choice = snapshot.Place(eval.dataset_id, eval.size);
    if (choice) {
      plan.placements.push_back(
          PlannedPlacement{i, std::move(choice->worker_id), choice->locality});
    } else {
      plan.blocked.push_back(i);
    }
  }
  return plan;
}

}  // namespace line
