// Runs a real `lined` as a child process for end-to-end tests and the e2e benchmark.
//
// The child runs in its own process group with stdout and stderr appended to a log file in a
// private temporary directory, so a failing test can print what the server said. The object
// owns the child: the destructor SIGKILLs whatever is still running. Not thread-safe; tests
// drive it from their main thread while other threads talk to the server over HTTP.
//
// Free of GTest on purpose: bench/e2e_bench.cc compiles this file in as well.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace line::testing {

// A directory under $TMPDIR (or /tmp) removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A 127.0.0.1 port that was free a moment ago: bound to port 0, read back, closed.
int FreePort();

// The lined binary the build produced (compile definition LINED_PATH), unless overridden.
std::string DefaultLinedPath();

struct LinedOptions {
  std::string binary = DefaultLinedPath();
  // Empty = "<temp dir>/line.db". The store outlives restarts of the same LinedProcess.
  std::string store_path;
  // LINE_* variables for the child. Every LINE_* variable of the test's own environment is
  // removed first, so a developer's shell cannot change what a test exercises.
  std::map<std::string, std::string> env;
  std::vector<std::string> extra_args;  // appended after --listen and --store
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(15);
};

// The outcome of a process that was run to its end.
struct ExitResult {
  // The exit code, or 128 + signal number when it died of a signal; -1 if it did not end in
  // time (it is then killed).
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved as written
};

class LinedProcess {
 public:
  explicit LinedProcess(LinedOptions options = {});
  ~LinedProcess();
  LinedProcess(const LinedProcess&) = delete;
  LinedProcess& operator=(const LinedProcess&) = delete;

  // Starts lined on a free port and waits until GET /healthz answers 200 {"status":"ok"}.
  // On failure the Status message carries the tail of the log.
  Status Start();
  // Sends `signal` to the process group and reaps the child; returns as ExitResult::exit_code.
  int Kill(int signal = 9);
  // SIGTERM, then waits up to `timeout` for a graceful exit (SIGKILL after that, -1 returned).
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Kills whatever runs (SIGKILL) and starts again on the same store file and the same port.
  Status Restart();

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& store_path() const { return store_path_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path log_path() const { return dir_.path() / "lined.log"; }
  // The last `max_bytes` of everything every incarnation logged.
  std::string LogTail(size_t max_bytes = 8000) const;

  // Runs lined to its end with the given arguments and LINE_* environment; for start-up
  // failures and --help. Kills it after `timeout`.
  static ExitResult RunToExit(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env,
                              std::chrono::milliseconds timeout = std::chrono::seconds(15),
                              const std::string& binary = DefaultLinedPath());

 private:
  Status Spawn();
  Status WaitReady();
  // Reaps the child if it exited; returns its exit code then, nullopt while it runs.
  std::optional<int> TryReap();
  int WaitExit(std::chrono::milliseconds timeout);

  LinedOptions options_;
  TempDir dir_;
  std::string store_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace line::testing
