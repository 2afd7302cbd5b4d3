//! The archive's errors, each with a stable code (`hoviat::error::Coded`).

use std::fmt;

/// What went wrong in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The database could not be opened, read or written.
    Db(String),
    /// An input (record, checkpoint, proof file, argument) is malformed.
    Malformed(String),
    /// A record offered for appending does not verify (its seal or chain).
    RecordInvalid(String),
    /// The record is already in the log.
    Duplicate(String),
    /// No such entry.
    NotFound(String),
    /// An entry's content no longer matches what the tree committed to.
    EntryAltered(String),
    /// An entry is missing from the middle of the log.
    EntryDeleted(u64),
    /// Entries were moved to other positions.
    EntriesReordered(Vec<u64>),
    /// The log holds fewer entries than a signed checkpoint covers.
    LogTruncated { rows: u64, size: u64 },
    /// The log's tree does not produce the signed root.
    RootMismatch(String),
    /// A checkpoint does not extend the one before it.
    CheckpointNotExtending(String),
    /// A checkpoint's signature does not verify with the log key (or names another log).
    CheckpointSignatureInvalid(String),
    /// An inclusion or consistency proof does not verify.
    ProofInvalid(String),
    /// Personal data that does not belong to its entry.
    PersonalMismatch(String),
    /// A log key file is unreadable or malformed.
    KeyInvalid(String),
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ArchiveError::*;
        match self {
            Db(d) => write!(f, "archive database error: {d}"),
            Malformed(d) => write!(f, "malformed input: {d}"),
            RecordInvalid(d) => write!(f, "the record does not verify: {d}"),
            Duplicate(d) => write!(f, "the record is already in the log: {d}"),
            NotFound(d) => write!(f, "not found: {d}"),
            EntryAltered(d) => write!(f, "a log entry was altered: {d}"),
            EntryDeleted(i) => write!(f, "log entry {i} was deleted"),
            EntriesReordered(v) => write!(f, "log entries were reordered: {v:?}"),
            LogTruncated { rows, size } => {
                write!(
                    f,
                    "the log was truncated: {rows} entries, but a signed checkpoint covers {size}"
                )
            }
            RootMismatch(d) => write!(f, "the log does not match its signed checkpoint: {d}"),
            CheckpointNotExtending(d) => write!(f, "a checkpoint does not extend the previous one: {d}"),
            CheckpointSignatureInvalid(d) => write!(f, "checkpoint signature invalid: {d}"),
            ProofInvalid(d) => write!(f, "proof invalid: {d}"),
            PersonalMismatch(d) => write!(f, "personal data does not match its entry: {d}"),
            KeyInvalid(d) => write!(f, "log key invalid: {d}"),
        }
    }
}

impl std::error::Error for ArchiveError {}

impl hoviat::error::Coded for ArchiveError {
    fn code(&self) -> &'static str {
        use ArchiveError::*;
        match self {
            Db(_) => "ARCHIVE_DB",
            Malformed(_) => "ARCHIVE_MALFORMED",
            RecordInvalid(_) => "ARCHIVE_RECORD_INVALID",
            Duplicate(_) => "ARCHIVE_DUPLICATE",
            NotFound(_) => "ARCHIVE_NOT_FOUND",
            EntryAltered(_) => "ARCHIVE_ENTRY_ALTERED",
            EntryDeleted(_) => "ARCHIVE_ENTRY_DELETED",
            EntriesReordered(_) => "ARCHIVE_ENTRIES_REORDERED",
            LogTruncated { .. } => "ARCHIVE_LOG_TRUNCATED",
            RootMismatch(_) => "ARCHIVE_ROOT_MISMATCH",
            CheckpointNotExtending(_) => "ARCHIVE_CHECKPOINT_NOT_EXTENDING",
            CheckpointSignatureInvalid(_) => "ARCHIVE_CHECKPOINT_SIGNATURE_INVALID",
            ProofInvalid(_) => "ARCHIVE_PROOF_INVALID",
            PersonalMismatch(_) => "ARCHIVE_PERSONAL_MISMATCH",
            KeyInvalid(_) => "ARCHIVE_KEY_INVALID",
        }
    }
    fn is_retryable(&self) -> bool {
        matches!(self, ArchiveError::Db(_))
    }
}

/// Every code the archive emits (for the code table test).
pub const CODES: &[&str] = &[
    "ARCHIVE_DB",
    "ARCHIVE_MALFORMED",
    "ARCHIVE_RECORD_INVALID",
    "ARCHIVE_DUPLICATE",
    "ARCHIVE_NOT_FOUND",
    "ARCHIVE_ENTRY_ALTERED",
    "ARCHIVE_ENTRY_DELETED",
    "ARCHIVE_ENTRIES_REORDERED",
    "ARCHIVE_LOG_TRUNCATED",
    "ARCHIVE_ROOT_MISMATCH",
    "ARCHIVE_CHECKPOINT_NOT_EXTENDING",
    "ARCHIVE_CHECKPOINT_SIGNATURE_INVALID",
    "ARCHIVE_PROOF_INVALID",
    "ARCHIVE_PERSONAL_MISMATCH",
    "ARCHIVE_KEY_INVALID",
];
