//! Challenge nonces: creation (at least 32 random bytes, base64) and single-use storage.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;

use super::TokenError;
use crate::time::UnixTime;

/// How long a challenge lives by default (Web eID: 5 minutes).
pub const DEFAULT_TTL_SECS: i64 = 300;
/// Shortest and longest nonce accepted (Web eID's bounds).
pub const NONCE_LEN: std::ops::RangeInclusive<usize> = 44..=128;

/// A nonce from 32 caller-supplied random bytes: 44 base64 characters.
pub fn nonce_from_bytes(random: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(random)
}

/// Checks a nonce's shape: 44 to 128 characters of standard or URL-safe base64.
pub fn check_nonce_shape(nonce: &str) -> Result<(), TokenError> {
    let ok = NONCE_LEN.contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if ok { Ok(()) } else { Err(TokenError::NonceInvalid) }
}

/// Where issued challenges live until they are used once or expire. Implementations must make
/// `consume` atomic: of two concurrent consumers of one nonce, exactly one succeeds.
pub trait NonceStore: Send + Sync {
    /// Records an issued nonce valid until `expires_at`.
    fn issue(&self, nonce: &str, expires_at: UnixTime, now: UnixTime) -> Result<(), TokenError>;
    /// Marks the nonce used. Errors: `NONCE_UNKNOWN`, `NONCE_EXPIRED`, `NONCE_REPLAYED`.
    fn consume(&self, nonce: &str, now: UnixTime) -> Result<(), TokenError>;
}

#[derive(Clone, Copy)]
enum Slot {
    Issued(UnixTime),
    Used(UnixTime),
}

/// An in-process nonce store (one server instance). Used nonces are remembered until their
/// expiry so that a replay is reported as such.
pub struct MemoryNonceStore {
    inner: Mutex<Inner>,
    capacity: usize,
}

struct Inner {
    map: HashMap<String, Slot>,
    last_purge: UnixTime,
}

impl MemoryNonceStore {
    /// A store holding at most `capacity` live challenges.
    pub fn new(capacity: usize) -> Self {
        let inner = Inner {
            map: HashMap::new(),
            last_purge: UnixTime(i64::MIN),
        };
        Self {
            inner: Mutex::new(inner),
            capacity,
        }
    }

    /// Live entries (issued or used, not yet expired or purged).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|m| m.map.len()).unwrap_or(0)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, TokenError> {
        self.inner
            .lock()
            .map_err(|_| TokenError::NonceStoreUnavailable("lock poisoned".into()))
    }
}

impl Default for MemoryNonceStore {
    fn default() -> Self {
        Self::new(1_000_000)
    }
}

impl NonceStore for MemoryNonceStore {
    fn issue(&self, nonce: &str, expires_at: UnixTime, now: UnixTime) -> Result<(), TokenError> {
        check_nonce_shape(nonce)?;
        let mut m = self.lock()?;
        // When full, drop expired entries, at most once a second (a full scan holds the lock).
        if m.map.len() >= self.capacity && now > m.last_purge {
            m.map.retain(|_, s| match s {
                Slot::Issued(e) | Slot::Used(e) => *e >= now,
            });
            m.last_purge = now;
        }
        if m.map.len() >= self.capacity {
            return Err(TokenError::NonceStoreUnavailable("too many open challenges".into()));
        }
        if m.map.contains_key(nonce) {
            return Err(TokenError::NonceStoreUnavailable("nonce collision".into()));
        }
        m.map.insert(nonce.to_string(), Slot::Issued(expires_at));
        Ok(())
    }

    fn consume(&self, nonce: &str, now: UnixTime) -> Result<(), TokenError> {
        let mut m = self.lock()?;
        match m.map.get(nonce).copied() {
            None => Err(TokenError::NonceUnknown),
            Some(Slot::Used(_)) => Err(TokenError::NonceReplayed),
            Some(Slot::Issued(exp)) if now > exp => {
                m.map.remove(nonce);
                Err(TokenError::NonceExpired)
            }
            Some(Slot::Issued(exp)) => {
                m.map.insert(nonce.to_string(), Slot::Used(exp));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    #[test]
    fn single_use_and_expiry() {
        let s = MemoryNonceStore::new(10);
        let t = UnixTime(1000);
        let n = nonce_from_bytes(&[7; 32]);
        assert_eq!(n.len(), 44);
        s.issue(&n, UnixTime(t.0 + 300), t).unwrap();
        s.consume(&n, UnixTime(t.0 + 10)).unwrap();
        assert_eq!(s.consume(&n, UnixTime(t.0 + 11)).unwrap_err().code(), "NONCE_REPLAYED");
        let m = nonce_from_bytes(&[8; 32]);
        s.issue(&m, UnixTime(t.0 + 300), t).unwrap();
        assert_eq!(s.consume(&m, UnixTime(t.0 + 301)).unwrap_err().code(), "NONCE_EXPIRED");
        assert_eq!(
            s.consume(&nonce_from_bytes(&[9; 32]), t).unwrap_err().code(),
            "NONCE_UNKNOWN"
        );
    }

    #[test]
    fn capacity_purges_expired_then_refuses() {
        let s = MemoryNonceStore::new(2);
        let t = UnixTime(0);
        s.issue(&nonce_from_bytes(&[1; 32]), UnixTime(10), t).unwrap();
        s.issue(&nonce_from_bytes(&[2; 32]), UnixTime(100), t).unwrap();
        // The first has expired by t=50: purged to make room.
        s.issue(&nonce_from_bytes(&[3; 32]), UnixTime(100), UnixTime(50))
            .unwrap();
        let e = s
            .issue(&nonce_from_bytes(&[4; 32]), UnixTime(100), UnixTime(50))
            .unwrap_err();
        assert_eq!(e.code(), "NONCE_STORE_UNAVAILABLE");
        assert!(e.is_retryable());
    }

    #[test]
    fn shape() {
        assert!(check_nonce_shape(&"A".repeat(43)).is_err());
        assert!(check_nonce_shape(&"A".repeat(44)).is_ok());
        assert!(check_nonce_shape(&"A".repeat(129)).is_err());
        assert!(check_nonce_shape(&format!("{}\"", "A".repeat(44))).is_err());
        assert!(check_nonce_shape(&nonce_from_bytes(&[0xfb; 32])).is_ok());
    }
}
