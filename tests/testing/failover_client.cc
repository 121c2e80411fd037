#include "testing/failover_client.h"

#include <algorithm>
#include <thread>

namespace line::testing {

using Clock = std::chrono::steady_clock;

FailoverClient::FailoverClient(std::vector<int> ports, size_t first,
                               std::chrono::milliseconds timeout) {
  for (int port : ports)
    clients_.push_back(std::make_unique<HttpClient>("127.0.0.1", port, timeout));
  node_ = clients_.empty() ? 0 : first % clients_.size();
}

HttpResponse FailoverClient::PostOnce(std::string_view path, const boost::json::value& body) {
  return clients_[node_]->Post(path, body);
}

HttpResponse FailoverClient::Post(std::string_view path, const boost::json::value& body,
                                  Clock::time_point deadline, const std::atomic<bool>* stop) {
  // Short first pauses: a dead node is usually noticed at once (connection refused) and the
  // next one answers; longer ones while every node is in the outage.
  std::chrono::milliseconds pause(10);
  while (true) {
    HttpResponse r = PostOnce(path, body);
    if (!OutcomeUnknown(r)) return r;
    ++retries_;
    if (retried_answers_.size() < 10) {
      retried_answers_.push_back(std::string(path) + " on port " + std::to_string(port()) + " -> " +
                                 r.Describe());
    }
    clients_[node_]->Disconnect();
    node_ = (node_ + 1) % clients_.size();
    if (Clock::now() + pause >= deadline || (stop != nullptr && *stop)) return r;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

}  // namespace line::testing
