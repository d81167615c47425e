#!/usr/bin/env bash
# Load benchmark for `scimock serve` on loopback (see BENCHMARKS.md "## Server load").
# Installs wrk if missing, builds release, starts a hyper hello-world baseline
# (examples/hello.rs) and the server seeded with 10,000 users, runs bounded wrk runs
# (DURATION each, 2 threads, 32 connections, 127.0.0.1 only) and measures RSS with
# 100,000 Entra-shaped users. Prints a markdown table; also writes target/load/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
THREADS=2
CONNS=32
PORT_BASE=18081
PORT_SCIM=18082
PORT_RSS=18083
TOKEN=bench-token
OUT=target/load
mkdir -p "$OUT"

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update
  apt-get install -y wrk
fi

# SCIMOCK_BIN=path runs another scimock binary (e.g. an older build, for before/after
# figures measured under the same conditions); the baseline is always examples/hello.rs.
cargo build --release --bin scimock --example hello
SCIMOCK=${SCIMOCK_BIN:-./target/release/scimock}

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# --- seed files ---------------------------------------------------------------------
# 10,000 users (u1..u10000), 1,000 spare users (x1..x1000) for membership changes,
# group g10 with 10 members and g10k with 10,000 members.
awk -v n=10000 -v spare=1000 'BEGIN {
  printf "{\"Users\":["
  for (i = 1; i <= n + spare; i++) {
    id = (i <= n) ? sprintf("u%d", i) : sprintf("x%d", i - n)
    printf "%s{\"id\":\"%s\",\"userName\":\"%s@bench.test\",\"active\":true}", (i > 1 ? "," : ""), id, id
  }
  printf "],\"Groups\":["
  printf "{\"id\":\"g10\",\"displayName\":\"g10\",\"members\":["
  for (i = 1; i <= 10; i++) printf "%s{\"value\":\"u%d\"}", (i > 1 ? "," : ""), i
  printf "]},{\"id\":\"g10k\",\"displayName\":\"g10k\",\"members\":["
  for (i = 1; i <= n; i++) printf "%s{\"value\":\"u%d\"}", (i > 1 ? "," : ""), i
  printf "]}]}"
}' > "$OUT/seed-10k.json"

# 100,000 users shaped like Entra's create request (entra-provisioning.md §1.1).
awk -v n=100000 'BEGIN {
  printf "{\"Users\":["
  for (i = 1; i <= n; i++) {
    printf "%s{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],", (i > 1 ? "," : "")
    printf "\"externalId\":\"0a21f0f2-8d2a-4f8e-bf98-%012d\",\"userName\":\"Test_User_%08d@testuser.com\",\"active\":true,", i, i
    printf "\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"Test_User_%08d@testuser.com\"}],", i
    printf "\"meta\":{\"resourceType\":\"User\"},\"name\":{\"formatted\":\"givenName familyName\",\"familyName\":\"familyName\",\"givenName\":\"givenName\"},\"roles\":[]}"
  }
  printf "],\"Groups\":[]}"
}' > "$OUT/seed-100k.json"

wait_for() { # port
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $1 never opened" >&2; return 1
}

# --- wrk helpers --------------------------------------------------------------------
cat > "$OUT/post_users.lua" <<'LUA'
local counter = 0
local next_id = 0
function setup(thread) thread:set("tid", next_id); next_id = next_id + 1 end
function request()
  counter = counter + 1
  local body = string.format('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"load_%d_%d@bench.test","active":true}', tid, counter)
  return wrk.format("POST", nil, nil, body)
end
LUA
cat > "$OUT/patch_member.lua" <<'LUA'
-- Alternates adding and removing one spare user, so every request changes membership.
local counter = 0
local next_id = 0
function setup(thread) thread:set("tid", next_id); next_id = next_id + 1 end
function request()
  counter = counter + 1
  local member = string.format("x%d", ((math.floor(counter / 2) * 7 + tid * 500) % 1000) + 1)
  local op = (counter % 2 == 0) and "Add" or "Remove"
  local body = string.format('{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"%s","path":"members","value":[{"$ref":null,"value":"%s"}]}]}', op, member)
  return wrk.format("PATCH", nil, nil, body)
end
LUA

RESULTS=()
run_wrk() { # label url [lua]
  local label=$1 url=$2 script=${3:-}
  local args=(-t"$THREADS" -c"$CONNS" -d"$DURATION" --latency
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json")
  [ -n "$script" ] && args+=(-s "$script")
  local out; out=$(wrk "${args[@]}" "$url")
  echo "$out" > "$OUT/$(echo "$label" | tr -c 'a-zA-Z0-9' '_').txt"
  local rps p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  RESULTS+=("$label|$rps|$p99|${non2xx:-0}")
  echo "$label: $rps req/s, p99 $p99, non-2xx ${non2xx:-0}" >&2
}

# --- baseline -----------------------------------------------------------------------
./target/release/examples/hello "127.0.0.1:$PORT_BASE" >/dev/null & PIDS+=($!)
wait_for $PORT_BASE
run_wrk "baseline hello" "http://127.0.0.1:$PORT_BASE/"

# --- scimock with 10,000 users ------------------------------------------------------
"$SCIMOCK" serve --listen "127.0.0.1:$PORT_SCIM" --token "$TOKEN" \
  --seed "$OUT/seed-10k.json" --journal-size 1000 >/dev/null 2>"$OUT/serve.log" & PIDS+=($!)
wait_for $PORT_SCIM
B="http://127.0.0.1:$PORT_SCIM/scim/v2"
run_wrk "GET /Users/{id}" "$B/Users/u5000"
run_wrk "GET /Users?filter=userName eq (hit)" "$B/Users?filter=userName+eq+%22u5000@bench.test%22"
run_wrk "GET /Users?filter (test-connection miss)" "$B/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22"
run_wrk "PATCH member add/remove, group of 10" "$B/Groups/g10" "$OUT/patch_member.lua"
run_wrk "PATCH member add/remove, group of 10,000" "$B/Groups/g10k" "$OUT/patch_member.lua"
run_wrk "POST /Users" "$B/Users" "$OUT/post_users.lua"

# --- RSS with 100,000 users ---------------------------------------------------------
"$SCIMOCK" serve --listen "127.0.0.1:$PORT_RSS" --token "$TOKEN" \
  --seed "$OUT/seed-100k.json" >/dev/null 2>/dev/null & RSS_PID=$!; PIDS+=($RSS_PID)
wait_for $PORT_RSS
sleep 1
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$RSS_PID/status")

# --- report -------------------------------------------------------------------------
BASE_RPS=$(echo "${RESULTS[0]}" | cut -d'|' -f2)
{
  echo "| scenario | req/s | × baseline | p99 | non-2xx |"
  echo "|---|---:|---:|---:|---:|"
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r label rps p99 non2xx <<<"$r"
    ratio=$(awk -v a="$rps" -v b="$BASE_RPS" 'BEGIN { printf "%.2f", a / b }')
    echo "| $label | $rps | $ratio | $p99 | $non2xx |"
  done
  echo
  echo "RSS with 100,000 Entra-shaped users: $((RSS_KB / 1024)) MB (VmRSS $RSS_KB kB)"
  echo
  echo "wrk: $THREADS threads, $CONNS connections, $DURATION per run, 127.0.0.1; $(nproc) CPUs; wrk and server share them."
} | tee "$OUT/results.md"
