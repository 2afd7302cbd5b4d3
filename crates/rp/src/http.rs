//! hoviat's one HTTP client: a minimal HTTP/1.0 client over `std::net`, with one overall
//! deadline per fetch (name resolution and connecting included) and a size limit. Every fetch
//! goes through it: CRLs and intermediate certificates from `http://` distribution points and
//! trust URLs ([`super::trust`], [`super::revocation`]), OCSP requests at login
//! ([`super::revocation`]) and the CLI's `hoviat ocsp fetch` (`hoviat-cli`). No dependency: a
//! general client crate would bring TLS, redirects, proxies and pooling this needs none of.
//!
//! Only `http://` is spoken: CRLs and certificates are signed, so the transport needs no
//! secrecy or integrity of its own (that is why CRL distribution points are `http://`). Trust
//! anchors are never fetched ([`super::trust`]). Redirects are not followed.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Why a fetch failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

const TOO_LARGE: &str = "response larger than";

impl FetchError {
    /// Whether the server answered with more than the size limit (an answer, not a failure to
    /// reach it).
    pub fn is_too_large(&self) -> bool {
        self.0.starts_with(TOO_LARGE)
    }
}

fn err(s: impl Into<String>) -> FetchError {
    FetchError(s.into())
}

/// Splits `http://host[:port]/path` into host, port and path.
pub fn parse_http_url(url: &str) -> Result<(String, u16, String), FetchError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        err("only http:// URLs are fetched (CRLs and certificates are signed; use a file for anything else)")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(err("URL without a host, or with user info"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h, p.parse::<u16>().map_err(|_| err("bad port in URL"))?)
        }
        _ => (authority, 80),
    };
    let ok = |b: u8| b.is_ascii_graphic() && b != b'#';
    if host.is_empty() || !host.bytes().all(ok) || !path.bytes().all(ok) {
        return Err(err("URL with forbidden characters"));
    }
    Ok((
        host.trim_start_matches('[').trim_end_matches(']').to_string(),
        port,
        path.to_string(),
    ))
}

/// GETs `url`, failing after `timeout` in all (name resolution, connect, send, receive) or
/// when the body exceeds `max_body` bytes. Only status 200 is a success.
pub fn http_get(url: &str, timeout: Duration, max_body: usize) -> Result<Vec<u8>, FetchError> {
    request(url, None, timeout, max_body)
}

/// POSTs `body` as `content_type` to `url` (an OCSP request), under the same rules as
/// [`http_get`].
pub fn http_post(
    url: &str,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
    max_body: usize,
) -> Result<Vec<u8>, FetchError> {
    if !content_type.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(err("bad content type"));
    }
    request(url, Some((content_type, body)), timeout, max_body)
}

/// Resolves `host` before `deadline`: an IP literal directly, a name on a helper thread (the
/// system resolver has no timeout of its own; a resolver that hangs leaves that thread behind
/// until it returns, never the caller).
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, FetchError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("hoviat-dns".into())
        .spawn(move || {
            let _ = tx.send((name.as_str(), port).to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
        })
        .map_err(|e| err(format!("cannot resolve {host}: {e}")))?;
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(err(format!("cannot resolve {host}: {e}"))),
        Err(_) => Err(err(format!("cannot resolve {host}: timed out"))),
    }
}

fn request(url: &str, post: Option<(&str, &[u8])>, timeout: Duration, max_body: usize) -> Result<Vec<u8>, FetchError> {
    let (host, port, path) = parse_http_url(url)?;
    let deadline = Instant::now() + timeout;
    let timed_out = || err(format!("timed out after {} ms", timeout.as_millis()));
    let left = || {
        let l = deadline.saturating_duration_since(Instant::now());
        if l.is_zero() { Err(timed_out()) } else { Ok(l) }
    };
    let addrs = resolve(&host, port, deadline)?;
    let mut stream = None;
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, left()?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let mut s = stream.ok_or_else(|| err(format!("cannot connect to {host}:{port}: {last}")))?;
    let host_header = if port == 80 {
        host.clone()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = match post {
        None => format!(
            "GET {path} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: hoviat\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
        Some((ctype, body)) => format!(
            "POST {path} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: hoviat\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes(),
    };
    if let Some((_, body)) = post {
        req.extend_from_slice(body);
    }
    // Written in pieces, each under what is left of the deadline (a server that reads slowly
    // cannot stretch it).
    for piece in req.chunks(16 * 1024) {
        s.set_write_timeout(Some(left()?)).map_err(|e| err(e.to_string()))?;
        s.write_all(piece).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => timed_out(),
            _ => err(format!("send: {e}")),
        })?;
    }
    let limit = max_body + 16 * 1024;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // Every read waits at most what is left of the one deadline: a server trickling a byte
        // at a time is cut when the deadline passes, not after each byte's own timeout.
        s.set_read_timeout(Some(left()?)).map_err(|e| err(e.to_string()))?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > limit {
                    return Err(err(format!("{TOO_LARGE} {max_body} bytes")));
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(timed_out());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(err(format!("receive: {e}"))),
        }
    }
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| err("malformed HTTP response"))?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !head.starts_with("HTTP/1.") || status != "200" {
        return Err(err(format!(
            "HTTP status {}",
            status.chars().take(3).collect::<String>()
        )));
    }
    let body = buf[end + 4..].to_vec();
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked { dechunk(&body)? } else { body };
    if body.len() > max_body {
        return Err(err(format!("{TOO_LARGE} {max_body} bytes")));
    }
    Ok(body)
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    loop {
        let i = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| err("bad chunk"))?;
        let size_s = String::from_utf8_lossy(&b[..i]);
        let size =
            usize::from_str_radix(size_s.split(';').next().unwrap_or("").trim(), 16).map_err(|_| err("bad chunk"))?;
        b = &b[i + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            return Err(err("truncated chunk"));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(response: Vec<u8>) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b);
                let _ = s.write_all(&response);
            }
        });
        format!("http://127.0.0.1:{port}/ca.crl")
    }

    #[test]
    fn fetches_refuses_and_times_out() {
        let url = serve_once(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec());
        assert_eq!(http_get(&url, Duration::from_secs(5), 100).unwrap(), b"hello");
        let url = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n".to_vec(),
        );
        assert_eq!(http_get(&url, Duration::from_secs(5), 100).unwrap(), b"hello");
        let url = serve_once(b"HTTP/1.0 404 Not Found\r\n\r\n".to_vec());
        assert!(
            http_get(&url, Duration::from_secs(5), 100)
                .unwrap_err()
                .0
                .contains("404")
        );
        let url = serve_once([b"HTTP/1.0 200 OK\r\n\r\n".as_slice(), &[0u8; 500]].concat());
        assert!(
            http_get(&url, Duration::from_secs(5), 100)
                .unwrap_err()
                .0
                .contains("larger")
        );
        // A server that accepts and never answers.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/x", l.local_addr().unwrap().port());
        let t = Instant::now();
        assert!(
            http_get(&url, Duration::from_millis(300), 100)
                .unwrap_err()
                .0
                .contains("timed out")
        );
        assert!(t.elapsed() < Duration::from_secs(3));
        drop(l);
        assert!(http_get("https://example.ir/ca.crl", Duration::from_secs(1), 100).is_err());
        assert!(
            http_get(
                &serve_once([b"HTTP/1.0 200 OK\r\n\r\n".as_slice(), &[0u8; 500]].concat()),
                Duration::from_secs(5),
                100
            )
            .unwrap_err()
            .is_too_large()
        );
        assert!(http_get("http://u@h/x", Duration::from_secs(1), 100).is_err());
        assert!(http_get("http://h/x y", Duration::from_secs(1), 100).is_err());
    }

    /// A server that answers one byte every 500 ms, forever (until the client leaves).
    fn trickle() -> (String, Arc<AtomicBool>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let st = Arc::clone(&stop);
        std::thread::spawn(move || {
            while let Ok((mut s, _)) = l.accept() {
                let st = Arc::clone(&st);
                std::thread::spawn(move || {
                    let mut b = [0u8; 4096];
                    let _ = s.read(&mut b);
                    for byte in b"HTTP/1.0 200 OK\r\nX: ".iter().chain(std::iter::repeat(&b'a')) {
                        if st.load(Ordering::SeqCst) || s.write_all(&[*byte]).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(500));
                    }
                });
            }
        });
        (format!("http://127.0.0.1:{port}/slow"), stop)
    }

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_trickling_server_is_cut_at_the_one_deadline() {
        let (url, stop) = trickle();
        for post in [false, true] {
            let t = Instant::now();
            let r = if post {
                http_post(
                    &url,
                    "application/ocsp-request",
                    b"x",
                    Duration::from_millis(1200),
                    1 << 20,
                )
            } else {
                http_get(&url, Duration::from_millis(1200), 1 << 20)
            };
            let took = t.elapsed();
            assert!(r.unwrap_err().0.contains("timed out"));
            assert!(took >= Duration::from_millis(1100), "{took:?}");
            assert!(took < Duration::from_millis(2000), "cut after {took:?}, deadline 1.2 s");
        }
        stop.store(true, Ordering::SeqCst);
        // A name that does not resolve fails within the deadline too.
        let t = Instant::now();
        assert!(http_get("http://nonexistent.invalid/x", Duration::from_millis(1500), 10).is_err());
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
