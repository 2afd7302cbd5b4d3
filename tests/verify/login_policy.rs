//! Login policy (issue 15): clientAuth required, signing certificates refused, policy lists

use super::*;

/// A holder certificate under the registry's EC CA with exactly `exts` (besides
/// basicConstraints cA = FALSE).
pub(crate) fn holder_with_exts(cn: &str, exts: Vec<Vec<u8>>) -> Vec<u8> {
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

pub(crate) fn policies(oids: &[&str]) -> Vec<u8> {
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
