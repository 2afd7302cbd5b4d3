//! The sealed identity record that replaces the photocopy (records.md, issue 17).
//!
//! A counter terminal reads a card, the operator adds what only a person can (the national code
//! as typed, "the face matches the photo"), and the terminal seals what it saw as an **SD-JWT
//! VC** (RFC 9901; header `typ: dc+sd-jwt`, `alg: ES256`, `x5c` = the terminal's certificate
//! chain, so a verifier needs only the institution's CA; claim `vct` = [`VCT`]).
//!
//! In the clear: `institution`, `terminal`, `operator`, `purpose` (id and the attribute names it
//! requests), `iat`, `level`, and `evidence` (digests of the holder certificate and its chain, the
//! revocation status and digests of the revocation data used, chip type and serial, the PIN
//! outcome, the card's signature over the record when there is one). As salted disclosures
//! (16-byte salts from the caller's RNG), each personal attribute the purpose requests, valued
//! `{"value": ..., "provenance": "chip-certificate" | "chip-file" | "operator" | "registry"}`;
//! optional decoy digests hide how many there are.
//!
//! The [`Level`] is computed from the evidence by [`level_of`], both when a record is made and
//! when it is verified: a record claiming more than its evidence supports is refused with
//! `RECORD_LEVEL_UNSUPPORTED`.
//!
//! The card's signature (`card-signature`) covers [`binding_message`]: the record's payload
//! without `level` and without `evidence.cardSignature`, serialised canonically (sorted keys, as
//! RFC 8785 for the strings and integers a record holds). A card signs its SHA-256 (PIV
//! GENERAL AUTHENTICATE signs that digest); the verifier re-serialises the payload it received
//! and checks the signature with the key in `evidence.cardSignature.key`. When the record also
//! discloses `holder_certificate`, that key must be the certificate's.
//!
//! The Iranian card signs only inside the registry's secure-messaging session, which the
//! vendor middleware (Dastine, `NIDSign`) opens: what comes back is a CMS SignedData. Such a
//! card signature ([`RecordDraft::attach_card_cms`]) covers the same SHA-256 as content; the
//! terminal verifies it like any CMS (signer = the holder's certificate read from the card,
//! path and revocation against the registry, no SHA-1) and keeps it as
//! `{format: "cms", route: "registry-assisted", key, cms}`, the CMS without its certificates
//! (the holder's names stay selectively disclosed) and with the content detached, the signed
//! parts byte for byte. A verifier checks it with the key (and with the disclosed holder
//! certificate when there is one): level `card-signature`, marked `registry-assisted`. The level
//! `registry-assisted` itself stays reserved for registry confirmation of status, which hoviat
//! cannot check.
//!
//! Why not `sd-jwt-payload` 0.5.1 (IOTA), evaluated for this module: its encoder draws every salt
//! and decoy from `rand::thread_rng()` internally, so salts cannot come from the caller's RNG and
//! the pure core would read the OS RNG; that pulls rand 0.8 / getrandom 0.2, which on
//! wasm32-unknown-unknown needs getrandom's `js` feature (hoviat enables only 0.3's `wasm_js` and
//! 0.4's). Its `JwsSigner` trait is `async` (async-trait), its builder `expect`s, its parser does
//! not verify the JWS (the part that matters here), and it brings 51 crates in `cargo tree`, 34 of
//! them (anyhow, iota-crypto with sha2/digest 0.10 beside hoviat's 0.11, multibase, strum,
//! itertools, json-pointer, indexmap, thiserror 1 ...) not otherwise in hoviat's Cargo.lock.
//! What hoviat needs of RFC 9901 (flat object-property disclosures, `_sd`, decoys, the compact
//! form without key binding) is [`sdjwt`], under 300 lines with its tests, checked against the
//! RFC's example digest; `@sd-jwt/sd-jwt-vc` in Node verifies hoviat's records independently
//! (`scripts/record-tests.sh`).

mod error;
mod model;
pub mod sdjwt;

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

pub use error::RecordError;
pub use model::{
    ATTRIBUTES, AttributeSpec, CardFacts, Institution, Label, Level, MAX_CONFIG_LEN, OperatorInput, PinOutcome,
    Provenance, Purpose, attribute,
};

use error::malformed;
use sdjwt::{Disclosure, SALT_LEN};

use crate::identity::{Holder, NationalCode};
use crate::pki::alg::{Curve, HashAlg, KeyInfo, PublicKey, SigAlg, SignatureCheck};
use crate::pki::{
    AlgorithmPolicy, Cert, EkuRequirement, KeyUsageRequirement, PathOptions, SignatureBackend, TrustStore,
};
use crate::time::UnixTime;

/// The `vct` of hoviat's identity record.
pub const VCT: &str = "https://hoviat.ir/vct/identity-record/v1";
/// Most decoy digests a record may carry.
pub const MAX_DECOYS: usize = 16;

/// Signs with the terminal's ES256 key (a PKCS#8 file natively, a non-extractable WebCrypto key
/// in the browser, an HSM ...).
pub trait TerminalSigner {
    /// ECDSA P-256 with SHA-256 over `message`; the raw 64-byte `r || s`.
    fn sign_es256(&self, message: &[u8]) -> Result<Vec<u8>, String>;
}

/// Everything a record is made from.
pub struct RecordRequest<'a> {
    /// The institution's configuration.
    pub institution: &'a Institution,
    /// The purpose id.
    pub purpose: &'a str,
    /// The terminal's id (e.g. `branch-12/counter-3`).
    pub terminal: &'a str,
    /// The operator's id.
    pub operator: &'a str,
    /// When the card was read (the record's `iat`; also the holder chain's validation time).
    pub at: UnixTime,
    /// What the terminal read from the card.
    pub card: &'a CardFacts,
    /// What the operator typed or confirmed.
    pub operator_input: &'a OperatorInput,
    /// The registry's anchors, intermediates and CRLs, to validate the holder's certificate.
    pub registry: &'a TrustStore,
    /// Validation options for the holder's certificate (`at` is replaced by [`Self::at`]).
    pub holder_options: PathOptions,
    /// The revocation data used (CRLs, OCSP responses, DER): their digests go in the evidence.
    pub revocation_data: &'a [Vec<u8>],
    /// How many decoy digests to add (at most [`MAX_DECOYS`]).
    pub decoys: usize,
}

/// The options [`RecordRequest::holder_options`] usually takes: any extended key usage (the
/// Iranian signing certificate has none, others list emailProtection), digitalSignature when
/// keyUsage is present, the default algorithm policy, revocation by the registry's CRLs when
/// configured.
pub fn holder_path_options(at: UnixTime) -> PathOptions {
    PathOptions {
        eku: EkuRequirement::Any,
        key_usage: KeyUsageRequirement::DigitalSignatureIfPresent,
        ..PathOptions::client_auth(at)
    }
}

/// A record before its seal: the card may still sign it ([`RecordDraft::attach_card_signature`]).
#[derive(Clone, Debug)]
pub struct RecordDraft {
    payload: Map<String, Value>,
    disclosures: Vec<Disclosure>,
    holder_key: Arc<KeyInfo>,
    holder_cert: Arc<Cert>,
    holder_intermediates: Vec<Arc<Cert>>,
    missing: Vec<String>,
}

/// Most bytes of a card's CMS signature offered for a record (one signer, a certificate or two).
pub const MAX_CARD_CMS: usize = 32 * 1024;

/// The route a CMS card signature took (`evidence.cardSignature.route`): the Iranian card signs
/// only inside the registry's secure-messaging session, which Dastine opens.
pub const ROUTE_REGISTRY_ASSISTED: &str = "registry-assisted";

/// An attribute a verified record discloses.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DisclosedAttribute {
    /// The claim name.
    pub name: String,
    /// The value.
    pub value: Value,
    /// Where it came from.
    pub provenance: Provenance,
}

/// What [`verify`] proved.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedRecord {
    /// `vct`.
    pub vct: String,
    /// The institution id.
    pub institution: String,
    /// The terminal id.
    pub terminal: String,
    /// The subject of the terminal certificate that sealed it (RFC 4514).
    pub terminal_certificate: String,
    /// The operator id.
    pub operator: String,
    /// The purpose id.
    pub purpose: String,
    /// The attribute names the purpose requests.
    pub requested: Vec<String>,
    /// `iat`, RFC 3339.
    pub issued_at: String,
    /// The level, recomputed from the evidence and equal to the claimed one.
    pub level: Level,
    /// Its honest eIDAS reading.
    pub eidas: &'static str,
    /// The evidence object as sealed.
    pub evidence: Value,
    /// Whether the card's signature over the record was checked (level `card-signature`).
    pub card_signature_verified: bool,
    /// How the card's signature was made, when it is a CMS: `registry-assisted` (through the
    /// registry's session, Dastine's NIDSign); `None` for a raw card signature or none.
    pub card_signature_route: Option<String>,
    /// The disclosed attributes, in the order of the presentation.
    pub attributes: Vec<DisclosedAttribute>,
    /// How many digests in `_sd` stay undisclosed (withheld attributes and decoys).
    pub undisclosed: usize,
}

/// How to verify a record.
pub struct VerifyOptions<'a> {
    /// The institution's CA (anchors, and intermediates if the `x5c` lacks them).
    pub institution_ca: &'a TrustStore,
    /// Validate the terminal chain at this time instead of the record's `iat`.
    pub at: Option<UnixTime>,
    /// The institution's configuration: when given, the record's institution and purpose must
    /// match it.
    pub institution: Option<&'a Institution>,
    /// Signature backend.
    pub backend: &'a dyn SignatureBackend,
}

fn sha256_b64(b: &[u8]) -> String {
    sdjwt::b64url(&HashAlg::Sha256.digest(b))
}

fn text_id(what: &str, s: &str) -> Result<(), RecordError> {
    if s.is_empty() || s.chars().count() > 128 || s.chars().any(char::is_control) {
        return Err(malformed(format!(
            "{what} must be 1 to 128 characters without control characters"
        )));
    }
    Ok(())
}

fn date(what: &str, s: &str) -> Result<String, RecordError> {
    let b = s.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !ok {
        return Err(malformed(format!("{what} must be YYYY-MM-DD")));
    }
    Ok(s.to_string())
}

/// Appends `v` in canonical form: object keys sorted by UTF-16 code units (RFC 8785), no
/// whitespace, strings and integers as serde_json writes them (which RFC 8785 agrees with).
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The bytes a card signs (as their SHA-256) for `card-signature`: the payload without `level`
/// and without `evidence.cardSignature`, in canonical form.
pub fn binding_message(payload: &Map<String, Value>) -> Vec<u8> {
    let mut p = payload.clone();
    p.remove("level");
    if let Some(Value::Object(e)) = p.get_mut("evidence") {
        e.remove("cardSignature");
    }
    let mut s = String::new();
    canonical(&Value::Object(p), &mut s);
    s.into_bytes()
}

/// The card signature algorithms accepted over a record (the card's key decides).
fn card_sig_alg(alg: &str, key: &KeyInfo) -> Result<SigAlg, String> {
    let alg = crate::token::TokenAlg::parse(alg).ok_or_else(|| format!("algorithm {alg:?}"))?;
    match (&key.key, alg.curve()) {
        (PublicKey::Ec { curve, .. }, Some(c)) if *curve == c => Ok(alg.sig_alg()),
        (PublicKey::Rsa { bits, .. }, None) if *bits >= 2048 => Ok(alg.sig_alg()),
        _ => Err(format!("{} with a {} key", alg.name(), key.describe())),
    }
}

/// Checks the card's signature object over the payload: `{alg, key, signature}` (a raw
/// signature over the SHA-256 of [`binding_message`]), or `{format: "cms", route, key, cms}` (a
/// CMS SignedData over that SHA-256 as content, without certificates; `holder` is the holder's
/// certificate when the record discloses it, which must then be the signer). Returns the key
/// and the CMS route.
fn check_card_signature(
    payload: &Map<String, Value>,
    cs: &Value,
    holder: Option<&Cert>,
    backend: &dyn SignatureBackend,
) -> Result<(Arc<KeyInfo>, Option<String>), String> {
    let field = |k: &str| {
        cs.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("cardSignature.{k} missing"))
    };
    let key = sdjwt::b64url_decode(field("key")?, "key").map_err(|e| e.to_string())?;
    let key = Arc::new(KeyInfo::from_spki_der(&key).map_err(|e| e.to_string())?);
    if cs.get("format").is_some() {
        if field("format")? != "cms" {
            return Err("cardSignature.format must be cms".into());
        }
        let route = field("route")?;
        if route != ROUTE_REGISTRY_ASSISTED {
            return Err(format!("cardSignature.route {route:?} is not known"));
        }
        let cms = sdjwt::b64url_decode(field("cms")?, "cms").map_err(|e| e.to_string())?;
        if cms.len() > MAX_CARD_CMS {
            return Err(format!("cardSignature.cms is over {MAX_CARD_CMS} bytes"));
        }
        let challenge = HashAlg::Sha256.digest(&binding_message(payload));
        crate::cms::verify_with_key(&cms, &challenge, &key, holder, &AlgorithmPolicy::default(), backend)
            .map_err(|e| format!("{e} ({})", crate::error::Coded::code(&e)))?;
        return Ok((key, Some(route.to_string())));
    }
    let alg = card_sig_alg(field("alg")?, &key)?;
    let signature = sdjwt::b64url_decode(field("signature")?, "signature").map_err(|e| e.to_string())?;
    let check = SignatureCheck {
        alg,
        key: key.clone(),
        message: binding_message(payload),
        signature,
    };
    if backend.verify(&check) {
        Ok((key, None))
    } else {
        Err("the signature does not verify with the card's key".into())
    }
}

/// The level the evidence supports (`None`: not even `certificate`). `card_signature_ok` says
/// whether `evidence.cardSignature` was verified over the record.
pub fn level_of(evidence: &Map<String, Value>, card_signature_ok: bool) -> Option<Level> {
    let is_digest = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| s.len() == 43);
    let chain_ok = evidence
        .get("chain")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty() && a.iter().all(|x| is_digest(Some(x))));
    let from_chip = evidence
        .get("card")
        .and_then(|c| c.get("chipType"))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !(is_digest(evidence.get("holderCertificate")) && chain_ok && from_chip) {
        return None;
    }
    if evidence.get("pin").and_then(Value::as_str) != Some(PinOutcome::Accepted.name()) {
        return Some(Level::Certificate);
    }
    if !(evidence.contains_key("cardSignature") && card_signature_ok) {
        return Some(Level::CardPin);
    }
    // `registry-assisted` needs registry evidence that hoviat cannot check yet: the seam is the
    // `evidence.registry` member, which [`verify`] refuses until a registry profile exists.
    Some(Level::CardSignature)
}

struct Candidate {
    name: &'static str,
    value: Value,
    provenance: Provenance,
}

fn gather(
    holder: &Holder,
    cert_der: &[u8],
    card: &CardFacts,
    op: &OperatorInput,
) -> Result<Vec<Candidate>, RecordError> {
    use Provenance::*;
    let mut out = Vec::new();
    let mut push = |name: &'static str, value: Value, provenance: Provenance| {
        out.push(Candidate {
            name,
            value,
            provenance,
        });
    };
    if let Some(g) = &holder.given_name {
        push("given_name", g.clone().into(), ChipCertificate);
    }
    if let Some(s) = &holder.surname {
        push("family_name", s.clone().into(), ChipCertificate);
    }
    // CRN: the signing certificate's CN, else the card manager's data object.
    let chip_crn = match &card.card_reference {
        Some(c) if c.len() == 10 && c.bytes().all(|b| b.is_ascii_digit()) => Some(c.clone()),
        Some(_) => return Err(malformed("cardReference must be 10 digits")),
        None => None,
    };
    match (&holder.card_reference, chip_crn) {
        (Some(a), Some(b)) if *a != b => {
            return Err(RecordError::EvidenceConflict(format!(
                "the certificate names card {a}, the card manager {b}"
            )));
        }
        (Some(a), _) => push("card_reference", a.clone().into(), ChipCertificate),
        (None, Some(b)) => push("card_reference", b.into(), ChipFile),
        (None, None) => {}
    }
    let typed = match op.national_code.as_deref() {
        Some(t) => Some(NationalCode::parse(t)?.to_string()),
        None => None,
    };
    match (&holder.national_code, typed) {
        (Some(a), Some(b)) if *a != b => {
            return Err(RecordError::EvidenceConflict(
                "the national code typed by the operator differs from the certificate's".into(),
            ));
        }
        (Some(a), _) => push("national_code", a.clone().into(), ChipCertificate),
        (None, Some(b)) => push("national_code", b.into(), Operator),
        (None, None) => {}
    }
    if let Some(f) = op.face_match {
        push("face_match", f.into(), Operator);
    }
    if let Some(d) = &card.issue_date {
        push("card_issue_date", date("issueDate", d)?.into(), ChipFile);
    }
    if let Some(d) = &card.expiry_date {
        push("card_expiry_date", date("expiryDate", d)?.into(), ChipFile);
    }
    use base64::Engine;
    push(
        "holder_certificate",
        base64::engine::general_purpose::STANDARD.encode(cert_der).into(),
        ChipCertificate,
    );
    Ok(out)
}

/// The holder's identity as a terminal read it, each attribute with its provenance, by the
/// same rules a record applies ([`draft`]): names and CRN from the signing certificate
/// (`chip-certificate`), CRN, dates and chip serial from chip files (`chip-file`; a CRN in both
/// must agree), the national code only as the operator typed it (`operator`, check digit
/// validated; it must agree with a certificate that carries one), and "face matches" as the
/// operator confirmed it. The holder's certificate itself is left out. `chip-certificate`
/// means "from the certificate on the chip": whether its chain was validated is the caller's
/// to state (a record always validates it).
pub fn holder_identity(
    cert_der: &[u8],
    card: &CardFacts,
    op: &OperatorInput,
) -> Result<Vec<DisclosedAttribute>, RecordError> {
    let cert = Cert::from_der(cert_der).map_err(RecordError::Holder)?;
    let holder = Holder::from_cert(&cert);
    let mut out: Vec<DisclosedAttribute> = gather(&holder, cert_der, card, op)?
        .into_iter()
        .filter(|c| c.name != "holder_certificate")
        .map(|c| DisclosedAttribute {
            name: c.name.into(),
            value: c.value,
            provenance: c.provenance,
        })
        .collect();
    if let Some(s) = &card.card_serial {
        out.push(DisclosedAttribute {
            name: "chip_serial".into(),
            value: s.clone().into(),
            provenance: Provenance::ChipFile,
        });
    }
    Ok(out)
}

/// Makes a draft: validates the holder's certificate against the registry at `req.at`, gathers
/// the attributes with their provenance, keeps those the purpose requests, salts each from `rng`
/// and computes the level from the evidence. Seal it with [`RecordDraft::seal`].
pub fn draft<R: rand_core::CryptoRng + ?Sized>(
    req: &RecordRequest<'_>,
    backend: &dyn SignatureBackend,
    rng: &mut R,
) -> Result<RecordDraft, RecordError> {
    req.institution.validate()?;
    let purpose = req.institution.purpose(req.purpose)?;
    text_id("terminal", req.terminal)?;
    text_id("operator", req.operator)?;
    model::check_id("chipType", &req.card.chip_type).map_err(malformed)?;
    if let Some(s) = &req.card.card_serial
        && (s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(malformed("cardSerial must be 1-64 letters or digits"));
    }
    if req.decoys > MAX_DECOYS {
        return Err(RecordError::TooLarge {
            what: "the number of decoys",
            limit: MAX_DECOYS,
        });
    }
    if req.card.intermediates.len() > 8 {
        return Err(RecordError::TooLarge {
            what: "the card's intermediate certificates",
            limit: 8,
        });
    }
    if req.revocation_data.len() > 8 {
        return Err(RecordError::TooLarge {
            what: "the revocation data items",
            limit: 8,
        });
    }
    let leaf = Arc::new(Cert::from_der(&req.card.holder_certificate).map_err(RecordError::Holder)?);
    let extra = req
        .card
        .intermediates
        .iter()
        .map(|d| Cert::from_der(d).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(RecordError::Holder)?;
    let mut opts = req.holder_options.clone();
    opts.at = req.at;
    let path = req
        .registry
        .validate_with(&leaf, &extra, &opts, backend)
        .map_err(RecordError::Holder)?;
    let holder_key = leaf.key.clone().map_err(RecordError::Holder)?;
    let holder = Holder::from_cert(&leaf);

    let mut disclosures = Vec::new();
    let mut missing = Vec::new();
    let candidates = gather(&holder, leaf.der(), req.card, req.operator_input)?;
    for name in &purpose.attributes {
        match candidates.iter().find(|c| c.name == name) {
            Some(c) => {
                let mut salt = [0u8; SALT_LEN];
                rng.fill_bytes(&mut salt);
                let mut v = Map::new();
                v.insert("value".into(), c.value.clone());
                v.insert("provenance".into(), c.provenance.name().into());
                disclosures.push(Disclosure::new(&salt, c.name, Value::Object(v)));
            }
            None => missing.push(name.clone()),
        }
    }
    let mut sd: Vec<String> = disclosures.iter().map(Disclosure::digest).collect();
    for _ in 0..req.decoys {
        let mut r = [0u8; 32];
        rng.fill_bytes(&mut r);
        sd.push(sdjwt::decoy_digest(&r));
    }
    sd.sort();

    let mut card = Map::new();
    card.insert("chipType".into(), req.card.chip_type.clone().into());
    if let Some(s) = &req.card.card_serial {
        card.insert("serial".into(), s.clone().into());
    }
    let mut evidence = Map::new();
    evidence.insert("holderCertificate".into(), sha256_b64(leaf.der()).into());
    evidence.insert(
        "chain".into(),
        path.chain
            .iter()
            .skip(1)
            .map(|c| Value::String(sha256_b64(c.der())))
            .collect(),
    );
    evidence.insert(
        "revocation".into(),
        serde_json::to_value(&path.revocation).unwrap_or(Value::Null),
    );
    if !req.revocation_data.is_empty() {
        evidence.insert(
            "revocationData".into(),
            req.revocation_data
                .iter()
                .map(|d| Value::String(sha256_b64(d)))
                .collect(),
        );
    }
    evidence.insert("card".into(), Value::Object(card));
    evidence.insert("pin".into(), req.card.pin.name().into());

    let purpose_v = {
        let mut m = Map::new();
        m.insert("id".into(), purpose.id.clone().into());
        m.insert(
            "attributes".into(),
            purpose.attributes.iter().cloned().map(Value::String).collect(),
        );
        Value::Object(m)
    };
    let mut payload = Map::new();
    payload.insert("vct".into(), VCT.into());
    payload.insert("iat".into(), req.at.0.into());
    payload.insert("institution".into(), req.institution.id.clone().into());
    payload.insert("terminal".into(), req.terminal.into());
    payload.insert("operator".into(), req.operator.into());
    payload.insert("purpose".into(), purpose_v);
    payload.insert("evidence".into(), Value::Object(evidence));
    payload.insert("_sd".into(), sd.into_iter().map(Value::String).collect());
    payload.insert("_sd_alg".into(), sdjwt::SD_ALG.into());
    let mut d = RecordDraft {
        payload,
        disclosures,
        holder_key,
        holder_cert: leaf.clone(),
        holder_intermediates: extra.clone(),
        missing,
    };
    d.set_level()?;
    Ok(d)
}

/// Most bytes of a stored draft ([`RecordDraft::to_stored`]): the payload, the disclosures and
/// the holder's certificates.
pub const MAX_STORED_DRAFT: usize = 256 * 1024;

impl RecordDraft {
    /// The draft as JSON text, for a store shared by several server instances while the card
    /// signs (the holder's certificates as base64 DER, the disclosures in their encoded form).
    /// [`RecordDraft::from_stored`] reads it back.
    pub fn to_stored(&self) -> String {
        let b64 = |c: &Cert| Value::String(sdjwt::b64url(c.der()));
        let mut m = Map::new();
        m.insert("v".into(), 1.into());
        m.insert("payload".into(), Value::Object(self.payload.clone()));
        m.insert(
            "disclosures".into(),
            self.disclosures
                .iter()
                .map(|d| Value::String(d.encoded.clone()))
                .collect(),
        );
        m.insert("holderCertificate".into(), b64(&self.holder_cert));
        m.insert(
            "intermediates".into(),
            self.holder_intermediates.iter().map(|c| b64(c)).collect(),
        );
        m.insert(
            "missing".into(),
            self.missing.iter().cloned().map(Value::String).collect(),
        );
        Value::Object(m).to_string()
    }

    /// Reads a draft written by [`RecordDraft::to_stored`]. The text is treated as hostile (a
    /// database row): size-limited, every disclosure parsed and found in `_sd`, the holder
    /// certificate parsed and equal to the digest in the evidence, the level recomputed from the
    /// evidence. The card's signature attached later is checked against the registry as for a
    /// draft never stored.
    pub fn from_stored(text: &str) -> Result<Self, RecordError> {
        if text.len() > MAX_STORED_DRAFT {
            return Err(RecordError::TooLarge {
                what: "a stored draft",
                limit: MAX_STORED_DRAFT,
            });
        }
        let v: Value = serde_json::from_str(text).map_err(|_| malformed("a stored draft is not JSON"))?;
        let field = |k: &str| v.get(k).ok_or_else(|| malformed(format!("a stored draft has no {k}")));
        if v.get("v").and_then(Value::as_u64) != Some(1) {
            return Err(malformed("a stored draft of an unknown version"));
        }
        let Value::Object(payload) = field("payload")?.clone() else {
            return Err(malformed("a stored draft's payload is not an object"));
        };
        let strings = |k: &str, max: usize| -> Result<Vec<String>, RecordError> {
            let a = field(k)?
                .as_array()
                .ok_or_else(|| malformed(format!("a stored draft's {k} is not a list")))?;
            if a.len() > max {
                return Err(RecordError::TooLarge {
                    what: "a stored draft's list",
                    limit: max,
                });
            }
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| malformed(format!("a stored draft's {k} holds a non-string")))
                })
                .collect()
        };
        let sd: HashSet<&str> = payload
            .get("_sd")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("a stored draft's payload has no _sd"))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let disclosures = strings("disclosures", 64)?
            .iter()
            .map(|e| Disclosure::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(d) = disclosures.iter().find(|d| !sd.contains(d.digest().as_str())) {
            return Err(RecordError::DisclosureMismatch(format!(
                "the stored draft's disclosure of {} is not in its _sd",
                d.name
            )));
        }
        let cert = |b: &str| -> Result<Arc<Cert>, RecordError> {
            let der = sdjwt::b64url_decode(b, "a stored certificate")?;
            Cert::from_der(&der).map(Arc::new).map_err(RecordError::Holder)
        };
        let holder_cert = cert(
            field("holderCertificate")?
                .as_str()
                .ok_or_else(|| malformed("a stored draft's holderCertificate is not a string"))?,
        )?;
        let evidence_digest = payload
            .get("evidence")
            .and_then(|e| e.get("holderCertificate"))
            .and_then(Value::as_str);
        if evidence_digest != Some(sha256_b64(holder_cert.der()).as_str()) {
            return Err(malformed(
                "a stored draft's holder certificate is not the one its evidence names",
            ));
        }
        let holder_intermediates = strings("intermediates", 8)?
            .iter()
            .map(|b| cert(b))
            .collect::<Result<Vec<_>, _>>()?;
        let holder_key = holder_cert.key.clone().map_err(RecordError::Holder)?;
        let mut d = RecordDraft {
            payload,
            disclosures,
            holder_key,
            holder_cert,
            holder_intermediates,
            missing: strings("missing", 64)?,
        };
        d.set_level()?;
        Ok(d)
    }

    fn evidence(&self) -> Map<String, Value> {
        match self.payload.get("evidence") {
            Some(Value::Object(e)) => e.clone(),
            _ => Map::new(),
        }
    }

    fn set_level(&mut self) -> Result<(), RecordError> {
        let has_sig = self.evidence().contains_key("cardSignature");
        let level = level_of(&self.evidence(), has_sig).ok_or_else(|| RecordError::LevelUnsupported {
            claimed: "certificate".into(),
            supported: "none".into(),
        })?;
        self.payload.insert("level".into(), level.name().into());
        Ok(())
    }

    /// The level the evidence supports so far.
    pub fn level(&self) -> Level {
        self.payload
            .get("level")
            .and_then(Value::as_str)
            .and_then(Level::parse)
            .unwrap_or(Level::Certificate)
    }

    /// The attributes the purpose requests that neither the card nor the operator provided.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// The payload (clear claims and `_sd`) as it will be sealed.
    pub fn payload(&self) -> &Map<String, Value> {
        &self.payload
    }

    /// The bytes the card signs for `card-signature` (see [`binding_message`]).
    pub fn binding_message(&self) -> Vec<u8> {
        binding_message(&self.payload)
    }

    /// The SHA-256 of [`Self::binding_message`]: what a card's prehash signature covers (PIV
    /// GENERAL AUTHENTICATE, ECDSA P-256 or RSA).
    pub fn card_challenge(&self) -> Vec<u8> {
        HashAlg::Sha256.digest(&self.binding_message())
    }

    /// Adds the card's signature over [`Self::card_challenge`] (algorithm `ES256` / `ES384` /
    /// `RS256` ... as the holder's key requires; ECDSA as raw `r || s`). It is checked with the
    /// holder certificate's key before it is accepted; the level is recomputed.
    pub fn attach_card_signature(
        &mut self,
        alg: &str,
        signature: &[u8],
        backend: &dyn SignatureBackend,
    ) -> Result<Level, RecordError> {
        if signature.len() > 1024 {
            return Err(RecordError::TooLarge {
                what: "the card signature",
                limit: 1024,
            });
        }
        let mut cs = Map::new();
        cs.insert("alg".into(), alg.into());
        cs.insert("key".into(), sdjwt::b64url(&self.holder_key.spki).into());
        cs.insert("signature".into(), sdjwt::b64url(signature).into());
        let cs = Value::Object(cs);
        check_card_signature(&self.payload, &cs, None, backend).map_err(RecordError::CardSignatureInvalid)?;
        if let Some(Value::Object(e)) = self.payload.get_mut("evidence") {
            e.insert("cardSignature".into(), cs);
        }
        self.set_level()?;
        Ok(self.level())
    }

    /// Adds the card's CMS signature over [`Self::card_challenge`] as content (attached or
    /// detached), as the registry-assisted route makes it (Dastine's `NIDSign` / `CmsSign`):
    /// the message is verified with [`crate::cms::verify`] against `registry` at `at` (path,
    /// revocation as configured, the default algorithm policy: no SHA-1), its one signer must
    /// be the holder's certificate, and it is kept without its certificates (the holder's
    /// names stay selectively disclosed) beside the holder's key, with route
    /// `registry-assisted`. The level is recomputed.
    pub fn attach_card_cms(
        &mut self,
        cms: &[u8],
        registry: &TrustStore,
        options: &PathOptions,
        backend: &dyn SignatureBackend,
    ) -> Result<Level, RecordError> {
        use crate::cms::{CmsError, CmsOptions, CmsRequest};
        if cms.len() > MAX_CARD_CMS * 2 {
            return Err(RecordError::TooLarge {
                what: "the card's CMS signature",
                limit: MAX_CARD_CMS,
            });
        }
        let coded = |e: CmsError| match e {
            CmsError::Pki { error, .. } => RecordError::Holder(error),
            e => RecordError::CardSignatureInvalid(format!("{e} ({})", crate::error::Coded::code(&e))),
        };
        let challenge = self.card_challenge();
        let bare = crate::cms::without_certificates(cms).map_err(coded)?;
        if bare.len() > MAX_CARD_CMS {
            return Err(RecordError::TooLarge {
                what: "the card's CMS signature",
                limit: MAX_CARD_CMS,
            });
        }
        // First: its one signer is the holder's certificate read from the card (not merely
        // some registry certificate), over this record's digest.
        crate::cms::verify_with_key(
            &bare,
            &challenge,
            &self.holder_key,
            Some(&self.holder_cert),
            &options.policy,
            backend,
        )
        .map_err(|e| match e {
            CmsError::SignerNotFound { .. } | CmsError::SignatureInvalid { .. } => RecordError::CardSignatureInvalid(
                "the CMS was not signed with the holder's certificate read from the card".into(),
            ),
            e => coded(e),
        })?;
        // Then the whole message as a relying party checks any CMS: path, revocation, policy.
        let opts = CmsOptions {
            path: options.clone(),
            at_signing_time: false,
        };
        let mut certificates = vec![self.holder_cert.clone()];
        certificates.extend(self.holder_intermediates.iter().cloned());
        let req = CmsRequest {
            signature: cms,
            content: Some(&challenge),
            certificates,
        };
        crate::cms::verify(&req, registry, &opts, backend).map_err(coded)?;
        let mut cs = Map::new();
        cs.insert("format".into(), "cms".into());
        cs.insert("route".into(), ROUTE_REGISTRY_ASSISTED.into());
        cs.insert("key".into(), sdjwt::b64url(&self.holder_key.spki).into());
        cs.insert("cms".into(), sdjwt::b64url(&bare).into());
        if let Some(Value::Object(e)) = self.payload.get_mut("evidence") {
            e.insert("cardSignature".into(), Value::Object(cs));
        }
        self.set_level()?;
        Ok(self.level())
    }

    /// The JWS signing input for a terminal chain (for a signer that cannot be called
    /// synchronously, e.g. WebCrypto): sign it and pass the result to [`Self::seal_with_signature`].
    pub fn signing_input(&self, terminal_chain: &[Vec<u8>]) -> String {
        sdjwt::signing_input(&sdjwt::header(terminal_chain), &self.payload)
    }

    /// Seals with a signature made over [`Self::signing_input`] (raw `r || s`), after checking it
    /// with the terminal certificate's key. Returns the record, `<JWT>~<D1>~...~<Dn>~`.
    pub fn seal_with_signature(
        self,
        terminal_chain: &[Vec<u8>],
        signature: &[u8],
        backend: &dyn SignatureBackend,
    ) -> Result<String, RecordError> {
        if terminal_chain.is_empty() || terminal_chain.len() > sdjwt::MAX_X5C {
            return Err(RecordError::UntrustedTerminal(format!(
                "the terminal chain must hold 1 to {} certificates",
                sdjwt::MAX_X5C
            )));
        }
        let input = self.signing_input(terminal_chain);
        let key = terminal_key(&terminal_chain[0])?;
        let check = SignatureCheck {
            alg: SigAlg::Ecdsa(HashAlg::Sha256),
            key,
            message: input.as_bytes().to_vec(),
            signature: signature.to_vec(),
        };
        if !backend.verify(&check) {
            return Err(RecordError::SignerFailed(
                "the signature does not verify with the terminal certificate's key".into(),
            ));
        }
        let jwt = format!("{input}.{}", sdjwt::b64url(signature));
        let out = sdjwt::serialise(&jwt, self.disclosures.iter().map(|d| d.encoded.as_str()));
        if out.len() > sdjwt::MAX_RECORD_LEN {
            return Err(RecordError::TooLarge {
                what: "the record",
                limit: sdjwt::MAX_RECORD_LEN,
            });
        }
        Ok(out)
    }

    /// Seals with the terminal's signer.
    pub fn seal(
        self,
        terminal_chain: &[Vec<u8>],
        signer: &dyn TerminalSigner,
        backend: &dyn SignatureBackend,
    ) -> Result<String, RecordError> {
        let sig = signer
            .sign_es256(self.signing_input(terminal_chain).as_bytes())
            .map_err(RecordError::SignerFailed)?;
        self.seal_with_signature(terminal_chain, &sig, backend)
    }
}

fn terminal_key(der: &[u8]) -> Result<Arc<KeyInfo>, RecordError> {
    let c = Cert::from_der(der).map_err(|e| RecordError::UntrustedTerminal(e.to_string()))?;
    let k = c
        .key
        .clone()
        .map_err(|e| RecordError::UntrustedTerminal(e.to_string()))?;
    match k.key {
        PublicKey::Ec { curve: Curve::P256, .. } => Ok(k),
        _ => Err(RecordError::UntrustedTerminal(format!(
            "the terminal key is {}, ES256 needs EC P-256",
            k.describe()
        ))),
    }
}

/// Seals an arbitrary payload with the record header (`typ`, `alg`, `x5c`) and appends the
/// given disclosures as they are. For tests and tools that must build records hoviat's
/// [`draft`] would refuse to make; [`verify`] checks them like any other record.
pub fn seal_payload(
    payload: &Map<String, Value>,
    disclosures: &[String],
    terminal_chain: &[Vec<u8>],
    signer: &dyn TerminalSigner,
) -> Result<String, RecordError> {
    let input = sdjwt::signing_input(&sdjwt::header(terminal_chain), payload);
    let sig = signer.sign_es256(input.as_bytes()).map_err(RecordError::SignerFailed)?;
    let jwt = format!("{input}.{}", sdjwt::b64url(&sig));
    Ok(sdjwt::serialise(&jwt, disclosures.iter().map(String::as_str)))
}

fn str_claim<'a>(p: &'a Map<String, Value>, k: &str) -> Result<&'a str, RecordError> {
    p.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("claim {k} must be a string")))
}

fn x5c(header: &Map<String, Value>) -> Result<Vec<Vec<u8>>, RecordError> {
    use base64::Engine;
    let a = header
        .get("x5c")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("header x5c must be an array"))?;
    if a.is_empty() || a.len() > sdjwt::MAX_X5C {
        return Err(malformed(format!(
            "header x5c must hold 1 to {} certificates",
            sdjwt::MAX_X5C
        )));
    }
    a.iter()
        .map(|c| {
            c.as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .ok_or_else(|| malformed("an x5c entry is not base64"))
        })
        .collect()
}

/// Verifies a record or a presentation made by [`disclose`]: the header; the terminal chain in
/// `x5c` to the institution's CA at the record's `iat` (or `opts.at`); the ES256 seal over the
/// exact bytes; every disclosure's digest in `_sd`, none twice, none shadowing a clear claim;
/// every disclosed attribute within the purpose (and the purpose as the institution configures
/// it, when given); the level recomputed from the evidence, including the card's signature.
pub fn verify(record: &str, opts: &VerifyOptions<'_>) -> Result<VerifiedRecord, RecordError> {
    let parsed = sdjwt::parse(record)?;
    let h = &parsed.header;
    if h.get("typ").and_then(Value::as_str) != Some(sdjwt::TYP) {
        return Err(malformed("header typ must be dc+sd-jwt"));
    }
    if h.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(malformed("header alg must be ES256"));
    }
    if h.contains_key("crit") {
        return Err(malformed("header crit is not supported"));
    }
    let chain = x5c(h)?;
    let p = &parsed.payload;
    if str_claim(p, "vct")? != VCT {
        return Err(malformed(format!("vct must be {VCT}")));
    }
    let iat = p
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| malformed("iat must be an integer"))?;

    // The terminal: its chain to the institution's CA as of the recorded time.
    let certs = chain
        .iter()
        .map(|d| Cert::from_der(d).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RecordError::UntrustedTerminal(e.to_string()))?;
    let key = terminal_key(&chain[0])?;
    let path_opts = PathOptions {
        at: opts.at.unwrap_or(UnixTime(iat)),
        eku: EkuRequirement::Any,
        key_usage: KeyUsageRequirement::DigitalSignatureIfPresent,
        policy: AlgorithmPolicy::default(),
        require_revocation: false,
        max_intermediates: 3,
        strict_rfc5280: false,
        ocsp: None,
        policies: Default::default(),
    };
    opts.institution_ca
        .validate_with(&certs[0], &certs[1..], &path_opts, opts.backend)
        .map_err(|e| RecordError::UntrustedTerminal(format!("{} ({})", e, crate::error::Coded::code(&e))))?;

    // The seal.
    if parsed.signature.len() != 64 {
        return Err(RecordError::SealInvalid);
    }
    let seal = SignatureCheck {
        alg: SigAlg::Ecdsa(HashAlg::Sha256),
        key,
        message: parsed.signing_input.as_bytes().to_vec(),
        signature: parsed.signature.clone(),
    };
    if !opts.backend.verify(&seal) {
        return Err(RecordError::SealInvalid);
    }

    // The payload's shape.
    if str_claim(p, "_sd_alg")? != sdjwt::SD_ALG {
        return Err(malformed("_sd_alg must be sha-256"));
    }
    let sd = p
        .get("_sd")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("_sd must be an array"))?;
    if sd.len() > sdjwt::MAX_SD_DIGESTS {
        return Err(RecordError::TooLarge {
            what: "_sd",
            limit: sdjwt::MAX_SD_DIGESTS,
        });
    }
    let mut digests = HashSet::new();
    for d in sd {
        let d = d.as_str().ok_or_else(|| malformed("_sd holds strings"))?;
        if !digests.insert(d) {
            return Err(malformed("a digest appears twice in _sd"));
        }
    }
    let institution = str_claim(p, "institution")?;
    let terminal = str_claim(p, "terminal")?;
    let operator = str_claim(p, "operator")?;
    let purpose = p.get("purpose").ok_or_else(|| malformed("purpose is missing"))?;
    let purpose_id = purpose
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("purpose.id must be a string"))?;
    let requested: Vec<String> = purpose
        .get("attributes")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("purpose.attributes must be an array"))?
        .iter()
        .map(|a| {
            a.as_str()
                .map(str::to_string)
                .ok_or_else(|| malformed("attribute names are strings"))
        })
        .collect::<Result<_, _>>()?;
    let claimed = Level::parse(str_claim(p, "level")?).ok_or_else(|| malformed("unknown level"))?;
    let evidence = match p.get("evidence") {
        Some(Value::Object(e)) => e,
        _ => return Err(malformed("evidence must be an object")),
    };

    // The disclosures.
    let mut seen = HashSet::new();
    let mut attributes = Vec::new();
    let mut holder_cert: Option<Vec<u8>> = None;
    for d in &parsed.disclosures {
        if !digests.contains(d.digest().as_str()) {
            return Err(RecordError::DisclosureMismatch(format!(
                "the disclosure of {:?} is not in _sd",
                d.name
            )));
        }
        if !seen.insert(d.name.as_str()) {
            return Err(RecordError::DisclosureMismatch(format!("{} disclosed twice", d.name)));
        }
        if p.contains_key(&d.name) {
            return Err(RecordError::DisclosureMismatch(format!(
                "{} is also a clear claim",
                d.name
            )));
        }
        let spec =
            attribute(&d.name).ok_or_else(|| RecordError::PurposeViolation(format!("unknown attribute {}", d.name)))?;
        if !requested.contains(&d.name) {
            return Err(RecordError::PurposeViolation(format!(
                "{} is not among the attributes purpose {purpose_id} requests",
                d.name
            )));
        }
        let value = d
            .value
            .get("value")
            .cloned()
            .ok_or_else(|| malformed("a disclosed value lacks value"))?;
        let provenance = d
            .value
            .get("provenance")
            .and_then(Value::as_str)
            .and_then(Provenance::parse)
            .filter(|pv| spec.provenances.contains(pv))
            .ok_or_else(|| malformed(format!("{}: provenance missing or impossible", d.name)))?;
        if d.name == "holder_certificate" {
            use base64::Engine;
            let der = value
                .as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .ok_or_else(|| malformed("holder_certificate is not base64"))?;
            if evidence.get("holderCertificate").and_then(Value::as_str) != Some(sha256_b64(&der).as_str()) {
                return Err(RecordError::DisclosureMismatch(
                    "the disclosed holder certificate is not the one in the evidence".into(),
                ));
            }
            holder_cert = Some(der);
        }
        attributes.push(DisclosedAttribute {
            name: d.name.clone(),
            value,
            provenance,
        });
    }

    // The purpose as the institution configures it.
    for r in &requested {
        if attribute(r).is_none() {
            return Err(RecordError::PurposeViolation(format!("unknown attribute {r}")));
        }
    }
    if let Some(inst) = opts.institution {
        if inst.id != institution {
            return Err(RecordError::PurposeViolation(format!(
                "made for institution {institution}, not {}",
                inst.id
            )));
        }
        let conf = inst
            .purpose(purpose_id)
            .map_err(|_| RecordError::PurposeViolation(format!("purpose {purpose_id} is not configured")))?;
        if let Some(extra) = requested.iter().find(|r| !conf.allows(r)) {
            return Err(RecordError::PurposeViolation(format!(
                "purpose {purpose_id} is configured without {extra}"
            )));
        }
    }

    // The level, from the evidence.
    if evidence.contains_key("registry") {
        return Err(RecordError::LevelUnsupported {
            claimed: claimed.name().into(),
            supported: "registry evidence cannot be checked yet".into(),
        });
    }
    let mut card_signature_verified = false;
    let mut card_signature_route = None;
    if let Some(cs) = evidence.get("cardSignature") {
        let holder = match &holder_cert {
            Some(der) => Some(Cert::from_der(der).map_err(|e| malformed(e.to_string()))?),
            None => None,
        };
        match check_card_signature(p, cs, holder.as_ref(), opts.backend) {
            Ok((k, route)) => {
                if let Some(c) = &holder
                    && c.key.as_ref().ok().map(|x| &x.spki) != Some(&k.spki)
                {
                    return Err(RecordError::LevelUnsupported {
                        claimed: claimed.name().into(),
                        supported: "a card signature by a key other than the holder certificate's".into(),
                    });
                }
                card_signature_verified = true;
                card_signature_route = route;
            }
            Err(why) => {
                return Err(RecordError::LevelUnsupported {
                    claimed: claimed.name().into(),
                    supported: format!("no valid card signature ({why})"),
                });
            }
        }
    }
    let supported = level_of(evidence, card_signature_verified);
    if supported != Some(claimed) {
        return Err(RecordError::LevelUnsupported {
            claimed: claimed.name().into(),
            supported: supported.map_or("none", Level::name).into(),
        });
    }
    let leaf_subject = certs[0].subject.to_string();
    Ok(VerifiedRecord {
        vct: VCT.into(),
        institution: institution.into(),
        terminal: terminal.into(),
        terminal_certificate: leaf_subject,
        operator: operator.into(),
        purpose: purpose_id.into(),
        requested,
        issued_at: UnixTime(iat).to_string(),
        level: claimed,
        eidas: claimed.eidas(),
        evidence: Value::Object(evidence.clone()),
        card_signature_verified,
        card_signature_route,
        undisclosed: sd.len().saturating_sub(parsed.disclosures.len()),
        attributes,
    })
}

/// A presentation of `record` for a third party holding only the named attributes' disclosures
/// (the seal is unchanged and still verifies). Each name must be disclosed in the record, and
/// every disclosure of the record must match its `_sd` (the seal is not checked here: the
/// receiver does that with [`verify`]).
pub fn disclose(record: &str, names: &[&str]) -> Result<String, RecordError> {
    let parsed = sdjwt::parse(record)?;
    let sd: HashSet<&str> = parsed
        .payload
        .get("_sd")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("_sd must be an array"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for d in &parsed.disclosures {
        if !sd.contains(d.digest().as_str()) {
            return Err(RecordError::DisclosureMismatch(format!(
                "the disclosure of {:?} is not in _sd",
                d.name
            )));
        }
    }
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            continue;
        }
        let d = parsed
            .disclosures
            .iter()
            .find(|d| d.name == *n)
            .ok_or_else(|| RecordError::AttributeUnknown(n.chars().take(70).collect()))?;
        out.push(d.encoded.as_str());
    }
    Ok(sdjwt::serialise(&parsed.jwt, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_and_is_compact() {
        let v: Value = serde_json::from_str(r#"{"b":[1,{"z":"\u0001","a":"é"}],"a":true,"_sd":[]}"#).unwrap();
        let mut s = String::new();
        canonical(&v, &mut s);
        assert_eq!(s, r#"{"_sd":[],"a":true,"b":[1,{"a":"é","z":"\u0001"}]}"#);
    }

    #[test]
    fn level_needs_each_step() {
        let d = "A".repeat(43);
        let mut e: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "holderCertificate": d, "chain": [d], "card": {"chipType": "piv"}, "pin": "not-tried"
        }))
        .unwrap();
        assert_eq!(level_of(&e, false), Some(Level::Certificate));
        e.insert("pin".into(), "accepted".into());
        assert_eq!(level_of(&e, false), Some(Level::CardPin));
        e.insert("cardSignature".into(), serde_json::json!({}));
        assert_eq!(level_of(&e, false), Some(Level::CardPin));
        assert_eq!(level_of(&e, true), Some(Level::CardSignature));
        e.insert("chain".into(), serde_json::json!([]));
        assert_eq!(level_of(&e, true), None);
    }

    #[test]
    fn institution_config_is_checked() {
        use crate::error::Coded;
        let ok = r#"{"id":"bank","name":{"fa":"بانک","en":"Bank"},"purposes":[{"id":"account-opening","label":{"fa":"افتتاح حساب","en":"Account opening"},"attributes":["given_name","family_name","national_code"]}]}"#;
        let i = Institution::from_json(ok).unwrap();
        assert!(i.purpose("account-opening").unwrap().allows("national_code"));
        assert_eq!(i.purpose("x").unwrap_err().code(), "RECORD_PURPOSE_UNKNOWN");
        for bad in [
            ok.replace("national_code\"]", "national_code\",\"blood_type\"]"),
            ok.replace("national_code\"]", "national_code\",\"given_name\"]"),
            ok.replace("\"id\":\"bank\"", "\"id\":\"Bank!\""),
            ok.replace("\"purposes\":[", "\"extra\":1,\"purposes\":["),
        ] {
            assert_eq!(
                Institution::from_json(&bad).unwrap_err().code(),
                "RECORD_CONFIG_INVALID",
                "{bad}"
            );
        }
    }
}
