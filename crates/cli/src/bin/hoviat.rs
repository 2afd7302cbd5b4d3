//! `hoviat`: the command line for operators and auditors. JSON on stdout; exit 0 = verified,
//! 1 = rejected (`{"error":{"code","message"}}`), 2 = usage or I/O error. clap parses the
//! arguments: each command's and option's doc comment below is its `--help` line.

#[path = "hoviat/reader.rs"]
mod reader;
#[path = "hoviat/record.rs"]
mod record;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

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

/// The closing notes of `hoviat --help`.
const NOTES: &str = "\
Certificates and CRLs may be PEM or DER. FILE options may repeat.
Exit status: 0 verified, 1 rejected (JSON error with a stable code), 2 usage or I/O error.
`hoviat help COMMAND` or `hoviat COMMAND --help` explains one command.";

/// hoviat — verify Iranian national ID card certificates and web-eid tokens
#[derive(Parser)]
#[command(name = "hoviat", version, after_help = NOTES)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify a web-eid authentication token (its certificate chain, origin, nonce and signature)
    VerifyToken(VerifyToken),
    /// Verify a certificate's chain to a trust anchor, with revocation and purpose
    VerifyChain(VerifyChain),
    /// Verify a CMS/PKCS#7 signature (DER, PEM or base64; attached or detached) or a PDF's signatures
    VerifySignature(cms::VerifySignature),
    /// OCSP: build a request for a certificate, or send it and verify the answer
    #[command(subcommand)]
    Ocsp(OcspCmd),
    /// Check a national code's check digit (Persian digits accepted)
    NationalCode {
        /// The 10-digit national code (shorter codes are zero-padded)
        #[arg(value_name = "CODE")]
        code: String,
    },
    /// Write a test PKI: registry root, citizen CAs, holders, CRLs (test equipment)
    Testpki(Testpki),
    /// Write the test registry's holder keys as PEM, for openssl cms -sign (test equipment)
    TestpkiKeys {
        #[command(flatten)]
        pki: PkiDir,
    },
    /// Make a web-eid token signed by a test holder (test equipment)
    MakeToken(MakeToken),
    /// Card readers and cards through PC/SC
    #[command(subcommand)]
    Card(CardCmd),
    /// Virtual cards and serial readers for vpcd and ptys (test equipment)
    #[command(subcommand)]
    Sim(SimCmd),
    /// A software card signs challenges that are verified, then replayed
    Demo,
    /// Sealed identity records: make, verify, disclose (and test equipment)
    #[command(subcommand)]
    Record(record::RecordCmd),
    /// The records' archive: keygen, init, append, checkpoint, verify, prove, check-proof,
    /// search, purge, print, witness
    #[command(subcommand)]
    Archive(hoviat_archive::cli::Command),
    /// Write the shared verification case table with this build's verdicts (test equipment)
    TestCases {
        /// The JSON file to write
        #[arg(long, value_name = "FILE")]
        out: String,
    },
    /// Benchmarks (test equipment)
    #[command(subcommand)]
    Bench(BenchCmd),
}

/// The trust anchors, intermediates, CRLs, the validation time and the algorithm policy.
#[derive(clap::Args)]
struct Trust {
    /// A trusted root certificate (at least one)
    #[arg(long, value_name = "FILE", required = true)]
    trust_anchor: Vec<String>,
    /// An intermediate CA certificate
    #[arg(long, value_name = "FILE")]
    intermediate: Vec<String>,
    /// A certificate revocation list
    #[arg(long, value_name = "FILE")]
    crl: Vec<String>,
    /// Validate at this time instead of now
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Accept SHA-1 signatures
    #[arg(long)]
    allow_sha1: bool,
}

/// Revocation: required or not, and OCSP responses fetched beforehand.
#[derive(clap::Args)]
struct Revocation {
    /// Refuse a certificate whose revocation status no CRL or OCSP response gives
    #[arg(long)]
    require_revocation: bool,
    /// An OCSP response (DER) for a certificate of the chain
    #[arg(long, value_name = "FILE")]
    ocsp_response: Vec<String>,
    /// The nonce the OCSP request carried, in hex (with --ocsp-response)
    #[arg(long, value_name = "HEX")]
    ocsp_nonce: Option<String>,
    #[command(flatten)]
    skew: OcspSkew,
}

/// The clock skew allowed to OCSP responses.
#[derive(clap::Args)]
struct OcspSkew {
    /// Clock skew allowed to OCSP responses, in seconds (0 to 86400)
    #[arg(long, value_name = "SECS")]
    ocsp_skew: Option<String>,
}

#[derive(clap::Args)]
struct VerifyToken {
    /// The token (JSON) as the browser extension returned it
    #[arg(long, value_name = "FILE")]
    token: String,
    /// The site's origin the token was made for, e.g. https://bank.example.ir
    #[arg(long, value_name = "ORIGIN")]
    origin: String,
    /// The challenge nonce the site issued
    #[arg(long, value_name = "NONCE", allow_hyphen_values = true)]
    nonce: String,
    #[command(flatten)]
    trust: Trust,
    #[command(flatten)]
    revocation: Revocation,
}

#[derive(clap::Args)]
struct VerifyChain {
    /// The certificate to verify
    #[arg(long, value_name = "FILE")]
    leaf: String,
    /// The extended key usage required: clientAuth, serverAuth, any or an OID
    #[arg(long, value_name = "PURPOSE")]
    eku: Option<String>,
    /// The key usage required: digitalSignature or any
    #[arg(long, value_name = "USAGE")]
    key_usage: Option<String>,
    #[command(flatten)]
    trust: Trust,
    #[command(flatten)]
    revocation: Revocation,
}

#[derive(Subcommand)]
enum OcspCmd {
    /// Build an OCSP request (base64 in the JSON answer; DER with --out)
    Request(OcspRequest),
    /// Send the request, verify the answer and report the certificate's status
    Fetch {
        #[command(flatten)]
        request: OcspRequest,
        #[command(flatten)]
        fetch: OcspFetch,
    },
}

#[derive(clap::Args)]
struct OcspRequest {
    /// The certificate whose status is asked
    #[arg(long, value_name = "FILE")]
    cert: String,
    /// The certificate of its issuer
    #[arg(long, value_name = "FILE")]
    issuer: String,
    /// Identify the certificate by SHA-256 hashes (default SHA-1, as responders expect)
    #[arg(long)]
    sha256: bool,
    /// The request's nonce in hex (default: 16 random bytes)
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    /// Send no nonce
    #[arg(long)]
    no_nonce: bool,
    /// Write the request (request) or the response (fetch), DER, to FILE
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
}

#[derive(clap::Args)]
struct OcspFetch {
    /// The responder (default: the certificate's OCSP address)
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Give up after SECS seconds (1 to 300; default 10)
    #[arg(long, value_name = "SECS")]
    timeout: Option<String>,
    /// Verify the response at this time instead of now
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    #[command(flatten)]
    skew: OcspSkew,
    /// Accept a SHA-1 signature on the response
    #[arg(long)]
    allow_sha1: bool,
}

/// Where test equipment is written, and the seed and time it is generated from.
#[derive(clap::Args)]
struct Generate {
    /// The directory to write
    #[arg(long, value_name = "DIR")]
    out: String,
    /// The seed the keys are derived from (default hoviat)
    #[arg(long, value_name = "SEED")]
    seed: Option<String>,
    /// The test equipment's time (default: the start of today, UTC)
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
}

impl Generate {
    fn seed(&self) -> &str {
        self.seed.as_deref().unwrap_or("hoviat")
    }

    fn at(&self) -> Result<UnixTime, UsageError> {
        at_or(self.at.as_deref(), today())
    }
}

#[derive(clap::Args)]
struct Testpki {
    #[command(flatten)]
    generate: Generate,
    /// The layout: estonian (default) or iran (the Iranian card's certificates)
    #[arg(long, value_name = "estonian|iran")]
    layout: Option<String>,
}

/// A test registry's directory.
#[derive(clap::Args)]
struct PkiDir {
    /// A directory written by hoviat testpki
    #[arg(long, value_name = "DIR")]
    pki: String,
}

#[derive(clap::Args)]
struct MakeToken {
    #[command(flatten)]
    pki: PkiDir,
    /// The holder's number in the registry
    #[arg(long, value_name = "N")]
    holder: usize,
    /// The origin the token is made for
    #[arg(long, value_name = "ORIGIN")]
    origin: String,
    /// The challenge nonce
    #[arg(long, value_name = "NONCE", allow_hyphen_values = true)]
    nonce: String,
    /// The signature algorithm, e.g. ES256, RS256 (default: the holder's key's)
    #[arg(long, value_name = "ALG")]
    alg: Option<String>,
}

/// The reader to use.
#[derive(clap::Args)]
struct ReaderName {
    /// The reader's name (default: the first reader with a card)
    #[arg(long, value_name = "NAME")]
    reader: Option<String>,
}

/// What the operator saw: the holder's national code and whether the face matches.
#[derive(clap::Args)]
struct Operator {
    /// The national code the holder gave (its check digit is verified)
    #[arg(long, value_name = "CODE")]
    national_code: Option<String>,
    /// Whether the operator saw the holder's face match the card's photo: yes or no
    #[arg(long, value_name = "yes|no")]
    face_match: Option<String>,
}

#[derive(Subcommand)]
enum CardCmd {
    /// List the PC/SC readers
    List,
    /// Read the card's free data (profile, certificates, holder identity)
    Info {
        #[command(flatten)]
        reader: ReaderName,
        #[command(flatten)]
        operator: Operator,
        #[command(flatten)]
        registry: RegistryCheck,
    },
    /// Sign a web-eid authentication token with the card
    Auth {
        /// The site's origin
        #[arg(long, value_name = "ORIGIN")]
        origin: String,
        /// The challenge nonce the site issued
        #[arg(long, value_name = "NONCE", allow_hyphen_values = true)]
        nonce: String,
        #[command(flatten)]
        reader: ReaderName,
        #[command(flatten)]
        pin: PinStdin,
    },
    /// Verify a PIN of the card
    VerifyPin {
        /// Which PIN: piv, id or sign
        #[arg(long, value_name = "piv|id|sign")]
        pin_kind: String,
        #[command(flatten)]
        reader: ReaderName,
        #[command(flatten)]
        pin: PinStdin,
    },
}

/// `card info`'s check of the holder's certificate chain.
#[derive(clap::Args)]
struct RegistryCheck {
    /// Validate the holder's certificate against this registry root
    #[arg(long, value_name = "CERT")]
    registry_anchor: Vec<String>,
    /// An intermediate CA certificate (with --registry-anchor)
    #[arg(long, value_name = "CERT")]
    intermediate: Vec<String>,
    /// A certificate revocation list (with --registry-anchor)
    #[arg(long, value_name = "CRL")]
    crl: Vec<String>,
    /// Validate at this time instead of now
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
}

/// The PIN, on standard input.
#[derive(clap::Args)]
struct PinStdin {
    /// Read the PIN from the first line of standard input
    #[arg(long)]
    pin_stdin: bool,
}

#[derive(Subcommand)]
enum SimCmd {
    /// A virtual card connected to vpcd (pcscd's virtual reader)
    Card(SimCard),
    /// A GemPC Twin serial CCID reader or a PN532 module, with a virtual card, on a pty
    Reader(reader::SimReader),
}

/// The virtual card's holder in a test registry.
#[derive(clap::Args)]
struct SimHolder {
    /// The test registry (default: generated now, seed hoviat)
    #[arg(long, value_name = "DIR")]
    pki: Option<String>,
    /// The holder's number in the registry
    #[arg(long, value_name = "N", default_value_t = 1)]
    holder: usize,
    /// Remove the card after N APDUs
    #[arg(long, value_name = "N")]
    remove_after: Option<usize>,
}

#[derive(clap::Args)]
struct SimCard {
    /// The card: piv, ir-nid, garbage or unknown
    #[arg(long, value_name = "PROFILE")]
    profile: String,
    #[command(flatten)]
    holder: SimHolder,
    /// vpcd's port on 127.0.0.1
    #[arg(long, value_name = "PORT", default_value_t = 35963)]
    port: u16,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Write the shared benchmark inputs (tokens, chains) to DIR
    Workloads {
        /// The directory to write
        #[arg(long, value_name = "DIR")]
        out: String,
    },
    /// Time full token verifications of one workload
    Verify {
        /// The workload's directory (DIR/NAME from bench workloads)
        #[arg(long, value_name = "DIR")]
        dir: String,
        #[command(flatten)]
        timing: Timing,
    },
    /// Time whole CMS verifications, the trust store built once
    Cms(cms::BenchCms),
}

/// A benchmark's backend and repetitions.
#[derive(clap::Args)]
struct Timing {
    /// The signature backend (default: this build's)
    #[arg(long, value_name = "NAME")]
    backend: Option<String>,
    /// Timed verifications (default 200; bench cms 500)
    #[arg(long, value_name = "N")]
    iterations: Option<usize>,
    /// Untimed verifications first
    #[arg(long, value_name = "N", default_value_t = 20)]
    warmup: usize,
}

impl Timing {
    /// `--backend NAME` (a signature backend of this build), else the build's default.
    fn backend(&self) -> Result<&'static dyn hoviat::pki::SignatureBackend, UsageError> {
        match &self.backend {
            None => Ok(hoviat::pki::alg::default_backend()),
            Some(n) => {
                hoviat::pki::alg::backend_by_name(n).ok_or_else(|| usage(format!("--backend {n}: not in this build")))
            }
        }
    }
}

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

/// `--at T`: an RFC 3339 time.
fn parse_at(s: &str) -> Result<UnixTime, UsageError> {
    UnixTime::parse_rfc3339(s).ok_or_else(|| usage(format!("--at {s:?} is not an RFC 3339 time")))
}

/// `--at T` when given, else `default`.
fn at_or(at: Option<&str>, default: UnixTime) -> Result<UnixTime, UsageError> {
    at.map_or(Ok(default), parse_at)
}

impl Trust {
    fn at(&self) -> Result<UnixTime, UsageError> {
        at_or(self.at.as_deref(), UnixTime::now())
    }

    fn store(&self) -> Result<TrustStore, Failure> {
        trust_store(&self.trust_anchor, &self.intermediate, &self.crl)
    }

    fn policy(&self) -> AlgorithmPolicy {
        policy(self.allow_sha1)
    }
}

/// A trust store of the anchors, intermediates and CRLs in these files.
fn trust_store(anchors: &[String], intermediates: &[String], crls: &[String]) -> Result<TrustStore, Failure> {
    let mut t = TrustStore::new();
    for f in anchors {
        t.add_anchors(&read_file(f).map_err(Failure::Usage)?)?;
    }
    for f in intermediates {
        t.add_intermediates(&read_file(f).map_err(Failure::Usage)?)?;
    }
    for f in crls {
        t.add_crls(&read_file(f).map_err(Failure::Usage)?)?;
    }
    Ok(t)
}

fn policy(allow_sha1: bool) -> AlgorithmPolicy {
    AlgorithmPolicy {
        allow_sha1,
        ..AlgorithmPolicy::default()
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl OcspSkew {
    fn options(&self) -> Result<OcspOptions, UsageError> {
        let mut o = OcspOptions::default();
        if let Some(s) = &self.ocsp_skew {
            o.skew_secs = s
                .parse()
                .ok()
                .filter(|v: &i64| (0..=86400).contains(v))
                .ok_or_else(|| usage("--ocsp-skew takes seconds (0 to 86400)"))?;
        }
        Ok(o)
    }
}

/// `--ocsp-response FILE...` (DER), `--ocsp-nonce HEX` (the nonce sent), `--ocsp-skew SECS`.
fn ocsp_config(a: &Revocation) -> Result<Option<OcspConfig>, Failure> {
    let files = &a.ocsp_response;
    let nonce = match &a.ocsp_nonce {
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
        options: a.skew.options().map_err(Failure::Usage)?,
    }))
}

fn cmd_verify_token(a: &VerifyToken) -> Result<serde_json::Value, Failure> {
    let origin = Origin::parse(&a.origin)?;
    let at = a.trust.at().map_err(Failure::Usage)?;
    let trust = a.trust.store()?;
    let token = read_file(&a.token).map_err(Failure::Usage)?;
    let token = String::from_utf8_lossy(&token);
    let mut options = PathOptions::client_auth(at);
    options.policy = a.trust.policy();
    options.require_revocation = a.revocation.require_revocation;
    options.ocsp = ocsp_config(&a.revocation)?;
    let v = Verifier {
        trust: &trust,
        options,
        backend: hoviat_testkit::backend_from_env(),
    };
    let verified = v.verify(token.trim(), &origin, &a.nonce)?;
    let mut out = serde_json::to_value(&verified).unwrap_or_default();
    out["verified"] = true.into();
    out["validationTime"] = at.to_string().into();
    Ok(out)
}

fn cmd_verify_chain(a: &VerifyChain) -> Result<serde_json::Value, Failure> {
    let at = a.trust.at().map_err(Failure::Usage)?;
    let eku_req = match a.eku.as_deref() {
        None => EkuRequirement::Any,
        Some(o) => hoviat::pki::verify_chain::eku_requirement(o)
            .ok_or_else(|| Failure::Usage(usage(format!("--eku {o:?} is not a purpose or OID"))))?,
    };
    let key_usage = match a.key_usage.as_deref() {
        None | Some("any") => KeyUsageRequirement::Any,
        Some("digitalSignature") => KeyUsageRequirement::DigitalSignature,
        Some(o) => {
            return Err(Failure::Usage(usage(format!(
                "--key-usage {o:?}: digitalSignature or any"
            ))));
        }
    };
    let read_all = |files: &[String]| -> Result<Vec<Vec<u8>>, Failure> {
        files.iter().map(|f| read_file(f).map_err(Failure::Usage)).collect()
    };
    let t = &a.trust;
    let (anchors, intermediates, crls) = (
        read_all(&t.trust_anchor)?,
        read_all(&t.intermediate)?,
        read_all(&t.crl)?,
    );
    let leaf_bytes = read_file(&a.leaf).map_err(Failure::Usage)?;
    let mut options = PathOptions::verify_chain(at, eku_req.clone());
    options.key_usage = key_usage;
    options.policy = t.policy();
    options.require_revocation = a.revocation.require_revocation;
    options.ocsp = ocsp_config(&a.revocation)?;
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
fn cmd_ocsp(c: &OcspCmd) -> Result<serde_json::Value, Failure> {
    let (a, fetch) = match c {
        OcspCmd::Request(a) => (a, None),
        OcspCmd::Fetch { request, fetch } => (request, Some(fetch)),
    };
    let load = |f: &str| -> Result<Arc<hoviat::pki::Cert>, Failure> {
        Ok(parse_leaf(&read_file(f).map_err(Failure::Usage)?)?)
    };
    let cert = load(&a.cert)?;
    let issuer = load(&a.issuer)?;
    let hash = if a.sha256 { HashAlg::Sha256 } else { HashAlg::Sha1 };
    let nonce = match (&a.nonce, a.no_nonce) {
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
    match fetch {
        None => {
            if let Some(out) = &a.out {
                write(out, &request)?;
            }
            Ok(serde_json::json!({
                "request": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &request),
                "nonce": nonce.as_deref().map(hexs),
                "hash": hash.name(),
            }))
        }
        Some(f) => {
            let url = match &f.url {
                Some(u) => u.clone(),
                None => cert
                    .ocsp_urls
                    .first()
                    .cloned()
                    .ok_or_else(|| Failure::Usage(usage("the certificate names no OCSP responder; give --url")))?,
            };
            let secs: u64 = match &f.timeout {
                None => 10,
                Some(s) => s
                    .parse()
                    .ok()
                    .filter(|v| (1..=300).contains(v))
                    .ok_or_else(|| Failure::Usage(usage("--timeout takes 1 to 300 seconds")))?,
            };
            let body = hoviat_cli::ocsp_fetch::fetch(&url, &request, std::time::Duration::from_secs(secs))?;
            if let Some(out) = &a.out {
                write(out, &body)?;
            }
            let resp = OcspResponse::from_der(&body)?;
            let options = f.skew.options().map_err(Failure::Usage)?;
            let at = at_or(f.at.as_deref(), UnixTime::now()).map_err(Failure::Usage)?;
            let pol = policy(f.allow_sha1);
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
    }
}

fn cmd_national_code(code: &str) -> Result<serde_json::Value, Failure> {
    let n = NationalCode::parse(code)?;
    Ok(serde_json::json!({ "valid": true, "nationalCode": n.as_str() }))
}

fn cmd_testpki(a: &Testpki) -> Result<serde_json::Value, Failure> {
    let out = a.generate.out.as_str();
    let seed = a.generate.seed();
    let at = a.generate.at().map_err(Failure::Usage)?;
    match a.layout.as_deref() {
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

fn cmd_make_token(a: &MakeToken) -> Result<serde_json::Value, Failure> {
    let reg = load_registry(&a.pki.pki)?;
    let idx = a.holder;
    let h = reg
        .holders
        .get(idx)
        .ok_or_else(|| Failure::Usage(usage(format!("no holder {idx}"))))?;
    let alg = match a.alg.as_deref() {
        None => h.token_alg(),
        Some(s) => hoviat::token::TokenAlg::parse(s).ok_or_else(|| Failure::Usage(usage(format!("--alg {s}"))))?,
    };
    let token = h.make_token(alg, &a.origin, &a.nonce);
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

impl ReaderName {
    fn connect(&self) -> Result<hoviat_pcsc::PcscTransport, Failure> {
        Ok(hoviat_pcsc::PcscTransport::connect(self.reader.as_deref())?)
    }
}

impl PinStdin {
    /// The PIN from standard input when `--pin-stdin` is given.
    fn read(&self) -> Result<Option<hoviat::card::Pin>, Failure> {
        self.pin_stdin.then(read_pin_stdin).transpose()
    }
}

impl Operator {
    fn input(&self) -> Result<hoviat::record::OperatorInput, Failure> {
        Ok(hoviat::record::OperatorInput {
            national_code: self.national_code.clone(),
            face_match: match self.face_match.as_deref() {
                None => None,
                Some("yes") => Some(true),
                Some("no") => Some(false),
                Some(o) => return Err(Failure::Usage(usage(format!("--face-match {o:?}: yes or no")))),
            },
        })
    }
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

fn cmd_card(c: &CardCmd) -> Result<serde_json::Value, Failure> {
    use hoviat::card;
    match c {
        CardCmd::List => Ok(serde_json::json!({ "readers": hoviat_pcsc::list_readers()? })),
        CardCmd::Info {
            reader,
            operator,
            registry,
        } => {
            let mut t = reader.connect()?;
            let info = card::block_on(card::info(&mut t, &mut status_to_stderr))?;
            let identity = card_identity(operator, registry, &info)?;
            let mut v = serde_json::to_value(&info).unwrap_or_default();
            v["reader"] = t.reader.clone().into();
            v["identity"] = identity;
            Ok(v)
        }
        CardCmd::Auth {
            origin,
            nonce,
            reader,
            pin,
        } => {
            let origin = Origin::parse(origin)?;
            hoviat::token::nonce::check_nonce_shape(nonce)?;
            let pin = pin.read()?;
            let mut t = reader.connect()?;
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
        CardCmd::VerifyPin { pin_kind, reader, pin } => {
            let Some(pin) = pin.read()? else {
                return Err(Failure::Usage(usage(
                    "verify-pin reads the PIN from stdin: --pin-stdin",
                )));
            };
            let kind = pin_kind.as_str();
            let mut t = reader.connect()?;
            let mut ch = card::Channel::new(&mut t);
            let profile = card::block_on(card::detect(&mut ch))?;
            let r = match (profile, kind) {
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
    }
}

/// The holder's identity from a card's free data, each attribute with its provenance
/// (`hoviat::record::holder_identity`); the operator's national code (check digit validated)
/// and face confirmation when given; the certificate chain validated against
/// `--registry-anchor` (with `--intermediate`, and `--crl` for revocation) when given, else
/// reported `not-checked`.
fn card_identity(
    operator: &Operator,
    registry: &RegistryCheck,
    info: &hoviat::card::CardInfo,
) -> Result<serde_json::Value, Failure> {
    use hoviat::record::{self, CardFacts, PinOutcome};
    if info.certificates.is_empty() {
        return Err(hoviat::card::CardError::CertificateMissing.into());
    }
    let facts = CardFacts::from_card_info(info, PinOutcome::NotTried)?;
    let attributes = record::holder_identity(&facts.holder_certificate, &facts, &operator.input()?)?;
    let chain = if registry.registry_anchor.is_empty() {
        "not-checked"
    } else {
        let r = registry;
        let trust = trust_store(&r.registry_anchor, &r.intermediate, &r.crl)?;
        let at = at_or(r.at.as_deref(), UnixTime::now()).map_err(Failure::Usage)?;
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

fn cmd_sim(c: &SimCmd) -> Result<serde_json::Value, Failure> {
    use hoviat_testkit::virtual_card::{self as vc, VirtualCard};
    let a = match c {
        SimCmd::Reader(r) => return reader::run(r),
        SimCmd::Card(a) => a,
    };
    let SimHolder {
        pki,
        holder,
        remove_after,
    } = &a.holder;
    let (holder, port, profile) = (*holder, a.port, a.profile.as_str());
    // The Iranian card: the faithful one (Iranian-layout registry) unless --pki names an
    // Estonian-style registry, whose one certificate it then carries twice (older layout).
    let iran = match (profile, pki.as_deref()) {
        ("ir-nid", Some(dir)) => load_iran_registry(dir)?,
        ("ir-nid", None) => Some(hoviat_testkit::iran::IranRegistry::generate("hoviat", today())),
        _ => None,
    };
    let mut card: Box<dyn VirtualCard> = match profile {
        "ir-nid" if iran.is_some() => iran
            .as_ref()
            .and_then(|r| vc::for_iran_holder(r, holder))
            .ok_or_else(|| Failure::Usage(usage(format!("no holder {holder}"))))?,
        "piv" | "ir-nid" => vc::for_holder(&pki.registry()?, holder, profile == "ir-nid")
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
    let report = hoviat_testkit::vpcd::serve(card.as_mut(), &addr, *remove_after).map_err(|e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("vpcd {addr}: {e}"),
        })
    })?;
    Ok(serde_json::json!({ "sim": profile, "apdus": report.apdus }))
}

/// `--pki DIR` of a virtual card's holder.
trait PkiOption {
    /// The test registry in DIR, else one generated for today (seed hoviat).
    fn registry(&self) -> Result<hoviat_testkit::Registry, Failure>;
}

impl PkiOption for Option<String> {
    fn registry(&self) -> Result<hoviat_testkit::Registry, Failure> {
        match self {
            Some(dir) => load_registry(dir),
            None => Ok(hoviat_testkit::Registry::generate("hoviat", today())),
        }
    }
}

/// The start of the current UTC day: the default time of generated test registries, so that
/// `testpki` and `sim card` made on the same day agree.
fn today() -> UnixTime {
    let n = UnixTime::now();
    UnixTime(n.0 - n.0.rem_euclid(86_400))
}

/// Benchmarks (test equipment): `bench workloads --out DIR` writes the shared inputs;
/// `bench verify --dir DIR/NAME [--backend B] [--iterations N]` times full token verifications.
fn cmd_bench(c: &BenchCmd) -> Result<serde_json::Value, Failure> {
    match c {
        BenchCmd::Workloads { out } => {
            let names = hoviat_testkit::bench::write(std::path::Path::new(out)).map_err(|e| {
                Failure::Usage(UsageError {
                    code: "IO_ERROR",
                    message: format!("{out}: {e}"),
                })
            })?;
            Ok(serde_json::json!({ "written": out, "workloads": names }))
        }
        BenchCmd::Verify { dir, timing } => {
            let backend = timing.backend().map_err(Failure::Usage)?;
            let (iterations, warmup) = (timing.iterations.unwrap_or(200), timing.warmup);
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
        BenchCmd::Cms(a) => cms::cmd_bench_cms(a),
    }
}

/// Writes the shared verification case table (test equipment) with the native verdicts.
fn cmd_test_cases(out: &str) -> Result<serde_json::Value, Failure> {
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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_error(&e),
    };
    let result = match cli.command {
        Cmd::VerifyToken(a) => cmd_verify_token(&a),
        Cmd::VerifyChain(a) => cmd_verify_chain(&a),
        Cmd::VerifySignature(a) => cms::cmd_verify_signature(&a),
        Cmd::TestpkiKeys { pki } => cms::cmd_testpki_keys(&pki.pki),
        Cmd::NationalCode { code } => cmd_national_code(&code),
        Cmd::Ocsp(c) => cmd_ocsp(&c),
        Cmd::Testpki(a) => cmd_testpki(&a),
        Cmd::MakeToken(a) => cmd_make_token(&a),
        Cmd::Demo => cmd_demo(),
        Cmd::TestCases { out } => cmd_test_cases(&out),
        Cmd::Bench(c) => cmd_bench(&c),
        Cmd::Card(c) => cmd_card(&c),
        Cmd::Sim(c) => cmd_sim(&c),
        Cmd::Record(c) => record::cmd_record(&c),
        // The records' archive (crates/archive): its own exit codes and output.
        Cmd::Archive(c) => return hoviat_archive::cli::execute(c),
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

/// `--help` and `--version` (stdout, exit 0), and usage errors (clap's message on stderr,
/// exit 2, with the `USAGE` JSON error on stdout — except under `archive`, which answers
/// usage errors on stderr only).
fn parse_error(e: &clap::Error) -> ExitCode {
    let code = e.exit_code();
    if code != 0 && std::env::args().nth(1).as_deref() != Some("archive") {
        let message = match e.kind() {
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "a command is required".to_string(),
            _ => e.render().to_string(),
        };
        let first = message.lines().next().unwrap_or_default();
        out(&error_json(&usage(first.trim_start_matches("error: "))).to_string());
    }
    let _ = e.print();
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// Writes the answer to stdout; a reader that went away (`hoviat ... | head`) is not a panic.
fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{text}").and_then(|()| o.flush());
}

#[cfg(test)]
mod tests {
    /// clap's own checks of the command tree (unique names, valid defaults and ranges).
    #[test]
    fn command_tree() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
