//! Real Iranian government certificates (`../shared/reference/iran-roots/`): they parse, the
//! G3 intermediates chain to Root CA-G3, the national-card anchor IRAN Root CA1 verifies as an
//! anchor, and the SHA-1 pair is refused by the default algorithm policy and accepted on opt-in.
//! Also: which RFC 5280 profile rules the token path leaves to the strict profile.

use std::sync::Arc;

use hoviat::error::Coded;
use hoviat::pki::alg::HashAlg;
use hoviat::pki::cert::{eku, hex_upper};
use hoviat::pki::verify_chain::parse_leaf;
use hoviat::pki::{AlgorithmPolicy, Cert, EkuRequirement, PathOptions, TrustStore};
use hoviat::time::UnixTime;
use hoviat_testkit::{CertSpec, KeyKind, PrivateKey, Registry, build_cert, ext, ku_bit, rng_for};

const G3_INTERMEDIATES: [&str; 4] = ["bronze", "silver", "gold", "platinum"];

fn pem(name: &str) -> Vec<u8> {
    let p = format!("{}/../shared/reference/iran-roots/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn cert(name: &str) -> Arc<Cert> {
    parse_leaf(&pem(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn at(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

fn store(anchors: &[&str]) -> TrustStore {
    let mut t = TrustStore::new();
    for a in anchors {
        t.add_anchors(&pem(a)).unwrap();
    }
    t
}

/// Both option sets: the token path's (lenient profile) and verify-chain's (strict profile).
fn both_profiles(t: UnixTime) -> [PathOptions; 2] {
    [
        PathOptions::client_auth(t),
        PathOptions::verify_chain(t, EkuRequirement::Any),
    ]
}

fn code<T>(r: Result<T, hoviat::pki::PkiError>) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(e) => e.code().to_string(),
    }
}

#[test]
fn g3_intermediates_chain_to_root_ca_g3() {
    let t = store(&["iran-root-ca-g3.pem"]);
    let root = cert("iran-root-ca-g3.pem");
    for level in G3_INTERMEDIATES {
        let ca = cert(&format!("gov-intermediate-{level}-g3.pem"));
        assert!(
            ca.subject
                .to_string()
                .contains(&format!("Intermediate {}", capitalise(level)))
        );
        for o in both_profiles(at("2024-06-01T00:00:00Z")) {
            let path = t
                .validate_ca(&ca, &o, hoviat_testkit::backend_from_env())
                .unwrap_or_else(|e| panic!("{level}: {e}"));
            let subjects: Vec<_> = path.chain.iter().map(|c| c.der().to_vec()).collect();
            assert_eq!(subjects, vec![ca.der().to_vec(), root.der().to_vec()], "{level}");
        }
        // Out of its validity (2022-05-01 .. 2027-05-01) it is refused with the right code.
        let late = PathOptions::client_auth(at("2027-06-01T00:00:00Z"));
        assert_eq!(
            code(t.validate_ca(&ca, &late, hoviat_testkit::backend_from_env())),
            "CERT_EXPIRED",
            "{level}"
        );
        let early = PathOptions::client_auth(at("2021-06-01T00:00:00Z"));
        assert_eq!(
            code(t.validate_ca(&ca, &early, hoviat_testkit::backend_from_env())),
            "CERT_NOT_YET_VALID",
            "{level}"
        );
        // Under the other national root it has no issuer.
        let other = store(&["iran-root-ca1.pem"]);
        let o = PathOptions::client_auth(at("2024-06-01T00:00:00Z"));
        assert_eq!(
            code(other.validate_ca(&ca, &o, hoviat_testkit::backend_from_env())),
            "CERT_UNTRUSTED",
            "{level}"
        );
        // An intermediate is not an end entity: the end-entity entry point refuses it.
        assert_eq!(
            code(t.validate(&ca, &o, hoviat_testkit::backend_from_env())),
            "CERT_IS_CA",
            "{level}"
        );
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[test]
fn g3_intermediate_keys_and_signatures_are_what_the_readme_says() {
    for (level, bits) in [("bronze", 2048), ("silver", 2048), ("gold", 4096), ("platinum", 4096)] {
        let ca = cert(&format!("gov-intermediate-{level}-g3.pem"));
        let key = ca.key.as_ref().unwrap();
        assert!(
            key.describe().contains(&bits.to_string()),
            "{level}: {}",
            key.describe()
        );
        assert_eq!(ca.sig_alg.as_ref().unwrap().hash(), HashAlg::Sha256);
        assert_eq!(ca.basic_constraints.and_then(|b| b.path_len), Some(1));
    }
}

#[test]
fn iran_root_ca1_is_a_usable_anchor() {
    let root = cert("iran-root-ca1.pem");
    // The fingerprint the README checked against a second copy.
    let fp = hex_upper(&HashAlg::Sha256.digest(root.der()));
    assert_eq!(fp, "42214C87D8DAF9C7B225CDBE424E4F9341F346C668F9833D14AD1CB551BD4916");
    assert_eq!(root.subject.to_string(), "CN=IRAN Root CA1, O=Iran Government, C=IR");
    let t = store(&["iran-root-ca1.pem", "iran-root-ca-g3.pem"]);
    for o in both_profiles(at("2026-01-01T00:00:00Z")) {
        // Its self-signature verifies (RSA-4096, SHA-256) and it passes every CA check.
        let path = t.validate_ca(&root, &o, hoviat_testkit::backend_from_env()).unwrap();
        assert_eq!(path.chain.len(), 2);
        assert_eq!(path.chain[1].der(), root.der());
    }
    // After 2032-09-23 it is expired.
    let o = PathOptions::client_auth(at("2033-01-01T00:00:00Z"));
    assert_eq!(
        code(t.validate_ca(&root, &o, hoviat_testkit::backend_from_env())),
        "CERT_EXPIRED"
    );
}

#[test]
fn a_holder_under_a_real_root_name_but_another_key_is_refused() {
    // A forged "IRAN Root CA1" (same subject, our key) issues a CA; with the real root as the
    // only anchor, the forged CA must not verify.
    let real = cert("iran-root-ca1.pem");
    let mut r = rng_for("forged-root", "ca1");
    let key = PrivateKey::generate(KeyKind::P256, &mut r);
    let sub = PrivateKey::generate(KeyKind::P256, &mut r);
    let spec = CertSpec {
        serial: vec![1],
        subject: hoviat_testkit::der::name(&[(hoviat::pki::name::attr::CN, hoviat_testkit::der::utf8("Forged"))]),
        not_before: at("2020-01-01T00:00:00Z"),
        not_after: at("2030-01-01T00:00:00Z"),
        extensions: vec![
            ext::basic_constraints(true, None),
            ext::key_usage(&[ku_bit::KEY_CERT_SIGN]),
        ],
        ecdsa_null_params: false,
        sig_alg: None,
    };
    let forged = build_cert(&spec, &sub.spki(), &real.subject.der, &key, &mut r);
    let forged = Arc::new(Cert::from_der(&forged).unwrap());
    let t = store(&["iran-root-ca1.pem"]);
    let o = PathOptions::client_auth(at("2026-01-01T00:00:00Z"));
    assert_eq!(
        code(t.validate_ca(&forged, &o, hoviat_testkit::backend_from_env())),
        "CERT_SIGNATURE_INVALID"
    );
}

#[test]
fn sha1_government_pair_needs_the_opt_in() {
    let t = store(&["iran-root-ca-2008.pem"]);
    let ca = cert("gov-general-intermediate-2010.pem");
    assert_eq!(ca.sig_alg.as_ref().unwrap().hash(), HashAlg::Sha1);
    for mut o in both_profiles(at("2024-06-01T00:00:00Z")) {
        assert_eq!(o.policy, AlgorithmPolicy::default());
        assert_eq!(
            code(t.validate_ca(&ca, &o, hoviat_testkit::backend_from_env())),
            "ALGORITHM_DISALLOWED"
        );
        o.policy.allow_sha1 = true;
        let path = t.validate_ca(&ca, &o, hoviat_testkit::backend_from_env()).unwrap();
        assert_eq!(path.chain.len(), 2);
    }
    // The opt-in is about SHA-1 only: the 2010 intermediate is still not under Root CA-G3.
    let g3 = store(&["iran-root-ca-g3.pem"]);
    let mut o = PathOptions::client_auth(at("2024-06-01T00:00:00Z"));
    o.policy.allow_sha1 = true;
    assert_eq!(
        code(g3.validate_ca(&ca, &o, hoviat_testkit::backend_from_env())),
        "CERT_UNTRUSTED"
    );
}

/// A holder certificate without authorityKeyIdentifier: accepted on the token path (its issuer
/// is found by name and the signature decides), refused by the strict profile of verify-chain.
#[test]
fn holder_without_aki_is_left_to_the_strict_profile() {
    let now = at("2026-11-23T10:00:00Z");
    let reg = Registry::generate("real-chains", now);
    let ca = &reg.cas[0];
    let mut r = rng_for("no-aki", "holder");
    let key = PrivateKey::generate(KeyKind::P256, &mut r);
    let spec = CertSpec {
        serial: hoviat_testkit::random_serial(&mut r),
        subject: hoviat_testkit::der::name(&[(hoviat::pki::name::attr::CN, hoviat_testkit::der::utf8("No AKI"))]),
        not_before: UnixTime(now.0 - 86400),
        not_after: UnixTime(now.0 + 86400),
        extensions: vec![
            ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]),
            ext::eku(&[eku::CLIENT_AUTH], false),
        ],
        ecdsa_null_params: false,
        sig_alg: None,
    };
    let leaf = build_cert(&spec, &key.spki(), &ca.name, &ca.key, &mut r);
    let leaf = Arc::new(Cert::from_der(&leaf).unwrap());
    assert!(leaf.aki.is_none());
    let mut t = TrustStore::new();
    t.add_anchors(&reg.root.cert).unwrap();
    t.add_intermediates(&ca.cert).unwrap();
    let token_opts = PathOptions::client_auth(now);
    assert!(!token_opts.strict_rfc5280);
    assert_eq!(
        code(t.validate(&leaf, &token_opts, hoviat_testkit::backend_from_env())),
        "OK"
    );
    let strict = PathOptions::verify_chain(now, EkuRequirement::Purpose(eku::CLIENT_AUTH));
    assert_eq!(
        code(t.validate(&leaf, &strict, hoviat_testkit::backend_from_env())),
        "CERT_PROFILE_VIOLATION"
    );
}
