// --mode exec: evals executed, not just placed. --worker-processes real line-worker processes
// (each of --capacity, running `/bin/sh -c --exec` per alloc, `true` by default) serve one
// pool; once all have registered, --evals evals are submitted in batches of --batch over
// --connections connections, and the clock runs from the first submission until DescribePool
// shows nothing pending and nothing live: every eval completed (or dead-lettered, counted
// apart). Completion is polled every 50 ms, so the figure is late by at most that much.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "line_bench_modes.h"

extern char** environ;

namespace line::bench {
namespace {

using testing::HttpClient;

// line-worker processes, each in a process group of its own with its output in a log file.
// Stops them (SIGTERM: drain, report, deregister) when destroyed.
class WorkerProcesses {
 public:
  WorkerProcesses(const Flags& flags, int port, const std::string& pool_id) {
    const std::string server = "http://127.0.0.1:" + std::to_string(port);
    for (int k = 0; k < flags.worker_processes; ++k) {
      std::vector<std::string> args = {flags.line_worker,
                                       "--server",
                                       server,
                                       "--pool",
                                       pool_id,
                                       "--capacity",
                                       std::to_string(flags.capacity),
                                       "--exec",
                                       flags.exec,
                                       "--log-level",
                                       "warn"};
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      logs_.push_back((dir_.path() / ("line-worker-" + std::to_string(k) + ".log")).string());
      const std::string& log = logs_.back();
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
      posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
      posix_spawnattr_t attr;
      posix_spawnattr_init(&attr);
      posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
      posix_spawnattr_setpgroup(&attr, 0);
      pid_t pid = 0;
      int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attr);
      if (rc != 0) Die("cannot start " + flags.line_worker + ": " + std::strerror(rc));
      pids_.push_back(pid);
    }
  }
  ~WorkerProcesses() { Stop(); }
  WorkerProcesses(const WorkerProcesses&) = delete;
  WorkerProcesses& operator=(const WorkerProcesses&) = delete;

  // SIGTERM to all, then up to 30 s for them to drain and exit; SIGKILL to what remains.
  // Returns how many did not exit 0.
  int Stop() {
    for (pid_t pid : pids_) kill(pid, SIGTERM);
    int failures = 0;
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(30);
    for (pid_t pid : pids_) {
      int status = 0;
      pid_t reaped = 0;
      while ((reaped = waitpid(pid, &status, WNOHANG)) == 0 && Clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (reaped != pid) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        ++failures;
      } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ++failures;
      }
    }
    pids_.clear();
    return failures;
  }

  // Every process's log, for a failure message.
  std::string Logs() const {
    std::string all;
    for (size_t k = 0; k < logs_.size(); ++k) {
      std::ifstream in(logs_[k]);
      std::stringstream text;
      text << in.rdbuf();
      std::string s = text.str();
      if (s.size() > 2000) s = "..." + s.substr(s.size() - 2000);
      all += "--- line-worker " + std::to_string(k) + ":\n" + s;
    }
    return all;
  }

 private:
  testing::TempDir dir_;
  std::vector<std::string> logs_;
  std::vector<pid_t> pids_;
};

}  // namespace

int RunExec(const Flags& flags, Target& target, json::object* summary) {
  const int port = target.port();
  HttpClient admin("127.0.0.1", port, std::chrono::seconds(60));
  const std::string pool_id = CreatePool(admin);
  WorkerProcesses processes(flags, port, pool_id);

  // Wait until every line-worker has registered.
  const Clock::time_point registering = Clock::now();
  while (Counter(CallOrDie(admin, "/DescribePool", {{"pool_id", pool_id}}), "workers") <
         flags.worker_processes) {
    if (Clock::now() - registering > std::chrono::seconds(15)) {
      Die("line-worker processes did not all register within 15 s:\n" + processes.Logs());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::atomic<int64_t> next{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> submitters;
  for (int c = 0; c < flags.connections; ++c) {
    submitters.emplace_back([&] {
      HttpClient client("127.0.0.1", port, std::chrono::seconds(120));
      for (int64_t first; (first = next.fetch_add(flags.batch)) < flags.evals;) {
        json::array evals;
        for (int64_t i = first; i < std::min(flags.evals, first + flags.batch); ++i) {
          evals.push_back(json::object{
              {"dataset_id", Dataset(i, flags.datasets)}, {"size", 1}, {"payload", {{"n", i}}}});
        }
        CallOrDie(client, "/ScheduleEvals", {{"pool_id", pool_id}, {"evals", evals}});
      }
    });
  }
  for (std::thread& t : submitters) t.join();
  const double submit_s = Seconds(Clock::now() - start);

  json::object pool;
  bool done = false;
  const Clock::time_point give_up = Clock::now() + FromSeconds(flags.drain_seconds);
  while (true) {
    pool = CallOrDie(admin, "/DescribePool", {{"pool_id", pool_id}});
    if (Counter(pool, "pending_evals") == 0 && Counter(pool, "live_allocs") == 0) {
      done = true;
      break;
    }
    if (Clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double run_s = Seconds(Clock::now() - start);
  const int64_t dead = Counter(pool, "dead_letters");
  const int64_t completed =
      flags.evals - dead - Counter(pool, "pending_evals") - Counter(pool, "live_allocs");
  const double completed_per_s = static_cast<double>(completed) / run_s;
  const int stop_failures = processes.Stop();

  std::printf(
      "line-bench: mode exec, %d line-worker processes x capacity %lld running `%s`, "
      "%lld evals in batches of %d, %s\n",
      flags.worker_processes, static_cast<long long>(flags.capacity), flags.exec.c_str(),
      static_cast<long long>(flags.evals), flags.batch, target.store_kind().c_str());
  char row[160];
  std::snprintf(row, sizeof row, "%s  (%lld by %.2f s%s; submitted in %.2f s; %lld dead)",
                Rate(completed_per_s).c_str(), static_cast<long long>(completed), run_s,
                done ? "" : ", drain cap hit", submit_s, static_cast<long long>(dead));
  PrintRow("evals executed (submit to done)", row);
  if (stop_failures > 0) {
    std::fprintf(stderr, "line-bench: %d line-worker processes did not stop cleanly:\n%s\n",
                 stop_failures, processes.Logs().c_str());
  }

  *summary = {{"worker_processes", flags.worker_processes},
              {"capacity", flags.capacity},
              {"exec", flags.exec},
              {"evals", flags.evals},
              {"evals_completed", completed},
              {"dead_letters", dead},
              {"submit_seconds", submit_s},
              {"seconds", run_s},
              {"evals_completed_per_s", completed_per_s},
              {"drained", done}};
  return done && dead == 0 && stop_failures == 0 ? 0 : 2;
}

}  // namespace line::bench
