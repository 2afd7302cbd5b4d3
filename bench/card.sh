#!/usr/bin/env bash
# The card dialogue per authentication, through the real pcscd + vpcd with hoviat's virtual
# cards (pcscd in a private network namespace: start_pcscd in scripts/setup.sh).
# Usage: bench/card.sh HOVIAT_BIN OUT.json [RUNS]. Prints one JSON object per profile into OUT.
set -u
BIN=$1 OUT=$2 RUNS=${3:-7}
T=$(mktemp -d)
SIM_PID="" PCSCD_PID=""
ORIGIN=https://bank.example.ir
NONCE=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(32))).decode())')
cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
  [ -n "$PCSCD_PID" ] && kill "$PCSCD_PID" 2>/dev/null
  sleep 0.2; rm -rf "$T"
}
trap cleanup EXIT
die() { echo "card bench: $*" >&2; exit 1; }
source "$(dirname "$0")/../scripts/setup.sh"
ensure_packages pcscd vsmartcard-vpcd libpcsclite-dev || die "apt-get install failed"
# Another suite's pcscd may own the socket: wait for it rather than kill it.
for _ in $(seq 300); do pgrep -x pcscd >/dev/null || break; sleep 1; done
pgrep -x pcscd >/dev/null && die "another pcscd is running (a card suite?): not touching it"
start_pcscd "$T/pcscd.log"
"$BIN" testpki --out "$T/pki" --seed bench > /dev/null || die "testpki failed"
present() {
  for _ in $(seq 60); do
    "$BIN" card list 2>/dev/null | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['readers'][0]['cardPresent']==$1 else 1)" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
sim() {
  [ -n "$SIM_PID" ] && { kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=""; present False; }
  (in_ns "$BIN" sim card --pki "$T/pki" "$@") > "$T/sim.log" 2>&1 &
  SIM_PID=$!
  present True || die "card never seen by pcscd: $(cat "$T/sim.log")"
}
: > "$OUT"
echo 123456 > "$T/pin"
# run LABEL PROFILE HOLDER KIND: KIND auth (card auth, PIN, token verified) or info (card info).
run() {
  local label=$1 profile=$2 holder=$3 kind=$4
  sim --profile "$profile" --holder "$holder"
  local ms=()
  for i in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    if [ "$kind" = auth ]; then
      "$BIN" card auth --origin $ORIGIN --nonce "$NONCE" --pin-stdin < "$T/pin" > "$T/out.json" 2> "$T/err.txt" || die "$label: card auth failed: $(cat "$T/out.json" "$T/err.txt")"
    else
      "$BIN" card info > "$T/out.json" 2> "$T/err.txt" || die "$label: card info failed: $(cat "$T/out.json" "$T/err.txt")"
    fi
    t1=$(date +%s%N)
    ms+=($(( (t1 - t0) / 1000 )))
    # Every authentication asks for the PIN: a fresh card keeps the PIV PIN counter untouched.
  done
  if [ "$kind" = auth ]; then
    "$BIN" verify-token --token "$T/out.json" --origin $ORIGIN --nonce "$NONCE" --trust-anchor "$T/pki/root.pem" \
      --intermediate "$T/pki/ca-rsa.pem" --intermediate "$T/pki/ca-ec.pem" > "$T/v.json" || die "$label: the card's token does not verify: $(cat "$T/v.json")"
    python3 - "$label" "$profile" "$T/out.json" "$T/err.txt" "${ms[*]}" >> "$OUT" <<'PY'
import json, re, sys, statistics
label, profile, tok, err, ms = sys.argv[1:]
m = re.search(r"card: (\d+) APDUs, (\d+) bytes out, (\d+) bytes in", open(err).read())
if not m: sys.exit(f"{label}: no traffic line on stderr")
us = sorted(int(x) for x in ms.split())
print(json.dumps({"label": label, "profile": profile, "command": "card auth", "algorithm": json.load(open(tok))["algorithm"],
  "apdus": int(m[1]), "bytes_out": int(m[2]), "bytes_in": int(m[3]), "runs": len(us), "median_ms": statistics.median(us) / 1000, "min_ms": us[0] / 1000, "max_ms": us[-1] / 1000}))
PY
  else
    python3 - "$label" "$profile" "$T/out.json" "${ms[*]}" >> "$OUT" <<'PY'
import json, sys, statistics
label, profile, out, ms = sys.argv[1:]
j = json.load(open(out)); t = j["traffic"]
us = sorted(int(x) for x in ms.split())
print(json.dumps({"label": label, "profile": profile, "command": "card info", "assurance": j.get("assurance"),
  "apdus": t["apdus"], "bytes_out": t["bytesOut"] if "bytesOut" in t else t["bytes_out"], "bytes_in": t["bytesIn"] if "bytesIn" in t else t["bytes_in"],
  "runs": len(us), "median_ms": statistics.median(us) / 1000, "min_ms": us[0] / 1000, "max_ms": us[-1] / 1000}))
PY
  fi
}
run "PIV, RSA-2048 (RS256)" piv 0 auth
run "PIV, P-256 (ES256)" piv 1 auth
run "PIV, P-384 (ES384)" piv 2 auth
run "ir-nid (Iran's card: certificates + PIN state; it cannot sign without the registry)" ir-nid 0 info
echo "card bench: $(wc -l < "$OUT") profiles" >&2
