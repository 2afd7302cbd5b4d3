//! NXP PN532 over HSU (UART), host side: frames, ACK/NACK, and the commands of a contactless
//! APDU bridge.
//!
//! Normal frame `00 00 FF LEN LCS TFI PD… DCS 00` (LCS = -LEN, DCS = -(TFI + ΣPD)); extended
//! frame `00 00 FF FF FF LENm LENl LCS TFI PD… DCS 00` (LCS = -(LENm + LENl)); ACK
//! `00 00 FF 00 FF 00`; NACK `00 00 FF FF 00 00`; the chip's error frame
//! `00 00 FF 01 FF 7F 81 00`. TFI is D4 host → chip, D5 chip → host. Every command is ACKed
//! before its answer. A sleeping chip needs a long `55 55 00 00 …` preamble first.

use super::{ReaderError, Step};

/// ACK frame.
pub const ACK: [u8; 6] = [0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00];
/// NACK frame.
pub const NACK: [u8; 6] = [0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00];
/// Application-level error frame from the chip.
pub const ERROR_FRAME: [u8; 8] = [0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00];
/// Host-to-chip frame identifier.
pub const TFI_HOST: u8 = 0xD4;
/// Chip-to-host frame identifier.
pub const TFI_CHIP: u8 = 0xD5;
/// Largest data field of a frame (TFI + PD) the chip handles (UM0701: 265).
pub const MAX_FRAME_DATA: usize = 265;
/// Largest InDataExchange data per frame.
pub const MAX_EXCHANGE_DATA: usize = 262;

/// Command codes.
pub mod cmd {
    /// Diagnose.
    pub const DIAGNOSE: u8 = 0x00;
    /// GetFirmwareVersion.
    pub const GET_FIRMWARE_VERSION: u8 = 0x02;
    /// SAMConfiguration.
    pub const SAM_CONFIGURATION: u8 = 0x14;
    /// InListPassiveTarget.
    pub const IN_LIST_PASSIVE_TARGET: u8 = 0x4A;
    /// InDataExchange.
    pub const IN_DATA_EXCHANGE: u8 = 0x40;
    /// InRelease.
    pub const IN_RELEASE: u8 = 0x52;
}

/// Frames `tfi || data` (normal or extended as the length needs).
pub fn frame(tfi: u8, data: &[u8]) -> Result<Vec<u8>, ReaderError> {
    let n = data.len() + 1;
    if n > 0xFFFF {
        return Err(ReaderError::TooLong(n));
    }
    let mut f = vec![0x00, 0x00, 0xFF];
    if n <= 0xFF {
        let l = u8::try_from(n).map_err(|_| ReaderError::TooLong(n))?;
        f.extend_from_slice(&[l, l.wrapping_neg()]);
    } else {
        let [hi, lo] = u16::try_from(n).map_err(|_| ReaderError::TooLong(n))?.to_be_bytes();
        f.extend_from_slice(&[0xFF, 0xFF, hi, lo, hi.wrapping_add(lo).wrapping_neg()]);
    }
    f.push(tfi);
    f.extend_from_slice(data);
    let sum = data.iter().fold(tfi, |a, b| a.wrapping_add(*b));
    f.extend_from_slice(&[sum.wrapping_neg(), 0x00]);
    Ok(f)
}

/// The wake-up preamble a sleeping PN532 needs on HSU before its first command.
pub fn wakeup() -> Vec<u8> {
    let mut v = vec![0x55, 0x55];
    v.resize(16, 0x00);
    v
}

/// One frame, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// ACK.
    Ack,
    /// NACK (resend the last frame).
    Nack,
    /// The chip's application-level error frame.
    Error,
    /// An information frame: TFI and data.
    Info {
        /// TFI.
        tfi: u8,
        /// PD0… (for the chip: the answer code, then its data).
        data: Vec<u8>,
    },
    /// A frame whose length or data checksum is wrong.
    Corrupt,
}

/// Re-frames a byte stream (the port splits frames arbitrarily; preambles and idle zeros are
/// skipped).
#[derive(Clone, Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

impl Deframer {
    /// Takes bytes; returns the frames they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Frame>, ReaderError> {
        if self.buf.len() + bytes.len() > 2 * (0xFFFF + 16) {
            return Err(ReaderError::TooLong(self.buf.len() + bytes.len()));
        }
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            // Find the start code 00 FF.
            let Some(start) = self.buf.windows(2).position(|w| w == [0x00, 0xFF]) else {
                // Keep a trailing 00 that may begin a start code.
                let keep = usize::from(self.buf.last() == Some(&0));
                let n = self.buf.len() - keep;
                self.buf.drain(..n);
                break;
            };
            let b = &self.buf[start + 2..];
            let (consumed, frame) = match b {
                [0x00, 0xFF, ..] => (2, Some(Frame::Ack)),
                [0xFF, 0x00, ..] => (2, Some(Frame::Nack)),
                [0x01, 0xFF, 0x7F, 0x81, ..] => (4, Some(Frame::Error)),
                [0xFF, 0xFF, hi, lo, lcs, rest @ ..] => {
                    let n = usize::from(u16::from_be_bytes([*hi, *lo]));
                    if hi.wrapping_add(*lo).wrapping_add(*lcs) != 0 || n == 0 {
                        (5, Some(Frame::Corrupt))
                    } else if rest.len() < n + 1 {
                        (0, None)
                    } else {
                        (5 + n + 1, Some(Self::info(&rest[..n], rest[n])))
                    }
                }
                [len, lcs, rest @ ..] if *len != 0xFF => {
                    let n = usize::from(*len);
                    if len.wrapping_add(*lcs) != 0 || n == 0 {
                        (2, Some(Frame::Corrupt))
                    } else if rest.len() < n + 1 {
                        (0, None)
                    } else {
                        (2 + n + 1, Some(Self::info(&rest[..n], rest[n])))
                    }
                }
                _ => (0, None),
            };
            match frame {
                Some(f) => {
                    self.buf.drain(..start + 2 + consumed);
                    out.push(f);
                }
                None => {
                    self.buf.drain(..start);
                    break;
                }
            }
        }
        Ok(out)
    }

    fn info(body: &[u8], dcs: u8) -> Frame {
        let sum = body.iter().fold(dcs, |a, b| a.wrapping_add(*b));
        if sum != 0 {
            return Frame::Corrupt;
        }
        Frame::Info {
            tfi: body[0],
            data: body[1..].to_vec(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    Idle,
    Ack(u8),
    Answer(u8),
    /// After an abort: GetFirmwareVersion sent, its answer confirms that the chip is ready.
    Resync,
}

/// Stale frames (late ACKs and answers of an aborted command, error frames) a
/// resynchronisation skips before giving up.
pub const MAX_STALE: u8 = 8;

/// The host side of one PN532: sends a command, expects its ACK, then its answer; resends on
/// NACK; NACKs a corrupt answer (the chip then sends it again).
#[derive(Clone, Debug)]
pub struct Host {
    de: Deframer,
    wait: Wait,
    last: Vec<u8>,
    retries: u8,
    stale: u8,
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

/// Resends (NACKs either way) allowed for one command.
pub const MAX_RETRIES: u8 = 3;

impl Host {
    /// A host for a chip that was already woken up.
    pub fn new() -> Self {
        Self {
            de: Deframer::default(),
            wait: Wait::Idle,
            last: Vec::new(),
            retries: 0,
            stale: 0,
        }
    }

    /// Abandons the command in progress (cancelled, timed out): an ACK frame, which makes the
    /// chip abort it (PN532 user manual, 6.2.1.3), then GetFirmwareVersion, whose answer says
    /// the chip listens again. Until that answer, ACKs, error frames, corrupt frames and other
    /// answers (the aborted command's, if it was already on its way) are skipped, at most
    /// [`MAX_STALE`]. Ends with `Done(vec![])`.
    pub fn abort(&mut self) -> Result<Vec<u8>, ReaderError> {
        let c = frame(TFI_HOST, &[cmd::GET_FIRMWARE_VERSION])?;
        self.last.clone_from(&c);
        self.wait = Wait::Resync;
        self.retries = 0;
        self.stale = 0;
        Ok([ACK.to_vec(), c].concat())
    }

    /// Frames command `code` with `params`; expect its ACK, then its answer.
    pub fn command(&mut self, code: u8, params: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let mut d = vec![code];
        d.extend_from_slice(params);
        if d.len() + 1 > MAX_FRAME_DATA {
            return Err(ReaderError::TooLong(d.len() + 1));
        }
        self.last = frame(TFI_HOST, &d)?;
        self.wait = Wait::Ack(code);
        self.retries = 0;
        Ok(self.last.clone())
    }

    fn retry(&mut self, send: Vec<u8>, why: &str) -> Result<Step, ReaderError> {
        self.retries += 1;
        if self.retries > MAX_RETRIES {
            self.wait = Wait::Idle;
            return Err(ReaderError::Checksum(format!(
                "PN532: {why} after {MAX_RETRIES} retries"
            )));
        }
        Ok(Step::Send(send))
    }

    /// Takes bytes from the port. `Done` carries the answer's data after the answer code.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Step, ReaderError> {
        let mut step = Step::Wait;
        for f in self.de.feed(bytes)? {
            if let Step::Done(_) = step {
                return Err(ReaderError::Protocol("PN532: frames after the answer".into()));
            }
            step = match (self.wait, f) {
                (Wait::Resync, Frame::Info { tfi: TFI_CHIP, data })
                    if data.first() == Some(&(cmd::GET_FIRMWARE_VERSION + 1)) =>
                {
                    self.wait = Wait::Idle;
                    Step::Done(Vec::new())
                }
                (Wait::Resync, Frame::Nack) => self.retry(self.last.clone(), "NACK")?,
                (Wait::Resync, _) => {
                    self.stale += 1;
                    if self.stale > MAX_STALE {
                        self.wait = Wait::Idle;
                        return Err(ReaderError::Protocol(format!(
                            "PN532: {} stale frames without the answer that confirms the abort",
                            self.stale
                        )));
                    }
                    Step::Wait
                }
                (Wait::Ack(code), Frame::Ack) => {
                    self.wait = Wait::Answer(code);
                    Step::Wait
                }
                (Wait::Ack(_) | Wait::Answer(_), Frame::Nack) => self.retry(self.last.clone(), "NACK")?,
                (Wait::Ack(_) | Wait::Answer(_), Frame::Corrupt) => self.retry(NACK.to_vec(), "corrupt frame")?,
                (Wait::Answer(code), Frame::Info { tfi, data }) => {
                    if tfi != TFI_CHIP || data.first() != Some(&code.wrapping_add(1)) {
                        return Err(ReaderError::Protocol(format!(
                            "PN532 answer {tfi:02X} {:02X?} to command {code:02X}",
                            data.first()
                        )));
                    }
                    self.wait = Wait::Idle;
                    Step::Done(data[1..].to_vec())
                }
                (Wait::Answer(code), Frame::Error) => {
                    self.wait = Wait::Idle;
                    return Err(ReaderError::Failed {
                        during: "PN532 command (error frame)",
                        error: code,
                    });
                }
                (w, f) => return Err(ReaderError::Protocol(format!("PN532 {f:?} while waiting for {w:?}"))),
            };
        }
        Ok(step)
    }
}

/// SAMConfiguration: normal mode, 1 s virtual-card timeout, IRQ used.
pub const SAM_NORMAL: [u8; 3] = [0x01, 0x14, 0x01];

/// An ISO 14443-A target as InListPassiveTarget reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetA {
    /// Logical target number for InDataExchange.
    pub tg: u8,
    /// ATQA (SENS_RES), as sent.
    pub atqa: [u8; 2],
    /// SAK (SEL_RES).
    pub sak: u8,
    /// UID (NFCID1).
    pub uid: Vec<u8>,
    /// ATS (from TL on), when the target is ISO 14443-4.
    pub ats: Vec<u8>,
}

/// Parameters of InListPassiveTarget for one type-A target at 106 kbps.
pub const LIST_ONE_TYPE_A: [u8; 2] = [0x01, 0x00];

/// Parses the answer data of InListPassiveTarget (type A). `Ok(None)`: no target in the field.
pub fn parse_target_a(d: &[u8]) -> Result<Option<TargetA>, ReaderError> {
    let bad = || ReaderError::Protocol(format!("InListPassiveTarget answer {d:02X?}"));
    match d.first() {
        Some(0) => return Ok(None),
        Some(1 | 2) => {}
        _ => return Err(bad()),
    }
    let [_, tg, a0, a1, sak, n, rest @ ..] = d else {
        return Err(bad());
    };
    let n = usize::from(*n);
    if !matches!(n, 4 | 7 | 10) || rest.len() < n {
        return Err(bad());
    }
    let uid = rest[..n].to_vec();
    let ats = match &rest[n..] {
        [] => Vec::new(),
        [tl, ..] if usize::from(*tl) >= 1 && rest.len() >= n + usize::from(*tl) => {
            rest[n..n + usize::from(*tl)].to_vec()
        }
        _ => return Err(bad()),
    };
    Ok(Some(TargetA {
        tg: *tg,
        atqa: [*a0, *a1],
        sak: *sak,
        uid,
        ats,
    }))
}

/// Maps an InDataExchange status byte (bits 0-5) to an error. In the contactless field a card
/// that stops answering has, in practice, left the field: time-out and "target released" are
/// `CARD_REMOVED`.
pub fn exchange_error(status: u8) -> Option<ReaderError> {
    match status & 0x3F {
        0x00 => None,
        0x01 | 0x29 | 0x2A => Some(ReaderError::CardRemoved),
        0x02 | 0x03 | 0x05 | 0x13 => Some(ReaderError::Checksum(format!(
            "PN532 RF status 0x{:02X}",
            status & 0x3F
        ))),
        e => Some(ReaderError::Failed {
            during: "PN532 InDataExchange",
            error: e,
        }),
    }
}

/// One APDU through InDataExchange: a long command goes in pieces with the MI bit (0x40) set
/// on the target byte; while an answer's status has MI set, an empty InDataExchange fetches
/// the rest.
#[derive(Debug)]
pub struct Exchange {
    tg: u8,
    rest: Vec<u8>,
    response: Vec<u8>,
    sending: bool,
}

impl Exchange {
    /// Starts sending `apdu` to target `tg`; returns the first command frame.
    pub fn start(host: &mut Host, tg: u8, apdu: &[u8]) -> Result<(Self, Vec<u8>), ReaderError> {
        if apdu.len() > super::MAX_APDU {
            return Err(ReaderError::TooLong(apdu.len()));
        }
        let mut x = Self {
            tg,
            rest: apdu.to_vec(),
            response: Vec::new(),
            sending: true,
        };
        let first = x.next(host)?;
        Ok((x, first))
    }

    fn next(&mut self, host: &mut Host) -> Result<Vec<u8>, ReaderError> {
        let n = MAX_EXCHANGE_DATA.min(self.rest.len());
        let part: Vec<u8> = self.rest.drain(..n).collect();
        let more = !self.rest.is_empty();
        self.sending = more;
        let mut p = vec![self.tg | if more { 0x40 } else { 0 }];
        p.extend_from_slice(&part);
        host.command(cmd::IN_DATA_EXCHANGE, &p)
    }

    /// Takes bytes from the port.
    pub fn feed(&mut self, host: &mut Host, bytes: &[u8]) -> Result<Step, ReaderError> {
        let data = match host.feed(bytes)? {
            Step::Done(d) => d,
            other => return Ok(other),
        };
        let (&status, data) = data
            .split_first()
            .ok_or_else(|| ReaderError::Protocol("InDataExchange answer without status".into()))?;
        if let Some(e) = exchange_error(status) {
            return Err(e);
        }
        if self.sending {
            return Ok(Step::Send(self.next(host)?));
        }
        if self.response.len() + data.len() > super::MAX_APDU {
            return Err(ReaderError::TooLong(self.response.len() + data.len()));
        }
        self.response.extend_from_slice(data);
        if status & 0x40 != 0 {
            return Ok(Step::Send(host.command(cmd::IN_DATA_EXCHANGE, &[self.tg])?));
        }
        Ok(Step::Done(std::mem::take(&mut self.response)))
    }
}

/// The ATR PC/SC reports for a contactless ISO 14443-4 type-A card (PC/SC part 3): `3B 8n 80 01`,
/// the ATS's historical bytes, TCK. With it the card profiles detect a card the same way
/// over contact and contactless.
pub fn atr_from_ats(ats: &[u8]) -> Vec<u8> {
    // ATS: TL T0 [TA] [TB] [TC] historical...
    let hist: &[u8] = match ats {
        [_, t0, rest @ ..] => {
            let skip = [0x10, 0x20, 0x40].iter().filter(|b| t0 & **b != 0).count();
            rest.get(skip..).unwrap_or(&[])
        }
        _ => &[],
    };
    let hist = &hist[..hist.len().min(15)];
    let mut atr = vec![0x3B, 0x80 | u8::try_from(hist.len()).unwrap_or(0), 0x80, 0x01];
    atr.extend_from_slice(hist);
    let tck = atr[1..].iter().fold(0, |a, b| a ^ b);
    atr.push(tck);
    atr
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BridgePhase {
    Sam,
    List,
    Ready,
    Apdu,
    Resync,
}

/// One sans-I/O session with a PN532 on a serial port: wake-up and SAMConfiguration, one
/// type-A target listed (`Done(atr)`, the ATR from its ATS), then APDUs through
/// InDataExchange. What a Web Serial contactless transport wraps.
#[derive(Debug)]
pub struct Bridge {
    host: Host,
    phase: BridgePhase,
    target: Option<TargetA>,
    exchange: Option<Exchange>,
}

impl Default for Bridge {
    fn default() -> Self {
        Self::new()
    }
}

impl Bridge {
    /// A bridge; call [`Bridge::start`] first.
    pub fn new() -> Self {
        Self {
            host: Host::new(),
            phase: BridgePhase::Sam,
            target: None,
            exchange: None,
        }
    }

    /// The wake-up preamble and SAMConfiguration.
    pub fn start(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.phase = BridgePhase::Sam;
        let c = self.host.command(cmd::SAM_CONFIGURATION, &SAM_NORMAL)?;
        Ok([wakeup(), c].concat())
    }

    /// The target found (after `Done(atr)`).
    pub fn target(&self) -> Option<&TargetA> {
        self.target.as_ref()
    }

    /// Sends one APDU; the exchange ends with `Done(response)`.
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let tg = match (&self.target, self.phase) {
            (Some(t), BridgePhase::Ready) => t.tg,
            _ => return Err(ReaderError::Protocol("transmit before a card is listed".into())),
        };
        let (x, first) = Exchange::start(&mut self.host, tg, apdu)?;
        self.exchange = Some(x);
        self.phase = BridgePhase::Apdu;
        Ok(first)
    }

    /// Abandons the exchange in progress (the caller cancelled it or it timed out): see
    /// [`Host::abort`]. Ends with `Done(vec![])`; then [`Bridge::transmit`] works again with the
    /// same target. A failure here is final (the caller applies its own time-out).
    pub fn abort(&mut self) -> Result<Vec<u8>, ReaderError> {
        if self.target.is_none() {
            return Err(ReaderError::Protocol("nothing to abort before a card is listed".into()));
        }
        self.exchange = None;
        self.phase = BridgePhase::Resync;
        self.host.abort()
    }

    /// Takes bytes read from the port. No card in the field: `NO_CARD` (list again later).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Step, ReaderError> {
        if self.phase == BridgePhase::Apdu {
            let x = self
                .exchange
                .as_mut()
                .ok_or_else(|| ReaderError::Protocol("no exchange".into()))?;
            let step = x.feed(&mut self.host, bytes);
            if !matches!(step, Ok(Step::Send(_) | Step::Wait)) {
                self.phase = BridgePhase::Ready;
                self.exchange = None;
            }
            return step;
        }
        let data = match self.host.feed(bytes)? {
            Step::Done(d) => d,
            other => return Ok(other),
        };
        match self.phase {
            BridgePhase::Resync => {
                self.phase = BridgePhase::Ready;
                Ok(Step::Done(Vec::new()))
            }
            BridgePhase::Sam => {
                self.phase = BridgePhase::List;
                Ok(Step::Send(
                    self.host.command(cmd::IN_LIST_PASSIVE_TARGET, &LIST_ONE_TYPE_A)?,
                ))
            }
            BridgePhase::List => {
                let t = parse_target_a(&data)?.ok_or(ReaderError::NoCard)?;
                if t.sak & 0x20 == 0 || t.ats.is_empty() {
                    return Err(ReaderError::Unsupported(
                        "the card in the field is not ISO 14443-4".into(),
                    ));
                }
                let atr = atr_from_ats(&t.ats);
                self.target = Some(t);
                self.phase = BridgePhase::Ready;
                Ok(Step::Done(atr))
            }
            BridgePhase::Ready | BridgePhase::Apdu => Err(ReaderError::Protocol("an answer with no command".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_is_an_ack_then_get_firmware_version_and_skips_stale_frames() {
        let mut h = Host::new();
        h.command(cmd::IN_DATA_EXCHANGE, &[1, 0x00, 0xA4]).unwrap();
        assert_eq!(h.feed(&ACK).unwrap(), Step::Wait);
        let a = h.abort().unwrap();
        assert_eq!(a, [0, 0, 0xFF, 0, 0xFF, 0, 0, 0, 0xFF, 2, 0xFE, 0xD4, 2, 0x2A, 0]);
        // The late answer of the aborted command and the ACK of ours are skipped.
        let late = frame(TFI_CHIP, &[0x41, 0x00, 0x90, 0x00]).unwrap();
        assert_eq!(h.feed(&[late, ACK.to_vec()].concat()).unwrap(), Step::Wait);
        let fw = frame(TFI_CHIP, &[0x03, 0x32, 0x01, 0x06, 0x07]).unwrap();
        assert_eq!(h.feed(&fw).unwrap(), Step::Done(Vec::new()));
    }
}
