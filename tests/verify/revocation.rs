//! Revocation (token.md step 5)

use super::*;

pub(crate) fn crl_store(crl: &[u8]) -> TrustStore {
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
