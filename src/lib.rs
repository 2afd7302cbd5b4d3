//! hoviat (هویت, "identity"): read Iran's smart national ID card and verify its holder.
//!
//! Map of the crate (protocol logic is pure; time, randomness and trust anchors are arguments):
//! - [`apdu`]: command and response APDUs, status words, BER-TLV (bytes only).
//! - [`card`]: the async `Transport` trait, the exchange (61xx/6Cxx/chaining), card profiles
//!   (Iranian national card, PIV).
//! - [`error`]: the [`error::Coded`] trait: every layer's error has a stable machine code.
//! - [`time`]: validation time as [`time::UnixTime`], RFC 3339.
//! - [`pki`]: certificates, names, algorithms and signature checks, path validation, CRLs.
//! - [`cms`]: CMS (PKCS#7) SignedData signature verification.
//! - [`token`]: the `web-eid:1.0` token: parse with limits, verify, assemble; challenge nonces.
//! - [`identity`]: the national code, and the holder identity read from a certificate.
//! - [`record`]: the sealed identity record (SD-JWT VC) that replaces the photocopy: levels
//!   computed from evidence, provenance per attribute, purposes, selective disclosure.
//! - [`reader`]: direct readers, bytes in and bytes out: CCID, T=1, GemPC Twin serial framing,
//!   PN532 HSU.
//!
//! No I/O, no environment, no clock, no network: everything with I/O is a workspace member that
//! depends on this crate (ARCHITECTURE.md): `hoviat-pcsc` (PC/SC transport), `hoviat-rp` (the
//! relying-party kit, all HTTP fetching), `hoviat-wasm` (the JavaScript facade), `hoviat-cli`
//! (`hoviat`, `hoviat-host`), `hoviat-archive`, and `hoviat-testkit` (test equipment).
#![deny(missing_docs)]

/// An error's detail text: `format!` with the `messages` feature; without it an empty `String`
/// (the arguments are type-checked but never formatted, so the lite wasm links neither the
/// formatting nor the text). A fixed text is written `detail!("...")` too.
#[cfg(feature = "messages")]
macro_rules! detail {
    ($($t:tt)*) => {
        ::std::fmt::format(format_args!($($t)*))
    };
}
#[cfg(not(feature = "messages"))]
macro_rules! detail {
    ($($t:tt)*) => {{
        if false {
            let _ = ::std::fmt::format(format_args!($($t)*));
        }
        String::new()
    }};
}

pub mod apdu;
pub mod card;
pub mod cms;
pub mod codes;
pub mod error;
pub mod identity;
pub mod pki;
pub mod reader;
pub mod record;
pub mod time;
pub mod token;

// The test kit's DER writer, for unit tests that build inputs byte by byte (the test kit itself
// depends on this crate, so it cannot be a dev-dependency of the unit tests).
#[cfg(test)]
extern crate self as hoviat;
#[cfg(test)]
#[allow(dead_code, missing_docs)]
#[path = "../crates/testkit/src/der.rs"]
pub(crate) mod test_der;

pub use error::Coded;
