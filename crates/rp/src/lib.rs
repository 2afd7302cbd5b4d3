//! The relying-party kit (feature `rp`): what a bank or a government site deploys around the
//! verification core.
//!
//! - [`ChallengeService`]: issue a challenge (nonce + expiry) in one call, verify a login
//!   (consume the nonce, verify the token, return the identity) in one call.
//! - Nonce stores: [`hoviat::token::MemoryNonceStore`] (one instance) or, with feature `redis`,
//!   [`redis_store::RedisNonceStore`] (several instances sharing challenges: single use across
//!   instances, expiry by Redis TTL).
//! - [`trust`]: trust anchors from files; intermediates and CRLs from files or `http://` URLs
//!   fetched by the server with a timeout ([`http`]).
//! - [`signature`]: CMS and PDF signatures verified with the same trust and revocation
//!   ([`ChallengeService::verify_signature`]).
//! - [`log`]: structured events through `tracing` (JSON lines) that never carry PINs, tokens or
//!   whole certificates.

pub mod http;
pub mod log;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod revocation;
pub mod signature;
pub mod trust;

pub use signature::SignatureOptions;

use std::sync::{Arc, RwLock};

use serde::Serialize;

use hoviat::Coded;
use hoviat::pki::{PathOptions, TrustStore};
use hoviat::time::UnixTime;
use hoviat::token::nonce::DEFAULT_TTL_SECS;
use hoviat::token::nonce::check_nonce_shape;
use hoviat::token::{NonceStore, Origin, TokenError, UnverifiedToken, VerifiedToken, Verifier, nonce_from_bytes};

/// A fresh nonce (challenge, session id) from the operating system's random source: 32 bytes,
/// 44 base64 characters. The core takes randomness from its caller; this kit is that caller.
pub fn create_nonce() -> Result<String, TokenError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| TokenError::NonceStoreUnavailable(format!("no randomness: {e}")))?;
    Ok(nonce_from_bytes(&b))
}

/// An issued challenge: what the page needs to ask the card for a token.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// The nonce (44 base64 characters), signed by the card together with the origin.
    pub nonce: String,
    /// When the challenge expires (RFC 3339, UTC).
    pub expires_at: String,
    /// Seconds it lives.
    pub ttl_seconds: i64,
}

/// A clock (seconds since the epoch); replaceable in tests.
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// Issues challenges and verifies logins for one origin, against one trust configuration and
/// one nonce store.
pub struct ChallengeService {
    origin: Origin,
    store: Arc<dyn NonceStore>,
    trust: RwLock<Arc<TrustStore>>,
    ttl_secs: i64,
    require_revocation: bool,
    revocation: revocation::Revocation,
    clock: Clock,
    log: log::Logger,
    eku: hoviat::pki::EkuRequirement,
    policies: hoviat::pki::PolicyRule,
    binding_key: [u8; 32],
}

/// HMAC-SHA-256 (RFC 2104) of the concatenated `parts` under a 32-byte key.
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let mut h = Sha256::new();
    h.update(ipad);
    for p in parts {
        h.update(p);
    }
    let inner = h.finalize();
    let mut h = Sha256::new();
    h.update(opad);
    h.update(inner);
    h.finalize().into()
}

/// The 16-byte tag that binds a challenge's 16 random bytes to a client.
fn binding_tag(key: &[u8; 32], random: &[u8], client: &str) -> [u8; 16] {
    let mac = hmac_sha256(
        key,
        &[
            b"hoviat challenge binding v1\0",
            random,
            &(client.len() as u64).to_be_bytes(),
            client.as_bytes(),
        ],
    );
    let mut t = [0u8; 16];
    t.copy_from_slice(&mac[..16]);
    t
}

impl ChallengeService {
    /// A service for `origin` (exactly as the browser reports it) with a trust store and a
    /// nonce store; challenges live [`DEFAULT_TTL_SECS`]; events go to the current `tracing`
    /// subscriber (none unless the application installs one) until
    /// [`ChallengeService::with_logger`].
    pub fn new(origin: Origin, trust: TrustStore, store: Arc<dyn NonceStore>) -> Self {
        Self {
            origin,
            store,
            trust: RwLock::new(Arc::new(trust)),
            ttl_secs: DEFAULT_TTL_SECS,
            require_revocation: false,
            revocation: revocation::Revocation::none(),
            clock: Arc::new(UnixTime::now),
            log: log::Logger::current(),
            eku: PathOptions::client_auth(UnixTime(0)).eku,
            policies: hoviat::pki::PolicyRule::default(),
            binding_key: {
                let mut k = [0u8; 32];
                // Without randomness the key stays fixed; binding then still separates clients
                // (the tag covers the client id) but is predictable: issue() fails anyway then.
                let _ = getrandom::fill(&mut k);
                k
            },
        }
    }

    /// The key that binds challenges to clients ([`ChallengeService::issue_bound`]); random
    /// per service by default. Instances that share a nonce store (and so take each other's
    /// challenges) must share it too.
    pub fn with_binding_key(mut self, key: [u8; 32]) -> Self {
        self.binding_key = key;
        self
    }

    /// Certificate policies (certificatePolicies OIDs) the holder's certificate must carry one
    /// of (`allow`, when not empty) and must carry none of (`deny`): `CERT_POLICY_REFUSED`.
    pub fn with_policies(mut self, rule: hoviat::pki::PolicyRule) -> Self {
        self.policies = rule;
        self
    }

    /// What the holder certificate's extendedKeyUsage must allow: by default it must be
    /// present and list clientAuth ([`hoviat::pki::EkuRequirement::Required`]).
    pub fn with_eku(mut self, eku: hoviat::pki::EkuRequirement) -> Self {
        self.eku = eku;
        self
    }

    /// How long a challenge lives (at least 1 second).
    pub fn with_ttl(mut self, secs: i64) -> Self {
        self.ttl_secs = secs.max(1);
        self
    }

    /// Refuse holders that no configured CRL covers (`REVOCATION_UNKNOWN`).
    pub fn with_required_revocation(mut self, on: bool) -> Self {
        self.require_revocation = on;
        self
    }

    /// Revocation fetched at login: OCSP and/or CRLs from the holder certificate's
    /// distribution points, cached ([`revocation::Revocation`]); fail closed unless its
    /// policy says otherwise.
    pub fn with_revocation(mut self, r: revocation::Revocation) -> Self {
        self.revocation = r;
        self
    }

    /// The revocation fetcher (its counters).
    pub fn revocation(&self) -> &revocation::Revocation {
        &self.revocation
    }

    /// Where structured logs go.
    pub fn with_logger(mut self, log: log::Logger) -> Self {
        self.log = log;
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The origin tokens must be signed for.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The logger.
    pub fn logger(&self) -> &log::Logger {
        &self.log
    }

    /// Replaces the trust configuration (e.g. after fetching fresh CRLs); verifications already
    /// running finish with the old one.
    pub fn set_trust(&self, trust: TrustStore) {
        if let Ok(mut t) = self.trust.write() {
            *t = Arc::new(trust);
        }
    }

    fn trust(&self) -> Arc<TrustStore> {
        match self.trust.read() {
            Ok(t) => Arc::clone(&t),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Issues a challenge: a fresh nonce recorded in the store until it expires.
    pub fn issue(&self) -> Result<Challenge, TokenError> {
        self.issue_nonce(create_nonce()?)
    }

    /// Issues a challenge bound to `client` (e.g. a pre-login session cookie, as the Web eID
    /// validators do): the nonce is 16 random bytes and an HMAC tag over them and `client`,
    /// so [`ChallengeService::verify_login_bound`] accepts its token only with the same
    /// `client`. Nothing more is stored than for [`ChallengeService::issue`].
    pub fn issue_bound(&self, client: &str) -> Result<Challenge, TokenError> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b[..16]).map_err(|e| TokenError::NonceStoreUnavailable(format!("no randomness: {e}")))?;
        let tag = binding_tag(&self.binding_key, &b[..16], client);
        b[16..].copy_from_slice(&tag);
        self.issue_nonce(nonce_from_bytes(&b))
    }

    fn issue_nonce(&self, nonce: String) -> Result<Challenge, TokenError> {
        let now = (self.clock)();
        let expires = UnixTime(now.0.saturating_add(self.ttl_secs));
        match self.store.issue(&nonce, expires, now) {
            Ok(()) => {
                event!(
                    self.log,
                    "challenge_issued",
                    nonceId = log::fingerprint(&nonce),
                    expiresAt = %expires
                );
                Ok(Challenge {
                    nonce,
                    expires_at: expires.to_string(),
                    ttl_seconds: self.ttl_secs,
                })
            }
            Err(e) => {
                event!(self.log, "challenge_refused", code = e.code(), message = %e);
                Err(e)
            }
        }
    }

    /// Verifies a login whose challenge came from [`ChallengeService::issue_bound`]: refused
    /// with `CHALLENGE_CLIENT_MISMATCH` unless `client` is the one the challenge was issued to
    /// (checked before the nonce is spent, so another client cannot burn it); then as
    /// [`ChallengeService::verify_login`].
    pub fn verify_login_bound(&self, token_json: &str, nonce: &str, client: &str) -> Result<VerifiedToken, TokenError> {
        self.verify_inner(token_json, nonce, Some(client))
    }

    fn bound_to(&self, nonce: &str, client: &str) -> bool {
        use base64::Engine;
        let Ok(b) = base64::engine::general_purpose::STANDARD.decode(nonce) else {
            return false;
        };
        if b.len() != 32 {
            return false;
        }
        let tag = binding_tag(&self.binding_key, &b[..16], client);
        tag.iter().zip(&b[16..]).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Verifies a login: consumes the nonce (single use), verifies the token for this origin
    /// at the current time, and returns who signed it. The first failure is returned with its
    /// stable code (and logged).
    pub fn verify_login(&self, token_json: &str, nonce: &str) -> Result<VerifiedToken, TokenError> {
        self.verify_inner(token_json, nonce, None)
    }

    fn verify_inner(&self, token_json: &str, nonce: &str, client: Option<&str>) -> Result<VerifiedToken, TokenError> {
        let at = (self.clock)();
        let backend = hoviat::pki::alg::default_backend();
        let nonce_id = log::fingerprint(nonce);
        let result = (|| {
            let token = UnverifiedToken::parse(token_json)?;
            check_nonce_shape(nonce)?;
            if let Some(c) = client
                && !self.bound_to(nonce, c)
            {
                return Err(TokenError::ChallengeClientMismatch);
            }
            // The nonce is spent before anything is fetched: a token can make the server ask a
            // responder at most once per challenge it was given.
            self.store.consume(nonce, at)?;
            let mut trust = self.trust();
            let mut options = PathOptions::client_auth(at);
            options.require_revocation = self.require_revocation;
            options.eku = self.eku.clone();
            options.policies = self.policies.clone();
            if self.revocation.is_active() {
                // Only the key's holder makes the server fetch anything: the token's signature
                // (for this origin and nonce) is checked before any revocation request.
                let leaf = hoviat::pki::Cert::from_der(&token.unverified_certificate)?;
                hoviat::token::check_signature(&token, &leaf, &self.origin, nonce, backend)?;
            }
            let rev = self
                .revocation
                .for_login(&trust, &token.unverified_certificate, at, &options.policy, backend)?;
            // Revocation data was fetched for this holder and no source was skipped: it must
            // cover the holder. A fetched answer that covers nothing (a list of another scope,
            // a delta only) is a failure (`REVOCATION_UNKNOWN`), never "not checked".
            if (!rev.crls.is_empty() || rev.ocsp.is_some()) && rev.skipped.is_empty() {
                options.require_revocation = true;
            }
            for why in &rev.skipped {
                event!(
                    self.log,
                    "revocation_source_skipped",
                    nonceId = nonce_id.as_str(),
                    why = why.as_str()
                );
            }
            if !rev.crls.is_empty() {
                trust = Arc::new(trust.with_fresh_crls(&rev.crls));
            }
            options.ocsp = rev.ocsp;
            let verifier = Verifier {
                trust: &trust,
                options,
                backend,
            };
            verifier.verify_parsed(&token, &self.origin, nonce)
        })();
        match result {
            Ok(v) => {
                event!(
                    self.log,
                    "login_verified",
                    nonceId = nonce_id,
                    nationalCode = v.holder.national_code.as_deref(),
                    certSerial = v.certificate.serial_number.as_str(),
                    certSha256 = v.certificate.sha256.as_str(),
                    issuer = v.certificate.issuer.as_str(),
                    algorithm = v.algorithm,
                    revocation = v.assurance.revocation
                );
                Ok(v)
            }
            Err(e) => {
                event!(self.log, "login_refused", nonceId = nonce_id, code = e.code(), message = %e);
                Err(e)
            }
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use hoviat::token::MemoryNonceStore;
    use hoviat_testkit::Registry;
    use std::sync::atomic::{AtomicI64, Ordering};

    fn registry() -> (Registry, TrustStore) {
        let day = UnixTime(1_780_000_000 - 1_780_000_000 % 86_400);
        let reg = Registry::generate_light("rp-unit", day);
        (reg.clone(), trust::demo_trust(&reg).unwrap())
    }

    #[test]
    fn issue_verify_replay_expire_origin_revoked() {
        let (reg, trust) = registry();
        let now = Arc::new(AtomicI64::new(reg.now.0 + 3600));
        let n2 = Arc::clone(&now);
        let buf = log::MemorySink::default();
        let origin = Origin::parse("https://bank.example.ir").unwrap();
        let svc = ChallengeService::new(origin, trust, Arc::new(MemoryNonceStore::default()))
            .with_ttl(60)
            .with_clock(Arc::new(move || UnixTime(n2.load(Ordering::SeqCst))))
            .with_logger(log::Logger::to_sink(buf.clone()));
        let c = svc.issue().unwrap();
        assert_eq!(c.nonce.len(), 44);
        assert_eq!(c.ttl_seconds, 60);
        let h = &reg.holders[1];
        let tok = h.make_token(h.token_alg(), "https://bank.example.ir", &c.nonce);
        let who = svc.verify_login(&tok, &c.nonce).unwrap();
        assert_eq!(who.holder.national_code.as_deref(), Some(h.national_code.as_str()));
        assert_eq!(who.assurance.revocation, "crl");
        assert_eq!(svc.verify_login(&tok, &c.nonce).unwrap_err().code(), "NONCE_REPLAYED");
        // Expired.
        let c = svc.issue().unwrap();
        let tok = h.make_token(h.token_alg(), "https://bank.example.ir", &c.nonce);
        now.fetch_add(61, Ordering::SeqCst);
        assert_eq!(svc.verify_login(&tok, &c.nonce).unwrap_err().code(), "NONCE_EXPIRED");
        // Another origin.
        let c = svc.issue().unwrap();
        let tok = h.make_token(h.token_alg(), "https://phish.example", &c.nonce);
        let e = svc.verify_login(&tok, &c.nonce).unwrap_err().code();
        assert!(e == "ORIGIN_MISMATCH" || e == "TOKEN_SIGNATURE_INVALID", "{e}");
        // Revoked.
        let c = svc.issue().unwrap();
        let r = &reg.holders[3];
        let tok = r.make_token(r.token_alg(), "https://bank.example.ir", &c.nonce);
        assert_eq!(svc.verify_login(&tok, &c.nonce).unwrap_err().code(), "CERT_REVOKED");
        // Unknown nonce, hostile input.
        let other = hoviat::token::nonce::nonce_from_bytes(&[5; 32]);
        assert_eq!(svc.verify_login(&tok, &other).unwrap_err().code(), "NONCE_UNKNOWN");
        assert_eq!(svc.verify_login("{}", &other).unwrap_err().code(), "TOKEN_MALFORMED");
        assert_eq!(svc.verify_login(&tok, "x\n{}").unwrap_err().code(), "NONCE_INVALID");
        // Logs (tracing events as JSON lines): the outcomes with their codes, no certificate,
        // no token, no signature, no nonce (only its fingerprint).
        let text = buf.contents();
        let cert_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &h.cert);
        assert!(!text.contains(&cert_b64[..60]));
        assert!(!text.contains("BEGIN"));
        let t: serde_json::Value = serde_json::from_str(&tok).unwrap();
        assert!(!text.contains(t["signature"].as_str().unwrap()) && !text.contains(&c.nonce));
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(lines.iter().all(|l| l["ts"].is_string() && l["event"].is_string()));
        let count = |ev: &str| lines.iter().filter(|l| l["event"] == ev).count();
        assert_eq!((count("challenge_issued"), count("login_verified")), (4, 1));
        let verified = lines.iter().find(|l| l["event"] == "login_verified").unwrap();
        assert_eq!(verified["nationalCode"], h.national_code.as_str());
        assert_eq!(verified["nonceId"].as_str().map(str::len), Some(12));
        let refused: Vec<&str> = lines
            .iter()
            .filter(|l| l["event"] == "login_refused")
            .map(|l| l["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            refused[..2],
            ["NONCE_REPLAYED", "NONCE_EXPIRED"],
            "the refusals in order: {refused:?}"
        );
        for code in ["CERT_REVOKED", "NONCE_UNKNOWN", "TOKEN_MALFORMED", "NONCE_INVALID"] {
            assert!(refused.contains(&code), "{code} in {refused:?}");
        }
    }

    /// Issue 15: a challenge bound to one client is refused from another (without spending it).
    #[test]
    fn bound_challenges_work_only_from_their_client() {
        let (reg, trust) = registry();
        let at = UnixTime(reg.now.0 + 3600);
        let origin = "https://bank.example.ir";
        let svc = ChallengeService::new(
            Origin::parse(origin).unwrap(),
            trust,
            Arc::new(MemoryNonceStore::default()),
        )
        .with_clock(Arc::new(move || at));
        let h = &reg.holders[1];
        let c = svc.issue_bound("client-a").unwrap();
        let tok = h.make_token(h.token_alg(), origin, &c.nonce);
        let e = svc.verify_login_bound(&tok, &c.nonce, "client-b").unwrap_err();
        assert_eq!(e.code(), "CHALLENGE_CLIENT_MISMATCH");
        assert_eq!(
            svc.verify_login_bound(&tok, &c.nonce, "").unwrap_err().code(),
            "CHALLENGE_CLIENT_MISMATCH"
        );
        // Not spent by the refusals: the right client still logs in, once.
        svc.verify_login_bound(&tok, &c.nonce, "client-a").unwrap();
        assert_eq!(
            svc.verify_login_bound(&tok, &c.nonce, "client-a").unwrap_err().code(),
            "NONCE_REPLAYED"
        );
        // An unbound challenge is not accepted as bound to anyone.
        let u = svc.issue().unwrap();
        let tok = h.make_token(h.token_alg(), origin, &u.nonce);
        assert_eq!(
            svc.verify_login_bound(&tok, &u.nonce, "client-a").unwrap_err().code(),
            "CHALLENGE_CLIENT_MISMATCH"
        );
        // Another service (another key) does not accept this one's bound challenges.
        let (_, trust2) = registry();
        let other = ChallengeService::new(
            Origin::parse(origin).unwrap(),
            trust2,
            Arc::new(MemoryNonceStore::default()),
        )
        .with_clock(Arc::new(move || at));
        let c = svc.issue_bound("client-a").unwrap();
        let tok = h.make_token(h.token_alg(), origin, &c.nonce);
        assert_eq!(
            other.verify_login_bound(&tok, &c.nonce, "client-a").unwrap_err().code(),
            "CHALLENGE_CLIENT_MISMATCH"
        );
    }
}
