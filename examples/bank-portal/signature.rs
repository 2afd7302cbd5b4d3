//! `POST /api/signature/verify` (issue 19): a CMS (PKCS#7) signature, as portals collect it
//! through Dastine, or a signed PDF, verified by the relying-party kit
//! ([`hoviat_rp::ChallengeService::verify_signature`]) with the server's trust configuration
//! and revocation (each signer's OCSP/CRLs fetched as for a login's holder).
//!
//! Request (JSON): `{"cms": base64, "content"?: base64}` or `{"pdf": base64}`, with
//! `"allowSha1"?: bool` (legacy documents) and `"atSigningTime"?: bool`. Answer: 200 with the
//! object `hoviat verify-signature` prints (`verified: true`, signers, chains, revocation,
//! `legacySha1`, ...); a signature that does not verify: 422 with `{"error":{code, message}}`
//! and the core's stable code (CMS_*, PDF_*, CERT_*, ALGORITHM_*, OCSP_*, CRL_*, ...).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use hoviat::Coded;
use hoviat_rp::SignatureOptions;
use serde_json::Value;

use super::{AppState, error, is_json, json_response};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Request {
    #[serde(default)]
    cms: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    pdf: Option<String>,
    #[serde(default)]
    allow_sha1: bool,
    #[serde(default)]
    at_signing_time: bool,
}

fn bad(m: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BAD_REQUEST", m)
}

fn refused(e: &hoviat::cms::CmsError) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, e.code(), &e.to_string())
}

/// `POST /api/signature/verify`.
pub(super) async fn verify(State(s): State<Arc<AppState>>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    if !is_json(&h) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST with Content-Type: application/json",
        );
    }
    let Ok(req) = serde_json::from_slice::<Request>(&body) else {
        return bad("the body must be {cms, content?} or {pdf}, with allowSha1? and atSigningTime?");
    };
    let b64 = |v: &str, what: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(v.trim())
            .map_err(|_| bad(&format!("{what} must be base64")))
    };
    // The CMS itself may be base64 text (as Dastine returns it): the core reads it as given.
    let input = match (&req.cms, &req.pdf, &req.content) {
        (Some(c), None, content) => {
            let content = match content {
                Some(t) => match b64(t, "content") {
                    Ok(b) => Some(b),
                    Err(r) => return r,
                },
                None => None,
            };
            (c.clone().into_bytes(), content, false)
        }
        (None, Some(p), None) => match b64(p, "pdf") {
            Ok(b) => (b, None, true),
            Err(r) => return r,
        },
        _ => return bad("give either cms (and content for a detached signature) or pdf"),
    };
    let opts = SignatureOptions {
        allow_sha1: req.allow_sha1,
        at_signing_time: req.at_signing_time,
        ..SignatureOptions::default()
    };
    let s2 = Arc::clone(&s);
    let r = tokio::task::spawn_blocking(move || {
        s2.refresh_demo_trust();
        let (bytes, content, pdf) = input;
        let v = if pdf {
            s2.svc
                .verify_pdf_signatures(&bytes, &opts)
                .map(|v| serde_json::to_value(&v).unwrap_or(Value::Null))
        } else {
            s2.svc
                .verify_signature(&bytes, content.as_deref(), &opts)
                .map(|v| serde_json::to_value(&v).unwrap_or(Value::Null))
        };
        v.map(|mut v| {
            v["verified"] = true.into();
            v["sha1Allowed"] = opts.allow_sha1.into();
            v
        })
    })
    .await;
    match r {
        Ok(Ok(v)) => {
            hoviat_rp::event!(
                s.svc.logger(),
                "signature_verified",
                signers = v["signers"].as_array().map(Vec::len),
                legacy_sha1 = v["legacySha1"].as_bool()
            );
            json_response(StatusCode::OK, v)
        }
        Ok(Err(e)) => {
            hoviat_rp::event!(s.svc.logger(), "signature_refused", code = e.code());
            refused(&e)
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "verification task failed",
        ),
    }
}
