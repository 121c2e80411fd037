#include "testing/cluster_worker.h"

#include <algorithm>
#include <boost/json.hpp>
#include <random>

#include "testing/failover_client.h"

namespace line::testing {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// How long one call may keep failing over before the worker records it as unanswered. Longer
// than any outage the tests cause (a PostgreSQL restart plus lined's reconnect backoff).
constexpr std::chrono::seconds kCallDeadline(60);

std::string StrOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

int64_t IntOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return -1;
}

json::object ObjectOf(const HttpResponse& r) {
  json::value v = r.Json();
  return v.is_object() ? std::move(v.as_object()) : json::object{};
}

}  // namespace

ClusterWorker::ClusterWorker(ClusterWorkerOptions options) : options_(std::move(options)) {
  report_.received_by_node.assign(options_.ports.size(), 0);
  runner_ = std::thread([this] { RunRunner(); });
  receiver_ = std::thread([this] { RunReceiver(); });
}

ClusterWorker::~ClusterWorker() { Stop(); }

void ClusterWorker::RequestStop() {
  stop_ = true;
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

void ClusterWorker::Stop() {
  RequestStop();
  if (runner_.joinable()) runner_.join();
  if (receiver_.joinable()) receiver_.join();
}

bool ClusterWorker::registered() const {
  std::lock_guard lock(mu_);
  return !worker_id_.empty();
}

std::string ClusterWorker::worker_id() const {
  std::lock_guard lock(mu_);
  return worker_id_;
}

size_t ClusterWorker::completed_count() const {
  std::lock_guard lock(mu_);
  return report_.completed.size();
}

ClusterWorkerReport ClusterWorker::report() const {
  std::lock_guard lock(mu_);
  return report_;
}

bool ClusterWorker::WaitForRegistration() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stop_ || (!worker_id_.empty() && !reregister_); });
  return !stop_;
}

// Registers (again), heartbeats, and completes what has finished running.
void ClusterWorker::RunRunner() {
  FailoverClient client(options_.ports, options_.home);
  json::array datasets(options_.datasets.begin(), options_.datasets.end());
  auto record_error = [&](std::string error) {
    std::lock_guard lock(mu_);
    report_.errors.push_back(std::move(error));
  };

  auto register_worker = [&]() -> bool {
    json::object request = {{"pool_id", options_.pool_id}, {"capacity", options_.capacity}};
    HttpResponse r = client.Post("/RegisterWorker", request, Clock::now() + kCallDeadline, &stop_);
    std::string id = StrOf(ObjectOf(r), "worker_id");
    if (r.status != 200 || id.empty()) {
      if (!stop_)
        record_error("/RegisterWorker " + json::serialize(request) + " -> " + r.Describe());
      return false;
    }
    std::lock_guard lock(mu_);
    // The old registration is gone, and its allocs ended with it: they no longer hold capacity.
    for (auto& [alloc_id, run] : running_) {
      if (run.counted && run.worker_id != id) {
        run.counted = false;
        running_size_ -= run.size;
      }
    }
    worker_id_ = id;
    reregister_ = false;
    report_.worker_ids.push_back(id);
    cv_.notify_all();
    return true;
  };

  auto complete = [&](const std::string& alloc_id, const Running& run) {
    int64_t retries_before = client.retries();
    json::object request = {{"pool_id", options_.pool_id},
                            {"alloc_id", alloc_id},
                            {"worker_id", run.worker_id},
                            {"exit_code", 0},
                            {"result", {{"eval", run.eval_id}}}};
    HttpResponse r = client.Post("/CompleteAlloc", request, Clock::now() + kCallDeadline);
    bool retried = client.retries() > retries_before;
    if (r.status == 200) {
      std::lock_guard lock(mu_);
      report_.completed.push_back(run.eval_id);
      completed_allocs_.insert(alloc_id);
      return;
    }
    if (r.status == 409 && r.Code() == "AllocAlreadyEnded") {
      HttpResponse d = client.Post(
          "/DescribeAlloc", json::value{{"pool_id", options_.pool_id}, {"alloc_id", alloc_id}},
          Clock::now() + kCallDeadline);
      std::string state = StrOf(ObjectOf(d), "state");
      std::lock_guard lock(mu_);
      if (state == "completed" && retried) {
        report_.completed.push_back(run.eval_id);
        ++report_.completions_confirmed_after_retry;
      } else if (state == "completed") {
        report_.errors.push_back("/CompleteAlloc " + alloc_id +
                                 " answered AllocAlreadyEnded on its first try, yet the alloc is "
                                 "completed: " +
                                 d.Describe());
      } else {
        report_.ended_otherwise.push_back(alloc_id + ": " + (state.empty() ? d.Describe() : state));
      }
      return;
    }
    record_error("/CompleteAlloc " + json::serialize(request) + " -> " + r.Describe());
  };

  if (!register_worker()) return;
  Clock::time_point next_heartbeat = Clock::now();
  while (!stop_) {
    bool reregister;
    {
      std::lock_guard lock(mu_);
      reregister = reregister_;
    }
    if (reregister && !register_worker()) return;

    if (Clock::now() >= next_heartbeat) {
      json::array held;
      std::string id;
      {
        std::lock_guard lock(mu_);
        id = worker_id_;
        for (const auto& [alloc_id, run] : running_) {
          if (run.worker_id == id) held.push_back(json::value(alloc_id));
        }
      }
      json::object request = {{"pool_id", options_.pool_id},
                              {"worker_id", id},
                              {"allocs", held},
                              {"datasets", datasets}};
      HttpResponse r =
          client.Post("/SendHeartbeat", request, Clock::now() + std::chrono::seconds(10), &stop_);
      if (r.status == 404 && r.Code() == "WorkerNotFound") {
        if (!register_worker()) return;
        continue;  // heartbeat the new registration at once
      }
      if (r.status != 200 && !OutcomeUnknown(r)) {
        record_error("/SendHeartbeat " + json::serialize(request) + " -> " + r.Describe());
      }
      next_heartbeat = Clock::now() + options_.heartbeat_interval;
    }

    std::vector<std::pair<std::string, Running>> finished;
    Clock::time_point wake = next_heartbeat;
    {
      std::lock_guard lock(mu_);
      Clock::time_point now = Clock::now();
      for (auto it = running_.begin(); it != running_.end();) {
        if (it->second.finish <= now) {
          if (it->second.counted) running_size_ -= it->second.size;
          finished.emplace_back(it->first, std::move(it->second));
          it = running_.erase(it);
        } else {
          wake = std::min(wake, it->second.finish);
          ++it;
        }
      }
    }
    for (const auto& [alloc_id, run] : finished) complete(alloc_id, run);
    if (!finished.empty()) continue;  // time has passed: look again before waiting

    std::unique_lock lock(mu_);
    cv_.wait_until(lock, wake, [&] {
      if (stop_ || reregister_) return true;
      for (const auto& [alloc_id, run] : running_) {
        if (run.finish < wake) return true;  // received meanwhile, finishes sooner
      }
      return false;
    });
  }
  std::lock_guard lock(mu_);
  report_.retries += client.retries();
  report_.retried_answers.insert(report_.retried_answers.end(), client.retried_answers().begin(),
                                 client.retried_answers().end());
}

// Long-polls ReceiveAllocs and hands what arrives to the runner.
void ClusterWorker::RunReceiver() {
  FailoverClient client(options_.ports, options_.home);
  std::mt19937 random(options_.seed);
  std::uniform_int_distribution<int64_t> run_ms(options_.min_run.count(), options_.max_run.count());

  while (WaitForRegistration()) {
    std::string id = worker_id();
    json::object request = {{"pool_id", options_.pool_id},
                            {"worker_id", id},
                            {"max_number_of_messages", 100},
                            {"wait_time_seconds", options_.wait_time_seconds}};
    HttpResponse r = client.Post("/ReceiveAllocs", request, Clock::now() + kCallDeadline, &stop_);
    if (stop_) break;
    if (r.status == 404 && r.Code() == "WorkerNotFound") {
      std::lock_guard lock(mu_);
      if (worker_id_ == id) reregister_ = true;  // the runner registers again
      cv_.notify_all();
      continue;
    }
    json::object answer = ObjectOf(r);
    const json::value* allocs = answer.if_contains("allocs");
    if (r.status != 200 || allocs == nullptr || !allocs->is_array()) {
      std::lock_guard lock(mu_);
      report_.errors.push_back("/ReceiveAllocs " + json::serialize(request) + " -> " +
                               r.Describe());
      continue;
    }
    std::lock_guard lock(mu_);
    for (const json::value& item : allocs->as_array()) {
      json::object alloc = item.is_object() ? item.as_object() : json::object{};
      std::string alloc_id = StrOf(alloc, "alloc_id");
      if (alloc_id.empty() || StrOf(alloc, "worker_id") != id ||
          StrOf(alloc, "pool_id") != options_.pool_id || IntOf(alloc, "size") < 1) {
        report_.errors.push_back("/ReceiveAllocs for worker " + id + " delivered " +
                                 json::serialize(item));
        continue;
      }
      Clock::time_point now = Clock::now();
      if (auto first = first_delivered_.find(alloc_id); first != first_delivered_.end()) {
        auto after =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - first->second.first);
        std::string state = completed_allocs_.count(alloc_id) > 0 ? "its completion answered 200"
                            : running_.count(alloc_id) > 0        ? "running"
                                                                  : "being completed";
        std::string what = alloc_id + " after " + std::to_string(after.count()) + " ms (port " +
                           std::to_string(first->second.second) + ", then port " +
                           std::to_string(client.port()) + "), " + state;
        report_.redeliveries.push_back(what);
        // Some slack for the clocks of two processes; an ack renews the timeout, so later
        // redeliveries of an acknowledged alloc are not caught here.
        if (after < options_.visibility_timeout - std::chrono::milliseconds(500)) {
          report_.errors.push_back("/ReceiveAllocs delivered alloc " + what +
                                   ", before the visibility timeout");
        }
        continue;
      }
      first_delivered_.emplace(alloc_id, std::make_pair(now, client.port()));
      Running run;
      run.eval_id = StrOf(alloc, "eval_id");
      run.worker_id = id;
      run.size = IntOf(alloc, "size");
      run.finish = now + std::chrono::milliseconds(run_ms(random));
      report_.received.emplace_back(alloc_id, run.eval_id);
      ++report_.received_by_node[client.node()];
      running_size_ += run.size;
      report_.max_running = std::max(report_.max_running, running_size_);
      if (running_size_ > options_.capacity) {
        report_.capacity_violations.push_back(
            "worker " + id + " of capacity " + std::to_string(options_.capacity) + " runs " +
            std::to_string(running_size_) + " units after receiving alloc " + alloc_id +
            " of size " + std::to_string(run.size) + " from port " + std::to_string(client.port()));
      }
      running_.emplace(alloc_id, std::move(run));
    }
    cv_.notify_all();
  }
  std::lock_guard lock(mu_);
  report_.retries += client.retries();
  report_.retried_answers.insert(report_.retried_answers.end(), client.retried_answers().begin(),
                                 client.retried_answers().end());
}

}  // namespace line::testing
