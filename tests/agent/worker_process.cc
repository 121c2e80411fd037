#include "agent/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace line::testing {
namespace {

using Clock = std::chrono::steady_clock;

pid_t Spawn(const std::vector<std::string>& args, const std::filesystem::path& log_path) {
  // Built before fork: the test process has threads.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LINE_", 5) != 0) env_strings.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = {DefaultWorkerPath()};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (pid > 0) setpgid(pid, pid);
  close(log_fd);
  return pid;
}

std::optional<int> Wait(pid_t pid, std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

std::string DefaultWorkerPath() {
#ifdef LINE_WORKER_PATH
  return LINE_WORKER_PATH;
#else
  return "line-worker";
#endif
}

WorkerProcess::WorkerProcess(std::vector<std::string> args, std::filesystem::path log_path)
    : args_(std::move(args)), log_path_(std::move(log_path)) {}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    Wait(pid_, std::chrono::seconds(10));
  }
}

bool WorkerProcess::Start() {
  pid_ = Spawn(args_, log_path_);
  return pid_ > 0;
}

void WorkerProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

std::optional<int> WorkerProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  std::optional<int> code = Wait(pid_, timeout);
  if (code) pid_ = -1;
  return code;
}

std::string WorkerProcess::Log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::pair<int, std::string> RunWorkerToExit(const std::vector<std::string>& args,
                                            std::chrono::milliseconds timeout) {
  char path[] = "/tmp/line-worker-run-XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  WorkerProcess worker(args, path);
  int code = -1;
  if (worker.Start()) {
    std::optional<int> exit = worker.WaitExit(timeout);
    code = exit.value_or(-1);
  }
  std::string output = worker.Log();
  unlink(path);
  return {code, output};
}

}  // namespace line::testing
