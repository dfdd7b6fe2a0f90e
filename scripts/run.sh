#!/usr/bin/env bash
# Runs coupontrail locally with its dev store: migrates, starts the dev store
# and the app (serve + worker in one process), installs the demo shop and
# prints the URL to open. Ctrl-C stops everything. Expects .data/env sourced.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/coupontrail
export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
export APP_URL=${APP_URL:-http://$HTTP_ADDR}
export DEVSTORE_ADDR=${DEVSTORE_ADDR:-127.0.0.1:8081}
export SHOPIFY_ADMIN_URL_TEMPLATE=${SHOPIFY_ADMIN_URL_TEMPLATE:-http://$DEVSTORE_ADDR/store/{shop}}
export DEMO_SHOP=${DEMO_SHOP:-demo.myshopify.com}

$BIN migrate --create-db up

pids=()
tpid=""
cleanup() { for p in "${pids[@]}" $tpid; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$BIN devstore 2> .data/devstore.log & pids+=($!)
$BIN all 2> .data/app.log & pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS "$APP_URL/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$APP_URL/readyz" >/dev/null || { echo "the app did not become ready; see .data/app.log" >&2; tail -20 .data/app.log >&2; exit 1; }

traffic=""
if $BIN demo --help >/dev/null 2>&1; then
  if $BIN demo install --shop "$DEMO_SHOP"; then
    # Live synthetic traffic from the dev store (clicks, orders, refunds, a
    # little fraud) so the dashboards move; DEMO_TRAFFIC=0 turns it off.
    if [ "${DEMO_TRAFFIC:-1}" != 0 ]; then
      $BIN demo traffic --shop "$DEMO_SHOP" --interval "${DEMO_INTERVAL:-1.5s}" 2> .data/demo.log & tpid=$!
      traffic="   demo traffic: .data/demo.log (DEMO_TRAFFIC=0 turns it off)"
    fi
  else
    echo "demo install failed; see above" >&2
  fi
fi

echo
echo "coupontrail is running: open $APP_URL/?shop=$DEMO_SHOP"
echo "  dev store: http://$DEVSTORE_ADDR   logs: .data/app.log, .data/devstore.log$traffic   Ctrl-C to stop"
wait -n "${pids[@]}"
