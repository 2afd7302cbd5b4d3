//! Recovery after an abandoned exchange (`hoviat::reader`): the host gives up on a command the
//! reader does not answer (the page cancelled, or it timed out) and resynchronises instead of
//! dropping the connection. CCID: the ABORT class request (USB) and PC_to_RDR_Abort, answers
//! left over from the aborted command skipped by `bSeq`, then T=1 S(RESYNCH) and S(IFS) at TPDU
//! level; PN532: an ACK frame, then GetFirmwareVersion. Against the reader emulators in process
//! (a reader that withholds its answer once, then honours the abort, maybe after a late answer).

use std::cell::RefCell;
use std::rc::Rc;

use hoviat::card::{self, Transport, TransportError, block_on};
use hoviat::error::Coded;
use hoviat::reader::serial_ccid::{self, Session};
use hoviat::reader::t1::{self, Block, Edc};
use hoviat::reader::{ReaderError, Step, ccid, pn532, twin};
use hoviat_testkit::readers::Emulator;
use hoviat_testkit::readers::gempc_twin::GemPcTwin;
use hoviat_testkit::readers::pn532::Pn532;
use hoviat_testkit::readers::usb_ccid::UsbCcid;
use hoviat_testkit::virtual_card::{self as vc, VirtualCard};

mod common;
use common::{hex, reg};

fn piv_card() -> Box<dyn VirtualCard> {
    vc::for_holder(reg(), 1, false).unwrap()
}

fn ir_card() -> Box<dyn VirtualCard> {
    vc::for_holder(reg(), 0, true).unwrap()
}

const SELECT_PIV: &str = "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00";

/// Runs an exchange: writes `out` through `link` (what the reader writes back, in pieces) and
/// feeds the pieces to `feed` until `Done`. A reader that says nothing more: `CardMute` (the
/// caller's time-out).
fn run(
    feed: &mut dyn FnMut(&[u8]) -> Result<Step, ReaderError>,
    link: &mut dyn FnMut(&[u8]) -> Vec<Vec<u8>>,
    mut out: Vec<u8>,
) -> Result<Vec<u8>, ReaderError> {
    for _ in 0..10_000 {
        let pieces = link(&out);
        out = Vec::new();
        for piece in pieces {
            match feed(&piece)? {
                Step::Send(b) => out.extend(b),
                Step::Done(r) => return Ok(r),
                Step::Wait => {}
            }
        }
        if out.is_empty() {
            return Err(ReaderError::CardMute);
        }
    }
    panic!("no end");
}

/// A serial CCID session and its emulated reader; the host's writes are logged.
struct Serial {
    s: Session,
    reader: Rc<RefCell<GemPcTwin>>,
    writes: Vec<Vec<u8>>,
    split: usize,
}

impl Serial {
    fn new(reader: GemPcTwin, split: usize) -> Self {
        Self {
            s: Session::new(true),
            reader: Rc::new(RefCell::new(reader)),
            writes: Vec::new(),
            split,
        }
    }
    fn go(&mut self, out: Vec<u8>) -> Result<Vec<u8>, ReaderError> {
        let r = self.reader.clone();
        let split = self.split;
        let writes = &mut self.writes;
        let mut link = |b: &[u8]| {
            writes.push(b.to_vec());
            let back = r.borrow_mut().feed(b);
            back.chunks(split).map(<[u8]>::to_vec).collect()
        };
        let s = &mut self.s;
        run(&mut |p| s.feed(p), &mut link, out)
    }
}

impl Transport for Serial {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let out = self.s.transmit(apdu)?;
        Ok(self.go(out)?)
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

/// The exact bytes: the Abort message takes the next `bSeq`; the ABORT class request carries the
/// same `bSeq` and the slot; stale messages are recognised by `bSeq` and direction.
#[test]
fn ccid_abort_bytes_and_stale_messages() {
    let mut h = ccid::Host::new(0, 271);
    h.power_on(ccid::Voltage::V5).unwrap(); // bSeq 0
    h.xfr_block(&[1, 2, 3], 0, 0).unwrap(); // bSeq 1, never answered
    let (seq, m) = h.abort().unwrap();
    assert_eq!(seq, 2);
    assert_eq!(m, hex("72 00000000 00 02 000000"));
    assert_eq!(ccid::abort_value(seq, 0), 0x0200);
    assert_eq!(ccid::ABORT_REQUEST, 0x01);
    // The late DataBlock of bSeq 1 is stale; the SlotStatus of bSeq 2 is the confirmation; an
    // echoed host message (type < 0x80) is stale whatever its bSeq.
    let late = ccid::message(0x80, 0, 1, [0, 0, 0], &[0x90, 0x00]).unwrap();
    let confirm = ccid::message(0x81, 0, 2, [0, 0, 0], &[]).unwrap();
    assert!(ccid::is_stale(&late, 2));
    assert!(ccid::is_stale(&m, 2));
    assert!(ccid::is_stale(&[0x81, 0, 0], 2));
    assert!(!ccid::is_stale(&confirm, 2));
    assert_eq!(
        h.on_reply(&confirm).unwrap(),
        ccid::Reply::SlotStatus(ccid::IccStatus::Active)
    );
    // Over the serial line the same message is framed (no control pipe).
    assert_eq!(twin::frame(&m), hex("03 06 72 00000000 00 02 000000 75"));
}

/// T=1: S(RESYNCH request) is `00 C0 00 C0` (LRC); the card's response ends it and both sides
/// are back at N(S) = 0.
#[test]
fn t1_resync_bytes() {
    let mut h = t1::Host::new(32, Edc::Lrc);
    h.start(&[0x00, 0xA4, 0x04, 0x00]).unwrap();
    assert_eq!(h.resync(), hex("00 C0 00 C0"));
    let resp = t1::encode(
        0,
        &Block::S {
            kind: 0x20,
            data: vec![],
        },
        Edc::Lrc,
    );
    assert_eq!(resp, hex("00 E0 00 E0"));
    assert_eq!(h.on_block(&resp).unwrap(), Step::Done(vec![]));
    // The next I-block has N(S) = 0.
    assert_eq!(h.start(&[0x00, 0xB0, 0x00, 0x00]).unwrap()[1], 0x00);
    let mut crc = t1::Host::new(32, Edc::Crc);
    assert_eq!(
        crc.resync(),
        t1::encode(0, &Block::S { kind: 0, data: vec![] }, Edc::Crc)
    );
}

/// GemPC Twin on a serial line: the reader withholds its answer (with a time extension before
/// it), the host aborts; the late answer and the echoes are skipped, S(RESYNCH) and S(IFS) go to
/// the card, and the same session reads the card again, bytes split in every size.
#[test]
fn serial_twin_abort_skips_the_late_answer_and_resynchronises() {
    for split in [1, 3, 7, 64, 4096] {
        let mut r = GemPcTwin::new(piv_card());
        r.time_extensions = 1;
        r.wtx = Some(2);
        r.stall_after = Some(1);
        r.late_answer = true;
        let mut p = Serial::new(r, split);
        let first = p.s.power_on().unwrap();
        p.go(first).unwrap();
        assert!(block_on(p.transmit(&hex(SELECT_PIV))).unwrap().ends_with(&[0x90, 0x00]));
        // The second APDU: the reader echoes it and says nothing more.
        let e = block_on(p.transmit(&hex("00 CB 3F FF 05 5C 03 5F C1 02 00"))).unwrap_err();
        assert_eq!(e, TransportError::Timeout, "split {split}");
        assert!(p.reader.borrow().stalled());
        let a = p.s.abort().unwrap();
        assert_eq!(a.control, None);
        let seq = a.send[8];
        assert_eq!(
            a.send,
            twin::frame(&ccid::message(0x72, 0, seq, [0, 0, 0], &[]).unwrap())
        );
        p.writes.clear();
        assert_eq!(p.go(a.send).unwrap(), Vec::<u8>::new(), "split {split}");
        assert_eq!(p.reader.borrow().aborts(), 1);
        // Then S(RESYNCH) and S(IFS 254) in the next two XfrBlocks.
        let xfr = |seq: u8, block: &str| twin::frame(&ccid::message(0x6F, 0, seq, [0, 0, 0], &hex(block)).unwrap());
        assert_eq!(
            p.writes,
            [
                twin::frame(&ccid::message(0x72, 0, seq, [0, 0, 0], &[]).unwrap()),
                xfr(seq + 1, "00 C0 00 C0"),
                xfr(seq + 2, "00 C1 01 FE 3E")
            ]
        );
        // The same session works: the whole PIV dialogue.
        let info = block_on(card::info(&mut p, &mut |_| {})).unwrap();
        assert_eq!(info.profile, card::Profile::Piv, "split {split}");
    }
}

/// A late answer may come before the echo of the Abort frame, or between pieces: the host
/// matches echoes as whole frames and skips stray bytes.
#[test]
fn serial_late_answer_before_the_echo_and_stray_bytes() {
    let mut r = GemPcTwin::new(ir_card());
    r.stall_after = Some(0);
    let mut p = Serial::new(r, 5);
    let first = p.s.power_on().unwrap();
    p.go(first).unwrap();
    assert!(block_on(p.transmit(&hex("00 A4 04 00 02 3F 00"))).is_err());
    let a = p.s.abort().unwrap();
    let seq = a.send[8];
    let late = twin::frame(&ccid::message(0x80, 0, seq - 1, [0, 0, 0], &[0x90, 0x00]).unwrap());
    let te = twin::frame(&ccid::message(0x80, 0, seq - 1, [0x80, 1, 0], &[]).unwrap());
    let confirm = twin::frame(&ccid::message(0x81, 0, seq, [0, 0, 0], &[]).unwrap());
    // stray bytes, a time extension and the late answer of the old command, the echo, junk
    // that looks like a frame start, the confirmation.
    let stream = [hex("06 15 99"), te, late, a.send.clone(), hex("03 06 01"), confirm].concat();
    let mut step = Step::Wait;
    for piece in stream.chunks(4) {
        step = p.s.feed(piece).unwrap();
        if step != Step::Wait {
            break;
        }
    }
    // The confirmation is followed by S(RESYNCH) in an XfrBlock.
    let Step::Send(next) = step else { panic!("{step:?}") };
    assert_eq!(
        next,
        twin::frame(&ccid::message(0x6F, 0, seq + 1, [0, 0, 0], &hex("00 C0 00 C0")).unwrap())
    );
}

/// Hostile input while resynchronising: a flood of stale messages and random bytes end in an
/// error, never a panic or unbounded buffering; a reader that never confirms leaves the session
/// waiting (the caller's time-out decides).
#[test]
fn resync_hostile_input_is_bounded() {
    let mut r = GemPcTwin::new(piv_card());
    r.stall_after = Some(0);
    r.hang = true;
    let mut p = Serial::new(r, 16);
    let first = p.s.power_on().unwrap();
    p.go(first).unwrap();
    assert!(block_on(p.transmit(&hex(SELECT_PIV))).is_err());
    let a = p.s.abort().unwrap();
    let seq = a.send[8];
    // The hung reader only echoes: nothing confirms.
    assert_eq!(p.go(a.send.clone()).unwrap_err(), ReaderError::CardMute);
    let stale = twin::frame(&ccid::message(0x80, 0, seq.wrapping_sub(1), [0x80, 1, 0], &[]).unwrap());
    let mut err = None;
    for _ in 0..=serial_ccid::MAX_STALE {
        match p.s.feed(&stale) {
            Ok(s) => assert_eq!(s, Step::Wait),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert_eq!(err.map(|e| e.code()), Some("READER_PROTOCOL_ERROR"));
    // Random bytes in lenient mode: an error at some point, no panic.
    let mut s = Session::new(true);
    let mut r = GemPcTwin::new(piv_card());
    let f = s.power_on().unwrap();
    let mut out = r.feed(&f);
    loop {
        match s.feed(&out).unwrap() {
            Step::Done(_) => break,
            Step::Send(b) => out = r.feed(&b),
            Step::Wait => panic!("silent"),
        }
    }
    let _ = s.transmit(&hex(SELECT_PIV)).unwrap();
    s.abort().unwrap();
    let mut x: u32 = 0x1234_5678;
    let mut failed = false;
    for _ in 0..300_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if s.feed(&x.to_le_bytes()[..3]).is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "random bytes never ended the resynchronisation");
    // The same random bytes into a USB session and a PN532 bridge that are resynchronising:
    // no panic (they may wait, or fail).
    let raw = UsbCcid::config_descriptor(0xFF);
    let d = ccid::find_interfaces(&raw).unwrap().remove(0).descriptor;
    let mut u = Session::usb(&d).unwrap();
    let mut r = UsbCcid::new(piv_card());
    let mut out = u.power_on().unwrap();
    loop {
        match u.feed(&r.transfer(&out).concat()).unwrap() {
            Step::Done(_) => break,
            Step::Send(b) => out = b,
            Step::Wait => panic!("silent"),
        }
    }
    u.transmit(&hex(SELECT_PIV)).unwrap();
    u.abort().unwrap();
    let mut chip = Pn532::new(piv_card(), [0x08, 1, 2, 3]);
    let mut b = pn532::Bridge::new();
    let mut out = b.start().unwrap();
    loop {
        match b.feed(&chip.feed(&out)).unwrap() {
            Step::Done(_) => break,
            Step::Send(x) => out = x,
            Step::Wait => panic!("silent"),
        }
    }
    b.transmit(&hex(SELECT_PIV)).unwrap();
    b.abort().unwrap();
    let (mut u_ok, mut b_ok) = (true, true);
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let bytes = x.to_le_bytes();
        if u_ok {
            u_ok = u.feed(&bytes).is_ok();
        }
        if b_ok {
            b_ok = b.feed(&bytes).is_ok();
        }
    }
    // Abort before the card was powered: refused.
    assert_eq!(Session::new(true).abort().unwrap_err().code(), "READER_PROTOCOL_ERROR");
}

/// WebUSB: the ABORT class request carries the Abort's bSeq and the slot; the reader carries out
/// the Abort only with it (whichever comes first), its late answer is skipped; TPDU level
/// resynchronises T=1, short-APDU level is ready at once.
#[test]
fn usb_abort_with_the_class_request() {
    for (features, tpdu) in [(0x0001_0230, true), (0x0002_04BA, false)] {
        let raw = UsbCcid::config_descriptor_with(0xFF, features);
        let d = ccid::find_interfaces(&raw).unwrap().remove(0).descriptor;
        let mut r = if tpdu {
            UsbCcid::new(piv_card())
        } else {
            UsbCcid::new_apdu_level(piv_card())
        };
        r.core.stall_after = Some(1);
        r.core.late_answer = true;
        r.core.time_extensions = 1;
        let r = Rc::new(RefCell::new(r));
        let mut s = Session::usb(&d).unwrap();
        let rr = r.clone();
        let mut link = move |b: &[u8]| {
            rr.borrow_mut()
                .transfer(b)
                .concat()
                .chunks(64)
                .map(<[u8]>::to_vec)
                .collect()
        };
        let f = s.power_on().unwrap();
        run(&mut |p| s.feed(p), &mut link, f).unwrap();
        let x = s.transmit(&hex(SELECT_PIV)).unwrap();
        run(&mut |p| s.feed(p), &mut link, x).unwrap();
        let x = s.transmit(&hex(SELECT_PIV)).unwrap();
        assert_eq!(
            run(&mut |p| s.feed(p), &mut link, x).unwrap_err(),
            ReaderError::CardMute
        );
        let a = s.abort().unwrap();
        let seq = a.send[6];
        assert_eq!(a.control, Some(u16::from(seq) << 8));
        assert_eq!(a.send, ccid::message(0x72, 0, seq, [0, 0, 0], &[]).unwrap());
        // The bulk message first: the reader waits for the class request.
        assert!(r.borrow_mut().transfer(&a.send).is_empty());
        // A class request with another bSeq does not release it.
        assert!(r.borrow_mut().control(0x01, a.control.unwrap() ^ 0x0100).is_empty());
        let back = r.borrow_mut().control(0x01, a.control.unwrap()).concat();
        // The late answer (time extension and DataBlock of the old bSeq), then the SlotStatus.
        assert_eq!(back[6], seq - 1);
        let mut step = Step::Wait;
        for piece in back.chunks(64) {
            step = s.feed(piece).unwrap();
        }
        let done = match step {
            Step::Send(b) => {
                assert!(tpdu);
                assert_eq!(
                    b,
                    ccid::message(0x6F, 0, seq + 1, [0, 0, 0], &hex("00 C0 00 C0")).unwrap()
                );
                run(&mut |p| s.feed(p), &mut link, b).unwrap()
            }
            Step::Done(d) => {
                assert!(!tpdu);
                d
            }
            Step::Wait => panic!("no confirmation"),
        };
        assert!(done.is_empty());
        assert_eq!(r.borrow().core.aborts(), 1);
        let x = s.transmit(&hex(SELECT_PIV)).unwrap();
        assert!(run(&mut |p| s.feed(p), &mut link, x).unwrap().ends_with(&[0x90, 0x00]));
    }
}

/// PN532: the ACK frame aborts, GetFirmwareVersion confirms; the late answer of the aborted
/// InDataExchange and stray ACKs are skipped; too many stale frames end in an error.
#[test]
fn pn532_abort_with_ack() {
    for late in [false, true] {
        let mut chip = Pn532::new(piv_card(), [0x08, 1, 2, 3]);
        chip.stall_after = Some(1);
        chip.late_answer = late;
        let chip = Rc::new(RefCell::new(chip));
        let c = chip.clone();
        let mut link = move |b: &[u8]| c.borrow_mut().feed(b).chunks(3).map(<[u8]>::to_vec).collect();
        let mut b = pn532::Bridge::new();
        let f = b.start().unwrap();
        run(&mut |p| b.feed(p), &mut link, f).unwrap();
        let x = b.transmit(&hex(SELECT_PIV)).unwrap();
        run(&mut |p| b.feed(p), &mut link, x).unwrap();
        let x = b.transmit(&hex(SELECT_PIV)).unwrap();
        assert_eq!(
            run(&mut |p| b.feed(p), &mut link, x).unwrap_err(),
            ReaderError::CardMute
        );
        assert!(chip.borrow().stalled());
        let a = b.abort().unwrap();
        assert_eq!(a, hex("00 00 FF 00 FF 00  00 00 FF 02 FE D4 02 2A 00"));
        assert_eq!(run(&mut |p| b.feed(p), &mut link, a).unwrap(), Vec::<u8>::new());
        assert_eq!(chip.borrow().aborts(), 1);
        let x = b.transmit(&hex(SELECT_PIV)).unwrap();
        assert!(run(&mut |p| b.feed(p), &mut link, x).unwrap().ends_with(&[0x90, 0x00]));
    }
    // Stale frames without the confirmation: bounded.
    let mut h = pn532::Host::new();
    h.abort().unwrap();
    let stale = pn532::frame(pn532::TFI_CHIP, &[0x41, 0x00, 0x90, 0x00]).unwrap();
    let mut err = None;
    for _ in 0..=pn532::MAX_STALE {
        if let Err(e) = h.feed(&stale) {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err.map(|e| e.code()), Some("READER_PROTOCOL_ERROR"));
    // Abort before a card is listed: refused.
    assert!(pn532::Bridge::new().abort().is_err());
}

/// The abort comes while the card is half-way through a chained T=1 answer (the reader stalls
/// on the host's R-block): after S(RESYNCH) the card starts again from block 0 and the same
/// long answer reads whole.
#[test]
fn serial_abort_in_the_middle_of_a_t1_chain() {
    let get_cert = hex("00 CB 3F FF 05 5C 03 5F C1 05 00");
    let mut p = Serial::new(GemPcTwin::new(piv_card()), 64);
    let first = p.s.power_on().unwrap();
    p.go(first).unwrap();
    block_on(p.transmit(&hex(SELECT_PIV))).unwrap();
    let whole = block_on(p.transmit(&get_cert)).unwrap();
    assert!(
        whole.len() > 254,
        "an answer chained at IFSD 254: {} bytes",
        whole.len()
    );
    // Again, but the reader stalls on the first XfrBlock after the card's first chained block.
    let out = p.s.transmit(&get_cert).unwrap();
    let r = p.reader.clone();
    let mut armed = false;
    let mut link = |b: &[u8]| {
        let back = r.borrow_mut().feed(b);
        // A DataBlock whose T=1 block is an I-block with the M bit: stall on the next command.
        let chained = back.windows(3).any(|w| w[0] == 0x00 && w[1] == 0x20 && w[2] == 0xFE)
            || back.windows(3).any(|w| w[0] == 0x00 && w[1] == 0x60 && w[2] == 0xFE);
        if chained && !armed {
            armed = true;
            let n = r.borrow().apdus();
            r.borrow_mut().stall_after = Some(n - 1);
        }
        vec![back]
    };
    let s = &mut p.s;
    assert_eq!(
        run(&mut |x| s.feed(x), &mut link, out).unwrap_err(),
        ReaderError::CardMute
    );
    assert!(armed && p.reader.borrow().stalled());
    let a = p.s.abort().unwrap();
    assert_eq!(p.go(a.send).unwrap(), Vec::<u8>::new());
    assert_eq!(block_on(p.transmit(&get_cert)).unwrap(), whole);
}
