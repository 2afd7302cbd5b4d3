//! `hoviat verify-signature`: verify a CMS (PKCS#7) SignedData, attached or detached, with the
//! trust and policy options of `verify-chain`; and `hoviat testpki-keys` (test equipment): the
//! test registry's holder keys as PEM for `openssl cms -sign`.

use std::sync::Arc;

use hoviat::cms::{CmsOptions, CmsRequest};
use hoviat::pki::verify_chain::parse_leaf;

use super::{Args, Failure, TRUST_FLAGS, UsageError, at_time, ocsp_config, policy, read_file, trust_store, usage};

/// `verify-signature (--signature FILE [--content FILE] | --pdf FILE) [--cert FILE...] --trust-anchor FILE...
/// [--intermediate FILE...] [--crl FILE...] [--at RFC3339] [--at-signing-time] [--allow-sha1]
/// [--require-revocation] [--eku PURPOSE] [--ocsp-response FILE...]`
pub(super) fn cmd_verify_signature(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let mut flags = vec!["signature", "pdf", "content", "cert", "eku"];
    flags.extend(TRUST_FLAGS);
    let a =
        Args::parse(raw, &flags, &["require-revocation", "allow-sha1", "at-signing-time"]).map_err(Failure::Usage)?;
    let at = at_time(&a).map_err(Failure::Usage)?;
    let trust = trust_store(&a)?;
    let pdf = a.opt("pdf").map_err(Failure::Usage)?;
    let signature = match (a.opt("signature").map_err(Failure::Usage)?, pdf) {
        (Some(f), None) => read_file(f).map_err(Failure::Usage)?,
        (None, Some(f)) => read_file(f).map_err(Failure::Usage)?,
        _ => return Err(Failure::Usage(usage("give --signature FILE or --pdf FILE"))),
    };
    let content = match a.opt("content").map_err(Failure::Usage)? {
        Some(f) => Some(read_file(f).map_err(Failure::Usage)?),
        None => None,
    };
    let mut certificates = Vec::new();
    for f in a.all("cert") {
        certificates.push(parse_leaf(&read_file(f).map_err(Failure::Usage)?)?);
    }
    let mut options = CmsOptions::new(at).with_policy(policy(&a));
    options.at_signing_time = a.has("at-signing-time");
    options.path.require_revocation = a.has("require-revocation");
    options.path.ocsp = ocsp_config(&a)?;
    if let Some(o) = a.opt("eku").map_err(Failure::Usage)? {
        options.path.eku = hoviat::pki::verify_chain::eku_requirement(o)
            .ok_or_else(|| Failure::Usage(usage(format!("--eku {o:?} is not a purpose or OID"))))?;
    }
    if pdf.is_some() {
        if a.opt("content").map_err(Failure::Usage)?.is_some() || !a.all("cert").is_empty() {
            return Err(Failure::Usage(usage("--pdf takes neither --content nor --cert")));
        }
        let verified = hoviat::cms::pdf::verify_pdf(&signature, &trust, &options, hoviat_testkit::backend_from_env())?;
        let mut out = serde_json::to_value(&verified).unwrap_or_default();
        out["verified"] = true.into();
        out["validationTime"] = at.to_string().into();
        out["sha1Allowed"] = options.path.policy.allow_sha1.into();
        return Ok(out);
    }
    let req = CmsRequest {
        signature: &signature,
        content: content.as_deref(),
        certificates: certificates.into_iter().collect::<Vec<Arc<_>>>(),
    };
    let verified = hoviat::cms::verify(&req, &trust, &options, hoviat_testkit::backend_from_env())?;
    let mut out = serde_json::to_value(&verified).unwrap_or_default();
    out["verified"] = true.into();
    out["validationTime"] = at.to_string().into();
    out["sha1Allowed"] = options.path.policy.allow_sha1.into();
    Ok(out)
}

/// `testpki-keys --pki DIR`: writes `holders/NN-label.key.pem` beside each holder certificate
/// of a registry made by `hoviat testpki` (test equipment: these keys are public knowledge).
pub(super) fn cmd_testpki_keys(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &["pki"], &[]).map_err(Failure::Usage)?;
    let dir = a.one("pki").map_err(Failure::Usage)?;
    let reg = super::load_registry(dir)?;
    let mut written = Vec::new();
    for h in &reg.holders {
        let file = format!("holders/{:02}-{}.key.pem", h.index, h.variant.label());
        std::fs::write(format!("{dir}/{file}"), hoviat_testkit::cms::private_key_pem(&h.key)).map_err(|e| {
            Failure::Usage(UsageError {
                code: "IO_ERROR",
                message: format!("{dir}/{file}: {e}"),
            })
        })?;
        written.push(file);
    }
    Ok(serde_json::json!({ "written": written }))
}

/// `bench cms --signature FILE [--content FILE] --trust-anchor FILE... [--at T] [--backend B]
/// [--iterations N] [--warmup N]` (test equipment): times whole CMS verifications (parsing,
/// attributes, signature, path) with the trust store built once outside the loop.
pub(super) fn cmd_bench_cms(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let mut flags = vec!["signature", "content", "backend", "iterations", "warmup"];
    flags.extend(TRUST_FLAGS);
    let a = Args::parse(raw, &flags, &["allow-sha1"]).map_err(Failure::Usage)?;
    let at = at_time(&a).map_err(Failure::Usage)?;
    let trust = trust_store(&a)?;
    let signature = read_file(a.one("signature").map_err(Failure::Usage)?).map_err(Failure::Usage)?;
    let content = match a.opt("content").map_err(Failure::Usage)? {
        Some(f) => Some(read_file(f).map_err(Failure::Usage)?),
        None => None,
    };
    let backend = a.backend().map_err(Failure::Usage)?;
    let iterations = a.usize_or("iterations", 500).map_err(Failure::Usage)?;
    let warmup = a.usize_or("warmup", 20).map_err(Failure::Usage)?;
    let options = CmsOptions::new(at).with_policy(policy(&a));
    let req = CmsRequest {
        signature: &signature,
        content: content.as_deref(),
        certificates: Vec::new(),
    };
    hoviat::cms::verify(&req, &trust, &options, backend)?;
    for _ in 0..warmup {
        hoviat::cms::verify(&req, &trust, &options, backend)?;
    }
    let mut us = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t0 = std::time::Instant::now();
        hoviat::cms::verify(&req, &trust, &options, backend)?;
        us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let mut out = hoviat_testkit::bench::summarize(us);
    out["backend"] = backend.name().into();
    Ok(out)
}
