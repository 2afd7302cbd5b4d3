//! Storage: one small trait, [`Sql`], implemented for SQLite (rusqlite, bundled) and PostgreSQL
//! (the `postgres` crate), and the archive's operations written once over it with one schema
//! (`schema.sql`) and the same statements for both engines (`$n` parameters, which SQLite also
//! reads). Appends and checkpoints run inside a serialising lock: `BEGIN IMMEDIATE` on SQLite,
//! a transaction-scoped advisory lock on PostgreSQL, so concurrent counters never fork the log.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{Hash, HashReader};

use crate::error::ArchiveError;
use crate::log::{self, Leaf, Personal, StoredCheckpoint, StoredEntry};

/// A value bound to or read from a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// BIGINT.
    I(i64),
    /// TEXT.
    T(String),
    /// NULL.
    Null,
}

impl Val {
    fn i(&self) -> i64 {
        match self {
            Val::I(i) => *i,
            Val::T(s) => s.parse().unwrap_or(0),
            Val::Null => 0,
        }
    }
    fn t(&self) -> String {
        match self {
            Val::T(s) => s.clone(),
            Val::I(i) => i.to_string(),
            Val::Null => String::new(),
        }
    }
}

fn db<E: std::fmt::Display>(e: E) -> ArchiveError {
    ArchiveError::Db(e.to_string())
}

/// PostgreSQL errors display as "db error" alone: take the server's message.
fn pg(e: postgres::Error) -> ArchiveError {
    match e.as_db_error() {
        Some(d) => ArchiveError::Db(format!("{}: {}", d.code().code(), d.message())),
        None => ArchiveError::Db(e.to_string()),
    }
}

/// What an engine must offer.
pub trait Sql {
    /// Runs a statement, returns the rows changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, ArchiveError>;
    /// Runs a query.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, ArchiveError>;
    /// Starts a transaction that holds the archive's write lock until [`Sql::commit`].
    fn begin_locked(&mut self) -> Result<(), ArchiveError>;
    /// Commits.
    fn commit(&mut self) -> Result<(), ArchiveError>;
    /// Rolls back (errors ignored).
    fn rollback(&mut self);
    /// Reclaims the space of deleted personal data so that no copy is left in the files.
    fn scrub(&mut self) -> Result<(), ArchiveError>;
    /// The engine's name.
    fn engine(&self) -> &'static str;
}

/// SQLite through rusqlite (bundled SQLite), `secure_delete` on.
pub struct Sqlite(rusqlite::Connection);

impl Sqlite {
    /// Opens (creates) a database file.
    pub fn open(path: &str) -> Result<Self, ArchiveError> {
        let c = rusqlite::Connection::open(path).map_err(db)?;
        c.busy_timeout(std::time::Duration::from_secs(60)).map_err(db)?;
        c.execute_batch("PRAGMA secure_delete = ON; PRAGMA journal_mode = DELETE;")
            .map_err(db)?;
        Ok(Sqlite(c))
    }
}

struct SqlVal<'a>(&'a Val);
impl rusqlite::ToSql for SqlVal<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value};
        Ok(match self.0 {
            Val::I(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Val::T(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
            Val::Null => ToSqlOutput::Owned(Value::Null),
        })
    }
}

impl Sql for Sqlite {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, ArchiveError> {
        let p: Vec<SqlVal> = params.iter().map(SqlVal).collect();
        let mut st = self.0.prepare_cached(sql).map_err(db)?;
        st.execute(rusqlite::params_from_iter(p.iter()))
            .map(|n| n as u64)
            .map_err(db)
    }
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, ArchiveError> {
        let p: Vec<SqlVal> = params.iter().map(SqlVal).collect();
        let mut st = self.0.prepare_cached(sql).map_err(db)?;
        let cols = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(p.iter())).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let mut v = Vec::with_capacity(cols);
            for i in 0..cols {
                v.push(match r.get_ref(i).map_err(db)? {
                    rusqlite::types::ValueRef::Integer(i) => Val::I(i),
                    rusqlite::types::ValueRef::Text(t) => Val::T(String::from_utf8_lossy(t).into_owned()),
                    rusqlite::types::ValueRef::Null => Val::Null,
                    other => Val::T(format!("{other:?}")),
                });
            }
            out.push(v);
        }
        Ok(out)
    }
    fn begin_locked(&mut self) -> Result<(), ArchiveError> {
        self.0.execute_batch("BEGIN IMMEDIATE").map_err(db)
    }
    fn commit(&mut self) -> Result<(), ArchiveError> {
        self.0.execute_batch("COMMIT").map_err(db)
    }
    fn rollback(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
    fn scrub(&mut self) -> Result<(), ArchiveError> {
        self.0.execute_batch("VACUUM").map_err(db)
    }
    fn engine(&self) -> &'static str {
        "sqlite"
    }
}

/// PostgreSQL through the `postgres` crate (no TLS: a local or otherwise protected connection).
pub struct Postgres(postgres::Client);

/// The advisory lock key that serialises appends and checkpoints ("hoviat" in ASCII).
pub const PG_LOCK: i64 = 0x686f_7669_6174;

impl Postgres {
    /// Connects with a `postgres://` URL.
    pub fn connect(url: &str) -> Result<Self, ArchiveError> {
        postgres::Client::connect(url, postgres::NoTls)
            .map(Postgres)
            .map_err(db)
    }
}

fn pg_params(params: &[Val]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Val::I(i) => Box::new(*i),
                Val::T(s) => Box::new(s.clone()),
                Val::Null => Box::new(Option::<String>::None),
            }
        })
        .collect()
}

impl Sql for Postgres {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, ArchiveError> {
        let b = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = b.iter().map(|x| x.as_ref()).collect();
        self.0.execute(sql, &refs).map_err(pg)
    }
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, ArchiveError> {
        use postgres::types::Type;
        let b = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = b.iter().map(|x| x.as_ref()).collect();
        let rows = self.0.query(sql, &refs).map_err(pg)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut v = Vec::with_capacity(r.len());
            for (i, c) in r.columns().iter().enumerate() {
                v.push(match *c.type_() {
                    Type::INT8 => r.get::<_, Option<i64>>(i).map(Val::I).unwrap_or(Val::Null),
                    Type::INT4 => r
                        .get::<_, Option<i32>>(i)
                        .map(|x| Val::I(x.into()))
                        .unwrap_or(Val::Null),
                    _ => r.get::<_, Option<String>>(i).map(Val::T).unwrap_or(Val::Null),
                });
            }
            out.push(v);
        }
        Ok(out)
    }
    fn begin_locked(&mut self) -> Result<(), ArchiveError> {
        self.0.batch_execute("BEGIN").map_err(pg)?;
        self.0
            .execute("SELECT pg_advisory_xact_lock($1)", &[&PG_LOCK])
            .map(|_| ())
            .map_err(pg)
    }
    fn commit(&mut self) -> Result<(), ArchiveError> {
        self.0.batch_execute("COMMIT").map_err(pg)
    }
    fn rollback(&mut self) {
        let _ = self.0.batch_execute("ROLLBACK");
    }
    fn scrub(&mut self) -> Result<(), ArchiveError> {
        // One statement per call: VACUUM cannot run inside the implicit transaction of a
        // multi-statement query.
        self.0.batch_execute("VACUUM FULL personal").map_err(pg)?;
        self.0.batch_execute("VACUUM FULL personal_lookup").map_err(pg)
    }
    fn engine(&self) -> &'static str {
        "postgresql"
    }
}

/// Opens `sqlite:PATH` or `postgres://...` and applies the migrations.
pub fn open(spec: &str) -> Result<Archive, ArchiveError> {
    let sql: Box<dyn Sql> = if let Some(p) = spec.strip_prefix("sqlite:") {
        Box::new(Sqlite::open(p)?)
    } else if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        Box::new(Postgres::connect(spec)?)
    } else {
        return Err(ArchiveError::Malformed(format!(
            "--db must be sqlite:PATH or postgres://..., not {spec:?}"
        )));
    };
    let mut a = Archive { sql };
    a.migrate()?;
    Ok(a)
}

/// The schema's migrations, in order.
pub const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("schema.sql"))];

/// Search criteria (all optional, combined with AND).
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Keyed look-ups: (kind, value) — `national_code`, `card_reference`.
    pub lookups: Vec<(String, String)>,
    /// `iat >= from`.
    pub from: Option<i64>,
    /// `iat < to`.
    pub to: Option<i64>,
    /// Operator id.
    pub operator: Option<String>,
    /// Purpose id.
    pub purpose: Option<String>,
}

/// The archive over one engine.
pub struct Archive {
    sql: Box<dyn Sql>,
}

struct TxHashes<'a>(RefCell<&'a mut dyn Sql>);

impl HashReader for TxHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::tlog::Error> {
        let mut s = self.0.borrow_mut();
        read_hashes(&mut **s, indexes).map_err(|_| tlog_tiles::tlog::Error::IndexesNotInTree)
    }
}

fn read_hashes(s: &mut dyn Sql, indexes: &[u64]) -> Result<Vec<Hash>, ArchiveError> {
    let mut out = Vec::with_capacity(indexes.len());
    for &i in indexes {
        let r = s.query("SELECT hash FROM tree_hashes WHERE id = $1", &[Val::I(i as i64)])?;
        let h = r
            .first()
            .ok_or_else(|| ArchiveError::Db(format!("tree hash {i} missing")))?;
        out.push(log::hash_from_hex(&h[0].t())?);
    }
    Ok(out)
}

impl Archive {
    /// The engine's name.
    pub fn engine(&self) -> &'static str {
        self.sql.engine()
    }

    fn locked<T>(&mut self, f: impl FnOnce(&mut dyn Sql) -> Result<T, ArchiveError>) -> Result<T, ArchiveError> {
        self.sql.begin_locked()?;
        match f(&mut *self.sql) {
            Ok(v) => {
                self.sql.commit()?;
                Ok(v)
            }
            Err(e) => {
                self.sql.rollback();
                Err(e)
            }
        }
    }

    fn migrate(&mut self) -> Result<(), ArchiveError> {
        self.locked(|s| {
            s.exec(
                "CREATE TABLE IF NOT EXISTS archive_schema (version BIGINT PRIMARY KEY)",
                &[],
            )?;
            let have = s.query("SELECT MAX(version) FROM archive_schema", &[])?;
            let have = have.first().map(|r| r[0].i()).unwrap_or(0);
            for (v, text) in MIGRATIONS {
                if *v <= have {
                    continue;
                }
                for stmt in text.split(';') {
                    let body: String = stmt
                        .lines()
                        .filter(|l| !l.trim_start().starts_with("--"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    if !body.trim().is_empty() {
                        s.exec(body.trim(), &[])?;
                    }
                }
                s.exec("INSERT INTO archive_schema (version) VALUES ($1)", &[Val::I(*v)])?;
            }
            if s.query("SELECT id FROM personal_key WHERE id = 1", &[])?.is_empty() {
                let mut k = [0u8; 32];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut k);
                s.exec(
                    "INSERT INTO personal_key (id, hmac_key) VALUES (1, $1)",
                    &[Val::T(log::hex(&k))],
                )?;
            }
            Ok(())
        })
    }

    /// A metadata value.
    pub fn meta(&mut self, k: &str) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .sql
            .query("SELECT v FROM archive_meta WHERE k = $1", &[Val::T(k.into())])?
            .first()
            .map(|r| r[0].t()))
    }

    /// Sets a metadata value once (an existing different value is an error).
    pub fn set_meta(&mut self, k: &str, v: &str) -> Result<(), ArchiveError> {
        self.locked(|s| {
            let cur = s.query("SELECT v FROM archive_meta WHERE k = $1", &[Val::T(k.into())])?;
            match cur.first() {
                Some(r) if r[0].t() == v => Ok(()),
                Some(r) => Err(ArchiveError::Malformed(format!("{k} is already {:?}", r[0].t()))),
                None => s
                    .exec(
                        "INSERT INTO archive_meta (k, v) VALUES ($1, $2)",
                        &[Val::T(k.into()), Val::T(v.into())],
                    )
                    .map(|_| ()),
            }
        })
    }

    fn hmac_key(s: &mut dyn Sql) -> Result<Option<Vec<u8>>, ArchiveError> {
        let r = s.query("SELECT hmac_key FROM personal_key WHERE id = 1", &[])?;
        Ok(match r.first() {
            Some(row) => Some(log::hash_from_hex(&row[0].t())?.0.to_vec()),
            None => None,
        })
    }

    /// Appends a record's leaf (and its personal data), serialised with other appenders; when
    /// `skey` is given, also signs a checkpoint of the new size. Returns the index and the note.
    pub fn append(
        &mut self,
        leaf: &Leaf,
        personal: &Personal,
        skey: Option<(&str, &str)>,
    ) -> Result<(u64, Option<String>), ArchiveError> {
        self.locked(|s| append_in(s, leaf, personal, skey))
    }

    /// Appends many records in one transaction (one lock, one commit): for imports and for
    /// building large logs in benchmarks. No checkpoint is signed.
    pub fn append_batch(&mut self, items: &[(Leaf, Personal)]) -> Result<Vec<u64>, ArchiveError> {
        self.locked(|s| {
            items
                .iter()
                .map(|(leaf, personal)| append_in(s, leaf, personal, None).map(|(n, _)| n))
                .collect()
        })
    }

    /// Signs and stores a checkpoint of the current size (with the consistency proof from the
    /// previous checkpoint).
    pub fn checkpoint(&mut self, skey: &str, origin: &str) -> Result<String, ArchiveError> {
        self.locked(|s| checkpoint_in(s, skey, origin))
    }

    /// Entries stored.
    pub fn size(&mut self) -> Result<u64, ArchiveError> {
        size_of(&mut *self.sql)
    }

    /// The root of the tree of size `n` from the stored hashes.
    pub fn root(&mut self, n: u64) -> Result<Hash, ArchiveError> {
        let r = TxHashes(RefCell::new(&mut *self.sql));
        log::tree_root(n, &r)
    }

    /// Inclusion proof of `i` in size `n`.
    pub fn inclusion(&mut self, n: u64, i: u64) -> Result<Vec<Hash>, ArchiveError> {
        let r = TxHashes(RefCell::new(&mut *self.sql));
        log::inclusion_proof(n, i, &r)
    }

    /// Consistency proof from `m` to `n`.
    pub fn consistency(&mut self, n: u64, m: u64) -> Result<Vec<Hash>, ArchiveError> {
        let r = TxHashes(RefCell::new(&mut *self.sql));
        log::consistency_proof(n, m, &r)
    }

    fn entry_rows(&mut self, wh: &str, p: &[Val]) -> Result<Vec<StoredEntry>, ArchiveError> {
        let rows = self.sql.query(
            &format!(
                "SELECT idx, record_id, leaf, iat, institution, terminal, operator, purpose, level FROM log_entries {wh} ORDER BY idx"
            ),
            p,
        )?;
        Ok(rows
            .into_iter()
            .map(|r| StoredEntry {
                idx: r[0].i() as u64,
                leaf: Leaf {
                    record_id: r[1].t(),
                    jwt: r[2].t(),
                    iat: r[3].i(),
                    institution: r[4].t(),
                    terminal: r[5].t(),
                    operator: r[6].t(),
                    purpose: r[7].t(),
                    level: r[8].t(),
                },
            })
            .collect())
    }

    /// All entries in index order.
    pub fn entries(&mut self) -> Result<Vec<StoredEntry>, ArchiveError> {
        self.entry_rows("", &[])
    }

    /// One entry by index or record id.
    pub fn entry(&mut self, key: &str) -> Result<StoredEntry, ArchiveError> {
        let v = match key.parse::<i64>() {
            Ok(i) => self.entry_rows("WHERE idx = $1", &[Val::I(i)])?,
            Err(_) => self.entry_rows("WHERE record_id = $1", &[Val::T(key.into())])?,
        };
        v.into_iter()
            .next()
            .ok_or_else(|| ArchiveError::NotFound(format!("entry {key}")))
    }

    /// Every stored tree hash.
    pub fn all_hashes(&mut self) -> Result<HashMap<u64, Hash>, ArchiveError> {
        let mut m = HashMap::new();
        for r in self.sql.query("SELECT id, hash FROM tree_hashes", &[])? {
            m.insert(r[0].i() as u64, log::hash_from_hex(&r[1].t())?);
        }
        Ok(m)
    }

    /// Checkpoints in creation order.
    pub fn checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>, ArchiveError> {
        Ok(self
            .sql
            .query("SELECT seq, size, note, proof FROM checkpoints ORDER BY seq", &[])?
            .into_iter()
            .map(|r| StoredCheckpoint {
                seq: r[0].i() as u64,
                size: r[1].i() as u64,
                note: r[2].t(),
                proof: r[3].t(),
            })
            .collect())
    }

    /// Personal rows (idx, disclosures).
    pub fn personal_rows(&mut self) -> Result<Vec<(u64, String)>, ArchiveError> {
        Ok(self
            .sql
            .query("SELECT idx, disclosures FROM personal ORDER BY idx", &[])?
            .into_iter()
            .map(|r| (r[0].i() as u64, r[1].t()))
            .collect())
    }

    /// The personal data of one entry, if not purged.
    pub fn personal(&mut self, idx: u64) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .sql
            .query("SELECT disclosures FROM personal WHERE idx = $1", &[Val::I(idx as i64)])?
            .first()
            .map(|r| r[0].t()))
    }

    /// Searches; returns matching entries.
    pub fn search(&mut self, q: &Query) -> Result<Vec<StoredEntry>, ArchiveError> {
        let mut wh = Vec::new();
        let mut p = Vec::new();
        if !q.lookups.is_empty() {
            let Some(key) = Self::hmac_key(&mut *self.sql)? else {
                return Ok(vec![]);
            };
            for (kind, value) in &q.lookups {
                p.push(Val::T(kind.clone()));
                p.push(Val::T(log::lookup_mac(&key, kind, value)));
                wh.push(format!(
                    "idx IN (SELECT idx FROM personal_lookup WHERE kind = ${} AND mac = ${})",
                    p.len() - 1,
                    p.len()
                ));
            }
        }
        if let Some(f) = q.from {
            p.push(Val::I(f));
            wh.push(format!("iat >= ${}", p.len()));
        }
        if let Some(t) = q.to {
            p.push(Val::I(t));
            wh.push(format!("iat < ${}", p.len()));
        }
        if let Some(o) = &q.operator {
            p.push(Val::T(o.clone()));
            wh.push(format!("operator = ${}", p.len()));
        }
        if let Some(o) = &q.purpose {
            p.push(Val::T(o.clone()));
            wh.push(format!("purpose = ${}", p.len()));
        }
        let w = if wh.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wh.join(" AND "))
        };
        self.entry_rows(&w, &p)
    }

    /// Deletes the personal data (disclosures and look-ups) of entries sealed before `before`
    /// (Unix seconds), then reclaims the space so no copy is left in the database files.
    /// Returns how many entries lost their personal data.
    pub fn purge(&mut self, before: i64) -> Result<u64, ArchiveError> {
        let n = self.locked(|s| {
            let n = s.exec(
                "DELETE FROM personal WHERE idx IN (SELECT idx FROM log_entries WHERE iat < $1)",
                &[Val::I(before)],
            )?;
            s.exec(
                "DELETE FROM personal_lookup WHERE idx IN (SELECT idx FROM log_entries WHERE iat < $1)",
                &[Val::I(before)],
            )?;
            Ok(n)
        })?;
        self.sql.scrub()?;
        Ok(n)
    }
}

fn size_of(s: &mut dyn Sql) -> Result<u64, ArchiveError> {
    // MAX over the primary key is an index look-up on both engines (COUNT(*) scans).
    let r = s.query("SELECT MAX(idx) FROM log_entries", &[])?;
    Ok(match r.first().map(|r| r[0].clone()) {
        Some(Val::Null) | None => 0,
        Some(v) => v.i() as u64 + 1,
    })
}

fn append_in(
    s: &mut dyn Sql,
    leaf: &Leaf,
    personal: &Personal,
    skey: Option<(&str, &str)>,
) -> Result<(u64, Option<String>), ArchiveError> {
    if !s
        .query(
            "SELECT idx FROM log_entries WHERE record_id = $1",
            &[Val::T(leaf.record_id.clone())],
        )?
        .is_empty()
    {
        return Err(ArchiveError::Duplicate(leaf.record_id.clone()));
    }
    let n = size_of(s)?;
    let hashes = {
        let r = TxHashes(RefCell::new(s));
        log::new_hashes(n, leaf.jwt.as_bytes(), &r)?
    };
    s.exec(
        "INSERT INTO log_entries (idx, record_id, leaf, iat, institution, terminal, operator, purpose, level) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            Val::I(n as i64),
            Val::T(leaf.record_id.clone()),
            Val::T(leaf.jwt.clone()),
            Val::I(leaf.iat),
            Val::T(leaf.institution.clone()),
            Val::T(leaf.terminal.clone()),
            Val::T(leaf.operator.clone()),
            Val::T(leaf.purpose.clone()),
            Val::T(leaf.level.clone()),
        ],
    )?;
    let start = log::stored_hash_count(n);
    for (k, h) in hashes.iter().enumerate() {
        s.exec(
            "INSERT INTO tree_hashes (id, hash) VALUES ($1, $2)",
            &[Val::I((start + k as u64) as i64), Val::T(log::hex(&h.0))],
        )?;
    }
    if !personal.disclosures.is_empty() {
        s.exec(
            "INSERT INTO personal (idx, disclosures) VALUES ($1, $2)",
            &[Val::I(n as i64), Val::T(personal.disclosures.clone())],
        )?;
        let key = Archive::hmac_key(s)?.ok_or_else(|| ArchiveError::Db("the look-up key was purged".into()))?;
        for (kind, value) in &personal.lookups {
            s.exec(
                "INSERT INTO personal_lookup (idx, kind, mac) VALUES ($1, $2, $3)",
                &[
                    Val::I(n as i64),
                    Val::T(kind.clone()),
                    Val::T(log::lookup_mac(&key, kind, value)),
                ],
            )?;
        }
    }
    let note = match skey {
        Some((skey, origin)) => Some(checkpoint_in(s, skey, origin)?),
        None => None,
    };
    Ok((n, note))
}

fn checkpoint_in(s: &mut dyn Sql, skey: &str, origin: &str) -> Result<String, ArchiveError> {
    let n = size_of(s)?;
    let last = s.query("SELECT seq, size FROM checkpoints ORDER BY seq DESC LIMIT 1", &[])?;
    let (seq, m) = last.first().map(|r| (r[0].i() + 1, r[1].i() as u64)).unwrap_or((0, 0));
    let (root, proof) = {
        let r = TxHashes(RefCell::new(s));
        (log::tree_root(n, &r)?, log::consistency_proof(n, m.min(n), &r)?)
    };
    let note = log::sign_checkpoint(skey, origin, n, root)?;
    s.exec(
        "INSERT INTO checkpoints (seq, size, note, proof) VALUES ($1, $2, $3, $4)",
        &[
            Val::I(seq),
            Val::I(n as i64),
            Val::T(note.clone()),
            Val::T(log::proof_text(&proof)),
        ],
    )?;
    Ok(note)
}
