#!/usr/bin/env bash
# CMS (PKCS#7) signatures, differential against OpenSSL: every case is signed at run time by
# `openssl cms -sign` with the test registry's holder keys (`hoviat testpki` + `testpki-keys`),
# some are then mutated (scripts/cms-der-mutate.py), and each is checked by both
# `openssl cms -verify` and `hoviat verify-signature` with the same anchors, intermediates,
# CRLs (revocation required by both) and validation time. The two must agree on accept/reject,
# except in the cases marked STRICTER, where hoviat refuses on purpose what OpenSSL accepts (the
# reason is printed). hoviat's code is checked too. Prints `ok NAME` / `FAIL NAME: why` and a
# last line `cms: N failed`. Installs openssl and python3 if missing (idempotent).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HOVIAT=$TARGET/debug/hoviat
MUTATE="python3 $ROOT/scripts/cms-der-mutate.py"
PDFTOOL="python3 $ROOT/scripts/cms-pdf-tool.py"
FAILED=0

need() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing $2" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >/dev/null 2>&1
  command -v "$1" >/dev/null 2>&1 || { echo "FAIL setup: cannot install $2"; echo "cms: 1 failed"; exit 1; }
}
need openssl openssl
need python3 python3
python3 -c 'import pyhanko' 2>/dev/null || {
  echo "installing pyhanko (PyPI)" >&2
  pip install --quiet "pyhanko==0.38.0" >/dev/null 2>&1 || python3 -m pip install --quiet --break-system-packages "pyhanko==0.38.0" >/dev/null 2>&1
}
python3 -c 'import pyhanko' 2>/dev/null || { echo "FAIL setup: cannot install pyhanko"; echo "cms: 1 failed"; exit 1; }

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# Build, and take a private copy. A CARGO_TARGET_DIR shared with other trees may hold another
# tree's target/debug/hoviat while cargo deems this tree's build fresh: then touch the binary's
# source so that cargo builds and copies it out again.
for _ in 1 2 3; do
  cargo build --quiet --bin hoviat || { echo "FAIL build"; echo "cms: 1 failed"; exit 1; }
  cp "$HOVIAT" "$W/hoviat"
  "$W/hoviat" help 2>/dev/null | grep -q testpki-keys && break
  touch "$ROOT/crates/cli/src/bin/hoviat.rs"
done
HOVIAT=$W/hoviat
cd "$W"

# The registry is made for the current time and everything is validated one minute later (the
# signingTime openssl writes is the wall clock): no fixed date anywhere.
NOW=$(date -u +%s)
AT=$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%SZ)
VAT=$((NOW + 60))
VATS=$(date -u -d "@$VAT" +%Y-%m-%dT%H:%M:%SZ)
"$HOVIAT" testpki --out pki --at "$AT" >/dev/null || { echo "FAIL setup: testpki"; echo "cms: 1 failed"; exit 1; }
"$HOVIAT" testpki-keys --pki pki >/dev/null || { echo "FAIL setup: testpki-keys"; echo "cms: 1 failed"; exit 1; }
"$HOVIAT" testpki --out other --seed another-registry --at "$AT" >/dev/null
cat pki/ca-rsa.pem pki/ca-ec.pem > cas.pem
cat pki/ca-rsa.crl.pem pki/ca-ec.crl.pem > crls.pem
H=pki/holders
RSA=$H/00-good EC=$H/01-good EC384=$H/02-good REV=$H/03-revoked EXP=$H/04-expired
openssl x509 -in "$EC384.pem" -outform DER -out ec384.der
printf 'قرارداد شماره ۱۴۰۳/۷۷ — hoviat CMS test content\n' > content.txt
cp content.txt content-changed.txt && printf 'x' >> content-changed.txt

sign() { # OUT HOLDER... [-- openssl options]
  local out=$1; shift
  local args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=(-signer "$1.pem" -inkey "$1.key.pem"); shift; done
  [ "${1:-}" = "--" ] && shift
  openssl cms -sign -binary -in content.txt "${args[@]}" -certfile cas.pem -outform DER -out "$out" "$@" 2>sign.err \
    || { echo "FAIL sign $out: $(head -1 sign.err)"; FAILED=$((FAILED + 1)); }
}

# check NAME EXPECT SIG CONTENT ANCHOR [hoviat options] [-- openssl options]
#   EXPECT: ok | CODE (hoviat's verdict; OpenSSL must agree on accept/reject)
#           | STRICTER:CODE:REASON (hoviat refuses with CODE what OpenSSL accepts)
check() {
  local name=$1 expect=$2 sig=$3 content=$4 anchor=$5; shift 5
  local hopts=() oopts=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do hopts+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  oopts=("$@")
  local hc=() oc=()
  [ "$content" != "-" ] && hc=(--content "$content") && oc=(-content "$content")
  local out code hv ov
  out=$("$HOVIAT" verify-signature --signature "$sig" "${hc[@]}" --trust-anchor "$anchor" \
    --crl pki/ca-rsa.crl.pem --crl pki/ca-ec.crl.pem --require-revocation --at "$VATS" "${hopts[@]}" 2>/dev/null)
  local rc=$?
  if [ $rc -eq 0 ]; then hv=accept; code=ok; else hv=reject; code=$(printf '%s' "$out" | sed -n 's/.*"code":"\([A-Z0-9_]*\)".*/\1/p'); fi
  [ $rc -eq 2 ] && code="USAGE($out)"
  local sigform=DER
  [ "$(head -c 1 "$sig")" != "$(printf '\x30')" ] && sigform=PEM
  # OpenSSL 3.0's cms has no -CRLfile: the CRLs go into the CAfile, which loads both.
  cat "$anchor" crls.pem > store.pem
  if openssl cms -verify -binary -inform "$sigform" -in "$sig" "${oc[@]}" -CAfile store.pem -certfile cas.pem \
      -crl_check -purpose any -attime "$VAT" -out /dev/null "${oopts[@]}" >ossl.out 2>&1; then
    ov=accept
  else
    ov=reject
  fi
  local why=""
  case "$expect" in
    STRICTER:*)
      local want=${expect#STRICTER:}; local reason=${want#*:}; want=${want%%:*}
      [ "$code" = "$want" ] || why="hoviat gave $code, expected $want"
      [ "$ov" = accept ] || why="$why${why:+; }openssl rejects too, so hoviat is not stricter here ($(grep -m1 -i error ossl.out))"
      [ -z "$why" ] && { echo "ok $name (hoviat $code, openssl accepts; STRICTER on purpose: $reason)"; return; }
      ;;
    *)
      [ "$code" = "$expect" ] || why="hoviat gave $code, expected $expect"
      [ "$hv" = "$ov" ] || why="$why${why:+; }differential: hoviat ${hv}s, openssl ${ov}s ($(grep -m1 -i -e error -e failure ossl.out))"
      local oerr=""
      [ "$ov" = reject ] && oerr=": $(grep -m1 -o -i -e 'verify error:.*' -e 'routines:[^:]*:[^:]*' ossl.out | head -1)"
      [ -z "$why" ] && { echo "ok $name (hoviat $code, openssl ${ov}s$oerr)"; return; }
      ;;
  esac
  echo "FAIL $name: $why"
  FAILED=$((FAILED + 1))
}

# ---- signatures (each embeds both issuing CAs, as OpenSSL takes untrusted intermediates only
# from the message; hoviat gets no other intermediates either) -----------------------------------------------------------------------------------------------------
sign rsa-att.der "$RSA" -- -nodetach -md sha256
sign rsa-det.der "$RSA" -- -md sha256
sign ec-att.der "$EC" -- -nodetach
sign ec384-det.der "$EC384" -- -md sha384
sign rsa-noattr-att.der "$RSA" -- -nodetach -noattr
sign ec-noattr-det.der "$EC" -- -noattr
sign rsa-sha1-att.der "$RSA" -- -nodetach -md sha1
sign ec-sha1-noattr-det.der "$EC" -- -md sha1 -noattr
sign two-att.der "$RSA" "$EC" -- -nodetach
sign rsa-pss-att.der "$RSA" -- -nodetach -keyopt rsa_padding_mode:pss
sign ec-keyid-att.der "$EC" -- -nodetach -keyid
sign rsa-nocerts-det.der "$RSA" -- -nocerts
sign ec-stream-ber-att.der "$EC" -- -nodetach -stream
sign revoked-att.der "$REV" -- -nodetach
sign expired-att.der "$EXP" -- -nodetach
openssl cms -cmsout -inform DER -in rsa-att.der -outform PEM -out rsa-att.pem
base64 -w 76 rsa-att.der > rsa-att.b64

# ---- mutations ------------------------------------------------------------------------------
$MUTATE flip-content rsa-att.der m-content.der
$MUTATE flip-md ec-att.der m-md.der
$MUTATE swap-attrs rsa-att.der m-attrs.der
$MUTATE flip-sig rsa-noattr-att.der m-sig-noattr.der
$MUTATE swap-cert ec-att.der m-swapped.der ec384.der
$MUTATE flip-sig two-att.der m-two-one-bad.der

A=pki/root.pem
check rsa-attached-sha256         ok rsa-att.der - "$A"
check rsa-detached-sha256         ok rsa-det.der content.txt "$A"
check ec-p256-attached-sha256     ok ec-att.der - "$A"
check ec-p384-detached-sha384     ok ec384-det.der content.txt "$A"
check rsa-noattr-attached         ok rsa-noattr-att.der - "$A"
check ec-noattr-detached          ok ec-noattr-det.der content.txt "$A"
check two-signers-rsa-ec          ok two-att.der - "$A"
check rsa-pss-attached            ok rsa-pss-att.der - "$A"
check ec-subject-key-id           ok ec-keyid-att.der - "$A"
check nocerts-signer-supplied     ok rsa-nocerts-det.der content.txt "$A" --cert "$RSA.pem" -- -certfile "$RSA.pem"
check pem-input                   ok rsa-att.pem - "$A"
check ec-streamed-ber-attached    ok ec-stream-ber-att.der - "$A"
check rsa-sha1-allowed            ok rsa-sha1-att.der - "$A" --allow-sha1
check ec-sha1-noattr-allowed      ok ec-sha1-noattr-det.der content.txt "$A" --allow-sha1
check rsa-sha1-default \
  "STRICTER:ALGORITHM_DISALLOWED:SHA-1 is refused unless the relying party opts in for legacy documents (--allow-sha1)" \
  rsa-sha1-att.der - "$A"
check ec-sha1-noattr-default \
  "STRICTER:ALGORITHM_DISALLOWED:SHA-1 is refused unless the relying party opts in for legacy documents (--allow-sha1)" \
  ec-sha1-noattr-det.der content.txt "$A"
check mut-content-byte-attached   CMS_DIGEST_MISMATCH m-content.der - "$A"
check mut-content-byte-detached   CMS_DIGEST_MISMATCH rsa-det.der content-changed.txt "$A"
check mut-content-byte-noattr     CMS_SIGNATURE_INVALID ec-noattr-det.der content-changed.txt "$A"
check mut-message-digest-attr     CMS_DIGEST_MISMATCH m-md.der - "$A"
check mut-signed-attr-reencoded   CMS_SIGNATURE_INVALID m-attrs.der - "$A"
check mut-signature-byte-noattr   CMS_SIGNATURE_INVALID m-sig-noattr.der - "$A"
check mut-signer-cert-swapped     CMS_SIGNATURE_INVALID m-swapped.der - "$A"
check mut-one-of-two-signers-bad  CMS_SIGNATURE_INVALID m-two-one-bad.der - "$A"
check detached-without-content    CMS_CONTENT_MISSING rsa-det.der - "$A"
check signer-expired              CERT_EXPIRED expired-att.der - "$A"
check signer-revoked-crl          CERT_REVOKED revoked-att.der - "$A"
check unknown-anchor              CERT_UNTRUSTED rsa-att.der - other/root.pem
check nocerts-signer-not-supplied CMS_SIGNER_NOT_FOUND rsa-nocerts-det.der content.txt "$A"

# ---- PDF signatures: signed by pyHanko (an independent PDF signer); OpenSSL verifies the
# extracted CMS over the /ByteRange bytes, hoviat the PDF itself --------------------------------
check_pdf() { # NAME EXPECT PDF   (EXPECT as for check)
  local name=$1 expect=$2 pdf=$3 out code hv ov why=""
  out=$("$HOVIAT" verify-signature --pdf "$pdf" --trust-anchor "$A" \
    --crl pki/ca-rsa.crl.pem --crl pki/ca-ec.crl.pem --require-revocation --at "$VATS" 2>/dev/null)
  if [ $? -eq 0 ]; then hv=accept; code=ok; else hv=reject; code=$(printf '%s' "$out" | sed -n 's/.*"code":"\([A-Z0-9_]*\)".*/\1/p'); fi
  $PDFTOOL extract "$pdf" pdf.cms pdf.content
  cat "$A" crls.pem > store.pem
  if openssl cms -verify -binary -inform DER -in pdf.cms -content pdf.content -CAfile store.pem -certfile cas.pem \
      -crl_check -purpose any -attime "$VAT" -out /dev/null >ossl.out 2>&1; then ov=accept; else ov=reject; fi
  case "$expect" in
    STRICTER:*)
      local want=${expect#STRICTER:}; local reason=${want#*:}; want=${want%%:*}
      [ "$code" = "$want" ] || why="hoviat gave $code, expected $want"
      [ "$ov" = accept ] || why="$why${why:+; }openssl rejects too"
      [ -z "$why" ] && { echo "ok $name (hoviat $code, openssl accepts the extracted CMS; STRICTER on purpose: $reason)"; return; } ;;
    *)
      [ "$code" = "$expect" ] || why="hoviat gave $code, expected $expect"
      [ "$hv" = "$ov" ] || why="$why${why:+; }differential: hoviat ${hv}s, openssl ${ov}s"
      [ -z "$why" ] && { echo "ok $name (hoviat $code, openssl ${ov}s)"; return; } ;;
  esac
  echo "FAIL $name: $why"; FAILED=$((FAILED + 1))
}
$PDFTOOL blank blank.pdf
$PDFTOOL sign "$RSA.key.pem" "$RSA.pem" pki/ca-rsa.pem blank.pdf pdf-rsa.pdf \
  || { echo "FAIL sign pdf-rsa"; FAILED=$((FAILED + 1)); }
$PDFTOOL sign "$EC.key.pem" "$EC.pem" pki/ca-ec.pem blank.pdf pdf-ec.pdf sha384 \
  || { echo "FAIL sign pdf-ec"; FAILED=$((FAILED + 1)); }
sed 's|/MediaBox \[0 0 200 200\]|/MediaBox [0 0 200 900]|' pdf-rsa.pdf > pdf-changed.pdf
{ cat pdf-rsa.pdf; printf '4 0 obj\n<< /Type /Annot /Contents (added later) >>\nendobj\n%%%%EOF\n'; } > pdf-appended.pdf
check_pdf pdf-pyhanko-rsa           ok pdf-rsa.pdf
check_pdf pdf-pyhanko-ec-sha384     ok pdf-ec.pdf
check_pdf pdf-mut-signed-byte       CMS_DIGEST_MISMATCH pdf-changed.pdf
check_pdf pdf-mut-appended \
  "STRICTER:PDF_MODIFIED_AFTER_SIGNING:bytes after the last signature are covered by no signature (OpenSSL sees only the extracted CMS and byte ranges)" \
  pdf-appended.pdf

# Inputs only hoviat takes (OpenSSL has no base64 CMS input): compared with the DER verdict.
if "$HOVIAT" verify-signature --signature rsa-att.b64 --trust-anchor "$A" --intermediate cas.pem --at "$VATS" >/dev/null; then
  echo "ok base64-input (accepted, as the same message in DER)"
else
  echo "FAIL base64-input: refused"; FAILED=$((FAILED + 1))
fi
# The result says when SHA-1 was accepted under the opt-in.
if "$HOVIAT" verify-signature --signature rsa-sha1-att.der --trust-anchor "$A" --intermediate cas.pem --at "$VATS" \
    --allow-sha1 | grep -q '"legacySha1": true'; then
  echo "ok sha1-opt-in-reported (legacySha1: true)"
else
  echo "FAIL sha1-opt-in-reported: legacySha1 not true"; FAILED=$((FAILED + 1))
fi

echo "cms: $FAILED failed"
[ "$FAILED" -eq 0 ]
