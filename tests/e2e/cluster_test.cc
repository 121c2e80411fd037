// Several lined nodes on one PostgreSQL schema form one scheduler (issue 4, "many nodes"):
// any node serves any call, one node at a time schedules a pool (DescribePool.owner names it),
// a long-poll on any node wakes for an alloc committed on any node, another node takes a pool
// over when its owner dies, and the cluster recovers from a PostgreSQL restart without losing
// anything it acknowledged.
//
// Workers and submitters are threads of this process speaking HTTP (testing/cluster_worker.h):
// they spread over the nodes and, like real clients, send a request again to the next node
// when its outcome is unknown (503 or no answer). Needs LINE_TEST_PG (`make test` starts a
// throwaway server); the restart test starts a private server of its own.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "testing/cluster_worker.h"
#include "testing/e2e.h"
#include "testing/failover_client.h"
#include "testing/test_postgres.h"

namespace line::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

// What the submitters were told: every acknowledged call with the ids it answered.
struct Ledger {
  struct Call {
    std::string path;
    json::object request;
    std::vector<std::string> eval_ids;
  };
  std::mutex mu;
  std::vector<Call> calls;                            // guarded by mu
  std::map<std::string, std::string> eval_id_by_key;  // guarded by mu
  std::set<std::string> eval_ids;                     // guarded by mu
  std::vector<std::string> problems;                  // guarded by mu
  std::vector<std::string> retried;     // answers with unknown outcome (first few); guarded by mu
  std::atomic<size_t> acknowledged{0};  // evals
  std::atomic<int> next_number{0};      // numbers evals for their keys

  std::set<std::string> EvalIds() {
    std::lock_guard lock(mu);
    return eval_ids;
  }
  std::vector<std::string> Problems() {
    std::lock_guard lock(mu);
    return problems;
  }
  std::vector<std::string> Retried() {
    std::lock_guard lock(mu);
    return retried;
  }
};

// One eval numbered `n`: its key is unique to the test, sizes 1-3, datasets d0-d6.
json::object EvalNumber(int n) {
  return {{"dataset_id", "d" + std::to_string(n % 7)},
          {"size", 1 + n % 3},
          {"payload", {{"n", n}}},
          {"idempotency_key", "eval-" + std::to_string(n)}};
}

// Submits evals with idempotency keys, each request to the next node in turn, and sends a
// request again (to the next node) while its outcome is unknown. One per thread.
class Submitter {
 public:
  Submitter(const std::vector<int>& ports, std::string pool_id, size_t first_node, Ledger* ledger)
      : client_(ports, first_node),
        nodes_(ports.size()),
        next_node_(first_node),
        pool_id_(std::move(pool_id)),
        ledger_(ledger) {}

  // ScheduleEvals of the evals numbered [first, first + count).
  bool SubmitBatch(int first, int count) {
    json::array evals;
    for (int n = first; n < first + count; ++n) evals.push_back(EvalNumber(n));
    return Submit("/ScheduleEvals", {{"pool_id", pool_id_}, {"evals", evals}}, count);
  }
  bool SubmitOne(int n) {
    json::object request = EvalNumber(n);
    request["pool_id"] = pool_id_;
    Clock::time_point sent_at = Clock::now();
    bool acknowledged = Submit("/ScheduleEval", request, 1);
    single_time_ += Since(sent_at);
    ++singles_;
    return acknowledged;
  }
  int64_t retries() const { return client_.retries(); }
  // The mean time a single ScheduleEval took to be acknowledged.
  milliseconds MeanSingleLatency() const {
    return singles_ == 0 ? milliseconds(0) : single_time_ / singles_;
  }

 private:
  bool Submit(const std::string& path, const json::object& request, int count) {
    client_.UseNode(next_node_++ % nodes_);
    size_t retried_before = client_.retried_answers().size();
    HttpResponse r = client_.Post(path, request, Clock::now() + seconds(60));
    if (client_.retried_answers().size() > retried_before) {
      std::lock_guard lock(ledger_->mu);
      ledger_->retried.insert(ledger_->retried.end(),
                              client_.retried_answers().begin() + retried_before,
                              client_.retried_answers().end());
    }
    json::value answer = r.Json();
    std::vector<std::string> ids;
    if (r.status == 200 && answer.is_object()) {
      const json::object& o = answer.as_object();
      if (count == 1 && o.contains("eval_id") && o.at("eval_id").is_string()) {
        ids.emplace_back(o.at("eval_id").as_string());
      } else if (o.contains("eval_ids") && o.at("eval_ids").is_array()) {
        for (const json::value& id : o.at("eval_ids").as_array()) {
          if (id.is_string()) ids.emplace_back(id.as_string());
        }
      }
    }
    std::lock_guard lock(ledger_->mu);
    if (ids.size() != static_cast<size_t>(count)) {
      ledger_->problems.push_back("POST " + path + " (" + std::to_string(count) +
                                  " evals) on port " + std::to_string(client_.port()) + " -> " +
                                  r.Describe());
      return false;
    }
    const json::array* evals =
        request.contains("evals") ? &request.at("evals").as_array() : nullptr;
    for (int i = 0; i < count; ++i) {
      std::string key(
          (evals != nullptr ? (*evals)[i].as_object() : request).at("idempotency_key").as_string());
      auto [it, fresh] = ledger_->eval_id_by_key.emplace(key, ids[i]);
      if (!fresh && it->second != ids[i]) {
        ledger_->problems.push_back("key " + key + " answered " + it->second + " and " + ids[i]);
      }
      if (!ledger_->eval_ids.insert(ids[i]).second) {
        ledger_->problems.push_back("eval id " + ids[i] + " answered for a second key " + key);
      }
    }
    ledger_->calls.push_back({path, request, ids});
    ledger_->acknowledged += ids.size();
    return true;
  }

  FailoverClient client_;
  milliseconds single_time_{0};
  int64_t singles_ = 0;
  size_t nodes_;
  size_t next_node_;
  std::string pool_id_;
  Ledger* ledger_;
};

// Keeps submitting until stopped, on two threads (batches of `batch` evals, and single evals),
// while fewer than `max_backlog` acknowledged evals are not completed yet (`completed` counts
// those): the load is steady, and the work left when it stops is bounded.
class Load {
 public:
  Load(const std::vector<int>& ports, const std::string& pool_id, int batch, Ledger* ledger,
       std::function<size_t()> completed, size_t max_backlog) {
    auto wait_for_room = [=, this] {
      while (!stop_ && ledger->acknowledged >= completed() + max_backlog) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      return !stop_;
    };
    threads_.emplace_back([=, this] {
      Submitter submitter(ports, pool_id, 0, ledger);
      while (wait_for_room()) {
        if (!submitter.SubmitBatch(ledger->next_number.fetch_add(batch), batch)) break;
      }
      retries_ += submitter.retries();
    });
    threads_.emplace_back([=, this] {
      Submitter submitter(ports, pool_id, 1, ledger);
      while (wait_for_room()) {
        if (!submitter.SubmitOne(ledger->next_number.fetch_add(1))) break;
      }
      retries_ += submitter.retries();
    });
  }
  ~Load() { Stop(); }
  // Lets the calls in flight finish (they are retried until answered), then joins.
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int64_t retries() const { return retries_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> retries_{0};
  std::vector<std::thread> threads_;
};

// Prints, every few seconds until destroyed, how far the work is and the pool's counters as
// some node sees them: where the time of a slow run goes shows in the test's output.
class Progress {
 public:
  Progress(const std::vector<int>& ports, const std::string& pool_id, Ledger* ledger,
           std::function<size_t()> completed) {
    thread_ = std::thread([=, this] {
      FailoverClient client(ports);
      Clock::time_point start = Clock::now();
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, seconds(5), [&] { return stop_; })) {
        HttpResponse pool = client.Post("/DescribePool", json::value{{"pool_id", pool_id}},
                                        Clock::now() + seconds(2));
        json::value v = pool.Json();
        std::string counters;
        for (const char* key : {"pending_evals", "live_allocs", "free", "capacity", "owner"}) {
          if (v.is_object() && v.as_object().contains(key)) {
            counters += std::string(" ") + key + "=" + json::serialize(v.as_object().at(key));
          }
        }
        std::cerr << "cluster test: progress at " << Since(start).count()
                  << " ms: " << ledger->acknowledged << " acknowledged, " << completed()
                  << " completed;"
                  << (counters.empty() ? " DescribePool -> " + pool.Describe() : counters) << "\n";
      }
    });
  }
  ~Progress() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

class ClusterTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& w : workers_) w->RequestStop();
    workers_.clear();
    if (HasFailure()) {
      // The logs go with the nodes' temporary folders; LINE_TEST_KEEP_LOGS=DIR keeps copies.
      const char* keep = std::getenv("LINE_TEST_KEEP_LOGS");
      for (size_t i = 0; keep != nullptr && *keep != '\0' && i < nodes_.size(); ++i) {
        std::filesystem::path to =
            std::filesystem::path(keep) /
            (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
             ".node" + std::to_string(i) + ".log");
        std::error_code ec;
        std::filesystem::create_directories(to.parent_path(), ec);
        std::filesystem::copy_file(nodes_[i]->log_path(), to,
                                   std::filesystem::copy_options::overwrite_existing, ec);
        std::cerr << "lined node " << i << " log kept at " << to << (ec ? " (failed)" : "") << "\n";
      }
      for (size_t i = 0; i < nodes_.size(); ++i) {
        std::cerr << "---- lined node " << i << " (" << Listen(i) << ", log "
                  << nodes_[i]->log_path() << ") ----\n"
                  << nodes_[i]->LogTail(6000) << "\n---- end of node " << i << " ----\n";
      }
    }
    clients_.clear();
    nodes_.clear();  // before the schema and the server they use
    schema_.reset();
    private_pg_.reset();
  }

  // A schema of the test's own on the shared test server (LINE_TEST_PG).
  bool MakeSchemaOnTestServer() {
    schema_ = std::make_unique<ScopedPgSchema>(TestPgServerUrl());
    EXPECT_TRUE(schema_->ok()) << schema_->error();
    return schema_->ok();
  }

  // A private PostgreSQL (the test restarts it) with a schema on it.
  bool MakePrivateServer() {
    private_pg_ = std::make_unique<PrivatePostgres>();
    Status started = private_pg_->Start();
    EXPECT_TRUE(started.ok()) << started.message();
    if (!started.ok()) return false;
    schema_ = std::make_unique<ScopedPgSchema>(private_pg_->url());
    EXPECT_TRUE(schema_->ok()) << schema_->error();
    return schema_->ok();
  }

  // Starts `count` lined on the schema: one cluster.
  void StartNodes(int count, std::map<std::string, std::string> env = {}) {
    for (int i = 0; i < count; ++i) {
      LinedOptions options;
      options.env = env;
      options.extra_args = {"--store", schema_->url()};  // after the harness's sqlite --store
      nodes_.push_back(std::make_unique<LinedProcess>(options));
      Status started = nodes_.back()->Start();
      ASSERT_TRUE(started.ok()) << "node " << i << ": " << started.message();
      clients_.push_back(std::make_unique<HttpClient>("127.0.0.1", nodes_.back()->port()));
    }
  }

  std::vector<int> Ports() const {
    std::vector<int> ports;
    for (const auto& node : nodes_) ports.push_back(node->port());
    return ports;
  }
  // Exactly the --listen value the harness gave node `i`.
  std::string Listen(size_t i) const { return "127.0.0.1:" + std::to_string(nodes_[i]->port()); }
  json::object CallOn(size_t node, std::string_view path, const json::value& request) {
    return CallOk(*clients_[node], path, request);
  }
  // The nodes still running (a test may have killed some), in order.
  std::vector<size_t> LiveNodes() const {
    std::vector<size_t> live;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->running()) live.push_back(i);
    }
    return live;
  }

  // `count` workers of capacities 4-8; worker i talks to node i % nodes first.
  void StartWorkers(const std::string& pool_id, int count,
                    milliseconds visibility_timeout = seconds(10)) {
    for (int i = 0; i < count; ++i) {
      ClusterWorkerOptions options;
      options.pool_id = pool_id;
      options.capacity = 4 + i % 5;
      options.ports = Ports();
      options.home = static_cast<size_t>(i) % nodes_.size();
      options.datasets = {"d" + std::to_string(i % 7)};
      options.seed = static_cast<uint32_t>(i + 1);
      options.heartbeat_interval = seconds(2);
      options.visibility_timeout = visibility_timeout;
      workers_.push_back(std::make_unique<ClusterWorker>(options));
    }
    ASSERT_TRUE(Eventually(
        [&] {
          return std::all_of(workers_.begin(), workers_.end(),
                             [](const auto& w) { return w->registered(); });
        },
        seconds(20)))
        << "not every worker registered";
  }
  void StopWorkers() {
    for (auto& w : workers_) w->RequestStop();
    for (auto& w : workers_) w->Stop();
  }
  size_t CompletedCount() const {
    size_t n = 0;
    for (const auto& w : workers_) n += w->completed_count();
    return n;
  }

  // DescribePool.owner as node `node` answers it; "<...>" when it does not answer it.
  std::string OwnerOn(size_t node, const std::string& pool_id) {
    HttpResponse r = clients_[node]->Post("/DescribePool", json::value{{"pool_id", pool_id}});
    json::value v = r.Json();
    if (r.status != 200 || !v.is_object()) return "<DescribePool -> " + r.Describe() + ">";
    const json::value* owner = v.as_object().if_contains("owner");
    if (owner == nullptr || !owner->is_string()) return "<no string owner in " + r.body + ">";
    return std::string(owner->as_string());
  }

  // Waits until every node of `asked` names the same owner, and it is the listen address of a
  // node of `candidates`; stores that node's index in `*owner`.
  ::testing::AssertionResult WaitForAgreedOwner(const std::string& pool_id,
                                                const std::vector<size_t>& asked,
                                                const std::vector<size_t>& candidates,
                                                milliseconds timeout, size_t* owner) {
    std::string last;
    Clock::time_point deadline = Clock::now() + timeout;
    while (true) {
      std::set<std::string> answers;
      last.clear();
      for (size_t node : asked) {
        std::string answer = OwnerOn(node, pool_id);
        answers.insert(answer);
        last +=
            "node " + std::to_string(node) + " (" + Listen(node) + ") says \"" + answer + "\"; ";
      }
      if (answers.size() == 1) {
        for (size_t c : candidates) {
          if (*answers.begin() == Listen(c)) {
            *owner = c;
            return ::testing::AssertionSuccess() << last;
          }
        }
      }
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    std::string names;
    for (size_t c : candidates) names += Listen(c) + " ";
    return ::testing::AssertionFailure() << "the nodes did not agree on an owner among { " << names
                                         << "} within " << timeout.count() << " ms; last: " << last;
  }

  // Waits until the workers have completed every acknowledged eval. On failure says how far
  // they got, what each worker was doing, and what the pool looks like from every node.
  ::testing::AssertionResult WaitUntilAllCompleted(const std::string& pool_id, Ledger& ledger,
                                                   milliseconds timeout) {
    std::set<std::string> acked = ledger.EvalIds();
    auto covered = [&] {
      std::set<std::string> completed;
      for (const auto& w : workers_) {
        for (const std::string& id : w->report().completed) completed.insert(id);
      }
      return static_cast<size_t>(std::count_if(
          acked.begin(), acked.end(), [&](const auto& id) { return completed.count(id) > 0; }));
    };
    Clock::time_point deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (CompletedCount() >= acked.size() && covered() == acked.size()) {
        return ::testing::AssertionSuccess();
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    ::testing::AssertionResult failure = ::testing::AssertionFailure();
    failure << "after " << timeout.count() << " ms the workers completed " << CompletedCount()
            << " allocs, covering " << covered() << " of the " << acked.size()
            << " acknowledged evals.\nWorkers:\n";
    for (const auto& w : workers_) {
      ClusterWorkerReport r = w->report();
      failure << "  " << w->worker_id() << " (capacity " << w->capacity()
              << "): " << r.worker_ids.size() << " registrations, " << r.received.size()
              << " received, " << r.completed.size() << " completed, " << r.retries << " retries, "
              << r.errors.size() << " errors" << (r.errors.empty() ? "" : ", first: ")
              << (r.errors.empty() ? "" : r.errors.front()) << "\n";
    }
    for (size_t node : LiveNodes()) {
      HttpResponse pool = clients_[node]->Post("/DescribePool", json::value{{"pool_id", pool_id}});
      failure << "DescribePool on node " << node << ": " << pool.Describe() << "\n";
    }
    return failure;
  }

  // Exactly once, from the workers' side and the cluster's: every acknowledged eval was
  // received in one alloc by one worker and completed once, nothing else was received, no
  // worker ran more than its capacity, and every answer was one a correct cluster gives.
  void ExpectEveryEvalRanExactlyOnce(Ledger& ledger) {
    std::set<std::string> acked = ledger.EvalIds();
    for (const std::string& problem : ledger.Problems()) ADD_FAILURE() << problem;
    std::map<std::string, std::set<std::string>> allocs_of_eval;
    std::map<std::string, int> completions;
    std::vector<std::string> redeliveries;
    int64_t confirmed_after_retry = 0;
    bool some_worker_ran_several = false;
    for (const auto& w : workers_) {
      ClusterWorkerReport r = w->report();
      for (const auto& [alloc_id, eval_id] : r.received) allocs_of_eval[eval_id].insert(alloc_id);
      for (const std::string& eval_id : r.completed) ++completions[eval_id];
      redeliveries.insert(redeliveries.end(), r.redeliveries.begin(), r.redeliveries.end());
      confirmed_after_retry += r.completions_confirmed_after_retry;
      some_worker_ran_several |= r.max_running > 3;  // more than the largest eval: concurrency
      EXPECT_LE(r.max_running, w->capacity());
      for (const std::string& v : r.capacity_violations) ADD_FAILURE() << v;
      for (const std::string& e : r.errors)
        ADD_FAILURE() << "worker " << w->worker_id() << ": " << e;
      for (const std::string& e : r.ended_otherwise) {
        ADD_FAILURE() << "worker " << w->worker_id()
                      << ": alloc ended without its completion: " << e;
      }
    }
    std::cerr << "cluster test: " << acked.size() << " evals acknowledged, " << redeliveries.size()
              << " redeliveries" << (redeliveries.empty() ? "" : " (e.g. " + redeliveries[0] + ")")
              << ", " << confirmed_after_retry << " completions confirmed after a retry\n";
    EXPECT_TRUE(some_worker_ran_several) << "no worker ever ran two allocs at once: the "
                                            "capacity check proved nothing";
    size_t reported = 0;
    for (const std::string& eval_id : acked) {
      auto it = allocs_of_eval.find(eval_id);
      if (it == allocs_of_eval.end() || it->second.size() != 1 || completions[eval_id] != 1) {
        if (++reported <= 20) {
          ADD_FAILURE() << "eval " << eval_id << " was received in "
                        << (it == allocs_of_eval.end() ? 0 : it->second.size())
                        << " allocs and completed " << completions[eval_id] << " times";
        }
      }
    }
    EXPECT_EQ(reported, 0u) << "acknowledged evals not run exactly once";
    for (const auto& [eval_id, allocs] : allocs_of_eval) {
      EXPECT_TRUE(acked.count(eval_id)) << "received eval " << eval_id << " nobody acknowledged";
    }
  }

  // The cluster's view once the work is done: every acknowledged eval completed on its first
  // attempt, nothing else exists, no dead letters, every unit of capacity back, on every node.
  void ExpectPoolDrainedAndBalanced(const std::string& pool_id, Ledger& ledger) {
    std::set<std::string> acked = ledger.EvalIds();
    std::vector<size_t> live = LiveNodes();
    ASSERT_FALSE(live.empty());
    HttpClient& first = *clients_[live.front()];
    HttpClient& last = *clients_[live.back()];
    Result<std::vector<json::object>> listed =
        ListAll(last, "/ListEvals", {{"pool_id", pool_id}}, "evals");
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    std::set<std::string> listed_ids;
    size_t wrong = 0;
    for (const json::object& e : *listed) {
      listed_ids.insert(Str(e, "eval_id"));
      if ((Str(e, "state") != "completed" || Int(e, "attempt") != 1 ||
           Arr(e, "history").size() != 1) &&
          ++wrong <= 10) {
        ADD_FAILURE() << "not completed once on its first attempt: " << json::serialize(e);
      }
    }
    EXPECT_EQ(listed_ids, acked) << "ListEvals must list exactly the acknowledged evals";
    EXPECT_EQ(listed->size(), acked.size()) << "an eval is listed twice";

    ASSERT_TRUE(WaitForQuiescence(first, pool_id));
    for (size_t node : live) {
      json::object pool = CallOn(node, "/DescribePool", {{"pool_id", pool_id}});
      EXPECT_EQ(Int(pool, "pending_evals"), 0) << "node " << node << ": " << json::serialize(pool);
      EXPECT_EQ(Int(pool, "live_allocs"), 0) << "node " << node;
      EXPECT_EQ(Int(pool, "dead_letters"), 0) << "node " << node;
      EXPECT_EQ(Int(pool, "free"), Int(pool, "capacity")) << "node " << node;
    }
    Result<std::vector<json::object>> workers =
        ListAll(first, "/ListWorkers", {{"pool_id", pool_id}}, "workers");
    ASSERT_TRUE(workers.ok()) << workers.status().message();
    EXPECT_GE(workers->size(), workers_.size());
    for (const json::object& w : *workers) {
      EXPECT_EQ(Int(w, "free"), Int(w, "capacity")) << json::serialize(w);
    }
    for (const auto& w : workers_) {
      json::object described = CallOn(live.back(), "/DescribeWorker",
                                      {{"pool_id", pool_id}, {"worker_id", w->worker_id()}});
      EXPECT_EQ(Int(described, "free"), w->capacity()) << json::serialize(described);
    }
    EXPECT_TRUE(CheckCapacityInvariant(first, pool_id));
    json::object dead = CallOn(live.front(), "/ListDeadLetters", {{"pool_id", pool_id}});
    EXPECT_TRUE(Arr(dead, "dead_letters").empty()) << json::serialize(dead);
  }

  // Sends every acknowledged call again: each key still names the eval it named, and nothing
  // new is created.
  void ExpectResubmissionsReturnTheSameIds(const std::string& pool_id, Ledger& ledger) {
    std::vector<Ledger::Call> calls;
    {
      std::lock_guard lock(ledger.mu);
      calls = ledger.calls;
    }
    std::vector<size_t> live = LiveNodes();
    ASSERT_FALSE(live.empty());
    size_t turn = 0;
    for (const Ledger::Call& call : calls) {
      json::object answer = CallOn(live[turn++ % live.size()], call.path, call.request);
      std::vector<std::string> ids = call.path == "/ScheduleEval"
                                         ? std::vector<std::string>{Str(answer, "eval_id")}
                                         : Strings(Arr(answer, "eval_ids"));
      EXPECT_EQ(ids, call.eval_ids) << call.path << " " << json::serialize(call.request);
    }
    Result<std::vector<json::object>> listed =
        ListAll(*clients_[live.front()], "/ListEvals", {{"pool_id", pool_id}}, "evals");
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    EXPECT_EQ(listed->size(), ledger.EvalIds().size()) << "a resubmitted key created an eval";
  }

  // Prints how long the test has run, so slow phases show in the output.
  void Mark(const std::string& what) const {
    std::cerr << "cluster test: " << Since(started_).count() << " ms: " << what << "\n";
  }

  Clock::time_point started_ = Clock::now();
  std::unique_ptr<PrivatePostgres> private_pg_;  // only the restart test has one
  std::unique_ptr<ScopedPgSchema> schema_;
  std::vector<std::unique_ptr<LinedProcess>> nodes_;
  std::vector<std::unique_ptr<HttpClient>> clients_;  // one per node, main thread only
  std::vector<std::unique_ptr<ClusterWorker>> workers_;
};

// Issue 4, "Three nodes": 5,000 evals go round-robin to three nodes, 20 workers spread over
// them; every eval is placed and completed exactly once and no worker runs more than its
// capacity at any moment.
TEST_F(ClusterTest, ThreeNodesRunFiveThousandEvalsExactlyOnce) {
  constexpr int kEvals = 5000;
  constexpr int kSingles = 200;
  constexpr int kBatch = 100;
  constexpr int kSingleThreads = 4;  // each waits for its answer before the next
  ASSERT_TRUE(MakeSchemaOnTestServer());
  ASSERT_NO_FATAL_FAILURE(StartNodes(3));
  std::string pool_id = Str(CallOn(0, "/CreatePool", json::object{}), "pool_id");
  ASSERT_NO_FATAL_FAILURE(StartWorkers(pool_id, 20));
  Mark("3 nodes and 20 workers up");

  Clock::time_point start = Clock::now();
  Ledger ledger;
  Progress progress(Ports(), pool_id, &ledger, [&] { return CompletedCount(); });
  std::atomic<int64_t> retries{0};
  std::vector<std::thread> submitters;
  // Two threads send batches of 100 (numbers 0..4799), four send single evals (4800..4999);
  // each request goes to the next node in turn.
  for (int t = 0; t < 2; ++t) {
    submitters.emplace_back([&, t] {
      Submitter submitter(Ports(), pool_id, t, &ledger);
      for (int first; (first = ledger.next_number.fetch_add(kBatch)) < kEvals - kSingles;) {
        if (!submitter.SubmitBatch(first, kBatch)) break;
      }
      retries += submitter.retries();
    });
  }
  for (int t = 0; t < kSingleThreads; ++t) {
    submitters.emplace_back([&, t] {
      Submitter submitter(Ports(), pool_id, t, &ledger);
      for (int n = kEvals - kSingles + t; n < kEvals; n += kSingleThreads) {
        if (!submitter.SubmitOne(n)) break;
      }
      retries += submitter.retries();
      std::lock_guard lock(ledger.mu);
      std::cerr << "cluster test: single ScheduleEvals took "
                << submitter.MeanSingleLatency().count() << " ms on average\n";
    });
  }

  // While the load flows, every node names the same owner, and it is one of the three.
  EXPECT_TRUE(Eventually([&] { return ledger.acknowledged >= 1000; }, seconds(60)))
      << "only " << ledger.acknowledged << " evals acknowledged";
  size_t owner = 0;
  EXPECT_TRUE(WaitForAgreedOwner(pool_id, {0, 1, 2}, {0, 1, 2}, seconds(5), &owner));

  for (std::thread& t : submitters) t.join();
  milliseconds submitted = Since(start);
  ASSERT_EQ(ledger.EvalIds().size(), static_cast<size_t>(kEvals))
      << ledger.Problems().size() << " submissions failed";
  EXPECT_EQ(retries, 0) << "a healthy cluster answered a submission with 503 or not at all, e.g. "
                        << ledger.Retried().front();
  ASSERT_TRUE(WaitUntilAllCompleted(pool_id, ledger, seconds(90)));
  std::cerr << "cluster test: " << kEvals << " evals acknowledged in " << submitted.count()
            << " ms, all completed after " << Since(start).count() << " ms\n";
  StopWorkers();
  Mark("workers stopped");

  ExpectEveryEvalRanExactlyOnce(ledger);
  // Allocs reach the workers of every node, whichever node placed them.
  std::vector<int64_t> by_node(3, 0);
  for (const auto& w : workers_) {
    ClusterWorkerReport r = w->report();
    EXPECT_EQ(r.retries, 0) << "worker " << w->worker_id() << " had to fail over, first after "
                            << r.retried_answers.front();
    EXPECT_EQ(r.worker_ids.size(), 1u) << "worker registered again";
    EXPECT_TRUE(r.redeliveries.empty())
        << "worker " << w->worker_id() << " received an alloc twice: " << r.redeliveries.front();
    for (size_t i = 0; i < 3; ++i) by_node[i] += r.received_by_node[i];
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_GT(by_node[i], 0) << "no alloc delivered by node " << i;
  ExpectPoolDrainedAndBalanced(pool_id, ledger);
  Mark("checked");
}

// Issue 4, "Owner killed": the node that schedules the pool is SIGKILLed under load. Another
// node takes the pool over within 5 s, the workers and clients of the dead node carry on with
// the others, and every acknowledged eval still completes exactly once.
TEST_F(ClusterTest, OwnerKilledUnderLoadIsReplacedWithinFiveSeconds) {
  ASSERT_TRUE(MakeSchemaOnTestServer());
  ASSERT_NO_FATAL_FAILURE(StartNodes(3));
  std::string pool_id = Str(CallOn(0, "/CreatePool", json::object{}), "pool_id");
  ASSERT_NO_FATAL_FAILURE(StartWorkers(pool_id, 9));
  Mark("3 nodes and 9 workers up");

  Ledger ledger;
  Progress progress(Ports(), pool_id, &ledger, [&] { return CompletedCount(); });
  Load load(
      Ports(), pool_id, 50, &ledger, [&] { return CompletedCount(); }, 300);
  ASSERT_TRUE(Eventually([&] { return ledger.acknowledged >= 600 && CompletedCount() >= 100; },
                         seconds(60)))
      << ledger.acknowledged << " acknowledged, " << CompletedCount() << " completed";
  size_t owner = 0;
  ASSERT_TRUE(WaitForAgreedOwner(pool_id, {0, 1, 2}, {0, 1, 2}, seconds(5), &owner));
  std::vector<size_t> survivors;
  Mark("load flowing; owner is node " + std::to_string(owner));
  for (size_t i = 0; i < 3; ++i) {
    if (i != owner) survivors.push_back(i);
  }

  size_t acknowledged_at_kill = ledger.acknowledged;
  Clock::time_point killed_at = Clock::now();
  EXPECT_EQ(nodes_[owner]->Kill(SIGKILL), 128 + SIGKILL);
  size_t successor = owner;
  EXPECT_TRUE(WaitForAgreedOwner(pool_id, survivors, survivors, seconds(5), &successor))
      << "node " << owner << " (" << Listen(owner) << ") was killed " << Since(killed_at).count()
      << " ms ago";
  milliseconds takeover = Since(killed_at);
  EXPECT_LE(takeover, seconds(5));
  std::cerr << "cluster test: node " << successor << " took the pool over from node " << owner
            << " " << takeover.count() << " ms after the kill\n";

  // The surviving nodes keep accepting and placing.
  EXPECT_TRUE(
      Eventually([&] { return ledger.acknowledged >= acknowledged_at_kill + 600; }, seconds(60)))
      << ledger.acknowledged << " acknowledged, " << acknowledged_at_kill << " at the kill";
  Mark("600 more evals acknowledged after the kill");
  load.Stop();
  std::cerr << "cluster test: submitters sent " << load.retries() << " requests again\n";
  ASSERT_TRUE(WaitUntilAllCompleted(pool_id, ledger, seconds(60)));
  StopWorkers();
  Mark("every acknowledged eval completed");

  ExpectEveryEvalRanExactlyOnce(ledger);
  ExpectPoolDrainedAndBalanced(pool_id, ledger);
  ExpectResubmissionsReturnTheSameIds(pool_id, ledger);
  Mark("checked");
}

// Issue 4, "PostgreSQL restarted under load": the server goes down for a few seconds under
// load, cutting every session of every node, and comes back. While it is down the nodes say so
// (503) rather than answer wrongly; once it is back each node answers /healthz 200 within 10 s,
// clients that sent their unknown outcomes again lost nothing and duplicated nothing, and the
// work completes.
TEST_F(ClusterTest, PostgresRestartUnderLoadLosesNothingAcknowledged) {
  constexpr milliseconds kOutage(3000);  // long enough for lined's reconnect backoff to grow
  ASSERT_TRUE(MakePrivateServer());
  // Completions held up by the outage must not count as unacknowledged deliveries.
  ASSERT_NO_FATAL_FAILURE(StartNodes(3, {{"LINE_VISIBILITY_TIMEOUT", "30"}}));
  std::string pool_id = Str(CallOn(0, "/CreatePool", json::object{}), "pool_id");
  std::string probe_pool_id = Str(CallOn(1, "/CreatePool", json::object{}), "pool_id");
  ASSERT_NO_FATAL_FAILURE(StartWorkers(pool_id, 6, seconds(30)));
  Mark("PostgreSQL, 3 nodes and 6 workers up");

  Ledger ledger;
  Progress progress(Ports(), pool_id, &ledger, [&] { return CompletedCount(); });
  Load load(
      Ports(), pool_id, 50, &ledger, [&] { return CompletedCount(); }, 300);
  ASSERT_TRUE(Eventually([&] { return ledger.acknowledged >= 400 && CompletedCount() >= 100; },
                         seconds(60)))
      << ledger.acknowledged << " acknowledged, " << CompletedCount() << " completed";

  Result<std::string> started_before = schema_->QueryValue("SELECT pg_postmaster_start_time()");
  ASSERT_TRUE(started_before.ok()) << started_before.status().message();
  size_t acknowledged_before = ledger.acknowledged;
  Mark("load flowing; halting PostgreSQL");
  Status halted = private_pg_->Halt();
  ASSERT_TRUE(halted.ok()) << halted.message();
  Clock::time_point down_at = Clock::now();
  // Submissions sent into the outage: sent again, node after node, until one acknowledges.
  std::future<int64_t> sent_in_outage = std::async(std::launch::async, [&] {
    Submitter submitter(Ports(), pool_id, 2, &ledger);
    submitter.SubmitBatch(ledger.next_number.fetch_add(20), 20);
    submitter.SubmitOne(ledger.next_number.fetch_add(1));
    return submitter.retries();
  });

  // The outage shows: every node's /healthz turns 503, and a write is refused with 503
  // StoreUnavailable, promptly.
  for (size_t node = 0; node < nodes_.size(); ++node) {
    HttpClient health("127.0.0.1", nodes_[node]->port(), seconds(5));
    EXPECT_TRUE(Eventually([&] { return health.Get("/healthz").status == 503; }, seconds(5)))
        << "node " << node << " still says it is healthy with PostgreSQL down";
  }
  for (size_t node = 0; node < nodes_.size(); ++node) {
    Clock::time_point sent_at = Clock::now();
    HttpResponse refused =
        clients_[node]->Post("/ScheduleEval", json::value{{"pool_id", probe_pool_id}, {"size", 1}});
    EXPECT_EQ(refused.status, 503) << "node " << node << ": " << refused.Describe();
    EXPECT_EQ(refused.Code(), "StoreUnavailable") << "node " << node << ": " << refused.body;
    EXPECT_LT(Since(sent_at), seconds(10)) << "node " << node << ": an outage must answer";
  }
  std::this_thread::sleep_until(down_at + kOutage);

  Status resumed = private_pg_->Resume();
  ASSERT_TRUE(resumed.ok()) << resumed.message();
  Clock::time_point back_at = Clock::now();
  std::cerr << "cluster test: PostgreSQL down for " << (back_at - down_at).count() / 1000000
            << " ms\n";
  Result<std::string> started_after = schema_->QueryValue("SELECT pg_postmaster_start_time()");
  ASSERT_TRUE(started_after.ok()) << started_after.status().message();
  EXPECT_NE(*started_after, *started_before) << "the server did not restart";

  for (size_t node = 0; node < nodes_.size(); ++node) {
    HttpClient health("127.0.0.1", nodes_[node]->port(), seconds(5));
    HttpResponse last;
    bool healthy = Eventually(
        [&] {
          last = health.Get("/healthz");
          return last.status == 200;
        },
        seconds(10) - Since(back_at));
    EXPECT_TRUE(healthy) << "node " << node << " not healthy " << Since(back_at).count()
                         << " ms after PostgreSQL came back; last /healthz: " << last.Describe();
    std::cerr << "cluster test: node " << node << " healthy " << Since(back_at).count()
              << " ms after PostgreSQL came back\n";
  }
  json::object probe_pool = CallOn(2, "/DescribePool", {{"pool_id", probe_pool_id}});
  EXPECT_EQ(Int(probe_pool, "pending_evals"), 0) << "a refused submission created an eval";

  EXPECT_TRUE(
      Eventually([&] { return ledger.acknowledged >= acknowledged_before + 400; }, seconds(60)))
      << ledger.acknowledged << " acknowledged, " << acknowledged_before << " at the outage";
  Mark("400 more evals acknowledged after the outage");
  load.Stop();
  int64_t outage_retries = sent_in_outage.get();
  std::cerr << "cluster test: submitters sent " << load.retries() + outage_retries
            << " requests again\n";
  EXPECT_GT(outage_retries, 0) << "the submissions sent into the outage never saw it";
  ASSERT_TRUE(WaitUntilAllCompleted(pool_id, ledger, seconds(60)));
  StopWorkers();
  Mark("every acknowledged eval completed");

  ExpectEveryEvalRanExactlyOnce(ledger);
  ExpectPoolDrainedAndBalanced(pool_id, ledger);
  ExpectResubmissionsReturnTheSameIds(pool_id, ledger);
  Mark("checked");
}

// A long-poll parked on one node returns as soon as an alloc for its worker commits, though
// the eval was submitted on another node and placed by a third (or by either of them).
TEST_F(ClusterTest, LongPollOnOneNodeWakesForAnEvalSubmittedOnAnother) {
  ASSERT_TRUE(MakeSchemaOnTestServer());
  // The worker only long-polls, it never heartbeats: it must outlive every round even when
  // each of them waits out its 20 s.
  ASSERT_NO_FATAL_FAILURE(StartNodes(3, {{"LINE_WORKER_TTL", "300"}}));
  std::string pool_id = Str(CallOn(0, "/CreatePool", json::object{}), "pool_id");
  std::string worker_id =
      Str(CallOn(0, "/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 4}}), "worker_id");

  // One eval through the pool first, so that some node has taken it over.
  CallOn(0, "/ScheduleEval", {{"pool_id", pool_id}, {"size", 1}});
  json::object first =
      CallOn(0, "/ReceiveAllocs",
             {{"pool_id", pool_id}, {"worker_id", worker_id}, {"wait_time_seconds", 20}});
  ASSERT_EQ(Arr(first, "allocs").size(), 1u) << json::serialize(first);
  CallOn(0, "/CompleteAlloc",
         {{"pool_id", pool_id}, {"alloc_id", Str(Obj(Arr(first, "allocs")[0]), "alloc_id")}});
  size_t owner = 0;
  bool owner_known = WaitForAgreedOwner(pool_id, {0, 1, 2}, {0, 1, 2}, seconds(5), &owner);
  EXPECT_TRUE(owner_known) << "DescribePool.owner";
  size_t a = (owner + 1) % 3;
  size_t b = (owner + 2) % 3;

  // (parked on, submitted on): neither is the owner; the owner submits; the owner is parked on.
  for (auto [parked, submit] :
       std::vector<std::pair<size_t, size_t>>{{a, b}, {b, owner}, {owner, a}}) {
    SCOPED_TRACE("long-poll on node " + std::to_string(parked) + ", eval submitted on node " +
                 std::to_string(submit) + ", owner node " + std::to_string(owner));
    HttpClient worker_client("127.0.0.1", nodes_[parked]->port());
    Clock::time_point polled_at = Clock::now();
    std::future<json::object> poll = std::async(std::launch::async, [&] {
      return CallOk(worker_client, "/ReceiveAllocs",
                    {{"pool_id", pool_id},
                     {"worker_id", worker_id},
                     {"max_number_of_messages", 10},
                     {"wait_time_seconds", 20}});
    });
    // Give the long-poll time to park; were it late, the alloc would already be queued and the
    // call would return at once, so this cannot flake. The check below makes sure it parked.
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_EQ(poll.wait_for(milliseconds(0)), std::future_status::timeout)
        << "the long-poll returned before anything was submitted: " << json::serialize(poll.get());
    Clock::time_point submitted_at = Clock::now();
    std::string eval_id =
        Str(CallOn(submit, "/ScheduleEval", {{"pool_id", pool_id}, {"size", 2}}), "eval_id");
    ASSERT_EQ(poll.wait_for(seconds(25)), std::future_status::ready);
    json::object received = poll.get();
    milliseconds woke = Since(submitted_at);
    EXPECT_LT(woke, seconds(2)) << "the long-poll (parked "
                                << (submitted_at - polled_at).count() / 1000000
                                << " ms before) did not wake on a commit elsewhere";
    const json::array& allocs = Arr(received, "allocs");
    ASSERT_EQ(allocs.size(), 1u) << json::serialize(received);
    EXPECT_EQ(Str(Obj(allocs[0]), "eval_id"), eval_id);
    CallOn(submit, "/CompleteAlloc",
           {{"pool_id", pool_id}, {"alloc_id", Str(Obj(allocs[0]), "alloc_id")}});
    std::cerr << "cluster test: long-poll on node " << parked << " woke " << woke.count()
              << " ms after the submission on node " << submit << "\n";
  }
}

// Expiry runs on one node of the cluster (the expiry lease holder), not once per node: a
// worker's death is acted on, and logged, by exactly one node. When that node dies another
// takes the lease and the next death is expired too.
TEST_F(ClusterTest, ExpiryRunsOnceAcrossTheClusterAndMovesWhenItsNodeDies) {
  ASSERT_TRUE(MakeSchemaOnTestServer());
  ASSERT_NO_FATAL_FAILURE(StartNodes(3, {{"LINE_WORKER_TTL", "2"}}));
  auto log_of = [&](size_t node) {
    std::ifstream in(nodes_[node]->log_path());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  auto holders = [&] {
    std::vector<size_t> found;
    for (size_t node : LiveNodes()) {
      if (count(log_of(node), "this node runs expiry now") > 0) found.push_back(node);
    }
    return found;
  };
  std::vector<size_t> first_holders = holders();
  ASSERT_EQ(first_holders.size(), 1u) << "one expiry lease holder among three nodes";
  const size_t holder = first_holders[0];

  std::string pool_id = Str(CallOn(0, "/CreatePool", {{"max_retry", 5}}), "pool_id");
  // A worker that never heartbeats, and an eval that can only go to it.
  auto expire_one = [&](size_t register_on, int64_t expected_attempt) {
    std::string worker_id = Str(
        CallOn(register_on, "/RegisterWorker", {{"pool_id", pool_id}, {"capacity", 1}}),
        "worker_id");
    const std::string line = "worker " + worker_id + " of pool " + pool_id + " expired";
    ASSERT_TRUE(Eventually(
        [&] {
          size_t logged = 0;
          for (size_t node = 0; node < nodes_.size(); ++node) logged += count(log_of(node), line);
          return logged > 0;
        },
        seconds(15)))
        << "no node expired worker " << worker_id;
    // Give a second sweeper, were there one, every chance to act too (4 sweep intervals).
    std::this_thread::sleep_for(milliseconds(1000));
    size_t logged = 0;
    for (size_t node = 0; node < nodes_.size(); ++node) logged += count(log_of(node), line);
    EXPECT_EQ(logged, 1u) << "worker " << worker_id << " was expired by more than one node";
    json::object evals = CallOn(LiveNodes()[0], "/ListEvals", {{"pool_id", pool_id}});
    ASSERT_EQ(Arr(evals, "evals").size(), 1u);
    EXPECT_EQ(Int(Obj(Arr(evals, "evals")[0]), "attempt"), expected_attempt)
        << "the eval's alloc ended once: " << json::serialize(evals);
  };
  CallOn(1, "/ScheduleEval", {{"pool_id", pool_id}, {"size", 1}});
  ASSERT_NO_FATAL_FAILURE(expire_one(2, 2));

  nodes_[holder]->Kill(SIGKILL);
  std::vector<size_t> survivors = LiveNodes();
  ASSERT_TRUE(Eventually([&] { return holders().size() == 1; }, seconds(5)))
      << "no surviving node took the expiry lease within 5 s";
  ASSERT_NO_FATAL_FAILURE(expire_one(survivors[0], 3));
}

}  // namespace
}  // namespace line::testing
