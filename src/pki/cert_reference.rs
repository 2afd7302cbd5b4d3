//! Test equipment: the certificate parser hoviat used before it read certificates in place,
//! built on x509-cert's derived decoders. `Cert::from_der` must give the same answer on every
//! input (see the differential test in `cert.rs`).

use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Encode, asn1::AnyRef};
use x509_cert::Certificate;

use super::super::PkiError;
use super::super::alg::{KeyInfo, SigAlg};
use super::super::name::DistinguishedName;
use super::{BasicConstraints, Cert, MAX_CERT_LEN, crl_dp_names, ext_oid, key_usage_mask, raw_first_element};
use crate::time::UnixTime;

/// The parser hoviat used before its own reader: x509-cert's derived decoders.
pub(super) fn from_der(der_bytes: &[u8]) -> Result<Cert, PkiError> {
    if der_bytes.len() > MAX_CERT_LEN {
        return Err(PkiError::InputTooLarge {
            what: "certificate",
            limit: MAX_CERT_LEN,
        });
    }
    let bad = |e: &dyn std::fmt::Display| PkiError::CertMalformed(detail!("{e}"));
    let cert = Certificate::from_der(der_bytes).map_err(|e| bad(&e))?;
    let tbs_range = raw_first_element(der_bytes).map_err(|e| bad(&e))?;
    let tbs = cert.tbs_certificate();

    // The outer and TBS signature algorithms must be the same identifier (RFC 5280 §4.1.1.2).
    let outer = cert.signature_algorithm();
    let inner = tbs.signature();
    if outer.to_der().map_err(|e| bad(&e))? != inner.to_der().map_err(|e| bad(&e))? {
        return Err(bad(&"signatureAlgorithm differs from the TBS signature field"));
    }
    let params = outer.parameters.as_ref().map(AnyRef::from);
    let sig_alg = SigAlg::from_algorithm_identifier(&outer.oid, params);
    let signature = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| bad(&"signature BIT STRING has unused bits"))?
        .to_vec();

    let version = match tbs.version() {
        x509_cert::Version::V1 => 1,
        x509_cert::Version::V2 => 2,
        x509_cert::Version::V3 => 3,
    };
    let issuer = DistinguishedName::from_der(&tbs.issuer().to_der().map_err(|e| bad(&e))?)?;
    let subject = DistinguishedName::from_der(&tbs.subject().to_der().map_err(|e| bad(&e))?)?;
    let validity = tbs.validity();
    let secs = |t: x509_cert::time::Time| UnixTime(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX));
    let spki = tbs.subject_public_key_info().to_der().map_err(|e| bad(&e))?;
    let key = KeyInfo::from_spki_der(&spki).map(Arc::new);

    let exts = tbs.extensions().map(Vec::as_slice).unwrap_or(&[]);
    let mut c = Cert {
        der: der_bytes.to_vec(),
        tbs: tbs_range,
        version,
        serial: tbs.serial_number().as_bytes().to_vec(),
        sig_alg,
        signature,
        issuer,
        subject,
        not_before: secs(validity.not_before),
        not_after: secs(validity.not_after),
        key,
        basic_constraints: None,
        key_usage: None,
        eku: None,
        eku_critical: false,
        ski: None,
        aki: None,
        san: None,
        name_constraints: None,
        extensions: Vec::with_capacity(exts.len()),
        has_aki_extension: false,
        ocsp_urls: Vec::new(),
        crl_dp_names: Vec::new(),
        unknown_critical: Vec::new(),
        policies: Vec::new(),
        policies_malformed: false,
    };

    if !exts.is_empty() && version != 3 {
        return Err(bad(&"extensions in a certificate that is not version 3"));
    }
    let mut seen: Vec<&Oid> = Vec::with_capacity(exts.len());
    for ext in exts {
        if seen.contains(&&ext.extn_id) {
            return Err(bad(&detail!("extension {} appears twice", ext.extn_id)));
        }
        seen.push(&ext.extn_id);
        c.extensions.push((ext.extn_id, ext.critical));
        let v = ext.extn_value.as_bytes();
        let ext_bad = |e: &dyn std::fmt::Display| bad(&detail!("extension {}: {e}", ext.extn_id));
        match ext.extn_id {
            ext_oid::BASIC_CONSTRAINTS => {
                // Leniency: x509-cert accepts an explicitly encoded cA = FALSE (a DER
                // violation seen on Finnish cards). Safe: the meaning is unambiguous and it
                // grants nothing.
                let bc = x509_cert::ext::pkix::BasicConstraints::from_der(v).map_err(|e| ext_bad(&e))?;
                c.basic_constraints = Some(BasicConstraints {
                    ca: bc.ca,
                    path_len: bc.path_len_constraint,
                });
            }
            ext_oid::KEY_USAGE => {
                let bits = der::asn1::BitStringRef::from_der(v).map_err(|e| ext_bad(&e))?;
                // The same reading of the bits: what is compared here is the parsing.
                c.key_usage = Some(key_usage_mask(&bits));
            }
            ext_oid::EKU => {
                let e = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(v).map_err(|e| ext_bad(&e))?;
                if e.0.is_empty() {
                    return Err(ext_bad(&"empty extKeyUsage"));
                }
                // Leniency: a critical EKU (Estonian issuing CA) is processed like a
                // non-critical one; it only ever narrows what the certificate may do.
                c.eku = Some(e.0);
                c.eku_critical = ext.critical;
            }
            ext_oid::SKI => {
                let s = der::asn1::OctetString::from_der(v).map_err(|e| ext_bad(&e))?;
                c.ski = Some(s.as_bytes().to_vec());
            }
            ext_oid::AKI => {
                let a = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(v).map_err(|e| ext_bad(&e))?;
                c.aki = a.key_identifier.map(|k| k.as_bytes().to_vec());
                c.has_aki_extension = true;
            }
            ext_oid::SAN => {
                x509_cert::ext::pkix::SubjectAltName::from_der(v).map_err(|e| ext_bad(&e))?;
                c.san = Some(v.to_vec());
            }
            ext_oid::NAME_CONSTRAINTS => {
                // Processed by the validator whatever its criticality (RFC 5280 requires it
                // critical; ignoring a non-critical one would let a constrained CA issue any
                // name). Malformed constraints, or ones using minimum/maximum, refuse the
                // certificate.
                c.name_constraints =
                    Some(crate::pki::name_constraints::NameConstraints::from_der(v).map_err(|e| ext_bad(&e))?);
            }
            ext_oid::AIA => {
                // Informational only, but it must parse: one or more AccessDescriptions.
                let aia = x509_cert::ext::pkix::AuthorityInfoAccessSyntax::from_der(v).map_err(|e| ext_bad(&e))?;
                if aia.0.is_empty() {
                    return Err(ext_bad(&"empty authorityInfoAccess"));
                }
                const ID_AD_OCSP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1");
                for ad in aia.0.iter().filter(|a| a.access_method == ID_AD_OCSP).take(8) {
                    if let x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(u) = &ad.access_location {
                        c.ocsp_urls.push(u.to_string());
                    }
                }
            }
            // Processed only as information; a critical certificatePolicies is accepted
            // because hoviat validates with the initial policy set any-policy and no
            // explicit-policy requirement (RFC 5280 §6.1.1), under which it cannot fail.
            ext_oid::CRL_DP => {
                c.crl_dp_names = crl_dp_names(v).map_err(|e| ext_bad(&e))?;
                if ext.critical {
                    c.unknown_critical.push(ext.extn_id);
                }
            }
            // Read with hoviat's own reader: x509-cert also decodes the policy qualifiers, which
            // real registry certificates encode in ways it refuses (8 of the corpus inputs), and
            // the identifiers are all the relying party's allow/deny list looks at.
            ext_oid::CERT_POLICIES => match super::policy_ids(v) {
                Ok(p) => c.policies = p,
                Err(_) => c.policies_malformed = true,
            },
            ext_oid::SIA
            | ext_oid::IAN
            | ext_oid::FRESHEST_CRL
            | ext_oid::SUBJECT_DIRECTORY_ATTRIBUTES
            | ext_oid::QC_STATEMENTS
            | ext_oid::OCSP_NOCHECK => {}
            _ if ext.critical => c.unknown_critical.push(ext.extn_id),
            _ => {}
        }
    }
    Ok(c)
}
