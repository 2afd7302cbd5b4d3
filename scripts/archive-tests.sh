#!/usr/bin/env bash
# The archive (issue 21) end to end, on a real PostgreSQL started here on 127.0.0.1 (temporary
# data directory, its own port, stopped at exit) and on SQLite: records made with the existing
# CLI (`hoviat record testkit` / `record make --facts`, no card needed), two appender processes
# running concurrently, `archive verify` passing, then an altered, a deleted, two swapped rows,
# a truncated log, a forged checkpoint signature, a checkpoint that does not extend the previous
# one and misplaced personal data, each made with plain SQL and each detected with its code;
# inclusion and consistency proofs checked by scripts/archive_proofs.py (Python, written from
# RFC 9162's algorithms, shares no code with the Rust); `purge` removing personal data (the raw
# SQLite file is searched) while the log and every seal still verify. All times are fixed.
# Prints `ok NAME` / `FAIL NAME: why` and a last line `archive: N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/setup.sh
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FAILED=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
finish() { echo "archive: $FAILED failed"; [ "$FAILED" = 0 ]; exit $?; }

ensure_packages postgresql python3-cryptography chromium poppler-utils zbar-tools || { echo "FAIL setup: packages"; FAILED=1; finish; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

echo "building hoviat and hoviat-archive ..." >&2
cargo build --quiet --bin hoviat --bin hoviat-archive || { fail build "hoviat, hoviat-archive"; finish; }
W=$(mktemp -d /tmp/archive-tests.XXXXXX)
chmod 755 "$W"
PGPID=""
cleanup() {
  if [ -n "$PGPID" ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -m immediate stop >/dev/null 2>&1; fi
  rm -rf "$W"
}
trap cleanup EXIT
cp "$TARGET/debug/hoviat" "$W/hoviat"
cp "$TARGET/debug/hoviat-archive" "$W/hoviat-archive-bin"
H=$W/hoviat
# Every archive command below goes through the main CLI (`hoviat archive ...`); the standalone
# `hoviat-archive` binary is checked once against it.
printf '#!/bin/sh\nexec "%s" archive "$@"\n' "$H" > "$W/hoviat-archive"; chmod +x "$W/hoviat-archive"
A=$W/hoviat-archive
cd "$W"

# A verify report without its timing (the one field two runs may differ in).
untimed() { sed -E 's/"seconds": ?[0-9.eE+-]+,?//'; }
code() { sed -n 's/.*"code": *"\([A-Z_]*\)".*/\1/p' | head -1; }
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$1"; }

# ---- records ------------------------------------------------------------------------------------
AT=2026-11-23T10:00:00Z
"$H" record testkit --out kit --seed archive-tests --at "$AT" >/dev/null || { fail testkit "record testkit"; finish; }
# One record every 10 hours from $AT (the test CRLs are fresh for 7 days); records 0..7 (to be purged) carry national code NC_OLD, 8..15 NC_NEW.
NC_OLD=0076229645
NC_NEW=$(python3 -c 'd=[1,2,3,4,5,6,7,8,9];s=sum(x*(10-i) for i,x in enumerate(d))%11;print("".join(map(str,d))+str(s if s<2 else 11-s))')
make_record() { # out at national-code purpose operator
  "$H" record make --institution kit/institution/institution.json --purpose "$4" \
    --terminal branch-1/counter-1 --operator "$5" \
    --terminal-key kit/institution/terminal.key --terminal-cert kit/institution/terminal.pem \
    --terminal-cert kit/institution/terminal-ca.pem --facts kit/cards/ir-nid-0.json \
    --registry-anchor kit/registry/root.pem --intermediate kit/registry/ca-rsa.pem \
    --intermediate kit/registry/ca-ec.pem --crl kit/registry/ca-rsa.crl.pem \
    --crl kit/registry/ca-ec.crl.pem --at "$2" --face-match yes --national-code "$3" --out "$1" >/dev/null
}
N=16
mkdir -p rec
for i in $(seq 0 $((N - 1))); do
  at=$(python3 -c "import datetime as d;print((d.datetime(2026,11,23,10,0,0)+d.timedelta(hours=10*$i)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
  nc=$NC_NEW; [ "$i" -lt 8 ] && nc=$NC_OLD
  purpose=account-opening; [ $((i % 2)) = 1 ] && purpose=sim-registration
  op=operator-7; [ $((i % 3)) = 0 ] && op=operator-9
  make_record rec/r$i.sdjwt "$at" "$nc" "$purpose" "$op" || { fail "make record $i" "record make failed"; finish; }
done
ok "made $N sealed records with hoviat record make"
"$A" keygen --origin archive.bank.example/log --out log >/dev/null || { fail keygen ""; finish; }
"$A" keygen --origin archive.bank.example/log --out rogue >/dev/null
CA=(--institution-ca kit/institution/root.pem)
HALF_A=(); HALF_B=()
for i in $(seq 0 $((N - 1))); do if [ $((i % 2)) = 0 ]; then HALF_A+=(rec/r$i.sdjwt); else HALF_B+=(rec/r$i.sdjwt); fi; done

# ---- the same suite against one database (sqlite:FILE or postgres://) ------------------------------
# copy_db NAME -> the --db spec of a fresh copy of the main database
suite() { # label main-db copy-fn sql-fn
  local L=$1 DB=$2 copy=$3 sql=$4 out c
  "$A" init --db "$DB" --log-pub log.pub >/dev/null || { fail "$L init" "init failed"; return; }
  # Two counters appending at once, each signing a checkpoint after every append.
  "$A" append --db "$DB" --log-key log.key "${CA[@]}" "${HALF_A[@]}" > "appA-$L.json" 2>&1 &
  local p1=$!
  "$A" append --db "$DB" --log-key log.key "${CA[@]}" "${HALF_B[@]}" > "appB-$L.json" 2>&1 &
  local p2=$!
  wait $p1; local r1=$?; wait $p2; local r2=$?
  if [ $r1 = 0 ] && [ $r2 = 0 ]; then
    local ia ib
    ia=$(python3 -c 'import json,sys;print(",".join(str(x["index"]) for x in json.load(open(sys.argv[1]))["appended"]))' "appA-$L.json")
    ib=$(python3 -c 'import json,sys;print(",".join(str(x["index"]) for x in json.load(open(sys.argv[1]))["appended"]))' "appB-$L.json")
    ok "$L: two appenders concurrently (A got $ia; B got $ib)"
  else
    fail "$L concurrent append" "$(cat "appA-$L.json" "appB-$L.json" | head -5)"; return
  fi
  if [ "$("$W/hoviat-archive-bin" verify --db "$DB" --log-pub log.pub "${CA[@]}" | untimed)" = "$("$A" verify --db "$DB" --log-pub log.pub "${CA[@]}" | untimed)" ]; then
    ok "$L: hoviat archive verify and the standalone hoviat-archive agree"
  else fail "$L standalone" "hoviat-archive and hoviat archive differ"; fi
  if out=$("$A" verify --db "$DB" --log-pub log.pub "${CA[@]}"); then
    [ "$(echo "$out" | field entries)" = $N ] && [ "$(echo "$out" | field checkpoints)" = $N ] \
      && ok "$L: archive verify passes ($N entries, $N checkpoints, $(echo "$out" | field sealsVerified) seals, $(echo "$out" | field seconds) s)" \
      || fail "$L verify counts" "$out"
  else fail "$L verify" "$out"; fi
  "$A" checkpoint --db "$DB" --log-key log.key --out "cp-$L.txt" >/dev/null

  tamper() { # name expected-code SQL [extra verify args]
    local name=$1 want=$2 q=$3; shift 3
    local t; t=$($copy "$name")
    $sql "$t" "$q" || { fail "$L $name" "SQL failed"; return; }
    local got; got=$("$A" verify --db "$t" --log-pub log.pub "$@" | code)
    [ "$got" = "$want" ] && ok "$L: $name detected ($got)" || fail "$L $name" "got '$got', want $want"
  }
  tamper "altered row" ARCHIVE_ENTRY_ALTERED \
    "UPDATE log_entries SET leaf = substr(leaf, 1, 99) || CASE WHEN substr(leaf, 100, 1) = 'A' THEN 'B' ELSE 'A' END || substr(leaf, 101) WHERE idx = 5"
  tamper "deleted row" ARCHIVE_ENTRY_DELETED "DELETE FROM log_entries WHERE idx = 6"
  tamper "two rows swapped" ARCHIVE_ENTRIES_REORDERED \
    "UPDATE log_entries SET idx = -1 WHERE idx = 3; UPDATE log_entries SET idx = 3 WHERE idx = 9; UPDATE log_entries SET idx = 9 WHERE idx = -1"
  tamper "truncated log" ARCHIVE_LOG_TRUNCATED "DELETE FROM log_entries WHERE idx >= 12"
  tamper "search column changed" ARCHIVE_ENTRY_ALTERED "UPDATE log_entries SET operator = 'operator-1' WHERE idx = 2"
  tamper "checkpoint signature" ARCHIVE_CHECKPOINT_SIGNATURE_INVALID \
    "UPDATE checkpoints SET note = replace(note, '\n$N\n', '\n$((N - 1))\n') WHERE seq = $N"
  tamper "personal data moved" ARCHIVE_PERSONAL_MISMATCH \
    "UPDATE personal SET disclosures = (SELECT disclosures FROM personal WHERE idx = 1) WHERE idx = 2"
  # A rewritten history: a fork that replaced the last entry, re-signed with the log key.
  local fork; fork=$($copy fork)
  local keep=$((N - 1)) cnt
  cnt=$(python3 -c "n=$keep;print(2*n-bin(n).count('1'))")
  $sql "$fork" "DELETE FROM log_entries WHERE idx >= $keep; DELETE FROM tree_hashes WHERE id >= $cnt; DELETE FROM personal WHERE idx >= $keep; DELETE FROM personal_lookup WHERE idx >= $keep; DELETE FROM checkpoints WHERE size > $keep"
  make_record fork.sdjwt 2026-11-29T09:00:00Z "$NC_NEW" account-opening operator-1
  "$A" append --db "$fork" --log-key log.key fork.sdjwt >/dev/null || fail "$L fork append" "failed"
  "$A" checkpoint --db "$fork" --log-key log.key --out "fork-$L.txt" >/dev/null
  out=$("$A" verify --db "$fork" --log-pub log.pub)
  [ "$(echo "$out" | field verified 2>/dev/null)" = True ] && ok "$L: the fork alone verifies (a log owner can rewrite its own database)" || fail "$L fork verify" "$out"
  c=$("$A" verify --db "$fork" --log-pub log.pub --previous "cp-$L.txt" | code)
  [ "$c" = ARCHIVE_CHECKPOINT_NOT_EXTENDING ] && ok "$L: the fork against a checkpoint seen earlier ($c)" || fail "$L fork --previous" "got '$c'"
  local note; note="$(cat "fork-$L.txt")"$'\n'
  tamper "forked checkpoint stored after the real one" ARCHIVE_CHECKPOINT_NOT_EXTENDING \
    "INSERT INTO checkpoints (seq, size, note, proof) VALUES (1000, $N, '$note', '')"
  c=$("$A" verify --db "$DB" --log-pub rogue.pub | code)
  [ "$c" = ARCHIVE_CHECKPOINT_SIGNATURE_INVALID ] && ok "$L: checkpoints under another key refused ($c)" || fail "$L rogue key" "got '$c'"

  # ---- proofs, checked in Python --------------------------------------------------------------------
  local proofs=()
  for spec in "0 1" "5 7" "10 8" "15 4" "7 16" "12 13"; do
    set -- $spec
    "$A" prove --db "$DB" --index "$1" --from-size "$2" --out "proof-$L-$1.json" >/dev/null \
      && proofs+=("proof-$L-$1.json") || fail "$L prove $1" "failed"
  done
  if "$A" check-proof "proof-$L-5.json" --log-pub log.pub >/dev/null; then ok "$L: check-proof (offline, Rust)"; else fail "$L check-proof" "failed"; fi
  python3 -c 'import json,sys;p=json.load(open(sys.argv[1]));p["index"]=4;json.dump(p,open(sys.argv[2],"w"))' "proof-$L-5.json" bad.json
  c=$("$A" check-proof bad.json --log-pub log.pub | code)
  [ "$c" = ARCHIVE_PROOF_INVALID ] && ok "$L: a proof for the wrong index refused ($c)" || fail "$L bad proof" "got '$c'"
  $LEAVES "$DB" > "leaves-$L.txt"
  if out=$(python3 "$ROOT/scripts/archive_proofs.py" "leaves-$L.txt" log.pub "${proofs[@]}"); then
    ok "$L: $(echo "$out" | grep -c '^ok') independent checks in Python (RFC 9162 inclusion/consistency, Ed25519 note) pass"
  else fail "$L python proofs" "$(echo "$out" | grep FAIL | head -3)"; fi

  # ---- search -----------------------------------------------------------------------------------------
  c=$("$A" search --db "$DB" --national-code "$NC_OLD" | field count)
  [ "$c" = 8 ] && ok "$L: search by national code (HMAC) finds 8" || fail "$L search nc" "$c"
  c=$("$A" search --db "$DB" --operator operator-9 --purpose account-opening --from 2026-11-23T11:00:00Z --to 2026-11-30T10:00:00Z | field count)
  want=$(for i in $(seq 0 $((N - 1))); do [ $((i % 3)) = 0 ] && [ $((i % 2)) = 0 ] && [ "$i" -ge 1 ] && echo $i; done | wc -l)
  [ "$c" = "$want" ] && ok "$L: search by operator, purpose and dates finds $c" || fail "$L search op" "$c, want $want"
  CRN=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["cardReference"])' kit/cards/ir-nid-0.json)
  c=$("$A" search --db "$DB" --crn "$CRN" | field count)
  # Only account-opening (even-numbered) records disclose the card reference number.
  [ "$c" = 8 ] && ok "$L: search by card reference number (HMAC) finds the 8 records that disclose it" || fail "$L search crn" "$c"

  # ---- purge ------------------------------------------------------------------------------------------
  out=$("$A" purge --db "$DB" --older-than 1d --at 2026-11-27T13:00:00Z)
  [ "$(echo "$out" | field purged)" = 8 ] && ok "$L: purge removed the personal data of 8 records" || fail "$L purge" "$out"
  if [ "$("$W/hoviat-archive-bin" verify --db "$DB" --log-pub log.pub "${CA[@]}" | untimed)" = "$("$A" verify --db "$DB" --log-pub log.pub "${CA[@]}" | untimed)" ]; then
    ok "$L: after purge, hoviat archive verify and the standalone hoviat-archive agree"
  else fail "$L standalone after purge" "hoviat-archive and hoviat archive differ"; fi
  if out=$("$A" verify --db "$DB" --log-pub log.pub "${CA[@]}"); then
    ok "$L: after purge the log, checkpoints and all $(echo "$out" | field sealsVerified) seals verify ($(echo "$out" | field personal) with personal data)"
  else fail "$L verify after purge" "$out"; fi
  c=$("$A" search --db "$DB" --national-code "$NC_OLD" | field count)
  [ "$c" = 0 ] && ok "$L: search finds no purged record by national code" || fail "$L search purged" "$c"
  c=$("$A" search --db "$DB" --national-code "$NC_NEW" | field count)
  [ "$c" = 8 ] && ok "$L: search still finds the 8 unpurged records" || fail "$L search unpurged" "$c"
  c=$("$A" search --db "$DB" --crn "$CRN" | field count)
  [ "$c" = 4 ] && ok "$L: search by CRN now finds only the 4 unpurged records that disclose it" || fail "$L search crn after purge" "$c"
  "$A" prove --db "$DB" --index 2 --out purged-proof.json >/dev/null && "$A" check-proof purged-proof.json --log-pub log.pub >/dev/null \
    && ok "$L: a purged record's inclusion proof still verifies" || fail "$L purged proof" "failed"
}

# ---- SQLite --------------------------------------------------------------------------------------------
sq_copy() { cp main.db "t-$1.db"; echo "sqlite:t-$1.db"; }
sq_sql() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1][7:]); c.executescript(sys.argv[2].replace("\\n", "\n")); c.commit()' "$1" "$2"; }
sq_leaves() { python3 -c 'import sqlite3,sys
for (l,) in sqlite3.connect(sys.argv[1][7:]).execute("SELECT leaf FROM log_entries ORDER BY idx"): print(l)' "$1"; }
LEAVES=sq_leaves
suite sqlite sqlite:main.db sq_copy sq_sql
# The raw file: no disclosure of a purged record is left anywhere in it; unpurged ones are.
gone=0; kept=0
for i in $(seq 0 $((N - 1))); do
  for d in $(tr '~' '\n' < rec/r$i.sdjwt | tail -n +2); do
    if grep -qF "$d" main.db; then [ "$i" -ge 8 ] && kept=$((kept + 1)); else [ "$i" -lt 8 ] && gone=$((gone + 1)); fi
    [ "$i" -lt 8 ] && grep -qF "$d" main.db && fail "sqlite raw file" "a disclosure of purged record $i is still in main.db"
  done
done
[ "$gone" -gt 0 ] && [ "$kept" -gt 0 ] && ok "sqlite: raw file holds none of the $gone purged disclosures (and still $kept unpurged ones)" \
  || fail "sqlite raw file" "gone=$gone kept=$kept"
# ---- a witness (tlog-cosignature) ------------------------------------------------------------------
"$A" witness-keygen --name witness.example/w1 --out wit >/dev/null
"$A" witness-keygen --name witness.example/w1 --out wit-rogue >/dev/null
if out=$("$A" witness --db sqlite:main.db --log-pub log.pub --witness-key wit.key --state wstate.txt --at 2026-12-11T00:00:00Z); then
  ok "witness cosigned size $(echo "$out" | field size)"
else fail "witness first cosignature" "$out"; fi
make_record new.sdjwt 2026-11-29T10:00:00Z "$NC_NEW" account-opening operator-7
"$A" append --db sqlite:main.db --log-key log.key new.sdjwt >/dev/null
if out=$("$A" witness --db sqlite:main.db --log-pub log.pub --witness-key wit.key --state wstate.txt --at 2026-12-11T01:00:00Z); then
  ok "witness cosigned size $(echo "$out" | field size) after checking consistency from $(echo "$out" | field consistentFrom)"
else fail "witness second cosignature" "$out"; fi
out=$("$A" verify --db sqlite:main.db --log-pub log.pub --previous wstate.txt --witness-pub wit.pub)
[ "$(echo "$out" | field witnessCosignedAt 2>/dev/null)" = 1796950800 ] && ok "verify against the witness's cosigned checkpoint" || fail "verify witness" "$out"
c=$("$A" verify --db sqlite:main.db --log-pub log.pub --previous wstate.txt --witness-pub wit-rogue.pub | code)
[ "$c" = ARCHIVE_CHECKPOINT_SIGNATURE_INVALID ] && ok "a cosignature by another witness key refused ($c)" || fail "rogue witness" "got '$c'"
make_record fork2.sdjwt 2026-11-29T09:30:00Z "$NC_NEW" account-opening operator-1
"$A" append --db sqlite:t-fork.db --log-key log.key fork2.sdjwt >/dev/null
c=$("$A" witness --db sqlite:t-fork.db --log-pub log.pub --witness-key wit.key --state wstate.txt --at 2026-12-11T02:00:00Z | code)
[ "$c" = ARCHIVE_CHECKPOINT_NOT_EXTENDING ] && ok "the witness refuses to cosign the forked log ($c)" || fail "witness fork" "got '$c'"
c=$("$A" verify --db sqlite:t-fork.db --log-pub log.pub --previous wstate.txt --witness-pub wit.pub | code)
[ "$c" = ARCHIVE_CHECKPOINT_NOT_EXTENDING ] && ok "the forked log does not extend the witness's checkpoint ($c)" || fail "verify fork vs witness" "got '$c'"
grep -qaF "$NC_OLD" main.db && fail "sqlite raw file" "national code in clear" || ok "sqlite: no national code in the clear in the raw file"

# ---- the paper copy: PDF (krilla) and HTML in Persian and English ---------------------------------------
# The PDF is made in Rust (krilla: rustybuzz shaping, unicode-bidi runs, PDF/A-2u, Vazirmatn subset and
# embedded from crates/archive/fonts, no network); the HTML page is screenshotted in Chromium. Artefacts
# (PDF, PNG of every PDF page, HTML, screenshots) are kept in $TARGET/archive-artefacts.
ART=$TARGET/archive-artefacts
rm -rf "$ART"; mkdir -p "$ART"
cp "$ROOT/crates/archive/fonts/Vazirmatn-Regular.ttf" "$ROOT/crates/archive/fonts/OFL.txt" "$ART/"
IDX=$("$A" search --db sqlite:main.db --national-code "$NC_NEW" --purpose account-opening | field entries.0.index)
for l in fa en; do
  qr=$("$A" print --db sqlite:main.db --index "$IDX" --lang $l --pdf "$ART/record-$l.pdf" --out "$ART/record-$l.html" \
    --font-url Vazirmatn-Regular.ttf --institution kit/institution/institution.json | field qr)
  [ -s "$ART/record-$l.pdf" ] && head -c 5 "$ART/record-$l.pdf" | grep -q '%PDF-' && ok "paper copy ($l): PDF made by hoviat-archive print --pdf (krilla)" || fail "paper copy $l" "no PDF"
  pdfinfo -meta "$ART/record-$l.pdf" | tr -d '\n ' | grep -Eq 'pdfaid:part(>|=")2' && pdfinfo -meta "$ART/record-$l.pdf" | tr -d '\n ' | grep -Eq 'pdfaid:conformance(>|=")U' \
    && ok "paper copy ($l): PDF/A-2u identification in the XMP metadata" || fail "PDF/A $l" "no pdfaid part 2 / conformance U"
  pdffonts "$ART/record-$l.pdf" | grep -Eq 'Vazirmatn.*CID TrueType.*yes +yes' && ! pdffonts "$ART/record-$l.pdf" | tail -n +3 | grep -Eqv 'yes +yes +yes' \
    && ok "paper copy ($l): Vazirmatn embedded and subset, every font embedded (pdffonts)" || fail "pdffonts $l" "$(pdffonts "$ART/record-$l.pdf")"
  pdftoppm -r 150 -png "$ART/record-$l.pdf" "$ART/record-$l-page"
  got=$(zbarimg --raw -q "$ART/record-$l-page-1.png" 2>/dev/null)
  [ "$got" = "$qr" ] && case "$qr" in *"index=$IDX;"*) true;; *) false;; esac && ! echo "$got" | grep -q "$NC_NEW" \
    && ok "paper copy ($l): the QR on the PDF page (pdftoppm) decodes (zbarimg) to the record id, index $IDX and digest, no personal data" || fail "QR $l" "'$got' vs '$qr'"
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --window-size=900,1250 \
    --screenshot="$ART/record-$l-screenshot.png" "file://$ART/record-$l.html" >/dev/null 2>&1
  [ -s "$ART/record-$l-screenshot.png" ] && ok "paper copy ($l): HTML page screenshotted in Chromium" || fail "screenshot $l" "none"
done
norm() { python3 -c 'import sys,unicodedata,re
print(unicodedata.normalize("NFKC", re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", sys.stdin.read())))'; }
txt=$(pdftotext -enc UTF-8 "$ART/record-fa.pdf" - | norm | python3 -c 'import sys,re; t=sys.stdin.read()
print("name" if "\u0639\u0644\u06cc" in t and "\u0645\u062d\u0645\u062f\u06cc" in t else "noname", "arabic" if re.search("[\u064a\u0643]", t) else "persian")')
[ "$txt" = "name persian" ] && ok "paper copy (fa): pdftotext shows the holder's Persian name (علی محمدی) in logical order with Persian ی/ک, no Arabic ي/ك" || fail "pdftotext fa" "$txt"
pdftotext -enc UTF-8 "$ART/record-fa.pdf" - | norm | grep "آذر" | grep "۱۴۰۵" >/dev/null && ok "paper copy (fa): Solar Hijri date with Persian month and digits" || fail "hijri date" "missing"
pdftotext -enc UTF-8 "$ART/record-fa.pdf" - | norm | grep >/dev/null "افتتاح حساب" && ok "paper copy (fa): the purpose in Persian words" || fail "purpose fa" "missing"
t=$(pdftotext -enc UTF-8 "$ART/record-en.pdf" - | tr '\n' ' ')
echo "$t" | grep -q "Identity record from the smart national card" && echo "$t" | grep -q "Azar 1405 SH" && echo "$t" | grep -q "Archive log index" \
  && ok "paper copy (en): English text, Solar Hijri and Gregorian dates" || fail "pdftotext en" "$(echo "$t" | head -c 300)"
# A purged record still prints (no personal data, a notice instead).
"$A" print --db sqlite:main.db --index 0 --lang fa --pdf "$ART/record-purged-fa.pdf" >/dev/null \
  && pdftotext -enc UTF-8 "$ART/record-purged-fa.pdf" - | norm | grep >/dev/null "پاک شده" && ! pdftotext "$ART/record-purged-fa.pdf" - | grep "$NC_OLD" >/dev/null \
  && ok "paper copy: a purged record prints with the purge notice and no personal data" || fail "purged print" "failed"

# ---- PostgreSQL -------------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -p pg && chown postgres pg
if runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg" -A trust -U postgres >/dev/null 2>&1 \
  && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -w -l "$W/pg/log" \
     -o "-p $PORT -k $W/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
  PGPID=$(head -1 "$W/pg/postmaster.pid")
  ok "postgresql $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (pid $PGPID)"
  PSQL=(psql -h 127.0.0.1 -p "$PORT" -U postgres -q -v ON_ERROR_STOP=1)
  "${PSQL[@]}" -c "CREATE DATABASE archive" postgres
  pg_copy() { local n; n=t_$(echo "$1" | tr -c 'a-z0-9\n' _); "${PSQL[@]}" -c "CREATE DATABASE $n TEMPLATE archive" postgres >/dev/null && echo "postgres://postgres@127.0.0.1:$PORT/$n"; }
  pg_sql() { "${PSQL[@]}" -d "$1" -c "$(printf '%s' "$2" | sed "s/'\\\\n/E'\\\\n/g; s/, '\\\\n/, E'\\\\n/g")" >/dev/null; }
  pg_leaves() { "${PSQL[@]}" -d "$1" -At -c "SELECT leaf FROM log_entries ORDER BY idx"; }
  LEAVES=pg_leaves
  suite postgresql "postgres://postgres@127.0.0.1:$PORT/archive" pg_copy pg_sql
  c=$("${PSQL[@]}" -d archive -At -c "SELECT COUNT(*) FROM personal; SELECT COUNT(*) FROM personal_lookup")
  [ "$(echo $c)" = "8 12" ] && ok "postgresql: 8 personal rows and 12 look-ups left after purge" || fail "postgresql purge rows" "$c"
else
  fail "postgresql" "could not start ($(tail -3 "$W/pg/log" 2>/dev/null))"
fi
finish
