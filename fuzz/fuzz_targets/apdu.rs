//! APDU and BER-TLV parsing, and the virtual cards' command processing (test equipment that
//! faces pcscd and OpenSC).
#![no_main]
use hoviat::apdu::{Command, Response, tlv};
use hoviat::card::virtual_card::{VirtualCard, VirtualIrNid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(c) = Command::parse(data) {
        let again = Command::parse(&c.to_bytes()).expect("an encoded command parses");
        assert_eq!(again, c);
    }
    let _ = Response::parse(data);
    let _ = tlv::parse_all(data);
    let mut card = VirtualIrNid::new(vec![0x30, 0x82, 0, 1, 0], vec![0x30, 0x82, 0, 1, 0], [1, 2, 3, 4]);
    for chunk in data.split(|&b| b == 0xFF).take(16) {
        let r = card.process(chunk);
        assert!(r.len() >= 2);
    }
});
