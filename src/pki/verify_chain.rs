//! The `verify-chain` code path as a library function: certificates and CRLs as bytes (PEM or
//! DER) in, a validated path or a coded error out. The CLI's `hoviat verify-chain` and the
//! x509-limbo conformance test both call [`verify_chain`], so what the suite measures is what
//! the command does.

use std::sync::Arc;

use super::alg::SignatureBackend;
use super::cert::{Cert, MAX_CERT_LEN, eku, pem_or_der};
use super::path::{EkuRequirement, KeyUsageRequirement, PathOptions, TrustStore, ValidatedPath};
use super::{AlgorithmPolicy, PkiError};
use crate::time::UnixTime;

/// Everything one `verify-chain` run takes.
#[derive(Clone, Debug)]
pub struct ChainRequest<'a> {
    /// Trust anchors, each PEM (one or more blocks) or DER.
    pub anchors: Vec<&'a [u8]>,
    /// Untrusted intermediates, each PEM or DER.
    pub intermediates: Vec<&'a [u8]>,
    /// CRLs, each PEM or DER.
    pub crls: Vec<&'a [u8]>,
    /// The end-entity certificate, PEM or DER.
    pub leaf: &'a [u8],
    /// The validation options.
    pub options: PathOptions,
}

impl PathOptions {
    /// The options `hoviat verify-chain` uses: the given EKU, no keyUsage requirement, the
    /// default algorithm policy, revocation not required, up to 8 intermediates, and the strict
    /// RFC 5280 profile (see [`PathOptions::strict_rfc5280`]).
    pub fn verify_chain(at: UnixTime, eku: EkuRequirement) -> Self {
        Self {
            at,
            eku,
            key_usage: KeyUsageRequirement::Any,
            policy: AlgorithmPolicy::default(),
            require_revocation: false,
            max_intermediates: 8,
            strict_rfc5280: true,
            ocsp: None,
            policies: super::path::PolicyRule::default(),
        }
    }
}

/// Parses the leaf (exactly one certificate).
pub fn parse_leaf(leaf: &[u8]) -> Result<Arc<Cert>, PkiError> {
    let items = pem_or_der(leaf, &["CERTIFICATE"], 1, MAX_CERT_LEN).map_err(PkiError::CertMalformed)?;
    let first = items
        .first()
        .ok_or_else(|| PkiError::CertMalformed("no certificate".into()))?;
    Cert::from_der(first).map(Arc::new)
}

/// Builds the trust store of a request.
pub fn trust_store(req: &ChainRequest<'_>) -> Result<TrustStore, PkiError> {
    let mut t = TrustStore::new();
    for a in &req.anchors {
        t.add_anchors(a)?;
    }
    for i in &req.intermediates {
        t.add_intermediates(i)?;
    }
    for c in &req.crls {
        t.add_crls(c)?;
    }
    Ok(t)
}

/// Validates the request's leaf to one of its anchors: the whole of `hoviat verify-chain`.
pub fn verify_chain(req: &ChainRequest<'_>, backend: &dyn SignatureBackend) -> Result<ValidatedPath, PkiError> {
    let trust = trust_store(req)?;
    let leaf = parse_leaf(req.leaf)?;
    trust.validate(&leaf, &req.options, backend)
}

/// The EKU a purpose name stands for (`clientAuth`, `serverAuth`, `any`, or a dotted OID).
pub fn eku_requirement(name: &str) -> Option<EkuRequirement> {
    Some(match name {
        "any" => EkuRequirement::Any,
        "clientAuth" => EkuRequirement::Purpose(eku::CLIENT_AUTH),
        "serverAuth" => EkuRequirement::Purpose(eku::SERVER_AUTH),
        "codeSigning" => EkuRequirement::Purpose(const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3")),
        "emailProtection" => EkuRequirement::Purpose(const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4")),
        "timeStamping" => EkuRequirement::Purpose(const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8")),
        "OCSPSigning" => EkuRequirement::Purpose(eku::OCSP_SIGNING),
        o => EkuRequirement::Purpose(o.parse().ok()?),
    })
}
