//! `hoviat record make|verify|disclose|testkit`: sealed identity records (hoviat::record).

use hoviat::pki::TrustStore;
use hoviat::record::{
    self, CardFacts, Institution, OperatorInput, PinOutcome, RecordRequest, TerminalSigner, VerifyOptions,
};
use hoviat::time::UnixTime;
use hoviat_testkit::PrivateKey;

use super::{Failure, Operator, ReaderName, UsageError, at_or, read_file, read_pin_stdin, status_to_stderr, usage};

#[derive(clap::Subcommand)]
pub enum RecordCmd {
    /// Make a sealed record of a holder's identity at the counter
    Make(Box<Make>),
    /// Verify a sealed record: the terminal's seal, its chain and the disclosed attributes
    Verify {
        /// The record (or a presentation from disclose)
        #[arg(value_name = "FILE")]
        file: String,
        /// A trusted institution CA (at least one)
        #[arg(long, value_name = "FILE", required = true)]
        institution_ca: Vec<String>,
        /// The institution (institution.json) the record must come from
        #[arg(long, value_name = "FILE")]
        institution: Option<String>,
        /// Validate at this time instead of the record's issuing time
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
    },
    /// Make a presentation that discloses only some attributes of a record
    Disclose {
        /// The record
        #[arg(value_name = "FILE")]
        file: String,
        /// The attributes to disclose, comma-separated
        #[arg(long, value_name = "a,b,...")]
        attributes: String,
        #[command(flatten)]
        out: Out,
    },
    /// Write a test registry, institution and card facts for records (test equipment)
    Testkit(super::Generate),
    /// Records made and verified per second, from a record testkit directory (test equipment)
    Bench {
        /// A directory written by record testkit
        #[arg(long, value_name = "DIR")]
        dir: String,
        /// How many records to make and verify (default 300)
        #[arg(long, value_name = "N", default_value_t = 300)]
        iterations: u32,
        /// The records' time instead of now
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        #[command(flatten)]
        out: Out,
    },
}

/// `--out FILE`: where the record (or presentation) is also written.
#[derive(clap::Args)]
pub struct Out {
    /// Also write the record (or presentation) to FILE
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
}

#[derive(clap::Args)]
pub struct Make {
    /// The institution (institution.json)
    #[arg(long, value_name = "FILE")]
    institution: String,
    /// The purpose's id (one of the institution's purposes)
    #[arg(long, value_name = "ID")]
    purpose: String,
    /// The terminal's id
    #[arg(long, value_name = "ID")]
    terminal: String,
    /// The operator's id
    #[arg(long, value_name = "ID")]
    operator: String,
    /// The terminal's sealing key (PKCS#8, PEM or DER)
    #[arg(long, value_name = "PKCS8")]
    terminal_key: String,
    /// The terminal's certificate chain
    #[arg(long, value_name = "FILE")]
    terminal_cert: Vec<String>,
    /// The card's facts as JSON (instead of --card)
    #[arg(long, value_name = "FILE")]
    facts: Option<String>,
    /// A web-eid token whose certificates replace the facts' (with --facts)
    #[arg(long, value_name = "FILE")]
    token: Option<String>,
    /// Read the card through PC/SC (instead of --facts)
    #[arg(long)]
    card: bool,
    #[command(flatten)]
    reader: ReaderName,
    /// Verify the ID PIN read from standard input (with --card)
    #[arg(long)]
    pin_stdin: bool,
    /// The card signs the record (a PIV card; with --card)
    #[arg(long)]
    card_sign: bool,
    /// A trusted registry root for the holder's certificate (at least one)
    #[arg(long, value_name = "FILE", required = true)]
    registry_anchor: Vec<String>,
    /// An intermediate CA certificate of the registry
    #[arg(long, value_name = "FILE")]
    intermediate: Vec<String>,
    /// A certificate revocation list of the registry
    #[arg(long, value_name = "FILE")]
    crl: Vec<String>,
    #[command(flatten)]
    operator_input: Operator,
    /// Decoy digests per record (default 2)
    #[arg(long, value_name = "N", default_value_t = 2)]
    decoys: usize,
    /// The record's time instead of now
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Test equipment: a software card signs the record with this key (PKCS#8)
    #[arg(long, value_name = "PKCS8")]
    card_key: Option<String>,
    #[command(flatten)]
    out: Out,
}

fn io(path: &str) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("{path}: {e}"),
        })
    }
}

fn text(path: &str) -> Result<String, Failure> {
    let b = read_file(path).map_err(Failure::Usage)?;
    String::from_utf8(b).map_err(|_| Failure::Usage(usage(format!("{path} is not UTF-8"))))
}

impl Out {
    fn write(&self, text: &str) -> Result<(), Failure> {
        if let Some(f) = &self.out {
            std::fs::write(f, text).map_err(io(f))?;
        }
        Ok(())
    }
}

/// A PKCS#8 private key (PEM or DER): P-256, or RSA for a software card.
fn load_key(path: &str) -> Result<PrivateKey, Failure> {
    use p256::pkcs8::DecodePrivateKey;
    let b = read_file(path).map_err(Failure::Usage)?;
    let der = match std::str::from_utf8(&b) {
        Ok(s) if s.contains("-----BEGIN") => hoviat::pki::cert::pem_or_der(&b, &["PRIVATE KEY"], 1, 16 * 1024)
            .ok()
            .and_then(|v| v.into_iter().next())
            .ok_or_else(|| Failure::Usage(usage(format!("{path}: no PKCS#8 PRIVATE KEY block"))))?,
        _ => b,
    };
    if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(&der) {
        return Ok(PrivateKey::P256(k));
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
        return Ok(PrivateKey::Rsa(Box::new(k)));
    }
    Err(Failure::Usage(usage(format!(
        "{path}: not a PKCS#8 P-256 or RSA private key"
    ))))
}

fn certs(files: &[String]) -> Result<Vec<Vec<u8>>, Failure> {
    let mut out = Vec::new();
    for f in files {
        let b = read_file(f).map_err(Failure::Usage)?;
        let items = hoviat::pki::cert::pem_or_der(&b, &["CERTIFICATE"], 8, 64 * 1024)
            .map_err(|e| Failure::Usage(usage(format!("{f}: {e}"))))?;
        out.extend(items);
    }
    Ok(out)
}

fn os_rng() -> Result<rand_chacha::ChaCha20Rng, Failure> {
    use rand_core::SeedableRng;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Failure::Usage(usage(format!("no randomness: {e}"))))?;
    Ok(rand_chacha::ChaCha20Rng::from_seed(seed))
}

fn cmd_make(a: &Make) -> Result<serde_json::Value, Failure> {
    let institution = Institution::from_json(&text(&a.institution)?)?;
    let at = at_or(a.at.as_deref(), UnixTime::now()).map_err(Failure::Usage)?;
    // The card: through PC/SC (`--card`), or its facts as JSON (`--facts`, plus `--token`).
    let mut card = None;
    let mut facts: CardFacts = if a.card {
        if a.facts.is_some() {
            return Err(Failure::Usage(usage("--card and --facts exclude each other")));
        }
        let mut t = a.reader.connect()?;
        let f = read_card(&mut t, a.pin_stdin)?;
        card = Some(t);
        f
    } else {
        if a.pin_stdin || a.card_sign {
            return Err(Failure::Usage(usage("--pin-stdin and --card-sign need --card")));
        }
        let facts = a
            .facts
            .as_deref()
            .ok_or_else(|| Failure::Usage(usage("--facts is required")))?;
        serde_json::from_str(&text(facts)?).map_err(|e| Failure::Usage(usage(format!("--facts: {e}"))))?
    };
    if let Some(t) = &a.token {
        let token = hoviat::token::UnverifiedToken::parse(text(t)?.trim())?;
        facts.holder_certificate = token.unverified_certificate;
        facts.intermediates.extend(token.unverified_intermediates);
    }
    let chain = certs(&a.terminal_cert)?;
    let terminal_key = load_key(&a.terminal_key)?;
    let mut registry = super::trust_store(&a.registry_anchor, &a.intermediate, &[])?;
    let mut crls = Vec::new();
    for f in &a.crl {
        let b = read_file(f).map_err(Failure::Usage)?;
        registry.add_crls(&b)?;
        crls.push(b);
    }
    let op = a.operator_input.input()?;
    let decoys = a.decoys;
    let backend = hoviat_testkit::backend_from_env();
    let req = RecordRequest {
        institution: &institution,
        purpose: &a.purpose,
        terminal: &a.terminal,
        operator: &a.operator,
        at,
        card: &facts,
        operator_input: &op,
        registry: &registry,
        holder_options: record::holder_path_options(at),
        revocation_data: &crls,
        decoys,
    };
    let mut rng = os_rng()?;
    let mut draft = record::draft(&req, backend, &mut rng)?;
    if let Some(k) = &a.card_key {
        let key = load_key(k)?;
        let alg = match &key {
            PrivateKey::P256(_) => hoviat::token::TokenAlg::ES256,
            _ => hoviat::token::TokenAlg::RS256,
        };
        let sig = key.sign_digest(alg.sig_alg(), &alg.hash().digest(&draft.binding_message()), &mut rng);
        draft.attach_card_signature(alg.name(), &sig, backend)?;
    }
    if a.card_sign {
        let t = card
            .as_mut()
            .ok_or_else(|| Failure::Usage(usage("--card-sign needs --card")))?;
        let (alg, sig) = card_sign(t, &facts.holder_certificate, &draft.binding_message())?;
        draft.attach_card_signature(alg.name(), &sig, backend)?;
    }
    let level = draft.level();
    let missing = draft.missing().to_vec();
    let rec = draft.seal(&chain, &terminal_key as &dyn TerminalSigner, backend)?;
    a.out.write(&rec)?;
    Ok(serde_json::json!({
        "record": rec, "level": level, "eidas": level.eidas(), "missing": missing, "issuedAt": at.to_string(),
    }))
}

/// Reads the card through PC/SC: the certificate that names the holder (the Iranian card's
/// signing certificate, PIV slot 9A), the chip serial, and the ID PIN (PIV PIN) when asked.
fn read_card(t: &mut hoviat_pcsc::PcscTransport, with_pin: bool) -> Result<CardFacts, Failure> {
    use hoviat::card::{self, Profile};
    let pin = if with_pin { Some(read_pin_stdin()?) } else { None };
    let info = card::block_on(card::info(t, &mut status_to_stderr))?;
    if info.certificates.is_empty() {
        return Err(hoviat::card::CardError::CertificateMissing.into());
    }
    let mut outcome = PinOutcome::NotTried;
    if let Some(pin) = &pin {
        let mut ch = card::Channel::new(t);
        let profile = card::block_on(card::detect(&mut ch))?;
        card::block_on(async {
            match profile {
                Profile::Piv => {
                    card::piv::select(&mut ch).await?;
                    card::piv::verify_pin(&mut ch, pin).await
                }
                Profile::IrNid => card::ir_nid::verify_pin(&mut ch, card::ir_nid::PinKind::Id, pin).await,
            }
        })?;
        outcome = PinOutcome::Accepted;
    }
    Ok(CardFacts::from_card_info(&info, outcome)?)
}

/// A PIV card signs the record (GENERAL AUTHENTICATE with key 9A over the digest of the
/// record's binding message; the PIN was verified in the same connection). The Iranian card
/// signs only inside the registry's secure-messaging session: `CARD_NEEDS_REGISTRY_SERVICE`.
fn card_sign(
    t: &mut hoviat_pcsc::PcscTransport,
    cert: &[u8],
    message: &[u8],
) -> Result<(hoviat::token::TokenAlg, Vec<u8>), Failure> {
    use hoviat::card::{self, CardError, Profile};
    use hoviat::pki::alg::{Curve, HashAlg, PublicKey, ecdsa_der_to_raw};
    use hoviat::token::TokenAlg;
    let c = hoviat::pki::Cert::from_der(cert)?;
    let key = c.key.clone()?;
    let mut ch = card::Channel::new(t);
    if card::block_on(card::detect(&mut ch))? != Profile::Piv {
        return Err(CardError::NeedsRegistryService.into());
    }
    card::block_on(card::piv::select(&mut ch))?;
    let (alg, piv_alg, challenge) = match &key.key {
        PublicKey::Ec { curve: Curve::P256, .. } => (TokenAlg::ES256, 0x11, HashAlg::Sha256.digest(message)),
        PublicKey::Ec { curve: Curve::P384, .. } => (TokenAlg::ES384, 0x14, HashAlg::Sha384.digest(message)),
        PublicKey::Rsa { bits: 2048, .. } => {
            let em = card::piv::emsa_pkcs1_v15(HashAlg::Sha256, &HashAlg::Sha256.digest(message), 256)
                .ok_or_else(|| Failure::Usage(usage("PKCS#1 encoding failed")))?;
            (TokenAlg::RS256, 0x07, em)
        }
        _ => return Err(CardError::Unsupported(format!("a PIV {} key", key.describe())).into()),
    };
    let answer = card::block_on(card::piv::general_authenticate(&mut ch, piv_alg, &challenge))?;
    let sig = match alg.curve() {
        Some(curve) => ecdsa_der_to_raw(&answer, curve)
            .ok_or_else(|| CardError::MalformedResponse("ECDSA signature is not DER".into()))?,
        None => answer,
    };
    Ok((alg, sig))
}

fn cmd_verify(
    file: &str,
    institution_ca: &[String],
    institution: Option<&str>,
    at: Option<&str>,
) -> Result<serde_json::Value, Failure> {
    let ca = super::trust_store(institution_ca, &[], &[])?;
    let institution = match institution {
        Some(f) => Some(Institution::from_json(&text(f)?)?),
        None => None,
    };
    let at = at.map(super::parse_at).transpose().map_err(Failure::Usage)?;
    let opts = VerifyOptions {
        institution_ca: &ca,
        at,
        institution: institution.as_ref(),
        backend: hoviat_testkit::backend_from_env(),
    };
    let v = record::verify(&text(file)?, &opts)?;
    let mut out = serde_json::to_value(&v).unwrap_or_default();
    out["verified"] = true.into();
    Ok(out)
}

fn cmd_disclose(file: &str, list: &str, out: &Out) -> Result<serde_json::Value, Failure> {
    let names: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let p = record::disclose(&text(file)?, &names)?;
    out.write(&p)?;
    Ok(serde_json::json!({ "presentation": p, "attributes": names }))
}

/// Test equipment: a test registry, the Iranian-layout registry (`iran/`), a test institution
/// (and a rogue one), card facts for an Iranian-layout holder (0, RSA) and a PIV-like holder
/// (1, P-256), and their software-card keys.
fn cmd_testkit(a: &super::Generate) -> Result<serde_json::Value, Failure> {
    use hoviat_testkit::institution::{self as ti, TestInstitution};
    let dir = std::path::PathBuf::from(&a.out);
    let seed = a.seed();
    let at = a.at().map_err(Failure::Usage)?;
    let d = dir.display().to_string();
    let reg = hoviat_testkit::Registry::generate(seed, at);
    reg.write_to(&dir.join("registry")).map_err(io(&d))?;
    // The Iranian-layout registry: `hoviat sim card --profile ir-nid --pki DIR/iran` is the
    // faithful virtual Iranian card.
    hoviat_testkit::iran::IranRegistry::generate(seed, at)
        .write_to(&dir.join("iran"))
        .map_err(io(&d))?;
    TestInstitution::generate(seed, "hoviat test bank", at)
        .write_to(&dir.join("institution"))
        .map_err(io(&d))?;
    TestInstitution::generate(&format!("{seed}-rogue"), "hoviat test bank", at)
        .write_to(&dir.join("rogue"))
        .map_err(io(&d))?;
    std::fs::create_dir_all(dir.join("cards")).map_err(io(&d))?;
    let ir = ti::iranian_signing_cert(&reg, 0).ok_or_else(|| Failure::Usage(usage("no holder 0")))?;
    let cards = [
        (
            "ir-nid-0",
            ti::card_facts(&reg, 0, ir, "virtual-ir-nid", PinOutcome::Accepted),
        ),
        (
            "piv-1",
            ti::card_facts(
                &reg,
                1,
                reg.holders[1].cert.clone(),
                "virtual-piv",
                PinOutcome::Accepted,
            ),
        ),
    ];
    for (name, facts) in &cards {
        let j = serde_json::to_string_pretty(facts).unwrap_or_default();
        std::fs::write(dir.join("cards").join(format!("{name}.json")), j).map_err(io(&d))?;
    }
    for i in [0usize, 1] {
        use rsa::pkcs8::EncodePrivateKey;
        let der = match &reg.holders[i].key {
            PrivateKey::P256(k) => p256::pkcs8::EncodePrivateKey::to_pkcs8_der(k).map(|d| d.as_bytes().to_vec()),
            PrivateKey::Rsa(k) => k.to_pkcs8_der().map(|d| d.as_bytes().to_vec()),
            _ => continue,
        }
        .map_err(|e| Failure::Usage(usage(format!("PKCS#8: {e}"))))?;
        let pem = hoviat_testkit::Registry::pem("PRIVATE KEY", &der);
        std::fs::write(dir.join("cards").join(format!("holder-{i}.key")), pem).map_err(io(&d))?;
    }
    Ok(serde_json::json!({ "written": d, "seed": seed, "now": at.to_string() }))
}

/// Test equipment: records made and verified per second in this process, from a
/// `record testkit` directory (holder 1's facts, purpose account-opening, PIN accepted).
fn cmd_bench(dir: &str, n: u32, at: Option<&str>, out: &Out) -> Result<serde_json::Value, Failure> {
    let at = at_or(at, UnixTime::now()).map_err(Failure::Usage)?;
    let institution = Institution::from_json(&text(&format!("{dir}/institution/institution.json"))?)?;
    let facts: CardFacts = serde_json::from_str(&text(&format!("{dir}/cards/piv-1.json"))?)
        .map_err(|e| Failure::Usage(usage(e.to_string())))?;
    let key = load_key(&format!("{dir}/institution/terminal.key"))?;
    let mut chain = Vec::new();
    for f in ["terminal.pem", "terminal-ca.pem"] {
        chain.extend(
            hoviat::pki::cert::pem_or_der(
                &read_file(&format!("{dir}/institution/{f}")).map_err(Failure::Usage)?,
                &["CERTIFICATE"],
                1,
                65536,
            )
            .map_err(|e| Failure::Usage(usage(e)))?,
        );
    }
    let mut registry = TrustStore::new();
    registry.add_anchors(&read_file(&format!("{dir}/registry/root.pem")).map_err(Failure::Usage)?)?;
    registry.add_intermediates(&read_file(&format!("{dir}/registry/ca-ec.pem")).map_err(Failure::Usage)?)?;
    let mut ca = TrustStore::new();
    ca.add_anchors(&read_file(&format!("{dir}/institution/root.pem")).map_err(Failure::Usage)?)?;
    let op = OperatorInput {
        national_code: None,
        face_match: Some(true),
    };
    let backend = hoviat_testkit::backend_from_env();
    let mut rng = os_rng()?;
    let t0 = std::time::Instant::now();
    let mut last = String::new();
    for _ in 0..n {
        let req = RecordRequest {
            institution: &institution,
            purpose: "account-opening",
            terminal: "bench",
            operator: "bench",
            at,
            card: &facts,
            operator_input: &op,
            registry: &registry,
            holder_options: record::holder_path_options(at),
            revocation_data: &[],
            decoys: 2,
        };
        last = record::draft(&req, backend, &mut rng)?.seal(&chain, &key as &dyn TerminalSigner, backend)?;
    }
    let made = t0.elapsed().as_secs_f64();
    let opts = VerifyOptions {
        institution_ca: &ca,
        at: None,
        institution: Some(&institution),
        backend,
    };
    let t1 = std::time::Instant::now();
    for _ in 0..n {
        record::verify(&last, &opts)?;
    }
    let verified = t1.elapsed().as_secs_f64();
    out.write(&last)?;
    let per_sec = |s: f64| (f64::from(n) / s.max(1e-9)).round();
    Ok(serde_json::json!({
        "iterations": n, "backend": backend.name(),
        "madePerSecond": per_sec(made), "verifiedPerSecond": per_sec(verified),
        "note": "make = holder chain validation + salts + terminal ES256 seal (+ the seal's self-check); verify = terminal chain + seal + disclosures + level",
    }))
}

pub fn cmd_record(c: &RecordCmd) -> Result<serde_json::Value, Failure> {
    match c {
        RecordCmd::Make(a) => cmd_make(a),
        RecordCmd::Verify {
            file,
            institution_ca,
            institution,
            at,
        } => cmd_verify(file, institution_ca, institution.as_deref(), at.as_deref()),
        RecordCmd::Disclose { file, attributes, out } => cmd_disclose(file, attributes, out),
        RecordCmd::Testkit(a) => cmd_testkit(a),
        RecordCmd::Bench {
            dir,
            iterations,
            at,
            out,
        } => cmd_bench(dir, *iterations, at.as_deref(), out),
    }
}
