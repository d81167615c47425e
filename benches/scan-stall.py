#!/usr/bin/env python3
"""Do point reads wait behind long scans? (BENCHMARKS.md "## Point reads beside scans").

127.0.0.1 only, bounded (DURATION seconds per binary). Builds nothing: run
`cargo build --release --bin scimock` first. For each binary in SCIMOCK_BINS (default:
target/release/scimock; give an older build first for a before/after in the same run):

1. start `scimock serve --no-auth` on a seed of USERS Entra-shaped users;
2. GET /Users/{id} alone for DURATION seconds: p50/p99 latency, the quiet baseline;
3. the same while SCANS threads (default 4) each POST /Users/.search with an unindexed
   filter (`name.familyName eq "nobody"`, every user is read) in a loop: p50/p99 of the
   GETs, and how many scans finished.

Prints a markdown table and writes it to target/scan-stall/results.md.
"""
import http.client
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINS = os.environ.get("SCIMOCK_BINS", os.path.join(ROOT, "target/release/scimock")).split(",")
USERS = int(os.environ.get("USERS", "100000"))
SCANS = int(os.environ.get("SCANS", "4"))
DURATION = float(os.environ.get("DURATION", "10"))
OUT = os.path.join(ROOT, "target/scan-stall")
PORT = 18095


def user(i):
    """User number i, id `u<i>`, shaped like the users Entra's provisioning service creates."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "u%d" % i,
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-%012d" % i,
        "userName": "Test_User_%08d@testuser.com" % i,
        "active": True,
        "emails": [{"primary": True, "type": "work",
                    "value": "Test_User_%08d@testuser.com" % i}],
        "name": {"formatted": "givenName familyName",
                 "familyName": "familyName", "givenName": "givenName"},
    }


def seed(path, n):
    with open(path, "w") as f:
        f.write('{"Users":[')
        for i in range(1, n + 1):
            f.write("," if i > 1 else "")
            f.write(json.dumps(user(i)))
        f.write('],"Groups":[]}')


def start(binary, seed_path, port=PORT, extra=(), wait=120):
    """`scimock serve --no-auth` on 127.0.0.1:`port` with the seed; returns the process
    once /_mock/health answers."""
    p = subprocess.Popen([binary, "serve", "--no-auth", "--listen", "127.0.0.1:%d" % port,
                          "--seed", seed_path, *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/_mock/health")
            if c.getresponse().status == 200:
                return p
        except OSError:
            time.sleep(0.02)
        if p.poll() is not None:
            sys.exit("%s exited with %s" % (binary, p.returncode))
    p.kill()
    sys.exit("%s never answered" % binary)


def gets(seconds):
    """GET by id in a loop for `seconds`; the latencies in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    out, i, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        i += 1
        t0 = time.perf_counter()
        conn.request("GET", "/scim/v2/Users/u%d" % (i % USERS + 1))
        r = conn.getresponse()
        r.read()
        out.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            sys.exit("GET answered %d" % r.status)
    return out


def scanner(stop, done):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                       "filter": 'name.familyName eq "nobody"', "count": 10})
    while not stop.is_set():
        conn.request("POST", "/scim/v2/Users/.search", body,
                     {"Content-Type": "application/scim+json"})
        r = conn.getresponse()
        r.read()
        if r.status == 200:
            done.append(1)


def report(out_dir, lines):
    """Prints the table and writes it to `out_dir`/results.md."""
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text + "\n")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def main():
    os.makedirs(OUT, exist_ok=True)
    seed_path = os.path.join(OUT, "seed-%d.json" % USERS)
    if not os.path.exists(seed_path):
        seed(seed_path, USERS)
    rows = []
    for binary in BINS:
        p = start(binary, seed_path)
        try:
            quiet = gets(DURATION)
            stop, done = threading.Event(), []
            threads = [threading.Thread(target=scanner, args=(stop, done)) for _ in range(SCANS)]
            for t in threads:
                t.start()
            time.sleep(0.5)  # every scanner has a scan under way
            loaded = gets(DURATION)
            stop.set()
            for t in threads:
                t.join()
        finally:
            p.kill()
            p.wait()
        rows.append((binary, quiet, loaded, len(done)))
    lines = ["| binary | GET by id alone p50 / p99 | beside %d scans p50 / p99 | GETs | scans done |"
             % SCANS, "|---|---|---|---|---|"]
    for binary, quiet, loaded, scans in rows:
        lines.append("| %s | %.2f / %.2f ms | %.2f / %.2f ms | %d | %d |" % (
            os.path.relpath(binary, ROOT), pct(quiet, 50), pct(quiet, 99),
            pct(loaded, 50), pct(loaded, 99), len(loaded), scans))
    lines.append("")
    lines.append("%d Entra-shaped users, %g s per phase, %d CPUs, 127.0.0.1; client and server "
                 "share the CPUs." % (USERS, DURATION, os.cpu_count()))
    report(OUT, lines)


if __name__ == "__main__":
    main()
