//! Errors of certificate parsing, path validation and revocation.

use std::fmt;

/// Why a certificate, a path or a revocation source was refused. Every variant has a stable
/// code (see [`crate::error::Coded`]); messages name the certificate by subject.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkiError {
    /// Not a DER X.509 certificate, or one that breaks a structural rule (RFC 5280 §4.1).
    CertMalformed(String),
    /// Input over the size limit.
    InputTooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// The certificate's notAfter is before the validation time.
    CertExpired {
        /// The certificate's subject.
        subject: String,
        /// notAfter, RFC 3339.
        not_after: String,
    },
    /// The certificate's notBefore is after the validation time.
    CertNotYetValid {
        /// The certificate's subject.
        subject: String,
        /// notBefore, RFC 3339.
        not_before: String,
    },
    /// An end-entity certificate was expected, but it is a CA (basicConstraints cA = TRUE).
    LeafIsCa,
    /// The end-entity certificate's keyUsage does not allow digitalSignature (or is absent
    /// where it is required).
    LeafKeyUsage,
    /// The end-entity certificate's extendedKeyUsage lacks the required purpose.
    EkuMismatch {
        /// The required purpose.
        required: String,
    },
    /// A critical extension this validator does not process (RFC 5280 §4.2).
    UnknownCriticalExtension {
        /// Subject of the certificate carrying it.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    /// No issuer of the certificate among the configured trust anchors and intermediates.
    Untrusted {
        /// Subject of the last certificate for which no issuer was found.
        subject: String,
        /// Its issuer name.
        issuer: String,
    },
    /// An issuer in the path is not a CA (basicConstraints absent or cA = FALSE).
    IssuerNotCa {
        /// The issuer's subject.
        subject: String,
    },
    /// An issuer's keyUsage lacks keyCertSign.
    IssuerKeyUsage {
        /// The issuer's subject.
        subject: String,
    },
    /// A pathLenConstraint is exceeded.
    PathLenExceeded {
        /// The constraining CA.
        subject: String,
    },
    /// A name in the path falls outside a CA's name constraints (RFC 5280 §4.2.1.10).
    NameConstraintViolation {
        /// The certificate whose name violates the constraint.
        subject: String,
    },
    /// A certificate breaks an RFC 5280 profile rule that the strict profile enforces
    /// ([`crate::pki::PathOptions::strict_rfc5280`]).
    ProfileViolation {
        /// The certificate's subject.
        subject: String,
        /// The rule, with its RFC 5280 section.
        rule: &'static str,
    },
    /// A signature in the chain does not verify under its issuer's key.
    SignatureInvalid {
        /// The signed certificate (or CRL) subject / issuer.
        subject: String,
    },
    /// The signature or key algorithm is not one hoviat implements.
    AlgorithmUnsupported(String),
    /// The algorithm is implemented but refused by the relying party's policy (SHA-1 by default).
    AlgorithmDisallowed(String),
    /// An RSA key under the policy's minimum size.
    KeyTooSmall {
        /// The key size in bits.
        bits: usize,
        /// The policy's minimum.
        min: usize,
    },
    /// A public key that does not decode (not on the curve, bad RSA encoding...).
    KeyMalformed(String),
    /// The path would be longer than the configured maximum.
    ChainTooLong,
    /// Path building gave up: too many candidate issuers (a hostile pool of certificates).
    ChainTooComplex,
    /// The certificate is on its issuer's CRL.
    Revoked {
        /// The revoked certificate's subject.
        subject: String,
        /// Its serial number, hex.
        serial: String,
        /// Revocation date, RFC 3339.
        date: String,
    },
    /// A CRL does not parse or breaks RFC 5280 §5.
    CrlMalformed(String),
    /// A CRL's signature does not verify under the issuing CA's key.
    CrlSignatureInvalid {
        /// The CRL's issuer.
        issuer: String,
    },
    /// The CRL's nextUpdate is before the validation time.
    CrlExpired {
        /// The CRL's issuer.
        issuer: String,
        /// nextUpdate, RFC 3339.
        next_update: String,
    },
    /// The CRL's thisUpdate is after the validation time.
    CrlNotYetValid {
        /// The CRL's issuer.
        issuer: String,
    },
    /// The CA whose name the CRL carries may not sign CRLs (keyUsage lacks cRLSign).
    CrlIssuerNotAuthorized {
        /// The CA.
        issuer: String,
    },
    /// The CRL uses a feature hoviat does not process (critical extension, indirect CRL).
    CrlUnsupported(String),
    /// A CRL fetched from a certificate's distribution point is not issued by (a CA that
    /// issued) that certificate: another CA's list says nothing about it.
    CrlIssuerMismatch {
        /// Where it was fetched.
        url: String,
        /// The CRL's issuer.
        issuer: String,
    },
    /// The certificate's policies break the relying party's allow or deny list.
    CertPolicyRefused {
        /// The certificate's subject.
        subject: String,
        /// Why.
        detail: String,
    },
    /// An OCSP response does not parse or breaks RFC 6960.
    OcspMalformed(String),
    /// The responder answered with a status other than `successful`.
    OcspNotSuccessful(String),
    /// The response uses a feature hoviat does not process (non-basic type, critical extension).
    OcspUnsupported(String),
    /// The response's signature does not verify under its signer's key.
    OcspSignatureInvalid {
        /// The CA whose certificate the response is about.
        issuer: String,
    },
    /// The response is signed by neither the CA nor a responder the CA authorised (OCSPSigning).
    OcspResponderNotAuthorized(String),
    /// No SingleResponse in the response is for this certificate (CertID).
    OcspCertIdMismatch {
        /// The certificate's subject.
        subject: String,
    },
    /// A nonce was sent and the response does not echo it (a replayed or foreign response).
    OcspNonceMismatch,
    /// The response's thisUpdate is in the future (beyond the skew).
    OcspNotYetValid {
        /// thisUpdate, RFC 3339.
        this_update: String,
    },
    /// The response is past its nextUpdate (or, without one, too old).
    OcspStale {
        /// Which time made it stale.
        detail: String,
    },
    /// The responder does not know the certificate.
    OcspCertUnknown {
        /// The certificate's subject.
        subject: String,
    },
    /// The responder could not be reached (connection, timeout, HTTP error).
    OcspResponderUnreachable(String),
    /// A CRL distribution point could not be fetched (connection, timeout, HTTP error, size).
    CrlUnreachable(String),
    /// Revocation status was required but no CRL or OCSP response covers the certificate.
    RevocationUnknown {
        /// The certificate's subject.
        subject: String,
    },
}

#[cfg(feature = "messages")]
impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CertMalformed(d) => write!(f, "malformed certificate: {d}"),
            Self::InputTooLarge { what, limit } => write!(f, "{what} is larger than {limit} bytes"),
            Self::CertExpired { subject, not_after } => {
                write!(f, "certificate \"{subject}\" expired at {not_after}")
            }
            Self::CertNotYetValid { subject, not_before } => {
                write!(f, "certificate \"{subject}\" is not valid before {not_before}")
            }
            Self::LeafIsCa => f.write_str("the holder's certificate is a CA certificate"),
            Self::LeafKeyUsage => f.write_str("the holder's certificate does not allow digital signatures (keyUsage)"),
            Self::EkuMismatch { required } => {
                write!(f, "the certificate's extended key usage does not include {required}")
            }
            Self::UnknownCriticalExtension { subject, oid } => {
                write!(
                    f,
                    "certificate \"{subject}\" has an unsupported critical extension {oid}"
                )
            }
            Self::Untrusted { subject, issuer } => write!(
                f,
                "no trusted issuer found for \"{subject}\" (issuer \"{issuer}\" is not a configured trust anchor or intermediate)"
            ),
            Self::IssuerNotCa { subject } => write!(f, "issuer \"{subject}\" is not a CA"),
            Self::IssuerKeyUsage { subject } => {
                write!(
                    f,
                    "issuer \"{subject}\" may not sign certificates (keyUsage lacks keyCertSign)"
                )
            }
            Self::PathLenExceeded { subject } => {
                write!(f, "the path is longer than CA \"{subject}\" allows (pathLenConstraint)")
            }
            Self::NameConstraintViolation { subject } => {
                write!(f, "certificate \"{subject}\" violates a CA's name constraints")
            }
            Self::ProfileViolation { subject, rule } => {
                write!(f, "certificate \"{subject}\" breaks the RFC 5280 profile: {rule}")
            }
            Self::SignatureInvalid { subject } => {
                write!(
                    f,
                    "the signature on \"{subject}\" does not verify under its issuer's key"
                )
            }
            Self::AlgorithmUnsupported(a) => write!(f, "unsupported algorithm: {a}"),
            Self::AlgorithmDisallowed(a) => write!(f, "algorithm refused by policy: {a}"),
            Self::KeyTooSmall { bits, min } => {
                write!(f, "RSA key of {bits} bits is below the minimum of {min}")
            }
            Self::KeyMalformed(d) => write!(f, "malformed public key: {d}"),
            Self::ChainTooLong => f.write_str("the certificate path is too long"),
            Self::ChainTooComplex => f.write_str("too many candidate paths; gave up"),
            Self::Revoked { subject, serial, date } => {
                write!(f, "certificate \"{subject}\" (serial {serial}) was revoked at {date}")
            }
            Self::CrlMalformed(d) => write!(f, "malformed CRL: {d}"),
            Self::CrlSignatureInvalid { issuer } => {
                write!(f, "the CRL of \"{issuer}\" does not verify under that CA's key")
            }
            Self::CrlExpired { issuer, next_update } => {
                write!(f, "the CRL of \"{issuer}\" is stale (nextUpdate {next_update})")
            }
            Self::CrlNotYetValid { issuer } => {
                write!(f, "the CRL of \"{issuer}\" is not yet valid (thisUpdate in the future)")
            }
            Self::CrlIssuerNotAuthorized { issuer } => {
                write!(f, "\"{issuer}\" may not sign CRLs (keyUsage lacks cRLSign)")
            }
            Self::CrlUnsupported(d) => write!(f, "unsupported CRL: {d}"),
            Self::CrlIssuerMismatch { url, issuer } => write!(
                f,
                "the CRL at {url} is issued by \"{issuer}\", not by the certificate's CA"
            ),
            Self::CertPolicyRefused { subject, detail } => {
                write!(f, "the policies of certificate \"{subject}\" are refused: {detail}")
            }
            Self::RevocationUnknown { subject } => {
                write!(f, "no revocation information covers \"{subject}\"")
            }
            Self::OcspMalformed(d) => write!(f, "malformed OCSP response: {d}"),
            Self::OcspNotSuccessful(d) => write!(f, "the OCSP responder did not answer successfully: {d}"),
            Self::OcspUnsupported(d) => write!(f, "unsupported OCSP response: {d}"),
            Self::OcspSignatureInvalid { issuer } => {
                write!(
                    f,
                    "the OCSP response about a certificate of \"{issuer}\" has an invalid signature"
                )
            }
            Self::OcspResponderNotAuthorized(d) => write!(f, "the OCSP response's signer is not authorised: {d}"),
            Self::OcspCertIdMismatch { subject } => {
                write!(f, "no OCSP response is about the certificate \"{subject}\"")
            }
            Self::OcspNonceMismatch => f.write_str("the OCSP response does not carry the nonce of the request"),
            Self::OcspNotYetValid { this_update } => {
                write!(f, "the OCSP response is not yet valid (thisUpdate {this_update})")
            }
            Self::OcspStale { detail } => write!(f, "the OCSP response is stale ({detail})"),
            Self::OcspCertUnknown { subject } => {
                write!(f, "the OCSP responder does not know the certificate \"{subject}\"")
            }
            Self::OcspResponderUnreachable(d) => write!(f, "the OCSP responder is unreachable: {d}"),
            Self::CrlUnreachable(d) => write!(f, "the CRL could not be fetched: {d}"),
        }
    }
}

/// Without the `messages` feature (the lite wasm): the structured fields only, written as they
/// are (no formatting arguments); the npm package puts the sentence for the code before them.
#[cfg(not(feature = "messages"))]
impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: &[&str] = match self {
            Self::CertMalformed(d)
            | Self::AlgorithmUnsupported(d)
            | Self::AlgorithmDisallowed(d)
            | Self::KeyMalformed(d)
            | Self::CrlMalformed(d)
            | Self::CrlUnsupported(d)
            | Self::OcspMalformed(d)
            | Self::OcspNotSuccessful(d)
            | Self::OcspUnsupported(d)
            | Self::OcspResponderNotAuthorized(d)
            | Self::OcspResponderUnreachable(d)
            | Self::CrlUnreachable(d)
            | Self::EkuMismatch { required: d }
            | Self::OcspStale { detail: d }
            | Self::OcspNotYetValid { this_update: d } => &[d],
            Self::InputTooLarge { what, .. } => &[what],
            Self::CertExpired { subject, not_after: t } | Self::CertNotYetValid { subject, not_before: t } => {
                &["\"", subject, "\" ", t]
            }
            Self::UnknownCriticalExtension { subject, oid: d } | Self::CertPolicyRefused { subject, detail: d } => {
                &["\"", subject, "\" ", d]
            }
            Self::ProfileViolation { subject, rule } => &["\"", subject, "\" ", rule],
            Self::Untrusted { subject, issuer } => &["\"", subject, "\" (issuer \"", issuer, "\")"],
            Self::Revoked { subject, date, .. } => &["\"", subject, "\" ", date],
            Self::CrlExpired { issuer, next_update } => &["\"", issuer, "\" ", next_update],
            Self::CrlIssuerMismatch { url, issuer } => &[url, " \"", issuer, "\""],
            Self::IssuerNotCa { subject }
            | Self::IssuerKeyUsage { subject }
            | Self::PathLenExceeded { subject }
            | Self::NameConstraintViolation { subject }
            | Self::SignatureInvalid { subject }
            | Self::OcspCertIdMismatch { subject }
            | Self::OcspCertUnknown { subject }
            | Self::RevocationUnknown { subject }
            | Self::CrlSignatureInvalid { issuer: subject }
            | Self::CrlNotYetValid { issuer: subject }
            | Self::CrlIssuerNotAuthorized { issuer: subject }
            | Self::OcspSignatureInvalid { issuer: subject } => &["\"", subject, "\""],
            Self::LeafIsCa
            | Self::LeafKeyUsage
            | Self::KeyTooSmall { .. }
            | Self::ChainTooLong
            | Self::ChainTooComplex
            | Self::OcspNonceMismatch => &[],
        };
        parts.iter().try_for_each(|p| f.write_str(p))
    }
}

impl std::error::Error for PkiError {}

impl crate::error::Coded for PkiError {
    fn code(&self) -> &'static str {
        match self {
            Self::CertMalformed(_) => "CERT_MALFORMED",
            Self::InputTooLarge { .. } => "INPUT_TOO_LARGE",
            Self::CertExpired { .. } => "CERT_EXPIRED",
            Self::CertNotYetValid { .. } => "CERT_NOT_YET_VALID",
            Self::LeafIsCa => "CERT_IS_CA",
            Self::LeafKeyUsage => "CERT_KEY_USAGE",
            Self::EkuMismatch { .. } => "CERT_EKU_MISMATCH",
            Self::UnknownCriticalExtension { .. } => "CERT_UNKNOWN_CRITICAL_EXTENSION",
            Self::Untrusted { .. } => "CERT_UNTRUSTED",
            Self::IssuerNotCa { .. } => "CERT_ISSUER_NOT_CA",
            Self::IssuerKeyUsage { .. } => "CERT_ISSUER_KEY_USAGE",
            Self::PathLenExceeded { .. } => "CERT_PATH_LEN_EXCEEDED",
            Self::NameConstraintViolation { .. } => "CERT_NAME_CONSTRAINTS",
            Self::ProfileViolation { .. } => "CERT_PROFILE_VIOLATION",
            Self::SignatureInvalid { .. } => "CERT_SIGNATURE_INVALID",
            Self::AlgorithmUnsupported(_) => "ALGORITHM_UNSUPPORTED",
            Self::AlgorithmDisallowed(_) => "ALGORITHM_DISALLOWED",
            Self::KeyTooSmall { .. } => "KEY_TOO_SMALL",
            Self::KeyMalformed(_) => "KEY_MALFORMED",
            Self::ChainTooLong => "CHAIN_TOO_LONG",
            Self::ChainTooComplex => "CHAIN_TOO_COMPLEX",
            Self::Revoked { .. } => "CERT_REVOKED",
            Self::CrlMalformed(_) => "CRL_MALFORMED",
            Self::CrlSignatureInvalid { .. } => "CRL_SIGNATURE_INVALID",
            Self::CrlExpired { .. } => "CRL_EXPIRED",
            Self::CrlNotYetValid { .. } => "CRL_NOT_YET_VALID",
            Self::CrlIssuerNotAuthorized { .. } => "CRL_ISSUER_NOT_AUTHORIZED",
            Self::CrlUnsupported(_) => "CRL_UNSUPPORTED",
            Self::CrlIssuerMismatch { .. } => "CRL_ISSUER_MISMATCH",
            Self::CertPolicyRefused { .. } => "CERT_POLICY_REFUSED",
            Self::RevocationUnknown { .. } => "REVOCATION_UNKNOWN",
            Self::OcspMalformed(_) => "OCSP_MALFORMED",
            Self::OcspNotSuccessful(_) => "OCSP_NOT_SUCCESSFUL",
            Self::OcspUnsupported(_) => "OCSP_UNSUPPORTED",
            Self::OcspSignatureInvalid { .. } => "OCSP_SIGNATURE_INVALID",
            Self::OcspResponderNotAuthorized(_) => "OCSP_RESPONDER_NOT_AUTHORIZED",
            Self::OcspCertIdMismatch { .. } => "OCSP_CERT_ID_MISMATCH",
            Self::OcspNonceMismatch => "OCSP_NONCE_MISMATCH",
            Self::OcspNotYetValid { .. } => "OCSP_NOT_YET_VALID",
            Self::OcspStale { .. } => "OCSP_STALE",
            Self::OcspCertUnknown { .. } => "OCSP_CERT_UNKNOWN",
            Self::OcspResponderUnreachable(_) => "OCSP_RESPONDER_UNREACHABLE",
            Self::CrlUnreachable(_) => "CRL_UNREACHABLE",
        }
    }
}
