//! A [`NonceStore`] in Redis (feature `redis`): challenges shared by several server instances.
//!
//! - issue: one Lua script (`redis_issue.lua`): `SET <prefix>n:<nonce> "<expiresAt>:<run_id>"
//!   EX <ttl + grace> NX` (a collision is refused), unless the challenges issued in the last
//!   `ttl + grace` seconds (counted in time buckets `<prefix>c:<size>:<bucket>`, each with a TTL)
//!   reach the cap ([`RedisNonceStore::with_cap`]): a flood cannot grow Redis without bound.
//! - consume: one Lua script (`redis_consume.lua`), atomic on the server: read and delete the
//!   challenge, and leave a "used" marker (`<prefix>u:<nonce>`) for the rest of its life, so that
//!   a second consumer (on any instance) gets `NONCE_REPLAYED`, and a nonce never issued gets
//!   `NONCE_UNKNOWN`.
//! - replay across restarts: every challenge records the `run_id` of the Redis process that
//!   issued it (a random id Redis draws at each start); the consume script refuses
//!   (`NONCE_UNKNOWN`) a challenge whose run_id is not its own. A consumed challenge that comes
//!   back from an RDB snapshot or an append-only file after a restart can therefore never be
//!   used again, whatever the persistence settings; challenges outstanding at a restart are
//!   refused too (the browser asks for a new one). What the store requires of Redis: scripting
//!   with `INFO` allowed (any Redis >= 5 and Valkey), keys not evicted before their TTL
//!   (`maxmemory-policy noeviction` or a `volatile-*` policy with room), one primary (a
//!   replica promoted after a failover has another run_id: outstanding challenges are refused).
//! - expiry: checked against the caller's clock (`NONCE_EXPIRED`); Redis forgets the key
//!   `grace` seconds later by TTL, after which the nonce is `NONCE_UNKNOWN`.
//! - connections: a small pool (no lock held during a call: concurrent logins do not queue
//!   behind one connection); every call has a connect, read and write timeout; a pooled
//!   connection that turns out dead (Redis restarted) is replaced and the call retried once on
//!   a fresh connection, so the first request after a restart does not fail; when all
//!   connections are busy a call waits at most the timeout for one.
//! - Redis unreachable, slow or failing: `NONCE_STORE_UNAVAILABLE` (retryable).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use hoviat::time::UnixTime;
use hoviat::token::TokenError;
use hoviat::token::nonce::{NonceStore, check_nonce_shape};

const CONSUME: &str = include_str!("redis_consume.lua");
const ISSUE: &str = include_str!("redis_issue.lua");

/// Counter buckets per window (the cap is counted over `ttl + grace` in this many buckets).
const BUCKETS: i64 = 30;

struct Pool {
    idle: Vec<redis::Connection>,
    busy: usize,
}

/// Challenges in Redis, shared by every instance given the same URL and prefix.
pub struct RedisNonceStore {
    client: redis::Client,
    pool: Mutex<Pool>,
    freed: Condvar,
    max_conns: usize,
    prefix: String,
    grace_secs: i64,
    cap: u64,
    timeout: Duration,
    consume: redis::Script,
    issue: redis::Script,
    count: redis::Script,
}

fn unavailable(e: impl std::fmt::Display) -> TokenError {
    let s: String = e.to_string().chars().take(200).collect();
    TokenError::NonceStoreUnavailable(format!("redis: {s}"))
}

/// The counter keys of the cap's window at `now`: the current bucket first.
fn bucket_keys(prefix: &str, window: i64, now: i64) -> Vec<String> {
    let size = (window + BUCKETS - 1) / BUCKETS;
    let size = size.max(1);
    let cur = now.div_euclid(size);
    (0..=BUCKETS).map(|i| format!("{prefix}c:{size}:{}", cur - i)).collect()
}

impl RedisNonceStore {
    /// A store on `url` (`redis://127.0.0.1:6379/0`, `redis+unix:///run/redis.sock`). Nothing is
    /// connected until the first call.
    pub fn open(url: &str) -> Result<Self, TokenError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        Ok(Self {
            client,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                busy: 0,
            }),
            freed: Condvar::new(),
            max_conns: 32,
            prefix: "hoviat:".into(),
            grace_secs: 300,
            cap: 200_000,
            timeout: Duration::from_secs(2),
            consume: redis::Script::new(CONSUME),
            issue: redis::Script::new(ISSUE),
            count: redis::Script::new(
                "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n",
            ),
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

    /// Most challenges issued (by all instances on this prefix) per challenge lifetime + grace
    /// (default 200,000; 0 = no cap). Past it, issuing is refused (`NONCE_STORE_UNAVAILABLE`)
    /// until older ones age out: Redis holds at most about this many challenge keys.
    pub fn with_cap(mut self, cap: u64) -> Self {
        self.cap = cap;
        self
    }

    /// Timeout of each Redis call: connecting, writing, reading, and waiting for a free
    /// connection (default 2 s).
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.timeout = t.max(Duration::from_millis(1));
        self
    }

    /// Most connections open at once (default 32).
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_conns = n.max(1);
        self
    }

    /// Checks that Redis answers (PING).
    pub fn ping(&self) -> Result<(), TokenError> {
        self.with_conn(|c| redis::cmd("PING").query::<String>(c).map(|_| ()))
    }

    /// Stores `value` under `<prefix><key>` for `secs` seconds (e.g. sessions shared by
    /// instances).
    pub fn put(&self, key: &str, value: &str, secs: i64) -> Result<(), TokenError> {
        let k = format!("{}{key}", self.prefix);
        self.with_conn(|c| {
            redis::cmd("SET")
                .arg(&k)
                .arg(value)
                .arg("EX")
                .arg(secs.max(1))
                .query::<()>(c)
        })
    }

    /// The value under `<prefix><key>`, if any.
    pub fn get(&self, key: &str) -> Result<Option<String>, TokenError> {
        let k = format!("{}{key}", self.prefix);
        self.with_conn(|c| redis::cmd("GET").arg(&k).query(c))
    }

    /// Counts one event under `<prefix><key>`, which lives `secs` seconds from its first event
    /// (atomically: INCR, and EXPIRE on the first); the count so far. For limits shared by
    /// instances, e.g. challenges per client per window.
    pub fn count(&self, key: &str, secs: i64) -> Result<i64, TokenError> {
        let k = format!("{}{key}", self.prefix);
        self.with_conn(|c| self.count.key(&k).arg(secs.max(1)).invoke(c))
    }

    /// Deletes `<prefix><key>`; whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool, TokenError> {
        let k = format!("{}{key}", self.prefix);
        self.with_conn(|c| redis::cmd("DEL").arg(&k).query::<i64>(c).map(|n| n > 0))
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let c = self.client.get_connection_with_timeout(self.timeout)?;
        c.set_read_timeout(Some(self.timeout))?;
        c.set_write_timeout(Some(self.timeout))?;
        Ok(c)
    }

    /// Takes an idle connection (or the right to open one), waiting at most the timeout.
    fn checkout(&self) -> Result<Option<redis::Connection>, TokenError> {
        let deadline = Instant::now() + self.timeout;
        let mut p = self
            .pool
            .lock()
            .map_err(|_| TokenError::NonceStoreUnavailable("lock poisoned".into()))?;
        loop {
            if let Some(c) = p.idle.pop() {
                p.busy += 1;
                return Ok(Some(c));
            }
            if p.busy < self.max_conns {
                p.busy += 1;
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TokenError::NonceStoreUnavailable(
                    "redis: every connection is busy".into(),
                ));
            }
            p = self
                .freed
                .wait_timeout(p, left)
                .map_err(|_| TokenError::NonceStoreUnavailable("lock poisoned".into()))?
                .0;
        }
    }

    fn checkin(&self, conn: Option<redis::Connection>) {
        if let Ok(mut p) = self.pool.lock() {
            p.busy = p.busy.saturating_sub(1);
            if let Some(c) = conn {
                p.idle.push(c);
            }
        }
        self.freed.notify_one();
    }

    fn with_conn<T>(&self, f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T, TokenError> {
        let pooled = self.checkout()?;
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => match self.connect() {
                Ok(c) => c,
                Err(e) => {
                    self.checkin(None);
                    return Err(unavailable(e));
                }
            },
        };
        let mut r = f(&mut conn);
        // A pooled connection found dead (Redis restarted or closed it while idle): the
        // command never ran on a live server; once more on a fresh connection. A timeout is
        // not retried (the server may be hung; the caller's deadline holds).
        if let Err(e) = &r
            && reused
            && !e.is_timeout()
            && (e.is_connection_dropped() || e.is_io_error() || e.is_unrecoverable_error())
        {
            match self.connect() {
                Ok(c) => {
                    conn = c;
                    r = f(&mut conn);
                }
                Err(e) => {
                    self.checkin(None);
                    return Err(unavailable(e));
                }
            }
        }
        match r {
            Ok(v) => {
                self.checkin(Some(conn));
                Ok(v)
            }
            Err(e) => {
                // Start afresh next time: the connection may be half-way through a reply.
                self.checkin(None);
                Err(unavailable(e))
            }
        }
    }
}

impl NonceStore for RedisNonceStore {
    fn issue(&self, nonce: &str, expires_at: UnixTime, now: UnixTime) -> Result<(), TokenError> {
        check_nonce_shape(nonce)?;
        let life = expires_at.0.saturating_sub(now.0).max(1);
        let ttl = life.saturating_add(self.grace_secs);
        let key = format!("{}n:{nonce}", self.prefix);
        let buckets = bucket_keys(&self.prefix, ttl, now.0);
        let size = (ttl + BUCKETS - 1) / BUCKETS;
        let got: String = self.with_conn(|c| {
            let mut inv = self.issue.key(&key);
            for b in &buckets {
                inv.key(b);
            }
            inv.arg(expires_at.0)
                .arg(ttl)
                .arg(self.cap)
                .arg(ttl.saturating_add(size.max(1)))
                .invoke(c)
        })?;
        match got.as_str() {
            "ok" => Ok(()),
            "full" => Err(TokenError::NonceStoreUnavailable(
                "too many open challenges; try again later".into(),
            )),
            _ => Err(TokenError::NonceStoreUnavailable("nonce collision".into())),
        }
    }

    fn consume(&self, nonce: &str, now: UnixTime) -> Result<(), TokenError> {
        check_nonce_shape(nonce)?;
        let k1 = format!("{}n:{nonce}", self.prefix);
        let k2 = format!("{}u:{nonce}", self.prefix);
        let got: Option<String> = self.with_conn(|c| self.consume.key(&k1).key(&k2).invoke(c))?;
        match got.as_deref() {
            None | Some("stale") => Err(TokenError::NonceUnknown),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_window() {
        let k = bucket_keys("p:", 600, 1_000_000);
        assert_eq!(k.len(), (BUCKETS + 1) as usize);
        assert_eq!(k[0], "p:c:20:50000");
        assert_eq!(k[30], "p:c:20:49970");
    }
}
