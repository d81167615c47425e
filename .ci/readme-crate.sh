#!/usr/bin/env bash
# A new crate that depends on scimock as a user would (path dependency, default features
# off, the `entra` feature for the stand-in's examples) and holds every ```rust block of the README verbatim, one module each, as its tests.
# It must compile without warnings and pass, and its dependency tree must not contain clap. Offline: it uses
# the registry this build already downloaded.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CRATE=$(mktemp -d)/readme-user
mkdir -p "$CRATE/src" "$CRATE/tests"
cat > "$CRATE/Cargo.toml" <<TOML
[package]
name = "readme-user"
version = "0.0.0"
edition = "2021"
publish = false

[dev-dependencies]
scimock = { path = "$ROOT", default-features = false, features = ["entra"] }
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt"] }
TOML
echo "" > "$CRATE/src/lib.rs"
python3 - "$ROOT/README.md" "$CRATE/tests/readme.rs" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"^```rust\n(.*?)^```", text, flags=re.S | re.M)
out = []
for n, body in enumerate(blocks):
    if any(line.lstrip().startswith("# ") or line.strip() == "#" for line in body.splitlines()):
        sys.exit(f"README rust block {n + 1} has a hidden `# ` line")
    out.append(f"mod readme_block_{n + 1} {{\n{body}}}\n")
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out))
print(f"{len(blocks)} README rust blocks copied verbatim")
PY
cp "$ROOT/Cargo.lock" "$CRATE/Cargo.lock"
cd "$CRATE"
status=0
CARGO_TARGET_DIR="${README_TARGET:-$ROOT/target}" cargo test --offline > build.log 2>&1 || status=$?
grep -E "^test |test result" build.log || true
if [ "$status" -ne 0 ]; then cat build.log; exit "$status"; fi
# A user's build of scimock (and of the README's examples) prints no warning: cargo shows a
# path dependency's warnings, and replays them from its cache on a rebuild.
if grep -E "^warning" build.log; then
  grep -E -A8 "^warning" build.log; echo "warnings in a user's build"; exit 1
fi
echo "no warnings in a user's build"
if cargo tree --offline -e normal,dev --prefix none | grep -E "^(clap|tracing-subscriber|tracing-appender|mimalloc|indicatif|maud) v"; then
  echo "a default-features = false user gets CLI-only crates"; exit 1
fi
echo "no clap, tracing-subscriber, tracing-appender, mimalloc, indicatif or maud in the user's tree"
