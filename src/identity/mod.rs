//! Who the holder is: the national code, and the identity read from a certificate.

pub mod national_code;
pub mod solar_hijri;

pub use national_code::{NationalCode, NationalCodeError};

use serde::Serialize;

use crate::pki::Cert;
use crate::pki::name::attr;

/// The holder's identity exactly as the certificate states it (names are not transliterated or
/// normalised: Persian text arrives intact).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    /// The whole subject, RFC 4514.
    pub subject: String,
    /// commonName.
    pub common_name: Option<String>,
    /// surname (SN).
    pub surname: Option<String>,
    /// givenName (G).
    pub given_name: Option<String>,
    /// The national code, only when the subject's serialNumber carries one
    /// (`PNOIR-<code>` or ten digits) and its check digit is right.
    pub national_code: Option<String>,
    /// The raw serialNumber attribute, if any.
    pub serial_number: Option<String>,
    /// countryName.
    pub country: Option<String>,
    /// The card reference number when the commonName has the Iranian card's
    /// `<10 digits> - SIG` / `- AUTH` form (it is not the national code).
    pub card_reference: Option<String>,
    /// Every subject attribute, in order: `[type, value]`.
    pub attributes: Vec<[String; 2]>,
}

/// What a relying party needs to know about the holder's certificate.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSummary {
    /// Serial number, upper-case hex.
    pub serial_number: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// Public key (`RSA 2048`, `EC P-256`).
    pub key: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

/// The national code carried by a `serialNumber` attribute value, if it carries a valid one.
pub fn national_code_from_serial(value: &str) -> Option<NationalCode> {
    let digits = value.strip_prefix("PNOIR-").unwrap_or(value);
    (digits.chars().count() == 10)
        .then(|| NationalCode::parse(digits).ok())
        .flatten()
}

fn card_reference(cn: &str) -> Option<String> {
    let (num, rest) = cn.split_once(" - ")?;
    (num.len() == 10 && num.bytes().all(|b| b.is_ascii_digit()) && matches!(rest, "SIG" | "AUTH" | "SIGN"))
        .then(|| num.to_string())
}

impl Holder {
    /// Reads the holder from a certificate's subject.
    pub fn from_cert(c: &Cert) -> Self {
        let s = &c.subject;
        let serial_number = s.get(&attr::SERIAL_NUMBER);
        let common_name = s.get(&attr::CN);
        Holder {
            subject: s.to_string(),
            national_code: serial_number
                .as_deref()
                .and_then(national_code_from_serial)
                .map(|n| n.to_string()),
            card_reference: common_name.as_deref().and_then(card_reference),
            common_name,
            surname: s.get(&attr::SURNAME),
            given_name: s.get(&attr::GIVEN_NAME),
            serial_number,
            country: s.get(&attr::COUNTRY),
            attributes: s
                .attributes()
                .map(|a| {
                    [
                        a.short_name(),
                        a.text().unwrap_or_else(|| crate::pki::cert::hex_upper(&a.value)),
                    ]
                })
                .collect(),
        }
    }
}

impl CertificateSummary {
    /// Summarises a certificate.
    pub fn from_cert(c: &Cert) -> Self {
        CertificateSummary {
            serial_number: c.serial_hex(),
            issuer: c.issuer.to_string(),
            not_before: c.not_before.to_string(),
            not_after: c.not_after.to_string(),
            key: c.key.as_ref().map_or_else(|_| "unsupported".into(), |k| k.describe()),
            sha256: c.sha256_hex(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_code_in_serial_number() {
        assert_eq!(
            national_code_from_serial("PNOIR-0076229645").unwrap().as_str(),
            "0076229645"
        );
        assert_eq!(national_code_from_serial("0076229645").unwrap().as_str(), "0076229645");
        assert!(national_code_from_serial("PNOIR-0076229646").is_none());
        assert!(national_code_from_serial("PNOEE-38001085718").is_none());
        assert!(national_code_from_serial("11537027").is_none()); // too short to be sure
    }

    #[test]
    fn card_reference_in_cn() {
        assert_eq!(card_reference("1234567890 - SIG").as_deref(), Some("1234567890"));
        assert_eq!(card_reference("Ali Rezaei"), None);
    }
}
