#!/usr/bin/env python3
"""The stand-in's client against a hostile endpoint: peak RSS, wall time and what it
writes (BENCHMARKS.md "## A hostile endpoint").

127.0.0.1 only, bounded (one run of each command per binary and mode). Builds nothing: run
`cargo build --bin scimock` (or `--release`) first. For each binary in SCIMOCK_BINS
(default: target/debug/scimock; give an older build first for a before/after in the same
run) and each mode in MODES, starts the endpoint below in this process and runs `scimock
replay`, `scimock validate` and `scimock provision` (testdata/provision/directory.json)
against it with every report each writes, under `/usr/bin/time -v` (apt-get install time).
Prints a markdown table: exit code, peak RSS, wall time, bytes written (reports and stdout).

Modes:
  big      every answer is 200 with a 256 MB body, its length announced, streamed.
  chunked  the same 256 MB chunked, no length announced: read up to --max-body.
  flood    user queries find nothing (provision's probe passes, it goes on to create);
           every other answer is 400 with a 2 MiB `detail` and a 2 MiB `scimType`, group
           queries 500 with a 2 MiB text body; the bearer token all through them.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINS = os.environ.get("SCIMOCK_BINS", os.path.join(ROOT, "target/debug/scimock")).split(",")
MODES = os.environ.get("MODES", "big,chunked,flood").split(",")
TOKEN = "tok-3f9c2a7e1b5d4c8a9e6f0b1c2d3e4f5a"
SIZE = 256 * 1000 * 1000
CHUNK = b"0" * (1 << 20)
PERIOD = "€€€€€ %s " % TOKEN
FLOOD = PERIOD * ((2 << 20) // len(PERIOD.encode()) + 1)
ERROR = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "400", "scimType": FLOOD, "detail": FLOOD},
                   ensure_ascii=False).encode()
TEXT = FLOOD.encode()
LIST = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                   "totalResults": 0, "Resources": []}).encode()


class Endpoint(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "big"

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        try:
            if self.mode == "flood":
                self.flood()
            else:
                self.huge(chunked=self.mode == "chunked")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def huge(self, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "application/scim+json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(SIZE))
        self.end_headers()
        left = SIZE
        while left > 0:
            k = min(left, len(CHUNK))
            self.wfile.write(b"%x\r\n" % k + CHUNK[:k] + b"\r\n" if chunked else CHUNK[:k])
            left -= k
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def flood(self):
        path = self.path.split("/scim/v2", 1)[-1]
        if self.command == "GET" and path.startswith("/Users?"):
            status, content_type, body = 200, "application/scim+json", LIST
        elif self.command == "GET" and path.startswith("/Groups?"):
            status, content_type, body = 500, "text/plain", TEXT
        else:
            status, content_type, body = 400, "application/scim+json", ERROR
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = answer


def run(binary, command, url, out):
    reports = ["json=%s/r.json" % out, "junit=%s/r.xml" % out, "html=%s/r.html" % out]
    args = [command, url, "--token", TOKEN]
    if command == "provision":
        args += ["--directory", os.path.join(ROOT, "testdata/provision/directory.json")]
        reports.append("csv=%s/r.csv" % out)
    args += ["--report", ",".join(reports)]
    timing = os.path.join(out, "time")
    with open(os.path.join(out, "stdout"), "wb") as stdout:
        code = subprocess.call(["/usr/bin/time", "-v", "-o", timing, binary] + args,
                               stdout=stdout, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, NO_COLOR="1"), timeout=600)
    text = open(timing).read()
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    written = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if f != "time")
    return code, rss_kb, wall, written


def main():
    if not os.path.exists("/usr/bin/time"):
        sys.exit("needs /usr/bin/time (apt-get install time)")
    print("| binary | mode | command | exit | peak RSS | wall | written |")
    print("|---|---|---|---|---|---|---|")
    for mode in MODES:
        Endpoint.mode = mode
        server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = "http://127.0.0.1:%d/scim/v2" % server.server_address[1]
        for binary in BINS:
            for command in ["replay", "validate", "provision"]:
                out = tempfile.mkdtemp(prefix="scimock-hostile-")
                try:
                    code, rss_kb, wall, written = run(binary, command, url, out)
                finally:
                    shutil.rmtree(out, ignore_errors=True)
                print("| %s | %s | %s | %d | %.0f MB | %s | %.1f MB |" % (
                    binary, mode, command, code, rss_kb * 1024 / 1e6, wall, written / 1e6),
                    flush=True)
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
