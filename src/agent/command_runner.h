// Starting one alloc's command: /bin/sh -c CMD in a process group of its own, with the alloc's
// LINE_* variables in its environment and its stdout and stderr merged into one pipe.
//
// Free functions, no state: the agent's event loop owns the children they return (it reads the
// pipes, reaps the processes and kills their groups).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace line::agent {

struct StartedCommand {
  pid_t pid = -1;      // also the process group id
  int output_fd = -1;  // non-blocking, close-on-exec read end of stdout+stderr; caller closes
};

// Environment variables for the command: NAME -> value (added to, or replacing, the agent's).
using EnvVars = std::vector<std::pair<std::string, std::string>>;

// vforks and execs `/bin/sh -c command`. The child starts with an empty signal mask and default
// SIGPIPE (the agent blocks and ignores signals that commands must see), stdin from /dev/null,
// no other inherited descriptors, and is SIGKILLed if the agent dies (so a crashed agent does
// not leave commands running whose allocs are placed again elsewhere). Safe to call while
// other threads run: only async-signal-safe calls happen between vfork and exec.
// Returns an error message on failure.
std::pair<StartedCommand, std::string> StartCommand(const std::string& command, const EnvVars& env);

// The exit code to report for a waitpid() status: the exit status, or 128 + N when the command
// was killed by signal N.
int ExitCodeFromWaitStatus(int wait_status);

}  // namespace line::agent
