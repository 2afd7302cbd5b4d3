//! The CLI's OCSP fetch (`hoviat ocsp fetch`): one POST through the relying-party kit's HTTP
//! client ([`hoviat_rp::http`]), the same client servers use for OCSP, CRLs and intermediates:
//! one overall deadline per fetch (name resolution, connect, send and receive together) and a
//! size limit.

use std::time::Duration;

use hoviat::pki::PkiError;
use hoviat::pki::ocsp::MAX_RESPONSE_LEN;

/// POSTs `request` to an `http://` responder URL and returns the response body, within
/// `timeout` in all; at most [`MAX_RESPONSE_LEN`] bytes of body (`INPUT_TOO_LARGE` past it).
/// Any other failure (network, deadline, HTTP status) is `OCSP_RESPONDER_UNREACHABLE`.
pub fn fetch(url: &str, request: &[u8], timeout: Duration) -> Result<Vec<u8>, PkiError> {
    hoviat_rp::http::http_post(url, "application/ocsp-request", request, timeout, MAX_RESPONSE_LEN).map_err(|e| {
        if e.is_too_large() {
            PkiError::InputTooLarge {
                what: "OCSP response",
                limit: MAX_RESPONSE_LEN,
            }
        } else {
            PkiError::OcspResponderUnreachable(format!("{url}: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoviat::Coded;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    /// A responder on loopback that reads the request, then writes `head` and `body_len` bytes
    /// of body, one chunk every `pause`.
    fn responder(head: &'static [u8], body_len: usize, pause: Duration) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut b = [0u8; 4096];
                let _ = s.read(&mut b);
                let _ = s.write_all(head);
                for _ in 0..body_len.div_ceil(1024) {
                    if s.write_all(&[0x30; 1024]).is_err() {
                        return;
                    }
                    std::thread::sleep(pause);
                }
            }
        });
        format!("http://127.0.0.1:{port}/")
    }

    /// One deadline for the whole fetch: a responder that keeps sending (each read on time) is
    /// cut when the deadline passes; an answer over the limit is INPUT_TOO_LARGE.
    #[test]
    fn one_deadline_and_a_size_limit() {
        let url = responder(b"HTTP/1.0 200 OK\r\n\r\n", 64 * 1024, Duration::from_millis(200));
        let t = Instant::now();
        let e = fetch(&url, b"req", Duration::from_millis(1000)).unwrap_err();
        assert_eq!(e.code(), "OCSP_RESPONDER_UNREACHABLE", "{e}");
        assert!(e.to_string().contains("timed out"), "{e}");
        assert!(t.elapsed() < Duration::from_millis(1800), "cut after {:?}", t.elapsed());
        let url = responder(b"HTTP/1.0 200 OK\r\n\r\n", MAX_RESPONSE_LEN + 32 * 1024, Duration::ZERO);
        assert_eq!(
            fetch(&url, b"req", Duration::from_secs(10)).unwrap_err().code(),
            "INPUT_TOO_LARGE"
        );
        let url = responder(b"HTTP/1.0 500 Oops\r\n\r\n", 0, Duration::ZERO);
        assert_eq!(
            fetch(&url, b"req", Duration::from_secs(10)).unwrap_err().code(),
            "OCSP_RESPONDER_UNREACHABLE"
        );
        assert_eq!(
            fetch("https://ocsp.example.ir/", b"req", Duration::from_secs(1))
                .unwrap_err()
                .code(),
            "OCSP_RESPONDER_UNREACHABLE"
        );
    }
}
