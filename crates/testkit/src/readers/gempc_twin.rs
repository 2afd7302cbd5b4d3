//! A GemPC Twin serial CCID reader (test equipment), as libccid's serial driver expects it:
//! echo of each host frame, `03 06 <CCID> LRC` answers, NAK (`03 15 16`) for a bad LRC and a
//! resend when the host NAKs, firmware text for Escape 02, slot status, power on/off, PPS and
//! SetParameters, and XfrBlock carrying TPDUs: T=1 blocks (through [`T1Card`]) or T=0 commands.
//! Knobs for tests: time extensions before each answer, a card removed after N APDUs, an answer
//! withheld once (then PC_to_RDR_Abort honoured, optionally after the late answer; or a reader
//! that hangs and never confirms).

use super::Emulator;
use super::t1_card::T1Card;
use crate::virtual_card::VirtualCard;
use hoviat::reader::ccid::{self, pc_to_rdr, rdr_to_pc};
use hoviat::reader::t1::{Edc, lrc};
use hoviat::reader::twin;

/// The firmware text libccid prints (`GemTwin V1.00`).
pub const FIRMWARE: &[u8] = b"GemTwin V1.00";

/// The emulated reader with its card.
pub struct GemPcTwin {
    card: Box<dyn VirtualCard>,
    buf: Vec<u8>,
    last: Vec<u8>,
    present: bool,
    powered: bool,
    protocol: u8,
    t1: T1Card,
    t0_held: Vec<u8>,
    apdus: usize,
    /// Echo host frames (GemPCTwin: yes).
    pub echo: bool,
    /// Send this many time-extension DataBlocks before each XfrBlock answer.
    pub time_extensions: u8,
    /// Remove the card when this many APDUs have been answered (the next XfrBlock fails).
    pub remove_after: Option<usize>,
    /// Send `50 02` / `50 03` when the card moves.
    pub notify: bool,
    /// Under T=1 the card asks for this waiting-time extension (S(WTX)) before each answer.
    pub wtx: Option<u8>,
    /// A short-APDU-level reader (USB only): XfrBlock carries the APDU itself, SetParameters
    /// is not needed.
    pub apdu_level: bool,
    /// An extended-APDU-level reader (USB only): `Some(n)` — XfrBlock carries the APDU, in a
    /// chain of `n`-byte parts when longer (`wLevelParameter` 1, 3, ..., 2), and responses
    /// longer than `n` come back in parts (`bChainParameter` 1, 3, ..., 2), each further part
    /// asked for with an empty XfrBlock (`wLevelParameter` 0x10). Takes precedence over
    /// `apdu_level`.
    pub extended_apdu: Option<usize>,
    chain_in: Vec<u8>,
    chain_out: Vec<u8>,
    /// Withhold the answer to the first XfrBlock after which the card has answered more than
    /// this many APDUs (once): the host sees a reader that does not answer, and gives up
    /// (cancels, times out) and aborts.
    pub stall_after: Option<usize>,
    /// When the withheld answer's command is aborted, send that answer (with its old `bSeq`)
    /// before the Abort's SlotStatus: a late answer the host must skip.
    pub late_answer: bool,
    /// Once stalled, the reader answers nothing more (it never confirms an abort).
    pub hang: bool,
    /// USB: PC_to_RDR_Abort is carried out only together with the ABORT class request of the
    /// same `bSeq` and slot ([`GemPcTwin::control_abort`]), whichever comes first (CCID 1.1
    /// 5.3.1). A serial reader has no control pipe: false.
    pub abort_control: bool,
    held: Option<Vec<u8>>,
    stalled: bool,
    hung: bool,
    aborts: usize,
    armed: Option<u16>,
    abort_waiting: Option<Vec<u8>>,
}

impl GemPcTwin {
    /// A reader with `card` inserted.
    pub fn new(card: Box<dyn VirtualCard>) -> Self {
        Self {
            card,
            buf: Vec::new(),
            last: Vec::new(),
            present: true,
            powered: false,
            protocol: 0,
            t1: T1Card::new(Edc::Lrc),
            t0_held: Vec::new(),
            apdus: 0,
            echo: true,
            time_extensions: 0,
            remove_after: None,
            notify: true,
            wtx: None,
            apdu_level: false,
            extended_apdu: None,
            chain_in: Vec::new(),
            chain_out: Vec::new(),
            stall_after: None,
            late_answer: false,
            hang: false,
            abort_control: false,
            held: None,
            stalled: false,
            hung: false,
            aborts: 0,
            armed: None,
            abort_waiting: None,
        }
    }

    /// Whether an answer is being withheld (see [`GemPcTwin::stall_after`]).
    pub fn stalled(&self) -> bool {
        self.stalled
    }

    /// Aborts carried out (answered with a SlotStatus).
    pub fn aborts(&self) -> usize {
        self.aborts
    }

    /// The CCID ABORT class request (`wValue` = `bSeq` << 8 | slot): carries out a
    /// PC_to_RDR_Abort of the same `bSeq` that already arrived, else arms for it. Returns the
    /// reader's framed answer, if any.
    pub fn control_abort(&mut self, value: u16) -> Vec<u8> {
        if self.hung {
            return Vec::new();
        }
        match self.abort_waiting.take() {
            Some(m) if abort_value(&m) == value => {
                let out = self.abort_reply(&m);
                self.last = last_frame(&out);
                out
            }
            other => {
                self.abort_waiting = other;
                self.armed = Some(value);
                Vec::new()
            }
        }
    }

    fn abort_reply(&mut self, m: &[u8]) -> Vec<u8> {
        self.armed = None;
        self.aborts += 1;
        self.stalled = false;
        let mut out = Vec::new();
        if let Some(late) = self.held.take()
            && self.late_answer
        {
            out.extend(late);
        }
        // The aborted command's state goes with it.
        self.chain_in.clear();
        self.chain_out.clear();
        self.t0_held.clear();
        out.extend(self.reply(rdr_to_pc::SLOT_STATUS, m, self.icc(), 0, 0, &[]));
        out
    }

    /// Inserts or removes the card.
    pub fn set_present(&mut self, present: bool) -> Vec<u8> {
        if self.present == present {
            return Vec::new();
        }
        self.present = present;
        self.powered = false;
        if self.notify {
            vec![rdr_to_pc::NOTIFY_SLOT_CHANGE, if present { 0x03 } else { 0x02 }]
        } else {
            Vec::new()
        }
    }

    fn icc(&self) -> u8 {
        match (self.present, self.powered) {
            (false, _) => 2,
            (true, false) => 1,
            (true, true) => 0,
        }
    }

    fn reply(&self, kind: u8, cmd: &[u8], status: u8, error: u8, p: u8, data: &[u8]) -> Vec<u8> {
        let mut m = ccid::message(kind, cmd[5], cmd[6], [status, error, p], data).unwrap_or_default();
        if m.is_empty() {
            m = ccid::message(kind, cmd[5], cmd[6], [0x40 | self.icc(), 0xFB, 0], &[]).unwrap_or_default();
        }
        twin::frame(&m)
    }

    fn fail(&self, kind: u8, cmd: &[u8], error: u8) -> Vec<u8> {
        self.reply(kind, cmd, 0x40 | self.icc(), error, 0, &[])
    }

    fn answer_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.apdus += 1;
        self.card.process(apdu)
    }

    fn t0(&mut self, tpdu: &[u8]) -> Vec<u8> {
        if tpdu.len() < 5 {
            return vec![0x67, 0x00];
        }
        if tpdu[1] == 0xC0 && !self.t0_held.is_empty() {
            let le = if tpdu[4] == 0 { 256 } else { usize::from(tpdu[4]) };
            let n = le.min(self.t0_held.len());
            let mut r: Vec<u8> = self.t0_held.drain(..n).collect();
            let left = self.t0_held.len();
            r.extend_from_slice(&if left == 0 {
                [0x90, 0x00]
            } else {
                [0x61, u8::try_from(left.min(256) % 256).unwrap_or(0)]
            });
            return r;
        }
        self.t0_held.clear();
        let r = self.answer_apdu(tpdu);
        if tpdu.len() > 5 && r.len() > 2 {
            // Case 4 under T=0: the data waits for GET RESPONSE.
            let (data, sw) = r.split_at(r.len() - 2);
            if sw[0] == 0x90 || sw[0] == 0x61 {
                self.t0_held = data.to_vec();
                return vec![0x61, u8::try_from(data.len().min(256) % 256).unwrap_or(0)];
            }
        }
        r
    }

    fn command(&mut self, m: &[u8]) -> Vec<u8> {
        if self.hung {
            return Vec::new();
        }
        let out = self.command_inner(m);
        if m[0] == pc_to_rdr::XFR_BLOCK
            && let Some(n) = self.stall_after
            && self.apdus > n
        {
            self.stall_after = None;
            self.stalled = true;
            self.hung = self.hang;
            self.held = Some(out);
            return Vec::new();
        }
        out
    }

    fn command_inner(&mut self, m: &[u8]) -> Vec<u8> {
        let data = &m[ccid::HEADER..];
        match m[0] {
            pc_to_rdr::ESCAPE => match data {
                [0x02] => self.reply(rdr_to_pc::ESCAPE, m, self.icc(), 0, 0, FIRMWARE),
                _ => self.reply(rdr_to_pc::ESCAPE, m, self.icc(), 0, 0, &[]),
            },
            pc_to_rdr::GET_SLOT_STATUS => self.reply(rdr_to_pc::SLOT_STATUS, m, self.icc(), 0, 0, &[]),
            pc_to_rdr::ICC_POWER_ON => {
                if !self.present {
                    return self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::ICC_MUTE);
                }
                self.card.power(false);
                self.card.power(true);
                self.powered = true;
                self.protocol = 0;
                self.t1 = T1Card::new(Edc::Lrc);
                self.t1.wtx = self.wtx;
                self.t0_held.clear();
                let atr = self.card.atr();
                self.reply(rdr_to_pc::DATA_BLOCK, m, 0, 0, 0, &atr)
            }
            pc_to_rdr::ICC_POWER_OFF => {
                if self.powered {
                    self.card.power(false);
                }
                self.powered = false;
                self.reply(rdr_to_pc::SLOT_STATUS, m, self.icc(), 0, 0, &[])
            }
            pc_to_rdr::SET_PARAMETERS => {
                if !self.present {
                    return self.fail(rdr_to_pc::PARAMETERS, m, ccid::berror::ICC_MUTE);
                }
                self.protocol = m[7];
                if self.protocol == 1 {
                    let crc = data.get(1).is_some_and(|b| b & 1 != 0);
                    self.t1 = T1Card::new(if crc { Edc::Crc } else { Edc::Lrc });
                    self.t1.wtx = self.wtx;
                }
                self.reply(rdr_to_pc::PARAMETERS, m, self.icc(), 0, self.protocol, data)
            }
            pc_to_rdr::GET_PARAMETERS => {
                let p = [0x11, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00];
                self.reply(rdr_to_pc::PARAMETERS, m, self.icc(), 0, 1, &p)
            }
            pc_to_rdr::XFR_BLOCK => {
                if self.present && self.remove_after.is_some_and(|n| self.apdus >= n) {
                    let mut out = self.set_present(false);
                    out.extend(self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::ICC_MUTE));
                    return out;
                }
                if !self.present || !self.powered {
                    return self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::ICC_MUTE);
                }
                let level = u16::from_le_bytes([m[8], m[9]]);
                if let Some(part) = self.extended_apdu {
                    return self.extended_xfr(m, level, data, part.max(1));
                }
                let answer = if self.apdu_level {
                    // Short APDU level: one whole command, no chaining.
                    if level != 0 || data.len() > 261 {
                        return self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::CMD_NOT_SUPPORTED);
                    }
                    self.answer_apdu(data)
                } else if data.first() == Some(&0xFF) {
                    // PPS: accept what the host proposes (echo).
                    data.to_vec()
                } else if self.protocol == 1 {
                    let mut t1 = std::mem::replace(&mut self.t1, T1Card::new(Edc::Lrc));
                    let r = t1.on_block(data, &mut |apdu| self.answer_apdu(apdu));
                    self.t1 = t1;
                    r
                } else {
                    self.t0(data)
                };
                let mut out = Vec::new();
                for _ in 0..self.time_extensions {
                    out.extend(self.reply(rdr_to_pc::DATA_BLOCK, m, 0x80 | self.icc(), 1, 0, &[]));
                }
                out.extend(self.reply(rdr_to_pc::DATA_BLOCK, m, self.icc(), 0, 0, &answer));
                out
            }
            pc_to_rdr::ABORT => {
                if self.abort_control && self.armed != Some(abort_value(m)) {
                    // Waits for the ABORT class request.
                    self.abort_waiting = Some(m.to_vec());
                    return Vec::new();
                }
                self.abort_reply(m)
            }
            _ => self.fail(rdr_to_pc::SLOT_STATUS, m, ccid::berror::CMD_NOT_SUPPORTED),
        }
    }
}

impl GemPcTwin {
    /// XfrBlock at the extended APDU level (see [`GemPcTwin::extended_apdu`]).
    fn extended_xfr(&mut self, m: &[u8], level: u16, data: &[u8], part: usize) -> Vec<u8> {
        let ok = |this: &Self, p: u8, d: &[u8]| this.reply(rdr_to_pc::DATA_BLOCK, m, this.icc(), 0, p, d);
        let command = match level {
            0x0000 => {
                self.chain_in.clear();
                data.to_vec()
            }
            0x0001 | 0x0003 => {
                if (level == 0x0001) != self.chain_in.is_empty()
                    || self.chain_in.len() + data.len() > hoviat::reader::MAX_APDU
                {
                    self.chain_in.clear();
                    return self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::CMD_NOT_SUPPORTED);
                }
                self.chain_in.extend_from_slice(data);
                // More of the command is expected: an empty block, "continue".
                return ok(self, 0x10, &[]);
            }
            0x0002 => {
                if self.chain_in.is_empty() {
                    return self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::CMD_NOT_SUPPORTED);
                }
                let mut c = std::mem::take(&mut self.chain_in);
                c.extend_from_slice(data);
                c
            }
            0x0010 => {
                if self.chain_out.is_empty() {
                    return self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::CMD_NOT_SUPPORTED);
                }
                let n = part.min(self.chain_out.len());
                let chunk: Vec<u8> = self.chain_out.drain(..n).collect();
                return ok(self, if self.chain_out.is_empty() { 2 } else { 3 }, &chunk);
            }
            _ => return self.fail(rdr_to_pc::DATA_BLOCK, m, ccid::berror::CMD_NOT_SUPPORTED),
        };
        let answer = self.answer_apdu(&command);
        let mut out = Vec::new();
        for _ in 0..self.time_extensions {
            out.extend(self.reply(rdr_to_pc::DATA_BLOCK, m, 0x80 | self.icc(), 1, 0, &[]));
        }
        if answer.len() <= part {
            self.chain_out.clear();
            out.extend(ok(self, 0, &answer));
        } else {
            self.chain_out = answer[part..].to_vec();
            out.extend(ok(self, 1, &answer[..part]));
        }
        out
    }
}

impl Emulator for GemPcTwin {
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            match self.buf.as_slice() {
                [] | [twin::SYNC] | [twin::SYNC, twin::NAK_BYTE] => break,
                [twin::SYNC, twin::NAK_BYTE, _, ..] => {
                    let f: Vec<u8> = self.buf.drain(..3).collect();
                    if self.echo {
                        out.extend_from_slice(&f);
                    }
                    out.extend_from_slice(&self.last);
                }
                [twin::SYNC, twin::ACK, rest @ ..] => {
                    let Some(len) = ccid::message_len(rest) else { break };
                    if len > ccid::MAX_MESSAGE {
                        self.buf.clear();
                        out.extend_from_slice(&twin::NAK);
                        break;
                    }
                    if rest.len() < len + 1 {
                        break;
                    }
                    let f: Vec<u8> = self.buf.drain(..len + 3).collect();
                    if self.echo {
                        out.extend_from_slice(&f);
                    }
                    if lrc(&f) != 0 {
                        out.extend_from_slice(&twin::NAK);
                        continue;
                    }
                    let answer = self.command(&f[2..2 + len]);
                    // What a NAK resends: the last frame (after any notice and time extensions).
                    self.last = last_frame(&answer);
                    out.extend(answer);
                }
                _ => {
                    // Garbage between frames: drop one byte and resynchronise on SYNC.
                    self.buf.remove(0);
                }
            }
        }
        out
    }

    fn apdus(&self) -> usize {
        self.apdus
    }
}

/// `wValue` of the ABORT class request that goes with the Abort message `m`.
fn abort_value(m: &[u8]) -> u16 {
    ccid::abort_value(m[6], m[5])
}

/// The last `03 06 ...` frame in `bytes` (frames are well formed: we made them).
fn last_frame(bytes: &[u8]) -> Vec<u8> {
    let mut i = 0;
    let mut last = Vec::new();
    while i < bytes.len() {
        if bytes[i] == twin::SYNC && bytes.get(i + 1) == Some(&twin::ACK) {
            let len = ccid::message_len(&bytes[i + 2..]).unwrap_or(0);
            let end = (i + 2 + len + 1).min(bytes.len());
            last = bytes[i..end].to_vec();
            i = end;
        } else {
            i += 1;
        }
    }
    last
}
