#!/usr/bin/env bash
# CLI tests against the built binary: each prints "ok <name>" or "FAIL <name>: why".
set -u
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-$PWD/target}/debug/hoviat
SHARED=$PWD/../shared
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FAILS=0
[ -x "$BIN" ] || { echo "FAIL build: $BIN missing"; exit 1; }

# run NAME EXPECTED_EXIT [EXPECTED_CODE_OR_JSON_CHECK] -- CMD...
# The optional third argument is a stable error code, or a python expression over `j`.
run() {
  local name=$1 want_exit=$2 check=$3; shift 4
  local out rc
  out=$("$@" 2>"$T/stderr"); rc=$?
  if [ "$rc" != "$want_exit" ]; then
    echo "FAIL $name: exit $rc, wanted $want_exit; stdout: ${out:0:300}"; FAILS=$((FAILS+1)); return
  fi
  if [ -n "$check" ]; then
    if ! printf '%s' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
check = sys.argv[1]
if check.isupper() and " " not in check:
    ok = j.get("error", {}).get("code") == check and j["error"].get("message")
else:
    ok = eval(check)
sys.exit(0 if ok else 1)' "$check"; then
      echo "FAIL $name: check [$check] on: ${out:0:400}"; FAILS=$((FAILS+1)); return
    fi
  fi
  echo "ok $name"
}

AT=2026-11-23T10:00:00Z
ORIGIN=https://bank.example.ir
NONCE=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(32))).decode())')

run national-code-valid 0 'j["valid"] and j["nationalCode"]=="0076229645"' -- "$BIN" national-code 0076229645
run national-code-persian 0 'j["nationalCode"]=="0076229645"' -- "$BIN" national-code ۰۰۷۶۲۲۹۶۴۵
run national-code-padded 0 'j["nationalCode"]=="0011537027"' -- "$BIN" national-code 11537027
run national-code-invalid 1 NATIONAL_CODE_INVALID -- "$BIN" national-code 1111111111
run national-code-missing 2 USAGE -- "$BIN" national-code
run unknown-command 2 USAGE -- "$BIN" frobnicate
run help 0 '' -- "$BIN" --help
run version 0 '' -- "$BIN" --version
# Every command answers --help (exit 0) with its usage line and its options, each with a
# one-line description (the options are those of the hand-written usage text clap replaced).
while read -r line; do
  cmd=${line%% --*}; opts=${line#"$cmd"}
  h=$("$BIN" $cmd --help 2>&1); rc=$?
  missing=""
  for o in $opts; do printf '%s\n' "$h" | grep -qE -- "^ +(-[a-zA-Z], )?$o( <[^>]+>)?  +[^ ]" || missing="$missing $o"; done
  bare=$(printf '%s\n' "$h" | grep -cE -- '^ +(-[a-zA-Z], )?--[a-z0-9-]+( <[^>]+>)? *$')
  if [ $rc = 0 ] && printf '%s\n' "$h" | grep -q "^Usage: hoviat $cmd\b" && [ -z "$missing" ] && [ "$bare" = 0 ]; then
    echo "ok help-${cmd// /-}"
  else echo "FAIL help-${cmd// /-}: exit $rc, options missing or undocumented:$missing ($bare bare): ${h:0:200}"; FAILS=$((FAILS+1)); fi
done <<'EOF'
verify-token --token --origin --nonce --trust-anchor --intermediate --crl --at --require-revocation --allow-sha1 --ocsp-response --ocsp-nonce --ocsp-skew
verify-chain --leaf --trust-anchor --intermediate --crl --at --eku --key-usage --require-revocation --allow-sha1 --ocsp-response --ocsp-nonce --ocsp-skew
verify-signature --signature --content --cert --pdf --trust-anchor --intermediate --crl --at --at-signing-time --eku --require-revocation --allow-sha1 --ocsp-response --ocsp-nonce --ocsp-skew
ocsp
ocsp request --cert --issuer --sha256 --nonce --no-nonce --out
ocsp fetch --cert --issuer --url --sha256 --nonce --no-nonce --timeout --out --at --ocsp-skew --allow-sha1
national-code
testpki --out --seed --at --layout
testpki-keys --pki
make-token --pki --holder --origin --nonce --alg
card
card list
card info --reader --national-code --face-match --registry-anchor --intermediate --crl --at
card auth --origin --nonce --reader --pin-stdin
card verify-pin --pin-kind --reader --pin-stdin
sim
sim card --profile --pki --holder --port --remove-after
sim reader --kind --pty --profile --pki --holder --remove-after --time-extensions --wtx --log
demo
record
record make --institution --purpose --terminal --operator --terminal-key --terminal-cert --facts --token --card --reader --pin-stdin --card-sign --registry-anchor --intermediate --crl --national-code --face-match --decoys --at --card-key --out
record verify --institution-ca --institution --at
record disclose --attributes --out
record testkit --out --seed --at
record bench --dir --iterations --at --out
test-cases --out
bench
bench workloads --out
bench verify --dir --backend --iterations --warmup
bench cms --signature --content --trust-anchor --at --backend --iterations --warmup
archive
archive keygen --origin --out
archive init --db --log-pub
archive append --db --log-key --institution-ca
archive checkpoint --db --log-key --out
archive verify --db --log-pub --previous --witness-pub --institution-ca
archive prove --db --index --record-id --from-size --out
archive check-proof --log-pub
archive search --db --national-code --crn --from --to --operator --purpose
archive purge --db --older-than --at
archive print --db --index --lang --pdf --out --font-url --institution --verify-url
archive witness-keygen --name --out
archive witness --db --log-pub --witness-key --state --at
EOF
h=$("$BIN" help record 2>&1) && printf '%s' "$h" | grep -q '^  verify ' && echo "ok help-record-by-name" || { echo "FAIL help-record-by-name: $h"; FAILS=$((FAILS+1)); }
h=$("$BIN" help archive prove 2>&1) && printf '%s' "$h" | grep -q -- '--record-id' && echo "ok help-archive-prove-by-name" || { echo "FAIL help-archive-prove-by-name: $h"; FAILS=$((FAILS+1)); }
run help-unknown 2 '' -- "$BIN" help frobnicate

run testpki 0 'j["holders"]>=15' -- "$BIN" testpki --out "$T/pki" --seed cli --at $AT
P=$T/pki
M=$P/manifest.json
holder_file() { python3 -c "import json;print(json.load(open('$M'))['holders'][$1]['file'])"; }
holder_code() { python3 -c "import json;print(json.load(open('$M'))['holders'][$1]['nationalCode'])"; }
TRUST=(--trust-anchor "$P/root.pem" --intermediate "$P/ca-rsa.pem" --intermediate "$P/ca-ec.pem" --intermediate "$P/ca-eku.pem")
CRLS=(--crl "$P/ca-rsa.crl.pem" --crl "$P/ca-ec.crl.pem")

for h in 0 1 2; do
  "$BIN" make-token --pki "$P" --holder $h --origin $ORIGIN --nonce "$NONCE" > "$T/token$h.json"
  code=$(holder_code $h)
  run "verify-token-holder-$h" 0 "j[\"verified\"] and j[\"holder\"][\"nationalCode\"]==\"$code\" and j[\"revocation\"][\"status\"]==\"good\" and j[\"revocation\"][\"source\"]==\"crl\" and j[\"revocation\"][\"thisUpdate\"].endswith(\"Z\")" -- \
    "$BIN" verify-token --token "$T/token$h.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" "${CRLS[@]}" --at $AT
done
run verify-token-no-crl-says-not-checked 0 'j["revocation"]["status"]=="not-checked" and j["assurance"]["revocation"]=="not-checked"' -- \
  "$BIN" verify-token --token "$T/token0.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT
run verify-token-require-revocation 1 REVOCATION_UNKNOWN -- \
  "$BIN" verify-token --token "$T/token0.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT --require-revocation
run verify-token-other-origin 1 ORIGIN_MISMATCH -- \
  "$BIN" verify-token --token "$T/token1.json" --origin https://evil.example.ir --nonce "$NONCE" "${TRUST[@]}" --at $AT
run verify-token-other-nonce 1 TOKEN_SIGNATURE_INVALID -- \
  "$BIN" verify-token --token "$T/token1.json" --origin $ORIGIN --nonce "${NONCE%?}A" "${TRUST[@]}" --at $AT
run verify-token-bad-origin-config 1 ORIGIN_INVALID -- \
  "$BIN" verify-token --token "$T/token1.json" --origin https://bank.example.ir/ --nonce "$NONCE" "${TRUST[@]}" --at $AT
run verify-token-untrusted 1 CERT_UNTRUSTED -- \
  "$BIN" verify-token --token "$T/token1.json" --origin $ORIGIN --nonce "$NONCE" --trust-anchor "$P/root.pem" --at $AT
run verify-token-issuing-ca-as-anchor 0 'j["verified"]' -- \
  "$BIN" verify-token --token "$T/token1.json" --origin $ORIGIN --nonce "$NONCE" --trust-anchor "$P/ca-ec.pem" --at $AT
run verify-token-future 1 CERT_EXPIRED -- \
  "$BIN" verify-token --token "$T/token1.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at 2040-01-01T00:00:00Z

# Holders with a defect: the expected code comes from the manifest.
python3 -c "import json
for h in json.load(open('$M'))['holders']:
    print(h['index'], h['expectedCode'] or 'OK', h['variant'])" > "$T/variants"
while read -r idx expected variant; do
  "$BIN" make-token --pki "$P" --holder "$idx" --origin $ORIGIN --nonce "$NONCE" > "$T/v$idx.json"
  if [ "$expected" = OK ]; then
    run "variant-$idx-$variant" 0 'j["verified"]' -- "$BIN" verify-token --token "$T/v$idx.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" "${CRLS[@]}" --at $AT
  else
    run "variant-$idx-$variant" 1 "$expected" -- "$BIN" verify-token --token "$T/v$idx.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" "${CRLS[@]}" --at $AT
  fi
done < "$T/variants"

# Hostile token files.
printf 'garbage' > "$T/garbage.json"
run token-garbage 1 TOKEN_MALFORMED -- "$BIN" verify-token --token "$T/garbage.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT
python3 -c "print('{\"format\":\"web-eid:1.0\",\"x\":\"' + 'A'*(4<<20) + '\"}')" > "$T/huge.json"
run token-4mb 1 TOKEN_TOO_LARGE -- "$BIN" verify-token --token "$T/huge.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT
head -c 100000 /dev/urandom > "$T/random.bin"
run token-random-bytes 1 TOKEN_TOO_LARGE -- "$BIN" verify-token --token "$T/random.bin" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT
run token-missing-file 2 IO_ERROR -- "$BIN" verify-token --token "$T/nope.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at $AT
run token-missing-origin 2 USAGE -- "$BIN" verify-token --token "$T/token0.json" --nonce "$NONCE" "${TRUST[@]}"
run token-bad-at 2 USAGE -- "$BIN" verify-token --token "$T/token0.json" --origin $ORIGIN --nonce "$NONCE" "${TRUST[@]}" --at yesterday
run unknown-flag 2 USAGE -- "$BIN" verify-token --frob
run unknown-flag-record 2 USAGE -- "$BIN" record make --frob
run unknown-flag-archive 2 '' -- "$BIN" archive verify --db "sqlite:$T/none.db" --frob
run unknown-subcommand 2 USAGE -- "$BIN" card frobnicate
run missing-subcommand 2 USAGE -- "$BIN" ocsp
run repeated-option 2 USAGE -- "$BIN" testpki --out "$T/a" --out "$T/b"
run anchor-garbage 1 CERT_MALFORMED -- "$BIN" verify-token --token "$T/token0.json" --origin $ORIGIN --nonce "$NONCE" --trust-anchor "$T/garbage.json" --at $AT

# verify-chain, PEM and DER.
L1=$P/$(holder_file 1)
python3 -c "import base64,sys;t=open('$L1').read();b=''.join(l for l in t.splitlines() if not l.startswith('-----'));open('$T/leaf1.der','wb').write(base64.b64decode(b))"
python3 -c "import base64,sys;t=open('$P/root.pem').read();b=''.join(l for l in t.splitlines() if not l.startswith('-----'));open('$T/root.der','wb').write(base64.b64decode(b))"
run chain-pem 0 'len(j["chain"])==3' -- "$BIN" verify-chain --leaf "$L1" "${TRUST[@]}" --at $AT --eku clientAuth
run chain-der 0 'len(j["chain"])==3' -- "$BIN" verify-chain --leaf "$T/leaf1.der" --trust-anchor "$T/root.der" --intermediate "$P/ca-ec.pem" --at $AT
run chain-eku-server 1 CERT_EKU_MISMATCH -- "$BIN" verify-chain --leaf "$L1" "${TRUST[@]}" --at $AT --eku serverAuth
run chain-eku-oid 1 CERT_EKU_MISMATCH -- "$BIN" verify-chain --leaf "$L1" "${TRUST[@]}" --at $AT --eku 1.3.6.1.5.5.7.3.4
run chain-bad-eku 2 USAGE -- "$BIN" verify-chain --leaf "$L1" "${TRUST[@]}" --eku nonsense
L6=$P/$(holder_file 6)
run chain-key-usage-any 0 'j["verified"]' -- "$BIN" verify-chain --leaf "$L6" "${TRUST[@]}" --at $AT
run chain-key-usage-ds 1 CERT_KEY_USAGE -- "$BIN" verify-chain --leaf "$L6" "${TRUST[@]}" --at $AT --key-usage digitalSignature
run chain-ca-as-leaf 1 CERT_IS_CA -- "$BIN" verify-chain --leaf "$SHARED/reference/iran-roots/gov-intermediate-gold-g3.pem" \
  --trust-anchor "$SHARED/reference/iran-roots/iran-root-ca-g3.pem" --at $AT
run chain-iran-root-as-anchor 1 CERT_UNTRUSTED -- "$BIN" verify-chain --leaf "$L1" --trust-anchor "$SHARED/reference/iran-roots/iran-root-ca1.pem" --at $AT

echo "cli: $FAILS failed"
[ "$FAILS" -eq 0 ]
