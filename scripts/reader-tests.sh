#!/usr/bin/env bash
# Reader emulators against independent hosts. `hoviat sim reader` serves a GemPC Twin serial
# CCID reader or a PN532 module (each with a virtual card) on one end of a socat pty pair:
# - pcscd with Debian libccid's serial driver (libccidtwin.so) on the other end sees the
#   reader and its card; OpenSC prints the ATR, round-trips APDUs and identifies the PIV card;
#   `hoviat card` reads the Iranian card, checks its ID PIN, authenticates with the PIV card
#   (token verified) and reports CARD_REMOVED when the card leaves mid-command;
# - libnfc's pn532_uart driver (nfc-list) finds the PN532's ISO 14443-4 target, UID and ATS.
# pcscd runs in private mount and network namespaces (its own /run/pcscd on a tmpfs), so a
# system pcscd is neither stopped nor disturbed; clients join it with nsenter.
# Prints `ok NAME` / `FAIL NAME: why` and `reader: N failed`.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
T=$(mktemp -d)
FAILS=0
PIDS=()
AT=2026-11-23T10:00:00Z
ORIGIN=https://bank.example.ir
NONCE=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(32))).decode())')
IR_ATR=3b:ff:96:00:00:81:31:fe:43:80:31:80:65:b0:85:04:00:11:12:0f:ff:82:90:00:e0

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS+1)); }
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }
finish() { echo "reader: $FAILS failed"; [ "$FAILS" -eq 0 ]; exit; }

# --- Set-up -----------------------------------------------------------------------------------
source scripts/setup.sh
ensure_packages socat pcscd libccid opensc pcsc-tools libnfc-bin pkg-config libpcsclite-dev \
  || { fail setup "apt-get install"; finish; }
DRIVER=$(ls /usr/lib/pcsc/drivers/serial/libccidtwin.so 2>/dev/null | head -1)
[ -n "$DRIVER" ] || { fail setup "libccidtwin.so not found"; finish; }
unshare -m -n true 2>/dev/null || { fail setup "unshare -m -n is not permitted (needed for a private pcscd)"; finish; }

# Build, then copy the binary at once. A CARGO_TARGET_DIR shared with other checkouts of this
# crate may have its artifacts replaced by their builds mid-way: check the copy, retry.
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$T/hoviat
has_sim_reader() { "$BIN" sim reader --kind none --pty /dev/null --wtx 1 2>/dev/null | grep -q gempc-twin; }
for _ in 1 2 3 4; do
  if cargo build --quiet --bin hoviat 2>"$T/build.log"; then
    cp "$TARGET/debug/hoviat" "$BIN" && has_sim_reader && break
  fi
  touch src/lib.rs crates/cli/src/bin/hoviat.rs
done
has_sim_reader || { fail build "no binary with sim reader: $(tail -5 "$T/build.log")"; finish; }
"$BIN" testpki --out "$T/pki" --seed reader --at 2026-11-23T00:00:00Z > /dev/null
TRUST=(--trust-anchor "$T/pki/root.pem" --intermediate "$T/pki/ca-rsa.pem" --intermediate "$T/pki/ca-ec.pem")

# pty NAME: a socat pty pair $T/NAME.host (for the host driver) <-> $T/NAME.dev (for the emulator).
pty() {
  socat pty,raw,echo=0,link="$T/$1.host" pty,raw,echo=0,link="$T/$1.dev" 2>"$T/$1.socat" &
  PIDS+=($!)
  for _ in $(seq 50); do [ -e "$T/$1.dev" ] && [ -e "$T/$1.host" ] && return 0; sleep 0.05; done
  fail "pty-$1" "socat made no pty pair: $(cat "$T/$1.socat")"; return 1
}
# emu NAME ARGS...: an emulator on pty NAME.
emu() {
  local name=$1; shift
  pty "$name" || return 1
  "$BIN" sim reader --pki "$T/pki" --pty "$T/$name.dev" "$@" >"$T/$name.out" 2>"$T/$name.log" &
  PIDS+=($!)
  # Serving once it names its pty (libccid drops a reader that is silent for 2 s at start).
  for _ in $(seq 200); do grep -q "^sim: .* on " "$T/$name.log" 2>/dev/null && return 0; sleep 0.05; done
  fail "emulator-$name" "did not start: $(cat "$T/$name.log")"; return 1
}

# --- GemPC Twin readers under pcscd + libccidtwin ----------------------------------------------
emu ir --kind gempc-twin --profile ir-nid --holder 0
emu piv --kind gempc-twin --profile piv --holder 1 --time-extensions 2 --wtx 2
emu rm --kind gempc-twin --profile piv --holder 1 --remove-after 3
mkdir -p "$T/readers"
for r in ir:IR piv:PIV rm:Removal; do
  cat > "$T/readers/${r%%:*}" <<EOF
FRIENDLYNAME "Emulated GemPC Twin ${r##*:}"
DEVICENAME   $(readlink -f "$T/${r%%:*}.host")
LIBPATH      $DRIVER
EOF
done
sleep 0.2
cat > "$T/pcscd.sh" <<'EOF'
mkdir -p /run/pcscd && mount -t tmpfs tmpfs /run/pcscd || exit 97
ip link set lo up 2>/dev/null
exec pcscd -f -d -c "$1"
EOF
unshare -m -n sh "$T/pcscd.sh" "$T/readers" > "$T/pcscd.log" 2>&1 &
PCSCD=$!
PIDS+=("$PCSCD")
ns() { nsenter -t "$PCSCD" -m -n "$@"; }
for _ in $(seq 60); do
  ns opensc-tool -l > "$T/list.txt" 2>/dev/null
  [ "$(grep -c "Yes *Emulated GemPC Twin" "$T/list.txt")" = 3 ] && break
  sleep 0.1
done
# pcscd numbers readers itself ("<FRIENDLYNAME> <nn> 00"): take the names from its list.
name() { grep -o "Emulated GemPC Twin $1 [0-9A-F][0-9A-F] 00" "$T/list.txt" | head -1; }
NAME_IR=$(name IR); NAME_PIV=$(name PIV); NAME_RM=$(name Removal)
if [ -n "$NAME_IR" ] && [ -n "$NAME_PIV" ] && [ -n "$NAME_RM" ] && [ "$(grep -c "Yes *Emulated GemPC Twin" "$T/list.txt")" = 3 ]; then
  ok twin-pcscd-sees-readers-and-cards
else fail twin-pcscd-sees-readers-and-cards "$(cat "$T/list.txt") $(grep -i -E "fail|error" "$T/pcscd.log" | head -5)"; fi
index() { awk -v n="$1" '{ line=$0; sub(/^[0-9]+ +(Yes|No) +/, "", line); sub(/^ +/, "", line) } index($0, n) { print $1; exit }' "$T/list.txt"; }
IDX_IR=$(index "$NAME_IR"); IDX_PIV=$(index "$NAME_PIV")

ATR=$(ns opensc-tool -r "${IDX_IR:-0}" -a 2>&1 | tail -1)
[ "$ATR" = "$IR_ATR" ] && ok twin-opensc-atr || fail twin-opensc-atr "got [$ATR]"

# SELECT the card manager, GET DATA CPLC: a T=1 exchange through libccid with data back.
ns opensc-tool -r "${IDX_IR:-0}" -s 00:A4:04:00:08:A0:00:00:00:18:43:4D:00 -s 80:CA:9F:7F:00 > "$T/apdu.txt" 2>&1
if [ "$(grep -c 'SW1=0x90, SW2=0x00' "$T/apdu.txt")" = 2 ] && grep -q '^9F 7F 2A' "$T/apdu.txt"; then ok twin-opensc-apdu-roundtrip
else fail twin-opensc-apdu-roundtrip "$(tail -6 "$T/apdu.txt")"; fi

H0=$(python3 -c "import json;print(json.load(open('$T/pki/manifest.json'))['holders'][0]['file'])")
if ns "$BIN" card info --reader "$NAME_IR" > "$T/info.json" 2>"$T/info.err" \
  && json "$T/info.json" 'j["profile"]=="ir-nid" and len(j["certificates"])==2 and j["cardSerial"] and [p["triesLeft"] for p in j["pins"]]==[3,3]' \
  && python3 - "$T/pki/$H0" "$T/info.json" <<'PY'
import sys, json, base64
pem = open(sys.argv[1]).read()
der = base64.b64decode(''.join(pem.split('-----')[2].split()))
j = json.load(open(sys.argv[2]))
sys.exit(0 if all(base64.b64decode(c["der"]) == der for c in j["certificates"]) else 1)
PY
then ok twin-hoviat-card-info-ir-nid
else fail twin-hoviat-card-info-ir-nid "$(head -c 300 "$T/info.json") $(tail -2 "$T/info.err")"; fi

echo 1234 > "$T/idpin"
if ns "$BIN" card verify-pin --reader "$NAME_IR" --pin-kind id --pin-stdin < "$T/idpin" > "$T/pin.json" 2>&1 \
  && json "$T/pin.json" 'j["pinVerified"]'; then ok twin-ir-nid-id-pin
else fail twin-ir-nid-id-pin "$(head -c 300 "$T/pin.json")"; fi

# PIV through a reader that sends two CCID time extensions before every answer, with a card
# that asks for a T=1 waiting-time extension (S(WTX)) before every answer.
if ns opensc-tool -r "${IDX_PIV:-1}" -n 2>&1 | grep -q "Personal Identity Verification Card"; then ok twin-opensc-identifies-piv-with-time-extensions-and-wtx
else fail twin-opensc-identifies-piv-with-time-extensions-and-wtx "$(ns opensc-tool -r "${IDX_PIV:-1}" -n 2>&1 | tail -2)"; fi
echo 123456 > "$T/pin"
if ns "$BIN" card auth --reader "$NAME_PIV" --origin $ORIGIN --nonce "$NONCE" --pin-stdin < "$T/pin" > "$T/token.json" 2>"$T/auth.err" \
  && "$BIN" verify-token --token "$T/token.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT > "$T/verify.json" 2>&1 \
  && json "$T/verify.json" 'j["verified"]'; then ok twin-piv-auth-token-verifies
else fail twin-piv-auth-token-verifies "$(head -c 300 "$T/token.json") $(head -c 300 "$T/verify.json") $(tail -2 "$T/auth.err")"; fi

# The card leaves after 3 APDUs: the reader fails the next XfrBlock (bStatus 42, bError FE).
ns "$BIN" card auth --reader "$NAME_RM" --origin $ORIGIN --nonce "$NONCE" --pin-stdin < "$T/pin" > "$T/rm.json" 2>"$T/rm.err"
json "$T/rm.json" 'j["error"]["code"]=="CARD_REMOVED"' && ok twin-card-removed-mid-command || fail twin-card-removed-mid-command "$(head -c 300 "$T/rm.json")"
for _ in $(seq 20); do ns opensc-tool -l > "$T/list2.txt" 2>/dev/null; grep -q "No *$NAME_RM" "$T/list2.txt" && break; sleep 0.1; done
grep -q "No *$NAME_RM" "$T/list2.txt" && ok twin-pcscd-sees-removal || fail twin-pcscd-sees-removal "$(cat "$T/list2.txt")"

# --- PN532 under libnfc's pn532_uart ------------------------------------------------------------
nfc() { # name profile holder
  emu "$1" --kind pn532 --profile "$2" --holder "$3" || return 1
  LIBNFC_DEVICE="pn532_uart:$(readlink -f "$T/$1.host")" timeout 30 nfc-list -t 1 > "$T/$1.nfc" 2>&1
  local uid ats hist
  uid=$(sed -n 's/.*UID \([0-9A-F]*\).*/\1/p' "$T/$1.log")
  ats=$(sed -n 's/.*ATS \([0-9A-F]*\).*/\1/p' "$T/$1.log")
  want_uid=$(echo "$uid" | sed 's/../& /g; s/ *$//' | tr 'A-F' 'a-f')
  want_ats=$(echo "${ats:2}" | sed 's/../& /g; s/ *$//' | tr 'A-F' 'a-f')   # nfc-list prints the ATS without TL
  got_uid=$(sed -n 's/^ *UID (NFCID[0-9]): //p' "$T/$1.nfc" | tr -s ' ' | sed 's/ *$//')
  got_ats=$(sed -n 's/^ *ATS: //p' "$T/$1.nfc" | tr -s ' ' | sed 's/ *$//')
  if grep -q "1 ISO14443A passive target(s) found" "$T/$1.nfc" && grep -q "SAK (SEL_RES): 20" "$T/$1.nfc" \
     && [ -n "$uid" ] && [ "$got_uid" = "$want_uid" ] && [ "$got_ats" = "$want_ats" ] && [[ "$got_ats" == *"$4"* ]]; then
    ok "pn532-nfc-list-$2"
  else fail "pn532-nfc-list-$2" "uid [$got_uid] want [$want_uid], ats [$got_ats] want [$want_ats]: $(head -12 "$T/$1.nfc")"; fi
}
# The ATS carries the contact ATR's historical bytes: the Mav4's, or the PIV AID.
nfc nfc-ir ir-nid 0 "80 31 80 65 b0 85"
nfc nfc-piv piv 1 "f9 a0 00 00 03 08"

finish
