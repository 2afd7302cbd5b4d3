//! Hostile and structural input

use super::*;

pub(crate) fn reassemble(cert: &[u8], f: impl Fn(&mut Vec<Vec<u8>>)) -> Vec<u8> {
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
