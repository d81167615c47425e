#!/usr/bin/env bash
# Initial provisioning cycle of N users and G groups against `scimock serve` on 127.0.0.1:
# generates a Graph-shaped directory (every group assigned, each user a direct member of one
# group), runs `scimock provision` once, and prints wall time and peak RSS of both
# processes. Usage: benches/provision-load.sh [USERS] [GROUPS]   (defaults 100000 1000)
# Needs a release build: cargo build --release --bin scimock
# SCIMOCK=path picks another binary (an older build for a before/after pair);
# CONCURRENCY=N passes --concurrency N (else the binary's default).
set -euo pipefail
users=${1:-100000}
groups=${2:-1000}
bin=${SCIMOCK:-target/release/scimock}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$users" "$groups" > "$work/directory.json" <<'PY'
import json, sys
n, g = int(sys.argv[1]), int(sys.argv[2])
users = [{"id": f"u{i:06}", "userPrincipalName": f"user{i}@contoso.test", "mail": f"user{i}@contoso.test",
          "mailNickname": f"user{i}", "givenName": f"Given{i}", "surname": f"Sur{i}",
          "displayName": f"User {i}", "jobTitle": "Engineer", "department": f"D{i % 50}",
          "employeeId": str(100000 + i), "accountEnabled": True,
          **({"manager": {"id": f"u{i - i % 10:06}"}} if i % 10 else {})} for i in range(n)]
groups = [{"id": f"g{j:05}", "displayName": f"Group {j}", "mailNickname": f"group{j}",
           "members": [f"u{i:06}" for i in range(j, n, g)]} for j in range(g)]
assignments = [{"principalId": f"g{j:05}", "principalType": "Group"} for j in range(g)]
json.dump({"users": users, "groups": groups, "assignments": assignments}, sys.stdout)
PY
port=$((20000 + RANDOM % 20000))
"$bin" serve --listen "127.0.0.1:$port" --token t --journal-size 0 > "$work/server.log" 2>&1 &
server=$!
sleep 1
extra=()
if [ -n "${CONCURRENCY:-}" ]; then extra+=(--concurrency "$CONCURRENCY"); fi
start=$(date +%s.%N)
/usr/bin/time -f "engine: %e s wall, %U s user, %S s sys, peak RSS %M KiB" \
  "$bin" provision "http://127.0.0.1:$port/scim/v2" --token t --directory "$work/directory.json" \
  --state "$work/state.json" "${extra[@]}" || true
end=$(date +%s.%N)
echo "cycle wall time: $(echo "$end - $start" | bc) s for $users users, $groups groups"
echo "server: peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")," \
  "CPU $(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f s user, %.2f s sys", $14 / hz, $15 / hz}' "/proc/$server/stat")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -INT "$server"; wait "$server" 2>/dev/null || true
