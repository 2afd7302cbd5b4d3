//! The one table of hoviat's stable error codes (issue 15): every code any layer emits (the
//! core's error enums, the native host, the browser extension, the npm package, the example
//! servers), each once. `tests/codes.rs` checks it against the core's `Coded` impls, the README
//! "Stable error codes" section, `www/messages.js` (Persian and English) and `npm/index.d.ts`,
//! and fails when a code lacks any of them.
//!
//! Adding a code: one line here, a `` `CODE` `` in the README section, a `CODE: ['fa', 'en']`
//! line in `www/messages.js` and a `| 'CODE'` line in `HoviatErrorCode` of `npm/index.d.ts`;
//! then `cargo test --test codes`.

/// Where a code comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// Certificates, paths, CRLs and OCSP ([`crate::pki::PkiError`]).
    Pki,
    /// Tokens, origins and challenges ([`crate::token::TokenError`]).
    Token,
    /// Cards, PINs, readers ([`crate::card::CardError`]).
    Card,
    /// The national code check.
    Identity,
    /// The native messaging host.
    Host,
    /// The command-line tool.
    Cli,
    /// The relying-party kit's trust configuration.
    Rp,
    /// The browser extension.
    Extension,
    /// The npm package.
    Npm,
    /// The example servers (bank-portal, node-server).
    Server,
}

/// Every stable code, once, with the layer that emits it.
pub const CODES: &[(&str, Layer)] = &[
    ("CERT_MALFORMED", Layer::Pki),
    ("INPUT_TOO_LARGE", Layer::Pki),
    ("CERT_EXPIRED", Layer::Pki),
    ("CERT_NOT_YET_VALID", Layer::Pki),
    ("CERT_IS_CA", Layer::Pki),
    ("CERT_KEY_USAGE", Layer::Pki),
    ("CERT_EKU_MISMATCH", Layer::Pki),
    ("CERT_UNKNOWN_CRITICAL_EXTENSION", Layer::Pki),
    ("CERT_UNTRUSTED", Layer::Pki),
    ("CERT_ISSUER_NOT_CA", Layer::Pki),
    ("CERT_ISSUER_KEY_USAGE", Layer::Pki),
    ("CERT_PATH_LEN_EXCEEDED", Layer::Pki),
    ("CERT_NAME_CONSTRAINTS", Layer::Pki),
    ("CERT_SIGNATURE_INVALID", Layer::Pki),
    ("CERT_PROFILE_VIOLATION", Layer::Pki),
    ("CERT_POLICY_REFUSED", Layer::Pki),
    ("ALGORITHM_UNSUPPORTED", Layer::Pki),
    ("ALGORITHM_DISALLOWED", Layer::Pki),
    ("KEY_TOO_SMALL", Layer::Pki),
    ("KEY_MALFORMED", Layer::Pki),
    ("CHAIN_TOO_LONG", Layer::Pki),
    ("CHAIN_TOO_COMPLEX", Layer::Pki),
    ("CERT_REVOKED", Layer::Pki),
    ("CRL_MALFORMED", Layer::Pki),
    ("CRL_SIGNATURE_INVALID", Layer::Pki),
    ("CRL_EXPIRED", Layer::Pki),
    ("CRL_NOT_YET_VALID", Layer::Pki),
    ("CRL_ISSUER_NOT_AUTHORIZED", Layer::Pki),
    ("CRL_ISSUER_MISMATCH", Layer::Pki),
    ("CRL_UNSUPPORTED", Layer::Pki),
    ("REVOCATION_UNKNOWN", Layer::Pki),
    ("CRL_UNREACHABLE", Layer::Pki),
    ("OCSP_RESPONDER_UNREACHABLE", Layer::Pki),
    ("OCSP_CERT_UNKNOWN", Layer::Pki),
    ("OCSP_MALFORMED", Layer::Pki),
    ("OCSP_NOT_SUCCESSFUL", Layer::Pki),
    ("OCSP_UNSUPPORTED", Layer::Pki),
    ("OCSP_SIGNATURE_INVALID", Layer::Pki),
    ("OCSP_RESPONDER_NOT_AUTHORIZED", Layer::Pki),
    ("OCSP_CERT_ID_MISMATCH", Layer::Pki),
    ("OCSP_NONCE_MISMATCH", Layer::Pki),
    ("OCSP_NOT_YET_VALID", Layer::Pki),
    ("OCSP_STALE", Layer::Pki),
    ("TOKEN_TOO_LARGE", Layer::Token),
    ("TOKEN_MALFORMED", Layer::Token),
    ("TOKEN_FORMAT_UNSUPPORTED", Layer::Token),
    ("TOKEN_ALGORITHM_UNSUPPORTED", Layer::Token),
    ("TOKEN_SIGNATURE_MALFORMED", Layer::Token),
    ("TOKEN_ALGORITHM_KEY_MISMATCH", Layer::Token),
    ("TOKEN_SIGNATURE_INVALID", Layer::Token),
    ("ORIGIN_MISMATCH", Layer::Token),
    ("ORIGIN_INVALID", Layer::Token),
    ("NONCE_INVALID", Layer::Token),
    ("NONCE_UNKNOWN", Layer::Token),
    ("NONCE_EXPIRED", Layer::Token),
    ("NONCE_REPLAYED", Layer::Token),
    ("NONCE_STORE_UNAVAILABLE", Layer::Token),
    ("CHALLENGE_CLIENT_MISMATCH", Layer::Token),
    ("CARD_UNKNOWN", Layer::Card),
    ("CARD_RESPONSE_MALFORMED", Layer::Card),
    ("CARD_STATUS_ERROR", Layer::Card),
    ("PIN_WRONG", Layer::Card),
    ("PIN_BLOCKED", Layer::Card),
    ("PIN_INVALID_FORMAT", Layer::Card),
    ("PIN_REQUIRED", Layer::Card),
    ("CARD_NEEDS_REGISTRY_SERVICE", Layer::Card),
    ("CARD_CERTIFICATE_MISSING", Layer::Card),
    ("CARD_UNSUPPORTED", Layer::Card),
    ("CARD_REMOVED", Layer::Card),
    ("CARD_TIMEOUT", Layer::Card),
    ("NO_CARD", Layer::Card),
    ("NO_READER", Layer::Card),
    ("READER_NOT_FOUND", Layer::Card),
    ("READER_SERVICE_UNAVAILABLE", Layer::Card),
    ("TRANSPORT_ERROR", Layer::Card),
    ("NATIONAL_CODE_INVALID", Layer::Identity),
    ("USAGE", Layer::Cli),
    ("IO_ERROR", Layer::Cli),
    ("EXTENSION_MISSING", Layer::Extension),
    ("EXTENSION_TIMEOUT", Layer::Extension),
    ("EXTENSION_BAD_REQUEST", Layer::Extension),
    ("EXTENSION_RATE_LIMITED", Layer::Extension),
    ("EXTENSION_BUSY", Layer::Extension),
    ("EXTENSION_CANCELLED", Layer::Extension),
    ("EXTENSION_DISCONNECTED", Layer::Extension),
    ("EXTENSION_HOST_MISSING", Layer::Extension),
    ("EXTENSION_HOST_VERSION_MISMATCH", Layer::Extension),
    ("EXTENSION_HOST_DISCONNECTED", Layer::Extension),
    ("EXTENSION_HOST_TIMEOUT", Layer::Extension),
    ("EXTENSION_PIN_TIMEOUT", Layer::Extension),
    ("EXTENSION_PIN_WINDOW_FAILED", Layer::Extension),
    ("USER_CANCELLED", Layer::Extension),
    ("HOST_BAD_MESSAGE", Layer::Host),
    ("HOST_MESSAGE_TOO_LARGE", Layer::Host),
    ("HOST_BUSY", Layer::Host),
    ("HOST_CANCELLED", Layer::Host),
    ("PROTOCOL_VERSION_MISMATCH", Layer::Host),
    ("NO_TRANSPORT", Layer::Npm),
    ("TRANSPORT_UNAVAILABLE", Layer::Npm),
    ("INVALID_ARGUMENT", Layer::Npm),
    ("INTERNAL_PANIC", Layer::Npm),
    ("INTERNAL_ERROR", Layer::Npm),
    ("NOT_LOGGED_IN", Layer::Server),
    ("BAD_REQUEST", Layer::Server),
    ("NETWORK", Layer::Server),
    ("TRUST_FETCH_FAILED", Layer::Rp),
    ("TRUST_ANCHOR_NOT_FILE", Layer::Rp),
    ("TRUST_ANCHOR_MISSING", Layer::Rp),
    ("CONFIG_UNSAFE", Layer::Server),
];

/// Whether `code` is a stable code.
pub fn is_known(code: &str) -> bool {
    CODES.iter().any(|(c, _)| *c == code)
}
