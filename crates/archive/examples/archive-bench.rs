//! Appends per second, proof sizes and proof verification times of the archive, with synthetic
//! record-shaped leaves (an SD-JWT with one national-code disclosure and a dummy signature:
//! `archive verify` without `--institution-ca` does not check seals).
//!
//! `cargo run --release --example archive-bench -- --db SPEC [--tx N] [--tx-checkpoint N]
//!  [--total N] [--batch N] [--pub FILE]`
//!
//! 1. `--tx` appends, one transaction each (what a counter does), no checkpoint;
//! 2. `--tx-checkpoint` appends each signing a checkpoint (what `archive append --log-key` does);
//! 3. bulk appends in transactions of `--batch` records until the log holds `--total`;
//! 4. one checkpoint; an inclusion proof (middle leaf) and a consistency proof (from a third of
//!    the size) at that size, with sizes and in-process verification times.
//!
//! Prints one JSON object; writes the log's verifier key to `--pub` for `archive verify`.

use std::time::Instant;

use hoviat::record::sdjwt::{Disclosure, b64url};
use hoviat_archive::log;
use hoviat_archive::store;
use serde_json::json;

fn record(i: u64) -> String {
    let d = Disclosure::new(
        &[(i % 251) as u8; 16],
        "national_code",
        json!({"value": format!("{:010}", i), "provenance": "operator"}),
    );
    let payload = json!({"vct": hoviat::record::VCT, "iat": 1_795_428_000 + i as i64, "institution": "bank-1",
        "terminal": "branch-1/counter-1", "operator": "operator-7", "purpose": {"id": "account-opening"},
        "level": "certificate", "_sd": [d.digest()], "_sd_alg": "sha-256", "n": i});
    format!(
        "{}.{}.{}~{}~",
        b64url(br#"{"alg":"ES256"}"#),
        b64url(payload.to_string().as_bytes()),
        b64url(&[0; 64]),
        d.encoded
    )
}

fn arg(args: &[String], k: &str) -> Option<String> {
    args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned()
}

fn num(args: &[String], k: &str, d: u64) -> u64 {
    arg(args, k).and_then(|s| s.parse().ok()).unwrap_or(d)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spec = arg(&args, "--db").unwrap_or_else(|| {
        let p = std::env::temp_dir().join(format!("archive-bench-{}.db", std::process::id()));
        format!("sqlite:{}", p.display())
    });
    let (n_tx, n_cp, total, batch) = (
        num(&args, "--tx", 2000),
        num(&args, "--tx-checkpoint", 200),
        num(&args, "--total", 10_000),
        num(&args, "--batch", 10_000).max(1),
    );
    let origin = "bench.example/log";
    let (skey, vkey) = log::log_keypair(origin, [3; 32]).expect("key");
    if let Some(p) = arg(&args, "--pub") {
        std::fs::write(p, &vkey).expect("write --pub");
    }
    let mut a = store::open(&spec).expect("open");
    let mut next = a.size().expect("size");

    let t = Instant::now();
    for _ in 0..n_tx {
        let (leaf, personal) = log::split_record(&record(next)).expect("record");
        a.append(&leaf, &personal, None).expect("append");
        next += 1;
    }
    let tx_rate = n_tx as f64 / t.elapsed().as_secs_f64();
    eprintln!("{}: {n_tx} appends, one transaction each: {tx_rate:.0}/s", a.engine());

    let t = Instant::now();
    for _ in 0..n_cp {
        let (leaf, personal) = log::split_record(&record(next)).expect("record");
        a.append(&leaf, &personal, Some((&skey, origin))).expect("append");
        next += 1;
    }
    let cp_rate = n_cp as f64 / t.elapsed().as_secs_f64();
    eprintln!("{}: {n_cp} appends each with a checkpoint: {cp_rate:.0}/s", a.engine());

    let t = Instant::now();
    let bulk_from = next;
    while next < total {
        let items: Vec<_> = (next..total.min(next + batch))
            .map(|i| log::split_record(&record(i)).expect("record"))
            .collect();
        next += items.len() as u64;
        a.append_batch(&items).expect("append_batch");
        eprintln!(
            "  {next} / {total} ({:.0}/s)",
            (next - bulk_from) as f64 / t.elapsed().as_secs_f64()
        );
    }
    let bulk = next - bulk_from;
    let bulk_rate = bulk as f64 / t.elapsed().as_secs_f64().max(1e-9);

    let t = Instant::now();
    a.checkpoint(&skey, origin).expect("checkpoint");
    let cp_ms = t.elapsed().as_secs_f64() * 1e3;
    let size = a.size().expect("size");
    let (i, m) = (size / 2, size / 3);
    let t = Instant::now();
    let incl = a.inclusion(size, i).expect("inclusion");
    let cons = a.consistency(size, m).expect("consistency");
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    let root = a.root(size).expect("root");
    let old_root = a.root(m).expect("root");
    let lh = log::record_hash(a.entry(&i.to_string()).expect("entry").leaf.jwt.as_bytes());
    let reps = 2000;
    let t = Instant::now();
    for _ in 0..reps {
        log::check_inclusion(&incl, size, root, i, lh).expect("inclusion check");
    }
    let incl_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        log::check_consistency(&cons, size, root, m, old_root).expect("consistency check");
    }
    let cons_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
    println!(
        "{}",
        json!({
            "engine": a.engine(), "size": size,
            "txAppends": n_tx, "txPerSecond": tx_rate.round(),
            "checkpointedAppends": n_cp, "checkpointedPerSecond": cp_rate.round(),
            "bulkAppends": bulk, "batch": batch, "bulkPerSecond": bulk_rate.round(),
            "checkpointMs": cp_ms,
            "inclusion": {"index": i, "hashes": incl.len(), "bytes": incl.len() * 32, "checkMicros": incl_us},
            "consistency": {"from": m, "hashes": cons.len(), "bytes": cons.len() * 32, "checkMicros": cons_us},
            "proofsReadMs": read_ms,
        })
    );
}
