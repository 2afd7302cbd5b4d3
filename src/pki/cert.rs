//! Certificate parsing: x509-cert for the structure, plus the checks no parser does
//! (token.md): the signature is verified over the raw TBS bytes, the two signature
//! AlgorithmIdentifiers must be identical, extensions may not repeat, the signature BIT STRING
//! may not have unused bits, unknown critical extensions are recorded for the validator.

use std::ops::Range;
use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};

use super::PkiError;
use super::alg::{KeyInfo, SigAlg, algid_parts};
use super::name::DistinguishedName;
use crate::time::UnixTime;

#[cfg(test)]
#[path = "cert_reference.rs"]
mod reference;

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
    pub name_constraints: Option<super::name_constraints::NameConstraints>,
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
    /// The policy identifiers of certificatePolicies (at most 32), for a relying party's
    /// allow/deny list ([`super::path::PolicyRule`]); empty when absent.
    pub policies: Vec<Oid>,
    /// certificatePolicies is present but does not parse (a policy list then refuses it).
    pub policies_malformed: bool,
}

impl Cert {
    /// Parses one DER certificate. The structure is read in place from the DER (no decoded
    /// copy of the whole certificate): names, the key and extension values are taken as
    /// encoded, each checked as RFC 5280's ASN.1 module and DER require.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, PkiError> {
        if der_bytes.len() > MAX_CERT_LEN {
            return Err(PkiError::InputTooLarge {
                what: "certificate",
                limit: MAX_CERT_LEN,
            });
        }
        let bad = |e: &dyn std::fmt::Display| PkiError::CertMalformed(detail!("{e}"));
        let derr = |e: der::Error| PkiError::CertMalformed(detail!("{e}"));

        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        let outer = sequence_content(AnyRef::from_der(der_bytes).map_err(derr)?, "Certificate")?;
        let mut r = SliceReader::new(outer).map_err(derr)?;
        let tbs_tlv = r.tlv_bytes().map_err(derr)?;
        let outer_alg_tlv = r.tlv_bytes().map_err(derr)?;
        let sig_bits = der::asn1::BitStringRef::decode(&mut r).map_err(derr)?;
        r.finish().map_err(derr)?;
        let tbs_start = der_bytes.len() - outer.len();
        let tbs_range = tbs_start..tbs_start + tbs_tlv.len();

        let tbs = sequence_content(AnyRef::from_der(tbs_tlv).map_err(derr)?, "TBSCertificate")?;
        let mut t = SliceReader::new(tbs).map_err(derr)?;
        // version [0] EXPLICIT Version DEFAULT v1 -- Version ::= INTEGER { v1(0), v2(1), v3(2) }
        let version = if t.peek_byte() == Some(0xA0) {
            let v = AnyRef::decode(&mut t).map_err(derr)?;
            match u8::from_der(v.value()).map_err(derr)? {
                0 => 1,
                1 => 2,
                2 => 3,
                _ => return Err(bad(&"unknown certificate version")),
            }
        } else {
            1
        };
        let serial = der::asn1::IntRef::decode(&mut t).map_err(derr)?;
        if serial.as_bytes().len() > 21 {
            return Err(bad(&"serial number longer than 20 octets"));
        }
        let inner_alg_tlv = t.tlv_bytes().map_err(derr)?;
        let issuer_tlv = t.tlv_bytes().map_err(derr)?;
        let validity = AnyRef::decode(&mut t).map_err(derr)?;
        let subject_tlv = t.tlv_bytes().map_err(derr)?;
        let spki = t.tlv_bytes().map_err(derr)?;
        // issuerUniqueID [1] IMPLICIT BIT STRING OPTIONAL, subjectUniqueID [2] likewise
        for tag in [0x81, 0x82] {
            if t.peek_byte() == Some(tag) {
                let id = AnyRef::decode(&mut t).map_err(derr)?;
                let (unused, bits) = id
                    .value()
                    .split_first()
                    .ok_or_else(|| bad(&"empty unique identifier"))?;
                der::asn1::BitStringRef::new(*unused, bits).map_err(derr)?;
            }
        }
        // extensions [3] EXPLICIT Extensions OPTIONAL
        let exts = if t.peek_byte() == Some(0xA3) {
            let e = AnyRef::decode(&mut t).map_err(derr)?;
            Some(sequence_content(
                AnyRef::from_der(e.value()).map_err(derr)?,
                "Extensions",
            )?)
        } else {
            None
        };
        t.finish().map_err(derr)?;

        // The outer and TBS signature algorithms must be the same identifier (RFC 5280 §4.1.1.2):
        // the same bytes, so the outer one is the only one to parse.
        let (alg_oid, alg_params) = algid_parts(sequence(outer_alg_tlv).map_err(derr)?)?;
        if outer_alg_tlv != inner_alg_tlv {
            return Err(bad(&"signatureAlgorithm differs from the TBS signature field"));
        }
        let sig_alg = SigAlg::from_algorithm_identifier(&alg_oid, alg_params);
        let signature = sig_bits
            .as_bytes()
            .ok_or_else(|| bad(&"signature BIT STRING has unused bits"))?
            .to_vec();

        let issuer = DistinguishedName::from_der(issuer_tlv)?;
        let subject = DistinguishedName::from_der(subject_tlv)?;
        // Validity ::= SEQUENCE { notBefore Time, notAfter Time }
        let mut vr = SliceReader::new(sequence_content(validity, "Validity")?).map_err(derr)?;
        let not_before = time_of(AnyRef::decode(&mut vr).map_err(derr)?).map_err(derr)?;
        let not_after = time_of(AnyRef::decode(&mut vr).map_err(derr)?).map_err(derr)?;
        vr.finish().map_err(derr)?;
        // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
        let spki_seq = sequence_content(AnyRef::from_der(spki).map_err(derr)?, "SubjectPublicKeyInfo")?;
        let mut sr = SliceReader::new(spki_seq).map_err(derr)?;
        algid_parts(sequence(sr.tlv_bytes().map_err(derr)?).map_err(derr)?)?;
        der::asn1::BitStringRef::decode(&mut sr).map_err(derr)?;
        sr.finish().map_err(derr)?;
        let key = KeyInfo::from_spki_der(spki).map(Arc::new);

        let mut c = Cert {
            der: der_bytes.to_vec(),
            tbs: tbs_range,
            version,
            serial: serial.as_bytes().to_vec(),
            sig_alg,
            signature,
            issuer,
            subject,
            not_before,
            not_after,
            key,
            basic_constraints: None,
            key_usage: None,
            eku: None,
            eku_critical: false,
            ski: None,
            aki: None,
            san: None,
            name_constraints: None,
            extensions: Vec::new(),
            has_aki_extension: false,
            ocsp_urls: Vec::new(),
            crl_dp_names: Vec::new(),
            unknown_critical: Vec::new(),
            policies: Vec::new(),
            policies_malformed: false,
        };

        let Some(exts) = exts else {
            return Ok(c);
        };
        let mut er = SliceReader::new(exts).map_err(derr)?;
        if !er.is_finished() && version != 3 {
            return Err(bad(&"extensions in a certificate that is not version 3"));
        }
        while !er.is_finished() {
            if c.extensions.len() >= MAX_EXTENSIONS {
                return Err(bad(&"too many extensions"));
            }
            // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
            let ext = sequence_content(AnyRef::decode(&mut er).map_err(derr)?, "Extension")?;
            let mut xr = SliceReader::new(ext).map_err(derr)?;
            let id = Oid::decode(&mut xr).map_err(derr)?;
            let critical = if xr.peek_byte() == Some(0x01) {
                bool::decode(&mut xr).map_err(derr)?
            } else {
                false
            };
            let v = <&der::asn1::OctetStringRef>::decode(&mut xr).map_err(derr)?.as_bytes();
            xr.finish().map_err(derr)?;
            if c.extensions.iter().any(|(o, _)| *o == id) {
                return Err(bad(&detail!("extension {id} appears twice")));
            }
            c.extensions.push((id, critical));
            let ext_bad = |e: &dyn std::fmt::Display| bad(&detail!("extension {id}: {e}"));
            let ext_derr = |e: der::Error| ext_bad(&e);
            match id {
                ext_oid::BASIC_CONSTRAINTS => {
                    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE,
                    //                                 pathLenConstraint INTEGER (0..MAX) OPTIONAL }
                    // Leniency: an explicitly encoded cA = FALSE (a DER violation seen on Finnish
                    // cards) is accepted. Safe: the meaning is unambiguous and it grants nothing.
                    let seq = sequence(v).map_err(ext_derr)?;
                    let mut br = SliceReader::new(seq).map_err(ext_derr)?;
                    let ca = if br.peek_byte() == Some(0x01) {
                        bool::decode(&mut br).map_err(ext_derr)?
                    } else {
                        false
                    };
                    let path_len = if br.is_finished() {
                        None
                    } else {
                        Some(u8::decode(&mut br).map_err(ext_derr)?)
                    };
                    br.finish().map_err(ext_derr)?;
                    c.basic_constraints = Some(BasicConstraints { ca, path_len });
                }
                ext_oid::KEY_USAGE => {
                    let bits = der::asn1::BitStringRef::from_der(v).map_err(ext_derr)?;
                    c.key_usage = Some(key_usage_mask(&bits));
                }
                ext_oid::EKU => {
                    // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
                    let mut kr = SliceReader::new(sequence(v).map_err(ext_derr)?).map_err(ext_derr)?;
                    let mut purposes = Vec::new();
                    while !kr.is_finished() {
                        if purposes.len() >= MAX_EXTENSIONS {
                            return Err(ext_bad(&"too many purposes"));
                        }
                        purposes.push(Oid::decode(&mut kr).map_err(ext_derr)?);
                    }
                    if purposes.is_empty() {
                        return Err(ext_bad(&"empty extKeyUsage"));
                    }
                    // Leniency: a critical EKU (Estonian issuing CA) is processed like a
                    // non-critical one; it only ever narrows what the certificate may do.
                    c.eku = Some(purposes);
                    c.eku_critical = critical;
                }
                ext_oid::SKI => {
                    let s = <&der::asn1::OctetStringRef>::from_der(v).map_err(ext_derr)?;
                    c.ski = Some(s.as_bytes().to_vec());
                }
                ext_oid::AKI => {
                    c.aki = aki_key_id(v).map_err(|e| ext_bad(&e))?;
                    c.has_aki_extension = true;
                }
                ext_oid::SAN => {
                    general_names(sequence(v).map_err(ext_derr)?, |_| {}).map_err(|e| ext_bad(&e))?;
                    c.san = Some(v.to_vec());
                }
                ext_oid::NAME_CONSTRAINTS => {
                    // Processed by the validator whatever its criticality (RFC 5280 requires it
                    // critical; ignoring a non-critical one would let a constrained CA issue any
                    // name). Malformed constraints, or ones using minimum/maximum, refuse the
                    // certificate.
                    c.name_constraints =
                        Some(super::name_constraints::NameConstraints::from_der(v).map_err(|e| ext_bad(&e))?);
                }
                ext_oid::AIA => {
                    // Informational only, but it must parse: AuthorityInfoAccessSyntax ::=
                    // SEQUENCE SIZE (1..MAX) OF AccessDescription { accessMethod OID,
                    // accessLocation GeneralName }.
                    const ID_AD_OCSP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1");
                    let mut ar = SliceReader::new(sequence(v).map_err(ext_derr)?).map_err(ext_derr)?;
                    let mut n = 0;
                    while !ar.is_finished() {
                        n += 1;
                        if n > MAX_EXTENSIONS {
                            return Err(ext_bad(&"too many access descriptions"));
                        }
                        let ad = sequence(ar.tlv_bytes().map_err(ext_derr)?).map_err(ext_derr)?;
                        let mut dr = SliceReader::new(ad).map_err(ext_derr)?;
                        let method = Oid::decode(&mut dr).map_err(ext_derr)?;
                        let location = AnyRef::decode(&mut dr).map_err(ext_derr)?;
                        dr.finish().map_err(ext_derr)?;
                        check_general_name(location).map_err(|e| ext_bad(&e))?;
                        if method == ID_AD_OCSP && location.tag() == uri_tag() && c.ocsp_urls.len() < 8 {
                            c.ocsp_urls.push(String::from_utf8_lossy(location.value()).into_owned());
                        }
                    }
                    if n == 0 {
                        return Err(ext_bad(&"empty authorityInfoAccess"));
                    }
                }
                // Processed only as information; a critical certificatePolicies is accepted
                // because hoviat validates with the initial policy set any-policy and no
                // explicit-policy requirement (RFC 5280 §6.1.1), under which it cannot fail.
                ext_oid::CRL_DP => {
                    c.crl_dp_names = crl_dp_names(v).map_err(ext_derr)?;
                    if critical {
                        c.unknown_critical.push(id);
                    }
                }
                ext_oid::CERT_POLICIES => match policy_ids(v) {
                    Ok(p) => c.policies = p,
                    Err(_) => c.policies_malformed = true,
                },
                ext_oid::SIA
                | ext_oid::IAN
                | ext_oid::FRESHEST_CRL
                | ext_oid::SUBJECT_DIRECTORY_ATTRIBUTES
                | ext_oid::QC_STATEMENTS
                | ext_oid::OCSP_NOCHECK => {}
                _ if critical => c.unknown_critical.push(id),
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
/// The policyIdentifiers of a certificatePolicies value (`SEQUENCE OF PolicyInformation`;
/// qualifiers skipped). Information only: path validation runs with any-policy.
fn policy_ids(v: &[u8]) -> der::Result<Vec<Oid>> {
    let mut r = SliceReader::new(sequence(v)?)?;
    let mut out = Vec::new();
    while !r.is_finished() {
        let info = sequence(r.tlv_bytes()?)?;
        let mut ir = SliceReader::new(info)?;
        let id = Oid::decode(&mut ir)?;
        if out.len() < 32 {
            out.push(id);
        }
    }
    Ok(out)
}

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

/// The nine keyUsage bits (RFC 5280 §4.2.1.3) as a mask, bit `i` for KeyUsage bit `i` (see
/// [`ku`]). Padding bits (past the BIT STRING's length) never count as set.
fn key_usage_mask(bits: &der::asn1::BitStringRef<'_>) -> u16 {
    let raw = bits.raw_bytes();
    let len_bits = raw.len() * 8 - usize::from(bits.unused_bits());
    let mut mask = 0u16;
    for i in 0..9u16 {
        let byte = raw.get(usize::from(i / 8)).copied().unwrap_or(0);
        if usize::from(i) < len_bits && byte & (0x80 >> (i % 8)) != 0 {
            mask |= 1 << i;
        }
    }
    mask
}

/// Most extensions in one certificate (and most items in one list inside an extension).
const MAX_EXTENSIONS: usize = 64;

/// The content of `any`, which must be a SEQUENCE; `what` names the structure in the error.
fn sequence_content<'a>(any: AnyRef<'a>, what: &str) -> Result<&'a [u8], PkiError> {
    if any.tag() == Tag::Sequence {
        Ok(any.value())
    } else {
        Err(PkiError::CertMalformed(detail!("{what} is not a SEQUENCE")))
    }
}

/// The content of a DER SEQUENCE encoded as `tlv` (nothing after it).
fn sequence(tlv: &[u8]) -> der::Result<&[u8]> {
    let any = AnyRef::from_der(tlv)?;
    if any.tag() != Tag::Sequence {
        return Err(der::Error::from(der::ErrorKind::TagUnexpected {
            expected: Some(Tag::Sequence),
            actual: any.tag(),
        }));
    }
    Ok(any.value())
}

/// `Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }`, DER rules (`YYMMDDHHMMSSZ`,
/// `YYYYMMDDHHMMSSZ`), as seconds since the epoch (certificates and CRLs).
pub(crate) fn time_of(any: AnyRef<'_>) -> der::Result<UnixTime> {
    let d = match any.tag() {
        Tag::UtcTime => any.decode_as::<der::asn1::UtcTime>()?.to_unix_duration(),
        _ => any.decode_as::<der::asn1::GeneralizedTime>()?.to_unix_duration(),
    };
    Ok(UnixTime(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}

/// The keyIdentifier of an authorityKeyIdentifier value: `SEQUENCE { keyIdentifier [0]
/// IMPLICIT OCTET STRING OPTIONAL, authorityCertIssuer [1] IMPLICIT GeneralNames OPTIONAL,
/// authorityCertSerialNumber [2] IMPLICIT INTEGER OPTIONAL }`, the last two checked and ignored.
pub(crate) fn aki_key_id(v: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let s = |e: der::Error| detail!("{e}");
    let mut r = SliceReader::new(sequence(v).map_err(s)?).map_err(s)?;
    let mut key_id = None;
    if r.peek_byte() == Some(0x80) {
        key_id = Some(AnyRef::decode(&mut r).map_err(s)?.value().to_vec());
    }
    if r.peek_byte() == Some(0xA1) {
        general_names(AnyRef::decode(&mut r).map_err(s)?.value(), |_| {})?;
    }
    if r.peek_byte() == Some(0x82) {
        let n = AnyRef::decode(&mut r).map_err(s)?;
        der::asn1::IntRef::new(n.value()).map_err(s)?;
        if n.value().len() > 21 {
            return Err(detail!("authorityCertSerialNumber longer than 20 octets"));
        }
    }
    r.finish().map_err(s)?;
    Ok(key_id)
}

/// The tag of a uniformResourceIdentifier GeneralName (`[6] IMPLICIT IA5String`).
fn uri_tag() -> Tag {
    Tag::ContextSpecific {
        constructed: false,
        number: der::TagNumber(6),
    }
}

/// Checks each GeneralName in `content` (the content of a `GeneralNames` SEQUENCE), calling `f`
/// with each.
fn general_names<'a>(content: &'a [u8], mut f: impl FnMut(AnyRef<'a>)) -> Result<(), String> {
    // No count limit: nothing is kept, and the certificate's size bounds the work.
    let mut r = SliceReader::new(content).map_err(|e| detail!("{e}"))?;
    while !r.is_finished() {
        let g = AnyRef::decode(&mut r).map_err(|e| detail!("{e}"))?;
        check_general_name(g)?;
        f(g);
    }
    Ok(())
}

/// Checks one GeneralName against RFC 5280's CHOICE: otherName `[0] SEQUENCE { type-id OID,
/// value [0] EXPLICIT ANY }`, rfc822Name/dNSName/URI as IA5String, directoryName `[4] EXPLICIT
/// Name`, ediPartyName `[5] SEQUENCE { nameAssigner [0] OPTIONAL, partyName [1] }`, iPAddress
/// OCTET STRING, registeredID OID. x400Address is refused (nothing here reads one).
fn check_general_name(g: AnyRef<'_>) -> Result<(), String> {
    let s = |e: der::Error| detail!("{e}");
    let Tag::ContextSpecific { number, constructed } = g.tag() else {
        return Err(detail!("GeneralName is not context-tagged"));
    };
    let v = g.value();
    match (number.value(), constructed) {
        (0, true) => {
            let mut r = SliceReader::new(v).map_err(s)?;
            Oid::decode(&mut r).map(|_: Oid| ()).map_err(s)?;
            let val = AnyRef::decode(&mut r).map_err(s)?;
            r.finish().map_err(s)?;
            if val.tag()
                != (Tag::ContextSpecific {
                    constructed: true,
                    number: der::TagNumber(0),
                })
            {
                return Err(detail!("otherName value is not [0]"));
            }
            AnyRef::from_der(val.value()).map_err(s)?;
        }
        (1 | 2 | 6, false) => {
            der::asn1::Ia5StringRef::new(v).map_err(s)?;
        }
        (4, true) => {
            let inner = AnyRef::from_der(v).map_err(s)?;
            if inner.tag() != Tag::Sequence {
                return Err(detail!("directoryName is not a Name"));
            }
        }
        (5, true) => {
            let mut r = SliceReader::new(v).map_err(s)?;
            for n in [0u32, 1] {
                if Tag::peek(&r).ok()
                    == Some(Tag::ContextSpecific {
                        constructed: true,
                        number: der::TagNumber(n),
                    })
                {
                    AnyRef::from_der(AnyRef::decode(&mut r).map_err(s)?.value()).map_err(s)?;
                } else if n == 1 {
                    return Err(detail!("ediPartyName without partyName"));
                }
            }
            r.finish().map_err(s)?;
        }
        (7, false) => {}
        (8, false) => {
            Oid::from_bytes(v).map(|_: Oid| ()).map_err(|e| detail!("{e}"))?;
        }
        _ => {
            return Err(detail!(
                "GeneralName [{}] badly encoded or not supported",
                number.value()
            ));
        }
    }
    Ok(())
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
                return Err(detail!("input larger than {max_len} bytes"));
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
            .ok_or_else(|| detail!("missing {end_marker}"))?;
        // Base64 is ASCII: drop ASCII whitespace, copying the lines between it whole (anything
        // else is left for the base64 decoder to refuse).
        let raw = &body_start.as_bytes()[..e];
        let mut body = Vec::with_capacity(raw.len());
        for line in raw.split(u8::is_ascii_whitespace) {
            body.extend_from_slice(line);
        }
        rest = &body_start[e + end_marker.len()..];
        if !labels.contains(&label) {
            continue;
        }
        if out.len() >= max_items {
            return Err(detail!("more than {max_items} PEM blocks"));
        }
        if body.len() / 4 * 3 > max_len {
            return Err(detail!("PEM block larger than {max_len} bytes"));
        }
        let der_bytes = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .map_err(|e| detail!("PEM base64: {e}"))?;
        out.push(der_bytes);
    }
    if out.is_empty() {
        return Err(detail!("no PEM block labelled {}", labels.join(" or ")));
    }
    Ok(out)
}

#[cfg(test)]
mod differential {
    //! hoviat's in-place certificate reader against the x509-cert decoders it replaced: the same
    //! verdict and the same parsed certificate on real certificates (the limbo suite, the
    //! Iranian roots, the fuzzing corpus) and on single-byte corruptions and truncations of them.
    use super::*;
    use crate::error::Coded;

    fn inputs() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        let pem = |text: &str, out: &mut Vec<Vec<u8>>| {
            if let Ok(ds) = pem_or_der(text.as_bytes(), &["CERTIFICATE"], 10_000, MAX_CERT_LEN) {
                out.extend(ds);
            }
        };
        if let Ok(dir) = std::fs::read_dir(root.join("fuzz/corpus/cert")) {
            for e in dir.flatten() {
                out.push(std::fs::read(e.path()).unwrap_or_default());
            }
        }
        if let Ok(dir) = std::fs::read_dir(root.join("../shared/reference/iran-roots")) {
            for e in dir.flatten() {
                pem(&std::fs::read_to_string(e.path()).unwrap_or_default(), &mut out);
            }
        }
        if let Ok(text) = std::fs::read_to_string(root.join("../shared/conformance/limbo.json")) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            for t in v["testcases"].as_array().into_iter().flatten() {
                for k in ["trusted_certs", "untrusted_intermediates"] {
                    for c in t[k].as_array().into_iter().flatten() {
                        pem(c.as_str().unwrap_or(""), &mut out);
                    }
                }
                pem(t["peer_certificate"].as_str().unwrap_or(""), &mut out);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn verdict(r: &Result<Cert, PkiError>) -> String {
        match r {
            Ok(c) => format!("{c:?}"),
            Err(e) => e.code().to_string(),
        }
    }

    /// A valid certificate's elements with the TBS's `i`th element replaced, re-encoded (the
    /// signature no longer matches, which parsing does not look at).
    fn with_tbs_element(cert: &[u8], i: usize, element: Vec<u8>) -> Vec<u8> {
        use crate::test_der::seq;
        let items = |d: &[u8]| -> Vec<Vec<u8>> {
            let any = AnyRef::from_der(d).unwrap();
            let mut r = SliceReader::new(any.value()).unwrap();
            let mut v = Vec::new();
            while !r.is_finished() {
                v.push(r.tlv_bytes().unwrap().to_vec());
            }
            v
        };
        let mut outer = items(cert);
        let mut tbs = items(&outer[0]);
        tbs[i] = element;
        outer[0] = seq(&tbs);
        seq(&outer)
    }

    #[test]
    fn serial_numbers_as_x509_cert_reads_them() {
        use crate::test_der::tlv;
        // Any certificate both readers accept (the fuzzing corpus, the Iranian roots, limbo).
        let inputs = inputs();
        let cert = inputs
            .iter()
            .find(|d| {
                // A v3 certificate (explicit version first, so the serial is element 1) that
                // both readers accept with a plain serial.
                reference::from_der(d).is_ok()
                    && Cert::from_der(d).is_ok()
                    && Cert::from_der(&with_tbs_element(d, 1, tlv(0x02, &[1]))).is_ok()
            })
            .expect("a valid certificate");
        // The serial is the TBS's second element (after the explicit version).
        let serial = |content: Vec<u8>| with_tbs_element(cert, 1, tlv(0x02, &content));
        let mut long = vec![0x7f; 21];
        let cases = [
            (serial(vec![0x01; 20]), true),
            (
                serial({
                    let mut v = vec![0x00];
                    v.extend([0x80; 20]);
                    v
                }),
                true,
            ),
            (serial(long.clone()), true),
            (
                serial({
                    long.push(1);
                    long
                }),
                false,
            ),
            (serial(vec![0x00, 0x01]), false), // not minimal
            (serial(vec![0xff, 0x80]), false), // not minimal
            (serial(vec![0x80]), true),        // negative: read, as x509-cert does
            (serial(vec![]), false),
        ];
        for (i, (d, ok)) in cases.iter().enumerate() {
            let (a, b) = (Cert::from_der(d), reference::from_der(d));
            assert_eq!(a.is_ok(), *ok, "case {i}: {:?}", a.err());
            assert_eq!(verdict(&a), verdict(&b), "case {i}");
        }
    }

    #[test]
    fn same_answers_as_x509_cert() {
        let inputs = inputs();
        let valid: Vec<&Vec<u8>> = inputs.iter().filter(|d| reference::from_der(d).is_ok()).collect();
        assert!(
            inputs.len() > 1000 && valid.len() > 300,
            "{} inputs, {} valid",
            inputs.len(),
            valid.len()
        );
        let mut compared = 0usize;
        let mut differ = Vec::new();
        let mut check = |d: &[u8]| {
            compared += 1;
            let (a, b) = (verdict(&Cert::from_der(d)), verdict(&reference::from_der(d)));
            if a != b {
                let cut = |s: &str| s.chars().take(300).collect::<String>();
                differ.push(format!(
                    "{}\n  hoviat: {}\n  x509-cert: {}",
                    cut(&hex_lower(d)),
                    cut(&a),
                    cut(&b)
                ));
            }
        };
        for d in &inputs {
            check(d);
        }
        // Corruptions: about 600 bytes spread over each valid certificate, each flipped in its
        // low bit, in its high bit and zeroed (tags, lengths, contents), and truncations.
        for d in valid.iter().take(400) {
            for i in (0..d.len()).step_by(1 + d.len() / 600) {
                for f in [|b: u8| b ^ 1, |b: u8| b ^ 0x80, |_| 0] {
                    let mut m = d.to_vec();
                    m[i] = f(m[i]);
                    check(&m);
                }
            }
            for cut in [1, 2, d.len() / 2, d.len() - 1] {
                check(&d[..d.len().saturating_sub(cut)]);
            }
        }
        assert!(
            differ.is_empty(),
            "{} of {compared} inputs differ, e.g.\n{}",
            differ.len(),
            differ[..differ.len().min(5)].join("\n")
        );
    }
}
