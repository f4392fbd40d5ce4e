#!/usr/bin/env bash
# Loads a freshly built Playgram over loopback with bench/loadgen and prints one Markdown table row per
# scenario. Usage: bash bench/run.sh [scenario ...]   (default: health ping; also: webhooks, tuned with
# WEBHOOK_RATE events/s and WEBHOOK_BACKLOG events). Results go to bench/out/.
# Each scenario is bounded in time; only 127.0.0.1 is ever targeted.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3

PORT=${BENCH_PORT:-18090}
BASE="http://127.0.0.1:$PORT"
DUR=${BENCH_DURATION:-10s}
CONC=${BENCH_CONCURRENCY:-50}
OUT=bench/out
DATA=$(mktemp -d)
mkdir -p "$OUT" bin

go build -o bin/playgram .
go build -o bin/loadgen ./bench/loadgen

cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

PLAYGRAM_SECRET_KEY=$(printf '%064d' 0) PLAYGRAM_PUBLIC_URL="$BASE" \
  ./bin/playgram serve --dir "$DATA" --http "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "$BASE/api/health" >/dev/null 2>&1 && break; sleep 0.1; done

KEY=$(./bin/playgram apikey create --dir "$DATA" --workspace demo --scopes manychat --name bench | grep -oE 'pgk_[0-9A-Za-z]{43}')

load() { # label, then loadgen flags
  local label=$1; shift
  ./bin/loadgen -label "$label" -c "$CONC" -d "$DUR" -warmup 2s -json "$@" >"$OUT/$label.json"
  python3 - "$OUT/$label.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
lat = s["latency_ms"]
print(f'| {s["label"]} | {s["concurrency"]} | {s["requests"]} | {s["failures"]} | {s["requests_per_second"]:.0f} | {lat["p50"]:.2f} | {lat["p99"]:.2f} |')
PY
}

echo "| scenario | concurrency | requests | failures | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
scenarios=${*:-"health ping"}
for s in $scenarios; do
  case $s in
    health) load health -url "$BASE/api/health" ;;
    ping)   load ping -url "$BASE/api/v1/ping" -H "Authorization: Bearer $KEY" ;;
    webhooks) # in-process app + loopback receiver (bench/webhooks): its own table
      go build -o bin/whbench ./bench/webhooks
      echo
      echo "| mode | endpoints | events | requests | time | deliveries/s | p50 ms | p95 ms | p99 ms | not delivered | duplicates | missing/bad signature |"
      echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
      ./bin/whbench -mode sustained -endpoints 10 -rate "${WEBHOOK_RATE:-100}" -duration "$DUR"
      ./bin/whbench -mode backlog -endpoints 10 -events "${WEBHOOK_BACKLOG:-10000}" ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
