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
go build -o bin/fakeapify ./bench/fakeapify

cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; [ -n "${APID:-}" ] && kill "$APID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

# The social scenario reads through a local fake Apify.
./bin/fakeapify >"$OUT/fakeapify.url" 2>"$OUT/fakeapify.log" &
APID=$!
for _ in $(seq 50); do [ -s "$OUT/fakeapify.url" ] && break; sleep 0.1; done

PLAYGRAM_SECRET_KEY=$(printf '%064d' 0) PLAYGRAM_PUBLIC_URL="$BASE" \
  APIFY_BASE_URL="$(head -1 "$OUT/fakeapify.url")" APIFY_TOKEN=apify_api_FAKEtoken0123456789abcdef REDIS_URL="${BENCH_REDIS_URL:-}" \
  ./bin/playgram serve --dir "$DATA" --http "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "$BASE/api/health" >/dev/null 2>&1 && break; sleep 0.1; done

# Every CLI write happens before any load: a CLI process writing next to a server that is still draining a
# scenario's job backlog can wait out its busy timeout.
KEY=$(./bin/playgram apikey create --dir "$DATA" --workspace demo --scopes manychat --name bench | grep -oE 'pgk_[0-9A-Za-z]{43}')
SKEY=$(./bin/playgram apikey create --dir "$DATA" --workspace demo --scopes social --name bench-social | grep -oE 'pgk_[0-9A-Za-z]{43}')
EKEY=$(./bin/playgram apikey create --dir "$DATA" --workspace demo --scopes events --name bench-events | grep -oE 'pgk_[0-9A-Za-z]{43}')
./bin/playgram superuser upsert --dir "$DATA" bench@playgram.local bench-password-123 >/dev/null
OWNER_PASS=$(grep -oE 'demo owner [^ ]+  password [^ ]+' "$OUT/server.log" | awk '{print $5}')
TOKEN=$(curl -fs -X POST "$BASE/api/collections/users/auth-with-password" -H 'Content-Type: application/json' \
  -d "{\"identity\":\"owner@demo.playgram.local\",\"password\":\"$OWNER_PASS\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
WS=$(curl -fs "$BASE/api/v1/ping" -H "Authorization: Bearer $KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace"])')
# One unlimited code: every scan is a consuming scan (a read, an update and two inserts).
QR=$(curl -fs -X POST "$BASE/api/v1/qr" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"tool":"loyalty-qr","max_uses":0}')
QR_CODE=$(echo "$QR" | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
QR_PNG=$(echo "$QR" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image_url"])')

# cpu_ticks is the server's user+system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

load() { # label, then loadgen flags
  local label=$1; shift
  local t0; t0=$(cpu_ticks)
  ./bin/loadgen -label "$label" -c "$CONC" -d "$DUR" -warmup 2s -json "$@" >"$OUT/$label.json"
  python3 - "$OUT/$label.json" "$t0" "$(cpu_ticks)" "$(getconf CLK_TCK)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t0, t1, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lat = s["latency_ms"]
sent = s["requests"] + s["warmup_requests"]
cpu = (t1 - t0) * 1000 / hz / sent if sent else 0  # server CPU per request, warmup included (as is its CPU)
print(f'| {s["label"]} | {s["concurrency"]} | {s["requests"]} | {s["failures"]} | {s["requests_per_second"]:.0f} | {lat["p50"]:.2f} | {lat["p99"]:.2f} | {cpu:.2f} |')
PY
}

# booking_setup creates (through the collection API, as a superuser) a class of 1000 seats with one helper
# who works around the clock, and prints "TOOL_SLUG HELPER_ID START".
booking_setup() {
  python3 - "$BASE" bench-password-123 <<'PY'
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

echo "| scenario | concurrency | requests | failures | req/s | p50 ms | p99 ms | server CPU ms/req |"
echo "|---|---|---|---|---|---|---|---|"
scenarios=${*:-"health ping create scan qrpng social"}
for s in $scenarios; do
  case $s in
    health) load health -url "$BASE/api/health" ;;
    health-rate) # the floor of an open-loop run on this machine: the cheapest route at BENCH_RATE per second
      load "health-rate${BENCH_RATE:-1000}" -rate "${BENCH_RATE:-1000}" -url "$BASE/api/health" ;;
    ping)   load ping -url "$BASE/api/v1/ping" -H "Authorization: Bearer $KEY" ;;
    create) load pb-create -url "$BASE/api/collections/contacts/records" -H "Authorization: $TOKEN" -H 'Content-Type: application/json' \
              -body-template "{\"workspace\":\"$WS\",\"name\":\"Bench {{i}}\",\"email\":\"b{{rand}}@example.com\"}" ;;
    scan)   load qr-scan -url "$BASE/api/v1/qr/scan" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
              -body "{\"code\":\"$QR_CODE\",\"device_id\":\"bench\"}" ;;
    qrpng)  load qr-png-cached -url "$QR_PNG" ;;
    social) # a cached Instagram feed (12 posts) read with an enterprise client's key
      python3 - "$BASE" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json", **({"Authorization": token} if token else {})})
    return json.load(urllib.request.urlopen(req))
tok = call("POST", "/api/collections/_superusers/auth-with-password", {"identity": "bench@playgram.local", "password": "bench-password-123"})["token"]
key = call("GET", "/api/collections/api_keys/records?filter=" + urllib.parse.quote("name='bench-social'"), token=tok)["items"][0]
call("POST", "/api/collections/api_clients/records", {"workspace": key["workspace"], "name": "bench", "tier": "enterprise",
     "key": key["id"], "rpm": 1000000, "rpd": 100000000}, token=tok)
PY
      curl -fs -o /dev/null -H "Authorization: Bearer $SKEY" "$BASE/api/v1/social/instagram/benchshop?limit=12"
      load social -url "$BASE/api/v1/social/instagram/benchshop?limit=12" -H "Authorization: Bearer $SKEY" ;;
    crm-upsert) # Full Contact Data with 10 tags and 20 custom fields, a new subscriber per request
      load crm-upsert -url "$BASE/api/v1/manychat/contacts" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -body-template '{"id":"{{i}}1","first_name":"Ana","last_name":"Souza","ig_username":"ana{{i}}","email":"ana{{i}}@example.com","last_interaction":"2026-01-01T10:00:00Z","tags":[{"id":1,"name":"t0"},{"id":2,"name":"t1"},{"id":3,"name":"t2"},{"id":4,"name":"t3"},{"id":5,"name":"t4"},{"id":6,"name":"t5"},{"id":7,"name":"t6"},{"id":8,"name":"t7"},{"id":9,"name":"t8"},{"id":10,"name":"t9"}],"custom_fields":{"f0":"{{rand}}","f1":"v","f2":"v","f3":"v","f4":"v","f5":"v","f6":"v","f7":"v","f8":"v","f9":"v","f10":1,"f11":2,"f12":3,"f13":4,"f14":5,"f15":true,"f16":false,"f17":"2026-01-01","f18":"x","f19":"y"}}' ;;
    crm-messages) # a DM from a new subscriber per request, checked against 200 auto-reply rules (keywords,
                  # contains, regexes, conditions; as BenchmarkMessagesWith200Rules) of which none matches
      python3 - "$BASE" "$TOKEN" "$WS" <<'PY'
import json, sys, urllib.request
base, token, ws = sys.argv[1:4]
for i in range(200):
    body = {"workspace": ws, "name": f"rule {i}", "priority": i % 10, "enabled": True,
            "actions": [{"type": "reply", "text": f"Olá {{first_name}}, regra {i}"}]}
    body["match"], body["pattern"] = [("keyword", f"produto{i}, item{i}"), ("contains", f"quero o modelo {i}"),
                                      ("regex", rf"pedido\s*#?{i}\d{{3}}"), ("contains", f"preço {i}")][i % 4]
    if i % 4 == 3:
        body["conditions"] = {"tags_none": ["blocked"]}
    req = urllib.request.Request(base + "/api/collections/auto_reply_rules/records", method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": token})
    urllib.request.urlopen(req).read()
PY
      load crm-messages -url "$BASE/api/v1/manychat/messages" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -body-template '{"subscriber_id":"7{{i}}","text":"qual o preço?"}'
      # then open loop: BENCH_RATE DMs per second (default 1,000) on schedule, latency from each one's due time
      load "crm-messages-rate${BENCH_RATE:-1000}" -rate "${BENCH_RATE:-1000}" -url "$BASE/api/v1/manychat/messages" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' -body-template '{"subscriber_id":"8{{i}}","text":"qual o preço?"}'
      # and the usual case, DMs from known contacts: 2,000 subscribers, all created during the warmup
      load "crm-messages-known-rate${BENCH_RATE:-1000}" -rate "${BENCH_RATE:-1000}" -url "$BASE/api/v1/manychat/messages" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' -body-template '{"subscriber_id":"9{{i%2000}}","text":"qual o preço?"}' ;;
    events) # batches of 1,000 events through the ingest route; events/s = req/s × 1000
      python3 -c 'import json; print(json.dumps({"events": [{"type": "purchase", "subscriber_id": str(1000 + i % 200), "data": {"value": i % 90 + 10, "currency": "EUR", "campaign": "c%d" % (i % 5)}} for i in range(1000)]}))' >"$OUT/events-batch.json"
      load events-batch-1000 -url "$BASE/api/v1/events" -method POST -body-file "$OUT/events-batch.json" -H "Authorization: Bearer $EKEY" -H "Content-Type: application/json" ;;
    booking) # 50 clients booking one class: the first 1000 get a seat (201), then every answer is a 409 with
             # the nearest free times; each request runs the full availability check in the write transaction.
      read -r BTOOL BHELPER BSTART < <(booking_setup)
      load booking -url "$BASE/api/v1/bookings" -method POST -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
        -body-template "{\"tool\":\"$BTOOL\",\"helper\":\"$BHELPER\",\"start\":\"$BSTART\",\"subscriber_id\":\"{{i}}\",\"name\":\"Bench {{i}}\"}" \
        -expect 201,409 ;;
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
