//! Benchmark workloads (test equipment): the same inputs for hoviat and for the peers it is
//! compared with. A `web-eid:1.0` token with a 3-certificate chain, RSA-4096 root →
//! intermediate → holder (performance.md): `es256` P-384 intermediate and P-256 holder,
//! `es384` P-384 and P-384, `rs256` RSA-2048 and RSA-2048; chains with 1 to 5 intermediates;
//! anchor sets of 1 to 1,000 certificates.

use super::{CertSpec, Issuer, KeyKind, PrivateKey, Registry, ext, ku_bit, random_serial, rng_for};
use hoviat::pki::cert::eku;
use hoviat::time::UnixTime;

/// One workload: a token and what verifies it.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Name (`es256`, `chain-3`, `anchors-100`).
    pub name: String,
    /// Token JSON.
    pub token: String,
    /// Origin the token is for.
    pub origin: String,
    /// Its nonce.
    pub nonce: String,
    /// Validation time.
    pub at: UnixTime,
    /// Trust anchors (DER), the real one first... or last, for the anchor-count workloads.
    pub anchors: Vec<Vec<u8>>,
    /// Intermediates (DER), leaf side first.
    pub intermediates: Vec<Vec<u8>>,
}

const ORIGIN: &str = "https://bank.example.ir";
const DAY: i64 = 86_400;

fn name(cn: &str) -> Vec<u8> {
    use super::der::*;
    use hoviat::pki::name::attr;
    super::der::name(&[
        (attr::COUNTRY, printable("IR")),
        (attr::ORG, utf8("hoviat bench")),
        (attr::CN, utf8(cn)),
    ])
}

fn ca_under(parent: &Issuer, cn: &str, kind: KeyKind, at: UnixTime) -> Issuer {
    let mut r = rng_for("bench-ca", cn);
    parent.issue_ca(
        name(cn),
        PrivateKey::generate(kind, &mut r),
        None,
        vec![],
        UnixTime(at.0 - 30 * DAY),
        UnixTime(at.0 + 3650 * DAY),
        &mut r,
    )
}

fn holder(ca: &Issuer, kind: KeyKind, at: UnixTime, nonce: &str) -> String {
    let mut r = rng_for("bench-holder", &format!("{kind:?}"));
    let key = PrivateKey::generate(kind, &mut r);
    let spec = CertSpec {
        serial: random_serial(&mut r),
        subject: name("bench holder"),
        not_before: UnixTime(at.0 - DAY),
        not_after: UnixTime(at.0 + 365 * DAY),
        extensions: vec![
            ext::basic_constraints(false, None),
            ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]),
            ext::eku(&[eku::CLIENT_AUTH], false),
        ],
        ecdsa_null_params: false,
        sig_alg: None,
    };
    let cert = ca.issue(&spec, &key.spki(), &mut r);
    let h = super::TestHolder {
        index: 0,
        variant: super::Variant::Good,
        cert,
        key,
        given_name: String::new(),
        surname: String::new(),
        national_code: String::new(),
        serial: Vec::new(),
        issuer: 0,
    };
    let alg = h.token_alg();
    h.make_token(alg, ORIGIN, nonce)
}

/// All workloads, deterministic.
pub fn workloads() -> Vec<Workload> {
    let at = UnixTime::parse_rfc3339("2026-11-23T10:00:00Z").unwrap_or(UnixTime(0));
    let nonce = hoviat::token::nonce::nonce_from_bytes(&[3; 32]);
    let mut r = rng_for("bench", "root");
    let root = Issuer::root(
        name("bench root RSA-4096"),
        PrivateKey::generate(KeyKind::Rsa(4096), &mut r),
        UnixTime(at.0 - 3650 * DAY),
        UnixTime(at.0 + 7300 * DAY),
        &mut r,
    );
    let w = |n: &str, token: String, anchors: Vec<Vec<u8>>, inters: Vec<Vec<u8>>| Workload {
        name: n.into(),
        token,
        origin: ORIGIN.into(),
        nonce: nonce.clone(),
        at,
        anchors,
        intermediates: inters,
    };
    let mut out = Vec::new();
    let ec_ca = ca_under(&root, "bench CA P-384", KeyKind::P384, at);
    let rsa_ca = ca_under(&root, "bench CA RSA-2048", KeyKind::Rsa(2048), at);
    out.push(w(
        "es256",
        holder(&ec_ca, KeyKind::P256, at, &nonce),
        vec![root.cert.clone()],
        vec![ec_ca.cert.clone()],
    ));
    out.push(w(
        "es384",
        holder(&ec_ca, KeyKind::P384, at, &nonce),
        vec![root.cert.clone()],
        vec![ec_ca.cert.clone()],
    ));
    out.push(w(
        "rs256",
        holder(&rsa_ca, KeyKind::Rsa(2048), at, &nonce),
        vec![root.cert.clone()],
        vec![rsa_ca.cert.clone()],
    ));
    // Chains of 1 to 5 intermediates (P-256 all the way down, RSA-4096 root).
    let mut chain: Vec<Issuer> = Vec::new();
    for n in 1..=5 {
        let parent = chain.last().unwrap_or(&root).clone();
        chain.push(ca_under(&parent, &format!("bench chain CA {n}"), KeyKind::P256, at));
        let token = holder(chain.last().unwrap_or(&root), KeyKind::P256, at, &nonce);
        let inters = chain.iter().rev().map(|c| c.cert.clone()).collect();
        out.push(w(&format!("chain-{n}"), token, vec![root.cert.clone()], inters));
    }
    // 1 to 1,000 anchors: the real one among unrelated P-256 roots.
    let es256 = out[0].clone();
    for count in [1usize, 10, 100, 1000] {
        let mut anchors: Vec<Vec<u8>> = (1..count)
            .map(|i| {
                let mut rr = rng_for("bench-anchor", &i.to_string());
                Issuer::root(
                    name(&format!("unrelated root {i}")),
                    PrivateKey::generate(KeyKind::P256, &mut rr),
                    UnixTime(at.0 - DAY),
                    UnixTime(at.0 + 3650 * DAY),
                    &mut rr,
                )
                .cert
            })
            .collect();
        anchors.push(root.cert.clone());
        out.push(w(
            &format!("anchors-{count}"),
            es256.token.clone(),
            anchors,
            es256.intermediates.clone(),
        ));
    }
    out
}

/// Writes each workload as files: `token.json`, `anchors.pem`, `intermediates.pem`,
/// `params.json` (`origin`, `nonce`, `at`).
pub fn write(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for w in workloads() {
        let d = dir.join(&w.name);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join("token.json"), &w.token)?;
        let pems = |v: &[Vec<u8>]| v.iter().map(|c| Registry::pem("CERTIFICATE", c)).collect::<String>();
        std::fs::write(d.join("anchors.pem"), pems(&w.anchors))?;
        std::fs::write(d.join("intermediates.pem"), pems(&w.intermediates))?;
        let params = serde_json::json!({ "origin": w.origin, "nonce": w.nonce, "at": w.at.to_string() });
        std::fs::write(d.join("params.json"), params.to_string())?;
        names.push(w.name);
    }
    Ok(names)
}

/// Median, 10th and 90th percentile of durations in microseconds.
pub fn summarize(mut us: Vec<f64>) -> serde_json::Value {
    us.sort_by(f64::total_cmp);
    let q = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((us.len() as f64 - 1.0) * p).round() as usize;
        us.get(i).copied().unwrap_or(f64::NAN)
    };
    serde_json::json!({ "iterations": us.len(), "median_us": q(0.5), "p10_us": q(0.1), "p90_us": q(0.9), "min_us": q(0.0) })
}
