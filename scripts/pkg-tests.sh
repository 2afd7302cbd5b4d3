#!/usr/bin/env bash
# Tests of the *built* npm package: builds it, packs it, installs the tarball by its name into
# pkg-tests/node_modules, then runs the Node tests (ESM and CommonJS) and the headless
# Chromium test; then installs the same tarball into pkg-tests/apps (pinned Vite, webpack,
# TypeScript, attw, Jest) and runs pkg-tests/apps/run.mjs: Vite and webpack apps served on
# 127.0.0.1 under a strict CSP in headless Chromium, a stricter CSP, Vite SSR (noExternal),
# Node ESM + CJS as one copy, TypeScript strict (nodenext, node16), attw, Jest and Vitest jsdom,
# vite dev.
# The shared case table comes from the native binary (hoviat test-cases).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_wasm_tools || exit 2
ensure_packages chromium || exit 2
bash scripts/build-pkg || { echo "FAIL build-pkg"; exit 1; }
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q --bin hoviat && "$TARGET/debug/hoviat" test-cases --out pkg-tests/cases.json > /dev/null || { echo "FAIL test-cases"; exit 1; }
mkdir -p target
TARBALL=$(cd pkg && npm pack --silent --pack-destination ../target 2>/dev/null | tail -1)
(cd pkg-tests && npm install --no-save --no-package-lock --no-audit --no-fund "../target/$TARBALL" >/dev/null 2>&1) || { echo "FAIL npm install $TARBALL"; exit 1; }
if [ ! -x pkg-tests/apps/node_modules/.bin/vite ] || [ ! -x pkg-tests/apps/node_modules/.bin/vitest ]; then
  (cd pkg-tests/apps && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "FAIL npm ci in pkg-tests/apps"; exit 1; }
fi
(cd pkg-tests/apps && npm install --no-save --no-package-lock --no-audit --no-fund "../../target/$TARBALL" >/dev/null 2>&1) || { echo "FAIL npm install $TARBALL (apps)"; exit 1; }
echo "pkg-tests: tarball $(wc -c < "target/$TARBALL") B, $(tar tzf "target/$TARBALL" | wc -l) files"
echo "pkg-tests: installed $TARBALL"
rc=0
(cd pkg-tests && node --test node/) || rc=1
(cd pkg-tests && node browser/run.mjs) || rc=1
(cd pkg-tests/apps && node run.mjs "$PWD/../../target/$TARBALL") || rc=1
exit $rc
