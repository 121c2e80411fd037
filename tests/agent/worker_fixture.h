// A fixture for line-worker end-to-end tests: one lined per test with short TTLs (2 s), a
// scratch directory for the files commands write, and line-worker processes started on
// demand. A failing test prints every worker's log.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/worker_process.h"
#include "testing/e2e.h"

namespace line::testing {

class WorkerTest : public LinedTest {
 protected:
  LinedOptions Options() override {
    LinedOptions options;
    options.env = {{"LINE_WORKER_TTL", "2"}, {"LINE_ALLOC_TTL", "2"}};
    return options;
  }

  void TearDown() override {
    for (size_t i = 0; i < workers_.size(); ++i) {
      if (HasFailure()) {
        std::string log = workers_[i]->Log();
        if (log.size() > 6000) log = "...\n" + log.substr(log.size() - 6000);
        std::cerr << "---- line-worker " << i << " log\n" << log << "---- end of log\n";
      }
    }
    workers_.clear();  // SIGKILLs what still runs, before lined goes
    LinedTest::TearDown();
  }

  std::string server() const { return "http://127.0.0.1:" + std::to_string(lined_->port()); }
  // A path in the test's scratch directory.
  std::string Path(const std::string& name) const { return (scratch_.path() / name).string(); }

  WorkerProcess& StartWorker(const std::string& pool_id, int64_t capacity, const std::string& exec,
                             std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--server", server(), "--pool",      pool_id, "--capacity", std::to_string(capacity),
        "--exec",   exec,     "--log-level", "debug"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string log = Path("worker-" + std::to_string(workers_.size()) + ".log");
    workers_.push_back(std::make_unique<WorkerProcess>(args, log));
    EXPECT_TRUE(workers_.back()->Start());
    return *workers_.back();
  }

  // The lines of a file commands append to (none if it does not exist yet).
  std::vector<std::string> Lines(const std::string& path) const {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  bool WaitForLines(const std::string& path, size_t n, std::chrono::milliseconds timeout) {
    return Eventually([&] { return Lines(path).size() >= n; }, timeout);
  }
  void Touch(const std::string& path) { std::ofstream(path) << ""; }

  std::vector<json::object> Workers(const std::string& pool_id) {
    Result<std::vector<json::object>> workers =
        ListAll(client(), "/ListWorkers", {{"pool_id", pool_id}}, "workers");
    EXPECT_TRUE(workers.ok()) << workers.status().message();
    return workers.ok() ? *workers : std::vector<json::object>{};
  }
  std::vector<json::object> Evals(const std::string& pool_id) {
    Result<std::vector<json::object>> evals =
        ListAll(client(), "/ListEvals", {{"pool_id", pool_id}}, "evals");
    EXPECT_TRUE(evals.ok()) << evals.status().message();
    return evals.ok() ? *evals : std::vector<json::object>{};
  }
  // Waits until no eval of the pool is pending or placed.
  bool WaitUntilSettled(const std::string& pool_id, std::chrono::milliseconds timeout) {
    return Eventually(
        [&] {
          json::object pool = DescribePool(pool_id);
          return Int(pool, "pending_evals") == 0 && Int(pool, "live_allocs") == 0;
        },
        timeout);
  }
  // Waits until eval `eval_id` is in `state`.
  bool WaitForEvalState(const std::string& pool_id, const std::string& eval_id,
                        const std::string& state, std::chrono::milliseconds timeout) {
    return Eventually([&] { return Str(DescribeEval(pool_id, eval_id), "state") == state; },
                      timeout);
  }

  TempDir scratch_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
};

}  // namespace line::testing
