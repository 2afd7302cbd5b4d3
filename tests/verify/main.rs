//! Verification core: every check with a case that passes and one that fails for that reason
//! alone, with the stable code asserted. Runs on the deterministic test registry.
//!
//! One test binary (the registry is generated once), one file per concern:
//! - `holders.rs`: Holders, identity, variants
//! - `token.rs`: Token checks (token.md steps 1, 2, 6, 7)
//! - `path.rs`: Path checks (token.md step 4)
//! - `revocation.rs`: Revocation (token.md step 5)
//! - `delta_crl.rs`: Delta CRLs (RFC 5280 §5.2.4, §6.3.3)
//! - `hostile.rs`: Hostile and structural input
//! - `real_certs.rs`: Real certificates
//! - `regressions.rs`: Regressions from the security review
//! - `backends.rs`: Backends: every signature check gets the same verdict from each backend
//! - `login_policy.rs`: Login policy (issue 15): clientAuth required, signing certificates refused, policy lists

use std::sync::Arc;

use hoviat::error::Coded;
use hoviat::pki::alg::{HashAlg, SigAlg};
use hoviat::pki::cert::eku;
use hoviat::pki::{
    AlgorithmPolicy, Cert, EkuRequirement, KeyUsageRequirement, PathOptions, RevocationStatus, TrustStore,
};
use hoviat::time::UnixTime;
use hoviat::token::{MemoryNonceStore, NonceStore, Origin, TokenAlg, Verifier};
use hoviat_testkit::der::{self as d};
use hoviat_testkit::{CertSpec, Issuer, KeyKind, PrivateKey, Registry, Variant, ext, ku_bit, rng_for};

use hoviat::pki::crl::reason;
use hoviat_testkit::CrlSpec;

#[path = "../common/mod.rs"]
mod common;
use common::{ORIGIN, now, reg};

fn nonce(tag: u8) -> String {
    hoviat::token::nonce::nonce_from_bytes(&[tag; 32])
}

/// Root as anchor, every issuing CA as intermediate, every CRL.
fn full_store() -> TrustStore {
    let r = reg();
    let mut t = TrustStore::new();
    t.add_anchors(&r.root.cert).unwrap();
    for ca in &r.cas {
        t.add_intermediates(&ca.cert).unwrap();
    }
    for crl in &r.crls {
        t.add_crls(crl).unwrap();
    }
    t
}

fn verify_in(
    store: &TrustStore,
    opts: PathOptions,
    token: &str,
    origin: &str,
    n: &str,
) -> Result<hoviat::token::VerifiedToken, String> {
    let v = Verifier {
        trust: store,
        options: opts,
        backend: hoviat_testkit::backend_from_env(),
    };
    v.verify(token, &Origin::parse(origin).unwrap(), n)
        .map_err(|e| e.code().to_string())
}

fn verify(token: &str, origin: &str, n: &str) -> Result<hoviat::token::VerifiedToken, String> {
    verify_in(&full_store(), PathOptions::client_auth(now()), token, origin, n)
}

fn token_for(h: usize, tag: u8) -> (String, String) {
    let holder = &reg().holders[h];
    let n = nonce(tag);
    (holder.make_token(holder.token_alg(), ORIGIN, &n), n)
}

fn code<T>(r: Result<T, String>) -> String {
    match r {
        Ok(_) => panic!("expected a refusal, got acceptance"),
        Err(c) => c,
    }
}

fn json_set(token: &str, field: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(token).unwrap();
    v[field] = value;
    v.to_string()
}

fn json_remove(token: &str, field: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(token).unwrap();
    v.as_object_mut().unwrap().remove(field);
    v.to_string()
}

fn b64(b: &[u8]) -> serde_json::Value {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b).into()
}

mod backends;
mod delta_crl;
mod holders;
mod hostile;
mod login_policy;
mod path;
mod real_certs;
mod regressions;
mod revocation;
mod token;

// Helpers a topic shares with others (each topic file sees everything here).
#[allow(unused_imports)]
use backends::*;
#[allow(unused_imports)]
use delta_crl::*;
#[allow(unused_imports)]
use holders::*;
#[allow(unused_imports)]
use hostile::*;
#[allow(unused_imports)]
use login_policy::*;
#[allow(unused_imports)]
use path::*;
#[allow(unused_imports)]
use real_certs::*;
#[allow(unused_imports)]
use regressions::*;
#[allow(unused_imports)]
use revocation::*;
#[allow(unused_imports)]
use token::*;
