//! Serving connections with limits (issue 15), which `axum::serve` does not set:
//! - a header-read timeout that is also the idle timeout of a kept-alive connection (hyper
//!   starts it whenever it waits for a request head), so a client that trickles an incomplete
//!   request head, or opens a connection and says nothing, is dropped after it;
//! - a whole-request deadline (body read and handler included, `408` in the JSON envelope);
//! - a cap on open connections, overall and per client address (IPv6 by /64): past it a new
//!   connection gets an immediate `503` and is closed, so slow clients cannot use up the file
//!   descriptors and lock everyone else out; the overall cap stays below the file-descriptor
//!   limit (raised to its hard limit at start);
//! - under pressure (half the overall cap open) new connections get the short
//!   `busy_header_timeout`, so slow clients from many addresses must reconnect faster to hold
//!   their places;
//! - freed memory handed back to the system after a burst of connections (glibc's allocator
//!   keeps it otherwise).
//!
//! Also the per-client challenge limit ([`ClientLimiter`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};

/// Connection limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Time to send a complete request head, and the most a kept-alive connection stays idle.
    pub header_timeout: Duration,
    /// The same while at least half of `max_connections` are open.
    pub busy_header_timeout: Duration,
    /// Time for a whole request (body read and answer).
    pub request_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections at most per client address (IPv6: per /64).
    pub max_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            busy_header_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_connections_per_client: 64,
        }
    }
}

/// The client key of an address: IPv4 as is, IPv6 by its /64 (what one subscriber gets).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Counters of the connection layer.
#[derive(Default)]
pub struct ConnStats {
    /// Open now.
    pub open: AtomicUsize,
    /// Refused at the cap since start.
    pub refused: AtomicU64,
    /// Accepted since start.
    pub accepted: AtomicU64,
    per_client: Mutex<HashMap<IpAddr, usize>>,
}

struct ConnGuard {
    stats: Arc<ConnStats>,
    key: IpAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut m) = self.stats.per_client.lock()
            && let Some(n) = m.get_mut(&self.key)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

impl ConnStats {
    fn enter(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Option<ConnGuard> {
        let key = client_key(ip);
        let mut m = self.per_client.lock().ok()?;
        if self.open.load(Ordering::SeqCst) >= limits.max_connections {
            return None;
        }
        let n = m.entry(key).or_insert(0);
        if *n >= limits.max_connections_per_client {
            return None;
        }
        *n += 1;
        self.open.fetch_add(1, Ordering::SeqCst);
        Some(ConnGuard {
            stats: Arc::clone(self),
            key,
        })
    }
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 84\r\n\r\n{\"error\":{\"code\":\"SERVER_BUSY\",\"message\":\"too many connections; try again shortly\"}}";

/// Accepts connections until the listener fails for good; each served by hyper with the limits.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, mut limits: Limits, stats: Arc<ConnStats>) {
    limits.max_connections = limits.max_connections.min(fd_room());
    let builder = |t: Duration| {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(t)
            .max_buf_size(64 * 1024);
        Arc::new(http)
    };
    let (calm, busy) = (
        builder(limits.header_timeout),
        builder(limits.busy_header_timeout.min(limits.header_timeout)),
    );
    spawn_trimmer(Arc::clone(&stats));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // Out of file descriptors or the like: wait for connections to close.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Some(guard) = stats.enter(peer.ip(), &limits) else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            let _ = stream.try_write(BUSY);
            drop(stream);
            continue;
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let http = Arc::clone(if stats.open.load(Ordering::SeqCst) * 2 >= limits.max_connections {
            &busy
        } else {
            &calm
        });
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                let mut r = router.clone();
                async move { tower_service::Service::call(&mut r, req).await }
            });
            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
            drop(guard);
        });
    }
}

/// How many connections the file-descriptor limit leaves room for (raised to the hard limit
/// first), keeping 128 for files, Redis and fetches.
#[cfg(unix)]
fn fd_room() -> usize {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 896;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max.min(1 << 20),
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = want.rlim_cur;
            }
        }
    }
    usize::try_from(r.rlim_cur)
        .unwrap_or(usize::MAX)
        .saturating_sub(128)
        .max(16)
}

#[cfg(not(unix))]
fn fd_room() -> usize {
    usize::MAX
}

/// After a burst of connections has gone, hands freed heap back to the system (glibc keeps it
/// in its arenas otherwise, and the process stays at its peak size).
fn spawn_trimmer(stats: Arc<ConnStats>) {
    tokio::spawn(async move {
        let mut last = 0u64;
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let done = stats.accepted.load(Ordering::Relaxed) + stats.refused.load(Ordering::Relaxed);
            if done.saturating_sub(last) >= 64 && stats.open.load(Ordering::SeqCst) < 64 {
                last = done;
                trim();
            }
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only releases free memory of the allocator; no pointer is involved.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// At most `max` challenges per client address per window (the challenge lifetime): a bound
/// on the challenges one client can have outstanding, so one client cannot fill the store.
pub struct ClientLimiter {
    /// The window, seconds.
    pub window: i64,
    /// Most challenges per client per window (0 = no limit).
    pub max: u32,
    map: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

/// Most addresses remembered; past it the stale windows are dropped.
const LIMITER_ENTRIES: usize = 200_000;

impl ClientLimiter {
    /// `max` per `window` seconds (0 = no limit).
    pub fn new(window: i64, max: u32) -> Self {
        Self {
            window: window.max(1),
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one challenge for `ip` at `now`; `Err(seconds to wait)` past the limit.
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), i64> {
        if self.max == 0 {
            return Ok(());
        }
        let w = now.div_euclid(self.window);
        let Ok(mut m) = self.map.lock() else { return Ok(()) };
        if m.len() >= LIMITER_ENTRIES {
            m.retain(|_, (win, _)| *win == w);
            if m.len() >= LIMITER_ENTRIES {
                m.clear();
            }
        }
        let e = m.entry(client_key(ip)).or_insert((w, 0));
        if e.0 != w {
            *e = (w, 0);
        }
        if e.1 >= self.max {
            return Err((w + 1) * self.window - now);
        }
        e.1 += 1;
        Ok(())
    }
}
