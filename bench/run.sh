#!/usr/bin/env bash
# Loads a freshly built Playgram over loopback with bench/loadgen and prints one Markdown table row per
# scenario. Usage: bash bench/run.sh [scenario ...]   (default: all). Results go to bench/out/.
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
    crm-upsert) # Full Contact Data with 10 tags and 20 custom fields, a new subscriber per request
      load crm-upsert -url "$BASE/api/v1/manychat/contacts" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -body-template '{"id":"{{i}}1","first_name":"Ana","last_name":"Souza","ig_username":"ana{{i}}","email":"ana{{i}}@example.com","last_interaction":"2026-01-01T10:00:00Z","tags":[{"id":1,"name":"t0"},{"id":2,"name":"t1"},{"id":3,"name":"t2"},{"id":4,"name":"t3"},{"id":5,"name":"t4"},{"id":6,"name":"t5"},{"id":7,"name":"t6"},{"id":8,"name":"t7"},{"id":9,"name":"t8"},{"id":10,"name":"t9"}],"custom_fields":{"f0":"{{rand}}","f1":"v","f2":"v","f3":"v","f4":"v","f5":"v","f6":"v","f7":"v","f8":"v","f9":"v","f10":1,"f11":2,"f12":3,"f13":4,"f14":5,"f15":true,"f16":false,"f17":"2026-01-01","f18":"x","f19":"y"}}' ;;
    crm-messages) # a DM from a new subscriber per request (no auto-reply rules in the demo workspace)
      load crm-messages -url "$BASE/api/v1/manychat/messages" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -body-template '{"subscriber_id":"7{{i}}","text":"qual o preço?"}' ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
