#!/usr/bin/env bash
# `make bench`: every figure of issue 5 ("Throughput") in one run of about four minutes, then
# one table (metric | store | figure | target | met?), also saved as table.md.
#
#   scripts/bench.sh [BUILD_DIR]      # default build/release, a Release build with the bench
#                                     # targets built (make bench builds it first)
#
# Runs, in order: the placement microbenchmark (100k-worker cases); line-bench in batch,
# single, latency (at half the single mode's rate), heartbeat, memory and exec mode on the
# embedded store; batch, single and latency on PostgreSQL; e2e_bench on PostgreSQL with 1 and
# 2 lined nodes. Every run is short (LINE_BENCH_SECONDS, default 6 s of load), so figures
# wobble by some percent from run to run; for a figure worth quoting, run its command (printed
# before it runs) on its own, longer, and on a quiet machine.
#
# PostgreSQL: the server LINE_TEST_PG names, or, when that is unset, a throwaway one started
# with scripts/test-postgres.sh for the run and stopped after it (as `make test` does). Each
# PostgreSQL run gets a fresh schema (dropped after it) when psql is there.
#
# Logs and the JSON line of every run go to LINE_BENCH_OUT (default BUILD_DIR/bench-results).
# Exit status 1 when a run failed (its row says FAILED); targets not met do not fail.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/release}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
secs=${LINE_BENCH_SECONDS:-6}
out=${LINE_BENCH_OUT:-$build/bench-results}
bench="$build/bench"
lined="$build/lined"

for bin in "$lined" "$build/line-worker" "$bench/line-bench" "$bench/line-bench-report" \
  "$bench/e2e_bench" "$bench/placement_bench"; do
  [ -x "$bin" ] || { echo "bench.sh: $bin is missing: build the Release bench targets first" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
failures=0
runs=0

# run LABEL STORE COMMAND...: runs it with its output in a log, shows the readable part, and
# appends its last JSON line to the results (or a "failed" line when it printed none).
run() {
  local label=$1 store=$2
  shift 2
  runs=$((runs + 1))
  local log
  log="$out/$(printf '%02d' "$runs")-$(echo "$label-$store" | tr -c 'A-Za-z0-9\n' '-').log"
  echo "== $label ($store)"
  echo "   \$ ${*/#$root\//}"
  "$@" > "$log" 2>&1
  local rc=$?
  grep -v '^{' "$log" | sed 's/^/   /' | tail -n 12
  local json
  json=$(grep '^{' "$log" | tail -n 1)
  if [ -n "$json" ]; then
    echo "$json" >> "$results"
    [ "$rc" -eq 0 ] || echo "   (exit status $rc: figures kept, see $log)"
  else
    failures=$((failures + 1))
    printf '{"failed":"%s","store":"%s","log":"%s"}\n' "$label" "$store" "$log" >> "$results"
    echo "   FAILED (exit status $rc), log: $log"
  fi
}

# A figure of the last JSON line of a store's run of a mode: field KEY (a number).
figure() {
  local mode=$1 store=$2 key=$3
  grep "\"mode\":\"$mode\"" "$results" | grep "\"store\":\"$store\"" | tail -n 1 |
    sed -n "s/.*\"$key\":\([0-9.eE+-]*\).*/\1/p"
}

# Half of the single mode's request rate (the latency target's load), 500 when unknown.
half_rate() {
  local rps
  rps=$(figure single "$1" requests_per_s)
  awk -v r="${rps:-0}" 'BEGIN { h = int(r / 2); print (h >= 10 ? h : 500) }'
}

lb=("$bench/line-bench" --lined "$lined" --json)

echo "make bench: Release build in ${build/#$root\//}, ${secs} s per run, results in ${out/#$root\//}"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (figures need a quiet machine)"

# 1. The placement core.
runs=$((runs + 1))
echo "== placement core, 100k workers"
"$bench/placement_bench" --benchmark_filter='BM_Place/workers:100000/' \
  --benchmark_min_time=0.5 --benchmark_out="$out/placement.json" \
  --benchmark_out_format=json > "$out/01-placement.log" 2>&1 ||
  { failures=$((failures + 1)); echo "   FAILED, log: $out/01-placement.log"; }
grep '^BM_' "$out/01-placement.log" | sed 's/^/   /'

# 2. line-bench on the embedded store.
run "ScheduleEvals batch" sqlite "${lb[@]}" --mode batch --seconds "$secs" --drain-seconds 60
run "ScheduleEval single" sqlite "${lb[@]}" --mode single --seconds "$secs"
run "submit to visible" sqlite "${lb[@]}" --mode latency --rate "$(half_rate sqlite)" --seconds "$secs"
run "heartbeat CPU" sqlite "${lb[@]}" --mode heartbeat --workers 10000 --seconds "$secs"
run "memory" sqlite "${lb[@]}" --mode memory --workers 10000 --evals 100000
run "executed by line-worker" sqlite "${lb[@]}" --mode exec --line-worker "$build/line-worker" \
  --worker-processes 4 --capacity 16 --evals 5000 --drain-seconds 60

# 3. PostgreSQL.
pg_dir=""
if [ -z "${LINE_TEST_PG:-}" ]; then
  if pg_env=$("$root/scripts/test-postgres.sh" start); then
    eval "$pg_env"
    pg_dir=$LINE_TEST_PG_DIR
    trap '"$root/scripts/test-postgres.sh" stop "$pg_dir"' EXIT
    trap 'exit 130' INT TERM
    echo "make bench: throwaway PostgreSQL at $LINE_TEST_PG"
  else
    echo "make bench: could not start PostgreSQL; its runs are skipped" >&2
    failures=$((failures + 1))
    printf '{"failed":"PostgreSQL runs (server did not start)","store":"postgresql","log":""}\n' >> "$results"
  fi
fi

# pg LABEL COMMAND...: run COMMAND with --store URL appended, URL in a schema of its own.
pg_schema=0
pg() {
  local label=$1
  shift
  local url=$LINE_TEST_PG schema=""
  if command -v psql > /dev/null; then
    pg_schema=$((pg_schema + 1))
    schema="line_bench_$$_$pg_schema"
    if psql -q "$LINE_TEST_PG" -c "CREATE SCHEMA $schema" > /dev/null 2>&1; then
      case "$url" in *\?*) url="$url&" ;; *) url="$url?" ;; esac
      url="${url}options=-csearch_path%3D$schema"
    else
      schema=""
    fi
  fi
  run "$label" postgresql "$@" --store "$url"
  [ -z "$schema" ] || psql -q "$LINE_TEST_PG" -c "DROP SCHEMA $schema CASCADE" > /dev/null 2>&1
}

if [ -n "${LINE_TEST_PG:-}" ]; then
  pg "ScheduleEvals batch" "${lb[@]}" --mode batch --seconds "$secs" --drain-seconds 60
  pg "ScheduleEval single" "${lb[@]}" --mode single --seconds "$secs"
  pg "submit to visible" "${lb[@]}" --mode latency --rate "$(half_rate postgresql)" --seconds "$secs"
  pg "e2e_bench 1 node" "$bench/e2e_bench" --lined "$lined" --seconds "$secs" --connections 4 \
    --nodes 1 --drain-seconds 60 --json
  # Two nodes accept several times faster than the pool's one owner places: a longer drain.
  pg "e2e_bench 2 nodes" "$bench/e2e_bench" --lined "$lined" --seconds "$secs" --connections 4 \
    --nodes 2 --drain-seconds 150 --json
fi

echo
echo "Issue 5 targets, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, ${secs} s per run:"
echo
"$bench/line-bench-report" "$results" "$out/placement.json" | tee "$out/table.md"
[ "$failures" -eq 0 ] || { echo "bench.sh: $failures run(s) failed; logs in $out" >&2; exit 1; }
