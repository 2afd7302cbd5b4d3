//! CRL parsing and checks against CRLs made by the test kit (moved out of src/pki/crl.rs: the
//! core's unit tests cannot use the test kit, which depends on the core).

use hoviat::error::Coded;
use hoviat::pki::crl::*;
use hoviat::time::UnixTime;
use hoviat_testkit::{CrlSpec, Issuer, KeyKind, PrivateKey, der as d, ext, rng_for};

fn ca() -> Issuer {
    let mut rng = rng_for("crl-unit", "ca");
    let key = PrivateKey::generate(KeyKind::P256, &mut rng);
    let name = d::name(&[(hoviat::pki::name::attr::CN, d::utf8("CRL unit CA"))]);
    Issuer::root(name, key, UnixTime(0), UnixTime(4_000_000_000), &mut rng)
}

fn spec(number: u64, delta_base: Option<u64>, entries: &[(&[u8], Option<u8>)]) -> CrlSpec {
    let mut s = CrlSpec::new(UnixTime(1_000_000), Some(UnixTime(2_000_000)));
    s.number = Some(number);
    s.delta_base = delta_base;
    s.entries = entries.iter().map(|(x, r)| (x.to_vec(), *r)).collect();
    s
}

fn make(ca: &Issuer, s: &CrlSpec) -> Vec<u8> {
    ca.crl_spec(s, None, &mut rng_for("crl-unit", "sign"))
}

#[test]
fn delta_indicator_number_and_entry_reasons_are_read() {
    let ca = ca();
    let der = make(
        &ca,
        &spec(
            300,
            Some(256),
            &[(&[1], Some(reason::REMOVE_FROM_CRL)), (&[2], None), (&[3], Some(0))],
        ),
    );
    let crl = Crl::from_der(&der).unwrap();
    assert!(crl.is_delta());
    assert_eq!(crl.base_number.as_deref(), Some(&[1u8, 0][..]));
    assert_eq!(crl.number.as_deref(), Some(&[1u8, 0x2C][..]));
    let reason_of = |s: &[u8]| crl.revocation(s).map(|r| r.reason);
    assert_eq!(reason_of(&[1]), Some(Some(reason::REMOVE_FROM_CRL)));
    assert_eq!(reason_of(&[2]), Some(None));
    assert_eq!(reason_of(&[3]), Some(Some(0)));
    assert_eq!(reason_of(&[4]), None);
    let complete = Crl::from_der(&make(&ca, &spec(300, None, &[]))).unwrap();
    assert!(!complete.is_delta());
}

#[test]
fn a_serial_listed_twice_with_different_reasons_has_no_reason() {
    let ca = ca();
    let hold = Some(reason::CERTIFICATE_HOLD);
    let der = make(
        &ca,
        &spec(
            7,
            None,
            &[
                (&[9], hold),
                (&[5], hold),
                (&[9], Some(reason::REMOVE_FROM_CRL)),
                (&[5], hold),
            ],
        ),
    );
    let crl = Crl::from_der(&der).unwrap();
    assert_eq!(crl.revocation(&[9]).unwrap().reason, None);
    assert_eq!(crl.revocation(&[5]).unwrap().reason, hold);
}

#[test]
fn malformed_reason_codes_and_deltas_without_a_number_are_refused() {
    let ca = ca();
    let good = make(&ca, &spec(7, None, &[(&[9], Some(reason::CERTIFICATE_HOLD))]));
    let replace = |der: &[u8], from: &[u8], to: &[u8]| {
        assert_eq!(der.windows(from.len()).filter(|w| *w == from).count(), 1);
        let at = der.windows(from.len()).position(|w| w == from).unwrap();
        let mut v = der.to_vec();
        v[at..at + from.len()].copy_from_slice(to);
        v
    };
    // Value 7 is unused in CRLReason; INTEGER is not ENUMERATED.
    for bad in [
        replace(&good, &[0x0A, 0x01, 0x06], &[0x0A, 0x01, 0x07]),
        replace(&good, &[0x0A, 0x01, 0x06], &[0x0A, 0x01, 0x0B]),
        replace(&good, &[0x0A, 0x01, 0x06], &[0x02, 0x01, 0x06]),
    ] {
        assert_eq!(Crl::from_der(&bad).unwrap_err().code(), "CRL_MALFORMED");
    }
    // A reasonCode twice in one entry: src/pki/crl.rs unit tests.
    // cRLNumber's OID turned into an unknown non-critical extension: a delta without one.
    let delta = make(&ca, &spec(7, Some(6), &[]));
    assert!(Crl::from_der(&delta).is_ok());
    let numberless = replace(&delta, &[0x06, 0x03, 0x55, 0x1D, 0x14], &[0x06, 0x03, 0x55, 0x1D, 0x63]);
    assert_eq!(Crl::from_der(&numberless).unwrap_err().code(), "CRL_MALFORMED");
    // The same edit of a complete CRL is fine (cRLNumber is only checked by the strict
    // profile at validation).
    let complete = make(&ca, &spec(7, None, &[]));
    assert!(
        Crl::from_der(&replace(
            &complete,
            &[0x06, 0x03, 0x55, 0x1D, 0x14],
            &[0x06, 0x03, 0x55, 0x1D, 0x63]
        ))
        .is_ok()
    );
}

#[test]
fn a_delta_extends_a_complete_crl_of_its_scope_at_least_as_new_as_its_base() {
    let ca = ca();
    let parse = |s: &CrlSpec| Crl::from_der(&make(&ca, s)).unwrap();
    let base = parse(&spec(100, None, &[]));
    assert!(parse(&spec(101, Some(100), &[])).extends(&base));
    assert!(parse(&spec(300, Some(50), &[])).extends(&base));
    assert!(!parse(&spec(106, Some(105), &[])).extends(&base), "its base is newer");
    assert!(
        !parse(&spec(100, Some(99), &[])).extends(&base),
        "not newer than the base"
    );
    assert!(!base.extends(&base), "a complete CRL extends nothing");
    let delta = parse(&spec(101, Some(100), &[]));
    assert!(!delta.extends(&delta), "a delta is no base");
    let mut partition = spec(101, Some(100), &[]);
    partition.extra_extensions = vec![ext::issuing_dp("http://crl.test/a.crl")];
    assert!(!parse(&partition).extends(&base), "another scope");
    let mut base_a = spec(100, None, &[]);
    base_a.extra_extensions = vec![ext::issuing_dp("http://crl.test/a.crl")];
    assert!(parse(&partition).extends(&parse(&base_a)), "the same partition");
}
