//! The card layer, in process: virtual cards behind the same flows the PC/SC transport uses,
//! and strict replay of recorded APDU traces.

use hoviat::card::{self, CardError, Pin, PinState, Status, Transport, TransportError, block_on};
use hoviat::error::Coded;
use hoviat::pki::{PathOptions, TrustStore};
use hoviat::token::{Origin, Verifier};
use hoviat_testkit::virtual_card::{self as vc, GarbageCard, UnknownCard, VirtualCard, VirtualTransport};

mod common;
use common::{ORIGIN, hex, iran, now, reg};

fn nonce() -> String {
    hoviat::token::nonce::nonce_from_bytes(&[42; 32])
}

fn trust() -> TrustStore {
    let r = reg();
    let mut t = TrustStore::new();
    t.add_anchors(&r.root.cert).unwrap();
    for ca in &r.cas {
        t.add_intermediates(&ca.cert).unwrap();
    }
    t
}

fn piv(holder: usize) -> VirtualTransport<Box<dyn VirtualCard>> {
    VirtualTransport::new(vc::for_holder(reg(), holder, false).unwrap())
}

/// The faithful virtual Iranian card of the Iranian-layout registry's holder.
fn ir_nid(holder: usize) -> VirtualTransport<Box<dyn VirtualCard>> {
    VirtualTransport::new(vc::for_iran_holder(iran(), holder).unwrap())
}

fn auth<T: Transport>(t: &mut T, pin: Option<&str>) -> Result<card::Authentication, CardError> {
    let pin = pin.map(|p| Pin::new(p).unwrap());
    block_on(card::authenticate(t, ORIGIN, &nonce(), pin.as_ref(), &mut |_| {}))
}

#[test]
fn piv_challenge_response_verifies_for_every_key_type() {
    let t = trust();
    let v = Verifier {
        trust: &t,
        options: PathOptions::client_auth(now()),
        backend: hoviat_testkit::backend_from_env(),
    };
    for (holder, alg) in [(0usize, "RS256"), (1, "ES256"), (2, "ES384")] {
        let mut card = piv(holder);
        let mut seen = Vec::new();
        let a = block_on(card::authenticate(
            &mut card,
            ORIGIN,
            &nonce(),
            Some(&Pin::new(vc::PIV_PIN).unwrap()),
            &mut |s| seen.push(s),
        ))
        .unwrap();
        let verified = v
            .verify(&a.token, &Origin::parse(ORIGIN).unwrap(), &nonce())
            .unwrap_or_else(|e| panic!("holder {holder}: {e}"));
        assert_eq!(verified.algorithm, alg);
        assert_eq!(
            verified.holder.national_code.as_deref(),
            Some(reg().holders[holder].national_code.as_str())
        );
        assert!(
            seen.contains(&Status::VerifyingPin)
                && seen.contains(&Status::Signing)
                && seen.last() == Some(&Status::Done)
        );
        assert_eq!(a.traffic.apdus, card.log.len());
        assert!(a.traffic.bytes_in > reg().holders[holder].cert.len());
        // The token is bound to the origin: another site's verifier refuses it.
        let other = v.verify(&a.token, &Origin::parse("https://evil.example.ir").unwrap(), &nonce());
        assert_eq!(other.unwrap_err().code(), "ORIGIN_MISMATCH");
    }
}

#[test]
fn rsa_general_authenticate_uses_command_chaining_and_get_response() {
    let mut card = piv(0);
    auth(&mut card, Some(vc::PIV_PIN)).unwrap();
    assert!(
        card.log
            .iter()
            .any(|(c, r)| c[0] == 0x10 && c[1] == 0x87 && r == &[0x90, 0x00]),
        "chained command"
    );
    assert!(card.log.iter().any(|(c, _)| c[1] == 0xC0), "GET RESPONSE");
}

#[test]
fn piv_pin_required_wrong_and_blocked() {
    let mut card = piv(1);
    let mut seen = Vec::new();
    let e = block_on(card::authenticate(&mut card, ORIGIN, &nonce(), None, &mut |s| {
        seen.push(s)
    }))
    .unwrap_err();
    assert_eq!(e.code(), "PIN_REQUIRED");
    assert!(seen.contains(&Status::WaitingForPin));
    assert_eq!(
        auth(&mut card, Some("654321")).unwrap_err(),
        CardError::PinWrong { tries_left: 2 }
    );
    assert_eq!(
        auth(&mut card, Some("654321")).unwrap_err(),
        CardError::PinWrong { tries_left: 1 }
    );
    assert_eq!(auth(&mut card, Some("654321")).unwrap_err().code(), "PIN_BLOCKED");
    // Blocked: even the right PIN is not sent (no try spent) and the answer says blocked.
    let before = card.log.len();
    assert_eq!(auth(&mut card, Some(vc::PIV_PIN)).unwrap_err().code(), "PIN_BLOCKED");
    assert!(
        !card.log[before..].iter().any(|(c, _)| c[1] == 0x20 && c.len() > 5),
        "a PIN was sent to a blocked card"
    );
    let info = block_on(card::info(&mut card, &mut |_| {})).unwrap();
    assert_eq!(info.pins[0].state, PinState::Blocked);
}

#[test]
fn a_given_pin_is_always_verified_even_on_an_unlocked_card() {
    let mut card = piv(1);
    auth(&mut card, Some(vc::PIV_PIN)).unwrap();
    // Same power cycle: the card is still verified, yet a wrong PIN must fail.
    assert_eq!(
        auth(&mut card, Some("654321")).unwrap_err(),
        CardError::PinWrong { tries_left: 2 }
    );
    assert_eq!(auth(&mut card, None).unwrap_err().code(), "PIN_REQUIRED");
}

#[test]
fn piv_pin_format_is_checked_before_sending() {
    let mut card = piv(1);
    assert_eq!(auth(&mut card, Some("1234")).unwrap_err().code(), "PIN_INVALID_FORMAT");
    assert!(!card.log.iter().any(|(c, _)| c[1] == 0x20 && c.len() > 5));
    let info = block_on(card::info(&mut card, &mut |_| {})).unwrap();
    assert_eq!(info.pins[0].state, PinState::TriesLeft { tries_left: 3 });
}

#[test]
fn ir_nid_info_reads_certificates_pins_and_serial_without_a_pin() {
    let mut card = ir_nid(0);
    let info = block_on(card::info(&mut card, &mut |_| {})).unwrap();
    assert_eq!(info.profile, card::Profile::IrNid);
    assert_eq!(info.assurance, "certificate-only");
    assert_eq!(info.certificates.len(), 2);
    let holder = &iran().holders[0];
    // The real layout: the authentication certificate names nobody, the signing certificate
    // holds SN, G and the CRN; neither holds the national code.
    assert_eq!(info.certificates[0].slot, "ir-nid-auth");
    assert_eq!(
        info.certificates[0].subject,
        format!("CN={} - AUTH, OU=IRAN Citizen, C=IR", holder.crn)
    );
    assert_eq!(info.certificates[1].slot, "ir-nid-sign");
    assert_eq!(
        info.certificates[1].subject,
        format!("CN={} - SIG, SN=رضایی, G=مریم, OU=IRAN Citizen, C=IR", holder.crn)
    );
    assert!(
        info.certificates
            .iter()
            .all(|c| !c.subject.contains(&holder.national_code))
    );
    assert!(
        info.certificates
            .iter()
            .all(|c| c.issuer.contains("hoviat Test IRAN Digital Citizen CA"))
    );
    assert_eq!(
        info.card_serial.as_deref(),
        Some(hoviat::pki::cert::hex_upper(&holder.chip_serial).as_str())
    );
    let chip = info.chip.as_ref().unwrap();
    assert_eq!(chip.card_reference.as_deref(), Some(holder.crn.as_str()));
    let (y, m, d) = holder.issue_date;
    let issue = chip.issue_date.as_ref().unwrap();
    assert_eq!(
        issue.solar_hijri.as_deref(),
        Some(format!("{y:04}/{m:02}/{d:02}").as_str())
    );
    assert_eq!(issue.gregorian.as_deref(), Some("2026-01-27"));
    assert!(chip.expiry_date.as_ref().unwrap().gregorian.is_some());
    let flags = chip.pin_flags.unwrap();
    assert_eq!(
        (flags.id, flags.sign),
        (card::ir_nid::PinFlag::Active, card::ir_nid::PinFlag::Active)
    );
    assert_eq!(
        info.pins.iter().map(|p| (p.name, p.state)).collect::<Vec<_>>(),
        vec![
            ("id", PinState::TriesLeft { tries_left: 3 }),
            ("sign", PinState::TriesLeft { tries_left: 3 }),
        ]
    );
    // The 4-byte header read, then reads of at most FF bytes, exactly to the end.
    let reads: Vec<&Vec<u8>> = card.log.iter().map(|(c, _)| c).filter(|c| c[1] == 0xB0).collect();
    assert_eq!(reads[0][4], 4);
    assert!(reads.iter().all(|c| c.len() == 5 && c[4] != 0));
}

#[test]
fn ir_nid_refuses_to_sign_without_the_registry_and_checks_pins() {
    let mut card = ir_nid(0);
    assert_eq!(auth(&mut card, None).unwrap_err().code(), "CARD_NEEDS_REGISTRY_SERVICE");
    assert_eq!(
        auth(&mut card, Some(vc::IR_ID_PIN)).unwrap_err().code(),
        "CARD_NEEDS_REGISTRY_SERVICE"
    );
    assert_eq!(
        auth(&mut card, Some("9999")).unwrap_err(),
        CardError::PinWrong { tries_left: 2 }
    );
    let pin = |p: &str| Pin::new(p).unwrap();
    let mut ch = card::Channel::new(&mut card);
    use card::ir_nid::{PinKind, verify_pin};
    block_on(verify_pin(&mut ch, PinKind::Sign, &pin(vc::IR_SIGN_PIN))).unwrap();
    assert_eq!(
        block_on(card::ir_nid::sign_pin_status(&mut ch)).unwrap(),
        PinState::Verified
    );
    assert_eq!(
        block_on(verify_pin(&mut ch, PinKind::Sign, &pin("0000"))).unwrap_err(),
        CardError::PinWrong { tries_left: 2 }
    );
    // Three wrong ID PINs in a row block it; then it is refused without a try.
    block_on(verify_pin(&mut ch, PinKind::Id, &pin(vc::IR_ID_PIN))).unwrap();
    for left in [2u8, 1] {
        assert_eq!(
            block_on(verify_pin(&mut ch, PinKind::Id, &pin("0000"))).unwrap_err(),
            CardError::PinWrong { tries_left: left }
        );
    }
    assert_eq!(
        block_on(verify_pin(&mut ch, PinKind::Id, &pin("0000")))
            .unwrap_err()
            .code(),
        "PIN_BLOCKED"
    );
    assert_eq!(
        block_on(card::ir_nid::id_pin_status(&mut ch)).unwrap(),
        PinState::Blocked
    );
    assert_eq!(
        block_on(verify_pin(&mut ch, PinKind::Id, &pin(vc::IR_ID_PIN)))
            .unwrap_err()
            .code(),
        "PIN_BLOCKED"
    );
}

#[test]
fn ir_nid_protected_files_and_secure_messaging_answer_6982() {
    let mut c = vc::VirtualIrNid::new(
        reg().holders[0].cert.clone(),
        reg().holders[0].cert.clone(),
        [1, 2, 3, 4],
    );
    assert_eq!(c.process(&hex("00A4040C10A0000000183003010000000000000000")), [0x90, 0]);
    assert_eq!(c.process(&hex("00A40000023F00")), [0x90, 0]);
    assert_eq!(c.process(&hex("00A40100020200")), [0x90, 0]);
    assert_eq!(c.process(&hex("00A40200020201")), [0x90, 0]);
    assert_eq!(c.process(&hex("00B0000010")), [0x69, 0x82]);
    assert_eq!(c.process(&hex("00A40200020205")), [0x90, 0]);
    assert_eq!(c.process(&hex("00B0000010")), [0x69, 0x82]);
    assert_eq!(
        c.process(&hex("00224 1B6068001028401 03".replace(' ', "").as_str())),
        [0x69, 0x82]
    );
    let pso = [&[0x00, 0x2A, 0x90, 0xA0, 0x22, 0x90, 0x20][..], &[0u8; 32]].concat();
    assert_eq!(c.process(&pso), [0x69, 0x82]);
    // Read past the end: 6B 00; more than remains: 6C xx.
    assert_eq!(c.process(&hex("00A4040C0CA0000000180C000001634200")), [0x90, 0]);
    assert_eq!(c.process(&hex("00A40000023F00")), [0x90, 0]);
    assert_eq!(c.process(&hex("00A40000025000")), [0x90, 0]);
    assert_eq!(c.process(&hex("00A4020C025040")), [0x90, 0]);
    assert_eq!(c.process(&hex("00B07F0010")), [0x6B, 0x00]);
    let len = reg().holders[0].cert.len();
    let off = u16::try_from(len - 3).unwrap().to_be_bytes();
    assert_eq!(c.process(&[0, 0xB0, off[0], off[1], 0x10]), [0x6C, 0x03]);
}

#[test]
fn card_removed_mid_operation_is_a_clear_error() {
    let mut full = piv(1);
    auth(&mut full, Some(vc::PIV_PIN)).unwrap();
    let mut full_ir = ir_nid(0);
    block_on(card::info(&mut full_ir, &mut |_| {})).unwrap();
    for after in 0..full.log.len().max(full_ir.log.len()) {
        let mut card = piv(1);
        card.remove_after = Some(after.min(full.log.len() - 1));
        let e = auth(&mut card, Some(vc::PIV_PIN)).unwrap_err();
        assert_eq!(e, CardError::Transport(TransportError::CardRemoved), "after {after}");
        assert!(e.is_retryable());
        let mut card = ir_nid(0);
        card.remove_after = Some(after.min(full_ir.log.len() - 1));
        assert_eq!(
            block_on(card::info(&mut card, &mut |_| {})).unwrap_err().code(),
            "CARD_REMOVED"
        );
    }
}

#[test]
fn garbage_and_unknown_cards_are_clear_errors_never_panics() {
    for i in 0..200 {
        let mut card = VirtualTransport::new(GarbageCard::default());
        // Different garbage each round: skip ahead in the card's stream.
        for _ in 0..i {
            card.card.process(&[0, 0xA4, 0, 0]);
        }
        let e = auth(&mut card, Some(vc::PIV_PIN)).unwrap_err();
        assert!(
            [
                "CARD_UNKNOWN",
                "CARD_RESPONSE_MALFORMED",
                "CARD_STATUS_ERROR",
                "CARD_CERTIFICATE_MISSING",
                "PIN_WRONG",
                "PIN_BLOCKED",
                "PIN_REQUIRED",
                "CARD_UNSUPPORTED"
            ]
            .contains(&e.code()),
            "round {i}: {e:?}"
        );
        assert!(card.log.len() < 1000, "round {i}: {} APDUs", card.log.len());
    }
    let mut card = VirtualTransport::new(UnknownCard);
    assert_eq!(auth(&mut card, None).unwrap_err().code(), "CARD_UNKNOWN");
    assert_eq!(
        block_on(card::info(&mut card, &mut |_| {})).unwrap_err().code(),
        "CARD_UNKNOWN"
    );
}

// ---------------------------------------------------------------------------------------------
// Recorded APDU traces: a strict replayer (every command must match byte for byte, in order;
// running out, or an unexpected command, is a failure, never a restart).
// ---------------------------------------------------------------------------------------------

struct Replay {
    atr: Vec<u8>,
    steps: Vec<(Vec<u8>, Vec<u8>)>,
    at: usize,
}

impl Replay {
    fn load(name: &str) -> Self {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/traces")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut atr = Vec::new();
        let mut steps = Vec::new();
        let mut pending = None;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if let Some(a) = line.strip_prefix("atr ") {
                atr = hex(a);
            } else if let Some(c) = line.strip_prefix("> ") {
                pending = Some(hex(c));
            } else if let Some(r) = line.strip_prefix("< ") {
                steps.push((pending.take().expect("response without command"), hex(r)));
            }
        }
        Replay { atr, steps, at: 0 }
    }
}

impl Transport for Replay {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (want, resp) = self
            .steps
            .get(self.at)
            .cloned()
            .ok_or_else(|| TransportError::Io("trace exhausted".into()))?;
        assert_eq!(apdu, want.as_slice(), "APDU {} differs from the trace", self.at);
        self.at += 1;
        Ok(resp)
    }
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        Ok(true)
    }
}

fn write_trace(name: &str, provenance: &str, atr: &[u8], log: &[(Vec<u8>, Vec<u8>)]) {
    let hex = hoviat::pki::cert::hex_upper;
    let mut s = format!(
        "# {provenance}\n# Format: 'atr HEX', then '> command' / '< response' pairs in order.\natr {}\n",
        hex(atr)
    );
    for (c, r) in log {
        s.push_str(&format!("> {}\n< {}\n", hex(c), hex(r)));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/traces")
        .join(name);
    std::fs::write(path, s).unwrap();
}

/// Set HOVIAT_RECORD_TRACES=1 to re-record the traces from the virtual cards.
fn maybe_record() {
    if std::env::var("HOVIAT_RECORD_TRACES").is_err() {
        return;
    }
    let mut c = piv(1);
    auth(&mut c, Some(vc::PIV_PIN)).unwrap();
    write_trace(
        "piv-es256-authenticate.apdu",
        "hoviat virtual PIV card (P-256, test registry seed \"tests\", 2026-11-23T10:00:00Z): card::authenticate for https://bank.example.ir. The same card is read by OpenSC 0.23 through pcscd in scripts/card-tests.sh.",
        &c.atr(),
        &c.log,
    );
    let mut c = piv(0);
    auth(&mut c, Some(vc::PIV_PIN)).unwrap();
    write_trace(
        "piv-rs256-authenticate.apdu",
        "hoviat virtual PIV card (RSA-2048, test registry seed \"tests\"): card::authenticate; shows command chaining and GET RESPONSE.",
        &c.atr(),
        &c.log,
    );
    let mut c = ir_nid(0);
    block_on(card::info(&mut c, &mut |_| {})).unwrap();
    write_trace(
        "ir-nid-info.apdu",
        "hoviat virtual Iranian national card (Mav4 ATR; APDUs as cards.md describes real cards), holder 0 of the Iranian-layout test registry (seed \"tests\", 2026-11-23T10:00:00Z; two RSA-2048 certificates): card::info reads both certificates, the PIN states, the CPLC, the CRN, EF 0303 dates and EF 0010 PIN flags. Real-card traces are still wanted.",
        &c.atr(),
        &c.log,
    );
}

#[test]
fn recorded_traces_replay_strictly() {
    maybe_record();
    let t = trust();
    let v = Verifier {
        trust: &t,
        options: PathOptions::client_auth(now()),
        backend: hoviat_testkit::backend_from_env(),
    };
    for name in ["piv-es256-authenticate.apdu", "piv-rs256-authenticate.apdu"] {
        let mut r = Replay::load(name);
        let a = auth(&mut r, Some(vc::PIV_PIN)).unwrap();
        assert_eq!(r.at, r.steps.len(), "{name}: trace not fully used");
        v.verify(&a.token, &Origin::parse(ORIGIN).unwrap(), &nonce()).unwrap();
    }
    let mut r = Replay::load("ir-nid-info.apdu");
    let info = block_on(card::info(&mut r, &mut |_| {})).unwrap();
    assert_eq!(r.at, r.steps.len());
    assert_eq!(info.certificates.len(), 2);
    let chip = info.chip.unwrap();
    assert_eq!(chip.card_reference.as_deref(), Some(iran().holders[0].crn.as_str()));
    assert!(chip.issue_date.unwrap().gregorian.is_some());
    // A trace with one response byte changed must not give the same result.
    let mut r = Replay::load("piv-es256-authenticate.apdu");
    let last = r.steps.len() - 1;
    let sig = &mut r.steps[last].1;
    let i = sig.len() - 10;
    sig[i] ^= 1;
    match auth(&mut r, Some(vc::PIV_PIN)) {
        Ok(a) => assert!(v.verify(&a.token, &Origin::parse(ORIGIN).unwrap(), &nonce()).is_err()),
        Err(e) => assert!(!e.code().is_empty()),
    }
}
