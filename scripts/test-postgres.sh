#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests (issue 4): initdb into a temporary folder, listen on a
# free port of 127.0.0.1 only, fsync on (the store's durability is part of what is tested).
#
#   eval "$(scripts/test-postgres.sh start)"   # sets LINE_TEST_PG and LINE_TEST_PG_DIR
#   scripts/test-postgres.sh stop [DIR]        # DIR defaults to $LINE_TEST_PG_DIR
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
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=300" \
      > /dev/null 2>&1; then
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

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) die "usage: $0 start | stop [DIR]" ;;
esac
