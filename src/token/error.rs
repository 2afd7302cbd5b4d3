use std::fmt;

use crate::pki::PkiError;

/// Why a token was refused, or a challenge could not be issued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Over the size limit (Web eID: 10,000 characters), before any parsing.
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Not a token: JSON, field types, base64.
    Malformed(String),
    /// `format` is not `web-eid:1` / `web-eid:1.x`.
    FormatUnsupported(String),
    /// `algorithm` is not one of ES256..PS512 (case-sensitive).
    AlgorithmUnsupported(String),
    /// The signature has the wrong length or an out-of-range r or s.
    SignatureMalformed(String),
    /// The algorithm does not fit the certificate's key (ES256 with a P-384 key, RS256 with EC,
    /// RSA under 2048 bits).
    AlgorithmKeyMismatch(String),
    /// The signature does not verify for the configured origin and this nonce.
    SignatureInvalid,
    /// The token is genuine but was made for another origin (its signature verifies for the
    /// origin it names, not for this site).
    OriginMismatch {
        /// The configured origin.
        expected: String,
        /// The origin the token was signed for.
        actual: String,
    },
    /// A configured origin that a browser never reports (config error, not a verdict).
    OriginInvalid(String),
    /// The nonce is too short, too long or not base64.
    NonceInvalid,
    /// This server did not issue the nonce (or has forgotten it).
    NonceUnknown,
    /// The nonce expired before the token arrived.
    NonceExpired,
    /// The nonce was already used.
    NonceReplayed,
    /// The nonce store cannot take more challenges, or is unreachable.
    NonceStoreUnavailable(String),
    /// The challenge was issued to another client (another pre-login session): a token works
    /// only from the client that asked for its challenge.
    ChallengeClientMismatch,
    /// The certificate or path failed.
    Pki(PkiError),
}

#[cfg(feature = "messages")]
impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { limit } => write!(f, "the token is longer than {limit} characters"),
            Self::Malformed(d) => write!(f, "malformed token: {d}"),
            Self::FormatUnsupported(v) => write!(f, "unsupported token format {v:?} (expected web-eid:1.x)"),
            Self::AlgorithmUnsupported(a) => write!(f, "unsupported token algorithm {a:?}"),
            Self::SignatureMalformed(d) => write!(f, "malformed token signature: {d}"),
            Self::AlgorithmKeyMismatch(d) => write!(f, "the token's algorithm does not fit the certificate's key: {d}"),
            Self::SignatureInvalid => f.write_str(
                "the token's signature does not verify for this site and challenge (made for another site or challenge, or forged)",
            ),
            Self::OriginMismatch { expected, actual } => {
                write!(f, "the token was made for {actual}, not for {expected}")
            }
            Self::OriginInvalid(o) => write!(
                f,
                "configured origin {o:?} is not of the form https://host[:port] (no path, no trailing slash)"
            ),
            Self::NonceInvalid => f.write_str("the challenge nonce must be 44 to 128 base64 characters"),
            Self::NonceUnknown => f.write_str("this challenge was not issued by this server"),
            Self::NonceExpired => f.write_str("the challenge expired; start again"),
            Self::NonceReplayed => f.write_str("this challenge was already used"),
            Self::NonceStoreUnavailable(d) => write!(f, "the challenge store is unavailable: {d}"),
            Self::ChallengeClientMismatch => {
                f.write_str("the challenge was issued to another client (pre-login session)")
            }
            Self::Pki(e) => e.fmt(f),
        }
    }
}

/// Without the `messages` feature (the lite wasm): the structured fields only, written as they
/// are; the npm package puts the sentence for the code before them.
#[cfg(not(feature = "messages"))]
impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(d)
            | Self::FormatUnsupported(d)
            | Self::AlgorithmUnsupported(d)
            | Self::SignatureMalformed(d)
            | Self::AlgorithmKeyMismatch(d)
            | Self::OriginInvalid(d)
            | Self::NonceStoreUnavailable(d) => f.write_str(d),
            Self::OriginMismatch { expected, actual } => [actual.as_str(), " (expected ", expected, ")"]
                .iter()
                .try_for_each(|p| f.write_str(p)),
            Self::Pki(e) => e.fmt(f),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for TokenError {}

impl crate::error::Coded for TokenError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "TOKEN_TOO_LARGE",
            Self::Malformed(_) => "TOKEN_MALFORMED",
            Self::FormatUnsupported(_) => "TOKEN_FORMAT_UNSUPPORTED",
            Self::AlgorithmUnsupported(_) => "TOKEN_ALGORITHM_UNSUPPORTED",
            Self::SignatureMalformed(_) => "TOKEN_SIGNATURE_MALFORMED",
            Self::AlgorithmKeyMismatch(_) => "TOKEN_ALGORITHM_KEY_MISMATCH",
            Self::SignatureInvalid => "TOKEN_SIGNATURE_INVALID",
            Self::OriginMismatch { .. } => "ORIGIN_MISMATCH",
            Self::OriginInvalid(_) => "ORIGIN_INVALID",
            Self::NonceInvalid => "NONCE_INVALID",
            Self::NonceUnknown => "NONCE_UNKNOWN",
            Self::NonceExpired => "NONCE_EXPIRED",
            Self::NonceReplayed => "NONCE_REPLAYED",
            Self::NonceStoreUnavailable(_) => "NONCE_STORE_UNAVAILABLE",
            Self::ChallengeClientMismatch => "CHALLENGE_CLIENT_MISMATCH",
            Self::Pki(e) => crate::error::Coded::code(e),
        }
    }
    fn is_retryable(&self) -> bool {
        matches!(self, Self::NonceStoreUnavailable(_) | Self::NonceExpired)
    }
}

impl From<PkiError> for TokenError {
    fn from(e: PkiError) -> Self {
        Self::Pki(e)
    }
}
