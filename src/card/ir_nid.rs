//! Iran's smart national ID card (NOCR; Gemalto MultiApp "Mav4" family) as observed on real
//! cards (cards.md §1; to be confirmed on more cards): the PKI applet's authentication and
//! signing certificates, the ID PIN and the SIGN PIN, the chip serial from the CPLC.
//!
//! The card's private-key operations run only inside a secure-messaging session opened with
//! keys that the registry's service holds. Without that service hoviat reads and validates
//! the certificates and checks PINs, and says plainly that it cannot obtain a signature
//! (`CARD_NEEDS_REGISTRY_SERVICE`). [`RegistrySession`] is the seam where a registry-assisted
//! session plugs in.

use std::future::Future;

use serde::Serialize;

use super::{
    AtrPattern, CardCertificate, CardError, CardInfo, Channel, NamedPin, Pin, PinState, Profile, Status, Transport,
    pin_state, verify_result,
};
use crate::apdu::{Command, StatusWord};

/// The PKI ("IAS") applet.
pub const PKI_AID: [u8; 12] = [0xA0, 0x00, 0x00, 0x00, 0x18, 0x0C, 0x00, 0x00, 0x01, 0x63, 0x42, 0x00];
/// The ID applet (PIN flags, dates, protected personal data).
pub const ID_AID: [u8; 16] = [0xA0, 0x00, 0x00, 0x00, 0x18, 0x30, 0x03, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
/// The card manager (CPLC).
pub const CM_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x00, 0x18, 0x43, 0x4D, 0x00];
/// DF of the authentication certificate.
pub const DF_AUTH: [u8; 2] = [0x50, 0x00];
/// DF of the signing certificate.
pub const DF_SIGN: [u8; 2] = [0x51, 0x00];
/// The certificate EF inside either DF.
pub const EF_CERT: [u8; 2] = [0x50, 0x40];
/// Largest certificate file read.
pub const MAX_CERT_FILE: usize = 8 * 1024;

macro_rules! atr {
    ($($b:expr),*) => { AtrPattern { value: &[$($b),*] } };
}

/// ATRs seen in the field (cards.md).
pub const ATRS: &[AtrPattern] = &[
    atr!(
        0x3B, 0x7F, 0x94, 0x00, 0x00, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x02, 0x02, 0xED, 0x12, 0x0F, 0xFF, 0x82,
        0x90, 0x00
    ),
    atr!(
        0x3B, 0x7F, 0x96, 0x00, 0x00, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x03, 0x00, 0xEF, 0x12, 0x0F, 0xFF, 0x82,
        0x90, 0x00
    ),
    atr!(
        0x3B, 0xFF, 0x96, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x43, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x04, 0x00, 0x11,
        0x12, 0x0F, 0xFF, 0x82, 0x90, 0x00, 0xE0
    ),
    atr!(
        0x3B, 0x78, 0x18, 0x00, 0x00, 0x00, 0x73, 0xC8, 0x40, 0x13, 0x00, 0x90, 0x00
    ),
    atr!(
        0x3B, 0x7D, 0x95, 0x00, 0x00, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x01, 0x01, 0xC8, 0x83, 0x01, 0x90, 0x00
    ),
    atr!(
        0x3B, 0xDB, 0x97, 0x00, 0x81, 0x31, 0xFE, 0x85, 0x80, 0x13, 0x49, 0x52, 0x4E, 0x73, 0x96, 0x71, 0x5B, 0x91,
        0x30, 0x2F
    ),
    atr!(
        0x3B, 0xDB, 0x96, 0x00, 0x81, 0x31, 0xFE, 0x85, 0x80, 0x13, 0x49, 0x52, 0x4E, 0x73, 0x96, 0x71, 0x5B, 0x91,
        0x30, 0x2E
    ),
    atr!(
        0x3B, 0x7F, 0x94, 0x00, 0x00, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x02, 0x02, 0xED, 0x12, 0x0F, 0xFF, 0x82,
        0x90, 0x00, 0x72
    ),
];

/// Which PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinKind {
    /// The identification PIN (ID applet; up to 8 digits, 00-padded to 8).
    Id,
    /// The signing PIN (PKI applet; 00-padded to 16).
    Sign,
}

/// SELECT the PKI applet.
pub async fn select_pki<T: Transport>(ch: &mut Channel<'_, T>) -> Result<(), CardError> {
    ch.ok(&Command::new(0, 0xA4, 0x04, 0x00).data(&PKI_AID), "SELECT PKI applet")
        .await
        .map(|_| ())
}

async fn select_fid<T: Transport>(
    ch: &mut Channel<'_, T>,
    p1: u8,
    p2: u8,
    fid: &[u8; 2],
    during: &'static str,
) -> Result<(), CardError> {
    ch.ok(&Command::new(0, 0xA4, p1, p2).data(fid), during)
        .await
        .map(|_| ())
}

/// Reads a certificate from `df` (`DF_AUTH` or `DF_SIGN`): the file starts with the DER
/// header `30 82 LL LL`; read 4 bytes, then exactly the encoded length with READ BINARY of at
/// most FF bytes (`6C xx` is retried by the channel; `6B 00` means past the end).
pub async fn read_certificate<T: Transport>(ch: &mut Channel<'_, T>, df: &[u8; 2]) -> Result<Vec<u8>, CardError> {
    select_pki(ch).await?;
    select_fid(ch, 0x00, 0x00, &[0x3F, 0x00], "SELECT MF").await?;
    match ch.transmit(&Command::new(0, 0xA4, 0x00, 0x00).data(df)).await?.sw {
        StatusWord::Ok => {}
        StatusWord::FileNotFound => return Err(CardError::CertificateMissing),
        sw => {
            return Err(CardError::Status {
                during: "SELECT certificate DF",
                sw,
            });
        }
    }
    select_fid(ch, 0x02, 0x0C, &EF_CERT, "SELECT certificate EF").await?;
    let head = read_binary(ch, 0, 4).await?;
    let total = match head.as_slice() {
        [0x30, 0x82, hi, lo] => 4 + usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => {
            return Err(CardError::MalformedResponse(
                "certificate file does not start with 30 82".into(),
            ));
        }
    };
    if total > MAX_CERT_FILE {
        return Err(CardError::MalformedResponse(format!("certificate of {total} bytes")));
    }
    let mut out = head;
    while out.len() < total {
        let want = (total - out.len()).min(0xFF);
        let chunk = read_binary(ch, out.len(), want).await?;
        if chunk.is_empty() {
            return Err(CardError::MalformedResponse("certificate file ended early".into()));
        }
        out.extend_from_slice(&chunk[..chunk.len().min(total - out.len())]);
    }
    Ok(out)
}

async fn read_binary<T: Transport>(ch: &mut Channel<'_, T>, offset: usize, len: usize) -> Result<Vec<u8>, CardError> {
    let off = u16::try_from(offset).map_err(|_| CardError::MalformedResponse("file offset too large".into()))?;
    let [hi, lo] = off.to_be_bytes();
    let r = ch.transmit(&Command::new(0, 0xB0, hi, lo).le(len)).await?;
    match r.sw {
        StatusWord::Ok => Ok(r.data.to_vec()),
        StatusWord::WrongP1P2 => Err(CardError::MalformedResponse(
            "read past the end of the certificate file".into(),
        )),
        sw => Err(CardError::Status {
            during: "READ BINARY",
            sw,
        }),
    }
}

/// SIGN PIN state without spending a try: `00 20 00 81` with no data.
pub async fn sign_pin_status<T: Transport>(ch: &mut Channel<'_, T>) -> Result<PinState, CardError> {
    select_pki(ch).await?;
    pin_state(ch.transmit(&Command::new(0, 0x20, 0x00, 0x81)).await?.sw)
}

async fn select_id_pin_df<T: Transport>(ch: &mut Channel<'_, T>) -> Result<(), CardError> {
    ch.ok(&Command::new(0, 0xA4, 0x04, 0x0C).data(&ID_AID), "SELECT ID applet")
        .await?;
    select_fid(ch, 0x00, 0x00, &[0x3F, 0x00], "SELECT MF").await?;
    select_fid(ch, 0x01, 0x00, &[0x05, 0x00], "SELECT DF 0500").await
}

/// Offset of the tries-left counter in the answer to `80 C0 02 05 0C`. The proprietary
/// command is known from the middleware; the layout of its 12-byte answer is not confirmed
/// on real cards, so the state it gives is reported with a note.
pub const ID_PIN_STATUS_TRIES_AT: usize = 11;

/// ID PIN state read with the proprietary `80 C0 02 05 0C` (no try spent).
pub async fn id_pin_status<T: Transport>(ch: &mut Channel<'_, T>) -> Result<PinState, CardError> {
    select_id_pin_df(ch).await?;
    let r = ch.transmit(&Command::new(0x80, 0xC0, 0x02, 0x05).le(0x0C)).await?;
    match r.sw {
        StatusWord::Ok => match r.data.get(ID_PIN_STATUS_TRIES_AT) {
            Some(0) => Ok(PinState::Blocked),
            Some(&n) if n <= 15 => Ok(PinState::TriesLeft { tries_left: n }),
            _ => Ok(PinState::Unknown),
        },
        _ => Ok(PinState::Unknown),
    }
}

/// VERIFY a PIN. ID PIN: `00 20 00 00 08` + ASCII digits 00-padded to 8 (ID applet, DF 0500);
/// SIGN PIN: `00 20 00 81 10` + ASCII digits 00-padded to 16 (PKI applet). Checks the state
/// first so that a blocked PIN is reported without sending it.
pub async fn verify_pin<T: Transport>(ch: &mut Channel<'_, T>, which: PinKind, pin: &Pin) -> Result<(), CardError> {
    let (p2, data) = match which {
        PinKind::Id => {
            let data = pin.padded(4, 8, 0x00)?;
            if id_pin_status(ch).await? == PinState::Blocked {
                return Err(CardError::PinBlocked);
            }
            select_id_pin_df(ch).await?;
            (0x00, data)
        }
        PinKind::Sign => {
            let data = pin.padded(4, 16, 0x00)?;
            if sign_pin_status(ch).await? == PinState::Blocked {
                return Err(CardError::PinBlocked);
            }
            (0x81, data)
        }
    };
    let r = ch
        .transmit(&Command::new(0, 0x20, 0x00, p2).data(&data).sensitive())
        .await?;
    verify_result(r.sw)
}

/// The chip serial (IC serial number, 4 bytes at offset 12 of the CPLC data), hex.
pub async fn card_serial<T: Transport>(ch: &mut Channel<'_, T>) -> Result<Option<String>, CardError> {
    if !select_card_manager(ch).await? {
        return Ok(None);
    }
    cplc_serial(ch).await
}

async fn select_card_manager<T: Transport>(ch: &mut Channel<'_, T>) -> Result<bool, CardError> {
    Ok(ch.transmit(&Command::new(0, 0xA4, 0x04, 0x00).data(&CM_AID)).await?.sw == StatusWord::Ok)
}

/// GET DATA CPLC (`80 CA 9F 7F 2D`), the card manager selected.
async fn cplc_serial<T: Transport>(ch: &mut Channel<'_, T>) -> Result<Option<String>, CardError> {
    let r = ch.transmit(&Command::new(0x80, 0xCA, 0x9F, 0x7F).le(0x2D)).await?;
    if r.sw != StatusWord::Ok {
        return Ok(None);
    }
    match r.data.as_slice() {
        [0x9F, 0x7F, 0x2A, cplc @ ..] if cplc.len() == 0x2A => Ok(Some(crate::pki::cert::hex_upper(&cplc[12..16]))),
        _ => Err(CardError::MalformedResponse("CPLC is not 9F7F 2A + 42 bytes".into())),
    }
}

/// The chip serial and the CRN in one card-manager session, as the vendor middleware reads
/// them: SELECT the card manager, GET DATA CPLC, GET DATA 0101.
pub async fn serial_and_reference<T: Transport>(
    ch: &mut Channel<'_, T>,
) -> Result<(Option<String>, Option<String>), CardError> {
    if !select_card_manager(ch).await? {
        return Ok((None, None));
    }
    let serial = cplc_serial(ch).await?;
    Ok((serial, crn_data_object(ch).await?))
}

/// The card reference number (CRN) from the card manager's data object 0101
/// (`80 CA 01 01 15`): 10 ASCII digits, the last ten bytes of the answer (the layout of the
/// bytes before them is unconfirmed). `None` when the card does not answer it.
pub async fn card_reference<T: Transport>(ch: &mut Channel<'_, T>) -> Result<Option<String>, CardError> {
    if !select_card_manager(ch).await? {
        return Ok(None);
    }
    crn_data_object(ch).await
}

/// GET DATA 0101 (`80 CA 01 01 15`), the card manager selected.
async fn crn_data_object<T: Transport>(ch: &mut Channel<'_, T>) -> Result<Option<String>, CardError> {
    let r = ch.transmit(&Command::new(0x80, 0xCA, 0x01, 0x01).le(0x15)).await?;
    if r.sw != StatusWord::Ok {
        return Ok(None);
    }
    let d = r.data.as_slice();
    match d.get(d.len().saturating_sub(10)..) {
        Some(crn) if crn.len() == 10 && crn.iter().all(u8::is_ascii_digit) => {
            Ok(Some(String::from_utf8_lossy(crn).into_owned()))
        }
        _ => Err(CardError::MalformedResponse(
            "card manager object 0101 does not end with 10 ASCII digits".into(),
        )),
    }
}

/// Largest ID-applet file read.
pub const MAX_ID_FILE: usize = 1024;

/// Reads a free ID-applet file: SELECT the ID applet, MF, `df` (if any, `P1 = 01`), the EF
/// (`P1 = 02`), then READ BINARY until a short answer or `6B 00`. `None` when the file is
/// missing or protected (`6A 82`, `69 82`).
pub async fn read_id_file<T: Transport>(
    ch: &mut Channel<'_, T>,
    df: Option<[u8; 2]>,
    ef: [u8; 2],
) -> Result<Option<Vec<u8>>, CardError> {
    ch.ok(&Command::new(0, 0xA4, 0x04, 0x0C).data(&ID_AID), "SELECT ID applet")
        .await?;
    select_fid(ch, 0x00, 0x00, &[0x3F, 0x00], "SELECT MF").await?;
    let mut path = Vec::new();
    if let Some(df) = df {
        path.push((0x01, 0x00, df));
    }
    path.push((0x02, 0x0C, ef));
    for (p1, p2, fid) in path {
        match ch.transmit(&Command::new(0, 0xA4, p1, p2).data(&fid)).await?.sw {
            StatusWord::Ok => {}
            StatusWord::FileNotFound | StatusWord::SecurityNotSatisfied => return Ok(None),
            sw => {
                return Err(CardError::Status {
                    during: "SELECT ID file",
                    sw,
                });
            }
        }
    }
    let mut out = Vec::new();
    loop {
        let off = u16::try_from(out.len()).map_err(|_| CardError::MalformedResponse("ID file too long".into()))?;
        let [hi, lo] = off.to_be_bytes();
        let r = ch.transmit(&Command::new(0, 0xB0, hi, lo).le(0xFF)).await?;
        match r.sw {
            StatusWord::Ok => {
                let n = r.data.len();
                out.extend_from_slice(&r.data);
                if n < 0xFF {
                    break;
                }
            }
            StatusWord::WrongP1P2 => break,
            StatusWord::SecurityNotSatisfied if out.is_empty() => return Ok(None),
            sw => {
                return Err(CardError::Status {
                    during: "READ BINARY (ID applet)",
                    sw,
                });
            }
        }
        if out.len() > MAX_ID_FILE {
            return Err(CardError::MalformedResponse(format!(
                "ID file over {MAX_ID_FILE} bytes"
            )));
        }
    }
    Ok(Some(out))
}

/// A date from EF 0303.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChipDate {
    /// As the chip has it (UTF-16 text; Solar Hijri `YYYY/MM/DD` on the virtual card).
    pub text: String,
    /// Solar Hijri `YYYY/MM/DD`, when the text is a Solar Hijri date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solar_hijri: Option<String>,
    /// The same day, Gregorian `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gregorian: Option<String>,
}

impl ChipDate {
    fn parse(text: String) -> Self {
        use crate::identity::solar_hijri;
        let sh = solar_hijri::parse(&text);
        Self {
            solar_hijri: sh.map(|(y, m, d)| format!("{y:04}/{m:02}/{d:02}")),
            gregorian: sh
                .and_then(|(y, m, d)| solar_hijri::to_gregorian(y, m, d))
                .map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            text,
        }
    }
}

/// Parses EF 0303: tag `B2` issue date, `B3` expiry date, each UTF-16 text (big-endian, or
/// little-endian when that decodes to digits and `/`; which one real cards use is unconfirmed).
pub fn parse_dates(file: &[u8]) -> Result<(Option<ChipDate>, Option<ChipDate>), CardError> {
    let bad = |m: &str| CardError::MalformedResponse(format!("EF 0303: {m}"));
    let text = |v: &[u8]| -> Result<String, CardError> {
        if !v.len().is_multiple_of(2) || v.len() > 64 {
            return Err(bad("a date is not UTF-16 text of at most 32 characters"));
        }
        let units = |le: bool| {
            v.chunks(2)
                .map(|c| {
                    if le {
                        u16::from_le_bytes([c[0], c[1]])
                    } else {
                        u16::from_be_bytes([c[0], c[1]])
                    }
                })
                .collect::<Vec<u16>>()
        };
        let be = String::from_utf16(&units(false)).ok();
        let plausible = |s: &String| {
            s.chars()
                .all(|c| c.is_ascii_digit() || "/-. ".contains(c) || ('\u{06F0}'..='\u{06F9}').contains(&c))
        };
        match be {
            Some(s) if plausible(&s) => Ok(s.trim_end_matches(['\0', ' ']).to_string()),
            _ => String::from_utf16(&units(true))
                .ok()
                .filter(plausible)
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                .ok_or_else(|| bad("a date is not UTF-16 digits")),
        }
    };
    let (mut issue, mut expiry) = (None, None);
    let mut rest = file;
    while let Some((&tag, after)) = rest.split_first() {
        if tag == 0x00 || tag == 0xFF {
            break; // padding
        }
        let (&len, after) = after.split_first().ok_or_else(|| bad("truncated"))?;
        let len = usize::from(len);
        if len > 0x7F || after.len() < len {
            return Err(bad("truncated"));
        }
        let (value, next) = after.split_at(len);
        match tag {
            0xB2 => issue = Some(ChipDate::parse(text(value)?)),
            0xB3 => expiry = Some(ChipDate::parse(text(value)?)),
            _ => {}
        }
        rest = next;
    }
    Ok((issue, expiry))
}

/// The state one EF 0010 flag gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinFlag {
    /// `11`
    Active,
    /// `F1`
    NotActive,
    /// `F2`
    Blocked,
    /// Any other value.
    Unknown,
}

impl PinFlag {
    fn from_byte(b: u8) -> Self {
        match b {
            0x11 => Self::Active,
            0xF1 => Self::NotActive,
            0xF2 => Self::Blocked,
            _ => Self::Unknown,
        }
    }
}

/// EF 0010's PIN flags (offsets 4, 5 and 7). Which PIN each offset is has not been confirmed
/// on real cards: hoviat reads 4 as the ID PIN, 5 as the SIGN PIN, 7 as match-on-card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PinFlags {
    /// Offset 4.
    pub id: PinFlag,
    /// Offset 5.
    pub sign: PinFlag,
    /// Offset 7.
    pub match_on_card: PinFlag,
}

/// Parses EF 0010.
pub fn parse_pin_flags(file: &[u8]) -> Result<PinFlags, CardError> {
    match file {
        [_, _, _, _, id, sign, _, moc, ..] => Ok(PinFlags {
            id: PinFlag::from_byte(*id),
            sign: PinFlag::from_byte(*sign),
            match_on_card: PinFlag::from_byte(*moc),
        }),
        _ => Err(CardError::MalformedResponse(format!(
            "EF 0010 has {} bytes, not at least 8",
            file.len()
        ))),
    }
}

/// What the card says about itself in free-to-read data: CRN, dates and PIN flags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChipData {
    /// The card reference number (card manager object 0101).
    pub card_reference: Option<String>,
    /// Issue date (EF 0303, B2).
    pub issue_date: Option<ChipDate>,
    /// Expiry date (EF 0303, B3).
    pub expiry_date: Option<ChipDate>,
    /// PIN flags (EF 0010).
    pub pin_flags: Option<PinFlags>,
}

/// Reads CRN, dates and PIN flags (no PIN needed, no try spent).
pub async fn chip_data<T: Transport>(ch: &mut Channel<'_, T>) -> Result<ChipData, CardError> {
    let card_reference = card_reference(ch).await?;
    id_files(ch, card_reference).await
}

/// Dates and PIN flags from the ID applet.
async fn id_files<T: Transport>(
    ch: &mut Channel<'_, T>,
    card_reference: Option<String>,
) -> Result<ChipData, CardError> {
    let (issue_date, expiry_date) = match read_id_file(ch, Some([0x03, 0x00]), [0x03, 0x03]).await? {
        Some(f) => parse_dates(&f)?,
        None => (None, None),
    };
    let pin_flags = match read_id_file(ch, None, [0x00, 0x10]).await? {
        Some(f) => Some(parse_pin_flags(&f)?),
        None => None,
    };
    Ok(ChipData {
        card_reference,
        issue_date,
        expiry_date,
        pin_flags,
    })
}

pub(super) async fn info<T: Transport>(
    ch: &mut Channel<'_, T>,
    on_status: &mut dyn FnMut(Status),
) -> Result<CardInfo, CardError> {
    on_status(Status::ReadingCertificate);
    let mut certificates = Vec::new();
    for (slot, df) in [("ir-nid-auth", DF_AUTH), ("ir-nid-sign", DF_SIGN)] {
        match read_certificate(ch, &df).await {
            Ok(der) => certificates.push(CardCertificate::from_der(slot, &der)?),
            Err(CardError::CertificateMissing) => {}
            Err(e) => return Err(e),
        }
    }
    if certificates.is_empty() {
        return Err(CardError::CertificateMissing);
    }
    on_status(Status::ReadingPinState);
    let pins = vec![
        NamedPin {
            name: "id",
            state: id_pin_status(ch).await?,
            note: Some("read with 80 C0 02 05 0C; its answer's layout is unconfirmed on real cards"),
        },
        NamedPin {
            name: "sign",
            state: sign_pin_status(ch).await?,
            note: None,
        },
    ];
    let (card_serial, card_reference) = serial_and_reference(ch).await?;
    let chip = id_files(ch, card_reference).await?;
    Ok(CardInfo {
        chip: Some(chip),
        profile: Profile::IrNid,
        atr: crate::pki::cert::hex_upper(&ch.atr()),
        certificates,
        pins,
        card_serial,
        assurance: "certificate-only",
        traffic: Default::default(),
    })
}

/// A registry-assisted secure-messaging session (the seam for an agreement with the
/// registry's service): given the channel and the digest, it obtains the card's signature.
pub trait RegistrySession {
    /// Signs `digest` with the card's authentication key inside a secure-messaging session.
    fn sign<T: Transport>(
        &mut self,
        ch: &mut Channel<'_, T>,
        digest: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, CardError>>;
}

/// Without a registry session: reads the authentication certificate (so the caller learns the
/// card is readable), optionally verifies the ID PIN, then refuses with
/// `CARD_NEEDS_REGISTRY_SERVICE` — never a fake signature.
pub(super) async fn authenticate<T: Transport>(
    ch: &mut Channel<'_, T>,
    pin: Option<&Pin>,
    on_status: &mut dyn FnMut(Status),
) -> Result<String, CardError> {
    on_status(Status::ReadingCertificate);
    read_certificate(ch, &DF_AUTH).await?;
    if let Some(pin) = pin {
        on_status(Status::VerifyingPin);
        verify_pin(ch, PinKind::Id, pin).await?;
    }
    Err(CardError::NeedsRegistryService)
}
