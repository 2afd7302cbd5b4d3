//! Certificate parsing: x509-cert for the structure, plus the checks no parser does
//! (token.md): the signature is verified over the raw TBS bytes, the two signature
//! AlgorithmIdentifiers must be identical, extensions may not repeat, the signature BIT STRING
//! may not have unused bits, unknown critical extensions are recorded for the validator.

use std::ops::Range;
use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Encode, Reader, SliceReader, Tagged, asn1::AnyRef};
use x509_cert::Certificate;

use super::PkiError;
use super::alg::{KeyInfo, SigAlg};
use super::name::DistinguishedName;
use crate::time::UnixTime;

/// Largest certificate accepted, in DER bytes. Real holder certificates are about 1.5 KB.
pub const MAX_CERT_LEN: usize = 32 * 1024;

/// Extension OIDs.
pub mod ext_oid {
    use const_oid::ObjectIdentifier as Oid;
    /// subjectDirectoryAttributes
    pub const SUBJECT_DIRECTORY_ATTRIBUTES: Oid = Oid::new_unwrap("2.5.29.9");
    /// subjectKeyIdentifier
    pub const SKI: Oid = Oid::new_unwrap("2.5.29.14");
    /// keyUsage
    pub const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
    /// subjectAltName
    pub const SAN: Oid = Oid::new_unwrap("2.5.29.17");
    /// issuerAltName
    pub const IAN: Oid = Oid::new_unwrap("2.5.29.18");
    /// basicConstraints
    pub const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
    /// nameConstraints
    pub const NAME_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.30");
    /// cRLDistributionPoints
    pub const CRL_DP: Oid = Oid::new_unwrap("2.5.29.31");
    /// certificatePolicies
    pub const CERT_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
    /// authorityKeyIdentifier
    pub const AKI: Oid = Oid::new_unwrap("2.5.29.35");
    /// extKeyUsage
    pub const EKU: Oid = Oid::new_unwrap("2.5.29.37");
    /// freshestCRL
    pub const FRESHEST_CRL: Oid = Oid::new_unwrap("2.5.29.46");
    /// authorityInfoAccess
    pub const AIA: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.1");
    /// subjectInfoAccess
    pub const SIA: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.11");
    /// qcStatements (ETSI qualified certificates, seen on national ID cards)
    pub const QC_STATEMENTS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.3");
    /// id-pkix-ocsp-nocheck
    pub const OCSP_NOCHECK: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.5");
}

/// Extended key usage purposes.
pub mod eku {
    use const_oid::ObjectIdentifier as Oid;
    /// id-kp-serverAuth
    pub const SERVER_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.1");
    /// id-kp-clientAuth
    pub const CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");
    /// id-kp-OCSPSigning
    pub const OCSP_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.9");
    /// anyExtendedKeyUsage
    pub const ANY: Oid = Oid::new_unwrap("2.5.29.37.0");
}

/// keyUsage bits (RFC 5280 §4.2.1.3).
pub mod ku {
    /// digitalSignature
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// nonRepudiation / contentCommitment
    pub const NON_REPUDIATION: u16 = 1 << 1;
    /// keyCertSign
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
    /// cRLSign
    pub const CRL_SIGN: u16 = 1 << 6;
}

/// basicConstraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// cA
    pub ca: bool,
    /// pathLenConstraint
    pub path_len: Option<u8>,
}

/// A parsed certificate. Construction checks structure only; validity, usage and signatures are
/// the validator's job.
#[derive(Debug)]
pub struct Cert {
    der: Vec<u8>,
    tbs: Range<usize>,
    /// X.509 version (1, 2 or 3).
    pub version: u8,
    /// Serial number content octets (big-endian, as encoded).
    pub serial: Vec<u8>,
    /// The signature algorithm, or why it is not usable (kept so that a trust anchor with an
    /// unsupported self-signature still loads).
    pub sig_alg: Result<SigAlg, PkiError>,
    /// The signature value.
    pub signature: Vec<u8>,
    /// Issuer name.
    pub issuer: DistinguishedName,
    /// Subject name.
    pub subject: DistinguishedName,
    /// notBefore.
    pub not_before: UnixTime,
    /// notAfter.
    pub not_after: UnixTime,
    /// The subject's public key, or why it is unusable.
    pub key: Result<Arc<KeyInfo>, PkiError>,
    /// basicConstraints, if present.
    pub basic_constraints: Option<BasicConstraints>,
    /// keyUsage bits, if present.
    pub key_usage: Option<u16>,
    /// extKeyUsage purposes, if present.
    pub eku: Option<Vec<Oid>>,
    /// Whether extKeyUsage is marked critical.
    pub eku_critical: bool,
    /// subjectKeyIdentifier.
    pub ski: Option<Vec<u8>>,
    /// authorityKeyIdentifier keyIdentifier.
    pub aki: Option<Vec<u8>>,
    /// Raw DER of the subjectAltName extension value (GeneralNames), if present.
    pub san: Option<Vec<u8>>,
    /// nameConstraints, if present (critical or not: a non-critical one is processed too,
    /// since ignoring it would let a constrained CA issue any name).
    pub name_constraints: Option<super::nc::NameConstraints>,
    /// Every extension's OID and criticality, in encoded order (for the RFC 5280 profile
    /// checks of [`super::PathOptions::strict_rfc5280`]).
    pub extensions: Vec<(Oid, bool)>,
    /// Whether an authorityKeyIdentifier extension is present (with or without keyIdentifier).
    pub has_aki_extension: bool,
    /// The OCSP responder URLs of authorityInfoAccess (id-ad-ocsp, URI form).
    pub ocsp_urls: Vec<String>,
    /// The GeneralNames (DER TLVs) of every cRLDistributionPoints fullName.
    pub crl_dp_names: Vec<Vec<u8>>,
    /// Critical extensions hoviat does not process.
    pub unknown_critical: Vec<Oid>,
}

impl Cert {
    /// Parses one DER certificate.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, PkiError> {
        if der_bytes.len() > MAX_CERT_LEN {
            return Err(PkiError::InputTooLarge {
                what: "certificate",
                limit: MAX_CERT_LEN,
            });
        }
        let bad = |e: &dyn std::fmt::Display| PkiError::CertMalformed(e.to_string());
        let cert = Certificate::from_der(der_bytes).map_err(|e| bad(&e))?;
        let tbs_range = raw_first_element(der_bytes).map_err(|e| bad(&e))?;
        let tbs = cert.tbs_certificate();

        // The outer and TBS signature algorithms must be the same identifier (RFC 5280 §4.1.1.2).
        let outer = cert.signature_algorithm();
        let inner = tbs.signature();
        if outer.to_der().map_err(|e| bad(&e))? != inner.to_der().map_err(|e| bad(&e))? {
            return Err(bad(&"signatureAlgorithm differs from the TBS signature field"));
        }
        let params = outer.parameters.as_ref().map(AnyRef::from);
        let sig_alg = SigAlg::from_algorithm_identifier(&outer.oid, params);
        let signature = cert
            .signature()
            .as_bytes()
            .ok_or_else(|| bad(&"signature BIT STRING has unused bits"))?
            .to_vec();

        let version = match tbs.version() {
            x509_cert::Version::V1 => 1,
            x509_cert::Version::V2 => 2,
            x509_cert::Version::V3 => 3,
        };
        let issuer = DistinguishedName::from_der(&tbs.issuer().to_der().map_err(|e| bad(&e))?)?;
        let subject = DistinguishedName::from_der(&tbs.subject().to_der().map_err(|e| bad(&e))?)?;
        let validity = tbs.validity();
        let secs =
            |t: x509_cert::time::Time| UnixTime(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX));
        let spki = tbs.subject_public_key_info().to_der().map_err(|e| bad(&e))?;
        let key = KeyInfo::from_spki_der(&spki).map(Arc::new);

        let exts = tbs.extensions().map(Vec::as_slice).unwrap_or(&[]);
        let mut c = Cert {
            der: der_bytes.to_vec(),
            tbs: tbs_range,
            version,
            serial: tbs.serial_number().as_bytes().to_vec(),
            sig_alg,
            signature,
            issuer,
            subject,
            not_before: secs(validity.not_before),
            not_after: secs(validity.not_after),
            key,
            basic_constraints: None,
            key_usage: None,
            eku: None,
            eku_critical: false,
            ski: None,
            aki: None,
            san: None,
            name_constraints: None,
            extensions: Vec::with_capacity(exts.len()),
            has_aki_extension: false,
            ocsp_urls: Vec::new(),
            crl_dp_names: Vec::new(),
            unknown_critical: Vec::new(),
        };

        if !exts.is_empty() && version != 3 {
            return Err(bad(&"extensions in a certificate that is not version 3"));
        }
        let mut seen: Vec<&Oid> = Vec::with_capacity(exts.len());
        for ext in exts {
            if seen.contains(&&ext.extn_id) {
                return Err(bad(&format!("extension {} appears twice", ext.extn_id)));
            }
            seen.push(&ext.extn_id);
            c.extensions.push((ext.extn_id, ext.critical));
            let v = ext.extn_value.as_bytes();
            let ext_bad = |e: &dyn std::fmt::Display| bad(&format!("extension {}: {e}", ext.extn_id));
            match ext.extn_id {
                ext_oid::BASIC_CONSTRAINTS => {
                    // Leniency: x509-cert accepts an explicitly encoded cA = FALSE (a DER
                    // violation seen on Finnish cards). Safe: the meaning is unambiguous and it
                    // grants nothing.
                    let bc = x509_cert::ext::pkix::BasicConstraints::from_der(v).map_err(|e| ext_bad(&e))?;
                    c.basic_constraints = Some(BasicConstraints {
                        ca: bc.ca,
                        path_len: bc.path_len_constraint,
                    });
                }
                ext_oid::KEY_USAGE => {
                    let bits = der::asn1::BitStringRef::from_der(v).map_err(|e| ext_bad(&e))?;
                    let raw = bits.raw_bytes();
                    // Padding bits (past the BIT STRING's length) never count as set.
                    let len_bits = raw.len() * 8 - usize::from(bits.unused_bits());
                    let mut mask = 0u16;
                    for i in 0..9u16 {
                        let byte = raw.get(usize::from(i / 8)).copied().unwrap_or(0);
                        if usize::from(i) < len_bits && byte & (0x80 >> (i % 8)) != 0 {
                            mask |= 1 << i;
                        }
                    }
                    c.key_usage = Some(mask);
                }
                ext_oid::EKU => {
                    let e = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(v).map_err(|e| ext_bad(&e))?;
                    if e.0.is_empty() {
                        return Err(ext_bad(&"empty extKeyUsage"));
                    }
                    // Leniency: a critical EKU (Estonian issuing CA) is processed like a
                    // non-critical one; it only ever narrows what the certificate may do.
                    c.eku = Some(e.0);
                    c.eku_critical = ext.critical;
                }
                ext_oid::SKI => {
                    let s = der::asn1::OctetString::from_der(v).map_err(|e| ext_bad(&e))?;
                    c.ski = Some(s.as_bytes().to_vec());
                }
                ext_oid::AKI => {
                    let a = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(v).map_err(|e| ext_bad(&e))?;
                    c.aki = a.key_identifier.map(|k| k.as_bytes().to_vec());
                    c.has_aki_extension = true;
                }
                ext_oid::SAN => {
                    x509_cert::ext::pkix::SubjectAltName::from_der(v).map_err(|e| ext_bad(&e))?;
                    c.san = Some(v.to_vec());
                }
                ext_oid::NAME_CONSTRAINTS => {
                    // Processed by the validator whatever its criticality (RFC 5280 requires it
                    // critical; ignoring a non-critical one would let a constrained CA issue any
                    // name). Malformed constraints, or ones using minimum/maximum, refuse the
                    // certificate.
                    c.name_constraints = Some(super::nc::NameConstraints::from_der(v).map_err(|e| ext_bad(&e))?);
                }
                ext_oid::AIA => {
                    // Informational only, but it must parse: one or more AccessDescriptions.
                    let aia = x509_cert::ext::pkix::AuthorityInfoAccessSyntax::from_der(v).map_err(|e| ext_bad(&e))?;
                    if aia.0.is_empty() {
                        return Err(ext_bad(&"empty authorityInfoAccess"));
                    }
                    const ID_AD_OCSP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1");
                    for ad in aia.0.iter().filter(|a| a.access_method == ID_AD_OCSP).take(8) {
                        if let x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(u) =
                            &ad.access_location
                        {
                            c.ocsp_urls.push(u.to_string());
                        }
                    }
                }
                // Processed only as information; a critical certificatePolicies is accepted
                // because hoviat validates with the initial policy set any-policy and no
                // explicit-policy requirement (RFC 5280 §6.1.1), under which it cannot fail.
                ext_oid::CRL_DP => {
                    c.crl_dp_names = crl_dp_names(v).map_err(|e| ext_bad(&e))?;
                    if ext.critical {
                        c.unknown_critical.push(ext.extn_id);
                    }
                }
                ext_oid::CERT_POLICIES
                | ext_oid::SIA
                | ext_oid::IAN
                | ext_oid::FRESHEST_CRL
                | ext_oid::SUBJECT_DIRECTORY_ATTRIBUTES
                | ext_oid::QC_STATEMENTS
                | ext_oid::OCSP_NOCHECK => {}
                _ if ext.critical => c.unknown_critical.push(ext.extn_id),
                _ => {}
            }
        }
        Ok(c)
    }

    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The TBSCertificate bytes exactly as signed.
    pub fn tbs_bytes(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// Whether subject and issuer names match (a self-issued certificate, RFC 5280 §6.1).
    pub fn is_self_issued(&self) -> bool {
        self.subject.matches(&self.issuer)
    }

    /// Whether basicConstraints says cA = TRUE.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|b| b.ca)
    }

    /// Serial number as upper-case hex.
    pub fn serial_hex(&self) -> String {
        hex_upper(&self.serial)
    }

    /// SHA-256 of the DER, lower-case hex.
    pub fn sha256_hex(&self) -> String {
        hex_lower(&super::alg::HashAlg::Sha256.digest(&self.der))
    }
}

/// GeneralName TLVs of the fullName of every DistributionPoint in a cRLDistributionPoints
/// value (`SEQUENCE OF DistributionPoint`).
fn crl_dp_names(v: &[u8]) -> der::Result<Vec<Vec<u8>>> {
    let seq = AnyRef::from_der(v)?;
    let mut r = SliceReader::new(seq.value())?;
    let mut out = Vec::new();
    while !r.is_finished() {
        let dp = AnyRef::decode(&mut r)?;
        let mut dr = SliceReader::new(dp.value())?;
        while !dr.is_finished() {
            let field = AnyRef::decode(&mut dr)?;
            if matches!(field.tag(), der::Tag::ContextSpecific { number, .. } if number.value() == 0) {
                out.extend(full_name_tlvs(field.value())?);
            }
        }
        if out.len() > 64 {
            return Err(der::ErrorKind::Overlength.into());
        }
    }
    Ok(out)
}

/// The GeneralName TLVs of a DistributionPointName whose encoding is `dpn` (only the fullName
/// choice; nameRelativeToCRLIssuer gives none).
pub(crate) fn full_name_tlvs(dpn: &[u8]) -> der::Result<Vec<Vec<u8>>> {
    let choice = AnyRef::from_der(dpn)?;
    let mut out = Vec::new();
    if matches!(choice.tag(), der::Tag::ContextSpecific { number, .. } if number.value() == 0) {
        let mut r = SliceReader::new(choice.value())?;
        while !r.is_finished() {
            out.push(r.tlv_bytes()?.to_vec());
        }
    }
    Ok(out)
}

/// The byte range of the first element inside the outer SEQUENCE (the TBS part of a signed
/// structure), exactly as encoded.
pub(crate) fn raw_first_element(der_bytes: &[u8]) -> der::Result<Range<usize>> {
    let outer = AnyRef::from_der(der_bytes)?;
    let content = outer.value();
    let start = der_bytes.len() - content.len();
    let mut r = SliceReader::new(content)?;
    let tlv = r.tlv_bytes()?;
    Ok(start..start + tlv.len())
}

/// Upper-case hex.
pub fn hex_upper(b: &[u8]) -> String {
    hex_with(b, b"0123456789ABCDEF")
}

/// Lower-case hex.
pub fn hex_lower(b: &[u8]) -> String {
    hex_with(b, b"0123456789abcdef")
}

fn hex_with(b: &[u8], digits: &[u8; 16]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(char::from(digits[usize::from(x >> 4)]));
        s.push(char::from(digits[usize::from(x & 15)]));
    }
    s
}

/// Decodes every PEM block with one of `labels` in `input`, or, if `input` is not PEM, returns it
/// as one DER item. Limits: `max_items` blocks, `max_len` bytes each.
pub fn pem_or_der(input: &[u8], labels: &[&str], max_items: usize, max_len: usize) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    let text = match std::str::from_utf8(input) {
        Ok(t) if t.contains("-----BEGIN ") => t,
        _ => {
            if input.len() > max_len {
                return Err(format!("input larger than {max_len} bytes"));
            }
            return Ok(vec![input.to_vec()]);
        }
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find("-----BEGIN ") {
        let after = &rest[b + 11..];
        let label_end = after.find("-----").ok_or("unterminated PEM header")?;
        let label = &after[..label_end];
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let e = body_start
            .find(&end_marker)
            .ok_or_else(|| format!("missing {end_marker}"))?;
        // Base64 is ASCII: drop ASCII whitespace byte by byte (anything else is left for the
        // base64 decoder to refuse).
        let body: Vec<u8> = body_start.as_bytes()[..e]
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        rest = &body_start[e + end_marker.len()..];
        if !labels.contains(&label) {
            continue;
        }
        if out.len() >= max_items {
            return Err(format!("more than {max_items} PEM blocks"));
        }
        if body.len() / 4 * 3 > max_len {
            return Err(format!("PEM block larger than {max_len} bytes"));
        }
        let der_bytes = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .map_err(|e| format!("PEM base64: {e}"))?;
        out.push(der_bytes);
    }
    if out.is_empty() {
        return Err(format!("no PEM block labelled {}", labels.join(" or ")));
    }
    Ok(out)
}
