#include "testing/simulated_worker.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "testing/http_client.h"

namespace line::testing {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

SimulatedWorker::SimulatedWorker(int port, SimulatedWorkerOptions options)
    : options_(std::move(options)) {
  thread_ = std::thread([this, port] { Run(port); });
}

SimulatedWorker::~SimulatedWorker() { Stop(); }

void SimulatedWorker::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SimulatedWorker::Hold(const std::string& alloc_id) {
  std::lock_guard lock(mu_);
  held_.insert(alloc_id);
}

std::vector<std::pair<std::string, std::string>> SimulatedWorker::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

std::vector<std::string> SimulatedWorker::completed() const {
  std::lock_guard lock(mu_);
  return completed_;
}

std::vector<std::string> SimulatedWorker::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

void SimulatedWorker::Run(int port) {
  HttpClient client("127.0.0.1", port);
  int64_t received_count = 0;
  Clock::time_point next_heartbeat = Clock::now();
  json::array datasets(options_.datasets.begin(), options_.datasets.end());

  // Returns the JSON object of a 200 answer; records anything else.
  auto call = [&](std::string_view path, const json::value& request) -> json::object {
    HttpResponse r = client.Post(path, request);
    if (r.status == 0) {
      ++transport_failures_;
      return {};
    }
    json::value v = r.Json();
    if (r.status != 200 || !v.is_object()) {
      std::lock_guard lock(mu_);
      errors_.push_back(std::string(path) + " " + json::serialize(request) + " -> " + r.Describe());
      return {};
    }
    return std::move(v.as_object());
  };

  while (!stop_) {
    if (Clock::now() >= next_heartbeat) {
      json::array held;
      {
        std::lock_guard lock(mu_);
        held = json::array(held_.begin(), held_.end());
      }
      json::object beat = call("/SendHeartbeat", {{"pool_id", options_.pool_id},
                                                  {"worker_id", options_.worker_id},
                                                  {"allocs", held},
                                                  {"datasets", datasets}});
      if (const json::value* unknown = beat.if_contains("unknown_allocs");
          unknown != nullptr && unknown->is_array()) {
        std::lock_guard lock(mu_);
        for (const json::value& id : unknown->as_array()) {
          if (id.is_string()) held_.erase(std::string(id.as_string()));
        }
      }
      next_heartbeat = Clock::now() + options_.heartbeat_interval;
    }
    if (!options_.receive) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    json::object batch =
        call("/ReceiveAllocs", {{"pool_id", options_.pool_id},
                                {"worker_id", options_.worker_id},
                                {"max_number_of_messages", 100},
                                {"wait_time_seconds", options_.wait_time_seconds}});
    const json::value* allocs = batch.if_contains("allocs");
    if (allocs == nullptr || !allocs->is_array()) {
      // No answer (server down) or an error already recorded: do not spin on it.
      if (batch.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (const json::value& item : allocs->as_array()) {
      if (!item.is_object()) continue;
      const json::object& alloc = item.as_object();
      std::string alloc_id = alloc.contains("alloc_id") && alloc.at("alloc_id").is_string()
                                 ? std::string(alloc.at("alloc_id").as_string())
                                 : "";
      std::string eval_id = alloc.contains("eval_id") && alloc.at("eval_id").is_string()
                                ? std::string(alloc.at("eval_id").as_string())
                                : "";
      {
        std::lock_guard lock(mu_);
        received_.emplace_back(alloc_id, eval_id);
      }
      ++received_count;
      if (options_.hold_every > 0 && received_count % options_.hold_every == 0) {
        Hold(alloc_id);
        continue;
      }
      HttpResponse r = client.Post("/CompleteAlloc", json::value{{"pool_id", options_.pool_id},
                                                                 {"alloc_id", alloc_id},
                                                                 {"worker_id", options_.worker_id},
                                                                 {"exit_code", 0},
                                                                 {"result", {{"eval", eval_id}}}});
      std::lock_guard lock(mu_);
      if (r.status == 200) {
        completed_.push_back(eval_id);
      } else if (r.status == 0) {
        ++transport_failures_;
      } else {
        errors_.push_back("/CompleteAlloc " + alloc_id + " -> " + r.Describe());
      }
    }
  }
}

}  // namespace line::testing
