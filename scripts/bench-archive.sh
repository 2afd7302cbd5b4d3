#!/usr/bin/env bash
# The archive's benchmarks (issue 21): appends per second on SQLite and on a real PostgreSQL
# (started here on 127.0.0.1 with a temporary data directory and its default durability settings,
# fsync on, stopped at exit), proof sizes and verification times, and the time of
# `hoviat-archive verify` over the whole log, at SIZE records (default 10^6). Writes the section
# between the archive-bench markers of BENCHMARKS.md (scripts/bench keeps it). Not part of the tests.
#   scripts/bench-archive.sh [--size N] [--pg-size N] [--tx N] [--tx-checkpoint N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/setup.sh
SIZE=1000000 PG_SIZE=1000000 TX=2000 TXCP=200
while [ $# -gt 0 ]; do
  case $1 in
    --size) SIZE=$2; shift 2 ;;
    --pg-size) PG_SIZE=$2; shift 2 ;;
    --tx) TX=$2; shift 2 ;;
    --tx-checkpoint) TXCP=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
ensure_packages postgresql time >/dev/null
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
TARGET=${ARCHIVE_TARGET:-${CARGO_TARGET_DIR:-$ROOT/target}/archive-crate}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "building (release, -j1) ..." >&2
CARGO_TARGET_DIR=$TARGET cargo build -j1 --quiet --release --manifest-path crates/archive/Cargo.toml \
  --example archive-bench --bin hoviat-archive
B=$TARGET/release/examples/archive-bench
A=$TARGET/release/hoviat-archive
W=$(mktemp -d /tmp/bench-archive.XXXXXX)
chmod 755 "$W"
PGUP=""
cleanup() {
  if [ -n "$PGUP" ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -m fast stop >/dev/null 2>&1; fi
  rm -rf "$W"
}
trap cleanup EXIT

# run ENGINE SPEC SIZE -> $W/ENGINE.json (bench) and $W/ENGINE-*.json (CLI)
run() {
  local e=$1 db=$2 n=$3
  echo "$e: building a log of $n records ..." >&2
  "$B" --db "$db" --tx "$TX" --tx-checkpoint "$TXCP" --total "$n" --pub "$W/log.pub" > "$W/$e.json"
  echo "$e: archive verify ..." >&2
  local t0 t1
  t0=$(date +%s.%N)
  "$A" verify --db "$db" --log-pub "$W/log.pub" > "$W/$e-verify.json"
  t1=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$W/$e-verify.rss" "$A" verify --db "$db" --log-pub "$W/log.pub" >/dev/null || true
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); v["wall"]=float(sys.argv[2])-float(sys.argv[3]); v["rssKiB"]=int(open(sys.argv[4]).read().split()[-1]); json.dump(v,open(sys.argv[1],"w"))' \
    "$W/$e-verify.json" "$t1" "$t0" "$W/$e-verify.rss"
  "$A" prove --db "$db" --index $((n / 2)) --from-size $((n / 3)) --out "$W/$e-proof.json" >/dev/null
  t0=$(date +%s.%N)
  "$A" check-proof "$W/$e-proof.json" --log-pub "$W/log.pub" >/dev/null
  t1=$(date +%s.%N)
  python3 -c 'import json,os,sys; print(json.dumps({"bytes": os.path.getsize(sys.argv[1]), "checkWall": float(sys.argv[2])-float(sys.argv[3])}))' \
    "$W/$e-proof.json" "$t1" "$t0" > "$W/$e-proofcli.json"
}

run sqlite "sqlite:$W/bench.db" "$SIZE"
ls -l "$W/bench.db" | awk '{print $5}' > "$W/sqlite.bytes"

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -p "$W/pg" && chown postgres "$W/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -w -l "$W/pg/log" \
  -o "-p $PORT -k $W/pg -c listen_addresses=127.0.0.1" start >/dev/null
PGUP=1
psql -h 127.0.0.1 -p "$PORT" -U postgres -q -c "CREATE DATABASE bench" postgres
PGV=$("$PGBIN/postgres" --version | awk '{print $3}')
run postgresql "postgres://postgres@127.0.0.1:$PORT/bench" "$PG_SIZE"
psql -h 127.0.0.1 -p "$PORT" -U postgres -At -c "SELECT pg_database_size('bench')" postgres > "$W/postgresql.bytes"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$W" "$ROOT/BENCHMARKS.md" "$LOAD0" "$LOAD1" "$PGV" "$(git log -1 --format='%h %s' | cut -c1-90)" "$(rustc --version)" \
  "scripts/bench-archive.sh --size $SIZE --pg-size $PG_SIZE --tx $TX --tx-checkpoint $TXCP" <<'EOF'
import json, os, re, sys, datetime
w, out, load0, load1, pgv, commit, rustc, cmd = sys.argv[1:]
def j(p): return json.load(open(os.path.join(w, p)))
rows = []
for e, name in (("sqlite", "SQLite (bundled, journal DELETE, synchronous FULL)"), ("postgresql", f"PostgreSQL {pgv} (127.0.0.1, default settings, fsync on)")):
    b, v, p = j(f"{e}.json"), j(f"{e}-verify.json"), j(f"{e}-proofcli.json")
    dbb = int(open(os.path.join(w, f"{e}.bytes")).read())
    rows.append((name, b, v, p, dbb))
L = ["<!-- archive-bench:start -->", "## Archive (issue 21): appends, proofs, verify", "",
     f"Written by `{cmd}` (release build, `-j1`), its own run, not `scripts/bench`. Synthetic record-shaped leaves "
     "(an issuer-signed JWT of about 500 bytes with one national-code disclosure, dummy seal: `verify` here checks the log, "
     "tree and checkpoints, not seals).", "",
     f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; machine: {os.cpu_count()} cores, shared; "
     f"load average at start {load0}, at end {load1} (other builds ran at the same time)",
     f"- hoviat: {commit}; {rustc}", "",
     "| | " + " | ".join(r[0] for r in rows) + " |", "|---|" + "---|" * len(rows)]
def line(label, f): L.append(f"| {label} | " + " | ".join(f(r) for r in rows) + " |")
line("records in the log", lambda r: f"{r[1]['size']:,}")
line("appends/s, one transaction each (a counter; `append` without `--log-key`)", lambda r: f"{r[1]['txPerSecond']:,.0f} (over {r[1]['txAppends']:,})")
line("appends/s, each signing a checkpoint (`append --log-key`)", lambda r: f"{r[1]['checkpointedPerSecond']:,.0f} (over {r[1]['checkpointedAppends']:,})")
line("appends/s in bulk (`append_batch`, 10,000 per transaction)", lambda r: f"{r[1]['bulkPerSecond']:,.0f} (over {r[1]['bulkAppends']:,})")
line("one checkpoint (sign + consistency proof from the previous)", lambda r: f"{r[1]['checkpointMs']:.1f} ms")
line("inclusion proof (middle leaf)", lambda r: f"{r[1]['inclusion']['hashes']} hashes = {r[1]['inclusion']['bytes']} bytes; check {r[1]['inclusion']['checkMicros']:.1f} µs")
line("consistency proof (from a third of the size)", lambda r: f"{r[1]['consistency']['hashes']} hashes = {r[1]['consistency']['bytes']} bytes; check {r[1]['consistency']['checkMicros']:.1f} µs")
line("reading both proofs from the database", lambda r: f"{r[1]['proofsReadMs']:.1f} ms")
line("`prove` file (JSON: both proofs, leaf, signed checkpoint)", lambda r: f"{r[3]['bytes']:,} bytes; `check-proof` process {r[3]['checkWall']*1e3:.0f} ms")
line("`archive verify` whole log (read + check, as it reports)", lambda r: f"{r[2]['seconds']:.1f} s")
line("`archive verify` process wall time / peak memory", lambda r: f"{r[2]['wall']:.1f} s / {r[2]['rssKiB']/1024:,.0f} MiB")
line("database size", lambda r: f"{r[4]/2**20:,.0f} MiB")
L += ["", "Notes: `verify` reads every entry, tree hash and checkpoint into memory and recomputes every leaf hash and "
      "the stored tree; its memory grows linearly with the log. Proof checks are in-process (`tlog_tiles`), "
      "averaged over 2,000 runs.", "<!-- archive-bench:end -->", ""]
sec = "\n".join(L)
text = open(out).read() if os.path.exists(out) else "# Benchmarks\n"
m = re.search(r"<!-- archive-bench:start -->.*?<!-- archive-bench:end -->\n?", text, re.S)
text = text[:m.start()] + sec + text[m.end():] if m else text.rstrip("\n") + "\n\n" + sec
open(out, "w").write(text)
print(sec)
EOF
