//! Token checks (token.md steps 1, 2, 6, 7)

use super::*;

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
