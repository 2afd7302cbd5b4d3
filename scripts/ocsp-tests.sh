#!/usr/bin/env bash
# OCSP against a real responder: `openssl ocsp` serving an index on 127.0.0.1 inside a private
# network namespace (unshare -n), queried by `hoviat ocsp fetch` and checked again by
# `hoviat verify-chain --ocsp-response`. Prints `ok NAME` / `FAIL NAME` per case and a final
# `ocsp: N failed`. Installs what it needs (openssl, util-linux, iproute2, faketime; idempotent).
#
# Every fixture is made at run time against the clock the run sees, so the suite passes on any
# date. `OCSP_CLOCK_SHIFT_DAYS=N` runs the whole suite (openssl, the responder, hoviat) under
# libfaketime N days ahead of the wall clock (scripts/test runs it a year ahead too); the
# responder's own shifts (stale, not yet valid) are added to that offset.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HOVIAT=$TARGET/debug/hoviat
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
FAILED=0

need() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing $2" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >/dev/null 2>&1
  command -v "$1" >/dev/null 2>&1 || { echo "FAIL setup: cannot install $2"; echo "ocsp: 1 failed"; exit 1; }
}
need openssl openssl
need unshare util-linux
need nsenter util-linux
need ip iproute2
if [ ! -e "$FAKETIME_LIB" ]; then
  echo "installing faketime" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime; } >/dev/null 2>&1
fi
[ -e "$FAKETIME_LIB" ] || FAKETIME_LIB=$(find /usr/lib -name 'libfaketime.so.1' 2>/dev/null | head -1)

if [ -z "${OCSP_SHIFTED:-}" ]; then
  cargo build --quiet --bin hoviat || { echo "FAIL build"; echo "ocsp: 1 failed"; exit 1; }
fi
SHIFT_DAYS=${OCSP_CLOCK_SHIFT_DAYS:-0}
if [ "$SHIFT_DAYS" != 0 ] && [ -z "${OCSP_SHIFTED:-}" ]; then
  [ -e "$FAKETIME_LIB" ] || { echo "FAIL setup: libfaketime is needed for OCSP_CLOCK_SHIFT_DAYS"; echo "ocsp: 1 failed"; exit 1; }
  # Monotonic clocks stay real: sleeps and timeouts keep their length.
  echo "ocsp: the whole suite runs $SHIFT_DAYS days ahead (libfaketime)"
  OCSP_SHIFTED=1 LD_PRELOAD="$FAKETIME_LIB" FAKETIME="+$((SHIFT_DAYS * 86400))" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    exec bash "$ROOT/scripts/ocsp-tests.sh" "$@"
fi
# The faketime offset (seconds) for a responder DELTA seconds away from this run's clock.
offset() { local s=$((SHIFT_DAYS * 86400 + $1)); [ "$s" -ge 0 ] && echo "+$s" || echo "$s"; }

W=$(mktemp -d)
HOLDER=""
RESPONDER=""
RESPONDER_PID=""
cleanup() {
  [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null
  [ -n "$RESPONDER" ] && kill "$RESPONDER" 2>/dev/null
  [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# ---- a small PKI: root -> CA -> leaves; responder certificates --------------------------------
cd "$W"
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }
cat > ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:1/
[responder]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
noCheck = yes
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[plain]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
key root; key ca; key good; key revoked; key unknown; key resp; key plain; key rogue
openssl req -x509 -new -key root.key -subj "/C=IR/CN=OCSP Test Root" -days 3650 -out root.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue() { # name subject section issuer serial
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -set_serial "$5" -days 365 \
    -extfile ext.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}
issue ca "/C=IR/CN=OCSP Test Citizen CA" ca root 0x1000
issue good "/C=IR/CN=Good Holder" leaf ca 0x0A01
issue revoked "/C=IR/CN=Revoked Holder" leaf ca 0x0A02
issue unknown "/C=IR/CN=Unknown Holder" leaf ca 0x0A03
issue resp "/C=IR/CN=OCSP Responder" responder ca 0x0B01
issue plain "/C=IR/CN=Not A Responder" plain ca 0x0B02
# A key that is not the CA's, under the CA's name (the "wrong signing key").
openssl req -x509 -new -key rogue.key -subj "/C=IR/CN=OCSP Test Citizen CA" -days 30 -out rogue.pem 2>/dev/null
EXP=$(date -u -d '+1 year' +%y%m%d%H%M%SZ)
REV=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t0A01\tunknown\t/C=IR/CN=Good Holder\n' "$EXP" > index.txt
printf 'R\t%s\t%s,keyCompromise\t0A02\tunknown\t/C=IR/CN=Revoked Holder\n' "$EXP" "$REV" >> index.txt
for f in root ca good revoked unknown resp plain rogue; do [ -s "$f.pem" ] || { echo "FAIL setup: $f.pem"; echo "ocsp: 1 failed"; exit 1; }; done

# ---- the private network namespace -------------------------------------------------------------
unshare -n sleep 100000 &
HOLDER=$!
sleep 0.1
nsenter -t "$HOLDER" -n ip link set lo up || { echo "FAIL setup: loopback in the namespace"; echo "ocsp: 1 failed"; exit 1; }
NS() { nsenter -t "$HOLDER" -n "$@"; }

PORT=""
# start_responder [ENV=VALUE...] -- openssl ocsp args...; waits for the ACCEPT line (never a
# bare connect: that sends the responder into a busy loop).
start_responder() {
  stop_responder
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  : > responder.log
  NS env "${envs[@]}" openssl ocsp -port 0 -index index.txt -CA ca.pem -ignore_err "$@" > responder.log 2>&1 &
  RESPONDER=$!
  for _ in $(seq 1 200); do
    if grep -q '^ACCEPT' responder.log; then
      PORT=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\) PID=.*/\1/p' responder.log | head -1)
      # The responder's own PID (the background job is a subshell around nsenter/env).
      RESPONDER_PID=$(sed -n 's/^ACCEPT .* PID=\([0-9][0-9]*\).*/\1/p' responder.log | head -1)
      [ -n "$PORT" ] && return 0
    fi
    sleep 0.025
  done
  echo "responder did not start: $(cat responder.log)" >&2
  PORT=0
}
# A process and everything below it (the background job is a subshell around nsenter/env).
kill_tree() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill "$1" 2>/dev/null
}
stop_responder() {
  # Stop the responder by its own PID, and the whole job below the wrapper: the PID read from
  # the ACCEPT line can be wrong or missing (a run of the year-ahead suite once waited here
  # for 90 minutes on a responder nothing had stopped); then reap the wrapper.
  if [ -n "$RESPONDER_PID" ]; then kill "$RESPONDER_PID" 2>/dev/null; RESPONDER_PID=""; fi
  if [ -n "$RESPONDER" ]; then kill_tree "$RESPONDER"; wait "$RESPONDER" 2>/dev/null; RESPONDER=""; fi
}

# ---- checks ------------------------------------------------------------------------------------
OUT=""
run() { OUT=$(NS "$HOVIAT" "$@" 2>/dev/null); }
code_of() { printf '%s' "$OUT" | sed -n 's/.*"code": *"\([A-Z_]*\)".*/\1/p' | head -1; }
# expect NAME WANT: WANT is `good` (status good, exit 0) or an error code.
expect() {
  local name=$1 want=$2 got
  if printf '%s' "$OUT" | grep -q '"status": "good"'; then got=good; else got=$(code_of); fi
  if [ "$got" = "$want" ]; then echo "ok $name"; else echo "FAIL $name: want $want, got ${got:-nothing}: $OUT"; FAILED=$((FAILED + 1)); fi
}
fetch() { # leaf [extra args...]
  local leaf=$1; shift
  run ocsp fetch --cert "$leaf.pem" --issuer ca.pem --url "http://127.0.0.1:$PORT/" --timeout 5 "$@"
}
chain() { # leaf response [extra args...]
  local leaf=$1 resp=$2; shift 2
  run verify-chain --leaf "$leaf.pem" --trust-anchor root.pem --intermediate ca.pem --eku clientAuth \
    --require-revocation --ocsp-response "$resp" "$@"
}
N1=00112233445566778899aabbccddeeff
N2=ffeeddccbbaa99887766554433221100

# Delegated responder with OCSPSigning, nextUpdate one day ahead.
start_responder -- -rsigner resp.pem -rkey resp.key -ndays 1
fetch good;                                   expect good good
fetch good --sha256;                          expect good-sha256-certid good
fetch revoked;                                expect revoked CERT_REVOKED
fetch unknown;                                expect unknown OCSP_CERT_UNKNOWN
fetch good --nonce "$N1" --out good.resp;     expect good-saved good
chain good good.resp --ocsp-nonce "$N1"
if printf '%s' "$OUT" | grep -q '"source": "ocsp"'; then expect verify-chain-good-by-ocsp good; else OUT="no ocsp source: $OUT"; expect verify-chain-good-by-ocsp good; fi
chain good good.resp --ocsp-nonce "$N2";      expect nonce-mismatch OCSP_NONCE_MISMATCH
fetch good --no-nonce --out nononce.resp;     expect good-no-nonce good
chain good nononce.resp --ocsp-nonce "$N1";   expect nonce-missing-in-response OCSP_NONCE_MISMATCH
chain unknown good.resp --ocsp-nonce "$N1";   expect response-for-another-cert OCSP_CERT_ID_MISMATCH
fetch revoked --out revoked.resp --no-nonce;  expect revoked-saved CERT_REVOKED
chain revoked revoked.resp;                   expect verify-chain-revoked CERT_REVOKED

# Signed by the CA itself, key-hash responder ID.
start_responder -- -rsigner ca.pem -rkey ca.key -ndays 1 -resp_key_id
fetch good;                                   expect ca-signed-by-key-id good

# Wrong signing key: a key that is not the CA's, under the CA's name, signer left out.
start_responder -- -rsigner rogue.pem -rkey rogue.key -resp_no_certs -ndays 1
fetch good;                                   expect wrong-signing-key OCSP_SIGNATURE_INVALID

# A corrupted signature from the real responder.
start_responder -- -rsigner resp.pem -rkey resp.key -ndays 1 -badsig
fetch good;                                   expect bad-signature OCSP_SIGNATURE_INVALID

# A certificate of the right CA without the OCSPSigning purpose.
start_responder -- -rsigner plain.pem -rkey plain.key -ndays 1
fetch good;                                   expect responder-without-ocspsigning OCSP_RESPONDER_NOT_AUTHORIZED

# Stale and future responses (the responder's clock shifted by libfaketime).
if [ -n "$FAKETIME_LIB" ] && [ -e "$FAKETIME_LIB" ]; then
  start_responder LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$(offset -259200)" FAKETIME_DONT_FAKE_MONOTONIC=1 -- -rsigner resp.pem -rkey resp.key -ndays 1
  fetch good;                                 expect stale OCSP_STALE
  start_responder LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$(offset 86400)" FAKETIME_DONT_FAKE_MONOTONIC=1 -- -rsigner resp.pem -rkey resp.key -ndays 1
  fetch good;                                 expect not-yet-valid OCSP_NOT_YET_VALID
  # Without nextUpdate, a response older than the 15-minute default is stale too.
  start_responder LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$(offset -3600)" FAKETIME_DONT_FAKE_MONOTONIC=1 -- -rsigner resp.pem -rkey resp.key
  fetch good;                                 expect stale-without-nextupdate OCSP_STALE
else
  echo "FAIL stale: libfaketime not available"; FAILED=$((FAILED + 1))
fi

# The responder down: nothing listens on the port any more.
start_responder -- -rsigner resp.pem -rkey resp.key -ndays 1
DOWN_PORT=$PORT
stop_responder
PORT=$DOWN_PORT
fetch good;                                   expect responder-down OCSP_RESPONDER_UNREACHABLE

# The test kit's in-process OCSP responses (used by the unit, relying-party, npm and fuzz tests)
# checked by an independent implementation: openssl must agree with how they were made. openssl
# judges the responses' thisUpdate/nextUpdate against its own clock (-attime sets only the
# certificates' time), so the kit is made for this run's "now", never for a fixed date.
KIT_NOW=$(date -u +%s)
"$HOVIAT" testpki --out kit --seed ocsp-kit --at "$(date -u -d "@$KIT_NOW" +%Y-%m-%dT%H:%M:%SZ)" > /dev/null
cat kit/root.pem kit/ca-ec.pem > kit/chain.pem
KIT_LEAF=$(ls kit/holders/01-*.pem)
kit() { # file want
  local got
  got=$(openssl ocsp -respin "kit/ocsp/$1" -issuer kit/ca-ec.pem -CAfile kit/chain.pem -cert "$KIT_LEAF" \
    -attime "$KIT_NOW" 2>&1)
  if printf '%s' "$got" | grep -q "$2"; then echo "ok testkit-$1-by-openssl"; else echo "FAIL testkit-$1-by-openssl: want $2: $got"; FAILED=$((FAILED + 1)); fi
}
kit good.der ': good'
kit revoked.der ': revoked'
kit unknown.der ': unknown'
kit delegated.der ': good'
kit delegated-no-eku.der 'missing ocspsigning usage'
kit wrong-key.der 'Response Verify Failure'
kit stale.der 'status expired'

echo "ocsp: $FAILED failed"
[ "$FAILED" -eq 0 ]
