//! Revocation for the relying party, fetched by the server at login time:
//!
//! - **OCSP**: a request for the holder's certificate goes to the responder its
//!   authorityInfoAccess names (or a configured one) with a timeout; a verified answer is cached
//!   until its nextUpdate, so a busy portal asks the registry once per certificate per
//!   validity window, not once per login.
//! - **CRLs from the certificate's distribution points** (`http://` URIs in
//!   cRLDistributionPoints): fetched with a timeout and a size limit, parsed once into the
//!   offset index of [`hoviat::pki::Crl`], shared by every login and refetched after nextUpdate.
//!
//! Fail closed: when a source cannot be reached, the login is refused
//! (`OCSP_RESPONDER_UNREACHABLE`, `CRL_UNREACHABLE`) unless the relying party chose
//! [`WhenUnreachable::UseCrls`], which decides by the CRLs the server has (and so, with
//! required revocation, still refuses a holder no CRL covers: `REVOCATION_UNKNOWN`). An answer
//! that arrives but does not verify (wrong signer, stale, nonce mismatch, another certificate)
//! is never treated as "unreachable": an attacker on the path must not be able to turn a
//! forged answer into a pass. The verdict itself is always made by path validation
//! ([`hoviat::pki::TrustStore::validate_with`]), which checks the response and the CRLs again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoviat::pki::ocsp::{self, CertId, OcspCheck, OcspConfig, OcspOptions, OcspResponse};
use hoviat::pki::{AlgorithmPolicy, Cert, Crl, PkiError, SignatureBackend, TrustStore};
use hoviat::time::UnixTime;

/// What a login does when a revocation source cannot be reached (network failure, timeout,
/// an HTTP error, or an OCSP responder answering tryLater/internalError).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhenUnreachable {
    /// Refuse the login with the source's code (the default: fail closed).
    #[default]
    Refuse,
    /// Decide by the CRLs the server already has; the login's assurance then says which
    /// source was used (or `not-checked`, which required revocation refuses).
    UseCrls,
}

/// OCSP settings.
#[derive(Clone, Debug)]
pub struct OcspPolicy {
    /// Ask this responder instead of the one in the certificate's authorityInfoAccess.
    pub responder: Option<String>,
    /// Deadline for connecting, sending and receiving.
    pub timeout: Duration,
    /// When the responder cannot be reached.
    pub when_unreachable: WhenUnreachable,
    /// Send a nonce (then every login asks the responder: a response to an earlier nonce
    /// cannot be reused, so nothing is cached).
    pub nonce: bool,
    /// Windows (skew; maximum age of a response without nextUpdate).
    pub options: OcspOptions,
    /// Longest a verified response stays cached even when its nextUpdate is later.
    pub max_cache_secs: i64,
    /// Most responses cached (one per certificate).
    pub max_cache_entries: usize,
}

impl Default for OcspPolicy {
    /// The AIA responder, 5 s timeout, fail closed, no nonce (responses cached), default
    /// windows, cached at most a day, 100,000 entries.
    fn default() -> Self {
        Self {
            responder: None,
            timeout: Duration::from_secs(5),
            when_unreachable: WhenUnreachable::Refuse,
            nonce: false,
            options: OcspOptions::default(),
            max_cache_secs: 86_400,
            max_cache_entries: 100_000,
        }
    }
}

/// Settings for CRLs fetched from the certificate's distribution points.
#[derive(Clone, Debug)]
pub struct CrlFetchPolicy {
    /// Deadline for the whole download.
    pub timeout: Duration,
    /// Largest CRL accepted (bytes).
    pub max_bytes: usize,
    /// When a distribution point cannot be fetched.
    pub when_unreachable: WhenUnreachable,
    /// Longest a verified CRL stays cached even when its nextUpdate is later (a CA that
    /// issues a new list early is seen at the latest after this long).
    pub max_cache_secs: i64,
}

impl Default for CrlFetchPolicy {
    /// 30 s, 256 MiB (a national registry's CRL can hold millions of entries), fail closed,
    /// cached at most an hour.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_bytes: hoviat::pki::crl::MAX_CRL_LEN,
            when_unreachable: WhenUnreachable::Refuse,
            max_cache_secs: 3600,
        }
    }
}

/// Counters (for logs, metrics and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationStats {
    /// OCSP requests sent.
    pub ocsp_fetches: u64,
    /// Logins served from the OCSP cache.
    pub ocsp_cache_hits: u64,
    /// CRL downloads.
    pub crl_fetches: u64,
    /// Logins served from the CRL cache.
    pub crl_cache_hits: u64,
    /// Sources that could not be reached.
    pub unreachable: u64,
}

/// What one login gets: CRLs to add to the trust store and OCSP responses for the holder.
#[derive(Debug, Default)]
pub struct LoginRevocation {
    /// Fetched (or cached) CRLs from the holder certificate's distribution points.
    pub crls: Vec<Arc<Crl>>,
    /// The OCSP response for the holder, if one was obtained.
    pub ocsp: Option<OcspConfig>,
    /// Sources skipped under [`WhenUnreachable::UseCrls`] (for the log).
    pub skipped: Vec<String>,
}

struct Cached<T> {
    value: Arc<T>,
    until: UnixTime,
}

/// Fetches and caches revocation information for logins. Shared by every login of a server
/// (it is `Send + Sync`); cheap to create.
#[derive(Default)]
pub struct Revocation {
    ocsp: Option<OcspPolicy>,
    crl: Option<CrlFetchPolicy>,
    ocsp_cache: Mutex<HashMap<Vec<u8>, Cached<OcspResponse>>>,
    crl_cache: Mutex<HashMap<String, Cached<Crl>>>,
    stats: Mutex<RevocationStats>,
}

/// The `http://` URIs among a certificate's CRL distribution point names.
pub fn crl_urls(c: &Cert) -> Vec<String> {
    c.crl_dp_names
        .iter()
        .filter(|n| n.first() == Some(&0x86))
        .filter_map(|n| {
            let (t, _) = hoviat::apdu::tlv::parse_one(n).ok()?;
            let s = std::str::from_utf8(t.value).ok()?;
            s.starts_with("http://").then(|| s.to_string())
        })
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Revocation {
    /// Nothing fetched: revocation comes only from the CRLs in the trust store.
    pub fn none() -> Self {
        Self::default()
    }

    /// Checks the holder's certificate by OCSP.
    pub fn with_ocsp(mut self, policy: OcspPolicy) -> Self {
        self.ocsp = Some(policy);
        self
    }

    /// Fetches CRLs from the holder certificate's distribution points.
    pub fn with_crl_fetch(mut self, policy: CrlFetchPolicy) -> Self {
        self.crl = Some(policy);
        self
    }

    /// Whether anything is fetched at login.
    pub fn is_active(&self) -> bool {
        self.ocsp.is_some() || self.crl.is_some()
    }

    /// The counters so far.
    pub fn stats(&self) -> RevocationStats {
        *lock(&self.stats)
    }

    fn count(&self, f: impl FnOnce(&mut RevocationStats)) {
        f(&mut lock(&self.stats));
    }

    /// Gathers what a login of `leaf_der` at `at` needs. An error here refuses the login; a
    /// certificate that does not parse or has no issuer in `trust` yields nothing (path
    /// validation then reports its own error).
    pub fn for_login(
        &self,
        trust: &TrustStore,
        leaf_der: &[u8],
        at: UnixTime,
        policy: &AlgorithmPolicy,
        backend: &dyn SignatureBackend,
    ) -> Result<LoginRevocation, PkiError> {
        let mut out = LoginRevocation::default();
        if !self.is_active() {
            return Ok(out);
        }
        let Ok(leaf) = Cert::from_der(leaf_der) else {
            return Ok(out);
        };
        // Only a certificate a configured CA really signed has its URLs followed: the token's
        // certificate is unverified input, and its AIA and CRL distribution points would
        // otherwise let anyone make the server fetch from any address (SSRF). That signature
        // is checked only when something is to be fetched (at most once per candidate issuer),
        // so a login answered from the caches costs no extra signature check. An answer from
        // the cache was fetched for a certificate a CA signed, and path validation still
        // decides the login.
        let candidates = trust.issuers_of(&leaf);
        if candidates.is_empty() {
            return Ok(out);
        }
        let signed: Vec<std::cell::OnceCell<bool>> = candidates.iter().map(|_| std::cell::OnceCell::new()).collect();
        let signed_by = |k: usize| {
            *signed[k].get_or_init(|| {
                hoviat::pki::path::signature_check(
                    &leaf.sig_alg,
                    leaf.tbs_bytes(),
                    &leaf.signature,
                    &candidates[k],
                    policy,
                    String::new,
                )
                .is_ok_and(|c| backend.verify(&c))
            })
        };
        if let Some(p) = &self.crl {
            let issuers = (&candidates[..], &signed_by as &dyn Fn(usize) -> bool);
            self.crls_for(&leaf, issuers, (at, policy, backend), p, &mut out)?;
        }
        if let Some(p) = &self.ocsp {
            // The issuer the request names: every candidate that signed the certificate is
            // tried until one gives a verified answer; path validation later insists that it
            // is the path's issuer.
            let mut first_err = None;
            for (k, issuer) in candidates.iter().enumerate() {
                match self.ocsp_for((&leaf, issuer), at, p, (policy, backend), &|| signed_by(k)) {
                    Ok(Some(cfg)) => {
                        out.ocsp = Some(cfg);
                        first_err = None;
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            match first_err {
                None => {}
                Some(e @ PkiError::OcspResponderUnreachable(_)) if p.when_unreachable == WhenUnreachable::UseCrls => {
                    out.skipped.push(e.to_string());
                }
                Some(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The CRLs of `leaf`'s distribution points. A fetched CRL counts (and is cached) only
    /// after it is verified here as a current list of a CA that signed `leaf`: its issuer is
    /// one of `candidates` that signed the leaf, its signature verifies under that CA's key (which
    /// may sign CRLs), and it is current at `at`. Anything else refuses the login and is never
    /// cached: another CA's list (which says nothing about this holder and would otherwise
    /// turn a revoked holder into "not checked"), a forged one (which would otherwise lock out
    /// every holder of the CA for as long as the forger chose), a stale one. A cached CRL is
    /// kept at most [`CrlFetchPolicy::max_cache_secs`] and until its nextUpdate.
    fn crls_for(
        &self,
        leaf: &Cert,
        (candidates, signed_by): (&[Arc<Cert>], &dyn Fn(usize) -> bool),
        (at, policy, backend): (UnixTime, &AlgorithmPolicy, &dyn SignatureBackend),
        p: &CrlFetchPolicy,
        out: &mut LoginRevocation,
    ) -> Result<(), PkiError> {
        // A cached list is used only for a certificate whose issuer name it carries (a cache
        // entry is per URL, and two CAs may name one URL).
        let names_an_issuer = |crl: &Crl| candidates.iter().any(|c| c.subject.matches(&crl.issuer));
        for url in crl_urls(leaf).into_iter().take(4) {
            if let Some(c) = lock(&self.crl_cache).get(&url)
                && c.until > at
                && names_an_issuer(&c.value)
            {
                self.count(|s| s.crl_cache_hits += 1);
                out.crls.push(Arc::clone(&c.value));
                continue;
            }
            if !(0..candidates.len()).any(signed_by) {
                return Ok(());
            }
            self.count(|s| s.crl_fetches += 1);
            let fetched = super::http::http_get(&url, p.timeout, p.max_bytes)
                .map_err(|e| PkiError::CrlUnreachable(format!("{url}: {e}")));
            let body = match fetched {
                Ok(b) => b,
                Err(e) => {
                    self.count(|s| s.unreachable += 1);
                    if p.when_unreachable == WhenUnreachable::UseCrls {
                        out.skipped.push(e.to_string());
                        continue;
                    }
                    return Err(e);
                }
            };
            let crl = Arc::new(Crl::from_vec(body)?);
            let mut opts = hoviat::pki::PathOptions::client_auth(at);
            opts.policy = *policy;
            let mut verdict = Err(PkiError::CrlIssuerMismatch {
                url: url.clone(),
                issuer: crl.issuer.to_string(),
            });
            for (k, ca) in candidates.iter().enumerate() {
                if ca.subject.matches(&crl.issuer) && signed_by(k) {
                    verdict = hoviat::pki::path::vet_crl(&crl, ca, &opts, backend);
                    if verdict.is_ok() {
                        break;
                    }
                }
            }
            verdict?;
            if let Some(next) = crl.next_update {
                let until = UnixTime(next.0.min(at.0.saturating_add(p.max_cache_secs)));
                let mut cache = lock(&self.crl_cache);
                if cache.len() >= 1024 {
                    cache.retain(|_, c| c.until > at);
                }
                if cache.len() < 1024 {
                    cache.insert(
                        url,
                        Cached {
                            value: Arc::clone(&crl),
                            until,
                        },
                    );
                }
            }
            out.crls.push(crl);
        }
        Ok(())
    }

    /// The OCSP answer for `leaf` as issued by `issuer`: from the cache, else fetched when
    /// `may_fetch` (the leaf verifies under `issuer`) and verified; `None` when not fetched.
    fn ocsp_for(
        &self,
        (leaf, issuer): (&Cert, &Cert),
        at: UnixTime,
        p: &OcspPolicy,
        (policy, backend): (&AlgorithmPolicy, &dyn SignatureBackend),
        may_fetch: &dyn Fn() -> bool,
    ) -> Result<Option<OcspConfig>, PkiError> {
        let id = CertId::new(leaf, issuer, hoviat::pki::alg::HashAlg::Sha1)?;
        let key = id.encode();
        if !p.nonce
            && let Some(c) = lock(&self.ocsp_cache).get(&key)
            && c.until > at
        {
            self.count(|s| s.ocsp_cache_hits += 1);
            return Ok(Some(OcspConfig {
                responses: vec![Arc::clone(&c.value)],
                nonce: None,
                options: p.options.clone(),
            }));
        }
        // Not signed by this issuer: nothing is fetched for it.
        if !may_fetch() {
            return Ok(None);
        }
        let url = p
            .responder
            .clone()
            .or_else(|| {
                ocsp::responder_urls(leaf)
                    .into_iter()
                    .find(|u| u.starts_with("http://"))
            })
            .ok_or_else(|| {
                PkiError::OcspResponderUnreachable("the certificate names no http:// OCSP responder".into())
            })?;
        let nonce = if p.nonce {
            let mut n = vec![0u8; 16];
            getrandom::fill(&mut n).map_err(|e| PkiError::OcspResponderUnreachable(format!("no randomness: {e}")))?;
            Some(n)
        } else {
            None
        };
        let request = ocsp::build_request(&[id], nonce.as_deref())?;
        self.count(|s| s.ocsp_fetches += 1);
        let body = super::http::http_post(
            &url,
            "application/ocsp-request",
            &request,
            p.timeout,
            ocsp::MAX_RESPONSE_LEN,
        )
        .map_err(|e| {
            if e.is_too_large() {
                // An answer that arrived: never "unreachable".
                return PkiError::InputTooLarge {
                    what: "OCSP response",
                    limit: ocsp::MAX_RESPONSE_LEN,
                };
            }
            self.count(|s| s.unreachable += 1);
            PkiError::OcspResponderUnreachable(format!("{url}: {e}"))
        })?;
        let resp = match OcspResponse::from_der(&body) {
            Ok(r) => Arc::new(r),
            // tryLater, internalError...: the responder cannot answer now, like a timeout.
            Err(PkiError::OcspNotSuccessful(d)) => {
                self.count(|s| s.unreachable += 1);
                return Err(PkiError::OcspResponderUnreachable(format!("{url}: {d}")));
            }
            Err(e) => return Err(e),
        };
        let chk = OcspCheck {
            cert: leaf,
            issuer,
            nonce: nonce.as_deref(),
            at,
            options: &p.options,
            policy,
            backend,
        };
        // Revoked and unknown are verdicts too (cached the same way); a response that does not
        // verify is an error and is not cached.
        let verdict = ocsp::verify(&resp, &chk)?;
        if nonce.is_none() {
            let fresh_until = verdict
                .next_update
                .unwrap_or(UnixTime(verdict.this_update.0.saturating_add(p.options.max_age_secs)));
            let until = UnixTime(fresh_until.0.min(at.0.saturating_add(p.max_cache_secs)));
            let mut cache = lock(&self.ocsp_cache);
            if cache.len() >= p.max_cache_entries {
                cache.retain(|_, c| c.until > at);
                if cache.len() >= p.max_cache_entries {
                    cache.clear();
                }
            }
            cache.insert(
                key,
                Cached {
                    value: Arc::clone(&resp),
                    until,
                },
            );
        }
        Ok(Some(OcspConfig {
            responses: vec![resp],
            nonce,
            options: p.options.clone(),
        }))
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::{ChallengeService, log, trust};
    use hoviat::Coded;
    use hoviat::token::{MemoryNonceStore, Origin};
    use hoviat_testkit::ocsp::{Spec, Status, error_response, response};
    use hoviat_testkit::{KeyKind, PrivateKey, Registry, TestHolder, rng_for};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    const ORIGIN: &str = "https://bank.example.ir";

    /// A real HTTP server on 127.0.0.1 answering every request with the current body.
    struct Server {
        port: u16,
        body: Arc<Mutex<Vec<u8>>>,
        hits: Arc<AtomicUsize>,
    }

    impl Server {
        fn start() -> Self {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            let body = Arc::new(Mutex::new(Vec::new()));
            let hits = Arc::new(AtomicUsize::new(0));
            let (b, h) = (Arc::clone(&body), Arc::clone(&hits));
            std::thread::spawn(move || {
                for s in l.incoming() {
                    let Ok(mut s) = s else { continue };
                    h.fetch_add(1, Ordering::SeqCst);
                    let mut req = Vec::new();
                    let mut buf = [0u8; 4096];
                    // Headers, then Content-Length bytes of body.
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        req.extend_from_slice(&buf[..n]);
                        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&req[..i]).to_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if req.len() >= i + 4 + len {
                                break;
                            }
                        }
                    }
                    let body = b.lock().unwrap().clone();
                    let _ =
                        s.write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
                    let _ = s.write_all(&body);
                }
            });
            Self { port, body, hits }
        }
        fn set(&self, b: Vec<u8>) {
            *self.body.lock().unwrap() = b;
        }
        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    /// A port with nothing listening.
    fn dead_url() -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/")
    }

    struct Fixture {
        reg: Registry,
        now: Arc<AtomicI64>,
    }

    impl Fixture {
        fn new() -> Self {
            let day = UnixTime(1_780_000_000 - 1_780_000_000 % 86_400);
            let reg = Registry::generate_light("rp-revocation", day);
            let now = Arc::new(AtomicI64::new(reg.now.0 + 3600));
            Self { reg, now }
        }
        fn at(&self) -> UnixTime {
            UnixTime(self.now.load(Ordering::SeqCst))
        }
        fn service(&self, rev: Revocation, with_crls: bool, require: bool) -> (ChallengeService, log::MemorySink) {
            let mut t = trust::demo_trust(&self.reg).unwrap();
            if !with_crls {
                t = TrustStore::new();
                t.add_anchor_cert(Arc::new(Cert::from_der(&self.reg.root.cert).unwrap()));
                for ca in &self.reg.cas {
                    t.add_intermediate_cert(Arc::new(Cert::from_der(&ca.cert).unwrap()));
                }
            }
            let n = Arc::clone(&self.now);
            let sink = log::MemorySink::default();
            let svc = ChallengeService::new(Origin::parse(ORIGIN).unwrap(), t, Arc::new(MemoryNonceStore::default()))
                .with_clock(Arc::new(move || UnixTime(n.load(Ordering::SeqCst))))
                .with_required_revocation(require)
                .with_revocation(rev)
                .with_logger(log::Logger::to_sink(sink.clone()));
            (svc, sink)
        }
        /// An OCSP response about `h` at the current time.
        fn ocsp(&self, h: &TestHolder, status: Status) -> Vec<u8> {
            let ca = &self.reg.cas[h.issuer];
            let mut spec = Spec::good(self.at());
            spec.status = status;
            response(&h.cert, &ca.cert, &spec, ca.into(), &[], &mut rng_for("t", "ocsp"))
        }
    }

    fn login(svc: &ChallengeService, h: &TestHolder) -> Result<&'static str, String> {
        let c = svc.issue().unwrap();
        let tok = h.make_token(h.token_alg(), ORIGIN, &c.nonce);
        svc.verify_login(&tok, &c.nonce)
            .map(|v| v.assurance.revocation)
            .map_err(|e| e.code().to_string())
    }

    /// Counts the signature checks it is asked for (and answers with RustCrypto).
    #[derive(Default)]
    struct Counting(AtomicUsize);
    impl SignatureBackend for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn verify(&self, c: &hoviat::pki::SignatureCheck) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            hoviat::pki::RustCrypto.verify(c)
        }
    }

    #[test]
    fn answers_from_the_cache_cost_no_signature_check() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f
            .reg
            .holder_with_urls(1, Some(&srv.url("/crl")), Some(&srv.url("/ocsp")))
            .unwrap();
        let mut t = TrustStore::new();
        t.add_anchor_cert(Arc::new(Cert::from_der(&f.reg.root.cert).unwrap()));
        for ca in &f.reg.cas {
            t.add_intermediate_cert(Arc::new(Cert::from_der(&ca.cert).unwrap()));
        }
        let t = &t;
        let policy = AlgorithmPolicy::default();
        // OCSP: the first login fetches (the holder's signature under its CA checked first, then
        // the answer's); the second is answered from the cache with no check at all.
        srv.set(f.ocsp(&h, Status::Good));
        let rev = Revocation::none().with_ocsp(OcspPolicy::default());
        let b = Counting::default();
        let first = rev.for_login(t, &h.cert, f.at(), &policy, &b).unwrap();
        assert!(first.ocsp.is_some());
        assert!(b.0.load(Ordering::SeqCst) >= 2);
        let b = Counting::default();
        let again = rev.for_login(t, &h.cert, f.at(), &policy, &b).unwrap();
        assert!(again.ocsp.is_some());
        assert_eq!(b.0.load(Ordering::SeqCst), 0);
        assert_eq!(
            (rev.stats().ocsp_fetches, rev.stats().ocsp_cache_hits, srv.hits()),
            (1, 1, 1)
        );
        // CRL distribution point: likewise (the CRL itself is checked by path validation).
        srv.set(f.reg.crls[h.issuer].clone());
        let rev = Revocation::none().with_crl_fetch(CrlFetchPolicy::default());
        let b = Counting::default();
        assert_eq!(rev.for_login(t, &h.cert, f.at(), &policy, &b).unwrap().crls.len(), 1);
        // The holder under its CA, then the CRL under that CA (verified before it is cached).
        assert_eq!(b.0.load(Ordering::SeqCst), 2);
        let b = Counting::default();
        assert_eq!(rev.for_login(t, &h.cert, f.at(), &policy, &b).unwrap().crls.len(), 1);
        assert_eq!(b.0.load(Ordering::SeqCst), 0);
        assert_eq!(srv.hits(), 2);
    }

    #[test]
    fn ocsp_from_aia_cached_until_next_update_and_fail_closed() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f.reg.holder_with_urls(1, None, Some(&srv.url("/ocsp"))).unwrap();
        srv.set(f.ocsp(&h, Status::Good));
        let (svc, _) = f.service(Revocation::none().with_ocsp(OcspPolicy::default()), false, true);
        assert_eq!(login(&svc, &h), Ok("ocsp"));
        assert_eq!(login(&svc, &h), Ok("ocsp"));
        let s = svc.revocation().stats();
        assert_eq!((s.ocsp_fetches, s.ocsp_cache_hits, srv.hits()), (1, 1, 1), "{s:?}");
        // After nextUpdate (a day later) the cached answer is not used: asked again.
        f.now.fetch_add(2 * 86_400, Ordering::SeqCst);
        srv.set(f.ocsp(&h, Status::Revoked(UnixTime(f.at().0 - 60))));
        assert_eq!(login(&svc, &h), Err("CERT_REVOKED".into()));
        assert_eq!(srv.hits(), 2);
        // Revoked is a verdict too: cached, still refused.
        assert_eq!(login(&svc, &h), Err("CERT_REVOKED".into()));
        assert_eq!(srv.hits(), 2);
        // Unknown.
        let (svc, _) = f.service(Revocation::none().with_ocsp(OcspPolicy::default()), false, false);
        srv.set(f.ocsp(&h, Status::Unknown));
        assert_eq!(login(&svc, &h), Err("OCSP_CERT_UNKNOWN".into()));
    }

    #[test]
    fn unreachable_refuses_by_default_and_uses_crls_only_when_told() {
        let f = Fixture::new();
        let h = f.reg.holder_with_urls(1, None, Some(&dead_url())).unwrap();
        let (svc, _) = f.service(Revocation::none().with_ocsp(OcspPolicy::default()), true, false);
        assert_eq!(login(&svc, &h), Err("OCSP_RESPONDER_UNREACHABLE".into()));
        let lenient = OcspPolicy {
            when_unreachable: WhenUnreachable::UseCrls,
            timeout: Duration::from_secs(2),
            ..OcspPolicy::default()
        };
        let (svc, sink) = f.service(Revocation::none().with_ocsp(lenient.clone()), true, true);
        assert_eq!(login(&svc, &h), Ok("crl"));
        assert!(sink.contents().contains("revocation_source_skipped"));
        // No CRL to fall back on and revocation required: still refused.
        let (svc, _) = f.service(Revocation::none().with_ocsp(lenient.clone()), false, true);
        assert_eq!(login(&svc, &h), Err("REVOCATION_UNKNOWN".into()));
        // tryLater counts as unreachable.
        let srv = Server::start();
        srv.set(error_response(3));
        let h2 = f.reg.holder_with_urls(1, None, Some(&srv.url("/"))).unwrap();
        let (svc, _) = f.service(Revocation::none().with_ocsp(OcspPolicy::default()), true, false);
        assert_eq!(login(&svc, &h2), Err("OCSP_RESPONDER_UNREACHABLE".into()));
        let (svc, _) = f.service(Revocation::none().with_ocsp(lenient.clone()), true, false);
        assert_eq!(login(&svc, &h2), Ok("crl"));
        // An answer that arrives but does not verify is never "unreachable", whatever the policy.
        let ca = &f.reg.cas[h2.issuer];
        let other = PrivateKey::generate(KeyKind::P384, &mut rng_for("t", "k"));
        let forged = response(
            &h2.cert,
            &ca.cert,
            &Spec::good(f.at()),
            hoviat_testkit::ocsp::Signer {
                cert: &ca.cert,
                name: &ca.name,
                key: &other,
            },
            &[],
            &mut rng_for("t", "f"),
        );
        srv.set(forged);
        let code = login(&svc, &h2).unwrap_err();
        assert!(code.starts_with("OCSP_"), "{code}");
        assert_ne!(code, "OCSP_RESPONDER_UNREACHABLE");
        // A nonce the responder does not echo.
        srv.set(f.ocsp(&h2, Status::Good));
        let with_nonce = OcspPolicy { nonce: true, ..lenient };
        let (svc, _) = f.service(Revocation::none().with_ocsp(with_nonce), true, false);
        assert_eq!(login(&svc, &h2), Err("OCSP_NONCE_MISMATCH".into()));
    }

    #[test]
    fn configured_responder_overrides_aia() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f.reg.holder_with_urls(1, None, Some(&dead_url())).unwrap();
        srv.set(f.ocsp(&h, Status::Good));
        let p = OcspPolicy {
            responder: Some(srv.url("/")),
            ..OcspPolicy::default()
        };
        let (svc, _) = f.service(Revocation::none().with_ocsp(p), false, true);
        assert_eq!(login(&svc, &h), Ok("ocsp"));
        // The plain registry holder has no AIA at all: the configured responder still answers.
        let plain = f.reg.holders[1].clone();
        srv.set(f.ocsp(&plain, Status::Good));
        let p = OcspPolicy {
            responder: Some(srv.url("/")),
            ..OcspPolicy::default()
        };
        let (svc, _) = f.service(Revocation::none().with_ocsp(p), false, true);
        assert_eq!(login(&svc, &plain), Ok("ocsp"));
        let (svc, _) = f.service(Revocation::none().with_ocsp(OcspPolicy::default()), false, true);
        assert_eq!(login(&svc, &plain), Err("OCSP_RESPONDER_UNREACHABLE".into()));
    }

    #[test]
    fn crls_from_distribution_points_cached_and_fail_closed() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f.reg.holder_with_urls(1, Some(&srv.url("/ca.crl")), None).unwrap();
        let ca = &f.reg.cas[h.issuer];
        let (t0, t1) = (UnixTime(f.at().0 - 3600), UnixTime(f.at().0 + 86_400));
        srv.set(ca.crl(&[], t0, t1, None, &mut rng_for("t", "crl")));
        // The trust store's own CRL of that CA is replaced by the fetched one.
        let (svc, _) = f.service(Revocation::none().with_crl_fetch(CrlFetchPolicy::default()), true, true);
        assert_eq!(login(&svc, &h), Ok("crl"));
        assert_eq!(login(&svc, &h), Ok("crl"));
        let s = svc.revocation().stats();
        assert_eq!((s.crl_fetches, s.crl_cache_hits, srv.hits()), (1, 1, 1), "{s:?}");
        // The next issue lists the holder: fetched after nextUpdate, and the login refused.
        f.now.fetch_add(2 * 86_400, Ordering::SeqCst);
        let (t0, t1) = (UnixTime(f.at().0 - 60), UnixTime(f.at().0 + 86_400));
        srv.set(ca.crl(std::slice::from_ref(&h.serial), t0, t1, None, &mut rng_for("t", "crl2")));
        assert_eq!(login(&svc, &h), Err("CERT_REVOKED".into()));
        // A CRL signed by someone else fails the login (never "not checked").
        let other = PrivateKey::generate(KeyKind::P384, &mut rng_for("t", "k2"));
        srv.set(ca.crl(&[], t0, t1, Some(&other), &mut rng_for("t", "crl3")));
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            false,
            false,
        );
        assert_eq!(login(&svc, &h), Err("CRL_SIGNATURE_INVALID".into()));
        // Garbage from the distribution point.
        srv.set(b"<html>not a CRL</html>".to_vec());
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            false,
            false,
        );
        assert_eq!(login(&svc, &h), Err("CRL_MALFORMED".into()));
        // Unreachable: refused, or decided by the configured CRLs when told so.
        let dead = f.reg.holder_with_urls(1, Some(&dead_url()), None).unwrap();
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            true,
            false,
        );
        assert_eq!(login(&svc, &dead), Err("CRL_UNREACHABLE".into()));
        let lenient = CrlFetchPolicy {
            when_unreachable: WhenUnreachable::UseCrls,
            ..CrlFetchPolicy::default()
        };
        let (svc, _) = f.service(Revocation::none().with_crl_fetch(lenient), true, true);
        assert_eq!(login(&svc, &dead), Ok("crl"));
    }

    #[test]
    fn urls_of_a_certificate_no_configured_ca_signed_are_never_fetched() {
        let f = Fixture::new();
        let srv = Server::start();
        srv.set(b"x".to_vec());
        // Same subject, issuer name and key identifiers as a real holder, signed by another key.
        let real = f
            .reg
            .holder_with_urls(1, Some(&srv.url("/crl")), Some(&srv.url("/ocsp")))
            .unwrap();
        let mut fake_ca = f.reg.cas[real.issuer].clone();
        fake_ca.key = PrivateKey::generate(KeyKind::P384, &mut rng_for("t", "fake"));
        let mut fake_reg = f.reg.clone();
        fake_reg.cas[real.issuer] = fake_ca;
        let forged = fake_reg
            .holder_with_urls(1, Some(&srv.url("/crl")), Some(&srv.url("/ocsp")))
            .unwrap();
        let rev = Revocation::none()
            .with_ocsp(OcspPolicy::default())
            .with_crl_fetch(CrlFetchPolicy::default());
        let (svc, _) = f.service(rev, true, false);
        let code = login(&svc, &forged).unwrap_err();
        assert!(code.starts_with("CERT_") || code == "CHAIN_UNTRUSTED", "{code}");
        assert_eq!(
            srv.hits(),
            0,
            "the server followed a URL from an unverified certificate"
        );
        assert_eq!(svc.revocation().stats(), RevocationStats::default());
    }

    #[test]
    fn crl_urls_only_http() {
        let f = Fixture::new();
        let h = f
            .reg
            .holder_with_urls(1, Some("http://crl.example.ir/a.crl"), None)
            .unwrap();
        assert_eq!(
            crl_urls(&Cert::from_der(&h.cert).unwrap()),
            vec!["http://crl.example.ir/a.crl"]
        );
        let h = f.reg.holder_with_urls(1, Some("ldap://x/cn=crl"), None).unwrap();
        assert!(crl_urls(&Cert::from_der(&h.cert).unwrap()).is_empty());
    }

    /// Issue 15: a CRL of another CA (valid signature, far nextUpdate) at the holder's
    /// distribution point refuses the login and is not cached; the real list is seen next time.
    #[test]
    fn another_cas_crl_at_the_distribution_point_is_refused_and_not_cached() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f.reg.holder_with_urls(1, Some(&srv.url("/ca.crl")), None).unwrap();
        let other_ca = &f.reg.cas[0];
        assert_ne!(h.issuer, 0);
        let (t0, far) = (UnixTime(f.at().0 - 60), UnixTime(f.at().0 + 365 * 86_400));
        srv.set(other_ca.crl(&[], t0, far, None, &mut rng_for("t", "other")));
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            false,
            false,
        );
        assert_eq!(login(&svc, &h), Err("CRL_ISSUER_MISMATCH".into()));
        // The real list (which revokes the holder) is back: fetched again and obeyed.
        let ca = &f.reg.cas[h.issuer];
        srv.set(ca.crl(
            std::slice::from_ref(&h.serial),
            t0,
            far,
            None,
            &mut rng_for("t", "real"),
        ));
        assert_eq!(login(&svc, &h), Err("CERT_REVOKED".into()));
        let s = svc.revocation().stats();
        assert_eq!((s.crl_fetches, s.crl_cache_hits, srv.hits()), (2, 0, 2), "{s:?}");
    }

    /// Issue 15: a forged CRL (bad signature, far nextUpdate) refuses the login and is not
    /// cached, so the real list is seen on the next login (it does not lock the CA's holders out).
    #[test]
    fn a_forged_crl_is_refused_and_not_cached() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f.reg.holder_with_urls(1, Some(&srv.url("/ca.crl")), None).unwrap();
        let ca = &f.reg.cas[h.issuer];
        let (t0, far) = (UnixTime(f.at().0 - 60), UnixTime(f.at().0 + 365 * 86_400));
        let forger = PrivateKey::generate(KeyKind::P384, &mut rng_for("t", "forger"));
        srv.set(ca.crl(&[], t0, far, Some(&forger), &mut rng_for("t", "forged")));
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            false,
            false,
        );
        assert_eq!(login(&svc, &h), Err("CRL_SIGNATURE_INVALID".into()));
        srv.set(ca.crl(&[], t0, far, None, &mut rng_for("t", "real")));
        assert_eq!(login(&svc, &h), Ok("crl"));
        assert_eq!(srv.hits(), 2);
        // A stale list is refused the same way (and not cached).
        let stale = ca.crl(
            &[],
            UnixTime(t0.0 - 9 * 86_400),
            UnixTime(t0.0 - 86_400),
            None,
            &mut rng_for("t", "s"),
        );
        srv.set(stale);
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            false,
            false,
        );
        assert_eq!(login(&svc, &h), Err("CRL_EXPIRED".into()));
        assert_eq!(login(&svc, &h), Err("CRL_EXPIRED".into()));
        assert_eq!(svc.revocation().stats().crl_cache_hits, 0);
    }

    /// A verified CRL is cached at most `max_cache_secs`, even with a far nextUpdate.
    #[test]
    fn crl_cache_lifetime_is_capped() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f.reg.holder_with_urls(1, Some(&srv.url("/ca.crl")), None).unwrap();
        let ca = &f.reg.cas[h.issuer];
        let (t0, far) = (UnixTime(f.at().0 - 60), UnixTime(f.at().0 + 365 * 86_400));
        srv.set(ca.crl(&[], t0, far, None, &mut rng_for("t", "a")));
        let p = CrlFetchPolicy {
            max_cache_secs: 600,
            ..CrlFetchPolicy::default()
        };
        let (svc, _) = f.service(Revocation::none().with_crl_fetch(p), false, false);
        assert_eq!(login(&svc, &h), Ok("crl"));
        assert_eq!(login(&svc, &h), Ok("crl"));
        assert_eq!(srv.hits(), 1);
        // The CA revokes the holder early; after the cap the new list is fetched.
        srv.set(ca.crl(std::slice::from_ref(&h.serial), t0, far, None, &mut rng_for("t", "b")));
        f.now.fetch_add(601, Ordering::SeqCst);
        assert_eq!(login(&svc, &h), Err("CERT_REVOKED".into()));
        assert_eq!(srv.hits(), 2);
    }

    /// Issue 15: the token's signature is verified before anything is fetched: a token whose
    /// signature does not verify never makes the server ask a CRL distribution point or an
    /// OCSP responder.
    #[test]
    fn no_fetch_before_the_token_signature_verifies() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f
            .reg
            .holder_with_urls(1, Some(&srv.url("/crl")), Some(&srv.url("/ocsp")))
            .unwrap();
        let rev = Revocation::none()
            .with_ocsp(OcspPolicy::default())
            .with_crl_fetch(CrlFetchPolicy::default());
        let (svc, _) = f.service(rev, true, false);
        let c = svc.issue().unwrap();
        // Signed for another challenge: the certificate is genuine, the signature is not for this one.
        let other = hoviat::token::nonce::nonce_from_bytes(&[7; 32]);
        let tok = h.make_token(h.token_alg(), ORIGIN, &other);
        let e = svc.verify_login(&tok, &c.nonce).unwrap_err();
        assert_eq!(e.code(), "TOKEN_SIGNATURE_INVALID");
        assert_eq!(
            srv.hits(),
            0,
            "fetched revocation data for a token that does not verify"
        );
    }

    /// Issue 15: an OCSP responder that sends a byte every 0.5 s is cut at the deadline.
    #[test]
    fn a_trickling_ocsp_responder_is_cut_at_the_deadline() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            while let Ok((mut s, _)) = l.accept() {
                std::thread::spawn(move || {
                    let mut b = [0u8; 4096];
                    let _ = s.read(&mut b);
                    // 14 bytes over 7 s, then the connection closes.
                    for byte in b"HTTP/1.0 200 O" {
                        if s.write_all(&[*byte]).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(500));
                    }
                });
            }
        });
        let f = Fixture::new();
        let h = f
            .reg
            .holder_with_urls(1, None, Some(&format!("http://127.0.0.1:{port}/ocsp")))
            .unwrap();
        let p = OcspPolicy {
            timeout: Duration::from_secs(1),
            ..OcspPolicy::default()
        };
        let (svc, _) = f.service(Revocation::none().with_ocsp(p), false, false);
        let t = std::time::Instant::now();
        assert_eq!(login(&svc, &h), Err("OCSP_RESPONDER_UNREACHABLE".into()));
        let took = t.elapsed();
        assert!(
            took < Duration::from_millis(1800),
            "OCSP fetch with a 1 s deadline took {took:?}"
        );
    }

    /// Issue 15: revocation fetching is on and the fetched list covers nothing (here a delta
    /// CRL of the right CA, which never vouches on its own): refused, not "not checked".
    #[test]
    fn fetched_data_that_covers_nothing_refuses() {
        let f = Fixture::new();
        let srv = Server::start();
        let h = f.reg.holder_with_urls(1, Some(&srv.url("/delta.crl")), None).unwrap();
        let ca = &f.reg.cas[h.issuer];
        let (t0, far) = (UnixTime(f.at().0 - 60), UnixTime(f.at().0 + 86_400));
        let spec = hoviat_testkit::CrlSpec {
            delta_base: Some(1),
            ..hoviat_testkit::CrlSpec::new(t0, Some(far))
        };
        srv.set(ca.crl_spec(&spec, None, &mut rng_for("t", "delta")));
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            false,
            false,
        );
        assert_eq!(login(&svc, &h), Err("REVOCATION_UNKNOWN".into()));
        // A complete list of the CA at the same point covers the holder.
        srv.set(ca.crl(&[], t0, far, None, &mut rng_for("t", "full")));
        let (svc, _) = f.service(
            Revocation::none().with_crl_fetch(CrlFetchPolicy::default()),
            false,
            false,
        );
        assert_eq!(login(&svc, &h), Ok("crl"));
    }
}
