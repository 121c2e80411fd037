// line-bench-report: the one table of `make bench`. Reads the JSON lines that line-bench --json
// and e2e_bench --json printed (one per run, in order) and, optionally, the JSON file of
// placement_bench (--benchmark_out_format=json), and prints a markdown table:
//
//   | metric | store | figure | target (issue 5) | met? |
//
// The targets are those of issue 5 ("Throughput"), kept here and nowhere else. A line
// {"failed": "<what>", "store": "<store>", "log": "<path>"} (scripts/bench.sh writes one for a run
// that printed no figures) becomes a FAILED row.
//
//   line-bench-report RESULTS.jsonl [PLACEMENT.json]
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;

struct Row {
  std::string metric;
  std::string store;
  std::string figure;
  std::string target;
  std::string met;  // "yes", "no", "–" (no target for this store)
};

double Number(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return NAN;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return NAN;
}

double Nested(const json::object& o, const char* object, const char* key) {
  const json::value* v = o.if_contains(object);
  return v != nullptr && v->is_object() ? Number(v->as_object(), key) : NAN;
}

std::string String(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

// 18288.4 -> "18,288"; NaN -> "?".
std::string Grouped(double value) {
  if (std::isnan(value)) return "?";
  std::string digits = std::to_string(static_cast<long long>(std::llround(std::fabs(value))));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string Fixed(double value, int decimals) {
  if (std::isnan(value)) return "?";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string Met(bool met) { return met ? "yes" : "no"; }

// A note for runs that finished with failed requests or did not drain: their figure is
// suspect, whatever the comparison says.
std::string Caveats(const json::object& o) {
  std::string notes;
  double errors = Number(o, "errors");
  if (!std::isnan(errors) && errors > 0) notes += ", " + Grouped(errors) + " errors";
  const json::value* drained = o.if_contains("drained");
  if (drained != nullptr && drained->is_bool() && !drained->as_bool()) notes += ", not drained";
  return notes.empty() ? "" : " [" + notes.substr(2) + "]";
}

void AddLineBench(const json::object& o, std::vector<Row>* rows) {
  const std::string mode = String(o, "mode");
  const std::string store = String(o, "store");
  const bool embedded = store == "sqlite";
  const std::string caveats = Caveats(o);
  if (mode == "batch") {
    double placed = Number(o, "evals_placed_per_s");
    rows->push_back(
        {"ScheduleEvals x" + Grouped(Number(o, "batch")) + ", " + Grouped(Number(o, "workers")) +
             " workers, " + Grouped(Number(o, "connections")) + " conns: evals placed/s",
         store,
         Grouped(placed) + "/s (acked " + Grouped(Number(o, "evals_acknowledged_per_s")) +
             "/s, p99 " + Fixed(Nested(o, "latency_ms", "p99"), 0) + " ms)" + caveats,
         embedded ? ">= 100,000/s" : "(>= 100,000/s embedded)",
         embedded ? Met(placed >= 100'000) : "–"});
  } else if (mode == "single") {
    double rps = Number(o, "requests_per_s");
    rows->push_back({"ScheduleEval requests/s, " + Grouped(Number(o, "connections")) + " conns",
                     store,
                     Grouped(rps) + "/s (p50 " + Fixed(Nested(o, "latency_ms", "p50"), 1) +
                         " ms, p99 " + Fixed(Nested(o, "latency_ms", "p99"), 1) + " ms)" + caveats,
                     ">= 30,000/s", Met(rps >= 30'000)});
  } else if (mode == "latency") {
    double p50 = Nested(o, "visible_latency_ms", "p50");
    double p99 = Nested(o, "visible_latency_ms", "p99");
    double requests = Number(o, "requests");
    double late = Number(o, "late_sends");
    std::string behind =
        requests > 0 && late / requests > 0.01 ? " [" + Grouped(late) + " sent late]" : "";
    rows->push_back(
        {"submit -> visible to long-poll, p50 / p99, at " + Grouped(Number(o, "rate")) + "/s",
         store,
         Fixed(p50, 2) + " / " + Fixed(p99, 2) + " ms (" +
             Grouped(Number(o, "evals_acknowledged_per_s")) + "/s held)" + caveats + behind,
         "<= 1 / <= 5 ms at half the max rate", Met(p50 <= 1 && p99 <= 5)});
  } else if (mode == "heartbeat") {
    double cpu = Number(o, "lined_cpu_percent");
    double rate = Number(o, "heartbeats_per_s");
    double asked = Number(o, "heartbeats_asked_per_s");
    bool kept_up = rate >= 0.95 * asked;
    rows->push_back({"lined CPU, " + Grouped(Number(o, "workers")) + " workers heartbeating 1/s",
                     store,
                     Fixed(cpu, 1) + " % of a core (" + Grouped(rate) + " heartbeats/s" +
                         (kept_up ? "" : ", fell behind") + ")" + caveats,
                     "<= 25 %", Met(cpu <= 25 && kept_up)});
  } else if (mode == "memory") {
    double worker = Number(o, "rss_bytes_per_worker");
    double eval = Number(o, "rss_bytes_per_pending_eval");
    rows->push_back({"lined RSS growth per worker (" + Grouped(Number(o, "workers")) + ")", store,
                     Grouped(worker) + " B" + caveats, "<= 1,024 B", Met(worker <= 1024)});
    rows->push_back({"lined RSS growth per pending eval (" + Grouped(Number(o, "evals")) + ")",
                     store, Grouped(eval) + " B" + caveats, "<= 512 B", Met(eval <= 512)});
  } else if (mode == "exec") {
    double rate = Number(o, "evals_completed_per_s");
    rows->push_back(
        {"evals executed/s, " + Grouped(Number(o, "worker_processes")) + " line-worker x " +
             Grouped(Number(o, "capacity")) + " running `" + String(o, "exec") + "`",
         store,
         Grouped(rate) + "/s (" + Grouped(Number(o, "evals_completed")) + " evals)" + caveats,
         ">= 1,000/s", Met(rate >= 1000)});
  } else {
    rows->push_back({"line-bench --mode " + mode, store, "(no row for this mode)", "", "–"});
  }
}

void AddE2e(const json::object& o, std::vector<Row>* rows) {
  const std::string store = String(o, "store");
  const bool embedded = store == "sqlite";
  double placed = Number(o, "evals_placed_per_s");
  rows->push_back({"e2e_bench ScheduleEvals x" + Grouped(Number(o, "batch")) + ", " +
                       Grouped(Number(o, "nodes")) + " node(s): evals placed/s",
                   store,
                   Grouped(placed) + "/s (acked " + Grouped(Number(o, "evals_accepted_per_s")) +
                       "/s)" + Caveats(o),
                   embedded ? ">= 100,000/s" : "(>= 100,000/s embedded)",
                   embedded ? Met(placed >= 100'000) : "–"});
}

// BM_Place/workers:100000/binpack:B/locality:L rows of Google Benchmark's JSON output.
void AddPlacement(const json::value& doc, std::vector<Row>* rows) {
  const json::value* benchmarks =
      doc.is_object() ? doc.as_object().if_contains("benchmarks") : nullptr;
  if (benchmarks == nullptr || !benchmarks->is_array()) return;
  for (const json::value& b : benchmarks->as_array()) {
    if (!b.is_object()) continue;
    const json::object& o = b.as_object();
    const std::string name = String(o, "name");
    if (name.rfind("BM_Place/workers:100000/", 0) != 0) continue;
    const std::string unit = String(o, "time_unit");
    double ns = Number(o, "cpu_time");
    if (unit == "us") ns *= 1e3;
    if (unit == "ms") ns *= 1e6;
    std::string variant = name.find("binpack:1") != std::string::npos ? "binpack" : "spread";
    if (name.find("locality:1") != std::string::npos) variant += ", locality";
    rows->push_back({"placement core, 100k workers, " + variant + ": CPU per placement", "(none)",
                     Grouped(ns) + " ns", "<= 1,000 ns", Met(ns <= 1000)});
  }
}

std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? '/' : c;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: line-bench-report RESULTS.jsonl [PLACEMENT.json]\n";
    return 2;
  }
  std::vector<Row> rows;
  if (argc == 3) {
    std::ifstream in(argv[2]);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    json::value doc = json::parse(text.str(), ec);
    if (ec) {
      rows.push_back({"placement core, 100k workers", "(none)",
                      "FAILED (no benchmark output in " + std::string(argv[2]) + ")", "<= 1,000 ns",
                      "no"});
    } else {
      AddPlacement(doc, &rows);
    }
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "line-bench-report: cannot read " << argv[1] << "\n";
    return 2;
  }
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      rows.push_back({"(unreadable result line)", "", line.substr(0, 60), "", "no"});
      continue;
    }
    const json::object& o = v.as_object();
    if (o.contains("failed")) {
      rows.push_back(
          {String(o, "failed"), String(o, "store"), "FAILED (" + String(o, "log") + ")", "", "no"});
    } else if (String(o, "bench") == "line-bench") {
      AddLineBench(o, &rows);
    } else if (String(o, "bench") == "e2e_bench") {
      AddE2e(o, &rows);
    }
  }
  std::printf("| metric | store | figure | target (issue 5) | met? |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %s | %s |\n", Cell(r.metric).c_str(), Cell(r.store).c_str(),
                Cell(r.figure).c_str(), Cell(r.target).c_str(), Cell(r.met).c_str());
  }
  return 0;
}
