#!/usr/bin/env python3
"""Scaling table and the SQLite scan comparison (BENCHMARKS.md "## Scaling").

127.0.0.1 only, bounded: for each size in SIZES (default 1000,10000,100000,1000000) and
each binary in SCIMOCK_BINS (default target/release/scimock; give an older build first
for a before/after in the same run) it starts `scimock serve --no-auth --seed` on SIZE
Entra-shaped users (benches/scan-stall.py's `user`), and measures:

- start-up: process start until /_mock/health answers (the seed is parsed, validated and
  indexed by then);
- RSS after start-up (VmRSS) and per user: (RSS - RSS of the same binary with an empty
  seed) / SIZE;
- GET /Users/{id} and an indexed filter (`userName eq`): median and p99 of POINT requests;
- an unindexed filter (`name.familyName eq "nobody"`, every user is read), `sortBy=userName
  &count=10` (the ordered index) and `sortBy=externalId&count=10` (top-k over a scan):
  median of REPEAT requests (3 at the largest size);
- the server's CPU time per unindexed scan (from /proc, less disturbed by other load
  than the wall time), beside SQLite's CPU time per scan (this process's), the two
  taking turns scan by scan, and their ratio;
- SQLite's own full scan of the same documents with `json_extract`
  (Python's sqlite3, an in-memory table of the compact JSON text, no index):
  `SELECT id FROM u WHERE json_extract(doc, '$.name.familyName') = 'nobody'`, median of
  REPEAT.

One request at a time on one keep-alive connection. Builds nothing: run `cargo build
--release --bin scimock` first. Prints a markdown table; writes target/scaling/results.md.
"""
import http.client
import importlib.util
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("scan_stall", os.path.join(ROOT, "benches/scan-stall.py"))
scan_stall = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scan_stall)

BINS = os.environ.get("SCIMOCK_BINS", os.path.join(ROOT, "target/release/scimock")).split(",")
SIZES = [int(s) for s in os.environ.get("SIZES", "1000,10000,100000,1000000").split(",")]
REPEAT = int(os.environ.get("REPEAT", "7"))
POINT = int(os.environ.get("POINT", "300"))
OUT = os.path.join(ROOT, "target/scaling")
PORT = 18096


def seed_file(n):
    path = os.path.join(ROOT, "target/scan-stall/seed-%d.json" % n)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        scan_stall.seed(path + ".tmp", n)
        os.replace(path + ".tmp", path)
    return path


def start(binary, seed_path):
    """The server on PORT with no journal, and its start-up time in seconds."""
    t0 = time.perf_counter()
    p = scan_stall.start(binary, seed_path, port=PORT, extra=("--journal-size", "0"), wait=600)
    return p, time.perf_counter() - t0


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ms(pid):
    """User + system CPU time of `pid` so far, in ms (10 ms ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def timed(conn, path):
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("%s answered %d" % (path, r.status))
    return (time.perf_counter() - t0) * 1000


def users_query(params):
    return "/scim/v2/Users?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def sqlite_db(n):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE u (id TEXT PRIMARY KEY, doc TEXT)")
    db.executemany("INSERT INTO u VALUES (?, ?)",
                   (("u%d" % i, json.dumps(scan_stall.user(i), separators=(",", ":")))
                    for i in range(1, n + 1)))
    db.commit()
    return db


SQLITE_SCAN = "SELECT id FROM u WHERE json_extract(doc, '$.name.familyName') = 'nobody'"


def scans(pid, conn, db, repeat):
    """The unindexed scan, scimock and SQLite taking turns (so a shared machine's drift
    hits both alike): wall-time medians and CPU time per scan (the server's from /proc,
    SQLite's from this process)."""
    path = users_query({"filter": 'name.familyName eq "nobody"'})
    ours, theirs, our_cpu, their_cpu = [], [], 0.0, 0.0
    for _ in range(repeat):
        c0 = cpu_ms(pid)
        ours.append(timed(conn, path))
        our_cpu += cpu_ms(pid) - c0
        c0, t0 = time.process_time(), time.perf_counter()
        db.execute(SQLITE_SCAN).fetchall()
        theirs.append((time.perf_counter() - t0) * 1000)
        their_cpu += (time.process_time() - c0) * 1000
    return (statistics.median(ours), our_cpu / repeat,
            statistics.median(theirs), their_cpu / repeat)


def measure(binary, n, empty_kb, db):
    repeat = REPEAT if n < 1000000 else min(REPEAT, 3)
    p, startup = start(binary, seed_file(n))
    try:
        time.sleep(0.5)
        kb = rss_kb(p.pid)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
        rng = random.Random(17)
        gets = [timed(conn, "/scim/v2/Users/u%d" % rng.randint(1, n)) for _ in range(POINT)]
        eqs = [timed(conn, users_query(
            {"filter": 'userName eq "Test_User_%08d@testuser.com"' % rng.randint(1, n)}))
            for _ in range(POINT)]

        def med(params):
            return statistics.median(timed(conn, users_query(params)) for _ in range(repeat))

        row = {
            "startup": startup, "rss": kb, "per_user": (kb - empty_kb) * 1024 / n,
            "get": (statistics.median(gets), scan_stall.pct(gets, 99)),
            "eq": (statistics.median(eqs), scan_stall.pct(eqs, 99)),
            "scans": scans(p.pid, conn, db, repeat),
            "sort_name": med({"sortBy": "userName", "count": "10"}),
            "sort_ext": med({"sortBy": "externalId", "count": "10"}),
        }
    finally:
        p.kill()
        p.wait()
    return row


def main():
    os.makedirs(OUT, exist_ok=True)
    empty = os.path.join(OUT, "empty.json")
    with open(empty, "w") as f:
        f.write('{"Users":[],"Groups":[]}')
    lines = ["| users | binary | start-up | RSS (per user) | GET by id p50 / p99 | "
             "`userName eq` p50 / p99 | unindexed filter (CPU) | SQLite json_extract scan (CPU) | "
             "SQLite CPU / scimock CPU | "
             "`sortBy=userName&count=10` | `sortBy=externalId&count=10` |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    empties = {}
    for binary in BINS:
        p, _ = start(binary, empty)
        time.sleep(0.5)
        empties[binary] = rss_kb(p.pid)
        p.kill()
        p.wait()
    for n in SIZES:
        db = sqlite_db(n)
        for binary in BINS:
            r = measure(binary, n, empties[binary], db)
            ours, our_cpu, theirs, their_cpu = r["scans"]
            line = ("| {:,} | {} | {:.2f} s | {:.0f} MiB ({:,.0f} B) | {:.2f} / {:.2f} ms | "
                    "{:.2f} / {:.2f} ms | {:.1f} ms ({:.1f}) | {:.1f} ms ({:.1f}) | {:.2f}× | {:.2f} ms | "
                    "{:.1f} ms |").format(
                n, os.path.basename(binary), r["startup"], r["rss"] / 1024, r["per_user"],
                r["get"][0], r["get"][1], r["eq"][0], r["eq"][1], ours, our_cpu,
                theirs, their_cpu, their_cpu / our_cpu if our_cpu else float("nan"),
                r["sort_name"], r["sort_ext"])
            print(line, flush=True)
            lines.append(line)
    lines.append("")
    lines.append("Empty-seed RSS: %s. %d CPUs, 127.0.0.1, one request at a time; medians of %d "
                 "(3 at 1,000,000 users), point reads %d each." % (
                     ", ".join("%s %d MiB" % (os.path.basename(b), kb / 1024)
                               for b, kb in empties.items()),
                     os.cpu_count(), REPEAT, POINT))
    scan_stall.report(OUT, lines)


if __name__ == "__main__":
    main()
