//! OCSP response parsing and verification of arbitrary DER against a fixed certificate and
//! issuer: any input gives a verdict or an error code, never a panic, and never a verdict for a
//! response whose signed part the registry's CA (or its delegated responder) did not sign.
//! Seeds: `hoviat testpki --seed fuzz --at 2026-11-23T10:00:00Z` writes `ocsp/*.der` for the same
//! holder (scripts/fuzz copies them into the corpus).
#![no_main]
use std::collections::HashSet;
use std::sync::OnceLock;

use hoviat::pki::ocsp::{OcspCheck, OcspOptions, OcspResponse, verify};
use hoviat::pki::{AlgorithmPolicy, Cert, RustCrypto};
use hoviat::testkit::{Registry, ocsp};
use hoviat::time::UnixTime;
use libfuzzer_sys::fuzz_target;

const AT: UnixTime = UnixTime(1_795_428_000); // 2026-11-23T10:00:00Z

struct Fixture {
    cert: Cert,
    issuer: Cert,
    /// The signed parts of every response the test kit signed with a genuine key.
    genuine: HashSet<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let r = Registry::generate("fuzz", AT);
        let genuine = ocsp::samples(&r, 1)
            .into_iter()
            .filter(|(f, _)| *f != "wrong-key.der")
            .filter_map(|(_, d)| OcspResponse::from_der(&d).ok().map(|x| x.tbs().to_vec()))
            .collect();
        Fixture {
            cert: Cert::from_der(&r.holders[1].cert).unwrap(),
            issuer: Cert::from_der(&r.cas[r.holders[1].issuer].cert).unwrap(),
            genuine,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(resp) = OcspResponse::from_der(data) else { return };
    let f = fixture();
    let options = OcspOptions::default();
    let _ = resp.find(&f.cert, &f.issuer);
    for nonce in [None, Some(&[7u8; 16][..])] {
        let chk = OcspCheck {
            cert: &f.cert,
            issuer: &f.issuer,
            nonce,
            at: AT,
            options: &options,
            policy: &AlgorithmPolicy::default(),
            backend: &RustCrypto,
        };
        if verify(&resp, &chk).is_ok() {
            assert!(f.genuine.contains(resp.tbs()), "a verdict for a response nobody signed");
        }
    }
});
