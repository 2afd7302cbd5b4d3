//! Name constraints (RFC 5280 §4.2.1.10, §6.1.3 (b)-(c), §6.1.4 (g)).
//!
//! Implemented forms: dNSName, rfc822Name, iPAddress, directoryName and uniformResourceIdentifier.
//! A constraint of any other form (otherName, x400Address, ediPartyName, registeredID) is kept
//! as "unsupported": it is a no-op for certificates that carry no name of that form (RFC 5280
//! only constrains names that appear), and a certificate below it that does carry a name of that
//! form is refused, because hoviat cannot tell whether the name is inside the subtree.
//!
//! Constraints are checked certificate by certificate against every constraining CA above it in
//! the path, which is the same as RFC 5280's intersection of permitted subtrees and union of
//! excluded subtrees: a name is in an intersection exactly when it is in each set.

use der::{Decode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};

use super::PkiError;
use super::name::{DistinguishedName, rdn_eq};

/// Most subtrees in one nameConstraints extension, and most names checked in one certificate
/// (bounds the quadratic check against hostile certificates).
const MAX_ITEMS: usize = 1024;

/// GeneralName form numbers (the context tag of the CHOICE).
mod form {
    pub const OTHER_NAME: u8 = 0;
    pub const RFC822: u8 = 1;
    pub const DNS: u8 = 2;
    pub const DIRECTORY: u8 = 4;
    pub const URI: u8 = 6;
    pub const IP: u8 = 7;
}

/// One GeneralName, as a constraint's base or as a certificate's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeneralName {
    /// dNSName (ASCII)
    Dns(String),
    /// rfc822Name (ASCII)
    Email(String),
    /// iPAddress: 4 or 16 bytes in a name, address + mask (8 or 32 bytes) in a constraint.
    Ip(Vec<u8>),
    /// directoryName
    Directory(DistinguishedName),
    /// uniformResourceIdentifier (ASCII)
    Uri(String),
    /// A form hoviat does not interpret, by its form number.
    Other(u8),
}

impl GeneralName {
    fn form(&self) -> u8 {
        match self {
            Self::Dns(_) => form::DNS,
            Self::Email(_) => form::RFC822,
            Self::Ip(_) => form::IP,
            Self::Directory(_) => form::DIRECTORY,
            Self::Uri(_) => form::URI,
            Self::Other(f) => *f,
        }
    }

    /// Decodes one GeneralName TLV.
    pub fn decode(any: AnyRef<'_>) -> Result<Self, String> {
        let Tag::ContextSpecific { number, constructed } = any.tag() else {
            return Err(detail!("GeneralName is not context-tagged"));
        };
        let n = number.value();
        let ascii = |v: &[u8]| -> Result<String, String> {
            if v.is_ascii() {
                Ok(String::from_utf8_lossy(v).into_owned())
            } else {
                Err(detail!("non-ASCII IA5String in a GeneralName"))
            }
        };
        let n8 = u8::try_from(n).map_err(|_| detail!("GeneralName form"))?;
        Ok(match (n8, constructed) {
            (form::RFC822, false) => Self::Email(ascii(any.value())?),
            (form::DNS, false) => Self::Dns(ascii(any.value())?),
            (form::URI, false) => Self::Uri(ascii(any.value())?),
            (form::IP, false) => Self::Ip(any.value().to_vec()),
            (form::DIRECTORY, true) => {
                let inner = AnyRef::from_der(any.value()).map_err(|e| detail!("{e}"))?;
                let tlv = der::Encode::to_der(&inner).map_err(|e| detail!("{e}"))?;
                Self::Directory(DistinguishedName::from_der(&tlv).map_err(|e| detail!("{e}"))?)
            }
            (form::OTHER_NAME | 3 | 5, true) | (8, false) => Self::Other(n8),
            _ => return Err(detail!("GeneralName [{n}] badly encoded")),
        })
    }
}

/// Decodes `GeneralNames` (the content of a SEQUENCE OF GeneralName, e.g. a subjectAltName).
pub fn decode_general_names(seq_der: &[u8]) -> Result<Vec<GeneralName>, String> {
    let seq = AnyRef::from_der(seq_der).map_err(|e| detail!("{e}"))?;
    if seq.tag() != Tag::Sequence {
        return Err(detail!("GeneralNames is not a SEQUENCE"));
    }
    let mut r = SliceReader::new(seq.value()).map_err(|e| detail!("{e}"))?;
    let mut out = Vec::new();
    while !r.is_finished() {
        if out.len() >= MAX_ITEMS {
            return Err(detail!("too many names"));
        }
        out.push(GeneralName::decode(
            AnyRef::decode(&mut r).map_err(|e| detail!("{e}"))?,
        )?);
    }
    Ok(out)
}

/// A parsed nameConstraints extension.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameConstraints {
    /// permittedSubtrees bases.
    pub permitted: Vec<GeneralName>,
    /// excludedSubtrees bases.
    pub excluded: Vec<GeneralName>,
}

impl NameConstraints {
    /// Parses the extension value. Refuses an empty extension or empty subtree lists (RFC 5280
    /// §4.2.1.10: one of the two MUST be present; GeneralSubtrees is SIZE (1..MAX)), minimum or
    /// maximum fields (MUST be absent/zero in this profile), and malformed bases of the forms
    /// hoviat implements (a DNS constraint with a wildcard or a leading period, an IP constraint
    /// that is not address + contiguous mask, an email constraint that is not a mailbox, host or
    /// .domain).
    pub fn from_der(v: &[u8]) -> Result<Self, String> {
        let seq = AnyRef::from_der(v).map_err(|e| detail!("{e}"))?;
        if seq.tag() != Tag::Sequence {
            return Err(detail!("nameConstraints is not a SEQUENCE"));
        }
        let mut r = SliceReader::new(seq.value()).map_err(|e| detail!("{e}"))?;
        let mut nc = NameConstraints::default();
        let mut last = None;
        while !r.is_finished() {
            let part = AnyRef::decode(&mut r).map_err(|e| detail!("{e}"))?;
            let n = match part.tag() {
                Tag::ContextSpecific {
                    number,
                    constructed: true,
                } if number.value() <= 1 => number.value(),
                _ => return Err(detail!("nameConstraints field")),
            };
            if last.is_some_and(|l| n <= l) {
                return Err(detail!("nameConstraints fields out of order"));
            }
            last = Some(n);
            let list = parse_subtrees(part.value())?;
            if list.is_empty() {
                return Err(detail!("empty GeneralSubtrees"));
            }
            if n == 0 {
                nc.permitted = list;
            } else {
                nc.excluded = list;
            }
        }
        if last.is_none() {
            return Err(detail!("empty nameConstraints"));
        }
        if nc.permitted.len() + nc.excluded.len() > MAX_ITEMS {
            return Err(detail!("too many name constraints"));
        }
        Ok(nc)
    }

    /// Checks every name of a certificate (its subject, the emailAddress attributes of its
    /// subject, and its subjectAltName) against these constraints.
    pub fn check(&self, names: &[GeneralName]) -> Result<(), String> {
        for name in names {
            let f = name.form();
            for ex in self.excluded.iter().filter(|c| c.form() == f) {
                if matches!(ex, GeneralName::Other(_)) {
                    return Err(detail!(
                        "a name of form [{f}] falls under an excluded subtree hoviat does not interpret"
                    ));
                }
                if within(name, ex, true)? {
                    return Err(detail!("{} is in an excluded subtree", describe(name)));
                }
            }
            let mut permitted = self.permitted.iter().filter(|c| c.form() == f).peekable();
            if permitted.peek().is_none() {
                continue;
            }
            let mut ok = false;
            for p in permitted {
                if matches!(p, GeneralName::Other(_)) {
                    return Err(detail!(
                        "a name of form [{f}] is under permitted subtrees hoviat does not interpret"
                    ));
                }
                if within(name, p, false)? {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Err(detail!("{} is outside the permitted subtrees", describe(name)));
            }
        }
        Ok(())
    }
}

fn describe(n: &GeneralName) -> String {
    match n {
        GeneralName::Dns(s) => detail!("DNS name {s:?}"),
        GeneralName::Email(s) => detail!("email {s:?}"),
        GeneralName::Uri(s) => detail!("URI {s:?}"),
        GeneralName::Ip(b) => detail!("IP address {}", super::cert::hex_lower(b)),
        GeneralName::Directory(d) => detail!("directory name \"{d}\""),
        GeneralName::Other(f) => detail!("name of form [{f}]"),
    }
}

fn parse_subtrees(content: &[u8]) -> Result<Vec<GeneralName>, String> {
    let mut r = SliceReader::new(content).map_err(|e| detail!("{e}"))?;
    let mut out = Vec::new();
    while !r.is_finished() {
        if out.len() >= MAX_ITEMS {
            return Err(detail!("too many name constraints"));
        }
        let st = AnyRef::decode(&mut r).map_err(|e| detail!("{e}"))?;
        if st.tag() != Tag::Sequence {
            return Err(detail!("GeneralSubtree is not a SEQUENCE"));
        }
        let mut sr = SliceReader::new(st.value()).map_err(|e| detail!("{e}"))?;
        let base = GeneralName::decode(AnyRef::decode(&mut sr).map_err(|e| detail!("{e}"))?)?;
        if !sr.is_finished() {
            return Err(detail!(
                "GeneralSubtree minimum/maximum must be absent (RFC 5280 §4.2.1.10)"
            ));
        }
        validate_constraint(&base)?;
        out.push(base);
    }
    Ok(out)
}

fn validate_constraint(c: &GeneralName) -> Result<(), String> {
    match c {
        // The empty DNS constraint is every name; otherwise a host name, no wildcard, no
        // leading period (RFC 5280: "any DNS name that can be constructed by simply adding zero
        // or more labels to the left-hand side").
        GeneralName::Dns(d) if !d.is_empty() && !valid_dns(d, false) => Err(detail!("malformed DNS constraint {d:?}")),
        GeneralName::Email(e) => {
            let ok = match e.split_once('@') {
                Some((local, host)) => valid_local_part(local) && valid_dns(host, false),
                None => valid_dns(e.strip_prefix('.').unwrap_or(e), false),
            };
            if ok {
                Ok(())
            } else {
                Err(detail!("malformed email constraint {e:?}"))
            }
        }
        GeneralName::Ip(b) => {
            let mask = match b.len() {
                8 => &b[4..],
                32 => &b[16..],
                _ => return Err(detail!("IP constraint is not address + mask")),
            };
            // The mask must be contiguous ones followed by zeros (CIDR).
            let bits: Vec<bool> = mask
                .iter()
                .flat_map(|m| (0..8).map(move |i| m & (0x80 >> i) != 0))
                .collect();
            if bits.windows(2).any(|w| !w[0] && w[1]) {
                return Err(detail!("IP constraint mask is not a CIDR prefix"));
            }
            Ok(())
        }
        GeneralName::Uri(u) => {
            if u.is_empty() || !valid_dns(u.strip_prefix('.').unwrap_or(u), false) {
                Err(detail!("malformed URI constraint {u:?}"))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// A host name: non-empty LDH labels of at most 63 characters (underscore tolerated: it occurs
/// in real service names and grants nothing), at most 253 characters; with `wildcard`, the
/// leftmost label may be exactly `*`.
fn valid_dns(s: &str, wildcard: bool) -> bool {
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    s.split('.').enumerate().all(|(i, l)| {
        (wildcard && i == 0 && l == "*")
            || (!l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    })
}

/// A mailbox local part: non-empty, printable ASCII without `@` or spaces (RFC 5321 dot-atom
/// characters; quoted local parts are not supported and refused under a constraint).
fn valid_local_part(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'@' && b != b'"')
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Whether host `name` is `base` or a subdomain of it (label-wise, case-insensitive).
fn dns_within(name: &str, base: &str) -> bool {
    if base.is_empty() {
        return true;
    }
    let (n, b) = (lower(name), lower(base));
    n == b || n.ends_with(&format!(".{b}"))
}

/// Whether `name` lies in the subtree `c` (of the same form). A malformed name under a
/// constraint of its form is an error, never a pass. For excluded subtrees a wildcard DNS name
/// counts as inside when it could expand to a name inside.
fn within(name: &GeneralName, c: &GeneralName, excluded: bool) -> Result<bool, String> {
    Ok(match (name, c) {
        (GeneralName::Dns(n), GeneralName::Dns(b)) => {
            if !valid_dns(n, true) {
                return Err(detail!("malformed DNS name {n:?} under a DNS name constraint"));
            }
            if let Some(rest) = n.strip_prefix("*.") {
                // `*.example.com` is inside `example.com` and its subtrees when it is
                // permitted; when excluded, also when the excluded base is one label under
                // `example.com` (the wildcard can expand to it).
                dns_within(rest, b)
                    || (excluded
                        && b.split_once('.')
                            .is_some_and(|(_, parent)| lower(parent) == lower(rest)))
            } else {
                dns_within(n, b)
            }
        }
        (GeneralName::Email(n), GeneralName::Email(b)) => {
            let Some((local, host)) = n.rsplit_once('@') else {
                return Err(detail!("malformed email address {n:?} under an email constraint"));
            };
            if !valid_local_part(local) || !valid_dns(host, false) {
                return Err(detail!("malformed email address {n:?} under an email constraint"));
            }
            match b.split_once('@') {
                // A mailbox: exact local part, case-insensitive host.
                Some((bl, bh)) => bl == local && lower(bh) == lower(host),
                // `.example.com`: any host under it (not example.com itself).
                None if b.starts_with('.') => lower(host).ends_with(&lower(b)),
                // `example.com`: any mailbox on exactly that host.
                None => lower(host) == lower(b),
            }
        }
        (GeneralName::Ip(n), GeneralName::Ip(b)) => {
            if n.len() != 4 && n.len() != 16 {
                return Err(detail!("malformed IP address under an IP constraint"));
            }
            if b.len() != 2 * n.len() {
                false
            } else {
                let (addr, mask) = b.split_at(n.len());
                n.iter().zip(addr).zip(mask).all(|((x, a), m)| x & m == a & m)
            }
        }
        (GeneralName::Directory(n), GeneralName::Directory(b)) => {
            b.rdns.len() <= n.rdns.len() && b.rdns.iter().zip(&n.rdns).all(|(x, y)| rdn_eq(x, y))
        }
        (GeneralName::Uri(n), GeneralName::Uri(b)) => {
            let host = uri_host(n).ok_or_else(|| detail!("URI {n:?} has no host under a URI constraint"))?;
            match b.strip_prefix('.') {
                Some(_) => lower(&host).ends_with(&lower(b)),
                None => lower(&host) == lower(b),
            }
        }
        _ => false,
    })
}

/// The host of `scheme://[userinfo@]host[:port][/...]`; `None` for URIs without an authority or
/// with an IP-literal host.
fn uri_host(uri: &str) -> Option<String> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hostport.starts_with('[') {
        return None;
    }
    let host = hostport.split(':').next()?;
    valid_dns(host, false).then(|| host.to_string())
}

/// The names of a certificate that name constraints apply to: its subject (when not empty),
/// the emailAddress attributes of its subject (as rfc822Names, §4.2.1.10), and its
/// subjectAltName entries.
pub fn names_of(subject: &DistinguishedName, san: Option<&[u8]>) -> Result<Vec<GeneralName>, PkiError> {
    const EMAIL_ADDRESS: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
    let mut out = Vec::new();
    if !subject.is_empty() {
        out.push(GeneralName::Directory(subject.clone()));
        for a in subject.attributes().filter(|a| a.oid == EMAIL_ADDRESS) {
            match a.text() {
                Some(t) => out.push(GeneralName::Email(t)),
                None => return Err(PkiError::CertMalformed(detail!("emailAddress attribute is not text"))),
            }
        }
    }
    if let Some(san) = san {
        out.extend(decode_general_names(san).map_err(|e| PkiError::CertMalformed(detail!("subjectAltName: {e}")))?);
    }
    Ok(out)
}
