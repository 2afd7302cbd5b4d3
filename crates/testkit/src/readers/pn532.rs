//! A PN532 module on HSU (test equipment) with one ISO 14443-4 type-A card in its field: ACKs
//! every command, NACKs a corrupt frame, resends its answer on the host's NACK, and answers
//! what libnfc's `pn532_uart` driver and a contactless APDU bridge send (Diagnose,
//! GetFirmwareVersion, SAMConfiguration, registers, RF settings, InListPassiveTarget,
//! InDataExchange with chaining, InDeselect, InRelease). The card's APDUs go to a virtual card.
//! The host's ACK frame aborts a command in progress (user manual 6.2.1.3): with
//! [`Pn532::stall_after`] an InDataExchange answer is withheld once, for the host to abort.

use super::{Emulator, historical_bytes};
use crate::virtual_card::VirtualCard;
use hoviat::reader::pn532::{self, Deframer, Frame, MAX_EXCHANGE_DATA, TFI_CHIP, TFI_HOST, cmd};

/// The firmware this module reports (IC PN532, version 1.6, ISO 14443-A/B and ISO 18092).
pub const FIRMWARE: [u8; 4] = [0x32, 0x01, 0x06, 0x07];

/// The emulated module.
pub struct Pn532 {
    card: Box<dyn VirtualCard>,
    de: Deframer,
    last: Vec<u8>,
    /// The card's UID (4 bytes: ATQA 00 04).
    pub uid: Vec<u8>,
    /// SAK (0x20: ISO 14443-4).
    pub sak: u8,
    present: bool,
    active: bool,
    cmd: Vec<u8>,
    out: Vec<u8>,
    apdus: usize,
    /// The card leaves the field after this many APDUs.
    pub remove_after: Option<usize>,
    /// Withhold the answer to the first InDataExchange after which the card has answered more
    /// than this many APDUs (once; the command is ACKed): the host gives up and aborts with an
    /// ACK frame.
    pub stall_after: Option<usize>,
    /// When the host's ACK aborts the withheld command, send its answer anyway (it was on its
    /// way): a late answer the host must skip.
    pub late_answer: bool,
    /// Once stalled, the module answers nothing more (an abort is never confirmed).
    pub hang: bool,
    held: Option<Vec<u8>>,
    hung: bool,
    aborts: usize,
}

impl Pn532 {
    /// A module with `card` in its field; `uid` is its 4-byte UID.
    pub fn new(card: Box<dyn VirtualCard>, uid: [u8; 4]) -> Self {
        Self {
            card,
            de: Deframer::default(),
            last: Vec::new(),
            uid: uid.to_vec(),
            sak: 0x20,
            present: true,
            active: false,
            cmd: Vec::new(),
            out: Vec::new(),
            apdus: 0,
            remove_after: None,
            stall_after: None,
            late_answer: false,
            hang: false,
            held: None,
            hung: false,
            aborts: 0,
        }
    }

    /// Whether an answer is being withheld (see [`Pn532::stall_after`]).
    pub fn stalled(&self) -> bool {
        self.held.is_some()
    }

    /// Commands aborted by the host's ACK frame.
    pub fn aborts(&self) -> usize {
        self.aborts
    }

    /// The ATS the card sends: TL, T0 (FSCI 8 = 256 bytes, TA TB TC follow), TA, TB, TC, then
    /// the contact ATR's historical bytes.
    pub fn ats(&self) -> Vec<u8> {
        let hist = historical_bytes(&self.card.atr());
        let mut ats = vec![0, 0x78, 0x77, 0x71, 0x02];
        ats.extend_from_slice(&hist[..hist.len().min(15)]);
        ats[0] = u8::try_from(ats.len()).unwrap_or(0);
        ats
    }

    fn answer(&mut self, code: u8, data: &[u8]) -> Vec<u8> {
        let mut d = vec![code.wrapping_add(1)];
        d.extend_from_slice(data);
        pn532::frame(TFI_CHIP, &d).unwrap_or_else(|_| pn532::ERROR_FRAME.to_vec())
    }

    fn exchange(&mut self, p: &[u8]) -> Vec<u8> {
        let Some((&tg, data)) = p.split_first() else {
            return vec![0x27];
        };
        if !self.present || !self.active || tg & 0x3F != 1 {
            return vec![if self.present && self.active { 0x27 } else { 0x01 }];
        }
        if data.is_empty() && tg & 0x40 == 0 && !self.out.is_empty() {
            return self.next_out();
        }
        self.cmd.extend_from_slice(data);
        if tg & 0x40 != 0 {
            return vec![0x00];
        }
        if self.remove_after.is_some_and(|n| self.apdus >= n) {
            self.present = false;
            self.active = false;
            self.cmd.clear();
            return vec![0x01];
        }
        let apdu = std::mem::take(&mut self.cmd);
        self.apdus += 1;
        self.out = self.card.process(&apdu);
        self.next_out()
    }

    fn next_out(&mut self) -> Vec<u8> {
        let n = MAX_EXCHANGE_DATA.min(self.out.len());
        let part: Vec<u8> = self.out.drain(..n).collect();
        let mut r = vec![if self.out.is_empty() { 0x00 } else { 0x40 }];
        r.extend_from_slice(&part);
        r
    }

    fn command(&mut self, code: u8, p: &[u8]) -> Vec<u8> {
        let data: Vec<u8> = match code {
            cmd::DIAGNOSE => p.to_vec(),
            cmd::GET_FIRMWARE_VERSION => FIRMWARE.to_vec(),
            // ReadRegister: one byte per 2-byte address.
            0x06 => vec![0; p.len() / 2],
            cmd::IN_LIST_PASSIVE_TARGET => {
                if p.get(1) != Some(&0x00) || !self.present {
                    vec![0x00]
                } else {
                    self.card.power(false);
                    self.card.power(true);
                    self.active = true;
                    self.out.clear();
                    self.cmd.clear();
                    let mut d = vec![0x01, 0x01, 0x00, 0x04, self.sak, 4];
                    d.extend_from_slice(&self.uid);
                    d.extend(self.ats());
                    d
                }
            }
            cmd::IN_DATA_EXCHANGE => self.exchange(p),
            // InDeselect, InRelease: the target goes idle.
            0x44 | cmd::IN_RELEASE => {
                self.active = false;
                vec![0x00]
            }
            // InCommunicateThru (raw frames for other card types): nothing answers (time-out).
            0x42 => vec![0x01],
            // InSelect, InATR, InPSL: status OK with nothing.
            0x54 | 0x50 | 0x4E => vec![0x00],
            // PowerDown: status OK.
            0x16 => vec![0x00],
            // GetGeneralStatus: no error, field off, no target.
            0x04 => vec![0x00, 0x00, 0x00, 0x00],
            // SAMConfiguration, WriteRegister, SetParameters, RFConfiguration, and the rest.
            _ => Vec::new(),
        };
        self.answer(code, &data)
    }
}

impl Emulator for Pn532 {
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.hung {
            return Vec::new();
        }
        let mut out = Vec::new();
        let frames = match self.de.feed(bytes) {
            Ok(f) => f,
            Err(_) => {
                self.de = Deframer::default();
                return pn532::NACK.to_vec();
            }
        };
        for f in frames {
            match f {
                Frame::Info { tfi: TFI_HOST, data } if !data.is_empty() => {
                    out.extend_from_slice(&pn532::ACK);
                    let answer = self.command(data[0], &data[1..]);
                    if data[0] == cmd::IN_DATA_EXCHANGE
                        && let Some(n) = self.stall_after
                        && self.apdus > n
                    {
                        self.stall_after = None;
                        self.held = Some(answer);
                        if self.hang {
                            self.hung = true;
                            return out;
                        }
                        continue;
                    }
                    self.last.clone_from(&answer);
                    out.extend(answer);
                }
                Frame::Nack => out.extend_from_slice(&self.last),
                Frame::Corrupt => out.extend_from_slice(&pn532::NACK),
                // The host's ACK aborts the command in progress (user manual 6.2.1.3).
                Frame::Ack => {
                    if let Some(late) = self.held.take() {
                        self.aborts += 1;
                        self.cmd.clear();
                        self.out.clear();
                        if self.late_answer {
                            out.extend(late);
                        }
                    }
                }
                Frame::Error | Frame::Info { .. } => {}
            }
        }
        out
    }

    fn apdus(&self) -> usize {
        self.apdus
    }
}
