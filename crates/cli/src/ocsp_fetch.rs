//! The CLI's OCSP fetch (`hoviat verify-chain --ocsp`): one blocking HTTP POST. Servers use the
//! relying-party kit's fetcher (`hoviat-rp`), which has one overall deadline per fetch.

use hoviat::pki::PkiError;
use hoviat::pki::ocsp::MAX_RESPONSE_LEN;

/// POSTs `request` to an `http://` responder URL and returns the response body. Blocking, with
/// `timeout` for connecting and for each read and write; at most [`MAX_RESPONSE_LEN`] bytes
/// of body. Any network failure is `OCSP_RESPONDER_UNREACHABLE`.
pub fn fetch(url: &str, request: &[u8], timeout: std::time::Duration) -> Result<Vec<u8>, PkiError> {
    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    let unreachable = |why: String| PkiError::OcspResponderUnreachable(format!("{url}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| unreachable("only http:// responder URLs are supported".into()))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if hostport.is_empty() || hostport.contains(['@', ' ']) || path.contains([' ', '\r', '\n']) {
        return Err(unreachable("malformed URL".into()));
    }
    let with_port = if hostport.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<_> = with_port
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .collect();
    let mut last = String::from("no address");
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let mut s = stream.ok_or_else(|| unreachable(last))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| unreachable(e.to_string()))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| unreachable(e.to_string()))?;
    let head = format!(
        "POST {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\nAccept: application/ocsp-response\r\n\r\n",
        request.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(request))
        .map_err(|e| unreachable(e.to_string()))?;
    let mut buf = Vec::new();
    s.take((MAX_RESPONSE_LEN + 8192) as u64)
        .read_to_end(&mut buf)
        .map_err(|e| unreachable(e.to_string()))?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| unreachable("no HTTP response".into()))?;
    let header = String::from_utf8_lossy(&buf[..split]);
    let status_ok = header
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("HTTP/1.") && l.split_whitespace().nth(1) == Some("200"));
    if !status_ok {
        return Err(unreachable(format!(
            "HTTP status {:?}",
            header.lines().next().unwrap_or_default()
        )));
    }
    let body = buf[split + 4..].to_vec();
    if body.len() > MAX_RESPONSE_LEN {
        return Err(PkiError::InputTooLarge {
            what: "OCSP response",
            limit: MAX_RESPONSE_LEN,
        });
    }
    Ok(body)
}
