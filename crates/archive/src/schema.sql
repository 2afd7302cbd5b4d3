-- The archive's schema, one text for SQLite and PostgreSQL (migration 1). Hashes and MACs are
-- lower-case hex TEXT so that both engines store them alike.
CREATE TABLE IF NOT EXISTS archive_schema (version BIGINT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS archive_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
-- The log: one row per record, the issuer-signed JWT (salted digests and non-personal fields
-- only) and the clear fields used by searches.
CREATE TABLE IF NOT EXISTS log_entries (
  idx BIGINT PRIMARY KEY,
  record_id TEXT NOT NULL UNIQUE,
  leaf TEXT NOT NULL,
  iat BIGINT NOT NULL,
  institution TEXT NOT NULL,
  terminal TEXT NOT NULL,
  operator TEXT NOT NULL,
  purpose TEXT NOT NULL,
  level TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_entries_iat ON log_entries (iat);
CREATE INDEX IF NOT EXISTS log_entries_operator ON log_entries (operator);
CREATE INDEX IF NOT EXISTS log_entries_purpose ON log_entries (purpose);
-- RFC 6962 tree hashes by stored hash index (Go's sumdb tlog layout).
CREATE TABLE IF NOT EXISTS tree_hashes (id BIGINT PRIMARY KEY, hash TEXT NOT NULL);
-- Signed checkpoints (C2SP tlog-checkpoint notes), each with the consistency proof from the
-- previous one.
CREATE TABLE IF NOT EXISTS checkpoints (
  seq BIGINT PRIMARY KEY,
  size BIGINT NOT NULL,
  note TEXT NOT NULL,
  proof TEXT NOT NULL
);
-- Personal data, deletable: the disclosures, the keyed look-ups, and the look-up key itself.
CREATE TABLE IF NOT EXISTS personal (idx BIGINT PRIMARY KEY, disclosures TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS personal_lookup (idx BIGINT NOT NULL, kind TEXT NOT NULL, mac TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS personal_lookup_mac ON personal_lookup (kind, mac);
CREATE TABLE IF NOT EXISTS personal_key (id BIGINT PRIMARY KEY, hmac_key TEXT NOT NULL);
