//! Reading ContentInfo / SignedData / SignerInfo in place (DER), keeping the exact received
//! bytes of what is signed.

use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};

use super::CmsError;
use crate::pki::Cert;
use crate::pki::alg::HashAlg;
use crate::pki::crl::Crl;
use crate::pki::name::DistinguishedName;
use crate::time::UnixTime;

/// Largest CMS message accepted, in DER bytes (attached content included).
pub const MAX_CMS_LEN: usize = 64 * 1024 * 1024;
/// Most SignerInfos in one message.
pub const MAX_SIGNERS: usize = 16;
/// Most embedded certificates.
pub const MAX_CERTS: usize = 64;
/// Most embedded CRLs.
pub const MAX_CRLS: usize = 16;
/// Most signed (or unsigned) attributes of one signer.
pub const MAX_ATTRIBUTES: usize = 64;

/// OIDs of CMS.
pub mod oid {
    use const_oid::ObjectIdentifier as Oid;
    /// id-data
    pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    /// id-signedData
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// id-contentType
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    /// id-messageDigest
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    /// id-signingTime
    pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    /// id-aa-signingCertificate (ESS, RFC 2634)
    pub const SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
    /// id-aa-signingCertificateV2 (ESS, RFC 5035)
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
}

/// How a SignerInfo names its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerId {
    /// issuerAndSerialNumber
    IssuerAndSerial {
        /// The issuer name.
        issuer: DistinguishedName,
        /// The serial number's INTEGER content octets, as encoded.
        serial: Vec<u8>,
    },
    /// subjectKeyIdentifier
    SubjectKeyId(Vec<u8>),
}

impl SignerId {
    /// Whether `c` is the certificate this identifier names.
    pub fn matches(&self, c: &Cert) -> bool {
        match self {
            Self::IssuerAndSerial { issuer, serial } => c.serial == *serial && c.issuer.matches(issuer),
            Self::SubjectKeyId(k) => match &c.ski {
                Some(s) => s == k,
                // No extension: the RFC 5280 method-1 identifier of its key.
                None => c.key.as_ref().is_ok_and(|key| key.key_id() == *k),
            },
        }
    }

    /// Readable form for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::IssuerAndSerial { issuer, serial } => {
                format!("issuer \"{issuer}\", serial {}", crate::pki::cert::hex_upper(serial))
            }
            Self::SubjectKeyId(k) => format!("subjectKeyIdentifier {}", crate::pki::cert::hex_upper(k)),
        }
    }
}

/// One ESSCertID(v2) of a signing-certificate attribute: the hash of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EssCertId {
    /// Hash algorithm (SHA-1 for version 1, default SHA-256 for version 2).
    pub hash: HashAlg,
    /// The certificate hash.
    pub cert_hash: Vec<u8>,
}

/// The signed attributes of one signer, as received.
#[derive(Clone, Debug)]
pub struct SignedAttributes {
    /// The exact received bytes of `[0] IMPLICIT SET OF Attribute`, with the first octet
    /// replaced by the SET tag `0x31`: what the signature covers (RFC 5652 §5.4).
    pub signed_bytes: Vec<u8>,
    /// The contentType attribute's value.
    pub content_type: Option<Oid>,
    /// The messageDigest attribute's value.
    pub message_digest: Option<Vec<u8>>,
    /// The signingTime attribute (the signer's claim).
    pub signing_time: Option<UnixTime>,
    /// ESS signing-certificate (version 1) first ESSCertID.
    pub signing_certificate: Option<EssCertId>,
    /// ESS signing-certificate-v2 first ESSCertID.
    pub signing_certificate_v2: Option<EssCertId>,
    /// Every attribute's OID, in received order.
    pub types: Vec<Oid>,
}

/// One SignerInfo.
#[derive(Clone, Debug)]
pub struct SignerInfo {
    /// The signer identifier.
    pub sid: SignerId,
    /// digestAlgorithm OID.
    pub digest_alg: Oid,
    /// signatureAlgorithm OID and the raw TLV of its parameters.
    pub sig_alg: (Oid, Option<Vec<u8>>),
    /// Signed attributes, or why they are unusable (kept so that the error names the signer).
    pub signed_attrs: Option<Result<SignedAttributes, String>>,
    /// The signature value.
    pub signature: Vec<u8>,
}

/// A parsed SignedData.
#[derive(Clone, Debug)]
pub struct SignedData {
    /// eContentType.
    pub content_type: Oid,
    /// eContent, when attached.
    pub content: Option<Vec<u8>>,
    /// Embedded certificates (other CertificateChoices are skipped).
    pub certificates: Vec<Arc<Cert>>,
    /// Embedded CRLs (other RevocationInfoChoices are skipped).
    pub crls: Vec<Arc<Crl>>,
    /// The signers, in order.
    pub signers: Vec<SignerInfo>,
}

fn malformed(what: &str) -> impl Fn(der::Error) -> CmsError + '_ {
    move |e| CmsError::Malformed(format!("{what}: {e}"))
}

/// The elements of a constructed value's content, with each one's raw TLV bytes.
fn elements<'a>(content: &'a [u8], max: usize, what: &'static str) -> Result<Vec<(AnyRef<'a>, &'a [u8])>, CmsError> {
    let mut r = SliceReader::new(content).map_err(malformed(what))?;
    let mut out = Vec::new();
    while !r.is_finished() {
        if out.len() >= max {
            return Err(CmsError::TooLarge { what, limit: max });
        }
        let raw = r.tlv_bytes().map_err(malformed(what))?;
        let any = AnyRef::from_der(raw).map_err(malformed(what))?;
        out.push((any, raw));
    }
    Ok(out)
}

fn expect(any: &AnyRef<'_>, tag: Tag, what: &str) -> Result<(), CmsError> {
    if any.tag() == tag {
        Ok(())
    } else {
        Err(CmsError::Malformed(format!("{what} is not {tag}")))
    }
}

fn context(any: &AnyRef<'_>) -> Option<(u32, bool)> {
    match any.tag() {
        Tag::ContextSpecific { constructed, number } => Some((number.value(), constructed)),
        _ => None,
    }
}

fn oid_of(any: &AnyRef<'_>, what: &str) -> Result<Oid, CmsError> {
    any.decode_as::<Oid>()
        .map_err(|e| CmsError::Malformed(format!("{what}: {e}")))
}

/// An AlgorithmIdentifier's OID and parameters TLV.
fn algorithm(any: &AnyRef<'_>, what: &'static str) -> Result<(Oid, Option<Vec<u8>>), CmsError> {
    expect(any, Tag::Sequence, what)?;
    let items = elements(any.value(), 2, what)?;
    match items.as_slice() {
        [(o, _)] => Ok((oid_of(o, what)?, None)),
        [(o, _), (_, p)] => Ok((oid_of(o, what)?, Some(p.to_vec()))),
        _ => Err(CmsError::Malformed(format!("{what}: empty AlgorithmIdentifier"))),
    }
}

/// Explains the commonest reason der refuses a message: BER indefinite lengths.
fn check_der_start(bytes: &[u8]) -> Result<(), CmsError> {
    if bytes.get(1) == Some(&0x80) {
        return Err(CmsError::Malformed(
            "BER indefinite-length encoding; hoviat reads DER (re-encode with `openssl cms -cmsout -outform DER`)"
                .into(),
        ));
    }
    Ok(())
}

impl SignedData {
    /// Parses a DER ContentInfo holding SignedData.
    pub fn from_der(bytes: &[u8]) -> Result<Self, CmsError> {
        if bytes.len() > MAX_CMS_LEN {
            return Err(CmsError::TooLarge {
                what: "CMS message (bytes)",
                limit: MAX_CMS_LEN,
            });
        }
        check_der_start(bytes)?;
        let ci = AnyRef::from_der(bytes).map_err(malformed("ContentInfo"))?;
        expect(&ci, Tag::Sequence, "ContentInfo")?;
        let parts = elements(ci.value(), 2, "ContentInfo")?;
        let [(ct, _), (content, _)] = parts.as_slice() else {
            return Err(CmsError::Malformed(
                "ContentInfo must have contentType and content".into(),
            ));
        };
        let ct = oid_of(ct, "ContentInfo contentType")?;
        if ct != oid::SIGNED_DATA {
            return Err(CmsError::NotSignedData(ct.to_string()));
        }
        if context(content) != Some((0, true)) {
            return Err(CmsError::Malformed("ContentInfo content is not [0] EXPLICIT".into()));
        }
        check_der_start(content.value())?;
        let sd = AnyRef::from_der(content.value()).map_err(malformed("SignedData"))?;
        expect(&sd, Tag::Sequence, "SignedData")?;
        let fields = elements(sd.value(), 6, "SignedData")?;
        let mut it = fields.iter().peekable();
        let mut next = |what: &str| {
            it.next()
                .map(|(a, _)| *a)
                .ok_or_else(|| CmsError::Malformed(format!("SignedData: {what} missing")))
        };
        let version = next("version")?;
        let v: u8 = version.decode_as().map_err(malformed("SignedData version"))?;
        if !matches!(v, 1 | 3 | 4 | 5) {
            return Err(CmsError::Malformed(format!("SignedData version {v}")));
        }
        let dig = next("digestAlgorithms")?;
        expect(&dig, Tag::Set, "digestAlgorithms")?;
        for (a, _) in elements(dig.value(), 16, "digestAlgorithms")? {
            algorithm(&a, "digestAlgorithms")?;
        }
        let encap = next("encapContentInfo")?;
        let (content_type, content) = encap_content(&encap)?;
        let mut certificates = Vec::new();
        let mut crls = Vec::new();
        let mut cur = next("signerInfos")?;
        if context(&cur) == Some((0, true)) {
            for (c, raw) in elements(cur.value(), MAX_CERTS, "certificates")? {
                // Only `certificate Certificate`; attribute and other certificates are skipped.
                if c.tag() == Tag::Sequence {
                    certificates.push(Arc::new(Cert::from_der(raw)?));
                }
            }
            cur = next("signerInfos")?;
        }
        if context(&cur) == Some((1, true)) {
            for (c, raw) in elements(cur.value(), MAX_CRLS, "crls")? {
                if c.tag() == Tag::Sequence {
                    crls.push(Arc::new(Crl::from_vec(raw.to_vec())?));
                }
            }
            cur = next("signerInfos")?;
        }
        expect(&cur, Tag::Set, "signerInfos")?;
        let signers = elements(cur.value(), MAX_SIGNERS, "signerInfos")?
            .iter()
            .map(|(s, _)| SignerInfo::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        if it.next().is_some() {
            return Err(CmsError::Malformed("SignedData: fields after signerInfos".into()));
        }
        Ok(Self {
            content_type,
            content,
            certificates,
            crls,
            signers,
        })
    }
}

fn wrap(tag: Tag, parts: &[&[u8]]) -> Result<Vec<u8>, CmsError> {
    use der::Encode;
    let content: Vec<u8> = parts.concat();
    AnyRef::new(tag, &content)
        .and_then(|a| a.to_der())
        .map_err(|e| CmsError::Malformed(format!("re-encoding: {e}")))
}

/// The SignedData in `bytes` (DER) without certificates and CRLs and with the content
/// detached; version, digestAlgorithms, eContentType and signerInfos are kept as received.
pub(super) fn bare(bytes: &[u8]) -> Result<Vec<u8>, CmsError> {
    // Everything is checked by the full reader first: only a message it accepts is reduced.
    SignedData::from_der(bytes)?;
    let ci = AnyRef::from_der(bytes).map_err(malformed("ContentInfo"))?;
    let parts = elements(ci.value(), 2, "ContentInfo")?;
    let [(_, ct_raw), (content, _)] = parts.as_slice() else {
        return Err(CmsError::Malformed(
            "ContentInfo must have contentType and content".into(),
        ));
    };
    let sd = AnyRef::from_der(content.value()).map_err(malformed("SignedData"))?;
    let fields = elements(sd.value(), 6, "SignedData")?;
    let (Some((_, version)), Some((_, digests)), Some((encap, _)), Some((last, signers))) =
        (fields.first(), fields.get(1), fields.get(2), fields.last())
    else {
        return Err(CmsError::Malformed("SignedData: fields missing".into()));
    };
    if last.tag() != Tag::Set {
        return Err(CmsError::Malformed("SignedData: signerInfos is not last".into()));
    }
    let encap_parts = elements(encap.value(), 2, "encapContentInfo")?;
    let (_, e_ct) = encap_parts
        .first()
        .ok_or_else(|| CmsError::Malformed("encapContentInfo without eContentType".into()))?;
    let encap = wrap(Tag::Sequence, &[e_ct])?;
    let signed = wrap(Tag::Sequence, &[version, digests, &encap, signers])?;
    let explicit = wrap(
        Tag::ContextSpecific {
            constructed: true,
            number: der::TagNumber(0),
        },
        &[&signed],
    )?;
    wrap(Tag::Sequence, &[ct_raw, &explicit])
}

fn encap_content(encap: &AnyRef<'_>) -> Result<(Oid, Option<Vec<u8>>), CmsError> {
    expect(encap, Tag::Sequence, "encapContentInfo")?;
    let parts = elements(encap.value(), 2, "encapContentInfo")?;
    let (ct, rest) = parts
        .split_first()
        .ok_or_else(|| CmsError::Malformed("encapContentInfo without eContentType".into()))?;
    let ct = oid_of(&ct.0, "eContentType")?;
    let content = match rest {
        [] => None,
        [(c, _)] => {
            if context(c) != Some((0, true)) {
                return Err(CmsError::Malformed("eContent is not [0] EXPLICIT".into()));
            }
            check_der_start(c.value())?;
            let os = AnyRef::from_der(c.value()).map_err(malformed("eContent"))?;
            if os.tag() != Tag::OctetString {
                return Err(CmsError::Malformed(
                    "eContent is not a primitive OCTET STRING (BER constructed strings are not DER)".into(),
                ));
            }
            Some(os.value().to_vec())
        }
        _ => return Err(CmsError::Malformed("encapContentInfo has extra fields".into())),
    };
    Ok((ct, content))
}

impl SignerInfo {
    fn parse(s: &AnyRef<'_>) -> Result<Self, CmsError> {
        expect(s, Tag::Sequence, "SignerInfo")?;
        let fields = elements(s.value(), 7, "SignerInfo")?;
        let mut it = fields.iter();
        let mut next = |what: &str| {
            it.next()
                .copied()
                .ok_or_else(|| CmsError::Malformed(format!("SignerInfo: {what} missing")))
        };
        let (version, _) = next("version")?;
        let v: u8 = version.decode_as().map_err(malformed("SignerInfo version"))?;
        let (sid, _) = next("sid")?;
        let sid = match (sid.tag(), context(&sid)) {
            (Tag::Sequence, _) => {
                let parts = elements(sid.value(), 2, "issuerAndSerialNumber")?;
                let [(_, issuer), (serial, _)] = parts.as_slice() else {
                    return Err(CmsError::Malformed("issuerAndSerialNumber must have two fields".into()));
                };
                expect(serial, Tag::Integer, "serialNumber")?;
                if serial.value().is_empty() {
                    return Err(CmsError::Malformed("empty serialNumber".into()));
                }
                SignerId::IssuerAndSerial {
                    issuer: DistinguishedName::from_der(issuer)
                        .map_err(|e| CmsError::Malformed(format!("issuerAndSerialNumber: {e}")))?,
                    serial: serial.value().to_vec(),
                }
            }
            (_, Some((0, false))) => SignerId::SubjectKeyId(sid.value().to_vec()),
            _ => return Err(CmsError::Malformed("SignerIdentifier is neither form".into())),
        };
        let expected_version = if matches!(sid, SignerId::SubjectKeyId(_)) { 3 } else { 1 };
        if v != expected_version {
            return Err(CmsError::Malformed(format!(
                "SignerInfo version {v} with this signer identifier (RFC 5652 §5.3 needs {expected_version})"
            )));
        }
        let (dig, _) = next("digestAlgorithm")?;
        let (digest_alg, _) = algorithm(&dig, "digestAlgorithm")?;
        let (mut cur, mut cur_raw) = next("signatureAlgorithm")?;
        let mut signed_attrs = None;
        if context(&cur) == Some((0, true)) {
            signed_attrs = Some(SignedAttributes::parse(cur.value(), cur_raw));
            (cur, cur_raw) = next("signatureAlgorithm")?;
        }
        let _ = cur_raw;
        let sig_alg = algorithm(&cur, "signatureAlgorithm")?;
        let (sig, _) = next("signature")?;
        expect(&sig, Tag::OctetString, "signature")?;
        if let Ok((u, _)) = next("unsignedAttrs") {
            if context(&u) != Some((1, true)) {
                return Err(CmsError::Malformed(
                    "SignerInfo: unexpected field after signature".into(),
                ));
            }
            elements(u.value(), MAX_ATTRIBUTES, "unsignedAttrs")?;
        }
        if it.next().is_some() {
            return Err(CmsError::Malformed("SignerInfo: too many fields".into()));
        }
        Ok(Self {
            sid,
            digest_alg,
            sig_alg,
            signed_attrs,
            signature: sig.value().to_vec(),
        })
    }
}

fn single_value<'a>(values: &'a AnyRef<'a>, name: &str) -> Result<AnyRef<'a>, String> {
    if values.tag() != Tag::Set {
        return Err(format!("{name}: attrValues is not a SET"));
    }
    let items = elements(values.value(), 2, "attrValues").map_err(|e| e.to_string())?;
    match items.as_slice() {
        [(v, _)] => Ok(*v),
        _ => Err(format!("{name} must have exactly one value (RFC 5652 §11)")),
    }
}

fn ess_cert_id(v: &AnyRef<'_>, version2: bool) -> Result<EssCertId, String> {
    let bad = |w: &str| format!("ESS signing-certificate{}: {w}", if version2 { "-v2" } else { "" });
    if v.tag() != Tag::Sequence {
        return Err(bad("not a SEQUENCE"));
    }
    let top = elements(v.value(), 2, "SigningCertificate").map_err(|e| bad(&e.to_string()))?;
    let (certs, _) = top.first().ok_or_else(|| bad("no certs"))?;
    if certs.tag() != Tag::Sequence {
        return Err(bad("certs is not a SEQUENCE"));
    }
    let ids = elements(certs.value(), 64, "ESSCertIDs").map_err(|e| bad(&e.to_string()))?;
    let (first, _) = ids.first().ok_or_else(|| bad("empty certs"))?;
    if first.tag() != Tag::Sequence {
        return Err(bad("ESSCertID is not a SEQUENCE"));
    }
    let f = elements(first.value(), 3, "ESSCertID").map_err(|e| bad(&e.to_string()))?;
    let mut fi = f.iter().map(|(a, _)| *a).peekable();
    let mut hash = if version2 { HashAlg::Sha256 } else { HashAlg::Sha1 };
    if version2 && fi.peek().is_some_and(|a| a.tag() == Tag::Sequence) {
        let a = fi.next().ok_or_else(|| bad("hashAlgorithm"))?;
        let (o, _) = algorithm(&a, "ESSCertIDv2 hashAlgorithm").map_err(|e| bad(&e.to_string()))?;
        hash = hash_of(&o).ok_or_else(|| bad(&format!("hash algorithm {o}")))?;
    }
    let h = fi.next().ok_or_else(|| bad("no certHash"))?;
    if h.tag() != Tag::OctetString {
        return Err(bad("certHash is not an OCTET STRING"));
    }
    Ok(EssCertId {
        hash,
        cert_hash: h.value().to_vec(),
    })
}

/// A digest algorithm OID's hash.
pub fn hash_of(o: &Oid) -> Option<HashAlg> {
    use crate::pki::alg::oid as a;
    Some(match *o {
        a::SHA1 => HashAlg::Sha1,
        a::SHA256 => HashAlg::Sha256,
        a::SHA384 => HashAlg::Sha384,
        a::SHA512 => HashAlg::Sha512,
        _ => return None,
    })
}

impl SignedAttributes {
    fn parse(content: &[u8], raw: &[u8]) -> Result<Self, String> {
        let mut signed_bytes = raw.to_vec();
        if let Some(first) = signed_bytes.first_mut() {
            *first = 0x31;
        }
        let mut out = Self {
            signed_bytes,
            content_type: None,
            message_digest: None,
            signing_time: None,
            signing_certificate: None,
            signing_certificate_v2: None,
            types: Vec::new(),
        };
        let attrs = elements(content, MAX_ATTRIBUTES, "signedAttrs").map_err(|e| e.to_string())?;
        if attrs.is_empty() {
            return Err("empty signedAttrs (SIZE (1..MAX))".into());
        }
        for (a, _) in &attrs {
            if a.tag() != Tag::Sequence {
                return Err("an Attribute is not a SEQUENCE".into());
            }
            let parts = elements(a.value(), 2, "Attribute").map_err(|e| e.to_string())?;
            let [(t, _), (values, _)] = parts.as_slice() else {
                return Err("an Attribute must have a type and values".into());
            };
            let t = t.decode_as::<Oid>().map_err(|e| format!("attribute type: {e}"))?;
            let name = match t {
                oid::CONTENT_TYPE => "contentType",
                oid::MESSAGE_DIGEST => "messageDigest",
                oid::SIGNING_TIME => "signingTime",
                oid::SIGNING_CERTIFICATE => "signingCertificate",
                oid::SIGNING_CERTIFICATE_V2 => "signingCertificateV2",
                _ => "",
            };
            if !name.is_empty() && out.types.contains(&t) {
                return Err(format!("{name} appears twice"));
            }
            out.types.push(t);
            match t {
                oid::CONTENT_TYPE => {
                    let v = single_value(values, name)?;
                    out.content_type = Some(v.decode_as::<Oid>().map_err(|e| format!("{name}: {e}"))?);
                }
                oid::MESSAGE_DIGEST => {
                    let v = single_value(values, name)?;
                    if v.tag() != Tag::OctetString {
                        return Err(format!("{name} is not an OCTET STRING"));
                    }
                    out.message_digest = Some(v.value().to_vec());
                }
                oid::SIGNING_TIME => {
                    let v = single_value(values, name)?;
                    // UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652 §11.3).
                    out.signing_time = Some(crate::pki::cert::time_of(v).map_err(|e| format!("{name}: {e}"))?);
                }
                oid::SIGNING_CERTIFICATE => {
                    out.signing_certificate = Some(ess_cert_id(&single_value(values, name)?, false)?);
                }
                oid::SIGNING_CERTIFICATE_V2 => {
                    out.signing_certificate_v2 = Some(ess_cert_id(&single_value(values, name)?, true)?);
                }
                _ => {
                    if values.tag() != Tag::Set {
                        return Err(format!("attribute {t}: attrValues is not a SET"));
                    }
                }
            }
        }
        Ok(out)
    }
}
