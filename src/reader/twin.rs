//! The GemPC Twin serial framing of CCID messages, host side, as libccid's serial driver
//! (`libccidtwin.so`) speaks it: a frame is `03 06 <CCID message> LRC` (LRC = XOR of every
//! byte before it); `03 15 16` is a NAK (resend your last frame). The reader first echoes each
//! host frame byte for byte (GemPCTwin and GemPCPinPad; the multi-slot models do not), then
//! answers. Between frames it may send `50 02` (card removed) or `50 03` (card inserted).

use super::ReaderError;
use super::ccid::{HEADER, MAX_MESSAGE};
use super::t1::lrc;

/// Frame start.
pub const SYNC: u8 = 0x03;
/// "A CCID message follows".
pub const ACK: u8 = 0x06;
/// NAK control byte.
pub const NAK_BYTE: u8 = 0x15;
/// The whole NAK frame.
pub const NAK: [u8; 3] = [SYNC, NAK_BYTE, SYNC ^ NAK_BYTE];
/// Card-movement notice lead byte (RDR_to_PC_NotifySlotChange).
pub const NOTIFY: u8 = 0x50;
/// Resends allowed for one frame (each NAK either way counts).
pub const MAX_NAKS: u8 = 3;

/// Frames a CCID message.
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(msg.len() + 3);
    f.extend_from_slice(&[SYNC, ACK]);
    f.extend_from_slice(msg);
    f.push(lrc(&f));
    f
}

/// Something the host must act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole CCID message from the reader (LRC checked).
    Message(Vec<u8>),
    /// Write these bytes (our last frame again, after the reader's NAK; or our NAK after a
    /// frame with a bad LRC).
    Send(Vec<u8>),
    /// The reader noticed a card insertion (`true`) or removal.
    CardMoved(bool),
}

/// The host side of the serial link: frames outgoing messages, drops the echo, re-frames the
/// reader's bytes however the port splits them, checks LRCs and handles NAKs.
#[derive(Clone, Debug)]
pub struct Host {
    echo: bool,
    pending_echo: Vec<u8>,
    last: Vec<u8>,
    buf: Vec<u8>,
    naks: u8,
    /// Resynchronising after an abandoned command (see [`Host::begin_resync`]).
    lenient: bool,
    /// In lenient mode, the frames written whose echo has not come back yet.
    echo_frames: std::collections::VecDeque<Vec<u8>>,
    /// Bytes skipped in lenient mode.
    skipped: usize,
}

/// Bytes a resynchronisation may skip (stale echoes, pieces of frames) before giving up.
pub const MAX_RESYNC_SKIP: usize = 2 * MAX_MESSAGE;

impl Host {
    /// `echo`: whether the reader echoes host frames (true for GemPCTwin).
    pub fn new(echo: bool) -> Self {
        Self {
            echo,
            pending_echo: Vec::new(),
            last: Vec::new(),
            buf: Vec::new(),
            naks: 0,
            lenient: false,
            echo_frames: std::collections::VecDeque::new(),
            skipped: 0,
        }
    }

    /// Enters lenient mode after the host abandoned a command (cancelled, timed out): what
    /// the reader still sends for it (the rest of an echo, a late answer, time extensions)
    /// may come before or between the echoes of what the host writes next. In this mode
    /// echoes are matched as whole frames, bytes that start no frame are skipped (at most
    /// [`MAX_RESYNC_SKIP`]), and every whole message is delivered: the caller discards the
    /// stale ones by `bSeq` ([`super::ccid::is_stale`]). [`Host::end_resync`] returns to
    /// the strict mode once the reader confirmed.
    pub fn begin_resync(&mut self) {
        self.lenient = true;
        self.pending_echo.clear();
        self.echo_frames.clear();
        self.skipped = 0;
    }

    /// Back to the strict mode (the reader confirmed the abort; nothing stale is left).
    pub fn end_resync(&mut self) {
        self.lenient = false;
        self.pending_echo = self.echo_frames.drain(..).flatten().collect();
    }

    fn skip(&mut self, n: usize) -> Result<(), ReaderError> {
        self.buf.drain(..n.min(self.buf.len()));
        self.skipped += n;
        if self.skipped > MAX_RESYNC_SKIP {
            return Err(ReaderError::Protocol(format!(
                "serial reader: {} stray bytes while resynchronising",
                self.skipped
            )));
        }
        Ok(())
    }

    /// [`Host::feed`] in lenient mode.
    fn feed_lenient(&mut self, bytes: &[u8]) -> Result<Vec<Event>, ReaderError> {
        if self.buf.len() + bytes.len() > 2 * (MAX_MESSAGE + 3) {
            return Err(ReaderError::TooLong(self.buf.len() + bytes.len()));
        }
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            match self.buf.as_slice() {
                [] | [NOTIFY] | [SYNC] | [SYNC, NAK_BYTE] => break,
                [NOTIFY, x, ..] if matches!(*x, 0x02 | 0x03) => {
                    let present = *x == 0x03;
                    self.buf.drain(..2);
                    out.push(Event::CardMoved(present));
                }
                [SYNC, NAK_BYTE, l, ..] if *l == SYNC ^ NAK_BYTE => {
                    self.buf.drain(..3);
                    if self.echo_frames.front().is_some_and(|f| f[..] == NAK) {
                        self.echo_frames.pop_front();
                        continue;
                    }
                    out.push(self.resend_after_nak()?);
                }
                [SYNC, ACK, rest @ ..] => {
                    let Some(len) = super::ccid::message_len(rest) else {
                        break;
                    };
                    if !(HEADER..=MAX_MESSAGE).contains(&len) {
                        self.skip(1)?;
                        continue;
                    }
                    if rest.len() < len + 1 {
                        break;
                    }
                    let f: Vec<u8> = self.buf[..2 + len + 1].to_vec();
                    if self.echo_frames.front().is_some_and(|e| *e == f) {
                        self.buf.drain(..f.len());
                        self.echo_frames.pop_front();
                        continue;
                    }
                    if lrc(&f) != 0 {
                        // Not a frame after all (a piece of one, then other bytes): move on.
                        self.skip(1)?;
                        continue;
                    }
                    self.buf.drain(..f.len());
                    out.push(Event::Message(f[2..2 + len].to_vec()));
                }
                _ => self.skip(1)?,
            }
        }
        Ok(out)
    }

    /// Frames `msg` for writing and remembers it for a resend.
    pub fn send(&mut self, msg: &[u8]) -> Vec<u8> {
        self.last = frame(msg);
        self.naks = 0;
        if !self.lenient {
            self.buf.clear();
        }
        self.wrote(self.last.clone())
    }

    fn wrote(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        if self.echo && self.lenient {
            if self.echo_frames.len() >= 16 {
                self.echo_frames.pop_front();
            }
            self.echo_frames.push_back(bytes.clone());
        } else if self.echo {
            self.pending_echo.extend_from_slice(&bytes);
        }
        bytes
    }

    /// The reader refused our last frame (NAK): send it again, at most MAX_NAKS times.
    fn resend_after_nak(&mut self) -> Result<Event, ReaderError> {
        self.naks += 1;
        if self.naks > MAX_NAKS {
            return Err(ReaderError::Checksum(format!(
                "the serial reader refused our frame {MAX_NAKS} times"
            )));
        }
        let again = self.last.clone();
        Ok(Event::Send(self.wrote(again)))
    }

    fn nak(&mut self, why: &str) -> Result<Event, ReaderError> {
        self.naks += 1;
        if self.naks > MAX_NAKS {
            return Err(ReaderError::Checksum(format!(
                "serial reader: {why} after {MAX_NAKS} resends"
            )));
        }
        Ok(Event::Send(self.wrote(NAK.to_vec())))
    }

    /// Takes bytes read from the port; returns what they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, ReaderError> {
        if self.lenient {
            return self.feed_lenient(bytes);
        }
        let mut out = Vec::new();
        let mut bytes = bytes;
        while !self.pending_echo.is_empty() && !bytes.is_empty() {
            if bytes[0] != self.pending_echo[0] {
                return Err(ReaderError::Protocol(format!(
                    "serial reader echoed 0x{:02X} for 0x{:02X}",
                    bytes[0], self.pending_echo[0]
                )));
            }
            self.pending_echo.remove(0);
            bytes = &bytes[1..];
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.buf.as_slice() {
                [] => break,
                [NOTIFY] => break,
                [NOTIFY, x, ..] => {
                    let present = match *x {
                        0x02 => false,
                        0x03 => true,
                        other => return Err(ReaderError::Protocol(format!("slot notice 50 {other:02X}"))),
                    };
                    self.buf.drain(..2);
                    out.push(Event::CardMoved(present));
                }
                [SYNC] => break,
                [SYNC, NAK_BYTE] => break,
                [SYNC, NAK_BYTE, l, ..] => {
                    if *l != SYNC ^ NAK_BYTE {
                        return Err(ReaderError::Protocol("a NAK with a bad LRC".into()));
                    }
                    self.buf.drain(..3);
                    out.push(self.resend_after_nak()?);
                }
                [SYNC, ACK, rest @ ..] => {
                    let Some(len) = super::ccid::message_len(rest) else {
                        break;
                    };
                    if len > MAX_MESSAGE {
                        return Err(ReaderError::TooLong(len));
                    }
                    if rest.len() < len + 1 {
                        break;
                    }
                    let f: Vec<u8> = self.buf.drain(..2 + len + 1).collect();
                    if lrc(&f) != 0 {
                        self.buf.clear();
                        out.push(self.nak("bad LRC")?);
                        continue;
                    }
                    debug_assert!(len >= HEADER);
                    out.push(Event::Message(f[2..2 + len].to_vec()));
                }
                [SYNC, other, ..] => {
                    return Err(ReaderError::Protocol(format!(
                        "serial frame control byte 0x{other:02X}"
                    )));
                }
                [other, ..] => return Err(ReaderError::Protocol(format!("serial frame starts with 0x{other:02X}"))),
            }
        }
        Ok(out)
    }
}
