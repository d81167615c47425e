#!/usr/bin/env bash
# The HTML report in a real browser: installs Debian's chromium when it is missing and apt-get
# can run as root, then runs the html_report tests (their browser test renders a report of a
# run against a broken endpoint with `chromium --headless --dump-dom`). Where chromium cannot
# be had it says so and exits 0: the browser test is skipped, not failed.
# `--install-only` stops after the install (.ci/run does that in the background, before
# the test suite, so the suite's own run of the browser test finds chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true CARGO_TERM_COLOR=never
started=$SECONDS

have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }

if ! have_chromium; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium not found: installing Debian's chromium with apt-get"
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >/tmp/html-report-apt.log 2>&1; then
      tail -n 5 /tmp/html-report-apt.log || true
      echo "skipped: the HTML report browser check (apt-get install -y chromium failed; log above)"
      exit 0
    fi
    echo "installed chromium in $((SECONDS - started)) s"
  else
    echo "skipped: the HTML report browser check (chromium not found, and apt-get is not available as root to install it)"
    exit 0
  fi
fi
"$(command -v chromium || command -v chromium-browser)" --version 2>/dev/null || true
[ "${1:-}" = --install-only ] && exit 0

cargo test --test testsuite html_report
echo "html report browser check: $((SECONDS - started)) s"
