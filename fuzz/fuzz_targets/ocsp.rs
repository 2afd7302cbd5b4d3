//! OCSP response parsing and verification of arbitrary DER against a fixed certificate and
//! issuer: any input gives a verdict or an error code, never a panic, and never "good" for a
//! response the registry's CA did not sign.
#![no_main]
use std::sync::OnceLock;

use hoviat::pki::ocsp::{OcspCheck, OcspOptions, OcspResponse, verify};
use hoviat::pki::{AlgorithmPolicy, Cert, RustCrypto};
use hoviat::time::UnixTime;
use libfuzzer_sys::fuzz_target;

fn certs() -> &'static (Cert, Cert) {
    static C: OnceLock<(Cert, Cert)> = OnceLock::new();
    C.get_or_init(|| {
        let r = hoviat::testkit::Registry::generate_light("fuzz-ocsp", UnixTime(1_795_392_000));
        (Cert::from_der(&r.holders[1].cert).unwrap(), Cert::from_der(&r.cas[1].cert).unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(resp) = OcspResponse::from_der(data) else { return };
    let (cert, issuer) = certs();
    let options = OcspOptions::default();
    let chk = OcspCheck {
        cert,
        issuer,
        nonce: None,
        at: UnixTime(1_795_428_000),
        options: &options,
        policy: &AlgorithmPolicy::default(),
        backend: &RustCrypto,
    };
    let _ = resp.find(cert, issuer);
    let _ = verify(&resp, &chk);
});
