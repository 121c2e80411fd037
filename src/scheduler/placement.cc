#include "scheduler/placement.h"

#include <algorithm>
#include <utility>

namespace line {

PoolSnapshot::PoolSnapshot(PlacementPolicy policy, const std::vector<Worker>& candidates,
                           const std::vector<Replica>& replicas)
    : policy_(policy), pool_(Order{policy == PlacementPolicy::kSpread}) {
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
  pool_pos_.reserve(sorted.size());
  for (const Worker* w : sorted) {
    const auto worker = static_cast<uint32_t>(ids_.size());
    ids_.push_back(w->worker_id);
    free_.push_back(w->free);
    pool_pos_.push_back(pool_.insert(Entry{w->free, worker}).first);
  }

  // (worker, dataset) pairs of known workers, deduplicated: a replica reported twice must
  // not leave two entries for one worker in a dataset's index.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  pairs.reserve(replicas.size());
  for (const Replica& r : replicas) {
    if (r.dataset_id.empty()) continue;  // "" means "no preference", never a dataset
    auto w = std::lower_bound(ids_.begin(), ids_.end(), r.worker_id);
    if (w == ids_.end() || *w != r.worker_id) continue;
    auto [it, inserted] =
        dataset_of_.try_emplace(r.dataset_id, static_cast<uint32_t>(dataset_of_.size()));
    if (inserted) holders_.emplace_back(Order{policy == PlacementPolicy::kSpread});
    pairs.emplace_back(static_cast<uint32_t>(w - ids_.begin()), it->second);
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());

  // held_ lists each worker's replicas contiguously (pairs are sorted by worker).
  held_begin_.assign(ids_.size() + 1, 0);
  for (const auto& [w, dataset] : pairs) ++held_begin_[w + 1];
  for (size_t w = 0; w < ids_.size(); ++w) held_begin_[w + 1] += held_begin_[w];
  held_.resize(pairs.size());
  // Fill one dataset's index at a time so its nodes are allocated next to each other: a
  // placement then walks a few compact trees instead of nodes scattered over the whole heap.
  std::vector<uint32_t> by_dataset(pairs.size());
  for (uint32_t k = 0; k < by_dataset.size(); ++k) by_dataset[k] = k;
  std::stable_sort(by_dataset.begin(), by_dataset.end(),
                   [&](uint32_t a, uint32_t b) { return pairs[a].second < pairs[b].second; });
  for (uint32_t k : by_dataset) {
    const auto [w, dataset] = pairs[k];
    held_[k] = Held{dataset, false, holders_[dataset].insert(Entry{free_[w], w}).first};
  }
  dirty_.resize(holders_.size());
  for (size_t d = 0; d < holders_.size(); ++d) dirty_[d].reserve(holders_[d].size());
}

PoolSnapshot::Index::iterator PoolSnapshot::Best(Index& index, int64_t size) const {
  if (policy_ == PlacementPolicy::kSpread) {
    // Most free first: if the first entry is too small, every entry is.
    auto it = index.begin();
    return it != index.end() && it->free >= size ? it : index.end();
  }
  // Least sufficient first: the first entry with free >= size; worker 0 sorts first among
  // entries with free == size.
  return index.lower_bound(Entry{size, 0});
}

PoolSnapshot::Index::iterator PoolSnapshot::Rekey(Index& index, Index::iterator it, int64_t free) {
  // Re-keying the extracted node reuses its memory: no allocation per placement.
  auto node = index.extract(it);
  node.value().free = free;
  return index.insert(std::move(node)).position;
}

void PoolSnapshot::Sync(uint32_t dataset) {
  std::vector<uint32_t>& dirty = dirty_[dataset];
  Index& holders = holders_[dataset];
  for (uint32_t h : dirty) {
    Held& held = held_[h];
    held.pos = Rekey(holders, held.pos, free_[held.pos->worker]);
    held.dirty = false;
  }
  dirty.clear();  // keeps its capacity
}

std::optional<PlacementChoice> PoolSnapshot::Place(std::string_view dataset_id, int64_t size) {
  if (size < 1) return std::nullopt;

  Index::iterator chosen;
  bool locality = false;
  Index* from = nullptr;
  if (!dataset_id.empty()) {
    // Exact lookup by the whole id: "d1" finds only "d1", never "d10".
    if (auto d = dataset_of_.find(dataset_id); d != dataset_of_.end()) {
      Sync(d->second);
      Index& holders = holders_[d->second];
      chosen = Best(holders, size);
      if (chosen != holders.end()) {
        locality = true;
        from = &holders;
      }
    }
  }
  if (from == nullptr) {
    chosen = Best(pool_, size);
    if (chosen == pool_.end()) return std::nullopt;
  }

  const uint32_t w = chosen->worker;
  SetFree(w, free_[w] - size);
  return PlacementChoice{ids_[w], locality};
}

void PoolSnapshot::SetFree(uint32_t w, int64_t free) {
  free_[w] = free;
  pool_pos_[w] = Rekey(pool_, pool_pos_[w], free);
  for (uint32_t h = held_begin_[w]; h < held_begin_[w + 1]; ++h) {
    Held& held = held_[h];
    if (held.dirty) continue;
    held.dirty = true;
    dirty_[held.dataset].push_back(h);
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

int64_t PoolSnapshot::MaxFree() const {
  if (pool_.empty()) return 0;
  int64_t most = policy_ == PlacementPolicy::kSpread ? pool_.begin()->free : pool_.rbegin()->free;
  return std::max<int64_t>(most, 0);  // only removed workers left: nothing fits
}

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
