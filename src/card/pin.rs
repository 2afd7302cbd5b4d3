//! PINs: digits only, zeroized on drop, never printed.

use zeroize::Zeroizing;

use super::CardError;

/// A PIN as ASCII digits. `Debug` prints `Pin(***)`; the buffer is zeroized on drop.
pub struct Pin(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(***)")
    }
}

impl Pin {
    /// Takes a PIN of 4 to 16 ASCII digits (trailing newline ignored). The caller's string is
    /// not zeroized by this call; prefer [`Pin::from_bytes`] with a buffer you wipe.
    pub fn new(s: &str) -> Result<Self, CardError> {
        Self::from_bytes(s.as_bytes())
    }

    /// Takes a PIN from bytes (e.g. read from stdin), trimming one trailing `\n` / `\r\n`.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CardError> {
        let b = b.strip_suffix(b"\n").unwrap_or(b);
        let b = b.strip_suffix(b"\r").unwrap_or(b);
        if !b.iter().all(u8::is_ascii_digit) {
            return Err(CardError::PinFormat("only digits".into()));
        }
        if !(4..=16).contains(&b.len()) {
            return Err(CardError::PinFormat(format!("4 to 16 digits, not {}", b.len())));
        }
        let mut v = Zeroizing::new(Vec::with_capacity(16));
        v.extend_from_slice(b);
        Ok(Pin(v))
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true (a PIN has at least 4 digits).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The PIN padded with `pad` to `len` bytes, as a card's VERIFY expects; an error when it is
    /// outside `min..=len` digits.
    pub fn padded(&self, min: usize, len: usize, pad: u8) -> Result<Zeroizing<Vec<u8>>, CardError> {
        if self.0.len() < min || self.0.len() > len {
            return Err(CardError::PinFormat(format!("this PIN has {min} to {len} digits")));
        }
        let mut v = Zeroizing::new(vec![pad; len]);
        v[..self.0.len()].copy_from_slice(&self.0);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_padding() {
        let p = Pin::new("123456").unwrap();
        assert_eq!(format!("{p:?}"), "Pin(***)");
        assert_eq!(&p.padded(6, 8, 0xFF).unwrap()[..], b"123456\xFF\xFF");
        assert_eq!(&p.padded(4, 16, 0).unwrap()[..], b"123456\0\0\0\0\0\0\0\0\0\0");
        assert!(p.padded(8, 8, 0).is_err());
        assert!(Pin::new("12a4").is_err());
        assert!(Pin::new("123").is_err());
        assert!(Pin::from_bytes(b"1234\n").is_ok());
    }
}
