//! The Iranian national code (کد ملی): normalisation and check digit (cards.md §5).

use std::fmt;

/// A validated national code: exactly ten ASCII digits whose check digit is right.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalCode([u8; 10]);

/// Why a national code was refused. Code: `NATIONAL_CODE_INVALID`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NationalCodeError {
    /// A character that is not an ASCII, Persian or Arabic-Indic digit.
    NotDigits,
    /// Fewer than 8 or more than 10 digits.
    WrongLength(usize),
    /// Digits 3..8 are all zero, or the code is one digit repeated.
    Reserved,
    /// The check digit does not match.
    CheckDigit,
}

impl fmt::Display for NationalCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDigits => f.write_str("the national code must contain only digits"),
            Self::WrongLength(n) => write!(f, "a national code has 8 to 10 digits, not {n}"),
            Self::Reserved => f.write_str("this number is not an issued national code"),
            Self::CheckDigit => f.write_str("the national code's check digit is wrong"),
        }
    }
}

impl std::error::Error for NationalCodeError {}

impl crate::error::Coded for NationalCodeError {
    fn code(&self) -> &'static str {
        "NATIONAL_CODE_INVALID"
    }
}

impl NationalCode {
    /// Parses and validates: Persian (U+06F0..U+06F9) and Arabic-Indic (U+0660..U+0669)
    /// digits are normalised to ASCII, 8 or 9 digits are left-padded with zeros, surrounding
    /// whitespace is ignored.
    pub fn parse(input: &str) -> Result<Self, NationalCodeError> {
        let input = input.trim();
        let mut digits = [0u8; 10];
        let mut n = 0usize;
        for ch in input.chars() {
            let d = match ch {
                '0'..='9' => ch as u32 - '0' as u32,
                '\u{06F0}'..='\u{06F9}' => ch as u32 - 0x06F0,
                '\u{0660}'..='\u{0669}' => ch as u32 - 0x0660,
                _ => return Err(NationalCodeError::NotDigits),
            };
            if n == 10 {
                // Count the rest for the message without storing them.
                let extra = input.chars().count();
                return Err(NationalCodeError::WrongLength(extra));
            }
            digits[n] = u8::try_from(d).unwrap_or(0);
            n += 1;
        }
        if !(8..=10).contains(&n) {
            return Err(NationalCodeError::WrongLength(n));
        }
        let mut d = [0u8; 10];
        d[10 - n..].copy_from_slice(&digits[..n]);
        if d[3..9].iter().all(|&x| x == 0) || d.iter().all(|&x| x == d[0]) {
            return Err(NationalCodeError::Reserved);
        }
        let s: u32 = d[..9]
            .iter()
            .zip((2..=10u32).rev())
            .map(|(&x, w)| u32::from(x) * w)
            .sum();
        let r = s % 11;
        let check = u32::from(d[9]);
        let ok = if r < 2 { check == r } else { check == 11 - r };
        if !ok {
            return Err(NationalCodeError::CheckDigit);
        }
        let mut ascii = [0u8; 10];
        for (a, x) in ascii.iter_mut().zip(d) {
            *a = b'0' + x;
        }
        Ok(NationalCode(ascii))
    }

    /// The ten ASCII digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for NationalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NationalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalCode({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_examples_from_cards_md() {
        for c in [
            "0076229645",
            "1583250689",
            "0499370899",
            "0790419904",
            "0084575948",
            "0013542419",
        ] {
            assert_eq!(NationalCode::parse(c).unwrap().as_str(), c);
        }
        assert_eq!(NationalCode::parse("11537027").unwrap().as_str(), "0011537027");
    }

    #[test]
    fn persian_and_arabic_indic_digits() {
        assert_eq!(NationalCode::parse("۰۰۷۶۲۲۹۶۴۵").unwrap().as_str(), "0076229645");
        assert_eq!(NationalCode::parse("١٥٨٣٢٥٠٦٨٩").unwrap().as_str(), "1583250689");
        assert_eq!(NationalCode::parse(" 0076229645 ").unwrap().as_str(), "0076229645");
    }

    #[test]
    fn invalid_examples() {
        assert_eq!(NationalCode::parse("0000000000"), Err(NationalCodeError::Reserved));
        assert_eq!(NationalCode::parse("1111111111"), Err(NationalCodeError::Reserved));
        assert_eq!(NationalCode::parse("9999999999"), Err(NationalCodeError::Reserved));
        assert_eq!(NationalCode::parse("12345"), Err(NationalCodeError::WrongLength(5)));
        assert_eq!(NationalCode::parse("0076229646"), Err(NationalCodeError::CheckDigit));
        assert_eq!(NationalCode::parse("00762296-45"), Err(NationalCodeError::NotDigits));
        assert_eq!(
            NationalCode::parse("123456789012"),
            Err(NationalCodeError::WrongLength(12))
        );
        assert_eq!(NationalCode::parse(""), Err(NationalCodeError::WrongLength(0)));
        // Digits 3..8 all zero, yet the arithmetic would pass.
        assert_eq!(NationalCode::parse("1230000002"), Err(NationalCodeError::Reserved));
    }
}
