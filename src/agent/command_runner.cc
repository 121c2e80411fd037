#include "agent/command_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace line::agent {

std::pair<StartedCommand, std::string> StartCommand(const std::string& command,
                                                    const EnvVars& env) {
  // Built before vfork: the child may not allocate (it shares the agent's heap).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry = *e;
    bool replaced = false;
    for (const auto& [name, value] : env) {
      replaced = replaced || (entry.starts_with(name) && entry.size() > name.size() &&
                              entry[name.size()] == '=');
    }
    if (!replaced) env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {{}, std::string("pipe: ") + std::strerror(errno)};
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(fds[0]);
    close(fds[1]);
    return {{}, std::string("open /dev/null: ") + std::strerror(errno)};
  }
  pid_t parent = getpid();
  // vfork, not fork: the child borrows the agent's memory until execve instead of copying its
  // page tables (and the agent then taking a copy-on-write fault per page it touches), which
  // made starting a command cost the agent more than the command. Only this thread waits; the
  // child runs nothing but system calls on its own stack frame's data, then execs or _exits.
  pid_t pid = vfork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    close(null_fd);
    return {{}, std::string("vfork: ") + std::strerror(err)};
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the agent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    dup2(null_fd, STDIN_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
#ifdef SYS_close_range
    syscall(SYS_close_range, 3U, ~0U, 0U);  // descriptors opened without O_CLOEXEC elsewhere
#endif
    execve(argv[0], argv, envp.data());
    static const char kExecFailed[] = "line-worker: execve /bin/sh failed\n";
    (void)!write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    _exit(127);
  }
  // Also from the parent (the child has exec'd or exited by now), so that the group exists
  // before anyone may want to kill it.
  setpgid(pid, pid);
  close(fds[1]);
  close(null_fd);
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return {{pid, fds[0]}, ""};
}

int ExitCodeFromWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace line::agent
