//! Identity records: made from the test registry's holders at the test institution's terminal,
//! verified, tampered with (each change detected with its code), disclosed per purpose.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value};

use hoviat::error::Coded;
use hoviat::pki::TrustStore;
use hoviat::pki::alg::SigAlg;
use hoviat::record::{
    self, CardFacts, Institution, Level, OperatorInput, PinOutcome, Provenance, RecordRequest, VerifyOptions,
};
use hoviat::time::UnixTime;
use hoviat_testkit::institution::{self, TestInstitution};
use hoviat_testkit::rng_for;

mod common;
use common::{now, reg};

fn inst() -> &'static TestInstitution {
    static I: OnceLock<TestInstitution> = OnceLock::new();
    I.get_or_init(|| TestInstitution::generate("tests", "hoviat test bank", now()))
}

fn rogue() -> &'static TestInstitution {
    static I: OnceLock<TestInstitution> = OnceLock::new();
    I.get_or_init(|| TestInstitution::generate("rogue", "hoviat test bank", now()))
}

fn backend() -> &'static dyn hoviat::pki::SignatureBackend {
    hoviat_testkit::backend_from_env()
}

fn registry_store() -> TrustStore {
    let r = reg();
    let mut t = TrustStore::new();
    t.add_anchors(&r.root.cert).unwrap();
    for c in &r.crls {
        t.add_crls(c).unwrap();
    }
    t
}

fn institution_ca(i: &TestInstitution) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_anchors(&i.root.cert).unwrap();
    t
}

struct Made {
    record: String,
    level: Level,
}

/// Holder `h` at the test terminal for `purpose`; `iranian`: the real Iranian certificate
/// layout (names and CRN in the certificate, no national code) instead of the registry's.
fn make_with(
    h: usize,
    purpose: &str,
    iranian: bool,
    pin: PinOutcome,
    op: &OperatorInput,
    sign: bool,
    seed: &str,
) -> Result<Made, String> {
    let r = reg();
    let cert = if iranian {
        institution::iranian_signing_cert(r, h).unwrap()
    } else {
        r.holders[h].cert.clone()
    };
    let facts = institution::card_facts(r, h, cert, "virtual-ir-nid", pin);
    make_facts(h, purpose, &facts, op, sign, seed, &institution::config())
}

fn make_facts(
    h: usize,
    purpose: &str,
    facts: &CardFacts,
    op: &OperatorInput,
    sign: bool,
    seed: &str,
    config: &Institution,
) -> Result<Made, String> {
    let r = reg();
    let store = registry_store();
    let req = RecordRequest {
        institution: config,
        purpose,
        terminal: "branch-1/counter-1",
        operator: "operator-17",
        at: now(),
        card: facts,
        operator_input: op,
        registry: &store,
        holder_options: record::holder_path_options(now()),
        revocation_data: &r.crls,
        decoys: 3,
    };
    let mut rng = rng_for(seed, "record-salts");
    let mut d = record::draft(&req, backend(), &mut rng).map_err(|e| e.code().to_string())?;
    if sign {
        let holder = &r.holders[h];
        let alg = holder.token_alg();
        let mut srng = rng_for(seed, "card");
        let sig = holder
            .key
            .sign_digest(alg.sig_alg(), &alg.hash().digest(&d.binding_message()), &mut srng);
        d.attach_card_signature(alg.name(), &sig, backend())
            .map_err(|e| e.code().to_string())?;
    }
    let level = d.level();
    let i = inst();
    let record = d
        .seal(&i.chain(), &i.terminal_key, backend())
        .map_err(|e| e.code().to_string())?;
    Ok(Made { record, level })
}

fn operator() -> OperatorInput {
    OperatorInput {
        national_code: None,
        face_match: Some(true),
    }
}

fn make(purpose: &str, pin: PinOutcome, sign: bool) -> String {
    make_with(1, purpose, false, pin, &operator(), sign, "a")
        .unwrap()
        .record
}

fn opts<'a>(ca: &'a TrustStore, config: Option<&'a Institution>) -> VerifyOptions<'a> {
    VerifyOptions {
        institution_ca: ca,
        at: None,
        institution: config,
        backend: backend(),
    }
}

fn verify(record: &str) -> Result<record::VerifiedRecord, String> {
    let ca = institution_ca(inst());
    let config = institution::config();
    record::verify(record, &opts(&ca, Some(&config))).map_err(|e| e.code().to_string())
}

fn code(record: &str) -> String {
    verify(record).err().unwrap_or_else(|| "ACCEPTED".into())
}

/// (header, payload, signature, disclosures) of a record.
fn split(record: &str) -> (String, Map<String, Value>, String, Vec<String>) {
    let body = record.strip_suffix('~').unwrap();
    let mut parts = body.split('~');
    let jwt = parts.next().unwrap();
    let disclosures = parts.map(str::to_string).collect();
    let segs: Vec<&str> = jwt.split('.').collect();
    let payload = serde_json::from_slice(&B64.decode(segs[1]).unwrap()).unwrap();
    (segs[0].to_string(), payload, segs[2].to_string(), disclosures)
}

/// The record with its payload changed but the old seal kept.
fn with_payload(record: &str, change: impl FnOnce(&mut Map<String, Value>)) -> String {
    let (h, mut p, s, d) = split(record);
    change(&mut p);
    let p = B64.encode(Value::Object(p).to_string());
    format!("{h}.{p}.{s}~{}", d.iter().map(|x| format!("{x}~")).collect::<String>())
}

/// The record's payload changed and sealed again by the (genuine) terminal key.
fn resealed(record: &str, disclosures: Option<Vec<String>>, change: impl FnOnce(&mut Map<String, Value>)) -> String {
    let (_, mut p, _, d) = split(record);
    change(&mut p);
    let i = inst();
    record::seal_payload(&p, &disclosures.unwrap_or(d), &i.chain(), &i.terminal_key).unwrap()
}

fn disclosure(salt: u8, name: &str, value: Value, provenance: &str) -> (String, String) {
    let d = record::sdjwt::Disclosure::new(
        &[salt; 16],
        name,
        serde_json::json!({ "value": value, "provenance": provenance }),
    );
    let digest = d.digest();
    (d.encoded, digest)
}

fn decode_disclosure(d: &str) -> Vec<Value> {
    serde_json::from_slice(&B64.decode(d).unwrap()).unwrap()
}

#[test]
fn round_trip_at_each_level() {
    let c = verify(&make("account-opening", PinOutcome::NotTried, false)).unwrap();
    assert_eq!(c.level, Level::Certificate);
    assert_eq!(c.eidas, Level::Certificate.eidas());
    assert!(!c.card_signature_verified);
    let p = verify(&make("account-opening", PinOutcome::Accepted, false)).unwrap();
    assert_eq!(p.level, Level::CardPin);
    let s = verify(&make("account-opening", PinOutcome::Accepted, true)).unwrap();
    assert_eq!(s.level, Level::CardSignature);
    assert!(s.card_signature_verified);
    // A card signature without the PIN does not reach card-signature (levels are cumulative).
    let m = make_with(
        1,
        "account-opening",
        false,
        PinOutcome::NotTried,
        &operator(),
        true,
        "a",
    )
    .unwrap();
    assert_eq!(m.level, Level::Certificate);
    assert_eq!(verify(&m.record).unwrap().level, Level::Certificate);
    // An RSA holder (RS256) under the RSA citizen CA, Iranian layout.
    let rsa = make_with(0, "account-opening", true, PinOutcome::Accepted, &operator(), true, "r").unwrap();
    assert_eq!(verify(&rsa.record).unwrap().level, Level::CardSignature);

    assert_eq!(s.institution, "test-bank");
    assert_eq!(s.terminal, "branch-1/counter-1");
    assert_eq!(s.operator, "operator-17");
    assert_eq!(s.purpose, "account-opening");
    assert_eq!(s.issued_at, now().to_string());
    assert!(s.terminal_certificate.contains("branch-1/counter-1"));
    assert_eq!(s.evidence["pin"], "accepted");
    assert_eq!(s.evidence["card"]["chipType"], "virtual-ir-nid");
    assert_eq!(s.evidence["revocation"]["status"], "good");
    assert_eq!(s.evidence["chain"].as_array().unwrap().len(), 2);
    assert_eq!(s.undisclosed, 3, "three decoys, every attribute disclosed");
    let holder = &reg().holders[1];
    let get = |n: &str| s.attributes.iter().find(|a| a.name == n).cloned().unwrap();
    assert_eq!(get("given_name").value, holder.given_name.as_str());
    assert_eq!(get("given_name").provenance, Provenance::ChipCertificate);
    assert_eq!(get("family_name").value, holder.surname.as_str());
    // The registry's (Estonian-style) certificate carries the national code.
    assert_eq!(get("national_code").value, holder.national_code.as_str());
    assert_eq!(get("national_code").provenance, Provenance::ChipCertificate);
    // Its CN is a name, so the CRN comes from the card manager: a chip file.
    assert_eq!(get("card_reference").value, institution::card_reference(1).as_str());
    assert_eq!(get("card_reference").provenance, Provenance::ChipFile);
    assert_eq!(get("face_match").value, true);
    assert_eq!(get("face_match").provenance, Provenance::Operator);
    assert_eq!(get("card_expiry_date").provenance, Provenance::ChipFile);
}

#[test]
fn iranian_layout_provenance() {
    // The real layout: names and CRN from the certificate, the national code only as typed.
    let typed = OperatorInput {
        national_code: Some("۰۰۷۶۲۲۹۶۴۵".into()), // Persian digits, as a clerk may type them
        face_match: Some(true),
    };
    let m = make_with(0, "account-opening", true, PinOutcome::Accepted, &typed, false, "i").unwrap();
    let v = verify(&m.record).unwrap();
    let get = |n: &str| v.attributes.iter().find(|a| a.name == n).cloned().unwrap();
    assert_eq!(get("national_code").value, "0076229645");
    assert_eq!(get("national_code").provenance, Provenance::Operator);
    assert_eq!(get("card_reference").value, institution::card_reference(0).as_str());
    assert_eq!(get("card_reference").provenance, Provenance::ChipCertificate);
    assert_eq!(get("given_name").value, reg().holders[0].given_name.as_str());

    let bad = OperatorInput {
        national_code: Some("0076229646".into()),
        face_match: None,
    };
    let e = make_with(0, "account-opening", true, PinOutcome::Accepted, &bad, false, "i").err();
    assert_eq!(e.as_deref(), Some("NATIONAL_CODE_INVALID"));
    // The certificate says card X, the card manager card Y.
    let r = reg();
    let mut facts = institution::card_facts(
        r,
        0,
        institution::iranian_signing_cert(r, 0).unwrap(),
        "ir-nid-mav4",
        PinOutcome::NotTried,
    );
    facts.card_reference = Some("1234567890".into());
    let e = make_facts(
        0,
        "account-opening",
        &facts,
        &operator(),
        false,
        "i",
        &institution::config(),
    )
    .err();
    assert_eq!(e.as_deref(), Some("RECORD_EVIDENCE_CONFLICT"));
    // A typed national code that differs from the certificate's (Estonian-style layout).
    let other = OperatorInput {
        national_code: Some("0076229645".into()),
        face_match: None,
    };
    let e = make_with(1, "account-opening", false, PinOutcome::NotTried, &other, false, "i").err();
    assert_eq!(e.as_deref(), Some("RECORD_EVIDENCE_CONFLICT"));
}

#[test]
fn each_purpose_discloses_only_what_it_requests() {
    let config = institution::config();
    for purpose in &config.purposes {
        let m = make_with(
            0,
            &purpose.id,
            true,
            PinOutcome::Accepted,
            &operator(),
            false,
            &purpose.id,
        )
        .unwrap();
        let (_, payload, _, disclosures) = split(&m.record);
        let names: Vec<String> = disclosures
            .iter()
            .map(|d| decode_disclosure(d)[1].as_str().unwrap().to_string())
            .collect();
        for n in &names {
            assert!(purpose.allows(n), "{}: {n} was not requested", purpose.id);
        }
        // Everything requested that the card and operator gave is there (national code: not
        // typed here and not in the Iranian certificate, so absent).
        for a in &purpose.attributes {
            assert_eq!(names.contains(a), a != "national_code", "{}: {a}", purpose.id);
        }
        // No personal value in the clear.
        let clear = Value::Object(payload).to_string();
        let h = &reg().holders[0];
        for secret in [&h.given_name, &h.surname, &institution::card_reference(0)] {
            assert!(
                !clear.contains(secret.as_str()),
                "{}: {secret} in the clear",
                purpose.id
            );
        }
        let v = verify(&m.record).unwrap();
        assert_eq!(v.requested, purpose.attributes);
        assert!(v.attributes.iter().all(|a| purpose.allows(&a.name)));
    }
}

#[test]
fn tampered_fields_are_detected_with_their_code() {
    let rec = make("account-opening", PinOutcome::Accepted, false);
    assert_eq!(code(&rec), "ACCEPTED");
    // Clear fields under the seal.
    type Change = Box<dyn Fn(&mut Map<String, Value>)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "time",
            Box::new(|p| drop(p.insert("iat".into(), (now().0 - 86_400).into()))),
        ),
        (
            "level",
            Box::new(|p| drop(p.insert("level".into(), "card-signature".into()))),
        ),
        ("purpose", Box::new(|p| p["purpose"]["id"] = "sim-registration".into())),
        (
            "operator",
            Box::new(|p| drop(p.insert("operator".into(), "operator-18".into()))),
        ),
        (
            "terminal",
            Box::new(|p| drop(p.insert("terminal".into(), "branch-2/counter-1".into()))),
        ),
        ("pin", Box::new(|p| p["evidence"]["pin"] = "not-tried".into())),
        (
            "drop a digest",
            Box::new(|p| drop(p["_sd"].as_array_mut().unwrap().pop())),
        ),
    ];
    for (what, change) in cases {
        assert_eq!(code(&with_payload(&rec, change)), "RECORD_SEAL_INVALID", "{what}");
    }
    // A disclosed attribute changed (same salt, other value).
    let (h, p, s, mut d) = split(&rec);
    let i = d.iter().position(|x| decode_disclosure(x)[1] == "given_name").unwrap();
    let mut arr = decode_disclosure(&d[i]);
    let original = arr[2]["value"].as_str().unwrap().to_string();
    arr[2]["value"] = format!("{original}ی").into();
    d[i] = B64.encode(Value::Array(arr).to_string());
    let jwt = format!("{h}.{}.{s}", B64.encode(Value::Object(p).to_string()));
    let changed = record::sdjwt::serialise(&jwt, d.iter().map(String::as_str));
    assert_eq!(code(&changed), "RECORD_DISCLOSURE_MISMATCH");
    // Its provenance changed (the clerk's word passed off as the chip's).
    let (h, p, s, mut d) = split(&rec);
    let i = d.iter().position(|x| decode_disclosure(x)[1] == "face_match").unwrap();
    let mut arr = decode_disclosure(&d[i]);
    arr[2]["provenance"] = "chip-certificate".into();
    d[i] = B64.encode(Value::Array(arr).to_string());
    let jwt = format!("{h}.{}.{s}", B64.encode(Value::Object(p).to_string()));
    let changed = record::sdjwt::serialise(&jwt, d.iter().map(String::as_str));
    assert_eq!(code(&changed), "RECORD_DISCLOSURE_MISMATCH");
}

#[test]
fn dropped_duplicated_and_swapped_disclosures() {
    let rec = make("account-opening", PinOutcome::Accepted, false);
    let (h, p, s, d) = split(&rec);
    let jwt = format!("{h}.{}.{s}", B64.encode(Value::Object(p).to_string()));
    // Dropping one withholds it, visibly: it is no longer there and `undisclosed` grows.
    let dropped = record::sdjwt::serialise(&jwt, d[1..].iter().map(String::as_str));
    let full = verify(&rec).unwrap();
    let v = verify(&dropped).unwrap();
    assert_eq!(v.attributes.len(), full.attributes.len() - 1);
    assert_eq!(v.undisclosed, full.undisclosed + 1);
    let dropped_name = decode_disclosure(&d[0])[1].as_str().unwrap().to_string();
    assert!(v.attributes.iter().all(|a| a.name != dropped_name));
    // Twice the same disclosure.
    let twice = record::sdjwt::serialise(&jwt, d.iter().chain(d.first()).map(String::as_str));
    assert_eq!(code(&twice), "RECORD_DISCLOSURE_MISMATCH");
    // Swapped for the same attribute's disclosure from another record of the same holder.
    let other = make_with(
        1,
        "account-opening",
        false,
        PinOutcome::Accepted,
        &operator(),
        false,
        "other",
    )
    .unwrap()
    .record;
    let (_, _, _, od) = split(&other);
    let name_of = |x: &String| decode_disclosure(x)[1].clone();
    let j = od.iter().position(|x| name_of(x) == name_of(&d[0])).unwrap();
    assert_ne!(od[j], d[0], "fresh salts per record");
    let mut swapped = d.clone();
    swapped[0] = od[j].clone();
    let s2 = record::sdjwt::serialise(&jwt, swapped.iter().map(String::as_str));
    assert_eq!(code(&s2), "RECORD_DISCLOSURE_MISMATCH");
    // Order does not matter.
    let mut rev = d.clone();
    rev.reverse();
    assert_eq!(
        code(&record::sdjwt::serialise(&jwt, rev.iter().map(String::as_str))),
        "ACCEPTED"
    );
    // A disclosure that shadows a clear claim, even with its digest sealed in _sd.
    let (dis, dig) = disclosure(9, "operator", "operator-99".into(), "operator");
    let mut all = d.clone();
    all.push(dis);
    let shadow = resealed(&rec, Some(all), |p| p["_sd"].as_array_mut().unwrap().push(dig.into()));
    assert!(matches!(
        code(&shadow).as_str(),
        "RECORD_DISCLOSURE_MISMATCH" | "RECORD_PURPOSE_VIOLATION"
    ));
}

#[test]
fn a_key_outside_the_institution_ca_is_refused() {
    let rec = make("sim-registration", PinOutcome::Accepted, false);
    let (_, p, _, d) = split(&rec);
    let r = rogue();
    // Same institution name, same payload, a terminal of another CA.
    let forged = record::seal_payload(&p, &d, &r.chain(), &r.terminal_key).unwrap();
    assert_eq!(code(&forged), "RECORD_UNTRUSTED_TERMINAL");
    // The genuine chain in x5c, sealed by another key.
    let forged = record::seal_payload(&p, &d, &inst().chain(), &r.terminal_key).unwrap();
    assert_eq!(code(&forged), "RECORD_SEAL_INVALID");
    // The terminal certificate alone (its CA absent from x5c and from the verifier's store).
    let only_leaf = record::seal_payload(&p, &d, &inst().chain()[..1], &inst().terminal_key).unwrap();
    assert_eq!(code(&only_leaf), "RECORD_UNTRUSTED_TERMINAL");
    // A non-P-256 terminal key is refused before anything else.
    let h = &reg().holders[2]; // P-384
    let forged = record::seal_payload(&p, &d, std::slice::from_ref(&h.cert), &inst().terminal_key).unwrap();
    assert_eq!(code(&forged), "RECORD_UNTRUSTED_TERMINAL");
}

#[test]
fn the_terminal_chain_is_judged_at_the_recorded_time() {
    let rec = make("sim-registration", PinOutcome::NotTried, false);
    let ca = institution_ca(inst());
    // Years later the terminal certificate has expired; the record still verifies as of iat.
    let later = UnixTime(now().0 + 3 * 365 * 86_400);
    let mut o = opts(&ca, None);
    assert!(record::verify(&rec, &o).is_ok());
    o.at = Some(later);
    assert_eq!(
        record::verify(&rec, &o).unwrap_err().code(),
        "RECORD_UNTRUSTED_TERMINAL"
    );
    // A record dated after the terminal certificate expired, sealed by that key, is refused.
    let post = resealed(&rec, None, |p| drop(p.insert("iat".into(), later.0.into())));
    assert_eq!(code(&post), "RECORD_UNTRUSTED_TERMINAL");
}

#[test]
fn a_level_the_evidence_does_not_support_is_refused() {
    let cert_only = make("account-opening", PinOutcome::NotTried, false);
    for claim in ["card-pin", "card-signature", "registry-assisted"] {
        let r = resealed(&cert_only, None, |p| drop(p.insert("level".into(), claim.into())));
        assert_eq!(code(&r), "RECORD_LEVEL_UNSUPPORTED", "{claim}");
    }
    let pin = make("account-opening", PinOutcome::Accepted, false);
    let r = resealed(&pin, None, |p| drop(p.insert("level".into(), "card-signature".into())));
    assert_eq!(code(&r), "RECORD_LEVEL_UNSUPPORTED");
    // Under-claiming is refused too: the level is what the evidence says, no more, no less.
    let r = resealed(&pin, None, |p| drop(p.insert("level".into(), "certificate".into())));
    assert_eq!(code(&r), "RECORD_LEVEL_UNSUPPORTED");
    // A card signature that does not cover this record (the iat changed after the card signed).
    let signed = make("account-opening", PinOutcome::Accepted, true);
    let r = resealed(&signed, None, |p| drop(p.insert("iat".into(), (now().0 + 1).into())));
    assert_eq!(code(&r), "RECORD_LEVEL_UNSUPPORTED");
    // A card signature by a key other than the disclosed holder certificate's.
    let other = &reg().holders[11]; // another P-256 holder
    let r = resealed(&signed, None, |p| {
        let msg = record::binding_message(p);
        let mut rng = rng_for("x", "y");
        let sig = other.key.sign_digest(
            SigAlg::Ecdsa(hoviat::pki::alg::HashAlg::Sha256),
            &hoviat::pki::alg::HashAlg::Sha256.digest(&msg),
            &mut rng,
        );
        p["evidence"]["cardSignature"]["key"] = B64.encode(other.key.spki()).into();
        p["evidence"]["cardSignature"]["signature"] = B64.encode(sig).into();
    });
    assert_eq!(code(&r), "RECORD_LEVEL_UNSUPPORTED");
    // Registry evidence cannot be checked yet.
    let r = resealed(&signed, None, |p| {
        p["evidence"]["registry"] = serde_json::json!({"session": "x"})
    });
    assert_eq!(code(&r), "RECORD_LEVEL_UNSUPPORTED");
    // No chain digests: not even `certificate`.
    let r = resealed(&cert_only, None, |p| p["evidence"]["chain"] = serde_json::json!([]));
    assert_eq!(code(&r), "RECORD_LEVEL_UNSUPPORTED");
    // A signature that does not verify is refused when the draft is made, never recorded.
    let r = reg();
    let facts = institution::card_facts(r, 1, r.holders[1].cert.clone(), "piv", PinOutcome::Accepted);
    let store = registry_store();
    let config = institution::config();
    let op = operator();
    let req = RecordRequest {
        institution: &config,
        purpose: "sim-registration",
        terminal: "t",
        operator: "o",
        at: now(),
        card: &facts,
        operator_input: &op,
        registry: &store,
        holder_options: record::holder_path_options(now()),
        revocation_data: &[],
        decoys: 0,
    };
    let mut d = record::draft(&req, backend(), &mut rng_for("d", "d")).unwrap();
    let e = d.attach_card_signature("ES256", &[1; 64], backend()).unwrap_err();
    assert_eq!(e.code(), "RECORD_CARD_SIGNATURE_INVALID");
    assert_eq!(d.level(), Level::CardPin);
}

#[test]
fn purpose_violations() {
    let rec = make("sim-registration", PinOutcome::Accepted, false);
    let (_, _, _, d) = split(&rec);
    // An extra attribute sealed by the genuine terminal, beyond what the purpose requests.
    let (dis, dig) = disclosure(5, "card_reference", "4200000000".into(), "chip-file");
    let mut all = d.clone();
    all.push(dis);
    let r = resealed(&rec, Some(all), |p| p["_sd"].as_array_mut().unwrap().push(dig.into()));
    assert_eq!(code(&r), "RECORD_PURPOSE_VIOLATION");
    // The purpose widened in the record beyond the institution's configuration.
    let r = resealed(&rec, None, |p| {
        p["purpose"]["attributes"]
            .as_array_mut()
            .unwrap()
            .push("holder_certificate".into())
    });
    assert_eq!(code(&r), "RECORD_PURPOSE_VIOLATION");
    // Without the configuration the widened purpose is self-consistent, so it verifies.
    let ca = institution_ca(inst());
    assert!(record::verify(&r, &opts(&ca, None)).is_ok());
    // Another institution's configuration.
    let mut other = institution::config();
    other.id = "other-bank".into();
    assert_eq!(
        record::verify(&rec, &opts(&ca, Some(&other))).unwrap_err().code(),
        "RECORD_PURPOSE_VIOLATION"
    );
    // Unknown purpose when making.
    let e = make_with(1, "loan", false, PinOutcome::Accepted, &operator(), false, "p").err();
    assert_eq!(e.as_deref(), Some("RECORD_PURPOSE_UNKNOWN"));
}

#[test]
fn holders_the_registry_refuses_get_no_record() {
    for (h, want) in [(3, "CERT_REVOKED"), (4, "CERT_EXPIRED"), (6, "CERT_KEY_USAGE")] {
        let e = make_with(
            h,
            "sim-registration",
            false,
            PinOutcome::Accepted,
            &operator(),
            false,
            "x",
        )
        .err();
        assert_eq!(e.as_deref(), Some(want), "holder {h}");
    }
}

#[test]
fn disclose_makes_a_smaller_presentation() {
    let rec = make("account-opening", PinOutcome::Accepted, true);
    let pres = record::disclose(&rec, &["given_name", "face_match"]).unwrap();
    let v = verify(&pres).unwrap();
    let names: Vec<&str> = v.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["given_name", "face_match"]);
    assert_eq!(
        v.level,
        Level::CardSignature,
        "the card signature is checked from the clear evidence"
    );
    for d in split(&rec).3 {
        let name = decode_disclosure(&d)[1].as_str().unwrap().to_string();
        let wanted = name == "given_name" || name == "face_match";
        assert_eq!(pres.contains(&format!("~{d}~")), wanted, "{name}");
    }
    let none = record::disclose(&rec, &[]).unwrap();
    assert_eq!(verify(&none).unwrap().attributes.len(), 0);
    assert_eq!(
        record::disclose(&rec, &["blood_type"]).unwrap_err().code(),
        "RECORD_ATTRIBUTE_UNKNOWN"
    );
    let sim = make("sim-registration", PinOutcome::Accepted, false);
    assert_eq!(
        record::disclose(&sim, &["card_reference"]).unwrap_err().code(),
        "RECORD_ATTRIBUTE_UNKNOWN"
    );
}

#[test]
fn hostile_input() {
    let rec = make("sim-registration", PinOutcome::Accepted, false);
    for bad in [
        "",
        "~",
        "a.b.c~",
        "x~y~",
        &rec[..rec.len() / 2],
        &rec.replace('~', "~~"),
        &format!("{rec}kbjwt"),
        "\u{0627}.b.c~",
    ] {
        let c = code(bad);
        assert!(c.starts_with("RECORD_"), "{bad:?} gave {c}");
        assert_ne!(c, "ACCEPTED");
    }
    assert_eq!(code(&format!("{rec}{}", "A".repeat(70_000))), "RECORD_TOO_LARGE");
    // Header fields.
    let (h, p, s, d) = split(&rec);
    let mut hdr: Map<String, Value> = serde_json::from_slice(&B64.decode(&h).unwrap()).unwrap();
    for (k, v) in [("typ", "JWT"), ("alg", "ES384"), ("alg", "none")] {
        let mut x = hdr.clone();
        x.insert(k.into(), v.into());
        let jwt = format!(
            "{}.{}.{s}",
            B64.encode(Value::Object(x).to_string()),
            B64.encode(Value::Object(p.clone()).to_string())
        );
        assert_eq!(
            code(&record::sdjwt::serialise(&jwt, d.iter().map(String::as_str))),
            "RECORD_MALFORMED",
            "{k}={v}"
        );
    }
    hdr.insert("x5c".into(), serde_json::json!([]));
    let jwt = format!(
        "{}.{}.{s}",
        B64.encode(Value::Object(hdr).to_string()),
        B64.encode(Value::Object(p).to_string())
    );
    assert_eq!(
        code(&record::sdjwt::serialise(&jwt, d.iter().map(String::as_str))),
        "RECORD_MALFORMED"
    );
}

#[test]
fn every_single_character_change_is_refused() {
    // Each position of a record, replaced by another base64url character (or a separator):
    // never a panic, never acceptance.
    let rec = make("sim-registration", PinOutcome::Accepted, true);
    let ca = institution_ca(inst());
    let config = institution::config();
    let o = opts(&ca, Some(&config));
    let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
        .chars()
        .collect();
    let chars: Vec<char> = rec.chars().collect();
    let mut refused = 0;
    for (i, c) in chars.iter().enumerate() {
        let mut r = alphabet[(i * 7) % alphabet.len()];
        if r == *c {
            r = alphabet[(i * 7 + 1) % alphabet.len()];
        }
        let mut changed = chars.clone();
        changed[i] = r;
        let changed: String = changed.into_iter().collect();
        match record::verify(&changed, &o) {
            Ok(_) => panic!("position {i}: {c:?} -> {r:?} accepted"),
            Err(e) => assert!(e.code().starts_with("RECORD_"), "position {i}: {}", e.code()),
        }
        refused += 1;
    }
    assert_eq!(refused, chars.len());
}

// ---- The card's CMS signature (the registry-assisted route: Dastine's NIDSign) ----------------

/// A draft for holder `h` in the Iranian layout, PIN accepted, purpose `purpose`.
fn iranian_draft(h: usize, purpose: &str) -> (record::RecordDraft, Vec<u8>) {
    let r = reg();
    let cert = institution::iranian_signing_cert(r, h).unwrap();
    let facts = institution::card_facts(r, h, cert.clone(), "virtual-ir-nid", PinOutcome::Accepted);
    let store = registry_store();
    let config = institution::config();
    let req = RecordRequest {
        institution: &config,
        purpose,
        terminal: "branch-1/counter-1",
        operator: "operator-17",
        at: now(),
        card: &facts,
        operator_input: &operator(),
        registry: &store,
        holder_options: record::holder_path_options(now()),
        revocation_data: &r.crls,
        decoys: 2,
    };
    let mut rng = rng_for("cms", "record-salts");
    (record::draft(&req, backend(), &mut rng).unwrap(), cert)
}

/// A CMS over `content` by holder `h`'s key with `cert` named as signer (and embedded).
fn card_cms(h: usize, cert: &[u8], content: &[u8], attached: bool, hash: hoviat::pki::alg::HashAlg) -> Vec<u8> {
    use hoviat_testkit::cms::{AttrSpec, Sid, SignedDataBuilder, SignerSpec};
    let holder = &reg().holders[h];
    let alg = match holder.token_alg().sig_alg() {
        SigAlg::Ecdsa(_) => SigAlg::Ecdsa(hash),
        _ => SigAlg::RsaPkcs1(hash),
    };
    SignedDataBuilder {
        content: content.to_vec(),
        attached,
        certificates: vec![cert.to_vec()],
        signers: vec![SignerSpec {
            cert,
            key: &holder.key,
            alg,
            rsa_encryption_oid: true,
            sid: Sid::IssuerSerial,
            signed_attrs: Some(AttrSpec {
                signing_time: Some(now()),
                ess_v2_cert: Some(cert.to_vec()),
                ..AttrSpec::default()
            }),
        }],
        ..SignedDataBuilder::default()
    }
    .build()
}

fn seal(d: record::RecordDraft) -> String {
    let i = inst();
    d.seal(&i.chain(), &i.terminal_key, backend()).unwrap()
}

#[test]
fn card_cms_signature_reaches_card_signature_with_the_registry_route() {
    use hoviat::pki::alg::HashAlg;
    for (h, attached) in [(0, true), (1, false)] {
        let (mut d, cert) = iranian_draft(h, "account-opening");
        assert_eq!(d.level(), Level::CardPin);
        let cms = card_cms(h, &cert, &d.card_challenge(), attached, HashAlg::Sha256);
        let opts = record::holder_path_options(now());
        assert_eq!(
            d.attach_card_cms(&cms, &registry_store(), &opts, backend()).unwrap(),
            Level::CardSignature
        );
        let rec = seal(d);
        // The holder certificate (names) is not in the clear: the CMS is kept without it.
        let (_, p, _, _) = split(&rec);
        let cs = &p["evidence"]["cardSignature"];
        assert_eq!(cs["format"], "cms");
        assert_eq!(cs["route"], "registry-assisted");
        let kept = B64.decode(cs["cms"].as_str().unwrap()).unwrap();
        assert!(
            kept.windows(cert.len()).all(|w| w != cert.as_slice()),
            "certificate left in the CMS"
        );
        assert!(kept.len() < cms.len());
        // account-opening discloses the holder certificate: the CMS is checked against it.
        let v = verify(&rec).unwrap();
        assert_eq!(v.level, Level::CardSignature);
        assert!(v.card_signature_verified);
        assert_eq!(v.card_signature_route.as_deref(), Some("registry-assisted"));
        assert!(v.attributes.iter().any(|a| a.name == "holder_certificate"));
        // A presentation without the certificate still verifies with the kept key.
        let shown = record::disclose(&rec, &["given_name"]).unwrap();
        let v = verify(&shown).unwrap();
        assert_eq!(
            (v.level, v.card_signature_route.as_deref()),
            (Level::CardSignature, Some("registry-assisted"))
        );
    }
}

#[test]
fn card_cms_signature_refusals() {
    use hoviat::pki::alg::HashAlg;
    let opts = record::holder_path_options(now());
    let attach = |cms: &[u8]| {
        let (mut d, _) = iranian_draft(0, "account-opening");
        d.attach_card_cms(cms, &registry_store(), &opts, backend())
            .map(|_| ())
            .map_err(|e| (e.code().to_string(), e.to_string()))
    };
    let (d, cert) = iranian_draft(0, "account-opening");
    let challenge = d.card_challenge();
    // Another content than this record's digest.
    let e = attach(&card_cms(0, &cert, b"another record", true, HashAlg::Sha256)).unwrap_err();
    assert_eq!(e.0, "RECORD_CARD_SIGNATURE_INVALID", "{e:?}");
    assert!(e.1.contains("CMS_DIGEST_MISMATCH"), "{e:?}");
    // Signed by another holder of the same registry (a valid chain, not this card).
    let other = institution::iranian_signing_cert(reg(), 2).unwrap();
    let e = attach(&card_cms(2, &other, &challenge, true, HashAlg::Sha256)).unwrap_err();
    assert_eq!(e.0, "RECORD_CARD_SIGNATURE_INVALID", "{e:?}");
    // SHA-1 (Dastine's default hash) is refused by the default policy, with the PKI code.
    let e = attach(&card_cms(0, &cert, &challenge, true, HashAlg::Sha1)).unwrap_err();
    assert_eq!(e.0, "ALGORITHM_DISALLOWED", "{e:?}");
    // A signature byte changed.
    let mut bad = card_cms(0, &cert, &challenge, true, HashAlg::Sha256);
    let n = bad.len();
    bad[n - 5] ^= 1;
    assert_eq!(attach(&bad).unwrap_err().0, "RECORD_CARD_SIGNATURE_INVALID");
    // Not CMS, and oversized.
    assert_eq!(attach(b"not a cms").unwrap_err().0, "RECORD_CARD_SIGNATURE_INVALID");
    assert_eq!(attach(&vec![0x30; 70_000]).unwrap_err().0, "RECORD_TOO_LARGE");

    // A sealed record whose kept CMS was altered (resealed by the genuine terminal) is refused.
    let (mut d, cert) = iranian_draft(0, "account-opening");
    let cms = card_cms(0, &cert, &d.card_challenge(), false, HashAlg::Sha256);
    d.attach_card_cms(&cms, &registry_store(), &opts, backend()).unwrap();
    let rec = seal(d);
    let flip = |p: &mut Map<String, Value>| {
        let cs = p["evidence"]["cardSignature"].as_object_mut().unwrap();
        let mut b = B64.decode(cs["cms"].as_str().unwrap()).unwrap();
        let n = b.len();
        b[n - 3] ^= 1;
        cs.insert("cms".into(), B64.encode(b).into());
    };
    assert_eq!(code(&resealed(&rec, None, flip)), "RECORD_LEVEL_UNSUPPORTED");
    let route = |p: &mut Map<String, Value>| {
        p["evidence"]["cardSignature"]["route"] = "chip".into();
    };
    assert_eq!(code(&resealed(&rec, None, route)), "RECORD_LEVEL_UNSUPPORTED");
    // The key swapped for another holder's: the disclosed certificate no longer matches.
    let key = |p: &mut Map<String, Value>| {
        let k = hoviat::pki::Cert::from_der(&reg().holders[2].cert)
            .unwrap()
            .key
            .unwrap();
        p["evidence"]["cardSignature"]["key"] = B64.encode(&k.spki).into();
    };
    assert_eq!(code(&resealed(&rec, None, key)), "RECORD_LEVEL_UNSUPPORTED");
}

/// A draft written to a shared store (several server instances) and read back: the card's
/// signature attached to the read copy seals a record that verifies; rows that were altered in
/// the store are refused with their code.
#[test]
fn a_stored_draft_reads_back_and_refuses_altered_rows() {
    use hoviat::pki::alg::HashAlg;
    let (d, cert) = iranian_draft(0, "account-opening");
    let text = d.to_stored();
    let mut back = record::RecordDraft::from_stored(&text).unwrap();
    assert_eq!(back.payload(), d.payload());
    assert_eq!(back.card_challenge(), d.card_challenge());
    assert_eq!(back.missing(), d.missing());
    assert_eq!(back.level(), Level::CardPin);
    let cms = card_cms(0, &cert, &back.card_challenge(), true, HashAlg::Sha256);
    let opts = record::holder_path_options(now());
    assert_eq!(
        back.attach_card_cms(&cms, &registry_store(), &opts, backend()).unwrap(),
        Level::CardSignature
    );
    let v = verify(&seal(back)).unwrap();
    assert_eq!(v.level, Level::CardSignature);
    assert!(v.attributes.iter().any(|a| a.name == "holder_certificate"));

    let row: Value = serde_json::from_str(&text).unwrap();
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut r = row.clone();
        f(&mut r);
        record::RecordDraft::from_stored(&r.to_string()).unwrap_err().code()
    };
    // A disclosure that is not one of the draft's (its digest is not in _sd).
    let (foreign, _) = disclosure(9, "given_name", serde_json::json!("Mallory"), "certificate");
    assert_eq!(
        changed(&|r| r["disclosures"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(foreign))),
        "RECORD_DISCLOSURE_MISMATCH"
    );
    // Another holder's certificate than the evidence names.
    let other = institution::iranian_signing_cert(reg(), 1).unwrap();
    assert_eq!(
        changed(&|r| r["holderCertificate"] = serde_json::json!(B64.encode(&other))),
        "RECORD_MALFORMED"
    );
    assert_eq!(changed(&|r| r["v"] = serde_json::json!(2)), "RECORD_MALFORMED");
    assert_eq!(changed(&|r| r["payload"] = serde_json::json!([])), "RECORD_MALFORMED");
    assert_eq!(
        changed(&|r| r["disclosures"] = serde_json::json!("x")),
        "RECORD_MALFORMED"
    );
    assert_eq!(
        changed(&|r| r["intermediates"] = serde_json::json!(vec!["AAAA"; 9])),
        "RECORD_TOO_LARGE"
    );
    for junk in ["", "{", "null", "[]", "{\"v\":1}"] {
        assert_eq!(
            record::RecordDraft::from_stored(junk).unwrap_err().code(),
            "RECORD_MALFORMED",
            "{junk:?}"
        );
    }
    let huge = "x".repeat(record::MAX_STORED_DRAFT + 1);
    assert_eq!(
        record::RecordDraft::from_stored(&huge).unwrap_err().code(),
        "RECORD_TOO_LARGE"
    );
}
