//! Errors of CMS (RFC 5652) SignedData verification.

use std::fmt;

use crate::pki::PkiError;

/// Why a CMS signature was refused. Every variant has a stable code (see
/// [`crate::error::Coded`]); certificate, path, revocation and algorithm-policy problems keep
/// their `CERT_*` / `ALGORITHM_*` / `CRL_*` / `OCSP_*` codes through [`CmsError::Pki`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CmsError {
    /// Not DER ContentInfo/SignedData, or a structural rule of RFC 5652 broken.
    Malformed(String),
    /// Input over a size or count limit.
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The ContentInfo is not SignedData (e.g. EnvelopedData).
    NotSignedData(String),
    /// SignedData without any SignerInfo (a certificates-only message signs nothing).
    NoSigners,
    /// Detached signature and no content supplied.
    ContentMissing,
    /// Content is both attached and supplied, and the two differ.
    ContentConflict,
    /// The content's digest is not the signer's messageDigest attribute.
    DigestMismatch {
        /// Signer index (0-based, in the order of the message).
        signer: usize,
    },
    /// No certificate (embedded or supplied) matches the signer identifier.
    SignerNotFound {
        /// Signer index.
        signer: usize,
        /// The identifier, readable.
        sid: String,
    },
    /// The contentType attribute is missing or differs from the encapsulated content type,
    /// or signed attributes are absent although the content is not id-data.
    ContentTypeMismatch {
        /// Signer index.
        signer: usize,
        /// What is wrong.
        detail: String,
    },
    /// A signed attribute RFC 5652 requires is missing, repeated, multi-valued or malformed.
    AttributeInvalid {
        /// Signer index.
        signer: usize,
        /// What is wrong.
        detail: String,
    },
    /// The ESS signing-certificate(-v2) attribute names another certificate than the signer's.
    SigningCertificateMismatch {
        /// Signer index.
        signer: usize,
    },
    /// The signature does not verify under the signer certificate's key.
    SignatureInvalid {
        /// Signer index.
        signer: usize,
    },
    /// Validation as of the claimed signing time was asked for, and the signer claims none.
    SigningTimeMissing {
        /// Signer index.
        signer: usize,
    },
    /// Not a PDF, or a signature dictionary whose `/ByteRange` / `/Contents` do not fit.
    PdfMalformed(String),
    /// A PDF without any signature.
    PdfNoSignature,
    /// Bytes were added after the last signature (no signature covers the whole file).
    PdfModifiedAfterSigning,
    /// A certificate, path, revocation or algorithm-policy problem of one signer (or of the
    /// message's certificates when `signer` is `None`); the code is the [`PkiError`]'s.
    Pki {
        /// Signer index, when the problem belongs to one signer.
        signer: Option<usize>,
        /// The underlying error.
        error: PkiError,
    },
}

impl From<PkiError> for CmsError {
    fn from(error: PkiError) -> Self {
        Self::Pki { signer: None, error }
    }
}

impl CmsError {
    /// The signer the error belongs to, if any.
    pub fn signer(&self) -> Option<usize> {
        match self {
            Self::DigestMismatch { signer }
            | Self::SignerNotFound { signer, .. }
            | Self::ContentTypeMismatch { signer, .. }
            | Self::AttributeInvalid { signer, .. }
            | Self::SigningCertificateMismatch { signer }
            | Self::SignatureInvalid { signer }
            | Self::SigningTimeMissing { signer } => Some(*signer),
            Self::Pki { signer, .. } => *signer,
            _ => None,
        }
    }
}

impl fmt::Display for CmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "not a well-formed CMS SignedData: {m}"),
            Self::TooLarge { what, limit } => write!(f, "{what} over the limit of {limit}"),
            Self::NotSignedData(o) => write!(f, "the CMS message is not SignedData (content type {o})"),
            Self::NoSigners => f.write_str("the CMS SignedData has no signer"),
            Self::ContentMissing => {
                f.write_str("the signature is detached and no content was supplied to check it against")
            }
            Self::ContentConflict => f.write_str("the message carries content and different content was supplied"),
            Self::DigestMismatch { signer } => write!(
                f,
                "signer {signer}: the content's digest is not the one signed (the content was changed, or is not the signed document)"
            ),
            Self::SignerNotFound { signer, sid } => write!(
                f,
                "signer {signer}: no embedded or supplied certificate matches the signer ({sid})"
            ),
            Self::ContentTypeMismatch { signer, detail } => write!(f, "signer {signer}: content type: {detail}"),
            Self::AttributeInvalid { signer, detail } => write!(f, "signer {signer}: signed attributes: {detail}"),
            Self::SigningCertificateMismatch { signer } => write!(
                f,
                "signer {signer}: the ESS signing-certificate attribute names another certificate than the signer's"
            ),
            Self::SignatureInvalid { signer } => write!(
                f,
                "signer {signer}: the signature does not verify under the signer certificate's key"
            ),
            Self::SigningTimeMissing { signer } => write!(
                f,
                "signer {signer}: validation as of the signing time was asked for, but the signer claims no signingTime"
            ),
            Self::PdfMalformed(m) => write!(f, "PDF signature: {m}"),
            Self::PdfNoSignature => f.write_str("the PDF has no signature"),
            Self::PdfModifiedAfterSigning => {
                f.write_str("the PDF was changed after its last signature (no signature covers the whole file)")
            }
            Self::Pki { signer: Some(s), error } => write!(f, "signer {s}: {error}"),
            Self::Pki { signer: None, error } => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for CmsError {}

impl crate::error::Coded for CmsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "CMS_MALFORMED",
            Self::TooLarge { .. } => "CMS_TOO_LARGE",
            Self::NotSignedData(_) => "CMS_NOT_SIGNED_DATA",
            Self::NoSigners => "CMS_NO_SIGNERS",
            Self::ContentMissing => "CMS_CONTENT_MISSING",
            Self::ContentConflict => "CMS_CONTENT_CONFLICT",
            Self::DigestMismatch { .. } => "CMS_DIGEST_MISMATCH",
            Self::SignerNotFound { .. } => "CMS_SIGNER_NOT_FOUND",
            Self::ContentTypeMismatch { .. } => "CMS_CONTENT_TYPE_MISMATCH",
            Self::AttributeInvalid { .. } => "CMS_ATTRIBUTE_INVALID",
            Self::SigningCertificateMismatch { .. } => "CMS_SIGNING_CERTIFICATE_MISMATCH",
            Self::SignatureInvalid { .. } => "CMS_SIGNATURE_INVALID",
            Self::SigningTimeMissing { .. } => "CMS_SIGNING_TIME_MISSING",
            Self::PdfMalformed(_) => "PDF_MALFORMED",
            Self::PdfNoSignature => "PDF_NO_SIGNATURE",
            Self::PdfModifiedAfterSigning => "PDF_MODIFIED_AFTER_SIGNING",
            Self::Pki { error, .. } => error.code(),
        }
    }
}
