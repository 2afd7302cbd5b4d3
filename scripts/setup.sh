#!/usr/bin/env bash
# Shared set-up, sourced by scripts/test and scripts/demo: installs what a fresh machine lacks,
# idempotently (Debian packages as root; nothing is installed when it is already there).

ensure_packages() { # Debian package names
  local need=""
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
  [ -z "$need" ] && return 0
  echo "setup: installing$need"
  if [ "$(id -u)" != 0 ]; then echo "setup: need root to apt-get install$need" >&2; return 1; fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need) >/dev/null 2>&1 \
    || { echo "setup: apt-get install$need failed" >&2; return 1; }
}

ensure_rust() {
  command -v cargo >/dev/null || { echo "setup: cargo not found (rustup's stable toolchain is expected on this machine)" >&2; return 1; }
}

# Build-time needs of the crate (the pcsc crate links libpcsclite) plus the PC/SC test stack.
BUILD_PACKAGES=(pkg-config libpcsclite-dev)
PCSC_PACKAGES=(pcscd vsmartcard-vpcd opensc libccid pcsc-tools)
BROWSER_PACKAGES=(chromium)

# The wasm build: the wasm32 target, wasm-bindgen's CLI at exactly the crate's version, and
# wasm-opt from npm binaryen (Debian's binaryen 108 writes broken modules; toolchain.md).
WASM_BINDGEN_VERSION=0.2.130
ensure_wasm_tools() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown >/dev/null
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once per machine)"
    cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" >/dev/null 2>&1 || { echo "setup: wasm-bindgen-cli install failed" >&2; return 1; }
  fi
  ensure_node_modules
}

ensure_node_modules() {
  command -v npm >/dev/null || ensure_packages nodejs npm
  if [ ! -x pkg-tests/node_modules/.bin/wasm-opt ] || [ ! -x pkg-tests/node_modules/.bin/esbuild ] || [ ! -d pkg-tests/node_modules/playwright-core ] || [ ! -d pkg-tests/node_modules/ws ]; then
    (cd pkg-tests && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "setup: npm ci in pkg-tests failed" >&2; return 1; }
  fi
}

# The browser end-to-end suite (scripts/extension-tests.sh): headless Chromium and headless
# Firefox ESR; node/npm come from the machine (or Debian's nodejs and npm when absent).
EXTENSION_PACKAGES=(chromium firefox-esr)

# The relying-party kit's tests (scripts/rp-tests.sh): Redis for the shared nonce store, and
# headless Chromium for the demo site.
RP_PACKAGES=(redis-server chromium)

# pcscd (with vpcd, which listens on every interface) in a private network namespace when
# `unshare -n` works, else in the host's. Logs to $1. Sets NETNS (the command line), PCSCD_PID
# (the launcher), PCSCD_REAL (pcscd itself). Used by the card, extension and card-bench
# scripts; each decides first what to do about a pcscd that is already running.
start_pcscd() { # LOGFILE
  NETNS=(unshare -n sh -c 'ip link set lo up 2>/dev/null; exec pcscd -f')
  if ! unshare -n true 2>/dev/null; then NETNS=(pcscd -f); echo "note: unshare -n unavailable; pcscd runs in the host network namespace"; fi
  "${NETNS[@]}" > "$1" 2>&1 &
  PCSCD_PID=$!
  for _ in $(seq 50); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.1; done
  PCSCD_REAL=$(pgrep -n -x pcscd)
}

# Runs a command in pcscd's network namespace (after start_pcscd), replacing the calling
# (sub)shell so that $! is the command's own PID.
in_ns() { if [ "${NETNS[0]}" = unshare ]; then exec nsenter -t "$PCSCD_REAL" -n "$@"; else exec "$@"; fi; }
