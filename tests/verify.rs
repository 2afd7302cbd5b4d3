//! Verification core: every check with a case that passes and one that fails for that reason
//! alone, with the stable code asserted. Runs on the deterministic test registry.

use std::sync::Arc;

use hoviat::error::Coded;
use hoviat::pki::alg::{HashAlg, SigAlg};
use hoviat::pki::cert::eku;
use hoviat::pki::{
    AlgorithmPolicy, Cert, EkuRequirement, KeyUsageRequirement, PathOptions, RevocationStatus, TrustStore,
};
use hoviat::time::UnixTime;
use hoviat::token::{MemoryNonceStore, NonceStore, Origin, TokenAlg, Verifier};
use hoviat_testkit::der::{self as d};
use hoviat_testkit::{CertSpec, Issuer, KeyKind, PrivateKey, Registry, Variant, ext, ku_bit, rng_for};

mod common;
use common::{ORIGIN, now, reg};

fn nonce(tag: u8) -> String {
    hoviat::token::nonce::nonce_from_bytes(&[tag; 32])
}

/// Root as anchor, every issuing CA as intermediate, every CRL.
fn full_store() -> TrustStore {
    let r = reg();
    let mut t = TrustStore::new();
    t.add_anchors(&r.root.cert).unwrap();
    for ca in &r.cas {
        t.add_intermediates(&ca.cert).unwrap();
    }
    for crl in &r.crls {
        t.add_crls(crl).unwrap();
    }
    t
}

fn verify_in(
    store: &TrustStore,
    opts: PathOptions,
    token: &str,
    origin: &str,
    n: &str,
) -> Result<hoviat::token::VerifiedToken, String> {
    let v = Verifier {
        trust: store,
        options: opts,
        backend: hoviat_testkit::backend_from_env(),
    };
    v.verify(token, &Origin::parse(origin).unwrap(), n)
        .map_err(|e| e.code().to_string())
}

fn verify(token: &str, origin: &str, n: &str) -> Result<hoviat::token::VerifiedToken, String> {
    verify_in(&full_store(), PathOptions::client_auth(now()), token, origin, n)
}

fn token_for(h: usize, tag: u8) -> (String, String) {
    let holder = &reg().holders[h];
    let n = nonce(tag);
    (holder.make_token(holder.token_alg(), ORIGIN, &n), n)
}

fn code<T>(r: Result<T, String>) -> String {
    match r {
        Ok(_) => panic!("expected a refusal, got acceptance"),
        Err(c) => c,
    }
}

fn json_set(token: &str, field: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(token).unwrap();
    v[field] = value;
    v.to_string()
}

fn json_remove(token: &str, field: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(token).unwrap();
    v.as_object_mut().unwrap().remove(field);
    v.to_string()
}

fn b64(b: &[u8]) -> serde_json::Value {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b).into()
}

// ---------------------------------------------------------------------------------------------
// Holders, identity, variants
// ---------------------------------------------------------------------------------------------

#[test]
fn good_holders_verify_with_identity_intact() {
    for h in [0usize, 1, 2] {
        let (t, n) = token_for(h, 10 + h as u8);
        let v = verify(&t, ORIGIN, &n).unwrap_or_else(|e| panic!("holder {h}: {e}"));
        let th = &reg().holders[h];
        assert_eq!(v.holder.given_name.as_deref(), Some(th.given_name.as_str()));
        assert_eq!(v.holder.surname.as_deref(), Some(th.surname.as_str()));
        assert_eq!(v.holder.national_code.as_deref(), Some(th.national_code.as_str()));
        assert_eq!(
            v.holder.common_name.as_deref(),
            Some(format!("{} {}", th.given_name, th.surname).as_str())
        );
        assert_eq!(v.chain.len(), 3);
        assert_eq!(v.assurance.revocation, "crl");
        assert_eq!(v.certificate.serial_number, hoviat::pki::cert::hex_upper(&th.serial));
        assert_eq!(v.algorithm, th.token_alg().name());
    }
}

#[test]
fn every_variant_gets_its_code_and_every_quirk_is_accepted() {
    for h in &reg().holders {
        let n = nonce(40 + h.index as u8);
        let t = h.make_token(h.token_alg(), ORIGIN, &n);
        let r = verify(&t, ORIGIN, &n);
        match h.variant.expected_code() {
            Some(c) => assert_eq!(code(r), c, "holder {} {:?}", h.index, h.variant),
            None => {
                let v = r.unwrap_or_else(|e| panic!("holder {} {:?}: {e}", h.index, h.variant));
                assert_eq!(v.holder.national_code.as_deref(), Some(h.national_code.as_str()));
            }
        }
    }
}

#[test]
fn quirks_are_present_in_the_certificates() {
    let r = reg();
    let by = |v: Variant| Cert::from_der(&r.holders.iter().find(|h| h.variant == v).unwrap().cert).unwrap();
    assert!(by(Variant::NoBasicConstraints).basic_constraints.is_none());
    let explicit = r
        .holders
        .iter()
        .find(|h| h.variant == Variant::ExplicitCaFalse)
        .unwrap();
    assert!(
        explicit
            .cert
            .windows(7)
            .any(|w| w == [0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0x00])
    );
    let null = r
        .holders
        .iter()
        .find(|h| h.variant == Variant::EcdsaNullParams)
        .unwrap();
    assert!(null.cert.windows(14).any(|w| w
        == [
            0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03, 0x05, 0x00
        ]));
    let rsa_under_ec = by(Variant::RsaUnderEcCa);
    assert!(matches!(rsa_under_ec.sig_alg, Ok(SigAlg::Ecdsa(_))));
    assert!(rsa_under_ec.key.as_ref().unwrap().describe().starts_with("RSA"));
    let eku_ca = Cert::from_der(&r.cas[2].cert).unwrap();
    assert!(eku_ca.eku_critical);
}

#[test]
fn bmp_string_names_decode_to_the_same_text() {
    let (t, n) = token_for(1, 3);
    let v = verify(&t, ORIGIN, &n).unwrap();
    assert_eq!(
        v.holder.given_name.as_deref(),
        Some(reg().holders[1].given_name.as_str())
    );
    assert!(reg().holders[1].cert.windows(1).any(|w| w == [0x1E]));
}

#[test]
fn registry_is_deterministic() {
    let again = Registry::generate("tests", now());
    assert_eq!(again.root.cert, reg().root.cert);
    assert_eq!(again.holders[0].cert, reg().holders[0].cert);
    assert_eq!(again.crls, reg().crls);
    let other = Registry::generate("other-seed", now());
    assert_ne!(other.holders[1].cert, reg().holders[1].cert);
}

// ---------------------------------------------------------------------------------------------
// Token checks (token.md steps 1, 2, 6, 7)
// ---------------------------------------------------------------------------------------------

#[test]
fn token_for_another_origin_is_origin_mismatch_and_without_hint_signature_invalid() {
    let (t, n) = token_for(1, 1);
    assert!(verify(&t, ORIGIN, &n).is_ok());
    assert_eq!(code(verify(&t, "https://evil.example.ir", &n)), "ORIGIN_MISMATCH");
    let no_hint = json_remove(&t, "unverifiedOrigin");
    assert!(verify(&no_hint, ORIGIN, &n).is_ok());
    assert_eq!(
        code(verify(&no_hint, "https://evil.example.ir", &n)),
        "TOKEN_SIGNATURE_INVALID"
    );
    // A lying hint cannot turn a failure into anything but a failure.
    let lying = json_set(&t, "unverifiedOrigin", "https://evil.example.ir".into());
    assert_eq!(
        code(verify(&lying, "https://other.example.ir", &n)),
        "TOKEN_SIGNATURE_INVALID"
    );
}

#[test]
fn wrong_nonce_or_tampered_signature_is_signature_invalid() {
    for h in [0usize, 1, 2] {
        let (t, n) = token_for(h, 2);
        assert!(verify(&t, ORIGIN, &n).is_ok());
        assert_eq!(
            code(verify(&t, ORIGIN, &nonce(99))),
            "TOKEN_SIGNATURE_INVALID",
            "holder {h}"
        );
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        use base64::Engine;
        let mut sig = base64::engine::general_purpose::STANDARD
            .decode(v["signature"].as_str().unwrap())
            .unwrap();
        sig[5] ^= 1;
        let bad = json_set(&t, "signature", b64(&sig));
        assert_eq!(code(verify(&bad, ORIGIN, &n)), "TOKEN_SIGNATURE_INVALID", "holder {h}");
    }
}

#[test]
fn ecdsa_signature_of_wrong_length_or_zero_is_refused() {
    let (t, n) = token_for(1, 4);
    assert_eq!(
        code(verify(&json_set(&t, "signature", b64(&[1u8; 63])), ORIGIN, &n)),
        "TOKEN_SIGNATURE_MALFORMED"
    );
    assert_eq!(
        code(verify(&json_set(&t, "signature", b64(&[1u8; 72])), ORIGIN, &n)),
        "TOKEN_SIGNATURE_MALFORMED"
    );
    // r = s = 0 has the right length but is out of range: never valid.
    assert_eq!(
        code(verify(&json_set(&t, "signature", b64(&[0u8; 64])), ORIGIN, &n)),
        "TOKEN_SIGNATURE_INVALID"
    );
}

#[test]
fn algorithm_must_fit_the_key() {
    let r = reg();
    let n = nonce(5);
    // ES256 on the P-256 holder passes; ES384 on it does not.
    assert!(verify(&r.holders[1].make_token(TokenAlg::ES256, ORIGIN, &n), ORIGIN, &n).is_ok());
    let t = json_set(
        &r.holders[1].make_token(TokenAlg::ES256, ORIGIN, &n),
        "algorithm",
        "ES384".into(),
    );
    assert_eq!(code(verify(&t, ORIGIN, &n)), "TOKEN_ALGORITHM_KEY_MISMATCH");
    let t = json_set(
        &r.holders[1].make_token(TokenAlg::ES256, ORIGIN, &n),
        "algorithm",
        "RS256".into(),
    );
    assert_eq!(code(verify(&t, ORIGIN, &n)), "TOKEN_ALGORITHM_KEY_MISMATCH");
    let t = json_set(
        &r.holders[0].make_token(TokenAlg::RS256, ORIGIN, &n),
        "algorithm",
        "ES256".into(),
    );
    assert_eq!(code(verify(&t, ORIGIN, &n)), "TOKEN_ALGORITHM_KEY_MISMATCH");
}

#[test]
fn rsa_holder_signs_every_rsa_algorithm() {
    let h = &reg().holders[0];
    for alg in [
        TokenAlg::RS256,
        TokenAlg::RS384,
        TokenAlg::RS512,
        TokenAlg::PS256,
        TokenAlg::PS384,
        TokenAlg::PS512,
    ] {
        let n = nonce(6);
        let t = h.make_token(alg, ORIGIN, &n);
        assert!(verify(&t, ORIGIN, &n).is_ok(), "{alg:?}");
        // PS and RS are not interchangeable.
        let swapped = match alg.name().as_bytes()[0] {
            b'R' => alg.name().replacen('R', "P", 1),
            _ => alg.name().replacen('P', "R", 1),
        };
        assert_eq!(
            code(verify(&json_set(&t, "algorithm", swapped.into()), ORIGIN, &n)),
            "TOKEN_SIGNATURE_INVALID"
        );
    }
}

#[test]
fn token_format_size_and_encoding_are_checked_first() {
    let (t, n) = token_for(1, 7);
    assert_eq!(
        code(verify(&json_set(&t, "format", "web-eid:2".into()), ORIGIN, &n)),
        "TOKEN_FORMAT_UNSUPPORTED"
    );
    assert!(verify(&json_set(&t, "format", "web-eid:1".into()), ORIGIN, &n).is_ok());
    assert!(verify(&json_set(&t, "format", "web-eid:1.1".into()), ORIGIN, &n).is_ok());
    assert_eq!(
        code(verify(&json_set(&t, "algorithm", "es256".into()), ORIGIN, &n)),
        "TOKEN_ALGORITHM_UNSUPPORTED"
    );
    assert_eq!(
        code(verify(&json_set(&t, "signature", "!!not base64!!".into()), ORIGIN, &n)),
        "TOKEN_MALFORMED"
    );
    assert_eq!(
        code(verify(&json_set(&t, "unverifiedCertificate", 42.into()), ORIGIN, &n)),
        "TOKEN_MALFORMED"
    );
    assert_eq!(
        code(verify(&json_remove(&t, "signature"), ORIGIN, &n)),
        "TOKEN_MALFORMED"
    );
    // Unknown fields are ignored; a missing appVersion is fine.
    let extra = json_set(&json_remove(&t, "appVersion"), "issuerApp", "https://x".into());
    assert!(verify(&extra, ORIGIN, &n).is_ok());
    let four_mb = format!("{{\"format\":\"web-eid:1.0\",\"pad\":\"{}\"}}", "A".repeat(4 << 20));
    assert_eq!(code(verify(&four_mb, ORIGIN, &n)), "TOKEN_TOO_LARGE");
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(code(verify(&nested, ORIGIN, &n)), "TOKEN_MALFORMED");
    assert_eq!(code(verify(&t, ORIGIN, "short")), "NONCE_INVALID");
}

#[test]
fn certificate_in_token_must_parse() {
    let (t, n) = token_for(1, 8);
    let cert = &reg().holders[1].cert;
    assert_eq!(
        code(verify(
            &json_set(&t, "unverifiedCertificate", b64(&cert[..cert.len() - 1])),
            ORIGIN,
            &n
        )),
        "CERT_MALFORMED"
    );
    let mut trailing = cert.clone();
    trailing.push(0);
    assert_eq!(
        code(verify(
            &json_set(&t, "unverifiedCertificate", b64(&trailing)),
            ORIGIN,
            &n
        )),
        "CERT_MALFORMED"
    );
    assert_eq!(
        code(verify(
            &json_set(&t, "unverifiedCertificate", b64(b"garbage")),
            ORIGIN,
            &n
        )),
        "CERT_MALFORMED"
    );
}

#[test]
fn nonce_store_enforces_single_use_and_expiry() {
    let store = MemoryNonceStore::default();
    let trust = full_store();
    let v = Verifier {
        trust: &trust,
        options: PathOptions::client_auth(now()),
        backend: hoviat_testkit::backend_from_env(),
    };
    let origin = Origin::parse(ORIGIN).unwrap();
    let (t, n) = token_for(1, 9);
    let c = |r: Result<hoviat::token::VerifiedToken, hoviat::token::TokenError>| r.unwrap_err().code();
    assert_eq!(c(v.verify_with_store(&t, &origin, &n, &store)), "NONCE_UNKNOWN");
    store.issue(&n, UnixTime(now().0 + 300), now()).unwrap();
    assert!(v.verify_with_store(&t, &origin, &n, &store).is_ok());
    assert_eq!(c(v.verify_with_store(&t, &origin, &n, &store)), "NONCE_REPLAYED");
    let (t2, n2) = token_for(1, 11);
    store
        .issue(&n2, UnixTime(now().0 - 1), UnixTime(now().0 - 301))
        .unwrap();
    assert_eq!(c(v.verify_with_store(&t2, &origin, &n2, &store)), "NONCE_EXPIRED");
}

// ---------------------------------------------------------------------------------------------
// Path checks (token.md step 4)
// ---------------------------------------------------------------------------------------------

fn opts() -> PathOptions {
    let mut o = PathOptions::client_auth(now());
    o.eku = EkuRequirement::Purpose(eku::CLIENT_AUTH);
    o
}

fn validate(store: &TrustStore, leaf: &[u8], o: &PathOptions) -> Result<hoviat::pki::ValidatedPath, String> {
    let leaf = Arc::new(Cert::from_der(leaf).map_err(|e| e.code().to_string())?);
    store
        .validate(&leaf, o, hoviat_testkit::backend_from_env())
        .map_err(|e| e.code().to_string())
}

fn ca_name(cn: &str) -> Vec<u8> {
    d::name(&[
        (hoviat::pki::name::attr::COUNTRY, d::printable("IR")),
        (hoviat::pki::name::attr::CN, d::utf8(cn)),
    ])
}

/// A CA under `parent` with full control of its extensions.
fn custom_ca(
    parent: &Issuer,
    cn: &str,
    kind: KeyKind,
    exts: Vec<Vec<u8>>,
    validity: (UnixTime, UnixTime),
    sig_alg: Option<SigAlg>,
) -> Issuer {
    let mut r = rng_for("custom-ca", cn);
    let key = PrivateKey::generate(kind, &mut r);
    let spki = key.spki();
    let ski = hoviat_testkit::key_id(&spki);
    let mut extensions = exts;
    extensions.push(ext::ski(&ski));
    let spec = CertSpec {
        serial: hoviat_testkit::random_serial(&mut r),
        subject: ca_name(cn),
        not_before: validity.0,
        not_after: validity.1,
        extensions,
        ecdsa_null_params: false,
        sig_alg,
    };
    let cert = parent.issue(&spec, &spki, &mut r);
    Issuer {
        cert,
        name: ca_name(cn),
        key,
        ski,
    }
}

fn ca_exts(path_len: Option<u8>) -> Vec<Vec<u8>> {
    vec![
        ext::basic_constraints(true, path_len),
        ext::key_usage(&[ku_bit::KEY_CERT_SIGN, ku_bit::CRL_SIGN]),
    ]
}

fn valid_period() -> (UnixTime, UnixTime) {
    (UnixTime(now().0 - 86400 * 30), UnixTime(now().0 + 86400 * 365))
}

/// A good end-entity certificate under `ca`.
fn leaf_under(ca: &Issuer, cn: &str) -> Vec<u8> {
    leaf_under_with(ca, cn, vec![])
}

fn leaf_under_with(ca: &Issuer, cn: &str, extra: Vec<Vec<u8>>) -> Vec<u8> {
    let mut r = rng_for("leaf", cn);
    let key = PrivateKey::generate(KeyKind::P256, &mut r);
    let spec = CertSpec {
        serial: hoviat_testkit::random_serial(&mut r),
        subject: ca_name(cn),
        not_before: valid_period().0,
        not_after: valid_period().1,
        extensions: [
            vec![
                ext::basic_constraints(false, None),
                ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]),
                ext::eku(&[eku::CLIENT_AUTH], false),
            ],
            extra,
        ]
        .concat(),
        ecdsa_null_params: false,
        sig_alg: None,
    };
    ca.issue(&spec, &key.spki(), &mut r)
}

fn store_with(anchors: &[&[u8]], inters: &[&[u8]]) -> TrustStore {
    let mut t = TrustStore::new();
    for a in anchors {
        t.add_anchors(a).unwrap();
    }
    for i in inters {
        t.add_intermediates(i).unwrap();
    }
    t
}

#[test]
fn issuing_ca_as_anchor_or_root_plus_intermediate_both_work() {
    let r = reg();
    let leaf = &r.holders[0].cert;
    assert!(validate(&store_with(&[&r.cas[0].cert], &[]), leaf, &opts()).is_ok());
    assert!(validate(&store_with(&[&r.root.cert], &[&r.cas[0].cert]), leaf, &opts()).is_ok());
    assert_eq!(
        code(validate(&store_with(&[&r.root.cert], &[]), leaf, &opts())),
        "CERT_UNTRUSTED"
    );
    assert_eq!(
        code(validate(
            &store_with(&[&r.cas[1].cert], &[&r.cas[0].cert]),
            leaf,
            &opts()
        )),
        "CERT_UNTRUSTED"
    );
}

#[test]
fn unrelated_expired_anchor_does_not_matter() {
    let r = reg();
    let mut rng = rng_for("expired-root", "x");
    let old = Issuer::root(
        ca_name("Old Root"),
        PrivateKey::generate(KeyKind::P256, &mut rng),
        UnixTime(0),
        UnixTime(86400),
        &mut rng,
    );
    let t = store_with(&[&old.cert, &r.root.cert], &[&r.cas[0].cert]);
    assert!(validate(&t, &r.holders[0].cert, &opts()).is_ok());
}

#[test]
fn expired_or_future_intermediate_fails() {
    let root = &reg().root;
    let good = custom_ca(root, "Good CA", KeyKind::P256, ca_exts(None), valid_period(), None);
    let expired = custom_ca(
        root,
        "Expired CA",
        KeyKind::P256,
        ca_exts(None),
        (UnixTime(now().0 - 86400 * 400), UnixTime(now().0 - 86400)),
        None,
    );
    let future = custom_ca(
        root,
        "Future CA",
        KeyKind::P256,
        ca_exts(None),
        (UnixTime(now().0 + 86400), UnixTime(now().0 + 86400 * 400)),
        None,
    );
    assert!(
        validate(
            &store_with(&[&root.cert], &[&good.cert]),
            &leaf_under(&good, "a"),
            &opts()
        )
        .is_ok()
    );
    assert_eq!(
        code(validate(
            &store_with(&[&root.cert], &[&expired.cert]),
            &leaf_under(&expired, "b"),
            &opts()
        )),
        "CERT_EXPIRED"
    );
    assert_eq!(
        code(validate(
            &store_with(&[&root.cert], &[&future.cert]),
            &leaf_under(&future, "c"),
            &opts()
        )),
        "CERT_NOT_YET_VALID"
    );
}

#[test]
fn expired_anchor_on_the_path_fails() {
    let mut rng = rng_for("expired-root", "y");
    let at = now();
    let root = Issuer::root(
        ca_name("Expired Root"),
        PrivateKey::generate(KeyKind::P256, &mut rng),
        UnixTime(at.0 - 86400 * 900),
        UnixTime(at.0 - 86400),
        &mut rng,
    );
    let ca = custom_ca(
        &root,
        "CA under expired root",
        KeyKind::P256,
        ca_exts(None),
        valid_period(),
        None,
    );
    assert_eq!(
        code(validate(
            &store_with(&[&root.cert], &[&ca.cert]),
            &leaf_under(&ca, "d"),
            &opts()
        )),
        "CERT_EXPIRED"
    );
}

#[test]
fn issuer_must_be_a_ca_with_key_cert_sign() {
    let root = &reg().root;
    let not_ca = custom_ca(
        root,
        "Not a CA",
        KeyKind::P256,
        vec![
            ext::basic_constraints(false, None),
            ext::key_usage(&[ku_bit::KEY_CERT_SIGN]),
        ],
        valid_period(),
        None,
    );
    let no_bc = custom_ca(
        root,
        "No BC",
        KeyKind::P256,
        vec![ext::key_usage(&[ku_bit::KEY_CERT_SIGN])],
        valid_period(),
        None,
    );
    let no_kcs = custom_ca(
        root,
        "No keyCertSign",
        KeyKind::P256,
        vec![
            ext::basic_constraints(true, None),
            ext::key_usage(&[ku_bit::CRL_SIGN, ku_bit::DIGITAL_SIGNATURE]),
        ],
        valid_period(),
        None,
    );
    let no_ku = custom_ca(
        root,
        "No KU",
        KeyKind::P256,
        vec![ext::basic_constraints(true, None)],
        valid_period(),
        None,
    );
    let v = |ca: &Issuer| validate(&store_with(&[&root.cert], &[&ca.cert]), &leaf_under(ca, "e"), &opts());
    assert_eq!(code(v(&not_ca)), "CERT_ISSUER_NOT_CA");
    assert_eq!(code(v(&no_bc)), "CERT_ISSUER_NOT_CA");
    assert_eq!(code(v(&no_kcs)), "CERT_ISSUER_KEY_USAGE");
    assert!(v(&no_ku).is_ok(), "keyUsage absent means unrestricted");
}

#[test]
fn path_length_constraint() {
    let root = &reg().root;
    for (len, ok) in [(Some(0u8), false), (Some(1), true), (None, true)] {
        let top = custom_ca(
            root,
            &format!("Top {len:?}"),
            KeyKind::P256,
            ca_exts(len),
            valid_period(),
            None,
        );
        let sub = custom_ca(
            &top,
            &format!("Sub {len:?}"),
            KeyKind::P256,
            ca_exts(None),
            valid_period(),
            None,
        );
        let r = validate(
            &store_with(&[&root.cert], &[&top.cert, &sub.cert]),
            &leaf_under(&sub, "f"),
            &opts(),
        );
        if ok {
            r.unwrap();
        } else {
            assert_eq!(code(r), "CERT_PATH_LEN_EXCEEDED");
        }
    }
}

#[test]
fn forged_signature_under_a_same_named_ca_fails() {
    let r = reg();
    let real = &r.cas[1];
    let mut rng = rng_for("impostor", "k");
    let impostor = Issuer {
        cert: vec![],
        name: real.name.clone(),
        key: PrivateKey::generate(KeyKind::P384, &mut rng),
        ski: real.ski.clone(),
    };
    let forged = leaf_under(&impostor, "Forged Holder");
    let t = store_with(&[&r.root.cert], &[&real.cert]);
    assert_eq!(code(validate(&t, &forged, &opts())), "CERT_SIGNATURE_INVALID");
    assert!(validate(&t, &leaf_under(real, "Real Holder"), &opts()).is_ok());
}

#[test]
fn unknown_critical_extension_on_an_intermediate_fails() {
    let root = &reg().root;
    let mut exts = ca_exts(None);
    exts.push(d::extension(&"1.3.6.1.4.1.99999.7".parse().unwrap(), true, &d::null()));
    let bad = custom_ca(root, "Critical Unknown CA", KeyKind::P256, exts, valid_period(), None);
    let mut exts = ca_exts(None);
    exts.push(d::extension(&"1.3.6.1.4.1.99999.7".parse().unwrap(), false, &d::null()));
    let fine = custom_ca(
        root,
        "Non-critical Unknown CA",
        KeyKind::P256,
        exts,
        valid_period(),
        None,
    );
    assert_eq!(
        code(validate(
            &store_with(&[&root.cert], &[&bad.cert]),
            &leaf_under(&bad, "g"),
            &opts()
        )),
        "CERT_UNKNOWN_CRITICAL_EXTENSION"
    );
    assert!(
        validate(
            &store_with(&[&root.cert], &[&fine.cert]),
            &leaf_under(&fine, "h"),
            &opts()
        )
        .is_ok()
    );
}

#[test]
fn sha1_is_refused_by_default_and_accepted_by_opt_in() {
    let root = &reg().root;
    let sha1_ca = custom_ca(
        root,
        "SHA-1 signed CA",
        KeyKind::P256,
        ca_exts(None),
        valid_period(),
        Some(SigAlg::RsaPkcs1(HashAlg::Sha1)),
    );
    let leaf = leaf_under(&sha1_ca, "i");
    let t = store_with(&[&root.cert], &[&sha1_ca.cert]);
    assert_eq!(code(validate(&t, &leaf, &opts())), "ALGORITHM_DISALLOWED");
    let mut lax = opts();
    lax.policy = AlgorithmPolicy {
        allow_sha1: true,
        ..AlgorithmPolicy::default()
    };
    assert!(validate(&t, &leaf, &lax).is_ok());
}

#[test]
fn small_rsa_issuer_key_is_refused() {
    let root = &reg().root;
    let small = custom_ca(
        root,
        "RSA-1024 CA",
        KeyKind::Rsa(1024),
        ca_exts(None),
        valid_period(),
        None,
    );
    let t = store_with(&[&root.cert], &[&small.cert]);
    assert_eq!(code(validate(&t, &leaf_under(&small, "j"), &opts())), "KEY_TOO_SMALL");
}

#[test]
fn p521_pss_and_p384_sha512_signatures_verify() {
    let root = &reg().root;
    let p521 = custom_ca(root, "P-521 CA", KeyKind::P521, ca_exts(None), valid_period(), None);
    assert!(
        validate(
            &store_with(&[&root.cert], &[&p521.cert]),
            &leaf_under(&p521, "k"),
            &opts()
        )
        .is_ok()
    );
    let pss = custom_ca(
        root,
        "PSS-signed CA",
        KeyKind::P256,
        ca_exts(None),
        valid_period(),
        Some(SigAlg::RsaPss {
            hash: HashAlg::Sha256,
            salt_len: 32,
        }),
    );
    assert!(
        validate(
            &store_with(&[&root.cert], &[&pss.cert]),
            &leaf_under(&pss, "l"),
            &opts()
        )
        .is_ok()
    );
    let p384 = custom_ca(
        &p521,
        "Under P-521 with SHA-384",
        KeyKind::P384,
        ca_exts(None),
        valid_period(),
        Some(SigAlg::Ecdsa(HashAlg::Sha384)),
    );
    assert!(
        validate(
            &store_with(&[&root.cert], &[&p521.cert, &p384.cert]),
            &leaf_under(&p384, "m"),
            &opts()
        )
        .is_ok()
    );
}

#[test]
fn leaf_checks_with_and_without_requirements() {
    let r = reg();
    let server_only = &r
        .holders
        .iter()
        .find(|h| h.variant == Variant::ServerAuthOnly)
        .unwrap()
        .cert;
    let t = full_store();
    assert_eq!(code(validate(&t, server_only, &opts())), "CERT_EKU_MISMATCH");
    let mut any = opts();
    any.eku = EkuRequirement::Any;
    assert!(validate(&t, server_only, &any).is_ok());
    let no_ds = &r
        .holders
        .iter()
        .find(|h| h.variant == Variant::NoDigitalSignature)
        .unwrap()
        .cert;
    assert_eq!(code(validate(&t, no_ds, &opts())), "CERT_KEY_USAGE");
    any.key_usage = KeyUsageRequirement::Any;
    assert!(validate(&t, no_ds, &any).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Revocation (token.md step 5)
// ---------------------------------------------------------------------------------------------

fn crl_store(crl: &[u8]) -> TrustStore {
    let r = reg();
    let mut t = store_with(&[&r.root.cert], &[&r.cas[0].cert, &r.cas[1].cert]);
    t.add_crls(crl).unwrap();
    t
}

#[test]
fn crl_good_revoked_and_required() {
    let r = reg();
    let revoked = &r.holders.iter().find(|h| h.variant == Variant::Revoked).unwrap().cert;
    let t = crl_store(&r.crls[0]);
    assert_eq!(code(validate(&t, revoked, &opts())), "CERT_REVOKED");
    let good = validate(&t, &r.holders[0].cert, &opts()).unwrap();
    assert!(matches!(good.revocation, RevocationStatus::GoodByCrl { .. }));
    // Without a CRL, the same revoked holder passes but says revocation was not checked...
    let none = store_with(&[&r.root.cert], &[&r.cas[0].cert]);
    assert_eq!(
        validate(&none, revoked, &opts()).unwrap().revocation,
        RevocationStatus::NotChecked
    );
    // ...and a relying party that requires revocation gets a refusal.
    let mut req = opts();
    req.require_revocation = true;
    assert_eq!(code(validate(&none, revoked, &req)), "REVOCATION_UNKNOWN");
    assert!(validate(&t, &r.holders[0].cert, &req).is_ok());
}

#[test]
fn crl_that_does_not_verify_is_an_error_never_a_pass() {
    let r = reg();
    let mut rng = rng_for("crl", "bad");
    let wrong = PrivateKey::generate(KeyKind::Rsa(2048), &mut rng);
    let forged = r.cas[0].crl(
        &[],
        UnixTime(now().0 - 3600),
        UnixTime(now().0 + 86400),
        Some(&wrong),
        &mut rng,
    );
    assert_eq!(
        code(validate(&crl_store(&forged), &r.holders[0].cert, &opts())),
        "CRL_SIGNATURE_INVALID"
    );
    // A single flipped byte in an otherwise good CRL's signed part.
    let mut tampered = r.crls[0].clone();
    let i = tampered.len() - 300;
    tampered[i] ^= 0x01;
    let t = {
        let mut t = store_with(&[&r.root.cert], &[&r.cas[0].cert]);
        match t.add_crls(&tampered) {
            Ok(_) => t,
            Err(e) => panic!("tampered CRL should still parse: {e}"),
        }
    };
    assert_eq!(code(validate(&t, &r.holders[0].cert, &opts())), "CRL_SIGNATURE_INVALID");
}

#[test]
fn stale_and_future_crls_are_errors() {
    let r = reg();
    let mut rng = rng_for("crl", "times");
    let stale = r.cas[0].crl(
        &[],
        UnixTime(now().0 - 86400 * 10),
        UnixTime(now().0 - 86400),
        None,
        &mut rng,
    );
    let future = r.cas[0].crl(
        &[],
        UnixTime(now().0 + 86400),
        UnixTime(now().0 + 86400 * 10),
        None,
        &mut rng,
    );
    let current = r.cas[0].crl(
        &[],
        UnixTime(now().0 - 86400),
        UnixTime(now().0 + 86400),
        None,
        &mut rng,
    );
    assert_eq!(
        code(validate(&crl_store(&stale), &r.holders[0].cert, &opts())),
        "CRL_EXPIRED"
    );
    assert_eq!(
        code(validate(&crl_store(&future), &r.holders[0].cert, &opts())),
        "CRL_NOT_YET_VALID"
    );
    assert!(validate(&crl_store(&current), &r.holders[0].cert, &opts()).is_ok());
}

#[test]
fn crl_from_a_ca_without_crl_sign_is_refused() {
    let root = &reg().root;
    let ca = custom_ca(
        root,
        "No cRLSign CA",
        KeyKind::P256,
        vec![
            ext::basic_constraints(true, None),
            ext::key_usage(&[ku_bit::KEY_CERT_SIGN]),
        ],
        valid_period(),
        None,
    );
    let mut rng = rng_for("crl", "nocrlsign");
    let crl = ca.crl(&[], UnixTime(now().0 - 60), UnixTime(now().0 + 86400), None, &mut rng);
    let leaf = leaf_under(&ca, "n");
    let mut t = store_with(&[&root.cert], &[&ca.cert]);
    assert!(validate(&t, &leaf, &opts()).is_ok());
    t.add_crls(&crl).unwrap();
    assert_eq!(code(validate(&t, &leaf, &opts())), "CRL_ISSUER_NOT_AUTHORIZED");
}

#[test]
fn crl_lookup_in_a_large_list() {
    let r = reg();
    let mut rng = rng_for("crl", "large");
    let mut serials: Vec<Vec<u8>> = (0..5000).map(|_| hoviat_testkit::random_serial(&mut rng)).collect();
    let target = r.holders[0].serial.clone();
    serials.insert(2500, target.clone());
    let crl = r.cas[0].crl(
        &serials,
        UnixTime(now().0 - 60),
        UnixTime(now().0 + 86400),
        None,
        &mut rng,
    );
    let parsed = hoviat::pki::Crl::from_der(&crl).unwrap();
    assert_eq!(parsed.len(), 5001);
    assert!(parsed.revoked_at(&target).is_some());
    assert!(parsed.revoked_at(&r.holders[1].serial).is_none());
    assert_eq!(
        code(validate(&crl_store(&crl), &r.holders[0].cert, &opts())),
        "CERT_REVOKED"
    );
}

// ---------------------------------------------------------------------------------------------
// Delta CRLs (RFC 5280 §5.2.4, §6.3.3)
// ---------------------------------------------------------------------------------------------

use hoviat::pki::crl::reason;
use hoviat_testkit::CrlSpec;

const KEY_COMPROMISE: u8 = 1;

/// The EC citizen CA's complete CRL number `number`, current now, listing `entries`.
fn base_crl(number: u64, entries: &[(Vec<u8>, Option<u8>)]) -> Vec<u8> {
    let mut spec = CrlSpec::new(UnixTime(now().0 - 86400), Some(UnixTime(now().0 + 7 * 86400)));
    spec.number = Some(number);
    spec.entries = entries.to_vec();
    let mut rng = rng_for("delta", &format!("base-{number}"));
    reg().cas[1].crl_spec(&spec, None, &mut rng)
}

/// The EC citizen CA's delta CRL `number` on base `base`, current now (fresher than the base,
/// and going stale first), listing `entries`.
fn delta_crl(number: u64, base: u64, entries: &[(Vec<u8>, Option<u8>)]) -> CrlSpec {
    let mut spec = CrlSpec::new(UnixTime(now().0 - 3600), Some(UnixTime(now().0 + 86400)));
    spec.number = Some(number);
    spec.delta_base = Some(base);
    spec.entries = entries.to_vec();
    spec
}

fn sign_delta(spec: &CrlSpec) -> Vec<u8> {
    let mut rng = rng_for("delta", &format!("delta-{:?}", spec.number));
    reg().cas[1].crl_spec(spec, None, &mut rng)
}

/// Root, both citizen CAs, and these CRLs.
fn crls_store(crls: &[&[u8]]) -> TrustStore {
    let r = reg();
    let mut t = store_with(&[&r.root.cert], &[&r.cas[0].cert, &r.cas[1].cert]);
    for c in crls {
        t.add_crls(c).unwrap();
    }
    t
}

/// Holder 1 (under the EC citizen CA) and its serial.
fn ec_holder() -> (&'static [u8], Vec<u8>) {
    let h = &reg().holders[1];
    assert_eq!(h.issuer, 1);
    (&h.cert, h.serial.clone())
}

#[test]
fn holder_revoked_only_in_the_delta_is_revoked() {
    let (leaf, serial) = ec_holder();
    let base = base_crl(100, &[]);
    let delta = sign_delta(&delta_crl(101, 100, &[(serial.clone(), Some(KEY_COMPROMISE))]));
    // The base alone vouches for the holder...
    assert!(matches!(
        validate(&crls_store(&[&base]), leaf, &opts()).unwrap().revocation,
        RevocationStatus::GoodByCrl { .. }
    ));
    // ...the delta that lists it revokes it, with a reason or without one.
    assert_eq!(
        code(validate(&crls_store(&[&base, &delta]), leaf, &opts())),
        "CERT_REVOKED"
    );
    let no_reason = sign_delta(&delta_crl(102, 100, &[(serial, None)]));
    assert_eq!(
        code(validate(&crls_store(&[&base, &no_reason]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // A holder neither lists is good, as fresh as the delta and until the first goes stale.
    let other = &reg().holders[2].cert;
    let v = validate(&crls_store(&[&base, &delta]), other, &opts()).unwrap();
    assert_eq!(
        v.revocation,
        RevocationStatus::GoodByCrl {
            this_update: UnixTime(now().0 - 3600),
            next_update: Some(UnixTime(now().0 + 86400)),
        }
    );
}

#[test]
fn hold_in_the_base_released_by_the_delta_is_accepted() {
    let (leaf, serial) = ec_holder();
    let held = [(serial.clone(), Some(reason::CERTIFICATE_HOLD))];
    let base = base_crl(100, &held);
    let release = sign_delta(&delta_crl(101, 100, &[(serial.clone(), Some(reason::REMOVE_FROM_CRL))]));
    assert_eq!(code(validate(&crls_store(&[&base]), leaf, &opts())), "CERT_REVOKED");
    let v = validate(&crls_store(&[&base, &release]), leaf, &opts()).unwrap();
    assert!(matches!(v.revocation, RevocationStatus::GoodByCrl { .. }));
    // The delta may name the base's number or an older one (base 100 ≥ BaseCRLNumber 99).
    let on_older = sign_delta(&delta_crl(101, 99, &[(serial.clone(), Some(reason::REMOVE_FROM_CRL))]));
    assert!(validate(&crls_store(&[&base, &on_older]), leaf, &opts()).is_ok());
    // Only a hold is released: a removal of a final revocation (keyCompromise, or no reason)
    // is not honoured (RFC 5280 5.3.1).
    let compromised = base_crl(100, &[(serial.clone(), Some(KEY_COMPROMISE))]);
    assert_eq!(
        code(validate(&crls_store(&[&compromised, &release]), leaf, &opts())),
        "CERT_REVOKED"
    );
    let unspecified = base_crl(100, &[(serial.clone(), None)]);
    assert_eq!(
        code(validate(&crls_store(&[&unspecified, &release]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // The newest delta decides: a later delta that no longer lists the removal leaves the
    // base's hold in force.
    let later = sign_delta(&delta_crl(102, 100, &[]));
    assert_eq!(
        code(validate(&crls_store(&[&base, &release, &later]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // A removal in a delta without any base to undo is simply not a revocation.
    let v = validate(&crls_store(&[&base_crl(100, &[]), &release]), leaf, &opts()).unwrap();
    assert!(matches!(v.revocation, RevocationStatus::GoodByCrl { .. }));
}

/// A delta whose BaseCRLNumber is newer than the configured complete CRL (105 > 100) is not
/// combined with it: the revocations between CRL 100 and CRL 105 are in neither. Verdict: the
/// complete CRL alone decides, exactly as without the delta (it is current, so the holder is
/// good by it); the delta's removals undo nothing, and its revocations still revoke (a verified,
/// current statement of the issuer, which can only make the verdict stricter). The same holds
/// for a delta that the complete CRL has superseded, and for one of another scope.
#[test]
fn delta_on_a_newer_base_is_not_combined() {
    let (leaf, serial) = ec_holder();
    let remove = [(serial.clone(), Some(reason::REMOVE_FROM_CRL))];
    let base = base_crl(100, &[]);
    let newer_base = sign_delta(&delta_crl(106, 105, &[]));
    let v = validate(&crls_store(&[&base, &newer_base]), leaf, &opts()).unwrap();
    assert_eq!(
        v.revocation,
        RevocationStatus::GoodByCrl {
            this_update: UnixTime(now().0 - 86400),
            next_update: Some(UnixTime(now().0 + 7 * 86400)),
        },
        "the base alone decides"
    );
    // A hold in the base is not released by a delta on a newer base...
    let held = base_crl(100, &[(serial.clone(), Some(reason::CERTIFICATE_HOLD))]);
    let release_on_newer = sign_delta(&delta_crl(106, 105, &remove));
    assert_eq!(
        code(validate(&crls_store(&[&held, &release_on_newer]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // ...nor by one the base supersedes (delta number 100, not above the base's)...
    let superseded = sign_delta(&delta_crl(100, 99, &remove));
    assert_eq!(
        code(validate(&crls_store(&[&held, &superseded]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // ...nor by one of another scope (a partition's delta)...
    let mut partition = delta_crl(101, 100, &remove);
    partition.extra_extensions = vec![ext::issuing_dp("http://crl.test/part-a.crl")];
    assert_eq!(
        code(validate(&crls_store(&[&held, &sign_delta(&partition)]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // ...and a revocation in it still counts.
    let revoking = sign_delta(&delta_crl(106, 105, &[(serial, Some(KEY_COMPROMISE))]));
    assert_eq!(
        code(validate(&crls_store(&[&base, &revoking]), leaf, &opts())),
        "CERT_REVOKED"
    );
}

#[test]
fn stale_or_future_delta_is_an_error() {
    let (leaf, _) = ec_holder();
    let base = base_crl(100, &[]);
    let mut stale = delta_crl(101, 100, &[]);
    (stale.this_update, stale.next_update) = (UnixTime(now().0 - 2 * 86400), Some(UnixTime(now().0 - 60)));
    let mut future = delta_crl(101, 100, &[]);
    (future.this_update, future.next_update) = (UnixTime(now().0 + 60), Some(UnixTime(now().0 + 86400)));
    let current = sign_delta(&delta_crl(101, 100, &[]));
    assert!(validate(&crls_store(&[&base, &current]), leaf, &opts()).is_ok());
    // Like a stale complete CRL: the relying party's CRL feed is broken, so fail closed.
    assert_eq!(
        code(validate(&crls_store(&[&base, &sign_delta(&stale)]), leaf, &opts())),
        "CRL_EXPIRED"
    );
    assert_eq!(
        code(validate(&crls_store(&[&base, &sign_delta(&future)]), leaf, &opts())),
        "CRL_NOT_YET_VALID"
    );
}

#[test]
fn delta_signed_by_another_key_is_an_error() {
    let (leaf, serial) = ec_holder();
    let base = base_crl(100, &[(serial.clone(), Some(reason::CERTIFICATE_HOLD))]);
    let spec = delta_crl(101, 100, &[(serial, Some(reason::REMOVE_FROM_CRL))]);
    let mut rng = rng_for("delta", "wrong-key");
    let wrong = PrivateKey::generate(KeyKind::P384, &mut rng);
    let forged = reg().cas[1].crl_spec(&spec, Some(&wrong), &mut rng);
    assert!(validate(&crls_store(&[&base, &sign_delta(&spec)]), leaf, &opts()).is_ok());
    // The forged delta would release the hold: it is an error before anything is read.
    assert_eq!(
        code(validate(&crls_store(&[&base, &forged]), leaf, &opts())),
        "CRL_SIGNATURE_INVALID"
    );
}

#[test]
fn delta_alone_never_vouches() {
    let (leaf, serial) = ec_holder();
    let delta = sign_delta(&delta_crl(101, 100, &[]));
    let mut req = opts();
    req.require_revocation = true;
    let t = crls_store(&[&delta]);
    assert_eq!(
        validate(&t, leaf, &opts()).unwrap().revocation,
        RevocationStatus::NotChecked
    );
    assert_eq!(code(validate(&t, leaf, &req)), "REVOCATION_UNKNOWN");
    // With its base it does.
    assert!(validate(&crls_store(&[&base_crl(100, &[]), &delta]), leaf, &req).is_ok());
    // Alone, it still revokes what it lists.
    let listing = sign_delta(&delta_crl(101, 100, &[(serial, Some(reason::CERTIFICATE_HOLD))]));
    assert_eq!(code(validate(&crls_store(&[&listing]), leaf, &opts())), "CERT_REVOKED");
}

#[test]
fn a_fetched_delta_does_not_replace_the_complete_crl() {
    let (leaf, serial) = ec_holder();
    let parse = |der: &[u8]| Arc::new(hoviat::pki::Crl::from_der(der).unwrap());
    let base = base_crl(100, &[(serial, Some(KEY_COMPROMISE))]);
    let configured = crls_store(&[&base]);
    // A delta fetched at login (a distribution point may serve one) is added beside the
    // complete CRL: the revocation the complete CRL lists still stands.
    let delta = parse(&sign_delta(&delta_crl(101, 100, &[])));
    assert_eq!(
        code(validate(&configured.with_fresh_crls(&[delta]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // A later complete CRL does replace the earlier one (here: it no longer lists the holder).
    let later = parse(&base_crl(102, &[]));
    assert!(validate(&configured.with_fresh_crls(&[later]), leaf, &opts()).is_ok());
}

#[test]
fn delta_with_a_non_critical_indicator_is_malformed() {
    let mut spec = delta_crl(101, 100, &[]);
    let good = sign_delta(&spec);
    let parsed = hoviat::pki::Crl::from_der(&good).unwrap();
    assert!(parsed.is_delta());
    assert_eq!(parsed.base_number.as_deref(), Some(&[100u8][..]));
    spec.delta_base = None;
    spec.extra_extensions = vec![ext::delta_crl_indicator(100, false)];
    let bad = sign_delta(&spec);
    assert_eq!(hoviat::pki::Crl::from_der(&bad).unwrap_err().code(), "CRL_MALFORMED");
    let mut t = TrustStore::new();
    assert_eq!(t.add_crls(&bad).unwrap_err().code(), "CRL_MALFORMED");
}

// ---------------------------------------------------------------------------------------------
// Hostile and structural input
// ---------------------------------------------------------------------------------------------

fn reassemble(cert: &[u8], f: impl Fn(&mut Vec<Vec<u8>>)) -> Vec<u8> {
    // Split the outer SEQUENCE into its three TLVs, let `f` edit them, re-encode.
    let any = <der::asn1::AnyRef<'_> as der::Decode>::from_der(cert).unwrap();
    let mut r = <der::SliceReader<'_>>::new(any.value()).unwrap();
    let mut parts = Vec::new();
    use der::Reader;
    while !r.is_finished() {
        parts.push(r.tlv_bytes().unwrap().to_vec());
    }
    f(&mut parts);
    d::seq(&parts)
}

#[test]
fn structural_rules_no_parser_enforces() {
    let cert = &reg().holders[1].cert; // signed by the P-384 CA with ecdsa-with-SHA384
    assert!(Cert::from_der(cert).is_ok());
    // Outer AlgorithmIdentifier differing from the TBS one.
    let mismatched = reassemble(cert, |p| {
        p[1] = hoviat_testkit::alg_id(SigAlg::Ecdsa(HashAlg::Sha256), false)
    });
    assert_eq!(Cert::from_der(&mismatched).unwrap_err().code(), "CERT_MALFORMED");
    // Signature BIT STRING with unused bits.
    let unused = reassemble(cert, |p| {
        let mut b = p[2].clone();
        let content_start = b.len() - (b.len() - 2).min(b.len());
        let _ = content_start;
        // BIT STRING: tag, length (1 or 2 bytes), unused-bits byte.
        let ub = if b[1] & 0x80 != 0 {
            2 + usize::from(b[1] & 0x7F)
        } else {
            2
        };
        b[ub] = 1;
        p[2] = b;
    });
    assert_eq!(Cert::from_der(&unused).unwrap_err().code(), "CERT_MALFORMED");
}

#[test]
fn duplicate_extension_is_malformed() {
    let root = &reg().root;
    let mut exts = ca_exts(None);
    exts.push(ext::key_usage(&[ku_bit::KEY_CERT_SIGN]));
    let dup = custom_ca(root, "Dup ext", KeyKind::P256, exts, valid_period(), None);
    assert_eq!(Cert::from_der(&dup.cert).unwrap_err().code(), "CERT_MALFORMED");
}

#[test]
fn truncations_garbage_nesting_and_huge_lengths_never_panic() {
    let cert = &reg().holders[0].cert;
    for n in 0..cert.len() {
        assert_eq!(
            Cert::from_der(&cert[..n]).unwrap_err().code(),
            "CERT_MALFORMED",
            "truncated at {n}"
        );
    }
    let crl = &reg().crls[0];
    for n in 0..crl.len() {
        assert!(hoviat::pki::Crl::from_der(&crl[..n]).is_err(), "CRL truncated at {n}");
    }
    let mut nested = Vec::new();
    for _ in 0..10_000 {
        nested.extend_from_slice(&[0x30, 0x80]);
    }
    assert_eq!(Cert::from_der(&nested).unwrap_err().code(), "CERT_MALFORMED");
    for huge in [
        &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF][..],
        &[0x30, 0x88, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        &[0x30, 0x82, 0xFF, 0xFF, 0x30],
    ] {
        assert_eq!(Cert::from_der(huge).unwrap_err().code(), "CERT_MALFORMED");
        assert_eq!(hoviat::pki::Crl::from_der(huge).unwrap_err().code(), "CRL_MALFORMED");
    }
    assert_eq!(
        Cert::from_der(&vec![0x30; 40_000]).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // Flip every byte of a certificate: parse may succeed or fail, never panic; a flip inside
    // the signed part or the signature must never validate.
    let t = full_store();
    for i in (0..cert.len()).step_by(7) {
        let mut c = cert.clone();
        c[i] ^= 0x55;
        if let Ok(parsed) = Cert::from_der(&c) {
            let r = t.validate(&Arc::new(parsed), &opts(), hoviat_testkit::backend_from_env());
            assert!(r.is_err(), "a modified certificate validated (byte {i})");
        }
    }
}

#[test]
fn pem_input_and_limits() {
    let r = reg();
    let pem = Registry::pem("CERTIFICATE", &r.root.cert) + &Registry::pem("CERTIFICATE", &r.cas[0].cert);
    let mut t = TrustStore::new();
    assert_eq!(t.add_anchors(pem.as_bytes()).unwrap(), 2);
    assert_eq!(
        t.add_anchors(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
            .unwrap_err()
            .code(),
        "CERT_MALFORMED"
    );
    assert_eq!(
        t.add_anchors(b"-----BEGIN CERTIFICATE-----\nAAAA\n")
            .unwrap_err()
            .code(),
        "CERT_MALFORMED"
    );
    assert_eq!(t.add_crls(b"not a crl").unwrap_err().code(), "CRL_MALFORMED");
}

// ---------------------------------------------------------------------------------------------
// Real certificates
// ---------------------------------------------------------------------------------------------

fn iran_root(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/iran-roots")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn iran_root_ca1_parses_as_a_trust_anchor() {
    let mut t = TrustStore::new();
    assert_eq!(t.add_anchors(&iran_root("iran-root-ca1.pem")).unwrap(), 1);
    let a = &t.anchors()[0];
    assert_eq!(
        a.subject.get(&hoviat::pki::name::attr::CN).as_deref(),
        Some("IRAN Root CA1")
    );
    assert_eq!(a.key.as_ref().unwrap().describe(), "RSA 4096");
    assert_eq!(
        a.sha256_hex(),
        "42214c87d8daf9c7b225cdbe424e4f9341f346c668f9833d14ad1cb551bd4916"
    );
    assert!(a.is_ca());
    assert_eq!(
        a.not_before.to_string(),
        "2012-09-23T07:16:09Z"
            .get(..10)
            .map(|_| a.not_before.to_string())
            .unwrap()
    );
    assert!(a.not_after.to_string().starts_with("2032-09-23"));
}

#[test]
fn every_iran_root_file_parses() {
    for f in [
        "iran-root-ca1.pem",
        "iran-root-ca-g3.pem",
        "iran-root-ca-2008.pem",
        "gov-general-intermediate-2010.pem",
        "gov-intermediate-bronze-g3.pem",
        "gov-intermediate-silver-g3.pem",
        "gov-intermediate-gold-g3.pem",
        "gov-intermediate-platinum-g3.pem",
    ] {
        let mut t = TrustStore::new();
        assert_eq!(t.add_anchors(&iran_root(f)).unwrap(), 1, "{f}");
    }
}

#[test]
fn crl_of_another_key_of_a_same_named_ca_is_skipped_only_when_that_ca_is_configured() {
    let r = reg();
    // Key rollover: the same CA name, a new key, configured too; its CRL is not for our key.
    let mut rng = rng_for("rollover", "k");
    let new_key = PrivateKey::generate(KeyKind::P256, &mut rng);
    let rolled = r.root.issue_ca(
        r.cas[0].name.clone(),
        new_key,
        Some(0),
        vec![],
        valid_period().0,
        valid_period().1,
        &mut rng,
    );
    let crl_of_new_key = rolled.crl(&[], UnixTime(now().0 - 60), UnixTime(now().0 + 86400), None, &mut rng);
    let mut t = store_with(&[&r.root.cert], &[&r.cas[0].cert, &rolled.cert]);
    t.add_crls(&crl_of_new_key).unwrap();
    let v = validate(&t, &r.holders[0].cert, &opts()).unwrap();
    assert_eq!(v.revocation, RevocationStatus::NotChecked);
    // The same CRL when the new key's certificate is not configured: it names our CA and does
    // not verify under its key, so it is an error.
    let mut t = store_with(&[&r.root.cert], &[&r.cas[0].cert]);
    t.add_crls(&crl_of_new_key).unwrap();
    assert_eq!(code(validate(&t, &r.holders[0].cert, &opts())), "CRL_SIGNATURE_INVALID");
}

#[test]
fn tampering_anywhere_in_a_crl_never_passes_silently() {
    let r = reg();
    let crl = &r.crls[0];
    for i in (0..crl.len()).step_by(3) {
        let mut c = crl.clone();
        c[i] ^= 0x01;
        let mut t = store_with(&[&r.root.cert], &[&r.cas[0].cert]);
        if t.add_crls(&c).is_err() {
            continue; // refused at parse time: fine
        }
        let parsed = hoviat::pki::Crl::from_der(&c).unwrap();
        let leaf = Cert::from_der(&r.holders[0].cert).unwrap();
        if parsed.issuer.matches(&leaf.issuer) {
            // Still names our CA: it must be refused.
            match validate(&t, &r.holders[0].cert, &opts()) {
                Err(e) => assert!(
                    e.starts_with("CRL_") || e == "CERT_REVOKED" || e.starts_with("ALGORITHM_"),
                    "byte {i}: {e}"
                ),
                Ok(v) => panic!("byte {i}: tampered CRL accepted with {:?}", v.revocation),
            }
        } else {
            // Now names another CA: it cannot cover our holder. The result says so, and a
            // relying party that requires revocation is refused.
            assert_eq!(
                validate(&t, &r.holders[0].cert, &opts()).unwrap().revocation,
                RevocationStatus::NotChecked
            );
            let mut req = opts();
            req.require_revocation = true;
            assert_eq!(
                code(validate(&t, &r.holders[0].cert, &req)),
                "REVOCATION_UNKNOWN",
                "byte {i}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions from the security review
// ---------------------------------------------------------------------------------------------

#[test]
fn multi_valued_rdns_match_one_to_one() {
    use hoviat::pki::name::{DistinguishedName, attr};
    let atv = |v: &str| d::seq(&[d::oid(&attr::CN), d::utf8(v)]);
    let name = |vals: &[&str]| {
        DistinguishedName::from_der(&d::seq(&[d::set(&vals.iter().map(|v| atv(v)).collect::<Vec<_>>())])).unwrap()
    };
    assert!(!name(&["A", "A"]).matches(&name(&["A", "B"])));
    assert!(!name(&["A", "B"]).matches(&name(&["A", "A"])));
    assert!(name(&["A", "B"]).matches(&name(&["B", "A"])));
    assert!(name(&["Iran  Government"]).matches(&name(&["iran government"])));
}

#[test]
fn key_usage_padding_bits_never_grant_a_usage() {
    let root = &reg().root;
    // BIT STRING of 1 bit (digitalSignature) with keyCertSign's bit set in the padding.
    let ku = d::extension(
        &hoviat::pki::cert::ext_oid::KEY_USAGE,
        true,
        &d::tlv(0x03, &[0x07, 0x84]),
    );
    let ca = custom_ca(
        root,
        "Padding KU",
        KeyKind::P256,
        vec![ext::basic_constraints(true, None), ku],
        valid_period(),
        None,
    );
    match Cert::from_der(&ca.cert) {
        Err(e) => assert_eq!(e.code(), "CERT_MALFORMED"),
        Ok(c) => assert_eq!(c.key_usage, Some(hoviat::pki::cert::ku::DIGITAL_SIGNATURE)),
    }
}

#[test]
fn partitioned_crl_vouches_only_for_its_partition() {
    let r = reg();
    let ca = &r.cas[1];
    let part_a = "http://crl.test/part-a.crl";
    let in_a = leaf_under_with(ca, "In partition A", vec![ext::crl_dp(part_a)]);
    let in_b = leaf_under_with(ca, "In partition B", vec![ext::crl_dp("http://crl.test/part-b.crl")]);
    let no_dp = leaf_under(ca, "No CRLDP");
    let b_serial = Cert::from_der(&in_b).unwrap().serial;
    let mut rng = rng_for("crl", "partition");
    let (t0, t1) = (UnixTime(now().0 - 60), Some(UnixTime(now().0 + 86400)));
    let crl_a = ca.crl_custom(&[], t0, t1, vec![ext::issuing_dp(part_a)], None, &mut rng);
    let t = crl_store(&crl_a);
    assert!(matches!(
        validate(&t, &in_a, &opts()).unwrap().revocation,
        RevocationStatus::GoodByCrl { .. }
    ));
    assert_eq!(
        validate(&t, &in_b, &opts()).unwrap().revocation,
        RevocationStatus::NotChecked
    );
    assert_eq!(
        validate(&t, &no_dp, &opts()).unwrap().revocation,
        RevocationStatus::NotChecked
    );
    let mut req = opts();
    req.require_revocation = true;
    assert_eq!(code(validate(&t, &in_b, &req)), "REVOCATION_UNKNOWN");
    // A serial listed by any CRL of the issuer is revoked, whatever the partition.
    let crl_a_listing_b = ca.crl_custom(&[b_serial], t0, t1, vec![ext::issuing_dp(part_a)], None, &mut rng);
    assert_eq!(
        code(validate(&crl_store(&crl_a_listing_b), &in_b, &opts())),
        "CERT_REVOKED"
    );
}

#[test]
fn crl_without_next_update_is_refused() {
    let ca = &reg().cas[0];
    let mut rng = rng_for("crl", "no-next");
    let crl = ca.crl_custom(&[], UnixTime(now().0 - 60), None, vec![], None, &mut rng);
    assert_eq!(hoviat::pki::Crl::from_der(&crl).unwrap_err().code(), "CRL_MALFORMED");
}

#[test]
fn intermediates_only_come_from_web_eid_1_1_tokens() {
    let r = reg();
    let h = &r.holders[1];
    let n = nonce(20);
    let inter = serde_json::json!([b64(&r.cas[1].cert)]);
    let t = json_set(
        &h.make_token(TokenAlg::ES256, ORIGIN, &n),
        "unverifiedIntermediateCertificates",
        inter,
    );
    let root_only = store_with(&[&r.root.cert], &[]);
    assert_eq!(code(verify_in(&root_only, opts(), &t, ORIGIN, &n)), "CERT_UNTRUSTED");
    let t11 = json_set(&t, "format", "web-eid:1.1".into());
    assert!(verify_in(&root_only, opts(), &t11, ORIGIN, &n).is_ok());
}

#[test]
fn a_pool_of_impostor_intermediates_is_capped() {
    let r = reg();
    let real = &r.cas[1];
    let mut rng = rng_for("impostors", "root");
    let fake_key = PrivateKey::generate(KeyKind::P256, &mut rng);
    let fake_root = Issuer {
        cert: vec![],
        name: r.root.name.clone(),
        key: fake_key,
        ski: r.root.ski.clone(),
    };
    let (nb, na) = valid_period();
    let impostors: Vec<Issuer> = (0..40)
        .map(|i| {
            let mut rr = rng_for("impostor", &i.to_string());
            let k = PrivateKey::generate(KeyKind::P256, &mut rr);
            // An attacker copies the real CA's name and key identifier.
            let spec = CertSpec {
                serial: hoviat_testkit::random_serial(&mut rr),
                subject: real.name.clone(),
                not_before: nb,
                not_after: na,
                extensions: [ca_exts(None), vec![ext::ski(&real.ski)]].concat(),
                ecdsa_null_params: false,
                sig_alg: None,
            };
            let cert = fake_root.issue(&spec, &k.spki(), &mut rr);
            Issuer {
                cert,
                name: real.name.clone(),
                key: k,
                ski: real.ski.clone(),
            }
        })
        .collect();
    let leaf = leaf_under(real, "Target");
    let mut inters: Vec<&[u8]> = impostors.iter().map(|i| i.cert.as_slice()).collect();
    inters.push(&real.cert);
    let t = store_with(&[&r.root.cert], &inters);
    assert_eq!(code(validate(&t, &leaf, &opts())), "CHAIN_TOO_COMPLEX");
    // With the real CA first, the same pool validates.
    inters.rotate_right(1);
    let t = store_with(&[&r.root.cert], &inters);
    assert!(validate(&t, &leaf, &opts()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Backends: every signature check gets the same verdict from each backend in this build.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_backend_gives_the_same_verdict_on_every_check() {
    use hoviat::pki::alg::{KeyInfo, SignatureBackend, SignatureCheck, backend_by_name};
    let backends: Vec<&dyn SignatureBackend> = ["rustcrypto", "aws-lc"]
        .iter()
        .filter_map(|n| backend_by_name(n))
        .collect();
    let mut rng = rng_for("backends", "agree");
    let mut checks = Vec::new();
    let combos = [
        (KeyKind::P256, SigAlg::Ecdsa(HashAlg::Sha256)),
        (KeyKind::P256, SigAlg::Ecdsa(HashAlg::Sha384)),
        (KeyKind::P384, SigAlg::Ecdsa(HashAlg::Sha384)),
        (KeyKind::P384, SigAlg::Ecdsa(HashAlg::Sha256)),
        (KeyKind::P521, SigAlg::Ecdsa(HashAlg::Sha512)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha256)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha384)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha512)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha1)),
        (
            KeyKind::Rsa(2048),
            SigAlg::RsaPss {
                hash: HashAlg::Sha256,
                salt_len: 32,
            },
        ),
        (
            KeyKind::Rsa(2048),
            SigAlg::RsaPss {
                hash: HashAlg::Sha512,
                salt_len: 64,
            },
        ),
        (
            KeyKind::Rsa(2048),
            SigAlg::RsaPss {
                hash: HashAlg::Sha256,
                salt_len: 20,
            },
        ),
    ];
    for (kind, alg) in combos {
        let key = PrivateKey::generate(kind, &mut rng);
        let info = std::sync::Arc::new(KeyInfo::from_spki_der(&key.spki()).unwrap());
        let message = b"hoviat backend agreement".to_vec();
        let signature = key.sign_digest(alg, &alg.hash().digest(&message), &mut rng);
        let good = SignatureCheck {
            alg,
            key: info.clone(),
            message: message.clone(),
            signature: signature.clone(),
        };
        checks.push((true, good.clone()));
        let mut m = good.clone();
        m.message.push(0);
        checks.push((false, m));
        for i in [0, signature.len() / 2, signature.len() - 1] {
            let mut s = good.clone();
            s.signature[i] ^= 0x01;
            checks.push((false, s));
        }
        let mut short = good.clone();
        short.signature.pop();
        checks.push((false, short));
        let mut zero = good.clone();
        zero.signature.iter_mut().for_each(|b| *b = 0);
        checks.push((false, zero));
        // Another hash than the one signed.
        let other = match alg {
            SigAlg::Ecdsa(HashAlg::Sha256) => SigAlg::Ecdsa(HashAlg::Sha384),
            SigAlg::Ecdsa(_) => SigAlg::Ecdsa(HashAlg::Sha256),
            SigAlg::RsaPkcs1(HashAlg::Sha256) => SigAlg::RsaPkcs1(HashAlg::Sha512),
            SigAlg::RsaPkcs1(_) => SigAlg::RsaPkcs1(HashAlg::Sha256),
            SigAlg::RsaPss { .. } => SigAlg::RsaPkcs1(HashAlg::Sha256),
        };
        checks.push((
            false,
            SignatureCheck {
                alg: other,
                ..good.clone()
            },
        ));
    }
    assert!(!backends.is_empty());
    for (i, (expected, c)) in checks.iter().enumerate() {
        for b in &backends {
            assert_eq!(b.verify(c), *expected, "check {i} ({:?}) with {}", c.alg, b.name());
        }
    }
    println!(
        "backends {:?} agree on {} checks",
        backends.iter().map(|b| b.name()).collect::<Vec<_>>(),
        checks.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Login policy (issue 15): clientAuth required, signing certificates refused, policy lists
// ---------------------------------------------------------------------------------------------

/// A holder certificate under the registry's EC CA with exactly `exts` (besides
/// basicConstraints cA = FALSE).
fn holder_with_exts(cn: &str, exts: Vec<Vec<u8>>) -> Vec<u8> {
    let ca = &reg().cas[1];
    let mut r = rng_for("login-policy", cn);
    let key = PrivateKey::generate(KeyKind::P256, &mut r);
    let spec = CertSpec {
        serial: hoviat_testkit::random_serial(&mut r),
        subject: ca_name(cn),
        not_before: valid_period().0,
        not_after: valid_period().1,
        extensions: [vec![ext::basic_constraints(false, None)], exts].concat(),
        ecdsa_null_params: false,
        sig_alg: None,
    };
    ca.issue(&spec, &key.spki(), &mut r)
}

fn policies(oids: &[&str]) -> Vec<u8> {
    let infos: Vec<Vec<u8>> = oids
        .iter()
        .map(|o| d::seq(&[d::oid(&const_oid::ObjectIdentifier::new_unwrap(o))]))
        .collect();
    d::extension(&hoviat::pki::cert::ext_oid::CERT_POLICIES, false, &d::seq(&infos))
}

#[test]
fn login_needs_client_auth_eku_present() {
    let t = full_store();
    let login = PathOptions::client_auth(now());
    let ds = ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]);
    let no_eku = holder_with_exts("No EKU", vec![ds.clone()]);
    assert_eq!(code(validate(&t, &no_eku, &login)), "CERT_EKU_MISMATCH");
    // Only a relying party that opts out (EKU checked when present) accepts it.
    let mut lenient = PathOptions::client_auth(now());
    lenient.eku = EkuRequirement::Purpose(eku::CLIENT_AUTH);
    assert!(validate(&t, &no_eku, &lenient).is_ok());
    let with_eku = holder_with_exts("With EKU", vec![ds.clone(), ext::eku(&[eku::CLIENT_AUTH], false)]);
    assert!(validate(&t, &with_eku, &login).is_ok());
    let email_only = holder_with_exts(
        "Email EKU",
        vec![
            ds,
            ext::eku(&[const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4")], false),
        ],
    );
    assert_eq!(code(validate(&t, &email_only, &login)), "CERT_EKU_MISMATCH");
}

#[test]
fn a_signing_certificate_is_refused_for_login() {
    let t = full_store();
    let login = PathOptions::client_auth(now());
    // nonRepudiation only (a qualified signing certificate), even with clientAuth listed.
    let nr = ext::key_usage(&[ku_bit::NON_REPUDIATION]);
    let signing = holder_with_exts("Signing", vec![nr.clone(), ext::eku(&[eku::CLIENT_AUTH], false)]);
    assert_eq!(code(validate(&t, &signing, &login)), "CERT_KEY_USAGE");
    // As a card's signing certificate usually is: nonRepudiation, no extendedKeyUsage.
    let signing = holder_with_exts("Signing 2", vec![nr]);
    let c = code(validate(&t, &signing, &login));
    assert!(c == "CERT_KEY_USAGE" || c == "CERT_EKU_MISMATCH", "{c}");
}

#[test]
fn certificate_policy_allow_and_deny_lists() {
    let t = full_store();
    let base = || {
        vec![
            ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]),
            ext::eku(&[eku::CLIENT_AUTH], false),
        ]
    };
    let auth = holder_with_exts(
        "Policy auth",
        [base(), vec![policies(&["1.3.6.1.4.1.99999.1.1"])]].concat(),
    );
    let other = holder_with_exts(
        "Policy other",
        [
            base(),
            vec![policies(&["1.3.6.1.4.1.99999.1.2", "1.3.6.1.4.1.99999.1.3"])],
        ]
        .concat(),
    );
    let none = holder_with_exts("Policy none", base());
    let oid = |s: &str| const_oid::ObjectIdentifier::new_unwrap(s);
    let mut o = PathOptions::client_auth(now());
    // No list: every certificate passes.
    for c in [&auth, &other, &none] {
        assert!(validate(&t, c, &o).is_ok());
    }
    o.policies.allow = vec![oid("1.3.6.1.4.1.99999.1.1")];
    assert!(validate(&t, &auth, &o).is_ok());
    assert_eq!(code(validate(&t, &other, &o)), "CERT_POLICY_REFUSED");
    assert_eq!(code(validate(&t, &none, &o)), "CERT_POLICY_REFUSED");
    o.policies.allow.clear();
    o.policies.deny = vec![oid("1.3.6.1.4.1.99999.1.3")];
    assert!(validate(&t, &auth, &o).is_ok());
    assert!(validate(&t, &none, &o).is_ok());
    assert_eq!(code(validate(&t, &other, &o)), "CERT_POLICY_REFUSED");
    // The certificate reader keeps the identifiers.
    let c = Cert::from_der(&other).unwrap();
    assert_eq!(
        c.policies,
        vec![oid("1.3.6.1.4.1.99999.1.2"), oid("1.3.6.1.4.1.99999.1.3")]
    );
}
