//! hoviat (هویت, "identity"): read Iran's smart national ID card and verify its holder.
//!
//! Map of the crate (protocol logic is pure; time, randomness and trust anchors are arguments):
//! - [`apdu`]: command and response APDUs, status words, BER-TLV (bytes only).
//! - [`card`]: the async `Transport` trait, the exchange (61xx/6Cxx/chaining), card profiles
//!   (Iranian national card, PIV), virtual cards (feature `testkit`).
//! - [`error`]: the [`error::Coded`] trait: every layer's error has a stable machine code.
//! - [`time`]: validation time as [`time::UnixTime`], RFC 3339.
//! - [`pki`]: certificates, names, algorithms and signature checks, path validation, CRLs.
//! - [`cms`]: CMS (PKCS#7) SignedData signature verification.
//! - [`token`]: the `web-eid:1.0` token: parse with limits, verify, assemble; challenge nonces.
//! - [`identity`]: the national code, and the holder identity read from a certificate.
//! - [`record`]: the sealed identity record (SD-JWT VC) that replaces the photocopy: levels
//!   computed from evidence, provenance per attribute, purposes, selective disclosure.
//! - [`host`]: the native-messaging host's protocol (framing, limits, validation) and installer paths.
//! - [`transport`]: the only I/O: PC/SC natively; browser transports in the wasm build.
//! - `wasm` (feature `wasm`, wasm32 only): the JavaScript facade (wasm-bindgen).
//! - `rp` (feature `rp`): the relying-party kit: challenge service, nonce store in Redis
//!   (feature `redis`), trust configuration from files or URLs, structured logs.
//! - [`testkit`] (feature `testkit`): a deterministic test registry (test equipment).
#![deny(missing_docs)]

pub mod apdu;
pub mod card;
pub mod cms;
pub mod codes;
pub mod error;
pub mod host;
pub mod identity;
pub mod pki;
pub mod reader;
pub mod record;
#[cfg(feature = "rp")]
pub mod rp;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod time;
pub mod token;
pub mod transport;
#[cfg(all(feature = "wasm", target_arch = "wasm32"))]
pub mod wasm;

pub use error::Coded;
