//! OCSP (RFC 6960): requests with a SHA-1 or SHA-256 CertID and an optional nonce (RFC 8954),
//! and verification of basic responses: signed by the issuing CA or by a delegated responder
//! that CA issued with the OCSPSigning purpose; CertID matching; nonce matching when one was
//! sent; thisUpdate / nextUpdate windows with a configurable skew; good / revoked / unknown.
//!
//! Pure like the rest of `pki`: time and the signature backend are arguments. Fetching over
//! HTTP is [`fetch`], a small blocking HTTP/1.0 client with a timeout.

use std::ops::Range;
use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};

use super::PkiError;
use super::alg::{AlgorithmPolicy, HashAlg, SigAlg, SignatureBackend, oid as alg_oid};
use super::cert::{Cert, eku, ku, raw_first_element};
use super::name::DistinguishedName;
use crate::time::UnixTime;

/// id-pkix-ocsp-basic
const OCSP_BASIC: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce
const OCSP_NONCE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-pkix-ocsp-nocheck
const OCSP_NOCHECK: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// Largest OCSP response accepted.
pub const MAX_RESPONSE_LEN: usize = 64 * 1024;
/// Most SingleResponses, certificates and extensions read from one response.
const MAX_ITEMS: usize = 64;

fn bad(e: impl std::fmt::Display) -> PkiError {
    PkiError::OcspMalformed(detail!("{e}"))
}

// ---------------------------------------------------------------------------------------------
// DER encoding (requests are small; a few helpers are enough)
// ---------------------------------------------------------------------------------------------

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &items.concat())
}

fn oid_tlv(o: &Oid) -> Vec<u8> {
    tlv(0x06, o.as_bytes())
}

fn hash_oid(h: HashAlg) -> Oid {
    match h {
        HashAlg::Sha1 => alg_oid::SHA1,
        HashAlg::Sha256 => alg_oid::SHA256,
        HashAlg::Sha384 => alg_oid::SHA384,
        HashAlg::Sha512 => alg_oid::SHA512,
    }
}

fn hash_from_oid(o: &Oid) -> Option<HashAlg> {
    Some(match *o {
        alg_oid::SHA1 => HashAlg::Sha1,
        alg_oid::SHA256 => HashAlg::Sha256,
        alg_oid::SHA384 => HashAlg::Sha384,
        alg_oid::SHA512 => HashAlg::Sha512,
        _ => return None,
    })
}

/// The subjectPublicKey BIT STRING contents of a certificate's key (what issuerKeyHash and
/// ResponderID byKey hash).
fn key_bits(c: &Cert) -> Result<Vec<u8>, PkiError> {
    let key = c.key.clone()?;
    let spki = AnyRef::from_der(&key.spki).map_err(bad)?;
    let mut r = SliceReader::new(spki.value()).map_err(bad)?;
    let _alg = AnyRef::decode(&mut r).map_err(bad)?;
    let bits = der::asn1::BitStringRef::decode(&mut r).map_err(bad)?;
    bits.as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| bad("public key BIT STRING has unused bits"))
}

/// The identifier of one certificate in a request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertId {
    /// The hash of the name and key hashes.
    pub hash: HashAlg,
    /// Hash of the issuer's subject Name DER.
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's subjectPublicKey bits.
    pub issuer_key_hash: Vec<u8>,
    /// The certificate's serial number (INTEGER content octets).
    pub serial: Vec<u8>,
}

impl CertId {
    /// The CertID of `cert` issued by `issuer`, with `hash` (SHA-1 or SHA-256 in practice).
    pub fn new(cert: &Cert, issuer: &Cert, hash: HashAlg) -> Result<Self, PkiError> {
        Ok(Self {
            hash,
            issuer_name_hash: hash.digest(&issuer.subject.der),
            issuer_key_hash: hash.digest(&key_bits(issuer)?),
            serial: cert.serial.clone(),
        })
    }

    /// The CertID's DER (as in a request or a response's SingleResponse).
    pub fn encode(&self) -> Vec<u8> {
        seq(&[
            seq(&[oid_tlv(&hash_oid(self.hash)), vec![0x05, 0x00]]),
            tlv(0x04, &self.issuer_name_hash),
            tlv(0x04, &self.issuer_key_hash),
            tlv(0x02, &self.serial),
        ])
    }
}

/// The extension value of a nonce extension carrying `nonce` (RFC 8954: an OCTET STRING).
fn nonce_ext_value(nonce: &[u8]) -> Vec<u8> {
    tlv(0x04, nonce)
}

/// Builds a DER OCSPRequest for `ids`, with a nonce extension when `nonce` is given (RFC 8954
/// allows 1 to 32 bytes; 16 or 32 random bytes are usual).
pub fn build_request(ids: &[CertId], nonce: Option<&[u8]>) -> Result<Vec<u8>, PkiError> {
    if ids.is_empty() || ids.len() > MAX_ITEMS {
        return Err(bad("an OCSP request names 1 to 64 certificates"));
    }
    let requests: Vec<Vec<u8>> = ids.iter().map(|id| seq(&[id.encode()])).collect();
    let mut tbs = vec![seq(&requests)];
    if let Some(n) = nonce {
        if n.is_empty() || n.len() > 32 {
            return Err(bad("an OCSP nonce has 1 to 32 bytes (RFC 8954)"));
        }
        let ext = seq(&[oid_tlv(&OCSP_NONCE), tlv(0x04, &nonce_ext_value(n))]);
        tbs.push(tlv(0xA2, &seq(&[ext])));
    }
    Ok(seq(&[seq(&tbs)]))
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// A certificate's status as a response states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    /// Not revoked.
    Good,
    /// Revoked at this time, with the CRLReason code if given.
    Revoked {
        /// revocationTime
        time: UnixTime,
        /// revocationReason
        reason: Option<u8>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// One SingleResponse.
#[derive(Clone, Debug)]
pub struct SingleResponse {
    hash_oid: Oid,
    issuer_name_hash: Vec<u8>,
    issuer_key_hash: Vec<u8>,
    serial: Vec<u8>,
    /// The status.
    pub status: CertStatus,
    /// thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate, if given.
    pub next_update: Option<UnixTime>,
}

/// How the response names its signer.
#[derive(Clone, Debug)]
pub enum ResponderId {
    /// byName
    Name(DistinguishedName),
    /// byKey: SHA-1 of the signer's subjectPublicKey bits.
    KeyHash(Vec<u8>),
}

/// A parsed, not yet verified, successful basic OCSP response.
#[derive(Clone, Debug)]
pub struct OcspResponse {
    der: Vec<u8>,
    tbs: Range<usize>,
    sig_alg: Result<SigAlg, PkiError>,
    signature: Vec<u8>,
    /// The signer as named by the response.
    pub responder: ResponderId,
    /// producedAt.
    pub produced_at: UnixTime,
    /// The SingleResponses.
    pub responses: Vec<SingleResponse>,
    /// The nonce extension's value (extnValue contents), if present.
    pub nonce: Option<Vec<u8>>,
    /// Certificates the responder included (a delegated responder's certificate).
    pub certs: Vec<Arc<Cert>>,
}

fn gen_time(any: AnyRef<'_>) -> Result<UnixTime, PkiError> {
    if any.tag() != Tag::GeneralizedTime {
        return Err(bad("expected GeneralizedTime"));
    }
    let t: der::asn1::GeneralizedTime = any.decode_as().map_err(bad)?;
    Ok(UnixTime(
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX),
    ))
}

fn items(content: &[u8]) -> Result<Vec<AnyRef<'_>>, PkiError> {
    let mut r = SliceReader::new(content).map_err(bad)?;
    let mut out = Vec::new();
    while !r.is_finished() {
        if out.len() >= MAX_ITEMS {
            return Err(bad("too many items"));
        }
        out.push(AnyRef::decode(&mut r).map_err(bad)?);
    }
    Ok(out)
}

fn ctx_number(a: &AnyRef<'_>) -> Option<u32> {
    match a.tag() {
        Tag::ContextSpecific { number, .. } => Some(number.value()),
        _ => None,
    }
}

fn expect_seq<'a>(a: &AnyRef<'a>, what: &str) -> Result<Vec<AnyRef<'a>>, PkiError> {
    if a.tag() != Tag::Sequence {
        return Err(bad(detail!("{what} is not a SEQUENCE")));
    }
    items(a.value())
}

/// Reads `Extensions`; returns the nonce value; refuses unknown critical extensions.
fn read_extensions(content: &[u8]) -> Result<Option<Vec<u8>>, PkiError> {
    let outer = AnyRef::from_der(content).map_err(bad)?;
    let mut nonce = None;
    let mut seen = Vec::new();
    for ext in expect_seq(&outer, "Extensions")? {
        let parts = expect_seq(&ext, "Extension")?;
        let (o, crit, val) = match parts.as_slice() {
            [o, v] => (o, false, v),
            [o, c, v] if c.tag() == Tag::Boolean => (o, c.decode_as::<bool>().map_err(bad)?, v),
            _ => return Err(bad("Extension structure")),
        };
        let o: Oid = o.decode_as().map_err(bad)?;
        if val.tag() != Tag::OctetString {
            return Err(bad("extnValue is not an OCTET STRING"));
        }
        if seen.contains(&o) {
            return Err(bad(detail!("extension {o} appears twice")));
        }
        seen.push(o);
        match o {
            OCSP_NONCE => nonce = Some(val.value().to_vec()),
            _ if crit => return Err(PkiError::OcspUnsupported(detail!("critical extension {o}"))),
            _ => {}
        }
    }
    Ok(nonce)
}

fn parse_single(a: &AnyRef<'_>) -> Result<SingleResponse, PkiError> {
    let f = expect_seq(a, "SingleResponse")?;
    let (id, status, this_update, rest) = match f.as_slice() {
        [id, st, tu, rest @ ..] => (id, st, tu, rest),
        _ => return Err(bad("SingleResponse structure")),
    };
    let idf = expect_seq(id, "CertID")?;
    let [alg, nh, kh, serial] = idf.as_slice() else {
        return Err(bad("CertID structure"));
    };
    let algf = expect_seq(alg, "AlgorithmIdentifier")?;
    let hash_oid: Oid = algf
        .first()
        .ok_or_else(|| bad("empty AlgorithmIdentifier"))?
        .decode_as()
        .map_err(bad)?;
    if nh.tag() != Tag::OctetString || kh.tag() != Tag::OctetString || serial.tag() != Tag::Integer {
        return Err(bad("CertID field types"));
    }
    let status = match (ctx_number(status), status.tag()) {
        (Some(0), Tag::ContextSpecific { constructed: false, .. }) if status.value().is_empty() => CertStatus::Good,
        (Some(2), Tag::ContextSpecific { constructed: false, .. }) if status.value().is_empty() => CertStatus::Unknown,
        (Some(1), Tag::ContextSpecific { constructed: true, .. }) => {
            let ri = items(status.value())?;
            let (time, reason) = match ri.as_slice() {
                [t] => (gen_time(*t)?, None),
                [t, r] if ctx_number(r) == Some(0) => {
                    let e = AnyRef::from_der(r.value()).map_err(bad)?;
                    if e.tag() != Tag::Enumerated || e.value().len() != 1 {
                        return Err(bad("revocationReason"));
                    }
                    (gen_time(*t)?, Some(e.value()[0]))
                }
                _ => return Err(bad("RevokedInfo structure")),
            };
            CertStatus::Revoked { time, reason }
        }
        _ => return Err(bad("CertStatus")),
    };
    let mut s = SingleResponse {
        hash_oid,
        issuer_name_hash: nh.value().to_vec(),
        issuer_key_hash: kh.value().to_vec(),
        serial: serial.value().to_vec(),
        status,
        this_update: gen_time(*this_update)?,
        next_update: None,
    };
    let mut last = None;
    for r in rest {
        let n = ctx_number(r).ok_or_else(|| bad("SingleResponse field"))?;
        if last.is_some_and(|l| n <= l) || n > 1 {
            return Err(bad("SingleResponse field order"));
        }
        last = Some(n);
        if n == 0 {
            s.next_update = Some(gen_time(AnyRef::from_der(r.value()).map_err(bad)?)?);
        } else {
            // singleExtensions: nothing hoviat uses; refuse unknown critical ones.
            read_extensions(r.value())?;
        }
    }
    Ok(s)
}

impl OcspResponse {
    /// The signed part (tbsResponseData), exactly as received.
    pub fn tbs(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// Parses a DER OCSPResponse. A response whose responseStatus is not `successful` is
    /// `OCSP_NOT_SUCCESSFUL`; a response type other than basic is `OCSP_UNSUPPORTED`.
    pub fn from_der(input: &[u8]) -> Result<Self, PkiError> {
        if input.len() > MAX_RESPONSE_LEN {
            return Err(PkiError::InputTooLarge {
                what: "OCSP response",
                limit: MAX_RESPONSE_LEN,
            });
        }
        let outer = AnyRef::from_der(input).map_err(bad)?;
        let f = expect_seq(&outer, "OCSPResponse")?;
        let (status, rest) = f.split_first().ok_or_else(|| bad("empty OCSPResponse"))?;
        if status.tag() != Tag::Enumerated || status.value().len() != 1 {
            return Err(bad("responseStatus"));
        }
        let code = status.value()[0];
        if code != 0 {
            let name = match code {
                1 => "malformedRequest",
                2 => "internalError",
                3 => "tryLater",
                5 => "sigRequired",
                6 => "unauthorized",
                _ => "unknown status",
            };
            return Err(PkiError::OcspNotSuccessful(detail!("{name} ({code})")));
        }
        let [rb] = rest else {
            return Err(bad("successful response without responseBytes"));
        };
        if ctx_number(rb) != Some(0) {
            return Err(bad("responseBytes tag"));
        }
        let rb = AnyRef::from_der(rb.value()).map_err(bad)?;
        let rbf = expect_seq(&rb, "ResponseBytes")?;
        let [rtype, resp] = rbf.as_slice() else {
            return Err(bad("ResponseBytes structure"));
        };
        let rtype: Oid = rtype.decode_as().map_err(bad)?;
        if rtype != OCSP_BASIC {
            return Err(PkiError::OcspUnsupported(detail!("response type {rtype}")));
        }
        if resp.tag() != Tag::OctetString {
            return Err(bad("response is not an OCTET STRING"));
        }
        Self::from_basic_der(resp.value())
    }

    /// Parses a DER BasicOCSPResponse.
    fn from_basic_der(basic: &[u8]) -> Result<Self, PkiError> {
        let outer = AnyRef::from_der(basic).map_err(bad)?;
        let f = expect_seq(&outer, "BasicOCSPResponse")?;
        let (tbs, alg, sig, certs) = match f.as_slice() {
            [t, a, s] => (t, a, s, None),
            [t, a, s, c] if ctx_number(c) == Some(0) => (t, a, s, Some(c)),
            _ => return Err(bad("BasicOCSPResponse structure")),
        };
        let tbs_range = raw_first_element(basic).map_err(bad)?;
        let algf = expect_seq(alg, "signatureAlgorithm")?;
        let (o, params) = match algf.as_slice() {
            [o] => (o, None),
            [o, p] => (o, Some(*p)),
            _ => return Err(bad("signatureAlgorithm structure")),
        };
        let sig_alg = SigAlg::from_algorithm_identifier(&o.decode_as::<Oid>().map_err(bad)?, params);
        let signature = sig
            .decode_as::<der::asn1::BitStringRef<'_>>()
            .map_err(bad)?
            .as_bytes()
            .ok_or_else(|| bad("signature has unused bits"))?
            .to_vec();
        let mut cert_list = Vec::new();
        if let Some(c) = certs {
            let seqc = AnyRef::from_der(c.value()).map_err(bad)?;
            for item in expect_seq(&seqc, "certs")? {
                let d = der::Encode::to_der(&item).map_err(bad)?;
                cert_list.push(Arc::new(
                    Cert::from_der(&d).map_err(|e| bad(detail!("responder certificate: {e}")))?,
                ));
            }
        }

        let tf = expect_seq(tbs, "ResponseData")?;
        let mut it = tf.iter().peekable();
        if let Some(v) = it.peek()
            && ctx_number(v) == Some(0)
            && matches!(v.tag(), Tag::ContextSpecific { constructed: true, .. })
        {
            let ver = AnyRef::from_der(v.value()).map_err(bad)?;
            if ver.tag() != Tag::Integer || ver.value() != [0] {
                return Err(bad("ResponseData version must be v1"));
            }
            it.next();
        }
        let rid = it.next().ok_or_else(|| bad("no responderID"))?;
        let responder = match ctx_number(rid) {
            Some(1) => {
                let inner = AnyRef::from_der(rid.value()).map_err(bad)?;
                let d = der::Encode::to_der(&inner).map_err(bad)?;
                ResponderId::Name(DistinguishedName::from_der(&d).map_err(bad)?)
            }
            Some(2) => {
                let inner = AnyRef::from_der(rid.value()).map_err(bad)?;
                if inner.tag() != Tag::OctetString {
                    return Err(bad("ResponderID byKey"));
                }
                ResponderId::KeyHash(inner.value().to_vec())
            }
            _ => return Err(bad("ResponderID")),
        };
        let produced_at = gen_time(*it.next().ok_or_else(|| bad("no producedAt"))?)?;
        let list = it.next().ok_or_else(|| bad("no responses"))?;
        let responses = expect_seq(list, "responses")?
            .iter()
            .map(parse_single)
            .collect::<Result<Vec<_>, _>>()?;
        if responses.is_empty() {
            return Err(bad("no SingleResponse"));
        }
        let mut nonce = None;
        if let Some(e) = it.next() {
            if ctx_number(e) != Some(1) {
                return Err(bad("ResponseData field"));
            }
            nonce = read_extensions(e.value())?;
        }
        if it.next().is_some() {
            return Err(bad("trailing data in ResponseData"));
        }
        Ok(Self {
            der: basic.to_vec(),
            tbs: tbs_range,
            sig_alg,
            signature,
            responder,
            produced_at,
            responses,
            nonce,
            certs: cert_list,
        })
    }

    fn tbs_bytes(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// The SingleResponse for `cert` issued by `issuer`, if the response has one.
    pub fn find(&self, cert: &Cert, issuer: &Cert) -> Result<Option<&SingleResponse>, PkiError> {
        let name_der = &issuer.subject.der;
        let key = key_bits(issuer)?;
        Ok(self.responses.iter().find(|s| {
            hash_from_oid(&s.hash_oid).is_some_and(|h| {
                s.serial == cert.serial
                    && s.issuer_name_hash == h.digest(name_der)
                    && s.issuer_key_hash == h.digest(&key)
            })
        }))
    }
}

/// Verification settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspOptions {
    /// Clock skew tolerated on thisUpdate (ahead of the validation time) and nextUpdate
    /// (behind it), in seconds.
    pub skew_secs: i64,
    /// When a response has no nextUpdate: how old its thisUpdate may be, in seconds.
    pub max_age_secs: i64,
}

impl Default for OcspOptions {
    /// 5 minutes of skew; 15 minutes of age for responses without nextUpdate.
    fn default() -> Self {
        Self {
            skew_secs: 300,
            max_age_secs: 900,
        }
    }
}

/// What a verified response says about the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OcspVerdict {
    /// good / revoked / unknown.
    pub status: CertStatus,
    /// thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate.
    pub next_update: Option<UnixTime>,
}

/// Everything needed to check one certificate's OCSP status.
pub struct OcspCheck<'a> {
    /// The certificate.
    pub cert: &'a Cert,
    /// Its issuer (already validated as its issuer).
    pub issuer: &'a Cert,
    /// The nonce sent in the request, if any: the response must carry the same.
    pub nonce: Option<&'a [u8]>,
    /// The validation time.
    pub at: UnixTime,
    /// Windows.
    pub options: &'a OcspOptions,
    /// Algorithms accepted for the response and a delegated responder's certificate.
    pub policy: &'a AlgorithmPolicy,
    /// Signature backend.
    pub backend: &'a dyn SignatureBackend,
}

fn signer_named(resp: &OcspResponse, c: &Cert) -> bool {
    match &resp.responder {
        ResponderId::Name(n) => c.subject.matches(n),
        ResponderId::KeyHash(h) => key_bits(c).is_ok_and(|k| HashAlg::Sha1.digest(&k) == *h),
    }
}

fn verify_signed(
    alg: &Result<SigAlg, PkiError>,
    tbs: &[u8],
    sig: &[u8],
    signer: &Cert,
    chk: &OcspCheck<'_>,
) -> Result<bool, PkiError> {
    let check = match super::path::signature_check(alg, tbs, sig, signer, chk.policy, String::new) {
        Ok(c) => c,
        Err(PkiError::SignatureInvalid { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(chk.backend.verify(&check))
}

/// Verifies `resp` for `chk.cert` and returns its verdict. Order: the signer (the issuing CA, or
/// a delegated responder the CA issued with OCSPSigning, valid at the time), the signature, the
/// CertID, the nonce, the time window.
pub fn verify(resp: &OcspResponse, chk: &OcspCheck<'_>) -> Result<OcspVerdict, PkiError> {
    let issuer_name = || chk.issuer.subject.to_string();
    let sig_invalid = || PkiError::OcspSignatureInvalid { issuer: issuer_name() };
    let not_authorized = |why: &str| PkiError::OcspResponderNotAuthorized(detail!("{why} (CA \"{}\")", issuer_name()));
    if signer_named(resp, chk.issuer) {
        // Signed by the CA itself.
        if !verify_signed(&resp.sig_alg, resp.tbs_bytes(), &resp.signature, chk.issuer, chk)? {
            return Err(sig_invalid());
        }
    } else {
        // A delegated responder: a certificate in the response, issued by the same CA (its
        // signature verifies under the CA's key), with OCSPSigning, valid now, no unknown
        // critical extension. Its own revocation is not checked (RFC 6960 §4.2.2.2.1 leaves that
        // to id-pkix-ocsp-nocheck or the CA's policy); responder certificates are short-lived.
        let mut candidates = resp.certs.iter().filter(|c| signer_named(resp, c)).peekable();
        if candidates.peek().is_none() {
            return Err(not_authorized(
                "the response's signer is neither the CA nor a responder certificate it carries",
            ));
        }
        let mut last_err = None;
        for r in candidates {
            let why = if !r.issuer.matches(&chk.issuer.subject) {
                Some("the responder certificate was not issued by the certificate's CA")
            } else if !r.eku.as_ref().is_some_and(|e| e.contains(&eku::OCSP_SIGNING)) {
                Some("the responder certificate lacks the OCSPSigning purpose")
            } else if r
                .key_usage
                .is_some_and(|k| k & (ku::DIGITAL_SIGNATURE | ku::NON_REPUDIATION) == 0)
            {
                Some("the responder certificate's keyUsage does not allow signatures")
            } else if chk.at < r.not_before || chk.at > r.not_after {
                Some("the responder certificate is outside its validity period")
            } else if r.unknown_critical.iter().any(|o| *o != OCSP_NOCHECK) {
                Some("the responder certificate has an unknown critical extension")
            } else {
                None
            };
            if let Some(why) = why {
                last_err = Some(not_authorized(why));
                continue;
            }
            if !verify_signed(&r.sig_alg, r.tbs_bytes(), &r.signature, chk.issuer, chk)? {
                last_err = Some(not_authorized(
                    "the responder certificate's signature does not verify under the CA's key",
                ));
                continue;
            }
            if !verify_signed(&resp.sig_alg, resp.tbs_bytes(), &resp.signature, r, chk)? {
                return Err(sig_invalid());
            }
            last_err = None;
            break;
        }
        if let Some(e) = last_err {
            return Err(e);
        }
    }
    let single = resp
        .find(chk.cert, chk.issuer)?
        .ok_or_else(|| PkiError::OcspCertIdMismatch {
            subject: chk.cert.subject.to_string(),
        })?;
    if let Some(sent) = chk.nonce {
        // The nonce extension's value is the OCTET STRING of RFC 8954; a bare nonce (some older
        // responders) is the same bytes without the wrapper. Either way the response must echo
        // exactly what was sent.
        let echoed = resp
            .nonce
            .as_deref()
            .is_some_and(|n| n == nonce_ext_value(sent).as_slice() || n == sent);
        if !echoed {
            return Err(PkiError::OcspNonceMismatch);
        }
    }
    let skew = chk.options.skew_secs;
    if single.this_update.0 > chk.at.0.saturating_add(skew) {
        return Err(PkiError::OcspNotYetValid {
            this_update: single.this_update.to_string(),
        });
    }
    match single.next_update {
        Some(n) if chk.at.0 > n.0.saturating_add(skew) => {
            return Err(PkiError::OcspStale {
                detail: detail!("nextUpdate {n}"),
            });
        }
        None if chk.at.0 > single.this_update.0.saturating_add(chk.options.max_age_secs) => {
            return Err(PkiError::OcspStale {
                detail: detail!(
                    "thisUpdate {} and no nextUpdate (max age {} s)",
                    single.this_update,
                    chk.options.max_age_secs
                ),
            });
        }
        _ => {}
    }
    Ok(OcspVerdict {
        status: single.status,
        this_update: single.this_update,
        next_update: single.next_update,
    })
}

/// OCSP settings of a path validation: the responses the relying party has (fetched, cached or
/// stapled), the nonce it sent, and the windows.
#[derive(Clone, Debug, Default)]
pub struct OcspConfig {
    /// Parsed responses.
    pub responses: Vec<Arc<OcspResponse>>,
    /// The nonce sent with the request the responses answer, if any.
    pub nonce: Option<Vec<u8>>,
    /// Windows.
    pub options: OcspOptions,
}

// ---------------------------------------------------------------------------------------------
// Fetching
// ---------------------------------------------------------------------------------------------

/// The OCSP responder URLs of a certificate's authorityInfoAccess.
pub fn responder_urls(c: &Cert) -> Vec<String> {
    c.ocsp_urls.clone()
}
