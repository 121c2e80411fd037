#include "scheduler/renewal_gate.h"

#include <algorithm>

namespace line {

bool RenewalGate::CoversHeartbeat(const std::string& pool_id, const std::string& worker_id,
                                  const std::vector<std::string>& datasets,
                                  TimeMs worker_deadline, TimeMs replica_deadline) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto pool = pools_.find(pool_id);
  if (pool == pools_.end()) return false;
  auto worker = pool->second.find(worker_id);
  if (worker == pool->second.end()) return false;
  const Known& known = worker->second;
  if (known.worker_deadline < worker_deadline) return false;
  for (const std::string& dataset_id : datasets) {
    auto it = std::lower_bound(
        known.replicas.begin(), known.replicas.end(), dataset_id,
        [](const std::pair<std::string, TimeMs>& r, const std::string& id) { return r.first < id; });
    if (it == known.replicas.end() || it->first != dataset_id || it->second < replica_deadline) {
      return false;
    }
  }
  return true;
}

uint64_t RenewalGate::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void RenewalGate::Record(const std::string& pool_id, const std::string& worker_id,
                         const std::vector<std::string>& datasets, TimeMs worker_deadline,
                         TimeMs replica_deadline, uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  if (generation != generation_) return;
  Known& known = pools_[pool_id][worker_id];
  known.worker_deadline = std::max(known.worker_deadline, worker_deadline);
  // The heartbeat listed the worker's full list; bounds of datasets it no longer lists stay
  // true (their rows keep their deadlines until they expire, and expiry forgets them).
  for (const std::string& dataset_id : datasets) {
    auto it = std::lower_bound(
        known.replicas.begin(), known.replicas.end(), dataset_id,
        [](const std::pair<std::string, TimeMs>& r, const std::string& id) { return r.first < id; });
    if (it != known.replicas.end() && it->first == dataset_id) {
      it->second = std::max(it->second, replica_deadline);
    } else {
      known.replicas.insert(it, {dataset_id, replica_deadline});
    }
  }
}

void RenewalGate::Forget(const std::string& pool_id, const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  auto pool = pools_.find(pool_id);
  if (pool == pools_.end()) return;
  pool->second.erase(worker_id);
  if (pool->second.empty()) pools_.erase(pool);
}

void RenewalGate::ForgetPool(const std::string& pool_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  pools_.erase(pool_id);
}

void RenewalGate::ForgetAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  pools_.clear();
}

size_t RenewalGate::workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [pool_id, workers] : pools_) n += workers.size();
  return n;
}

}  // namespace line
