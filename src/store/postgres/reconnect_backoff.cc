#include "store/postgres/reconnect_backoff.h"

#include <algorithm>
#include <string>

namespace line::postgres {

Status ReconnectBackoff::MayConnect() const {
  std::lock_guard<std::mutex> lock(mu_);
  TimeMs now = clock_->NowMs();
  if (now >= retry_at_) return Status::Ok();
  return Status::Unavailable("postgres: not connected; next attempt in " +
                             std::to_string(retry_at_ - now) + " ms");
}

void ReconnectBackoff::Failed() {
  std::lock_guard<std::mutex> lock(mu_);
  retry_at_ = clock_->NowMs() + delay_ms_;
  delay_ms_ = std::min(delay_ms_ * 2, kMaxDelayMs);
}

void ReconnectBackoff::Succeeded() {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ms_ = kFirstDelayMs;
  retry_at_ = 0;
}

int64_t ReconnectBackoff::next_delay_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delay_ms_;
}

}  // namespace line::postgres
