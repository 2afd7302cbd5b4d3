//! One sans-I/O session with a GemPC Twin-framed serial CCID reader at TPDU level, composed
//! from [`super::twin`], [`super::ccid`] and [`super::t1`]: what a Web Serial transport wraps.
//! The caller writes every [`Step::Send`] to the port, feeds every byte read back into
//! [`Session::feed`], and applies its own time-outs.
//!
//! Power-on sequence: IccPowerOn (ATR) → SetParameters T=1 (IFSC, BWI/CWI and EDC from the
//! ATR; the card stays at the default Fi/Di, no PPS) → S(IFS request) with IFSD 254. Then each
//! [`Session::transmit`] runs T=1 over XfrBlock. T=0-only cards are refused
//! (`READER_UNSUPPORTED`).
//!
//! A USB reader that declares the short- or extended-APDU exchange level ([`Session::usb`]; most
//! desktop USB readers do) negotiates the protocol itself: after IccPowerOn each APDU goes as
//! it is in XfrBlock ([`ccid::ApduExchange`], chained when longer than the reader's messages).

use super::ccid::{self, Reply, Voltage};
use super::t1::{self, Edc};
use super::twin::{self, Event};
use super::{ReaderError, Step};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    PowerOn,
    SetParameters,
    Ifs,
    Ready,
    Apdu,
    /// PC_to_RDR_Abort with this `bSeq` sent: stale messages are discarded until its SlotStatus.
    Abort(u8),
    /// T=1 S(RESYNCH) after the abort (TPDU level).
    Resynch,
    /// S(IFS) again after the resynchronisation.
    ResyncIfs,
}

/// Stale messages (late answers, time extensions, echoes) a resynchronisation discards before
/// giving up.
pub const MAX_STALE: usize = 32;

/// How to resynchronise with the reader after an abandoned exchange ([`Session::abort`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abort {
    /// USB: first issue the CCID ABORT class request (`bmRequestType` class, interface;
    /// `bRequest` [`ccid::ABORT_REQUEST`]; `wIndex` the interface) with this `wValue`.
    /// `None` on a serial line (no control pipe).
    pub control: Option<u16>,
    /// Then write these bytes (PC_to_RDR_Abort, framed for the serial line), and feed what
    /// the reader sends as usual: the resynchronisation ends with `Done(vec![])`.
    pub send: Vec<u8>,
}

/// T=1 parameters read from an ATR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtrT1 {
    /// IFSC (TA for T=1; default 32).
    pub ifsc: u8,
    /// BWI (high nibble) and CWI (low nibble) (TB for T=1; default 0x4D).
    pub bwi_cwi: u8,
    /// CRC instead of LRC (TC for T=1, bit 0).
    pub crc: bool,
    /// Extra guard time (TC1).
    pub guard: u8,
}

/// Reads the T=1 parameters of an ATR; `None` when the card does not offer T=1.
pub fn atr_t1(atr: &[u8]) -> Option<AtrT1> {
    let (&ts, rest) = atr.split_first()?;
    if ts != 0x3B && ts != 0x3F {
        return None;
    }
    let (&t0, mut rest) = rest.split_first()?;
    let mut y = t0 >> 4;
    let mut p = AtrT1 {
        ifsc: 32,
        bwi_cwi: 0x4D,
        crc: false,
        guard: 0,
    };
    let mut t1 = false;
    let mut level = 1;
    let mut protocol_of_level = 0u8;
    loop {
        let mut take = |present: bool| -> Option<Option<u8>> {
            if !present {
                return Some(None);
            }
            let (&b, r) = rest.split_first()?;
            rest = r;
            Some(Some(b))
        };
        let ta = take(y & 1 != 0)?;
        let tb = take(y & 2 != 0)?;
        let tc = take(y & 4 != 0)?;
        let td = take(y & 8 != 0)?;
        if level == 1 {
            p.guard = tc.unwrap_or(0);
        }
        // Interface bytes after the first TD that names T=1 are T=1's (level >= 3).
        if level >= 3 && protocol_of_level == 1 {
            if let Some(a) = ta
                && (1..=254).contains(&a)
            {
                p.ifsc = a;
            }
            if let Some(b) = tb {
                p.bwi_cwi = b;
            }
            if let Some(c) = tc {
                p.crc = c & 1 != 0;
            }
        }
        let Some(d) = td else { break };
        protocol_of_level = d & 0x0F;
        t1 |= protocol_of_level == 1;
        y = d >> 4;
        level += 1;
        if level > 8 {
            return None;
        }
    }
    t1.then_some(p)
}

/// A session with one card through one CCID reader: GemPC Twin-framed on a serial port, or
/// bare CCID messages on USB bulk endpoints ([`Session::usb`]).
#[derive(Debug)]
pub struct Session {
    serial: Option<twin::Host>,
    usb_in: Vec<u8>,
    ccid: ccid::Host,
    t1: t1::Host,
    phase: Phase,
    atr: Vec<u8>,
    queue: Vec<Vec<u8>>,
    /// The reader's exchange level (TPDU for serial readers).
    level: ccid::ExchangeLevel,
    /// The APDU in flight at APDU level.
    exchange: Option<ccid::ApduExchange>,
    /// Stale messages discarded during this resynchronisation.
    stale: usize,
}

impl Session {
    /// `echo`: the reader echoes host frames (GemPCTwin: true).
    pub fn new(echo: bool) -> Self {
        Self {
            serial: Some(twin::Host::new(echo)),
            usb_in: Vec::new(),
            ccid: ccid::Host::new(0, 271),
            t1: t1::Host::new(32, Edc::Lrc),
            phase: Phase::Idle,
            atr: Vec::new(),
            queue: Vec::new(),
            level: ccid::ExchangeLevel::Tpdu,
            exchange: None,
            stale: 0,
        }
    }

    /// A session over USB bulk endpoints with a CCID reader whose class descriptor is `d`
    /// (slot 0): every [`Step::Send`] is one bulk-OUT transfer; bulk-IN data may be fed in any
    /// split. TPDU-level readers run T=1 here; short- and extended-APDU-level readers take the
    /// APDU as it is. Character-level readers are refused (`READER_UNSUPPORTED`).
    pub fn usb(d: &ccid::Descriptor) -> Result<Self, ReaderError> {
        if d.level == ccid::ExchangeLevel::Character {
            return Err(ReaderError::Unsupported(
                "a USB CCID reader at character level (the host would drive the card byte by byte)".into(),
            ));
        }
        let max = usize::try_from(d.max_message_length)
            .unwrap_or(271)
            .clamp(ccid::HEADER + 5, ccid::MAX_MESSAGE);
        let mut s = Self::new(false);
        s.serial = None;
        s.ccid = ccid::Host::new(0, max);
        s.level = d.level;
        Ok(s)
    }

    fn apdu_level(&self) -> bool {
        matches!(
            self.level,
            ccid::ExchangeLevel::ShortApdu | ccid::ExchangeLevel::ExtendedApdu
        )
    }

    fn out(&mut self, m: &[u8]) -> Vec<u8> {
        match &mut self.serial {
            Some(s) => s.send(m),
            None => {
                self.usb_in.clear();
                m.to_vec()
            }
        }
    }

    /// The card's ATR once powered.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Powers the card on; the sequence ends with `Done(atr)`.
    pub fn power_on(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.phase = Phase::PowerOn;
        let m = self.ccid.power_on(Voltage::V5)?;
        Ok(self.out(&m))
    }

    /// Sends one APDU; the exchange ends with `Done(response)`.
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ReaderError> {
        if self.phase != Phase::Ready {
            return Err(ReaderError::Protocol("transmit before the card is powered".into()));
        }
        if self.apdu_level() {
            let (x, m) = ccid::ApduExchange::start(&mut self.ccid, self.level, apdu)?;
            self.exchange = Some(x);
            self.phase = Phase::Apdu;
            return Ok(self.out(&m));
        }
        let b = self.t1.start(apdu)?;
        self.phase = Phase::Apdu;
        self.xfr(&b)
    }

    /// Abandons the exchange in progress (the caller cancelled it or it timed out) and starts
    /// resynchronising with the reader: PC_to_RDR_Abort (after the USB ABORT class request),
    /// messages left over from the abandoned command discarded by `bSeq` (at most
    /// [`MAX_STALE`]) until the reader's SlotStatus for the Abort; then, at TPDU level,
    /// S(RESYNCH) to the card (both T=1 sides back to block number 0) and S(IFS) again. Ends
    /// with `Done(vec![])`: the session is ready for [`Session::transmit`]. A failure here (no
    /// card, a reader that breaks the protocol) is final: the caller applies its own time-out
    /// and gives the session up.
    pub fn abort(&mut self) -> Result<Abort, ReaderError> {
        if self.atr.is_empty() {
            return Err(ReaderError::Protocol(
                "nothing to abort: the card was not powered".into(),
            ));
        }
        self.exchange = None;
        self.queue.clear();
        self.stale = 0;
        let (seq, m) = self.ccid.abort()?;
        self.phase = Phase::Abort(seq);
        Ok(match &mut self.serial {
            Some(s) => {
                s.begin_resync();
                Abort {
                    control: None,
                    send: s.send(&m),
                }
            }
            // Not `out`: a message the reader was half-way through sending is still to be
            // re-framed (and discarded).
            None => Abort {
                control: Some(ccid::abort_value(seq, self.ccid.slot())),
                send: m,
            },
        })
    }

    fn resynced(&mut self) -> Result<Step, ReaderError> {
        self.phase = Phase::Ready;
        if let Some(s) = &mut self.serial {
            s.end_resync();
        }
        Ok(Step::Done(Vec::new()))
    }

    fn xfr(&mut self, block: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let m = self.ccid.xfr_block(block, 0, 0)?;
        Ok(self.out(&m))
    }

    /// Takes bytes read from the port.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Step, ReaderError> {
        let mut write = Vec::new();
        if let Some(serial) = &mut self.serial {
            for e in serial.feed(bytes)? {
                match e {
                    Event::Message(m) => self.queue.push(m),
                    Event::Send(b) => write.extend(b),
                    Event::CardMoved(_) => {}
                }
            }
        } else {
            if self.usb_in.len() + bytes.len() > ccid::MAX_MESSAGE {
                return Err(ReaderError::TooLong(self.usb_in.len() + bytes.len()));
            }
            self.usb_in.extend_from_slice(bytes);
            while let Some(n) = ccid::message_len(&self.usb_in) {
                if n > self.ccid.max_message() {
                    return Err(ReaderError::TooLong(n));
                }
                if self.usb_in.len() < n {
                    break;
                }
                self.queue.push(self.usb_in.drain(..n).collect());
            }
        }
        if !write.is_empty() {
            return Ok(Step::Send(write));
        }
        while !self.queue.is_empty() {
            let m = self.queue.remove(0);
            if let Phase::Abort(seq) = self.phase
                && ccid::is_stale(&m, seq)
            {
                self.stale += 1;
                if self.stale > MAX_STALE {
                    self.phase = Phase::Idle;
                    return Err(ReaderError::Protocol(format!(
                        "the reader sent {} messages for aborted commands without confirming the abort",
                        self.stale
                    )));
                }
                continue;
            }
            if let Some(x) = &mut self.exchange {
                let step = x.on_reply(&mut self.ccid, &m).inspect_err(|_| {
                    self.phase = Phase::Idle;
                    self.exchange = None;
                });
                match step? {
                    Step::Wait => continue,
                    _ if !self.queue.is_empty() => {
                        return Err(ReaderError::Protocol("more than one answer to a command".into()));
                    }
                    Step::Send(next) => return Ok(Step::Send(self.out(&next))),
                    Step::Done(r) => {
                        self.exchange = None;
                        self.phase = Phase::Ready;
                        return Ok(Step::Done(r));
                    }
                }
            }
            let reply = match self.ccid.on_reply(&m) {
                Ok(Reply::TimeExtension(_)) => continue,
                Ok(r) => r,
                Err(e) => {
                    self.phase = Phase::Idle;
                    return Err(e);
                }
            };
            if !self.queue.is_empty() {
                return Err(ReaderError::Protocol("more than one answer to a command".into()));
            }
            return self.on_reply(reply);
        }
        Ok(Step::Wait)
    }

    fn on_reply(&mut self, reply: Reply) -> Result<Step, ReaderError> {
        match (self.phase, reply) {
            (Phase::PowerOn, Reply::Data { data, .. }) if self.apdu_level() => {
                // The reader chose the protocol and its parameters itself.
                self.atr = data;
                self.phase = Phase::Ready;
                Ok(Step::Done(self.atr.clone()))
            }
            (Phase::PowerOn, Reply::Data { data, .. }) => {
                let p = atr_t1(&data).ok_or_else(|| {
                    ReaderError::Unsupported(
                        "the card offers no T=1 (T=0 over a TPDU reader is not implemented)".into(),
                    )
                })?;
                self.atr = data;
                self.t1 = t1::Host::new(p.ifsc, if p.crc { Edc::Crc } else { Edc::Lrc });
                let params = ccid::t1_parameters(0x11, p.crc, p.guard, p.bwi_cwi, p.ifsc);
                self.phase = Phase::SetParameters;
                let m = self.ccid.set_parameters(1, &params)?;
                Ok(Step::Send(self.out(&m)))
            }
            (Phase::SetParameters, Reply::Parameters { protocol: 1, .. }) => {
                self.phase = Phase::Ifs;
                let b = self.t1.negotiate_ifsd(254)?;
                Ok(Step::Send(self.xfr(&b)?))
            }
            (Phase::Ifs | Phase::Apdu, Reply::Data { data, .. }) => match self.t1.on_block(&data)? {
                Step::Send(b) => Ok(Step::Send(self.xfr(&b)?)),
                Step::Done(r) => {
                    let ifs = self.phase == Phase::Ifs;
                    self.phase = Phase::Ready;
                    Ok(Step::Done(if ifs { self.atr.clone() } else { r }))
                }
                Step::Wait => Ok(Step::Wait),
            },
            (Phase::Abort(_), Reply::SlotStatus(icc)) => match icc {
                ccid::IccStatus::Active if self.apdu_level() => self.resynced(),
                ccid::IccStatus::Active => {
                    // The card may be anywhere in a T=1 chain: start both sides again.
                    let b = self.t1.resync();
                    self.phase = Phase::Resynch;
                    Ok(Step::Send(self.xfr(&b)?))
                }
                ccid::IccStatus::Absent => {
                    self.phase = Phase::Idle;
                    Err(ReaderError::CardRemoved)
                }
                ccid::IccStatus::Inactive => {
                    self.phase = Phase::Idle;
                    Err(ReaderError::Protocol(
                        "the card is no longer powered after the abort".into(),
                    ))
                }
            },
            (Phase::Resynch | Phase::ResyncIfs, Reply::Data { data, .. }) => {
                let step = self.t1.on_block(&data).inspect_err(|_| self.phase = Phase::Idle)?;
                match (self.phase, step) {
                    (_, Step::Send(b)) => Ok(Step::Send(self.xfr(&b)?)),
                    (_, Step::Wait) => Ok(Step::Wait),
                    (Phase::Resynch, Step::Done(_)) => {
                        self.phase = Phase::ResyncIfs;
                        let b = self.t1.negotiate_ifsd(254)?;
                        Ok(Step::Send(self.xfr(&b)?))
                    }
                    (_, Step::Done(_)) => self.resynced(),
                }
            }
            (phase, r) => {
                self.phase = Phase::Idle;
                Err(ReaderError::Protocol(format!("{r:?} during {phase:?}")))
            }
        }
    }
}
