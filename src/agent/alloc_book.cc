#include "agent/alloc_book.h"

#include <utility>

namespace line::agent {

bool AllocBook::Accept(const client::ReceivedAlloc& alloc) {
  std::lock_guard<std::mutex> lock(mu_);
  if (held_.count(alloc.alloc_id) != 0 || retired_.count(alloc.alloc_id) != 0) return false;
  held_[alloc.alloc_id] = Held{alloc.worker_id, alloc.size, false};
  committed_ += alloc.size;
  accepted_.push_back(alloc);
  return true;
}

std::vector<client::ReceivedAlloc> AllocBook::TakeAccepted() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(accepted_, {});
}

void AllocBook::Finish(const std::string& alloc_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_.find(alloc_id);
    if (it == held_.end() || it->second.finished) return;
    it->second.finished = true;
    committed_ -= it->second.size;
  }
  freed_.notify_all();
}

void AllocBook::Retire(const std::string& alloc_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(alloc_id);
  if (it == held_.end()) return;
  if (!it->second.finished) committed_ -= it->second.size;
  held_.erase(it);
  retired_.insert(alloc_id);
  retired_order_.push_back(alloc_id);
  if (retired_order_.size() > kRememberedRetired) {
    retired_.erase(retired_order_.front());
    retired_order_.pop_front();
  }
}

int64_t AllocBook::Free() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capacity_ - committed_;
}

int64_t AllocBook::WaitForFree(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  freed_.wait_for(lock, timeout, [&] { return interrupted_ || capacity_ - committed_ > 0; });
  return capacity_ - committed_;
}

void AllocBook::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
  }
  freed_.notify_all();
}

std::vector<std::string> AllocBook::HeldBy(const std::string& worker_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, held] : held_) {
    if (held.worker_id == worker_id) ids.push_back(id);
  }
  return ids;
}

size_t AllocBook::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_.size();
}

}  // namespace line::agent
