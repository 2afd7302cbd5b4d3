#!/usr/bin/env bash
# Card layer against real parts: pcscd + vpcd with hoviat's virtual cards, OpenSC as an
# independent client. Prints "ok NAME" / "FAIL NAME: why" and "pcsc: N failed".
set -u
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$TARGET/debug/hoviat
HOST_BIN=$TARGET/debug/hoviat-host
T=$(mktemp -d)
FAILS=0
SIM_PID=""
PCSCD_PID=""
AT=2026-11-23T10:00:00Z
ORIGIN=https://bank.example.ir
NONCE=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(32))).decode())')
P11=$(ls /usr/lib/*/opensc-pkcs11.so 2>/dev/null | head -1)

cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
  [ -n "$PCSCD_PID" ] && kill "$PCSCD_PID" 2>/dev/null
  sleep 0.2; rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS+1)); }

# json FILE EXPR: evaluates a python expression over j (the JSON in FILE).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }

# expect NAME EXIT CODE_OR_EXPR -- CMD...: runs CMD (60 s limit), checks exit and JSON.
expect() {
  local name=$1 want=$2 check=$3; shift 4
  timeout 60 "$@" > "$T/out.json" 2> "$T/err.txt" < "${STDIN:-/dev/null}"; local rc=$?
  if [ "$rc" != "$want" ]; then fail "$name" "exit $rc (wanted $want): $(head -c 300 "$T/out.json") $(tail -2 "$T/err.txt")"; return 1; fi
  if [ -n "$check" ]; then
    if [[ "$check" =~ ^[A-Z_]+$ ]]; then check="j['error']['code']=='$check'"; fi
    json "$T/out.json" "$check" || { fail "$name" "check [$check] on $(head -c 400 "$T/out.json")"; return 1; }
  fi
  ok "$name"
}

# --- Set-up: install, then pcscd in a private network namespace (vpcd binds every interface).
source scripts/setup.sh
ensure_packages pcscd vsmartcard-vpcd opensc libpcsclite-dev || { echo "FAIL setup: apt-get install"; echo "pcsc: 1 failed"; exit 1; }
CARGO_TARGET_DIR=$TARGET cargo build -q --bin hoviat --bin hoviat-host 2>"$T/build.txt" \
  || { echo "FAIL build: $(tail -5 "$T/build.txt")"; echo "pcsc: 1 failed"; exit 1; }
# Another pcscd (socket activation, another suite) would be a second service on the same socket:
# wait a moment for it to leave, and never kill a pcscd this script did not start.
for _ in $(seq 50); do pgrep -x pcscd >/dev/null || break; sleep 0.1; done
if pgrep -x pcscd >/dev/null; then echo "FAIL setup: another pcscd is running (pid $(pgrep -x pcscd | tr '\n' ' ')); stop it first"; echo "pcsc: 1 failed"; exit 1; fi
start_pcscd "$T/pcscd.log"

"$BIN" testpki --out "$T/pki" --seed pcsc --at 2026-11-23T00:00:00Z > /dev/null
TRUST=(--trust-anchor "$T/pki/root.pem" --intermediate "$T/pki/ca-rsa.pem" --intermediate "$T/pki/ca-ec.pem")

wait_present() { # want=true|false
  for _ in $(seq 60); do
    "$BIN" card list > "$T/list.json" 2>/dev/null && json "$T/list.json" "j['readers'][0]['cardPresent']==$1" && return 0
    sleep 0.1
  done
  return 1
}
sim() { # args for `sim card`
  stop_sim
  (in_ns "$BIN" sim card --pki "${SIM_PKI:-$T/pki}" "$@") > "$T/sim.log" 2>&1 &
  SIM_PID=$!
  wait_present True || { fail "sim $*" "card never seen by pcscd: $(cat "$T/sim.log")"; return 1; }
}
stop_sim() {
  [ -z "$SIM_PID" ] && return 0
  kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=""
  wait_present False || fail stop-sim "pcscd still sees a card"
}

expect no-card-yet 0 'j["readers"][0]["cardPresent"] == False and len(j["readers"]) == 2' -- "$BIN" card list

# --- PIV, P-256: info, authenticate, verify; origin binding.
sim --profile piv --holder 1
expect piv-list 0 'j["readers"][0]["cardPresent"] and j["readers"][0]["atr"]=="3B8B800180F9A00000030800001000C8"' -- "$BIN" card list
expect piv-info 0 'j["profile"]=="piv" and len(j["certificates"])==1 and j["pins"][0]["triesLeft"]==3' -- "$BIN" card info
expect piv-auth-needs-pin 1 PIN_REQUIRED -- "$BIN" card auth --origin $ORIGIN --nonce "$NONCE"
echo 123456 > "$T/pin"
STDIN=$T/pin expect piv-auth 0 'j["format"]=="web-eid:1.0" and j["algorithm"]=="ES256"' -- "$BIN" card auth --origin $ORIGIN --nonce "$NONCE" --pin-stdin && cp "$T/out.json" "$T/token.json"
expect piv-token-verifies 0 'j["verified"] and j["holder"]["nationalCode"]' -- "$BIN" verify-token --token "$T/token.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT
expect piv-token-other-origin 1 ORIGIN_MISMATCH -- "$BIN" verify-token --token "$T/token.json" --origin https://evil.example.ir --nonce "$NONCE" "${TRUST[@]}" --at $AT
# After a PIN-verified authentication the card is reset: a second, independent PC/SC client
# (OpenSC's opensc-tool, raw APDUs) finds the PIN unverified and cannot sign without it.
# second_client_sign NAME: SELECT PIV, PIN state, GENERAL AUTHENTICATE (P-256, key 9A).
GA="00:87:11:9A:26:7C:24:82:00:81:20:$(python3 -c 'print(":".join(["AB"]*32))'):00"
second_client_sign() {
  opensc-tool -r 0 -s 00:A4:04:00:09:A0:00:00:03:08:00:00:10:00:00 -s 00:20:00:80 -s "$GA" > "$T/second.txt" 2>&1
  local sws; sws=$(grep -o 'SW1=0x[0-9A-F]*, SW2=0x[0-9A-F]*' "$T/second.txt" | tr -d ' ' | tr '\n' ' ')
  if [ "$sws" = "SW1=0x90,SW2=0x00 SW1=0x63,SW2=0xC3 SW1=0x69,SW2=0x82 " ]; then ok "$1"
  else fail "$1" "a second client after the authentication got: ${sws:-$(tail -2 "$T/second.txt")} (want 9000, 63C3 unverified, 6982 no signature)"; fi
}
STDIN=$T/pin expect piv-auth-again 0 'j["format"]=="web-eid:1.0"' -- "$BIN" card auth --origin $ORIGIN --nonce "$NONCE" --pin-stdin
second_client_sign piv-card-reset-after-cli-auth
# The same through the native host (as the browser extension drives it): a token with the PIN,
# then the host refuses to sign without one (PIN_REQUIRED, the card untouched), and a second
# client cannot sign either.
python3 - "$HOST_BIN" "$NONCE" > "$T/host.txt" 2>&1 <<'PYH'
import json, struct, subprocess, sys
p = subprocess.Popen([sys.argv[1], "chrome-extension://test/"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def send(m): b = json.dumps(m).encode(); p.stdin.write(struct.pack("=I", len(b)) + b); p.stdin.flush()
def recv():
    while True:
        n = p.stdout.read(4); r = json.loads(p.stdout.read(struct.unpack("=I", n)[0]))
        if "status" not in r: return r
base = {"v": 1, "cmd": "authenticate", "origin": "https://bank.example.ir", "nonce": sys.argv[2]}
send({**base, "id": "a1", "pin": "123456"}); r = recv()
assert r["id"] == "a1" and r["ok"] and r["result"]["token"]["format"] == "web-eid:1.0", r
send({**base, "id": "a2"}); r = recv()
assert r["id"] == "a2" and r["error"]["code"] == "PIN_REQUIRED", r
p.stdin.close(); p.wait(timeout=5)
print("host ok")
PYH
if grep -q "host ok" "$T/host.txt"; then ok host-never-signs-without-pin; else fail host-never-signs-without-pin "$(tail -3 "$T/host.txt")"; fi
second_client_sign piv-card-reset-after-host-auth
echo 000000 > "$T/badpin"
STDIN=$T/badpin expect piv-wrong-pin 1 'j["error"]["code"]=="PIN_WRONG" and "2 tries" in j["error"]["message"]' -- "$BIN" card auth --origin $ORIGIN --nonce "$NONCE" --pin-stdin

# --- OpenSC, an independent client, reads the virtual PIV card through pcscd.
if opensc-tool -n 2>/dev/null | grep -q "Personal Identity Verification Card"; then ok opensc-identifies-piv; else fail opensc-identifies-piv "$(opensc-tool -n 2>&1 | tail -1)"; fi
if pkcs15-tool --list-certificates 2>/dev/null | grep -q "Certificate for PIV Authentication"; then ok opensc-lists-certificate; else fail opensc-lists-certificate "$(pkcs15-tool --list-certificates 2>&1 | tail -3)"; fi
pkcs15-tool --read-certificate 01 2>/dev/null > "$T/opensc.pem"
H1=$(python3 -c "import json;print(json.load(open('$T/pki/manifest.json'))['holders'][1]['file'])")
if python3 - "$T/pki/$H1" "$T/opensc.pem" <<'PY'
import sys, base64
der = lambda f: base64.b64decode(''.join(open(f).read().split('-----')[2].split()))
sys.exit(0 if der(sys.argv[1]) == der(sys.argv[2]) else 1)
PY
then ok opensc-reads-certificate-byte-identical; else fail opensc-reads-certificate-byte-identical "differs"; fi
if [ -n "$P11" ]; then
  head -c 32 /dev/urandom > "$T/digest"
  openssl x509 -in "$T/opensc.pem" -pubkey -noout > "$T/pub.pem"
  if pkcs11-tool --module "$P11" --login --pin 123456 --sign --mechanism ECDSA --id 01 -i "$T/digest" -o "$T/sig" --signature-format openssl >/dev/null 2>&1 \
     && openssl pkeyutl -verify -pubin -inkey "$T/pub.pem" -in "$T/digest" -sigfile "$T/sig" >/dev/null 2>&1; then
    ok opensc-pkcs11-sign-verifies
  else fail opensc-pkcs11-sign-verifies "pkcs11-tool sign or openssl verify failed"; fi
fi

# --- PIV, RSA-2048: command chaining and GET RESPONSE through pcscd.
sim --profile piv --holder 0
STDIN=$T/pin expect piv-rsa-auth 0 'j["algorithm"]=="RS256"' -- "$BIN" card auth --origin $ORIGIN --nonce "$NONCE" --pin-stdin && cp "$T/out.json" "$T/token-rsa.json"
expect piv-rsa-token-verifies 0 'j["verified"] and j["certificate"]["key"]=="RSA 2048"' -- "$BIN" verify-token --token "$T/token-rsa.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT

# --- The Iranian card, faithful layout (Iranian-layout test registry: RSA-4096 test root, RSA-2048
# citizen CA, an authentication certificate without a name, a signing certificate with SN, G and
# the CRN; CRN, chip serial, dates and PIN flags from free chip files): certificates, PIN state,
# the holder's identity with each attribute's provenance; no signature without the registry.
"$BIN" testpki --out "$T/iran" --layout iran --seed pcsc --at 2026-11-23T00:00:00Z > /dev/null
read -r CRN NC ISSUE <<<"$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["holders"][0]; print(h["crn"], h["nationalCode"], h["issueDate"])' "$T/iran/manifest.json")"
IRAN_TRUST=(--registry-anchor "$T/iran/root.pem" --intermediate "$T/iran/ca.pem" --at $AT)
SIM_PKI=$T/iran sim --profile ir-nid --holder 0
expect ir-nid-info 0 'j["profile"]=="ir-nid" and len(j["certificates"])==2 and [p["triesLeft"] for p in j["pins"]]==[3,3] and j["cardSerial"] and j["assurance"]=="certificate-only"' -- "$BIN" card info
cp "$T/out.json" "$T/ir-info.json"
expect ir-nid-real-layout 0 "[c['slot'] for c in j['certificates']]==['ir-nid-auth','ir-nid-sign'] and j['certificates'][0]['subject']=='CN=$CRN - AUTH, OU=IRAN Citizen, C=IR' and j['certificates'][1]['subject'].startswith('CN=$CRN - SIG, SN=') and ', G=' in j['certificates'][1]['subject'] and all('$NC' not in c['subject'] and 'hoviat Test IRAN Digital Citizen CA' in c['issuer'] for c in j['certificates'])" -- cat "$T/ir-info.json"
expect ir-nid-chip-files 0 "j['cardSerial']=='51200010' and j['chip']['cardReference']=='$CRN' and j['chip']['issueDate']['solarHijri']=='$ISSUE' and j['chip']['issueDate']['gregorian']=='2026-01-27' and j['chip']['expiryDate']['gregorian'] and j['chip']['pinFlags']=={'id':'active','sign':'active','matchOnCard':'not-active'}" -- cat "$T/ir-info.json"
expect ir-nid-identity-provenance 0 "j['identity']['chain']=='valid' and j['identity']['certificate']=='ir-nid-sign' and [(a['name'],a['provenance']) for a in j['identity']['attributes']]==[('given_name','chip-certificate'),('family_name','chip-certificate'),('card_reference','chip-certificate'),('card_issue_date','chip-file'),('card_expiry_date','chip-file'),('chip_serial','chip-file')] and [a['value'] for a in j['identity']['attributes']][:3]==['مریم','رضایی','$CRN']" -- "$BIN" card info "${IRAN_TRUST[@]}"
expect ir-nid-identity-unchecked-chain 0 "j['identity']['chain']=='not-checked' and not any(a['name']=='national_code' for a in j['identity']['attributes'])" -- cat "$T/ir-info.json"
expect ir-nid-identity-operator-code 0 "[(a['value'],a['provenance']) for a in j['identity']['attributes'] if a['name']=='national_code']==[('$NC','operator')]" -- "$BIN" card info --national-code "$NC"
expect ir-nid-identity-bad-check-digit 1 NATIONAL_CODE_INVALID -- "$BIN" card info --national-code "${NC:0:9}$(( (${NC:9:1} + 1) % 10 ))"
SIM_PKI=$T/iran sim --profile ir-nid --holder 2
expect ir-nid-revoked-card 1 CERT_REVOKED -- "$BIN" card info "${IRAN_TRUST[@]}" --crl "$T/iran/ca.crl.pem"
SIM_PKI=$T/iran sim --profile ir-nid --holder 0
expect ir-nid-auth-needs-registry 1 CARD_NEEDS_REGISTRY_SERVICE -- "$BIN" card auth --origin $ORIGIN --nonce "$NONCE"
echo 1234 > "$T/idpin"
STDIN=$T/idpin expect ir-nid-id-pin 0 'j["pinVerified"]' -- "$BIN" card verify-pin --pin-kind id --pin-stdin
STDIN=$T/badpin expect ir-nid-sign-pin-wrong 1 PIN_WRONG -- "$BIN" card verify-pin --pin-kind sign --pin-stdin
expect ir-nid-sign-pin-state 0 '[p["triesLeft"] for p in j["pins"] if p["name"]=="sign"]==[2]' -- "$BIN" card info
STDIN=$T/pin expect ir-nid-sign-pin 0 'j["pinVerified"]' -- "$BIN" card verify-pin --pin-kind sign --pin-stdin

# --- Failures: removal mid-operation, garbage, unknown card, no card, no service.
sim --profile piv --holder 1 --remove-after 3
STDIN=$T/pin expect removed-mid-auth 1 CARD_REMOVED -- "$BIN" card auth --origin $ORIGIN --nonce "$NONCE" --pin-stdin
stop_sim
sim --profile garbage
expect garbage-card 1 'j["error"]["code"] in ("CARD_UNKNOWN","CARD_RESPONSE_MALFORMED","CARD_STATUS_ERROR","TRANSPORT_ERROR","CARD_CERTIFICATE_MISSING")' -- "$BIN" card info
sim --profile unknown
expect unknown-card 1 CARD_UNKNOWN -- "$BIN" card info
stop_sim
expect no-card 1 NO_CARD -- "$BIN" card info
expect no-reader-by-name 1 READER_NOT_FOUND -- "$BIN" card info --reader "No Such Reader"
kill "$PCSCD_PID" 2>/dev/null; kill "$PCSCD_REAL" 2>/dev/null; wait "$PCSCD_PID" 2>/dev/null; PCSCD_PID=""
sleep 0.3
expect no-service 1 'j["error"]["code"] in ("READER_SERVICE_UNAVAILABLE","NO_READER")' -- "$BIN" card list

echo "pcsc: $FAILS failed"
[ "$FAILS" -eq 0 ]
