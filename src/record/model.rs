//! The record's vocabulary: provenance, levels, attributes, purposes and the evidence a
//! terminal observed.

use serde::{Deserialize, Serialize};

use super::error::RecordError;

/// Where an attribute value came from (records.md): a reader of the record must be able to
/// tell "the chip said" from "the clerk typed".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// From the holder's certificate read from the chip, whose chain to the registry CA the
    /// terminal validated.
    ChipCertificate,
    /// Read from a chip file (unsigned data: a fake chip could say anything).
    ChipFile,
    /// Typed or confirmed by the named operator (the national code, "face matches the photo").
    Operator,
    /// From a registry-assisted session (reserved: hoviat produces none yet).
    Registry,
}

impl Provenance {
    /// The wire name (`chip-certificate`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::ChipCertificate => "chip-certificate",
            Self::ChipFile => "chip-file",
            Self::Operator => "operator",
            Self::Registry => "registry",
        }
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "chip-certificate" => Self::ChipCertificate,
            "chip-file" => Self::ChipFile,
            "operator" => Self::Operator,
            "registry" => Self::Registry,
            _ => return None,
        })
    }
}

/// The assurance level a record reached, computed from its evidence by [`super::level_of`] (never
/// taken from a caller). Levels are cumulative: each needs everything the one before needs.
///
/// The honest eIDAS reading (Implementing Regulation (EU) 2015/1502), as records.md states it:
///
/// | level | what happened | eIDAS |
/// |---|---|---|
/// | `certificate` | a registry certificate read from a chip at this terminal, chain valid | identity evidence only: at most Low, and only if the operator examined the card |
/// | `card-pin` | and the chip accepted the holder's ID PIN here (terminal-attested) | knowledge + possession, not dynamic, not provable to a third party: Low |
/// | `card-signature` | and the card signed the digest of this very record | two factors + dynamic authentication: Substantial for authentication; High is never claimed |
/// | `registry-assisted` | the signature came through a registry session, or the registry confirmed status (reserved) | as card-signature, plus an authoritative source |
///
/// A certificate is public and copyable, and "PIN accepted" is the chip's word (a fake chip can
/// give it): only `card-signature` proves the chip holds the certified key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// A registry certificate read from a chip at this terminal, chain valid.
    Certificate,
    /// And the chip accepted the ID PIN at this terminal.
    CardPin,
    /// And the card signed the digest of this very record.
    CardSignature,
    /// Reserved: registry confirmation of status. A card signature made through the
    /// registry's session (Dastine) is `CardSignature` with `evidence.cardSignature.route =
    /// "registry-assisted"`: the signature proves the card's key, not the registry's view.
    RegistryAssisted,
}

impl Level {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::CardPin => "card-pin",
            Self::CardSignature => "card-signature",
            Self::RegistryAssisted => "registry-assisted",
        }
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "certificate" => Self::Certificate,
            "card-pin" => Self::CardPin,
            "card-signature" => Self::CardSignature,
            "registry-assisted" => Self::RegistryAssisted,
            _ => return None,
        })
    }
    /// The honest eIDAS reading (see the table on [`Level`]).
    pub fn eidas(self) -> &'static str {
        match self {
            Self::Certificate => "at most low, and only if the operator examined the card",
            Self::CardPin => "low",
            Self::CardSignature => "substantial for authentication (high never claimed)",
            Self::RegistryAssisted => "as card-signature, plus an authoritative source",
        }
    }
    /// What happened, in plain English.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Certificate => "The card's certificate was read and is valid.",
            Self::CardPin => "The card's certificate is valid and the card accepted the holder's PIN.",
            Self::CardSignature => "The card signed this very record after the holder's PIN.",
            Self::RegistryAssisted => "The civil registry took part in the check.",
        }
    }
    /// What happened, in plain Persian.
    pub fn label_fa(self) -> &'static str {
        match self {
            Self::Certificate => "گواهی کارت خوانده شد و معتبر است.",
            Self::CardPin => "گواهی کارت معتبر است و کارت رمز دارنده را پذیرفت.",
            Self::CardSignature => "کارت پس از رمز دارنده، همین سند را امضا کرد.",
            Self::RegistryAssisted => "سامانهٔ ثبت احوال در این بررسی شرکت داشت.",
        }
    }
}

/// An attribute a record can disclose.
#[derive(Clone, Copy, Debug)]
pub struct AttributeSpec {
    /// The claim name.
    pub name: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// Persian label.
    pub label_fa: &'static str,
    /// The provenances its value may have.
    pub provenances: &'static [Provenance],
}

use Provenance::{ChipCertificate as CC, ChipFile as CF, Operator as OP, Registry as RG};

/// Every attribute hoviat records (the vocabulary purposes choose from).
pub const ATTRIBUTES: [AttributeSpec; 8] = [
    AttributeSpec {
        name: "given_name",
        label_en: "Given name",
        label_fa: "نام",
        provenances: &[CC, RG],
    },
    AttributeSpec {
        name: "family_name",
        label_en: "Family name",
        label_fa: "نام خانوادگی",
        provenances: &[CC, RG],
    },
    AttributeSpec {
        name: "national_code",
        label_en: "National code",
        label_fa: "کد ملی",
        provenances: &[CC, OP, RG],
    },
    AttributeSpec {
        name: "card_reference",
        label_en: "Card reference number (CRN)",
        label_fa: "شمارهٔ مرجع کارت",
        provenances: &[CC, CF],
    },
    AttributeSpec {
        name: "face_match",
        label_en: "Face matches the photo on the card",
        label_fa: "چهره با عکس روی کارت مطابقت دارد",
        provenances: &[OP],
    },
    AttributeSpec {
        name: "card_issue_date",
        label_en: "Card issue date",
        label_fa: "تاریخ صدور کارت",
        provenances: &[CF, RG],
    },
    AttributeSpec {
        name: "card_expiry_date",
        label_en: "Card expiry date",
        label_fa: "تاریخ انقضای کارت",
        provenances: &[CF, RG],
    },
    AttributeSpec {
        name: "holder_certificate",
        label_en: "Holder's certificate (base64 DER)",
        label_fa: "گواهی دارنده",
        provenances: &[CC],
    },
];

/// The specification of a known attribute.
pub fn attribute(name: &str) -> Option<&'static AttributeSpec> {
    ATTRIBUTES.iter().find(|a| a.name == name)
}

/// A text in Persian and English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Persian.
    pub fa: String,
    /// English.
    pub en: String,
}

/// A purpose an institution configures: what a record made for it may disclose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// Identifier (`account-opening`): lower-case ASCII letters, digits and `-`.
    pub id: String,
    /// What a clerk sees.
    pub label: Label,
    /// The attribute names it may disclose (from [`ATTRIBUTES`]).
    pub attributes: Vec<String>,
}

/// An institution's configuration: who it is and its purposes (JSON, see
/// [`Institution::from_json`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Institution {
    /// Identifier, same rules as a purpose id.
    pub id: String,
    /// Its name.
    pub name: Label,
    /// Its purposes.
    pub purposes: Vec<Purpose>,
}

/// Largest institution configuration accepted, in bytes.
pub const MAX_CONFIG_LEN: usize = 64 * 1024;
const MAX_PURPOSES: usize = 64;

pub(crate) fn check_id(what: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {:?} must be 1-64 of a-z 0-9 - .",
            s.chars().take(70).collect::<String>()
        ))
    }
}

impl Purpose {
    fn validate(&self) -> Result<(), String> {
        check_id("purpose id", &self.id)?;
        if self.label.fa.chars().count() > 200 || self.label.en.chars().count() > 200 {
            return Err(format!("purpose {}: labels are limited to 200 characters", self.id));
        }
        if self.attributes.len() > ATTRIBUTES.len() {
            return Err(format!("purpose {}: too many attributes", self.id));
        }
        for (i, a) in self.attributes.iter().enumerate() {
            if attribute(a).is_none() {
                return Err(format!("purpose {}: unknown attribute {a:?}", self.id));
            }
            if self.attributes[..i].contains(a) {
                return Err(format!("purpose {}: attribute {a} twice", self.id));
            }
        }
        Ok(())
    }

    /// Whether it may disclose `name`.
    pub fn allows(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a == name)
    }
}

impl Institution {
    /// Parses and validates a configuration:
    /// `{"id", "name": {"fa", "en"}, "purposes": [{"id", "label": {"fa", "en"}, "attributes": [...]}]}`.
    pub fn from_json(json: &str) -> Result<Self, RecordError> {
        if json.len() > MAX_CONFIG_LEN {
            return Err(RecordError::TooLarge {
                what: "the institution configuration",
                limit: MAX_CONFIG_LEN,
            });
        }
        let i: Institution = serde_json::from_str(json).map_err(|e| RecordError::ConfigInvalid(e.to_string()))?;
        i.validate()?;
        Ok(i)
    }

    /// Checks ids, labels and attribute names.
    pub fn validate(&self) -> Result<(), RecordError> {
        let bad = RecordError::ConfigInvalid;
        check_id("institution id", &self.id).map_err(bad)?;
        if self.purposes.is_empty() || self.purposes.len() > MAX_PURPOSES {
            return Err(bad(format!("1 to {MAX_PURPOSES} purposes are needed")));
        }
        for (i, p) in self.purposes.iter().enumerate() {
            p.validate().map_err(bad)?;
            if self.purposes[..i].iter().any(|q| q.id == p.id) {
                return Err(bad(format!("purpose {} twice", p.id)));
            }
        }
        Ok(())
    }

    /// The purpose with this id.
    pub fn purpose(&self, id: &str) -> Result<&Purpose, RecordError> {
        self.purposes
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| RecordError::PurposeUnknown(id.chars().take(70).collect()))
    }
}

/// What the chip said about the holder's ID PIN at this terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinOutcome {
    /// No PIN was presented.
    #[default]
    NotTried,
    /// The chip answered `90 00` to VERIFY.
    Accepted,
    /// The chip refused the PIN.
    Rejected,
    /// The PIN is blocked.
    Blocked,
}

impl PinOutcome {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotTried => "not-tried",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Blocked => "blocked",
        }
    }
}

/// What the terminal observed on the card (the facts a record is made from).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CardFacts {
    /// The holder's certificate read from the chip (DER; in JSON, standard base64; may be left
    /// out of the JSON when a token carries it).
    #[serde(default, with = "b64_std")]
    pub holder_certificate: Vec<u8>,
    /// Intermediate certificates read from the chip or configured (DER; JSON: base64).
    #[serde(default, with = "b64_std_vec")]
    pub intermediates: Vec<Vec<u8>>,
    /// The chip type: `ir-nid-mav4`, `ir-nid-pardis`, `piv`, `virtual-ir-nid`, ...
    pub chip_type: String,
    /// The chip serial (CSN from the CPLC), hex or digits.
    #[serde(default)]
    pub card_serial: Option<String>,
    /// The CRN read from the card manager (`80 CA 01 01 15`): 10 digits.
    #[serde(default)]
    pub card_reference: Option<String>,
    /// Issue date from EF 0303 (tag B2), `YYYY-MM-DD`.
    #[serde(default)]
    pub issue_date: Option<String>,
    /// Expiry date from EF 0303 (tag B3), `YYYY-MM-DD`.
    #[serde(default)]
    pub expiry_date: Option<String>,
    /// The ID PIN outcome at this terminal.
    pub pin: PinOutcome,
}

impl CardFacts {
    /// The facts in a card's [`crate::card::CardInfo`]: the certificate that names the holder
    /// (the Iranian card's signing certificate, else the first one read), the chip serial, and
    /// for the Iranian card the CRN and the Gregorian issue and expiry dates of EF 0303.
    pub fn from_card_info(info: &crate::card::CardInfo, pin: PinOutcome) -> Result<Self, RecordError> {
        use base64::Engine;
        let chosen = info
            .certificates
            .iter()
            .find(|c| c.slot == "ir-nid-sign")
            .or_else(|| info.certificates.first())
            .ok_or_else(|| RecordError::Malformed("the card holds no certificate".into()))?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(&chosen.der)
            .map_err(|e| RecordError::Malformed(format!("card certificate: {e}")))?;
        let chip = info.chip.clone().unwrap_or_default();
        let greg = |d: Option<crate::card::ir_nid::ChipDate>| d.and_then(|d| d.gregorian);
        Ok(CardFacts {
            holder_certificate: der,
            intermediates: Vec::new(),
            chip_type: match info.profile {
                crate::card::Profile::Piv => "piv".into(),
                crate::card::Profile::IrNid => "ir-nid".into(),
            },
            card_serial: info
                .card_serial
                .clone()
                .filter(|s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())),
            card_reference: chip.card_reference,
            issue_date: greg(chip.issue_date),
            expiry_date: greg(chip.expiry_date),
            pin,
        })
    }
}

/// What the operator typed or confirmed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorInput {
    /// The national code as typed (Persian digits accepted); its check digit is validated.
    #[serde(default)]
    pub national_code: Option<String>,
    /// The operator confirms that the face matches the photo on the card.
    #[serde(default)]
    pub face_match: Option<bool>,
}

mod b64_std {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s.trim()).map_err(serde::de::Error::custom)
    }
}

mod b64_std_vec {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|c| STANDARD.encode(c)))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        if v.len() > 8 {
            return Err(serde::de::Error::custom("at most 8 intermediates"));
        }
        v.iter()
            .map(|s| STANDARD.decode(s.trim()).map_err(serde::de::Error::custom))
            .collect()
    }
}
