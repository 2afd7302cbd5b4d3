//! OCSP in-process: requests, and responses built with the test registry's keys, checked for
//! every rule with its code. (`scripts/ocsp-tests.sh` runs the same checks against a real
//! `openssl ocsp` responder.)

use std::sync::{Arc, OnceLock};

use hoviat::error::Coded;
use hoviat::pki::alg::{HashAlg, SigAlg, ecdsa_raw_to_der};
use hoviat::pki::cert::eku;
use hoviat::pki::ocsp::{self, CertId, CertStatus, OcspCheck, OcspConfig, OcspOptions, OcspResponse};
use hoviat::pki::{AlgorithmPolicy, Cert, PathOptions, RevocationStatus, TrustStore};
use hoviat::time::UnixTime;
use hoviat_testkit::der::{self as d};
use hoviat_testkit::{CertSpec, KeyKind, PrivateKey, Registry, ext, ku_bit, rng_for};

fn now() -> UnixTime {
    UnixTime::parse_rfc3339("2026-11-23T10:00:00Z").unwrap()
}

fn reg() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry::generate("ocsp-tests", now()))
}

/// The P-256 issuing CA (fast signatures) and a holder it issued.
fn ca_and_holder() -> (usize, Arc<Cert>, Arc<Cert>) {
    let r = reg();
    let h = r.holders.iter().find(|h| h.issuer == 2).expect("a holder of CA 2");
    let ca = Arc::new(Cert::from_der(&r.cas[2].cert).unwrap());
    (2, ca, Arc::new(Cert::from_der(&h.cert).unwrap()))
}

fn gt(t: UnixTime) -> Vec<u8> {
    let (y, mo, dd, h, mi, s) = t.to_ymd_hms();
    d::tlv(0x18, format!("{y:04}{mo:02}{dd:02}{h:02}{mi:02}{s:02}Z").as_bytes())
}

fn cert_id(id: &CertId) -> Vec<u8> {
    let alg = match id.hash {
        HashAlg::Sha1 => "1.3.14.3.2.26",
        _ => "2.16.840.1.101.3.4.2.1",
    };
    d::seq(&[
        d::seq(&[d::oid(&alg.parse().unwrap()), d::null()]),
        d::octets(&id.issuer_name_hash),
        d::octets(&id.issuer_key_hash),
        d::uint(&id.serial),
    ])
}

struct Resp {
    status: Vec<u8>,
    this_update: UnixTime,
    next_update: Option<UnixTime>,
    nonce: Option<Vec<u8>>,
    responder_name: Vec<u8>,
    certs: Vec<Vec<u8>>,
}

fn good() -> Vec<u8> {
    d::tlv(0x80, &[])
}

fn build(id: &CertId, r: &Resp, signer: &PrivateKey) -> Vec<u8> {
    let mut single = vec![cert_id(id), r.status.clone(), gt(r.this_update)];
    if let Some(n) = r.next_update {
        single.push(d::ctx(0, &gt(n)));
    }
    let mut data = vec![d::ctx(1, &r.responder_name), gt(now()), d::seq(&[d::seq(&single)])];
    if let Some(n) = &r.nonce {
        let e = d::extension(&"1.3.6.1.5.5.7.48.1.2".parse().unwrap(), false, &d::octets(n));
        data.push(d::ctx(1, &d::seq(&[e])));
    }
    let tbs = d::seq(&data);
    let alg = SigAlg::Ecdsa(HashAlg::Sha256);
    let mut rng = rng_for("ocsp", "sign");
    let raw = signer.sign_digest(alg, &HashAlg::Sha256.digest(&tbs), &mut rng);
    let sig = ecdsa_raw_to_der(&raw).unwrap();
    let mut basic = vec![
        tbs,
        d::seq(&[d::oid(&"1.2.840.10045.4.3.2".parse().unwrap())]),
        d::bits(&sig),
    ];
    if !r.certs.is_empty() {
        basic.push(d::ctx(0, &d::seq(&r.certs)));
    }
    let basic = d::seq(&basic);
    d::seq(&[
        d::tlv(0x0A, &[0]),
        d::ctx(
            0,
            &d::seq(&[d::oid(&"1.3.6.1.5.5.7.48.1.1".parse().unwrap()), d::octets(&basic)]),
        ),
    ])
}

fn base(ca_name: &[u8]) -> Resp {
    Resp {
        status: good(),
        this_update: UnixTime(now().0 - 60),
        next_update: Some(UnixTime(now().0 + 3600)),
        nonce: None,
        responder_name: ca_name.to_vec(),
        certs: vec![],
    }
}

fn verify_with(der: &[u8], nonce: Option<&[u8]>, at: UnixTime) -> Result<CertStatus, String> {
    let (_, ca, holder) = ca_and_holder();
    let resp = OcspResponse::from_der(der).map_err(|e| e.code().to_string())?;
    let opts = OcspOptions::default();
    let policy = AlgorithmPolicy::default();
    ocsp::verify(
        &resp,
        &OcspCheck {
            cert: &holder,
            issuer: &ca,
            nonce,
            at,
            options: &opts,
            policy: &policy,
            backend: hoviat_testkit::backend_from_env(),
        },
    )
    .map(|v| v.status)
    .map_err(|e| e.code().to_string())
}

fn id() -> CertId {
    let (_, ca, holder) = ca_and_holder();
    CertId::new(&holder, &ca, HashAlg::Sha1).unwrap()
}

#[test]
fn cert_id_and_request() {
    let (_, ca, holder) = ca_and_holder();
    let sha1 = CertId::new(&holder, &ca, HashAlg::Sha1).unwrap();
    // SHA-1 of the issuer's key bits is the RFC 5280 method-1 key identifier.
    assert_eq!(sha1.issuer_key_hash, ca.key.as_ref().unwrap().key_id());
    assert_eq!(sha1.issuer_name_hash, HashAlg::Sha1.digest(&ca.subject.der));
    let sha256 = CertId::new(&holder, &ca, HashAlg::Sha256).unwrap();
    assert_eq!(sha256.issuer_key_hash.len(), 32);
    let req = ocsp::build_request(std::slice::from_ref(&sha256), Some(&[7u8; 16])).unwrap();
    // The request carries the CertID and the nonce extension.
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&req, &cert_id(&sha256)[2..]));
    assert!(contains(&req, &[0x04, 0x10, 7, 7, 7]));
    assert_eq!(
        ocsp::build_request(&[sha1], Some(&[0u8; 33])).unwrap_err().code(),
        "OCSP_MALFORMED"
    );
    assert_eq!(ocsp::build_request(&[], None).unwrap_err().code(), "OCSP_MALFORMED");
}

#[test]
fn good_revoked_unknown_signed_by_the_ca() {
    let (i, ca, _) = ca_and_holder();
    let key = &reg().cas[i].key;
    assert_eq!(
        verify_with(&build(&id(), &base(&ca.subject.der), key), None, now()),
        Ok(CertStatus::Good)
    );
    let mut r = base(&ca.subject.der);
    r.status = d::ctx(1, &gt(UnixTime(now().0 - 3600)));
    assert!(matches!(
        verify_with(&build(&id(), &r, key), None, now()),
        Ok(CertStatus::Revoked { .. })
    ));
    r.status = d::tlv(0x82, &[]);
    assert_eq!(
        verify_with(&build(&id(), &r, key), None, now()),
        Ok(CertStatus::Unknown)
    );
}

#[test]
fn signer_must_be_the_ca_or_its_ocsp_responder() {
    let (i, ca, _) = ca_and_holder();
    let r = reg();
    // Another key under the CA's name.
    let rogue = PrivateKey::generate(KeyKind::P256, &mut rng_for("ocsp", "rogue"));
    assert_eq!(
        verify_with(&build(&id(), &base(&ca.subject.der), &rogue), None, now()),
        Err("OCSP_SIGNATURE_INVALID".into())
    );
    // A delegated responder: issued by the CA with OCSPSigning → accepted; without → refused.
    let responder = |cn: &str, purposes: &[const_oid::ObjectIdentifier]| {
        let mut rng = rng_for("ocsp-responder", cn);
        let k = PrivateKey::generate(KeyKind::P256, &mut rng);
        let subject = d::name(&[(hoviat::pki::name::attr::CN, d::utf8(cn))]);
        let spec = CertSpec {
            serial: vec![0x42],
            subject: subject.clone(),
            not_before: UnixTime(now().0 - 86400),
            not_after: UnixTime(now().0 + 86400),
            extensions: vec![ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]), ext::eku(purposes, true)],
            ecdsa_null_params: false,
            sig_alg: None,
        };
        let cert = r.cas[i].issue(&spec, &k.spki(), &mut rng);
        (k, subject, cert)
    };
    let (k, name, cert) = responder("Responder", &[eku::OCSP_SIGNING]);
    let mut resp = base(&name);
    resp.certs = vec![cert.clone()];
    assert_eq!(verify_with(&build(&id(), &resp, &k), None, now()), Ok(CertStatus::Good));
    // The same responder's certificate missing from the response: nobody to verify with.
    resp.certs.clear();
    assert_eq!(
        verify_with(&build(&id(), &resp, &k), None, now()),
        Err("OCSP_RESPONDER_NOT_AUTHORIZED".into())
    );
    let (k2, name2, cert2) = responder("Not a responder", &[eku::CLIENT_AUTH]);
    let mut resp = base(&name2);
    resp.certs = vec![cert2];
    assert_eq!(
        verify_with(&build(&id(), &resp, &k2), None, now()),
        Err("OCSP_RESPONDER_NOT_AUTHORIZED".into())
    );
    // A responder certificate from another CA (the root) is not this CA's responder.
    let mut rng = rng_for("ocsp-responder", "root's");
    let k3 = PrivateKey::generate(KeyKind::P256, &mut rng);
    let spec = CertSpec {
        serial: vec![0x43],
        subject: name.clone(),
        not_before: UnixTime(now().0 - 86400),
        not_after: UnixTime(now().0 + 86400),
        extensions: vec![ext::eku(&[eku::OCSP_SIGNING], false)],
        ecdsa_null_params: false,
        sig_alg: None,
    };
    let mut resp = base(&name);
    resp.certs = vec![r.root.issue(&spec, &k3.spki(), &mut rng)];
    assert_eq!(
        verify_with(&build(&id(), &resp, &k3), None, now()),
        Err("OCSP_RESPONDER_NOT_AUTHORIZED".into())
    );
}

#[test]
fn cert_id_nonce_and_time_windows() {
    let (i, ca, _) = ca_and_holder();
    let key = &reg().cas[i].key;
    let name = &ca.subject.der;
    // Another serial: no response for this certificate.
    let mut other = id();
    other.serial = vec![0x01, 0x02];
    assert_eq!(
        verify_with(&build(&other, &base(name), key), None, now()),
        Err("OCSP_CERT_ID_MISMATCH".into())
    );
    // Nonce: echoed → good; absent or different while one was sent → mismatch.
    let mut r = base(name);
    r.nonce = Some(vec![9; 16]);
    let with_nonce = build(&id(), &r, key);
    assert_eq!(verify_with(&with_nonce, Some(&[9; 16]), now()), Ok(CertStatus::Good));
    assert_eq!(
        verify_with(&with_nonce, Some(&[8; 16]), now()),
        Err("OCSP_NONCE_MISMATCH".into())
    );
    assert_eq!(
        verify_with(&build(&id(), &base(name), key), Some(&[9; 16]), now()),
        Err("OCSP_NONCE_MISMATCH".into())
    );
    // Windows, with the default 300 s skew.
    let skew = OcspOptions::default().skew_secs;
    let mut r = base(name);
    r.this_update = UnixTime(now().0 + skew - 1);
    assert_eq!(verify_with(&build(&id(), &r, key), None, now()), Ok(CertStatus::Good));
    r.this_update = UnixTime(now().0 + skew + 1);
    assert_eq!(
        verify_with(&build(&id(), &r, key), None, now()),
        Err("OCSP_NOT_YET_VALID".into())
    );
    let mut r = base(name);
    r.this_update = UnixTime(now().0 - 86400);
    r.next_update = Some(UnixTime(now().0 - skew + 1));
    assert_eq!(verify_with(&build(&id(), &r, key), None, now()), Ok(CertStatus::Good));
    r.next_update = Some(UnixTime(now().0 - skew - 1));
    assert_eq!(
        verify_with(&build(&id(), &r, key), None, now()),
        Err("OCSP_STALE".into())
    );
    // No nextUpdate: fresh within the maximum age only.
    r.next_update = None;
    r.this_update = UnixTime(now().0 - 600);
    assert_eq!(verify_with(&build(&id(), &r, key), None, now()), Ok(CertStatus::Good));
    r.this_update = UnixTime(now().0 - 3600);
    assert_eq!(
        verify_with(&build(&id(), &r, key), None, now()),
        Err("OCSP_STALE".into())
    );
}

#[test]
fn path_validation_uses_the_response() {
    let (i, ca, holder) = ca_and_holder();
    let r = reg();
    let mut t = TrustStore::new();
    t.add_anchors(&r.root.cert).unwrap();
    t.add_intermediates(&r.cas[i].cert).unwrap();
    let mut o = PathOptions::client_auth(now());
    o.require_revocation = true;
    assert_eq!(
        t.validate(&holder, &o, hoviat_testkit::backend_from_env())
            .unwrap_err()
            .code(),
        "REVOCATION_UNKNOWN"
    );
    let cfg = |der: Vec<u8>| {
        Some(OcspConfig {
            responses: vec![Arc::new(OcspResponse::from_der(&der).unwrap())],
            nonce: None,
            options: OcspOptions::default(),
        })
    };
    o.ocsp = cfg(build(&id(), &base(&ca.subject.der), &r.cas[i].key));
    let v = t.validate(&holder, &o, hoviat_testkit::backend_from_env()).unwrap();
    assert!(matches!(v.revocation, RevocationStatus::GoodByOcsp { .. }));
    let mut rev = base(&ca.subject.der);
    rev.status = d::ctx(1, &gt(UnixTime(now().0 - 3600)));
    o.ocsp = cfg(build(&id(), &rev, &r.cas[i].key));
    assert_eq!(
        t.validate(&holder, &o, hoviat_testkit::backend_from_env())
            .unwrap_err()
            .code(),
        "CERT_REVOKED"
    );
}

#[test]
fn not_successful_and_hostile_responses_never_panic() {
    let try_later = d::seq(&[d::tlv(0x0A, &[3])]);
    assert_eq!(
        OcspResponse::from_der(&try_later).unwrap_err().code(),
        "OCSP_NOT_SUCCESSFUL"
    );
    let (i, ca, _) = ca_and_holder();
    let mut r = base(&ca.subject.der);
    r.nonce = Some(vec![1; 16]);
    let der = build(&id(), &r, &reg().cas[i].key);
    for n in 0..der.len() {
        let _ = verify_with(&der[..n], None, now());
        assert!(OcspResponse::from_der(&der[..n]).is_err(), "truncation at {n} parsed");
    }
    // Every single-bit change (low and high bit of every byte) is refused: nothing outside the
    // signed bytes changes the verdict, and nothing inside survives the signature.
    let mut accepted = Vec::new();
    for pos in 0..der.len() {
        for bit in [0x01u8, 0x80] {
            let mut m = der.clone();
            m[pos] ^= bit;
            if verify_with(&m, Some(&[1; 16]), now()).is_ok() {
                accepted.push((pos, bit));
            }
        }
    }
    assert!(accepted.is_empty(), "mutations accepted: {accepted:?}");
}
