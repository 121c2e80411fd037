// What the modes of line-bench share: the flags, the lined under test, and small helpers for
// HTTP calls, set-up, /proc readings and printing.
//
// Everything here is used from the main thread during set-up, except the free functions marked
// thread-safe, which the load threads call with their own HttpClient.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "line_bench_histogram.h"
#include "testing/http_client.h"
#include "testing/lined_process.h"

namespace line::bench {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

enum class Mode { kBatch, kSingle, kLatency, kHeartbeat, kMemory, kExec };
const char* ModeName(Mode mode);

// The command line. Fields without a value here get a default that depends on the mode
// (ParseFlags in line_bench.cc fills them in and documents them in --help).
struct Flags {
  Mode mode = Mode::kBatch;
  int batch = 1000;  // evals per /ScheduleEvals (batch, memory, exec)
  int connections = 0;
  double seconds = 0;
  int workers = 0;
  int64_t capacity = 0;
  bool simulate_workers = false;
  int datasets = 100;
  int port = 0;   // of --server; 0 = start our own lined
  pid_t pid = 0;  // --pid: the --server's process, for the modes that read its /proc
  std::string lined;
  std::string store;
  double drain_seconds = 120;
  bool json = false;
  double rate = 500;          // latency: ScheduleEval requests per second
  int64_t evals = 0;          // memory: pending evals; exec: evals to run
  int worker_processes = 4;   // exec: line-worker processes
  std::string line_worker;    // exec: the line-worker binary
  std::string exec = "true";  // exec: the command every alloc runs
};

[[noreturn]] void Die(const std::string& message);

// The lined the benchmark talks to: one it started (and stops in Finish), or --server.
class Target {
 public:
  // Starts lined unless --server was given; dies when it cannot.
  explicit Target(const Flags& flags);
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  int port() const { return port_; }
  // 0 when unknown (--server without --pid).
  pid_t pid() const { return pid_; }
  // "sqlite", "postgresql" or "server" (--server: unknown).
  const std::string& store_kind() const { return store_kind_; }
  bool owned() const { return lined_ != nullptr; }
  std::string LogTail() const;
  // Stops the lined we started; dies when it exits with an error.
  void Finish();

 private:
  std::unique_ptr<testing::LinedProcess> lined_;
  int port_ = 0;
  pid_t pid_ = 0;
  std::string store_kind_;
};

// POSTs and returns the JSON object of a 200 answer; dies on anything else. Thread-safe.
json::object CallOrDie(testing::HttpClient& client, std::string_view path,
                       const json::value& request);
// An integer field of a Describe answer, 0 when absent.
int64_t Counter(const json::object& object, const char* key);
// "d<i mod datasets>". Thread-safe.
std::string Dataset(int64_t i, int datasets);
std::string CreatePool(testing::HttpClient& client);
// Registers `count` workers of `capacity` in `pool_id` over `connections` connections, each
// then heartbeating once with its one dataset (worker w holds Dataset(w, datasets)). Returns
// the worker ids in order.
std::vector<std::string> RegisterWorkers(int port, const std::string& pool_id, int count,
                                         int64_t capacity, int datasets, int connections);

double Seconds(Clock::duration d);
Clock::duration FromSeconds(double seconds);

// /proc readings of a process: CPU time spent (user + system) and resident set size. They die
// when the process is gone.
double CpuSeconds(pid_t pid);
int64_t RssBytes(pid_t pid);

// Output: one indented "measure  figure" row per line, and the figure formats.
void PrintRow(const std::string& measure, const std::string& figure);
std::string Rate(double per_second);
std::string Millis(int64_t ns);
std::string LatencyText(const LatencyHistogram& histogram);
// {"p50","p90","p99","p999","max"} in milliseconds, plus "count".
json::object LatencyJson(const LatencyHistogram& histogram);

}  // namespace line::bench
