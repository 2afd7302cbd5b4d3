//! The counter's sealed identity records (issues 17 and 21): `POST /api/counter/record` makes a
//! record from a card reading at the counter, seals it with the terminal key, stores it in the
//! archive and returns it with its log index and paper-copy links.
//!
//! - `GET  /api/counter/config`      the institution (purposes as data), its CA (PEM), the terminal id
//! - `POST /api/counter/record`      `{purpose, operator: {id, nationalCode?, faceMatch?},
//!   card: {chipType, holderCertificate?, intermediates?, cardSerial?, cardReference?,
//!   issueDate?, expiryDate?, pin?}, nonce?, token?}` →
//!   `{record, level, eidas, missing, index, recordId, issuedAt, verified, links: {html, pdf}}`
//! - `POST /api/counter/record/draft`  the same body → `{draftId, challenge, level, expiresIn}`
//! - `POST /api/counter/record/{draftId}/card-signature`  `{cms}` → as `/api/counter/record`
//! - `GET  /api/counter/record/{recordId}/{fa|en}.html|.pdf`   the paper copy
//! - `GET  /api/counter/font.ttf`    the paper copy's font (Vazirmatn, OFL)
//!
//! **Only a logged-in clerk makes records**: the clerk logs in with their own card
//! (`POST /api/login`); the record's `operator` is the staff id `--clerks FILE` gives for the
//! clerk's national code (another card: `403 CLERK_NOT_AUTHORIZED`), or `nc-<national code>`
//! without a list (demo); no session: `401 NOT_LOGGED_IN`.
//!
//! **The level is the evidence's**, computed by `hoviat::record::draft`; the body has no level
//! field. With a web-eid `token` (PIV: the card signed this server's fresh challenge, which the
//! card allows only after its PIN) the token is verified like a login (origin, challenge,
//! chain, revocation) and its certificate is the holder's; the PIN outcome is then `accepted`,
//! whatever the page says. Without a token (the Iranian card, which signs only in a registry
//! session) the certificate the page read from the chip is validated against the registry here,
//! and the page's `pin` is the terminal's report of what the chip answered to VERIFY: that is
//! what level `card-pin` means (terminal-attested, records.md), and the record says so.
//! `card-signature` (the card signing this very record) for the Iranian card goes through the
//! registry's session, which the vendor middleware Dastine opens: with `--dastine-config`, the
//! page drafts the record (`POST /api/counter/record/draft` → `{draftId, challenge}`), has
//! the card sign the challenge through Dastine's `NIDSign`, and sends the CMS
//! (`POST /api/counter/record/{draftId}/card-signature` `{cms}`): the signer must be the holder's
//! certificate read from the card, its path and revocation are checked against the registry,
//! and the record reaches `card-signature` marked `registry-assisted`. Drafts wait 5 minutes,
//! 256 at most, each used once by the clerk who made it; with `--redis` they wait in Redis (any
//! instance finishes them; the row is re-read as hostile by `RecordDraft::from_stored`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoviat::Coded;
use hoviat::pki::TrustStore;
use hoviat::record::{self, CardFacts, Institution, OperatorInput, PinOutcome, RecordRequest, VerifyOptions};
use hoviat::time::UnixTime;
use hoviat_archive::log as alog;
use hoviat_archive::print::{Lang, PrintView, attribute_row};
use hoviat_testkit::PrivateKey;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, error, is_json, json_response, token_error};

/// Most bytes of one request to the record endpoint (a token, a certificate and a few fields).
pub const MAX_RECORD_REQUEST: usize = 48 * 1024;

/// How records are made, sealed and kept.
#[derive(Clone, Debug, Default)]
pub struct RecordConfig {
    /// The institution's configuration (JSON; purposes as data). Demo: the test institution's.
    pub institution: Option<PathBuf>,
    /// The terminal's ES256 key (PKCS#8, PEM or DER). Demo: the test institution's terminal.
    pub terminal_key: Option<PathBuf>,
    /// The terminal's certificate chain (PEM/DER files: terminal first, then its CAs).
    pub terminal_cert: Vec<PathBuf>,
    /// The institution's CA (PEM/DER), to check each seal before it is stored.
    pub institution_ca: Vec<PathBuf>,
    /// The terminal id written in each record.
    pub terminal_id: String,
    /// The archive: `sqlite:PATH` or `postgres://...`.
    pub archive: String,
    /// The archive's log key (a signed-note private key file): a checkpoint per record when given.
    pub log_key: Option<PathBuf>,
    /// Where the paper copy's QR code says to verify.
    pub verify_url: String,
    /// The site's licensed Dastine configuration (XML the vendor signed), passed to the page.
    pub dastine_config: Option<PathBuf>,
    /// The Dastine service's address when not the vendor's loopback default (tests).
    pub dastine_url: Option<String>,
    /// The counter's clerks: a JSON object from national code to staff id (the record's
    /// `operator`). Without it (demo) any logged-in holder is a clerk, `operator` = `nc-<code>`.
    pub clerks: Option<PathBuf>,
}

impl RecordConfig {
    /// The demo's defaults: the archive in the system's temporary directory.
    pub fn demo() -> Self {
        Self {
            terminal_id: "branch-1/counter-1".into(),
            archive: format!(
                "sqlite:{}",
                std::env::temp_dir().join("hoviat-counter-archive.sqlite").display()
            ),
            verify_url: "https://bank.example.ir/archive/verify".into(),
            ..Self::default()
        }
    }
}

/// A trust store and the UTC day it was made for.
type DayTrust = (i64, Arc<TrustStore>);

/// What the record endpoint holds.
pub struct Records {
    institution: Institution,
    institution_ca_pem: Vec<String>,
    institution_ca: TrustStore,
    chain: Vec<Vec<u8>>,
    key: PrivateKey,
    terminal_id: String,
    /// The archive's spec; a connection per request (the archive serialises appends itself,
    /// and its connection is not `Send`).
    archive: String,
    log_key: Option<(String, String)>,
    verify_url: String,
    /// Demo: the registry the virtual cards are issued by, per UTC day.
    demo_registry: Option<(String, Mutex<DayTrust>)>,
    registry: Option<Arc<TrustStore>>,
    /// The Dastine settings the page gets (`{config, url?}`), when configured.
    dastine: Option<Value>,
    /// National code → staff id, when the clerks are listed.
    clerks: Option<HashMap<String, String>>,
    /// Drafts waiting for the card's signature (`/api/counter/record/draft`), by id.
    drafts: Drafts,
}

/// Where drafts wait for the card's signature: in this instance, or (with `--redis`) in Redis
/// beside the sessions, so that the card-signature step may reach another instance behind a
/// load balancer. Either way a draft is taken once, by the clerk who made it.
enum Drafts {
    Memory(Mutex<HashMap<String, (Instant, Prepared)>>),
    #[cfg(feature = "redis")]
    Redis(Arc<hoviat_rp::redis_store::RedisNonceStore>),
}

/// How long a draft waits for the card's signature: the holder types the SIGN PIN in Dastine's
/// window and the registry's signing server answers.
pub const DRAFT_TTL: Duration = Duration::from_secs(300);
/// Most drafts waiting at once.
pub const MAX_PENDING_DRAFTS: usize = 256;

/// A record drafted from a card reading, not yet sealed.
struct Prepared {
    draft: record::RecordDraft,
    at: UnixTime,
    authenticated: bool,
}

impl Prepared {
    /// The row kept in Redis while the card signs.
    fn to_stored(&self) -> String {
        json!({"draft": self.draft.to_stored(), "at": self.at.0, "authenticated": self.authenticated}).to_string()
    }

    /// Reads a row back (hostile: the draft is re-read by `RecordDraft::from_stored`).
    fn from_stored(text: &str) -> Result<Self, record::RecordError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|_| record::RecordError::Malformed("a stored draft row is not JSON".into()))?;
        let (Some(draft), Some(at), Some(authenticated)) =
            (v["draft"].as_str(), v["at"].as_i64(), v["authenticated"].as_bool())
        else {
            return Err(record::RecordError::Malformed(
                "a stored draft row lacks a field".into(),
            ));
        };
        Ok(Prepared {
            draft: record::RecordDraft::from_stored(draft)?,
            at: UnixTime(at),
            authenticated,
        })
    }

    fn operator(&self) -> Option<&str> {
        self.draft.payload().get("operator").and_then(Value::as_str)
    }
}

impl Records {
    /// Drafts waiting for the card's signature go to `redis` (the sessions' store) instead of
    /// this instance's memory.
    #[cfg(feature = "redis")]
    pub(super) fn share_drafts(&mut self, redis: Arc<hoviat_rp::redis_store::RedisNonceStore>) {
        self.drafts = Drafts::Redis(redis);
    }
}

impl Drafts {
    /// Keeps `p` under `id` for [`DRAFT_TTL`]; `SERVER_BUSY` past [`MAX_PENDING_DRAFTS`] (with
    /// Redis: drafts made by all instances in the current 5-minute window).
    async fn put(&self, id: &str, p: Prepared) -> Result<(), Response> {
        let busy = || {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_BUSY",
                "too many records are waiting for a card signature; try again in a few minutes",
            )
        };
        match self {
            Drafts::Memory(m) => {
                let Ok(mut pending) = m.lock() else {
                    return Err(error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        "draft store",
                    ));
                };
                let now = Instant::now();
                pending.retain(|_, (t, _)| now.duration_since(*t) < DRAFT_TTL);
                if pending.len() >= MAX_PENDING_DRAFTS {
                    return Err(busy());
                }
                pending.insert(id.to_string(), (now, p));
                Ok(())
            }
            #[cfg(feature = "redis")]
            Drafts::Redis(r) => {
                let (r, key, row) = (Arc::clone(r), format!("d:{id}"), p.to_stored());
                let ttl = DRAFT_TTL.as_secs() as i64;
                let window = UnixTime::now().0.div_euclid(ttl);
                let made = tokio::task::spawn_blocking(move || -> Result<bool, hoviat::token::TokenError> {
                    if r.count(&format!("dn:{window}"), ttl + 1)? > MAX_PENDING_DRAFTS as i64 {
                        return Ok(false);
                    }
                    r.put(&key, &row, ttl).map(|()| true)
                })
                .await;
                match made {
                    Ok(Ok(true)) => Ok(()),
                    Ok(Ok(false)) => Err(busy()),
                    Ok(Err(e)) => Err(token_error(&e)),
                    Err(_) => Err(error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        "draft task failed",
                    )),
                }
            }
        }
    }

    /// Takes the draft `id` if `operator` made it and it has not expired; another clerk's
    /// draft stays for its clerk. `Ok(None)`: no such draft for this clerk.
    async fn take(&self, id: &str, operator: &str) -> Result<Option<Prepared>, Response> {
        match self {
            Drafts::Memory(m) => Ok(m
                .lock()
                .ok()
                .and_then(|mut p| {
                    let mine = p.get(id).is_some_and(|(_, d)| d.operator() == Some(operator));
                    if mine { p.remove(id) } else { None }
                })
                .filter(|(t, _)| t.elapsed() < DRAFT_TTL)
                .map(|(_, p)| p)),
            #[cfg(feature = "redis")]
            Drafts::Redis(r) => {
                if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Ok(None);
                }
                let (r, key, operator) = (Arc::clone(r), format!("d:{id}"), operator.to_string());
                let taken = tokio::task::spawn_blocking(
                    move || -> Result<Option<Result<Prepared, record::RecordError>>, hoviat::token::TokenError> {
                        let Some(row) = r.get(&key)? else { return Ok(None) };
                        let p = match Prepared::from_stored(&row) {
                            Ok(p) if p.operator() != Some(operator.as_str()) => return Ok(None),
                            other => other,
                        };
                        // Whoever deletes it has it: two instances racing for one draft get it once.
                        Ok(r.delete(&key)?.then_some(p))
                    },
                )
                .await;
                match taken {
                    Ok(Ok(None)) => Ok(None),
                    Ok(Ok(Some(Ok(p)))) => Ok(Some(p)),
                    Ok(Ok(Some(Err(e)))) => Err(record_error(&e)),
                    Ok(Err(e)) => Err(token_error(&e)),
                    Err(_) => Err(error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        "draft task failed",
                    )),
                }
            }
        }
    }
}

fn pem_all(label: &str, b: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    hoviat::pki::cert::pem_or_der(b, &[label], 8, 64 * 1024).map_err(|e| e.to_string())
}

fn read(p: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn load_key(p: &std::path::Path) -> Result<PrivateKey, String> {
    use p256::pkcs8::DecodePrivateKey;
    let b = read(p)?;
    let der = if b.starts_with(b"-----") {
        pem_all("PRIVATE KEY", &b)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: no PRIVATE KEY block", p.display()))?
    } else {
        b
    };
    p256::ecdsa::SigningKey::from_pkcs8_der(&der)
        .map(PrivateKey::P256)
        .map_err(|e| format!("{}: not a PKCS#8 P-256 key: {e}", p.display()))
}

fn day(now: UnixTime) -> i64 {
    now.0 - now.0.rem_euclid(86_400)
}

impl Records {
    /// Loads keys and configuration, opens the archive. `demo_seed`: the virtual cards' registry
    /// (and, without `--terminal-key`, the test institution); `trust`: the registry otherwise.
    pub fn load(cfg: &RecordConfig, demo_seed: Option<&str>, trust: Option<TrustStore>) -> Result<Self, String> {
        let now = UnixTime::now();
        let institution = match &cfg.institution {
            Some(p) => Institution::from_json(&String::from_utf8(read(p)?).map_err(|_| "institution: not UTF-8")?)
                .map_err(|e| format!("{}: {e}", e.code()))?,
            None => hoviat_testkit::institution::config(),
        };
        let (key, chain, ca_der) = match &cfg.terminal_key {
            Some(k) => {
                if cfg.terminal_cert.is_empty() || cfg.institution_ca.is_empty() {
                    return Err("--terminal-key needs --terminal-cert and --institution-ca".into());
                }
                let mut chain = Vec::new();
                for p in &cfg.terminal_cert {
                    chain.extend(pem_all("CERTIFICATE", &read(p)?)?);
                }
                let mut ca = Vec::new();
                for p in &cfg.institution_ca {
                    ca.extend(pem_all("CERTIFICATE", &read(p)?)?);
                }
                (load_key(k)?, chain, ca)
            }
            None => {
                if demo_seed.is_none() {
                    return Err("--no-demo needs --terminal-key, --terminal-cert and --institution-ca".into());
                }
                // The test institution (crates/testkit/src/institution.rs), made for this day.
                let ti = hoviat_testkit::institution::TestInstitution::generate(
                    "hoviat-virtual",
                    "hoviat test bank",
                    UnixTime(day(now)),
                );
                (ti.terminal_key.clone(), ti.chain(), vec![ti.root.cert.clone()])
            }
        };
        let mut institution_ca = TrustStore::new();
        for c in &ca_der {
            institution_ca.add_anchors(c).map_err(|e| e.to_string())?;
        }
        let log_key = match &cfg.log_key {
            Some(p) => {
                let k = String::from_utf8(read(p)?)
                    .map_err(|_| "log key: not UTF-8")?
                    .trim()
                    .to_string();
                let origin = k
                    .strip_prefix("PRIVATE+KEY+")
                    .unwrap_or(&k)
                    .split('+')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                Some((k, origin))
            }
            None => None,
        };
        // Opened once here so that a bad spec or schema fails at start.
        hoviat_archive::store::open(&cfg.archive).map_err(|e| format!("{}: {e}", e.code()))?;
        let demo_registry = demo_seed.map(|s| {
            let t = demo_registry(s, now);
            (s.to_string(), Mutex::new((day(now), Arc::new(t))))
        });
        Ok(Records {
            institution,
            institution_ca_pem: ca_der
                .iter()
                .map(|d| hoviat_testkit::Registry::pem("CERTIFICATE", d))
                .collect(),
            institution_ca,
            chain,
            key,
            terminal_id: cfg.terminal_id.clone(),
            archive: cfg.archive.clone(),
            log_key,
            verify_url: cfg.verify_url.clone(),
            demo_registry,
            registry: trust.map(Arc::new),
            drafts: Drafts::Memory(Mutex::new(HashMap::new())),
            clerks: match &cfg.clerks {
                Some(p) => {
                    let m: HashMap<String, String> =
                        serde_json::from_slice(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?;
                    if let Some((k, v)) = m.iter().find(|(k, v)| {
                        k.len() != 10
                            || !k.bytes().all(|b| b.is_ascii_digit())
                            || v.is_empty()
                            || v.chars().count() > 64
                            || v.chars().any(char::is_control)
                    }) {
                        return Err(format!(
                            "{}: {k:?} → {v:?}: national codes (10 digits) to staff ids (1-64 characters)",
                            p.display()
                        ));
                    }
                    Some(m)
                }
                None => None,
            },
            dastine: match &cfg.dastine_config {
                Some(p) => {
                    let xml = String::from_utf8(read(p)?).map_err(|_| "dastine config: not UTF-8")?;
                    let mut d = json!({ "config": xml });
                    if let Some(u) = &cfg.dastine_url {
                        d["url"] = u.clone().into();
                    }
                    Some(d)
                }
                None => None,
            },
        })
    }

    /// The CSP `connect-src` sources the pages need for Dastine (its two loopback addresses,
    /// and the configured one), with a leading space; `None` without Dastine.
    pub fn dastine_sources(&self) -> Option<String> {
        let d = self.dastine.as_ref()?;
        let mut s = String::from(" ws://127.0.0.1:51356 wss://localhost.dastine.pki.co.ir:51357");
        if let Some(u) = d.get("url").and_then(Value::as_str)
            && u.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            s.push(' ');
            s.push_str(u);
        }
        Some(s)
    }

    fn registry(&self) -> Option<Arc<TrustStore>> {
        if let Some((seed, m)) = &self.demo_registry {
            let now = UnixTime::now();
            let mut g = m.lock().ok()?;
            if g.0 != day(now) {
                *g = (day(now), Arc::new(demo_registry(seed, now)));
            }
            return Some(Arc::clone(&g.1));
        }
        self.registry.clone()
    }
}

/// The virtual cards' registry (the light one the npm package's virtual card uses) as a trust
/// store: anchors, issuing CAs and CRLs.
fn demo_registry(seed: &str, now: UnixTime) -> TrustStore {
    hoviat_rp::trust::demo_trust(&hoviat_rp::trust::virtual_card_registry(seed, now)).unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OperatorBody {
    /// Must be the logged-in clerk's operator id when given.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    national_code: Option<String>,
    #[serde(default)]
    face_match: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordBody {
    purpose: String,
    operator: OperatorBody,
    card: CardFacts,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    token: Option<Value>,
}

fn bad(m: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BAD_REQUEST", m)
}

fn record_error(e: &record::RecordError) -> Response {
    let status = match e.code() {
        "RECORD_SIGNER_FAILED" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, e.code(), &e.to_string())
}

/// `GET /api/counter/config`.
pub(super) async fn config(State(s): State<Arc<AppState>>, h: HeaderMap) -> Response {
    let Some(r) = &s.records else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured");
    };
    let attrs: Vec<Value> = record::ATTRIBUTES
        .iter()
        .map(|a| json!({"name": a.name, "fa": a.label_fa, "en": a.label_en}))
        .collect();
    json_response(
        StatusCode::OK,
        json!({
            "institution": r.institution,
            "institutionCa": r.institution_ca_pem,
            "terminal": r.terminal_id,
            "attributes": attrs,
            "maxRequestBytes": MAX_RECORD_REQUEST,
            "dastine": r.dastine,
            "clerk": clerk_or_null(&s, &h).await,
        }),
    )
}

/// The logged-in clerk's operator id: records are made only by a clerk who logged in with their
/// own card (`POST /api/login`); the id is the `--clerks` list's staff id for the card's
/// national code (another holder: `CLERK_NOT_AUTHORIZED`), or `nc-<national code>` without a
/// list (demo).
async fn clerk(s: &Arc<AppState>, h: &HeaderMap) -> Result<String, Response> {
    let identity = match super::session_id(h, s.secure_cookie) {
        Some(id) => s.session_get(&id).await?,
        None => None,
    };
    let Some(identity) = identity else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "NOT_LOGGED_IN",
            "a clerk must log in with their own card before making records",
        ));
    };
    let code = identity["holder"]["nationalCode"].as_str().unwrap_or_default();
    let refused = || {
        error(
            StatusCode::FORBIDDEN,
            "CLERK_NOT_AUTHORIZED",
            "the logged-in card's holder is not a clerk of this counter",
        )
    };
    if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused());
    }
    match s.records.as_ref().and_then(|r| r.clerks.as_ref()) {
        Some(m) => m.get(code).cloned().ok_or_else(refused),
        None => Ok(format!("nc-{code}")),
    }
}

/// `GET /api/counter/config`'s `clerk`: the logged-in clerk's operator id, or null.
async fn clerk_or_null(s: &Arc<AppState>, h: &HeaderMap) -> Value {
    clerk(s, h).await.map(Value::String).unwrap_or(Value::Null)
}

/// A record endpoint's JSON body: `Content-Type: application/json` (else 415), at most
/// [`MAX_RECORD_REQUEST`] bytes (else 413), and of the expected shape (else 400).
fn json_body<T: serde::de::DeserializeOwned>(h: &HeaderMap, body: &[u8]) -> Result<T, Response> {
    if !is_json(h) {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST with Content-Type: application/json",
        ));
    }
    if body.len() > MAX_RECORD_REQUEST {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_TOO_LARGE",
            &format!("the request is over {MAX_RECORD_REQUEST} bytes"),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let m: String = e.to_string().chars().take(200).collect();
        bad(&format!("the body: {m}"))
    })
}

/// The request checks and the draft shared by `/api/counter/record` and its two-step form.
async fn prepare(s: &Arc<AppState>, h: &HeaderMap, body: &[u8]) -> Result<Prepared, Response> {
    if s.records.is_none() {
        return Err(error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured"));
    }
    let b: RecordBody = json_body(h, body)?;
    let operator = clerk(s, h).await?;
    if b.operator.id.as_ref().is_some_and(|id| *id != operator) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "CLERK_NOT_AUTHORIZED",
            "operator.id is not the logged-in clerk's",
        ));
    }
    let mut card = b.card;
    // An authenticated reading: the token is verified like a login, its certificate is the
    // holder's, and a card that signed has accepted its PIN.
    let authenticated = match (&b.nonce, &b.token) {
        (Some(nonce), Some(token)) => {
            let token = match token {
                Value::String(t) => t.clone(),
                t @ Value::Object(_) => t.to_string(),
                _ => return Err(bad("token must be an object or a string")),
            };
            let client = super::cookie_value(h, super::prelogin_cookie(s.secure_cookie)).unwrap_or_default();
            let (s2, t2, n2) = (Arc::clone(s), token.clone(), nonce.clone());
            match tokio::task::spawn_blocking(move || {
                s2.refresh_demo_trust();
                s2.svc.verify_login_bound(&t2, &n2, &client)
            })
            .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(token_error(&e)),
                Err(_) => {
                    return Err(error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        "verification failed",
                    ));
                }
            }
            let Ok(u) = hoviat::token::UnverifiedToken::parse(&token) else {
                return Err(token_error(&hoviat::token::TokenError::Malformed("token".into())));
            };
            card.holder_certificate = u.unverified_certificate;
            card.intermediates = u.unverified_intermediates;
            card.pin = PinOutcome::Accepted;
            true
        }
        (None, None) => false,
        _ => return Err(bad("nonce and token go together")),
    };
    if card.holder_certificate.is_empty() {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "RECORD_MALFORMED",
            "card.holderCertificate is required without a token",
        ));
    }
    let registry = registry_of(s)?;
    let op = OperatorInput {
        national_code: b.operator.national_code.filter(|c| !c.trim().is_empty()),
        face_match: b.operator.face_match,
    };
    let s2 = Arc::clone(s);
    let purpose = b.purpose;
    let drafted = tokio::task::spawn_blocking(move || -> Result<Prepared, Response> {
        let Some(recs) = &s2.records else {
            return Err(error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured"));
        };
        let at = UnixTime::now();
        let backend = hoviat::pki::alg::default_backend();
        let req = RecordRequest {
            institution: &recs.institution,
            purpose: &purpose,
            terminal: &recs.terminal_id,
            operator: &operator,
            at,
            card: &card,
            operator_input: &op,
            registry: &registry,
            holder_options: record::holder_path_options(at),
            revocation_data: &[],
            decoys: 2,
        };
        let mut rng = {
            use rand_core::SeedableRng;
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "no randomness"))?;
            rand_chacha::ChaCha20Rng::from_seed(seed)
        };
        let draft = record::draft(&req, backend, &mut rng).map_err(|e| record_error(&e))?;
        Ok(Prepared {
            draft,
            at,
            authenticated,
        })
    })
    .await;
    drafted.unwrap_or_else(|_| {
        Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "record task failed",
        ))
    })
}

fn registry_of(s: &AppState) -> Result<Arc<TrustStore>, Response> {
    s.records
        .as_ref()
        .and_then(Records::registry)
        .ok_or_else(|| error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "no registry trust"))
}

/// Seals a draft, checks the seal as any verifier would, stores the record in the archive.
fn seal_and_store(recs: &Records, p: Prepared) -> Result<Value, Response> {
    let backend = hoviat::pki::alg::default_backend();
    let at = p.at;
    let draft = p.draft;
    let level = draft.level();
    let missing = draft.missing().to_vec();
    let rec = draft
        .seal(&recs.chain, &recs.key as &dyn record::TerminalSigner, backend)
        .map_err(|e| record_error(&e))?;
    let v = record::verify(
        &rec,
        &VerifyOptions {
            institution_ca: &recs.institution_ca,
            at: None,
            institution: Some(&recs.institution),
            backend,
        },
    )
    .map_err(|e| record_error(&e))?;
    let (leaf, personal) =
        alog::split_record(&rec).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &e.to_string()))?;
    let mut ar = hoviat_archive::store::open(&recs.archive)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &e.to_string()))?;
    let (index, checkpoint) = ar
        .append(
            &leaf,
            &personal,
            recs.log_key.as_ref().map(|(k, o)| (k.as_str(), o.as_str())),
        )
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &e.to_string()))?;
    let id = leaf.record_id.clone();
    Ok(json!({
        "record": rec,
        "level": level,
        "eidas": level.eidas(),
        "levelText": {"fa": level.label_fa(), "en": level.label_en()},
        "missing": missing,
        "issuedAt": at.to_string(),
        "iat": at.0,
        "index": index,
        "recordId": id,
        "checkpoint": checkpoint,
        "verified": v,
        "authenticated": p.authenticated,
        "links": {
            "html": {"fa": format!("/api/counter/record/{id}/fa.html"), "en": format!("/api/counter/record/{id}/en.html")},
            "pdf": {"fa": format!("/api/counter/record/{id}/fa.pdf"), "en": format!("/api/counter/record/{id}/en.pdf")},
        },
    }))
}

/// Runs [`seal_and_store`] off the async threads and logs the sealed record.
async fn finish(s: &Arc<AppState>, p: Prepared) -> Response {
    let s2 = Arc::clone(s);
    let made = tokio::task::spawn_blocking(move || match &s2.records {
        Some(recs) => seal_and_store(recs, p),
        None => Err(error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured")),
    })
    .await;
    let v = match made {
        Ok(Ok(v)) => v,
        Ok(Err(r)) => return r,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "record task failed",
            );
        }
    };
    hoviat_rp::event!(
        s.svc.logger(),
        "record_sealed",
        index = v["index"].as_u64(),
        level = v["level"].as_str(),
        purpose = v["verified"]["purpose"].as_str()
    );
    json_response(StatusCode::OK, v)
}

/// `POST /api/counter/record`: drafts, seals and stores in one step.
pub(super) async fn make(State(s): State<Arc<AppState>>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    match prepare(&s, &h, &body).await {
        Ok(p) => finish(&s, p).await,
        Err(r) => r,
    }
}

/// `POST /api/counter/record/draft`: the same body as `/api/counter/record`; the record is
/// drafted but not sealed, and waits [`DRAFT_TTL`] for the card's signature over
/// `challenge` (the SHA-256 of the record's binding message, base64). Answers
/// `{draftId, challenge, level, expiresIn}`.
pub(super) async fn draft(State(s): State<Arc<AppState>>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    let p = match prepare(&s, &h, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(recs) = &s.records else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured");
    };
    let Ok(id) = hoviat_rp::create_nonce() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "no randomness");
    };
    let id: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
    let challenge = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(p.draft.card_challenge())
    };
    let level = p.draft.level();
    if let Err(r) = recs.drafts.put(&id, p).await {
        return r;
    }
    hoviat_rp::event!(s.svc.logger(), "record_drafted", level = level.name());
    json_response(
        StatusCode::OK,
        json!({
            "draftId": id,
            "challenge": challenge,
            "level": level,
            "expiresIn": DRAFT_TTL.as_secs(),
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardSignatureBody {
    /// The CMS the card made over the challenge (base64, PEM or DER as base64).
    cms: String,
}

/// `POST /api/counter/record/{draftId}/card-signature` `{cms}`: the card's CMS signature over
/// the draft's challenge (Dastine's NIDSign); checked by `RecordDraft::attach_card_cms`
/// (signer = the holder's certificate read from the card, path and revocation against the
/// registry, no SHA-1), then sealed and stored as `/api/counter/record` does. A draft is used
/// once: a refused signature ends it.
pub(super) async fn card_signature(
    State(s): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(recs) = &s.records else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured");
    };
    let b: CardSignatureBody = match json_body(&h, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let operator = match clerk(&s, &h).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    // A draft is finished by the clerk who started it (it names them as operator).
    let mut p = match recs.drafts.take(&id, &operator).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "no record draft of this clerk with this id is waiting (each is used once and expires after 5 minutes)",
            );
        }
        Err(r) => return r,
    };
    let registry = match registry_of(&s) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let attached = tokio::task::spawn_blocking(move || {
        let backend = hoviat::pki::alg::default_backend();
        let at = UnixTime::now();
        p.draft
            .attach_card_cms(b.cms.as_bytes(), &registry, &record::holder_path_options(at), backend)
            .map(|_| p)
    })
    .await;
    match attached {
        Ok(Ok(p)) => finish(&s, p).await,
        Ok(Err(e)) => {
            hoviat_rp::event!(s.svc.logger(), "card_signature_refused", code = e.code());
            record_error(&e)
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "record task failed",
        ),
    }
}

/// `GET /api/counter/record/{id}/{fa|en}.{html|pdf}`: the paper copy of a stored record.
pub(super) async fn paper(State(s): State<Arc<AppState>>, UrlPath((id, file)): UrlPath<(String, String)>) -> Response {
    if s.records.is_none() {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured");
    }
    // Record ids are base64url SHA-256 (43 characters): the link is the capability.
    if id.len() != 43 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such record");
    }
    let (lang, pdf) = match file.as_str() {
        "fa.html" => (Lang::Fa, false),
        "en.html" => (Lang::En, false),
        "fa.pdf" => (Lang::Fa, true),
        "en.pdf" => (Lang::En, true),
        _ => return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such paper copy"),
    };
    let s2 = Arc::clone(&s);
    let r = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, &'static str), Response> {
        let Some(recs) = &s2.records else {
            return Err(error(StatusCode::NOT_FOUND, "NOT_FOUND", "records are not configured"));
        };
        let ae = |e: hoviat_archive::ArchiveError| {
            let st = if e.code() == "ARCHIVE_NOT_FOUND" {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            error(st, e.code(), &e.to_string())
        };
        let mut ar = hoviat_archive::store::open(&recs.archive).map_err(ae)?;
        let e = ar.entry(&id).map_err(ae)?;
        let personal = ar.personal(e.idx).map_err(ae)?;
        drop(ar);
        let attributes = personal
            .as_deref()
            .unwrap_or("")
            .split('~')
            .filter(|d| !d.is_empty())
            .filter_map(|d| record::sdjwt::Disclosure::parse(d).ok())
            .map(attribute_row)
            .collect();
        let view = PrintView::of(&e, attributes, personal.is_none());
        if pdf {
            hoviat_archive::pdf::render_pdf(&view, lang, Some(&recs.institution), &recs.verify_url)
                .map(|b| (b, "application/pdf"))
                .map_err(|m| error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", &m))
        } else {
            let html = hoviat_archive::print::render_html(
                &view,
                lang,
                Some(&recs.institution),
                "/api/counter/font.ttf",
                &recs.verify_url,
            );
            Ok((html.into_bytes(), "text/html; charset=utf-8"))
        }
    })
    .await;
    match r {
        Ok(Ok((body, ct))) => {
            let mut r = (StatusCode::OK, body).into_response();
            let hs = r.headers_mut();
            hs.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            hs.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            hs.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            hs.insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; img-src data:; frame-ancestors 'none'",
                ),
            );
            r
        }
        Ok(Err(r)) => r,
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "print task failed"),
    }
}

/// `GET /api/counter/font.ttf`.
pub async fn font() -> Response {
    let mut r = (StatusCode::OK, hoviat_archive::pdf::FONT).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("font/ttf"));
    r
}
