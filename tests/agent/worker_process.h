// Runs a real line-worker as a child process for the agent's end-to-end tests: its own process
// group, stdout+stderr appended to a log file, the test's LINE_* variables removed.
//
// The object owns the child: the destructor SIGKILLs its process group if it still runs. Not
// thread-safe; drive it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace line::testing {

// The line-worker the build produced (compile definition LINE_WORKER_PATH).
std::string DefaultWorkerPath();

class WorkerProcess {
 public:
  WorkerProcess(std::vector<std::string> args, std::filesystem::path log_path);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Starts it; false (with the reason in the log) if fork failed.
  bool Start();
  // Sends `signal` to the worker process itself (not its commands).
  void Signal(int signal);
  // Waits for the exit up to `timeout`: the exit code, or 128 + signal; nullopt if it still
  // runs.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string Log() const;

 private:
  std::vector<std::string> args_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
};

// Runs line-worker with `args` to its end (for usage errors and --help); exit code and output.
std::pair<int, std::string> RunWorkerToExit(const std::vector<std::string>& args,
                                            std::chrono::milliseconds timeout);

}  // namespace line::testing
