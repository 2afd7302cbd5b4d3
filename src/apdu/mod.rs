//! ISO 7816-4 APDUs as bytes: commands (cases 1-4, short and extended length), responses,
//! status words, BER-TLV. Pure and fuzzable; no transport, no card knowledge.

pub mod tlv;

use std::fmt;

use zeroize::Zeroizing;

/// Largest response data hoviat accepts from one exchange (after GET RESPONSE chaining).
pub const MAX_RESPONSE: usize = 64 * 1024;

/// A command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (zeroized on drop: it may hold a PIN).
    pub data: Zeroizing<Vec<u8>>,
    /// Expected response length: `None` = no Le (case 1/3); `Some(0)` = up to the maximum.
    pub le: Option<usize>,
    /// Data is secret (a PIN): `Debug` prints it as `***`.
    pub sensitive: bool,
}

impl Command {
    /// A command without data.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::new(Vec::new()),
            le: None,
            sensitive: false,
        }
    }
    /// With command data.
    pub fn data(mut self, d: &[u8]) -> Self {
        self.data = Zeroizing::new(d.to_vec());
        self
    }
    /// With Le (0 = maximum).
    pub fn le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }
    /// Marks the data as secret.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Whether this command needs extended length encoding.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|l| l > 256)
    }

    /// Encodes the command (ISO 7816-4 §5.1): short form when possible, else extended.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Zeroizing::new(Vec::with_capacity(self.data.len() + 9));
        v.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let n = self.data.len();
        if self.is_extended() {
            v.push(0);
            if n > 0 {
                v.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
                v.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                let le = if le >= 65536 { 0 } else { u16::try_from(le).unwrap_or(0) };
                v.extend_from_slice(&le.to_be_bytes());
            }
        } else {
            if n > 0 {
                v.push(u8::try_from(n).unwrap_or(0));
                v.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                v.push(if le >= 256 { 0 } else { u8::try_from(le).unwrap_or(0) });
            }
        }
        v
    }

    /// Parses a command (used by virtual cards and replayers).
    pub fn parse(b: &[u8]) -> Option<Self> {
        let (&[cla, ins, p1, p2], body) = (b.first_chunk::<4>()?, &b[4..]);
        let mut c = Command::new(cla, ins, p1, p2);
        match body.len() {
            0 => {}
            1 => c.le = Some(if body[0] == 0 { 256 } else { usize::from(body[0]) }),
            _ if body[0] != 0 || body.len() == 1 + usize::from(body[0]) || body.len() == 2 + usize::from(body[0]) => {
                // Short form: Lc data [Le].
                let lc = usize::from(body[0]);
                if lc == 0 {
                    return None;
                }
                let rest = body.get(1..)?;
                match rest.len().checked_sub(lc)? {
                    0 => {}
                    1 => c.le = Some(if rest[lc] == 0 { 256 } else { usize::from(rest[lc]) }),
                    _ => return None,
                }
                c.data = Zeroizing::new(rest[..lc].to_vec());
            }
            _ => {
                // Extended: 00 [Lc(2) data] [Le(2)] or 00 Le(2).
                let rest = &body[1..];
                if rest.len() == 2 {
                    let le = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    c.le = Some(if le == 0 { 65536 } else { le });
                } else {
                    let lc = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                    let after = rest.get(2..)?;
                    match after.len().checked_sub(lc)? {
                        0 => {}
                        2 => {
                            let le = usize::from(u16::from_be_bytes([after[lc], after[lc + 1]]));
                            c.le = Some(if le == 0 { 65536 } else { le });
                        }
                        _ => return None,
                    }
                    c.data = Zeroizing::new(after[..lc].to_vec());
                }
            }
        }
        Some(c)
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X} {:02X} {:02X}", self.cla, self.ins, self.p1, self.p2)?;
        if !self.data.is_empty() {
            if self.sensitive {
                write!(f, " [{} bytes ***]", self.data.len())?;
            } else {
                write!(f, " [{}]", crate::pki::cert::hex_upper(&self.data))?;
            }
        }
        if let Some(le) = self.le {
            write!(f, " Le={le}")?;
        }
        Ok(())
    }
}

/// A status word (SW1 SW2), named by ISO 7816-4 meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusWord {
    /// 90 00
    Ok,
    /// 61 xx: xx more bytes available with GET RESPONSE.
    MoreData(u8),
    /// 62 82: end of file reached before Le bytes.
    EndOfFile,
    /// 63 Cx: verification failed, x tries left.
    TriesLeft(u8),
    /// 67 00
    WrongLength,
    /// 69 82: security status not satisfied (PIN or key needed).
    SecurityNotSatisfied,
    /// 69 83: authentication method blocked.
    Blocked,
    /// 69 85
    ConditionsNotSatisfied,
    /// 69 86
    CommandNotAllowed,
    /// 6A 80
    IncorrectData,
    /// 6A 81
    FunctionNotSupported,
    /// 6A 82: file or application not found.
    FileNotFound,
    /// 6A 86
    IncorrectP1P2,
    /// 6A 88
    ReferenceNotFound,
    /// 6B 00: wrong P1-P2 (offset past the end of file).
    WrongP1P2,
    /// 6C xx: wrong Le, xx is the right one.
    WrongLe(u8),
    /// 6D 00
    InsNotSupported,
    /// 6E 00
    ClaNotSupported,
    /// 6F 00
    Unknown,
    /// Anything else.
    Other(u16),
}

impl StatusWord {
    /// From SW1 SW2.
    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Ok,
            (0x61, x) => Self::MoreData(x),
            (0x62, 0x82) => Self::EndOfFile,
            (0x63, x) if x & 0xF0 == 0xC0 => Self::TriesLeft(x & 0x0F),
            (0x67, 0x00) => Self::WrongLength,
            (0x69, 0x82) => Self::SecurityNotSatisfied,
            (0x69, 0x83) => Self::Blocked,
            (0x69, 0x85) => Self::ConditionsNotSatisfied,
            (0x69, 0x86) => Self::CommandNotAllowed,
            (0x6A, 0x80) => Self::IncorrectData,
            (0x6A, 0x81) => Self::FunctionNotSupported,
            (0x6A, 0x82) => Self::FileNotFound,
            (0x6A, 0x86) => Self::IncorrectP1P2,
            (0x6A, 0x88) => Self::ReferenceNotFound,
            (0x6B, 0x00) => Self::WrongP1P2,
            (0x6C, x) => Self::WrongLe(x),
            (0x6D, 0x00) => Self::InsNotSupported,
            (0x6E, 0x00) => Self::ClaNotSupported,
            (0x6F, 0x00) => Self::Unknown,
            (a, b) => Self::Other(u16::from_be_bytes([a, b])),
        }
    }
    /// The two bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        match self {
            Self::Ok => [0x90, 0x00],
            Self::MoreData(x) => [0x61, x],
            Self::EndOfFile => [0x62, 0x82],
            Self::TriesLeft(x) => [0x63, 0xC0 | (x & 0x0F)],
            Self::WrongLength => [0x67, 0x00],
            Self::SecurityNotSatisfied => [0x69, 0x82],
            Self::Blocked => [0x69, 0x83],
            Self::ConditionsNotSatisfied => [0x69, 0x85],
            Self::CommandNotAllowed => [0x69, 0x86],
            Self::IncorrectData => [0x6A, 0x80],
            Self::FunctionNotSupported => [0x6A, 0x81],
            Self::FileNotFound => [0x6A, 0x82],
            Self::IncorrectP1P2 => [0x6A, 0x86],
            Self::ReferenceNotFound => [0x6A, 0x88],
            Self::WrongP1P2 => [0x6B, 0x00],
            Self::WrongLe(x) => [0x6C, x],
            Self::InsNotSupported => [0x6D, 0x00],
            Self::ClaNotSupported => [0x6E, 0x00],
            Self::Unknown => [0x6F, 0x00],
            Self::Other(x) => x.to_be_bytes(),
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b] = self.to_bytes();
        write!(f, "{a:02X}{b:02X}")
    }
}

/// A response APDU: data and status word. Only `Ok` responses carry meaningful data.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (zeroized on drop).
    pub data: Zeroizing<Vec<u8>>,
    /// Status word.
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} bytes] {}", self.data.len(), self.sw)
    }
}

impl Response {
    /// Parses response bytes; `None` when shorter than a status word.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let (data, sw) = b.split_last_chunk::<2>()?;
        Some(Self {
            data: Zeroizing::new(data.to_vec()),
            sw: StatusWord::from_bytes(sw[0], sw[1]),
        })
    }
    /// A response with data and a status word (for virtual cards).
    pub fn new(data: &[u8], sw: StatusWord) -> Self {
        Self {
            data: Zeroizing::new(data.to_vec()),
            sw,
        }
    }
    /// Encodes data || SW.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.data.to_vec();
        v.extend_from_slice(&self.sw.to_bytes());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_cases_short_and_extended() {
        assert_eq!(*Command::new(0, 0xA4, 4, 0).to_bytes(), [0, 0xA4, 4, 0]);
        assert_eq!(*Command::new(0, 0xB0, 0, 0).le(0xFF).to_bytes(), [0, 0xB0, 0, 0, 0xFF]);
        assert_eq!(*Command::new(0, 0xB0, 0, 0).le(256).to_bytes(), [0, 0xB0, 0, 0, 0x00]);
        assert_eq!(
            *Command::new(0, 0xA4, 0, 0).data(&[0x3F, 0]).to_bytes(),
            [0, 0xA4, 0, 0, 2, 0x3F, 0]
        );
        assert_eq!(
            *Command::new(0, 0x87, 0x11, 0x9A).data(&[1, 2]).le(0).to_bytes(),
            [0, 0x87, 0x11, 0x9A, 2, 1, 2, 0]
        );
        let big = Command::new(0, 0x2A, 0x9E, 0x9A).data(&[7u8; 300]).le(0);
        let b = big.to_bytes();
        assert_eq!(&b[..7], &[0, 0x2A, 0x9E, 0x9A, 0, 0x01, 0x2C]);
        assert_eq!(&b[b.len() - 2..], &[0, 0]);
        assert_eq!(b.len(), 4 + 3 + 300 + 2);
    }

    #[test]
    fn parses_what_it_encodes() {
        for c in [
            Command::new(0, 0xA4, 4, 0),
            Command::new(0, 0xB0, 1, 2).le(0x20),
            Command::new(0, 0xB0, 1, 2).le(256),
            Command::new(0, 0xA4, 0, 0).data(&[0x3F, 0]),
            Command::new(0, 0x87, 0x11, 0x9A).data(&[1, 2, 3]).le(256),
            Command::new(0, 0x2A, 0x9E, 0x9A).data(&[7u8; 300]).le(65536),
            Command::new(0, 0x2A, 0x9E, 0x9A).data(&[7u8; 300]),
        ] {
            assert_eq!(Command::parse(&c.to_bytes()), Some(c.clone()), "{c:?}");
        }
        assert_eq!(Command::parse(&[0, 0xA4, 0]), None);
        assert_eq!(Command::parse(&[0, 0xA4, 0, 0, 5, 1]), None);
    }

    #[test]
    fn status_words() {
        assert_eq!(StatusWord::from_bytes(0x63, 0xC2), StatusWord::TriesLeft(2));
        assert_eq!(StatusWord::from_bytes(0x61, 0x10), StatusWord::MoreData(0x10));
        assert_eq!(StatusWord::from_bytes(0x6C, 0x2D), StatusWord::WrongLe(0x2D));
        assert_eq!(StatusWord::from_bytes(0x69, 0x83), StatusWord::Blocked);
        assert_eq!(StatusWord::from_bytes(0x12, 0x34), StatusWord::Other(0x1234));
        for sw in [
            StatusWord::Ok,
            StatusWord::TriesLeft(3),
            StatusWord::WrongLe(5),
            StatusWord::Other(0x6400),
        ] {
            let [a, b] = sw.to_bytes();
            assert_eq!(StatusWord::from_bytes(a, b), sw);
        }
        assert!(Response::parse(&[0x90]).is_none());
        let r = Response::parse(&[1, 2, 0x90, 0]).unwrap();
        assert_eq!((&r.data[..], r.sw), (&[1u8, 2][..], StatusWord::Ok));
    }

    #[test]
    fn pin_data_is_redacted_in_debug() {
        let c = Command::new(0, 0x20, 0, 0x80).data(b"123456\xFF\xFF").sensitive();
        let s = format!("{c:?}");
        assert!(!s.contains("31") && s.contains("***"), "{s}");
    }
}
