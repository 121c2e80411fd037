#include "ops/alloc_waiters.h"

#include "common/thread_name.h"

namespace line {

AllocWaiters::AllocWaiters(Clock* clock) : clock_(clock) {}

AllocWaiters::~AllocWaiters() { Stop(); }

std::string AllocWaiters::Key(const std::string& pool_id, const std::string& worker_id) {
  return pool_id + "/" + worker_id;
}

void AllocWaiters::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    NameThisThread("line-polls");
    Loop();
  });
}

void AllocWaiters::Stop() {
  std::vector<Fire> fires;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [key, waiters] : by_key_) {
      for (Waiter& w : waiters) fires.push_back(std::move(w.fire));
    }
    by_key_.clear();
    by_deadline_.clear();
    for (Fire& f : immediate_) fires.push_back(std::move(f));
    immediate_.clear();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  FireAll(fires);
}

uint64_t AllocWaiters::Generation(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = generations_.find(key);
  return it == generations_.end() ? 0 : it->second;
}

bool AllocWaiters::Wait(const std::string& key, uint64_t seen, TimeMs deadline, Fire fire,
                        Take take, int64_t max_take) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    auto gen = generations_.find(key);
    uint64_t current = gen == generations_.end() ? 0 : gen->second;
    if (current != seen) {
      immediate_.push_back(std::move(fire));
    } else {
      uint64_t id = next_id_++;
      by_key_[key].push_back(Waiter{id, deadline, std::move(fire), std::move(take), max_take});
      by_deadline_.emplace(deadline, std::make_pair(key, id));
    }
  }
  changed_.notify_all();
  return true;
}

void AllocWaiters::Notify(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generations_[key];
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    // Woken polls run on the waiter thread, not the notifier's: the scheduler (or the store's
    // writer) must not spend its time on long-poll reads.
    for (Waiter& w : it->second) {
      immediate_.push_back(std::move(w.fire));
      EraseDeadline(w);
    }
    by_key_.erase(it);
  }
  changed_.notify_all();
}

std::optional<AllocWaiters::Claimed> AllocWaiters::Claim(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return std::nullopt;
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  std::vector<Waiter>& waiters = it->second;  // in the order they parked
  for (size_t i = 0; i < waiters.size(); ++i) {
    if (!waiters[i].take) continue;
    Waiter w = std::move(waiters[i]);
    waiters.erase(waiters.begin() + static_cast<std::ptrdiff_t>(i));
    if (waiters.empty()) by_key_.erase(it);
    EraseDeadline(w);
    return Claimed{std::move(w.fire), std::move(w.take), w.max_take};
  }
  return std::nullopt;
}

void AllocWaiters::Refire(Fire fire) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      immediate_.push_back(std::move(fire));
      fire = nullptr;
    }
  }
  if (fire) {
    fire();  // the waiter thread is gone or going: nobody else would
    return;
  }
  changed_.notify_all();
}

void AllocWaiters::EraseDeadline(const Waiter& w) {
  auto range = by_deadline_.equal_range(w.deadline);
  for (auto d = range.first; d != range.second; ++d) {
    if (d->second.second == w.id) {
      by_deadline_.erase(d);
      return;
    }
  }
}

void AllocWaiters::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  generations_.erase(key);
}

size_t AllocWaiters::parked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_deadline_.size();
}

void AllocWaiters::FireAll(std::vector<Fire>& fires) {
  for (Fire& f : fires) f();
  fires.clear();
}

void AllocWaiters::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<Fire> fires;
  while (!stopping_) {
    fires.swap(immediate_);
    TimeMs now = clock_->NowMs();
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
      auto [key, id] = by_deadline_.begin()->second;
      by_deadline_.erase(by_deadline_.begin());
      auto it = by_key_.find(key);
      if (it == by_key_.end()) continue;
      auto& waiters = it->second;
      for (size_t i = 0; i < waiters.size(); ++i) {
        if (waiters[i].id == id) {
          fires.push_back(std::move(waiters[i].fire));
          waiters.erase(waiters.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      }
      if (waiters.empty()) by_key_.erase(it);
    }
    if (!fires.empty()) {
      lock.unlock();
      FireAll(fires);
      lock.lock();
      continue;
    }
    if (!immediate_.empty()) continue;
    if (by_deadline_.empty()) {
      changed_.wait(lock);
    } else {
      clock_->WaitUntil(changed_, lock, by_deadline_.begin()->first);
    }
  }
}

}  // namespace line
