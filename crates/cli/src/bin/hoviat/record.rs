//! `hoviat record make|verify|disclose|testkit`: sealed identity records (hoviat::record).

use hoviat::pki::TrustStore;
use hoviat::record::{
    self, CardFacts, Institution, OperatorInput, PinOutcome, RecordRequest, TerminalSigner, VerifyOptions,
};
use hoviat::time::UnixTime;
use hoviat_testkit::PrivateKey;

use super::{Args, Failure, UsageError, at_time, connect, read_file, read_pin_stdin, status_to_stderr, today, usage};

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

fn write_out(a: &Args, text: &str) -> Result<(), Failure> {
    if let Some(f) = a.opt("out").map_err(Failure::Usage)? {
        std::fs::write(f, text).map_err(io(f))?;
    }
    Ok(())
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

fn certs(a: &Args, flag: &str) -> Result<Vec<Vec<u8>>, Failure> {
    let mut out = Vec::new();
    for f in a.all(flag) {
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

fn u(r: Result<&str, UsageError>) -> Result<&str, Failure> {
    r.map_err(Failure::Usage)
}

fn cmd_make(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(
        raw,
        &[
            "institution",
            "purpose",
            "terminal",
            "operator",
            "terminal-key",
            "terminal-cert",
            "facts",
            "token",
            "registry-anchor",
            "intermediate",
            "crl",
            "national-code",
            "face-match",
            "decoys",
            "at",
            "card-key",
            "out",
            "reader",
        ],
        &["card", "pin-stdin", "card-sign"],
    )
    .map_err(Failure::Usage)?;
    let institution = Institution::from_json(&text(u(a.one("institution"))?)?)?;
    let at = at_time(&a).map_err(Failure::Usage)?;
    // The card: through PC/SC (`--card`), or its facts as JSON (`--facts`, plus `--token`).
    let mut card = None;
    let mut facts: CardFacts = if a.has("card") {
        if a.opt("facts").map_err(Failure::Usage)?.is_some() {
            return Err(Failure::Usage(usage("--card and --facts exclude each other")));
        }
        let mut t = connect(&a)?;
        let f = read_card(&mut t, a.has("pin-stdin"))?;
        card = Some(t);
        f
    } else {
        if a.has("pin-stdin") || a.has("card-sign") {
            return Err(Failure::Usage(usage("--pin-stdin and --card-sign need --card")));
        }
        serde_json::from_str(&text(u(a.one("facts"))?)?).map_err(|e| Failure::Usage(usage(format!("--facts: {e}"))))?
    };
    if let Some(t) = a.opt("token").map_err(Failure::Usage)? {
        let token = hoviat::token::UnverifiedToken::parse(text(t)?.trim())?;
        facts.holder_certificate = token.unverified_certificate;
        facts.intermediates.extend(token.unverified_intermediates);
    }
    let chain = certs(&a, "terminal-cert")?;
    let terminal_key = load_key(u(a.one("terminal-key"))?)?;
    if a.all("registry-anchor").is_empty() {
        return Err(Failure::Usage(usage("at least one --registry-anchor is required")));
    }
    let mut registry = TrustStore::new();
    for f in a.all("registry-anchor") {
        registry.add_anchors(&read_file(f).map_err(Failure::Usage)?)?;
    }
    for f in a.all("intermediate") {
        registry.add_intermediates(&read_file(f).map_err(Failure::Usage)?)?;
    }
    let mut crls = Vec::new();
    for f in a.all("crl") {
        let b = read_file(f).map_err(Failure::Usage)?;
        registry.add_crls(&b)?;
        crls.push(b);
    }
    let face_match = match a.opt("face-match").map_err(Failure::Usage)? {
        None => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(o) => return Err(Failure::Usage(usage(format!("--face-match {o:?}: yes or no")))),
    };
    let op = OperatorInput {
        national_code: a.opt("national-code").map_err(Failure::Usage)?.map(str::to_string),
        face_match,
    };
    let decoys = match a.opt("decoys").map_err(Failure::Usage)? {
        None => 2,
        Some(n) => n
            .parse()
            .map_err(|_| Failure::Usage(usage("--decoys takes a number")))?,
    };
    let backend = hoviat_testkit::backend_from_env();
    let req = RecordRequest {
        institution: &institution,
        purpose: u(a.one("purpose"))?,
        terminal: u(a.one("terminal"))?,
        operator: u(a.one("operator"))?,
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
    if let Some(k) = a.opt("card-key").map_err(Failure::Usage)? {
        let key = load_key(k)?;
        let alg = match &key {
            PrivateKey::P256(_) => hoviat::token::TokenAlg::ES256,
            _ => hoviat::token::TokenAlg::RS256,
        };
        let sig = key.sign_digest(alg.sig_alg(), &alg.hash().digest(&draft.binding_message()), &mut rng);
        draft.attach_card_signature(alg.name(), &sig, backend)?;
    }
    if a.has("card-sign") {
        let t = card
            .as_mut()
            .ok_or_else(|| Failure::Usage(usage("--card-sign needs --card")))?;
        let (alg, sig) = card_sign(t, &facts.holder_certificate, &draft.binding_message())?;
        draft.attach_card_signature(alg.name(), &sig, backend)?;
    }
    let level = draft.level();
    let missing = draft.missing().to_vec();
    let rec = draft.seal(&chain, &terminal_key as &dyn TerminalSigner, backend)?;
    write_out(&a, &rec)?;
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

fn cmd_verify(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &["institution-ca", "institution", "at"], &[]).map_err(Failure::Usage)?;
    let [file] = a.positional.as_slice() else {
        return Err(Failure::Usage(usage("record verify takes one FILE")));
    };
    if a.all("institution-ca").is_empty() {
        return Err(Failure::Usage(usage("at least one --institution-ca is required")));
    }
    let mut ca = TrustStore::new();
    for f in a.all("institution-ca") {
        ca.add_anchors(&read_file(f).map_err(Failure::Usage)?)?;
    }
    let institution = match a.opt("institution").map_err(Failure::Usage)? {
        Some(f) => Some(Institution::from_json(&text(f)?)?),
        None => None,
    };
    let at = match a.opt("at").map_err(Failure::Usage)? {
        Some(_) => Some(at_time(&a).map_err(Failure::Usage)?),
        None => None,
    };
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

fn cmd_disclose(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &["attributes", "out"], &[]).map_err(Failure::Usage)?;
    let [file] = a.positional.as_slice() else {
        return Err(Failure::Usage(usage("record disclose takes one FILE")));
    };
    let list = a.one("attributes").map_err(Failure::Usage)?;
    let names: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let p = record::disclose(&text(file)?, &names)?;
    write_out(&a, &p)?;
    Ok(serde_json::json!({ "presentation": p, "attributes": names }))
}

/// Test equipment: a test registry, the Iranian-layout registry (`iran/`), a test institution
/// (and a rogue one), card facts for an Iranian-layout holder (0, RSA) and a PIV-like holder
/// (1, P-256), and their software-card keys.
fn cmd_testkit(raw: &[String]) -> Result<serde_json::Value, Failure> {
    use hoviat_testkit::institution::{self as ti, TestInstitution};
    let a = Args::parse(raw, &["out", "seed", "at"], &[]).map_err(Failure::Usage)?;
    let dir = std::path::PathBuf::from(a.one("out").map_err(Failure::Usage)?);
    let seed = a.opt("seed").map_err(Failure::Usage)?.unwrap_or("hoviat");
    let at: UnixTime = if a.opt("at").map_err(Failure::Usage)?.is_some() {
        at_time(&a).map_err(Failure::Usage)?
    } else {
        today()
    };
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
fn cmd_bench(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(raw, &["dir", "iterations", "at", "out"], &[]).map_err(Failure::Usage)?;
    let dir = a.one("dir").map_err(Failure::Usage)?;
    let n: u32 = a
        .opt("iterations")
        .map_err(Failure::Usage)?
        .unwrap_or("300")
        .parse()
        .map_err(|_| Failure::Usage(usage("--iterations takes a number")))?;
    let at = at_time(&a).map_err(Failure::Usage)?;
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
    write_out(&a, &last)?;
    let per_sec = |s: f64| (f64::from(n) / s.max(1e-9)).round();
    Ok(serde_json::json!({
        "iterations": n, "backend": backend.name(),
        "madePerSecond": per_sec(made), "verifiedPerSecond": per_sec(verified),
        "note": "make = holder chain validation + salts + terminal ES256 seal (+ the seal's self-check); verify = terminal chain + seal + disclosures + level",
    }))
}

pub fn cmd_record(raw: &[String]) -> Result<serde_json::Value, Failure> {
    let Some((sub, rest)) = raw.split_first() else {
        return Err(Failure::Usage(usage("record takes make, verify, disclose or testkit")));
    };
    match sub.as_str() {
        "make" => cmd_make(rest),
        "verify" => cmd_verify(rest),
        "disclose" => cmd_disclose(rest),
        "testkit" => cmd_testkit(rest),
        "bench" => cmd_bench(rest),
        o => Err(Failure::Usage(usage(format!(
            "record {o:?}: make, verify, disclose or testkit"
        )))),
    }
}
