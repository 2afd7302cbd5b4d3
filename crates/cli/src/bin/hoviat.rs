//! `hoviat`: the command line for operators and auditors. JSON on stdout; exit 0 = verified,
//! 1 = rejected (`{"error":{"code","message"}}`), 2 = usage or I/O error.

#[path = "hoviat/reader.rs"]
mod reader;
#[path = "hoviat/record.rs"]
mod record;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use hoviat::error::{Coded, error_json};
use hoviat::identity::{CertificateSummary, Holder, NationalCode};
use hoviat::pki::alg::HashAlg;
use hoviat::pki::ocsp::{self, CertId, OcspConfig, OcspOptions, OcspResponse};
use hoviat::pki::path::eku_name;
use hoviat::pki::verify_chain::parse_leaf;
use hoviat::pki::{
    AlgorithmPolicy, ChainRequest, EkuRequirement, KeyUsageRequirement, PathOptions, TrustStore, verify_chain,
};
use hoviat::time::UnixTime;
use hoviat::token::{Origin, Verifier};

#[path = "hoviat/cms.rs"]
mod cms;

const USAGE: &str = "\
hoviat — verify Iranian national ID card certificates and web-eid tokens

USAGE:
  hoviat verify-token --token FILE --origin ORIGIN --nonce NONCE --trust-anchor FILE...
                      [--intermediate FILE...] [--crl FILE...] [--at RFC3339]
                      [--require-revocation] [--allow-sha1]
                      [--ocsp-response FILE... [--ocsp-nonce HEX] [--ocsp-skew SECS]]
  hoviat verify-chain --leaf FILE --trust-anchor FILE... [--intermediate FILE...] [--crl FILE...]
                      [--at RFC3339] [--eku clientAuth|serverAuth|any|OID]
                      [--key-usage digitalSignature|any] [--require-revocation] [--allow-sha1]
                      [--ocsp-response FILE... [--ocsp-nonce HEX] [--ocsp-skew SECS]]
  hoviat verify-signature (--signature FILE [--content FILE] [--cert FILE...] | --pdf FILE) --trust-anchor FILE...
                      [--intermediate FILE...] [--crl FILE...] [--at RFC3339] [--at-signing-time]
                      [--eku PURPOSE] [--require-revocation] [--allow-sha1]
                      [--ocsp-response FILE... [--ocsp-nonce HEX] [--ocsp-skew SECS]]
                      (CMS/PKCS#7 SignedData as DER, PEM or base64; --content for detached;
                      --pdf: every /ByteRange signature of a PDF)
  hoviat ocsp request --cert FILE --issuer FILE [--sha256] [--nonce HEX|--no-nonce] [--out FILE]
  hoviat ocsp fetch   --cert FILE --issuer FILE [--url URL] [--sha256] [--nonce HEX|--no-nonce]
                      [--timeout SECS] [--out FILE] [--at RFC3339] [--ocsp-skew SECS] [--allow-sha1]
  hoviat national-code CODE
  hoviat testpki --out DIR [--seed SEED] [--at RFC3339] [--layout estonian|iran]   (test equipment)
  hoviat testpki-keys --pki DIR                               (test equipment: holder keys as PEM)
  hoviat make-token --pki DIR --holder N --origin ORIGIN --nonce NONCE [--alg ALG]   (test equipment)
  hoviat card list
  hoviat card info [--reader NAME] [--national-code N] [--face-match yes|no] [--registry-anchor CERT --intermediate CERT --crl CRL --at RFC3339]
  hoviat card auth --origin ORIGIN --nonce NONCE [--reader NAME] [--pin-stdin]
  hoviat card verify-pin --pin-kind piv|id|sign [--reader NAME] --pin-stdin
  hoviat sim card --profile piv|ir-nid|garbage|unknown [--pki DIR] [--holder N] [--port 35963]
                  [--remove-after N]                              (test equipment)
  hoviat sim reader --kind gempc-twin|pn532 --pty PATH [--profile ir-nid|piv|unknown] [--pki DIR]
                  [--holder N] [--remove-after N] [--time-extensions N] [--wtx N] [--log]
                                                                  (test equipment)
  hoviat demo
  hoviat record make --institution FILE --purpose ID --terminal ID --operator ID
                     --terminal-key PKCS8 --terminal-cert FILE...
                     (--facts FILE [--token FILE] | --card [--reader NAME] [--pin-stdin] [--card-sign])
                     --registry-anchor FILE... [--intermediate FILE...] [--crl FILE...]
                     [--national-code CODE] [--face-match yes|no] [--decoys N] [--at RFC3339]
                     [--card-key PKCS8 (test equipment: a software card signs the record)] [--out FILE]
  hoviat record verify FILE --institution-ca FILE... [--institution FILE] [--at RFC3339]
  hoviat record disclose FILE --attributes a,b,... [--out FILE]
  hoviat record testkit --out DIR [--seed SEED] [--at RFC3339]     (test equipment)
  hoviat archive ...      the records' archive: keygen, init, append, checkpoint, verify, prove,
                          check-proof, search, purge, print (hoviat archive --help)

Certificates and CRLs may be PEM or DER. FILE options may repeat.
Exit status: 0 verified, 1 rejected (JSON error with a stable code), 2 usage or I/O error.";

/// A usage or I/O problem (exit 2).
#[derive(Debug)]
struct UsageError {
    code: &'static str,
    message: String,
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for UsageError {}
impl Coded for UsageError {
    fn code(&self) -> &'static str {
        self.code
    }
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError {
        code: "USAGE",
        message: msg.into(),
    }
}

enum Failure {
    Usage(UsageError),
    Rejected(Box<dyn Coded>),
}

impl<E: Coded + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Rejected(Box::new(e))
    }
}

struct Args {
    flags: HashMap<String, Vec<String>>,
    switches: Vec<String>,
    positional: Vec<String>,
}

impl Args {
    fn parse(raw: &[String], with_value: &[&str], switches: &[&str]) -> Result<Self, UsageError> {
        let mut a = Args {
            flags: HashMap::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut it = raw.iter();
        while let Some(x) = it.next() {
            if let Some(name) = x.strip_prefix("--") {
                if with_value.contains(&name) {
                    let v = it.next().ok_or_else(|| usage(format!("--{name} needs a value")))?;
                    a.flags.entry(name.to_string()).or_default().push(v.clone());
                } else if switches.contains(&name) {
                    a.switches.push(name.to_string());
                } else {
                    return Err(usage(format!("unknown option --{name}")));
                }
            } else {
                a.positional.push(x.clone());
            }
        }
        Ok(a)
    }
    fn all(&self, k: &str) -> &[String] {
        self.flags.get(k).map(Vec::as_slice).unwrap_or(&[])
    }
    fn one(&self, k: &str) -> Result<&str, UsageError> {
        match self.all(k) {
            [v] => Ok(v),
            [] => Err(usage(format!("--{k} is required"))),
            _ => Err(usage(format!("--{k} may be given once"))),
        }
    }
    fn opt(&self, k: &str) -> Result<Option<&str>, UsageError> {
        match self.all(k) {
            [] => Ok(None),
            [v] => Ok(Some(v)),
            _ => Err(usage(format!("--{k} may be given once"))),
        }
    }
    fn has(&self, k: &str) -> bool {
        self.switches.iter().any(|s| s == k)
    }
    /// `--k N`, or `default` when absent.
    fn usize_or(&self, k: &str, default: usize) -> Result<usize, UsageError> {
        self.opt(k)?
            .map_or(Ok(default), |v| v.parse().map_err(|_| usage(format!("--{k} {v:?}"))))
    }
    /// `--backend NAME` (a signature backend of this build), else the build's default.
    fn backend(&self) -> Result<&'static dyn hoviat::pki::SignatureBackend, UsageError> {
        match self.opt("backend")? {
            None => Ok(hoviat::pki::alg::default_backend()),
            Some(n) => {
                hoviat::pki::alg::backend_by_name(n).ok_or_else(|| usage(format!("--backend {n}: not in this build")))
            }
        }
    }
}

/// Largest input file read (CRLs of national size are large).
const MAX_FILE: u64 = 300 * 1024 * 1024;

fn read_file(path: &str) -> Result<Vec<u8>, UsageError> {
    let io = |e: std::io::Error| UsageError {
        code: "IO_ERROR",
        message: format!("{path}: {e}"),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_FILE {
        return Err(UsageError {
            code: "IO_ERROR",
            message: format!("{path}: larger than {MAX_FILE} bytes"),
        });
    }
    std::fs::read(path).map_err(io)
}

fn at_time(a: &Args) -> Result<UnixTime, UsageError> {
    match a.opt("at")? {
        None => Ok(UnixTime::now()),
        Some(s) => UnixTime::parse_rfc3339(s).ok_or_else(|| usage(format!("--at {s:?} is not an RFC 3339 time"))),
    }
}

fn trust_store(a: &Args) -> Result<TrustStore, Failure> {
    let mut t = TrustStore::new();
    if a.all("trust-anchor").is_empty() {
        return Err(Failure::Usage(usage("at least one --trust-anchor is required")));
    }
    for f in a.all("trust-anchor") {
        t.add_anchors(&read_file(f).map_err(Failure::Usage)?)?;
    }
    for f in a.all("intermediate") {
        t.add_intermediates(&read_file(f).map_err(Failure::Usage)?)?;
    }
    for f in a.all("crl") {
        t.add_crls(&read_file(f).map_err(Failure::Usage)?)?;
    }
    Ok(t)
}

fn policy(a: &Args) -> AlgorithmPolicy {
    AlgorithmPolicy {
        allow_sha1: a.has("allow-sha1"),
        ..AlgorithmPolicy::default()
    }
}

const TRUST_FLAGS: [&str; 7] = [
    "trust-anchor",
    "intermediate",
    "crl",
    "at",
    "ocsp-response",
    "ocsp-nonce",
    "ocsp-skew",
];

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn ocsp_options(a: &Args) -> Result<OcspOptions, UsageError> {
    let mut o = OcspOptions::default();
    if let Some(s) = a.opt("ocsp-skew")? {
        o.skew_secs = s
            .parse()
            .ok()
            .filter(|v: &i64| (0..=86400).contains(v))
            .ok_or_else(|| usage("--ocsp-skew takes seconds (0 to 86400)"))?;
    }
    Ok(o)
}

/// `--ocsp-response FILE...` (DER), `--ocsp-nonce HEX` (the nonce sent), `--ocsp-skew SECS`.
fn ocsp_config(a: &Args) -> Result<Option<OcspConfig>, Failure> {
    let files = a.all("ocsp-response");
    let nonce = match a.opt("ocsp-nonce").map_err(Failure::Usage)? {
        None => None,
        Some(h) => Some(parse_hex(h).ok_or_else(|| Failure::Usage(usage("--ocsp-nonce takes hex")))?),
    };
    if files.is_empty() {
        if nonce.is_some() {
            return Err(Failure::Usage(usage("--ocsp-nonce needs --ocsp-response")));
        }
        return Ok(None);
    }
    let mut responses = Vec::new();
    for f in files {
        responses.push(Arc::new(OcspResponse::from_der(
            &read_file(f).map_err(Failure::Usage)?,
        )?));
    }
    Ok(Some(OcspConfig {
        responses,
        nonce,
        options: ocsp_options(a).map_err(Failure::Usage)?,
    }))
}

fn cmd_verify_token(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let mut flags = vec!["token", "origin", "nonce"];
    flags.extend(TRUST_FLAGS);
    let a = Args::parse(raw, &flags, &["require-revocation", "allow-sha1"]).map_err(Failure::Usage)?;
    let token_path = a.one("token").map_err(Failure::Usage)?;
    let origin = Origin::parse(a.one("origin").map_err(Failure::Usage)?)?;
    let nonce = a.one("nonce").map_err(Failure::Usage)?;
    let at = at_time(&a).map_err(Failure::Usage)?;
    let trust = trust_store(&a)?;
    let token = read_file(token_path).map_err(Failure::Usage)?;
    let token = String::from_utf8_lossy(&token);
    let mut options = PathOptions::client_auth(at);
    options.policy = policy(&a);
    options.require_revocation = a.has("require-revocation");
    options.ocsp = ocsp_config(&a)?;
    let v = Verifier {
        trust: &trust,
        options,
        backend: hoviat_testkit::backend_from_env(),
    };
    let verified = v.verify(token.trim(), &origin, nonce)?;
    let mut out = serde_json::to_value(&verified).unwrap_or_default();
    out["verified"] = true.into();
    out["validationTime"] = at.to_string().into();
    Ok(out)
}

fn cmd_verify_chain(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let mut flags = vec!["leaf", "eku", "key-usage"];
    flags.extend(TRUST_FLAGS);
    let a = Args::parse(raw, &flags, &["require-revocation", "allow-sha1"]).map_err(Failure::Usage)?;
    let at = at_time(&a).map_err(Failure::Usage)?;
    let eku_req = match a.opt("eku").map_err(Failure::Usage)? {
        None => EkuRequirement::Any,
        Some(o) => hoviat::pki::verify_chain::eku_requirement(o)
            .ok_or_else(|| Failure::Usage(usage(format!("--eku {o:?} is not a purpose or OID"))))?,
    };
    let key_usage = match a.opt("key-usage").map_err(Failure::Usage)? {
        None | Some("any") => KeyUsageRequirement::Any,
        Some("digitalSignature") => KeyUsageRequirement::DigitalSignature,
        Some(o) => {
            return Err(Failure::Usage(usage(format!(
                "--key-usage {o:?}: digitalSignature or any"
            ))));
        }
    };
    if a.all("trust-anchor").is_empty() {
        return Err(Failure::Usage(usage("at least one --trust-anchor is required")));
    }
    let read_all = |k: &str| -> Result<Vec<Vec<u8>>, Failure> {
        a.all(k).iter().map(|f| read_file(f).map_err(Failure::Usage)).collect()
    };
    let (anchors, intermediates, crls) = (read_all("trust-anchor")?, read_all("intermediate")?, read_all("crl")?);
    let leaf_bytes = read_file(a.one("leaf").map_err(Failure::Usage)?).map_err(Failure::Usage)?;
    let mut options = PathOptions::verify_chain(at, eku_req.clone());
    options.key_usage = key_usage;
    options.policy = policy(&a);
    options.require_revocation = a.has("require-revocation");
    options.ocsp = ocsp_config(&a)?;
    let req = ChainRequest {
        anchors: anchors.iter().map(Vec::as_slice).collect(),
        intermediates: intermediates.iter().map(Vec::as_slice).collect(),
        crls: crls.iter().map(Vec::as_slice).collect(),
        leaf: &leaf_bytes,
        options,
    };
    let path = verify_chain(&req, hoviat_testkit::backend_from_env())?;
    let leaf = &path.chain[0];
    Ok(serde_json::json!({
        "verified": true,
        "holder": Holder::from_cert(leaf),
        "certificate": CertificateSummary::from_cert(leaf),
        "chain": path.chain.iter().map(|c| c.subject.to_string()).collect::<Vec<_>>(),
        "revocation": &path.revocation,
        "eku": match &eku_req { EkuRequirement::Any => "any".to_string(), EkuRequirement::Purpose(p) | EkuRequirement::Required(p) => eku_name(p) },
        "validationTime": at.to_string(),
    }))
}

/// `hoviat ocsp request|fetch`: build an OCSP request; or send it, verify the answer, and report
/// the certificate's status.
fn cmd_ocsp(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let Some((sub, rest)) = raw.split_first() else {
        return Err(Failure::Usage(usage("ocsp takes request or fetch")));
    };
    let a = Args::parse(
        rest,
        &["cert", "issuer", "nonce", "out", "url", "timeout", "at", "ocsp-skew"],
        &["sha256", "no-nonce", "allow-sha1"],
    )
    .map_err(Failure::Usage)?;
    let load = |k: &str| -> Result<Arc<hoviat::pki::Cert>, Failure> {
        Ok(parse_leaf(
            &read_file(a.one(k).map_err(Failure::Usage)?).map_err(Failure::Usage)?,
        )?)
    };
    let cert = load("cert")?;
    let issuer = load("issuer")?;
    let hash = if a.has("sha256") {
        HashAlg::Sha256
    } else {
        HashAlg::Sha1
    };
    let nonce = match (a.opt("nonce").map_err(Failure::Usage)?, a.has("no-nonce")) {
        (Some(_), true) => return Err(Failure::Usage(usage("--nonce and --no-nonce exclude each other"))),
        (Some(h), false) => Some(parse_hex(h).ok_or_else(|| Failure::Usage(usage("--nonce takes hex")))?),
        (None, true) => None,
        (None, false) => {
            let mut n = vec![0u8; 16];
            getrandom::fill(&mut n).map_err(|e| Failure::Usage(usage(format!("no randomness: {e}"))))?;
            Some(n)
        }
    };
    let id = CertId::new(&cert, &issuer, hash)?;
    let request = ocsp::build_request(&[id], nonce.as_deref())?;
    let hexs = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let write = |path: &str, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| {
            Failure::Usage(UsageError {
                code: "IO_ERROR",
                message: format!("{path}: {e}"),
            })
        })
    };
    match sub.as_str() {
        "request" => {
            if let Some(out) = a.opt("out").map_err(Failure::Usage)? {
                write(out, &request)?;
            }
            Ok(serde_json::json!({
                "request": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &request),
                "nonce": nonce.as_deref().map(hexs),
                "hash": hash.name(),
            }))
        }
        "fetch" => {
            let url = match a.opt("url").map_err(Failure::Usage)? {
                Some(u) => u.to_string(),
                None => cert
                    .ocsp_urls
                    .first()
                    .cloned()
                    .ok_or_else(|| Failure::Usage(usage("the certificate names no OCSP responder; give --url")))?,
            };
            let secs: u64 = match a.opt("timeout").map_err(Failure::Usage)? {
                None => 10,
                Some(s) => s
                    .parse()
                    .ok()
                    .filter(|v| (1..=300).contains(v))
                    .ok_or_else(|| Failure::Usage(usage("--timeout takes 1 to 300 seconds")))?,
            };
            let body = hoviat_cli::ocsp_fetch::fetch(&url, &request, std::time::Duration::from_secs(secs))?;
            if let Some(out) = a.opt("out").map_err(Failure::Usage)? {
                write(out, &body)?;
            }
            let resp = OcspResponse::from_der(&body)?;
            let options = ocsp_options(&a).map_err(Failure::Usage)?;
            let at = at_time(&a).map_err(Failure::Usage)?;
            let pol = policy(&a);
            let verdict = ocsp::verify(
                &resp,
                &ocsp::OcspCheck {
                    cert: &cert,
                    issuer: &issuer,
                    nonce: nonce.as_deref(),
                    at,
                    options: &options,
                    policy: &pol,
                    backend: hoviat_testkit::backend_from_env(),
                },
            )?;
            let status = match verdict.status {
                ocsp::CertStatus::Good => "good",
                ocsp::CertStatus::Revoked { time, .. } => {
                    return Err(Failure::from(hoviat::pki::PkiError::Revoked {
                        subject: cert.subject.to_string(),
                        serial: cert.serial_hex(),
                        date: time.to_string(),
                    }));
                }
                ocsp::CertStatus::Unknown => {
                    return Err(Failure::from(hoviat::pki::PkiError::OcspCertUnknown {
                        subject: cert.subject.to_string(),
                    }));
                }
            };
            Ok(serde_json::json!({
                "status": status,
                "url": url,
                "thisUpdate": verdict.this_update.to_string(),
                "nextUpdate": verdict.next_update.map(|n| n.to_string()),
                "nonce": nonce.as_deref().map(hexs),
                "validationTime": at.to_string(),
            }))
        }
        other => Err(Failure::Usage(usage(format!("ocsp {other:?}: request or fetch")))),
    }
}

fn cmd_national_code(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &[], &[]).map_err(Failure::Usage)?;
    let [code] = a.positional.as_slice() else {
        return Err(Failure::Usage(usage("national-code takes exactly one CODE")));
    };
    let n = NationalCode::parse(code)?;
    Ok(serde_json::json!({ "valid": true, "nationalCode": n.as_str() }))
}

fn cmd_testpki(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &["out", "seed", "at", "layout"], &[]).map_err(Failure::Usage)?;
    let out = a.one("out").map_err(Failure::Usage)?;
    let seed = a.opt("seed").map_err(Failure::Usage)?.unwrap_or("hoviat");
    let at = if a.opt("at").map_err(Failure::Usage)?.is_some() {
        at_time(&a).map_err(Failure::Usage)?
    } else {
        today()
    };
    match a.opt("layout").map_err(Failure::Usage)? {
        None | Some("estonian") => {}
        Some("iran") => {
            let reg = hoviat_testkit::iran::IranRegistry::generate(seed, at);
            reg.write_to(std::path::Path::new(out)).map_err(|e| {
                Failure::Usage(UsageError {
                    code: "IO_ERROR",
                    message: format!("{out}: {e}"),
                })
            })?;
            return Ok(serde_json::json!({
                "written": out, "layout": "iran", "seed": seed, "now": at.to_string(), "holders": reg.holders.len()
            }));
        }
        Some(o) => return Err(Failure::Usage(usage(format!("--layout {o:?}: estonian or iran")))),
    }
    let reg = hoviat_testkit::Registry::generate(seed, at);
    reg.write_to(std::path::Path::new(out)).map_err(|e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("{out}: {e}"),
        })
    })?;
    Ok(serde_json::json!({ "written": out, "seed": seed, "now": at.to_string(), "holders": reg.holders.len() }))
}

/// The Iranian-layout registry in `dir`, when its manifest says `"layout": "iran"`.
fn load_iran_registry(dir: &str) -> Result<Option<hoviat_testkit::iran::IranRegistry>, Failure> {
    let reg = hoviat_testkit::iran::IranRegistry::load(std::path::Path::new(dir)).map_err(|e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("{dir}: {e}"),
        })
    })?;
    let Some(reg) = reg else {
        return Ok(None);
    };
    let root = read_file(&format!("{dir}/root.pem")).map_err(Failure::Usage)?;
    if root != hoviat_testkit::Registry::pem("CERTIFICATE", &reg.root.cert).as_bytes() {
        return Err(Failure::Usage(usage(format!(
            "{dir} was not made by this version's testpki"
        ))));
    }
    Ok(Some(reg))
}

fn load_registry(dir: &str) -> Result<hoviat_testkit::Registry, Failure> {
    let m = read_file(&format!("{dir}/manifest.json")).map_err(Failure::Usage)?;
    let m: serde_json::Value =
        serde_json::from_slice(&m).map_err(|e| Failure::Usage(usage(format!("manifest.json: {e}"))))?;
    let seed = m["seed"]
        .as_str()
        .ok_or_else(|| Failure::Usage(usage("manifest.json: no seed")))?;
    let now = m["now"]
        .as_str()
        .and_then(UnixTime::parse_rfc3339)
        .ok_or_else(|| Failure::Usage(usage("manifest.json: no time")))?;
    let reg = hoviat_testkit::Registry::generate(seed, now);
    let root = read_file(&format!("{dir}/root.pem")).map_err(Failure::Usage)?;
    if root != hoviat_testkit::Registry::pem("CERTIFICATE", &reg.root.cert).as_bytes() {
        return Err(Failure::Usage(usage(format!(
            "{dir} was not made by this version's testpki"
        ))));
    }
    Ok(reg)
}

fn cmd_make_token(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &["pki", "holder", "origin", "nonce", "alg"], &[]).map_err(Failure::Usage)?;
    let reg = load_registry(a.one("pki").map_err(Failure::Usage)?)?;
    let idx: usize = a
        .one("holder")
        .map_err(Failure::Usage)?
        .parse()
        .map_err(|_| Failure::Usage(usage("--holder N")))?;
    let h = reg
        .holders
        .get(idx)
        .ok_or_else(|| Failure::Usage(usage(format!("no holder {idx}"))))?;
    let alg = match a.opt("alg").map_err(Failure::Usage)? {
        None => h.token_alg(),
        Some(s) => hoviat::token::TokenAlg::parse(s).ok_or_else(|| Failure::Usage(usage(format!("--alg {s}"))))?,
    };
    let token = h.make_token(
        alg,
        a.one("origin").map_err(Failure::Usage)?,
        a.one("nonce").map_err(Failure::Usage)?,
    );
    serde_json::from_str(&token).map_err(|e| Failure::Usage(usage(e.to_string())))
}

fn read_pin_stdin() -> Result<hoviat::card::Pin, Failure> {
    use std::io::Read;
    let mut buf = zeroize::Zeroizing::new(vec![0u8; 64]);
    let mut n = 0;
    // Read past the standard library's 8 KiB stdin buffer, which would keep a copy of the PIN.
    #[cfg(unix)]
    let mut stdin: Box<dyn Read> = {
        use std::os::fd::AsFd;
        match std::io::stdin().as_fd().try_clone_to_owned() {
            Ok(fd) => Box::new(std::fs::File::from(fd)),
            Err(_) => Box::new(std::io::stdin()),
        }
    };
    #[cfg(not(unix))]
    let mut stdin = std::io::stdin().lock();
    while n < buf.len() {
        match stdin.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(Failure::Usage(UsageError {
                    code: "IO_ERROR",
                    message: format!("stdin: {e}"),
                }));
            }
        }
        if buf[..n].contains(&b'\n') {
            break;
        }
    }
    let line = buf[..n].split(|&b| b == b'\n').next().unwrap_or(&[]);
    Ok(hoviat::card::Pin::from_bytes(line)?)
}

fn connect(a: &Args) -> Result<hoviat_pcsc::PcscTransport, Failure> {
    Ok(hoviat_pcsc::PcscTransport::connect(
        a.opt("reader").map_err(Failure::Usage)?,
    )?)
}

fn status_to_stderr(s: hoviat::card::Status) {
    eprintln!(
        "card: {}",
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
}

fn cmd_card(raw: &[String]) -> Result<serde_json::Value, Failure> {
    use hoviat::card;
    let (sub, rest) = raw
        .split_first()
        .ok_or_else(|| Failure::Usage(usage("card list|info|auth|verify-pin")))?;
    match sub.as_str() {
        "list" => {
            Args::parse(rest, &[], &[]).map_err(Failure::Usage)?;
            Ok(serde_json::json!({ "readers": hoviat_pcsc::list_readers()? }))
        }
        "info" => {
            let a = Args::parse(
                rest,
                &[
                    "reader",
                    "national-code",
                    "face-match",
                    "registry-anchor",
                    "intermediate",
                    "crl",
                    "at",
                ],
                &[],
            )
            .map_err(Failure::Usage)?;
            let mut t = connect(&a)?;
            let info = card::block_on(card::info(&mut t, &mut status_to_stderr))?;
            let identity = card_identity(&a, &info)?;
            let mut v = serde_json::to_value(&info).unwrap_or_default();
            v["reader"] = t.reader.clone().into();
            v["identity"] = identity;
            Ok(v)
        }
        "auth" => {
            let a = Args::parse(rest, &["reader", "origin", "nonce"], &["pin-stdin"]).map_err(Failure::Usage)?;
            let origin = Origin::parse(a.one("origin").map_err(Failure::Usage)?)?;
            let nonce = a.one("nonce").map_err(Failure::Usage)?;
            hoviat::token::nonce::check_nonce_shape(nonce)?;
            let pin = if a.has("pin-stdin") {
                Some(read_pin_stdin()?)
            } else {
                None
            };
            let mut t = connect(&a)?;
            let r = card::block_on(card::authenticate(
                &mut t,
                origin.as_str(),
                nonce,
                pin.as_ref(),
                &mut status_to_stderr,
            ))?;
            eprintln!(
                "card: {} APDUs, {} bytes out, {} bytes in",
                r.traffic.apdus, r.traffic.bytes_out, r.traffic.bytes_in
            );
            serde_json::from_str(&r.token).map_err(|e| Failure::Usage(usage(e.to_string())))
        }
        "verify-pin" => {
            let a = Args::parse(rest, &["reader", "pin-kind"], &["pin-stdin"]).map_err(Failure::Usage)?;
            if !a.has("pin-stdin") {
                return Err(Failure::Usage(usage(
                    "verify-pin reads the PIN from stdin: --pin-stdin",
                )));
            }
            let kind = a.one("pin-kind").map_err(Failure::Usage)?.to_string();
            let pin = read_pin_stdin()?;
            let mut t = connect(&a)?;
            let mut ch = card::Channel::new(&mut t);
            let profile = card::block_on(card::detect(&mut ch))?;
            let r = match (profile, kind.as_str()) {
                (card::Profile::Piv, "piv") => card::block_on(async {
                    card::piv::select(&mut ch).await?;
                    card::piv::verify_pin(&mut ch, &pin).await
                }),
                (card::Profile::IrNid, "id") => {
                    card::block_on(card::ir_nid::verify_pin(&mut ch, card::ir_nid::PinKind::Id, &pin))
                }
                (card::Profile::IrNid, "sign") => {
                    card::block_on(card::ir_nid::verify_pin(&mut ch, card::ir_nid::PinKind::Sign, &pin))
                }
                _ => {
                    return Err(Failure::Usage(usage(format!(
                        "--pin-kind {kind} does not exist on a {profile:?} card"
                    ))));
                }
            };
            r?;
            Ok(serde_json::json!({ "pinVerified": true, "pinKind": kind }))
        }
        other => Err(Failure::Usage(usage(format!("unknown card command {other:?}")))),
    }
}

/// The holder's identity from a card's free data, each attribute with its provenance
/// (`hoviat::record::holder_identity`); the operator's national code (check digit validated)
/// and face confirmation when given; the certificate chain validated against
/// `--registry-anchor` (with `--intermediate`, and `--crl` for revocation) when given, else
/// reported `not-checked`.
fn card_identity(a: &Args, info: &hoviat::card::CardInfo) -> Result<serde_json::Value, Failure> {
    use hoviat::record::{self, CardFacts, OperatorInput, PinOutcome};
    if info.certificates.is_empty() {
        return Err(hoviat::card::CardError::CertificateMissing.into());
    }
    let facts = CardFacts::from_card_info(info, PinOutcome::NotTried)?;
    let op = OperatorInput {
        national_code: a.opt("national-code").map_err(Failure::Usage)?.map(str::to_string),
        face_match: match a.opt("face-match").map_err(Failure::Usage)? {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(o) => return Err(Failure::Usage(usage(format!("--face-match {o:?}: yes or no")))),
        },
    };
    let attributes = record::holder_identity(&facts.holder_certificate, &facts, &op)?;
    let chain = if a.all("registry-anchor").is_empty() {
        "not-checked"
    } else {
        let mut trust = TrustStore::new();
        for f in a.all("registry-anchor") {
            trust.add_anchors(&read_file(f).map_err(Failure::Usage)?)?;
        }
        for f in a.all("intermediate") {
            trust.add_intermediates(&read_file(f).map_err(Failure::Usage)?)?;
        }
        for f in a.all("crl") {
            trust.add_crls(&read_file(f).map_err(Failure::Usage)?)?;
        }
        let at = if a.opt("at").map_err(Failure::Usage)?.is_some() {
            at_time(a).map_err(Failure::Usage)?
        } else {
            UnixTime::now()
        };
        let leaf = std::sync::Arc::new(hoviat::pki::Cert::from_der(&facts.holder_certificate)?);
        trust.validate_with(
            &leaf,
            &[],
            &record::holder_path_options(at),
            hoviat_testkit::backend_from_env(),
        )?;
        "valid"
    };
    Ok(serde_json::json!({
        "certificate": info.certificates.iter().find(|c| c.slot == "ir-nid-sign").or(info.certificates.first()).map(|c| c.slot),
        "chain": chain,
        "attributes": attributes,
    }))
}

fn cmd_sim(raw: &[String]) -> Result<serde_json::Value, Failure> {
    use hoviat_testkit::virtual_card::{self as vc, VirtualCard};
    let (sub, rest) = raw.split_first().ok_or_else(|| Failure::Usage(usage("sim card ...")))?;
    if sub == "reader" {
        return reader::run(rest);
    }
    if sub != "card" {
        return Err(Failure::Usage(usage("sim card ...")));
    }
    let a = Args::parse(rest, &["profile", "pki", "holder", "port", "remove-after"], &[]).map_err(Failure::Usage)?;
    let holder = a.usize_or("holder", 1).map_err(Failure::Usage)?;
    let port = a.usize_or("port", 35963).map_err(Failure::Usage)?;
    let remove_after = a
        .opt("remove-after")
        .map_err(Failure::Usage)?
        .map(|v| v.parse::<usize>())
        .transpose()
        .map_err(|_| Failure::Usage(usage("--remove-after N")))?;
    let profile = a.one("profile").map_err(Failure::Usage)?;
    let registry = || -> Result<hoviat_testkit::Registry, Failure> {
        match a.opt("pki").map_err(Failure::Usage)? {
            Some(dir) => load_registry(dir),
            None => Ok(hoviat_testkit::Registry::generate("hoviat", today())),
        }
    };
    // The Iranian card: the faithful one (Iranian-layout registry) unless --pki names an
    // Estonian-style registry, whose one certificate it then carries twice (older layout).
    let iran = match (profile, a.opt("pki").map_err(Failure::Usage)?) {
        ("ir-nid", Some(dir)) => load_iran_registry(dir)?,
        ("ir-nid", None) => Some(hoviat_testkit::iran::IranRegistry::generate("hoviat", today())),
        _ => None,
    };
    let mut card: Box<dyn VirtualCard> = match profile {
        "ir-nid" if iran.is_some() => iran
            .as_ref()
            .and_then(|r| vc::for_iran_holder(r, holder))
            .ok_or_else(|| Failure::Usage(usage(format!("no holder {holder}"))))?,
        "piv" | "ir-nid" => vc::for_holder(&registry()?, holder, profile == "ir-nid")
            .ok_or_else(|| Failure::Usage(usage(format!("no holder {holder}"))))?,
        "garbage" => Box::new(vc::GarbageCard::default()),
        "unknown" => Box::new(vc::UnknownCard),
        other => {
            return Err(Failure::Usage(usage(format!(
                "--profile {other:?}: piv, ir-nid, garbage or unknown"
            ))));
        }
    };
    let addr = format!("127.0.0.1:{port}");
    eprintln!("sim: {profile} card (holder {holder}) connecting to vpcd at {addr}");
    let report = hoviat_testkit::vpcd::serve(card.as_mut(), &addr, remove_after).map_err(|e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("vpcd {addr}: {e}"),
        })
    })?;
    Ok(serde_json::json!({ "sim": profile, "apdus": report.apdus }))
}

/// The start of the current UTC day: the default time of generated test registries, so that
/// `testpki` and `sim card` made on the same day agree.
fn today() -> UnixTime {
    let n = UnixTime::now();
    UnixTime(n.0 - n.0.rem_euclid(86_400))
}

/// Benchmarks (test equipment): `bench workloads --out DIR` writes the shared inputs;
/// `bench verify --dir DIR/NAME [--backend B] [--iterations N]` times full token verifications.
fn cmd_bench(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let (sub, rest) = raw
        .split_first()
        .ok_or_else(|| Failure::Usage(usage("bench workloads|verify|cms")))?;
    match sub.as_str() {
        "workloads" => {
            let a = Args::parse(rest, &["out"], &[]).map_err(Failure::Usage)?;
            let out = a.one("out").map_err(Failure::Usage)?;
            let names = hoviat_testkit::bench::write(std::path::Path::new(out)).map_err(|e| {
                Failure::Usage(UsageError {
                    code: "IO_ERROR",
                    message: format!("{out}: {e}"),
                })
            })?;
            Ok(serde_json::json!({ "written": out, "workloads": names }))
        }
        "verify" => {
            let a = Args::parse(rest, &["dir", "backend", "iterations", "warmup"], &[]).map_err(Failure::Usage)?;
            let dir = a.one("dir").map_err(Failure::Usage)?;
            let backend = a.backend().map_err(Failure::Usage)?;
            let iterations = a.usize_or("iterations", 200).map_err(Failure::Usage)?;
            let warmup = a.usize_or("warmup", 20).map_err(Failure::Usage)?;
            let read = |f: &str| read_file(&format!("{dir}/{f}")).map_err(Failure::Usage);
            let params: serde_json::Value =
                serde_json::from_slice(&read("params.json")?).map_err(|e| Failure::Usage(usage(e.to_string())))?;
            let token = String::from_utf8_lossy(&read("token.json")?).into_owned();
            let mut trust = TrustStore::new();
            trust.add_anchors(&read("anchors.pem")?)?;
            trust.add_intermediates(&read("intermediates.pem")?)?;
            let at = params["at"]
                .as_str()
                .and_then(UnixTime::parse_rfc3339)
                .ok_or_else(|| Failure::Usage(usage("params.json: at")))?;
            let origin = Origin::parse(params["origin"].as_str().unwrap_or(""))?;
            let nonce = params["nonce"].as_str().unwrap_or("").to_string();
            let v = Verifier {
                trust: &trust,
                options: PathOptions::client_auth(at),
                backend,
            };
            v.verify(&token, &origin, &nonce)?;
            for _ in 0..warmup {
                v.verify(&token, &origin, &nonce)?;
            }
            let mut us = Vec::with_capacity(iterations);
            for _ in 0..iterations {
                let t0 = std::time::Instant::now();
                v.verify(&token, &origin, &nonce)?;
                us.push(t0.elapsed().as_secs_f64() * 1e6);
            }
            let mut out = hoviat_testkit::bench::summarize(us);
            out["backend"] = backend.name().into();
            out["workload"] = dir.rsplit('/').next().unwrap_or(dir).into();
            Ok(out)
        }
        "cms" => cms::cmd_bench_cms(rest),
        other => Err(Failure::Usage(usage(format!("unknown bench command {other:?}")))),
    }
}

/// Writes the shared verification case table (test equipment) with the native verdicts.
fn cmd_test_cases(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &["out"], &[]).map_err(Failure::Usage)?;
    let out = a.one("out").map_err(Failure::Usage)?;
    let cases = hoviat_testkit::cases::build();
    let rows: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["native"] = match hoviat_testkit::cases::native_verdict(c) {
                Ok(nc) => serde_json::json!({ "ok": true, "nationalCode": nc }),
                Err(code) => serde_json::json!({ "ok": false, "code": code }),
            };
            v
        })
        .collect();
    std::fs::write(out, serde_json::to_string_pretty(&rows).unwrap_or_default()).map_err(|e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("{out}: {e}"),
        })
    })?;
    Ok(serde_json::json!({ "written": out, "cases": rows.len() }))
}

fn cmd_demo() -> Result<serde_json::Value, Failure> {
    let now = UnixTime::now();
    eprintln!("hoviat demo: generating a test registry (root RSA-4096, citizen CAs, holders)...");
    let reg = hoviat_testkit::Registry::generate("demo", now);
    let mut trust = TrustStore::new();
    trust.add_anchors(&reg.root.cert)?;
    for ca in &reg.cas {
        trust.add_intermediates(&ca.cert)?;
    }
    for crl in &reg.crls {
        trust.add_crls(crl)?;
    }
    let origin = Origin::parse("https://bank.example.ir")?;
    let store = hoviat::token::MemoryNonceStore::default();
    let v = Verifier {
        trust: &trust,
        options: PathOptions::client_auth(now),
        backend: hoviat_testkit::backend_from_env(),
    };
    let mut results = Vec::new();
    for idx in [0usize, 1, 3] {
        let h = &reg.holders[idx];
        let nonce = hoviat_rp::create_nonce()?;
        hoviat::token::NonceStore::issue(&store, &nonce, UnixTime(now.0 + 300), now)?;
        eprintln!(
            "  challenge issued to holder {idx} ({} {}): {nonce}",
            h.given_name, h.surname
        );
        let token = h.make_token(h.token_alg(), origin.as_str(), &nonce);
        match v.verify_with_store(&token, &origin, &nonce, &store) {
            Ok(ok) => {
                eprintln!(
                    "  verified: {} — national code {}",
                    ok.holder.common_name.clone().unwrap_or_default(),
                    ok.holder.national_code.clone().unwrap_or_default()
                );
                results.push(serde_json::json!({ "holder": idx, "verified": true, "result": ok }));
            }
            Err(e) => {
                eprintln!("  refused: {} ({})", e, e.code());
                results.push(serde_json::json!({ "holder": idx, "verified": false, "error": error_json(&e)["error"] }));
            }
        }
        if idx == 0 {
            let again = v.verify_with_store(&token, &origin, &nonce, &store);
            let code = again.err().map(|e| e.code()).unwrap_or("ACCEPTED");
            eprintln!("  the same token replayed: {code}");
            results.push(serde_json::json!({ "holder": idx, "replay": code }));
        }
    }
    Ok(
        serde_json::json!({ "demo": "software card signing web-eid:1.0 challenges for https://bank.example.ir", "results": results }),
    )
}

/// The usage lines of one command (its `  hoviat CMD` lines and their continuations) and the
/// closing notes; none for an unknown command.
fn help_for(cmd: &str) -> Option<String> {
    let head = format!("  hoviat {cmd} ");
    let mut lines = Vec::new();
    let mut inside = false;
    for l in USAGE.lines() {
        if l.starts_with("  hoviat ") {
            inside = l.starts_with(&head) || l == head.trim_end();
        } else if !l.starts_with("   ") {
            inside = false;
        }
        if inside {
            lines.push(l);
        }
    }
    if lines.is_empty() {
        return None;
    }
    let notes = USAGE.split("\n\n").last().unwrap_or("");
    Some(format!("USAGE:\n{}\n\n{notes}", lines.join("\n")))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if cmd == "archive" {
        // The records' archive (crates/archive): its own commands, exit codes and output.
        return hoviat_archive::cli::run(rest);
    }
    // `hoviat CMD --help` (anywhere among its arguments) and `hoviat help CMD`: that command's
    // lines of the usage text, exit 0.
    let asked = match cmd.as_str() {
        "help" | "--help" | "-h" => rest.first().map(String::as_str),
        c if rest.iter().any(|a| a == "--help" || a == "-h") => Some(c),
        _ => None,
    };
    if let Some(c) = asked {
        return match help_for(c) {
            Some(h) => {
                out(&h);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("unknown command {c:?}\n\n{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let result = match cmd.as_str() {
        "verify-token" => cmd_verify_token(rest),
        "verify-chain" => cmd_verify_chain(rest),
        "verify-signature" => cms::cmd_verify_signature(rest),
        "testpki-keys" => cms::cmd_testpki_keys(rest),
        "national-code" => cmd_national_code(rest),
        "ocsp" => cmd_ocsp(rest),
        "testpki" => cmd_testpki(rest),
        "make-token" => cmd_make_token(rest),
        "demo" => cmd_demo(),
        "test-cases" => cmd_test_cases(rest),
        "bench" => cmd_bench(rest),
        "card" => cmd_card(rest),
        "sim" => cmd_sim(rest),
        "record" => record::cmd_record(rest),
        "help" | "--help" | "-h" => {
            out(USAGE);
            return ExitCode::SUCCESS;
        }
        other => Err(Failure::Usage(usage(format!(
            "unknown command {other:?}; try hoviat --help"
        )))),
    };
    match result {
        Ok(v) => {
            out(&serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(Failure::Rejected(e)) => {
            out(&error_json(e.as_ref()).to_string());
            ExitCode::from(1)
        }
        Err(Failure::Usage(e)) => {
            out(&error_json(&e).to_string());
            eprintln!("{}", e.message);
            ExitCode::from(2)
        }
    }
}

/// Writes the answer to stdout; a reader that went away (`hoviat ... | head`) is not a panic.
fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{text}").and_then(|()| o.flush());
}
