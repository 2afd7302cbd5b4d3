//! Card readers spoken to directly (no PC/SC): pure, sans-I/O protocol machines. Each takes
//! bytes in and gives bytes out; the caller owns the port (Web Serial, WebUSB, a pty) and the
//! clock. Nothing here reads a device, sleeps or looks at the time.
//!
//! - [`ccid`]: the USB CCID message layer (host side): commands, replies, `bSeq` checking,
//!   time extensions, `bError` mapping, the class descriptor found in a raw configuration
//!   descriptor, the exchange level from `dwFeatures`, short and extended APDU exchange.
//! - [`t1`]: ISO 7816-3 T=1 (host side) for TPDU-level readers: I/R/S blocks, chaining both
//!   ways, IFSD negotiation, WTX, retransmission and resynchronisation, LRC or CRC.
//! - [`twin`]: the GemPC Twin serial framing of CCID messages, as libccid's serial driver
//!   (`libccidtwin.so`) speaks it: echo, LRC, NAK and resend, card-movement notices.
//! - [`pn532`]: NXP PN532 HSU framing and the commands a contactless APDU bridge needs
//!   (wake-up, SAMConfiguration, InListPassiveTarget, InDataExchange with chaining), and
//!   [`pn532::Bridge`], the session a Web Serial contactless transport wraps.
//! - [`serial_ccid`]: the three composed into one session (power on, T=1 set-up, APDUs) for
//!   a GemPC Twin-framed serial reader: what a Web Serial transport wraps.
//!
//! Errors: [`ReaderError`], each variant with a stable code.

pub mod ccid;
mod error;
pub mod pn532;
pub mod serial_ccid;
pub mod t1;
pub mod twin;

pub use error::ReaderError;

/// The largest APDU or response any machine here accepts (extended length: 65 535 + header).
pub const MAX_APDU: usize = 65_544;

/// What a protocol machine wants next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Write these bytes to the device, then read.
    Send(Vec<u8>),
    /// Keep reading (the device asked for more time, or acknowledged and will answer).
    Wait,
    /// The exchange is complete: this is its result (a response APDU, an ATR, ...).
    Done(Vec<u8>),
}
