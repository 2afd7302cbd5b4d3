//! Real certificates

use super::*;

pub(crate) fn iran_root(name: &str) -> Vec<u8> {
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
