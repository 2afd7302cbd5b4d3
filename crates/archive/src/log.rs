//! The pure part of the archive: no I/O, no clock, no randomness (bytes, times and keys are
//! passed in). RFC 6962 leaf and tree hashes and proofs (through `tlog_tiles`, Go's sumdb `tlog`
//! ported by Cloudflare, over hashes stored in Go's "stored hash index" layout), C2SP
//! `tlog-checkpoint` signed notes (through `signed_note`, Ed25519), the leaf of a record, the
//! HMAC used for look-ups, and [`verify_log`], which tells an altered, deleted, reordered or
//! truncated entry and a checkpoint that does not extend the previous one apart.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash, HashReader};

use crate::error::ArchiveError;

pub use tlog_tiles::tlog::{record_hash, stored_hash_count, stored_hash_index};

/// What the log keeps of a record: its issuer-signed JWT (only salted digests and non-personal
/// fields) and the clear fields used by searches, plus the disclosures kept apart.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    /// The issuer-signed part (compact JWS): the log's leaf data.
    pub jwt: String,
    /// base64url(SHA-256(jwt)): the record's id.
    pub record_id: String,
    /// `iat`.
    pub iat: i64,
    /// `institution`.
    pub institution: String,
    /// `terminal`.
    pub terminal: String,
    /// `operator`.
    pub operator: String,
    /// `purpose.id`.
    pub purpose: String,
    /// `level`.
    pub level: String,
}

/// The personal part of a record: its disclosures (encoded, as serialised) and the names and
/// values used for keyed look-ups.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Personal {
    /// `D1~D2~...~` (what is deleted by purge).
    pub disclosures: String,
    /// (kind, value) pairs for look-ups: `national_code`, `card_reference`.
    pub lookups: Vec<(String, String)>,
}

/// The attributes that can be looked up (through an HMAC, never in the clear).
pub const LOOKUP_KINDS: [&str; 2] = ["national_code", "card_reference"];

/// The record id: base64url(SHA-256(the issuer-signed JWT)).
pub fn record_id(jwt: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(jwt.as_bytes()))
}

/// Splits a record (SD-JWT) into its leaf and its personal part. Verifies nothing.
pub fn split_record(record: &str) -> Result<(Leaf, Personal), ArchiveError> {
    let p = hoviat::record::sdjwt::parse(record.trim()).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    let leaf = leaf_from_jwt(&p.jwt, &p.payload)?;
    let mut personal = Personal::default();
    for d in &p.disclosures {
        personal.disclosures.push_str(&d.encoded);
        personal.disclosures.push('~');
        if LOOKUP_KINDS.contains(&d.name.as_str()) {
            let v = d.value.get("value").unwrap_or(&d.value);
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            personal.lookups.push((d.name.clone(), v));
        }
    }
    Ok((leaf, personal))
}

fn leaf_from_jwt(jwt: &str, p: &Map<String, Value>) -> Result<Leaf, ArchiveError> {
    let s = |k: &str| -> Result<String, ArchiveError> {
        p.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ArchiveError::Malformed(format!("record claim {k} missing")))
    };
    Ok(Leaf {
        jwt: jwt.to_string(),
        record_id: record_id(jwt),
        iat: p
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| ArchiveError::Malformed("record claim iat missing".into()))?,
        institution: s("institution")?,
        terminal: s("terminal")?,
        operator: s("operator")?,
        purpose: p
            .get("purpose")
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        level: s("level").unwrap_or_default(),
    })
}

/// Re-derives a leaf's search fields from its JWT (to check the stored columns).
pub fn leaf_of_jwt(jwt: &str) -> Result<Leaf, ArchiveError> {
    let p = hoviat::record::sdjwt::parse(&format!("{jwt}~")).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    leaf_from_jwt(&p.jwt, &p.payload)
}

/// The `_sd` digests of a JWT.
pub fn sd_digests(jwt: &str) -> Result<Vec<String>, ArchiveError> {
    let p = hoviat::record::sdjwt::parse(&format!("{jwt}~")).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    Ok(p.payload
        .get("_sd")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default())
}

/// The keyed look-up value of an attribute: hex(HMAC-SHA256(key, kind ":" value)).
pub fn lookup_mac(key: &[u8], kind: &str, value: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(kind.as_bytes());
    m.update(b":");
    m.update(value.trim().as_bytes());
    hex(&m.finalize().into_bytes())
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses 64 hex digits as a hash.
pub fn hash_from_hex(s: &str) -> Result<Hash, ArchiveError> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return Err(ArchiveError::Malformed(format!("hash {s:?} is not 64 hex digits")));
    }
    let mut out = [0u8; 32];
    for (i, c) in b.chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(c).unwrap_or("zz"), 16)
            .map_err(|_| ArchiveError::Malformed(format!("hash {s:?} is not hex")))?;
    }
    Ok(Hash(out))
}

/// An in-memory [`HashReader`] over stored hashes by index.
pub struct MemHashes<'a>(pub &'a HashMap<u64, Hash>);

impl HashReader for MemHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::tlog::Error> {
        indexes
            .iter()
            .map(|i| self.0.get(i).copied().ok_or(tlog_tiles::tlog::Error::IndexesNotInTree))
            .collect()
    }
}

/// The hashes to store when appending record `n` (stored hash indexes
/// `stored_hash_count(n)..stored_hash_count(n + 1)`).
pub fn new_hashes<R: HashReader>(n: u64, leaf: &[u8], r: &R) -> Result<Vec<Hash>, ArchiveError> {
    tlog_tiles::tlog::stored_hashes(n, leaf, r).map_err(|e| ArchiveError::Db(format!("stored hashes: {e}")))
}

/// The root of the tree of size `n`.
pub fn tree_root<R: HashReader>(n: u64, r: &R) -> Result<Hash, ArchiveError> {
    tlog_tiles::tlog::tree_hash(n, r).map_err(|e| ArchiveError::Db(format!("tree hash: {e}")))
}

/// The inclusion proof (RFC 9162 audit path, leaf upwards) of record `i` in the tree of size `n`.
pub fn inclusion_proof<R: HashReader>(n: u64, i: u64, r: &R) -> Result<Vec<Hash>, ArchiveError> {
    tlog_tiles::tlog::prove_record(n, i, r).map_err(|e| ArchiveError::Db(format!("inclusion proof: {e}")))
}

/// The consistency proof from size `m` to size `n`.
pub fn consistency_proof<R: HashReader>(n: u64, m: u64, r: &R) -> Result<Vec<Hash>, ArchiveError> {
    if m == 0 || m == n {
        return Ok(vec![]);
    }
    tlog_tiles::tlog::prove_tree(n, m, r).map_err(|e| ArchiveError::Db(format!("consistency proof: {e}")))
}

/// Checks an inclusion proof.
pub fn check_inclusion(proof: &[Hash], n: u64, root: Hash, i: u64, leaf_hash: Hash) -> Result<(), ArchiveError> {
    tlog_tiles::tlog::check_record(&proof.to_vec(), n, root, i, leaf_hash)
        .map_err(|e| ArchiveError::ProofInvalid(format!("inclusion of {i} in {n}: {e}")))
}

/// Checks a consistency proof from (m, old) to (n, new).
pub fn check_consistency(proof: &[Hash], n: u64, new: Hash, m: u64, old: Hash) -> Result<(), ArchiveError> {
    if m > n {
        return Err(ArchiveError::CheckpointNotExtending(format!(
            "size {n} is smaller than {m}"
        )));
    }
    if m == 0 {
        return Ok(());
    }
    if m == n {
        return if new == old {
            Ok(())
        } else {
            Err(ArchiveError::CheckpointNotExtending(format!("two roots for size {n}")))
        };
    }
    tlog_tiles::tlog::check_tree(&proof.to_vec(), n, new, m, old)
        .map_err(|e| ArchiveError::CheckpointNotExtending(format!("size {m} to {n}: {e}")))
}

/// A log signing key (`PRIVATE+KEY+name+id+base64`) and its verifier key (`name+id+base64`), in
/// the Go note formats, made from 32 random bytes the caller supplies.
pub fn log_keypair(origin: &str, seed: [u8; 32]) -> Result<(String, String), ArchiveError> {
    if !signed_note::is_key_name_valid(origin) {
        return Err(ArchiveError::KeyInvalid(format!("{origin:?} is not a valid key name")));
    }
    let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
    let vkey = signed_note::new_ed25519_verifier_key(origin, &sk.verifying_key());
    let mut priv_ = vec![1u8];
    priv_.extend_from_slice(&seed);
    let mut pubk = vec![1u8];
    pubk.extend_from_slice(sk.verifying_key().as_bytes());
    let skey = format!(
        "PRIVATE+KEY+{origin}+{:08x}+{}",
        signed_note::key_id(origin, &pubk),
        STANDARD.encode(priv_)
    );
    Ok((skey, vkey))
}

/// A signed checkpoint (the note text) for `origin`, size `n`, root `root`.
pub fn sign_checkpoint(skey: &str, origin: &str, n: u64, root: Hash) -> Result<String, ArchiveError> {
    let signer = StandardSigner::new(skey.trim()).map_err(|e| ArchiveError::KeyInvalid(e.to_string()))?;
    let cp = Checkpoint::new(origin, n, root, "").map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    let mut note = Note::new(&cp.to_bytes(), &[]).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    note.add_sigs(&[&signer])
        .map_err(|e| ArchiveError::KeyInvalid(e.to_string()))?;
    String::from_utf8(note.to_bytes()).map_err(|e| ArchiveError::Malformed(e.to_string()))
}

/// An opened checkpoint whose log signature verified.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenCheckpoint {
    /// The log's origin line.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Signatures by keys other than the log's (witness cosignatures), not checked here.
    pub other_signatures: usize,
}

/// Verifies a signed checkpoint note with the log's verifier key; its origin must be the key's
/// name.
pub fn open_checkpoint(note: &str, vkey: &str) -> Result<OpenCheckpoint, ArchiveError> {
    let v = StandardVerifier::new(vkey.trim()).map_err(|e| ArchiveError::KeyInvalid(e.to_string()))?;
    let name = signed_note::Verifier::name(&v).to_string();
    let n = Note::from_bytes(note.as_bytes()).map_err(|e| ArchiveError::Malformed(format!("checkpoint note: {e}")))?;
    let (_, others) = n
        .verify(&VerifierList::new(vec![Box::new(v)]))
        .map_err(|e| ArchiveError::CheckpointSignatureInvalid(e.to_string()))?;
    let cp = Checkpoint::from_bytes(n.text()).map_err(|e| ArchiveError::Malformed(format!("checkpoint: {e}")))?;
    if cp.origin() != name {
        return Err(ArchiveError::CheckpointSignatureInvalid(format!(
            "checkpoint origin {:?} is not the log key's name {name:?}",
            cp.origin()
        )));
    }
    Ok(OpenCheckpoint {
        origin: cp.origin().to_string(),
        size: cp.size(),
        root: *cp.hash(),
        other_signatures: others.len(),
    })
}

/// Encodes hashes one base64 per line (how proofs are stored and exported).
pub fn proof_text(p: &[Hash]) -> String {
    p.iter().map(|h| STANDARD.encode(h.0) + "\n").collect()
}

/// Parses [`proof_text`].
pub fn parse_proof(s: &str) -> Result<Vec<Hash>, ArchiveError> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let b = STANDARD
                .decode(l)
                .map_err(|e| ArchiveError::Malformed(format!("proof line: {e}")))?;
            let a: [u8; 32] = b
                .try_into()
                .map_err(|_| ArchiveError::Malformed("proof hash is not 32 bytes".into()))?;
            Ok(Hash(a))
        })
        .collect()
}

/// A stored log entry as read back.
#[derive(Clone, Debug)]
pub struct StoredEntry {
    /// Position.
    pub idx: u64,
    /// The leaf and its columns.
    pub leaf: Leaf,
}

/// A stored checkpoint as read back.
#[derive(Clone, Debug)]
pub struct StoredCheckpoint {
    /// Order of creation.
    pub seq: u64,
    /// The size column.
    pub size: u64,
    /// The signed note.
    pub note: String,
    /// Consistency proof from the previous checkpoint ([`proof_text`]).
    pub proof: String,
}

/// What [`verify_log`] checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogReport {
    /// Entries.
    pub entries: u64,
    /// Checkpoints verified.
    pub checkpoints: u64,
    /// The latest checkpoint's size.
    pub checkpoint_size: u64,
    /// The recomputed root of the whole log (hex).
    pub root: String,
    /// Entries with personal data still present.
    pub personal: u64,
}

/// Everything the verifier reads from storage.
pub struct LogState<'a> {
    /// Entries in index order (as stored: possibly with gaps).
    pub entries: &'a [StoredEntry],
    /// Stored tree hashes by stored hash index.
    pub hashes: &'a HashMap<u64, Hash>,
    /// Checkpoints in creation order.
    pub checkpoints: &'a [StoredCheckpoint],
    /// Personal rows: (idx, disclosures).
    pub personal: &'a [(u64, String)],
}

/// Verifies a whole log: entries contiguous (else `ARCHIVE_ENTRY_DELETED`), each entry hashing
/// to the leaf hash committed when it was appended (else `ARCHIVE_ENTRIES_REORDERED` when the
/// changed entries are a permutation of the committed ones, `ARCHIVE_ENTRY_ALTERED` otherwise),
/// the stored tree equal to the one recomputed from the entries, every checkpoint signed by the log key and extending the previous one by
/// its consistency proof (`ARCHIVE_CHECKPOINT_NOT_EXTENDING`), no checkpoint larger than the log
/// (`ARCHIVE_LOG_TRUNCATED`), each checkpoint's root equal to the recomputed root
/// (`ARCHIVE_ROOT_MISMATCH`), the search columns equal to the leaf's claims, a previously seen checkpoint (`previous`) a prefix of the log, and
/// every personal row's disclosures among its leaf's digests.
pub fn verify_log(st: &LogState<'_>, vkey: &str, previous: Option<&str>) -> Result<LogReport, ArchiveError> {
    // 1. Contiguous indexes.
    for (k, e) in st.entries.iter().enumerate() {
        if e.idx != k as u64 {
            return Err(ArchiveError::EntryDeleted(k as u64));
        }
    }
    let n = st.entries.len() as u64;
    // 2. Checkpoints: signatures, the chain of consistency proofs, sizes.
    let mut opened = Vec::new();
    let mut prev: Option<OpenCheckpoint> = None;
    for c in st.checkpoints {
        let o = open_checkpoint(&c.note, vkey)?;
        if o.size != c.size {
            return Err(ArchiveError::CheckpointSignatureInvalid(format!(
                "checkpoint {} size column {} but the signed size is {}",
                c.seq, c.size, o.size
            )));
        }
        if let Some(p) = &prev {
            check_consistency(&parse_proof(&c.proof)?, o.size, o.root, p.size, p.root).map_err(|e| match e {
                ArchiveError::CheckpointNotExtending(d) => {
                    ArchiveError::CheckpointNotExtending(format!("checkpoint {}: {d}", c.seq))
                }
                other => other,
            })?;
        }
        prev = Some(o.clone());
        opened.push(o);
    }
    let latest = opened.iter().map(|o| o.size).max().unwrap_or(0);
    if n < latest {
        return Err(ArchiveError::LogTruncated { rows: n, size: latest });
    }
    // 3. Each entry against the leaf hash committed at append time.
    let computed: Vec<Hash> = st.entries.iter().map(|e| record_hash(e.leaf.jwt.as_bytes())).collect();
    let mut changed = Vec::new();
    for (i, h) in computed.iter().enumerate() {
        if st.hashes.get(&stored_hash_index(0, i as u64)) != Some(h) {
            changed.push(i as u64);
        }
    }
    if !changed.is_empty() {
        let mut a: Vec<[u8; 32]> = changed.iter().map(|&i| computed[i as usize].0).collect();
        let mut b: Vec<[u8; 32]> = changed
            .iter()
            .map(|&i| st.hashes.get(&stored_hash_index(0, i)).map(|h| h.0).unwrap_or_default())
            .collect();
        a.sort();
        b.sort();
        if changed.len() > 1 && a == b {
            return Err(ArchiveError::EntriesReordered(changed));
        }
        return Err(ArchiveError::EntryAltered(format!(
            "entry {} does not hash to its committed leaf",
            changed[0]
        )));
    }
    // 4. The stored tree against the one recomputed from the entries.
    let mut mem: HashMap<u64, Hash> = HashMap::with_capacity(st.hashes.len());
    for (i, e) in st.entries.iter().enumerate() {
        let start = stored_hash_count(i as u64);
        for (k, h) in new_hashes(i as u64, e.leaf.jwt.as_bytes(), &MemHashes(&mem))?
            .into_iter()
            .enumerate()
        {
            mem.insert(start + k as u64, h);
        }
    }
    for (id, h) in &mem {
        if st.hashes.get(id) != Some(h) {
            return Err(ArchiveError::EntryAltered(format!(
                "stored tree hash {id} differs from the entries"
            )));
        }
    }
    let r = MemHashes(&mem);
    // 5. Every checkpoint's root against the recomputed tree.
    for o in &opened {
        let root = tree_root(o.size, &r)?;
        if root != o.root {
            return Err(ArchiveError::RootMismatch(format!(
                "the first {} entries hash to {}, the checkpoint says {}",
                o.size,
                hex(&root.0),
                hex(&o.root.0)
            )));
        }
    }
    // 6. Search columns against the leaves.
    for e in st.entries {
        let d = leaf_of_jwt(&e.leaf.jwt)?;
        if d != e.leaf {
            return Err(ArchiveError::EntryAltered(format!(
                "entry {}: its search columns differ from its sealed claims",
                e.idx
            )));
        }
    }
    // 7. A checkpoint seen earlier (by an auditor or a witness) must be a prefix of this log.
    if let Some(p) = previous {
        let o = open_checkpoint(p, vkey)?;
        if o.size > n {
            return Err(ArchiveError::CheckpointNotExtending(format!(
                "a checkpoint seen earlier has size {}, the log only {n}",
                o.size
            )));
        }
        if tree_root(o.size, &r)? != o.root {
            return Err(ArchiveError::CheckpointNotExtending(format!(
                "the log does not extend the checkpoint of size {} seen earlier",
                o.size
            )));
        }
    }
    // 8. Personal rows belong to their entries.
    for (idx, disc) in st.personal {
        let e = st
            .entries
            .get(*idx as usize)
            .ok_or_else(|| ArchiveError::PersonalMismatch(format!("personal data for missing entry {idx}")))?;
        let sd = sd_digests(&e.leaf.jwt)?;
        for d in disc.split('~').filter(|d| !d.is_empty()) {
            if !sd.contains(&hoviat::record::sdjwt::disclosure_digest(d)) {
                return Err(ArchiveError::PersonalMismatch(format!(
                    "entry {idx}: a disclosure is not among its sealed digests"
                )));
            }
        }
    }
    Ok(LogReport {
        entries: n,
        checkpoints: opened.len() as u64,
        checkpoint_size: latest,
        root: hex(&tree_root(n, &r)?.0),
        personal: st.personal.len() as u64,
    })
}
