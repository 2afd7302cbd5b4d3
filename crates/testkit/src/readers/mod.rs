//! Reader emulators (test equipment): a GemPC Twin serial CCID reader and a PN532 contactless
//! module, each holding a virtual card, driven bytes in / bytes out ([`Emulator`]) in process
//! or on a pty ([`serve_pty`]) so that pcscd (libccidtwin) and libnfc (pn532_uart) can be
//! pointed at them. The card side of T=1 is in [`t1_card`].

pub mod gempc_twin;
pub mod pn532;
pub mod t1_card;
pub mod usb_ccid;

#[cfg(unix)]
use std::io::{Read, Write};

/// A reader emulator: takes what the host wrote, returns what the reader writes back.
pub trait Emulator {
    /// Processes host bytes (any split); returns the reader's bytes.
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8>;
    /// Command APDUs the card has answered.
    fn apdus(&self) -> usize;
}

/// Historical bytes of an ATR (for the ATS of a contactless target).
pub fn historical_bytes(atr: &[u8]) -> Vec<u8> {
    let Some(&t0) = atr.get(1) else { return Vec::new() };
    let k = usize::from(t0 & 0x0F);
    let mut i = 2;
    let mut td = t0;
    loop {
        i += [0x10, 0x20, 0x40].iter().filter(|b| td & **b != 0).count();
        if td & 0x80 == 0 {
            break;
        }
        let Some(&next) = atr.get(i) else { return Vec::new() };
        td = next;
        i += 1;
    }
    atr.get(i..i + k).map(<[u8]>::to_vec).unwrap_or_default()
}

#[cfg(unix)]
/// Serves `emu` on the pty (or any character device) at `path` until the other side goes away
/// (read error: EIO once the pty pair is gone). With `log`, prints every exchange on stderr.
pub fn serve_pty(path: &str, emu: &mut dyn Emulator, log: bool) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    // Raw mode, like a serial port (echo off, no line discipline).
    // SAFETY: a valid descriptor and a termios struct we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(f.as_raw_fd(), &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(f.as_raw_fd(), libc::TCSANOW, &t);
        }
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(emu.apdus()),
            Err(e) => return Err(e),
        };
        let out = emu.feed(&buf[..n]);
        if log {
            eprintln!("<- {}", hoviat::pki::cert::hex_upper(&buf[..n]));
            if !out.is_empty() {
                eprintln!("-> {}", hoviat::pki::cert::hex_upper(&out));
            }
        }
        if !out.is_empty() {
            f.write_all(&out)?;
            f.flush()?;
        }
    }
}
