//! A USB CCID reader (test equipment) for a fake `navigator.usb`: the GemPC Twin emulator's
//! CCID core without the serial framing (no echo, no notices), one bulk-OUT message in, its
//! bulk-IN messages out, and a raw configuration descriptor declaring a TPDU-level reader
//! (dwFeatures 0x00010230, as libccid declares the Twin) with the CCID class descriptor.

use super::Emulator;
use super::gempc_twin::GemPcTwin;
use crate::virtual_card::VirtualCard;
use hoviat::reader::ccid;
use hoviat::reader::twin;

/// The emulated USB reader with its card.
pub struct UsbCcid {
    /// The CCID core (knobs: `time_extensions`, `remove_after`, `wtx`).
    pub core: GemPcTwin,
}

impl UsbCcid {
    /// A reader with `card` inserted.
    pub fn new(card: Box<dyn VirtualCard>) -> Self {
        let mut core = GemPcTwin::new(card);
        core.echo = false;
        core.notify = false;
        core.abort_control = true;
        Self { core }
    }

    /// One bulk-OUT transfer (a whole CCID message); returns the bulk-IN messages it causes.
    pub fn transfer(&mut self, message: &[u8]) -> Vec<Vec<u8>> {
        let framed = self.core.feed(&twin::frame(message));
        Self::unframe(&framed)
    }

    /// A class request to the interface (`bRequest`, `wValue`): ABORT (0x01) is carried out
    /// with the PC_to_RDR_Abort of the same `bSeq`; returns the bulk-IN messages it causes.
    /// Other requests (GET_CLOCK_FREQUENCIES, GET_DATA_RATES) cause none.
    pub fn control(&mut self, request: u8, value: u16) -> Vec<Vec<u8>> {
        if request != ccid::ABORT_REQUEST {
            return Vec::new();
        }
        let framed = self.core.control_abort(value);
        Self::unframe(&framed)
    }

    fn unframe(framed: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + 2 <= framed.len() {
            if framed[i] == twin::SYNC && framed[i + 1] == twin::ACK {
                let Some(len) = ccid::message_len(&framed[i + 2..]) else {
                    break;
                };
                let end = (i + 2 + len).min(framed.len());
                out.push(framed[i + 2..end].to_vec());
                i = end + 1;
            } else {
                i += 1;
            }
        }
        out
    }

    /// Command APDUs answered.
    pub fn apdus(&self) -> usize {
        self.core.apdus()
    }

    /// A short-APDU-level reader (dwFeatures 0x000204BA, as many desktop USB readers declare)
    /// with `card` inserted: the APDU travels in XfrBlock as it is.
    pub fn new_apdu_level(card: Box<dyn VirtualCard>) -> Self {
        let mut r = Self::new(card);
        r.core.apdu_level = true;
        r
    }

    /// An extended-APDU-level reader (dwFeatures 0x000404BA) with `card` inserted: commands
    /// longer than the host's messages arrive chained, and it returns responses longer than
    /// `part` bytes in a chain of `part`-byte blocks (a reader may split below its message
    /// size), so that both chains are exercised with ordinary card dialogues.
    pub fn new_extended_apdu_level(card: Box<dyn VirtualCard>, part: usize) -> Self {
        let mut r = Self::new(card);
        r.core.extended_apdu = Some(part.clamp(1, 65_536));
        r
    }

    /// The configuration descriptor of [`UsbCcid::new`] (TPDU level).
    pub fn config_descriptor(class: u8) -> Vec<u8> {
        Self::config_descriptor_with(class, 0x0001_0230)
    }

    /// A configuration descriptor with one CCID interface of `class` (0x0B smart card, or 0xFF
    /// vendor) declaring `features` (dwFeatures), bulk OUT 0x01, bulk IN 0x82, interrupt IN 0x83.
    pub fn config_descriptor_with(class: u8, features: u32) -> Vec<u8> {
        Self::config_descriptor_sized(class, features, 271)
    }

    /// As [`UsbCcid::config_descriptor_with`], with dwMaxCCIDMessageLength `max_message`.
    pub fn config_descriptor_sized(class: u8, features: u32, max_message: u32) -> Vec<u8> {
        let mut d = vec![54, 0x21, 0x10, 0x01, 0x00, 0x07, 0x02, 0, 0, 0];
        d.resize(54, 0);
        d[10..14].copy_from_slice(&4000u32.to_le_bytes()); // dwDefaultClock
        d[14..18].copy_from_slice(&4000u32.to_le_bytes()); // dwMaximumClock
        d[19..23].copy_from_slice(&10752u32.to_le_bytes()); // dwDataRate
        d[23..27].copy_from_slice(&10752u32.to_le_bytes()); // dwMaxDataRate
        d[28..32].copy_from_slice(&254u32.to_le_bytes()); // dwMaxIFSD
        d[40..44].copy_from_slice(&features.to_le_bytes()); // dwFeatures
        d[44..48].copy_from_slice(&max_message.to_le_bytes()); // dwMaxCCIDMessageLength
        d[48] = 0xFF; // bClassGetResponse
        d[49] = 0xFF; // bClassEnvelope
        d[53] = 1; // bMaxCCIDBusySlots
        let iface = vec![9, 0x04, 0, 0, 3, class, 0, 0, 0];
        let eps = [
            vec![7, 0x05, 0x01, 0x02, 0x40, 0x00, 0],
            vec![7, 0x05, 0x82, 0x02, 0x40, 0x00, 0],
            vec![7, 0x05, 0x83, 0x03, 0x08, 0x00, 0x10],
        ]
        .concat();
        let body = [iface, d, eps].concat();
        let total = u16::try_from(9 + body.len()).unwrap_or(0).to_le_bytes();
        [vec![9, 0x02, total[0], total[1], 1, 1, 0, 0x80, 50], body].concat()
    }
}
