#!/usr/bin/env bash
# The npm package's direct transports (webserial, webusb, smartcard; issue 18) in headless
# Chromium: builds the package (scripts/build-pkg), then pkg-tests/webtransport/run.mjs serves
# pkg/ on 127.0.0.1 and runs a page that imports the package's own adapters, with a fake
# navigator.serial / navigator.usb / navigator.smartCard injected (page.addInitScript) and the
# Rust reader emulators (GemPC Twin, PN532, USB CCID; the same ones proven against pcscd and
# libnfc by scripts/reader-tests.sh) compiled into the test-kit wasm behind them.
# Prints `ok NAME` / `FAIL NAME: why`, `note bench ...` and `webtransport: N failed`.
# SKIP_BUILD=1 reuses an existing pkg/.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_wasm_tools || { echo "FAIL setup: wasm tools"; exit 1; }
ensure_packages chromium || { echo "FAIL setup: chromium"; exit 1; }
if [ -z "${SKIP_BUILD:-}" ] || [ ! -f pkg/web/testkit.wasm ]; then
  bash scripts/build-pkg > /dev/null 2>"${TMPDIR:-/tmp}/webtransport-build.log" || { echo "FAIL build-pkg: $(tail -5 "${TMPDIR:-/tmp}/webtransport-build.log")"; exit 1; }
fi
node pkg-tests/webtransport/run.mjs "$PWD"
