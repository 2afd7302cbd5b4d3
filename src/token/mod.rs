//! The `web-eid:1.0` authentication token (token.md): parse with size limits, verify in the
//! order the format prescribes, and assemble tokens from a card's signature.
//!
//! What is signed is `H(origin) || H(nonce)`; a card is given `H(H(origin) || H(nonce))`.

mod error;
pub mod nonce;

use std::sync::Arc;

use base64::Engine;
use serde::Serialize;

pub use error::TokenError;
pub use nonce::{MemoryNonceStore, NonceStore, nonce_from_bytes};

use crate::identity::{CertificateSummary, Holder};
use crate::pki::alg::{Curve, HashAlg, PublicKey, SigAlg, SignatureCheck};
use crate::pki::{Cert, PathOptions, RevocationStatus, SignatureBackend, TrustStore};

/// Tokens shorter or longer than this (in bytes of JSON) are refused before parsing (Web eID).
pub const TOKEN_LEN: std::ops::RangeInclusive<usize> = 100..=10_000;

/// Token signature algorithms (names are case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[allow(missing_docs)]
pub enum TokenAlg {
    ES256,
    ES384,
    ES512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
}

impl TokenAlg {
    /// Parses an algorithm name (exact case).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "ES512" => Self::ES512,
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            _ => return None,
        })
    }
    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
        }
    }
    /// The hash.
    pub fn hash(self) -> HashAlg {
        match self {
            Self::ES256 | Self::RS256 | Self::PS256 => HashAlg::Sha256,
            Self::ES384 | Self::RS384 | Self::PS384 => HashAlg::Sha384,
            Self::ES512 | Self::RS512 | Self::PS512 => HashAlg::Sha512,
        }
    }
    /// The signature algorithm (PSS with salt = hash length).
    pub fn sig_alg(self) -> SigAlg {
        let h = self.hash();
        match self {
            Self::ES256 | Self::ES384 | Self::ES512 => SigAlg::Ecdsa(h),
            Self::RS256 | Self::RS384 | Self::RS512 => SigAlg::RsaPkcs1(h),
            _ => SigAlg::RsaPss {
                hash: h,
                salt_len: h.output_len(),
            },
        }
    }
    /// The curve an ES* algorithm requires.
    pub fn curve(self) -> Option<Curve> {
        match self {
            Self::ES256 => Some(Curve::P256),
            Self::ES384 => Some(Curve::P384),
            Self::ES512 => Some(Curve::P521),
            _ => None,
        }
    }
    /// The algorithm a card uses with `key` and the given hash preference: ES* by curve,
    /// RS256 for RSA.
    pub fn for_key(key: &PublicKey) -> Self {
        match key {
            PublicKey::Ec { curve: Curve::P256, .. } => Self::ES256,
            PublicKey::Ec { curve: Curve::P384, .. } => Self::ES384,
            PublicKey::Ec { curve: Curve::P521, .. } => Self::ES512,
            PublicKey::Rsa { .. } => Self::RS256,
        }
    }
}

/// A web origin as a browser reports it: `https://host[:port]`, validated at configuration time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    /// Validates an origin: `https://` followed by a lower-case host name or IP literal and an
    /// optional port, with no path (not even `/`), query, fragment or user info. `http://` is
    /// accepted only for loopback hosts (local development and tests).
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        let bad = || TokenError::OriginInvalid(s.chars().take(200).collect());
        let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (h, Some(p)),
            _ => (rest, None),
        };
        if let Some(p) = port {
            let n: u32 = p.parse().map_err(|_| bad())?;
            if !(1..=65535).contains(&n) || p.starts_with('0') || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
        }
        let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            !v6.is_empty()
                && v6
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase() || b == b':' || b == b'.')
        } else {
            !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
        };
        let loopback = host == "localhost"
            || host == "[::1]"
            || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
        // Browsers never put the scheme's default port in an origin.
        let default_port = matches!((scheme, port), ("https", Some("443")) | ("http", Some("80")));
        if default_port {
            return Err(bad());
        }
        let scheme_ok = scheme == "https" || (scheme == "http" && loopback);
        if !host_ok || !scheme_ok {
            return Err(bad());
        }
        Ok(Origin(s.to_string()))
    }

    /// The origin string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token as received: nothing in it is trusted yet.
#[derive(Clone, Debug)]
pub struct UnverifiedToken {
    /// `web-eid:1` / `web-eid:1.x`.
    pub format: String,
    /// DER of the holder's authentication certificate (`unverifiedCertificate`).
    pub unverified_certificate: Vec<u8>,
    /// The algorithm.
    pub algorithm: TokenAlg,
    /// The signature bytes (ECDSA: raw `r || s`).
    pub signature: Vec<u8>,
    /// `appVersion`, informative only.
    pub app_version: Option<String>,
    /// `unverifiedOrigin`: an informative hint hoviat's producers add, used only to explain a
    /// failed signature (`ORIGIN_MISMATCH`), never to accept one.
    pub unverified_origin: Option<String>,
    /// `unverifiedIntermediateCertificates` (web-eid:1.1), DER.
    pub unverified_intermediates: Vec<Vec<u8>>,
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, TokenError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| TokenError::Malformed(detail!("{what} is not base64: {e}")))
}

impl UnverifiedToken {
    /// Parses a token (token.md step 1). Unknown fields are ignored.
    pub fn parse(json: &str) -> Result<Self, TokenError> {
        if json.len() > *TOKEN_LEN.end() {
            return Err(TokenError::TooLarge {
                limit: *TOKEN_LEN.end(),
            });
        }
        if json.len() < *TOKEN_LEN.start() {
            return Err(TokenError::Malformed(detail!(
                "shorter than {} characters",
                TOKEN_LEN.start()
            )));
        }
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| TokenError::Malformed(detail!("not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| TokenError::Malformed(detail!("not a JSON object")))?;
        let field = |name: &str| -> Result<&str, TokenError> {
            match obj.get(name) {
                Some(serde_json::Value::String(s)) => Ok(s),
                Some(_) => Err(TokenError::Malformed(detail!("{name} must be a string"))),
                None => Err(TokenError::Malformed(detail!("{name} is missing"))),
            }
        };
        let opt_field = |name: &str| -> Option<String> { obj.get(name).and_then(|v| v.as_str()).map(str::to_string) };
        let format = field("format")?;
        let minor_ok = match format.strip_prefix("web-eid:1") {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix('.')
                .is_some_and(|m| !m.is_empty() && m.len() <= 4 && m.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        };
        if !minor_ok {
            return Err(TokenError::FormatUnsupported(format.chars().take(40).collect()));
        }
        let alg_name = field("algorithm")?;
        let algorithm = TokenAlg::parse(alg_name)
            .ok_or_else(|| TokenError::AlgorithmUnsupported(alg_name.chars().take(40).collect()))?;
        let unverified_certificate = b64(field("unverifiedCertificate")?, "unverifiedCertificate")?;
        let signature = b64(field("signature")?, "signature")?;
        // Only web-eid:1.1 carries intermediates; a 1.0 token's are ignored (they would only
        // add path-building work).
        let carries_intermediates = format.starts_with("web-eid:1.") && format != "web-eid:1.0";
        let unverified_intermediates = match obj
            .get("unverifiedIntermediateCertificates")
            .filter(|_| carries_intermediates)
        {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(a)) if a.len() <= 8 => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .ok_or_else(|| TokenError::Malformed(detail!("intermediate must be a string")))
                        .and_then(|s| b64(s, "intermediate"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(TokenError::Malformed(
                    "unverifiedIntermediateCertificates must be an array of at most 8".into(),
                ));
            }
        };
        Ok(UnverifiedToken {
            format: format.to_string(),
            unverified_certificate,
            algorithm,
            signature,
            app_version: opt_field("appVersion"),
            unverified_origin: opt_field("unverifiedOrigin"),
            unverified_intermediates,
        })
    }
}

/// `H(origin) || H(nonce)`: the bytes the token's signature covers.
pub fn signed_data(hash: HashAlg, origin: &str, nonce: &str) -> Vec<u8> {
    let mut v = hash.digest(origin.as_bytes());
    v.extend(hash.digest(nonce.as_bytes()));
    v
}

/// `H(H(origin) || H(nonce))`: the digest a card signs.
pub fn signed_digest(hash: HashAlg, origin: &str, nonce: &str) -> Vec<u8> {
    hash.digest(&signed_data(hash, origin, nonce))
}

/// Assembles a token from a card's signature (ECDSA: raw `r || s`; PIV cards return DER:
/// convert with [`crate::pki::alg::ecdsa_der_to_raw`] first).
pub fn assemble(
    certificate_der: &[u8],
    algorithm: TokenAlg,
    signature: &[u8],
    app_version: &str,
    origin: Option<&str>,
) -> String {
    let e = base64::engine::general_purpose::STANDARD;
    let mut m = serde_json::Map::new();
    m.insert("format".into(), "web-eid:1.0".into());
    m.insert("unverifiedCertificate".into(), e.encode(certificate_der).into());
    m.insert("algorithm".into(), algorithm.name().into());
    m.insert("signature".into(), e.encode(signature).into());
    m.insert("appVersion".into(), app_version.into());
    if let Some(o) = origin {
        m.insert("unverifiedOrigin".into(), o.into());
    }
    serde_json::Value::Object(m).to_string()
}

/// What a verification proved, stated plainly.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Assurance {
    /// `holder-signature`: the key certified for the holder signed this site's fresh challenge.
    pub level: &'static str,
    /// Whether revocation was checked, and how: `crl` or `not-checked`.
    pub revocation: &'static str,
    /// One sentence for the audit log.
    pub statement: String,
}

/// The result of a successful verification.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedToken {
    /// The holder, as the certificate states it.
    pub holder: Holder,
    /// The holder's certificate.
    pub certificate: CertificateSummary,
    /// Subjects of the validated path, holder first, anchor last.
    pub chain: Vec<String>,
    /// The token's algorithm.
    pub algorithm: &'static str,
    /// The origin the signature was verified for.
    pub origin: String,
    /// What was proven.
    pub assurance: Assurance,
    /// Revocation details (serialised as `{status, source?, thisUpdate?, nextUpdate?}`).
    pub revocation: RevocationStatus,
}

/// Steps 6 and 7 alone: the token's algorithm fits the key of `leaf` (the token's certificate)
/// and the signature over `H(origin) || H(nonce)` verifies under it. Nothing about the
/// certificate is validated; a relying party runs it before anything costly or remote (e.g.
/// fetching revocation data) so that only the key's holder can make the server do that work.
pub fn check_signature(
    token: &UnverifiedToken,
    leaf: &Cert,
    origin: &Origin,
    nonce: &str,
    backend: &dyn SignatureBackend,
) -> Result<(), TokenError> {
    // Step 6: the algorithm must fit the key.
    let key = leaf.key.clone()?;
    let alg = token.algorithm;
    match (&key.key, alg.curve()) {
        (PublicKey::Ec { curve, .. }, Some(c)) if *curve == c => {}
        (PublicKey::Rsa { bits, .. }, None) if *bits >= 2048 => {}
        (PublicKey::Rsa { bits, .. }, None) => {
            return Err(TokenError::AlgorithmKeyMismatch(detail!(
                "RSA key of {bits} bits (at least 2048 needed)"
            )));
        }
        _ => {
            return Err(TokenError::AlgorithmKeyMismatch(detail!(
                "{} with an {} key",
                alg.name(),
                key.describe()
            )));
        }
    }
    if let Some(c) = alg.curve()
        && token.signature.len() != 2 * c.field_len()
    {
        return Err(TokenError::SignatureMalformed(detail!(
            "{} needs {} bytes of r||s, got {}",
            alg.name(),
            2 * c.field_len(),
            token.signature.len()
        )));
    }
    // Step 7: the signature over H(origin) || H(nonce).
    let check = |o: &str| SignatureCheck {
        alg: alg.sig_alg(),
        key: key.clone(),
        message: signed_data(alg.hash(), o, nonce),
        signature: token.signature.clone(),
    };
    if !backend.verify(&check(origin.as_str())) {
        // Only to explain the failure: does it verify for the origin the token names?
        if let Some(hint) = token
            .unverified_origin
            .as_deref()
            .filter(|h| *h != origin.as_str() && h.len() <= 300)
            && backend.verify(&check(hint))
        {
            return Err(TokenError::OriginMismatch {
                expected: origin.as_str().into(),
                actual: hint.into(),
            });
        }
        return Err(TokenError::SignatureInvalid);
    }
    Ok(())
}

/// Relying-party configuration for verifying tokens.
pub struct Verifier<'a> {
    /// Anchors, intermediates, CRLs.
    pub trust: &'a TrustStore,
    /// Validation time, policies.
    pub options: PathOptions,
    /// Signature backend.
    pub backend: &'a dyn SignatureBackend,
}

impl Verifier<'_> {
    /// Verifies a token for `origin` and a nonce this server issued, consuming the nonce from
    /// `store` (token.md steps 1-7, in order).
    pub fn verify_with_store(
        &self,
        token_json: &str,
        origin: &Origin,
        nonce: &str,
        store: &dyn NonceStore,
    ) -> Result<VerifiedToken, TokenError> {
        let token = UnverifiedToken::parse(token_json)?;
        nonce::check_nonce_shape(nonce)?;
        store.consume(nonce, self.options.at)?;
        self.verify_parsed(&token, origin, nonce)
    }

    /// Verifies a token for `origin` and `nonce`, when the caller has already checked that the
    /// nonce is one it issued, unexpired and unused (e.g. an auditor re-checking a token).
    pub fn verify(&self, token_json: &str, origin: &Origin, nonce: &str) -> Result<VerifiedToken, TokenError> {
        let token = UnverifiedToken::parse(token_json)?;
        nonce::check_nonce_shape(nonce)?;
        self.verify_parsed(&token, origin, nonce)
    }

    /// Steps 3-7 on a parsed token.
    pub fn verify_parsed(
        &self,
        token: &UnverifiedToken,
        origin: &Origin,
        nonce: &str,
    ) -> Result<VerifiedToken, TokenError> {
        let leaf = Arc::new(Cert::from_der(&token.unverified_certificate)?);
        let extra = token
            .unverified_intermediates
            .iter()
            .map(|d| Cert::from_der(d).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let path = self.trust.validate_with(&leaf, &extra, &self.options, self.backend)?;
        check_signature(token, &leaf, origin, nonce, self.backend)?;
        let revocation = match path.revocation {
            RevocationStatus::GoodByCrl { .. } => "crl",
            RevocationStatus::GoodByOcsp { .. } => "ocsp",
            RevocationStatus::NotChecked => "not-checked",
        };
        let holder = Holder::from_cert(&leaf);
        let statement = format!(
            "The holder of the key certified by \"{}\" signed a fresh challenge for {}; the certificate chains to \"{}\"; revocation {}.",
            leaf.issuer,
            origin.as_str(),
            path.chain.last().map(|c| c.subject.to_string()).unwrap_or_default(),
            match revocation {
                "crl" => "checked by a current CRL",
                "ocsp" => "checked by a current OCSP response",
                _ => "NOT checked (no CRL or OCSP configured)",
            }
        );
        Ok(VerifiedToken {
            holder,
            certificate: CertificateSummary::from_cert(&leaf),
            chain: path.chain.iter().map(|c| c.subject.to_string()).collect(),
            algorithm: token.algorithm.name(),
            origin: origin.as_str().to_string(),
            assurance: Assurance {
                level: "holder-signature",
                revocation,
                statement,
            },
            revocation: path.revocation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    #[test]
    fn origins() {
        for ok in [
            "https://bank.example.ir",
            "https://bank.example.ir:8443",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "https://[::1]:8443",
            "http://[::1]:8080",
        ] {
            Origin::parse(ok).unwrap_or_else(|_| panic!("{ok}"));
        }
        for bad in [
            "https://bank.example.ir/",
            "https://bank.example.ir/login",
            "http://bank.example.ir",
            "https://Bank.example.ir",
            "https://bank.example.ir?x",
            "https://user@bank.example.ir",
            "https://bank.example.ir:0",
            "https://bank.example.ir:65536",
            "https://bank.example.ir:080",
            "bank.example.ir",
            "https://",
            "https://-bank.ir",
            "https://bank.example.ir:443",
            "http://127.evil.example:8080",
            "https://bank.example.ir:443",
            "http://127.evil.example:8080",
        ] {
            assert_eq!(Origin::parse(bad).unwrap_err().code(), "ORIGIN_INVALID", "{bad}");
        }
    }

    #[test]
    fn parse_limits_and_fields() {
        let code = |s: &str| UnverifiedToken::parse(s).unwrap_err().code();
        assert_eq!(code(&"x".repeat(10_001)), "TOKEN_TOO_LARGE");
        assert_eq!(code("{}"), "TOKEN_MALFORMED");
        let pad = "x".repeat(100);
        assert_eq!(code(&format!("[\"{pad}\"]")), "TOKEN_MALFORMED");
        let t = |fmt: &str, alg: &str, cert: &str| {
            format!(
                r#"{{"format":"{fmt}","algorithm":"{alg}","unverifiedCertificate":"{cert}","signature":"AAAA","appVersion":"https://x/{pad}"}}"#
            )
        };
        assert_eq!(code(&t("web-eid:2", "ES256", "AAAA")), "TOKEN_FORMAT_UNSUPPORTED");
        assert_eq!(code(&t("web-eid:1.", "ES256", "AAAA")), "TOKEN_FORMAT_UNSUPPORTED");
        assert_eq!(code(&t("web-eid:1.0", "es256", "AAAA")), "TOKEN_ALGORITHM_UNSUPPORTED");
        assert_eq!(code(&t("web-eid:1.0", "ES256", "!!!")), "TOKEN_MALFORMED");
        let ok = UnverifiedToken::parse(&t("web-eid:1.1", "PS256", "AAAA")).unwrap();
        assert_eq!(ok.algorithm, TokenAlg::PS256);
        assert_eq!(ok.unverified_certificate, vec![0, 0, 0]);
        let wrong_type = format!(
            r#"{{"format":"web-eid:1","algorithm":7,"unverifiedCertificate":"AAAA","signature":"AAAA","x":"{pad}"}}"#
        );
        assert_eq!(code(&wrong_type), "TOKEN_MALFORMED");
    }

    #[test]
    fn signed_digest_is_hash_of_hashes() {
        let d = signed_digest(HashAlg::Sha256, "https://a.ir", "n");
        let mut inner = HashAlg::Sha256.digest(b"https://a.ir");
        inner.extend(HashAlg::Sha256.digest(b"n"));
        assert_eq!(d, HashAlg::Sha256.digest(&inner));
    }
}
