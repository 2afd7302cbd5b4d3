//! The bank-portal example server, started in-process on 127.0.0.1:0: challenge, login with a
//! session cookie, logout, the counter check, every refusal with its code, hostile requests,
//! and (feature `redis`) two instances sharing one real Redis.

#[path = "../app.rs"]
mod app;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use hoviat::time::UnixTime;
use hoviat_rp::trust::virtual_card_registry;
use hoviat_testkit::Registry;
use serde_json::{Value, json};

struct Resp {
    status: u16,
    head: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("").to_string()
    }
    fn cookie(&self) -> Option<String> {
        self.head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().split(';').next().unwrap_or("").to_string())
    }
}

fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// The pre-login cookie each challenge was issued with (by nonce): what the browser that asked
/// for the challenge sends back with its login.
static PRELOGIN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

fn prelogin_for(nonce: &str) -> Option<String> {
    PRELOGIN
        .lock()
        .unwrap()
        .iter()
        .find(|(n, _)| n == nonce)
        .map(|(_, c)| c.clone())
}

/// POSTs `body`; a body with a nonce carries the pre-login cookie of the client that asked for
/// that challenge (as a browser would), besides `cookie`.
fn post(addr: SocketAddr, path: &str, body: &Value, cookie: Option<&str>) -> Resp {
    post_as(addr, path, body, cookie, true)
}

fn post_as(addr: SocketAddr, path: &str, body: &Value, cookie: Option<&str>, same_client: bool) -> Resp {
    let mut h = vec![("Content-Type", "application/json")];
    let pre = body["nonce"].as_str().filter(|_| same_client).and_then(prelogin_for);
    let all: Vec<String> = cookie.map(String::from).into_iter().chain(pre).collect();
    let joined = all.join("; ");
    if !joined.is_empty() {
        h.push(("Cookie", &joined));
    }
    http(addr, "POST", path, &h, body.to_string().as_bytes())
}

fn root() -> PathBuf {
    // The repository root (this package is examples/bank-portal).
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start(rt: &tokio::runtime::Runtime, f: impl FnOnce(&mut app::Config)) -> app::Running {
    let mut cfg = app::Config::demo(root().join("www"), root().join("pkg/web"));
    f(&mut cfg);
    rt.block_on(app::start(cfg)).unwrap()
}

fn registry() -> Registry {
    virtual_card_registry("hoviat-virtual", UnixTime::now())
}

fn challenge(addr: SocketAddr) -> String {
    let r = post(addr, "/api/challenge", &json!({}), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let n = r.json()["nonce"].as_str().unwrap().to_string();
    let c = r.cookie().expect("a pre-login cookie with the challenge");
    PRELOGIN.lock().unwrap().push((n.clone(), c));
    n
}

fn token(reg: &Registry, holder: usize, origin: &str, nonce: &str) -> Value {
    let h = &reg.holders[holder];
    serde_json::from_str(&h.make_token(h.token_alg(), origin, nonce)).unwrap()
}

#[test]
fn login_session_logout_and_refusals() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let logs = hoviat_rp::log::MemorySink::default();
    let srv = start(&rt, |c| c.log = hoviat_rp::log::Logger::to_sink(logs.clone()));
    let (a, origin) = (srv.addr, srv.origin.clone());
    let reg = registry();

    let page = http(a, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("dir=\"rtl\"") && page.body.contains("lang=\"fa\""));
    assert!(page.head.to_ascii_lowercase().contains("content-security-policy"));
    let cfg = http(a, "GET", "/api/config", &[], b"").json();
    assert_eq!(cfg["origin"], origin.as_str());
    assert_eq!(cfg["demo"], true);

    // Not logged in yet.
    assert_eq!(http(a, "GET", "/api/session", &[], b"").code(), "NOT_LOGGED_IN");

    // Login.
    let nonce = challenge(a);
    let tok = token(&reg, 1, &origin, &nonce);
    let body = json!({"nonce": nonce, "token": tok});
    let r = post(a, "/api/login", &body, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["identity"]["holder"]["nationalCode"],
        reg.holders[1].national_code.as_str()
    );
    assert!(r.head.contains("HttpOnly") && r.head.contains("SameSite=Strict"));
    let cookie = r.cookie().unwrap();
    let me = http(a, "GET", "/api/session", &[("Cookie", &cookie)], b"");
    assert_eq!(me.status, 200);
    // Issue 15: the session cookie twice (one planted next to the real one) is refused.
    let twice = format!("{cookie}; hoviat_session=planted");
    let me2 = http(a, "GET", "/api/session", &[("Cookie", &twice)], b"");
    assert_eq!(me2.code(), "NOT_LOGGED_IN");
    assert_eq!(
        me.json()["identity"]["holder"]["givenName"],
        reg.holders[1].given_name.as_str()
    );

    // Replay of the same body: refused.
    let r = post(a, "/api/login", &body, None);
    assert_eq!((r.status, r.code().as_str()), (401, "NONCE_REPLAYED"));

    // Issue 15: a new login from the browser revokes the session it had.
    let n2 = challenge(a);
    let r = post(
        a,
        "/api/login",
        &json!({"nonce": n2, "token": token(&reg, 1, &origin, &n2)}),
        Some(&cookie),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let second = r.cookie().unwrap();
    assert_ne!(second, cookie);
    assert_eq!(
        http(a, "GET", "/api/session", &[("Cookie", &cookie)], b"").code(),
        "NOT_LOGGED_IN"
    );
    assert_eq!(http(a, "GET", "/api/session", &[("Cookie", &second)], b"").status, 200);
    let cookie = second;

    // Logout ends the session.
    let r = post(a, "/api/logout", &json!({}), Some(&cookie));
    assert_eq!(r.status, 200);
    assert!(r.head.contains("Max-Age=0"));
    assert_eq!(
        http(a, "GET", "/api/session", &[("Cookie", &cookie)], b"").code(),
        "NOT_LOGGED_IN"
    );

    // Revoked holder, token for another origin, unknown nonce, counter check.
    let n = challenge(a);
    assert_eq!(
        post(
            a,
            "/api/login",
            &json!({"nonce": n, "token": token(&reg, 3, &origin, &n)}),
            None
        )
        .code(),
        "CERT_REVOKED"
    );
    let n = challenge(a);
    let other = post(
        a,
        "/api/login",
        &json!({"nonce": n, "token": token(&reg, 1, "http://localhost:1", &n)}),
        None,
    );
    assert_eq!(other.code(), "ORIGIN_MISMATCH");
    let n = challenge(a);
    assert_eq!(
        post(
            a,
            "/api/login",
            &json!({"nonce": n, "token": token(&reg, 4, &origin, &n)}),
            None
        )
        .code(),
        "CERT_EXPIRED"
    );
    let unknown = hoviat::token::nonce::nonce_from_bytes(&[9; 32]);
    assert_eq!(
        post(
            a,
            "/api/login",
            &json!({"nonce": unknown, "token": token(&reg, 1, &origin, &unknown)}),
            None
        )
        .code(),
        "CHALLENGE_CLIENT_MISMATCH"
    );
    // Issue 15: a challenge used from another client (without, or with another, pre-login
    // cookie) is refused, and not spent: its own client still logs in with it.
    let n = challenge(a);
    let body = json!({"nonce": n, "token": token(&reg, 1, &origin, &n)});
    assert_eq!(
        post_as(a, "/api/login", &body, None, false).code(),
        "CHALLENGE_CLIENT_MISMATCH"
    );
    let other_client = prelogin_for(&challenge(a)).unwrap();
    let r = post_as(a, "/api/login", &body, Some(&other_client), false);
    assert_eq!(r.code(), "CHALLENGE_CLIENT_MISMATCH");
    assert_eq!(post(a, "/api/login", &body, None).status, 200);
    let n = challenge(a);
    let r = post(
        a,
        "/api/counter/check",
        &json!({"nonce": n, "token": token(&reg, 2, &origin, &n)}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["identity"]["assurance"]["revocation"], "crl");
    assert!(r.cookie().is_none(), "the counter starts no session");

    // Hostile requests: never a panic, always a JSON error.
    let n = challenge(a);
    for (ct, b) in [
        ("application/json", b"not json".to_vec()),
        ("application/json", br#"{"nonce": 5}"#.to_vec()),
        (
            "application/json",
            format!(r#"{{"nonce":"{n}","token":"{}"}}"#, "A".repeat(20_000)).into_bytes(),
        ),
        (
            "application/json",
            format!(r#"{{"nonce":"{n}","token":{{"format":1}}}}"#).into_bytes(),
        ),
        ("text/plain", b"{}".to_vec()),
        ("application/json", vec![b'['; 100_000]),
    ] {
        let r = http(a, "POST", "/api/login", &[("Content-Type", ct)], &b);
        assert!(
            (400..500).contains(&r.status),
            "{ct} {} -> {} {}",
            b.len(),
            r.status,
            r.body
        );
    }
    for p in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/.git/config",
        "/pkg/../../Cargo.toml",
        "/nope.html",
    ] {
        assert_eq!(http(a, "GET", p, &[], b"").status, 404, "{p}");
    }

    // A careless client that sends a PIN along: whatever the answer, the PIN is logged nowhere.
    let n = challenge(a);
    let with_pin = json!({"nonce": n, "token": token(&reg, 1, &origin, &n), "pin": "918273"});
    let r = post(a, "/api/login", &with_pin, None);
    assert!(r.status == 200 || r.status == 400, "{}", r.body);

    // Logs (tracing events as JSON lines): the outcomes with their codes, never a certificate,
    // a token, a signature, a PIN or a session id.
    let text = logs.contents();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let has = |ev: &str, code: Option<&str>| {
        lines
            .iter()
            .any(|l| l["event"] == ev && code.is_none_or(|c| l["code"] == c))
    };
    let all: Vec<&Value> = lines.iter().map(|l| &l["event"]).collect();
    assert!(
        has("server_started", None) && has("login_verified", None) && has("session_started", None),
        "{all:?}"
    );
    assert!(has("session_ended", None) && has("challenge_issued", None));
    for code in ["NONCE_REPLAYED", "CERT_REVOKED"] {
        assert!(has("login_refused", Some(code)), "{code}:\n{text}");
    }
    assert!(lines.iter().all(|l| l["instance"].is_string() && l["ts"].is_string()));
    let cert_b64 = tok["unverifiedCertificate"].as_str().unwrap();
    assert!(!text.contains(&cert_b64[..40]) && !text.contains(tok["signature"].as_str().unwrap()));
    assert!(!text.contains("918273") && !text.contains(cookie.split_once('=').unwrap().1));
}

#[test]
fn expired_challenge() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = start(&rt, |c| c.ttl = 1);
    let reg = registry();
    let n = challenge(srv.addr);
    let tok = token(&reg, 1, &srv.origin, &n);
    std::thread::sleep(Duration::from_millis(2100));
    let r = post(srv.addr, "/api/login", &json!({"nonce": n, "token": tok}), None);
    assert_eq!((r.status, r.code().as_str()), (401, "NONCE_EXPIRED"));
}

/// Two instances sharing one real Redis: a challenge issued by A is accepted once by B and
/// refused the second time (on A and on B).
#[cfg(feature = "redis")]
#[test]
fn two_instances_share_one_redis() {
    let (url, _guard) = redis_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let prefix = format!("test{}:", std::process::id());
    // Both instances verify for one public origin (as behind a load balancer): not in demo
    // mode (refused for a public origin), trusting the registry's files.
    let origin = "https://bank.example.ir".to_string();
    let reg = registry();
    let dir = std::env::temp_dir().join(format!("hoviat-bank-portal-redis-{}", std::process::id()));
    reg.write_to(&dir).unwrap();
    let files = |names: &[&str]| -> Vec<hoviat_rp::trust::Source> {
        names
            .iter()
            .map(|n| hoviat_rp::trust::Source::File(dir.join(n)))
            .collect()
    };
    let mk = |name: &str| {
        start(&rt, |c| {
            c.demo_seed = None;
            c.trust.anchors = files(&["root.pem"]);
            c.trust.intermediates = files(&["ca-rsa.pem", "ca-ec.pem", "ca-eku.pem"]);
            c.trust.crls = files(&["ca-rsa.crl.pem", "ca-ec.crl.pem", "ca-eku.crl.pem"]);
            c.redis = Some(url.clone());
            c.redis_prefix = prefix.clone();
            c.binding_key = Some([7; 32]);
            c.origin = Some(origin.clone());
            c.instance = name.into();
        })
    };
    let (a, b) = (mk("a"), mk("b"));
    let n = challenge(a.addr);
    let body = json!({"nonce": n, "token": token(&reg, 1, &origin, &n)});
    let r = post(b.addr, "/api/login", &body, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["identity"]["holder"]["nationalCode"],
        reg.holders[1].national_code.as_str()
    );
    // Issue 15: on an https origin the session cookie has the __Host- prefix (Secure, Path=/).
    let cookie = r.cookie().unwrap();
    assert!(cookie.starts_with("__Host-hoviat_session="), "{cookie}");
    assert!(r.head.contains("; Secure") && r.head.contains("Path=/"));
    let me = http(b.addr, "GET", "/api/session", &[("Cookie", &cookie)], b"");
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(post(b.addr, "/api/login", &body, None).code(), "NONCE_REPLAYED");
    assert_eq!(post(a.addr, "/api/login", &body, None).code(), "NONCE_REPLAYED");
    // Concurrent consumers of one challenge on two instances: exactly one wins.
    let n = challenge(b.addr);
    let body = json!({"nonce": n, "token": token(&reg, 2, &origin, &n)});
    let (ba, bb) = (body.clone(), body.clone());
    let (aa, baddr) = (a.addr, b.addr);
    let t1 = std::thread::spawn(move || post(aa, "/api/login", &ba, None).status);
    let t2 = std::thread::spawn(move || post(baddr, "/api/login", &bb, None).status);
    let mut st = [t1.join().unwrap(), t2.join().unwrap()];
    st.sort_unstable();
    assert_eq!(st, [200, 401]);
    // A nonce neither issued: unknown.
    let unknown = hoviat::token::nonce::nonce_from_bytes(&[3; 32]);
    let r = post(
        a.addr,
        "/api/login",
        &json!({"nonce": unknown, "token": token(&reg, 1, &origin, &unknown)}),
        None,
    );
    assert_eq!(r.code(), "CHALLENGE_CLIENT_MISMATCH");
}

/// Records behind a load balancer: a draft made on instance A waits in Redis and instance B
/// seals it with the card's CMS; it is taken once, never by another clerk, and a row altered in
/// Redis is refused with its code instead of being sealed.
#[cfg(feature = "redis")]
#[test]
fn a_record_drafted_on_one_instance_is_signed_on_another() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use hoviat::pki::alg::HashAlg;
    let (url, _guard) = redis_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let prefix = format!("rec{}:", std::process::id());
    let dir = std::env::temp_dir().join(format!("hoviat-bank-portal-drafts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mk = |name: &str| {
        start(&rt, |c| {
            c.redis = Some(url.clone());
            c.redis_prefix = prefix.clone();
            c.binding_key = Some([7; 32]);
            c.instance = name.into();
            let mut rc = app::record::RecordConfig::demo();
            rc.archive = format!("sqlite:{}", dir.join(format!("{name}.sqlite")).display());
            c.record = Some(rc);
        })
    };
    let (a, b) = (mk("a"), mk("b"));
    let reg = registry();
    let login = |srv: &app::Running, h: usize| {
        let n = challenge(srv.addr);
        let r = post(
            srv.addr,
            "/api/login",
            &json!({"nonce": n, "token": token(&reg, h, &srv.origin, &n)}),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.cookie().unwrap()
    };
    let (clerk, other) = (login(&a, 0), login(&b, 1));
    let holder = 2;
    let cert = reg.holders[holder].cert.clone();
    let body = json!({"purpose": "sim-registration", "operator": {},
        "card": {"chipType": "virtual-ir-nid", "holderCertificate": B64.encode(&cert), "pin": "accepted"}});
    let draft = |srv: &app::Running| {
        let r = post(srv.addr, "/api/counter/record/draft", &body, Some(&clerk));
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        (
            v["draftId"].as_str().unwrap().to_string(),
            B64.decode(v["challenge"].as_str().unwrap()).unwrap(),
        )
    };
    let cms = |challenge: &[u8]| {
        let der = hoviat_testkit::cms::card_signed_data(
            &cert,
            &reg.holders[holder].key,
            challenge,
            HashAlg::Sha256,
            true,
            UnixTime::now(),
        );
        json!({"cms": B64.encode(der)})
    };
    let sign = |srv: &app::Running, id: &str, cookie: &str, body: &Value| {
        post(
            srv.addr,
            &format!("/api/counter/record/{id}/card-signature"),
            body,
            Some(cookie),
        )
    };

    // Drafted at A, signed at B.
    let (id, challenge) = draft(&a);
    let signed = cms(&challenge);
    let r = sign(&b, &id, &other, &signed);
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "NOT_FOUND"),
        "another clerk took it: {}",
        r.body
    );
    let r = sign(&b, &id, &clerk, &signed);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["level"], "card-signature", "{}", r.body);
    // Used once, on either instance.
    for srv in [&a, &b] {
        assert_eq!(sign(srv, &id, &clerk, &signed).status, 404);
    }
    // The CMS over another draft's challenge is refused for this one.
    let (id2, _) = draft(&b);
    let r = sign(&a, &id2, &clerk, &signed);
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "RECORD_CARD_SIGNATURE_INVALID"),
        "{}",
        r.body
    );
    assert!(r.body.contains("CMS_DIGEST_MISMATCH"), "{}", r.body);

    // A row altered in Redis (a disclosure swapped for one of another draft) is refused.
    let (id3, c3) = draft(&a);
    let (id4, _) = draft(&a);
    let redis = hoviat_rp::redis_store::RedisNonceStore::open(&url)
        .unwrap()
        .with_prefix(&prefix);
    let row = |id: &str| -> Value { serde_json::from_str(&redis.get(&format!("d:{id}")).unwrap().unwrap()).unwrap() };
    let (mut r3, r4) = (row(&id3), row(&id4));
    let mut d3: Value = serde_json::from_str(r3["draft"].as_str().unwrap()).unwrap();
    let d4: Value = serde_json::from_str(r4["draft"].as_str().unwrap()).unwrap();
    d3["disclosures"][0] = d4["disclosures"][0].clone();
    r3["draft"] = Value::String(d3.to_string());
    redis.put(&format!("d:{id3}"), &r3.to_string(), 60).unwrap();
    let r = sign(&b, &id3, &clerk, &cms(&c3));
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "RECORD_DISCLOSURE_MISMATCH"),
        "{}",
        r.body
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Store-level checks against the same Redis: expiry, unreachable Redis.
#[cfg(feature = "redis")]
#[test]
fn redis_store_expiry_and_unavailable() {
    use hoviat::Coded;
    use hoviat::token::NonceStore;
    use hoviat_rp::redis_store::RedisNonceStore;
    let (url, _guard) = redis_url();
    let s = RedisNonceStore::open(&url)
        .unwrap()
        .with_prefix(&format!("exp{}:", std::process::id()));
    let t = UnixTime(2_000_000_000);
    let n = hoviat::token::nonce::nonce_from_bytes(&[1; 32]);
    s.issue(&n, UnixTime(t.0 + 10), t).unwrap();
    assert_eq!(
        s.issue(&n, UnixTime(t.0 + 10), t).unwrap_err().code(),
        "NONCE_STORE_UNAVAILABLE"
    );
    assert_eq!(s.consume(&n, UnixTime(t.0 + 11)).unwrap_err().code(), "NONCE_EXPIRED");
    assert_eq!(s.consume(&n, UnixTime(t.0 + 11)).unwrap_err().code(), "NONCE_REPLAYED");
    assert_eq!(s.consume("bad\r\nnonce", t).unwrap_err().code(), "NONCE_INVALID");
    let down = RedisNonceStore::open("redis://127.0.0.1:1/").unwrap();
    let e = down.issue(&n, UnixTime(t.0 + 10), t).unwrap_err();
    assert_eq!(e.code(), "NONCE_STORE_UNAVAILABLE");
    assert!(e.is_retryable());
}

/// The Redis to use: `HOVIAT_TEST_REDIS` (scripts/rp-tests.sh starts one), else a private
/// `redis-server` on a unix socket, stopped when the guard drops.
#[cfg(feature = "redis")]
fn redis_url() -> (String, Option<RedisGuard>) {
    if let Ok(u) = std::env::var("HOVIAT_TEST_REDIS") {
        return (u, None);
    }
    let dir = std::env::temp_dir().join(format!(
        "hoviat-redis-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("redis.sock");
    let child = std::process::Command::new("redis-server")
        .args(["--port", "0", "--unixsocket"])
        .arg(&sock)
        .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server; scripts/setup.sh installs it)");
    for _ in 0..200 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (format!("redis+unix://{}", sock.display()), Some(RedisGuard(child, dir)))
}

#[cfg(feature = "redis")]
struct RedisGuard(std::process::Child, PathBuf);

#[cfg(feature = "redis")]
impl Drop for RedisGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// Issue 15: demo mode (the public test registry) is refused with trust options, on a
/// non-loopback listen address and for a non-loopback origin; the same options work with
/// `--no-demo` (or on loopback).
#[test]
fn demo_mode_refuses_trust_options_and_public_addresses() {
    let cfg = || app::Config::demo(root().join("www"), root().join("pkg/web"));
    let refused = |c: app::Config| app::check_config(&c).unwrap_err();
    let mut c = cfg();
    c.trust
        .anchors
        .push(hoviat_rp::trust::Source::parse("/etc/bank/root.pem"));
    assert!(refused(c).contains("--no-demo"));
    let mut c = cfg();
    c.trust
        .crls
        .push(hoviat_rp::trust::Source::parse("http://127.0.0.1:1/x.crl"));
    assert!(refused(c).contains("demo mode"));
    let mut c = cfg();
    c.listen = "0.0.0.0:8080".parse().unwrap();
    assert!(refused(c).contains("loopback"));
    let mut c = cfg();
    c.listen = "192.0.2.7:8080".parse().unwrap();
    assert!(refused(c).contains("loopback"));
    let mut c = cfg();
    c.origin = Some("https://bank.example.ir".into());
    assert!(refused(c).contains("loopback"));
    // Loopback in demo mode, and anything with --no-demo, pass the check.
    for (listen, origin) in [
        ("127.0.0.1:8080", None),
        ("[::1]:8080", Some("http://[::1]:8080")),
        ("127.0.0.1:8080", Some("http://localhost:8080")),
    ] {
        let mut c = cfg();
        c.listen = listen.parse().unwrap();
        c.origin = origin.map(Into::into);
        app::check_config(&c).unwrap();
    }
    let mut c = cfg();
    c.demo_seed = None;
    c.listen = "0.0.0.0:8080".parse().unwrap();
    c.origin = Some("https://bank.example.ir".into());
    c.trust
        .anchors
        .push(hoviat_rp::trust::Source::parse("/etc/bank/root.pem"));
    app::check_config(&c).unwrap();
    // And start() itself refuses (nothing is bound).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut c = cfg();
    c.trust
        .anchors
        .push(hoviat_rp::trust::Source::parse("/etc/bank/root.pem"));
    assert!(rt.block_on(app::start(c)).is_err());
}

/// `POST /api/signature/verify` (issue 19): CMS made by `openssl cms -sign` with the demo
/// registry's holder keys, verified with the server's trust (its CRLs revoke holder 3).
#[test]
fn signature_verify_endpoint() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = start(&rt, |_| {});
    let a = srv.addr;
    let reg = registry();
    let dir = std::env::temp_dir().join(format!("bank-portal-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let content = "حواله ۱۲۳ — transfer order\n".as_bytes().to_vec();
    std::fs::write(dir.join("content.txt"), &content).unwrap();
    let sign = |holder: usize, extra: &[&str]| -> Vec<u8> {
        let h = &reg.holders[holder];
        std::fs::write(dir.join("h.pem"), Registry::pem("CERTIFICATE", &h.cert)).unwrap();
        std::fs::write(dir.join("h.key"), hoviat_testkit::cms::private_key_pem(&h.key)).unwrap();
        let out = std::process::Command::new("openssl")
            .current_dir(&dir)
            .args([
                "cms",
                "-sign",
                "-binary",
                "-in",
                "content.txt",
                "-signer",
                "h.pem",
                "-inkey",
                "h.key",
            ])
            .args(["-outform", "DER", "-out", "sig.der"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read(dir.join("sig.der")).unwrap()
    };
    let good = sign(1, &[]);
    let sha1 = sign(1, &["-nodetach", "-md", "sha1"]);
    let revoked = sign(3, &["-nodetach"]);
    let _ = std::fs::remove_dir_all(&dir);
    let path = "/api/signature/verify";

    let r = post(a, path, &json!({"cms": b64(&good), "content": b64(&content)}), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["verified"], true);
    assert_eq!(
        v["signers"][0]["holder"]["nationalCode"],
        reg.holders[1].national_code.as_str()
    );
    assert_eq!(v["signers"][0]["revocation"]["source"], "crl", "{v}");
    assert_eq!(v["legacySha1"], false);
    // Refusals: 422 with the core's code.
    let mut changed = content.clone();
    changed[0] ^= 1;
    let r = post(a, path, &json!({"cms": b64(&good), "content": b64(&changed)}), None);
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "CMS_DIGEST_MISMATCH"),
        "{}",
        r.body
    );
    let r = post(a, path, &json!({"cms": b64(&good)}), None);
    assert_eq!((r.status, r.code().as_str()), (422, "CMS_CONTENT_MISSING"));
    let r = post(a, path, &json!({"cms": b64(&revoked)}), None);
    assert_eq!((r.status, r.code().as_str()), (422, "CERT_REVOKED"));
    let r = post(a, path, &json!({"cms": b64(&sha1)}), None);
    assert_eq!((r.status, r.code().as_str()), (422, "ALGORITHM_DISALLOWED"));
    let r = post(a, path, &json!({"cms": b64(&sha1), "allowSha1": true}), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json()["legacySha1"].clone(), r.json()["sha1Allowed"].clone()),
        (json!(true), json!(true))
    );
    let r = post(a, path, &json!({"cms": "not a signature"}), None);
    assert_eq!((r.status, r.code().as_str()), (422, "CMS_MALFORMED"));
    let r = post(a, path, &json!({"pdf": b64(b"%PDF-1.7\n%%EOF\n")}), None);
    assert_eq!((r.status, r.code().as_str()), (422, "PDF_NO_SIGNATURE"));
    // Bad requests.
    let r = post(a, path, &json!({"cms": b64(&good), "pdf": "AAAA"}), None);
    assert_eq!((r.status, r.code().as_str()), (400, "BAD_REQUEST"));
    let r = post(a, path, &json!({"cms": b64(&good), "content": "%%%"}), None);
    assert_eq!((r.status, r.code().as_str()), (400, "BAD_REQUEST"));
    let r = http(a, "POST", path, &[("Content-Type", "text/plain")], b"x");
    assert_eq!((r.status, r.code().as_str()), (415, "UNSUPPORTED_MEDIA_TYPE"));
}
