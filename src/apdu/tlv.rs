//! BER-TLV (ISO 7816-4 §5.2): multi-byte tags, definite lengths up to 4 bytes, bounded depth.

/// One TLV: tag (as its encoded bytes, up to 3), value, and whether it is constructed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag as a number (`0x5FC105`, `0x7C`, `0x53`).
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
}

impl Tlv<'_> {
    /// Whether the tag's constructed bit is set.
    pub fn constructed(&self) -> bool {
        let first = if self.tag > 0xFFFF {
            self.tag >> 16
        } else if self.tag > 0xFF {
            self.tag >> 8
        } else {
            self.tag
        };
        first & 0x20 != 0
    }
}

/// Why TLV data was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlvError(pub &'static str);

/// Parses one TLV at the start of `b`; returns it and the rest.
pub fn parse_one(b: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let first = *b.first().ok_or(TlvError("empty"))?;
    let mut i = 1;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        loop {
            let t = *b.get(i).ok_or(TlvError("truncated tag"))?;
            tag = (tag << 8) | u32::from(t);
            i += 1;
            if t & 0x80 == 0 {
                break;
            }
            if i > 3 {
                return Err(TlvError("tag longer than 3 bytes"));
            }
        }
    }
    let l0 = *b.get(i).ok_or(TlvError("truncated length"))?;
    i += 1;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 4 {
            return Err(TlvError("unsupported length form"));
        }
        let bytes = b.get(i..i + n).ok_or(TlvError("truncated length"))?;
        i += n;
        bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x))
    };
    let end = i.checked_add(len).ok_or(TlvError("length overflow"))?;
    let value = b.get(i..end).ok_or(TlvError("value longer than the data"))?;
    Ok((Tlv { tag, value }, &b[end..]))
}

/// Parses a sequence of TLVs filling `b` exactly.
pub fn parse_all(mut b: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if out.len() >= 256 {
            return Err(TlvError("too many TLVs"));
        }
        let (t, rest) = parse_one(b)?;
        out.push(t);
        b = rest;
    }
    Ok(out)
}

/// Finds the first TLV with `tag` among the top-level TLVs of `b`.
pub fn find(b: &[u8], tag: u32) -> Result<Option<&[u8]>, TlvError> {
    Ok(parse_all(b)?.into_iter().find(|t| t.tag == tag).map(|t| t.value))
}

/// Encodes a TLV with a definite length.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(value.len() + 8);
    for shift in [16u32, 8, 0] {
        let byte = (tag >> shift) & 0xFF;
        if byte != 0 || shift == 0 || (tag >> shift) != 0 {
            v.push(u8::try_from(byte).unwrap_or(0));
        }
    }
    let n = value.len();
    match n {
        0..=0x7F => v.push(u8::try_from(n).unwrap_or(0)),
        0x80..=0xFF => v.extend_from_slice(&[0x81, u8::try_from(n).unwrap_or(0)]),
        _ => {
            let b = u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes();
            v.extend_from_slice(&[0x82, b[0], b[1]]);
        }
    }
    v.extend_from_slice(value);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piv_object() {
        let cert = vec![0x30u8; 300];
        let inner = [encode(0x70, &cert), encode(0x71, &[0]), encode(0xFE, &[])].concat();
        let obj = encode(0x53, &inner);
        assert_eq!(&obj[..4], &[0x53, 0x82, 0x01, 0x35]); // 4 + 300 + 3 + 2 = 309
        let (t, rest) = parse_one(&obj).unwrap();
        assert!(rest.is_empty());
        assert_eq!(t.tag, 0x53);
        assert_eq!(find(t.value, 0x70).unwrap().unwrap(), &cert[..]);
        assert_eq!(find(t.value, 0x71).unwrap().unwrap(), &[0]);
        let multi = encode(0x5FC105, b"x");
        assert_eq!(&multi[..4], &[0x5F, 0xC1, 0x05, 1]);
        assert_eq!(parse_one(&multi).unwrap().0.tag, 0x5FC105);
        assert!(encode(0x7C, &[]).len() == 2 && parse_one(&[0x7C, 0]).unwrap().0.constructed());
    }

    #[test]
    fn hostile() {
        assert!(parse_one(&[]).is_err());
        assert!(parse_one(&[0x53]).is_err());
        assert!(parse_one(&[0x53, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(parse_one(&[0x53, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(parse_one(&[0x53, 0x80]).is_err());
        assert!(parse_one(&[0x5F, 0xFF, 0xFF, 0xFF, 0x01, 0x00]).is_err());
        assert!(parse_one(&[0x53, 0x05, 1, 2]).is_err());
        let many = [0x01u8, 0x00].repeat(300);
        assert!(parse_all(&many).is_err());
    }
}
