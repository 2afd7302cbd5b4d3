#!/usr/bin/env bash
# Server throughput for BENCHMARKS.md: verified logins per second on one core for the example
# servers (examples/bank-portal, Rust/axum, and examples/node-server, nonces in memory and in
# Redis), loaded over loopback by wrk. scripts/bench runs it as its step 6; alone:
#   bench/server.sh target/bench/server.json
# Writes OUT as JSON: `text` (the section), `rows`, `runs`. Method: bench/server/run.mjs.
#   BENCH_SERVER_RUNS=3  BENCH_SERVER_SECS=8 (timed login phase)  BENCH_SERVER_CONNECTIONS=8
#   BENCH_SERVER_ONLY=rust-memory,rust-redis,node-memory,node-redis
# Installs what it needs: Debian's wrk and redis-server; builds the Rust example (release) and,
# when missing or older than the sources, the npm package (scripts/build-pkg).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$(realpath -m "$1")
source scripts/setup.sh
log() { printf 'server bench: %s\n' "$*" >&2; }
[ "$(nproc)" -ge 2 ] || { log "needs 2 cores (server on one, load generator on the other)"; exit 1; }
ensure_rust
ensure_packages "${BUILD_PACKAGES[@]}" wrk redis-server
command -v npm >/dev/null || ensure_packages nodejs npm
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
log "cargo build --release -p bank-portal"
cargo build -q --release -p bank-portal
BIN=$CARGO_TARGET_DIR/release/bank-portal
if [ ! -f pkg/web/index.js ] || [ -n "$(find src npm Cargo.toml Cargo.lock scripts/build-pkg -newer pkg/web/index.js -print -quit)" ]; then
  log "scripts/build-pkg"; bash scripts/build-pkg > "$OUT.build-pkg.log" 2>&1 || { tail -20 "$OUT.build-pkg.log" >&2; exit 1; }
fi
[ -e examples/node-server/node_modules/hoviat ] && [ -e examples/node-server/node_modules/@redis/client ] || (cd examples/node-server && npm install --no-audit --no-fund --no-package-lock > /dev/null 2>&1)

# Redis on a unix socket, no persistence, on the server's core (as scripts/rp-tests.sh starts it).
T=$(mktemp -d)
taskset -c 0 redis-server --port 0 --unixsocket "$T/redis.sock" --unixsocketperm 700 --save '' --appendonly no --dir "$T" > "$T/redis.log" 2>&1 &
REDIS_PID=$!
cleanup() { kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
for _ in $(seq 200); do [ -S "$T/redis.sock" ] && break; sleep 0.02; done
[ -S "$T/redis.sock" ] || { log "redis-server did not start: $(cat "$T/redis.log")"; exit 1; }

node bench/server/run.mjs --out "$OUT" --pkg "$ROOT/pkg" --node-server "$ROOT/examples/node-server" \
  --rust "$BIN" --redis "redis+unix://$T/redis.sock" --redis-pid "$REDIS_PID" \
  --runs "${BENCH_SERVER_RUNS:-3}" --login-secs "${BENCH_SERVER_SECS:-8}" --connections "${BENCH_SERVER_CONNECTIONS:-8}" \
  --server-cpu 0 --client-cpu 1 ${BENCH_SERVER_ONLY:+--only "$BENCH_SERVER_ONLY"}
