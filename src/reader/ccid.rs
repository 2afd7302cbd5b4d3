//! The USB CCID message layer, host side (CCID 1.1): 10-byte little-endian headers, `bSeq`
//! echoed by the reader, `bStatus`/`bError` in replies, time extensions, the class descriptor
//! and the exchange level it declares, short and extended APDU exchange.
//!
//! [`Host`] builds command messages and checks each reply against the command it answers;
//! [`ApduExchange`] runs one APDU at the short- or extended-APDU level (chaining with
//! `wLevelParameter`); TPDU-level readers carry [`super::t1`] blocks in `XfrBlock` instead.

use super::{MAX_APDU, ReaderError, Step};

/// Header length of every CCID message.
pub const HEADER: usize = 10;
/// The largest message this host accepts from any reader (dwMaxCCIDMessageLength is at most
/// this in practice; extended APDUs are chained below it).
pub const MAX_MESSAGE: usize = HEADER + MAX_APDU;

/// Host → reader message types.
pub mod pc_to_rdr {
    /// PC_to_RDR_IccPowerOn.
    pub const ICC_POWER_ON: u8 = 0x62;
    /// PC_to_RDR_IccPowerOff.
    pub const ICC_POWER_OFF: u8 = 0x63;
    /// PC_to_RDR_GetSlotStatus.
    pub const GET_SLOT_STATUS: u8 = 0x65;
    /// PC_to_RDR_XfrBlock.
    pub const XFR_BLOCK: u8 = 0x6F;
    /// PC_to_RDR_GetParameters.
    pub const GET_PARAMETERS: u8 = 0x6C;
    /// PC_to_RDR_SetParameters.
    pub const SET_PARAMETERS: u8 = 0x61;
    /// PC_to_RDR_Escape.
    pub const ESCAPE: u8 = 0x6B;
    /// PC_to_RDR_Abort.
    pub const ABORT: u8 = 0x72;
}

/// Reader → host message types.
pub mod rdr_to_pc {
    /// RDR_to_PC_DataBlock.
    pub const DATA_BLOCK: u8 = 0x80;
    /// RDR_to_PC_SlotStatus.
    pub const SLOT_STATUS: u8 = 0x81;
    /// RDR_to_PC_Parameters.
    pub const PARAMETERS: u8 = 0x82;
    /// RDR_to_PC_Escape.
    pub const ESCAPE: u8 = 0x83;
    /// RDR_to_PC_NotifySlotChange (interrupt endpoint).
    pub const NOTIFY_SLOT_CHANGE: u8 = 0x50;
}

/// `bError` values with a meaning of their own (CCID 1.1, 6.2.6).
pub mod berror {
    /// The card is mute (or absent: see the ICC status bits).
    pub const ICC_MUTE: u8 = 0xFE;
    /// Parity error on the card link.
    pub const XFR_PARITY_ERROR: u8 = 0xFD;
    /// The card sent more than expected.
    pub const XFR_OVERRUN: u8 = 0xFC;
    /// Hardware error.
    pub const HW_ERROR: u8 = 0xFB;
    /// Bad ATR TS.
    pub const BAD_ATR_TS: u8 = 0xF8;
    /// Bad ATR TCK.
    pub const BAD_ATR_TCK: u8 = 0xF7;
    /// Protocol not supported.
    pub const ICC_PROTOCOL_NOT_SUPPORTED: u8 = 0xF6;
    /// Class not supported.
    pub const ICC_CLASS_NOT_SUPPORTED: u8 = 0xF5;
    /// Procedure byte conflict (T=0).
    pub const PROCEDURE_BYTE_CONFLICT: u8 = 0xF4;
    /// Deactivated protocol.
    pub const DEACTIVATED_PROTOCOL: u8 = 0xF3;
    /// Busy with automatic sequence.
    pub const BUSY_WITH_AUTO_SEQUENCE: u8 = 0xF2;
    /// The slot is busy with another command.
    pub const CMD_SLOT_BUSY: u8 = 0xE0;
    /// The command was aborted.
    pub const CMD_ABORTED: u8 = 0xFF;
    /// Command not supported.
    pub const CMD_NOT_SUPPORTED: u8 = 0x00;
}

/// The card's state in a reply's `bStatus` bits 0-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IccStatus {
    /// Present and active (powered).
    Active,
    /// Present, not activated.
    Inactive,
    /// No card.
    Absent,
}

impl IccStatus {
    fn from_bits(b: u8) -> Result<Self, ReaderError> {
        match b & 0x03 {
            0 => Ok(Self::Active),
            1 => Ok(Self::Inactive),
            2 => Ok(Self::Absent),
            _ => Err(ReaderError::Protocol("bStatus ICC state 3 (reserved)".into())),
        }
    }
}

/// Power selection for IccPowerOn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Voltage {
    /// The reader chooses.
    Auto = 0,
    /// 5 V.
    V5 = 1,
    /// 3 V.
    V3 = 2,
    /// 1.8 V.
    V1_8 = 3,
}

/// A reply, checked against the command it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The reader asks for more time (`bStatus` 0x80); `bError` is the BWT multiplier. Keep
    /// reading; do not resend.
    TimeExtension(u8),
    /// RDR_to_PC_DataBlock: the data and `bChainParameter`.
    Data {
        /// Payload (an ATR, a response APDU, a TPDU).
        data: Vec<u8>,
        /// `bChainParameter` (extended APDU level: 0 = complete, 1/3 = more follows).
        chain: u8,
    },
    /// RDR_to_PC_SlotStatus.
    SlotStatus(IccStatus),
    /// RDR_to_PC_Parameters: protocol number and its data.
    Parameters {
        /// `bProtocolNum` (0 = T=0, 1 = T=1).
        protocol: u8,
        /// The protocol data structure.
        data: Vec<u8>,
    },
    /// RDR_to_PC_Escape.
    Escape(Vec<u8>),
}

/// The exchange level a reader works at (`dwFeatures & 0x70000`, or character level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeLevel {
    /// Character level: the host would drive the card byte by byte (not supported).
    Character,
    /// TPDU level: the host runs T=0/T=1 (see [`super::t1`]).
    Tpdu,
    /// Short APDU level.
    ShortApdu,
    /// Short and extended APDU level.
    ExtendedApdu,
}

/// The fields of a CCID class descriptor (type 0x21, 54 bytes) that a host needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// bMaxSlotIndex.
    pub max_slot_index: u8,
    /// dwProtocols (bit 0 T=0, bit 1 T=1).
    pub protocols: u32,
    /// dwMaxIFSD.
    pub max_ifsd: u32,
    /// dwFeatures.
    pub features: u32,
    /// dwMaxCCIDMessageLength.
    pub max_message_length: u32,
    /// The exchange level from dwFeatures.
    pub level: ExchangeLevel,
}

impl Descriptor {
    /// Parses the 54-byte class descriptor itself.
    pub fn parse(d: &[u8]) -> Result<Self, ReaderError> {
        if d.len() < 54 || usize::from(d[0]) < 54 || d[1] != 0x21 {
            return Err(ReaderError::Protocol(format!(
                "CCID class descriptor of {} bytes",
                d.len()
            )));
        }
        let u32at = |o: usize| u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]);
        let features = u32at(40);
        let level = match features & 0x0007_0000 {
            0 => ExchangeLevel::Character,
            0x0001_0000 => ExchangeLevel::Tpdu,
            0x0002_0000 => ExchangeLevel::ShortApdu,
            0x0004_0000 => ExchangeLevel::ExtendedApdu,
            x => return Err(ReaderError::Protocol(format!("dwFeatures exchange level 0x{x:X}"))),
        };
        let max_message_length = u32at(44);
        if max_message_length < 271 {
            // CCID 1.1: at least 261 + 10 bytes.
            return Err(ReaderError::Protocol(format!(
                "dwMaxCCIDMessageLength {max_message_length}"
            )));
        }
        Ok(Self {
            max_slot_index: d[4],
            protocols: u32at(6),
            max_ifsd: u32at(28),
            features,
            max_message_length,
            level,
        })
    }
}

/// A CCID interface found in a configuration descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// bInterfaceNumber.
    pub number: u8,
    /// bInterfaceClass: 0x0B (smart card; protected in browsers) or 0xFF (vendor).
    pub class: u8,
    /// The class descriptor.
    pub descriptor: Descriptor,
    /// Bulk-OUT endpoint address.
    pub bulk_out: Option<u8>,
    /// Bulk-IN endpoint address.
    pub bulk_in: Option<u8>,
    /// Interrupt-IN endpoint address (slot change notices).
    pub interrupt_in: Option<u8>,
}

/// Finds the CCID interfaces in a raw configuration descriptor (what a GET_DESCRIPTOR control
/// transfer returns: WebUSB does not expose class descriptors). The class descriptor may come
/// before or after the endpoints (real readers do both).
pub fn find_interfaces(config: &[u8]) -> Result<Vec<Interface>, ReaderError> {
    if config.len() < 9 || config[1] != 0x02 {
        return Err(ReaderError::Protocol("not a configuration descriptor".into()));
    }
    let total = usize::from(u16::from_le_bytes([config[2], config[3]])).min(config.len());
    let mut out: Vec<Interface> = Vec::new();
    // (number, class, descriptor, endpoints) of the interface being read
    let mut cur: Option<(u8, u8)> = None;
    let mut desc: Option<Descriptor> = None;
    let mut eps: [Option<u8>; 3] = [None; 3];
    let mut flush = |cur: &mut Option<(u8, u8)>, desc: &mut Option<Descriptor>, eps: &mut [Option<u8>; 3]| {
        if let (Some((number, class)), Some(descriptor)) = (cur.take(), desc.take()) {
            out.push(Interface {
                number,
                class,
                descriptor,
                bulk_out: eps[0],
                bulk_in: eps[1],
                interrupt_in: eps[2],
            });
        }
        *eps = [None; 3];
    };
    let mut i = 0;
    while i + 2 <= total {
        let len = usize::from(config[i]);
        if len < 2 || i + len > total {
            return Err(ReaderError::Protocol(format!(
                "descriptor of length {len} at offset {i}"
            )));
        }
        let d = &config[i..i + len];
        match d[1] {
            0x04 if len >= 9 => {
                flush(&mut cur, &mut desc, &mut eps);
                cur = matches!(d[5], 0x0B | 0xFF).then_some((d[2], d[5]));
            }
            0x21 if cur.is_some() && len == 54 => desc = Some(Descriptor::parse(d)?),
            0x05 if cur.is_some() && len >= 7 => {
                let addr = d[2];
                match (d[3] & 0x03, addr & 0x80 != 0) {
                    (2, false) => eps[0] = Some(addr),
                    (2, true) => eps[1] = Some(addr),
                    (3, true) => eps[2] = Some(addr),
                    _ => {}
                }
            }
            _ => {}
        }
        i += len;
    }
    flush(&mut cur, &mut desc, &mut eps);
    Ok(out)
}

/// `bRequest` of the CCID ABORT class request (host to interface, CCID 1.1 5.3.1).
pub const ABORT_REQUEST: u8 = 0x01;

/// `wValue` of the ABORT class request: `bSeq` in the high byte, `bSlot` in the low byte.
pub fn abort_value(seq: u8, slot: u8) -> u16 {
    u16::from(seq) << 8 | u16::from(slot)
}

/// While an Abort with `bSeq` `seq` is in flight: is message `m` left over from before it (a
/// late answer, a time extension or a failure of the aborted command, whose `bSeq` is older; or
/// a host-to-reader message, i.e. an echo on a serial line)? Such messages are discarded.
pub fn is_stale(m: &[u8], seq: u8) -> bool {
    m.len() < HEADER || m[0] & 0x80 == 0 || m[6] != seq
}

/// Length of the message at the start of `buf` once its header is there (for re-framing a
/// bulk-IN stream that splits messages across packets).
pub fn message_len(buf: &[u8]) -> Option<usize> {
    let h = buf.get(..HEADER)?;
    let n = u32::from_le_bytes([h[1], h[2], h[3], h[4]]);
    usize::try_from(n).ok()?.checked_add(HEADER)
}

/// Builds one message.
pub fn message(kind: u8, slot: u8, seq: u8, params: [u8; 3], data: &[u8]) -> Result<Vec<u8>, ReaderError> {
    if data.len() > MAX_MESSAGE - HEADER {
        return Err(ReaderError::TooLong(data.len()));
    }
    let n = u32::try_from(data.len()).map_err(|_| ReaderError::TooLong(data.len()))?;
    let mut m = Vec::with_capacity(HEADER + data.len());
    m.push(kind);
    m.extend_from_slice(&n.to_le_bytes());
    m.extend_from_slice(&[slot, seq]);
    m.extend_from_slice(&params);
    m.extend_from_slice(data);
    Ok(m)
}

/// The host side of one slot: numbers commands, remembers the one in flight and checks the
/// reader's reply against it.
#[derive(Clone, Debug)]
pub struct Host {
    slot: u8,
    seq: u8,
    pending: Option<(u8, u8)>,
    max_message: usize,
    powered: bool,
}

impl Host {
    /// A host for `slot`; `max_message` is the reader's dwMaxCCIDMessageLength.
    pub fn new(slot: u8, max_message: usize) -> Self {
        Self {
            slot,
            seq: 0,
            pending: None,
            max_message: max_message.clamp(HEADER + 261, MAX_MESSAGE),
            powered: false,
        }
    }

    /// The reader's message size limit.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    fn command(&mut self, kind: u8, params: [u8; 3], data: &[u8]) -> Result<Vec<u8>, ReaderError> {
        if HEADER + data.len() > self.max_message {
            return Err(ReaderError::TooLong(data.len()));
        }
        let seq = self.seq;
        let m = message(kind, self.slot, seq, params, data)?;
        self.seq = self.seq.wrapping_add(1);
        self.pending = Some((kind, seq));
        Ok(m)
    }

    /// PC_to_RDR_IccPowerOn.
    pub fn power_on(&mut self, v: Voltage) -> Result<Vec<u8>, ReaderError> {
        self.command(pc_to_rdr::ICC_POWER_ON, [v as u8, 0, 0], &[])
    }
    /// PC_to_RDR_IccPowerOff.
    pub fn power_off(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.powered = false;
        self.command(pc_to_rdr::ICC_POWER_OFF, [0; 3], &[])
    }
    /// PC_to_RDR_GetSlotStatus.
    pub fn get_slot_status(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.command(pc_to_rdr::GET_SLOT_STATUS, [0; 3], &[])
    }
    /// PC_to_RDR_XfrBlock with `bBWI` and `wLevelParameter`.
    pub fn xfr_block(&mut self, data: &[u8], bwi: u8, level: u16) -> Result<Vec<u8>, ReaderError> {
        let l = level.to_le_bytes();
        self.command(pc_to_rdr::XFR_BLOCK, [bwi, l[0], l[1]], data)
    }
    /// PC_to_RDR_SetParameters (`protocol` 0 = T=0, 1 = T=1).
    pub fn set_parameters(&mut self, protocol: u8, data: &[u8]) -> Result<Vec<u8>, ReaderError> {
        self.command(pc_to_rdr::SET_PARAMETERS, [protocol, 0, 0], data)
    }
    /// PC_to_RDR_GetParameters.
    pub fn get_parameters(&mut self) -> Result<Vec<u8>, ReaderError> {
        self.command(pc_to_rdr::GET_PARAMETERS, [0; 3], &[])
    }
    /// PC_to_RDR_Escape.
    pub fn escape(&mut self, data: &[u8]) -> Result<Vec<u8>, ReaderError> {
        self.command(pc_to_rdr::ESCAPE, [0; 3], data)
    }

    /// PC_to_RDR_Abort (CCID 1.1, 5.3.1 and 6.1.13), to end a command the host gave up on:
    /// returns its `bSeq` and the message. On USB the host first sends the ABORT class request
    /// ([`ABORT_REQUEST`], `wValue` = [`abort_value`]) with the same `bSeq`; a serial reader has
    /// no control pipe and takes the message alone. The reader ends the aborted command (its
    /// late answer, if any, carries the old `bSeq`: see [`is_stale`]) and answers the Abort
    /// with RDR_to_PC_SlotStatus.
    pub fn abort(&mut self) -> Result<(u8, Vec<u8>), ReaderError> {
        let seq = self.seq;
        let m = self.command(pc_to_rdr::ABORT, [0; 3], &[])?;
        Ok((seq, m))
    }

    /// The slot this host speaks to.
    pub fn slot(&self) -> u8 {
        self.slot
    }

    /// Checks one reply message (a whole message) against the command in flight.
    pub fn on_reply(&mut self, m: &[u8]) -> Result<Reply, ReaderError> {
        let Some((kind, seq)) = self.pending else {
            return Err(ReaderError::Protocol("a reply with no command in flight".into()));
        };
        if m.len() < HEADER {
            return Err(ReaderError::Protocol(format!("a {}-byte message", m.len())));
        }
        if m.len() > self.max_message {
            return Err(ReaderError::TooLong(m.len()));
        }
        if message_len(m) != Some(m.len()) {
            return Err(ReaderError::Protocol(format!(
                "dwLength {} in a {}-byte message",
                u32::from_le_bytes([m[1], m[2], m[3], m[4]]),
                m.len()
            )));
        }
        let expected = match kind {
            pc_to_rdr::ICC_POWER_ON | pc_to_rdr::XFR_BLOCK => rdr_to_pc::DATA_BLOCK,
            pc_to_rdr::GET_PARAMETERS | pc_to_rdr::SET_PARAMETERS => rdr_to_pc::PARAMETERS,
            pc_to_rdr::ESCAPE => rdr_to_pc::ESCAPE,
            _ => rdr_to_pc::SLOT_STATUS,
        };
        if m[0] != expected {
            return Err(ReaderError::Protocol(format!(
                "message type 0x{:02X} in answer to 0x{kind:02X} (expected 0x{expected:02X})",
                m[0]
            )));
        }
        if m[5] != self.slot {
            return Err(ReaderError::Protocol(format!(
                "reply for slot {} (expected {})",
                m[5], self.slot
            )));
        }
        if m[6] != seq {
            return Err(ReaderError::Protocol(format!("bSeq {} (expected {seq})", m[6])));
        }
        let (status, error) = (m[7], m[8]);
        let icc = IccStatus::from_bits(status)?;
        match status >> 6 {
            0 => {}
            2 => return Ok(Reply::TimeExtension(error)),
            1 => {
                self.pending = None;
                return Err(self.failure(kind, icc, error));
            }
            _ => return Err(ReaderError::Protocol(format!("bStatus 0x{status:02X}"))),
        }
        self.pending = None;
        let data = m[HEADER..].to_vec();
        Ok(match m[0] {
            rdr_to_pc::DATA_BLOCK => {
                if kind == pc_to_rdr::ICC_POWER_ON {
                    self.powered = true;
                }
                Reply::Data { data, chain: m[9] }
            }
            rdr_to_pc::PARAMETERS => Reply::Parameters { protocol: m[9], data },
            rdr_to_pc::ESCAPE => Reply::Escape(data),
            _ => {
                if icc != IccStatus::Active {
                    self.powered = false;
                }
                Reply::SlotStatus(icc)
            }
        })
    }

    fn failure(&mut self, kind: u8, icc: IccStatus, error: u8) -> ReaderError {
        let was_powered = self.powered;
        if icc != IccStatus::Active {
            self.powered = false;
        }
        match (icc, error) {
            (IccStatus::Absent, _) if was_powered && kind != pc_to_rdr::ICC_POWER_ON => ReaderError::CardRemoved,
            (IccStatus::Absent, _) => ReaderError::NoCard,
            (_, berror::ICC_MUTE) => ReaderError::CardMute,
            (_, berror::CMD_SLOT_BUSY) => ReaderError::Busy,
            (_, berror::CMD_NOT_SUPPORTED) => ReaderError::Unsupported(format!("command 0x{kind:02X}")),
            (_, e) => ReaderError::Failed {
                during: match kind {
                    pc_to_rdr::ICC_POWER_ON => "CCID IccPowerOn",
                    pc_to_rdr::XFR_BLOCK => "CCID XfrBlock",
                    pc_to_rdr::SET_PARAMETERS => "CCID SetParameters",
                    pc_to_rdr::ESCAPE => "CCID Escape",
                    _ => "CCID command",
                },
                error: e,
            },
        }
    }
}

/// One APDU at the short- or extended-APDU level: the command goes in one XfrBlock or, when
/// longer than the reader takes, in a chain (`wLevelParameter` 1, 3, ..., 2); a response in
/// several DataBlocks (`bChainParameter` 1 or 3) is collected by asking with empty XfrBlocks
/// (`wLevelParameter` 0x10).
#[derive(Debug)]
pub struct ApduExchange {
    rest: Vec<u8>,
    chunk: usize,
    response: Vec<u8>,
    sending: bool,
    extended: bool,
}

impl ApduExchange {
    /// Starts sending `apdu` through `host` at `level`; returns the first message.
    pub fn start(host: &mut Host, level: ExchangeLevel, apdu: &[u8]) -> Result<(Self, Vec<u8>), ReaderError> {
        let extended = match level {
            ExchangeLevel::ShortApdu => {
                if apdu.len() > 261 {
                    return Err(ReaderError::Unsupported(
                        "an extended APDU on a short-APDU reader".into(),
                    ));
                }
                false
            }
            ExchangeLevel::ExtendedApdu => true,
            other => return Err(ReaderError::Unsupported(format!("APDU exchange at {other:?} level"))),
        };
        if apdu.len() > MAX_APDU {
            return Err(ReaderError::TooLong(apdu.len()));
        }
        let chunk = host.max_message() - HEADER;
        let mut x = Self {
            rest: apdu.to_vec(),
            chunk,
            response: Vec::new(),
            sending: true,
            extended,
        };
        let first = x.next_command(host, true)?;
        Ok((x, first))
    }

    fn next_command(&mut self, host: &mut Host, first: bool) -> Result<Vec<u8>, ReaderError> {
        let n = self.chunk.min(self.rest.len());
        let part: Vec<u8> = self.rest.drain(..n).collect();
        let more = !self.rest.is_empty();
        let level = match (first, more) {
            (true, false) => 0x0000,
            (true, true) => 0x0001,
            (false, false) => 0x0002,
            (false, true) => 0x0003,
        };
        self.sending = more;
        host.xfr_block(&part, 0, level)
    }

    /// Takes one reply message; returns the next step.
    pub fn on_reply(&mut self, host: &mut Host, m: &[u8]) -> Result<Step, ReaderError> {
        match host.on_reply(m)? {
            Reply::TimeExtension(_) => Ok(Step::Wait),
            Reply::Data { data, chain } => {
                if self.sending {
                    if !data.is_empty() || chain != 0x10 && chain != 0 {
                        return Err(ReaderError::Protocol("data before the command chain ended".into()));
                    }
                    return Ok(Step::Send(self.next_command(host, false)?));
                }
                if self.response.len() + data.len() > MAX_APDU {
                    return Err(ReaderError::TooLong(self.response.len() + data.len()));
                }
                self.response.extend_from_slice(&data);
                match chain {
                    0 | 2 => Ok(Step::Done(std::mem::take(&mut self.response))),
                    1 | 3 if self.extended => Ok(Step::Send(host.xfr_block(&[], 0, 0x0010)?)),
                    c => Err(ReaderError::Protocol(format!("bChainParameter {c}"))),
                }
            }
            other => Err(ReaderError::Protocol(format!("{other:?} in an APDU exchange"))),
        }
    }
}

/// The default T=1 parameters for SetParameters (`bmFindexDindex`, `bmTCCKST1`, `bGuardTimeT1`,
/// `bWaitingIntegersT1`, `bClockStop`, `bIFSC`, `bNadValue`) from ATR values.
pub fn t1_parameters(fi_di: u8, crc: bool, guard: u8, bwi_cwi: u8, ifsc: u8) -> [u8; 7] {
    [fi_di, 0x10 | u8::from(crc), guard, bwi_cwi, 0, ifsc, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_takes_the_next_bseq_and_skips_stale_answers() {
        let mut h = Host::new(0, 271);
        h.power_on(Voltage::V5).unwrap();
        h.xfr_block(&[0; 4], 0, 0).unwrap();
        let (seq, m) = h.abort().unwrap();
        assert_eq!((seq, abort_value(seq, h.slot())), (2, 0x0200));
        assert_eq!(m, [0x72, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
        let late = message(rdr_to_pc::DATA_BLOCK, 0, 1, [0, 0, 0], &[0x90, 0]).unwrap();
        assert!(is_stale(&late, seq) && is_stale(&m, seq) && is_stale(&[], seq));
        let ok = message(rdr_to_pc::SLOT_STATUS, 0, 2, [0, 0, 0], &[]).unwrap();
        assert!(!is_stale(&ok, seq));
        assert_eq!(h.on_reply(&ok).unwrap(), Reply::SlotStatus(IccStatus::Active));
    }
}
