#!/bin/sh
# Runs Debian's chromium headless for browser tests, installing it first when
# it is missing (apt-get, as root). Every argument is passed to chromium after
# the fixed flags; each run gets a fresh profile that is removed afterwards.
#
#   scripts/chromium.sh --dump-dom --virtual-time-budget=5000 http://127.0.0.1:8080/
#   scripts/chromium.sh --path      # install if needed, print the binary's path
set -eu

bin=""
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then bin=$(command -v "$b"); break; fi
done
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: chromium is not installed and cannot be installed here (needs root and apt-get)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y chromium >&2 || { apt-get update >&2 && apt-get install -y chromium >&2; }
  bin=$(command -v chromium) || { echo "chromium.sh: chromium install failed" >&2; exit 1; }
fi
if [ "${1:-}" = "--path" ]; then
  echo "$bin"
  exit 0
fi

profile=$(mktemp -d "${TMPDIR:-/tmp}/coupontrail-chromium.XXXXXX")
trap 'rm -rf "$profile"' EXIT INT TERM
"$bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --user-data-dir="$profile" "$@"
