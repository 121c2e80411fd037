#!/bin/bash
# Per-thread CPU of lined under one line-bench mode: starts LINED on a fresh SQLite store on
# 127.0.0.1:18080, runs `line-bench --server ... --pid` in MODE for SECONDS, and prints each
# thread's user and system time as % of one core over 3 s in the middle of the run (from
# /proc/PID/task/*/stat). Used for the per-thread figures in docs/performance.md.
#
#   bench/thread-cpu.sh build/release/lined heartbeat 8
#   bench/thread-cpu.sh build/release/lined latency 8 --rate 8000
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 LINED MODE SECONDS [line-bench flags]" >&2
  exit 2
fi
lined=$1 mode=$2 seconds=$3
shift 3
bench="$(dirname "$lined")/bench/line-bench"
dir=$(mktemp -d /tmp/line-thread-cpu.XXXXXX)
"$lined" --store "sqlite:$dir/line.db" --listen 127.0.0.1:18080 --log-level warn > "$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:18080/healthz > /dev/null 2>&1 && break
  sleep 0.1
done
ticks() {
  for t in /proc/$pid/task/*; do echo "$(cat "$t/comm") $(awk '{print $14, $15}' "$t/stat")"; done |
    awk '{u[$1] += $2; s[$1] += $3} END {for (k in u) print k, u[k], s[k]}' | sort
}
( sleep 3; ticks > "$dir/a"; sleep 3; ticks > "$dir/b" ) &
sampler=$!
"$bench" --server http://127.0.0.1:18080 --pid "$pid" --mode "$mode" --seconds "$seconds" "$@" 2>&1 | tail -4
wait $sampler
hz=$(getconf CLK_TCK)
join "$dir/a" "$dir/b" |
  awk -v hz="$hz" '{printf "%-16s user %5.1f %%  sys %5.1f %%\n", $1, 100*($4-$2)/hz/3, 100*($5-$3)/hz/3}'
