//! The parts of hoviat's command line and native host that are shared between the two binaries
//! (`hoviat`, `hoviat-host`): the native-messaging protocol and installer, and the CLI's OCSP fetch (through
//! `hoviat-rp`'s HTTP client).
#![deny(missing_docs)]

pub mod host;
pub mod ocsp_fetch;
