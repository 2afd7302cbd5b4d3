//! Errors of making, verifying and disclosing identity records.

use std::fmt;

use crate::identity::NationalCodeError;
use crate::pki::PkiError;

/// Why a record could not be made, verified or disclosed. Every variant has a stable code
/// (see [`crate::error::Coded`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Not an SD-JWT of hoviat's shape (bad base64url, JSON, header, claim types, a key-binding
    /// JWT where none is allowed, salts shorter than 128 bits ...).
    Malformed(String),
    /// Input over a size or count limit.
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit (bytes or items).
        limit: usize,
    },
    /// The terminal's ES256 signature over the issuer-signed JWT does not verify.
    SealInvalid,
    /// The terminal certificate chain in `x5c` does not lead to the institution's CA at the
    /// recorded time (or its key is not EC P-256).
    UntrustedTerminal(String),
    /// A disclosure's digest is not in `_sd`, a disclosure appears twice, or it names a claim
    /// that is also in the clear.
    DisclosureMismatch(String),
    /// The level the record claims is more than its evidence supports (or the card's signature
    /// over the record does not verify).
    LevelUnsupported {
        /// The level claimed.
        claimed: String,
        /// What the evidence supports (`none` when not even `certificate`).
        supported: String,
    },
    /// An attribute outside the purpose's list, or a purpose that does not match the
    /// institution's configuration.
    PurposeViolation(String),
    /// The purpose is not configured for the institution.
    PurposeUnknown(String),
    /// An attribute name hoviat does not know, or one the record does not hold.
    AttributeUnknown(String),
    /// The institution configuration is invalid.
    ConfigInvalid(String),
    /// Two sources disagree (the CRN in the certificate and in the card manager; the national
    /// code typed by the operator and the one in the certificate).
    EvidenceConflict(String),
    /// The card's signature offered for the record does not verify with the holder's key.
    CardSignatureInvalid(String),
    /// The terminal signer (PKCS#8 key, WebCrypto) failed.
    SignerFailed(String),
    /// The holder's certificate chain to the registry is not valid (wraps the path error, whose
    /// code is reported).
    Holder(PkiError),
    /// The national code the operator typed is invalid (code `NATIONAL_CODE_INVALID`).
    NationalCode(NationalCodeError),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(d) => write!(f, "malformed identity record: {d}"),
            Self::TooLarge { what, limit } => write!(f, "{what} exceeds the limit of {limit}"),
            Self::SealInvalid => f.write_str("the terminal's seal on the record does not verify"),
            Self::UntrustedTerminal(d) => {
                write!(
                    f,
                    "the record was not sealed by a terminal of the institution's CA: {d}"
                )
            }
            Self::DisclosureMismatch(d) => write!(f, "a disclosure does not match the sealed record: {d}"),
            Self::LevelUnsupported { claimed, supported } => write!(
                f,
                "the record claims level {claimed}, but its evidence supports only {supported}"
            ),
            Self::PurposeViolation(d) => write!(f, "the record breaks its purpose: {d}"),
            Self::PurposeUnknown(p) => write!(f, "purpose {p:?} is not configured for this institution"),
            Self::AttributeUnknown(a) => write!(f, "unknown or absent attribute {a:?}"),
            Self::ConfigInvalid(d) => write!(f, "invalid institution configuration: {d}"),
            Self::EvidenceConflict(d) => write!(f, "the evidence contradicts itself: {d}"),
            Self::CardSignatureInvalid(d) => write!(f, "the card's signature over the record does not verify: {d}"),
            Self::SignerFailed(d) => write!(f, "the terminal could not seal the record: {d}"),
            Self::Holder(e) => write!(f, "the holder's certificate is not valid: {e}"),
            Self::NationalCode(e) => write!(f, "the national code typed by the operator: {e}"),
        }
    }
}

impl std::error::Error for RecordError {}

impl crate::error::Coded for RecordError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "RECORD_MALFORMED",
            Self::TooLarge { .. } => "RECORD_TOO_LARGE",
            Self::SealInvalid => "RECORD_SEAL_INVALID",
            Self::UntrustedTerminal(_) => "RECORD_UNTRUSTED_TERMINAL",
            Self::DisclosureMismatch(_) => "RECORD_DISCLOSURE_MISMATCH",
            Self::LevelUnsupported { .. } => "RECORD_LEVEL_UNSUPPORTED",
            Self::PurposeViolation(_) => "RECORD_PURPOSE_VIOLATION",
            Self::PurposeUnknown(_) => "RECORD_PURPOSE_UNKNOWN",
            Self::AttributeUnknown(_) => "RECORD_ATTRIBUTE_UNKNOWN",
            Self::ConfigInvalid(_) => "RECORD_CONFIG_INVALID",
            Self::EvidenceConflict(_) => "RECORD_EVIDENCE_CONFLICT",
            Self::CardSignatureInvalid(_) => "RECORD_CARD_SIGNATURE_INVALID",
            Self::SignerFailed(_) => "RECORD_SIGNER_FAILED",
            Self::Holder(e) => e.code(),
            Self::NationalCode(e) => e.code(),
        }
    }
}

impl From<NationalCodeError> for RecordError {
    fn from(e: NationalCodeError) -> Self {
        Self::NationalCode(e)
    }
}

pub(crate) fn malformed(d: impl Into<String>) -> RecordError {
    RecordError::Malformed(d.into())
}
