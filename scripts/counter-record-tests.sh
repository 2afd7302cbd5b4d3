#!/usr/bin/env bash
# Sealed identity records at the counter (issues 17 and 21): the bank-portal server's
# POST /api/counter/record and the clerk's page www/counter-record.html, end to end in headless
# Chromium with the npm package's virtual Iranian and PIV cards (pkg-tests/demo/record-e2e.mjs:
# levels computed by the server, purposes, refusals, hostile requests, paper copy, screenshots
# in Persian and English in target/screenshots/record-*.png). Each record the server sealed is
# then verified by `hoviat record verify` and by an independent verifier (@sd-jwt/sd-jwt-vc,
# pkg-tests/record/verify.mjs) and by the npm package's verifyRecord, a tampered copy is refused,
# and the server's archive passes `hoviat archive verify`. The npm package's makeRecord /
# verifyRecord / disclose run in Node (pkg-tests/demo/record-npm.mjs). Prints `ok NAME` / `FAIL NAME: why` and `counter-record: N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/setup.sh
ensure_rust || exit 2
ensure_packages "${BUILD_PACKAGES[@]}" chromium || exit 2
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FAILED=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
finish() { echo "counter-record: $FAILED failed"; [ "$FAILED" = 0 ]; exit $?; }

cargo build -q -p bank-portal --bin bank-portal && cargo build -q -p hoviat-cli --bin hoviat \
  || { fail build "cargo build"; finish; }
if [ ! -f pkg/web/index.js ] || [ ! -f pkg/node/virtual.mjs ] || [ -n "$(find src crates/wasm npm Cargo.toml -newer pkg/package.json 2>/dev/null | head -1)" ]; then
  mkdir -p target
  bash scripts/build-pkg > target/build-pkg.log 2>&1 || { fail build-pkg "$(tail -5 target/build-pkg.log)"; finish; }
fi
ensure_node_modules || { fail setup "npm ci in pkg-tests"; finish; }
(cd pkg-tests/record && { [ -d node_modules/@sd-jwt ] || npm ci --no-audit --no-fund --silent >/dev/null 2>&1; }) \
  || { fail setup "npm ci in pkg-tests/record"; finish; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp "$TARGET/debug/bank-portal" "$W/bank-portal"
cp "$TARGET/debug/hoviat" "$W/hoviat"
H=$W/hoviat

# The archive with its log key: the server signs a checkpoint after each record.
mkdir -p "$W/out"
"$H" archive keygen --origin hoviat.test/counter-archive --out "$W/log" >/dev/null \
  && "$H" archive init --db "sqlite:$W/out/archive.sqlite" --log-pub "$W/log.pub" >/dev/null \
  || { fail archive-init "keygen/init"; finish; }
AT=2026-11-23T10:00:00Z
"$H" record testkit --out "$W/kit" --seed counter-record-tests --at "$AT" >/dev/null || { fail testkit "hoviat record testkit"; finish; }
RECORD_KIT="$W/kit" RECORD_AT="$AT" node pkg-tests/demo/record-e2e.mjs "$W/bank-portal" "$H" "$W/out" --archive-log-key "$W/log.key" | tee "$W/e2e.txt" | grep -v '^record-e2e:'
FAILED=$((FAILED + $(grep -c '^FAIL' "$W/e2e.txt")))

n=0
for f in "$W"/out/rec-*.sdjwt; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  b=$(basename "$f" .sdjwt)
  if out=$("$H" record verify "$f" --institution-ca "$W/out/institution-ca.pem" --institution "$W/out/institution.json" 2>&1); then
    lvl=$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).level))')
    ok "$b: hoviat record verify accepts the server's record (level $lvl)"
  else fail "$b hoviat record verify" "$out"; fi
  if out=$(node pkg-tests/record/verify.mjs --ca "$W/out/institution-ca.pem" "$f" 2>&1); then
    ok "$b: @sd-jwt/sd-jwt-vc verifies the seal and every disclosure"
  else fail "$b @sd-jwt" "$out"; fi
  if node pkg-tests/record/verify.mjs --ca "$W/out/institution-ca.pem" --tamper "$f" >/dev/null 2>&1; then
    fail "$b @sd-jwt tamper" "a changed disclosure was accepted"
  else ok "$b: @sd-jwt refuses a changed disclosure"; fi
  # A changed disclosure (its value altered, shape kept) for hoviat.
  node -e '
    const fs=require("fs"); const [f,o]=process.argv.slice(1); const p=fs.readFileSync(f,"utf8").split("~");
    const d=JSON.parse(Buffer.from(p[1],"base64url")); d[2].value=typeof d[2].value==="string"?d[2].value+"x":!d[2].value;
    p[1]=Buffer.from(JSON.stringify(d)).toString("base64url"); fs.writeFileSync(o,p.join("~"));' "$f" "$W/tampered.sdjwt"
  code=$("$H" record verify "$W/tampered.sdjwt" --institution-ca "$W/out/institution-ca.pem" 2>&1 | grep -o 'RECORD_[A-Z_]*' | head -1)
  [ "$code" = RECORD_DISCLOSURE_MISMATCH ] && ok "$b: hoviat refuses a changed disclosure ($code)" || fail "$b tamper" "got ${code:-acceptance}"
done
[ "$n" -ge 3 ] && ok "records sealed by the server: $n" || fail records "only $n records were written"

if out=$("$H" archive verify --db "sqlite:$W/out/archive.sqlite" --log-pub "$W/log.pub" --institution-ca "$W/out/institution-ca.pem" 2>&1); then
  ok "the server's archive verifies ($(printf '%s' "$out" | grep -o '"entries": *[0-9]*' | head -1))"
else fail "archive verify" "$out"; fi
# The npm package: verifyRecord of CLI-made and server-made records, disclose, tampering, and
# makeRecord sealing with a non-extractable WebCrypto key and with a node:crypto KeyObject.
node pkg-tests/demo/record-npm.mjs "$H" "$W/kit" "$W/out" "$AT" | tee "$W/npm.txt" | grep -v '^record-npm:'
FAILED=$((FAILED + $(grep -c '^FAIL' "$W/npm.txt")))
# The record the page sealed with its non-extractable WebCrypto key, checked by the CLI and @sd-jwt.
if [ -s "$W/out/browser-webcrypto.sdjwt" ]; then
  out=$("$H" record verify "$W/out/browser-webcrypto.sdjwt" --institution-ca "$W/kit/institution/root.pem" 2>&1) \
    && ok "the browser's WebCrypto-sealed record: hoviat record verify accepts it" || fail "browser record hoviat verify" "$out"
  out=$(node pkg-tests/record/verify.mjs --ca "$W/kit/institution/root.pem" "$W/out/browser-webcrypto.sdjwt" 2>&1) \
    && ok "the browser's WebCrypto-sealed record: @sd-jwt/sd-jwt-vc verifies it" || fail "browser record @sd-jwt" "$out"
else fail "browser record" "not written"; fi

# Outside demo mode: the institution's own PKCS#8 terminal key, certificate chain, CA and
# purposes by option, the registry by --trust-anchor; a record from chip facts (no token).
# The server seals at the real time: this kit is made for today (validity and CRLs around it).
K=$W/kit-today
"$H" record testkit --out "$K" --seed counter-record-tests >/dev/null || fail testkit-today "hoviat record testkit"
out=""
"$W/bank-portal" --no-demo --listen 127.0.0.1:0 --log "$W/nodemo.log" --trust-anchor "$K/registry/root.pem" \
  --intermediate "$K/registry/ca-rsa.pem" --intermediate "$K/registry/ca-ec.pem" --crl "$K/registry/ca-rsa.crl.pem" \
  --terminal-key "$K/institution/terminal.key" --terminal-cert "$K/institution/terminal.pem" \
  --terminal-cert "$K/institution/terminal-ca.pem" --institution-ca "$K/institution/root.pem" \
  --institution "$K/institution/institution.json" --terminal-id branch-9/counter-2 \
  --archive "sqlite:$W/nodemo.sqlite" > "$W/nodemo.out" 2>&1 &
ND=$!
for _ in $(seq 200); do grep -q 'listening on' "$W/nodemo.out" && break; sleep 0.05; done
URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$W/nodemo.out")
body=$(node -e 'const f=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); delete f.intermediates; f.pin="not-tried";
  console.log(JSON.stringify({purpose:"account-opening",operator:{faceMatch:true},card:f}))' "$K/cards/ir-nid-0.json")
# Without a clerk's login the server refuses; the clerk logs in with their own card (a token made
# by the kit's registry holder 1 for this server's challenge, bound to the pre-login cookie).
anon=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data "$body" "$URL/api/counter/record")
nonce=$(curl -s -c "$W/jar" -H 'content-type: application/json' --data '{}' "$URL/api/challenge" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).nonce))')
token=$("$H" make-token --pki "$K/registry" --holder 1 --origin "$URL" --nonce "$nonce" 2>/dev/null)
login=$(curl -s -o /dev/null -w '%{http_code}' -b "$W/jar" -c "$W/jar" -H 'content-type: application/json' \
  --data "{\"nonce\":\"$nonce\",\"token\":$token}" "$URL/api/login")
resp=$(curl -s -b "$W/jar" -H 'content-type: application/json' --data "$body" "$URL/api/counter/record")
[ "$anon" = 401 ] && [ "$login" = 200 ] && ok "no demo: a record needs a logged-in clerk (401 before, login $login)" || fail "no-demo clerk" "anon $anon login $login"
kill "$ND" 2>/dev/null; wait "$ND" 2>/dev/null
printf '%s' "$resp" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);require("fs").writeFileSync(process.argv[1],r.record||"");console.log(r.level||JSON.stringify(r.error))})' "$W/nodemo.sdjwt" > "$W/nodemo.level"
if [ "$(cat "$W/nodemo.level")" = certificate ] && out=$("$H" record verify "$W/nodemo.sdjwt" --institution-ca "$K/institution/root.pem" --institution "$K/institution/institution.json" 2>&1) \
  && printf '%s' "$out" | grep -q 'branch-9/counter-2'; then
  ok "no demo: the PKCS#8 terminal key, chain and purposes by option seal a record (certificate) that hoviat record verify accepts"
else fail "no-demo record" "$(cat "$W/nodemo.level") ${out:-}"; fi

if [ -f "$W/out/paper-fa.pdf" ] && command -v pdftotext >/dev/null; then
  txt=$(pdftotext -enc UTF-8 "$W/out/paper-fa.pdf" - 2>/dev/null)
  case "$txt" in *۰*|*۱*|*۲*|*۳*|*۴*|*۵*|*۶*|*۷*|*۸*|*۹*) ok "paper copy PDF from the server has Persian text and digits";; *) fail "paper pdf" "${txt:0:200}";; esac
fi
finish
