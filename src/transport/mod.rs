//! Transports: the only I/O. Each implements [`crate::card::Transport`].
//! - [`pcsc`] (feature `pcsc`, native): PC/SC through pcsc-lite, WinSCard or macOS.

#[cfg(feature = "pcsc")]
pub mod pcsc;
