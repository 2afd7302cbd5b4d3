//! CMS (RFC 5652) SignedData verification: the PKCS#7 signatures Iranian portals collect
//! through the vendor middleware (esign.md), checked against the relying party's trust anchors
//! with the same path validation, revocation and algorithm policy as tokens.
//!
//! What is verified, per signer (all signers must pass; each is reported):
//! - the signer's certificate is found among the embedded and supplied certificates by
//!   issuerAndSerialNumber or subjectKeyIdentifier (several candidates: the one whose key
//!   verifies the signature);
//! - with signed attributes, the signature covers the exact received bytes of
//!   `[0] IMPLICIT SignedAttributes` with the tag octet replaced by SET OF (`0x31`), never a
//!   re-encoding; `messageDigest` equals the content's digest under the signer's digest
//!   algorithm; `contentType` is present and equals eContentType; signingTime (the signer's
//!   unauthenticated claim) and ESS signing-certificate(-v2) are reported, and the latter must
//!   name the signer's certificate;
//! - without signed attributes, the signature covers the content itself (id-data only);
//! - RSA PKCS#1 v1.5 (`rsaEncryption` or `shaNNNWithRSAEncryption`), RSA-PSS and ECDSA; the
//!   signature checks are [`SignatureCheck`](crate::pki::alg::SignatureCheck)s built by the path
//!   validator's own `signature_check` and discharged by the caller's
//!   [`SignatureBackend`] (so WebCrypto's `pki::platform::PlatformVerification` works unchanged);
//! - the relying party's [`AlgorithmPolicy`](crate::pki::AlgorithmPolicy): SHA-1 is refused
//!   with `ALGORITHM_DISALLOWED` unless allowed, and the result says when it was accepted;
//! - the certificate path to the configured anchors with CRLs/OCSP (embedded CRLs are added
//!   for this message), at the given time, or on request as of the claimed signing time
//!   (labelled as the signer's claim; the verdict at the given time is reported beside it).
//!
//! Why not RustCrypto's `cms` crate: its `SignerInfo::signed_attrs` is a decoded
//! `SetOfVec<Attribute>`, so the bytes the signature covers could only be obtained by
//! re-encoding them (wrong whenever the signer's encoding is not the canonical one, and
//! `SetOfVec` refuses sets not in DER order on decode, so such a signature would not even
//! parse), and it would bring `x509-cert` and a second certificate model into the pure core.
//! Reading in place with `der`'s `SliceReader`, as the certificate reader does, keeps each
//! element's raw TLV ([`der::Reader::tlv_bytes`]) and costs ~500 lines with every limit
//! explicit ([`MAX_CMS_LEN`], [`MAX_SIGNERS`], [`MAX_CERTS`], [`MAX_ATTRIBUTES`]). `der`
//! reads DER only; a message that is not DER is converted by [`ber::to_der`] (indefinite
//! lengths, chunked OCTET STRINGs, as streaming signers write; depth-limited recursion) and
//! read again; the DER reading itself does not recurse on input nesting.
//!
//! [`pdf`]: PDF signatures (`/ByteRange` + detached CMS) verified the same way.

pub mod ber;
mod error;
mod parse;
pub mod pdf;

use std::sync::Arc;

use serde::Serialize;

pub use error::CmsError;
pub use parse::{
    EssCertId, MAX_ATTRIBUTES, MAX_CERTS, MAX_CMS_LEN, MAX_CRLS, MAX_SIGNERS, SignedAttributes, SignedData, SignerId,
    SignerInfo, hash_of, oid,
};

use crate::identity::{CertificateSummary, Holder};
use crate::pki::alg::{HashAlg, SigAlg, SignatureBackend, oid as alg_oid};
use crate::pki::cert::ku;
use crate::pki::path::{EkuRequirement, KeyUsageRequirement, PathOptions, RevocationStatus, TrustStore, ValidatedPath};
use crate::pki::{AlgorithmPolicy, Cert, PkiError};
use crate::time::UnixTime;

/// Clock skew tolerated between a claimed signingTime and the validation time.
pub const SIGNING_TIME_SKEW_SECS: i64 = 300;

/// Options of one CMS verification.
#[derive(Clone, Debug)]
pub struct CmsOptions {
    /// Path validation options (time, algorithm policy, revocation, OCSP). The EKU and keyUsage
    /// requirements apply to every signer certificate; independently of them, a keyUsage
    /// extension must allow digitalSignature or nonRepudiation.
    pub path: PathOptions,
    /// Validate each signer's path as of its claimed signingTime instead of `path.at` (the
    /// result labels it as the signer's unauthenticated claim and reports the verdict at
    /// `path.at` beside it). A signer without signingTime then fails with
    /// `CMS_SIGNING_TIME_MISSING`.
    pub at_signing_time: bool,
}

impl CmsOptions {
    /// Defaults for document signatures at `at`: any EKU, keyUsage checked as above, the
    /// default algorithm policy (no SHA-1), revocation not required, up to 6 intermediates,
    /// the lenient profile of token verification (see [`PathOptions::strict_rfc5280`]).
    pub fn new(at: UnixTime) -> Self {
        let mut path = PathOptions::client_auth(at);
        path.eku = EkuRequirement::Any;
        path.key_usage = KeyUsageRequirement::Any;
        Self {
            path,
            at_signing_time: false,
        }
    }

    /// With the algorithm policy replaced.
    pub fn with_policy(mut self, policy: AlgorithmPolicy) -> Self {
        self.path.policy = policy;
        self
    }
}

/// One verification's inputs.
#[derive(Clone, Debug, Default)]
pub struct CmsRequest<'a> {
    /// The CMS ContentInfo: DER, PEM (`PKCS7`, `CMS`, `PKCS #7 SIGNED DATA`) or base64 text
    /// (what Dastine returns).
    pub signature: &'a [u8],
    /// The content, for a detached signature (may also be given for an attached one: then it
    /// must equal the attached content).
    pub content: Option<&'a [u8]>,
    /// Certificates to look for signers and intermediates in, besides the embedded ones.
    pub certificates: Vec<Arc<Cert>>,
}

/// The signer's signingTime: a claim, not a timestamp.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningTimeClaim {
    /// The claimed time, RFC 3339.
    pub time: String,
    /// Always false: nothing but the signer vouches for this time.
    pub authenticated: bool,
    /// Whether the claim lies within the signer certificate's validity period.
    pub within_certificate_validity: bool,
}

/// The ESS signing-certificate attribute, as checked.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EssReport {
    /// 1 (signingCertificate, SHA-1 hash) or 2 (signingCertificateV2).
    pub version: u8,
    /// The hash algorithm of the certificate hash.
    pub hash: &'static str,
    /// Whether it names the signer's certificate (always true in a verified result).
    pub matches: bool,
}

/// The path verdict at one time.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathVerdict {
    /// The time, RFC 3339.
    pub at: String,
    /// Whether the path validated at that time.
    pub valid: bool,
    /// The error code when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The error message when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One verified signer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedSigner {
    /// Index in the message's signerInfos.
    pub index: usize,
    /// How the signer named its certificate.
    pub signer_id: String,
    /// The signer's certificate.
    pub certificate: CertificateSummary,
    /// The holder named by it.
    pub holder: Holder,
    /// Subjects of the validated path, signer first, anchor last.
    pub chain: Vec<String>,
    /// The signer certificate's revocation status.
    pub revocation: RevocationStatus,
    /// `SHA-256`, ...
    pub digest_algorithm: &'static str,
    /// E.g. `ECDSA with SHA-256`.
    pub signature_algorithm: String,
    /// Whether the signature covers signed attributes (else the content directly).
    pub signed_attributes: bool,
    /// The claimed signingTime, if any.
    pub signing_time: Option<SigningTimeClaim>,
    /// The ESS signing-certificate(-v2) attribute, if any.
    pub signing_certificate: Option<EssReport>,
    /// The time the path was validated at, RFC 3339.
    pub validation_time: String,
    /// `given` (the caller's time) or `claimed-signing-time` (the signer's unauthenticated claim).
    pub validation_time_source: &'static str,
    /// When validated as of the claimed signing time: the verdict at the caller's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_given_time: Option<PathVerdict>,
    /// SHA-1 was accepted under the relying party's legacy opt-in (signature or path).
    pub legacy_sha1: bool,
}

/// A verified CMS SignedData.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedCms {
    /// `data` or the dotted eContentType.
    pub content_type: String,
    /// Whether the content was inside the message.
    pub content_attached: bool,
    /// Content length in bytes.
    pub content_length: usize,
    /// Every signer, in order; all verified.
    pub signers: Vec<VerifiedSigner>,
    /// Some signer relied on SHA-1, accepted only because the relying party allowed it.
    pub legacy_sha1: bool,
    /// A sentence saying what was proven.
    pub statement: String,
}

/// Decodes the signature input: DER as is; PEM (`PKCS7`, `CMS`, `PKCS #7 SIGNED DATA`);
/// otherwise base64 text (whitespace ignored), as Dastine returns it.
pub fn decode_input(input: &[u8]) -> Result<Vec<u8>, CmsError> {
    use base64::Engine;
    let limit_b64 = MAX_CMS_LEN / 3 * 4 + 4096;
    if input.first() == Some(&0x30) {
        if input.len() > MAX_CMS_LEN {
            return Err(CmsError::TooLarge {
                what: "CMS message (bytes)",
                limit: MAX_CMS_LEN,
            });
        }
        return Ok(input.to_vec());
    }
    if input.len() > limit_b64 {
        return Err(CmsError::TooLarge {
            what: "CMS message (bytes)",
            limit: MAX_CMS_LEN,
        });
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| CmsError::Malformed("neither DER (starts with 0x30), PEM nor base64".into()))?;
    if text.contains("-----BEGIN ") {
        let items = crate::pki::cert::pem_or_der(input, &["PKCS7", "CMS", "PKCS #7 SIGNED DATA"], 1, MAX_CMS_LEN)
            .map_err(CmsError::Malformed)?;
        return items
            .into_iter()
            .next()
            .ok_or_else(|| CmsError::Malformed("no PEM block".into()));
    }
    let compact: Vec<u8> = input.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let engine = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE;
    let padless = base64::engine::general_purpose::STANDARD_NO_PAD;
    engine
        .decode(&compact)
        .or_else(|_| url.decode(&compact))
        .or_else(|_| padless.decode(&compact))
        .map_err(|e| CmsError::Malformed(format!("neither DER, PEM nor base64 ({e})")))
}

/// The signature algorithm of a SignerInfo: its signatureAlgorithm, with `rsaEncryption` and
/// `id-ecPublicKey` (which name only the key type) completed by the digest algorithm. A
/// signature algorithm naming another hash than digestAlgorithm is refused.
fn signer_alg(si: &SignerInfo, hash: HashAlg) -> Result<SigAlg, PkiError> {
    let (o, params) = &si.sig_alg;
    let params = match params {
        Some(p) => Some(
            <der::asn1::AnyRef<'_> as der::Decode>::from_der(p)
                .map_err(|e| PkiError::AlgorithmUnsupported(format!("signature algorithm parameters: {e}")))?,
        ),
        None => None,
    };
    use der::Tagged;
    let null_or_absent = params.is_none_or(|p| p.tag() == der::Tag::Null && p.value().is_empty());
    let alg = match *o {
        alg_oid::RSA_ENCRYPTION if null_or_absent => SigAlg::RsaPkcs1(hash),
        alg_oid::EC_PUBLIC_KEY => SigAlg::Ecdsa(hash),
        _ => SigAlg::from_algorithm_identifier(o, params)?,
    };
    if alg.hash() != hash {
        return Err(PkiError::AlgorithmUnsupported(format!(
            "{} with digest algorithm {}",
            alg.describe(),
            hash.name()
        )));
    }
    Ok(alg)
}

fn verdict(at: UnixTime, r: &Result<ValidatedPath, PkiError>) -> PathVerdict {
    use crate::error::Coded;
    PathVerdict {
        at: at.to_string(),
        valid: r.is_ok(),
        code: r.as_ref().err().map(|e| e.code()),
        message: r.as_ref().err().map(ToString::to_string),
    }
}

/// Verifies a CMS SignedData: every signer's signature, attributes and certificate path.
pub fn verify(
    req: &CmsRequest<'_>,
    trust: &TrustStore,
    opts: &CmsOptions,
    backend: &dyn SignatureBackend,
) -> Result<VerifiedCms, CmsError> {
    let der_bytes = decode_input(req.signature)?;
    let sd = match SignedData::from_der(&der_bytes) {
        Ok(sd) => sd,
        // Not DER: perhaps BER from a streaming signer; read its DER form if it has one.
        Err(e @ CmsError::Malformed(_)) => match ber::to_der(&der_bytes) {
            Ok(d) if d != der_bytes => SignedData::from_der(&d).map_err(|_| e)?,
            _ => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let content: &[u8] = match (&sd.content, req.content) {
        (Some(a), Some(s)) if a.as_slice() != s => return Err(CmsError::ContentConflict),
        (Some(a), _) => a,
        (None, Some(s)) => s,
        (None, None) => return Err(CmsError::ContentMissing),
    };
    if sd.signers.is_empty() {
        return Err(CmsError::NoSigners);
    }
    let pool: Vec<Arc<Cert>> = sd.certificates.iter().chain(&req.certificates).cloned().collect();
    let owned_trust;
    let trust = if sd.crls.is_empty() {
        trust
    } else {
        let mut t = trust.clone();
        for c in &sd.crls {
            t.add_crl(c.clone());
        }
        owned_trust = t;
        &owned_trust
    };
    let mut signers = Vec::with_capacity(sd.signers.len());
    for (i, si) in sd.signers.iter().enumerate() {
        signers.push(verify_signer(i, si, &sd, content, &pool, trust, opts, backend)?);
    }
    let legacy_sha1 = signers.iter().any(|s| s.legacy_sha1);
    let names: Vec<String> = signers
        .iter()
        .map(|s| format!("\"{}\"", s.chain.first().cloned().unwrap_or_default()))
        .collect();
    let statement = format!(
        "{} signer(s) ({}) signed these {} bytes; each certificate chains to a configured anchor{}{}.",
        signers.len(),
        names.join(", "),
        content.len(),
        if signers.iter().all(|s| s.revocation != RevocationStatus::NotChecked) {
            ", revocation checked"
        } else {
            "; revocation NOT checked for some signer (no CRL or OCSP configured)"
        },
        if legacy_sha1 {
            "; SHA-1 was accepted only because the relying party allowed it for legacy documents"
        } else {
            ""
        }
    );
    Ok(VerifiedCms {
        content_type: if sd.content_type == oid::DATA {
            "data".into()
        } else {
            sd.content_type.to_string()
        },
        content_attached: sd.content.is_some(),
        content_length: content.len(),
        signers,
        legacy_sha1,
        statement,
    })
}

/// What [`verify_with_key`] found about the one signer of a message checked with a known key.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeySignature {
    /// The signer identifier, readable.
    pub signer_id: String,
    /// Digest algorithm name.
    pub digest_algorithm: &'static str,
    /// Signature algorithm, readable.
    pub signature_algorithm: String,
    /// Whether the signature covers signed attributes.
    pub signed_attributes: bool,
    /// The signer's claimed signingTime (unauthenticated), RFC 3339.
    pub signing_time: Option<String>,
}

/// Verifies a SignedData with exactly one signer against a known public key instead of a
/// certificate path: the digest and signed attributes as [`verify`] checks them, then the
/// signature with `key`. When `cert` is given it must be the signer (its key is `key`, the
/// signer identifier names it, ESS signing-certificate attributes name it). For a signature
/// whose certificate was validated earlier and is not at hand (a record keeps the card's CMS
/// without the certificate, whose names are selectively disclosed).
pub fn verify_with_key(
    cms_der: &[u8],
    content: &[u8],
    key: &Arc<crate::pki::alg::KeyInfo>,
    cert: Option<&Cert>,
    policy: &AlgorithmPolicy,
    backend: &dyn SignatureBackend,
) -> Result<KeySignature, CmsError> {
    let sd = SignedData::from_der(cms_der)?;
    let [si] = sd.signers.as_slice() else {
        return Err(if sd.signers.is_empty() {
            CmsError::NoSigners
        } else {
            CmsError::Malformed(format!("one signer expected, {} found", sd.signers.len()))
        });
    };
    if let Some(a) = &sd.content
        && a.as_slice() != content
    {
        return Err(CmsError::ContentConflict);
    }
    let SignedMessage {
        hash,
        alg,
        attrs,
        message,
    } = signed_message(0, si, &sd, content, policy)?;
    if let Some(c) = cert {
        if c.key.as_ref().ok().map(|k| &k.spki) != Some(&key.spki) || !si.sid.matches(c) {
            return Err(CmsError::SignerNotFound {
                signer: 0,
                sid: si.sid.describe(),
            });
        }
        check_ess(0, attrs, c)?;
    }
    let pki = |error: PkiError| CmsError::Pki { signer: Some(0), error };
    let check =
        match crate::pki::path::signature_check_with_key(&Ok(alg), message, &si.signature, key.clone(), policy, || {
            "the signer".into()
        }) {
            Ok(c) => c,
            Err(PkiError::SignatureInvalid { .. }) => return Err(CmsError::SignatureInvalid { signer: 0 }),
            Err(e) => return Err(pki(e)),
        };
    if !backend.verify(&check) {
        return Err(CmsError::SignatureInvalid { signer: 0 });
    }
    Ok(KeySignature {
        signer_id: si.sid.describe(),
        digest_algorithm: hash.name(),
        signature_algorithm: alg.describe(),
        signed_attributes: attrs.is_some(),
        signing_time: attrs.and_then(|a| a.signing_time).map(|t| t.to_string()),
    })
}

/// The same SignedData without its certificates and CRLs and with the content detached: what
/// is signed (the SignerInfos) byte for byte as received, the rest re-wrapped. Input: DER, PEM
/// or base64 text, or BER that has a DER form.
pub fn without_certificates(input: &[u8]) -> Result<Vec<u8>, CmsError> {
    let bytes = decode_input(input)?;
    match parse::bare(&bytes) {
        Err(e @ CmsError::Malformed(_)) => match ber::to_der(&bytes) {
            Ok(d) if d != bytes => parse::bare(&d).map_err(|_| e),
            _ => Err(e),
        },
        r => r,
    }
}

/// What one signer's signature covers, after the checks that need no certificate: the digest
/// algorithm under the policy (SHA-1 only when allowed), the signature algorithm, and with
/// signed attributes their contentType and messageDigest against the content.
struct SignedMessage<'a> {
    hash: HashAlg,
    alg: SigAlg,
    attrs: Option<&'a SignedAttributes>,
    message: &'a [u8],
}

fn signed_message<'a>(
    i: usize,
    si: &'a SignerInfo,
    sd: &SignedData,
    content: &'a [u8],
    policy: &AlgorithmPolicy,
) -> Result<SignedMessage<'a>, CmsError> {
    let pki = |error: PkiError| CmsError::Pki { signer: Some(i), error };
    let hash = hash_of(&si.digest_alg).ok_or_else(|| {
        pki(PkiError::AlgorithmUnsupported(format!(
            "digest algorithm {}",
            si.digest_alg
        )))
    })?;
    if hash == HashAlg::Sha1 && !policy.allow_sha1 {
        return Err(pki(PkiError::AlgorithmDisallowed(
            "SHA-1 digest (allow it only for legacy documents)".into(),
        )));
    }
    let alg = signer_alg(si, hash).map_err(pki)?;
    let attrs = match &si.signed_attrs {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(detail)) => {
            return Err(CmsError::AttributeInvalid {
                signer: i,
                detail: detail.clone(),
            });
        }
    };
    let message: &[u8] = match attrs {
        Some(a) => {
            let ct = a.content_type.as_ref().ok_or_else(|| CmsError::ContentTypeMismatch {
                signer: i,
                detail: "the contentType signed attribute is missing".into(),
            })?;
            if *ct != sd.content_type {
                return Err(CmsError::ContentTypeMismatch {
                    signer: i,
                    detail: format!("signed contentType {ct} but eContentType {}", sd.content_type),
                });
            }
            let md = a.message_digest.as_ref().ok_or_else(|| CmsError::AttributeInvalid {
                signer: i,
                detail: "the messageDigest attribute is missing".into(),
            })?;
            if *md != hash.digest(content) {
                return Err(CmsError::DigestMismatch { signer: i });
            }
            &a.signed_bytes
        }
        None => {
            if sd.content_type != oid::DATA {
                return Err(CmsError::ContentTypeMismatch {
                    signer: i,
                    detail: "signed attributes are required when the content is not id-data (RFC 5652 §5.3)".into(),
                });
            }
            content
        }
    };
    Ok(SignedMessage {
        hash,
        alg,
        attrs,
        message,
    })
}

/// ESS signing-certificate(-v2), when present, must name `cert`.
fn check_ess(i: usize, attrs: Option<&SignedAttributes>, cert: &Cert) -> Result<Option<EssReport>, CmsError> {
    let mut ess = None;
    if let Some(a) = attrs {
        for (version, id) in [(2u8, &a.signing_certificate_v2), (1, &a.signing_certificate)] {
            if let Some(id) = id {
                if id.hash.digest(cert.der()) != id.cert_hash {
                    return Err(CmsError::SigningCertificateMismatch { signer: i });
                }
                ess.get_or_insert(EssReport {
                    version,
                    hash: id.hash.name(),
                    matches: true,
                });
            }
        }
    }
    Ok(ess)
}

#[allow(clippy::too_many_arguments)]
fn verify_signer(
    i: usize,
    si: &SignerInfo,
    sd: &SignedData,
    content: &[u8],
    pool: &[Arc<Cert>],
    trust: &TrustStore,
    opts: &CmsOptions,
    backend: &dyn SignatureBackend,
) -> Result<VerifiedSigner, CmsError> {
    let pki = |error: PkiError| CmsError::Pki { signer: Some(i), error };
    let policy = &opts.path.policy;
    let SignedMessage {
        hash,
        alg,
        attrs,
        message,
    } = signed_message(i, si, sd, content, policy)?;
    let candidates: Vec<&Arc<Cert>> = pool.iter().filter(|c| si.sid.matches(c)).take(8).collect();
    if candidates.is_empty() {
        return Err(CmsError::SignerNotFound {
            signer: i,
            sid: si.sid.describe(),
        });
    }
    let mut signer_cert = None;
    for c in candidates {
        let subject = || c.subject.to_string();
        match crate::pki::path::signature_check(&Ok(alg), message, &si.signature, c, policy, subject) {
            Ok(check) => {
                if backend.verify(&check) {
                    signer_cert = Some(c.clone());
                    break;
                }
            }
            Err(PkiError::SignatureInvalid { .. }) => {}
            Err(e) => return Err(pki(e)),
        }
    }
    let cert = signer_cert.ok_or(CmsError::SignatureInvalid { signer: i })?;
    if cert
        .key_usage
        .is_some_and(|k| k & (ku::DIGITAL_SIGNATURE | ku::NON_REPUDIATION) == 0)
    {
        return Err(pki(PkiError::LeafKeyUsage));
    }
    let ess = check_ess(i, attrs, &cert)?;
    let claim = attrs.and_then(|a| a.signing_time);
    if let Some(t) = claim
        && !opts.at_signing_time
        && t.0 > opts.path.at.0.saturating_add(SIGNING_TIME_SKEW_SECS)
    {
        return Err(CmsError::AttributeInvalid {
            signer: i,
            detail: format!(
                "signingTime {t} is after the validation time {} (the signer's clock or claim is wrong)",
                opts.path.at
            ),
        });
    }
    let extra: Vec<Arc<Cert>> = pool.iter().filter(|c| !Arc::ptr_eq(c, &cert)).cloned().collect();
    let (path, at, source, at_given) = if opts.at_signing_time {
        let t = claim.ok_or(CmsError::SigningTimeMissing { signer: i })?;
        let mut o = opts.path.clone();
        o.at = t;
        let path = match trust.validate_with(&cert, &extra, &o, backend) {
            // CRLs issued after the claim cannot be judged at it: the path is validated at the
            // claim without them (revocation "not-checked" there), and revocation is decided
            // at the given time below.
            Err(PkiError::CrlNotYetValid { .. } | PkiError::CrlExpired { .. }) if !o.require_revocation => trust
                .without_crls()
                .validate_with(&cert, &extra, &o, backend)
                .map_err(pki)?,
            r => r.map_err(pki)?,
        };
        let given = trust.validate_with(&cert, &extra, &opts.path, backend);
        // signingTime is unauthenticated: whoever holds a revoked key can backdate it, so a
        // revocation known at the given time refuses the signature whatever the claim.
        if let Err(e @ PkiError::Revoked { .. }) = &given {
            return Err(pki(e.clone()));
        }
        (path, t, "claimed-signing-time", Some(verdict(opts.path.at, &given)))
    } else {
        let path = trust.validate_with(&cert, &extra, &opts.path, backend).map_err(pki)?;
        (path, opts.path.at, "given", None)
    };
    let chain_sha1 = path.chain[..path.chain.len().saturating_sub(1)]
        .iter()
        .any(|c| c.sig_alg.as_ref().is_ok_and(|a| a.hash() == HashAlg::Sha1));
    Ok(VerifiedSigner {
        index: i,
        signer_id: si.sid.describe(),
        certificate: CertificateSummary::from_cert(&cert),
        holder: Holder::from_cert(&cert),
        chain: path.chain.iter().map(|c| c.subject.to_string()).collect(),
        revocation: path.revocation.clone(),
        digest_algorithm: hash.name(),
        signature_algorithm: alg.describe(),
        signed_attributes: attrs.is_some(),
        signing_time: claim.map(|t| SigningTimeClaim {
            time: t.to_string(),
            authenticated: false,
            within_certificate_validity: cert.not_before <= t && t <= cert.not_after,
        }),
        signing_certificate: ess,
        validation_time: at.to_string(),
        validation_time_source: source,
        at_given_time: at_given,
        legacy_sha1: hash == HashAlg::Sha1 || chain_sha1,
    })
}
