//! The bank-portal demo: a relying-party server on hoviat (axum), serving `www/`.
//!
//! ```text
//! cargo run -p bank-portal -- [--listen 127.0.0.1:8080]
//!     [--origin ORIGIN] [--www DIR] [--pkg DIR] [--redis URL] [--redis-prefix P] [--ttl SECS]
//!     [--instance NAME] [--log FILE|-] [--no-demo --trust-anchor FILE... [--intermediate FILE|URL...] [--crl FILE|URL...]]
//!     [--require-revocation] [--ocsp [--ocsp-responder URL] [--ocsp-nonce]] [--crl-fetch]
//!     [--fetch-timeout SECS] [--when-unreachable refuse|use-crls] [--binding-key-file FILE]
//!     [--header-timeout SECS] [--request-timeout SECS] [--max-connections N]
//!     [--max-connections-per-client N] [--max-challenges N] [--max-challenges-per-client N]
//!     [--redis-timeout-ms MS]
//!     [--no-records] [--archive sqlite:PATH|postgres://...] [--institution FILE] [--terminal-id ID]
//!     [--terminal-key PKCS8 --terminal-cert FILE... --institution-ca FILE...] [--archive-log-key FILE]
//!     [--verify-url URL] [--dastine-config FILE [--dastine-url URL]] [--clerks FILE]
//! ```
//! `--dastine-config FILE`: the site's licensed Dastine `<Configuration>` (signed by the vendor;
//! hoviat passes it through, never makes one): the counter page then offers to have the card
//! sign the record through Dastine (`card-signature`, route `registry-assisted`);
//! `--dastine-url` replaces the middleware's loopback address (tests).
//! Records at the counter (`record.rs`): on by default; the archive defaults to
//! `sqlite:$TMPDIR/hoviat-counter-archive.sqlite`; in demo mode without `--terminal-key` the
//! terminal key is the test institution's (crates/testkit/src/institution.rs); with `--no-demo`
//! records are off unless `--terminal-key` (with `--terminal-cert` and `--institution-ca`) is given.
//! Limits (issue 15; defaults): a request head within 10 s, which is also how long a kept-alive
//! connection may stay idle (2 s while half the connection cap is in use); a whole request
//! within 30 s; 4,096 connections open (at most the file-descriptor limit less 128), 64 per
//! client address; 200,000 outstanding challenges in the store; 100 challenges per client address per
//! challenge lifetime; 2,000 ms per Redis command.
//! Challenges are bound to the browser's pre-login cookie with a key that is random per process;
//! instances sharing one Redis (a challenge from one, the login at another) must share it:
//! `--binding-key-file FILE` (at least 32 bytes of secret; its SHA-256 is the key).
//! Revocation at login: `--ocsp` asks the responder in the holder certificate's AIA (or
//! `--ocsp-responder`), caching answers until nextUpdate; `--crl-fetch` downloads CRLs from
//! its distribution points, cached until nextUpdate. A source that cannot be reached refuses
//! the login unless `--when-unreachable use-crls` (then the configured CRLs decide).
//!
//! Prints `bank-portal: listening on http://...` when ready.

mod app;

use std::path::PathBuf;

use hoviat_rp::log::{Logger, WriterSink};
use hoviat_rp::revocation::WhenUnreachable;
use hoviat_rp::trust::Source;

fn usage(msg: &str) -> ! {
    eprintln!("bank-portal: {msg}");
    std::process::exit(2)
}

fn num<T: std::str::FromStr>(v: &str, what: &str) -> T {
    v.parse().unwrap_or_else(|_| usage(what))
}

fn secs(v: &str, what: &str) -> std::time::Duration {
    std::time::Duration::from_secs(
        v.parse()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .unwrap_or_else(|| usage(what)),
    )
}

fn rec(cfg: &mut app::Config) -> &mut app::record::RecordConfig {
    cfg.record.get_or_insert_with(app::record::RecordConfig::demo)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // The repository root (this package is examples/bank-portal): www/ and pkg/ are there.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cfg = app::Config::demo(root.join("www"), root.join("pkg/web"));
    cfg.listen = ([127, 0, 0, 1], 8080).into();
    cfg.log = Logger::stderr();
    cfg.record = Some(app::record::RecordConfig::demo());
    let (mut timeout, mut when) = (None, WhenUnreachable::Refuse);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--listen" => cfg.listen = val().parse().unwrap_or_else(|_| usage("--listen HOST:PORT")),
            "--origin" => cfg.origin = Some(val()),
            "--www" => cfg.www = PathBuf::from(val()),
            "--pkg" => cfg.pkg = PathBuf::from(val()),
            "--redis" => cfg.redis = Some(val()),
            "--redis-prefix" => cfg.redis_prefix = val(),
            "--ttl" => cfg.ttl = val().parse().unwrap_or_else(|_| usage("--ttl SECONDS")),
            "--instance" => cfg.instance = val(),
            "--log" => {
                let v = val();
                cfg.log = if v == "-" {
                    Logger::stderr()
                } else {
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&v)
                        .unwrap_or_else(|e| usage(&format!("{v}: {e}")));
                    Logger::to_sink(WriterSink::new(f))
                }
            }
            "--no-demo" => cfg.demo_seed = None,
            "--demo-seed" => cfg.demo_seed = Some(val()),
            "--trust-anchor" => cfg.trust.anchors.push(Source::parse(&val())),
            "--intermediate" => cfg.trust.intermediates.push(Source::parse(&val())),
            "--crl" => cfg.trust.crls.push(Source::parse(&val())),
            "--require-revocation" => cfg.require_revocation = true,
            "--binding-key-file" => {
                let v = val();
                let b = std::fs::read(&v).unwrap_or_else(|e| usage(&format!("{v}: {e}")));
                if b.len() < 32 {
                    usage("--binding-key-file needs at least 32 bytes of secret");
                }
                use sha2::Digest;
                cfg.binding_key = Some(sha2::Sha256::digest(&b).into());
            }
            "--ocsp" => {
                cfg.ocsp.get_or_insert_with(Default::default);
            }
            "--ocsp-responder" => cfg.ocsp.get_or_insert_with(Default::default).responder = Some(val()),
            "--ocsp-nonce" => cfg.ocsp.get_or_insert_with(Default::default).nonce = true,
            "--crl-fetch" => {
                cfg.crl_fetch.get_or_insert_with(Default::default);
            }
            "--fetch-timeout" => {
                let t = std::time::Duration::from_secs(
                    val()
                        .parse()
                        .ok()
                        .filter(|s| (1..=300).contains(s))
                        .unwrap_or_else(|| usage("--fetch-timeout SECONDS (1-300)")),
                );
                timeout = Some(t);
            }
            "--when-unreachable" => {
                when = match val().as_str() {
                    "refuse" => WhenUnreachable::Refuse,
                    "use-crls" => WhenUnreachable::UseCrls,
                    _ => usage("--when-unreachable refuse|use-crls"),
                }
            }
            "--header-timeout" => cfg.limits.header_timeout = secs(&val(), "--header-timeout SECONDS"),
            "--request-timeout" => cfg.limits.request_timeout = secs(&val(), "--request-timeout SECONDS"),
            "--max-connections" => cfg.limits.max_connections = num(&val(), "--max-connections N"),
            "--max-connections-per-client" => {
                cfg.limits.max_connections_per_client = num(&val(), "--max-connections-per-client N")
            }
            "--max-challenges" => cfg.max_challenges = num(&val(), "--max-challenges N"),
            "--max-challenges-per-client" => {
                cfg.max_challenges_per_client = num(&val(), "--max-challenges-per-client N")
            }
            "--redis-timeout-ms" => {
                cfg.redis_timeout = std::time::Duration::from_millis(num(&val(), "--redis-timeout-ms MS"))
            }
            "--no-records" => cfg.record = None,
            "--archive" => rec(&mut cfg).archive = val(),
            "--institution" => rec(&mut cfg).institution = Some(PathBuf::from(val())),
            "--terminal-id" => rec(&mut cfg).terminal_id = val(),
            "--terminal-key" => rec(&mut cfg).terminal_key = Some(PathBuf::from(val())),
            "--terminal-cert" => rec(&mut cfg).terminal_cert.push(PathBuf::from(val())),
            "--institution-ca" => rec(&mut cfg).institution_ca.push(PathBuf::from(val())),
            "--archive-log-key" => rec(&mut cfg).log_key = Some(PathBuf::from(val())),
            "--verify-url" => rec(&mut cfg).verify_url = val(),
            "--dastine-config" => rec(&mut cfg).dastine_config = Some(PathBuf::from(val())),
            "--dastine-url" => rec(&mut cfg).dastine_url = Some(val()),
            "--clerks" => rec(&mut cfg).clerks = Some(PathBuf::from(val())),
            "-h" | "--help" => usage("see the comment at the top of examples/bank-portal/main.rs"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if let Some(p) = &mut cfg.ocsp {
        p.when_unreachable = when;
        p.timeout = timeout.unwrap_or(p.timeout);
    }
    if let Some(p) = &mut cfg.crl_fetch {
        p.when_unreachable = when;
        p.timeout = timeout.unwrap_or(p.timeout);
    }
    match app::start(cfg).await {
        Ok(r) => {
            let at = format!("http://{}", r.addr);
            if at == r.origin {
                println!("bank-portal: listening on {at}");
            } else {
                println!("bank-portal: listening on {at} (origin {})", r.origin);
            }
            let _ = r.task.await;
        }
        Err(e) => usage(&e),
    }
}
