//! A minimal DER writer for test equipment: every byte under the caller's control, so that
//! certificates with exactly one quirk can be made.

use const_oid::ObjectIdentifier as Oid;

use hoviat::time::UnixTime;

/// Encodes a tag-length-value.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let len = content.len();
    if len < 0x80 {
        v.push(u8::try_from(len).unwrap_or(0));
    } else {
        let b = len.to_be_bytes();
        let skip = b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1);
        v.push(0x80 | u8::try_from(b.len() - skip).unwrap_or(0));
        v.extend_from_slice(&b[skip..]);
    }
    v.extend_from_slice(content);
    v
}

/// SEQUENCE of already-encoded parts.
pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// SET of already-encoded parts (in the given order).
pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

/// OBJECT IDENTIFIER.
pub fn oid(o: &Oid) -> Vec<u8> {
    tlv(0x06, o.as_bytes())
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub fn uint(b: &[u8]) -> Vec<u8> {
    let b = &b[b.iter().position(|&x| x != 0).unwrap_or(b.len().saturating_sub(1))..];
    let mut c = Vec::with_capacity(b.len() + 1);
    if b.first().is_none_or(|&x| x & 0x80 != 0) {
        c.push(0);
    }
    c.extend_from_slice(b);
    if c.len() > 1 && c[0] == 0 && c[1] & 0x80 == 0 {
        c.remove(0);
    }
    tlv(0x02, &c)
}

/// A small INTEGER.
pub fn int(n: u64) -> Vec<u8> {
    uint(&n.to_be_bytes())
}

/// BOOLEAN.
pub fn boolean(b: bool) -> Vec<u8> {
    tlv(0x01, &[if b { 0xFF } else { 0x00 }])
}

/// NULL.
pub fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

/// OCTET STRING.
pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

/// BIT STRING with no unused bits.
pub fn bits(b: &[u8]) -> Vec<u8> {
    let mut c = vec![0u8];
    c.extend_from_slice(b);
    tlv(0x03, &c)
}

/// UTF8String.
pub fn utf8(s: &str) -> Vec<u8> {
    tlv(0x0C, s.as_bytes())
}

/// PrintableString.
pub fn printable(s: &str) -> Vec<u8> {
    tlv(0x13, s.as_bytes())
}

/// BMPString.
pub fn bmp(s: &str) -> Vec<u8> {
    let b: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
    tlv(0x1E, &b)
}

/// [n] EXPLICIT / constructed context tag.
pub fn ctx(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0xA0 | n, content)
}

/// UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5).
pub fn time(t: UnixTime) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = t.to_ymd_hms();
    if (1950..2050).contains(&y) {
        tlv(
            0x17,
            format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100).as_bytes(),
        )
    } else {
        tlv(0x18, format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes())
    }
}

/// A Name from `(attribute OID, encoded value)` pairs, one attribute per RDN, in order.
pub fn name(attrs: &[(Oid, Vec<u8>)]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> = attrs.iter().map(|(o, v)| set(&[seq(&[oid(o), v.clone()])])).collect();
    seq(&rdns)
}

/// An Extension.
pub fn extension(o: &Oid, critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![oid(o)];
    if critical {
        parts.push(boolean(true));
    }
    parts.push(octets(value));
    seq(&parts)
}
