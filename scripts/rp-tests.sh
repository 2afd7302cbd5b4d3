#!/usr/bin/env bash
# The relying-party kit and the demo (issue 6): the rp unit tests, the bank-portal server's
# integration tests (two instances sharing one real Redis, started here on a unix socket),
# headless Chromium end to end on the demo server (screenshots in target/screenshots/), and the
# Node example server's tests. Prints "ok NAME" / "FAIL NAME" lines and libtest summaries.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_rust || exit 2
# openssl: the rp signature tests sign with `openssl cms` and ask a real `openssl ocsp` responder.
ensure_packages "${BUILD_PACKAGES[@]}" "${RP_PACKAGES[@]}" openssl || exit 2
T=$(mktemp -d)
redis-server --port 0 --unixsocket "$T/redis.sock" --unixsocketperm 700 --save '' --appendonly no --dir "$T" > "$T/redis.log" 2>&1 &
REDIS_PID=$!
cleanup() { kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
for _ in $(seq 200); do [ -S "$T/redis.sock" ] && break; sleep 0.02; done
[ -S "$T/redis.sock" ] || { echo "FAIL redis-server did not start: $(cat "$T/redis.log")"; exit 1; }
export HOVIAT_TEST_REDIS="redis+unix://$T/redis.sock"
echo "note redis-server $(redis-server --version | awk '{print $3}') on $HOVIAT_TEST_REDIS (pid $REDIS_PID)"
rc=0
cargo test -q -p hoviat-rp --features redis,testkit --lib 2>&1 || rc=1
cargo test -q -p bank-portal --test bank_portal 2>&1 || rc=1
cargo test -q -p bank-portal --test bank_portal_limits 2>&1 || rc=1
cargo build -q -p bank-portal || { echo "FAIL build bank-portal"; exit 1; }
if [ ! -f pkg/web/index.js ] || [ -n "$(find src crates/wasm npm Cargo.toml -newer pkg/package.json 2>/dev/null | head -1)" ]; then
  bash scripts/build-pkg > "$T/build-pkg.log" 2>&1 || { echo "FAIL build-pkg"; tail -20 "$T/build-pkg.log"; exit 1; }
fi
ensure_node_modules || exit 2
node pkg-tests/demo/e2e.mjs target/debug/bank-portal || rc=1
[ -e examples/node-server/node_modules/hoviat ] && [ -e examples/node-server/node_modules/@redis/client ] || (cd examples/node-server && npm install --no-audit --no-fund --no-package-lock > /dev/null 2>&1)
(cd examples/node-server && node --test test/) 2>&1 | tee "$T/node.txt" | grep -E '^(not ok|ok|# (pass|fail))' || true
grep -q '^# fail 0' "$T/node.txt" || rc=1
exit $rc
