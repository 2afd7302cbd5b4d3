//! OCSP responses made to order (test equipment): good, revoked or unknown; signed by the
//! issuing CA or by a delegated responder it issued; with or without a nonce, nextUpdate and
//! the responder's certificate. What `openssl ocsp` serves in the script tests, made in-process
//! so unit tests, the relying-party kit's tests, the npm package's tests and the fuzzer's seeds
//! need no responder.

use rand_chacha::ChaCha20Rng;

use super::der::*;
use super::{Issuer, PrivateKey, alg_id, ext, ku_bit};
use hoviat::pki::Cert;
use hoviat::pki::alg::HashAlg;
use hoviat::pki::cert::eku;
use hoviat::pki::ocsp::CertId;
use hoviat::time::UnixTime;

/// The status a response gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// good
    Good,
    /// revoked at this time (reason keyCompromise)
    Revoked(UnixTime),
    /// unknown
    Unknown,
}

/// How the response is made.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The status.
    pub status: Status,
    /// producedAt and thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate (none: the response is only as fresh as the verifier's max age allows).
    pub next_update: Option<UnixTime>,
    /// The nonce extension to include.
    pub nonce: Option<Vec<u8>>,
    /// The CertID hash.
    pub hash: HashAlg,
    /// Name the responder by key hash (else by name).
    pub by_key: bool,
}

impl Spec {
    /// A good response valid from `at` − 1 h to `at` + 1 day, CertID with SHA-1 (what
    /// responders use by default), responder named by key.
    pub fn good(at: UnixTime) -> Self {
        Self {
            status: Status::Good,
            this_update: UnixTime(at.0 - 3600),
            next_update: Some(UnixTime(at.0 + 86_400)),
            nonce: None,
            hash: HashAlg::Sha1,
            by_key: true,
        }
    }
}

/// GeneralizedTime (OCSP uses it for every time).
fn gen_time(t: UnixTime) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = t.to_ymd_hms();
    tlv(0x18, format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes())
}

/// Who signs: its certificate (DER), subject Name DER and key.
pub struct Signer<'a> {
    /// The signer's certificate DER.
    pub cert: &'a [u8],
    /// The signer's subject Name DER.
    pub name: &'a [u8],
    /// The signing key.
    pub key: &'a PrivateKey,
}

impl<'a> From<&'a Issuer> for Signer<'a> {
    fn from(i: &'a Issuer) -> Self {
        Self {
            cert: &i.cert,
            name: &i.name,
            key: &i.key,
        }
    }
}

/// A DER OCSPResponse (successful, basic) about `cert` (issued by `issuer`), signed by
/// `signer`, carrying the certificates in `include` (a delegated responder's own certificate).
pub fn response(
    cert: &[u8],
    issuer: &[u8],
    spec: &Spec,
    signer: Signer<'_>,
    include: &[&[u8]],
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    let (Ok(c), Ok(i), Ok(s)) = (
        Cert::from_der(cert),
        Cert::from_der(issuer),
        Cert::from_der(signer.cert),
    ) else {
        return Vec::new();
    };
    let Ok(id) = CertId::new(&c, &i, spec.hash) else {
        return Vec::new();
    };
    let status = match spec.status {
        Status::Good => vec![0x80, 0x00],
        Status::Revoked(t) => tlv(0xA1, &[gen_time(t), ctx(0, &tlv(0x0A, &[1]))].concat()),
        Status::Unknown => vec![0x82, 0x00],
    };
    let mut single = vec![id.encode(), status, gen_time(spec.this_update)];
    if let Some(n) = spec.next_update {
        single.push(ctx(0, &gen_time(n)));
    }
    let responder = if spec.by_key {
        let key_hash = s
            .key
            .as_ref()
            .ok()
            .and_then(|k| hoviat::pki::alg::KeyInfo::from_spki_der(&k.spki).ok())
            .map(|k| k.key_id())
            .unwrap_or_default();
        ctx(2, &octets(&key_hash))
    } else {
        ctx(1, signer.name)
    };
    let mut data = vec![responder, gen_time(spec.this_update), seq(&[seq(&single)])];
    if let Some(n) = &spec.nonce {
        let nonce_oid = const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
        data.push(ctx(1, &seq(&[extension(&nonce_oid, false, &octets(n))])));
    }
    let tbs = seq(&data);
    let alg = signer.key.default_alg();
    let sig = signer.key.sign_x509(alg, &tbs, rng);
    let mut basic = vec![tbs, alg_id(alg, false), bits(&sig)];
    if !include.is_empty() {
        basic.push(ctx(0, &seq(&include.iter().map(|c| c.to_vec()).collect::<Vec<_>>())));
    }
    let basic_oid = const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
    seq(&[tlv(0x0A, &[0]), ctx(0, &seq(&[oid(&basic_oid), octets(&seq(&basic))]))])
}

/// An OCSPResponse with a non-successful responseStatus (1 malformedRequest, 2 internalError,
/// 3 tryLater, 5 sigRequired, 6 unauthorized) and no body.
pub fn error_response(status: u8) -> Vec<u8> {
    seq(&[tlv(0x0A, &[status])])
}

/// Sample responses about `reg.holders[holder]` at the registry's time, by file name: what
/// `hoviat testpki` writes to `ocsp/` (and the OCSP fuzzer's seeds). `nonce.der` carries the
/// nonce `07` × 16.
pub fn samples(reg: &super::Registry, holder: usize) -> Vec<(&'static str, Vec<u8>)> {
    let Some(h) = reg.holders.get(holder) else {
        return Vec::new();
    };
    let Some(ca) = reg.cas.get(h.issuer) else {
        return Vec::new();
    };
    let at = reg.now;
    let mut rng = super::rng_for(&reg.seed, "ocsp-samples");
    let mut out = Vec::new();
    let mut add = |file, spec: &Spec, signer: Signer<'_>, inc: &[&[u8]], rng: &mut ChaCha20Rng| {
        out.push((file, response(&h.cert, &ca.cert, spec, signer, inc, rng)));
    };
    add("good.der", &Spec::good(at), ca.into(), &[], &mut rng);
    let mut s = Spec::good(at);
    s.by_key = false;
    s.hash = HashAlg::Sha256;
    add("good-sha256-byname.der", &s, ca.into(), &[], &mut rng);
    let mut s = Spec::good(at);
    s.status = Status::Revoked(UnixTime(at.0 - 7200));
    add("revoked.der", &s, ca.into(), &[], &mut rng);
    let mut s = Spec::good(at);
    s.status = Status::Unknown;
    add("unknown.der", &s, ca.into(), &[], &mut rng);
    let mut s = Spec::good(at);
    s.nonce = Some(vec![7; 16]);
    add("nonce.der", &s, ca.into(), &[], &mut rng);
    let mut s = Spec::good(at);
    s.this_update = UnixTime(at.0 - 3 * 86_400);
    s.next_update = Some(UnixTime(at.0 - 86_400));
    add("stale.der", &s, ca.into(), &[], &mut rng);
    let (from, to) = (UnixTime(at.0 - 86_400), UnixTime(at.0 + 30 * 86_400));
    let key = PrivateKey::generate(super::KeyKind::P256, &mut rng);
    let responder = ca.ocsp_responder(key.clone(), true, from, to, &mut rng);
    add(
        "delegated.der",
        &Spec::good(at),
        (&responder).into(),
        &[&responder.cert],
        &mut rng,
    );
    let plain = ca.ocsp_responder(key, false, from, to, &mut rng);
    add(
        "delegated-no-eku.der",
        &Spec::good(at),
        (&plain).into(),
        &[&plain.cert],
        &mut rng,
    );
    let other = PrivateKey::generate(super::KeyKind::P384, &mut rng);
    let forged = Signer {
        cert: &ca.cert,
        name: &ca.name,
        key: &other,
    };
    add("wrong-key.der", &Spec::good(at), forged, &[], &mut rng);
    out.push(("try-later.der", error_response(3)));
    out
}

impl Issuer {
    /// A delegated OCSP responder certificate issued by this CA: EKU id-kp-OCSPSigning,
    /// digitalSignature, valid `not_before..not_after`; `ocsp_signing: false` leaves the EKU out
    /// (a certificate the CA issued that must not be accepted as a responder).
    pub fn ocsp_responder(
        &self,
        key: PrivateKey,
        ocsp_signing: bool,
        not_before: UnixTime,
        not_after: UnixTime,
        rng: &mut ChaCha20Rng,
    ) -> Issuer {
        let subject = name(&[(hoviat::pki::name::attr::CN, utf8("hoviat test OCSP responder"))]);
        let mut extensions = vec![ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE])];
        if ocsp_signing {
            extensions.push(ext::eku(&[eku::OCSP_SIGNING], false));
        }
        self.issue_issuer(subject, key, extensions, not_before, not_after, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyKind, Registry, rng_for};
    use hoviat::pki::RustCrypto;
    use hoviat::pki::ocsp::{CertStatus, OcspCheck, OcspOptions, OcspResponse, verify};

    const AT: UnixTime = UnixTime(1_795_428_000);

    fn check(reg: &Registry, der: &[u8], nonce: Option<&[u8]>) -> Result<CertStatus, String> {
        let resp = OcspResponse::from_der(der).map_err(|e| e.to_string())?;
        let c = Cert::from_der(&reg.holders[1].cert).unwrap();
        let i = Cert::from_der(&reg.cas[1].cert).unwrap();
        let options = OcspOptions::default();
        let chk = OcspCheck {
            cert: &c,
            issuer: &i,
            nonce,
            at: AT,
            options: &options,
            policy: &Default::default(),
            backend: &RustCrypto,
        };
        verify(&resp, &chk)
            .map(|v| v.status)
            .map_err(|e| hoviat::Coded::code(&e).to_string())
    }

    #[test]
    fn responses_verify_as_made() {
        let reg = Registry::generate_light("testkit-ocsp", UnixTime(1_795_392_000));
        let mut rng = rng_for("testkit-ocsp", "responses");
        let (h, ca) = (&reg.holders[1].cert, &reg.cas[1]);
        let make = |spec: &Spec, signer: Signer<'_>, inc: &[&[u8]], rng: &mut ChaCha20Rng| {
            response(h, &ca.cert, spec, signer, inc, rng)
        };
        let good = make(&Spec::good(AT), ca.into(), &[], &mut rng);
        assert_eq!(check(&reg, &good, None), Ok(CertStatus::Good));
        let mut by_name = Spec::good(AT);
        by_name.by_key = false;
        by_name.hash = HashAlg::Sha256;
        assert_eq!(
            check(&reg, &make(&by_name, ca.into(), &[], &mut rng), None),
            Ok(CertStatus::Good)
        );
        let mut revoked = Spec::good(AT);
        revoked.status = Status::Revoked(UnixTime(AT.0 - 7200));
        assert!(matches!(
            check(&reg, &make(&revoked, ca.into(), &[], &mut rng), None),
            Ok(CertStatus::Revoked { .. })
        ));
        let mut unknown = Spec::good(AT);
        unknown.status = Status::Unknown;
        assert_eq!(
            check(&reg, &make(&unknown, ca.into(), &[], &mut rng), None),
            Ok(CertStatus::Unknown)
        );
        let mut with_nonce = Spec::good(AT);
        with_nonce.nonce = Some(vec![7; 16]);
        let n = make(&with_nonce, ca.into(), &[], &mut rng);
        assert_eq!(check(&reg, &n, Some(&[7; 16])), Ok(CertStatus::Good));
        assert_eq!(check(&reg, &n, Some(&[8; 16])), Err("OCSP_NONCE_MISMATCH".into()));
        // A delegated responder with OCSPSigning is accepted; without it, refused.
        let rkey = PrivateKey::generate(KeyKind::P256, &mut rng);
        let responder = ca.ocsp_responder(
            rkey.clone(),
            true,
            UnixTime(AT.0 - 86_400),
            UnixTime(AT.0 + 86_400),
            &mut rng,
        );
        let d = make(&Spec::good(AT), (&responder).into(), &[&responder.cert], &mut rng);
        assert_eq!(check(&reg, &d, None), Ok(CertStatus::Good));
        let plain = ca.ocsp_responder(rkey, false, UnixTime(AT.0 - 86_400), UnixTime(AT.0 + 86_400), &mut rng);
        let d = make(&Spec::good(AT), (&plain).into(), &[&plain.cert], &mut rng);
        assert_eq!(check(&reg, &d, None), Err("OCSP_RESPONDER_NOT_AUTHORIZED".into()));
        // Signed by a key that is not the CA's: refused.
        let other = PrivateKey::generate(KeyKind::P384, &mut rng);
        let forged = make(
            &Spec::good(AT),
            Signer {
                cert: &ca.cert,
                name: &ca.name,
                key: &other,
            },
            &[],
            &mut rng,
        );
        assert!(check(&reg, &forged, None).is_err());
        // Stale: nextUpdate passed.
        let mut stale = Spec::good(AT);
        stale.this_update = UnixTime(AT.0 - 3 * 86_400);
        stale.next_update = Some(UnixTime(AT.0 - 86_400));
        assert!(check(&reg, &make(&stale, ca.into(), &[], &mut rng), None).is_err());
        assert!(OcspResponse::from_der(&error_response(3)).is_err());
    }
}
