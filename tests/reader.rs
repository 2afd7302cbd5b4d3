//! Direct-reader protocols (`hoviat::reader`): CCID, T=1, the GemPC Twin serial framing and the
//! PN532 framing, against exchanges recorded from libccid 1.5.2 and libnfc 1.8.0 (through
//! `scripts/reader-tests.sh`'s pty set-up) and against the reader emulators in process.

use hoviat::card::{self, Transport, TransportError, block_on};
use hoviat::error::Coded;
use hoviat::reader::ccid::{self, ExchangeLevel, IccStatus, Reply, Voltage};
use hoviat::reader::t1::{self, Block, Edc};
use hoviat::reader::twin::{self, Event};
use hoviat::reader::{ReaderError, Step, pn532};
use hoviat_testkit::readers::gempc_twin::GemPcTwin;
use hoviat_testkit::readers::pn532::Pn532;
use hoviat_testkit::readers::t1_card::T1Card;
use hoviat_testkit::readers::{Emulator, historical_bytes};
use hoviat_testkit::virtual_card::{self as vc, VirtualCard};

mod common;
use common::{hex, reg};

fn ir_card() -> Box<dyn VirtualCard> {
    vc::for_holder(reg(), 0, true).unwrap()
}

fn piv_card() -> Box<dyn VirtualCard> {
    vc::for_holder(reg(), 1, false).unwrap()
}

// ---- GemPC Twin framing and CCID, against libccid's recorded frames ---------------------------

/// libccid's first frame (Escape 02 = get firmware, bSeq 0) and the answer it accepted.
#[test]
fn twin_escape_matches_libccid_and_parses_split_answer() {
    let mut c = ccid::Host::new(0, 271);
    let mut s = twin::Host::new(true);
    let out = s.send(&c.escape(&[0x02]).unwrap());
    assert_eq!(out, hex("03 06 6B 01000000 00 00 000000 02 6D"));
    // Echo, then the answer, delivered one byte at a time (a serial port splits anywhere).
    let answer = hex("03 06 83 0D000000 00 00 01 00 00 47656D5477696E2056312E3030 88");
    let mut events = Vec::new();
    for b in out.iter().chain(&answer) {
        events.extend(s.feed(&[*b]).unwrap());
    }
    let [Event::Message(m)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(c.on_reply(m).unwrap(), Reply::Escape(b"GemTwin V1.00".to_vec()));
}

/// A T=1 IFSD negotiation and SELECT as libccid sent them (bSeq 0x16, 0x7D) and the answers.
#[test]
fn t1_blocks_match_libccid() {
    let mut h = t1::Host::new(0xFE, Edc::Lrc);
    assert_eq!(h.negotiate_ifsd(0xFE).unwrap(), hex("00 C1 01 FE 3E"));
    assert_eq!(h.on_block(&hex("00 E1 01 FE 1E")).unwrap(), Step::Done(vec![]));
    let select = hex("00 A4 04 00 08 A0 00 00 00 18 43 4D 00");
    assert_eq!(h.start(&select).unwrap(), hex("00 00 0D 00A4040008A000000018434D00 13"));
    assert_eq!(h.on_block(&hex("00 00 02 90 00 92")).unwrap(), Step::Done(hex("90 00")));
    // The next I-block carries N(S) = 1, as libccid's did.
    assert_eq!(
        h.start(&hex("80 CA 9F 7F 2D")).unwrap(),
        hex("00 40 05 80 CA 9F 7F 2D C2")
    );
}

fn time_extension_then_answer() -> (ccid::Host, Vec<u8>) {
    let mut c = ccid::Host::new(0, 271);
    c.power_on(Voltage::V5).unwrap();
    let te = ccid::message(0x80, 0, 0, [0x80, 0x01, 0x00], &[]).unwrap();
    (c, te)
}

#[test]
fn ccid_time_extension_keeps_waiting() {
    let (mut c, te) = time_extension_then_answer();
    assert_eq!(c.on_reply(&te).unwrap(), Reply::TimeExtension(1));
    assert_eq!(c.on_reply(&te).unwrap(), Reply::TimeExtension(1));
    let atr = ccid::message(0x80, 0, 0, [0x00, 0x00, 0x00], &vc::PIV_ATR).unwrap();
    assert_eq!(
        c.on_reply(&atr).unwrap(),
        Reply::Data {
            data: vc::PIV_ATR.to_vec(),
            chain: 0
        }
    );
}

#[test]
fn ccid_wrong_bseq_is_a_protocol_error() {
    let mut c = ccid::Host::new(0, 271);
    c.get_slot_status().unwrap();
    let wrong = ccid::message(0x81, 0, 1, [0x01, 0x00, 0x00], &[]).unwrap();
    let e = c.on_reply(&wrong).unwrap_err();
    assert_eq!(e.code(), "READER_PROTOCOL_ERROR");
    assert!(e.to_string().contains("bSeq 1 (expected 0)"), "{e}");
}

#[test]
fn ccid_reply_checks() {
    let mut c = ccid::Host::new(0, 271);
    c.escape(&[]).unwrap();
    // Wrong type, wrong slot, a dwLength that lies, a reply with nothing in flight.
    let e = c
        .on_reply(&ccid::message(0x81, 0, 0, [0; 3], &[]).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("message type 0x81"), "{e}");
    let e = c
        .on_reply(&ccid::message(0x83, 1, 0, [0; 3], &[]).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("slot 1"), "{e}");
    let mut lying = ccid::message(0x83, 0, 0, [0; 3], &[1, 2]).unwrap();
    lying[1] = 200;
    assert_eq!(c.on_reply(&lying).unwrap_err().code(), "READER_PROTOCOL_ERROR");
    c.on_reply(&ccid::message(0x83, 0, 0, [0; 3], &[]).unwrap()).unwrap();
    assert_eq!(
        c.on_reply(&ccid::message(0x83, 0, 0, [0; 3], &[]).unwrap())
            .unwrap_err()
            .code(),
        "READER_PROTOCOL_ERROR"
    );
}

#[test]
fn ccid_berror_mapping() {
    let fail = |status: u8, error: u8, powered: bool| {
        let mut c = ccid::Host::new(0, 271);
        let mut seq = 0;
        if powered {
            c.power_on(Voltage::Auto).unwrap();
            c.on_reply(&ccid::message(0x80, 0, 0, [0; 3], &[0x3B, 0x00]).unwrap())
                .unwrap();
            seq = 1;
        }
        c.xfr_block(&[0x00], 0, 0).unwrap();
        c.on_reply(&ccid::message(0x80, 0, seq, [status, error, 0], &[]).unwrap())
            .unwrap_err()
    };
    assert_eq!(fail(0x42, 0xFE, true), ReaderError::CardRemoved);
    assert_eq!(fail(0x42, 0xFE, false), ReaderError::NoCard);
    assert_eq!(fail(0x41, 0xFE, true).code(), "CARD_TIMEOUT");
    assert_eq!(fail(0x40, 0xE0, true).code(), "READER_BUSY");
    assert_eq!(
        fail(0x40, 0xFD, true),
        ReaderError::Failed {
            during: "CCID XfrBlock",
            error: 0xFD
        }
    );
    assert_eq!(fail(0x40, 0xFD, true).code(), "READER_COMMAND_FAILED");
    assert_eq!(fail(0x40, 0x00, true).code(), "READER_UNSUPPORTED");
    assert_eq!(TransportError::from(fail(0x42, 0xFE, true)).code(), "CARD_REMOVED");
}

#[test]
fn twin_nak_resends_and_gives_up() {
    let mut s = twin::Host::new(false);
    let mut c = ccid::Host::new(0, 271);
    let first = s.send(&c.get_slot_status().unwrap());
    for _ in 0..twin::MAX_NAKS {
        assert_eq!(s.feed(&twin::NAK).unwrap(), vec![Event::Send(first.clone())]);
    }
    assert_eq!(s.feed(&twin::NAK).unwrap_err().code(), "READER_CHECKSUM_ERROR");
}

#[test]
fn twin_bad_lrc_is_naked_and_the_reader_resends() {
    let mut reader = GemPcTwin::new(ir_card());
    let mut s = twin::Host::new(true);
    let mut c = ccid::Host::new(0, 271);
    let out = reader.feed(&s.send(&c.get_slot_status().unwrap()));
    let mut corrupt = out.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    assert_eq!(s.feed(&corrupt).unwrap(), vec![Event::Send(twin::NAK.to_vec())]);
    // The emulator echoes our NAK, then resends its answer.
    let again = reader.feed(&twin::NAK);
    let events = s.feed(&again).unwrap();
    let [Event::Message(m)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(c.on_reply(m).unwrap(), Reply::SlotStatus(IccStatus::Inactive));
}

#[test]
fn twin_reader_naks_a_corrupt_host_frame() {
    let mut reader = GemPcTwin::new(ir_card());
    let mut f = twin::frame(&ccid::message(0x65, 0, 0, [0; 3], &[]).unwrap());
    let last = f.len() - 1;
    f[last] ^= 1;
    let out = reader.feed(&f);
    assert_eq!(&out[..f.len()], f.as_slice(), "echo first");
    assert_eq!(&out[f.len()..], &twin::NAK);
}

#[test]
fn twin_echo_mismatch_and_garbage() {
    let mut s = twin::Host::new(true);
    s.send(&[0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(s.feed(&[0x04]).unwrap_err().code(), "READER_PROTOCOL_ERROR");
    let mut s = twin::Host::new(false);
    assert_eq!(s.feed(&[0x03, 0x07]).unwrap_err().code(), "READER_PROTOCOL_ERROR");
    // A dwLength of 4 GiB is refused before any allocation.
    let mut s = twin::Host::new(false);
    assert_eq!(
        s.feed(&hex("03 06 80 FFFFFFFF 00 00 00 00 00")).unwrap_err().code(),
        "READER_PROTOCOL_ERROR"
    );
}

#[test]
fn twin_card_movement_notices() {
    let mut s = twin::Host::new(false);
    assert_eq!(s.feed(&[0x50, 0x02, 0x50]).unwrap(), vec![Event::CardMoved(false)]);
    assert_eq!(s.feed(&[0x03]).unwrap(), vec![Event::CardMoved(true)]);
}

// ---- A TPDU-level reader end to end: CCID over the serial framing, T=1 on top -----------------

/// hoviat's host side (twin framing + CCID + T=1) driving the emulated GemPC Twin in process,
/// as a [`Transport`].
struct TwinT1 {
    reader: GemPcTwin,
    serial: twin::Host,
    ccid: ccid::Host,
    t1: t1::Host,
    atr: Vec<u8>,
    queue: Vec<Vec<u8>>,
    time_extensions: usize,
    wtx: Vec<u8>,
}

impl TwinT1 {
    fn open(reader: GemPcTwin) -> Result<Self, ReaderError> {
        let mut t = Self {
            reader,
            serial: twin::Host::new(true),
            ccid: ccid::Host::new(0, 271),
            t1: t1::Host::new(32, Edc::Lrc),
            atr: Vec::new(),
            queue: Vec::new(),
            time_extensions: 0,
            wtx: Vec::new(),
        };
        let m = t.ccid.power_on(Voltage::V5)?;
        let Reply::Data { data: atr, .. } = t.roundtrip(m)? else {
            panic!("no ATR")
        };
        t.atr = atr;
        let m = t
            .ccid
            .set_parameters(1, &ccid::t1_parameters(0x11, false, 0, 0x45, 0xFE))?;
        t.roundtrip(m)?;
        let b = t.t1.negotiate_ifsd(0xFE)?;
        assert_eq!(t.block(b)?, Vec::<u8>::new());
        Ok(t)
    }

    /// Sends one CCID message; returns the first reply that is not a time extension.
    fn roundtrip(&mut self, msg: Vec<u8>) -> Result<Reply, ReaderError> {
        let mut out = self.reader.feed(&self.serial.send(&msg));
        loop {
            let mut next = Vec::new();
            for e in self.serial.feed(&out)? {
                match e {
                    Event::Message(m) => self.queue.push(m),
                    Event::Send(b) => next.extend(self.reader.feed(&b)),
                    Event::CardMoved(_) => {}
                }
            }
            while !self.queue.is_empty() {
                let m = self.queue.remove(0);
                match self.ccid.on_reply(&m)? {
                    Reply::TimeExtension(_) => self.time_extensions += 1,
                    r => {
                        self.queue.clear();
                        return Ok(r);
                    }
                }
            }
            if next.is_empty() {
                return Err(ReaderError::CardMute);
            }
            out = next;
        }
    }

    /// Runs T=1 blocks through XfrBlock until the exchange is done.
    fn block(&mut self, mut b: Vec<u8>) -> Result<Vec<u8>, ReaderError> {
        loop {
            let m = self.ccid.xfr_block(&b, 0, 0)?;
            let Reply::Data { data, .. } = self.roundtrip(m)? else {
                panic!("not a DataBlock")
            };
            match self.t1.on_block(&data)? {
                Step::Send(next) => {
                    if let Some(w) = self.t1.wtx() {
                        self.wtx.push(w);
                    }
                    b = next;
                }
                Step::Done(r) => return Ok(r),
                Step::Wait => unreachable!(),
            }
        }
    }
}

impl Transport for TwinT1 {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let b = self.t1.start(apdu)?;
        Ok(self.block(b)?)
    }
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        let m = self.ccid.get_slot_status()?;
        Ok(matches!(
            self.roundtrip(m)?,
            Reply::SlotStatus(IccStatus::Active | IccStatus::Inactive)
        ))
    }
}

#[test]
fn tpdu_reader_reads_the_iranian_card_with_time_extensions_and_wtx() {
    let mut reader = GemPcTwin::new(ir_card());
    reader.time_extensions = 2;
    reader.wtx = Some(3);
    let mut t = TwinT1::open(reader).unwrap();
    assert_eq!(t.atr, vc::IR_NID_ATR);
    let info = block_on(card::info(&mut t, &mut |_| {})).unwrap();
    assert_eq!(info.profile, card::Profile::IrNid);
    assert_eq!(info.certificates.len(), 2);
    let direct = block_on(card::info(&mut vc::VirtualTransport::new(ir_card()), &mut |_| {})).unwrap();
    assert_eq!(info.certificates[0].der, direct.certificates[0].der);
    assert_eq!(info.traffic.apdus, direct.traffic.apdus);
    // Every XfrBlock got two time extensions; every answer was preceded by S(WTX 3).
    assert!(t.time_extensions >= 2 * info.traffic.apdus, "{}", t.time_extensions);
    assert_eq!(t.wtx.len(), info.traffic.apdus);
    assert!(t.wtx.iter().all(|w| *w == 3));
}

#[test]
fn tpdu_reader_chains_long_commands_and_answers() {
    // IFSD 16 on the host side: the card chains every answer longer than 16 bytes.
    let mut t = TwinT1::open(GemPcTwin::new(piv_card())).unwrap();
    let b = t.t1.negotiate_ifsd(16).unwrap();
    t.block(b).unwrap();
    // A 305-byte command goes in 32-byte I-blocks (the card's IFSC) with the M bit.
    let mut long = vec![0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x2A];
    long.extend(std::iter::repeat_n(0x55, 298));
    let r = block_on(t.transmit(&long)).unwrap();
    let mut direct = piv_card();
    direct.power(true);
    assert_eq!(r, direct.process(&long));
    let info = block_on(card::info(&mut t, &mut |_| {})).unwrap();
    assert_eq!(info.profile, card::Profile::Piv);
    let want = block_on(card::info(&mut vc::VirtualTransport::new(piv_card()), &mut |_| {})).unwrap();
    assert_eq!(info.certificates[0].der, want.certificates[0].der);
}

#[test]
fn tpdu_reader_card_removed_mid_command() {
    let mut reader = GemPcTwin::new(piv_card());
    reader.remove_after = Some(2);
    let mut t = TwinT1::open(reader).unwrap();
    let e = block_on(card::info(&mut t, &mut |_| {})).unwrap_err();
    assert_eq!(e.code(), "CARD_REMOVED");
    assert!(!block_on(t.card_present()).unwrap());
}

// ---- T=1 error handling against recorded blocks ------------------------------------------------

#[test]
fn t1_edc_error_asks_again_then_resynchronises() {
    let mut h = t1::Host::new(32, Edc::Lrc);
    let first = h.start(&hex("00 A4 04 00 00")).unwrap();
    // A block with a broken LRC: R-block N(R)=0 with "EDC error".
    assert_eq!(
        h.on_block(&hex("00 00 02 90 00 00")).unwrap(),
        Step::Send(hex("00 81 00 81"))
    );
    assert_eq!(
        h.on_block(&hex("00 00 02 90 00 00")).unwrap(),
        Step::Send(hex("00 81 00 81"))
    );
    // Third failure: S(RESYNCH request).
    assert_eq!(
        h.on_block(&hex("00 00 02 90 00 00")).unwrap(),
        Step::Send(hex("00 C0 00 C0"))
    );
    // After S(RESYNCH response) the APDU goes again from the start with N(S) = 0.
    assert_eq!(h.on_block(&hex("00 E0 00 E0")).unwrap(), Step::Send(first));
    assert_eq!(h.on_block(&hex("00 00 02 90 00 92")).unwrap(), Step::Done(hex("90 00")));
}

#[test]
fn t1_gives_up_after_three_resynchronisations() {
    let mut h = t1::Host::new(32, Edc::Lrc);
    h.start(&hex("00 A4 04 00 00")).unwrap();
    let mut sent = Vec::new();
    let e = loop {
        match h.on_block(&hex("00 00 02 90 00 00")) {
            Ok(Step::Send(b)) => sent.push(b),
            Ok(other) => panic!("{other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.code(), "READER_CHECKSUM_ERROR");
    assert_eq!(sent.iter().filter(|b| **b == hex("00 C0 00 C0")).count(), 3);
}

#[test]
fn t1_wtx_and_ifs_requests_from_the_card() {
    let mut h = t1::Host::new(32, Edc::Lrc);
    h.start(&hex("00 B0 00 00 00")).unwrap();
    assert_eq!(
        h.on_block(&hex("00 C3 01 05 C7")).unwrap(),
        Step::Send(hex("00 E3 01 05 E7"))
    );
    assert_eq!(h.wtx(), Some(5));
    assert_eq!(
        h.on_block(&hex("00 C1 01 80 40")).unwrap(),
        Step::Send(hex("00 E1 01 80 60"))
    );
    assert_eq!(h.ifsc(), 0x80);
    assert_eq!(h.on_block(&hex("00 00 02 90 00 92")).unwrap(), Step::Done(hex("90 00")));
}

#[test]
fn t1_card_asks_for_our_block_again() {
    let mut h = t1::Host::new(32, Edc::Lrc);
    let first = h.start(&hex("00 A4 04 00 00")).unwrap();
    // R(N(R)=0): the card did not get our I(0): send it again.
    assert_eq!(h.on_block(&hex("00 81 00 81")).unwrap(), Step::Send(first));
}

#[test]
fn t1_abort_and_malformed_blocks() {
    let mut h = t1::Host::new(32, Edc::Lrc);
    h.start(&hex("00 A4 04 00 00")).unwrap();
    assert_eq!(
        h.on_block(&hex("00 C2 00 C2")).unwrap_err().code(),
        "READER_PROTOCOL_ERROR"
    );
    // LEN = 255 and a length that disagrees are "other" errors: R-block with error 2.
    h.start(&hex("00 A4 04 00 00")).unwrap();
    assert_eq!(h.on_block(&hex("00 00 FF 00")).unwrap(), Step::Send(hex("00 82 00 82")));
    assert_eq!(
        h.on_block(&hex("00 00 05 90 00 95")).unwrap(),
        Step::Send(hex("00 82 00 82"))
    );
}

#[test]
fn t1_crc_check_value_and_chaining_against_the_card_side() {
    // CRC-16, reflected 0x1021, init FFFF, no final XOR ("CRC-16/MCRF4XX"): check value 6F91.
    assert_eq!(t1::crc(b"123456789"), 0x6F91);
    let mut h = t1::Host::new(8, Edc::Crc);
    let mut card = T1Card::new(Edc::Crc);
    let b = h.negotiate_ifsd(8).unwrap();
    let r = card.on_block(&b, &mut |_| unreachable!());
    assert_eq!(h.on_block(&r).unwrap(), Step::Done(vec![]));
    assert_eq!(card.ifsd(), 8);
    let apdu: Vec<u8> = (0..40).collect();
    let answer: Vec<u8> = (100..150).collect();
    let mut got = Vec::new();
    let mut b = h.start(&apdu).unwrap();
    let mut blocks = 0;
    let result = loop {
        blocks += 1;
        let r = card.on_block(&b, &mut |cmd| {
            got = cmd.to_vec();
            answer.clone()
        });
        match h.on_block(&r).unwrap() {
            Step::Send(next) => b = next,
            Step::Done(x) => break x,
            Step::Wait => unreachable!(),
        }
    };
    assert_eq!(got, apdu);
    assert_eq!(result, answer);
    // 5 I-blocks out (40/8), then 6 R-blocks fetch the answer's 7 pieces (50/8).
    assert_eq!(blocks, 5 + 6);
    assert!(matches!(t1::decode(&b, Edc::Crc), Ok((0, Block::R { error: 0, .. }))));
}

// ---- CCID descriptors and APDU-level exchange ------------------------------------------------

fn config(ccid_after_endpoints: bool, features: u32, class: u8) -> Vec<u8> {
    let mut ccid = vec![54, 0x21, 0x10, 0x01, 0x00, 0x07, 0x03, 0, 0, 0];
    ccid.resize(54, 0);
    ccid[28..32].copy_from_slice(&254u32.to_le_bytes());
    ccid[40..44].copy_from_slice(&features.to_le_bytes());
    ccid[44..48].copy_from_slice(&271u32.to_le_bytes());
    let iface = vec![9, 0x04, 0, 0, 3, class, 0, 0, 0];
    let eps = [
        vec![7, 0x05, 0x01, 0x02, 0x40, 0x00, 0],
        vec![7, 0x05, 0x82, 0x02, 0x40, 0x00, 0],
        vec![7, 0x05, 0x83, 0x03, 0x08, 0x00, 0x10],
    ]
    .concat();
    let body = if ccid_after_endpoints {
        [iface, eps, ccid].concat()
    } else {
        [iface, ccid, eps].concat()
    };
    let total = u16::try_from(9 + body.len()).unwrap().to_le_bytes();
    [vec![9, 0x02, total[0], total[1], 1, 1, 0, 0x80, 50], body].concat()
}

#[test]
fn ccid_descriptor_from_configuration() {
    for after in [false, true] {
        let found = ccid::find_interfaces(&config(after, 0x0001_0230, 0x0B)).unwrap();
        let [i] = found.as_slice() else { panic!("{found:?}") };
        assert_eq!(
            (i.class, i.bulk_out, i.bulk_in, i.interrupt_in),
            (0x0B, Some(0x01), Some(0x82), Some(0x83))
        );
        assert_eq!(i.descriptor.level, ExchangeLevel::Tpdu);
        assert_eq!(i.descriptor.max_message_length, 271);
        assert_eq!(i.descriptor.max_ifsd, 254);
    }
    let ext = ccid::find_interfaces(&config(false, 0x0004_04BA, 0xFF)).unwrap();
    assert_eq!(ext[0].descriptor.level, ExchangeLevel::ExtendedApdu);
    assert_eq!(ext[0].class, 0xFF);
    let short = ccid::find_interfaces(&config(false, 0x0002_0000, 0x0B)).unwrap();
    assert_eq!(short[0].descriptor.level, ExchangeLevel::ShortApdu);
    // Another class (a keyboard): no CCID interface.
    assert!(
        ccid::find_interfaces(&config(false, 0x0002_0000, 0x03))
            .unwrap()
            .is_empty()
    );
    // Truncated and lying lengths.
    let mut bad = config(false, 0x0002_0000, 0x0B);
    bad[9] = 200;
    assert_eq!(ccid::find_interfaces(&bad).unwrap_err().code(), "READER_PROTOCOL_ERROR");
    for n in 0..40 {
        let _ = ccid::find_interfaces(&config(true, 0x0001_0000, 0x0B)[..n]);
    }
}

#[test]
fn ccid_extended_apdu_chains_both_ways() {
    let mut c = ccid::Host::new(0, 271);
    let apdu: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
    let (mut x, first) = ccid::ApduExchange::start(&mut c, ExchangeLevel::ExtendedApdu, &apdu).unwrap();
    // 261 + 261 + 78 bytes, wLevelParameter 1, 3, 2.
    let mut sent = vec![first];
    let mut seq = 0u8;
    let reply = |seq: u8, chain: u8, data: &[u8]| ccid::message(0x80, 0, seq, [0, 0, chain], data).unwrap();
    let mut step = x.on_reply(&mut c, &reply(seq, 0x10, &[])).unwrap();
    while let Step::Send(m) = &step {
        sent.push(m.clone());
        seq += 1;
        if sent.len() == 3 {
            break;
        }
        step = x.on_reply(&mut c, &reply(seq, 0x10, &[])).unwrap();
    }
    let levels: Vec<u16> = sent.iter().map(|m| u16::from_le_bytes([m[8], m[9]])).collect();
    assert_eq!(levels, [1, 3, 2]);
    assert_eq!(sent.iter().flat_map(|m| m[10..].to_vec()).collect::<Vec<_>>(), apdu);
    // The answer in two DataBlocks (bChainParameter 1, then 2); the host asks with level 0x10.
    let Step::Send(ask) = x.on_reply(&mut c, &reply(seq, 1, &[0xAA; 200])).unwrap() else {
        panic!()
    };
    assert_eq!(u16::from_le_bytes([ask[8], ask[9]]), 0x10);
    seq += 1;
    let done = x.on_reply(&mut c, &reply(seq, 2, &[0x90, 0x00])).unwrap();
    let mut want = vec![0xAA; 200];
    want.extend_from_slice(&[0x90, 0x00]);
    assert_eq!(done, Step::Done(want));
    // A short-APDU reader refuses an extended APDU.
    assert_eq!(
        ccid::ApduExchange::start(&mut c, ExchangeLevel::ShortApdu, &apdu)
            .unwrap_err()
            .code(),
        "READER_UNSUPPORTED"
    );
    assert_eq!(
        ccid::ApduExchange::start(&mut c, ExchangeLevel::Tpdu, &apdu[..5])
            .unwrap_err()
            .code(),
        "READER_UNSUPPORTED"
    );
}

// ---- PN532 ------------------------------------------------------------------------------------

#[test]
fn pn532_frames_match_libnfc() {
    // What libnfc 1.8.0 sent: SAMConfiguration(normal), GetFirmwareVersion, InListPassiveTarget.
    assert_eq!(
        pn532::frame(0xD4, &[0x14, 0x01]).unwrap(),
        hex("00 00 FF 03 FD D4 14 01 17 00")
    );
    assert_eq!(pn532::frame(0xD4, &[0x02]).unwrap(), hex("00 00 FF 02 FE D4 02 2A 00"));
    assert_eq!(
        pn532::frame(0xD4, &[0x4A, 0x01, 0x00]).unwrap(),
        hex("00 00 FF 04 FC D4 4A 01 00 E1 00")
    );
    // Extended frame for 300 bytes, and it deframes back.
    let data = vec![0x40; 300];
    let f = pn532::frame(0xD4, &data).unwrap();
    assert_eq!(&f[..8], &hex("00 00 FF FF FF 01 2D D2"));
    let mut d = pn532::Deframer::default();
    let frames = d.feed(&[pn532::wakeup(), f].concat()).unwrap();
    assert_eq!(frames, vec![pn532::Frame::Info { tfi: 0xD4, data }]);
}

fn pn532_roundtrip(host: &mut pn532::Host, chip: &mut Pn532, frame: Vec<u8>) -> Vec<u8> {
    let mut out = chip.feed(&frame);
    loop {
        match host.feed(&std::mem::take(&mut out)).unwrap() {
            Step::Done(d) => return d,
            Step::Send(b) => out = chip.feed(&b),
            Step::Wait => panic!("no answer"),
        }
    }
}

#[test]
fn pn532_host_lists_the_target_and_exchanges_apdus() {
    let mut chip = Pn532::new(ir_card(), [0x08, 1, 2, 3]);
    let mut h = pn532::Host::new();
    let c = h.command(0x02, &[]).unwrap();
    let fw = pn532_roundtrip(&mut h, &mut chip, [pn532::wakeup(), c].concat());
    assert_eq!(fw, hex("32 01 06 07"));
    let c = h.command(0x14, &pn532::SAM_NORMAL).unwrap();
    assert_eq!(pn532_roundtrip(&mut h, &mut chip, c), Vec::<u8>::new());
    let c = h.command(0x4A, &pn532::LIST_ONE_TYPE_A).unwrap();
    let t = pn532::parse_target_a(&pn532_roundtrip(&mut h, &mut chip, c))
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.tg, t.atqa, t.sak, t.uid.clone()),
        (1, [0x00, 0x04], 0x20, vec![0x08, 1, 2, 3])
    );
    assert_eq!(&t.ats[5..], historical_bytes(&vc::IR_NID_ATR).as_slice());
    // APDUs, one of them longer than one frame (command chaining with MI).
    let select = hex("00 A4 04 00 0C A0 00 00 00 18 0C 00 00 01 63 42 00");
    let mut long = vec![0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x2A];
    long.extend(std::iter::repeat_n(0x55, 298));
    let mut direct = ir_card();
    direct.power(true);
    for apdu in [select, long] {
        let want = direct.process(&apdu);
        let (mut x, mut out) = pn532::Exchange::start(&mut h, t.tg, &apdu).unwrap();
        let got = loop {
            match x.feed(&mut h, &chip.feed(&out)).unwrap() {
                Step::Send(b) => out = b,
                Step::Done(r) => break r,
                Step::Wait => panic!("stalled"),
            }
        };
        assert_eq!(got, want);
    }
    assert_eq!(chip.apdus(), 2);
}

#[test]
fn pn532_nack_corrupt_and_removal() {
    let mut chip = Pn532::new(piv_card(), [0x08, 1, 2, 3]);
    chip.remove_after = Some(1);
    let mut h = pn532::Host::new();
    let c = h.command(0x4A, &pn532::LIST_ONE_TYPE_A).unwrap();
    let d = pn532_roundtrip(&mut h, &mut chip, c);
    assert_eq!(
        pn532::parse_target_a(&d).unwrap().unwrap().ats[5..],
        historical_bytes(&vc::PIV_ATR)
    );
    // The chip NACKs our command: the host sends it again.
    let c = h.command(0x02, &[]).unwrap();
    assert_eq!(h.feed(&pn532::NACK).unwrap(), Step::Send(c));
    // A corrupt answer: the host NACKs, the chip resends its last answer.
    let mut ans = chip.feed(&h.command(0x02, &[]).unwrap());
    let n = ans.len();
    ans[n - 2] ^= 1;
    assert_eq!(h.feed(&ans).unwrap(), Step::Send(pn532::NACK.to_vec()));
    assert_eq!(h.feed(&chip.feed(&pn532::NACK)).unwrap(), Step::Done(FW.to_vec()));
    // One APDU, then the card leaves the field: CARD_REMOVED.
    let (mut x, out) = pn532::Exchange::start(&mut h, 1, &hex("00 A4 04 00 00")).unwrap();
    assert!(matches!(x.feed(&mut h, &chip.feed(&out)).unwrap(), Step::Done(_)));
    let (mut x, out) = pn532::Exchange::start(&mut h, 1, &hex("00 A4 04 00 00")).unwrap();
    let e = x.feed(&mut h, &chip.feed(&out)).unwrap_err();
    assert_eq!(e, ReaderError::CardRemoved);
    assert_eq!(e.code(), "CARD_REMOVED");
}

const FW: [u8; 4] = [0x32, 0x01, 0x06, 0x07];

#[test]
fn pn532_hostile_input() {
    let mut d = pn532::Deframer::default();
    // Bad length checksum, bad data checksum: Corrupt, no panic.
    assert_eq!(
        d.feed(&hex("00 00 FF 03 00 D5 03 00 00")).unwrap()[0],
        pn532::Frame::Corrupt
    );
    assert_eq!(
        d.feed(&hex("00 00 FF 02 FE D5 03 00 00")).unwrap(),
        vec![pn532::Frame::Corrupt]
    );
    assert!(pn532::parse_target_a(&hex("01 01 00 04 20 09 01")).is_err());
    assert!(pn532::parse_target_a(&hex("01 01 00 04 20 04 01 02 03 04 30")).is_err());
    assert_eq!(pn532::parse_target_a(&[0]).unwrap(), None);
    let mut h = pn532::Host::new();
    h.command(0x02, &[]).unwrap();
    h.feed(&pn532::ACK).unwrap();
    // An answer to another command.
    let wrong = pn532::frame(0xD5, &[0x15]).unwrap();
    assert_eq!(h.feed(&wrong).unwrap_err().code(), "READER_PROTOCOL_ERROR");
    let mut h = pn532::Host::new();
    h.command(0x02, &[]).unwrap();
    assert_eq!(h.feed(&pn532::ERROR_FRAME).unwrap_err().code(), "READER_PROTOCOL_ERROR");
    assert_eq!(pn532::exchange_error(0x13).unwrap().code(), "READER_CHECKSUM_ERROR");
}

// ---- Hostile input: random bytes into every parser, no panic, bounded buffers -----------------

#[test]
fn random_bytes_never_panic() {
    use rand_core::Rng;
    let mut rng = hoviat_testkit::rng_for("reader", "hostile");
    for round in 0..3000 {
        let n = usize::try_from(rng.next_u32() % 300).unwrap();
        let mut b = vec![0u8; n];
        rng.fill_bytes(&mut b);
        // Start some inputs with the right lead bytes so the parsers go deeper.
        match round % 5 {
            1 if n > 2 => b[..2].copy_from_slice(&[0x03, 0x06]),
            2 if n > 3 => b[..3].copy_from_slice(&[0x00, 0x00, 0xFF]),
            3 if n > 2 => b[1] = 0x02,
            _ => {}
        }
        let _ = twin::Host::new(false).feed(&b);
        let _ = twin::Host::new(true).feed(&b);
        let _ = pn532::Deframer::default().feed(&b);
        let _ = pn532::parse_target_a(&b);
        let _ = ccid::find_interfaces(&b);
        let _ = ccid::Descriptor::parse(&b);
        let mut c = ccid::Host::new(0, 271);
        c.xfr_block(&[0], 0, 0).unwrap();
        let _ = c.on_reply(&b);
        let _ = t1::decode(&b, Edc::Lrc);
        let mut h = t1::Host::new(32, Edc::Crc);
        h.start(&[0, 0xA4, 4, 0]).unwrap();
        let _ = h.on_block(&b);
        let mut card = T1Card::new(Edc::Lrc);
        let _ = card.on_block(&b, &mut |_| vec![0x90, 0x00]);
        let mut ph = pn532::Host::new();
        ph.command(0x40, &[1, 0]).unwrap();
        let _ = ph.feed(&b);
        let _ = GemPcTwin::new(ir_card()).feed(&b);
        let _ = Pn532::new(ir_card(), [8, 1, 2, 3]).feed(&b);
    }
}

#[test]
fn oversized_inputs_are_refused() {
    let mut h = t1::Host::new(32, Edc::Lrc);
    assert_eq!(
        h.start(&vec![0; hoviat::reader::MAX_APDU + 1]).unwrap_err().code(),
        "READER_PROTOCOL_ERROR"
    );
    assert_eq!(h.start(&[]).unwrap_err().code(), "READER_PROTOCOL_ERROR");
    let mut c = ccid::Host::new(0, 271);
    assert!(matches!(c.xfr_block(&[0; 262], 0, 0), Err(ReaderError::TooLong(262))));
    let mut p = pn532::Host::new();
    assert!(p.command(0x40, &[0; 264]).is_err());
    // A PN532 frame that claims 64 KiB is held only up to the Deframer's bound.
    let mut d = pn532::Deframer::default();
    assert!(d.feed(&hex("00 00 FF FF FF FF FF 02")).unwrap().is_empty());
    assert!(d.feed(&vec![0x11; 200_000]).is_err());
}

// ---- The card flows over each direct reader: PIV token that verifies, Iranian card read ------

/// hoviat's PN532 host side driving the emulated module in process, as a [`Transport`].
struct Contactless {
    chip: Pn532,
    host: pn532::Host,
    target: pn532::TargetA,
}

impl Contactless {
    fn open(mut chip: Pn532) -> Self {
        let mut host = pn532::Host::new();
        let c = host.command(0x14, &pn532::SAM_NORMAL).unwrap();
        pn532_roundtrip(&mut host, &mut chip, [pn532::wakeup(), c].concat());
        let c = host.command(0x4A, &pn532::LIST_ONE_TYPE_A).unwrap();
        let target = pn532::parse_target_a(&pn532_roundtrip(&mut host, &mut chip, c))
            .unwrap()
            .unwrap();
        Self { chip, host, target }
    }
}

impl Transport for Contactless {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (mut x, mut out) = pn532::Exchange::start(&mut self.host, self.target.tg, apdu)?;
        loop {
            match x.feed(&mut self.host, &self.chip.feed(&out))? {
                Step::Send(b) => out = b,
                Step::Done(r) => return Ok(r),
                Step::Wait => return Err(TransportError::Timeout),
            }
        }
    }
    fn atr(&self) -> Vec<u8> {
        pn532::atr_from_ats(&self.target.ats)
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        Ok(true)
    }
}

fn verifier_check(token: &str) {
    use hoviat::pki::{PathOptions, TrustStore};
    use hoviat::token::{Origin, Verifier};
    let r = reg();
    let mut trust = TrustStore::new();
    trust.add_anchors(&r.root.cert).unwrap();
    for ca in &r.cas {
        trust.add_intermediates(&ca.cert).unwrap();
    }
    let v = Verifier {
        trust: &trust,
        options: PathOptions::client_auth(common::now()),
        backend: hoviat_testkit::backend_from_env(),
    };
    let nonce = hoviat::token::nonce::nonce_from_bytes(&[42; 32]);
    let ok = v
        .verify(token, &Origin::parse(common::ORIGIN).unwrap(), &nonce)
        .unwrap();
    assert_eq!(
        ok.holder.national_code.as_deref(),
        Some(reg().holders[1].national_code.as_str())
    );
}

fn piv_auth<T: Transport>(t: &mut T) -> card::Authentication {
    let nonce = hoviat::token::nonce::nonce_from_bytes(&[42; 32]);
    let pin = card::Pin::new(vc::PIV_PIN).unwrap();
    block_on(card::authenticate(t, common::ORIGIN, &nonce, Some(&pin), &mut |_| {})).unwrap()
}

#[test]
fn piv_token_over_the_tpdu_reader_and_contactless_verifies() {
    let mut twin = TwinT1::open(GemPcTwin::new(piv_card())).unwrap();
    let a = piv_auth(&mut twin);
    verifier_check(&a.token);
    let mut nfc = Contactless::open(Pn532::new(piv_card(), [0x08, 1, 2, 3]));
    let b = piv_auth(&mut nfc);
    verifier_check(&b.token);
    // The ATR built from the ATS (PC/SC's contactless convention) is the contact ATR again,
    // so the dialogue is the same APDU for APDU.
    assert_eq!(nfc.atr(), vc::PIV_ATR);
    assert_eq!(
        (b.traffic.apdus, b.traffic.bytes_out),
        (a.traffic.apdus, a.traffic.bytes_out)
    );
}

#[test]
fn iranian_card_contactless() {
    let mut nfc = Contactless::open(Pn532::new(ir_card(), [0x08, 1, 2, 3]));
    let info = block_on(card::info(&mut nfc, &mut |_| {})).unwrap();
    assert_eq!(info.profile, card::Profile::IrNid);
    assert_eq!(info.certificates.len(), 2);
    let direct = block_on(card::info(&mut vc::VirtualTransport::new(ir_card()), &mut |_| {})).unwrap();
    assert_eq!(info.card_serial, direct.card_serial);
    // The ID PIN checked over contactless; a wrong one counts down.
    let mut ch = card::Channel::new(&mut nfc);
    let good = card::Pin::new(vc::IR_ID_PIN).unwrap();
    block_on(card::ir_nid::verify_pin(&mut ch, card::ir_nid::PinKind::Id, &good)).unwrap();
    let bad = card::Pin::new("9999").unwrap();
    let e = block_on(card::ir_nid::verify_pin(&mut ch, card::ir_nid::PinKind::Id, &bad)).unwrap_err();
    assert_eq!(e, card::CardError::PinWrong { tries_left: 2 });
}

#[test]
fn atr_t1_parameters() {
    use hoviat::reader::serial_ccid::{AtrT1, atr_t1};
    assert_eq!(
        atr_t1(&vc::IR_NID_ATR),
        Some(AtrT1 {
            ifsc: 0xFE,
            bwi_cwi: 0x43,
            crc: false,
            guard: 0
        })
    );
    assert_eq!(atr_t1(&vc::PIV_ATR).map(|p| (p.ifsc, p.bwi_cwi)), Some((32, 0x4D)));
    assert_eq!(atr_t1(&[0x3B, 0x00]), None); // T=0 only
    assert_eq!(atr_t1(&[0x3B, 0x80]), None); // truncated
}

/// A [`hoviat::reader::serial_ccid::Session`] over an emulated reader: `link` takes what the
/// host writes and returns what the reader writes back, in the pieces the host reads them.
struct SessionLink<L: FnMut(&[u8]) -> Vec<Vec<u8>>> {
    s: hoviat::reader::serial_ccid::Session,
    link: L,
}

impl<L: FnMut(&[u8]) -> Vec<Vec<u8>>> SessionLink<L> {
    fn run(&mut self, mut out: Vec<u8>) -> Result<Vec<u8>, ReaderError> {
        loop {
            let pieces = (self.link)(&out);
            out = Vec::new();
            for piece in pieces {
                match self.s.feed(&piece)? {
                    Step::Send(b) => out.extend(b),
                    Step::Done(r) => return Ok(r),
                    Step::Wait => {}
                }
            }
            if out.is_empty() {
                return Err(ReaderError::CardMute);
            }
        }
    }

    /// Powers the card on through the reader: the ATR.
    fn power_on(&mut self) -> Result<Vec<u8>, ReaderError> {
        let first = self.s.power_on()?;
        self.run(first)
    }
}

impl<L: FnMut(&[u8]) -> Vec<Vec<u8>>> Transport for SessionLink<L> {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let out = self.s.transmit(apdu)?;
        Ok(self.run(out)?)
    }
    fn atr(&self) -> Vec<u8> {
        self.s.atr().to_vec()
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        Ok(true)
    }
}

/// The composed serial session against the emulated reader, bytes split at random.
#[test]
fn serial_ccid_session_reads_the_card() {
    use hoviat::reader::serial_ccid::Session;
    use rand_core::Rng;
    /// The serial port: what the reader writes back arrives in pieces of random length.
    fn port(mut reader: GemPcTwin, stream: &str) -> SessionLink<impl FnMut(&[u8]) -> Vec<Vec<u8>>> {
        let mut rng: rand_chacha::ChaCha20Rng = hoviat_testkit::rng_for("reader", stream);
        SessionLink {
            s: Session::new(true),
            link: move |out: &[u8]| {
                let mut back = reader.feed(out);
                let mut pieces = Vec::new();
                while !back.is_empty() {
                    let n = 1 + usize::try_from(rng.next_u32()).unwrap() % back.len();
                    pieces.push(back.drain(..n).collect());
                }
                pieces
            },
        }
    }
    let mut reader = GemPcTwin::new(ir_card());
    reader.time_extensions = 1;
    reader.wtx = Some(2);
    let mut p = port(reader, "split");
    assert_eq!(p.power_on().unwrap(), vc::IR_NID_ATR);
    let info = block_on(card::info(&mut p, &mut |_| {})).unwrap();
    assert_eq!(info.profile, card::Profile::IrNid);
    let direct = block_on(card::info(&mut vc::VirtualTransport::new(ir_card()), &mut |_| {})).unwrap();
    assert_eq!(info.certificates[1].der, direct.certificates[1].der);
    // A PIV card (T=0 and T=1 offered) through the same session; T=0-only cards are refused.
    let mut p = port(GemPcTwin::new(piv_card()), "split2");
    p.power_on().unwrap();
    verifier_check(&piv_auth(&mut p).token);
    struct T0Only;
    impl VirtualCard for T0Only {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x00]
        }
        fn power(&mut self, _: bool) {}
        fn process(&mut self, _: &[u8]) -> Vec<u8> {
            vec![0x90, 0x00]
        }
    }
    let mut p = port(GemPcTwin::new(Box::new(T0Only)), "split3");
    assert_eq!(p.power_on().unwrap_err().code(), "READER_UNSUPPORTED");
}

/// The composed PN532 bridge against the emulated module, bytes split at random; a card that
/// leaves the field mid-dialogue; an empty field.
#[test]
fn pn532_bridge_session() {
    use rand_core::Rng;
    fn run(
        chip: &mut Pn532,
        b: &mut pn532::Bridge,
        rng: &mut rand_chacha::ChaCha20Rng,
        mut out: Vec<u8>,
    ) -> Result<Vec<u8>, ReaderError> {
        loop {
            let mut back = chip.feed(&out);
            out = Vec::new();
            while !back.is_empty() {
                let n = 1 + usize::try_from(rng.next_u32()).unwrap() % back.len();
                let piece: Vec<u8> = back.drain(..n).collect();
                match b.feed(&piece)? {
                    Step::Send(x) => out.extend(x),
                    Step::Done(r) => return Ok(r),
                    Step::Wait => {}
                }
            }
            if out.is_empty() {
                return Err(ReaderError::CardMute);
            }
        }
    }
    let mut rng = hoviat_testkit::rng_for("reader", "bridge");
    let mut chip = Pn532::new(ir_card(), [0x08, 9, 9, 9]);
    chip.remove_after = Some(3);
    let mut b = pn532::Bridge::new();
    let first = b.start().unwrap();
    assert_eq!(
        run(&mut chip, &mut b, &mut rng, first).unwrap(),
        pn532::atr_from_ats(&chip.ats())
    );
    assert_eq!(b.target().unwrap().uid, [0x08, 9, 9, 9]);
    let select = hex("00 A4 04 00 0C A0 00 00 00 18 0C 00 00 01 63 42 00");
    for _ in 0..3 {
        let out = b.transmit(&select).unwrap();
        assert_eq!(run(&mut chip, &mut b, &mut rng, out).unwrap(), hex("90 00"));
    }
    let out = b.transmit(&select).unwrap();
    assert_eq!(
        run(&mut chip, &mut b, &mut rng, out).unwrap_err().code(),
        "CARD_REMOVED"
    );
    // The card is gone: listing again finds an empty field.
    let mut b = pn532::Bridge::new();
    let first = b.start().unwrap();
    assert_eq!(
        run(&mut chip, &mut b, &mut rng, first).unwrap_err(),
        ReaderError::NoCard
    );
}

/// The same session over USB bulk transfers (WebUSB's path): the descriptor found in the raw
/// configuration, bulk-IN data split arbitrarily, time extensions, PIV authentication and a
/// card removed mid-command.
#[test]
fn usb_ccid_session_reads_the_card_and_reports_removal() {
    use hoviat::reader::serial_ccid::Session;
    use hoviat_testkit::readers::usb_ccid::UsbCcid;
    /// USB: one bulk-OUT message per send; the bulk-IN answer read in 64-byte packets.
    fn usb(mut reader: UsbCcid, d: &ccid::Descriptor) -> SessionLink<impl FnMut(&[u8]) -> Vec<Vec<u8>>> {
        SessionLink {
            s: Session::usb(d).unwrap(),
            link: move |out: &[u8]| reader.transfer(out).concat().chunks(64).map(<[u8]>::to_vec).collect(),
        }
    }
    let raw = UsbCcid::config_descriptor(0x0B);
    let found = ccid::find_interfaces(&raw).unwrap();
    let [i] = found.as_slice() else { panic!("{found:?}") };
    assert_eq!((i.bulk_out, i.bulk_in), (Some(0x01), Some(0x82)));
    let mut reader = UsbCcid::new(piv_card());
    reader.core.time_extensions = 1;
    let mut u = usb(reader, &i.descriptor);
    u.power_on().unwrap();
    verifier_check(&piv_auth(&mut u).token);
    let mut reader = UsbCcid::new(ir_card());
    reader.core.remove_after = Some(3);
    let mut u = usb(reader, &i.descriptor);
    assert_eq!(u.power_on().unwrap(), vc::IR_NID_ATR);
    let e = block_on(card::info(&mut u, &mut |_| {})).unwrap_err();
    assert_eq!(e.code(), "CARD_REMOVED");
    // A short-APDU-level reader (most desktop USB readers): no SetParameters, no T=1; the
    // PIV token verifies, the Iranian card's info reads, removal is CARD_REMOVED.
    let raw = UsbCcid::config_descriptor_with(0x0B, 0x0002_04BA);
    let short = ccid::find_interfaces(&raw).unwrap();
    assert_eq!(short[0].descriptor.level, ExchangeLevel::ShortApdu);
    let mut reader = UsbCcid::new_apdu_level(piv_card());
    reader.core.time_extensions = 2;
    let mut u = usb(reader, &short[0].descriptor);
    u.power_on().unwrap();
    verifier_check(&piv_auth(&mut u).token);
    let mut u = usb(UsbCcid::new_apdu_level(ir_card()), &short[0].descriptor);
    assert_eq!(u.power_on().unwrap(), vc::IR_NID_ATR);
    let info = block_on(card::info(&mut u, &mut |_| {})).unwrap();
    assert!(!info.certificates.is_empty());
    let mut reader = UsbCcid::new_apdu_level(ir_card());
    reader.core.remove_after = Some(3);
    let mut u = usb(reader, &short[0].descriptor);
    u.power_on().unwrap();
    let e = block_on(card::info(&mut u, &mut |_| {})).unwrap_err();
    assert_eq!(e.code(), "CARD_REMOVED");
    // An extended-APDU-level reader that returns responses in 64-byte chained blocks: the PIV
    // token verifies and the Iranian card's certificates read through response chains; an APDU
    // longer than one message (600 bytes of data) goes as a command chain and is answered.
    let raw = UsbCcid::config_descriptor_with(0x0B, 0x0004_04BA);
    let ext = ccid::find_interfaces(&raw).unwrap();
    assert_eq!(ext[0].descriptor.level, ExchangeLevel::ExtendedApdu);
    let mut reader = UsbCcid::new_extended_apdu_level(piv_card(), 64);
    reader.core.time_extensions = 1;
    let mut u = usb(reader, &ext[0].descriptor);
    u.power_on().unwrap();
    verifier_check(&piv_auth(&mut u).token);
    let mut u = usb(UsbCcid::new_extended_apdu_level(ir_card(), 64), &ext[0].descriptor);
    assert_eq!(u.power_on().unwrap(), vc::IR_NID_ATR);
    let info = block_on(card::info(&mut u, &mut |_| {})).unwrap();
    let mut direct = usb(UsbCcid::new_apdu_level(ir_card()), &short[0].descriptor);
    direct.power_on().unwrap();
    let info_short = block_on(card::info(&mut direct, &mut |_| {})).unwrap();
    assert_eq!(
        serde_json::to_value(&info.certificates).unwrap(),
        serde_json::to_value(&info_short.certificates).unwrap(),
        "the chained responses reassemble the same certificates"
    );
    let mut long = vec![0x00, 0xCA, 0x01, 0x00, 0x00, 0x02, 0x58];
    long.extend(std::iter::repeat_n(0x5A, 600));
    let sw = block_on(u.transmit(&long)).unwrap();
    assert_eq!(sw.len(), 2, "a status word for the chained command: {sw:02X?}");
    // Such an APDU on a short-APDU reader is refused before anything is sent.
    let e = block_on(direct.transmit(&long)).unwrap_err();
    assert!(e.to_string().contains("an extended APDU on a short-APDU reader"), "{e}");
    // A hostile descriptor (dwMaxCCIDMessageLength 0) is clamped, not a panic.
    let mut d = short[0].descriptor.clone();
    d.max_message_length = 0;
    let mut s = Session::usb(&d).unwrap();
    assert!(s.power_on().is_ok());
    // Character level: refused with its code.
    let chr = ccid::find_interfaces(&config(false, 0x0000_0000, 0x0B)).unwrap();
    assert_eq!(
        Session::usb(&chr[0].descriptor).unwrap_err().code(),
        "READER_UNSUPPORTED"
    );
}
