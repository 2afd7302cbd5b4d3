#!/usr/bin/env bash
# Tests of the *built* npm package: builds it, packs it, installs the tarball by its name into
# pkg-tests/node_modules, then runs the Node tests (ESM and CommonJS) and the headless
# Chromium test. The shared case table comes from the native binary (hoviat test-cases).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_wasm_tools || exit 2
ensure_packages chromium || exit 2
bash scripts/build-pkg || { echo "FAIL build-pkg"; exit 1; }
cargo build -q --bin hoviat && target/debug/hoviat test-cases --out pkg-tests/cases.json > /dev/null || { echo "FAIL test-cases"; exit 1; }
TARBALL=$(cd pkg && npm pack --silent --pack-destination ../target 2>/dev/null | tail -1)
(cd pkg-tests && npm install --no-save --no-package-lock --no-audit --no-fund "../target/$TARBALL" >/dev/null 2>&1) || { echo "FAIL npm install $TARBALL"; exit 1; }
echo "pkg-tests: installed $TARBALL"
rc=0
(cd pkg-tests && node --test node/) || rc=1
(cd pkg-tests && node browser/run.mjs) || rc=1
exit $rc
