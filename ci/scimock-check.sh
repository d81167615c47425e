#!/usr/bin/env bash
# scimock-check.sh TENANT_URL: what a vendor's CI runs against its own SCIM endpoint with the
# `scimock` binary on the PATH (from the Python wheel, a release archive or cargo install).
#
#   1. `scimock validate --suite all`: Microsoft's SCIM Validator and Logic App tests, offline;
#   2. `scimock replay --dialect both`: Entra's request sequences in both PATCH dialects.
#
# Reports (JUnit for the CI's test view, JSON, and one HTML page each) go to
# $SCIMOCK_REPORTS (default ./scimock-reports). The bearer token comes from $SCIMOCK_TOKEN
# (unset for an endpoint without auth); it never reaches a report or the log.
#
# Exit status, the worst of the two runs: 0 every mandatory Validator test and every replay
# step passed; 1 something failed (the reports say what, and what Entra would do about it);
# 2 the endpoint could not be reached or the arguments were wrong.
# docs/ci.md shows it in GitHub Actions, GitLab CI and Azure Pipelines; scimock's own CI runs
# this very file against `scimock serve`.
set -u
url=${1:?usage: scimock-check.sh TENANT_URL   (token in SCIMOCK_TOKEN, reports in SCIMOCK_REPORTS)}
out=${SCIMOCK_REPORTS:-scimock-reports}
bin=${SCIMOCK_BIN:-scimock}
mkdir -p "$out"
if [ -z "${SCIMOCK_TOKEN:-}" ]; then unset SCIMOCK_TOKEN; fi

"$bin" validate "$url" --suite all \
  --report "junit=$out/validate.xml,json=$out/validate.json,html=$out/validate.html"
validate=$?
"$bin" replay "$url" --dialect both \
  --report "junit=$out/replay.xml,json=$out/replay.json,html=$out/replay.html"
replay=$?

worst=$validate
[ "$replay" -gt "$worst" ] && worst=$replay
echo "scimock-check: validate exited $validate, replay exited $replay; reports in $out/"
exit "$worst"
