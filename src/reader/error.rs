use std::fmt;

use crate::card::TransportError;

/// Failures of a reader protocol (CCID, T=1, serial framing, PN532). Each has a stable code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderError {
    /// The reader or card broke the protocol: a malformed message or block, a wrong sequence
    /// number, an answer to another command, an unexpected echo.
    Protocol(String),
    /// Checksums (LRC, CRC, frame checksums) kept failing after the allowed retransmissions.
    Checksum(String),
    /// The reader has no card.
    NoCard,
    /// The card was removed during the operation.
    CardRemoved,
    /// The card is mute (no answer to the reader), or the exchange timed out.
    CardMute,
    /// The reader's slot is busy with another command.
    Busy,
    /// The reader reported a failure (`bError`, PN532 status) that has no more precise meaning.
    Failed {
        /// Which layer and command.
        during: &'static str,
        /// The reader's error byte.
        error: u8,
    },
    /// The reader cannot do what is needed (character-level CCID, a message too long for it).
    Unsupported(String),
    /// The input exceeds a size limit.
    TooLong(usize),
}

impl fmt::Display for ReaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(d) => write!(f, "the card reader broke its protocol: {d}"),
            Self::Checksum(d) => write!(f, "the link to the card reader keeps corrupting data: {d}"),
            Self::NoCard => f.write_str("there is no card in the reader"),
            Self::CardRemoved => f.write_str("the card was removed during the operation"),
            Self::CardMute => f.write_str("the card did not answer in time"),
            Self::Busy => f.write_str("the card reader is busy with another command"),
            Self::Failed { during, error } => write!(f, "the card reader reported error 0x{error:02X} during {during}"),
            Self::Unsupported(d) => write!(f, "this card reader is not supported: {d}"),
            Self::TooLong(n) => write!(f, "{n} bytes exceed the reader protocol's limit"),
        }
    }
}

impl std::error::Error for ReaderError {}

impl crate::error::Coded for ReaderError {
    fn code(&self) -> &'static str {
        match self {
            Self::Protocol(_) | Self::TooLong(_) => "READER_PROTOCOL_ERROR",
            Self::Checksum(_) => "READER_CHECKSUM_ERROR",
            Self::NoCard => "NO_CARD",
            Self::CardRemoved => "CARD_REMOVED",
            Self::CardMute => "CARD_TIMEOUT",
            Self::Busy => "READER_BUSY",
            Self::Failed { .. } => "READER_COMMAND_FAILED",
            Self::Unsupported(_) => "READER_UNSUPPORTED",
        }
    }
    fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::NoCard | Self::CardRemoved | Self::CardMute | Self::Busy | Self::Checksum(_)
        )
    }
}

impl From<ReaderError> for TransportError {
    /// For the [`crate::card::Transport`] interface: presence and time-outs keep their codes;
    /// the rest become `TRANSPORT_ERROR` with the reader's message.
    fn from(e: ReaderError) -> Self {
        match e {
            ReaderError::NoCard => Self::NoCard,
            ReaderError::CardRemoved => Self::CardRemoved,
            ReaderError::CardMute => Self::Timeout,
            other => Self::Io(format!("{} ({})", other, crate::error::Coded::code(&other))),
        }
    }
}
