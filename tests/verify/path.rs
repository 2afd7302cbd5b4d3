//! Path checks (token.md step 4)

use super::*;

pub(crate) fn opts() -> PathOptions {
    let mut o = PathOptions::client_auth(now());
    o.eku = EkuRequirement::Purpose(eku::CLIENT_AUTH);
    o
}

pub(crate) fn validate(store: &TrustStore, leaf: &[u8], o: &PathOptions) -> Result<hoviat::pki::ValidatedPath, String> {
    let leaf = Arc::new(Cert::from_der(leaf).map_err(|e| e.code().to_string())?);
    store
        .validate(&leaf, o, hoviat_testkit::backend_from_env())
        .map_err(|e| e.code().to_string())
}

pub(crate) fn ca_name(cn: &str) -> Vec<u8> {
    d::name(&[
        (hoviat::pki::name::attr::COUNTRY, d::printable("IR")),
        (hoviat::pki::name::attr::CN, d::utf8(cn)),
    ])
}

/// A CA under `parent` with full control of its extensions.
pub(crate) fn custom_ca(
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

pub(crate) fn ca_exts(path_len: Option<u8>) -> Vec<Vec<u8>> {
    vec![
        ext::basic_constraints(true, path_len),
        ext::key_usage(&[ku_bit::KEY_CERT_SIGN, ku_bit::CRL_SIGN]),
    ]
}

pub(crate) fn valid_period() -> (UnixTime, UnixTime) {
    (UnixTime(now().0 - 86400 * 30), UnixTime(now().0 + 86400 * 365))
}

/// A good end-entity certificate under `ca`.
pub(crate) fn leaf_under(ca: &Issuer, cn: &str) -> Vec<u8> {
    leaf_under_with(ca, cn, vec![])
}

pub(crate) fn leaf_under_with(ca: &Issuer, cn: &str, extra: Vec<Vec<u8>>) -> Vec<u8> {
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

pub(crate) fn store_with(anchors: &[&[u8]], inters: &[&[u8]]) -> TrustStore {
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
