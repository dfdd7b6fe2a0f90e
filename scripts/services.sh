#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer, starting them if needed, and writes
# .data/env with DATABASE_URL, REDIS_URL and ENCRYPTION_KEY for the Makefile.
#
# Order of preference: the URLs in the environment when they answer; the
# machine's own services (127.0.0.1:5432 / :6379), started if installed but
# stopped; otherwise a private PostgreSQL/Redis under ./.data, installing the
# Debian packages first when running as root and they are missing.
# Exits non-zero with a clear message when a service cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA="$ROOT/.data"
mkdir -p "$DATA"

log() { echo "services: $*" >&2; }

DB_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/coupontrail?sslmode=disable}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}

hostport() { # URL -> "host port"
  local rest=${1#*://}; rest=${rest#*@}; rest=${rest%%/*}; rest=${rest%%\?*}
  local host=${rest%:*} port=${rest##*:}
  [ "$host" = "$rest" ] && port=$2
  echo "$host" "$port"
}

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

pg_ok() {
  read -r h p < <(hostport "$DB_URL" 5432)
  if command -v pg_isready >/dev/null; then pg_isready -q -h "$h" -p "$p" -t 3; else tcp_open "$h" "$p"; fi
}

redis_ok() {
  read -r h p < <(hostport "$REDIS_URL" 6379)
  if command -v redis-cli >/dev/null; then
    [ "$(timeout 3 redis-cli -h "$h" -p "$p" ping 2>/dev/null)" = "PONG" ]
  else
    tcp_open "$h" "$p" && printf 'PING\r\n' | timeout 2 bash -c "exec 3<>/dev/tcp/$h/$p; cat >&3; head -c 5 <&3" 2>/dev/null | grep -q PONG
  fi
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

start_postgres() {
  # 1. the machine's cluster, if installed but stopped
  if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    log "starting the machine's PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do pg_ok && return 0; sleep 0.5; done
  fi
  # 2. a private cluster under .data/pg
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bindir" ]; then
    apt_install postgresql || { log "PostgreSQL is not installed and cannot be installed here (need root + apt-get)"; return 1; }
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  read -r h p < <(hostport "$DB_URL" 5432)
  local run_as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd -r -m postgres
    chown -R postgres "$DATA" 2>/dev/null || true
    run_as=(runuser -u postgres --)
  fi
  if [ ! -s "$DATA/pg/PG_VERSION" ]; then
    log "initialising a private PostgreSQL in .data/pg"
    mkdir -p "$DATA/pg"; [ "$(id -u)" = 0 ] && chown postgres "$DATA/pg"
    "${run_as[@]}" "$bindir/initdb" -D "$DATA/pg" -U postgres --auth=trust >/dev/null
  fi
  log "starting the private PostgreSQL on port $p"
  "${run_as[@]}" "$bindir/pg_ctl" -D "$DATA/pg" -l "$DATA/pg.log" -o "-p $p -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
  pg_ok
}

start_redis() {
  read -r h p < <(hostport "$REDIS_URL" 6379)
  if ! command -v redis-server >/dev/null; then
    apt_install redis-server || { log "Redis is not installed and cannot be installed here (need root + apt-get)"; return 1; }
  fi
  log "starting Redis on port $p (AOF in .data/redis)"
  mkdir -p "$DATA/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --dir "$DATA/redis" --appendonly yes --logfile "$DATA/redis.log" >/dev/null
  for _ in $(seq 1 20); do redis_ok && return 0; sleep 0.25; done
  return 1
}

if ! pg_ok; then
  start_postgres || { log "FAIL: PostgreSQL does not answer at $(hostport "$DB_URL" 5432) and could not be started"; exit 1; }
fi
if ! redis_ok; then
  start_redis || { log "FAIL: Redis does not answer at $(hostport "$REDIS_URL" 6379) and could not be started"; exit 1; }
fi

# A stable local encryption key for tokens at rest (never committed).
if [ -z "${ENCRYPTION_KEY:-}" ]; then
  [ -s "$DATA/encryption.key" ] || head -c 32 /dev/urandom | base64 > "$DATA/encryption.key"
  ENCRYPTION_KEY="local:$(cat "$DATA/encryption.key")"
fi

cat > "$DATA/env" <<ENV
export DATABASE_URL='$DB_URL'
export REDIS_URL='$REDIS_URL'
export ENCRYPTION_KEY='$ENCRYPTION_KEY'
ENV
log "PostgreSQL and Redis are up"
