#include "agent/agent.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "agent/alloc_book.h"
#include "agent/backoff.h"
#include "agent/command_runner.h"
#include "agent/dataset_dir.h"
#include "agent/heartbeater.h"
#include "agent/output_tail.h"
#include "agent/receiver.h"
#include "agent/registration.h"
#include "agent/reporter.h"
#include "agent/session.h"
#include "agent/waker.h"

namespace line::agent {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Most completions a worker reports at once (each waits for a durable commit in lined).
constexpr int64_t kMaxReporting = 8;

// A command that runs: its alloc, its process (group) and the tail of its output.
struct Child {
  client::ReceivedAlloc alloc;
  int output_fd = -1;  // -1 once closed (EOF)
  OutputTail tail;
};

// The event loop and its state; see agent.h for the threads around it.
class EventLoop {
 public:
  EventLoop(const WorkerOptions& options, int signal_fd, AllocBook& book, Session& session,
            Reporter& reporter, Waker& waker, const Receiver& receiver)
      : options_(options),
        signal_fd_(signal_fd),
        book_(book),
        session_(session),
        reporter_(reporter),
        waker_(waker),
        receiver_(receiver) {}

  // Returns once the agent drained and every alloc it received has ended.
  void Run();
  void BeginDrain();

 private:
  void StartQueued();
  void Start(const client::ReceivedAlloc& alloc);
  void HandleSignals();
  void Reap();
  // Reads what the child wrote; closes its fd at EOF. `until_empty`: drain all there is now.
  void ReadOutput(Child& child);
  void Complete(const client::ReceivedAlloc& alloc, std::optional<int64_t> exit_code,
                std::string result_json, bool failed);
  void KillAll();

  const WorkerOptions& options_;
  const int signal_fd_;
  AllocBook& book_;
  Session& session_;
  Reporter& reporter_;
  Waker& waker_;
  const Receiver& receiver_;

  std::deque<client::ReceivedAlloc> queue_;  // received, waiting for capacity
  std::map<pid_t, Child> children_;          // running commands by pid (= process group)
  int64_t running_size_ = 0;                 // sum of children_'s sizes, <= capacity
  bool draining_ = false;
  bool killed_ = false;  // the grace period ended: everything left is failed
  Clock::time_point grace_deadline_;
};

void EventLoop::Run() {
  while (true) {
    for (client::ReceivedAlloc& alloc : book_.TakeAccepted()) queue_.push_back(std::move(alloc));
    if (draining_ && !killed_ && Clock::now() >= grace_deadline_) KillAll();
    StartQueued();
    if (draining_ && receiver_.done() && queue_.empty() && children_.empty()) {
      // The receiver may have accepted allocs just before it ended.
      if (std::vector<client::ReceivedAlloc> late = book_.TakeAccepted(); !late.empty()) {
        queue_.insert(queue_.end(), late.begin(), late.end());
        continue;
      }
      return;
    }

    std::vector<pollfd> fds = {{signal_fd_, POLLIN, 0}, {waker_.fd(), POLLIN, 0}};
    std::vector<pid_t> fd_owner = {-1, -1};
    for (auto& [pid, child] : children_) {
      if (child.output_fd < 0) continue;
      fds.push_back({child.output_fd, POLLIN, 0});
      fd_owner.push_back(pid);
    }
    int timeout_ms = -1;
    if (draining_ && !killed_) {
      auto left = std::chrono::ceil<milliseconds>(grace_deadline_ - Clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    int n = poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::critical("poll: {}", std::strerror(errno));
      std::abort();  // cannot supervise children without it
    }
    if (fds[1].revents != 0) waker_.Clear();
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto it = children_.find(fd_owner[i]);
      if (it != children_.end()) ReadOutput(it->second);
    }
    if (fds[0].revents != 0) HandleSignals();
  }
}

void EventLoop::StartQueued() {
  while (!queue_.empty()) {
    client::ReceivedAlloc& next = queue_.front();
    if (killed_) {
      Complete(next, std::nullopt, JsonQuote("line-worker shut down before it could run"), true);
    } else if (next.size > options_.capacity) {
      Complete(next, std::nullopt,
               JsonQuote("alloc size " + std::to_string(next.size) +
                         " exceeds the worker's capacity " + std::to_string(options_.capacity)),
               true);
    } else if (running_size_ + next.size <= options_.capacity) {
      Start(next);
    } else {
      return;  // strictly in order: wait for capacity, never exceed it
    }
    queue_.pop_front();
  }
}

void EventLoop::Start(const client::ReceivedAlloc& alloc) {
  EnvVars env = {{"LINE_POOL_ID", alloc.pool_id},
                 {"LINE_ALLOC_ID", alloc.alloc_id},
                 {"LINE_EVAL_ID", alloc.eval_id},
                 {"LINE_DATASET", alloc.dataset_id},
                 {"LINE_SIZE", std::to_string(alloc.size)},
                 {"LINE_ATTEMPT", std::to_string(alloc.attempt)},
                 {"LINE_PAYLOAD", alloc.payload}};
  auto [started, error] = StartCommand(options_.exec, env);
  if (!error.empty()) {
    spdlog::error("alloc {} (eval {}): cannot start the command: {}", alloc.alloc_id, alloc.eval_id,
                  error);
    Complete(alloc, std::nullopt, JsonQuote("line-worker: " + error), true);
    return;
  }
  spdlog::info("alloc {} (eval {}, size {}, attempt {}): started pid {}", alloc.alloc_id,
               alloc.eval_id, alloc.size, alloc.attempt, started.pid);
  Child& child = children_[started.pid];
  child.alloc = alloc;
  child.output_fd = started.output_fd;
  running_size_ += alloc.size;
}

void EventLoop::HandleSignals() {
  signalfd_siginfo info;
  bool child_exited = false;
  while (read(signal_fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
    if (info.ssi_signo == SIGCHLD) {
      child_exited = true;
    } else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
      if (draining_) {
        spdlog::info("{} again: already draining ({} commands running)",
                     strsignal(static_cast<int>(info.ssi_signo)), children_.size());
      } else {
        spdlog::info("{}: draining", strsignal(static_cast<int>(info.ssi_signo)));
        BeginDrain();
      }
    }
  }
  if (child_exited) Reap();
}

void EventLoop::BeginDrain() {
  draining_ = true;
  grace_deadline_ = Clock::now() + options_.grace;
  session_.BeginDrain();
  book_.Interrupt();
}

void EventLoop::Reap() {
  // SIGCHLD is coalesced: collect every child that ended. All children are commands.
  int wait_status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &wait_status, WNOHANG)) > 0) {
    auto it = children_.find(pid);
    if (it == children_.end()) continue;
    Child& child = it->second;
    // Its output is in the pipe already; a background process it left behind may keep the
    // pipe open, so take what is there now rather than waiting for EOF.
    if (child.output_fd >= 0) {
      ReadOutput(child);
      if (child.output_fd >= 0) close(child.output_fd);
    }
    int exit_code = ExitCodeFromWaitStatus(wait_status);
    spdlog::info("alloc {} (eval {}): exited with {}", child.alloc.alloc_id, child.alloc.eval_id,
                 exit_code);
    running_size_ -= child.alloc.size;
    Complete(child.alloc, exit_code, child.tail.ResultJson(), exit_code != 0);
    children_.erase(it);
  }
}

void EventLoop::ReadOutput(Child& child) {
  char buf[16384];
  while (true) {
    ssize_t n = read(child.output_fd, buf, sizeof(buf));
    if (n > 0) {
      child.tail.Append(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close(child.output_fd);  // EOF or a read error: nothing more will come
    child.output_fd = -1;
    return;
  }
}

void EventLoop::Complete(const client::ReceivedAlloc& alloc, std::optional<int64_t> exit_code,
                         std::string result_json, bool failed) {
  book_.Finish(alloc.alloc_id);
  reporter_.Submit(Completion{.pool_id = alloc.pool_id,
                              .alloc_id = alloc.alloc_id,
                              .eval_id = alloc.eval_id,
                              .worker_id = alloc.worker_id,
                              .exit_code = exit_code,
                              .result_json = std::move(result_json),
                              .failed = failed});
}

void EventLoop::KillAll() {
  killed_ = true;
  if (!children_.empty()) {
    spdlog::warn("grace period of {} s over: killing {} commands", options_.grace.count(),
                 children_.size());
  }
  for (const auto& [pid, child] : children_) kill(-pid, SIGKILL);
}

// Registers, retrying while lined is unreachable. nullopt when a signal asked to stop first;
// an Error when lined refused.
std::optional<client::Result<Registration>> RegisterFirst(const WorkerOptions& options,
                                                          int signal_fd) {
  client::ClientOptions client_options = AgentClientOptions(options.server, milliseconds(2000));
  client::Client client(client_options);
  Backoff backoff(milliseconds(100), milliseconds(5000));
  bool warned = false;
  while (true) {
    client::Result<Registration> reg = Register(client, options.pool_id, options.capacity);
    if (reg.ok() || !(reg.error().http_status == 0 || reg.error().http_status >= 500)) {
      return reg;
    }
    if (!warned) {
      spdlog::warn("cannot register with {} yet, will keep trying: {}", client.server(),
                   reg.error().ToString());
      warned = true;
    }
    pollfd fd = {signal_fd, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(backoff.Next().count())) > 0) {
      signalfd_siginfo info;
      while (read(signal_fd, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) return std::nullopt;
      }
    }
  }
}

}  // namespace

int RunAgent(const WorkerOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) {
    spdlog::critical("signalfd: {}", std::strerror(errno));
    return 1;
  }
  std::unique_ptr<int, void (*)(int*)> close_signal_fd(&signal_fd, [](int* fd) { close(*fd); });

  std::optional<client::Result<Registration>> first = RegisterFirst(options, signal_fd);
  if (!first) {
    spdlog::info("stopped before registering");
    return 0;
  }
  if (!first->ok()) {
    spdlog::critical("lined refused the registration: {}", first->error().ToString());
    return 1;
  }
  const Registration reg = first->value();
  spdlog::info("registered as worker {} of pool {} with capacity {} (heartbeat every {} ms)",
               reg.worker_id, options.pool_id, options.capacity, reg.heartbeat_interval.count());

  client::Client client(AgentClientOptions(options.server, reg.heartbeat_interval));
  AllocBook book(options.capacity);
  Session session;
  session.Registered(reg.worker_id);
  Waker waker;
  // Construction order = start order; destruction joins in reverse, after Session::Stop().
  // Completions in flight at once: up to one per unit of capacity, at most kMaxReporting.
  Reporter reporter(client, book, reg.heartbeat_interval,
                    static_cast<int>(std::min<int64_t>(options.capacity, kMaxReporting)));
  Heartbeater heartbeater(client, options.pool_id, options.capacity, book, session,
                          DatasetDir(options.datasets_dir, options.datasets),
                          reg.heartbeat_interval);
  Receiver receiver(client, options.pool_id, book, session, reg.heartbeat_interval,
                    [&waker] { waker.Wake(); });

  EventLoop loop(options, signal_fd, book, session, reporter, waker, receiver);
  loop.Run();

  // Every command ended; its completion may still be on its way (lined may be unreachable).
  // Heartbeats keep the allocs alive meanwhile.
  auto flush_for = std::max<milliseconds>(milliseconds(10000), 3 * reg.heartbeat_interval);
  if (!reporter.Flush(Clock::now() + flush_for)) {
    spdlog::error("some completions could not be reported within {} ms", flush_for.count());
  }
  SessionState last = session.Get();
  session.Stop();
  book.Interrupt();
  client::Result<client::Empty> gone =
      client.DeregisterWorker({.pool_id = options.pool_id, .worker_id = last.worker_id});
  if (gone.ok()) {
    spdlog::info("worker {} deregistered", last.worker_id);
  } else {
    spdlog::warn("deregistering worker {}: {}", last.worker_id, gone.error().ToString());
  }
  return 0;
}

}  // namespace line::agent
