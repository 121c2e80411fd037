#include "ops/delivery_ledger.h"

#include <iterator>

namespace line {

std::vector<std::string> DeliveryLedger::Claim(const std::string& key,
                                               const std::vector<std::string>& alloc_ids,
                                               size_t max, TimeMs since, TimeMs at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (since >= next_sweep_) {
    for (auto it = workers_.begin(); it != workers_.end();) {
      Prune(it->second, since);
      it = it->second.handed.empty() ? workers_.erase(it) : std::next(it);
    }
    next_sweep_ = since + kSweepEveryMs;
  }
  Worker& worker = workers_[key];
  Prune(worker, since);
  std::vector<std::string> claimed;
  for (const std::string& id : alloc_ids) {
    if (claimed.size() >= max) break;
    // An id is never held twice: it is taken again only once Prune has dropped it.
    if (!worker.ids.insert(id).second) continue;
    worker.handed.emplace_back(at, id);
    claimed.push_back(id);
  }
  if (worker.handed.empty()) workers_.erase(key);
  return claimed;
}

void DeliveryLedger::Prune(Worker& worker, TimeMs since) {
  while (!worker.handed.empty() && worker.handed.front().first <= since) {
    worker.ids.erase(worker.handed.front().second);
    worker.handed.pop_front();
  }
}

TimeMs DeliveryLedger::EarliestHanded(const std::string& key, TimeMs since) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = workers_.find(key);
  if (it == workers_.end()) return 0;
  Prune(it->second, since);
  if (it->second.handed.empty()) {
    workers_.erase(it);
    return 0;
  }
  // (Claims of concurrent polls may append a few milliseconds out of order: the front is
  // the oldest but for that.)
  return it->second.handed.front().first;
}

void DeliveryLedger::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  workers_.erase(key);
}

size_t DeliveryLedger::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, worker] : workers_) n += worker.handed.size();
  return n;
}

}  // namespace line
