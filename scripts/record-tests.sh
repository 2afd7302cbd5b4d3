#!/usr/bin/env bash
# Identity records end to end: `hoviat record testkit` writes a test registry and institution,
# `hoviat record make` seals records at each level (certificate, card-pin, card-signature with
# software cards, P-256 and RSA), `hoviat record disclose` makes a presentation, and both
# `hoviat record verify` and an independent verifier (pkg-tests/record/verify.mjs: the
# OpenWallet Foundation's @sd-jwt/sd-jwt-vc with node:crypto) check them; a changed disclosure
# and a record sealed outside the institution's CA are refused by both. All times are fixed
# (--at), so the result does not depend on today's date. Prints `ok NAME` / `FAIL NAME: why`
# and a last line `record: N failed`. Needs node >= 20 and npm, pcscd and vsmartcard-vpcd (installs
# them with apt-get if absent). The PC/SC part runs its own pcscd (as scripts/card-tests.sh does)
# and waits for a pcscd it did not start to go away rather than stopping it.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FAILED=0
AT=2026-11-23T10:00:00Z

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs npm" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null 2>&1
fi
command -v node >/dev/null 2>&1 || { echo "FAIL setup: no node"; echo "record: 1 failed"; exit 1; }

cargo build --quiet --bin hoviat || { echo "FAIL build"; echo "record: 1 failed"; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# A private copy: the target directory may be shared with other builds.
cp "$TARGET/debug/hoviat" "$W/hoviat"
H=$W/hoviat
(cd pkg-tests/record && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) \
  || { echo "FAIL setup: npm ci in pkg-tests/record"; echo "record: 1 failed"; exit 1; }
NODE_VERIFY="node $ROOT/pkg-tests/record/verify.mjs"

cd "$W"
"$H" record testkit --out kit --seed record-tests --at "$AT" >/dev/null \
  || { echo "FAIL testkit"; echo "record: 1 failed"; exit 1; }
sed 's/"pin": "accepted"/"pin": "not-tried"/' kit/cards/ir-nid-0.json > kit/cards/ir-nid-0-nopin.json

make_record() { # out purpose facts [extra args...]
  local out=$1 purpose=$2 facts=$3
  shift 3
  local terminal=${TERMINAL:-kit/institution}
  "$H" record make --institution kit/institution/institution.json --purpose "$purpose" \
    --terminal branch-1/counter-1 --operator operator-7 \
    --terminal-key "$terminal/terminal.key" --terminal-cert "$terminal/terminal.pem" \
    --terminal-cert "$terminal/terminal-ca.pem" --facts "$facts" \
    --registry-anchor kit/registry/root.pem --intermediate kit/registry/ca-rsa.pem \
    --intermediate kit/registry/ca-ec.pem --crl kit/registry/ca-rsa.crl.pem \
    --crl kit/registry/ca-ec.crl.pem --at "$AT" --face-match yes --out "$out" "$@" > "$out.json"
}

hv() { # file -> JSON (exit status kept)
  "$H" record verify "$1" --institution-ca kit/institution/root.pem \
    --institution kit/institution/institution.json
}

field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);const r=process.argv[1].split(".").reduce((o,k)=>o==null?o:o[k],v);console.log(typeof r==="object"?JSON.stringify(r):r)})' "$1"; }

check_level() { # name file level
  local name=$1 file=$2 want=$3 out got
  if out=$(hv "$file"); then
    got=$(echo "$out" | field level)
    [ "$got" = "$want" ] && ok "$name hoviat verify ($got)" || fail "$name hoviat verify" "level $got, want $want"
  else
    fail "$name hoviat verify" "$out"
  fi
  if out=$($NODE_VERIFY --ca kit/institution/root.pem "$file"); then
    got=$(echo "$out" | field level)
    [ "$got" = "$want" ] && ok "$name @sd-jwt/sd-jwt-vc verify ($got, $(echo "$out" | field disclosed) disclosures)" \
      || fail "$name @sd-jwt/sd-jwt-vc verify" "level $got"
  else
    fail "$name @sd-jwt/sd-jwt-vc verify" "$out"
  fi
}

# ---- one record per level ----------------------------------------------------------------------
make_record cert.sdjwt account-opening kit/cards/ir-nid-0-nopin.json --national-code 0076229645 \
  && check_level "certificate (Iranian layout)" cert.sdjwt certificate || fail "make certificate" "$(cat cert.sdjwt.json)"
make_record pin.sdjwt account-opening kit/cards/ir-nid-0.json --national-code 0076229645 \
  && check_level "card-pin (Iranian layout)" pin.sdjwt card-pin || fail "make card-pin" "$(cat pin.sdjwt.json)"
make_record sig.sdjwt account-opening kit/cards/piv-1.json --card-key kit/cards/holder-1.key \
  && check_level "card-signature (P-256 software card)" sig.sdjwt card-signature || fail "make card-signature" "$(cat sig.sdjwt.json)"
make_record sig-rsa.sdjwt government-service kit/cards/ir-nid-0.json --card-key kit/cards/holder-0.key \
  && check_level "card-signature (RSA software card)" sig-rsa.sdjwt card-signature || fail "make card-signature RSA" "$(cat sig-rsa.sdjwt.json)"

# ---- from a web-eid token (the certificate it carries) and minimal facts -------------------------
NONCE=$(node -e 'console.log(Buffer.from([...Array(32).keys()]).toString("base64"))')
"$H" make-token --pki kit/registry --holder 1 --origin https://bank.example.ir --nonce "$NONCE" > token.json
echo '{"chipType":"piv","pin":"accepted"}' > facts-min.json
make_record tok.sdjwt sim-registration facts-min.json --token token.json \
  && check_level "from a token" tok.sdjwt card-pin || fail "make from a token" "$(cat tok.sdjwt.json)"
make_record nocert.sdjwt sim-registration facts-min.json
[ "$(field error.code < nocert.sdjwt.json)" = CERT_MALFORMED ] && ok "facts without a certificate refused (CERT_MALFORMED)" \
  || fail "facts without certificate" "$(cat nocert.sdjwt.json)"

# ---- provenance and purpose --------------------------------------------------------------------
out=$(hv pin.sdjwt)
prov=$(echo "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s).attributes;console.log(a.map(x=>x.name+"="+x.provenance).join(","))})')
[ "$prov" = "given_name=chip-certificate,family_name=chip-certificate,national_code=operator,card_reference=chip-certificate,face_match=operator,card_expiry_date=chip-file,holder_certificate=chip-certificate" ] \
  && ok "provenance of each attribute" || fail "provenance" "$prov"
make_record sim.sdjwt sim-registration kit/cards/ir-nid-0.json --national-code 0076229645
names=$($NODE_VERIFY --ca kit/institution/root.pem sim.sdjwt | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Object.keys(JSON.parse(s).claims).sort().join(",")))')
[ "$names" = "family_name,given_name,national_code" ] && ok "sim-registration discloses only its attributes (seen by @sd-jwt)" \
  || fail "sim-registration attributes" "$names"

# ---- a presentation for a third party ----------------------------------------------------------
if "$H" record disclose sig.sdjwt --attributes given_name,face_match --out pres.sdjwt >/dev/null; then
  n=$($NODE_VERIFY --ca kit/institution/root.pem pres.sdjwt | field disclosed)
  [ "$n" = 2 ] && ok "presentation verified by @sd-jwt/sd-jwt-vc (2 disclosures)" || fail "presentation @sd-jwt" "$n"
  n=$(hv pres.sdjwt | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(v.level+":"+v.attributes.map(a=>a.name).join(","))})')
  [ "$n" = "card-signature:given_name,face_match" ] && ok "presentation verified by hoviat ($n)" || fail "presentation hoviat" "$n"
else
  fail "disclose" "hoviat record disclose failed"
fi

# ---- refusals ----------------------------------------------------------------------------------
expect_refused() { # name file code
  local out
  if out=$(hv "$2"); then fail "$1 hoviat" "accepted"; else
    [ "$(echo "$out" | field error.code)" = "$3" ] && ok "$1 refused by hoviat ($3)" || fail "$1 hoviat" "$out"
  fi
  if out=$($NODE_VERIFY --ca kit/institution/root.pem "$2"); then fail "$1 @sd-jwt" "accepted"; else
    ok "$1 refused by the independent verifier ($(echo "$out" | field error))"
  fi
}
# A changed disclosure (value edited, same salt and name).
node -e '
const fs=require("fs");const p=fs.readFileSync(process.argv[1],"utf8").trim().split("~");
const d=JSON.parse(Buffer.from(p[1],"base64url"));d[2].value=typeof d[2].value==="string"?d[2].value+"x":!d[2].value;
p[1]=Buffer.from(JSON.stringify(d)).toString("base64url");fs.writeFileSync(process.argv[2],p.join("~"));' pres.sdjwt changed.sdjwt
expect_refused "changed disclosure" changed.sdjwt RECORD_DISCLOSURE_MISMATCH
out=$($NODE_VERIFY --ca kit/institution/root.pem --tamper sig.sdjwt)
[ "$(echo "$out" | field ok)" = false ] && ok "changed disclosure in a full record refused by the independent verifier" || fail "tamper full" "$out"
# A seal by a terminal of another CA (same institution name).
TERMINAL=kit/rogue make_record rogue.sdjwt sim-registration kit/cards/ir-nid-0.json --national-code 0076229645
expect_refused "terminal outside the institution CA" rogue.sdjwt RECORD_UNTRUSTED_TERMINAL
# A changed clear claim (the operator) under the old seal.
node -e '
const fs=require("fs");const p=fs.readFileSync(process.argv[1],"utf8").trim().split("~");const j=p[0].split(".");
const b=JSON.parse(Buffer.from(j[1],"base64url"));b.operator="operator-8";j[1]=Buffer.from(JSON.stringify(b)).toString("base64url");
p[0]=j.join(".");fs.writeFileSync(process.argv[2],p.join("~"));' pin.sdjwt operator.sdjwt
expect_refused "changed operator" operator.sdjwt RECORD_SEAL_INVALID

# ---- through real pcscd with the virtual cards ---------------------------------------------------
# PIV (holder 1, P-256): certificate, and card-signature (the card signs the record's digest);
# the Iranian card (holder 0): certificate, card-pin (ID PIN), and its refusal to sign.
cd "$ROOT"
source scripts/setup.sh
SIM_PID=""
PCSCD_PID=""
pcsc_cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  [ -n "$PCSCD_PID" ] && kill "$PCSCD_PID" 2>/dev/null && wait "$PCSCD_PID" 2>/dev/null
  SIM_PID=""
  PCSCD_PID=""
}
trap 'pcsc_cleanup; rm -rf "$W"' EXIT
for _ in $(seq 120); do pgrep -x pcscd >/dev/null || break; sleep 1; done
if ! ensure_packages pcscd vsmartcard-vpcd; then
  fail "pcsc setup" "cannot install pcscd vsmartcard-vpcd"
elif pgrep -x pcscd >/dev/null; then
  fail "pcsc setup" "another pcscd is running (not ours: left alone)"
else
  cd "$W"
  start_pcscd "$W/pcscd.log"
  sim() { # profile holder
    if [ -n "$SIM_PID" ]; then
      kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
      # pcscd notices the previous card's removal only at its next poll: wait for it, or the
      # next command still talks to the old card.
      for _ in $(seq 60); do
        "$H" card list 2>/dev/null | grep -q '"cardPresent": true' || break
        sleep 0.1
      done
    fi
    (in_ns "$H" sim card --profile "$1" --pki "${sim_pki:-kit/registry}" --holder "$2") > "$W/sim.log" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 60); do
      "$H" card list 2>/dev/null | grep -q '"cardPresent": true' && return 0
      sleep 0.1
    done
    fail "sim $1" "card never seen by pcscd: $(cat "$W/sim.log")"
    return 1
  }
  card_record() { # name out purpose want-level pin(-|PIN) [extra args]
    local name=$1 out=$2 purpose=$3 want=$4 pin=$5
    shift 5
    local stdin=/dev/null
    if [ "$pin" != - ]; then echo "$pin" > "$W/pin"; stdin=$W/pin; set -- --pin-stdin "$@"; fi
    if ! "$H" record make --institution kit/institution/institution.json --purpose "$purpose" \
      --terminal branch-1/counter-1 --operator operator-7 --terminal-key kit/institution/terminal.key \
      --terminal-cert kit/institution/terminal.pem --terminal-cert kit/institution/terminal-ca.pem \
      --card "${REG_ARGS[@]}" --at "$AT" --face-match yes --out "$out" "$@" < "$stdin" > "$out.json" 2> "$W/card.err"; then
      fail "$name make" "$(cat "$out.json") $(tail -1 "$W/card.err")"
      return 1
    fi
    check_level "$name" "$out" "$want"
  }
  REG_ARGS=(--registry-anchor kit/registry/root.pem --intermediate kit/registry/ca-rsa.pem
    --intermediate kit/registry/ca-ec.pem --crl kit/registry/ca-rsa.crl.pem --crl kit/registry/ca-ec.crl.pem)
  if sim piv 1; then
    card_record "pcscd PIV certificate" pcsc-piv-cert.sdjwt sim-registration certificate -
    card_record "pcscd PIV card-signature" pcsc-piv-sig.sdjwt account-opening card-signature 123456 --card-sign
  fi
  # The faithful virtual Iranian card (kit/iran: the Iranian-layout registry): names and CRN from
  # the signing certificate, CRN, chip serial and dates from chip files, the national code only as
  # the operator types it.
  REG_ARGS=(--registry-anchor kit/iran/root.pem --intermediate kit/iran/ca.pem --crl kit/iran/ca.crl.pem)
  IR_NC=$(node -e 'console.log(require("./kit/iran/manifest.json").holders[0].nationalCode)')
  IR_CRN=$(node -e 'console.log(require("./kit/iran/manifest.json").holders[0].crn)')
  if sim_pki=kit/iran sim ir-nid 0; then
    card_record "pcscd Iranian card certificate" pcsc-ir-cert.sdjwt account-opening certificate - --national-code "$IR_NC"
    card_record "pcscd Iranian card card-pin" pcsc-ir-pin.sdjwt account-opening card-pin 1234 --national-code "$IR_NC"
    out=$(hv pcsc-ir-pin.sdjwt | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(v.evidence.card.chipType+" "+v.evidence.card.serial+" "+v.attributes.map(a=>a.name+"="+(a.name==="holder_certificate"?"…":a.value)+"@"+a.provenance).join(","))})')
    want="ir-nid 51200010 given_name=مریم@chip-certificate,family_name=رضایی@chip-certificate,national_code=$IR_NC@operator,card_reference=$IR_CRN@chip-certificate,face_match=true@operator,card_expiry_date="
    case "$out" in
      "$want"*"@chip-file,holder_certificate=…@chip-certificate") ok "pcscd Iranian card record: names and CRN from the certificate, dates from the chip, national code from the operator" ;;
      *) fail "pcscd Iranian card record attributes" "$out" ;;
    esac
    echo 1234 > "$W/pin"
    out=$("$H" record make --institution kit/institution/institution.json --purpose account-opening \
      --terminal t --operator o --terminal-key kit/institution/terminal.key \
      --terminal-cert kit/institution/terminal.pem --terminal-cert kit/institution/terminal-ca.pem \
      --card --pin-stdin --card-sign "${REG_ARGS[@]}" --at "$AT" < "$W/pin" 2>/dev/null)
    [ "$(echo "$out" | field error.code)" = CARD_NEEDS_REGISTRY_SERVICE ] \
      && ok "pcscd Iranian card does not sign without the registry (CARD_NEEDS_REGISTRY_SERVICE)" \
      || fail "pcscd Iranian card sign" "$out"
  fi
  pcsc_cleanup
fi

echo "record: $FAILED failed"
[ "$FAILED" -eq 0 ]
