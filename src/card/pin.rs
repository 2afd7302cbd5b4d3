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
    /// Takes a PIN of 4 to 16 digits (trailing newline ignored). Persian (۰-۹) and
    /// Arabic-Indic (٠-٩) digits are read as the ASCII digits a card compares: a holder or clerk
    /// on a Persian keyboard types them, and the card stores ASCII. The caller's string is not
    /// zeroized by this call; prefer [`Pin::from_bytes`] with a buffer you wipe.
    pub fn new(s: &str) -> Result<Self, CardError> {
        Self::from_bytes(s.as_bytes())
    }

    /// Takes a PIN from UTF-8 bytes (e.g. read from stdin), trimming one trailing `\n` /
    /// `\r\n`; digits as in [`Pin::new`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, CardError> {
        let b = b.strip_suffix(b"\n").unwrap_or(b);
        let b = b.strip_suffix(b"\r").unwrap_or(b);
        // Straight into the zeroized buffer, never longer than 16 (no reallocation leaves a copy).
        let mut v = Zeroizing::new(Vec::with_capacity(16));
        let mut i = 0;
        while i < b.len() {
            let (digit, width) = match (b[i], b.get(i + 1).copied()) {
                (d @ b'0'..=b'9', _) => (d, 1),
                // U+06F0..U+06F9 EXTENDED ARABIC-INDIC (Persian) DIGIT ZERO..NINE: DB B0..DB B9.
                (0xDB, Some(x @ 0xB0..=0xB9)) => (b'0' + (x - 0xB0), 2),
                // U+0660..U+0669 ARABIC-INDIC DIGIT ZERO..NINE: D9 A0..D9 A9.
                (0xD9, Some(x @ 0xA0..=0xA9)) => (b'0' + (x - 0xA0), 2),
                _ => return Err(CardError::PinFormat("only digits".into())),
            };
            if v.len() == 16 {
                return Err(CardError::PinFormat("4 to 16 digits, not more than 16".into()));
            }
            v.push(digit);
            i += width;
        }
        if v.len() < 4 {
            return Err(CardError::PinFormat(format!("4 to 16 digits, not {}", v.len())));
        }
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
        assert!(Pin::new("12345678901234567").is_err());
        assert!(Pin::new("").is_err());
    }

    #[test]
    fn persian_and_arabic_indic_digits_are_the_ascii_digits() {
        let pad = |p: &str| Pin::new(p).unwrap().padded(4, 8, 0xFF).unwrap().to_vec();
        assert_eq!(pad("۱۲۳۴"), b"1234\xFF\xFF\xFF\xFF");
        assert_eq!(pad("٠٩٨٧٦"), b"09876\xFF\xFF\xFF");
        assert_eq!(pad("1۲3٤"), b"1234\xFF\xFF\xFF\xFF");
        assert_eq!(Pin::new("۰۱۲۳۴۵۶۷۸۹").unwrap().len(), 10);
        assert_eq!(Pin::new(&"۱".repeat(16)).unwrap().len(), 16);
        assert!(Pin::new(&"۱".repeat(17)).is_err());
        assert!(Pin::new("۱۲۳").is_err());
        // Other letters of those blocks, a lone lead byte, and fullwidth digits are not digits.
        assert!(Pin::new("۱۲۳۴ی").is_err());
        assert!(Pin::new("\u{06EF}123").is_err());
        assert!(Pin::from_bytes(b"123\xDB").is_err());
        assert!(Pin::from_bytes(b"12\xDB\xBA4").is_err());
        assert!(Pin::new("１２３４").is_err());
    }
}
