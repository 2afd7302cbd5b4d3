//! The card side of vsmartcard's vpcd protocol (test equipment): a virtual card connects to
//! pcscd's vpcd driver on TCP, and pcscd sees a reader with that card. Frames are a 2-byte
//! big-endian length and a payload; a 1-byte payload is a control code (0 power off, 1 power
//! on, 2 reset, 4 ATR request), anything longer is a command APDU.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::virtual_card::VirtualCard;

/// How a simulation ended.
#[derive(Debug, Default)]
pub struct SimReport {
    /// APDUs answered.
    pub apdus: usize,
}

/// Re-arms TCP_QUICKACK: without it each APDU waits for the peer's delayed ACK (about 48 ms).
fn quickack(s: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a pointer to a c_int of the size given.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                std::ptr::from_ref(&one).cast(),
                libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4),
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = s;
}

/// Serves `card` to vpcd at `addr` until pcscd closes the connection, or until `remove_after`
/// APDUs have been answered (then the socket is closed: a card removal).
pub fn serve(card: &mut dyn VirtualCard, addr: &str, remove_after: Option<usize>) -> std::io::Result<SimReport> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut report = SimReport::default();
    loop {
        let mut len = [0u8; 2];
        match s.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(report),
            Err(e) => return Err(e),
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut payload)?;
        quickack(&s);
        let answer = match payload.as_slice() {
            [0] => {
                card.power(false);
                continue;
            }
            [1] => {
                card.power(true);
                continue;
            }
            [2] => {
                card.power(false);
                card.power(true);
                continue;
            }
            [4] => card.atr(),
            [_] => continue,
            apdu => {
                if remove_after.is_some_and(|n| report.apdus >= n) {
                    return Ok(report);
                }
                report.apdus += 1;
                card.process(apdu)
            }
        };
        let n = u16::try_from(answer.len()).unwrap_or(0);
        let mut frame = n.to_be_bytes().to_vec();
        frame.extend_from_slice(&answer[..usize::from(n)]);
        s.write_all(&frame)?;
    }
}
