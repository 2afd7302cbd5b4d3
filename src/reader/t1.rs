//! ISO/IEC 7816-3 T=1, the interface-device (host) side, for TPDU-level readers.
//!
//! Blocks are `NAD PCB LEN INF EDC`; EDC is an LRC (XOR) or a CRC (CRC-16/X.25 polynomial,
//! initial 0xFFFF, sent high byte first, as libccid computes it). [`Host`] sends an APDU in
//! I-blocks of at most IFSC bytes (chaining with the M bit), collects a chained answer with
//! R-blocks, answers S(WTX) and S(IFS) requests, retransmits after an EDC error or a time-out
//! (R-block with the error bit), resynchronises (S(RESYNCH)) after three failures and gives up
//! after three failed resynchronisations.

use super::{MAX_APDU, ReaderError, Step};

/// Error detection code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edc {
    /// Longitudinal redundancy check (1 byte).
    Lrc,
    /// CRC (2 bytes).
    Crc,
}

impl Edc {
    /// Length of the check.
    pub fn len(self) -> usize {
        match self {
            Self::Lrc => 1,
            Self::Crc => 2,
        }
    }
    /// Always false (an EDC has one or two bytes).
    pub fn is_empty(self) -> bool {
        false
    }
    /// The check over `bytes`.
    pub fn compute(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Self::Lrc => vec![lrc(bytes)],
            Self::Crc => crc(bytes).to_be_bytes().to_vec(),
        }
    }
}

/// XOR of all bytes.
pub fn lrc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// The T=1 CRC: reflected CRC-16 (polynomial 0x1021), initial 0xFFFF, no final XOR.
pub fn crc(bytes: &[u8]) -> u16 {
    let mut c: u16 = 0xFFFF;
    for &b in bytes {
        c ^= u16::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0x8408 } else { c >> 1 };
        }
    }
    c
}

/// S-block kinds (low bits of PCB; 0x20 marks a response).
pub mod s {
    /// RESYNCH.
    pub const RESYNCH: u8 = 0x00;
    /// IFS.
    pub const IFS: u8 = 0x01;
    /// ABORT.
    pub const ABORT: u8 = 0x02;
    /// WTX.
    pub const WTX: u8 = 0x03;
    /// Response bit.
    pub const RESPONSE: u8 = 0x20;
}

/// A block, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Information block.
    I {
        /// Send sequence number N(S).
        ns: u8,
        /// More data follows (M bit).
        more: bool,
        /// INF.
        data: Vec<u8>,
    },
    /// Receive-ready block.
    R {
        /// N(R).
        nr: u8,
        /// 0 no error, 1 EDC or parity error, 2 other error.
        error: u8,
    },
    /// Supervisory block.
    S {
        /// Kind ([`s`]) with the response bit.
        kind: u8,
        /// INF.
        data: Vec<u8>,
    },
}

/// Encodes a block.
pub fn encode(nad: u8, block: &Block, edc: Edc) -> Vec<u8> {
    let (pcb, inf): (u8, &[u8]) = match block {
        Block::I { ns, more, data } => ((ns & 1) << 6 | u8::from(*more) << 5, data),
        Block::R { nr, error } => (0x80 | (nr & 1) << 4 | (error & 0x03), &[]),
        Block::S { kind, data } => (0xC0 | (kind & 0x3F), data),
    };
    let mut b = vec![nad, pcb, u8::try_from(inf.len().min(254)).unwrap_or(254)];
    b.extend_from_slice(&inf[..inf.len().min(254)]);
    let c = edc.compute(&b);
    b.extend_from_slice(&c);
    b
}

/// Why a received block was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadBlock {
    /// The EDC does not match (R-block error 1).
    Edc,
    /// Wrong length or PCB (R-block error 2).
    Other,
}

/// Decodes a block, checking its length and EDC.
pub fn decode(b: &[u8], edc: Edc) -> Result<(u8, Block), BadBlock> {
    if b.len() < 3 + edc.len() {
        return Err(BadBlock::Other);
    }
    let len = usize::from(b[2]);
    if len == 255 || b.len() != 3 + len + edc.len() {
        return Err(BadBlock::Other);
    }
    if edc.compute(&b[..3 + len]) != b[3 + len..] {
        return Err(BadBlock::Edc);
    }
    let (nad, pcb, inf) = (b[0], b[1], b[3..3 + len].to_vec());
    let block = match pcb {
        p if p & 0x80 == 0 => Block::I {
            ns: (p >> 6) & 1,
            more: p & 0x20 != 0,
            data: inf,
        },
        p if p & 0xC0 == 0x80 => {
            if len != 0 || p & 0x20 != 0 {
                return Err(BadBlock::Other);
            }
            Block::R {
                nr: (p >> 4) & 1,
                error: p & 0x03,
            }
        }
        p => {
            let kind = p & 0x3F;
            let ok = match kind & 0x1F {
                s::RESYNCH | s::ABORT => len == 0 || kind & 0x1F == s::ABORT,
                s::IFS => len == 1 && (1..=254).contains(&b[3]),
                s::WTX => len == 1,
                _ => false,
            };
            if !ok || kind & 0x1C != 0 {
                return Err(BadBlock::Other);
            }
            Block::S { kind, data: inf }
        }
    };
    Ok((nad, block))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Our I-block chain is being sent; `rest` is what is left after the block in flight.
    Sending,
    /// Our last I-block is sent; collecting the answer.
    Receiving,
    /// S(IFS request) sent.
    Ifs(u8),
    /// S(RESYNCH request) sent.
    Resynch,
}

/// The T=1 host side of one card.
#[derive(Clone, Debug)]
pub struct Host {
    nad: u8,
    edc: Edc,
    ifsc: usize,
    /// The card's IFSC from its ATR: what S(RESYNCH) from [`Host::resync`] returns to.
    ifsc_initial: usize,
    ns: u8,
    nr: u8,
    state: State,
    apdu: Vec<u8>,
    offset: usize,
    sent_len: usize,
    last: Vec<u8>,
    response: Vec<u8>,
    errors: u8,
    resyncs: u8,
    wtx: Option<u8>,
    i_pending: bool,
    resume: Resume,
}

/// What to do again after a resynchronisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resume {
    Nothing,
    Ifs(u8),
    Apdu,
}

impl From<&State> for Resume {
    fn from(s: &State) -> Self {
        match s {
            State::Ifs(n) => Self::Ifs(*n),
            State::Sending | State::Receiving => Self::Apdu,
            State::Idle | State::Resynch => Self::Nothing,
        }
    }
}

/// Failures of the same block before resynchronising (ISO 7816-3: retransmit at least twice).
pub const MAX_RETRIES: u8 = 3;
/// Resynchronisations before giving up.
pub const MAX_RESYNCS: u8 = 3;

impl Host {
    /// A host for a card with IFSC `ifsc` (from the ATR's TA3, default 32) and `edc`.
    pub fn new(ifsc: u8, edc: Edc) -> Self {
        Self {
            nad: 0,
            edc,
            ifsc: usize::from(ifsc.clamp(1, 254)),
            ifsc_initial: usize::from(ifsc.clamp(1, 254)),
            ns: 0,
            nr: 0,
            state: State::Idle,
            apdu: Vec::new(),
            offset: 0,
            sent_len: 0,
            last: Vec::new(),
            response: Vec::new(),
            errors: 0,
            resyncs: 0,
            wtx: None,
            i_pending: false,
            resume: Resume::Nothing,
        }
    }

    /// The card's current IFSC.
    pub fn ifsc(&self) -> usize {
        self.ifsc
    }

    /// The waiting-time multiplier the card asked for in its last S(WTX request), if any since
    /// the last block sent: the caller extends its time-out by this factor for one block.
    pub fn wtx(&self) -> Option<u8> {
        self.wtx
    }

    fn send(&mut self, b: &Block) -> Vec<u8> {
        self.last = encode(self.nad, b, self.edc);
        self.last.clone()
    }

    /// S(IFS request): tells the card the host's IFSD. The exchange ends with `Done(vec![])`.
    pub fn negotiate_ifsd(&mut self, ifsd: u8) -> Result<Vec<u8>, ReaderError> {
        if !(1..=254).contains(&ifsd) {
            return Err(ReaderError::Protocol(format!("IFSD {ifsd}")));
        }
        self.state = State::Ifs(ifsd);
        self.errors = 0;
        self.resyncs = 0;
        Ok(self.send(&Block::S {
            kind: s::IFS,
            data: vec![ifsd],
        }))
    }

    /// Starts sending one APDU; returns the first block.
    pub fn start(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ReaderError> {
        if apdu.is_empty() || apdu.len() > MAX_APDU {
            return Err(ReaderError::TooLong(apdu.len()));
        }
        self.apdu = apdu.to_vec();
        self.response.clear();
        self.errors = 0;
        self.resyncs = 0;
        Ok(self.send_chunk(0))
    }

    fn send_chunk(&mut self, offset: usize) -> Vec<u8> {
        self.offset = offset;
        let n = self.ifsc.min(self.apdu.len() - offset);
        self.sent_len = n;
        let more = offset + n < self.apdu.len();
        self.state = if more { State::Sending } else { State::Receiving };
        self.i_pending = true;
        let data = self.apdu[offset..offset + n].to_vec();
        self.send(&Block::I {
            ns: self.ns,
            more,
            data,
        })
    }

    /// Abandons whatever exchange was in progress (the host gave up on it: cancelled, timed
    /// out) and returns S(RESYNCH request): the card answers S(RESYNCH response) and both sides
    /// start again from N(S) = N(R) = 0. The exchange ends with `Done(vec![])`; a card that
    /// does not answer it properly is given [`MAX_RESYNCS`] attempts in all, as in
    /// [`Host::on_block`]. ISO 7816-3 resets both information field sizes with it: the card's
    /// IFSC goes back to its ATR value here, and the IFSD must be negotiated again.
    pub fn resync(&mut self) -> Vec<u8> {
        self.ifsc = self.ifsc_initial;
        self.apdu.clear();
        self.response.clear();
        self.offset = 0;
        self.sent_len = 0;
        self.errors = 0;
        self.resyncs = 1;
        self.wtx = None;
        self.i_pending = false;
        self.resume = Resume::Nothing;
        self.state = State::Resynch;
        self.send(&Block::S {
            kind: s::RESYNCH,
            data: vec![],
        })
    }

    /// The reader reported no block in time (or a broken one it could not deliver).
    pub fn on_timeout(&mut self) -> Result<Step, ReaderError> {
        self.recover(BadBlock::Other)
    }

    fn recover(&mut self, why: BadBlock) -> Result<Step, ReaderError> {
        if self.state == State::Resynch {
            // No valid S(RESYNCH response): the next attempt counts as another resynchronisation.
            return self.resynch(why);
        }
        self.errors += 1;
        if self.errors < MAX_RETRIES {
            if matches!(self.state, State::Ifs(_)) {
                return Ok(Step::Send(self.last.clone()));
            }
            let error = match why {
                BadBlock::Edc => 1,
                BadBlock::Other => 2,
            };
            return Ok(Step::Send(self.send(&Block::R { nr: self.nr, error })));
        }
        self.resynch(why)
    }

    fn resynch(&mut self, why: BadBlock) -> Result<Step, ReaderError> {
        if self.resyncs >= MAX_RESYNCS || matches!(self.state, State::Idle) {
            self.state = State::Idle;
            return Err(match why {
                BadBlock::Edc => {
                    ReaderError::Checksum("T=1 blocks kept failing their EDC after resynchronisation".into())
                }
                BadBlock::Other => ReaderError::Protocol("T=1: no valid block after resynchronisation".into()),
            });
        }
        self.resyncs += 1;
        self.errors = 0;
        if !matches!(self.state, State::Resynch) {
            self.resume = Resume::from(&self.state);
        }
        self.state = State::Resynch;
        Ok(Step::Send(self.send(&Block::S {
            kind: s::RESYNCH,
            data: vec![],
        })))
    }

    /// Takes one block from the card.
    pub fn on_block(&mut self, raw: &[u8]) -> Result<Step, ReaderError> {
        if self.state == State::Idle {
            return Err(ReaderError::Protocol("a T=1 block with no exchange in progress".into()));
        }
        let block = match decode(raw, self.edc) {
            Ok((_, b)) => b,
            Err(why) => return self.recover(why),
        };
        self.wtx = None;
        match (self.state.clone(), block) {
            (_, Block::S { kind, data }) if kind == s::WTX => {
                self.wtx = data.first().copied();
                // The answer is not our I-block: a retransmission request would resend it.
                let r = encode(
                    self.nad,
                    &Block::S {
                        kind: s::WTX | s::RESPONSE,
                        data,
                    },
                    self.edc,
                );
                Ok(Step::Send(r))
            }
            (_, Block::S { kind, data }) if kind == s::IFS => {
                self.ifsc = usize::from(data[0]);
                let r = encode(
                    self.nad,
                    &Block::S {
                        kind: s::IFS | s::RESPONSE,
                        data,
                    },
                    self.edc,
                );
                Ok(Step::Send(r))
            }
            (_, Block::S { kind, .. }) if kind == s::ABORT => {
                self.state = State::Idle;
                Err(ReaderError::Protocol("the card aborted the T=1 chain".into()))
            }
            (State::Ifs(ifsd), Block::S { kind, data }) if kind == s::IFS | s::RESPONSE && data == [ifsd] => {
                self.state = State::Idle;
                self.errors = 0;
                Ok(Step::Done(Vec::new()))
            }
            (State::Resynch, Block::S { kind, .. }) if kind == s::RESYNCH | s::RESPONSE => {
                self.ns = 0;
                self.nr = 0;
                self.errors = 0;
                match std::mem::replace(&mut self.resume, Resume::Nothing) {
                    Resume::Ifs(ifsd) => Ok(Step::Send(self.negotiate_ifsd_keep(ifsd))),
                    Resume::Apdu => {
                        self.response.clear();
                        Ok(Step::Send(self.send_chunk(0)))
                    }
                    Resume::Nothing => {
                        self.state = State::Idle;
                        Ok(Step::Done(Vec::new()))
                    }
                }
            }
            (State::Sending, Block::R { nr, .. }) if nr != self.ns => {
                // Acknowledges our block: send the next one.
                self.ns ^= 1;
                self.i_pending = false;
                self.errors = 0;
                let next = self.offset + self.sent_len;
                Ok(Step::Send(self.send_chunk(next)))
            }
            (State::Sending | State::Receiving, Block::R { nr, .. }) if nr == self.ns && self.i_pending => {
                // The card asks for our last I-block again.
                self.errors += 1;
                if self.errors >= MAX_RETRIES {
                    return self.resynch(BadBlock::Other);
                }
                Ok(Step::Send(self.send_chunk(self.offset)))
            }
            (State::Receiving, Block::R { .. }) => {
                // The card lost our R-block (or a WTX answer): send the last block again.
                self.errors += 1;
                if self.errors >= MAX_RETRIES {
                    return self.resynch(BadBlock::Other);
                }
                Ok(Step::Send(self.last.clone()))
            }
            (State::Receiving, Block::I { ns, more, data }) => {
                if ns != self.nr {
                    return self.recover(BadBlock::Other);
                }
                if self.i_pending {
                    // Our last I-block is acknowledged by the card's first I-block.
                    self.ns ^= 1;
                    self.i_pending = false;
                }
                self.nr ^= 1;
                self.errors = 0;
                if self.response.len() + data.len() > MAX_APDU {
                    self.state = State::Idle;
                    return Err(ReaderError::TooLong(self.response.len() + data.len()));
                }
                self.response.extend_from_slice(&data);
                if more {
                    Ok(Step::Send(self.send(&Block::R { nr: self.nr, error: 0 })))
                } else {
                    self.state = State::Idle;
                    Ok(Step::Done(std::mem::take(&mut self.response)))
                }
            }
            _ => self.recover(BadBlock::Other),
        }
    }

    fn negotiate_ifsd_keep(&mut self, ifsd: u8) -> Vec<u8> {
        self.state = State::Ifs(ifsd);
        self.send(&Block::S {
            kind: s::IFS,
            data: vec![ifsd],
        })
    }
}
