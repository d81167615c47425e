#!/usr/bin/env python3
"""Durability benchmark for `scimock serve --state` (see BENCHMARKS.md "## Durable state").

127.0.0.1 only, bounded: builds nothing (run `cargo build --release --bin scimock` first),
writes everything under target/durability/.

1. Start-up from a 100,000-user seed into a new state database (first start), then the
   restart time of that database (until the port answers GET /_mock/health).
2. KILLS (default 20) rounds: start on the database, 4 client threads POST users for a
   random 0.3-1.5 s, SIGKILL, then `scimock state export` and check every acknowledged
   (201) user is in it. Prints acknowledged/lost per round.
3. POST /Users throughput with and without --state (wrk, 2 threads, 32 connections,
   DURATION seconds, same seed of 10,000 users), and their ratio.
"""
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SCIMOCK_BIN", os.path.join(ROOT, "target/release/scimock"))
OUT = os.path.join(ROOT, "target/durability")
KILLS = int(os.environ.get("KILLS", "20"))
DURATION = os.environ.get("DURATION", "10")
PORT = 18091


def seed(path, n):
    with open(path, "w") as f:
        f.write('{"Users":[')
        for i in range(1, n + 1):
            if i > 1:
                f.write(",")
            f.write(json.dumps({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-%012d" % i,
                "userName": "Test_User_%08d@testuser.com" % i,
                "active": True,
                "emails": [{"primary": True, "type": "work",
                            "value": "Test_User_%08d@testuser.com" % i}],
                "name": {"formatted": "givenName familyName",
                         "familyName": "familyName", "givenName": "givenName"},
            }))
        f.write('],"Groups":[]}')


def start(args):
    p = subprocess.Popen([BIN, "serve", "--no-auth", "--listen", "127.0.0.1:%d" % PORT] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            c.request("GET", "/_mock/health")
            if c.getresponse().status == 200:
                return p, time.monotonic() - t0
        except OSError:
            time.sleep(0.02)
        if p.poll() is not None:
            sys.exit("server exited with %s" % p.returncode)
    sys.exit("server never answered")


def client(tag, acked, stop):
    n = 0
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
    while not stop.is_set():
        n += 1
        body = json.dumps({"userName": "k%s-%d@bench.test" % (tag, n)})
        try:
            conn.request("POST", "/scim/v2/Users", body, {"Content-Type": "application/scim+json"})
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            return
        if r.status == 201:
            acked.append((json.loads(data)["id"], time.monotonic()))


def export_ids(db):
    out = subprocess.run([BIN, "state", "export", db], capture_output=True, check=True)
    return {u["id"] for u in json.loads(out.stdout)["Users"]}


def wrk_post(args, label):
    lua = os.path.join(OUT, "post.lua")
    with open(lua, "w") as f:
        f.write('local c = 0\nlocal n = 0\n'
                'function setup(t) t:set("tid", n); n = n + 1 end\n'
                'function request() c = c + 1\n'
                '  return wrk.format("POST", nil, {["Content-Type"]="application/scim+json"},\n'
                '    string.format(\'{"userName":"w_%d_%d@bench.test"}\', tid, c)) end\n')
    p, _ = start(args)
    try:
        out = subprocess.run(["wrk", "-t2", "-c32", "-d%ss" % DURATION, "--latency", "-s", lua,
                              "http://127.0.0.1:%d/scim/v2/Users" % PORT],
                             capture_output=True, text=True, check=True).stdout
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
    rps = float([l for l in out.splitlines() if l.startswith("Requests/sec")][0].split()[1])
    p99 = [l for l in out.splitlines() if l.strip().startswith("99%")][0].split()[1]
    non2xx = [l for l in out.splitlines() if "Non-2xx" in l]
    print("%s: %.0f req/s, p99 %s %s" % (label, rps, p99, non2xx[0].strip() if non2xx else ""))
    return rps


def main():
    os.makedirs(OUT, exist_ok=True)
    s100k = os.path.join(OUT, "seed-100k.json")
    if not os.path.exists(s100k):
        seed(s100k, 100_000)
    db = os.path.join(OUT, "state-100k.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    p, first = start(["--seed", s100k, "--state", db])
    p.send_signal(signal.SIGTERM)
    p.wait()
    print("first start from the 100k seed into a new database: %.2f s" % first)
    restarts = []
    for _ in range(3):
        p, t = start(["--state", db])
        restarts.append(t)
        p.send_signal(signal.SIGTERM)
        p.wait()
    print("restart with 100,000 users: %s s" % ", ".join("%.2f" % t for t in restarts))

    all_acked = set()
    oldest_lost = 0.0
    total_lost = 0
    for k in range(KILLS):
        p, t = start(["--state", db])
        acked, stop = [], threading.Event()
        threads = [threading.Thread(target=client, args=("%d-%d" % (k, c), acked, stop))
                   for c in range(4)]
        for th in threads:
            th.start()
        time.sleep(random.uniform(0.3, 1.5))
        p.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        p.wait()
        stop.set()
        for th in threads:
            th.join()
        stored = export_ids(db)
        lost = [(i, killed - at) for i, at in acked if i not in stored]
        total_lost += len(lost)
        oldest_lost = max([oldest_lost] + [age for _, age in lost])
        all_acked.update(i for i, _ in acked)
        print("kill %2d: start %.2f s, %5d acknowledged, %d lost, %d users stored"
              % (k + 1, t, len(acked), len(lost), len(stored)))
    print("%d kills: %d acknowledged writes, %d lost (oldest lost %.3f s before the kill)"
          % (KILLS, len(all_acked), total_lost, oldest_lost))

    s10k = os.path.join(OUT, "seed-10k.json")
    if not os.path.exists(s10k):
        seed(s10k, 10_000)
    ratios = []
    for _ in range(2):
        mem = wrk_post(["--seed", s10k], "POST without --state")
        dbt = os.path.join(OUT, "state-10k.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(dbt + suffix):
                os.remove(dbt + suffix)
        dur = wrk_post(["--seed", s10k, "--state", dbt], "POST with --state")
        ratios.append(dur / mem)
    print("POST throughput with --state / without: %s" % ", ".join("%.2f" % r for r in ratios))
    return 1 if total_lost else 0


if __name__ == "__main__":
    sys.exit(main())
