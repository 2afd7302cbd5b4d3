//! x509-limbo (C2SP/x509-limbo) conformance: the 142-case subset that
//! `../shared/conformance/README.md` defines for a verifier of people's client certificates,
//! each run through [`hoviat::pki::verify_chain`] — the code path of `hoviat verify-chain`.
//!
//! Prints `limbo: N/142 right`. Fails when a case is wrong that `tests/limbo-exceptions.txt` does
//! not list (one line per case: `<id> <reason>`), and when a listed case has become right (so the
//! list never hides a fixed case). `LIMBO_VERBOSE=1` prints every case's verdict and code.

use std::collections::BTreeMap;

use hoviat::Coded;
use hoviat::pki::cert::ku;
use hoviat::pki::verify_chain::{ChainRequest, eku_requirement, parse_leaf, verify_chain};
use hoviat::pki::{EkuRequirement, PathOptions};
use hoviat::time::UnixTime;
use serde_json::Value;

const SUBSET_SIZE: usize = 142;

/// README rule 1 and 2 (families) and 3 (single cases), by id prefix or exact id.
const EXCLUDED_PREFIXES: &[&str] = &[
    // 1: decided by a DNS/IP peer name
    "bettertls::",
    "webpki::san::",
    "webpki::cn::",
    // 2: web-server (CA/Browser Forum) profile only
    "webpki::aki::",
    "webpki::eku::",
];
const EXCLUDED_IDS: &[&str] = &[
    // 1: decided by a DNS/IP peer name
    "rfc5280::san::underscore-dns",
    "rfc5280::san::ip-in-dns",
    "rfc5280::ca-as-leaf-wrong-san",
    "rfc5280::nc::nc-forbids-dnsname-wildcard-san",
    "cve::cve-2025-61727",
    "cve::cve-2025-61727-nc-permits-variant",
    "pathological::nc-dos-1",
    "pathological::nc-dos-2",
    "pathological::nc-dos-3",
    // 2: web-server profile only
    "webpki::v1-cert",
    "webpki::forbidden-dsa-root",
    "webpki::forbidden-rsa-not-divisible-by-8-in-root",
    "webpki::san::san-critical-with-nonempty-subject",
    // 3: undecided by the suite itself
    "rfc5280::ca-as-leaf",
    "webpki::ca-as-leaf",
    "webpki::ee-basicconstraints-ca",
    "pathlen::validation-ignores-pathlen-in-leaf",
    "rfc5280::validity::notafter-fractional",
];
/// README rule 2: features that mark a case as outside this profile.
const EXCLUDED_FEATURES: &[&str] = &[
    "rfc5280-incompatible-with-webpki",
    "has-policy-constraints",
    "has-cert-policies",
    "no-cert-policies",
];

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn ku_bit(name: &str) -> Option<u16> {
    Some(match name {
        "digitalSignature" => ku::DIGITAL_SIGNATURE,
        "contentCommitment" | "nonRepudiation" => ku::NON_REPUDIATION,
        "keyEncipherment" => 1 << 2,
        "dataEncipherment" => 1 << 3,
        "keyAgreement" => 1 << 4,
        "keyCertSign" => ku::KEY_CERT_SIGN,
        "cRLSign" => ku::CRL_SIGN,
        "encipherOnly" => 1 << 7,
        "decipherOnly" => 1 << 8,
        _ => return None,
    })
}

/// Why a case is outside the subset, or `None` when it is in (README rules 1-4).
fn excluded(case: &Value) -> Option<&'static str> {
    let id = case["id"].as_str().unwrap_or_default();
    if EXCLUDED_PREFIXES.iter().any(|p| id.starts_with(p)) || EXCLUDED_IDS.contains(&id) {
        return Some("excluded by id");
    }
    let features = strs(&case["features"]);
    if features
        .iter()
        .any(|f| f.starts_with("pedantic-") || EXCLUDED_FEATURES.contains(f))
    {
        return Some("excluded by feature");
    }
    // 4: inputs verify-chain does not take.
    if !strs(&case["signature_algorithms"]).is_empty() {
        return Some("signature_algorithms");
    }
    let wanted_ku = strs(&case["key_usage"]);
    if !wanted_ku.is_empty() {
        let leaf_ku = case["peer_certificate"]
            .as_str()
            .and_then(|p| parse_leaf(p.as_bytes()).ok())
            .and_then(|c| c.key_usage);
        let has_all = leaf_ku.is_some_and(|k| wanted_ku.iter().all(|n| ku_bit(n).is_some_and(|b| k & b != 0)));
        if !has_all {
            return Some("key_usage the leaf lacks");
        }
    }
    // A max_chain_depth binds when the case exists to exhaust it.
    if !case["max_chain_depth"].is_null() && id.ends_with("-exhausted") {
        return Some("binding max_chain_depth");
    }
    None
}

fn pem_list(v: &Value) -> Vec<&[u8]> {
    strs(v).into_iter().map(str::as_bytes).collect()
}

/// Runs one case; `Ok(())` on success, the error code on refusal.
fn run(case: &Value) -> Result<(), String> {
    let at = case["validation_time"]
        .as_str()
        .and_then(UnixTime::parse_rfc3339)
        .unwrap_or_else(UnixTime::now);
    let ekus = strs(&case["extended_key_usage"]);
    let eku = match ekus.as_slice() {
        [] if case["validation_kind"] == "CLIENT" => eku_requirement("clientAuth"),
        [] => eku_requirement("serverAuth"),
        [one] => eku_requirement(one),
        _ => None,
    }
    .unwrap_or(EkuRequirement::Any);
    let req = ChainRequest {
        anchors: pem_list(&case["trusted_certs"]),
        intermediates: pem_list(&case["untrusted_intermediates"]),
        crls: pem_list(&case["crls"]),
        leaf: case["peer_certificate"].as_str().unwrap_or_default().as_bytes(),
        options: PathOptions::verify_chain(at, eku),
    };
    verify_chain(&req, hoviat_testkit::backend_from_env())
        .map(|_| ())
        .map_err(|e| format!("{} ({e})", e.code()))
}

#[test]
fn limbo_subset() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let path = format!("{dir}/../shared/conformance/limbo.json");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let suite: Value = serde_json::from_slice(&data).expect("limbo.json is JSON");
    let cases: Vec<&Value> = suite["testcases"]
        .as_array()
        .expect("testcases")
        .iter()
        .filter(|c| excluded(c).is_none())
        .collect();
    assert_eq!(cases.len(), SUBSET_SIZE, "the README's selection rules give 142 cases");

    let exceptions_text = std::fs::read_to_string(format!("{dir}/tests/limbo-exceptions.txt")).unwrap_or_default();
    let mut exceptions = BTreeMap::new();
    for line in exceptions_text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, reason) = line.split_once(' ').unwrap_or((line, ""));
        assert!(!reason.trim().is_empty(), "exception {id} has no reason");
        exceptions.insert(id.to_string(), reason.trim().to_string());
    }
    for id in exceptions.keys() {
        assert!(
            cases.iter().any(|c| c["id"] == id.as_str()),
            "exception {id} is not a case of the subset"
        );
    }

    let mut right = 0;
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap_or_default();
        let expect_ok = case["expected_result"] == "SUCCESS";
        let result = run(case);
        if std::env::var_os("LIMBO_VERBOSE").is_some() {
            println!("{id} expected {} got {:?}", case["expected_result"], result);
        }
        let ok = result.is_ok() == expect_ok;
        if ok {
            right += 1;
            if exceptions.contains_key(id) {
                fixed.push(id.to_string());
            }
        } else if !exceptions.contains_key(id) {
            let got = result.err().unwrap_or_else(|| "SUCCESS".into());
            unexpected.push(format!("{id}: expected {}, got {got}", case["expected_result"]));
        }
    }
    println!("limbo: {right}/{SUBSET_SIZE} right");
    for u in &unexpected {
        println!("  wrong, not a listed exception: {u}");
    }
    assert!(unexpected.is_empty(), "{} unexpected wrong cases", unexpected.len());
    assert!(
        fixed.is_empty(),
        "listed exceptions now right (remove them from tests/limbo-exceptions.txt): {fixed:?}"
    );
}
