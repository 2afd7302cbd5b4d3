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
# The browser end-to-end suite (scripts/extension-tests.sh): headless Chromium; node/npm come
# from the machine (or Debian's nodejs and npm when absent).
EXTENSION_PACKAGES=(chromium)
