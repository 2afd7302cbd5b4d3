#!/usr/bin/env bash
# CLI tests against the built binary: each prints "ok <name>" or "FAIL <name>".
set -u
cd "$(dirname "$0")/.."
BIN=target/debug/hoviat
[ -x "$BIN" ] || { echo "FAIL build: $BIN missing"; exit 1; }
echo "ok binary-present"
