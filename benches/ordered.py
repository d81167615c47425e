#!/usr/bin/env python3
"""Ordered index and top-k sorts at 100,000 users (BENCHMARKS.md "## Ordered index").

127.0.0.1 only, bounded (REPEAT requests per query per binary). Builds nothing: run
`cargo build --release --bin scimock` first. For each binary in SCIMOCK_BINS (default:
target/release/scimock; give an older build first for a before/after in the same run),
starts `scimock serve --no-auth` on the seed benches/scan-stall.py writes (USERS
Entra-shaped users, ids u1..uN) and times each query below, one at a time: the median and
the best of REPEAT. Prints a markdown table; writes target/ordered/results.md.
"""
import http.client
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("scan_stall", os.path.join(ROOT, "benches/scan-stall.py"))
scan_stall = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scan_stall)

BINS = os.environ.get("SCIMOCK_BINS", os.path.join(ROOT, "target/release/scimock")).split(",")
USERS = int(os.environ.get("USERS", "100000"))
REPEAT = int(os.environ.get("REPEAT", "9"))
OUT = os.path.join(ROOT, "target/ordered")

QUERIES = [
    ("unindexed filter (scan): name.familyName eq \"nobody\"",
     {"filter": 'name.familyName eq "nobody"'}),
    ("userName sw \"Test_User_0000012\"",
     {"filter": 'userName sw "Test_User_0000012"'}),
    ("userName gt \"Test_User_00099990\"",
     {"filter": 'userName gt "Test_User_00099990"'}),
    ("sortBy=userName&count=10", {"sortBy": "userName", "count": "10"}),
    ("sortBy=userName&sortOrder=descending&count=10",
     {"sortBy": "userName", "sortOrder": "descending", "count": "10"}),
    ("sortBy=externalId&count=10 (top-k over a scan)", {"sortBy": "externalId", "count": "10"}),
]


def timed(conn, params):
    path = "/scim/v2/Users?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("%s answered %d" % (path, r.status))
    return (time.perf_counter() - t0) * 1000


def main():
    os.makedirs(OUT, exist_ok=True)
    seed_path = os.path.join(ROOT, "target/scan-stall/seed-%d.json" % USERS)
    if not os.path.exists(seed_path):
        os.makedirs(os.path.dirname(seed_path), exist_ok=True)
        scan_stall.seed(seed_path, USERS)
    results = {}
    for binary in BINS:
        p = scan_stall.start(binary, seed_path)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", scan_stall.PORT, timeout=120)
            for label, params in QUERIES:
                times = [timed(conn, params) for _ in range(REPEAT)]
                results[(binary, label)] = (statistics.median(times), min(times))
        finally:
            p.kill()
            p.wait()
    head = "| query | " + " | ".join("%s median / best" % os.path.basename(b) for b in BINS) + " |"
    lines = [head, "|---|" + "---|" * len(BINS)]
    for label, _ in QUERIES:
        cells = ["%.2f / %.2f ms" % results[(b, label)] for b in BINS]
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("")
    lines.append("%d Entra-shaped users, %d requests per query, one at a time, %d CPUs, "
                 "127.0.0.1." % (USERS, REPEAT, os.cpu_count()))
    scan_stall.report(OUT, lines)


if __name__ == "__main__":
    main()
