//! `verifySignature`: CMS (PKCS#7) SignedData verification for the npm package, the same core
//! call (`hoviat::cms::verify`) and the same result object as `hoviat verify-signature`. Like
//! tokens, it runs either with RustCrypto in the module (`verifySignature`, the full build) or
//! in passes whose signature checks the platform discharges (`CmsJob`: WebCrypto,
//! node:crypto). `verifyPdfSignatures` / `PdfJob`: the same for a signed PDF
//! (`hoviat::cms::pdf::verify_pdf`, the object `hoviat verify-signature --pdf` prints).

use std::rc::Rc;
use std::sync::Arc;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::{at_time, blobs, coded, get, invalid, ocsp_config, opt_bool, prepared_trust, to_js};
use hoviat::cms::{CmsOptions, CmsRequest, MAX_CMS_LEN};
use hoviat::pki::alg::SignatureBackend;
use hoviat::pki::platform::PlatformVerification;
use hoviat::pki::{AlgorithmPolicy, Cert, TrustStore};
use hoviat::time::UnixTime;

/// Largest detached content accepted from JS (the CMS message itself has its own limit).
const MAX_CONTENT_LEN: usize = 64 * 1024 * 1024;

/// A parsed verification request: everything owned, so that passes can re-run it.
struct CmsPrepared {
    signature: Vec<u8>,
    content: Option<Vec<u8>>,
    certificates: Vec<Arc<Cert>>,
    trust: Rc<TrustStore>,
    options: CmsOptions,
    at: UnixTime,
}

/// Bytes from a Uint8Array, an ArrayBuffer or a string (its UTF-8 bytes).
fn bytes(v: &JsValue, what: &str, max: usize) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = v.as_string() {
        if s.len() > max {
            return Err(coded(&hoviat::cms::CmsError::TooLarge {
                what: "input (bytes)",
                limit: max,
            }));
        }
        return Ok(s.into_bytes());
    }
    let arr = if let Some(a) = v.dyn_ref::<Uint8Array>() {
        a.clone()
    } else if let Some(b) = v.dyn_ref::<ArrayBuffer>() {
        Uint8Array::new(b)
    } else {
        return Err(invalid(&format!(
            "{what} must be a Uint8Array, an ArrayBuffer or a string"
        )));
    };
    if arr.length() as usize > max {
        return Err(coded(&hoviat::cms::CmsError::TooLarge {
            what: "input (bytes)",
            limit: max,
        }));
    }
    Ok(arr.to_vec())
}

fn prepare(cms: &JsValue, opts: &JsValue) -> Result<CmsPrepared, JsValue> {
    if !opts.is_object() {
        return Err(invalid("options must be an object"));
    }
    // DER bytes, PEM or base64 text (as Dastine returns it): the core tells them apart.
    let signature = bytes(cms, "cms", MAX_CMS_LEN / 3 * 4 + 4096)?;
    let c = get(opts, "content")?;
    // A string content is its UTF-8 bytes (what was shown and signed as text).
    let content = if c.is_undefined() || c.is_null() {
        None
    } else {
        Some(bytes(&c, "content", MAX_CONTENT_LEN)?)
    };
    let mut certificates = Vec::new();
    for b in blobs(opts, "certificates", false)? {
        certificates.push(hoviat::pki::verify_chain::parse_leaf(&b).map_err(|e| coded(&e))?);
    }
    let (trust, options, at) = policy_options(opts)?;
    Ok(CmsPrepared {
        signature,
        content,
        certificates,
        trust,
        options,
        at,
    })
}

/// The trust and policy options shared by `verifySignature` and `verifyPdfSignatures`.
fn policy_options(opts: &JsValue) -> Result<(Rc<TrustStore>, CmsOptions, UnixTime), JsValue> {
    let trust = prepared_trust(opts)?;
    let at = at_time(opts)?;
    let mut options = CmsOptions::new(at).with_policy(AlgorithmPolicy {
        allow_sha1: opt_bool(opts, "allowSha1")?,
        ..AlgorithmPolicy::default()
    });
    options.at_signing_time = opt_bool(opts, "atSigningTime")?;
    options.path.require_revocation = opt_bool(opts, "requireRevocation")?;
    options.path.ocsp = ocsp_config(opts)?;
    let eku = get(opts, "eku")?;
    if !eku.is_undefined() && !eku.is_null() {
        let e = eku.as_string().filter(|s| s.len() <= 100).unwrap_or_default();
        options.path.eku = hoviat::pki::verify_chain::eku_requirement(&e)
            .ok_or_else(|| invalid("eku must be a purpose name or a dotted OID"))?;
    }
    Ok((trust, options, at))
}

/// The same object as `hoviat verify-signature` prints.
fn run(p: &CmsPrepared, backend: &dyn SignatureBackend) -> Result<JsValue, JsValue> {
    let req = CmsRequest {
        signature: &p.signature,
        content: p.content.as_deref(),
        certificates: p.certificates.clone(),
    };
    let verified = hoviat::cms::verify(&req, &p.trust, &p.options, backend).map_err(|e| coded(&e))?;
    result_object(&verified, p.at, &p.options)
}

/// A verification's result as the CLI prints it: the core's object, `verified`,
/// `validationTime`, `sha1Allowed`.
fn result_object(verified: &impl serde::Serialize, at: UnixTime, options: &CmsOptions) -> Result<JsValue, JsValue> {
    let mut out = serde_json::to_value(verified).map_err(|e| super::error("INTERNAL_ERROR", &e.to_string()))?;
    out["verified"] = true.into();
    out["validationTime"] = at.to_string().into();
    out["sha1Allowed"] = options.path.policy.allow_sha1.into();
    to_js(&out)
}

/// Verifies a CMS SignedData with the portable wasm cryptography (RustCrypto). `cms`: DER
/// (Uint8Array) or base64/PEM text; `opts`: `{content?, certificates?, trustAnchors |
/// trustStore, intermediates?, crls?, at?, atSigningTime?, allowSha1?, requireRevocation?,
/// eku?, ocspResponses?}`. Throws a HoviatError with the CLI's stable code.
#[cfg(feature = "rustcrypto")]
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify_signature(cms: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    run(&prepare(&cms, &opts)?, &hoviat::pki::RustCrypto)
}

/// A platform-cryptography CMS verification in progress (see `VerifyJob`): parsed once, each
/// `step` adds the platform's results and runs a pass.
#[wasm_bindgen]
pub struct CmsJob {
    job: super::Job,
}

#[wasm_bindgen]
impl CmsJob {
    /// Parses the message and the options (those of `verifySignature`).
    #[wasm_bindgen(constructor)]
    pub fn new(cms: JsValue, opts: JsValue) -> Result<CmsJob, JsValue> {
        let p = prepare(&cms, &opts)?;
        Ok(CmsJob {
            job: PlatformVerification::new(Box::new(move |b: &dyn SignatureBackend| run(&p, b))),
        })
    }

    /// Adds `[checkId, valid]` results and returns the next step (the shape of `VerifyJob`'s).
    pub fn step(&mut self, known: JsValue) -> Result<JsValue, JsValue> {
        super::step(&mut self.job, &known)
    }
}

/// A parsed PDF verification request.
struct PdfPrepared {
    pdf: Vec<u8>,
    trust: Rc<TrustStore>,
    options: CmsOptions,
    at: UnixTime,
}

fn prepare_pdf(pdf: &JsValue, opts: &JsValue) -> Result<PdfPrepared, JsValue> {
    if !opts.is_object() {
        return Err(invalid("options must be an object"));
    }
    // A PDF is binary: a string would be its UTF-8 re-encoding, never the signed bytes.
    if pdf.is_string() {
        return Err(invalid("pdf must be a Uint8Array or an ArrayBuffer (the file's bytes)"));
    }
    for k in ["content", "certificates"] {
        let v = get(opts, k)?;
        if !v.is_undefined() && !v.is_null() {
            return Err(invalid(&format!(
                "verifyPdfSignatures takes no {k}: the PDF carries the signed bytes and the certificates"
            )));
        }
    }
    let pdf = bytes(pdf, "pdf", hoviat::cms::pdf::MAX_PDF_LEN)?;
    let (trust, options, at) = policy_options(opts)?;
    Ok(PdfPrepared {
        pdf,
        trust,
        options,
        at,
    })
}

/// The same object as `hoviat verify-signature --pdf` prints.
fn run_pdf(p: &PdfPrepared, backend: &dyn SignatureBackend) -> Result<JsValue, JsValue> {
    let verified = hoviat::cms::pdf::verify_pdf(&p.pdf, &p.trust, &p.options, backend).map_err(|e| coded(&e))?;
    result_object(&verified, p.at, &p.options)
}

/// Verifies every signature of a PDF (each `/ByteRange`'s detached CMS, the last covering the
/// whole file) with RustCrypto; `opts` as for `verifySignature` without `content` and
/// `certificates`. Throws a HoviatError with the CLI's stable code.
#[cfg(feature = "rustcrypto")]
#[wasm_bindgen(js_name = verifyPdfSignatures)]
pub fn verify_pdf_signatures(pdf: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    run_pdf(&prepare_pdf(&pdf, &opts)?, &hoviat::pki::RustCrypto)
}

/// A platform-cryptography PDF verification in progress (as `CmsJob`).
#[wasm_bindgen]
pub struct PdfJob {
    job: super::Job,
}

#[wasm_bindgen]
impl PdfJob {
    /// Parses the PDF and the options (those of `verifyPdfSignatures`).
    #[wasm_bindgen(constructor)]
    pub fn new(pdf: JsValue, opts: JsValue) -> Result<PdfJob, JsValue> {
        let p = prepare_pdf(&pdf, &opts)?;
        Ok(PdfJob {
            job: PlatformVerification::new(Box::new(move |b: &dyn SignatureBackend| run_pdf(&p, b))),
        })
    }

    /// Adds `[checkId, valid]` results and returns the next step.
    pub fn step(&mut self, known: JsValue) -> Result<JsValue, JsValue> {
        super::step(&mut self.job, &known)
    }
}
