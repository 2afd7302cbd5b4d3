#!/usr/bin/env bash
# E-signatures in the npm package (issue 19): builds the package (scripts/build-pkg), installs
# the tarball into pkg-tests, then
#  - Node: verifySignature on CMS made by `openssl cms -sign` with the test registry's keys
#    (attached, detached, SHA-1 refused by default and accepted with the opt-in, a mutated one,
#    revoked), on the node, webcrypto and wasm backends, each verdict equal to
#    `hoviat verify-signature`'s (pkg-tests/node/cms.test.mjs); verifyPdfSignatures likewise on
#    PDFs signed by pyHanko (RSA, EC, revoked, a signed byte changed, bytes appended), against
#    `hoviat verify-signature --pdf` (pkg-tests/esign/pdf-cases.mjs), in Node and Chromium;
#  - headless Chromium against the FAKE Dastine service (test equipment,
#    pkg-tests/dastine/fake-dastine.mjs): CmsSign and NIDSign -> verifySignature accepts, every
#    Dastine error and client state -> its code and Persian/English sentence, http and https
#    page variants (pkg-tests/dastine/run.mjs).
# Prints `ok NAME` / `FAIL NAME` lines and a last line `esign: N failed`.
# SKIP_BUILD=1 reuses pkg/ as built.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_wasm_tools || exit 2
ensure_packages chromium openssl python3 || exit 2
# pyHanko signs the PDFs of verifyPdfSignatures' cases (pkg-tests/esign/pdf-cases.mjs), as in cms-tests.sh.
python3 -c 'import pyhanko' 2>/dev/null || {
  echo "installing pyhanko (PyPI)" >&2
  pip install --quiet "pyhanko==0.38.0" >/dev/null 2>&1 || python3 -m pip install --quiet --break-system-packages "pyhanko==0.38.0" >/dev/null 2>&1
}
python3 -c 'import pyhanko' 2>/dev/null || { echo "FAIL setup: cannot install pyhanko"; echo "esign: 1 failed"; exit 1; }
[ -d pkg-tests/node_modules/ws ] || (cd pkg-tests && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "FAIL npm ci in pkg-tests"; echo "esign: 1 failed"; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ "${SKIP_BUILD:-}" != 1 ] || [ ! -f pkg/package.json ]; then
  bash scripts/build-pkg >/dev/null || { echo "FAIL build-pkg"; echo "esign: 1 failed"; exit 1; }
fi
cargo build -q --bin hoviat || { echo "FAIL cargo build"; echo "esign: 1 failed"; exit 1; }
export HOVIAT_BIN=$TARGET/debug/hoviat
mkdir -p target
TARBALL=$(cd pkg && npm pack --silent --pack-destination ../target 2>/dev/null | tail -1)
(cd pkg-tests && npm install --no-save --no-package-lock --no-audit --no-fund "../target/$TARBALL" >/dev/null 2>&1) \
  || { echo "FAIL npm install $TARBALL"; echo "esign: 1 failed"; exit 1; }
FAILED=0
OUT=$(mktemp)
(cd pkg-tests && node --test --test-reporter=tap node/cms.test.mjs) > "$OUT" 2>&1
rc=$?
grep -E '^(not )?ok [0-9]+ - ' "$OUT" | grep -v '^ok [0-9]* - .*# SKIP' | sed -E 's/^ok [0-9]+ - /ok node: /; s/^not ok [0-9]+ - /FAIL node: /'
grep -q '# SKIP' "$OUT" && { echo "FAIL node: skipped (no native binary)"; FAILED=$((FAILED + 1)); }
if [ $rc -ne 0 ]; then
  FAILED=$((FAILED + 1))
  grep -E -A12 '^not ok' "$OUT" | head -60
fi
rm -f "$OUT"
DOUT=$(mktemp)
(cd pkg-tests && node dastine/run.mjs) > "$DOUT" 2>&1
rc=$?
grep -E "^(ok|FAIL) " "$DOUT"
[ $rc -eq 0 ] || { FAILED=$((FAILED + 1)); grep -v -E "^(ok|FAIL) " "$DOUT" | tail -20; }
rm -f "$DOUT"
echo "esign: $FAILED failed"
[ "$FAILED" -eq 0 ]
