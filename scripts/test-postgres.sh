#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests (issue 4): initdb into a temporary folder, listen on a
# free port of 127.0.0.1 only, fsync on (the store's durability is part of what is tested).
#
#   eval "$(scripts/test-postgres.sh start)"   # sets LINE_TEST_PG and LINE_TEST_PG_DIR
#   scripts/test-postgres.sh stop [DIR]        # DIR defaults to $LINE_TEST_PG_DIR
#   scripts/test-postgres.sh restart [DIR]     # fast shutdown, then up again on the same port
#   scripts/test-postgres.sh halt [DIR]        # fast shutdown, keeping the data (an outage)
#   scripts/test-postgres.sh resume [DIR]      # up again after halt, on the same port
#
# PostgreSQL refuses to run as root, so as root (CI, sessions) the server runs as the
# `postgres` system user that the Debian package creates, and owns its folder.
set -euo pipefail

die() { echo "test-postgres: $*" >&2; exit 1; }

bindir() {
  local dir
  for dir in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
  done
  die "initdb not found: install the postgresql package (make deps)"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    # runuser lives in /usr/sbin or /sbin, which a clean root PATH may lack.
    local runuser
    runuser=$(PATH="$PATH:/usr/sbin:/sbin" command -v runuser) || die "runuser not found"
    "$runuser" -u postgres -- "$@"
  else
    "$@"
  fi
}

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The server's options for folder $1 and port $2 (start and resume use the same).
server_options() {
  echo "-c listen_addresses=127.0.0.1 -p $2 -k $1 -c fsync=on -c max_connections=300"
}

start() {
  local bin dir port tries
  bin=$(bindir)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/line-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    id postgres > /dev/null 2>&1 || die "no postgres user to run the server as (install postgresql)"
    chown postgres: "$dir" || { rm -rf "$dir"; die "cannot give $dir to postgres"; }
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions \
    > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  # A free port: random in the dynamic range, retried if taken (or taken between the check
  # and the server's bind, which makes pg_ctl fail and the loop try the next one).
  for tries in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_is_free "$port" || continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "$(server_options "$dir" "$port")" > /dev/null 2>&1; then
      echo "$port" > "$dir/port"
      echo "LINE_TEST_PG=postgresql://postgres@127.0.0.1:$port/postgres"
      echo "LINE_TEST_PG_DIR=$dir"
      echo "export LINE_TEST_PG LINE_TEST_PG_DIR"
      return
    fi
  done
  cat "$dir/server.log" >&2 || true
  rm -rf "$dir"
  die "could not start PostgreSQL on a free port"
}

stop() {
  local dir=${1:-${LINE_TEST_PG_DIR:-}}
  [ -n "$dir" ] || die "stop: which folder? (argument or LINE_TEST_PG_DIR)"
  case "$dir" in
    "${TMPDIR:-/tmp}"/line-pg.*) ;;
    *) die "stop: $dir is not a folder this script made" ;;
  esac
  if [ -d "$dir/data" ]; then
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

# For tests of an outage. Each takes the folder a start made ($1, or LINE_TEST_PG_DIR); a fast
# shutdown cuts every session. restart returns once the server accepts connections again, on
# the same port with the same options; so does resume, after a halt.
server_dir() {
  local dir=${2:-${LINE_TEST_PG_DIR:-}}
  [ -n "$dir" ] || die "$1: which folder? (argument or LINE_TEST_PG_DIR)"
  case "$dir" in
    "${TMPDIR:-/tmp}"/line-pg.*) ;;
    *) die "$1: $dir is not a folder this script made" ;;
  esac
  [ -d "$dir/data" ] || die "$1: no server in $dir"
  echo "$dir"
}

pg_ctl_or_die() {
  local dir=$1
  shift
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@" > /dev/null 2>&1 ||
    { tail -n 20 "$dir/server.log" >&2 || true; die "pg_ctl $* failed"; }
}

restart() {
  local dir
  dir=$(server_dir restart "${1:-}")
  pg_ctl_or_die "$dir" -m fast restart
}

halt() {
  local dir
  dir=$(server_dir halt "${1:-}")
  pg_ctl_or_die "$dir" -m fast stop
}

resume() {
  local dir port
  dir=$(server_dir resume "${1:-}")
  port=$(cat "$dir/port") || die "resume: no port recorded in $dir"
  pg_ctl_or_die "$dir" start -o "$(server_options "$dir" "$port")"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  restart) restart "${2:-}" ;;
  halt) halt "${2:-}" ;;
  resume) resume "${2:-}" ;;
  *) die "usage: $0 start | stop [DIR] | restart [DIR] | halt [DIR] | resume [DIR]" ;;
esac
