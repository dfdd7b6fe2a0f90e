#!/usr/bin/env bash
# End-to-end test of the admin UI in a real browser: Debian's chromium driven
# by playwright-core against the real binary, the dev store and a seeded shop,
# each on free ports with a private database and a private Redis, so it never
# touches a running `make run`. Screenshots go to web/e2e/screenshots/.
# Installs chromium (apt) and the web packages (npm ci) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
start=$(date +%s)
log() { echo "e2e: $*" >&2; }

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing chromium with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    log "chromium is missing: apt-get install chromium (as root), or set CHROMIUM"
    exit 1
  fi
fi
command -v redis-server >/dev/null || { log "redis-server is required"; exit 1; }

scripts/services.sh
set -a && . .data/env && set +a

log "building the UI and the binary"
(cd web && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build) >&2
go build -trimpath -o bin/coupontrail ./app

WORK=$(mktemp -d)
freeport() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
APP_PORT=$(freeport); DEV_PORT=$(freeport); REDIS_PORT=$(freeport)
DB_NAME="coupontrail_e2e_$$"
BASE_DB=${DATABASE_URL%%\?*}
QUERY=${DATABASE_URL#"$BASE_DB"}
export DATABASE_URL="${BASE_DB%/*}/$DB_NAME$QUERY"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export HTTP_ADDR="127.0.0.1:$APP_PORT" APP_URL="http://127.0.0.1:$APP_PORT"
export DEVSTORE_ADDR="127.0.0.1:$DEV_PORT"
export SHOPIFY_ADMIN_URL_TEMPLATE="http://$DEVSTORE_ADDR/store/{shop}"
export E2E_SHOP=${E2E_SHOP:-e2e-demo.myshopify.com}
export LOG_LEVEL=${LOG_LEVEL:-warn}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "${BASE_DB%/*}/postgres$QUERY" -qc "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 & pids+=($!)
bin/coupontrail migrate --create-db up >/dev/null
bin/coupontrail devstore 2>"$WORK/devstore.log" & pids+=($!)
bin/coupontrail all 2>"$WORK/app.log" & pids+=($!)
for _ in $(seq 1 100); do curl -fsS "$APP_URL/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
if ! curl -fsS "$APP_URL/readyz" >/dev/null; then log "the app did not become ready"; tail -30 "$WORK/app.log" >&2; exit 1; fi
bin/coupontrail demo install --shop "$E2E_SHOP" >/dev/null
# Seeded data: the demo's partners, campaigns and a couple of weeks of orders,
# then live traffic while the browser works (E2E_TRAFFIC=0 turns it off).
if [ "${E2E_TRAFFIC:-1}" != 0 ] && bin/coupontrail demo --help 2>&1 | grep -q traffic; then
  bin/coupontrail demo traffic --shop "$E2E_SHOP" --interval 2s --backfill-days 14 2>"$WORK/traffic.log" & pids+=($!)
fi
log "stack up after $(( $(date +%s) - start ))s: app $APP_URL, dev store $DEVSTORE_ADDR"

export DEVSTORE_URL="http://$DEVSTORE_ADDR" CHROMIUM
set +e
node web/e2e/run.mjs
rc=$?
set -e
if [ $rc -ne 0 ]; then
  log "failed; last app log lines:"; tail -40 "$WORK/app.log" >&2
  cp "$WORK/app.log" "$WORK/devstore.log" "$WORK/traffic.log" web/e2e/screenshots/ 2>/dev/null || true
fi
log "done in $(( $(date +%s) - start ))s (rc=$rc)"
exit $rc
