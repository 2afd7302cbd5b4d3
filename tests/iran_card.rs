//! The faithful virtual Iranian card (Iranian-layout test registry: RSA-4096 root, RSA-2048
//! citizen CA, two RSA-2048 holder certificates, CRN, chip serial, dates) read in process:
//! the holder's identity with each attribute's provenance, and records at `certificate` and
//! `card-pin` made from what the card said and verified.

use hoviat::card::{self, Pin, block_on};
use hoviat::error::Coded;
use hoviat::pki::TrustStore;
use hoviat::record::{
    self, CardFacts, DisclosedAttribute, Level, OperatorInput, PinOutcome, Provenance, RecordRequest, VerifyOptions,
};
use hoviat_testkit::institution::{self, TestInstitution};
use hoviat_testkit::rng_for;
use hoviat_testkit::virtual_card::{self as vc, IrCardData, VirtualCard, VirtualTransport};

mod common;
use common::{iran, now};

fn card(holder: usize) -> VirtualTransport<Box<dyn VirtualCard>> {
    VirtualTransport::new(vc::for_iran_holder(iran(), holder).unwrap())
}

fn facts(t: &mut VirtualTransport<Box<dyn VirtualCard>>, pin: Option<&str>) -> CardFacts {
    let info = block_on(card::info(t, &mut |_| {})).unwrap();
    let mut outcome = PinOutcome::NotTried;
    if let Some(p) = pin {
        let mut ch = card::Channel::new(t);
        block_on(card::ir_nid::verify_pin(
            &mut ch,
            card::ir_nid::PinKind::Id,
            &Pin::new(p).unwrap(),
        ))
        .unwrap();
        outcome = PinOutcome::Accepted;
    }
    CardFacts::from_card_info(&info, outcome).unwrap()
}

fn registry_store() -> TrustStore {
    let mut t = TrustStore::new();
    t.add_anchors(&iran().root.cert).unwrap();
    t.add_intermediates(&iran().ca.cert).unwrap();
    t.add_crls(&iran().crl).unwrap();
    t
}

fn by_name<'a>(attrs: &'a [DisclosedAttribute], name: &str) -> Option<&'a DisclosedAttribute> {
    attrs.iter().find(|a| a.name == name)
}

#[test]
fn identity_from_the_card_says_where_each_attribute_came_from() {
    let h = &iran().holders[0];
    let f = facts(&mut card(0), None);
    assert_eq!(f.chip_type, "ir-nid");
    assert_eq!(f.card_reference.as_deref(), Some(h.crn.as_str()));
    assert_eq!(f.issue_date.as_deref(), Some("2026-01-27"));
    let op = OperatorInput::default();
    let attrs = record::holder_identity(&f.holder_certificate, &f, &op).unwrap();
    let got: Vec<(String, String, &str)> = attrs
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                a.value.as_str().map(str::to_string).unwrap_or_default(),
                a.provenance.name(),
            )
        })
        .collect();
    let (ey, em, ed) = h.expiry_date;
    let (gy, gm, gd) = hoviat::identity::solar_hijri::to_gregorian(ey, em, ed).unwrap();
    assert_eq!(
        got,
        vec![
            ("given_name".into(), "مریم".into(), "chip-certificate"),
            ("family_name".into(), "رضایی".into(), "chip-certificate"),
            ("card_reference".into(), h.crn.clone(), "chip-certificate"),
            ("card_issue_date".into(), "2026-01-27".into(), "chip-file"),
            (
                "card_expiry_date".into(),
                format!("{gy:04}-{gm:02}-{gd:02}"),
                "chip-file"
            ),
            ("chip_serial".into(), "51200010".into(), "chip-file"),
        ]
    );
    // The national code is not on the card: absent unless an operator types it.
    assert!(by_name(&attrs, "national_code").is_none());
    let typed = OperatorInput {
        national_code: Some(h.national_code.clone()),
        face_match: Some(true),
    };
    let attrs = record::holder_identity(&f.holder_certificate, &f, &typed).unwrap();
    let nc = by_name(&attrs, "national_code").unwrap();
    assert_eq!(
        (nc.value.as_str(), nc.provenance),
        (Some(h.national_code.as_str()), Provenance::Operator)
    );
    assert_eq!(by_name(&attrs, "face_match").unwrap().provenance, Provenance::Operator);
    // A wrong check digit is refused with the national code's own code.
    let mut bad = h.national_code.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '9' { '0' } else { char::from(last as u8 + 1) });
    let e = record::holder_identity(
        &f.holder_certificate,
        &f,
        &OperatorInput {
            national_code: Some(bad),
            face_match: None,
        },
    )
    .unwrap_err();
    assert!(e.code().starts_with("NATIONAL_CODE"), "{}", e.code());
}

#[test]
fn a_crn_the_certificate_contradicts_is_refused() {
    let mut data = IrCardData::from_iran(iran(), 0).unwrap();
    data.crn = "5112999999".into();
    let mut t = VirtualTransport::new(Box::new(vc::VirtualIrNid::with_data(data)) as Box<dyn VirtualCard>);
    let f = facts(&mut t, None);
    let e = record::holder_identity(&f.holder_certificate, &f, &OperatorInput::default()).unwrap_err();
    assert_eq!(e.code(), "RECORD_EVIDENCE_CONFLICT");
}

#[test]
fn the_signing_certificate_chains_to_the_test_iran_root() {
    let f = facts(&mut card(1), None);
    let leaf = std::sync::Arc::new(hoviat::pki::Cert::from_der(&f.holder_certificate).unwrap());
    let path = registry_store()
        .validate_with(
            &leaf,
            &[],
            &record::holder_path_options(now()),
            hoviat_testkit::backend_from_env(),
        )
        .unwrap();
    assert_eq!(path.chain.len(), 3);
    // Holder 2 is revoked on the citizen CA's CRL.
    let f = facts(&mut card(2), None);
    let leaf = std::sync::Arc::new(hoviat::pki::Cert::from_der(&f.holder_certificate).unwrap());
    let e = registry_store()
        .validate_with(
            &leaf,
            &[],
            &record::holder_path_options(now()),
            hoviat_testkit::backend_from_env(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "CERT_REVOKED");
}

fn make(f: &CardFacts, op: &OperatorInput, i: &TestInstitution) -> (String, Level) {
    let store = registry_store();
    let config = institution::config();
    let req = RecordRequest {
        institution: &config,
        purpose: "account-opening",
        terminal: "branch-1/counter-1",
        operator: "operator-17",
        at: now(),
        card: f,
        operator_input: op,
        registry: &store,
        holder_options: record::holder_path_options(now()),
        revocation_data: std::slice::from_ref(&iran().crl),
        decoys: 2,
    };
    let d = record::draft(&req, hoviat_testkit::backend_from_env(), &mut rng_for("iran", "salts")).unwrap();
    let level = d.level();
    let rec = d
        .seal(&i.chain(), &i.terminal_key, hoviat_testkit::backend_from_env())
        .unwrap();
    (rec, level)
}

#[test]
fn records_at_certificate_and_card_pin_from_the_card() {
    let i = TestInstitution::generate("tests", "hoviat test bank", now());
    let mut ca = TrustStore::new();
    ca.add_anchors(&i.root.cert).unwrap();
    let config = institution::config();
    let opts = VerifyOptions {
        institution_ca: &ca,
        at: None,
        institution: Some(&config),
        backend: hoviat_testkit::backend_from_env(),
    };
    let h = &iran().holders[0];
    let op = OperatorInput {
        national_code: Some(h.national_code.clone()),
        face_match: Some(true),
    };
    for (pin, want) in [(None, Level::Certificate), (Some(vc::IR_ID_PIN), Level::CardPin)] {
        let f = facts(&mut card(0), pin);
        let (rec, level) = make(&f, &op, &i);
        assert_eq!(level, want);
        let v = record::verify(&rec, &opts).unwrap();
        assert_eq!(v.level, want);
        assert_eq!(v.evidence["card"]["serial"], "51200010");
        let prov: Vec<(&str, &str)> = v
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), a.provenance.name()))
            .collect();
        assert_eq!(
            prov,
            vec![
                ("given_name", "chip-certificate"),
                ("family_name", "chip-certificate"),
                ("national_code", "operator"),
                ("card_reference", "chip-certificate"),
                ("face_match", "operator"),
                ("card_expiry_date", "chip-file"),
                ("holder_certificate", "chip-certificate"),
            ]
        );
    }
}

#[test]
fn hostile_chip_files_are_errors_not_panics() {
    use rand_core::Rng;
    let mut rng = rng_for("iran", "hostile");
    for n in 0..2000usize {
        let mut b = vec![0u8; n % 90];
        rng.fill_bytes(&mut b);
        if n % 3 == 0 && !b.is_empty() {
            b[0] = 0xB2;
        }
        let _ = card::ir_nid::parse_dates(&b);
        let _ = card::ir_nid::parse_pin_flags(&b);
    }
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>();
    let d = [vec![0xB2, 20], utf16("1404/11/07")].concat();
    let (issue, expiry) = card::ir_nid::parse_dates(&d).unwrap();
    assert_eq!(issue.unwrap().gregorian.as_deref(), Some("2026-01-27"));
    assert!(expiry.is_none());
    assert!(card::ir_nid::parse_dates(&[0xB2, 3, 0, 0x31, 0]).is_err());
}
