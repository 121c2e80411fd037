// line-worker: the worker agent (see agent.h, options.h and docs/worker.md).
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/options.h"

int main(int argc, char** argv) {
  // Before any thread starts, so every thread inherits the mask: these signals are read from
  // the agent's signalfd, and never interrupt libline's calls.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  line::agent::ParsedArgs parsed =
      line::agent::ParseWorkerArgs(args, [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr || *value == '\0') return std::nullopt;
        return std::string(value);
      });
  if (parsed.help) {
    std::cout << line::agent::WorkerUsage();
    return 0;
  }
  if (!parsed.error.empty()) {
    std::cerr << "line-worker: " << parsed.error << "\n(see line-worker --help)\n";
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_logger_mt("line-worker"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ line-worker[%P] %v");
  spdlog::set_level(spdlog::level::from_str(parsed.options.log_level));
  return line::agent::RunAgent(parsed.options);
}
