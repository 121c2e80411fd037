#!/usr/bin/env bash
# Installs the Debian packages line needs, only when one is missing (so `make` stays fast).
set -euo pipefail

packages=(
  g++ make cmake pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libsqlite3-dev sqlite3
  libpq-dev postgresql
  libspdlog-dev libjemalloc-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
