#include "testing/lined_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/http_client.h"

extern char** environ;

namespace line::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

int DecodeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Starts `binary args...` in its own process group with stdout and stderr appended to
// `log_path`. The test's LINE_* variables are dropped and `env` added.
Result<pid_t> SpawnChild(const std::string& binary, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env,
                         const std::filesystem::path& log_path) {
  // Everything the child needs is built before fork: a test process has threads, and between
  // fork and exec only async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LINE_", 5) != 0) env_strings.emplace_back(*e);
  }
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> arg_strings;
  arg_strings.push_back(binary);
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Status::Internal("open " + log_path.string() + ": " + std::strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return Status::Internal(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    static const char kExecFailed[] = "lined_process: execve failed\n";
    (void)!write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    _exit(127);
  }
  // Also from the parent, so a signal sent right after fork reaches the group.
  setpgid(pid, pid);
  close(log_fd);
  return pid;
}

std::string ReadTail(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path.string() + ")";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  if (all.size() <= max_bytes) return all;
  return "...\n" + all.substr(all.size() - max_bytes);
}

// Waits for `pid` to exit, up to `timeout`. Returns the decoded exit code, or nullopt.
std::optional<int> WaitPid(pid_t pid, milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    int wait_status = 0;
    pid_t r = waitpid(pid, &wait_status, WNOHANG);
    if (r == pid) return DecodeWaitStatus(wait_status);
    if (r < 0 && errno != EINTR) return -1;  // not our child any more: nothing to wait for
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/line-e2e-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();  // nothing a test can do without a scratch directory
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string DefaultLinedPath() {
#ifdef LINED_PATH
  return LINED_PATH;
#else
  return "";
#endif
}

LinedProcess::LinedProcess(LinedOptions options) : options_(std::move(options)) {
  store_path_ =
      options_.store_path.empty() ? (dir_.path() / "line.db").string() : options_.store_path;
}

LinedProcess::~LinedProcess() {
  if (running()) Kill(SIGKILL);
}

Status LinedProcess::Start() {
  if (running()) return Status::Internal("lined is already running");
  port_ = FreePort();
  if (port_ == 0) return Status::Internal("no free port");
  if (Status s = Spawn(); !s.ok()) return s;
  return WaitReady();
}

Status LinedProcess::Restart() {
  if (running()) Kill(SIGKILL);
  if (Status s = Spawn(); !s.ok()) return s;
  return WaitReady();
}

Status LinedProcess::Spawn() {
  std::vector<std::string> args = {"--listen", "127.0.0.1:" + std::to_string(port_), "--store",
                                   "sqlite:" + store_path_};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  {
    std::ofstream log(log_path(), std::ios::app);
    log << "==== line-e2e: starting " << options_.binary << " on port " << port_ << "\n";
  }
  Result<pid_t> pid = SpawnChild(options_.binary, args, options_.env, log_path());
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return Status::Ok();
}

Status LinedProcess::WaitReady() {
  HttpClient client("127.0.0.1", port_, std::chrono::seconds(2));
  Clock::time_point deadline = Clock::now() + options_.ready_timeout;
  std::string last;
  while (Clock::now() < deadline) {
    if (std::optional<int> code = TryReap()) {
      return Status::Internal("lined exited with " + std::to_string(*code) +
                              " before it was ready; log:\n" + LogTail());
    }
    HttpResponse r = client.Get("/healthz");
    if (r.status == 200) {
      boost::json::value body = r.Json();
      if (body.is_object() && body.as_object().if_contains("status") != nullptr &&
          body.as_object().at("status") == "ok") {
        return Status::Ok();
      }
    }
    last = r.Describe();
    // Start-up takes a while under ASan; polling is the only signal a child process gives.
    std::this_thread::sleep_for(milliseconds(20));
  }
  return Status::Internal("lined on port " + std::to_string(port_) +
                          " not ready within the timeout; last /healthz: " + last + "\nlog:\n" +
                          LogTail());
}

std::optional<int> LinedProcess::TryReap() {
  if (!running()) return -1;
  std::optional<int> code = WaitPid(pid_, milliseconds(0));
  if (code) pid_ = -1;
  return code;
}

int LinedProcess::WaitExit(milliseconds timeout) {
  std::optional<int> code = WaitPid(pid_, timeout);
  if (!code) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    WaitPid(pid_, std::chrono::seconds(30));
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return *code;
}

int LinedProcess::Kill(int signal) {
  if (!running()) return -1;
  kill(-pid_, signal);
  kill(pid_, signal);
  return WaitExit(std::chrono::seconds(30));
}

int LinedProcess::Terminate(milliseconds timeout) {
  if (!running()) return -1;
  kill(pid_, SIGTERM);
  return WaitExit(timeout);
}

std::string LinedProcess::LogTail(size_t max_bytes) const {
  return ReadTail(log_path(), max_bytes);
}

ExitResult LinedProcess::RunToExit(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env,
                                   milliseconds timeout, const std::string& binary) {
  TempDir dir;
  std::filesystem::path log = dir.path() / "output.log";
  ExitResult result;
  Result<pid_t> pid = SpawnChild(binary, args, env, log);
  if (!pid.ok()) {
    result.output = pid.status().ToString();
    return result;
  }
  std::optional<int> code = WaitPid(*pid, timeout);
  if (!code) {
    kill(-*pid, SIGKILL);
    WaitPid(*pid, std::chrono::seconds(30));
  }
  result.exit_code = code.value_or(-1);
  result.output = ReadTail(log, 1 << 20);
  return result;
}

}  // namespace line::testing
