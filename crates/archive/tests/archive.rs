//! The archive's log, store and verifier on SQLite, with synthetic records (the seal is not
//! checked here: scripts/archive-tests.sh appends real sealed records and checks their seals).

use std::collections::HashMap;

use hoviat::error::Coded;
use hoviat::record::sdjwt::{Disclosure, b64url};
use hoviat_archive::log::{self, LogState, MemHashes};
use hoviat_archive::store::{self, Query};
use serde_json::json;
use tlog_tiles::Hash;

const ORIGIN: &str = "archive.test.example/log";

fn keys() -> (String, String) {
    log::log_keypair(ORIGIN, [7u8; 32]).unwrap()
}

/// A record-shaped SD-JWT (unsealed: a zero signature) with a national code and a CRN.
fn record(i: u32, national_code: &str) -> String {
    let d1 = Disclosure::new(
        &[i as u8; 16],
        "national_code",
        json!({"value": national_code, "provenance": "operator"}),
    );
    let d2 = Disclosure::new(
        &[i as u8 ^ 0x55; 16],
        "card_reference",
        json!({"value": "4200000000", "provenance": "chip-certificate"}),
    );
    let header = json!({"alg": "ES256", "typ": "dc+sd-jwt"});
    let payload = json!({
        "vct": hoviat::record::VCT, "iat": 1_795_428_000 + i64::from(i) * 86_400, "institution": "bank-1",
        "terminal": "branch-1/counter-1", "operator": if i.is_multiple_of(2) { "operator-7" } else { "operator-9" },
        "purpose": {"id": "account-opening", "attributes": ["national_code", "card_reference"]},
        "level": "certificate", "_sd": [d1.digest(), d2.digest()], "_sd_alg": "sha-256",
    });
    format!(
        "{}.{}.{}~{}~{}~",
        b64url(header.to_string().as_bytes()),
        b64url(payload.to_string().as_bytes()),
        b64url(&[0u8; 64]),
        d1.encoded,
        d2.encoded
    )
}

fn tmpdb(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("hoviat-archive-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    dir.to_string_lossy().into_owned()
}

fn filled(name: &str, n: u32) -> String {
    let path = tmpdb(name);
    let (skey, _) = keys();
    let mut a = store::open(&format!("sqlite:{path}")).unwrap();
    for i in 0..n {
        let (leaf, personal) =
            log::split_record(&record(i, if i < n / 2 { "0076229645" } else { "1234567891" })).unwrap();
        let (idx, note) = a.append(&leaf, &personal, Some((&skey, ORIGIN))).unwrap();
        assert_eq!(idx, u64::from(i));
        assert!(note.is_some());
    }
    path
}

fn verify(path: &str) -> Result<log::LogReport, hoviat_archive::ArchiveError> {
    let mut a = store::open(&format!("sqlite:{path}")).unwrap();
    let (entries, hashes, cps, personal) = (
        a.entries().unwrap(),
        a.all_hashes().unwrap(),
        a.checkpoints().unwrap(),
        a.personal_rows().unwrap(),
    );
    let st = LogState {
        entries: &entries,
        hashes: &hashes,
        checkpoints: &cps,
        personal: &personal,
    };
    log::verify_log(&st, &keys().1, None)
}

fn tampered(name: &str, sql: &str) -> &'static str {
    let path = filled(name, 10);
    rusqlite::Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    let code = verify(&path).err().map(|e| e.code()).unwrap_or("PASSED");
    let _ = std::fs::remove_file(&path);
    code
}

#[test]
fn rfc6962_known_answer() {
    // The certificate-transparency test vectors (RFC 6962 reference tests, merkle_tree_test).
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let mut mem = HashMap::new();
    for (i, l) in leaves.iter().enumerate() {
        let start = log::stored_hash_count(i as u64);
        for (k, h) in log::new_hashes(i as u64, l, &MemHashes(&mem))
            .unwrap()
            .into_iter()
            .enumerate()
        {
            mem.insert(start + k as u64, h);
        }
    }
    let root = log::tree_root(8, &MemHashes(&mem)).unwrap();
    assert_eq!(
        log::hex(&root.0),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    let root1 = log::tree_root(1, &MemHashes(&mem)).unwrap();
    assert_eq!(
        log::hex(&root1.0),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
}

#[test]
fn proofs_round_trip_and_fail_when_changed() {
    let mut mem = HashMap::new();
    for i in 0..20u64 {
        let start = log::stored_hash_count(i);
        for (k, h) in log::new_hashes(i, &i.to_be_bytes(), &MemHashes(&mem))
            .unwrap()
            .into_iter()
            .enumerate()
        {
            mem.insert(start + k as u64, h);
        }
    }
    let r = MemHashes(&mem);
    for n in 1..=20u64 {
        let root = log::tree_root(n, &r).unwrap();
        for i in 0..n {
            let p = log::inclusion_proof(n, i, &r).unwrap();
            let lh = log::record_hash(&i.to_be_bytes());
            log::check_inclusion(&p, n, root, i, lh).unwrap();
            assert!(log::check_inclusion(&p, n, root, (i + 1) % n.max(2), lh).is_err() || n == 1);
            if let Some(first) = p.first() {
                let mut bad = p.clone();
                bad[0] = Hash([first.0[0] ^ 1; 32]);
                assert!(log::check_inclusion(&bad, n, root, i, lh).is_err());
            }
        }
        for m in 1..=n {
            let old = log::tree_root(m, &r).unwrap();
            let p = log::consistency_proof(n, m, &r).unwrap();
            log::check_consistency(&p, n, root, m, old).unwrap();
            if m < n {
                let mut bad = p.clone();
                bad[0].0[3] ^= 1;
                assert_eq!(
                    log::check_consistency(&bad, n, root, m, old).unwrap_err().code(),
                    "ARCHIVE_CHECKPOINT_NOT_EXTENDING"
                );
            }
        }
    }
}

#[test]
fn checkpoint_notes_sign_and_refuse_another_key() {
    let (skey, vkey) = keys();
    let note = log::sign_checkpoint(&skey, ORIGIN, 3, Hash([9; 32])).unwrap();
    assert!(note.starts_with(&format!("{ORIGIN}\n3\n")));
    assert!(note.contains("\n\n\u{2014} archive.test.example/log "));
    let o = log::open_checkpoint(&note, &vkey).unwrap();
    assert_eq!((o.size, o.root), (3, Hash([9; 32])));
    let (_, other) = log::log_keypair(ORIGIN, [8u8; 32]).unwrap();
    assert_eq!(
        log::open_checkpoint(&note, &other).unwrap_err().code(),
        "ARCHIVE_CHECKPOINT_SIGNATURE_INVALID"
    );
    let changed = note.replacen("\n3\n", "\n4\n", 1);
    assert_eq!(
        log::open_checkpoint(&changed, &vkey).unwrap_err().code(),
        "ARCHIVE_CHECKPOINT_SIGNATURE_INVALID"
    );
}

#[test]
fn sqlite_log_verifies() {
    let path = filled("ok", 9);
    let r = verify(&path).unwrap();
    assert_eq!((r.entries, r.checkpoints, r.checkpoint_size, r.personal), (9, 9, 9, 9));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn altered_entry() {
    assert_eq!(
        tampered(
            "alter",
            "UPDATE log_entries SET leaf = substr(leaf, 1, 99) || CASE WHEN substr(leaf, 100, 1) = 'A' THEN 'B' ELSE 'A' END || substr(leaf, 101) WHERE idx = 4"
        ),
        "ARCHIVE_ENTRY_ALTERED"
    );
    assert_eq!(
        tampered("column", "UPDATE log_entries SET operator = 'x' WHERE idx = 4"),
        "ARCHIVE_ENTRY_ALTERED"
    );
}

#[test]
fn deleted_entry() {
    assert_eq!(
        tampered("delete", "DELETE FROM log_entries WHERE idx = 3"),
        "ARCHIVE_ENTRY_DELETED"
    );
}

#[test]
fn reordered_entries() {
    assert_eq!(
        tampered(
            "swap",
            "UPDATE log_entries SET idx = -1 WHERE idx = 2; UPDATE log_entries SET idx = 2 WHERE idx = 7; \
             UPDATE log_entries SET idx = 7 WHERE idx = -1"
        ),
        "ARCHIVE_ENTRIES_REORDERED"
    );
}

#[test]
fn truncated_log() {
    assert_eq!(
        tampered("trunc", "DELETE FROM log_entries WHERE idx >= 8"),
        "ARCHIVE_LOG_TRUNCATED"
    );
}

#[test]
fn rewritten_tree_and_checkpoints() {
    // Leaves and stored hashes changed together: only the signed root tells.
    let path = filled("rewrite", 6);
    let c = rusqlite::Connection::open(&path).unwrap();
    let leaf: String = c
        .query_row("SELECT leaf FROM log_entries WHERE idx = 5", [], |r| r.get(0))
        .unwrap();
    let mut changed = leaf.clone().into_bytes();
    changed[99] = if changed[99] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    let lh = log::record_hash(changed.as_bytes());
    c.execute("UPDATE log_entries SET leaf = ?1 WHERE idx = 5", [&changed])
        .unwrap();
    c.execute(
        "UPDATE tree_hashes SET hash = ?1 WHERE id = ?2",
        rusqlite::params![log::hex(&lh.0), log::stored_hash_index(0, 5) as i64],
    )
    .unwrap();
    // Recompute the one internal node above it (level 1, index 2) so the stored tree is coherent.
    let l4: String = c
        .query_row(
            "SELECT hash FROM tree_hashes WHERE id = ?1",
            [log::stored_hash_index(0, 4) as i64],
            |r| r.get(0),
        )
        .unwrap();
    let n = tlog_tiles::tlog::node_hash(log::hash_from_hex(&l4).unwrap(), lh);
    c.execute(
        "UPDATE tree_hashes SET hash = ?1 WHERE id = ?2",
        rusqlite::params![log::hex(&n.0), log::stored_hash_index(1, 2) as i64],
    )
    .unwrap();
    drop(c);
    assert_eq!(verify(&path).unwrap_err().code(), "ARCHIVE_ROOT_MISMATCH");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn checkpoint_not_extending() {
    let path = filled("fork", 6);
    let (skey, _) = keys();
    let forged = log::sign_checkpoint(&skey, ORIGIN, 7, Hash([1; 32])).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO checkpoints (seq, size, note, proof) VALUES (100, 7, ?1, '')",
            [&forged],
        )
        .unwrap();
    assert_eq!(verify(&path).unwrap_err().code(), "ARCHIVE_CHECKPOINT_NOT_EXTENDING");
    // A checkpoint seen earlier that this log does not extend.
    let path2 = filled("fork2", 6);
    let mut a = store::open(&format!("sqlite:{path2}")).unwrap();
    let (entries, hashes, cps, personal) = (
        a.entries().unwrap(),
        a.all_hashes().unwrap(),
        a.checkpoints().unwrap(),
        a.personal_rows().unwrap(),
    );
    let st = LogState {
        entries: &entries,
        hashes: &hashes,
        checkpoints: &cps,
        personal: &personal,
    };
    let seen = log::sign_checkpoint(&skey, ORIGIN, 4, Hash([2; 32])).unwrap();
    assert_eq!(
        log::verify_log(&st, &keys().1, Some(&seen)).unwrap_err().code(),
        "ARCHIVE_CHECKPOINT_NOT_EXTENDING"
    );
    let good = log::sign_checkpoint(&skey, ORIGIN, 4, a.root(4).unwrap()).unwrap();
    log::verify_log(&st, &keys().1, Some(&good)).unwrap();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&path2);
}

#[test]
fn personal_mismatch() {
    assert_eq!(
        tampered(
            "personal",
            "UPDATE personal SET disclosures = (SELECT disclosures FROM personal WHERE idx = 1) WHERE idx = 2"
        ),
        "ARCHIVE_PERSONAL_MISMATCH"
    );
}

#[test]
fn purge_keeps_the_log_and_forgets_personal_data() {
    let path = filled("purge", 8);
    let before = std::fs::read(&path).unwrap();
    let disc0 = log::split_record(&record(0, "0076229645")).unwrap().1.disclosures;
    let first = disc0.split('~').next().unwrap().to_string();
    assert!(before.windows(first.len()).any(|w| w == first.as_bytes()));
    let mut a = store::open(&format!("sqlite:{path}")).unwrap();
    let q = |nc: &str| Query {
        lookups: vec![("national_code".into(), nc.into())],
        ..Default::default()
    };
    assert_eq!(a.search(&q("0076229645")).unwrap().len(), 4);
    // Records 0..3 are older than iat of record 4.
    assert_eq!(a.purge(1_795_428_000 + 4 * 86_400).unwrap(), 4);
    assert_eq!(a.search(&q("0076229645")).unwrap().len(), 0);
    assert_eq!(a.search(&q("1234567891")).unwrap().len(), 4);
    let crn = Query {
        lookups: vec![("card_reference".into(), "4200000000".into())],
        ..Default::default()
    };
    assert_eq!(a.search(&crn).unwrap().len(), 4);
    drop(a);
    let after = std::fs::read(&path).unwrap();
    assert!(
        !after.windows(first.len()).any(|w| w == first.as_bytes()),
        "a purged disclosure is still in the file"
    );
    let r = verify(&path).unwrap();
    assert_eq!((r.entries, r.personal), (8, 4));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn duplicate_refused() {
    let path = filled("dup", 2);
    let mut a = store::open(&format!("sqlite:{path}")).unwrap();
    let (leaf, personal) = log::split_record(&record(1, "1234567891")).unwrap();
    assert_eq!(
        a.append(&leaf, &personal, None).unwrap_err().code(),
        "ARCHIVE_DUPLICATE"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn codes_are_in_the_core_table() {
    let table: Vec<&str> = hoviat::codes::CODES
        .iter()
        .filter(|(_, l)| *l == hoviat::codes::Layer::Archive)
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(table, hoviat_archive::error::CODES);
}

#[test]
fn batch_append_matches_one_by_one() {
    // One transaction for many records gives the same tree as one transaction each.
    let one = filled("one-by-one", 13);
    let path = tmpdb("batch");
    let (skey, _) = keys();
    let mut a = store::open(&format!("sqlite:{path}")).unwrap();
    let items: Vec<_> = (0..13u32)
        .map(|i| log::split_record(&record(i, if i < 6 { "0076229645" } else { "1234567891" })).unwrap())
        .collect();
    assert_eq!(a.append_batch(&items[..5]).unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(a.append_batch(&items[5..]).unwrap(), (5..13).collect::<Vec<u64>>());
    // A duplicate inside a batch rolls the whole batch back.
    assert!(a.append_batch(&items[..1]).is_err());
    assert_eq!(a.size().unwrap(), 13);
    a.checkpoint(&skey, ORIGIN).unwrap();
    let mut b = store::open(&format!("sqlite:{one}")).unwrap();
    assert_eq!(a.root(13).unwrap(), b.root(13).unwrap());
    assert_eq!(verify(&path).unwrap().entries, 13);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&one);
}
