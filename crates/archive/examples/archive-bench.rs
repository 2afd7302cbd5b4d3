//! Appends per second, proof sizes and verification times of the archive, with synthetic
//! record-shaped leaves (unsealed).
//! `cargo run --release --example archive-bench -- [N] [sqlite:PATH | postgres://...]`

use std::time::Instant;

use hoviat::record::sdjwt::{Disclosure, b64url};
use hoviat_archive::log::{self, LogState};
use hoviat_archive::store;
use serde_json::json;

fn record(i: u64) -> String {
    let d = Disclosure::new(
        &[(i % 251) as u8; 16],
        "national_code",
        json!({"value": format!("{:010}", i), "provenance": "operator"}),
    );
    let payload = json!({"vct": hoviat::record::VCT, "iat": 1_795_428_000 + i as i64, "institution": "bank-1",
        "terminal": "t", "operator": "o", "purpose": {"id": "p"}, "level": "certificate", "_sd": [d.digest()], "_sd_alg": "sha-256", "n": i});
    format!(
        "{}.{}.{}~{}~",
        b64url(br#"{"alg":"ES256"}"#),
        b64url(payload.to_string().as_bytes()),
        b64url(&[0; 64]),
        d.encoded
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let spec = args.get(2).cloned().unwrap_or_else(|| {
        let p = std::env::temp_dir().join(format!("archive-bench-{}.db", std::process::id()));
        format!("sqlite:{}", p.display())
    });
    let (skey, vkey) = log::log_keypair("bench.example/log", [3; 32]).unwrap();
    let mut a = store::open(&spec).unwrap();
    let t = Instant::now();
    for i in 0..n {
        let (leaf, personal) = log::split_record(&record(i)).unwrap();
        a.append(&leaf, &personal, None).unwrap();
    }
    let dt = t.elapsed().as_secs_f64();
    println!("{} appends: {n} in {dt:.2} s = {:.0}/s", a.engine(), n as f64 / dt);
    let t = Instant::now();
    a.checkpoint(&skey, "bench.example/log").unwrap();
    println!("checkpoint: {:.2} ms", t.elapsed().as_secs_f64() * 1e3);
    let size = a.size().unwrap();
    let p = a.inclusion(size, size / 2).unwrap();
    let c = a.consistency(size, size / 3).unwrap();
    println!(
        "inclusion proof at {size}: {} hashes ({} bytes); consistency {}->{size}: {} hashes",
        p.len(),
        p.len() * 32,
        size / 3,
        c.len()
    );
    let root = a.root(size).unwrap();
    let lh = log::record_hash(a.entry(&(size / 2).to_string()).unwrap().leaf.jwt.as_bytes());
    let t = Instant::now();
    for _ in 0..1000 {
        log::check_inclusion(&p, size, root, size / 2, lh).unwrap();
    }
    println!("inclusion check: {:.1} us", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let (e, h, cps, pers) = (
        a.entries().unwrap(),
        a.all_hashes().unwrap(),
        a.checkpoints().unwrap(),
        a.personal_rows().unwrap(),
    );
    let st = LogState {
        entries: &e,
        hashes: &h,
        checkpoints: &cps,
        personal: &pers,
    };
    log::verify_log(&st, &vkey, None).unwrap();
    println!(
        "verify whole log ({size} entries, read + check): {:.2} s",
        t.elapsed().as_secs_f64()
    );
}
