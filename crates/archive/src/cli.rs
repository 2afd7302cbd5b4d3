//! `hoviat archive ...` (also the `hoviat-archive` binary): [`run`] takes the arguments after
//! `archive` and returns the exit code (0 ok, 1 a coded failure printed as
//! `{"error": {"code", "message"}}` on stdout, 2 a usage error).

use std::collections::HashMap;
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hoviat::error::Coded;
use hoviat::time::UnixTime;
use serde_json::{Value, json};

use crate::error::ArchiveError;
use crate::log;
use crate::store::{self, Query};

const USAGE: &str = "usage:
  hoviat archive keygen --origin NAME --out PREFIX          (writes PREFIX.key and PREFIX.pub)
  hoviat archive init --db DB --log-pub FILE
  hoviat archive append --db DB RECORD... [--log-key FILE] [--institution-ca PEM]...
  hoviat archive checkpoint --db DB --log-key FILE [--out FILE]
  hoviat archive verify --db DB [--log-pub FILE] [--previous CHECKPOINT [--witness-pub FILE]]
                        [--institution-ca PEM]...
  hoviat archive prove --db DB (--index N | --record-id ID) [--from-size M] [--out FILE]
  hoviat archive check-proof FILE --log-pub FILE
  hoviat archive search --db DB [--national-code X] [--crn X] [--from RFC3339] [--to RFC3339]
                        [--operator ID] [--purpose ID]
  hoviat archive purge --db DB --older-than DAYSd [--at RFC3339]
  hoviat archive print --db DB --index N --lang fa|en [--pdf FILE.pdf]
                       [--out FILE.html --font-url URL] [--institution FILE] [--verify-url URL]
      (--pdf: PDF/A-2u made with krilla, Vazirmatn embedded; --out: the HTML page)
  hoviat archive witness-keygen --name NAME --out PREFIX
  hoviat archive witness --db DB --log-pub FILE --witness-key FILE --state FILE [--at RFC3339]
      (cosigns the latest checkpoint if it extends the one in --state, and stores it there)
DB is sqlite:PATH or postgres://USER@HOST:PORT/NAME";

enum Fail {
    Usage(String),
    Coded(ArchiveError),
}

impl From<ArchiveError> for Fail {
    fn from(e: ArchiveError) -> Self {
        Fail::Coded(e)
    }
}

struct Args {
    pos: Vec<String>,
    opts: HashMap<String, Vec<String>>,
}

impl Args {
    fn parse(raw: &[String], known: &[&str]) -> Result<Self, Fail> {
        let mut a = Args {
            pos: vec![],
            opts: HashMap::new(),
        };
        let mut it = raw.iter();
        while let Some(s) = it.next() {
            if let Some(name) = s.strip_prefix("--") {
                if !known.contains(&name) {
                    return Err(Fail::Usage(format!("unknown option --{name}")));
                }
                let v = it
                    .next()
                    .ok_or_else(|| Fail::Usage(format!("--{name} needs a value")))?;
                a.opts.entry(name.to_string()).or_default().push(v.clone());
            } else {
                a.pos.push(s.clone());
            }
        }
        Ok(a)
    }
    fn opt(&self, k: &str) -> Option<&str> {
        self.opts.get(k).and_then(|v| v.last()).map(String::as_str)
    }
    fn req(&self, k: &str) -> Result<&str, Fail> {
        self.opt(k).ok_or_else(|| Fail::Usage(format!("--{k} is required")))
    }
    fn all(&self, k: &str) -> &[String] {
        self.opts.get(k).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn read(path: &str) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| Fail::Usage(format!("{path}: {e}")))
}

fn time(s: &str) -> Result<i64, Fail> {
    UnixTime::parse_rfc3339(s)
        .map(|t| t.0)
        .ok_or_else(|| Fail::Usage(format!("{s:?} is not an RFC 3339 time")))
}

/// Runs `archive` with its arguments (without the leading `archive`).
pub fn run(args: &[String]) -> ExitCode {
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let r = match cmd.as_str() {
        "keygen" => keygen(rest),
        "init" => init(rest),
        "append" => append(rest),
        "checkpoint" => checkpoint(rest),
        "verify" => verify(rest),
        "prove" => prove(rest),
        "check-proof" => check_proof(rest),
        "search" => search(rest),
        "purge" => purge(rest),
        "print" => print(rest),
        "witness-keygen" => witness_keygen(rest),
        "witness" => witness(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Fail::Usage(format!("unknown archive command {other:?}"))),
    };
    match r {
        Ok(v) => {
            out(&serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(Fail::Usage(m)) => {
            eprintln!("{m}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Fail::Coded(e)) => {
            out(&hoviat::error::error_json(&e).to_string());
            ExitCode::from(1)
        }
    }
}

fn out(s: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{s}");
}

fn origin_of(vkey_or_skey: &str) -> String {
    let s = vkey_or_skey.trim();
    let s = s.strip_prefix("PRIVATE+KEY+").unwrap_or(s);
    s.split('+').next().unwrap_or_default().to_string()
}

fn keygen(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["origin", "out"])?;
    let origin = a.req("origin")?;
    let out = a.req("out")?;
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let (skey, vkey) = log::log_keypair(origin, seed)?;
    std::fs::write(format!("{out}.key"), format!("{skey}\n")).map_err(|e| Fail::Usage(e.to_string()))?;
    std::fs::write(format!("{out}.pub"), format!("{vkey}\n")).map_err(|e| Fail::Usage(e.to_string()))?;
    Ok(json!({ "origin": origin, "verifierKey": vkey }))
}

fn init(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["db", "log-pub"])?;
    let vkey = read(a.req("log-pub")?)?.trim().to_string();
    signed_note::StandardVerifier::new(&vkey).map_err(|e| ArchiveError::KeyInvalid(e.to_string()))?;
    let mut ar = store::open(a.req("db")?)?;
    ar.set_meta("log_vkey", &vkey)?;
    Ok(json!({ "engine": ar.engine(), "origin": origin_of(&vkey), "entries": ar.size()? }))
}

fn institution_store(paths: &[String]) -> Result<Option<hoviat::pki::TrustStore>, Fail> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut ca = hoviat::pki::TrustStore::new();
    for p in paths {
        let b = std::fs::read(p).map_err(|e| Fail::Usage(format!("{p}: {e}")))?;
        ca.add_anchors(&b)
            .map_err(|e| ArchiveError::Malformed(format!("{p}: {e}")))?;
    }
    Ok(Some(ca))
}

fn check_seal(ca: &hoviat::pki::TrustStore, record: &str) -> Result<(), ArchiveError> {
    let opts = hoviat::record::VerifyOptions {
        institution_ca: ca,
        at: None,
        institution: None,
        backend: hoviat::pki::alg::default_backend(),
    };
    hoviat::record::verify(record, &opts)
        .map(|_| ())
        .map_err(|e| ArchiveError::RecordInvalid(format!("{} ({})", e, e.code())))
}

fn append(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["db", "log-key", "institution-ca"])?;
    if a.pos.is_empty() {
        return Err(Fail::Usage("append takes one or more RECORD files".into()));
    }
    let ca = institution_store(a.all("institution-ca"))?;
    let skey = match a.opt("log-key") {
        Some(p) => Some(read(p)?.trim().to_string()),
        None => None,
    };
    let origin = skey.as_deref().map(origin_of).unwrap_or_default();
    let mut ar = store::open(a.req("db")?)?;
    let mut out = Vec::new();
    for f in &a.pos {
        let text = read(f)?;
        if let Some(ca) = &ca {
            check_seal(ca, text.trim())?;
        }
        let (leaf, personal) = log::split_record(&text)?;
        let (idx, note) = ar.append(&leaf, &personal, skey.as_deref().map(|k| (k, origin.as_str())))?;
        out.push(json!({ "file": f, "index": idx, "recordId": leaf.record_id, "checkpoint": note }));
    }
    Ok(json!({ "appended": out }))
}

fn checkpoint(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["db", "log-key", "out"])?;
    let skey = read(a.req("log-key")?)?.trim().to_string();
    let mut ar = store::open(a.req("db")?)?;
    let note = ar.checkpoint(&skey, &origin_of(&skey))?;
    if let Some(o) = a.opt("out") {
        std::fs::write(o, &note).map_err(|e| Fail::Usage(e.to_string()))?;
    }
    Ok(json!({ "checkpoint": note }))
}

fn vkey_for(a: &Args, ar: &mut store::Archive) -> Result<(String, &'static str), Fail> {
    match a.opt("log-pub") {
        Some(p) => Ok((read(p)?.trim().to_string(), "file")),
        None => Ok((
            ar.meta("log_vkey")?
                .ok_or_else(|| Fail::Usage("--log-pub is required (the archive was not initialised)".into()))?,
            "database",
        )),
    }
}

fn verify(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["db", "log-pub", "previous", "institution-ca", "witness-pub"])?;
    let ca = institution_store(a.all("institution-ca"))?;
    let previous = match a.opt("previous") {
        Some(p) => Some(read(p)?),
        None => None,
    };
    let mut witnessed = None;
    if let Some(w) = a.opt("witness-pub") {
        let prev = previous
            .as_deref()
            .ok_or_else(|| Fail::Usage("--witness-pub checks the cosignature on --previous".into()))?;
        witnessed = Some(crate::witness::check_cosigned(prev, &read(w)?)?);
    }
    let mut ar = store::open(a.req("db")?)?;
    let (vkey, key_source) = vkey_for(&a, &mut ar)?;
    let started = std::time::Instant::now();
    let entries = ar.entries()?;
    let hashes = ar.all_hashes()?;
    let checkpoints = ar.checkpoints()?;
    let personal = ar.personal_rows()?;
    let st = log::LogState {
        entries: &entries,
        hashes: &hashes,
        checkpoints: &checkpoints,
        personal: &personal,
    };
    let rep = log::verify_log(&st, &vkey, previous.as_deref())?;
    let mut seals = 0;
    if let Some(ca) = &ca {
        let pers: HashMap<u64, &String> = personal.iter().map(|(i, d)| (*i, d)).collect();
        for e in &entries {
            let rec = format!("{}~{}", e.leaf.jwt, pers.get(&e.idx).map(|s| s.as_str()).unwrap_or(""));
            check_seal(ca, &rec).map_err(|err| ArchiveError::EntryAltered(format!("entry {}: {err}", e.idx)))?;
            seals += 1;
        }
    }
    Ok(json!({
        "verified": true, "engine": ar.engine(), "entries": rep.entries, "checkpoints": rep.checkpoints,
        "checkpointSize": rep.checkpoint_size, "root": rep.root, "personal": rep.personal,
        "sealsVerified": seals, "logKey": key_source, "witnessCosignedAt": witnessed, "seconds": started.elapsed().as_secs_f64(),
    }))
}

fn latest_checkpoint(ar: &mut store::Archive) -> Result<log::StoredCheckpoint, Fail> {
    ar.checkpoints()?.pop().ok_or_else(|| {
        Fail::Coded(ArchiveError::NotFound(
            "no checkpoint yet: run archive checkpoint".into(),
        ))
    })
}

fn b64(h: &[tlog_tiles::Hash]) -> Vec<String> {
    h.iter().map(|x| STANDARD.encode(x.0)).collect()
}

fn prove(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["db", "index", "record-id", "from-size", "out"])?;
    let mut ar = store::open(a.req("db")?)?;
    let key = a
        .opt("index")
        .or(a.opt("record-id"))
        .ok_or_else(|| Fail::Usage("--index or --record-id is required".into()))?;
    let e = ar.entry(key)?;
    let cp = latest_checkpoint(&mut ar)?;
    if e.idx >= cp.size {
        return Err(Fail::Coded(ArchiveError::NotFound(format!(
            "entry {} is not covered by the latest checkpoint (size {}) yet",
            e.idx, cp.size
        ))));
    }
    let inclusion = ar.inclusion(cp.size, e.idx)?;
    let personal = ar.personal(e.idx)?;
    let mut v = json!({
        "record": format!("{}~{}", e.leaf.jwt, personal.clone().unwrap_or_default()),
        "personalPurged": personal.is_none(),
        "index": e.idx, "recordId": e.leaf.record_id,
        "leafHash": STANDARD.encode(log::record_hash(e.leaf.jwt.as_bytes()).0),
        "treeSize": cp.size, "inclusion": b64(&inclusion), "checkpoint": cp.note,
    });
    if let Some(m) = a.opt("from-size") {
        let m: u64 = m
            .parse()
            .map_err(|_| Fail::Usage("--from-size takes a number".into()))?;
        if m > cp.size {
            return Err(Fail::Usage(format!(
                "--from-size {m} is larger than the checkpoint ({})",
                cp.size
            )));
        }
        let old = ar.root(m)?;
        v["consistency"] =
            json!({ "fromSize": m, "fromRoot": STANDARD.encode(old.0), "proof": b64(&ar.consistency(cp.size, m)?) });
    }
    if let Some(o) = a.opt("out") {
        std::fs::write(o, serde_json::to_string_pretty(&v).unwrap_or_default())
            .map_err(|e| Fail::Usage(e.to_string()))?;
    }
    Ok(v)
}

fn hashes_of(v: &Value) -> Result<Vec<tlog_tiles::Hash>, ArchiveError> {
    let lines: Vec<String> = v
        .as_array()
        .ok_or_else(|| ArchiveError::Malformed("proof must be an array".into()))?
        .iter()
        .map(|x| x.as_str().unwrap_or_default().to_string())
        .collect();
    log::parse_proof(&lines.join("\n"))
}

/// Verifies an exported proof offline: the checkpoint's signature, the leaf hash of the
/// record's issuer-signed part, its inclusion, and the consistency proof when present.
fn check_proof(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["log-pub"])?;
    let [file] = a.pos.as_slice() else {
        return Err(Fail::Usage("check-proof takes one FILE".into()));
    };
    let vkey = read(a.req("log-pub")?)?;
    let v: Value = serde_json::from_str(&read(file)?).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let cp = log::open_checkpoint(&s("checkpoint"), &vkey)?;
    let (leaf, _) = log::split_record(&s("record"))?;
    let idx = v.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
    log::check_inclusion(
        &hashes_of(&v["inclusion"])?,
        cp.size,
        cp.root,
        idx,
        log::record_hash(leaf.jwt.as_bytes()),
    )?;
    let mut out = json!({ "verified": true, "index": idx, "treeSize": cp.size, "recordId": leaf.record_id });
    if let Some(c) = v.get("consistency") {
        let m = c["fromSize"].as_u64().unwrap_or(0);
        let old = STANDARD
            .decode(c["fromRoot"].as_str().unwrap_or_default())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| ArchiveError::Malformed("fromRoot".into()))?;
        log::check_consistency(&hashes_of(&c["proof"])?, cp.size, cp.root, m, tlog_tiles::Hash(old))
            .map_err(|e| ArchiveError::ProofInvalid(e.to_string()))?;
        out["consistentFrom"] = m.into();
    }
    Ok(out)
}

fn search(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(
        raw,
        &["db", "national-code", "crn", "from", "to", "operator", "purpose"],
    )?;
    let mut q = Query::default();
    if let Some(x) = a.opt("national-code") {
        q.lookups.push(("national_code".into(), x.into()));
    }
    if let Some(x) = a.opt("crn") {
        q.lookups.push(("card_reference".into(), x.into()));
    }
    q.from = a.opt("from").map(time).transpose()?;
    q.to = a.opt("to").map(time).transpose()?;
    q.operator = a.opt("operator").map(str::to_string);
    q.purpose = a.opt("purpose").map(str::to_string);
    let mut ar = store::open(a.req("db")?)?;
    let found = ar.search(&q)?;
    let list: Vec<Value> = found
        .iter()
        .map(|e| {
            json!({ "index": e.idx, "recordId": e.leaf.record_id, "iat": e.leaf.iat, "institution": e.leaf.institution,
                    "terminal": e.leaf.terminal, "operator": e.leaf.operator, "purpose": e.leaf.purpose, "level": e.leaf.level })
        })
        .collect();
    Ok(json!({ "count": list.len(), "entries": list }))
}

fn purge(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["db", "older-than", "at"])?;
    let days: i64 = a
        .req("older-than")?
        .trim_end_matches('d')
        .parse()
        .map_err(|_| Fail::Usage("--older-than takes a number of days, e.g. 365d".into()))?;
    let now = match a.opt("at") {
        Some(t) => time(t)?,
        None => UnixTime::now().0,
    };
    let before = now - days * 86_400;
    let mut ar = store::open(a.req("db")?)?;
    let n = ar.purge(before)?;
    Ok(json!({ "purged": n, "before": UnixTime(before).to_string() }))
}

fn witness_keygen(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["name", "out"])?;
    let name = a.req("name")?;
    let out = a.req("out")?;
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let (skey, vkey) = crate::witness::witness_keypair(name, seed)?;
    std::fs::write(format!("{out}.key"), format!("{skey}\n")).map_err(|e| Fail::Usage(e.to_string()))?;
    std::fs::write(format!("{out}.pub"), format!("{vkey}\n")).map_err(|e| Fail::Usage(e.to_string()))?;
    Ok(json!({ "name": name, "verifierKey": vkey }))
}

/// A witness: takes the log's latest checkpoint, checks the log's signature and, when it has
/// cosigned before, a consistency proof from that checkpoint (obtained from the log, checked
/// against the root the witness kept); refuses to cosign a checkpoint that does not extend it.
fn witness(raw: &[String]) -> Result<Value, Fail> {
    let a = Args::parse(raw, &["db", "log-pub", "witness-key", "state", "at"])?;
    let vkey = read(a.req("log-pub")?)?;
    let wkey = read(a.req("witness-key")?)?;
    let state = a.req("state")?;
    let ts = match a.opt("at") {
        Some(t) => time(t)?,
        None => UnixTime::now().0,
    };
    let signer = crate::witness::Cosigner::new(&wkey, u64::try_from(ts).unwrap_or(0))?;
    let mut ar = store::open(a.req("db")?)?;
    let cp = latest_checkpoint(&mut ar)?;
    let new = log::open_checkpoint(&cp.note, &vkey)?;
    let mut from = None;
    if let Ok(old_note) = std::fs::read_to_string(state) {
        let old = log::open_checkpoint(&old_note, &vkey)?;
        if old.size > new.size {
            return Err(Fail::Coded(ArchiveError::CheckpointNotExtending(format!(
                "the log's checkpoint has size {}, the witness cosigned {} before",
                new.size, old.size
            ))));
        }
        let proof = ar.consistency(new.size, old.size)?;
        log::check_consistency(&proof, new.size, new.root, old.size, old.root)?;
        from = Some(old.size);
    }
    let cosigned = crate::witness::cosign(&cp.note, &signer)?;
    std::fs::write(state, &cosigned).map_err(|e| Fail::Usage(e.to_string()))?;
    Ok(json!({ "cosigned": cosigned, "size": new.size, "consistentFrom": from }))
}

/// The paper copy: the PDF (krilla, `--pdf`) and/or the HTML page (`--out`).
fn print(raw: &[String]) -> Result<Value, Fail> {
    use crate::print::{Lang, PrintView, render_html};
    let a = Args::parse(
        raw,
        &[
            "db",
            "index",
            "lang",
            "font-url",
            "out",
            "pdf",
            "institution",
            "verify-url",
        ],
    )?;
    let lang = match a.req("lang")? {
        "fa" => Lang::Fa,
        "en" => Lang::En,
        other => return Err(Fail::Usage(format!("--lang fa|en, not {other:?}"))),
    };
    let inst = match a.opt("institution") {
        Some(p) => Some(
            hoviat::record::Institution::from_json(&read(p)?).map_err(|e| ArchiveError::Malformed(e.to_string()))?,
        ),
        None => None,
    };
    let mut ar = store::open(a.req("db")?)?;
    let e = ar.entry(a.req("index")?)?;
    let personal = ar.personal(e.idx)?;
    let attributes = personal
        .as_deref()
        .unwrap_or("")
        .split('~')
        .filter(|d| !d.is_empty())
        .map(|d| {
            hoviat::record::sdjwt::Disclosure::parse(d)
                .map(crate::print::attribute_row)
                .map_err(|e| ArchiveError::Malformed(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let view = PrintView::of(&e, attributes, personal.is_none());
    let verify_url = a.opt("verify-url").unwrap_or("https://bank.example.ir/archive/verify");
    if a.opt("out").is_none() && a.opt("pdf").is_none() {
        return Err(Fail::Usage("print needs --pdf FILE and/or --out FILE".into()));
    }
    if let Some(out) = a.opt("out") {
        let html = render_html(&view, lang, inst.as_ref(), a.req("font-url")?, verify_url);
        std::fs::write(out, html).map_err(|e| Fail::Usage(e.to_string()))?;
    }
    if let Some(out) = a.opt("pdf") {
        let pdf = crate::pdf::render_pdf(&view, lang, inst.as_ref(), verify_url)
            .map_err(|e| ArchiveError::Malformed(format!("PDF: {e}")))?;
        std::fs::write(out, pdf).map_err(|e| Fail::Usage(e.to_string()))?;
    }
    Ok(json!({ "index": e.idx, "recordId": view.record_id, "qr": crate::print::qr_payload(&view, verify_url) }))
}
