//! CRL parsing and lookup of arbitrary DER.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = hoviat::pki::Crl::from_der(data) {
        let _ = c.revoked_at(&[1, 2, 3]);
        let _ = c.serials_hex().count();
        let _ = c.issuer.to_string();
    }
});
