//! Certificate revocation lists (RFC 5280 §5), parsed into a compact sorted index over the DER
//! so that a registry-size CRL (millions of entries) costs one buffer and 16 bytes per entry.

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

#[derive(Clone, Copy, Debug)]
struct Entry {
    serial_at: u32,
    serial_len: u8,
    date: i64,
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
    /// cRLNumber content octets.
    pub number: Option<Vec<u8>>,
    /// Scope from issuingDistributionPoint.
    pub scope: Scope,
    /// The distribution point names (GeneralName TLVs) the CRL's issuingDistributionPoint says
    /// it is for; `None` when it covers the whole issuer.
    pub dp_names: Option<Vec<Vec<u8>>>,
    entries: Vec<Entry>,
}

fn bad(e: impl std::fmt::Display) -> PkiError {
    PkiError::CrlMalformed(e.to_string())
}

fn time_of(any: AnyRef<'_>) -> Result<UnixTime, PkiError> {
    use der::Encode;
    let tlv = any.to_der().map_err(bad)?;
    let t = x509_cert::time::Time::from_der(&tlv).map_err(bad)?;
    Ok(UnixTime(
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX),
    ))
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
            DistinguishedName::from_der(&issuer_any.to_der().map_err(bad)?).map_err(|e| bad(e.to_string()))?
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
                return Err(bad(format!("extension {oid} appears twice")));
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
                    let a = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(value).map_err(bad)?;
                    self.aki = a.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                ISSUING_DP => (self.scope, self.dp_names) = parse_idp(value)?,
                DELTA_CRL_INDICATOR => {
                    return Err(PkiError::CrlUnsupported(
                        "delta CRLs cannot be used on their own".into(),
                    ));
                }
                FRESHEST_CRL | AIA => {}
                _ if critical => return Err(PkiError::CrlUnsupported(format!("critical CRL extension {oid}"))),
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

    /// The revocation date of `serial` (content octets of the INTEGER), if listed.
    pub fn revoked_at(&self, serial: &[u8]) -> Option<UnixTime> {
        let d = &self.der;
        self.entries
            .binary_search_by(|e| serial_of(d, e).cmp(serial))
            .ok()
            .map(|i| UnixTime(self.entries[i].date))
    }

    /// Serial numbers listed, as hex (for tools and tests).
    pub fn serials_hex(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(|e| hex_upper(serial_of(&self.der, e)))
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
        if !er.is_finished() {
            if !v2 {
                return Err(bad("entry extensions in a v1 CRL"));
            }
            let exts = AnyRef::decode(&mut er).map_err(bad)?;
            let mut xr = SliceReader::new(exts.value()).map_err(bad)?;
            while !xr.is_finished() {
                let (oid, critical, _) = read_extension(&mut xr)?;
                match oid {
                    REASON_CODE | INVALIDITY_DATE => {}
                    CERTIFICATE_ISSUER => {
                        return Err(PkiError::CrlUnsupported(
                            "indirect CRL (certificateIssuer entry)".into(),
                        ));
                    }
                    _ if critical => {
                        return Err(PkiError::CrlUnsupported(format!("critical CRL entry extension {oid}")));
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
            date: date.0,
        });
    }
    out.shrink_to_fit();
    Ok(out)
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
            4 if flag => return Err(PkiError::CrlUnsupported("indirect CRL".into())),
            5 if flag => scope = Scope::AttributeCerts,
            1 | 2 | 4 | 5 => return Err(bad("issuingDistributionPoint BOOLEAN must be TRUE when present")),
            _ => return Err(bad("issuingDistributionPoint field")),
        }
    }
    Ok((scope, names))
}
