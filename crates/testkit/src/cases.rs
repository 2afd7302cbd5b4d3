//! One table of token-verification cases, with expected verdicts, that drives the native tests,
//! the Node package tests and the Chromium package tests alike (same inputs, same answers).

use serde::Serialize;

use super::{Registry, Variant};
use hoviat::error::Coded;
use hoviat::pki::{PathOptions, TrustStore};
use hoviat::time::UnixTime;
use hoviat::token::{Origin, TokenAlg, Verifier};

/// One case: inputs as the JS API takes them, and the expected verdict.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    /// Name.
    pub name: String,
    /// The token (JSON text, possibly broken on purpose).
    pub token: String,
    /// Configured origin.
    pub origin: String,
    /// The issued nonce.
    pub nonce: String,
    /// Trust anchors (PEM).
    pub trust_anchors: Vec<String>,
    /// Intermediates (PEM).
    pub intermediates: Vec<String>,
    /// CRLs (PEM).
    pub crls: Vec<String>,
    /// Validation time (RFC 3339).
    pub at: String,
    /// Require revocation.
    pub require_revocation: bool,
    /// Expected: `None` = accepted, else the code.
    pub expect_code: Option<String>,
    /// Expected national code when accepted.
    pub expect_national_code: Option<String>,
}

/// The validation time of the table.
pub const AT: &str = "2026-11-23T10:00:00Z";
const ORIGIN: &str = "https://bank.example.ir";

fn json_set(token: &str, f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(token).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        f(m);
    }
    v.to_string()
}

/// Builds the table from the registry made for [`AT`] with seed `cases`.
pub fn build() -> Vec<Case> {
    let now = UnixTime::parse_rfc3339(AT).unwrap_or(UnixTime(0));
    let reg = Registry::generate("cases", now);
    let pem = |d: &[u8]| Registry::pem("CERTIFICATE", d);
    let anchors = vec![pem(&reg.root.cert)];
    let inters: Vec<String> = reg.cas.iter().map(|c| pem(&c.cert)).collect();
    let crls: Vec<String> = reg.crls.iter().map(|c| Registry::pem("X509 CRL", c)).collect();
    let nonce = hoviat::token::nonce::nonce_from_bytes(&[7; 32]);
    let base = |name: &str, token: String, code: Option<&str>, nc: Option<&str>| Case {
        name: name.into(),
        token,
        origin: ORIGIN.into(),
        nonce: nonce.clone(),
        trust_anchors: anchors.clone(),
        intermediates: inters.clone(),
        crls: crls.clone(),
        at: AT.into(),
        require_revocation: false,
        expect_code: code.map(str::to_string),
        expect_national_code: nc.map(str::to_string),
    };
    let mut cases = Vec::new();
    for h in &reg.holders {
        let t = h.make_token(h.token_alg(), ORIGIN, &nonce);
        let nc = h.variant.expected_code().is_none().then_some(h.national_code.as_str());
        cases.push(base(
            &format!("holder-{:02}-{}", h.index, h.variant.label()),
            t,
            h.variant.expected_code(),
            nc,
        ));
    }
    let good = &reg.holders[1];
    let t = good.make_token(TokenAlg::ES256, ORIGIN, &nonce);
    let nc = Some(good.national_code.as_str());
    let mut c = base("other-origin", t.clone(), Some("ORIGIN_MISMATCH"), None);
    c.origin = "https://evil.example.ir".into();
    cases.push(c);
    let mut c = base(
        "other-origin-no-hint",
        json_set(&t, |m| {
            m.remove("unverifiedOrigin");
        }),
        Some("TOKEN_SIGNATURE_INVALID"),
        None,
    );
    c.origin = "https://evil.example.ir".into();
    cases.push(c);
    let mut c = base("other-nonce", t.clone(), Some("TOKEN_SIGNATURE_INVALID"), None);
    c.nonce = hoviat::token::nonce::nonce_from_bytes(&[8; 32]);
    cases.push(c);
    let tampered = json_set(&t, |m| {
        let s = m.get("signature").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let flipped = if s.starts_with('A') {
            s.replacen('A', "B", 1)
        } else {
            format!("A{}", &s[1..])
        };
        m.insert("signature".into(), flipped.into());
    });
    cases.push(base(
        "tampered-signature",
        tampered,
        Some("TOKEN_SIGNATURE_INVALID"),
        None,
    ));
    cases.push(base(
        "algorithm-key-mismatch",
        json_set(&t, |m| {
            m.insert("algorithm".into(), "ES384".into());
        }),
        Some("TOKEN_ALGORITHM_KEY_MISMATCH"),
        None,
    ));
    cases.push(base(
        "format-unsupported",
        json_set(&t, |m| {
            m.insert("format".into(), "web-eid:2".into());
        }),
        Some("TOKEN_FORMAT_UNSUPPORTED"),
        None,
    ));
    cases.push(base(
        "algorithm-lowercase",
        json_set(&t, |m| {
            m.insert("algorithm".into(), "es256".into());
        }),
        Some("TOKEN_ALGORITHM_UNSUPPORTED"),
        None,
    ));
    cases.push(base(
        "format-web-eid-1-1",
        json_set(&t, |m| {
            m.insert("format".into(), "web-eid:1.1".into());
        }),
        None,
        nc,
    ));
    cases.push(base(
        "garbage",
        "not a token at all, but long enough to pass the length check".repeat(3),
        Some("TOKEN_MALFORMED"),
        None,
    ));
    cases.push(base(
        "too-large",
        format!("{{\"format\":\"web-eid:1.0\",\"pad\":\"{}\"}}", "A".repeat(20_000)),
        Some("TOKEN_TOO_LARGE"),
        None,
    ));
    cases.push(base(
        "certificate-not-base64",
        json_set(&t, |m| {
            m.insert("unverifiedCertificate".into(), "!!!".into());
        }),
        Some("TOKEN_MALFORMED"),
        None,
    ));
    let truncated = {
        use base64::Engine;
        let e = base64::engine::general_purpose::STANDARD;
        e.encode(&good.cert[..good.cert.len() - 1])
    };
    cases.push(base(
        "certificate-truncated",
        json_set(&t, |m| {
            m.insert("unverifiedCertificate".into(), truncated.into());
        }),
        Some("CERT_MALFORMED"),
        None,
    ));
    let mut c = base("no-intermediates", t.clone(), Some("CERT_UNTRUSTED"), None);
    c.intermediates.clear();
    cases.push(c);
    let mut c = base("issuing-ca-as-anchor", t.clone(), None, nc);
    c.trust_anchors = vec![pem(&reg.cas[1].cert)];
    c.intermediates.clear();
    c.crls.clear();
    cases.push(c);
    let mut c = base("validated-in-2040", t.clone(), Some("CERT_EXPIRED"), None);
    c.at = "2040-01-01T00:00:00Z".into();
    c.crls.clear();
    cases.push(c);
    let mut c = base(
        "revocation-required-without-crl",
        t.clone(),
        Some("REVOCATION_UNKNOWN"),
        None,
    );
    c.crls.clear();
    c.require_revocation = true;
    cases.push(c);
    let mut c = base("origin-with-slash", t.clone(), Some("ORIGIN_INVALID"), None);
    c.origin = format!("{ORIGIN}/");
    cases.push(c);
    let mut c = base("nonce-too-short", t.clone(), Some("NONCE_INVALID"), None);
    c.nonce = "short".into();
    cases.push(c);
    let rsa = reg
        .holders
        .iter()
        .find(|h| h.variant == Variant::Good && h.token_alg() == TokenAlg::RS256);
    if let Some(h) = rsa {
        for alg in [TokenAlg::PS256, TokenAlg::RS512] {
            cases.push(base(
                &format!("rsa-{}", alg.name()),
                h.make_token(alg, ORIGIN, &nonce),
                None,
                Some(h.national_code.as_str()),
            ));
        }
    }
    cases
}

/// The native verdict of a case: `Ok(national code)` or `Err(code)`.
pub fn native_verdict(c: &Case) -> Result<Option<String>, String> {
    let at = UnixTime::parse_rfc3339(&c.at).ok_or("bad time")?;
    let mut t = TrustStore::new();
    for a in &c.trust_anchors {
        t.add_anchors(a.as_bytes()).map_err(|e| e.code().to_string())?;
    }
    for a in &c.intermediates {
        t.add_intermediates(a.as_bytes()).map_err(|e| e.code().to_string())?;
    }
    for a in &c.crls {
        t.add_crls(a.as_bytes()).map_err(|e| e.code().to_string())?;
    }
    let origin = Origin::parse(&c.origin).map_err(|e| e.code().to_string())?;
    let mut options = PathOptions::client_auth(at);
    options.require_revocation = c.require_revocation;
    let v = Verifier {
        trust: &t,
        options,
        backend: crate::backend_from_env(),
    };
    v.verify(&c.token, &origin, &c.nonce)
        .map(|ok| ok.holder.national_code)
        .map_err(|e| e.code().to_string())
}
