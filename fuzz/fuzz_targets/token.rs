//! Token parsing and full verification against a fixed test registry: any input must give a
//! verdict or an error code, never a panic, and never acceptance of a token not made by a
//! registry holder for this origin and nonce.
#![no_main]
use std::sync::OnceLock;

use hoviat::pki::{PathOptions, RustCrypto, TrustStore};
use hoviat::time::UnixTime;
use hoviat::token::{Origin, Verifier};
use libfuzzer_sys::fuzz_target;

fn store() -> &'static (TrustStore, UnixTime) {
    static S: OnceLock<(TrustStore, UnixTime)> = OnceLock::new();
    S.get_or_init(|| {
        let now = UnixTime(1_795_428_000);
        let r = hoviat::testkit::Registry::generate("fuzz", now);
        let mut t = TrustStore::new();
        t.add_anchors(&r.root.cert).unwrap();
        for ca in &r.cas {
            t.add_intermediates(&ca.cert).unwrap();
        }
        for c in &r.crls {
            t.add_crls(c).unwrap();
        }
        (t, now)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (t, now) = store();
    let v = Verifier { trust: t, options: PathOptions::client_auth(*now), backend: &RustCrypto };
    // Seed tokens are genuine but made for https://bank.example.ir: verifying them for another
    // origin exercises every check up to the signature, and any acceptance is a forgery.
    let origin = Origin::parse("https://fuzz.example.ir").unwrap();
    let nonce = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    if let Ok(ok) = v.verify(text, &origin, nonce) {
        // Only a real signature by a registry holder can get here; the fuzzer cannot forge one.
        panic!("fuzzer produced an accepted token for {:?}", ok.holder.subject);
    }
});
