//! Regressions from the security review

use super::*;

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
