//! Certificate parsing, identity extraction and validation of arbitrary DER.
#![no_main]
use std::sync::Arc;

use hoviat::pki::{Cert, PathOptions, RustCrypto, TrustStore};
use hoviat::time::UnixTime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Cert::from_der(data) {
        let _ = hoviat::identity::Holder::from_cert(&c);
        let _ = hoviat::identity::CertificateSummary::from_cert(&c);
        let _ = c.subject.to_string();
        let c = Arc::new(c);
        let mut t = TrustStore::new();
        t.add_anchor_cert(c.clone());
        let _ = t.validate(&c, &PathOptions::client_auth(UnixTime(1_795_428_000)), &RustCrypto);
    }
    let _ = hoviat::pki::alg::KeyInfo::from_spki_der(data);
});
