//! Holders, identity, variants

use super::*;

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
