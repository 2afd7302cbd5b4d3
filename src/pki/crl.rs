//! Certificate revocation lists (RFC 5280 §5), parsed into a compact sorted index over the DER
//! so that a registry-size CRL (millions of entries) costs one buffer and 16 bytes per entry.
//! Complete CRLs and delta CRLs (§5.2.4) parse alike; a delta CRL is marked by
//! [`Crl::base_number`] and is only ever used together with a complete CRL it extends (see
//! [`Crl::extends`] and the revocation check in `path.rs`).

use std::cmp::Ordering;
use std::ops::Range;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};

use super::PkiError;
use super::alg::SigAlg;
use super::cert::{hex_upper, raw_first_element};
use super::name::DistinguishedName;
use crate::time::UnixTime;

/// Largest CRL accepted (256 MiB: about 7 million entries).
pub const MAX_CRL_LEN: usize = 256 * 1024 * 1024;

const CRL_NUMBER: Oid = Oid::new_unwrap("2.5.29.20");
const DELTA_CRL_INDICATOR: Oid = Oid::new_unwrap("2.5.29.27");
const ISSUING_DP: Oid = Oid::new_unwrap("2.5.29.28");
const AKI: Oid = Oid::new_unwrap("2.5.29.35");
const FRESHEST_CRL: Oid = Oid::new_unwrap("2.5.29.46");
const AIA: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.1");
const REASON_CODE: Oid = Oid::new_unwrap("2.5.29.21");
const INVALIDITY_DATE: Oid = Oid::new_unwrap("2.5.29.24");
const CERTIFICATE_ISSUER: Oid = Oid::new_unwrap("2.5.29.29");

/// CRL entry reason codes (RFC 5280 §5.3.1, CRLReason) that revocation processing acts on.
pub mod reason {
    /// certificateHold: revoked for now, and the only revocation that may be undone.
    pub const CERTIFICATE_HOLD: u8 = 6;
    /// removeFromCRL: only in delta CRLs; the certificate is no longer listed (a hold released).
    pub const REMOVE_FROM_CRL: u8 = 8;
}

/// `Entry::reason` when the entry has no reasonCode.
const NO_REASON: u8 = 0xFF;

#[derive(Clone, Copy, Debug)]
struct Entry {
    serial_at: u32,
    serial_len: u8,
    /// The entry's reasonCode, or `NO_REASON`. It sits in what would otherwise be padding, so
    /// the index stays 16 bytes an entry (checked below).
    reason: u8,
    date: i64,
}

// The index of a registry-size CRL is 16 bytes an entry; the reason code must not grow it.
const _: () = assert!(std::mem::size_of::<Entry>() == 16);

/// One listing of a certificate on a CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// revocationDate (the earliest, if the serial is listed more than once).
    pub date: UnixTime,
    /// The reasonCode (RFC 5280 §5.3.1), `None` when absent. A serial listed more than once
    /// with different reasons reads as `None` (unspecified): neither a hold that can be released
    /// nor a removal.
    pub reason: Option<u8>,
}

/// Which certificates a CRL covers (from its issuingDistributionPoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every certificate of the issuer.
    All,
    /// End-entity certificates only.
    UserCerts,
    /// CA certificates only.
    CaCerts,
    /// Attribute certificates only (so none that hoviat validates).
    AttributeCerts,
}

/// A parsed CRL. Its signature is not checked here: the validator checks it under the issuing
/// CA's key, and a CRL that does not verify is an error, never a pass.
#[derive(Debug)]
pub struct Crl {
    der: Vec<u8>,
    tbs: Range<usize>,
    /// Signature algorithm, or why it is unusable.
    pub sig_alg: Result<SigAlg, PkiError>,
    /// Signature value.
    pub signature: Vec<u8>,
    /// The CRL issuer.
    pub issuer: DistinguishedName,
    /// thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate (RFC 5280 requires it; absent means no freshness bound was given).
    pub next_update: Option<UnixTime>,
    /// authorityKeyIdentifier keyIdentifier.
    pub aki: Option<Vec<u8>>,
    /// cRLNumber content octets (an unsigned big-endian integer, leading zeros stripped).
    pub number: Option<Vec<u8>>,
    /// For a delta CRL (deltaCRLIndicator, RFC 5280 §5.2.4): the BaseCRLNumber, as `number`.
    /// `None` for a complete CRL.
    pub base_number: Option<Vec<u8>>,
    /// Scope from issuingDistributionPoint.
    pub scope: Scope,
    /// The distribution point names (GeneralName TLVs) the CRL's issuingDistributionPoint says
    /// it is for; `None` when it covers the whole issuer.
    pub dp_names: Option<Vec<Vec<u8>>>,
    entries: Vec<Entry>,
}

fn bad(e: impl std::fmt::Display) -> PkiError {
    PkiError::CrlMalformed(detail!("{e}"))
}

fn time_of(any: AnyRef<'_>) -> Result<UnixTime, PkiError> {
    super::cert::time_of(any).map_err(bad)
}

fn is_time(any: &AnyRef<'_>) -> bool {
    any.tag() == Tag::UtcTime || any.tag() == Tag::GeneralizedTime
}

impl Crl {
    /// Parses a DER CRL.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, PkiError> {
        let mut crl = Self::parse(der_bytes)?;
        crl.der = der_bytes.to_vec();
        Ok(crl)
    }

    /// Parses a DER CRL it takes ownership of: the index points into that buffer, so a
    /// registry-size CRL is held once (no copy), plus 16 bytes per entry.
    pub fn from_vec(der_bytes: Vec<u8>) -> Result<Self, PkiError> {
        let mut crl = Self::parse(&der_bytes)?;
        crl.der = der_bytes;
        Ok(crl)
    }

    /// Parses and indexes; the returned CRL's buffer is empty until the caller sets it to
    /// exactly `der_bytes`.
    fn parse(der_bytes: &[u8]) -> Result<Self, PkiError> {
        if der_bytes.len() > MAX_CRL_LEN {
            return Err(PkiError::InputTooLarge {
                what: "CRL",
                limit: MAX_CRL_LEN,
            });
        }
        let outer = AnyRef::from_der(der_bytes).map_err(bad)?;
        if outer.tag() != Tag::Sequence {
            return Err(bad("not a SEQUENCE"));
        }
        let mut r = SliceReader::new(outer.value()).map_err(bad)?;
        let tbs_any = AnyRef::decode(&mut r).map_err(bad)?;
        let alg_any = AnyRef::decode(&mut r).map_err(bad)?;
        let sig = der::asn1::BitStringRef::decode(&mut r).map_err(bad)?;
        if !r.is_finished() || tbs_any.tag() != Tag::Sequence || alg_any.tag() != Tag::Sequence {
            return Err(bad("CertificateList structure"));
        }
        let tbs_range = raw_first_element(der_bytes).map_err(bad)?;
        let signature = sig.as_bytes().ok_or_else(|| bad("signature has unused bits"))?.to_vec();
        let outer_alg_der = &der_bytes[tbs_range.end..tbs_range.end + alg_der_len(&alg_any)?];
        let sig_alg = {
            let mut ar = SliceReader::new(alg_any.value()).map_err(bad)?;
            let o = Oid::decode(&mut ar).map_err(bad)?;
            let p = if ar.is_finished() {
                None
            } else {
                Some(AnyRef::decode(&mut ar).map_err(bad)?)
            };
            SigAlg::from_algorithm_identifier(&o, p)
        };

        let tbs_content = tbs_any.value();
        let base = tbs_range.end - tbs_content.len();
        let mut t = SliceReader::new(tbs_content).map_err(bad)?;
        let mut next = AnyRef::decode(&mut t).map_err(bad)?;
        let mut v2 = false;
        if next.tag() == Tag::Integer {
            let v: u8 = next.decode_as().map_err(bad)?;
            if v != 1 {
                return Err(bad("CRL version must be v2 (1) when present"));
            }
            v2 = true;
            next = AnyRef::decode(&mut t).map_err(bad)?;
        }
        {
            use der::Encode;
            if next.to_der().map_err(bad)? != outer_alg_der {
                return Err(bad("signatureAlgorithm differs from the TBS signature field"));
            }
        }
        let issuer_any = AnyRef::decode(&mut t).map_err(bad)?;
        let issuer = {
            use der::Encode;
            DistinguishedName::from_der(&issuer_any.to_der().map_err(bad)?).map_err(|e| bad(detail!("{e}")))?
        };
        let this_update = time_of(AnyRef::decode(&mut t).map_err(bad)?)?;
        let mut crl = Crl {
            der: Vec::new(),
            tbs: tbs_range.clone(),
            sig_alg,
            signature,
            issuer,
            this_update,
            next_update: None,
            aki: None,
            number: None,
            base_number: None,
            scope: Scope::All,
            dp_names: None,
            entries: Vec::new(),
        };
        let mut item = if t.is_finished() {
            None
        } else {
            Some(AnyRef::decode(&mut t).map_err(bad)?)
        };
        if let Some(a) = item.filter(is_time) {
            crl.next_update = Some(time_of(a)?);
            item = if t.is_finished() {
                None
            } else {
                Some(AnyRef::decode(&mut t).map_err(bad)?)
            };
        }
        if let Some(list) = item.filter(|a| a.tag() == Tag::Sequence) {
            let list_base = base + offset_in(tbs_content, list.value());
            crl.entries = parse_entries(list.value(), list_base, v2)?;
            item = if t.is_finished() {
                None
            } else {
                Some(AnyRef::decode(&mut t).map_err(bad)?)
            };
        }
        if let Some(exts) = item {
            let is_ctx0 =
                matches!(exts.tag(), Tag::ContextSpecific { constructed: true, number } if number.value() == 0);
            if !is_ctx0 || !v2 {
                return Err(bad("unexpected field in TBSCertList"));
            }
            crl.parse_extensions(exts.value())?;
        }
        if !t.is_finished() {
            return Err(bad("trailing data in TBSCertList"));
        }
        // RFC 5280 §5.1.2.5: conforming issuers MUST include nextUpdate. Without it a CRL would
        // never go stale, so it is refused.
        if crl.next_update.is_none() {
            return Err(bad("no nextUpdate"));
        }
        // §5.2.4: a delta CRL MUST carry cRLNumber; without it there is no telling which
        // complete CRL it is newer than.
        if crl.base_number.is_some() && crl.number.is_none() {
            return Err(bad("delta CRL without cRLNumber (RFC 5280 5.2.4)"));
        }
        // Sort by serial for binary search; equal serials keep the earliest date.
        let d = der_bytes;
        crl.entries
            .sort_unstable_by(|a, b| serial_of(d, a).cmp(serial_of(d, b)).then(a.date.cmp(&b.date)));
        Ok(crl)
    }

    fn parse_extensions(&mut self, content: &[u8]) -> Result<(), PkiError> {
        let seq = AnyRef::from_der(content).map_err(bad)?;
        let mut r = SliceReader::new(seq.value()).map_err(bad)?;
        let mut seen = Vec::new();
        while !r.is_finished() {
            let (oid, critical, value) = read_extension(&mut r)?;
            if seen.contains(&oid) {
                return Err(bad(detail!("extension {oid} appears twice")));
            }
            seen.push(oid);
            if seen.len() > 32 {
                return Err(bad("too many CRL extensions"));
            }
            match oid {
                CRL_NUMBER => {
                    // §5.2.3: MUST be non-critical. Refused at load, which fails closed (the
                    // configuration is refused).
                    if critical {
                        return Err(bad("critical cRLNumber (RFC 5280 5.2.3)"));
                    }
                    let n = der::asn1::UintRef::from_der(value).map_err(bad)?;
                    self.number = Some(n.as_bytes().to_vec());
                }
                AKI => {
                    self.aki = super::cert::aki_key_id(value).map_err(bad)?;
                }
                ISSUING_DP => (self.scope, self.dp_names) = parse_idp(value)?,
                DELTA_CRL_INDICATOR => {
                    // §5.2.4: MUST be critical, so that a verifier that does not know delta CRLs
                    // refuses one instead of reading it as complete. A non-critical one is
                    // refused: it is malformed, and read as a complete CRL it would vouch for
                    // every certificate it does not list.
                    if !critical {
                        return Err(bad("non-critical deltaCRLIndicator (RFC 5280 5.2.4)"));
                    }
                    let n = der::asn1::UintRef::from_der(value).map_err(bad)?;
                    self.base_number = Some(n.as_bytes().to_vec());
                }
                FRESHEST_CRL | AIA => {}
                _ if critical => return Err(PkiError::CrlUnsupported(detail!("critical CRL extension {oid}"))),
                _ => {}
            }
        }
        Ok(())
    }

    /// The TBSCertList bytes exactly as signed.
    pub fn tbs_bytes(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// Number of revoked entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no certificate is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The revocation date of `serial` (content octets of the INTEGER), if listed (whatever the
    /// reason: on a delta CRL, see [`Crl::revocation`]).
    pub fn revoked_at(&self, serial: &[u8]) -> Option<UnixTime> {
        self.revocation(serial).map(|r| r.date)
    }

    /// How `serial` (content octets of the INTEGER) is listed, if it is: the earliest date, and
    /// the reason when every listing of it gives the same one.
    pub fn revocation(&self, serial: &[u8]) -> Option<Revocation> {
        let d = &self.der;
        // First entry with this serial (entries are sorted by serial, then date).
        let first = self.entries.partition_point(|e| serial_of(d, e) < serial);
        let mut same = self.entries[first..].iter().take_while(|e| serial_of(d, e) == serial);
        let e = same.next()?;
        // A serial listed twice with different reasons is ambiguous: read it as unspecified,
        // so it can neither release a hold nor be released.
        let reason = if same.all(|o| o.reason == e.reason) {
            e.reason
        } else {
            NO_REASON
        };
        Some(Revocation {
            date: UnixTime(e.date),
            reason: (reason != NO_REASON).then_some(reason),
        })
    }

    /// True for a delta CRL (it has a deltaCRLIndicator).
    pub fn is_delta(&self) -> bool {
        self.base_number.is_some()
    }

    /// Whether this delta CRL may be combined with the complete CRL `base` (RFC 5280 §5.2.4,
    /// §6.3.3): the same issuer name and scope (issuingDistributionPoint), `base`'s cRLNumber
    /// at least this delta's BaseCRLNumber (it holds everything the delta builds on), and this
    /// delta's cRLNumber greater than `base`'s (the delta is newer). False when either is not
    /// of its kind or lacks a number. Signatures, signers and times are the caller's to check.
    pub fn extends(&self, base: &Crl) -> bool {
        let (Some(delta_base), Some(delta_no)) = (&self.base_number, &self.number) else {
            return false;
        };
        let Some(base_no) = base.number.as_ref().filter(|_| !base.is_delta()) else {
            return false;
        };
        cmp_uint(base_no, delta_base) != Ordering::Less
            && cmp_uint(delta_no, base_no) == Ordering::Greater
            && self.issuer.matches(&base.issuer)
            && self.scope == base.scope
            && same_names(self.dp_names.as_deref(), base.dp_names.as_deref())
    }

    /// Serial numbers listed, as hex (for tools and tests).
    pub fn serials_hex(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(|e| hex_upper(serial_of(&self.der, e)))
    }
}

/// Compares two unsigned big-endian integers given as content octets, whatever their leading
/// zeros (cRLNumber and BaseCRLNumber are up to 20 octets, RFC 5280 §5.2.3, so no machine
/// integer holds them).
pub fn cmp_uint(a: &[u8], b: &[u8]) -> Ordering {
    fn strip(x: &[u8]) -> &[u8] {
        let n = x.iter().take_while(|&&b| b == 0).count();
        &x[n..]
    }
    let (a, b) = (strip(a), strip(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The same set of distribution point names (order does not matter).
fn same_names(a: Option<&[Vec<u8>]>, b: Option<&[Vec<u8>]>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.iter().all(|n| b.contains(n)) && b.iter().all(|n| a.contains(n)),
        _ => false,
    }
}

fn serial_of<'a>(d: &'a [u8], e: &Entry) -> &'a [u8] {
    let start = usize::try_from(e.serial_at).unwrap_or(0);
    &d[start..start + usize::from(e.serial_len)]
}

fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

fn alg_der_len(a: &AnyRef<'_>) -> Result<usize, PkiError> {
    use der::Encode;
    a.encoded_len()
        .map_err(bad)
        .and_then(|l| usize::try_from(u32::from(l)).map_err(bad))
}

fn read_extension<'a>(r: &mut SliceReader<'a>) -> Result<(Oid, bool, &'a [u8]), PkiError> {
    let ext = AnyRef::decode(r).map_err(bad)?;
    if ext.tag() != Tag::Sequence {
        return Err(bad("extension is not a SEQUENCE"));
    }
    let mut er = SliceReader::new(ext.value()).map_err(bad)?;
    let oid = Oid::decode(&mut er).map_err(bad)?;
    let mut next = AnyRef::decode(&mut er).map_err(bad)?;
    let mut critical = false;
    if next.tag() == Tag::Boolean {
        critical = next.decode_as().map_err(bad)?;
        next = AnyRef::decode(&mut er).map_err(bad)?;
    }
    if next.tag() != Tag::OctetString || !er.is_finished() {
        return Err(bad("extension structure"));
    }
    // Return a slice borrowed from the input (AnyRef's value borrows it).
    Ok((oid, critical, next.value()))
}

fn parse_entries(content: &[u8], base: usize, v2: bool) -> Result<Vec<Entry>, PkiError> {
    let mut r = SliceReader::new(content).map_err(bad)?;
    // A registry entry (16-byte serial, UTCTime) is about 36 bytes; reserve for that and let
    // the vector grow if entries are smaller, then give back any excess (memory proportional to
    // the entries, not to a worst-case guess).
    let mut out = Vec::with_capacity(content.len() / 36);
    while !r.is_finished() {
        let e = AnyRef::decode(&mut r).map_err(bad)?;
        if e.tag() != Tag::Sequence {
            return Err(bad("revoked entry is not a SEQUENCE"));
        }
        let mut er = SliceReader::new(e.value()).map_err(bad)?;
        let serial = AnyRef::decode(&mut er).map_err(bad)?;
        let sv = serial.value();
        if serial.tag() != Tag::Integer || sv.is_empty() || sv.len() > 64 {
            return Err(bad("revoked entry serial"));
        }
        // Minimal encoding only: a padded serial would never match the certificate's.
        if sv.len() > 1 && ((sv[0] == 0 && sv[1] & 0x80 == 0) || (sv[0] == 0xFF && sv[1] & 0x80 != 0)) {
            return Err(bad("revoked entry serial is not minimally encoded"));
        }
        let date = time_of(AnyRef::decode(&mut er).map_err(bad)?)?;
        let mut reason = NO_REASON;
        if !er.is_finished() {
            if !v2 {
                return Err(bad("entry extensions in a v1 CRL"));
            }
            let exts = AnyRef::decode(&mut er).map_err(bad)?;
            let mut xr = SliceReader::new(exts.value()).map_err(bad)?;
            while !xr.is_finished() {
                let (oid, critical, value) = read_extension(&mut xr)?;
                match oid {
                    // Twice in one entry would be ambiguous about a removal or a hold.
                    REASON_CODE if reason != NO_REASON => return Err(bad("reasonCode appears twice in an entry")),
                    REASON_CODE => reason = parse_reason(value)?,
                    INVALIDITY_DATE => {}
                    CERTIFICATE_ISSUER => {
                        return Err(PkiError::CrlUnsupported(
                            "indirect CRL (certificateIssuer entry)".into(),
                        ));
                    }
                    _ if critical => {
                        return Err(PkiError::CrlUnsupported(detail!("critical CRL entry extension {oid}")));
                    }
                    _ => {}
                }
            }
            if !er.is_finished() {
                return Err(bad("trailing data in revoked entry"));
            }
        }
        let at = base + offset_in(content, serial.value());
        out.push(Entry {
            serial_at: u32::try_from(at).map_err(|_| bad("CRL too large"))?,
            serial_len: u8::try_from(serial.value().len()).map_err(|_| bad("serial too long"))?,
            reason,
            date: date.0,
        });
    }
    out.shrink_to_fit();
    Ok(out)
}

/// A reasonCode value: a DER ENUMERATED of one of the CRLReason values (RFC 5280 §5.3.1:
/// 0-10 but 7). Anything else is malformed: it could not be told from removeFromCRL or
/// certificateHold with certainty.
fn parse_reason(value: &[u8]) -> Result<u8, PkiError> {
    match value {
        [0x0A, 0x01, r] if *r <= 10 && *r != 7 => Ok(*r),
        _ => Err(bad("reasonCode is not a CRLReason ENUMERATED (RFC 5280 5.3.1)")),
    }
}

/// issuingDistributionPoint (RFC 5280 §5.2.5).
/// A scope and, for a partitioned CRL, its distribution point names.
type IdpScope = (Scope, Option<Vec<Vec<u8>>>);

fn parse_idp(value: &[u8]) -> Result<IdpScope, PkiError> {
    let seq = AnyRef::from_der(value).map_err(bad)?;
    let mut r = SliceReader::new(seq.value()).map_err(bad)?;
    let mut scope = Scope::All;
    let mut names = None;
    while !r.is_finished() {
        let f = AnyRef::decode(&mut r).map_err(bad)?;
        let Tag::ContextSpecific { number, .. } = f.tag() else {
            return Err(bad("issuingDistributionPoint field"));
        };
        let flag = f.value() == [0xFF];
        match number.value() {
            // The CRL covers only certificates whose cRLDistributionPoints name this point.
            0 => names = Some(super::cert::full_name_tlvs(f.value()).map_err(bad)?),
            1 if flag => scope = Scope::UserCerts,
            2 if flag => scope = Scope::CaCerts,
            3 => {
                return Err(PkiError::CrlUnsupported(
                    "partitioned by reason (onlySomeReasons)".into(),
                ));
            }
            4 if flag => return Err(PkiError::CrlUnsupported(detail!("indirect CRL"))),
            5 if flag => scope = Scope::AttributeCerts,
            1 | 2 | 4 | 5 => return Err(bad("issuingDistributionPoint BOOLEAN must be TRUE when present")),
            _ => return Err(bad("issuingDistributionPoint field")),
        }
    }
    Ok((scope, names))
}

#[cfg(test)]
mod tests {
    //! Private helpers; the tests on whole CRLs made by the test kit are in tests/crl_unit.rs.
    use std::cmp::Ordering;

    use super::*;
    use crate::error::Coded;
    use crate::test_der as d;

    #[test]
    fn crl_numbers_compare_as_unsigned_integers() {
        assert_eq!(cmp_uint(&[0, 0, 5], &[5]), Ordering::Equal);
        assert_eq!(cmp_uint(&[1, 0], &[0xFF]), Ordering::Greater);
        assert_eq!(cmp_uint(&[0x00, 0xFF], &[1, 0]), Ordering::Less);
        assert_eq!(cmp_uint(&[], &[0]), Ordering::Equal);
        // 20-octet numbers (RFC 5280 5.2.3) beyond any machine integer.
        let mut big = vec![0x7F; 20];
        let smaller = big.clone();
        big[19] = 0x80;
        assert_eq!(cmp_uint(&big, &smaller), Ordering::Greater);
    }

    #[test]
    fn a_reason_code_twice_in_one_entry_is_refused() {
        let reason = |r: u8| {
            d::extension(
                &const_oid::ObjectIdentifier::new_unwrap("2.5.29.21"),
                false,
                &d::tlv(0x0A, &[r]),
            )
        };
        let entry = |exts: &[Vec<u8>]| d::seq(&[d::uint(&[9]), d::time(UnixTime(1_000_000)), d::seq(exts)]);
        assert!(parse_entries(&entry(&[reason(6)]), 0, true).is_ok());
        let twice = entry(&[reason(6), reason(8)]);
        assert_eq!(parse_entries(&twice, 0, true).unwrap_err().code(), "CRL_MALFORMED");
    }
}
