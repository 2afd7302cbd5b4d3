#!/usr/bin/env bash
# Servers under faults (issue 15): two bank-portal (Rust) and two node-server instances, each
# pair on one real Redis started here (unix socket, restartable from its dump.rdb), driven by
# real virtual-card logins (examples/node-server/fault-driver.mjs).
#   snapshot:  challenge, SAVE, login 200, replay 401, Redis killed and restarted from the
#              snapshot: the same body is refused (401, not 200), and the first request after
#              the restart is answered by the store (not a stale-connection 503); a session
#              from one instance works at the other.
#   faults:    during a bounded login load, Redis SAVEd, killed, restarted from the snapshot,
#              hung (SIGSTOP 5 s), BGSAVEd, killed and restarted again: no replay ever accepted
#              (during the load and afterwards, every saved login sent again), every request
#              answered within its deadline, logins recover without restarting the servers.
#   slow:      2,000 slow connections (an incomplete request head, a line a second) from ten
#              other loopback addresses: held at most the header timeout, at most the per-client
#              cap open, logins from another address keep working, the Rust server's memory
#              returns.
#   flood:     5,000 challenge requests from five addresses to both instances of a pair: at
#              most the per-client limit issued (the count is shared through Redis), Redis
#              grows by at most that, logins keep working.
# Prints "ok NAME" / "FAIL NAME: why" and "note" lines with the figures. About 2 minutes after
# the builds (the bank-portal example and, when stale, the npm package).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_rust || exit 2
ensure_packages "${BUILD_PACKAGES[@]}" "${RP_PACKAGES[@]}" || exit 2
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q -p bank-portal || { echo "FAIL build bank-portal"; exit 1; }
if [ ! -f pkg/web/index.js ] || [ ! -f pkg/package.json ] || [ -n "$(find src crates/wasm npm Cargo.toml -newer pkg/package.json 2>/dev/null | head -1)" ]; then
  bash scripts/build-pkg > /dev/null 2>&1 || { echo "FAIL build-pkg"; exit 1; }
fi
[ -e examples/node-server/node_modules/hoviat ] && [ -e examples/node-server/node_modules/@redis/client ] || (cd examples/node-server && npm install --no-audit --no-fund --no-package-lock > /dev/null 2>&1)

SECONDS=0
# The slow-connection flood opens 2,000 sockets from one process: raise the descriptor limit to
# the hard limit, and make the flood smaller when even that is low.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
SLOW_PER=200
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt 4500 ]; then SLOW_PER=$(( (NOFILE - 300) / 20 )); fi
T=$(mktemp -d)
declare -a PIDS=()
REDIS_PID=
cleanup() {
  [ -n "$REDIS_PID" ] && kill -CONT "$REDIS_PID" 2>/dev/null
  for p in "${PIDS[@]}" $REDIS_PID; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
SOCK=$T/redis.sock
URL="redis+unix://$SOCK"
ORIGIN=http://localhost
DRIVER="node examples/node-server/fault-driver.mjs"
RC=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; RC=1; }
check() { # name condition-description json js-expression
  local name=$1 json=$2 expr=$3
  if node -e "const r = JSON.parse(process.argv[1]); process.exit(($expr) ? 0 : 1)" "$json"; then ok "$name"; else fail "$name" "$json"; fi
}
jget() { node -e "const r = JSON.parse(process.argv[1]); console.log(eval(process.argv[2]))" "$1" "$2"; }

# Redis as Debian ships it in spirit: snapshots on (we also SAVE by hand), no append-only file.
start_redis() {
  redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '60 1' --appendonly no \
    --dir "$T" --dbfilename dump.rdb >> "$T/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 200); do redis-cli -s "$SOCK" ping > /dev/null 2>&1 && return 0; sleep 0.02; done
  echo "FAIL redis-server did not start: $(tail -3 "$T/redis.log")"; exit 1
}
kill_redis() { kill -9 "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; rm -f "$SOCK"; }
rcli() { redis-cli -s "$SOCK" "$@"; }

start_redis
echo "note redis-server $(redis-server --version | awk '{print $3}') on $SOCK"
head -c 48 /dev/urandom > "$T/key"
# Limits small enough to see within the suite's time.
RUST_LIMITS=(--header-timeout 3 --request-timeout 10 --max-connections 1000 --max-connections-per-client 64
  --max-challenges 5000 --max-challenges-per-client 50 --redis-timeout-ms 1000)
start_rust() { # name
  "$TARGET/debug/bank-portal" --listen 127.0.0.1:0 --origin "$ORIGIN" --redis "$URL" --redis-prefix f:r: \
    --binding-key-file "$T/key" --instance "$1" --log "$T/$1.log" "${RUST_LIMITS[@]}" > "$T/$1.out" 2>&1 &
  PIDS+=($!); eval "PID_$1=$!"
}
start_node() { # name
  node examples/node-server/server.mjs --port 0 --origin "$ORIGIN" --redis "$URL" --redis-prefix f:n: \
    --binding-key-file "$T/key" --header-timeout-ms 3000 --request-timeout-ms 10000 --max-connections 1000 \
    --max-connections-per-client 64 --max-challenges 5000 --max-challenges-per-client 50 --redis-timeout-ms 1000 \
    > "$T/$1.out" 2> "$T/$1.log" &
  PIDS+=($!); eval "PID_$1=$!"
}
start_rust a; start_rust b; start_node c; start_node d
for n in a b c d; do
  for _ in $(seq 300); do grep -q 'listening on' "$T/$n.out" 2>/dev/null && break; sleep 0.05; done
  u=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/$n.out" | head -1)
  [ -n "$u" ] || { echo "FAIL start $n: $(cat "$T/$n.out" "$T/$n.log" | tail -5)"; exit 1; }
  eval "U_$n=$u"
done
echo "note rust a=$U_a b=$U_b (pids $PID_a $PID_b), node c=$U_c d=$U_d (pids $PID_c $PID_d), origin $ORIGIN"
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }

# ---- snapshot: a consumed challenge restored from dump.rdb is refused --------------------
for pair in "rust $U_a $U_b" "node $U_c $U_d"; do
  set -- $pair; name=$1 A=$2 B=$3
  $DRIVER prepare --a "$A" --origin "$ORIGIN" --out "$T/p-$name.json" > /dev/null || { fail "snapshot-$name" "prepare"; continue; }
  rcli SAVE > /dev/null
  first=$($DRIVER replay --file "$T/p-$name.json" --targets "$B")
  again=$($DRIVER replay --file "$T/p-$name.json" --targets "$A,$B")
  kill_redis; start_redis
  after=$($DRIVER replay --file "$T/p-$name.json" --targets "$A,$B")
  echo "note snapshot-$name: login $(jget "$first" 'Object.keys(r.byKind)'), replay $(jget "$again" 'Object.keys(r.byKind)'), after restart from dump.rdb $(jget "$after" 'JSON.stringify(r.byKind)')"
  check "snapshot-$name: login 200 then NONCE_REPLAYED at both instances" "{\"f\":$first,\"a\":$again}" \
    'r.f.byKind["replay 200"] === 1 && r.a.byKind["replay 401 NONCE_REPLAYED"] === 2'
  check "snapshot-$name: after Redis restarts from the snapshot the consumed login is refused (401 NONCE_UNKNOWN), first request answered" "$after" \
    'r.replayAccepted === 0 && r.byKind["replay 401 NONCE_UNKNOWN"] === 2'
  once=$($DRIVER login-once --a "$A" --b "$B" --origin "$ORIGIN" --out "$T/once-$name.json")
  check "sessions-$name: a session started at one instance is seen at the other" "$once" 'r.ok && r.sessionShared === 1'
done

# ---- faults during a login load -----------------------------------------------------------
LOAD_SECS=36
$DRIVER load --pairs "$U_a,$U_b;$U_c,$U_d" --origin "$ORIGIN" --seconds $LOAD_SECS --workers 4 --deadline-ms 5000 \
  --save "$T/saved.jsonl" > "$T/load.json" 2> "$T/load.err" &
LOAD=$!
t0=$(date +%s.%N)
at() { local w; w=$(echo "$1 - ($(date +%s.%N) - $t0)" | bc); [ "${w:0:1}" = "-" ] || sleep "$w"; }
at 4;  rcli SAVE > /dev/null;               echo "note t=4s SAVE ($(rcli DBSIZE) keys)"
at 6;  kill_redis;                          echo "note t=6s Redis killed (SIGKILL)"
at 8;  start_redis;                         echo "note t=8s Redis restarted from dump.rdb ($(rcli DBSIZE) keys)"
at 14; kill -STOP "$REDIS_PID";             echo "note t=14s Redis hung (SIGSTOP)"
at 19; kill -CONT "$REDIS_PID";             echo "note t=19s Redis resumed (SIGCONT)"
at 22; rcli SAVE > /dev/null;               echo "note t=22s SAVE"
at 24; kill_redis; start_redis;             echo "note t=24s Redis killed and restarted from dump.rdb at once ($(rcli DBSIZE) keys)"
wait $LOAD
L=$(cat "$T/load.json")
[ -n "$L" ] || { fail faults "the load driver failed: $(tail -5 "$T/load.err")"; L='{}'; }
echo "note load: $(jget "$L" '`${r.logins} logins in ${r.seconds} s, ${r.requests} requests, slowest ${r.maxMs} ms`')"
echo "note load outcomes: $(jget "$L" 'JSON.stringify(r.byKind)')"
echo "note logins per second [ok,failed]: $(jget "$L" 'JSON.stringify(r.perSecond)')"
check "faults: no replay accepted during the load" "$L" 'r.replayAccepted === 0'
check "faults: every request answered within its 5 s deadline, no connection error" "$L" 'r.overDeadline === 0 && r.errors === 0'
check "faults: only 200, 401, 429 and 503 answers" "$L" 'Object.keys(r.byKind).every((k) => / (200|401|429|503)( |$)/.test(k))'
check "faults: logins recover without restarting the servers (every second of the last 8 has logins, >= 90% ok)" "$L" \
  'r.perSecond.slice(-9, -1).every(([o]) => o > 0) && (() => { const t = r.perSecond.slice(-9, -1).reduce((a, [o, f]) => [a[0] + o, a[1] + f], [0, 0]); return t[0] >= 0.9 * (t[0] + t[1]); })()'
node -e 'const fs=require("fs");const l=fs.readFileSync(process.argv[1],"utf8").trim().split("\n").filter(Boolean).map(JSON.parse);fs.writeFileSync(process.argv[2],JSON.stringify(l))' "$T/saved.jsonl" "$T/saved.json"
R=$($DRIVER replay --file "$T/saved.json" --targets "$U_a,$U_b,$U_c,$U_d")
echo "note every login of the load sent again to all four instances: $(jget "$R" 'JSON.stringify(r.byKind)')"
check "faults: no saved login accepted again afterwards, at any instance" "$R" 'r.replayAccepted === 0 && r.replayed > 0'
for n in a b c d; do kill -0 "$(eval echo \$PID_$n)" 2>/dev/null || fail "faults-$n" "instance $n died"; done

# ---- slow connections -------------------------------------------------------------------------
SLOW_FROM=$(seq -s, -f '127.0.0.%g' 2 11)
for tgt in "rust $U_a $U_b $PID_a" "node $U_c $U_d $PID_c"; do
  set -- $tgt; name=$1 A=$2 B=$3 P=$4
  before=$(rss "$P")
  $DRIVER load --pairs "$A,$B" --origin "$ORIGIN" --seconds 9 --workers 2 --deadline-ms 5000 > "$T/slow-load.json" 2>/dev/null &
  LOAD=$!
  $DRIVER slow --target "$A" --from "$SLOW_FROM" --per-address "$SLOW_PER" --seconds 9 --line-every-ms 1000 > "$T/slow.json" &
  SLOW=$!
  sleep 4; peak=$(rss "$P")
  wait $SLOW $LOAD
  sleep 5; after=$(rss "$P")
  S=$(cat "$T/slow.json"); L=$(cat "$T/slow-load.json")
  echo "note slow-$name: $(jget "$S" 'JSON.stringify(r)'); logins meanwhile $(jget "$L" '`${r.logins}, slowest request ${r.maxMs} ms`'); RSS ${before} -> ${peak} -> ${after} MiB"
  # "At once": within 500 ms of connecting; a loaded machine may be late for a few.
  check "slow-$name: at most 64 slow connections per address kept, the rest closed at once" "$S" 'r.refusedFast >= 0.95 * (r.attempted - 10 * 64)'
  check "slow-$name: slow connections dropped by the 3 s header timeout" "$S" 'r.heldMsMax <= 6000'
  check "slow-$name: logins from another address keep working" "$L" 'r.logins >= 5 && r.overDeadline === 0 && r.replayAccepted === 0'
  if [ "$name" = rust ]; then
    if [ "$after" -le $((before + 20)) ]; then ok "slow-rust: memory returns (RSS $before -> $peak -> $after MiB)"; else fail "slow-rust: memory returns" "RSS $before -> $peak -> $after MiB"; fi
  fi
done

# ---- challenge flood --------------------------------------------------------------------------
FLOOD_FROM=$(seq -s, -f '127.0.0.%g' 20 24)
for tgt in "rust $U_a $U_b f:r:" "node $U_c $U_d f:n:"; do
  set -- $tgt; name=$1 A=$2 B=$3 prefix=$4
  k0=$(rcli --scan --pattern "${prefix}n:*" | wc -l)
  $DRIVER load --pairs "$A,$B" --origin "$ORIGIN" --seconds 6 --workers 2 --deadline-ms 5000 > "$T/flood-load.json" 2>/dev/null &
  LOAD=$!
  # At both instances of the pair: the per-client limit is shared through Redis.
  F=$($DRIVER flood --target "$A,$B" --from "$FLOOD_FROM" --requests 5000 --concurrency 50)
  wait $LOAD
  k1=$(rcli --scan --pattern "${prefix}n:*" | wc -l)
  L=$(cat "$T/flood-load.json")
  echo "note flood-$name: $(jget "$F" 'JSON.stringify(r)'); open challenges in Redis $k0 -> $k1; logins meanwhile $(jget "$L" '`${r.logins}, slowest ${r.maxMs} ms`')"
  check "flood-$name: at most 50 challenges per address issued by the two instances together, the rest 429 at once" "$F" \
    '(r.byStatus["200"] || 0) <= 5 * 50 && (r.byStatus["429 RATE_LIMITED"] || 0) >= 5000 - 5 * 50 && r.maxMs < 5000'
  if [ $((k1 - k0)) -le $((5 * 50 + 100)) ]; then ok "flood-$name: the store grows by at most the per-client limits ($((k1 - k0)))"; else fail "flood-$name: store growth" "$k0 -> $k1"; fi
  check "flood-$name: logins keep working" "$L" 'r.logins >= 5 && r.overDeadline === 0'
done
echo "note redis keys at the end: $(rcli DBSIZE)"
echo "note fault suite: ${SECONDS} s (builds excluded)"
exit $RC
