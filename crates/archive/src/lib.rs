//! hoviat's archive of sealed identity records (issue 21): an RFC 6962 transparency log whose
//! leaves are the records' issuer-signed parts, C2SP `tlog-checkpoint` signed notes, inclusion
//! and consistency proofs, personal data in a separate deletable table with keyed (HMAC)
//! look-ups, on SQLite or PostgreSQL.
//!
//! [`log`] is pure (no I/O); [`store`] is the storage; [`cli`] the `archive` commands.

pub mod cli;
pub mod error;
pub mod log;
pub mod pdf;
pub mod print;
pub mod store;
pub mod witness;

pub use error::ArchiveError;
