use std::fmt;

use crate::apdu::StatusWord;

/// Transport failures (reader service, reader, card presence, time-outs). Defined here, next
/// to the [`super::Transport`] trait, so that `card` never depends on `transport`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The reader service (pcscd, the Windows smart card service) is not running or refused.
    ServiceUnavailable(String),
    /// No reader is connected.
    NoReader,
    /// The named reader does not exist.
    ReaderNotFound(String),
    /// The reader has no card.
    NoCard,
    /// The card was removed (or reset by someone else) during the operation.
    CardRemoved,
    /// The card or reader did not answer in time.
    Timeout,
    /// Another failure of the link.
    Io(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServiceUnavailable(d) => write!(f, "the smart card service is not available: {d}"),
            Self::NoReader => f.write_str("no card reader is connected"),
            Self::ReaderNotFound(r) => write!(f, "no reader named {r:?}"),
            Self::NoCard => f.write_str("there is no card in the reader"),
            Self::CardRemoved => f.write_str("the card was removed during the operation"),
            Self::Timeout => f.write_str("the card did not answer in time"),
            Self::Io(d) => write!(f, "reader communication failed: {d}"),
        }
    }
}

impl std::error::Error for TransportError {}

impl crate::error::Coded for TransportError {
    fn code(&self) -> &'static str {
        match self {
            Self::ServiceUnavailable(_) => "READER_SERVICE_UNAVAILABLE",
            Self::NoReader => "NO_READER",
            Self::ReaderNotFound(_) => "READER_NOT_FOUND",
            Self::NoCard => "NO_CARD",
            Self::CardRemoved => "CARD_REMOVED",
            Self::Timeout => "CARD_TIMEOUT",
            Self::Io(_) => "TRANSPORT_ERROR",
        }
    }
    fn is_retryable(&self) -> bool {
        !matches!(self, Self::ReaderNotFound(_))
    }
}

/// Card-level failures.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CardError {
    /// The link failed.
    Transport(TransportError),
    /// No profile recognises the card (ATR and probing SELECTs).
    UnknownCard {
        /// The card's ATR, hex.
        atr: String,
    },
    /// The card answered something that breaks its protocol (garbage, wrong lengths).
    MalformedResponse(String),
    /// The card refused a command with an unexpected status word.
    Status {
        /// What hoviat was doing.
        during: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// Wrong PIN; tries left before it blocks.
    PinWrong {
        /// Tries left.
        tries_left: u8,
    },
    /// The PIN is blocked (needs the PUK from the issuer).
    PinBlocked,
    /// The PIN has the wrong form for this card (digits, length).
    PinFormat(String),
    /// The operation needs the PIN and none was given.
    PinRequired,
    /// The card's private-key operations need a registry secure-messaging session that hoviat
    /// does not have (Iranian national card): only certificate reading and PIN checks work.
    NeedsRegistryService,
    /// The card has no certificate in the expected place.
    CertificateMissing,
    /// The card's key or algorithm is not one hoviat supports.
    Unsupported(String),
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => e.fmt(f),
            Self::UnknownCard { atr } => write!(f, "this card is not supported (ATR {atr})"),
            Self::MalformedResponse(d) => write!(f, "the card answered something unexpected: {d}"),
            Self::Status { during, sw } => write!(f, "the card refused {during} (status {sw})"),
            Self::PinWrong { tries_left } => write!(f, "wrong PIN: {tries_left} tries left before the card blocks it"),
            Self::PinBlocked => f.write_str("the PIN is blocked; only the card's issuer can unblock it"),
            Self::PinFormat(d) => write!(f, "invalid PIN: {d}"),
            Self::PinRequired => f.write_str("this operation needs the PIN"),
            Self::NeedsRegistryService => f.write_str(
                "this card signs only inside a secure-messaging session opened with keys held by the registry's service; \
                 without it hoviat can read and validate the certificate and check the PIN, but cannot obtain a fresh signature",
            ),
            Self::CertificateMissing => f.write_str("the card holds no certificate where one was expected"),
            Self::Unsupported(d) => write!(f, "unsupported card feature: {d}"),
        }
    }
}

impl std::error::Error for CardError {}

impl crate::error::Coded for CardError {
    fn code(&self) -> &'static str {
        match self {
            Self::Transport(e) => e.code(),
            Self::UnknownCard { .. } => "CARD_UNKNOWN",
            Self::MalformedResponse(_) => "CARD_RESPONSE_MALFORMED",
            Self::Status { .. } => "CARD_STATUS_ERROR",
            Self::PinWrong { .. } => "PIN_WRONG",
            Self::PinBlocked => "PIN_BLOCKED",
            Self::PinFormat(_) => "PIN_INVALID_FORMAT",
            Self::PinRequired => "PIN_REQUIRED",
            Self::NeedsRegistryService => "CARD_NEEDS_REGISTRY_SERVICE",
            Self::CertificateMissing => "CARD_CERTIFICATE_MISSING",
            Self::Unsupported(_) => "CARD_UNSUPPORTED",
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_retryable(),
            Self::PinWrong { .. } | Self::PinFormat(_) | Self::PinRequired => true,
            _ => false,
        }
    }
}

impl From<TransportError> for CardError {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}
