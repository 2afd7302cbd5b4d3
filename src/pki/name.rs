//! Distinguished names: decoding every directory string type (Persian text arrives as
//! UTF8String or BMPString), RFC 4514 display, and RFC 5280 §7.1 comparison.

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};

use super::PkiError;

/// One attribute of a relative distinguished name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute type.
    pub oid: Oid,
    /// The value's ASN.1 tag byte.
    pub tag: u8,
    /// The value's content octets.
    pub value: Vec<u8>,
}

impl Attribute {
    /// The value as text, when it is a string type hoviat decodes.
    pub fn text(&self) -> Option<String> {
        decode_string(self.tag, &self.value)
    }
    /// The short name (`CN`, `SN`, `G`...) or the dotted OID.
    pub fn short_name(&self) -> String {
        short_name(&self.oid).map_or_else(|| self.oid.to_string(), str::to_string)
    }
}

/// A parsed distinguished name, with its DER kept for exact comparison and display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinguishedName {
    /// DER of the whole Name.
    pub der: Vec<u8>,
    /// RDNs in encoded order (most general first, usually C first).
    pub rdns: Vec<Vec<Attribute>>,
}

/// Attribute OIDs hoviat names.
pub mod attr {
    use const_oid::ObjectIdentifier as Oid;
    /// commonName
    pub const CN: Oid = Oid::new_unwrap("2.5.4.3");
    /// surname
    pub const SURNAME: Oid = Oid::new_unwrap("2.5.4.4");
    /// serialNumber (ETSI: `PNOIR-<national code>`)
    pub const SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
    /// countryName
    pub const COUNTRY: Oid = Oid::new_unwrap("2.5.4.6");
    /// organizationName
    pub const ORG: Oid = Oid::new_unwrap("2.5.4.10");
    /// organizationalUnitName
    pub const ORG_UNIT: Oid = Oid::new_unwrap("2.5.4.11");
    /// givenName
    pub const GIVEN_NAME: Oid = Oid::new_unwrap("2.5.4.42");
}

/// Attribute types with a short name, compared as OIDs (no dotted-decimal text is built to look
/// one up: names are shown in every result and compared while paths are built).
const SHORT_NAMES: [(Oid, &str); 19] = [
    (Oid::new_unwrap("2.5.4.3"), "CN"),
    (Oid::new_unwrap("2.5.4.4"), "SN"),
    (Oid::new_unwrap("2.5.4.5"), "serialNumber"),
    (Oid::new_unwrap("2.5.4.6"), "C"),
    (Oid::new_unwrap("2.5.4.7"), "L"),
    (Oid::new_unwrap("2.5.4.8"), "ST"),
    (Oid::new_unwrap("2.5.4.9"), "street"),
    (Oid::new_unwrap("2.5.4.10"), "O"),
    (Oid::new_unwrap("2.5.4.11"), "OU"),
    (Oid::new_unwrap("2.5.4.12"), "title"),
    (Oid::new_unwrap("2.5.4.42"), "G"),
    (Oid::new_unwrap("2.5.4.43"), "initials"),
    (Oid::new_unwrap("2.5.4.44"), "generationQualifier"),
    (Oid::new_unwrap("2.5.4.46"), "dnQualifier"),
    (Oid::new_unwrap("2.5.4.65"), "pseudonym"),
    (Oid::new_unwrap("2.5.4.97"), "organizationIdentifier"),
    (Oid::new_unwrap("1.2.840.113549.1.9.1"), "emailAddress"),
    (Oid::new_unwrap("0.9.2342.19200300.100.1.25"), "DC"),
    (Oid::new_unwrap("0.9.2342.19200300.100.1.1"), "UID"),
];

fn short_name(o: &Oid) -> Option<&'static str> {
    SHORT_NAMES.iter().find(|(k, _)| k == o).map(|(_, v)| *v)
}

/// Decodes a directory string by its tag: UTF8String, PrintableString, IA5String,
/// VisibleString, TeletexString (as Latin-1), BMPString (UTF-16BE), UniversalString (UTF-32BE).
pub fn decode_string(tag: u8, v: &[u8]) -> Option<String> {
    match tag {
        0x0C => String::from_utf8(v.to_vec()).ok(),
        0x12 | 0x13 | 0x16 | 0x1A => v.is_ascii().then(|| String::from_utf8_lossy(v).into_owned()),
        0x14 => Some(v.iter().map(|&b| char::from(b)).collect()),
        0x1E => {
            if !v.len().is_multiple_of(2) {
                return None;
            }
            let units = v.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units).collect::<Result<String, _>>().ok()
        }
        0x1C => {
            if !v.len().is_multiple_of(4) {
                return None;
            }
            v.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

const MAX_RDNS: usize = 64;

impl DistinguishedName {
    /// Parses the DER of a Name (`SEQUENCE OF SET OF AttributeTypeAndValue`).
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, PkiError> {
        let bad = |e: &dyn std::fmt::Display| PkiError::CertMalformed(detail!("name: {e}"));
        let outer = AnyRef::from_der(der_bytes).map_err(|e| bad(&e))?;
        if outer.tag() != Tag::Sequence {
            return Err(bad(&"not a SEQUENCE"));
        }
        let mut rdns = Vec::new();
        let mut r = SliceReader::new(outer.value()).map_err(|e| bad(&e))?;
        while !r.is_finished() {
            if rdns.len() >= MAX_RDNS {
                return Err(bad(&"too many RDNs"));
            }
            let set = AnyRef::decode(&mut r).map_err(|e| bad(&e))?;
            if set.tag() != Tag::Set {
                return Err(bad(&"RDN is not a SET"));
            }
            let mut attrs = Vec::new();
            let mut sr = SliceReader::new(set.value()).map_err(|e| bad(&e))?;
            while !sr.is_finished() {
                if attrs.len() >= MAX_RDNS {
                    return Err(bad(&"too many attributes"));
                }
                let atv = AnyRef::decode(&mut sr).map_err(|e| bad(&e))?;
                if atv.tag() != Tag::Sequence {
                    return Err(bad(&"attribute is not a SEQUENCE"));
                }
                let mut ar = SliceReader::new(atv.value()).map_err(|e| bad(&e))?;
                let oid = Oid::decode(&mut ar).map_err(|e| bad(&e))?;
                let value = AnyRef::decode(&mut ar).map_err(|e| bad(&e))?;
                if !ar.is_finished() {
                    return Err(bad(&"trailing data in attribute"));
                }
                let tag = tag_byte(value.tag());
                attrs.push(Attribute {
                    oid,
                    tag,
                    value: value.value().to_vec(),
                });
            }
            if attrs.is_empty() {
                return Err(bad(&"empty RDN"));
            }
            rdns.push(attrs);
        }
        Ok(Self {
            der: der_bytes.to_vec(),
            rdns,
        })
    }

    /// True when the name has no attributes.
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// Every attribute in encoded order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.rdns.iter().flatten()
    }

    /// The text of the first attribute of type `oid`.
    pub fn get(&self, oid: &Oid) -> Option<String> {
        self.attributes().find(|a| a.oid == *oid).and_then(Attribute::text)
    }

    /// RFC 5280 §7.1 name matching: byte equality, or the same structure with string values
    /// equal after trimming, collapsing internal white space and case folding.
    pub fn matches(&self, other: &Self) -> bool {
        if self.der == other.der {
            return true;
        }
        if self.rdns.len() != other.rdns.len() {
            return false;
        }
        self.rdns.iter().zip(&other.rdns).all(|(a, b)| rdn_eq(a, b))
    }
}

impl DistinguishedName {
    /// A key equal for two names exactly when [`DistinguishedName::matches`] says they match:
    /// per RDN, its attributes' keys sorted (one-to-one pairing is multiset equality), each
    /// attribute as its OID and either its normalised text (string types that decode) or its
    /// tag and raw value. For indexing; `matches` stays the rule.
    pub fn match_key(&self) -> String {
        let mut key = String::new();
        for rdn in &self.rdns {
            let mut parts: Vec<String> = rdn
                .iter()
                .map(|a| {
                    // The OID as the hex of its content octets (one encoding per OID in DER):
                    // as distinct as the dotted text, without formatting it.
                    let mut p = super::cert::hex_lower(a.oid.as_bytes());
                    match a.text().filter(|_| is_string_tag(a.tag)) {
                        Some(t) => {
                            p.push_str("=s:");
                            p.push_str(&normalise(&t));
                        }
                        None => {
                            p.push_str("=r:");
                            p.push_str(&super::cert::hex_lower(&[a.tag]));
                            p.push(':');
                            p.push_str(&super::cert::hex_lower(&a.value));
                        }
                    }
                    p
                })
                .collect();
            parts.sort();
            for p in parts {
                key.push_str(&p.len().to_string());
                key.push(':');
                key.push_str(&p);
            }
            key.push('/');
        }
        key
    }
}

/// Multi-valued RDNs match when their attributes pair up one to one (each used once), so
/// `CN=A+CN=A` does not match `CN=A+CN=B`.
pub(crate) fn rdn_eq(a: &[Attribute], b: &[Attribute]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter()
        .all(|x| match (0..b.len()).find(|&j| !used[j] && attr_eq(x, &b[j])) {
            Some(j) => {
                used[j] = true;
                true
            }
            None => false,
        })
}

fn attr_eq(a: &Attribute, b: &Attribute) -> bool {
    if a.oid != b.oid {
        return false;
    }
    if a.tag == b.tag && a.value == b.value {
        return true;
    }
    match (a.text(), b.text()) {
        (Some(x), Some(y)) if is_string_tag(a.tag) && is_string_tag(b.tag) => normalise(&x) == normalise(&y),
        _ => false,
    }
}

fn is_string_tag(t: u8) -> bool {
    matches!(t, 0x0C | 0x13 | 0x14 | 0x1C | 0x1E | 0x16)
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn tag_byte(t: Tag) -> u8 {
    use der::Encode;
    let mut buf = [0u8; 4];
    match t.encode_to_slice(&mut buf) {
        Ok(s) => s.first().copied().unwrap_or(0),
        Err(_) => 0,
    }
}

impl std::fmt::Display for DistinguishedName {
    /// RFC 4514 order (most specific first): `CN=..., O=..., C=IR`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, rdn) in self.rdns.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            for (j, a) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                match short_name(&a.oid) {
                    Some(n) => f.write_str(n)?,
                    None => write!(f, "{}", a.oid)?,
                }
                f.write_str("=")?;
                match a.text() {
                    Some(t) => f.write_str(&escape(&t))?,
                    None => {
                        f.write_str("#")?;
                        for b in &a.value {
                            write!(f, "{b:02X}")?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let n = s.chars().count();
    for (i, c) in s.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        if c.is_control() {
            out.push_str(&format!("\\{:02X}", u32::from(c) & 0xFF));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmp_and_utf8_persian() {
        let s = "محمد";
        let bmp: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode_string(0x1E, &bmp).unwrap(), s);
        assert_eq!(decode_string(0x0C, s.as_bytes()).unwrap(), s);
        assert_eq!(decode_string(0x13, "é".as_bytes()), None);
        assert_eq!(decode_string(0x1E, &[0xD8, 0x00]), None); // lone surrogate
    }

    /// `match_key` equality is `matches`, over names that differ in case, spacing, string
    /// type, attribute order inside an RDN, RDN order, duplicated values and non-string values.
    #[test]
    fn match_key_agrees_with_matches() {
        use crate::test_der::{bmp, oid, printable, seq, set, tlv, utf8};
        let cn = super::attr::CN;
        let c = Oid::new_unwrap("2.5.4.6");
        let atv = |o: &Oid, v: Vec<u8>| seq(&[oid(o), v]);
        let name = |rdns: Vec<Vec<Vec<u8>>>| {
            let der = seq(&rdns.iter().map(|r| set(r)).collect::<Vec<_>>());
            DistinguishedName::from_der(&der).unwrap()
        };
        let names = [
            name(vec![vec![atv(&c, printable("IR"))], vec![atv(&cn, utf8("Iran CA"))]]),
            name(vec![
                vec![atv(&c, printable("IR"))],
                vec![atv(&cn, utf8("  iran   ca "))],
            ]),
            name(vec![vec![atv(&c, printable("IR"))], vec![atv(&cn, bmp("IRAN CA"))]]),
            name(vec![vec![atv(&cn, utf8("Iran CA"))], vec![atv(&c, printable("IR"))]]),
            name(vec![vec![atv(&c, printable("IR")), atv(&cn, utf8("A"))]]),
            name(vec![vec![atv(&cn, utf8("a")), atv(&c, printable("ir"))]]),
            name(vec![vec![atv(&cn, utf8("A")), atv(&cn, utf8("A"))]]),
            name(vec![vec![atv(&cn, utf8("A")), atv(&cn, utf8("B"))]]),
            name(vec![vec![atv(&cn, tlv(0x04, b"Iran CA"))]]),
            name(vec![vec![atv(&cn, tlv(0x04, b"iran ca"))]]),
            name(vec![vec![atv(&cn, utf8("Iran CA"))]]),
            name(vec![vec![atv(&cn, utf8("Iran CA2"))]]),
            name(vec![]),
        ];
        let mut equal = 0;
        for a in &names {
            for b in &names {
                assert_eq!(a.matches(b), a.match_key() == b.match_key(), "{a} vs {b}");
                equal += usize::from(a.matches(b));
            }
        }
        assert!(equal > names.len(), "some distinct encodings must match");
    }

    #[test]
    fn normalised_match() {
        assert_eq!(normalise("  Iran   Government "), "iran government");
    }
}
