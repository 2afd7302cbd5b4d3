//! hoviat's JavaScript facade (wasm-bindgen), under the npm package in `npm/`. Only for
//! `wasm32-unknown-unknown`: built by `scripts/build-pkg`; natively this crate is empty.
#![cfg(target_arch = "wasm32")]
//! The JavaScript facade (feature `wasm`, target wasm32): thin bindings over the same core the
//! CLI uses. Every input from JS is untrusted: wrong types, huge strings and missing fields
//! become an `Error` with a stable `.code`, never a trap. A panic hook records the message so
//! the JS wrapper can turn a remaining panic into `HoviatError("INTERNAL_PANIC")`.

use std::cell::RefCell;

#[cfg(feature = "testkit")]
use js_sys::Function;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use hoviat::error::Coded;
use hoviat::pki::alg::{PublicKey, SigAlg};
use hoviat::pki::platform::{CheckId, PlatformVerification, Step};
use hoviat::pki::{AlgorithmPolicy, PathOptions, SignatureBackend, TrustStore};
use hoviat::time::UnixTime;
use hoviat::token::{NonceStore as _, Origin, Verifier};

// CMS verification: in the full module only (the lite one stays token-sized; the npm package
// loads the full module for verifySignature).
#[cfg(feature = "rustcrypto")]
mod cms;
// Identity records (makeRecord / verifyRecord / disclose): full module only.
#[cfg(feature = "rustcrypto")]
mod record;
// Direct transports (Web Serial, WebUSB, Web Smart Card API): reader sessions and card jobs,
// in the full module only (issue 18).
#[cfg(feature = "rustcrypto")]
mod reader;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook (called once when the module starts).
#[wasm_bindgen(start)]
pub fn start() {
    // Where it panicked (file:line), assembled without `core::fmt`: the payload's formatting
    // would link the formatting machinery for nothing (the wrapper reports INTERNAL_PANIC).
    std::panic::set_hook(Box::new(|info| {
        let mut msg = String::from("panicked");
        if let Some(l) = info.location() {
            msg.push_str(" at ");
            msg.push_str(l.file());
            msg.push(':');
            msg.push_str(&decimal(u64::from(l.line())));
        }
        if let Some(s) = info.payload().downcast_ref::<&str>() {
            msg.push_str(": ");
            msg.push_str(s);
        }
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
    }));
}

/// The message of the last panic, if one happened (the wrapper reports it as INTERNAL_PANIC).
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// Panics on purpose: lets the package's tests prove that a panic surfaces as a HoviatError.
#[wasm_bindgen(js_name = __panicForTest)]
pub fn panic_for_test() {
    panic!("deliberate panic for the panic-hook test");
}

/// `n` in decimal, without `core::fmt` (the lite module keeps the formatting machinery out of
/// its own paths).
fn decimal(mut n: u64) -> String {
    let mut d = Vec::new();
    loop {
        d.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    d.iter().rev().map(|&b| char::from(b)).collect()
}

/// An `Error` with `name = "HoviatError"` and a stable `code`.
fn error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    e.set_name("HoviatError");
    let _ = Reflect::set(&e, &"code".into(), &code.into());
    e.into()
}

#[cfg(feature = "rustcrypto")]
fn coded<E: Coded>(e: &E) -> JsValue {
    error(e.code(), &e.to_string())
}

/// The lite module (the core without `messages`): the code, and the error's structured fields
/// (its `Display` without messages) as `detail`; npm/messages.js words the message from the code.
#[cfg(not(feature = "rustcrypto"))]
fn coded<E: Coded>(e: &E) -> JsValue {
    let v = error(e.code(), "");
    let _ = Reflect::set(&v, &"detail".into(), &e.to_string().into());
    v
}

fn invalid(what: &str) -> JsValue {
    error("INVALID_ARGUMENT", what)
}

const MAX_ITEMS: usize = 64;

fn get(obj: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    if !obj.is_object() {
        return Err(invalid("options must be an object"));
    }
    Reflect::get(obj, &key.into()).map_err(|_| invalid(&[key, " cannot be read"].concat()))
}

fn string(v: &JsValue, what: &str, max: usize) -> Result<String, JsValue> {
    let s = v
        .as_string()
        .ok_or_else(|| invalid(&[what, " must be a string"].concat()))?;
    if s.len() > max {
        return Err(invalid(
            &[what, " is longer than ", &decimal(max as u64), " characters"].concat(),
        ));
    }
    Ok(s)
}

fn opt_string(obj: &JsValue, key: &str, max: usize) -> Result<Option<String>, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        string(&v, key, max).map(Some)
    }
}

fn req_string(obj: &JsValue, key: &str, max: usize) -> Result<String, JsValue> {
    opt_string(obj, key, max)?.ok_or_else(|| invalid(&[key, " is required"].concat()))
}

fn opt_bool(obj: &JsValue, key: &str) -> Result<bool, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() || v.is_null() {
        return Ok(false);
    }
    v.as_bool()
        .ok_or_else(|| invalid(&[key, " must be a boolean"].concat()))
}

/// A list of certificates or CRLs: each a PEM string (one or more blocks) or a Uint8Array of DER.
fn blobs(obj: &JsValue, key: &str, required: bool) -> Result<Vec<Vec<u8>>, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() || v.is_null() {
        return if required {
            Err(invalid(&[key, " is required"].concat()))
        } else {
            Ok(Vec::new())
        };
    }
    let items: Vec<JsValue> = if Array::is_array(&v) {
        Array::from(&v).iter().collect()
    } else {
        vec![v]
    };
    if items.len() > MAX_ITEMS {
        return Err(invalid(
            &[key, " has more than ", &decimal(MAX_ITEMS as u64), " items"].concat(),
        ));
    }
    if required && items.is_empty() {
        return Err(invalid(&[key, " must not be empty"].concat()));
    }
    items
        .iter()
        .map(|it| {
            if let Some(s) = it.as_string() {
                if s.len() > 4 * 1024 * 1024 {
                    return Err(invalid(&["an item of ", key, " is too large"].concat()));
                }
                Ok(s.into_bytes())
            } else if let Some(a) = it.dyn_ref::<Uint8Array>() {
                if a.length() > 4 * 1024 * 1024 {
                    return Err(invalid(&["an item of ", key, " is too large"].concat()));
                }
                Ok(a.to_vec())
            } else {
                Err(invalid(&[key, " items must be PEM strings or Uint8Array"].concat()))
            }
        })
        .collect()
}

/// The validation time: `at` as an RFC 3339 string, a Date, or milliseconds; default now.
fn at_time(obj: &JsValue) -> Result<UnixTime, JsValue> {
    let v = get(obj, "at")?;
    if v.is_undefined() || v.is_null() {
        return Ok(now());
    }
    time_value(&v, "at")
}

/// A time given as an RFC 3339 string, a Date, or milliseconds.
fn time_value(v: &JsValue, what: &str) -> Result<UnixTime, JsValue> {
    if let Some(s) = v.as_string() {
        return UnixTime::parse_rfc3339(&s).ok_or_else(|| invalid(&[what, " must be an RFC 3339 time"].concat()));
    }
    let ms = if let Some(d) = v.dyn_ref::<js_sys::Date>() {
        d.get_time()
    } else {
        v.as_f64().unwrap_or(f64::NAN)
    };
    if !ms.is_finite() || ms.abs() > 1e15 {
        return Err(invalid(
            &[what, " must be a Date, milliseconds or an RFC 3339 string"].concat(),
        ));
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(UnixTime((ms / 1000.0).floor() as i64))
}

fn now() -> UnixTime {
    #[allow(clippy::cast_possible_truncation)]
    UnixTime((js_sys::Date::now() / 1000.0).floor() as i64)
}

// Full module only (the lite one builds its results through serde_json text, see `run`).
#[cfg(feature = "rustcrypto")]
fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error("INTERNAL_ERROR", &e.to_string()))
}

fn trust_store(opts: &JsValue) -> Result<TrustStore, JsValue> {
    let mut t = TrustStore::new();
    for b in blobs(opts, "trustAnchors", true)? {
        t.add_anchors(&b).map_err(|e| coded(&e))?;
    }
    for b in blobs(opts, "intermediates", false)? {
        t.add_intermediates(&b).map_err(|e| coded(&e))?;
    }
    let crls = blobs(opts, "crls", false)?;
    #[cfg(feature = "rustcrypto")]
    for b in crls {
        t.add_crls(&b).map_err(|e| coded(&e))?;
    }
    #[cfg(not(feature = "rustcrypto"))]
    if !crls.is_empty() {
        return Err(full_module_only());
    }
    Ok(t)
}

/// The lite module leaves the CRL and OCSP parsers out (≈14 KB of the gzipped module): the
/// npm package sends verifications with `crls` or `ocspResponses` to the full module
/// (npm/api.js `readsRevocation`), so this is reached only by a caller of the raw module.
#[cfg(not(feature = "rustcrypto"))]
fn full_module_only() -> JsValue {
    invalid("crls and ocspResponses are read by the full module (web/core.wasm); the npm package loads it for them")
}

/// Bytes given as a Uint8Array or as base64 text (standard alphabet, whitespace ignored).
fn der_or_base64(raw: Vec<u8>, what: &str) -> Result<Vec<u8>, JsValue> {
    use base64::Engine;
    if raw.first() == Some(&0x30) {
        return Ok(raw);
    }
    let text: Vec<u8> = raw.into_iter().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|_| invalid(&[what, " must be DER bytes (Uint8Array) or base64 text"].concat()))
}

/// `ocspResponses` (DER or base64, for the holder's certificate: fetched or stapled by the
/// server), `ocspNonce` (the nonce the server sent, Uint8Array or base64) and
/// `ocspSkewSeconds`.
fn ocsp_config(opts: &JsValue) -> Result<Option<hoviat::pki::ocsp::OcspConfig>, JsValue> {
    use hoviat::pki::ocsp::{OcspConfig, OcspOptions, OcspResponse};
    let raw = blobs(opts, "ocspResponses", false)?;
    let nonce_v = get(opts, "ocspNonce")?;
    let skew_v = get(opts, "ocspSkewSeconds")?;
    if raw.is_empty() {
        if !nonce_v.is_undefined() || !skew_v.is_undefined() {
            return Err(invalid("ocspNonce and ocspSkewSeconds need ocspResponses"));
        }
        return Ok(None);
    }
    #[cfg(not(feature = "rustcrypto"))]
    if !raw.is_empty() {
        return Err(full_module_only());
    }
    let mut responses = Vec::with_capacity(raw.len());
    for r in raw {
        let der = der_or_base64(r, "ocspResponses items")?;
        responses.push(std::sync::Arc::new(
            OcspResponse::from_der(&der).map_err(|e| coded(&e))?,
        ));
    }
    let nonce = if nonce_v.is_undefined() || nonce_v.is_null() {
        None
    } else {
        let raw = if let Some(s) = nonce_v.as_string() {
            s.into_bytes()
        } else if let Some(a) = nonce_v.dyn_ref::<Uint8Array>() {
            a.to_vec()
        } else {
            return Err(invalid("ocspNonce must be a Uint8Array or base64 text"));
        };
        if raw.len() > 128 {
            return Err(invalid("ocspNonce is too long"));
        }
        let n = if nonce_v.is_string() {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(&raw)
                .map_err(|_| invalid("ocspNonce must be a Uint8Array or base64 text"))?
        } else {
            raw
        };
        if n.is_empty() || n.len() > 32 {
            return Err(invalid("ocspNonce must be 1 to 32 bytes"));
        }
        Some(n)
    };
    let mut options = OcspOptions::default();
    if !skew_v.is_undefined() && !skew_v.is_null() {
        let secs = skew_v
            .as_f64()
            .filter(|x| x.fract() == 0.0 && (0.0..=86_400.0).contains(x))
            .ok_or_else(|| invalid("ocspSkewSeconds must be an integer from 0 to 86400"))?;
        #[allow(clippy::cast_possible_truncation)]
        {
            options.skew_secs = secs as i64;
        }
    }
    Ok(Some(OcspConfig {
        responses,
        nonce,
        options,
    }))
}

fn token_text(token: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = token.as_string() {
        // Larger than any token: refused with the token's own code, not read further.
        if s.len() > 10_000 {
            return Err(coded(&hoviat::token::TokenError::TooLarge { limit: 10_000 }));
        }
        return Ok(s);
    }
    if token.is_object() {
        let s = js_sys::JSON::stringify(token).map_err(|_| invalid("token cannot be serialised to JSON"))?;
        return Ok(String::from(s));
    }
    Err(invalid("token must be a JSON string or an object"))
}

// Trust stores parsed once and used by many verifications (`trustStoreNew`), by handle. A
// handle is a plain number so that JS can pass it inside the options object; the JS TrustStore
// class owns it and frees it.
thread_local! {
    static STORES: RefCell<std::collections::HashMap<u32, std::rc::Rc<TrustStore>>> = RefCell::default();
    static NEXT_STORE: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// Most trust stores alive at once in one module instance.
const MAX_STORES: usize = 256;

/// Parses `{trustAnchors, intermediates?, crls?}` once and returns a handle for the `trustStore`
/// option of verifications (the npm package's `TrustStore` class wraps it).
#[wasm_bindgen(js_name = trustStoreNew)]
pub fn trust_store_new(opts: JsValue) -> Result<u32, JsValue> {
    if STORES.with(|s| s.borrow().len()) >= MAX_STORES {
        return Err(invalid("too many trust stores alive (free the ones no longer used)"));
    }
    let t = std::rc::Rc::new(trust_store(&opts)?);
    let id = NEXT_STORE.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1).max(1));
        id
    });
    STORES.with(|s| s.borrow_mut().insert(id, t));
    Ok(id)
}

/// Frees a trust store handle (verifications already running keep their copy).
#[wasm_bindgen(js_name = trustStoreFree)]
pub fn trust_store_free(id: u32) {
    STORES.with(|s| s.borrow_mut().remove(&id));
}

/// The trust of a verification: a `trustStore` handle, or `trustAnchors`/`intermediates`/`crls`
/// parsed for this call (not both).
fn prepared_trust(opts: &JsValue) -> Result<std::rc::Rc<TrustStore>, JsValue> {
    let h = get(opts, "trustStore")?;
    if h.is_undefined() || h.is_null() {
        return Ok(std::rc::Rc::new(trust_store(opts)?));
    }
    for k in ["trustAnchors", "intermediates", "crls"] {
        if !get(opts, k)?.is_undefined() {
            return Err(invalid(&["give either trust or ", k, ", not both"].concat()));
        }
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let id = h
        .as_f64()
        .filter(|x| x.fract() == 0.0 && *x >= 1.0 && *x <= f64::from(u32::MAX))
        .ok_or_else(|| invalid("trust must be a TrustStore"))? as u32;
    STORES
        .with(|s| s.borrow().get(&id).cloned())
        .ok_or_else(|| error("TRUST_STORE_FREED", "this TrustStore was freed"))
}

struct Prepared {
    text: String,
    origin: Origin,
    nonce: String,
    trust: std::rc::Rc<TrustStore>,
    options: PathOptions,
}

fn prepare(token: &JsValue, opts: &JsValue) -> Result<Prepared, JsValue> {
    let text = token_text(token)?;
    let origin = Origin::parse(&req_string(opts, "origin", 300)?).map_err(|e| coded(&e))?;
    let nonce = req_string(opts, "nonce", 300)?;
    let trust = prepared_trust(opts)?;
    let mut options = PathOptions::client_auth(at_time(opts)?);
    options.require_revocation = opt_bool(opts, "requireRevocation")?;
    options.policy = AlgorithmPolicy {
        allow_sha1: opt_bool(opts, "allowSha1")?,
        ..AlgorithmPolicy::default()
    };
    options.ocsp = ocsp_config(opts)?;
    Ok(Prepared {
        text,
        origin,
        nonce,
        trust,
        options,
    })
}

fn run(p: &Prepared, backend: &dyn SignatureBackend) -> Result<JsValue, JsValue> {
    let v = Verifier {
        trust: &p.trust,
        options: p.options.clone(),
        backend,
    };
    let verified = v.verify(&p.text, &p.origin, &p.nonce).map_err(|e| coded(&e))?;
    // Through JSON text and JSON.parse (the same plain object): the core already carries
    // serde_json, so the lite module needs no serde-wasm-bindgen serializer for it.
    let text = serde_json::to_string(&verified).map_err(|_| error("INTERNAL_ERROR", "result serialisation failed"))?;
    js_sys::JSON::parse(&text).map_err(|_| error("INTERNAL_ERROR", "result serialisation failed"))
}

/// Verifies a `web-eid:1.x` token with the portable wasm cryptography (RustCrypto). `opts`:
/// `{origin, nonce, trustAnchors, intermediates?, crls?, at?, requireRevocation?, allowSha1?}`.
/// Returns the holder identity; throws a HoviatError with a stable code.
#[cfg(feature = "rustcrypto")]
#[wasm_bindgen(js_name = verifyToken)]
pub fn verify_token(token: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    run(&prepare(&token, &opts)?, &hoviat::pki::RustCrypto)
}

/// The platform's answers, `[[checkId, valid], ...]`; ids that name no check handed out are
/// ignored by the core.
fn answers(known: &JsValue) -> Result<Vec<(CheckId, bool)>, JsValue> {
    if known.is_undefined() || known.is_null() {
        return Ok(Vec::new());
    }
    if !Array::is_array(known) {
        return Err(invalid("known must be an array"));
    }
    let known = Array::from(known);
    if known.length() > 4096 {
        return Err(invalid("too many known results"));
    }
    let mut out = Vec::with_capacity(known.length() as usize);
    for pair in known.iter() {
        let pair = Array::from(&pair);
        let (Some(id), Some(ok)) = (pair.get(0).as_string(), pair.get(1).as_bool()) else {
            return Err(invalid("known results must be [id, boolean] pairs"));
        };
        if let Some(id) = CheckId::parse(&id) {
            out.push((id, ok));
        }
    }
    Ok(out)
}

pub(crate) type Job =
    PlatformVerification<Box<dyn FnMut(&dyn SignatureBackend) -> Result<JsValue, JsValue>>, JsValue, JsValue>;

/// One step of the core's typed platform verification, for JavaScript: `{done: true, result}`
/// (or the verdict's HoviatError thrown) or `{done: false, checks, bytes}`. Whether a verdict
/// may stand is decided in the core (`hoviat::pki::platform`), never here or in JavaScript.
pub(crate) fn step(job: &mut Job, known: &JsValue) -> Result<JsValue, JsValue> {
    step_object(job.step(answers(known)?))
}

/// A step as JavaScript sees it: `{done: true, result}` (or the verdict's error thrown) or
/// `{done: false, checks, bytes}`.
fn step_object(s: Step<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    let pending = match s {
        Step::Done(verdict) => {
            let out = Object::new();
            let _ = Reflect::set(&out, &"done".into(), &JsValue::TRUE);
            let _ = Reflect::set(&out, &"result".into(), &verdict?);
            return Ok(out.into());
        }
        Step::NeedChecks(pending) => pending,
    };
    // The checks' fields as JSON text and their bytes in one buffer: one copy out of wasm memory
    // and one JSON.parse instead of an object, three typed arrays and ten property writes per
    // check (npm/api.js `pendingChecks` makes `spki`, `message` and `signature` views into it).
    // Every value written is ASCII without quotes (digits, fixed names, hex), so no escaping.
    let mut meta = String::from("[");
    let mut bytes: Vec<u8> = Vec::new();
    for (n, (id, c)) in pending.into_iter().enumerate() {
        if n > 0 {
            meta.push(',');
        }
        meta.push_str("{\"id\":\"");
        meta.push_str(&id.to_string());
        meta.push_str("\",\"hash\":\"");
        meta.push_str(c.alg.hash().name());
        match (&c.key.key, c.alg) {
            (PublicKey::Ec { curve, .. }, SigAlg::Ecdsa(_)) => {
                meta.push_str("\",\"kind\":\"ecdsa\",\"namedCurve\":\"");
                meta.push_str(curve.name());
                meta.push('"');
            }
            (_, SigAlg::RsaPss { salt_len, .. }) => {
                meta.push_str("\",\"kind\":\"rsa-pss\",\"saltLength\":");
                meta.push_str(&decimal(salt_len as u64));
            }
            _ => meta.push_str("\",\"kind\":\"rsa-pkcs1\""),
        }
        // Lets the page reuse an imported CryptoKey for the same key (CA keys recur).
        meta.push_str(",\"keyId\":\"");
        meta.push_str(&hoviat::pki::cert::hex_lower(
            &hoviat::pki::alg::HashAlg::Sha256.digest(&c.key.spki),
        ));
        meta.push('"');
        for (name, part) in [
            ("spki", &c.key.spki),
            ("message", &c.message),
            ("signature", &c.signature),
        ] {
            meta.push_str(",\"");
            meta.push_str(name);
            meta.push_str("\":[");
            meta.push_str(&decimal(bytes.len() as u64));
            meta.push(',');
            meta.push_str(&decimal(part.len() as u64));
            meta.push(']');
            bytes.extend_from_slice(part);
        }
        meta.push('}');
    }
    meta.push(']');
    let out = Object::new();
    let _ = Reflect::set(&out, &"done".into(), &JsValue::FALSE);
    let _ = Reflect::set(&out, &"checks".into(), &meta.into());
    let _ = Reflect::set(&out, &"bytes".into(), &Uint8Array::from(bytes.as_slice()).into());
    Ok(out.into())
}

fn job_for(p: Prepared) -> Job {
    PlatformVerification::new(Box::new(move |b: &dyn SignatureBackend| run(&p, b)))
}

/// A platform-cryptography verification in progress (the core's `PlatformVerification`): the
/// token, options and trust store are parsed once; each `step` adds the platform's new answers.
/// When the platform confirms every check of a step, the next step returns the verdict without
/// another pass.
#[wasm_bindgen]
pub struct VerifyJob {
    job: Job,
}

#[wasm_bindgen]
impl VerifyJob {
    /// Parses the token and the options (the same options as `verifyToken`).
    #[wasm_bindgen(constructor)]
    pub fn new(token: JsValue, opts: JsValue) -> Result<VerifyJob, JsValue> {
        Ok(VerifyJob {
            job: job_for(prepare(&token, &opts)?),
        })
    }

    /// Adds `[checkId, valid]` results (for checks a previous step handed out) and returns the
    /// next step: `{done: true, result}` when every signature the verdict rests on is known (or
    /// throws the verdict's HoviatError), else `{done: false, checks, bytes}` for the platform
    /// to verify: `checks` is JSON text of `[{id, kind, hash, namedCurve?, saltLength?, keyId,
    /// spki, message, signature}]` where the last three are `[offset, length]` in `bytes`
    /// (npm/api.js `pendingChecks`; ECDSA signatures are raw r||s, as WebCrypto and
    /// node:crypto's ieee-p1363 take them).
    pub fn step(&mut self, known: JsValue) -> Result<JsValue, JsValue> {
        step(&mut self.job, &known)
    }
}

/// A fresh challenge nonce: 32 random bytes, base64 (44 characters).
#[wasm_bindgen(js_name = createNonce)]
pub fn create_nonce() -> Result<String, JsValue> {
    os_nonce().map_err(|e| coded(&e))
}

/// Validates a national code: `{valid: true, nationalCode}` or `{valid: false, code, message}`.
#[wasm_bindgen(js_name = validateNationalCode)]
pub fn validate_national_code(code: JsValue) -> Result<JsValue, JsValue> {
    let s = string(&code, "code", 64)?;
    // Built with Reflect, not serde_json::json! (no JSON value machinery in the lite module).
    let out = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&out, &k.into(), &v);
    };
    match hoviat::identity::NationalCode::parse(&s) {
        Ok(n) => {
            set("valid", JsValue::TRUE);
            set("nationalCode", n.as_str().into());
        }
        Err(e) => {
            set("valid", JsValue::FALSE);
            set("code", e.code().into());
            set("message", e.to_string().into());
        }
    }
    Ok(out.into())
}

/// An in-memory, single-use, expiring nonce store (one server process).
#[wasm_bindgen]
pub struct NonceStore {
    inner: hoviat::token::MemoryNonceStore,
    ttl: i64,
}

#[wasm_bindgen]
impl NonceStore {
    /// `opts`: `{ttlSeconds?: number (default 300), capacity?: number (default 100000)}`.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<NonceStore, JsValue> {
        let num = |k: &str, d: f64| -> Result<f64, JsValue> {
            if opts.is_undefined() || opts.is_null() {
                return Ok(d);
            }
            let v = get(&opts, k)?;
            if v.is_undefined() {
                Ok(d)
            } else {
                v.as_f64()
                    .filter(|x| x.is_finite() && *x >= 1.0)
                    .ok_or_else(|| invalid(&[k, " must be a positive number"].concat()))
            }
        };
        let ttl = num("ttlSeconds", 300.0)?.min(86_400.0);
        let cap = num("capacity", 100_000.0)?.min(10_000_000.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(NonceStore {
            inner: hoviat::token::MemoryNonceStore::new(cap as usize),
            ttl: ttl as i64,
        })
    }

    /// Issues a nonce valid for the store's TTL.
    pub fn issue(&self) -> Result<String, JsValue> {
        let n = os_nonce().map_err(|e| coded(&e))?;
        let t = now();
        self.inner
            .issue(&n, UnixTime(t.0 + self.ttl), t)
            .map_err(|e| coded(&e))?;
        Ok(n)
    }

    /// Consumes a nonce: throws NONCE_UNKNOWN, NONCE_EXPIRED or NONCE_REPLAYED.
    pub fn consume(&self, nonce: JsValue) -> Result<(), JsValue> {
        let n = string(&nonce, "nonce", 300)?;
        self.inner.consume(&n, now()).map_err(|e| coded(&e))
    }
}

#[cfg(feature = "testkit")]
fn status_callback(f: &Option<Function>) -> impl FnMut(hoviat::card::Status) + '_ {
    move |s| {
        if let (Some(f), Ok(v)) = (f, serde_json::to_value(s)) {
            let _ = f.call1(&JsValue::NULL, &JsValue::from_str(v.as_str().unwrap_or("")));
        }
    }
}

/// Runs a future that completes without waiting (the virtual transport never waits).
#[cfg(feature = "testkit")]
fn now_or_never<F: std::future::Future>(f: F) -> Result<F::Output, JsValue> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Ok(v),
        std::task::Poll::Pending => Err(error("INTERNAL_ERROR", "the virtual card would block")),
    }
}

/// A virtual card in the page or in Node (test equipment, the `testkit` build): PIV by
/// default, or the Iranian card profile; backed by a light test registry generated in the
/// module, or by a certificate and key the caller gives.
/// A virtual card's or reader emulator's options: the object (`{}` when none), its `profile`
/// (`"piv"` or `"ir-nid"`, default PIV) and registry `seed` (default `"hoviat-virtual"`).
#[cfg(feature = "testkit")]
pub(crate) fn virtual_opts(opts: JsValue) -> Result<(JsValue, String, String), JsValue> {
    let opts = if opts.is_undefined() || opts.is_null() {
        Object::new().into()
    } else {
        opts
    };
    let profile = opt_string(&opts, "profile", 16)?.unwrap_or_else(|| "piv".into());
    if profile != "piv" && profile != "ir-nid" {
        return Err(invalid("profile must be piv or ir-nid"));
    }
    let seed = opt_string(&opts, "seed", 64)?.unwrap_or_else(|| "hoviat-virtual".into());
    Ok((opts, profile, seed))
}

/// Whether the options ask for the Iranian card's real certificate layout.
#[cfg(feature = "testkit")]
fn opts_layout_iran(opts: &JsValue) -> Result<bool, JsValue> {
    Ok(opt_string(opts, "layout", 16)?.as_deref() == Some("iran"))
}

/// The light test registry of `seed` made for the UTC day of the options' `at` (default now).
#[cfg(feature = "testkit")]
pub(crate) fn day_registry(seed: &str, opts: &JsValue) -> Result<hoviat_testkit::Registry, JsValue> {
    let at = at_time(opts)?;
    Ok(hoviat_testkit::Registry::generate_light(
        seed,
        UnixTime(at.0 - at.0.rem_euclid(86_400)),
    ))
}

#[cfg(feature = "testkit")]
#[wasm_bindgen(js_name = VirtualCard)]
pub struct WasmVirtualCard {
    t: hoviat_testkit::virtual_card::VirtualTransport<Box<dyn hoviat_testkit::virtual_card::VirtualCard>>,
    anchors: Vec<String>,
    intermediates: Vec<String>,
    crls: Vec<String>,
    profile: String,
    reg: hoviat_testkit::Registry,
    holder: usize,
    iran_layout: bool,
}

#[cfg(feature = "testkit")]
#[wasm_bindgen(js_class = VirtualCard)]
impl WasmVirtualCard {
    /// `opts`: `{profile?: "piv"|"ir-nid", holder?: number, seed?: string, at?: ...,
    /// removeAfter?: number, layout?: "iran"}` (`layout: "iran"`: the signing certificate in the
    /// Iranian card's real layout).
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<WasmVirtualCard, JsValue> {
        use hoviat_testkit::virtual_card as vc;
        let (opts, profile, seed) = virtual_opts(opts)?;
        let holder_v = get(&opts, "holder")?;
        let holder = if holder_v.is_undefined() {
            1.0
        } else {
            holder_v.as_f64().ok_or_else(|| invalid("holder must be a number"))?
        };
        if !(0.0..15.0).contains(&holder) || holder.fract() != 0.0 {
            return Err(invalid("holder must be an integer from 0 to 14"));
        }
        let reg = day_registry(&seed, &opts)?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let card = match opt_string(&opts, "layout", 16)?.as_deref() {
            None => vc::for_holder(&reg, holder as usize, profile == "ir-nid"),
            // The Iranian card's real signing-certificate layout (names, CRN, no national code).
            Some("iran") if profile == "ir-nid" => vc::for_holder_iranian_layout(&reg, holder as usize),
            Some(_) => return Err(invalid("layout must be \"iran\" (with profile ir-nid)")),
        }
        .ok_or_else(|| invalid("no such holder"))?;
        let mut t = vc::VirtualTransport::new(card);
        let ra = get(&opts, "removeAfter")?;
        if !ra.is_undefined() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = ra
                .as_f64()
                .filter(|x| *x >= 0.0 && *x < 1e6)
                .ok_or_else(|| invalid("removeAfter must be a number"))? as usize;
            t.remove_after = Some(n);
        }
        let pem = |d: &[u8]| hoviat_testkit::Registry::pem("CERTIFICATE", d);
        Ok(WasmVirtualCard {
            t,
            anchors: vec![pem(&reg.root.cert)],
            intermediates: reg.cas.iter().map(|c| pem(&c.cert)).collect(),
            crls: reg
                .crls
                .iter()
                .map(|c| hoviat_testkit::Registry::pem("X509 CRL", c))
                .collect(),
            profile,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            holder: holder as usize,
            iran_layout: opts_layout_iran(&opts)?,
            reg,
        })
    }

    /// What the registry's secure-messaging session has this card sign (test equipment, for
    /// the fake Dastine service's `NIDSign` / `CmsSign`): a CMS SignedData over `data` with
    /// the card's signing key and certificate (the Iranian layout's when the card has it),
    /// signed attributes contentType, messageDigest and signingTime (now). `opts`:
    /// `{hash?: "SHA1"|"SHA256"|"SHA384"|"SHA512" (default SHA256), attach?: boolean (default
    /// true)}`. Returns the DER.
    #[wasm_bindgen(js_name = registrySign)]
    pub fn registry_sign(&self, data: &[u8], opts: JsValue) -> Result<Uint8Array, JsValue> {
        use hoviat::pki::alg::HashAlg;
        if data.len() > 1024 * 1024 {
            return Err(invalid("data must be at most 1 MiB"));
        }
        let opts = if opts.is_undefined() || opts.is_null() {
            Object::new().into()
        } else {
            opts
        };
        let hash = match opt_string(&opts, "hash", 8)?.as_deref() {
            None | Some("SHA256") => HashAlg::Sha256,
            Some("SHA1") => HashAlg::Sha1,
            Some("SHA384") => HashAlg::Sha384,
            Some("SHA512") => HashAlg::Sha512,
            Some(_) => return Err(invalid("hash must be SHA1, SHA256, SHA384 or SHA512")),
        };
        let attach = get(&opts, "attach")?.as_bool().unwrap_or(true);
        let h = self
            .reg
            .holders
            .get(self.holder)
            .ok_or_else(|| invalid("no such holder"))?;
        let cert = if self.iran_layout {
            hoviat_testkit::institution::iranian_signing_cert(&self.reg, self.holder)
                .ok_or_else(|| invalid("no such holder"))?
        } else {
            h.cert.clone()
        };
        #[allow(clippy::cast_possible_truncation)]
        let now = UnixTime((js_sys::Date::now() / 1000.0) as i64);
        let der = hoviat_testkit::cms::card_signed_data(&cert, &h.key, data, hash, attach, now);
        Ok(Uint8Array::from(der.as_slice()))
    }

    /// An OCSP response about this card's certificate, signed by its issuing CA as a responder
    /// would (test equipment): `status` `"good"` (default), `"revoked"` or `"unknown"`;
    /// `opts`: `{nonce?: Uint8Array, thisUpdate?, nextUpdate?}` (times as for `at`; default
    /// an hour before the card's day and a day after it).
    #[wasm_bindgen(js_name = ocspResponse)]
    pub fn ocsp_response(&self, status: JsValue, opts: JsValue) -> Result<Uint8Array, JsValue> {
        use hoviat_testkit::ocsp::{Spec, Status, response};
        let at = self.reg.now;
        let mut spec = Spec::good(at);
        spec.status = match status.as_string().as_deref() {
            None | Some("good") => Status::Good,
            Some("revoked") => Status::Revoked(UnixTime(at.0 - 3600)),
            Some("unknown") => Status::Unknown,
            Some(_) => return Err(invalid("status must be good, revoked or unknown")),
        };
        if !opts.is_undefined() && !opts.is_null() {
            let n = get(&opts, "nonce")?;
            if let Some(a) = n.dyn_ref::<Uint8Array>() {
                spec.nonce = Some(a.to_vec());
            }
            let t = get(&opts, "thisUpdate")?;
            if !t.is_undefined() {
                spec.this_update = time_value(&t, "thisUpdate")?;
            }
            let t = get(&opts, "nextUpdate")?;
            if !t.is_undefined() {
                spec.next_update = Some(time_value(&t, "nextUpdate")?);
            }
        }
        let h = self
            .reg
            .holders
            .get(self.holder)
            .ok_or_else(|| invalid("no such holder"))?;
        let ca = self.reg.cas.get(h.issuer).ok_or_else(|| invalid("no such CA"))?;
        let mut rng = hoviat_testkit::rng_for(&self.reg.seed, "wasm-ocsp");
        let der = response(&h.cert, &ca.cert, &spec, ca.into(), &[], &mut rng);
        Ok(Uint8Array::from(der.as_slice()))
    }

    /// The profile (`piv` or `ir-nid`).
    #[wasm_bindgen(getter)]
    pub fn profile(&self) -> String {
        self.profile.clone()
    }

    /// The test registry's root (PEM), for verifying this card's tokens.
    #[wasm_bindgen(js_name = trustAnchors)]
    pub fn trust_anchors(&self) -> Vec<String> {
        self.anchors.clone()
    }

    /// The test registry's issuing CAs (PEM).
    pub fn intermediates(&self) -> Vec<String> {
        self.intermediates.clone()
    }

    /// The test registry's CRLs (PEM).
    pub fn crls(&self) -> Vec<String> {
        self.crls.clone()
    }

    /// Reads what needs no PIN (profile, certificates, PIN state).
    pub fn info(&mut self, on_status: Option<Function>) -> Result<JsValue, JsValue> {
        let mut cb = status_callback(&on_status);
        let info = now_or_never(hoviat::card::info(&mut self.t, &mut cb))?.map_err(|e| coded(&e))?;
        to_js(&serde_json::to_value(&info).map_err(|e| error("INTERNAL_ERROR", &e.to_string()))?)
    }

    /// Runs the challenge-response and returns the token object.
    pub fn authenticate(
        &mut self,
        origin: JsValue,
        nonce: JsValue,
        pin: JsValue,
        on_status: Option<Function>,
    ) -> Result<JsValue, JsValue> {
        let origin = Origin::parse(&string(&origin, "origin", 300)?).map_err(|e| coded(&e))?;
        let nonce = string(&nonce, "nonce", 300)?;
        hoviat::token::nonce::check_nonce_shape(&nonce).map_err(|e| coded(&e))?;
        let pin = if pin.is_undefined() || pin.is_null() {
            None
        } else {
            Some(hoviat::card::Pin::new(&string(&pin, "pin", 32)?).map_err(|e| coded(&e))?)
        };
        let mut cb = status_callback(&on_status);
        let a = now_or_never(hoviat::card::authenticate(
            &mut self.t,
            origin.as_str(),
            &nonce,
            pin.as_ref(),
            &mut cb,
        ))?
        .map_err(|e| coded(&e))?;
        let token: serde_json::Value =
            serde_json::from_str(&a.token).map_err(|e| error("INTERNAL_ERROR", &e.to_string()))?;
        to_js(&token)
    }
}

/// A fresh nonce from crypto.getRandomValues (getrandom's wasm_js backend): the core takes its
/// randomness from the caller.
fn os_nonce() -> Result<String, hoviat::token::TokenError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        // A fixed text: getrandom's error Display pulls in std::io's error strings.
        .map_err(|_| {
            hoviat::token::TokenError::NonceStoreUnavailable("no randomness (crypto.getRandomValues failed)".into())
        })?;
    Ok(hoviat::token::nonce_from_bytes(&b))
}
