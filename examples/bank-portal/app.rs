//! The bank-portal demo server (axum), shared by `main.rs` and `tests/bank_portal.rs`.
//!
//! Endpoints (JSON; errors are `{"error":{"code","message"}}` with hoviat's stable codes):
//! - `GET  /api/config`         origin, demo mode, instance name, challenge lifetime
//! - `POST /api/challenge`      a fresh challenge `{nonce, expiresAt, ttlSeconds}`, bound to the
//!   browser's pre-login cookie (a token is accepted only with the cookie its challenge was issued to)
//! - `POST /api/login`          `{nonce, token}`: verifies, starts a session (cookie), returns the identity
//! - `POST /api/counter/check`  `{nonce, token}`: verifies for the government counter, no session
//! - `GET  /api/counter/config`, `POST /api/counter/record`, `GET /api/counter/record/{id}/{fa|en}.{html|pdf}`:
//!   sealed identity records at the counter, stored in the archive (`record.rs`)
//! - `POST /api/signature/verify` `{cms, content?}` or `{pdf}`: a CMS / PDF signature verified
//!   with the server's trust and revocation (`signature.rs`)
//! - `GET  /api/session`        the logged-in identity, or 401 `NOT_LOGGED_IN`
//! - `POST /api/logout`         ends the session
//! - everything else: files from `www/`, and the npm package's browser build under `/pkg/`.
//!
//! Every error, whatever its status (a body over the limit, an unknown method, a request past
//! its deadline), is that JSON envelope. Limits against floods and slow clients (issue 15):
//! header-read/idle timeouts, a request deadline and a connection cap per client and overall
//! (`serve.rs`); at most `max_challenges_per_client` challenges per client address per
//! challenge lifetime; at most `max_challenges` outstanding challenges in the store. With Redis,
//! sessions live in Redis too (`<prefix>s:<id>`), so any instance serves any session.
//!
//! POSTs must be `Content-Type: application/json` (a cross-site form cannot send that without
//! a CORS preflight this server never grants), bodies are at most 64 KiB, the session cookie is
//! HttpOnly and SameSite=Strict.
// Handlers return a ready `Response` as their error; its size does not matter here.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hoviat::Coded;
use hoviat::time::UnixTime;
use hoviat::token::{MemoryNonceStore, NonceStore, Origin, TokenError, VerifiedToken};
use hoviat_rp::log::Logger;
use hoviat_rp::trust::{TrustConfig, demo_trust, virtual_card_registry};
use hoviat_rp::{ChallengeService, log};
use serde_json::{Value, json};

#[path = "serve.rs"]
pub mod serve;

#[path = "record.rs"]
pub mod record;

#[path = "signature.rs"]
pub mod signature;

/// How the server is set up.
pub struct Config {
    /// Where to listen (`127.0.0.1:0` = any free port).
    pub listen: SocketAddr,
    /// The origin tokens must be signed for; default `http://<listen address>`.
    pub origin: Option<String>,
    /// The site's files.
    pub www: PathBuf,
    /// The npm package's browser build (`pkg/web`).
    pub pkg: PathBuf,
    /// Redis URL for the nonce store (feature `redis`); in memory when absent.
    pub redis: Option<String>,
    /// Redis key prefix.
    pub redis_prefix: String,
    /// Trust the virtual card's registry (seed), regenerated each UTC day.
    pub demo_seed: Option<String>,
    /// Trust configuration (files / URLs) when not in demo mode.
    pub trust: TrustConfig,
    /// Challenge lifetime, seconds.
    pub ttl: i64,
    /// Name of this instance (in logs and /api/config).
    pub instance: String,
    /// Structured logs.
    pub log: Logger,
    /// Refuse holders whose revocation status no source gives (`REVOCATION_UNKNOWN`).
    pub require_revocation: bool,
    /// OCSP at login (the certificate's responder or a configured one), cached.
    pub ocsp: Option<hoviat_rp::revocation::OcspPolicy>,
    /// CRLs fetched from the certificate's distribution points, cached.
    pub crl_fetch: Option<hoviat_rp::revocation::CrlFetchPolicy>,
    /// The key binding challenges to pre-login sessions; random when absent. Instances sharing
    /// one Redis (a challenge from one, the login at another) need the same key.
    pub binding_key: Option<[u8; 32]>,
    /// Connection limits and timeouts.
    pub limits: serve::Limits,
    /// Most outstanding challenges in the store (all instances on one Redis prefix).
    pub max_challenges: u64,
    /// Most challenges per client address per challenge lifetime (0 = no limit).
    pub max_challenges_per_client: u32,
    /// Timeout of each Redis command.
    pub redis_timeout: std::time::Duration,
    /// Sealed identity records at the counter (`/api/counter/record`); off when absent.
    pub record: Option<record::RecordConfig>,
}

impl Config {
    /// A demo configuration on 127.0.0.1:0.
    pub fn demo(www: PathBuf, pkg: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            origin: None,
            www,
            pkg,
            redis: None,
            redis_prefix: "hoviat:".into(),
            demo_seed: Some("hoviat-virtual".into()),
            trust: TrustConfig::default(),
            ttl: 300,
            instance: "a".into(),
            log: Logger::disabled(),
            require_revocation: false,
            ocsp: None,
            crl_fetch: None,
            binding_key: None,
            limits: serve::Limits::default(),
            max_challenges: 200_000,
            max_challenges_per_client: 100,
            redis_timeout: std::time::Duration::from_secs(2),
            record: None,
        }
    }
}

struct Session {
    identity: Value,
    expires: UnixTime,
}

/// Where sessions live: in this process, or in Redis (shared by every instance).
enum Sessions {
    Memory(Mutex<HashMap<String, Session>>),
    #[cfg(feature = "redis")]
    Redis(Arc<hoviat_rp::redis_store::RedisNonceStore>),
}

struct AppState {
    svc: ChallengeService,
    sessions: Sessions,
    limiter: serve::ClientLimiter,
    www: PathBuf,
    pkg: PathBuf,
    demo_seed: Option<String>,
    demo_day: AtomicI64,
    secure_cookie: bool,
    instance: String,
    ttl: i64,
    records: Option<record::Records>,
}

/// A started server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The origin it verifies tokens for.
    pub origin: String,
    /// The server task.
    pub task: tokio::task::JoinHandle<()>,
    /// Connection counters.
    pub conns: Arc<serve::ConnStats>,
}

/// The session cookie's name: on an https origin with the `__Host-` prefix (the browser then
/// accepts it only Secure, for Path=/, without Domain, so a sibling subdomain cannot set or
/// shadow it); on a plain-http loopback demo without it (browsers refuse `__Host-` without
/// Secure).
fn session_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-hoviat_session"
    } else {
        "hoviat_session"
    }
}
const SESSION_SECS: i64 = 1800;

fn day_of(t: UnixTime) -> i64 {
    t.0 - t.0.rem_euclid(86_400)
}

/// Whether an origin's host is a loopback address (`localhost`, 127.0.0.0/8, `[::1]`).
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => rest.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses unsafe setups before anything starts. Demo mode trusts the public test registry,
/// whose tokens anyone can mint: it is refused together with trust options (which would
/// otherwise be silently ignored) and anywhere but on loopback (listen address and origin).
pub fn check_config(cfg: &Config) -> Result<(), String> {
    if cfg.demo_seed.is_none() {
        return Ok(());
    }
    let t = &cfg.trust;
    if !t.anchors.is_empty() || !t.intermediates.is_empty() || !t.crls.is_empty() {
        return Err(
            "trust options (--trust-anchor, --intermediate, --crl) are given in demo mode, which would \
                    ignore them and trust the public test registry: add --no-demo"
                .into(),
        );
    }
    if !cfg.listen.ip().is_loopback() {
        return Err(format!(
            "demo mode trusts the public test registry (anyone can make its tokens): it listens on loopback only, not {}; \
             use --no-demo --trust-anchor FILE",
            cfg.listen
        ));
    }
    if let Some(o) = &cfg.origin
        && !is_loopback_origin(o)
    {
        return Err(format!(
            "demo mode trusts the public test registry (anyone can make its tokens): its origin must be loopback, not {o}; \
             use --no-demo --trust-anchor FILE"
        ));
    }
    Ok(())
}

/// Binds, builds the state and spawns the server.
pub async fn start(cfg: Config) -> Result<Running, String> {
    check_config(&cfg).map_err(|e| format!("CONFIG_UNSAFE: {e}"))?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let origin_s = cfg.origin.clone().unwrap_or_else(|| format!("http://{addr}"));
    let origin = Origin::parse(&origin_s).map_err(|e| e.to_string())?;
    let now = UnixTime::now();
    let trust = match &cfg.demo_seed {
        Some(seed) => demo_trust(&virtual_card_registry(seed, now)).map_err(|e| e.to_string())?,
        None => cfg.trust.load().map_err(|e| format!("{}: {e}", e.code()))?,
    };
    let cap = usize::try_from(cfg.max_challenges).unwrap_or(usize::MAX);
    let (store, sessions): (Arc<dyn NonceStore>, Sessions) = match &cfg.redis {
        None => (
            Arc::new(MemoryNonceStore::new(cap)),
            Sessions::Memory(Mutex::new(HashMap::new())),
        ),
        #[cfg(feature = "redis")]
        Some(url) => {
            let s = hoviat_rp::redis_store::RedisNonceStore::open(url)
                .map_err(|e| e.to_string())?
                .with_prefix(&cfg.redis_prefix)
                .with_cap(cfg.max_challenges)
                .with_timeout(cfg.redis_timeout);
            s.ping().map_err(|e| e.to_string())?;
            let s = Arc::new(s);
            (Arc::clone(&s) as Arc<dyn NonceStore>, Sessions::Redis(s))
        }
        #[cfg(not(feature = "redis"))]
        Some(_) => return Err("--redis needs the crate's `redis` feature".into()),
    };
    let log = cfg.log.clone().with_instance(&cfg.instance);
    let mut revocation = hoviat_rp::revocation::Revocation::none();
    if let Some(p) = &cfg.ocsp {
        revocation = revocation.with_ocsp(p.clone());
    }
    if let Some(p) = &cfg.crl_fetch {
        revocation = revocation.with_crl_fetch(p.clone());
    }
    let mut svc = ChallengeService::new(origin, trust, store);
    if let Some(k) = cfg.binding_key {
        svc = svc.with_binding_key(k);
    }
    let svc = svc
        .with_ttl(cfg.ttl)
        .with_required_revocation(cfg.require_revocation)
        .with_revocation(revocation)
        .with_logger(log.clone());
    let records = match &cfg.record {
        // Outside demo mode records need the institution's own terminal key: without
        // --terminal-key they stay off (the endpoints answer NOT_FOUND) rather than refusing
        // to start a login-only deployment.
        Some(rc) if cfg.demo_seed.is_none() && rc.terminal_key.is_none() => {
            hoviat_rp::event!(cfg.log, "records_off", reason = "no --terminal-key outside demo mode");
            None
        }
        Some(rc) => {
            let reg = match &cfg.demo_seed {
                Some(_) => None,
                None => Some(cfg.trust.load().map_err(|e| format!("{}: {e}", e.code()))?),
            };
            Some(record::Records::load(rc, cfg.demo_seed.as_deref(), reg)?)
        }
        None => None,
    };
    // With Redis, drafts waiting for the card's signature live there too: any instance
    // finishes them.
    #[cfg(feature = "redis")]
    let records = match (records, &sessions) {
        (Some(mut r), Sessions::Redis(redis)) => {
            r.share_drafts(Arc::clone(redis));
            Some(r)
        }
        (r, _) => r,
    };
    let state = Arc::new(AppState {
        svc,
        sessions,
        limiter: serve::ClientLimiter::new(cfg.ttl, cfg.max_challenges_per_client),
        www: cfg.www.clone(),
        pkg: cfg.pkg.clone(),
        demo_seed: cfg.demo_seed.clone(),
        demo_day: AtomicI64::new(day_of(now)),
        secure_cookie: origin_s.starts_with("https://"),
        instance: cfg.instance.clone(),
        ttl: cfg.ttl,
        records,
    });
    let app = Router::new()
        .route("/api/config", get(config))
        .route("/api/challenge", post(challenge))
        .route("/api/login", post(login))
        .route("/api/counter/check", post(counter_check))
        .route("/api/counter/config", get(record::config))
        .route("/api/counter/record", post(record::make))
        .route("/api/counter/record/draft", post(record::draft))
        .route("/api/counter/record/{id}/card-signature", post(record::card_signature))
        .route("/api/counter/record/{id}/{file}", get(record::paper))
        .route("/api/counter/font.ttf", get(record::font))
        .route("/api/signature/verify", post(signature::verify))
        .route("/api/session", get(session))
        .route("/api/logout", post(logout))
        .fallback(get(static_file))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::map_response(envelope))
        .layer(axum::middleware::from_fn_with_state(
            cfg.limits.request_timeout,
            deadline,
        ))
        .with_state(state);
    hoviat_rp::event!(
        log,
        "server_started",
        addr = %addr,
        origin = origin_s.as_str(),
        demo = cfg.demo_seed.is_some(),
        nonceStore = if cfg.redis.is_some() { "redis" } else { "memory" }
    );
    let conns = Arc::new(serve::ConnStats::default());
    let task = tokio::spawn(serve::serve(listener, app, cfg.limits.clone(), Arc::clone(&conns)));
    Ok(Running {
        addr,
        origin: origin_s,
        task,
        conns,
    })
}

fn json_response(status: StatusCode, v: Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, json!({"error": {"code": code, "message": message}}))
}

/// The one error envelope: any error answer that is not already `{"error":{…}}` JSON (axum's
/// own refusals: a body over the limit, a wrong method, a bad header) becomes one, with the
/// status kept.
async fn envelope(r: Response) -> Response {
    let status = r.status();
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return r;
    }
    // One status per code (tests/codes.rs checks it across both example servers); a client
    // error without a code of its own is a plain 400.
    let (status, code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (status, "REQUEST_TOO_LARGE", "the request body is over 64 KiB"),
        StatusCode::NOT_FOUND => (status, "NOT_FOUND", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (status, "METHOD_NOT_ALLOWED", "method not allowed"),
        StatusCode::REQUEST_TIMEOUT => (status, "REQUEST_TIMEOUT", "the request took too long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            status,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST with Content-Type: application/json",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (status, "SERVER_BUSY", "the server is busy; try again shortly"),
        s if s.is_server_error() => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error"),
        _ => (StatusCode::BAD_REQUEST, "BAD_REQUEST", "bad request"),
    };
    let mut out = error(status, code, message);
    if let Some(v) = r.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, v.clone());
    }
    out
}

/// The whole request (reading the body included) within `limit`, else `408`.
async fn deadline(
    State(limit): State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let mut r = error(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "the request took too long",
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

fn token_error(e: &TokenError) -> Response {
    let status = match e.code() {
        "NONCE_STORE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "TOKEN_TOO_LARGE" => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNAUTHORIZED,
    };
    error(status, e.code(), &e.to_string())
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

async fn config(State(s): State<Arc<AppState>>) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "origin": s.svc.origin().as_str(),
            "demo": s.demo_seed.is_some(),
            "instance": s.instance,
            "ttlSeconds": s.ttl,
        }),
    )
}

async fn challenge(
    State(s): State<Arc<AppState>>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<SocketAddr>>>,
    h: HeaderMap,
) -> Response {
    if !is_json(&h) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST with Content-Type: application/json",
        );
    }
    // One client cannot hold more than its share of open challenges (the store's cap is for
    // everyone): past the limit, 503 with the seconds to wait.
    let wait = match peer {
        Some(axum::Extension(axum::extract::ConnectInfo(p))) => match s.client_wait(p.ip()).await {
            Ok(w) => w,
            Err(e) => return token_error(&e),
        },
        None => None,
    };
    if let Some(wait) = wait {
        hoviat_rp::event!(
            s.svc.logger(),
            "challenge_refused",
            code = "RATE_LIMITED",
            message = "per-client limit"
        );
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            &format!("too many challenges from this client; try again in {wait} s"),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    // The pre-login session this challenge is bound to: the browser's, or a new one.
    let client = cookie_value(&h, prelogin_cookie(s.secure_cookie))
        .filter(|c| c.len() == 44 && hoviat::token::nonce::check_nonce_shape(c).is_ok())
        .or_else(|| hoviat_rp::create_nonce().ok());
    let Some(client) = client else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "no randomness");
    };
    let s2 = Arc::clone(&s);
    let c2 = client.clone();
    match tokio::task::spawn_blocking(move || s2.svc.issue_bound(&c2)).await {
        Ok(Ok(c)) => {
            let mut r = json_response(StatusCode::OK, serde_json::to_value(c).unwrap_or(Value::Null));
            let cookie = format!(
                "{}={client}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                prelogin_cookie(s.secure_cookie),
                SESSION_SECS,
                if s.secure_cookie { "; Secure" } else { "" }
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(Err(e)) => token_error(&e),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "challenge task failed",
        ),
    }
}

/// `{nonce, token}` from a body; the token as an object or a JSON string.
fn parse_login(body: &[u8]) -> Result<(String, String), Response> {
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "BAD_REQUEST", m);
    let v: Value = serde_json::from_slice(body).map_err(|_| bad("the body is not JSON"))?;
    let nonce = v
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("nonce (string) is required"))?
        .to_string();
    let token = match v.get("token") {
        Some(Value::String(t)) => t.clone(),
        Some(t @ Value::Object(_)) => t.to_string(),
        _ => return Err(bad("token (object or string) is required")),
    };
    Ok((nonce, token))
}

async fn verify(s: &Arc<AppState>, h: &HeaderMap, body: &[u8]) -> Result<VerifiedToken, Response> {
    if !is_json(h) {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST with Content-Type: application/json",
        ));
    }
    let (nonce, token) = parse_login(body)?;
    let client = cookie_value(h, prelogin_cookie(s.secure_cookie)).unwrap_or_default();
    let s2 = Arc::clone(s);
    let r = tokio::task::spawn_blocking(move || {
        s2.refresh_demo_trust();
        s2.svc.verify_login_bound(&token, &nonce, &client)
    })
    .await;
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(token_error(&e)),
        Err(_) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "verification task failed",
        )),
    }
}

/// Session ids are 44 base64 characters (hoviat_rp::create_nonce); anything else is not looked up.
fn session_key(id: &str) -> Option<String> {
    (id.len() == 44 && hoviat::token::nonce::check_nonce_shape(id).is_ok()).then(|| format!("s:{id}"))
}

impl AppState {
    /// Counts a challenge for `ip`: `Some(seconds to wait)` past the per-client limit. With
    /// Redis the count is shared by every instance (`<prefix>l:<client>:<window>`), and Redis
    /// failing is `NONCE_STORE_UNAVAILABLE` at once (the challenge could not be stored either:
    /// one Redis timeout per request, not two); without Redis it is this instance's.
    async fn client_wait(&self, ip: std::net::IpAddr) -> Result<Option<i64>, TokenError> {
        let now = UnixTime::now().0;
        #[cfg(feature = "redis")]
        if let Sessions::Redis(r) = &self.sessions
            && self.limiter.max > 0
        {
            let win = self.limiter.window;
            let w = now.div_euclid(win);
            let key = format!("l:{}:{w}", serve::client_key(ip));
            let r = Arc::clone(r);
            return match tokio::task::spawn_blocking(move || r.count(&key, win + 1)).await {
                Ok(Ok(n)) => Ok((n > i64::from(self.limiter.max)).then_some((w + 1) * win - now)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(TokenError::NonceStoreUnavailable("limit task failed".into())),
            };
        }
        Ok(self.limiter.check(ip, now).err())
    }

    async fn session_put(&self, id: &str, identity: &Value) -> Result<(), Response> {
        match &self.sessions {
            Sessions::Memory(m) => {
                let now = UnixTime::now();
                if let Ok(mut m) = m.lock() {
                    m.retain(|_, x| x.expires > now);
                    m.insert(
                        id.to_string(),
                        Session {
                            identity: identity.clone(),
                            expires: UnixTime(now.0 + SESSION_SECS),
                        },
                    );
                }
                Ok(())
            }
            #[cfg(feature = "redis")]
            Sessions::Redis(r) => {
                let (r, k, v) = (Arc::clone(r), session_key(id).unwrap_or_default(), identity.to_string());
                match tokio::task::spawn_blocking(move || r.put(&k, &v, SESSION_SECS)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(token_error(&e)),
                    Err(_) => Err(error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        "session task failed",
                    )),
                }
            }
        }
    }

    async fn session_get(&self, id: &str) -> Result<Option<Value>, Response> {
        match &self.sessions {
            Sessions::Memory(m) => {
                let now = UnixTime::now();
                Ok(m.lock()
                    .ok()
                    .and_then(|m| m.get(id).filter(|x| x.expires > now).map(|x| x.identity.clone())))
            }
            #[cfg(feature = "redis")]
            Sessions::Redis(r) => {
                let Some(k) = session_key(id) else { return Ok(None) };
                let r = Arc::clone(r);
                match tokio::task::spawn_blocking(move || r.get(&k)).await {
                    Ok(Ok(v)) => Ok(v.and_then(|v| serde_json::from_str(&v).ok())),
                    Ok(Err(e)) => Err(token_error(&e)),
                    Err(_) => Err(error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        "session task failed",
                    )),
                }
            }
        }
    }

    /// Ends a session; whether it existed (a store failure counts as not: the cookie is
    /// cleared anyway and the session ends by its TTL).
    async fn session_del(&self, id: &str) -> bool {
        match &self.sessions {
            Sessions::Memory(m) => m.lock().is_ok_and(|mut m| m.remove(id).is_some()),
            #[cfg(feature = "redis")]
            Sessions::Redis(r) => {
                let Some(k) = session_key(id) else { return false };
                let r = Arc::clone(r);
                matches!(tokio::task::spawn_blocking(move || r.delete(&k)).await, Ok(Ok(true)))
            }
        }
    }

    /// Demo mode: the virtual card's registry is made per UTC day; follow it across midnight.
    fn refresh_demo_trust(&self) {
        let Some(seed) = &self.demo_seed else { return };
        let now = UnixTime::now();
        let day = day_of(now);
        if self.demo_day.swap(day, Ordering::SeqCst) != day
            && let Ok(t) = demo_trust(&virtual_card_registry(seed, now))
        {
            self.svc.set_trust(t);
        }
    }
}

fn identity_json(v: &VerifiedToken) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

async fn login(State(s): State<Arc<AppState>>, h: HeaderMap, body: Bytes) -> Response {
    let v = match verify(&s, &h, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(id) = hoviat_rp::create_nonce() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "no randomness");
    };
    // A login replaces the session this browser had: the earlier id is revoked, not kept
    // beside the new one.
    if let Some(earlier) = session_id(&h, s.secure_cookie)
        && s.session_del(&earlier).await
    {
        hoviat_rp::event!(s.svc.logger(), "session_ended", sessionId = log::fingerprint(&earlier));
    }
    let identity = identity_json(&v);
    if let Err(r) = s.session_put(&id, &identity).await {
        return r;
    }
    hoviat_rp::event!(s.svc.logger(), "session_started", sessionId = log::fingerprint(&id));
    let mut r = json_response(StatusCode::OK, json!({ "ok": true, "identity": identity }));
    let cookie = format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{}",
        session_cookie(s.secure_cookie),
        if s.secure_cookie { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn counter_check(State(s): State<Arc<AppState>>, h: HeaderMap, body: Bytes) -> Response {
    match verify(&s, &h, &body).await {
        Ok(v) => json_response(StatusCode::OK, json!({ "ok": true, "identity": identity_json(&v) })),
        Err(r) => r,
    }
}

/// The pre-login session cookie: what challenges are bound to, so that a token works only from
/// the browser that asked for its challenge (`CHALLENGE_CLIENT_MISMATCH`).
fn prelogin_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-hoviat_prelogin"
    } else {
        "hoviat_prelogin"
    }
}

/// The session cookie's value; none when the request carries it more than once (a cookie
/// planted by another site or path next to the real one is refused, not guessed between).
fn session_id(h: &HeaderMap, secure: bool) -> Option<String> {
    cookie_value(h, session_cookie(secure))
}

/// A cookie's value when the request carries it exactly once.
fn cookie_value(h: &HeaderMap, name: &str) -> Option<String> {
    let mut found = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string());
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

async fn session(State(s): State<Arc<AppState>>, h: HeaderMap) -> Response {
    let found = match session_id(&h, s.secure_cookie) {
        Some(id) => match s.session_get(&id).await {
            Ok(v) => v,
            Err(r) => return r,
        },
        None => None,
    };
    match found {
        Some(identity) => json_response(StatusCode::OK, json!({ "identity": identity })),
        None => error(StatusCode::UNAUTHORIZED, "NOT_LOGGED_IN", "not logged in"),
    }
}

async fn logout(State(s): State<Arc<AppState>>, h: HeaderMap) -> Response {
    if !is_json(&h) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST with Content-Type: application/json",
        );
    }
    if let Some(id) = session_id(&h, s.secure_cookie)
        && s.session_del(&id).await
    {
        hoviat_rp::event!(s.svc.logger(), "session_ended", sessionId = log::fingerprint(&id));
    }
    let mut r = json_response(StatusCode::OK, json!({ "ok": true }));
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        session_cookie(s.secure_cookie),
        if s.secure_cookie { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// A safe relative path: plain segments only (no `..`, no hidden files, no backslashes).
fn safe_rel(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg.starts_with('.')
            || !seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

async fn static_file(State(s): State<Arc<AppState>>, uri: Uri) -> Response {
    let path = uri.path();
    let (base, rel) = match path.strip_prefix("/pkg/") {
        Some(rest) => (&s.pkg, rest),
        None => (&s.www, path),
    };
    let Some(mut rel) = safe_rel(rel) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such file");
    };
    if rel.as_os_str().is_empty() {
        rel = PathBuf::from("index.html");
    }
    let file = base.join(&rel);
    let file = if file.is_dir() { file.join("index.html") } else { file };
    match tokio::fs::read(&file).await {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            let hs = r.headers_mut();
            hs.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
            hs.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            hs.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            hs.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            // With Dastine configured, the pages may also reach its loopback service.
            let extra = s
                .records
                .as_ref()
                .and_then(record::Records::dastine_sources)
                .unwrap_or_default();
            let csp = format!(
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'{extra}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                hs.insert("content-security-policy", v);
            }
            r
        }
        Err(_) => error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such file"),
    }
}
