//! Certification path building and validation (RFC 5280 §6) to configured trust anchors,
//! through configured intermediates, at a validation time the caller gives; then revocation
//! by CRL. Pure: no clock, no I/O; signatures are discharged by a [`SignatureBackend`].

use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;

use super::PkiError;
use super::alg::{AlgorithmPolicy, PublicKey, SigAlg, SignatureBackend, SignatureCheck, ecdsa_der_to_raw};
use super::cert::{Cert, eku, ku, pem_or_der};
use super::crl::{Crl, Scope};
use crate::time::UnixTime;

/// Most certificates of each kind a trust store accepts (a bound on hostile configuration).
pub const MAX_STORE_ITEMS: usize = 4096;

/// Trust anchors, intermediates and CRLs a relying party configures.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    anchors: Vec<Arc<Cert>>,
    /// Anchors by [`super::name::DistinguishedName::match_key`] of their subject: a path
    /// step looks up the anchors that may have issued a certificate instead of comparing its
    /// issuer with every anchor (a relying party may configure hundreds).
    anchors_by_name: std::collections::HashMap<String, Vec<usize>>,
    intermediates: Vec<Arc<Cert>>,
    crls: Vec<Arc<Crl>>,
}

/// What the end-entity certificate's extendedKeyUsage must allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EkuRequirement {
    /// No requirement.
    Any,
    /// When the extension is present it must list this purpose (anyExtendedKeyUsage does not
    /// count, as in the Web eID validators).
    Purpose(Oid),
    /// The extension must be present and list this purpose (anyExtendedKeyUsage does not
    /// count): a certificate without extendedKeyUsage is refused (`CERT_EKU_MISMATCH`). What
    /// login uses ([`PathOptions::client_auth`]), as the Web eID validators do.
    Required(Oid),
}

/// Which certificate policies (certificatePolicies OIDs) the end entity may carry: an optional
/// allow list (the certificate must carry at least one of them) and a deny list (it must carry
/// none of them). Empty lists check nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyRule {
    /// When not empty, at least one of these must be among the certificate's policies.
    pub allow: Vec<Oid>,
    /// None of these may be among the certificate's policies.
    pub deny: Vec<Oid>,
}

/// What the end-entity certificate's keyUsage must allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsageRequirement {
    /// No requirement.
    Any,
    /// keyUsage, when present, includes digitalSignature.
    DigitalSignatureIfPresent,
    /// keyUsage is present and includes digitalSignature (token verification).
    DigitalSignature,
}

/// Options of one validation.
#[derive(Clone, Debug)]
pub struct PathOptions {
    /// The validation time.
    pub at: UnixTime,
    /// Extended key usage the end entity needs.
    pub eku: EkuRequirement,
    /// Key usage the end entity needs.
    pub key_usage: KeyUsageRequirement,
    /// Algorithms accepted.
    pub policy: AlgorithmPolicy,
    /// Fail with `REVOCATION_UNKNOWN` when no CRL covers the end entity.
    pub require_revocation: bool,
    /// Most intermediates in a path (not counting the end entity and the anchor).
    pub max_intermediates: usize,
    /// Apply the RFC 5280 profile rules that only the issuer's conformance decides, not the
    /// path's meaning: key identifier presence (§4.2.1.1, §4.2.1.2), non-critical AKI/SKI/AIA,
    /// a non-empty issuer, keyCertSign only with cA. `hoviat verify-chain` (and so the x509-limbo
    /// suite) turns it on. Token verification leaves it off: those rules say nothing about who
    /// holds the key, real national-card chains are not all known to follow them (holder
    /// certificates without AKI, old roots without SKI), and refusing a real card for an
    /// issuer's encoding slip would lock citizens out without stopping any attack; every check
    /// that protects the relying party (signatures, CA-ness, keyCertSign, path length, name
    /// constraints, validity, revocation, critical extensions) applies either way.
    pub strict_rfc5280: bool,
    /// OCSP responses for the end entity (with the nonce sent), checked after the CRLs.
    pub ocsp: Option<super::ocsp::OcspConfig>,
    /// The end entity's certificate policies allowed and denied (`CERT_POLICY_REFUSED`).
    pub policies: PolicyRule,
}

impl PathOptions {
    /// Options for a holder's authentication certificate at `at` (login): extendedKeyUsage
    /// present with clientAuth, keyUsage present with digitalSignature (so a signing
    /// certificate, nonRepudiation only, is refused), default algorithm policy, no policy
    /// list. A relying party that must accept cards whose authentication certificate has no
    /// extendedKeyUsage at all sets `eku` to [`EkuRequirement::Purpose`] (checked when present).
    pub fn client_auth(at: UnixTime) -> Self {
        Self {
            at,
            eku: EkuRequirement::Required(eku::CLIENT_AUTH),
            key_usage: KeyUsageRequirement::DigitalSignature,
            policy: AlgorithmPolicy::default(),
            require_revocation: false,
            max_intermediates: 6,
            strict_rfc5280: false,
            ocsp: None,
            policies: PolicyRule::default(),
        }
    }
}

/// Revocation status of the end-entity certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationStatus {
    /// A current, verified complete CRL of the issuer covers it and does not list it (nor
    /// does a delta CRL of the issuer; a hold the newest delta extending it released counts
    /// as not listed).
    GoodByCrl {
        /// The CRL's thisUpdate; when a delta CRL extends it, the delta's.
        this_update: UnixTime,
        /// Its nextUpdate; when a delta CRL extends it, the earlier of the two.
        next_update: Option<UnixTime>,
    },
    /// A verified, current OCSP response of its CA (or the CA's delegated responder) says good.
    GoodByOcsp {
        /// The response's thisUpdate.
        this_update: UnixTime,
        /// Its nextUpdate.
        next_update: Option<UnixTime>,
    },
    /// No configured revocation source covers it: not checked (say so to the user).
    NotChecked,
}

/// As the CLI and the npm package report it: `{"status": "good", "source": "crl" | "ocsp",
/// "thisUpdate", "nextUpdate"}` (RFC 3339, nextUpdate null when absent) or
/// `{"status": "not-checked"}`.
impl serde::Serialize for RevocationStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (source, this_update, next_update) = match self {
            RevocationStatus::NotChecked => {
                let mut st = s.serialize_struct("RevocationStatus", 1)?;
                st.serialize_field("status", "not-checked")?;
                return st.end();
            }
            RevocationStatus::GoodByCrl {
                this_update,
                next_update,
            } => ("crl", this_update, next_update),
            RevocationStatus::GoodByOcsp {
                this_update,
                next_update,
            } => ("ocsp", this_update, next_update),
        };
        let mut st = s.serialize_struct("RevocationStatus", 4)?;
        st.serialize_field("status", "good")?;
        st.serialize_field("source", source)?;
        st.serialize_field("thisUpdate", &this_update.to_string())?;
        st.serialize_field("nextUpdate", &next_update.map(|t| t.to_string()))?;
        st.end()
    }
}

/// A validated path, end entity first, trust anchor last.
#[derive(Clone, Debug)]
pub struct ValidatedPath {
    /// The certificates, end entity first, anchor last.
    pub chain: Vec<Arc<Cert>>,
    /// The end entity's revocation status.
    pub revocation: RevocationStatus,
}

/// A cap on path building work, against hostile certificate pools.
const MAX_CANDIDATES: usize = 128;

fn load_certs(bytes: &[u8]) -> Result<Vec<Arc<Cert>>, PkiError> {
    let items = pem_or_der(
        bytes,
        &["CERTIFICATE", "TRUSTED CERTIFICATE"],
        1024,
        super::cert::MAX_CERT_LEN,
    )
    .map_err(PkiError::CertMalformed)?;
    items.iter().map(|d| Cert::from_der(d).map(Arc::new)).collect()
}

impl TrustStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn push<T>(v: &mut Vec<T>, items: Vec<T>) -> Result<usize, PkiError> {
        if v.len() + items.len() > MAX_STORE_ITEMS {
            return Err(PkiError::InputTooLarge {
                what: "trust store",
                limit: MAX_STORE_ITEMS,
            });
        }
        let n = items.len();
        v.extend(items);
        Ok(n)
    }

    /// Adds trust anchors from PEM (one or more certificates) or DER. Returns how many.
    pub fn add_anchors(&mut self, bytes: &[u8]) -> Result<usize, PkiError> {
        let certs = load_certs(bytes)?;
        let from = self.anchors.len();
        let n = Self::push(&mut self.anchors, certs)?;
        self.index_anchors(from);
        Ok(n)
    }

    fn index_anchors(&mut self, from: usize) {
        for (i, a) in self.anchors.iter().enumerate().skip(from) {
            self.anchors_by_name.entry(a.subject.match_key()).or_default().push(i);
        }
    }

    /// Adds intermediates from PEM or DER. Returns how many.
    pub fn add_intermediates(&mut self, bytes: &[u8]) -> Result<usize, PkiError> {
        let certs = load_certs(bytes)?;
        Self::push(&mut self.intermediates, certs)
    }

    /// Adds CRLs from PEM (`X509 CRL`) or DER. Returns how many.
    pub fn add_crls(&mut self, bytes: &[u8]) -> Result<usize, PkiError> {
        let items = pem_or_der(bytes, &["X509 CRL"], 64, super::crl::MAX_CRL_LEN).map_err(PkiError::CrlMalformed)?;
        let crls = items
            .into_iter()
            .map(|d| Crl::from_vec(d).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Self::push(&mut self.crls, crls)
    }

    /// Adds a parsed anchor.
    pub fn add_anchor_cert(&mut self, c: Arc<Cert>) {
        self.anchors.push(c);
        self.index_anchors(self.anchors.len() - 1);
    }

    /// Adds a parsed intermediate.
    pub fn add_intermediate_cert(&mut self, c: Arc<Cert>) {
        self.intermediates.push(c);
    }

    /// Adds a parsed CRL.
    pub fn add_crl(&mut self, c: Arc<Crl>) {
        self.crls.push(c);
    }

    /// Whether a configured CA certificate named `name` has subjectKeyIdentifier `aki`.
    fn has_other_key(&self, name: &super::name::DistinguishedName, aki: Option<&[u8]>) -> bool {
        aki.is_some()
            && self
                .anchors
                .iter()
                .chain(&self.intermediates)
                .any(|c| c.subject.matches(name) && c.ski.as_deref() == aki)
    }

    /// A copy of this store without its CRLs (for validating as of a past time that the
    /// configured CRLs, all issued later, cannot speak for).
    pub fn without_crls(&self) -> TrustStore {
        TrustStore {
            crls: Vec::new(),
            ..self.clone()
        }
    }

    /// The configured anchors.
    pub fn anchors(&self) -> &[Arc<Cert>] {
        &self.anchors
    }

    /// The configured intermediates.
    pub fn intermediates(&self) -> &[Arc<Cert>] {
        &self.intermediates
    }

    /// A copy of this store for one validation with `fresh` CRLs added, each replacing the
    /// configured CRLs of the same issuer, scope, distribution point and kind (earlier issues
    /// of the same list, which would otherwise fail as expired).
    pub fn with_fresh_crls(&self, fresh: &[Arc<Crl>]) -> TrustStore {
        // A delta CRL is not a later issue of the complete CRL of its scope (nor the reverse):
        // a fetched delta that replaced the configured complete CRL would drop every revocation
        // the complete CRL lists and leave nothing to vouch for anyone.
        let same = |a: &Crl, b: &Crl| {
            a.issuer.matches(&b.issuer)
                && a.scope == b.scope
                && a.dp_names == b.dp_names
                && a.is_delta() == b.is_delta()
        };
        let mut t = self.clone();
        t.crls.retain(|old| !fresh.iter().any(|f| same(old, f)));
        t.crls.extend(fresh.iter().cloned());
        t
    }

    /// Anchors and intermediates that may have issued `cert` (name, and key identifiers when
    /// both are present): where a relying party looks for the issuer an OCSP request names.
    /// Nothing is validated here.
    pub fn issuers_of(&self, cert: &Cert) -> Vec<Arc<Cert>> {
        self.anchors
            .iter()
            .chain(&self.intermediates)
            .filter(|c| may_issue(cert, c))
            .cloned()
            .collect()
    }

    /// Validates `leaf` and returns the first path that passes every check, or the most useful
    /// failure: the end entity's own problem first, then the first complete path's problem,
    /// then "untrusted".
    pub fn validate(
        &self,
        leaf: &Arc<Cert>,
        opts: &PathOptions,
        backend: &dyn SignatureBackend,
    ) -> Result<ValidatedPath, PkiError> {
        self.validate_with(leaf, &[], opts, backend)
    }

    /// Validates a CA certificate (an intermediate, or a root against itself) as the end of a
    /// path: the same path building and checks as [`TrustStore::validate`], except that the
    /// certificate must be a CA with keyCertSign (when keyUsage is present) instead of an end
    /// entity, and the options' EKU and keyUsage requirements (which describe end entities) do
    /// not apply. For checking configured CA certificates (e.g. that an issuing CA really chains
    /// to the national root, or that a root's self-signature verifies under the policy).
    pub fn validate_ca(
        &self,
        ca: &Arc<Cert>,
        opts: &PathOptions,
        backend: &dyn SignatureBackend,
    ) -> Result<ValidatedPath, PkiError> {
        check_validity(ca, opts.at)?;
        let subject = || ca.subject.to_string();
        if !ca.is_ca() {
            return Err(PkiError::IssuerNotCa { subject: subject() });
        }
        if ca.key_usage.is_some_and(|k| k & ku::KEY_CERT_SIGN == 0) {
            return Err(PkiError::IssuerKeyUsage { subject: subject() });
        }
        check_critical(ca)?;
        if opts.strict_rfc5280 {
            check_profile(ca, Role::Intermediate)?;
        }
        if let Err(e) = &ca.key {
            return Err(e.clone());
        }
        self.search(ca, &[], opts, backend)
    }

    /// Like [`TrustStore::validate`], with extra untrusted intermediates for this validation
    /// only (e.g. carried by a `web-eid:1.1` token).
    pub fn validate_with(
        &self,
        leaf: &Arc<Cert>,
        extra_intermediates: &[Arc<Cert>],
        opts: &PathOptions,
        backend: &dyn SignatureBackend,
    ) -> Result<ValidatedPath, PkiError> {
        check_leaf(leaf, opts)?;
        self.search(leaf, extra_intermediates, opts, backend)
    }

    fn search(
        &self,
        leaf: &Arc<Cert>,
        extra_intermediates: &[Arc<Cert>],
        opts: &PathOptions,
        backend: &dyn SignatureBackend,
    ) -> Result<ValidatedPath, PkiError> {
        let mut search = Search {
            store: self,
            opts,
            backend,
            budget: MAX_CANDIDATES,
            first_err: None,
            extra: extra_intermediates,
            sig_budget: MAX_SIGNATURES,
        };
        let mut path = vec![leaf.clone()];
        if let Some(v) = search.build(&mut path)? {
            return Ok(v);
        }
        Err(search.first_err.unwrap_or_else(|| PkiError::Untrusted {
            subject: leaf.subject.to_string(),
            issuer: leaf.issuer.to_string(),
        }))
    }
}

fn check_validity(c: &Cert, at: UnixTime) -> Result<(), PkiError> {
    if at < c.not_before {
        return Err(PkiError::CertNotYetValid {
            subject: c.subject.to_string(),
            not_before: c.not_before.to_string(),
        });
    }
    if at > c.not_after {
        return Err(PkiError::CertExpired {
            subject: c.subject.to_string(),
            not_after: c.not_after.to_string(),
        });
    }
    Ok(())
}

fn check_critical(c: &Cert) -> Result<(), PkiError> {
    match c.unknown_critical.first() {
        Some(o) => Err(PkiError::UnknownCriticalExtension {
            subject: c.subject.to_string(),
            oid: o.to_string(),
        }),
        None => Ok(()),
    }
}

/// The end entity's own checks (token.md step 3).
pub fn check_leaf(leaf: &Cert, opts: &PathOptions) -> Result<(), PkiError> {
    check_validity(leaf, opts.at)?;
    // Leniency: a holder certificate without basicConstraints (Belgian cards) is not a CA;
    // absence means cA = FALSE (RFC 5280 §4.2.1.9), so nothing is relaxed.
    if leaf.is_ca() {
        return Err(PkiError::LeafIsCa);
    }
    let ds = leaf.key_usage.map(|k| k & ku::DIGITAL_SIGNATURE != 0);
    match (opts.key_usage, ds) {
        (KeyUsageRequirement::DigitalSignature, Some(true)) => {}
        (KeyUsageRequirement::DigitalSignature, _) => return Err(PkiError::LeafKeyUsage),
        (KeyUsageRequirement::DigitalSignatureIfPresent, Some(false)) => return Err(PkiError::LeafKeyUsage),
        _ => {}
    }
    match (&opts.eku, &leaf.eku) {
        (EkuRequirement::Purpose(p) | EkuRequirement::Required(p), Some(list)) if !list.contains(p) => {
            return Err(PkiError::EkuMismatch { required: eku_name(p) });
        }
        (EkuRequirement::Required(p), None) => {
            return Err(PkiError::EkuMismatch {
                required: detail!("{} (the certificate has no extendedKeyUsage)", eku_name(p)),
            });
        }
        _ => {}
    }
    check_policies(leaf, &opts.policies)?;
    check_critical(leaf)?;
    if opts.strict_rfc5280 {
        check_profile(leaf, Role::Leaf)?;
    }
    if let Err(e) = &leaf.key {
        return Err(e.clone());
    }
    Ok(())
}

/// The end entity's certificatePolicies against the relying party's allow and deny lists.
fn check_policies(leaf: &Cert, rule: &PolicyRule) -> Result<(), PkiError> {
    let has = |o: &Oid| leaf.policies.iter().any(|p| p == o);
    let refuse = |detail: String| PkiError::CertPolicyRefused {
        subject: leaf.subject.to_string(),
        detail,
    };
    if (!rule.allow.is_empty() || !rule.deny.is_empty()) && leaf.policies_malformed {
        return Err(refuse(detail!("its certificatePolicies does not parse")));
    }
    if let Some(d) = rule.deny.iter().find(|o| has(o)) {
        return Err(refuse(detail!("it carries the denied policy {d}")));
    }
    if !rule.allow.is_empty() && !rule.allow.iter().any(has) {
        return Err(refuse(if leaf.policies.is_empty() {
            "it carries no certificate policy, and an allowed one is required".into()
        } else {
            "none of its policies is allowed".into()
        }));
    }
    Ok(())
}

/// Where a certificate sits in a path, for the profile rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Leaf,
    Intermediate,
    Anchor,
}

/// The RFC 5280 §4 profile rules that [`PathOptions::strict_rfc5280`] adds. None of them changes
/// what a path means; they hold issuers to the encoding rules of the profile.
fn check_profile(c: &Cert, role: Role) -> Result<(), PkiError> {
    use super::cert::ext_oid;
    let fail = |rule: &'static str| {
        Err(PkiError::ProfileViolation {
            subject: c.subject.to_string(),
            rule,
        })
    };
    let critical = |o| c.extensions.iter().any(|(x, crit)| *x == o && *crit);
    let present = |o| c.extensions.iter().any(|(x, _)| *x == o);
    // §4.1.2.4: the issuer field MUST contain a non-empty distinguished name.
    if c.issuer.is_empty() {
        return fail("empty issuer name (RFC 5280 4.1.2.4)");
    }
    // §4.2.1.1, §4.2.1.2, §4.2.2.1: these extensions MUST be non-critical.
    if critical(ext_oid::AKI) {
        return fail("critical authorityKeyIdentifier (RFC 5280 4.2.1.1)");
    }
    if critical(ext_oid::SKI) {
        return fail("critical subjectKeyIdentifier (RFC 5280 4.2.1.2)");
    }
    if critical(ext_oid::AIA) {
        return fail("critical authorityInfoAccess (RFC 5280 4.2.2.1)");
    }
    // §4.2.1.3: keyCertSign only with basicConstraints cA = TRUE.
    if c.key_usage.is_some_and(|k| k & ku::KEY_CERT_SIGN != 0) && !c.is_ca() {
        return fail("keyCertSign without basicConstraints cA (RFC 5280 4.2.1.3)");
    }
    // §4.2.1.1: keyIdentifier MUST be in every certificate but a self-signed one.
    if role != Role::Anchor && !c.is_self_issued() && c.aki.is_none() {
        return fail("no authorityKeyIdentifier keyIdentifier (RFC 5280 4.2.1.1)");
    }
    match role {
        Role::Leaf => {
            // §4.1.2.6: an empty subject needs a critical subjectAltName.
            if c.subject.is_empty() && !critical(ext_oid::SAN) {
                return fail("empty subject without a critical subjectAltName (RFC 5280 4.1.2.6)");
            }
            // §4.2.1.10: nameConstraints MUST be used only in a CA certificate.
            if present(ext_oid::NAME_CONSTRAINTS) {
                return fail("nameConstraints in an end-entity certificate (RFC 5280 4.2.1.10)");
            }
        }
        Role::Intermediate | Role::Anchor => {
            // §4.1.2.6: a CA's subject MUST be a non-empty distinguished name.
            if c.subject.is_empty() {
                return fail("CA with an empty subject (RFC 5280 4.1.2.6)");
            }
            // §4.2.1.2: subjectKeyIdentifier MUST appear in all CA certificates.
            if c.ski.is_none() {
                return fail("CA without subjectKeyIdentifier (RFC 5280 4.2.1.2)");
            }
            // §4.2.1.9: basicConstraints MUST be present and critical in a CA certificate.
            if !critical(ext_oid::BASIC_CONSTRAINTS) {
                return fail("CA without a critical basicConstraints (RFC 5280 4.2.1.9)");
            }
        }
    }
    Ok(())
}

/// Name constraints of every CA in the path (anchor included) against the names of every
/// certificate below it; self-issued intermediates are exempt (RFC 5280 §6.1.3 (b)).
fn check_name_constraints(path: &[Arc<Cert>]) -> Result<(), PkiError> {
    let mut names: Vec<Option<Vec<super::name_constraints::GeneralName>>> = vec![None; path.len()];
    for (j, ca) in path.iter().enumerate().skip(1) {
        let Some(nc) = &ca.name_constraints else { continue };
        for (k, cert) in path.iter().enumerate().take(j) {
            if k > 0 && cert.is_self_issued() {
                continue;
            }
            if names[k].is_none() {
                names[k] = Some(super::name_constraints::names_of(&cert.subject, cert.san.as_deref())?);
            }
            let list = names[k].as_deref().unwrap_or_default();
            nc.check(list).map_err(|why| PkiError::NameConstraintViolation {
                subject: detail!("{} ({why}; constraint of \"{}\")", cert.subject, ca.subject),
            })?;
        }
    }
    Ok(())
}

/// A readable name for an EKU purpose.
pub fn eku_name(p: &Oid) -> String {
    match *p {
        eku::CLIENT_AUTH => "clientAuth".into(),
        eku::SERVER_AUTH => "serverAuth".into(),
        eku::OCSP_SIGNING => "OCSPSigning".into(),
        _ => p.to_string(),
    }
}

struct Search<'a> {
    store: &'a TrustStore,
    opts: &'a PathOptions,
    backend: &'a dyn SignatureBackend,
    budget: usize,
    first_err: Option<PkiError>,
    extra: &'a [Arc<Cert>],
    sig_budget: usize,
}

/// Most signatures verified in one validation (a hostile pool of same-named CAs cannot make a
/// validation cost more than this many verifications).
const MAX_SIGNATURES: usize = 48;

fn is_revocation_error(e: &PkiError) -> bool {
    matches!(
        e,
        PkiError::Revoked { .. }
            | PkiError::CrlSignatureInvalid { .. }
            | PkiError::CrlExpired { .. }
            | PkiError::CrlNotYetValid { .. }
            | PkiError::CrlIssuerNotAuthorized { .. }
            | PkiError::CrlUnsupported(_)
            | PkiError::CrlMalformed(_)
            | PkiError::OcspMalformed(_)
            | PkiError::OcspNotSuccessful(_)
            | PkiError::OcspUnsupported(_)
            | PkiError::OcspSignatureInvalid { .. }
            | PkiError::OcspResponderNotAuthorized(_)
            | PkiError::OcspCertIdMismatch { .. }
            | PkiError::OcspNonceMismatch
            | PkiError::OcspNotYetValid { .. }
            | PkiError::OcspStale { .. }
            | PkiError::OcspCertUnknown { .. }
    )
}

fn may_issue(child: &Cert, cand: &Cert) -> bool {
    if !cand.subject.matches(&child.issuer) {
        return false;
    }
    // Key identifiers, when both present, must agree: they select among same-named CAs
    // (key rollover). Their absence is tolerated.
    !matches!((&child.aki, &cand.ski), (Some(a), Some(s)) if a != s)
}

impl Search<'_> {
    fn spend(&mut self) -> Result<(), PkiError> {
        if self.budget == 0 {
            return Err(PkiError::ChainTooComplex);
        }
        self.budget -= 1;
        Ok(())
    }

    fn note(&mut self, e: PkiError) {
        self.first_err.get_or_insert(e);
    }

    fn build(&mut self, path: &mut Vec<Arc<Cert>>) -> Result<Option<ValidatedPath>, PkiError> {
        let cur = path.last().cloned().ok_or(PkiError::ChainTooLong)?;
        // Same-named anchors in configuration order; may_issue still decides (the index only
        // narrows the candidates).
        let anchors: Vec<_> = self
            .store
            .anchors_by_name
            .get(&cur.issuer.match_key())
            .into_iter()
            .flatten()
            .filter_map(|&i| self.store.anchors.get(i))
            .filter(|a| may_issue(&cur, a))
            .cloned()
            .collect();
        for a in anchors {
            self.spend()?;
            path.push(a);
            match check_path(path, self.store, self.opts, self.backend, &mut self.sig_budget) {
                Ok(v) => return Ok(Some(v)),
                // Revocation and CRL integrity failures end the validation: another path must
                // not be able to route around a revoked certificate or a bad CRL.
                Err(e) if is_revocation_error(&e) => return Err(e),
                Err(e @ PkiError::ChainTooComplex) => return Err(e),
                Err(e) => self.note(e),
            }
            path.pop();
        }
        let candidates: Vec<_> = self
            .store
            .intermediates
            .iter()
            .chain(self.extra)
            .filter(|c| may_issue(&cur, c) && !path.iter().any(|p| p.der() == c.der()))
            .cloned()
            .collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        if path.len() > self.opts.max_intermediates {
            self.note(PkiError::ChainTooLong);
            return Ok(None);
        }
        for c in candidates {
            self.spend()?;
            path.push(c);
            if let Some(v) = self.build(path)? {
                return Ok(Some(v));
            }
            path.pop();
        }
        Ok(None)
    }
}

/// Builds the signature check for `child` signed by `issuer`'s key.
pub fn signature_check(
    child_alg: &Result<SigAlg, PkiError>,
    tbs: &[u8],
    sig: &[u8],
    issuer: &Cert,
    policy: &AlgorithmPolicy,
    subject: impl Fn() -> String,
) -> Result<SignatureCheck, PkiError> {
    signature_check_with_key(child_alg, tbs, sig, issuer.key.clone()?, policy, subject)
}

/// Builds the signature check of `sig` over `tbs` with `key` (a key without its certificate,
/// e.g. the one a record keeps beside a card's CMS signature).
pub fn signature_check_with_key(
    child_alg: &Result<SigAlg, PkiError>,
    tbs: &[u8],
    sig: &[u8],
    key: Arc<super::alg::KeyInfo>,
    policy: &AlgorithmPolicy,
    subject: impl Fn() -> String,
) -> Result<SignatureCheck, PkiError> {
    let alg = child_alg.clone()?;
    // A signature algorithm that cannot belong to the issuer's key type is not that issuer's
    // signature (the algorithms themselves are supported).
    let fits = matches!(
        (&key.key, alg),
        (PublicKey::Ec { .. }, SigAlg::Ecdsa(_)) | (PublicKey::Rsa { .. }, SigAlg::RsaPkcs1(_) | SigAlg::RsaPss { .. })
    );
    if !fits {
        return Err(PkiError::SignatureInvalid { subject: subject() });
    }
    policy.check(alg, &key)?;
    let signature = match (&key.key, alg) {
        (PublicKey::Ec { curve, .. }, SigAlg::Ecdsa(_)) => {
            ecdsa_der_to_raw(sig, *curve).ok_or_else(|| PkiError::SignatureInvalid { subject: subject() })?
        }
        _ => sig.to_vec(),
    };
    Ok(SignatureCheck {
        alg,
        key,
        message: tbs.to_vec(),
        signature,
    })
}

/// Checks one complete candidate path `[leaf, intermediates..., anchor]`.
fn check_path(
    path: &[Arc<Cert>],
    store: &TrustStore,
    opts: &PathOptions,
    backend: &dyn SignatureBackend,
    sig_budget: &mut usize,
) -> Result<ValidatedPath, PkiError> {
    let last = path.len() - 1;
    // Structure of every issuer, from the one nearest the leaf up to the anchor.
    for (j, ca) in path.iter().enumerate().skip(1) {
        let is_anchor = j == last;
        check_validity(ca, opts.at)?;
        let subject = || ca.subject.to_string();
        match ca.basic_constraints {
            Some(bc) if !bc.ca => return Err(PkiError::IssuerNotCa { subject: subject() }),
            // An anchor without basicConstraints (a v1 root) is a CA because the relying party
            // configured it as one; an intermediate must say so itself.
            None if !is_anchor => return Err(PkiError::IssuerNotCa { subject: subject() }),
            _ => {}
        }
        if ca.key_usage.is_some_and(|k| k & ku::KEY_CERT_SIGN == 0) {
            return Err(PkiError::IssuerKeyUsage { subject: subject() });
        }
        if let Some(max) = ca.basic_constraints.and_then(|b| b.path_len) {
            // Non-self-issued intermediates below this CA (RFC 5280 §6.1.4 (l), (m)).
            let below = path[1..j].iter().filter(|c| !c.is_self_issued()).count();
            if below > usize::from(max) {
                return Err(PkiError::PathLenExceeded { subject: subject() });
            }
        }
        check_critical(ca)?;
        if opts.strict_rfc5280 {
            check_profile(ca, if is_anchor { Role::Anchor } else { Role::Intermediate })?;
        }
    }
    check_name_constraints(path)?;
    // Every signature in the path, discharged together, the anchor's link first: a forged
    // chain under a real anchor name fails at its first verification.
    if *sig_budget < last {
        return Err(PkiError::ChainTooComplex);
    }
    *sig_budget -= last;
    let mut checks = Vec::with_capacity(last);
    for j in (0..last).rev() {
        let (child, issuer) = (&path[j], &path[j + 1]);
        checks.push(signature_check(
            &child.sig_alg,
            child.tbs_bytes(),
            &child.signature,
            issuer,
            &opts.policy,
            || child.subject.to_string(),
        )?);
    }
    if let Err(i) = backend.verify_all(&checks) {
        return Err(PkiError::SignatureInvalid {
            subject: path[last - 1 - i].subject.to_string(),
        });
    }
    let revocation = check_revocation(path, store, opts, backend)?;
    Ok(ValidatedPath {
        chain: path.to_vec(),
        revocation,
    })
}

/// CRL checks for every non-anchor certificate of a verified path. A CRL naming the issuer
/// that does not verify, is stale, or comes from a CA without cRLSign is an error, never a
/// pass; a listed serial is `CERT_REVOKED`. Delta CRLs (RFC 5280 §5.2.4) are vetted by exactly
/// the same rules and combined with the complete CRLs they extend (see [`crl_status`]).
fn check_revocation(
    path: &[Arc<Cert>],
    store: &TrustStore,
    opts: &PathOptions,
    backend: &dyn SignatureBackend,
) -> Result<RevocationStatus, PkiError> {
    let last = path.len() - 1;
    let mut leaf_status = RevocationStatus::NotChecked;
    for j in 0..last {
        let (cert, issuer) = (&path[j], &path[j + 1]);
        // A CA at the end of the path (TrustStore::validate_ca) is in a CRL's CA scope too.
        let is_ca = j > 0 || cert.is_ca();
        let mut crls = Vec::new();
        for crl in store.crls.iter().filter(|c| c.issuer.matches(&cert.issuer)) {
            // A CRL naming this issuer must verify under its key. The one exception is key
            // rollover: the CRL's AKI names another configured CA certificate of the same name,
            // so it belongs to that key. An AKI that matches nothing configured is no reason to
            // skip: a tampered AKI must not turn a bad CRL into "not checked".
            let issuer_key_id = issuer.key.as_ref().ok().map(|k| k.key_id());
            let other_key = crl.aki.as_ref().is_some_and(|a| {
                issuer.ski.as_ref().is_none_or(|s| s != a) && issuer_key_id.as_ref().is_none_or(|k| k != a)
            });
            if other_key && store.has_other_key(&crl.issuer, crl.aki.as_deref()) {
                continue;
            }
            // Every CRL is vetted before any is read, complete or delta alike: a delta that
            // does not verify, is stale or not yet valid is the same error as such a complete
            // CRL (fatal for the validation, see `is_revocation_error`). Failing closed here is
            // what keeps an unverified delta's removeFromCRL from ever releasing a hold.
            vet_crl(crl, issuer, opts, backend)?;
            crls.push(crl.as_ref());
        }
        let status = crl_status(cert, is_ca, &crls)?;
        if j == 0
            && let Some(s) = status
        {
            leaf_status = s;
        }
    }
    if let Some(cfg) = &opts.ocsp {
        leaf_status = check_ocsp(path, cfg, opts, backend)?.unwrap_or(leaf_status);
    }
    if opts.require_revocation && leaf_status == RevocationStatus::NotChecked {
        return Err(PkiError::RevocationUnknown {
            subject: path[0].subject.to_string(),
        });
    }
    Ok(leaf_status)
}

/// The checks every CRL naming `issuer` must pass before it is read: `issuer` may sign CRLs,
/// the signature verifies under its key, and the CRL is current at the validation time.
pub fn vet_crl(crl: &Crl, issuer: &Cert, opts: &PathOptions, backend: &dyn SignatureBackend) -> Result<(), PkiError> {
    let issuer_name = || issuer.subject.to_string();
    if issuer.key_usage.is_some_and(|k| k & ku::CRL_SIGN == 0) {
        return Err(PkiError::CrlIssuerNotAuthorized { issuer: issuer_name() });
    }
    let check = signature_check(
        &crl.sig_alg,
        crl.tbs_bytes(),
        &crl.signature,
        issuer,
        &opts.policy,
        issuer_name,
    )
    .map_err(|e| match e {
        PkiError::SignatureInvalid { .. } => PkiError::CrlSignatureInvalid { issuer: issuer_name() },
        other => other,
    })?;
    if !backend.verify(&check) {
        return Err(PkiError::CrlSignatureInvalid { issuer: issuer_name() });
    }
    // §5.2.3: conforming CRL issuers MUST include cRLNumber. Only the strict profile enforces
    // it: a CRL without one still lists what its CA revoked, and ignoring it would check less,
    // not more. (A delta CRL without one is refused when parsed.)
    if opts.strict_rfc5280 && crl.number.is_none() {
        return Err(PkiError::CrlMalformed(detail!(
            "the CRL of \"{}\" has no cRLNumber (RFC 5280 5.2.3)",
            issuer_name()
        )));
    }
    if opts.at < crl.this_update {
        return Err(PkiError::CrlNotYetValid { issuer: issuer_name() });
    }
    if let Some(n) = crl.next_update.filter(|n| opts.at > *n) {
        return Err(PkiError::CrlExpired {
            issuer: issuer_name(),
            next_update: n.to_string(),
        });
    }
    Ok(())
}

/// The status of `cert` from its issuer's vetted CRLs (complete and delta): `CERT_REVOKED`,
/// good (`Some`, when a complete CRL whose scope covers it does not list it), or nothing to say
/// (`None`).
///
/// Delta CRLs (RFC 5280 §5.2.4, §6.3.3):
/// - A delta listing the serial for any reason but removeFromCRL revokes it, whether or not a
///   complete CRL it extends is configured: it is the issuer's verified, current statement that
///   the certificate is revoked or on hold, and it can only make the verdict stricter.
/// - A delta never makes a certificate good, and never makes revocation "checked", on its own:
///   it lists changes only, so a serial it omits says nothing. Only a complete CRL vouches.
/// - A complete CRL's listing is undone only when it is a hold (certificateHold) and the newest
///   delta that extends that CRL ([`Crl::extends`]: same issuer and scope, the complete CRL at
///   least the delta's BaseCRLNumber, the delta newer) lists the serial as removeFromCRL.
///   §5.3.1 makes every other revocation final, so a removal of one is not honoured (any
///   reason other than certificateHold, or none, stays revoked). A delta that extends no
///   configured complete CRL (its base newer than ours, or older than ours) undoes nothing.
/// - As for complete CRLs, a listing on any configured CRL of the issuer counts (serials are
///   unique per issuer), so an older CRL kept in the store that still lists a released hold
///   still revokes: fail-closed, the store should hold current CRLs only.
fn crl_status(cert: &Cert, is_ca: bool, crls: &[&Crl]) -> Result<Option<RevocationStatus>, PkiError> {
    use super::crl::{cmp_uint, reason};
    let revoked = |date: UnixTime| PkiError::Revoked {
        subject: cert.subject.to_string(),
        serial: cert.serial_hex(),
        date: date.to_string(),
    };
    let (deltas, completes): (Vec<&Crl>, Vec<&Crl>) = crls.iter().copied().partition(|c| c.is_delta());
    for d in &deltas {
        if let Some(r) = d.revocation(&cert.serial)
            && r.reason != Some(reason::REMOVE_FROM_CRL)
        {
            return Err(revoked(r.date));
        }
    }
    let mut status = None;
    for base in &completes {
        let extending: Vec<&Crl> = deltas.iter().copied().filter(|d| d.extends(base)).collect();
        // The newest deltas for this base (more than one with the same number would be the
        // issuer's error; then all of them must agree on a removal).
        let newest_no = extending
            .iter()
            .filter_map(|d| d.number.as_deref())
            .max_by(|a, b| cmp_uint(a, b));
        let newest: Vec<&Crl> = extending
            .iter()
            .copied()
            .filter(|d| {
                d.number
                    .as_deref()
                    .zip(newest_no)
                    .is_some_and(|(a, b)| cmp_uint(a, b).is_eq())
            })
            .collect();
        if let Some(r) = base.revocation(&cert.serial) {
            let released = r.reason == Some(reason::CERTIFICATE_HOLD)
                && !newest.is_empty()
                && newest.iter().all(|d| {
                    d.revocation(&cert.serial)
                        .is_some_and(|x| x.reason == Some(reason::REMOVE_FROM_CRL))
                });
            if !released {
                return Err(revoked(r.date));
            }
        }
        // A serial listed by this issuer's CRL is revoked whatever the CRL's scope (serials
        // are unique per issuer); only a CRL whose scope covers the certificate can say that it
        // is good.
        let in_scope = match base.scope {
            Scope::All => true,
            Scope::UserCerts => !is_ca,
            Scope::CaCerts => is_ca,
            Scope::AttributeCerts => false,
        };
        let covers_dp = base
            .dp_names
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| cert.crl_dp_names.contains(n)));
        if in_scope && covers_dp {
            // With a delta, the information is as fresh as the delta, and usable until the
            // first of the two CRLs goes stale.
            status = Some(match newest.first() {
                Some(d) => RevocationStatus::GoodByCrl {
                    this_update: d.this_update,
                    next_update: earliest(base.next_update, d.next_update),
                },
                None => RevocationStatus::GoodByCrl {
                    this_update: base.this_update,
                    next_update: base.next_update,
                },
            });
        }
    }
    Ok(status)
}

/// The earlier of two optional times (`None`: no bound).
fn earliest(a: Option<UnixTime>, b: Option<UnixTime>) -> Option<UnixTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The end entity's OCSP status from the configured responses: the response that names it
/// (by CertID under its issuer in this path) is verified; revoked is `CERT_REVOKED`, unknown is
/// `OCSP_CERT_UNKNOWN`, any failure of the response is its `OCSP_*` error. Responses were given
/// but none names this certificate: `OCSP_CERT_ID_MISMATCH` (never a silent "not checked").
/// `Ok(None)` only when no response was configured.
fn check_ocsp(
    path: &[Arc<Cert>],
    cfg: &super::ocsp::OcspConfig,
    opts: &PathOptions,
    backend: &dyn SignatureBackend,
) -> Result<Option<RevocationStatus>, PkiError> {
    use super::ocsp::{CertStatus, OcspCheck};
    let (Some(leaf), Some(issuer)) = (path.first(), path.get(1)) else {
        return Ok(None);
    };
    if cfg.responses.is_empty() {
        return Ok(None);
    }
    let chk = OcspCheck {
        cert: leaf,
        issuer,
        nonce: cfg.nonce.as_deref(),
        at: opts.at,
        options: &cfg.options,
        policy: &opts.policy,
        backend,
    };
    let mut first_err = None;
    for resp in &cfg.responses {
        if resp.find(leaf, issuer)?.is_none() {
            continue;
        }
        match super::ocsp::verify(resp, &chk) {
            Ok(v) => {
                return match v.status {
                    CertStatus::Good => Ok(Some(RevocationStatus::GoodByOcsp {
                        this_update: v.this_update,
                        next_update: v.next_update,
                    })),
                    CertStatus::Revoked { time, .. } => Err(PkiError::Revoked {
                        subject: leaf.subject.to_string(),
                        serial: leaf.serial_hex(),
                        date: time.to_string(),
                    }),
                    CertStatus::Unknown => Err(PkiError::OcspCertUnknown {
                        subject: leaf.subject.to_string(),
                    }),
                };
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| PkiError::OcspCertIdMismatch {
        subject: leaf.subject.to_string(),
    }))
}
