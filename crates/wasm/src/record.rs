//! Sealed identity records for the npm package (issue 17): `verifyRecord`, `discloseRecord` and
//! `RecordDraft` (what `makeRecord` in npm/record.js drives), over the same core calls as
//! `hoviat record verify|disclose|make` (`hoviat::record`). In the full module only (RustCrypto
//! checks the seal and the holder's chain inside the wasm).
//!
//! `RecordDraft` keeps the draft between `signingInput` and `seal`, so that the terminal key can
//! be a non-extractable WebCrypto key (or node:crypto, an HSM ...): JavaScript signs the signing
//! input and hands back the raw `r || s`, which the core checks with the terminal certificate's
//! key before it seals.

use wasm_bindgen::prelude::*;

use super::{at_time, blobs, coded, der_or_base64, get, invalid, string, to_js, trust_store};
use hoviat::record::{self, CardFacts, Institution, OperatorInput, RecordRequest, VerifyOptions};

const MAX_RECORD: usize = 256 * 1024;

fn institution(v: &JsValue) -> Result<Institution, JsValue> {
    let text = match v.as_string() {
        Some(s) => s,
        None if v.is_object() => js_sys::JSON::stringify(v)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| invalid("institution must be JSON text or an object"))?,
        None => return Err(invalid("institution must be JSON text or an object")),
    };
    Institution::from_json(&text).map_err(|e| coded(&e))
}

fn json_of<T: serde::de::DeserializeOwned>(v: &JsValue, what: &str) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        return serde_json::from_str("{}").map_err(|e| invalid(&format!("{what}: {e}")));
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| invalid(&format!("{what} must be an object")))?;
    if text.len() > 64 * 1024 {
        return Err(invalid(&format!("{what} is too large")));
    }
    serde_json::from_str(&text).map_err(|e| invalid(&format!("{what}: {e}")))
}

fn certs(opts: &JsValue, key: &str, required: bool) -> Result<Vec<Vec<u8>>, JsValue> {
    let mut out = Vec::new();
    for b in blobs(opts, key, required)? {
        if b.starts_with(b"-----") {
            out.extend(
                hoviat::pki::cert::pem_or_der(&b, &["CERTIFICATE"], 8, 64 * 1024)
                    .map_err(|e| super::error("CERT_MALFORMED", &e))?,
            );
        } else {
            out.push(der_or_base64(b, key)?);
        }
    }
    Ok(out)
}

/// `verifyRecord(record, {institutionCa, at?, institution?})`: the seal, the terminal chain to
/// the institution's CA, every disclosure, the purpose and the level recomputed from the evidence.
#[wasm_bindgen(js_name = verifyRecord)]
pub fn verify_record(rec: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    let text = string(&rec, "record", MAX_RECORD)?;
    let mut ca = hoviat::pki::TrustStore::new();
    for c in certs(&opts, "institutionCa", true)? {
        ca.add_anchors(&c).map_err(|e| coded(&e))?;
    }
    let at = if get(&opts, "at")?.is_undefined() {
        None
    } else {
        Some(at_time(&opts)?)
    };
    let inst_v = get(&opts, "institution")?;
    let inst = if inst_v.is_undefined() || inst_v.is_null() {
        None
    } else {
        Some(institution(&inst_v)?)
    };
    let v = record::verify(
        text.trim(),
        &VerifyOptions {
            institution_ca: &ca,
            at,
            institution: inst.as_ref(),
            backend: hoviat::pki::alg::default_backend(),
        },
    )
    .map_err(|e| coded(&e))?;
    to_js(&v)
}

/// `discloseRecord(record, names)`: a presentation holding only the named attributes.
#[wasm_bindgen(js_name = discloseRecord)]
pub fn disclose_record(rec: JsValue, names: Vec<String>) -> Result<String, JsValue> {
    let text = string(&rec, "record", MAX_RECORD)?;
    if names.len() > record::ATTRIBUTES.len() {
        return Err(invalid("too many attribute names"));
    }
    let n: Vec<&str> = names.iter().map(String::as_str).collect();
    record::disclose(text.trim(), &n).map_err(|e| coded(&e))
}

/// A record before its seal.
#[wasm_bindgen]
pub struct RecordDraft {
    draft: Option<record::RecordDraft>,
    chain: Vec<Vec<u8>>,
    at: hoviat::time::UnixTime,
}

#[wasm_bindgen]
impl RecordDraft {
    /// `opts`: `{institution, purpose, terminal, operator, card: CardFacts, operatorInput?,
    /// registry: {trustAnchors, intermediates?, crls?}, terminalChain, at?, decoys?}`.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<RecordDraft, JsValue> {
        use rand_core::SeedableRng;
        let inst = institution(&get(&opts, "institution")?)?;
        let purpose = string(&get(&opts, "purpose")?, "purpose", 64)?;
        let terminal = string(&get(&opts, "terminal")?, "terminal", 256)?;
        let operator = string(&get(&opts, "operator")?, "operator", 256)?;
        let card: CardFacts = json_of(&get(&opts, "card")?, "card")?;
        let op: OperatorInput = json_of(&get(&opts, "operatorInput")?, "operatorInput")?;
        let registry = trust_store(&get(&opts, "registry")?)?;
        let chain = certs(&opts, "terminalChain", true)?;
        let decoys_v = get(&opts, "decoys")?;
        let decoys = if decoys_v.is_undefined() {
            2
        } else {
            decoys_v
                .as_f64()
                .filter(|d| (0.0..=16.0).contains(d) && d.fract() == 0.0)
                .ok_or_else(|| invalid("decoys must be an integer from 0 to 16"))? as usize
        };
        let at = at_time(&opts)?;
        let req = RecordRequest {
            institution: &inst,
            purpose: &purpose,
            terminal: &terminal,
            operator: &operator,
            at,
            card: &card,
            operator_input: &op,
            registry: &registry,
            holder_options: record::holder_path_options(at),
            revocation_data: &[],
            decoys,
        };
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| super::error("INTERNAL_ERROR", &e.to_string()))?;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        let d = record::draft(&req, hoviat::pki::alg::default_backend(), &mut rng).map_err(|e| coded(&e))?;
        Ok(RecordDraft {
            draft: Some(d),
            chain,
            at,
        })
    }

    fn get_draft(&self) -> Result<&record::RecordDraft, JsValue> {
        self.draft
            .as_ref()
            .ok_or_else(|| invalid("the draft is already sealed"))
    }

    /// The level the evidence supports.
    #[wasm_bindgen(getter)]
    pub fn level(&self) -> Result<String, JsValue> {
        Ok(self.get_draft()?.level().name().into())
    }

    /// The requested attributes nobody provided.
    #[wasm_bindgen(getter)]
    pub fn missing(&self) -> Result<Vec<String>, JsValue> {
        Ok(self.get_draft()?.missing().to_vec())
    }

    /// `iat`, seconds.
    #[wasm_bindgen(getter, js_name = issuedAt)]
    pub fn issued_at(&self) -> f64 {
        self.at.0 as f64
    }

    /// The JWS signing input the terminal key signs (ES256).
    #[wasm_bindgen(js_name = signingInput)]
    pub fn signing_input(&self) -> Result<String, JsValue> {
        Ok(self.get_draft()?.signing_input(&self.chain))
    }

    /// Seals with the terminal's signature over `signingInput()` (raw `r || s`, 64 bytes),
    /// checked with the terminal certificate's key first. Returns the record.
    pub fn seal(&mut self, signature: Vec<u8>) -> Result<String, JsValue> {
        if signature.len() != 64 {
            return Err(invalid("the signature must be 64 bytes (ES256 r || s)"));
        }
        let d = self
            .draft
            .take()
            .ok_or_else(|| invalid("the draft is already sealed"))?;
        d.seal_with_signature(&self.chain, &signature, hoviat::pki::alg::default_backend())
            .map_err(|e| coded(&e))
    }
}
