//! The relying-party kit (feature `rp`): what a bank or a government site deploys around the
//! verification core.
//!
//! - [`ChallengeService`]: issue a challenge (nonce + expiry) in one call, verify a login
//!   (consume the nonce, verify the token, return the identity) in one call.
//! - Nonce stores: [`crate::token::MemoryNonceStore`] (one instance) or, with feature `redis`,
//!   [`redis_store::RedisNonceStore`] (several instances sharing challenges: single use across
//!   instances, expiry by Redis TTL).
//! - [`trust`]: trust anchors from files; intermediates and CRLs from files or `http://` URLs
//!   fetched by the server with a timeout ([`http`]).
//! - [`log`]: structured logs (JSON lines) that never carry PINs, tokens or whole certificates.

pub mod http;
pub mod log;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod revocation;
pub mod trust;

use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::Coded;
use crate::pki::{PathOptions, TrustStore};
use crate::time::UnixTime;
use crate::token::nonce::DEFAULT_TTL_SECS;
use crate::token::nonce::check_nonce_shape;
use crate::token::{NonceStore, Origin, TokenError, UnverifiedToken, VerifiedToken, Verifier, create_nonce};

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
    eku: crate::pki::EkuRequirement,
    policies: crate::pki::PolicyRule,
}

impl ChallengeService {
    /// A service for `origin` (exactly as the browser reports it) with a trust store and a
    /// nonce store; challenges live [`DEFAULT_TTL_SECS`]; logs go nowhere until
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
            log: log::Logger::disabled(),
            eku: PathOptions::client_auth(UnixTime(0)).eku,
            policies: crate::pki::PolicyRule::default(),
        }
    }

    /// Certificate policies (certificatePolicies OIDs) the holder's certificate must carry one
    /// of (`allow`, when not empty) and must carry none of (`deny`): `CERT_POLICY_REFUSED`.
    pub fn with_policies(mut self, rule: crate::pki::PolicyRule) -> Self {
        self.policies = rule;
        self
    }

    /// What the holder certificate's extendedKeyUsage must allow: by default it must be
    /// present and list clientAuth ([`crate::pki::EkuRequirement::Required`]).
    pub fn with_eku(mut self, eku: crate::pki::EkuRequirement) -> Self {
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
        let now = (self.clock)();
        let nonce = create_nonce()?;
        let expires = UnixTime(now.0.saturating_add(self.ttl_secs));
        match self.store.issue(&nonce, expires, now) {
            Ok(()) => {
                self.log.event(
                    "challenge_issued",
                    &[
                        ("nonceId", log::fingerprint(&nonce).into()),
                        ("expiresAt", expires.to_string().into()),
                    ],
                );
                Ok(Challenge {
                    nonce,
                    expires_at: expires.to_string(),
                    ttl_seconds: self.ttl_secs,
                })
            }
            Err(e) => {
                self.log.event(
                    "challenge_refused",
                    &[("code", e.code().into()), ("message", e.to_string().into())],
                );
                Err(e)
            }
        }
    }

    /// Verifies a login: consumes the nonce (single use), verifies the token for this origin
    /// at the current time, and returns who signed it. The first failure is returned with its
    /// stable code (and logged).
    pub fn verify_login(&self, token_json: &str, nonce: &str) -> Result<VerifiedToken, TokenError> {
        let at = (self.clock)();
        let backend = crate::pki::alg::default_backend();
        let nonce_id = log::fingerprint(nonce);
        let result = (|| {
            let token = UnverifiedToken::parse(token_json)?;
            check_nonce_shape(nonce)?;
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
                let leaf = crate::pki::Cert::from_der(&token.unverified_certificate)?;
                crate::token::check_signature(&token, &leaf, &self.origin, nonce, backend)?;
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
                self.log.event(
                    "revocation_source_skipped",
                    &[("nonceId", nonce_id.clone().into()), ("why", why.clone().into())],
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
                self.log.event(
                    "login_verified",
                    &[
                        ("nonceId", nonce_id.into()),
                        ("nationalCode", v.holder.national_code.clone().into()),
                        ("certSerial", v.certificate.serial_number.clone().into()),
                        ("certSha256", v.certificate.sha256.clone().into()),
                        ("issuer", v.certificate.issuer.clone().into()),
                        ("algorithm", v.algorithm.into()),
                        ("revocation", v.assurance.revocation.into()),
                    ],
                );
                Ok(v)
            }
            Err(e) => {
                self.log.event(
                    "login_refused",
                    &[
                        ("nonceId", nonce_id.into()),
                        ("code", e.code().into()),
                        ("message", e.to_string().into()),
                    ],
                );
                Err(e)
            }
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::Registry;
    use crate::token::MemoryNonceStore;
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
        let other = crate::token::nonce::nonce_from_bytes(&[5; 32]);
        assert_eq!(svc.verify_login(&tok, &other).unwrap_err().code(), "NONCE_UNKNOWN");
        assert_eq!(svc.verify_login("{}", &other).unwrap_err().code(), "TOKEN_MALFORMED");
        assert_eq!(svc.verify_login(&tok, "x\n{}").unwrap_err().code(), "NONCE_INVALID");
        // Logs: JSON lines, no certificate, no token.
        let text = buf.contents();
        let cert_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &h.cert);
        assert!(!text.contains(&cert_b64[..60]));
        assert!(!text.contains("BEGIN"));
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(lines.iter().any(|l| l["event"] == "login_verified"));
        assert!(lines.iter().any(|l| l["code"] == "NONCE_REPLAYED"));
        assert!(lines.iter().any(|l| l["code"] == "CERT_REVOKED"));
    }
}
