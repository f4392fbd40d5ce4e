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

# booking_setup creates (through the collection API, as a superuser) a class of 1000 seats with one helper
# who works around the clock, and prints "TOOL_SLUG HELPER_ID START".
booking_setup() {
  local pw; pw=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  ./bin/playgram superuser upsert bench@playgram.local "$pw" --dir "$DATA" >/dev/null
  python3 - "$BASE" "$pw" <<'PY'
import datetime, json, sys, urllib.parse, urllib.request
base, pw = sys.argv[1], sys.argv[2]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **({"Authorization": token} if token else {})})
    return json.load(urllib.request.urlopen(req))
token = call("POST", "/api/collections/_superusers/auth-with-password", {"identity": "bench@playgram.local", "password": pw})["token"]
ws = call("GET", "/api/collections/workspaces/records?filter=" + urllib.parse.quote("slug='demo'"), token=token)["items"][0]["id"]
tool = call("POST", "/api/collections/tools/records", {"workspace": ws, "type": "booking", "name": "Bench class", "slug": "bench-class", "enabled": True,
            "config": {"seats": 1000, "duration_minutes": 60, "slot_interval_minutes": 60, "min_notice_minutes": 0, "max_advance_days": 30}}, token)["id"]
helper = call("POST", "/api/collections/helpers/records", {"workspace": ws, "name": "Bench coach", "timezone": "UTC", "active": True, "tools": [tool]}, token)["id"]
for wd in range(1, 8):
    call("POST", "/api/collections/availability/records", {"workspace": ws, "helper": helper, "weekday": wd, "start": "00:00", "end": "24:00"}, token)
start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT10:00:00Z")
print("bench-class", helper, start)
PY
}

echo "| scenario | concurrency | requests | failures | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
scenarios=${*:-"health ping"}
for s in $scenarios; do
  case $s in
    health) load health -url "$BASE/api/health" ;;
    ping)   load ping -url "$BASE/api/v1/ping" -H "Authorization: Bearer $KEY" ;;
    booking) # 50 clients booking one class: the first 1000 get a seat (201), then every answer is a 409 with
             # the nearest free times; each request runs the full availability check in the write transaction.
      read -r BTOOL BHELPER BSTART < <(booking_setup)
      load booking -url "$BASE/api/v1/bookings" -method POST -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
        -body-template "{\"tool\":\"$BTOOL\",\"helper\":\"$BHELPER\",\"start\":\"$BSTART\",\"subscriber_id\":\"{{i}}\",\"name\":\"Bench {{i}}\"}" \
        -expect 201,409 ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
