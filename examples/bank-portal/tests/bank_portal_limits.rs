//! Issue 15, the bank-portal server under hostile clients and a failing Redis: every error
//! status in the JSON envelope, the per-client challenge limit, the header-read timeout, the
//! per-client connection cap; and (feature `redis`) the Redis store's cap, a restart from a
//! snapshot (the consumed challenge is refused, the first call after the restart succeeds on a
//! fresh connection) and a hung Redis (calls fail in parallel within their timeout, not one
//! after the other).

#[path = "../app.rs"]
mod app;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start(rt: &tokio::runtime::Runtime, f: impl FnOnce(&mut app::Config)) -> app::Running {
    let mut cfg = app::Config::demo(root().join("www"), root().join("pkg/web"));
    f(&mut cfg);
    rt.block_on(app::start(cfg)).unwrap()
}

/// One raw request; the status line's code, the head and the body.
fn raw(addr: SocketAddr, req: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn code(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap_or(Value::Null)["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn every_error_status_is_the_json_envelope() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = start(&rt, |_| {});
    // A body over 64 KiB: 413 in the envelope (it was text/plain "Failed to buffer the request body").
    let body = format!("{{\"nonce\":\"{}\"}}", "A".repeat(100 * 1024));
    let req = format!(
        "POST /api/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, head, b) = raw(r.addr, req.as_bytes());
    assert_eq!(status, 413, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-type: application/json"),
        "{head}"
    );
    assert_eq!(code(&b), "REQUEST_TOO_LARGE");
    // A wrong method: 405 in the envelope, Allow kept.
    let (status, head, b) = raw(
        r.addr,
        b"GET /api/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 405);
    assert_eq!(code(&b), "METHOD_NOT_ALLOWED");
    assert!(head.to_ascii_lowercase().contains("allow:"), "{head}");
}

#[test]
fn challenges_are_limited_per_client() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = start(&rt, |c| c.max_challenges_per_client = 3);
    let req = b"POST /api/challenge HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    let got: Vec<u16> = (0..5).map(|_| raw(r.addr, req).0).collect();
    assert_eq!(got, [200, 200, 200, 429, 429]);
    let (_, head, b) = raw(r.addr, req);
    assert_eq!(code(&b), "RATE_LIMITED");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
}

#[test]
fn slow_clients_are_cut_and_capped() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = start(&rt, |c| {
        c.limits.header_timeout = Duration::from_secs(1);
        c.limits.max_connections_per_client = 2;
    });
    // An incomplete request head, a line every 300 ms: closed at the header timeout.
    let t0 = Instant::now();
    let mut s = TcpStream::connect(r.addr).unwrap();
    s.write_all(b"GET /api/config HTTP/1.1\r\nHost: x\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 512];
    let closed_after = loop {
        assert!(t0.elapsed() < Duration::from_secs(8), "a slow client was never dropped");
        match s.read(&mut buf) {
            Ok(_) => break t0.elapsed(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                if s.write_all(b"X-Slow: 1\r\n").is_err() {
                    break t0.elapsed();
                }
            }
            Err(_) => break t0.elapsed(),
        }
    };
    assert!(
        closed_after < Duration::from_millis(2500),
        "closed after {closed_after:?}"
    );
    // A silent connection too (the idle timeout).
    let mut idle = TcpStream::connect(r.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t0 = Instant::now();
    let _ = idle.read(&mut buf);
    assert!(t0.elapsed() < Duration::from_millis(2500));
    // Two connections held by this address: a third is answered 503 and closed at once.
    let _a = TcpStream::connect(r.addr).unwrap();
    let _b = TcpStream::connect(r.addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (status, _, b) = raw(r.addr, b"GET /api/config HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 503);
    assert_eq!(code(&b), "SERVER_BUSY");
    drop((_a, _b));
    std::thread::sleep(Duration::from_millis(200));
    let (status, _, _) = raw(
        r.addr,
        b"GET /api/config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
}

#[cfg(feature = "redis")]
mod redis_faults {
    use super::*;
    use hoviat::Coded;
    use hoviat::time::UnixTime;
    use hoviat::token::NonceStore;
    use hoviat::token::nonce::nonce_from_bytes;
    use hoviat_rp::redis_store::RedisNonceStore;

    /// A redis-server on a unix socket in `dir`, with its dump.rdb there (restartable).
    struct Redis {
        child: std::process::Child,
        dir: PathBuf,
    }

    impl Redis {
        fn start(dir: &std::path::Path) -> Self {
            Self::start_with(dir, &["--save", "", "--appendonly", "no"])
        }
        fn start_with(dir: &std::path::Path, persistence: &[&str]) -> Self {
            std::fs::create_dir_all(dir).unwrap();
            let sock = dir.join("redis.sock");
            let _ = std::fs::remove_file(&sock);
            let child = std::process::Command::new("redis-server")
                .args(["--port", "0", "--unixsocket"])
                .arg(&sock)
                .args(persistence)
                .arg("--dir")
                .arg(dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server");
            for _ in 0..300 {
                if sock.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(50));
            Self {
                child,
                dir: dir.to_path_buf(),
            }
        }
        fn url(&self) -> String {
            format!("redis+unix://{}", self.dir.join("redis.sock").display())
        }
        fn signal(&self, sig: &str) {
            std::process::Command::new("kill")
                .args([sig, &self.child.id().to_string()])
                .status()
                .unwrap();
        }
        fn kill(mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for Redis {
        fn drop(&mut self) {
            if let Ok(None) = self.child.try_wait() {
                let _ = std::process::Command::new("kill")
                    .args(["-CONT", &self.child.id().to_string()])
                    .status();
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("hoviat-redis-faults-{name}-{}", std::process::id()))
    }

    #[test]
    fn cap_bounds_the_store() {
        let d = dir("cap");
        let r = Redis::start(&d);
        let s = RedisNonceStore::open(&r.url()).unwrap().with_cap(3);
        let t = UnixTime::now();
        for i in 0..3 {
            s.issue(&nonce_from_bytes(&[i; 32]), UnixTime(t.0 + 60), t).unwrap();
        }
        let e = s.issue(&nonce_from_bytes(&[9; 32]), UnixTime(t.0 + 60), t).unwrap_err();
        assert_eq!(e.code(), "NONCE_STORE_UNAVAILABLE");
        assert!(e.to_string().contains("too many"), "{e}");
        // Consuming one does not make room (the cap counts what was issued in the window).
        s.consume(&nonce_from_bytes(&[0; 32]), t).unwrap();
        drop(r);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn restart_from_snapshot_refuses_the_consumed_challenge() {
        let d = dir("snap");
        let r = Redis::start(&d);
        let s = RedisNonceStore::open(&r.url())
            .unwrap()
            .with_timeout(Duration::from_millis(500));
        let t = UnixTime::now();
        let n = nonce_from_bytes(&[42; 32]);
        s.issue(&n, UnixTime(t.0 + 60), t).unwrap();
        s.put("x", "saved", 60).unwrap();
        // Snapshot while the challenge is open, then use it.
        let out = std::process::Command::new("redis-cli")
            .arg("-s")
            .arg(d.join("redis.sock"))
            .arg("SAVE")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
        s.consume(&n, t).unwrap();
        assert_eq!(s.consume(&n, t).unwrap_err().code(), "NONCE_REPLAYED");
        r.kill();
        let r = Redis::start(&d);
        // The snapshot brought the key back (a plain value is there again) ...
        assert_eq!(s.get("x").unwrap().as_deref(), Some("saved"));
        // ... and the challenge, which is refused: issued by another Redis process.
        assert_eq!(s.consume(&n, t).unwrap_err().code(), "NONCE_UNKNOWN");
        drop(r);
        let _ = std::fs::remove_dir_all(&d);
    }

    /// The same with an append-only file (fsync on every write) restored from a backup taken
    /// while the challenge was open.
    #[test]
    fn restore_of_an_append_only_file_refuses_the_consumed_challenge() {
        let d = dir("aof");
        let aof = ["--save", "", "--appendonly", "yes", "--appendfsync", "always"];
        let r = Redis::start_with(&d, &aof);
        let s = RedisNonceStore::open(&r.url()).unwrap();
        let t = UnixTime::now();
        let n = nonce_from_bytes(&[43; 32]);
        s.issue(&n, UnixTime(t.0 + 60), t).unwrap();
        let backup = d.join("backup");
        let copy = |from: &std::path::Path, to: &std::path::Path| {
            let _ = std::fs::remove_dir_all(to);
            let ok = std::process::Command::new("cp")
                .arg("-a")
                .arg(from)
                .arg(to)
                .status()
                .unwrap();
            assert!(ok.success());
        };
        copy(&d.join("appendonlydir"), &backup);
        s.consume(&n, t).unwrap();
        r.kill();
        copy(&backup, &d.join("appendonlydir"));
        let r = Redis::start_with(&d, &aof);
        assert_eq!(s.consume(&n, t).unwrap_err().code(), "NONCE_UNKNOWN");
        drop(r);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn hung_redis_fails_calls_in_parallel_within_the_timeout() {
        let d = dir("hung");
        let r = Redis::start(&d);
        let s = std::sync::Arc::new(
            RedisNonceStore::open(&r.url())
                .unwrap()
                .with_timeout(Duration::from_millis(500)),
        );
        s.ping().unwrap();
        r.signal("-STOP");
        let t0 = Instant::now();
        let threads: Vec<_> = (0..8u8)
            .map(|i| {
                let s = std::sync::Arc::clone(&s);
                std::thread::spawn(move || {
                    let t = UnixTime::now();
                    let e = s.issue(&nonce_from_bytes(&[i; 32]), UnixTime(t.0 + 60), t).unwrap_err();
                    assert_eq!(e.code(), "NONCE_STORE_UNAVAILABLE");
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let took = t0.elapsed();
        // One connection behind a mutex would take 8 x 500 ms.
        assert!(took < Duration::from_millis(1800), "8 calls took {took:?}");
        r.signal("-CONT");
        let t = UnixTime::now();
        s.issue(&nonce_from_bytes(&[99; 32]), UnixTime(t.0 + 60), t).unwrap();
        drop(r);
        let _ = std::fs::remove_dir_all(&d);
    }
}
