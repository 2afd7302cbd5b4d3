//! A [`NonceStore`] in Redis (feature `redis`): challenges shared by several server instances.
//!
//! - issue: `SET <prefix>n:<nonce> <expiresAt> EX <ttl + grace> NX` (a collision is refused);
//! - consume: one Lua script, atomic on the server: read and delete the challenge, and leave a
//!   "used" marker (`<prefix>u:<nonce>`) for the rest of its life, so that a second consumer (on
//!   any instance) gets `NONCE_REPLAYED`, and a nonce never issued gets `NONCE_UNKNOWN`.
//! - expiry: checked against the caller's clock (`NONCE_EXPIRED`); Redis forgets the key
//!   `grace` seconds later by TTL, after which the nonce is `NONCE_UNKNOWN`.
//! - Redis unreachable, slow or failing: `NONCE_STORE_UNAVAILABLE` (retryable); the connection
//!   is opened again at the next call.

use std::sync::Mutex;
use std::time::Duration;

use hoviat::time::UnixTime;
use hoviat::token::TokenError;
use hoviat::token::nonce::{NonceStore, check_nonce_shape};

const CONSUME: &str = include_str!("redis_consume.lua");

/// Challenges in Redis, shared by every instance given the same URL and prefix.
pub struct RedisNonceStore {
    client: redis::Client,
    conn: Mutex<Option<redis::Connection>>,
    prefix: String,
    grace_secs: i64,
    timeout: Duration,
    script: redis::Script,
}

fn unavailable(e: impl std::fmt::Display) -> TokenError {
    let s: String = e.to_string().chars().take(200).collect();
    TokenError::NonceStoreUnavailable(format!("redis: {s}"))
}

impl RedisNonceStore {
    /// A store on `url` (`redis://127.0.0.1:6379/0`, `redis+unix:///run/redis.sock`). Nothing is
    /// connected until the first call.
    pub fn open(url: &str) -> Result<Self, TokenError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
            prefix: "hoviat:".into(),
            grace_secs: 300,
            timeout: Duration::from_secs(2),
            script: redis::Script::new(CONSUME),
        })
    }

    /// Key prefix (default `hoviat:`); instances sharing challenges use the same one.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// How long Redis keeps an expired challenge, to answer `NONCE_EXPIRED` rather than
    /// `NONCE_UNKNOWN` (default 300 s).
    pub fn with_grace(mut self, secs: i64) -> Self {
        self.grace_secs = secs.max(0);
        self
    }

    /// Timeout of each Redis call (default 2 s).
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Checks that Redis answers (PING).
    pub fn ping(&self) -> Result<(), TokenError> {
        self.with_conn(|c| redis::cmd("PING").query::<String>(c).map(|_| ()))
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T, TokenError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| TokenError::NonceStoreUnavailable("lock poisoned".into()))?;
        if guard.is_none() {
            let c = self
                .client
                .get_connection_with_timeout(self.timeout)
                .map_err(unavailable)?;
            c.set_read_timeout(Some(self.timeout)).map_err(unavailable)?;
            c.set_write_timeout(Some(self.timeout)).map_err(unavailable)?;
            *guard = Some(c);
        }
        let Some(conn) = guard.as_mut() else {
            return Err(TokenError::NonceStoreUnavailable("no connection".into()));
        };
        match f(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                // Start afresh next time: the connection may be half-way through a reply.
                *guard = None;
                Err(unavailable(e))
            }
        }
    }
}

impl NonceStore for RedisNonceStore {
    fn issue(&self, nonce: &str, expires_at: UnixTime, now: UnixTime) -> Result<(), TokenError> {
        check_nonce_shape(nonce)?;
        let ttl = expires_at
            .0
            .saturating_sub(now.0)
            .max(1)
            .saturating_add(self.grace_secs);
        let key = format!("{}n:{nonce}", self.prefix);
        let set: Option<String> = self.with_conn(|c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(expires_at.0)
                .arg("EX")
                .arg(ttl)
                .arg("NX")
                .query(c)
        })?;
        match set {
            Some(_) => Ok(()),
            None => Err(TokenError::NonceStoreUnavailable("nonce collision".into())),
        }
    }

    fn consume(&self, nonce: &str, now: UnixTime) -> Result<(), TokenError> {
        check_nonce_shape(nonce)?;
        let k1 = format!("{}n:{nonce}", self.prefix);
        let k2 = format!("{}u:{nonce}", self.prefix);
        let got: Option<String> = self.with_conn(|c| self.script.key(&k1).key(&k2).invoke(c))?;
        match got.as_deref() {
            None => Err(TokenError::NonceUnknown),
            Some("used") => Err(TokenError::NonceReplayed),
            Some(v) => {
                let exp: i64 = v
                    .parse()
                    .map_err(|_| TokenError::NonceStoreUnavailable("redis: unexpected value".into()))?;
                if now.0 > exp {
                    Err(TokenError::NonceExpired)
                } else {
                    Ok(())
                }
            }
        }
    }
}
