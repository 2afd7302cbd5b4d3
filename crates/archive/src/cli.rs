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

/// The records' archive: a transparency log of sealed identity records, with deletable
/// personal data (also the `hoviat-archive` binary).
#[derive(clap::Parser, Debug)]
#[command(name = "hoviat-archive", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The archive's database.
#[derive(clap::Args, Debug)]
pub struct Db {
    /// The archive: sqlite:PATH or postgres://USER@HOST:PORT/NAME
    #[arg(long, value_name = "DB")]
    pub db: String,
}

/// The `archive` commands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Make the log's signing key (writes PREFIX.key and PREFIX.pub)
    Keygen {
        /// The log's origin (the first line of its checkpoints)
        #[arg(long, value_name = "NAME")]
        origin: String,
        /// Where to write the key pair: PREFIX.key and PREFIX.pub
        #[arg(long, value_name = "PREFIX")]
        out: String,
    },
    /// Create the archive and store the log's public key in it
    Init {
        #[command(flatten)]
        db: Db,
        /// The log's public key (from keygen)
        #[arg(long, value_name = "FILE")]
        log_pub: String,
    },
    /// Append sealed records to the log (and sign a checkpoint with --log-key)
    Append {
        #[command(flatten)]
        db: Db,
        /// The record files
        #[arg(value_name = "RECORD", required = true)]
        records: Vec<String>,
        /// The log's signing key: sign a checkpoint after each record
        #[arg(long, value_name = "FILE")]
        log_key: Option<String>,
        /// Check each record's seal against these institution CAs first (may repeat)
        #[arg(long, value_name = "PEM")]
        institution_ca: Vec<String>,
    },
    /// Sign a checkpoint of the whole log
    Checkpoint {
        #[command(flatten)]
        db: Db,
        /// The log's signing key
        #[arg(long, value_name = "FILE")]
        log_key: String,
        /// Also write the checkpoint to FILE
        #[arg(long, value_name = "FILE")]
        out: Option<String>,
    },
    /// Verify the whole log: tree, checkpoints, personal data and optionally the seals
    Verify {
        #[command(flatten)]
        db: Db,
        /// The log's public key (default: the one stored by init)
        #[arg(long, value_name = "FILE")]
        log_pub: Option<String>,
        /// A checkpoint seen earlier: the log must extend it
        #[arg(long, value_name = "CHECKPOINT")]
        previous: Option<String>,
        /// A witness's public key: --previous must carry its cosignature
        #[arg(long, value_name = "FILE")]
        witness_pub: Option<String>,
        /// Check every record's seal against these institution CAs (may repeat)
        #[arg(long, value_name = "PEM")]
        institution_ca: Vec<String>,
    },
    /// Export an entry with its inclusion proof (and a consistency proof with --from-size)
    Prove {
        #[command(flatten)]
        db: Db,
        /// The entry's index in the log
        #[arg(long, value_name = "N")]
        index: Option<String>,
        /// The entry's record id (when --index is not given)
        #[arg(long, value_name = "ID")]
        record_id: Option<String>,
        /// Add a consistency proof from the tree of size M
        #[arg(long, value_name = "M")]
        from_size: Option<String>,
        /// Also write the proof to FILE
        #[arg(long, value_name = "FILE")]
        out: Option<String>,
    },
    /// Verify an exported proof offline
    CheckProof {
        /// The proof (from prove)
        #[arg(value_name = "FILE")]
        file: String,
        /// The log's public key
        #[arg(long, value_name = "FILE")]
        log_pub: String,
    },
    /// Find entries by national code, card reference, time, operator or purpose
    Search {
        #[command(flatten)]
        db: Db,
        /// The holder's national code
        #[arg(long, value_name = "X")]
        national_code: Option<String>,
        /// The card's reference number
        #[arg(long, value_name = "X")]
        crn: Option<String>,
        /// Issued at or after (RFC 3339)
        #[arg(long, value_name = "RFC3339")]
        from: Option<String>,
        /// Issued at or before (RFC 3339)
        #[arg(long, value_name = "RFC3339")]
        to: Option<String>,
        /// The operator's id
        #[arg(long, value_name = "ID")]
        operator: Option<String>,
        /// The purpose's id
        #[arg(long, value_name = "ID")]
        purpose: Option<String>,
    },
    /// Delete the personal data of entries older than DAYS days (the log stays whole)
    Purge {
        #[command(flatten)]
        db: Db,
        /// The age in days, e.g. 365d
        #[arg(long, value_name = "DAYSd")]
        older_than: String,
        /// Count the age from this time (RFC 3339) instead of now
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
    },
    /// The paper copy of an entry: PDF/A-2u (krilla, Vazirmatn embedded) and/or an HTML page
    Print {
        #[command(flatten)]
        db: Db,
        /// The entry's index in the log
        #[arg(long, value_name = "N")]
        index: String,
        /// The language of the page: fa or en
        #[arg(long, value_name = "fa|en")]
        lang: String,
        /// Write the PDF to FILE.pdf
        #[arg(long, value_name = "FILE.pdf")]
        pdf: Option<String>,
        /// Write the HTML page to FILE.html (with --font-url)
        #[arg(long, value_name = "FILE.html")]
        out: Option<String>,
        /// Where the HTML page loads its font from
        #[arg(long, value_name = "URL")]
        font_url: Option<String>,
        /// The institution (institution.json) named on the page
        #[arg(long, value_name = "FILE")]
        institution: Option<String>,
        /// The verification address in the QR code
        #[arg(long, value_name = "URL")]
        verify_url: Option<String>,
    },
    /// Make a witness's cosigning key (writes PREFIX.key and PREFIX.pub)
    WitnessKeygen {
        /// The witness's name
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Where to write the key pair: PREFIX.key and PREFIX.pub
        #[arg(long, value_name = "PREFIX")]
        out: String,
    },
    /// Cosign the latest checkpoint if it extends the one in --state, and store it there
    Witness {
        #[command(flatten)]
        db: Db,
        /// The log's public key
        #[arg(long, value_name = "FILE")]
        log_pub: String,
        /// The witness's signing key
        #[arg(long, value_name = "FILE")]
        witness_key: String,
        /// The checkpoint the witness cosigned last (read, then replaced)
        #[arg(long, value_name = "FILE")]
        state: String,
        /// The cosignature's time (RFC 3339) instead of now
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
    },
}

enum Fail {
    Usage(String),
    Coded(ArchiveError),
}

impl From<ArchiveError> for Fail {
    fn from(e: ArchiveError) -> Self {
        Fail::Coded(e)
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

/// `--at T` (RFC 3339) as Unix seconds, else now.
fn at_or_now(at: Option<&str>) -> Result<i64, Fail> {
    at.map_or(Ok(UnixTime::now().0), time)
}

/// The `hoviat-archive` binary: parses `args` (without the program name) and runs the command.
pub fn run(args: &[String]) -> ExitCode {
    use clap::Parser;
    match Cli::try_parse_from(std::iter::once("hoviat-archive").chain(args.iter().map(String::as_str))) {
        Ok(cli) => execute(cli.command),
        Err(e) => {
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
    }
}

/// Runs one parsed `archive` command; the exit code: 0 ok, 1 a coded failure (JSON on
/// stdout), 2 a usage or I/O error (on stderr).
pub fn execute(command: Command) -> ExitCode {
    let r = match command {
        Command::Keygen { origin, out } => keygen(("origin", &origin), &out, log::log_keypair),
        Command::Init { db, log_pub } => init(&db.db, &log_pub),
        Command::Append {
            db,
            records,
            log_key,
            institution_ca,
        } => append(&db.db, &records, log_key.as_deref(), &institution_ca),
        Command::Checkpoint { db, log_key, out } => checkpoint(&db.db, &log_key, out.as_deref()),
        Command::Verify {
            db,
            log_pub,
            previous,
            witness_pub,
            institution_ca,
        } => verify(
            &db.db,
            log_pub.as_deref(),
            previous.as_deref(),
            witness_pub.as_deref(),
            &institution_ca,
        ),
        Command::Prove {
            db,
            index,
            record_id,
            from_size,
            out,
        } => prove(&db.db, index.or(record_id), from_size.as_deref(), out.as_deref()),
        Command::CheckProof { file, log_pub } => check_proof(&file, &log_pub),
        Command::Search {
            db,
            national_code,
            crn,
            from,
            to,
            operator,
            purpose,
        } => search(&db.db, national_code, crn, from, to, operator, purpose),
        Command::Purge { db, older_than, at } => purge(&db.db, &older_than, at.as_deref()),
        Command::Print {
            db,
            index,
            lang,
            pdf,
            out,
            font_url,
            institution,
            verify_url,
        } => print(&Print {
            db: &db.db,
            index: &index,
            lang: &lang,
            pdf: pdf.as_deref(),
            out: out.as_deref(),
            font_url: font_url.as_deref(),
            institution: institution.as_deref(),
            verify_url: verify_url.as_deref(),
        }),
        Command::WitnessKeygen { name, out } => keygen(("name", &name), &out, crate::witness::witness_keypair),
        Command::Witness {
            db,
            log_pub,
            witness_key,
            state,
            at,
        } => witness(&db.db, &log_pub, &witness_key, &state, at.as_deref()),
    };
    match r {
        Ok(v) => {
            out(&serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(Fail::Usage(m)) => {
            eprintln!(
                "{m}
(hoviat archive --help)"
            );
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

/// Makes a signed-note key pair `(signer key, verifier key)` named `name` from a seed.
type Keypair = fn(&str, [u8; 32]) -> Result<(String, String), ArchiveError>;

/// A signed-note key pair (the log's or a witness's) written to `PREFIX.key` and `PREFIX.pub`;
/// `name` is the JSON key and value naming it.
fn keygen(name: (&str, &str), out: &str, keypair: Keypair) -> Result<Value, Fail> {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let (skey, vkey) = keypair(name.1, seed)?;
    std::fs::write(format!("{out}.key"), format!("{skey}\n")).map_err(|e| Fail::Usage(e.to_string()))?;
    std::fs::write(format!("{out}.pub"), format!("{vkey}\n")).map_err(|e| Fail::Usage(e.to_string()))?;
    Ok(json!({ name.0: name.1, "verifierKey": vkey }))
}

fn init(db: &str, log_pub: &str) -> Result<Value, Fail> {
    let vkey = read(log_pub)?.trim().to_string();
    signed_note::StandardVerifier::new(&vkey).map_err(|e| ArchiveError::KeyInvalid(e.to_string()))?;
    let mut ar = store::open(db)?;
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

fn append(db: &str, records: &[String], log_key: Option<&str>, institution_ca: &[String]) -> Result<Value, Fail> {
    let ca = institution_store(institution_ca)?;
    let skey = match log_key {
        Some(p) => Some(read(p)?.trim().to_string()),
        None => None,
    };
    let origin = skey.as_deref().map(origin_of).unwrap_or_default();
    let mut ar = store::open(db)?;
    let mut out = Vec::new();
    for f in records {
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

fn checkpoint(db: &str, log_key: &str, out: Option<&str>) -> Result<Value, Fail> {
    let skey = read(log_key)?.trim().to_string();
    let mut ar = store::open(db)?;
    let note = ar.checkpoint(&skey, &origin_of(&skey))?;
    if let Some(o) = out {
        std::fs::write(o, &note).map_err(|e| Fail::Usage(e.to_string()))?;
    }
    Ok(json!({ "checkpoint": note }))
}

fn vkey_for(log_pub: Option<&str>, ar: &mut store::Archive) -> Result<(String, &'static str), Fail> {
    match log_pub {
        Some(p) => Ok((read(p)?.trim().to_string(), "file")),
        None => Ok((
            ar.meta("log_vkey")?
                .ok_or_else(|| Fail::Usage("--log-pub is required (the archive was not initialised)".into()))?,
            "database",
        )),
    }
}

fn verify(
    db: &str,
    log_pub: Option<&str>,
    previous: Option<&str>,
    witness_pub: Option<&str>,
    institution_ca: &[String],
) -> Result<Value, Fail> {
    let ca = institution_store(institution_ca)?;
    let previous = match previous {
        Some(p) => Some(read(p)?),
        None => None,
    };
    let mut witnessed = None;
    if let Some(w) = witness_pub {
        let prev = previous
            .as_deref()
            .ok_or_else(|| Fail::Usage("--witness-pub checks the cosignature on --previous".into()))?;
        witnessed = Some(crate::witness::check_cosigned(prev, &read(w)?)?);
    }
    let mut ar = store::open(db)?;
    let (vkey, key_source) = vkey_for(log_pub, &mut ar)?;
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

/// `key`: the entry's index, or its record id.
fn prove(db: &str, key: Option<String>, from_size: Option<&str>, out: Option<&str>) -> Result<Value, Fail> {
    let mut ar = store::open(db)?;
    let key = key.ok_or_else(|| Fail::Usage("--index or --record-id is required".into()))?;
    let e = ar.entry(&key)?;
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
    if let Some(m) = from_size {
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
    if let Some(o) = out {
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
fn check_proof(file: &str, log_pub: &str) -> Result<Value, Fail> {
    let vkey = read(log_pub)?;
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

fn search(
    db: &str,
    national_code: Option<String>,
    crn: Option<String>,
    from: Option<String>,
    to: Option<String>,
    operator: Option<String>,
    purpose: Option<String>,
) -> Result<Value, Fail> {
    let mut q = Query::default();
    if let Some(x) = national_code {
        q.lookups.push(("national_code".into(), x));
    }
    if let Some(x) = crn {
        q.lookups.push(("card_reference".into(), x));
    }
    q.from = from.as_deref().map(time).transpose()?;
    q.to = to.as_deref().map(time).transpose()?;
    q.operator = operator;
    q.purpose = purpose;
    let mut ar = store::open(db)?;
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

fn purge(db: &str, older_than: &str, at: Option<&str>) -> Result<Value, Fail> {
    let days: i64 = older_than
        .trim_end_matches('d')
        .parse()
        .map_err(|_| Fail::Usage("--older-than takes a number of days, e.g. 365d".into()))?;
    let before = at_or_now(at)? - days * 86_400;
    let mut ar = store::open(db)?;
    let n = ar.purge(before)?;
    Ok(json!({ "purged": n, "before": UnixTime(before).to_string() }))
}

/// A witness: takes the log's latest checkpoint, checks the log's signature and, when it has
/// cosigned before, a consistency proof from that checkpoint (obtained from the log, checked
/// against the root the witness kept); refuses to cosign a checkpoint that does not extend it.
fn witness(db: &str, log_pub: &str, witness_key: &str, state: &str, at: Option<&str>) -> Result<Value, Fail> {
    let vkey = read(log_pub)?;
    let wkey = read(witness_key)?;
    let ts = at_or_now(at)?;
    let signer = crate::witness::Cosigner::new(&wkey, u64::try_from(ts).unwrap_or(0))?;
    let mut ar = store::open(db)?;
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

/// `archive print`'s options.
struct Print<'a> {
    db: &'a str,
    index: &'a str,
    lang: &'a str,
    pdf: Option<&'a str>,
    out: Option<&'a str>,
    font_url: Option<&'a str>,
    institution: Option<&'a str>,
    verify_url: Option<&'a str>,
}

/// The paper copy: the PDF (krilla, `--pdf`) and/or the HTML page (`--out`).
fn print(a: &Print) -> Result<Value, Fail> {
    use crate::print::{Lang, PrintView, render_html};
    let lang = match a.lang {
        "fa" => Lang::Fa,
        "en" => Lang::En,
        other => return Err(Fail::Usage(format!("--lang fa|en, not {other:?}"))),
    };
    let inst = match a.institution {
        Some(p) => Some(
            hoviat::record::Institution::from_json(&read(p)?).map_err(|e| ArchiveError::Malformed(e.to_string()))?,
        ),
        None => None,
    };
    let mut ar = store::open(a.db)?;
    let e = ar.entry(a.index)?;
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
    let verify_url = a.verify_url.unwrap_or("https://bank.example.ir/archive/verify");
    if a.out.is_none() && a.pdf.is_none() {
        return Err(Fail::Usage("print needs --pdf FILE and/or --out FILE".into()));
    }
    if let Some(out) = a.out {
        let font_url = a.font_url.ok_or_else(|| Fail::Usage("--font-url is required".into()))?;
        let html = render_html(&view, lang, inst.as_ref(), font_url, verify_url);
        std::fs::write(out, html).map_err(|e| Fail::Usage(e.to_string()))?;
    }
    if let Some(out) = a.pdf {
        let pdf = crate::pdf::render_pdf(&view, lang, inst.as_ref(), verify_url)
            .map_err(|e| ArchiveError::Malformed(format!("PDF: {e}")))?;
        std::fs::write(out, pdf).map_err(|e| Fail::Usage(e.to_string()))?;
    }
    Ok(json!({ "index": e.idx, "recordId": view.record_id, "qr": crate::print::qr_payload(&view, verify_url) }))
}

#[cfg(test)]
mod tests {
    /// clap's own checks of the `archive` commands (unique names, valid defaults).
    #[test]
    fn command_tree() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
