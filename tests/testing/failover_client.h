// A client of a cluster of lined nodes that behaves as SPEC asks clients to behave in an
// outage: an answer of 503 or none at all means "outcome unknown", so the same request is sent
// again, to the next node, after a short backoff, until some node gives a real answer.
//
// Not thread-safe: one per thread (it holds one HttpClient per node).
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "testing/http_client.h"

namespace line::testing {

class FailoverClient {
 public:
  // Starts on ports[first % ports.size()].
  explicit FailoverClient(std::vector<int> ports, size_t first = 0,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Sends `body` until an answer that is neither 503 nor "no response", moving to the next
  // node after each such try. Gives up when `deadline` passes or `*stop` becomes true, and
  // then returns the last (503 or empty) answer.
  HttpResponse Post(std::string_view path, const boost::json::value& body,
                    std::chrono::steady_clock::time_point deadline,
                    const std::atomic<bool>* stop = nullptr);
  // One try on the current node; does not move.
  HttpResponse PostOnce(std::string_view path, const boost::json::value& body);

  size_t node() const { return node_; }
  // Makes `node` the current node (e.g. to spread requests round-robin).
  void UseNode(size_t node) { node_ = node % clients_.size(); }
  int port() const { return clients_[node_]->port(); }
  // Tries that got 503 or no response, over this client's life.
  int64_t retries() const { return retries_; }
  // The first few of those, each as "path on port -> answer", for failure messages.
  const std::vector<std::string>& retried_answers() const { return retried_answers_; }

 private:
  std::vector<std::unique_ptr<HttpClient>> clients_;
  size_t node_ = 0;
  int64_t retries_ = 0;
  std::vector<std::string> retried_answers_;
};

// True for the answers SPEC calls "outcome unknown": 503, or no response at all.
inline bool OutcomeUnknown(const HttpResponse& r) { return r.status == 0 || r.status == 503; }

}  // namespace line::testing
