#include "line_bench_common.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace line::bench {

using testing::HttpClient;
using testing::HttpResponse;

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kBatch:
      return "batch";
    case Mode::kSingle:
      return "single";
    case Mode::kLatency:
      return "latency";
    case Mode::kHeartbeat:
      return "heartbeat";
    case Mode::kMemory:
      return "memory";
    case Mode::kExec:
      return "exec";
  }
  return "?";
}

void Die(const std::string& message) {
  std::cerr << "line-bench: " << message << "\n";
  std::exit(1);
}

Target::Target(const Flags& flags) {
  if (flags.port != 0) {
    port_ = flags.port;
    pid_ = flags.pid;
    store_kind_ = "server";
    return;
  }
  testing::LinedOptions options;
  options.binary = flags.lined;
  options.env = {{"LINE_MAX_BODY", std::to_string(64 << 20)}};
  if (flags.mode != Mode::kHeartbeat) {
    // Nobody heartbeats during these runs: TTLs long enough that nothing expires
    // mid-measurement, and no redelivery of allocs that a simulated worker received but did
    // not acknowledge. The heartbeat mode keeps lined's default TTLs, since how often a
    // heartbeat must be written depends on them (decision 0010: a renewal step is a tenth of
    // the TTL, at most 5 s).
    options.env.insert({{"LINE_WORKER_TTL", "3600"},
                        {"LINE_REPLICA_TTL", "3600"},
                        {"LINE_ALLOC_TTL", "3600"},
                        {"LINE_VISIBILITY_TIMEOUT", "3600"}});
  }
  // The launcher passes --store sqlite:<temp>; a later --store wins.
  if (!flags.store.empty()) options.extra_args = {"--store", flags.store};
  lined_ = std::make_unique<testing::LinedProcess>(options);
  if (Status s = lined_->Start(); !s.ok()) Die(s.message());
  port_ = lined_->port();
  pid_ = lined_->pid();
  if (flags.store.empty() || flags.store.starts_with("sqlite")) {
    store_kind_ = "sqlite";
  } else if (flags.store.starts_with("postgres")) {
    store_kind_ = "postgresql";
  } else {
    store_kind_ = flags.store.substr(0, flags.store.find(':'));
  }
}

Target::~Target() = default;

std::string Target::LogTail() const { return lined_ ? lined_->LogTail() : ""; }

void Target::Finish() {
  if (!lined_) return;
  int exit_code = lined_->Terminate();
  if (exit_code != 0) {
    Die("lined exited with " + std::to_string(exit_code) + ":\n" + lined_->LogTail());
  }
}

json::object CallOrDie(HttpClient& client, std::string_view path, const json::value& request) {
  HttpResponse r = client.Post(path, request);
  json::value v = r.Json();
  if (r.status != 200 || !v.is_object()) Die("POST " + std::string(path) + " -> " + r.Describe());
  return std::move(v.as_object());
}

int64_t Counter(const json::object& object, const char* key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

// append(), not "d" + ...: GCC 12 warns falsely (-Wrestrict) about the operator+ form.
std::string Dataset(int64_t i, int datasets) {
  return std::string("d").append(std::to_string(i % datasets));
}

std::string CreatePool(HttpClient& client) {
  return std::string(CallOrDie(client, "/CreatePool", json::object{}).at("pool_id").as_string());
}

std::vector<std::string> RegisterWorkers(int port, const std::string& pool_id, int count,
                                         int64_t capacity, int datasets, int connections) {
  std::vector<std::string> ids(static_cast<size_t>(count));
  std::atomic<int> next{0};
  std::vector<std::thread> registrars;
  for (int c = 0; c < std::max(1, std::min(connections, count)); ++c) {
    registrars.emplace_back([&] {
      HttpClient client("127.0.0.1", port, std::chrono::seconds(60));
      for (int w; (w = next++) < count;) {
        json::object worker =
            CallOrDie(client, "/RegisterWorker", {{"pool_id", pool_id}, {"capacity", capacity}});
        ids[static_cast<size_t>(w)] = worker.at("worker_id").as_string();
        CallOrDie(client, "/SendHeartbeat",
                  {{"pool_id", pool_id},
                   {"worker_id", worker.at("worker_id")},
                   {"allocs", json::array{}},
                   {"datasets", {Dataset(w, datasets)}}});
      }
    });
  }
  for (std::thread& t : registrars) t.join();
  return ids;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Clock::duration FromSeconds(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) Die("cannot read /proc/" + std::to_string(pid) + "/stat");
  // Fields after the command name, which is in parentheses and may hold spaces: state is
  // field 3, utime field 14, stime field 15 (proc(5)).
  size_t close = stat.rfind(')');
  if (close == std::string::npos) Die("unexpected /proc/<pid>/stat: " + stat);
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  int64_t utime = 0;
  int64_t stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14) utime = std::atoll(field.c_str());
    if (n == 15) stime = std::atoll(field.c_str());
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;  // in kB
  }
  Die("no VmRSS in /proc/" + std::to_string(pid) + "/status");
}

void PrintRow(const std::string& measure, const std::string& figure) {
  std::printf("  %-34s %s\n", measure.c_str(), figure.c_str());
}

std::string Rate(double per_second) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.0f /s", per_second);
  return buffer;
}

std::string Millis(int64_t ns) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f ms", static_cast<double>(ns) / 1e6);
  return buffer;
}

std::string LatencyText(const LatencyHistogram& histogram) {
  std::string text;
  for (auto [name, q] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}) {
    text += std::string(name) + " " + Millis(histogram.ValueAtQuantile(q)) + "  ";
  }
  return text + "max " + Millis(histogram.max());
}

json::object LatencyJson(const LatencyHistogram& histogram) {
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  return {{"count", histogram.count()},
          {"p50", ms(histogram.ValueAtQuantile(0.5))},
          {"p90", ms(histogram.ValueAtQuantile(0.9))},
          {"p99", ms(histogram.ValueAtQuantile(0.99))},
          {"p999", ms(histogram.ValueAtQuantile(0.999))},
          {"max", ms(histogram.max())}};
}

}  // namespace line::bench
