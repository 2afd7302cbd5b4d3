//! `hoviat verify-signature`: verify a CMS (PKCS#7) SignedData, attached or detached, with the
//! trust and policy options of `verify-chain`; and `hoviat testpki-keys` (test equipment): the
//! test registry's holder keys as PEM for `openssl cms -sign`.

use std::sync::Arc;

use hoviat::cms::{CmsOptions, CmsRequest};
use hoviat::pki::verify_chain::parse_leaf;

use super::{Failure, Revocation, Timing, Trust, UsageError, ocsp_config, read_file, usage};

#[derive(clap::Args)]
pub(super) struct VerifySignature {
    /// The CMS/PKCS#7 SignedData (DER, PEM or base64)
    #[arg(long, value_name = "FILE")]
    signature: Option<String>,
    /// The signed content, for a detached signature
    #[arg(long, value_name = "FILE")]
    content: Option<String>,
    /// A certificate the signature does not carry
    #[arg(long, value_name = "FILE")]
    cert: Vec<String>,
    /// A PDF: verify every /ByteRange signature in it (instead of --signature)
    #[arg(long, value_name = "FILE")]
    pdf: Option<String>,
    /// Validate the signer's certificate at the signing time the signature claims
    #[arg(long)]
    at_signing_time: bool,
    /// The extended key usage required of the signer: a purpose name or an OID
    #[arg(long, value_name = "PURPOSE")]
    eku: Option<String>,
    #[command(flatten)]
    trust: Trust,
    #[command(flatten)]
    revocation: Revocation,
}

/// `verify-signature (--signature FILE [--content FILE] | --pdf FILE) [--cert FILE...] --trust-anchor FILE...
/// [--intermediate FILE...] [--crl FILE...] [--at RFC3339] [--at-signing-time] [--allow-sha1]
/// [--require-revocation] [--eku PURPOSE] [--ocsp-response FILE...]`
pub(super) fn cmd_verify_signature(a: &VerifySignature) -> Result<serde_json::Value, Failure> {
    let at = a.trust.at().map_err(Failure::Usage)?;
    let trust = a.trust.store()?;
    let pdf = a.pdf.as_deref();
    let signature = match (a.signature.as_deref(), pdf) {
        (Some(f), None) => read_file(f).map_err(Failure::Usage)?,
        (None, Some(f)) => read_file(f).map_err(Failure::Usage)?,
        _ => return Err(Failure::Usage(usage("give --signature FILE or --pdf FILE"))),
    };
    let content = read_content(a.content.as_deref())?;
    let mut certificates = Vec::new();
    for f in &a.cert {
        certificates.push(parse_leaf(&read_file(f).map_err(Failure::Usage)?)?);
    }
    let mut options = CmsOptions::new(at).with_policy(a.trust.policy());
    options.at_signing_time = a.at_signing_time;
    options.path.require_revocation = a.revocation.require_revocation;
    options.path.ocsp = ocsp_config(&a.revocation)?;
    if let Some(o) = a.eku.as_deref() {
        options.path.eku = hoviat::pki::verify_chain::eku_requirement(o)
            .ok_or_else(|| Failure::Usage(usage(format!("--eku {o:?} is not a purpose or OID"))))?;
    }
    if pdf.is_some() {
        if a.content.is_some() || !a.cert.is_empty() {
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
pub(super) fn cmd_testpki_keys(dir: &str) -> Result<serde_json::Value, Failure> {
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

/// `--content FILE`, read.
fn read_content(path: Option<&str>) -> Result<Option<Vec<u8>>, Failure> {
    path.map(|f| read_file(f).map_err(Failure::Usage)).transpose()
}

#[derive(clap::Args)]
pub(super) struct BenchCms {
    /// The CMS/PKCS#7 SignedData (DER, PEM or base64)
    #[arg(long, value_name = "FILE")]
    signature: String,
    /// The signed content, for a detached signature
    #[arg(long, value_name = "FILE")]
    content: Option<String>,
    #[command(flatten)]
    trust: Trust,
    #[command(flatten)]
    timing: Timing,
}

/// `bench cms --signature FILE [--content FILE] --trust-anchor FILE... [--at T] [--backend B]
/// [--iterations N] [--warmup N]` (test equipment): times whole CMS verifications (parsing,
/// attributes, signature, path) with the trust store built once outside the loop.
pub(super) fn cmd_bench_cms(a: &BenchCms) -> Result<serde_json::Value, Failure> {
    let at = a.trust.at().map_err(Failure::Usage)?;
    let trust = a.trust.store()?;
    let signature = read_file(&a.signature).map_err(Failure::Usage)?;
    let content = read_content(a.content.as_deref())?;
    let backend = a.timing.backend().map_err(Failure::Usage)?;
    let (iterations, warmup) = (a.timing.iterations.unwrap_or(500), a.timing.warmup);
    let options = CmsOptions::new(at).with_policy(a.trust.policy());
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
