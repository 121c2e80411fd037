// Runs the linectl binary the build produced (LINECTL_PATH) as a child process and captures
// its stdout, stderr and exit code separately, for the CLI tests. Thread-compatible: each call
// owns its child and pipes.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace line::testing {

struct LinectlRun {
  // The exit code, 128 + N when killed by signal N, -1 when it outran the timeout.
  int exit_code = -1;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

struct LinectlOptions {
  // Added to the environment, after every LINE_* variable of the test's own was removed.
  std::map<std::string, std::string> env;
  std::string stdin_text;  // fed to its stdin, then closed
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
};

LinectlRun RunLinectl(const std::vector<std::string>& args, const LinectlOptions& options = {});

}  // namespace line::testing
