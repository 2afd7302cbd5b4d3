//! PIV (NIST SP 800-73-4): select, the 9A (PIV Authentication) certificate, PIN state and
//! VERIFY, GENERAL AUTHENTICATE for P-256, P-384 and RSA-2048.

use super::{
    AtrPattern, CardCertificate, CardError, CardInfo, Channel, NamedPin, Pin, PinState, Profile, Status, Transport,
    pin_state, verify_result,
};
use crate::apdu::{Command, StatusWord, tlv};
use crate::pki::Cert;
use crate::pki::alg::{Curve, HashAlg, PublicKey, ecdsa_der_to_raw};
use crate::token::{self, TokenAlg};

/// The PIV application identifier (SP 800-73-4 Part 1 §2.2).
pub const AID: [u8; 11] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00];

/// ATRs that identify PIV cards without probing.
pub const ATRS: &[AtrPattern] = &[
    // Historical bytes carrying the PIV AID (compact-TLV tag F): hoviat's virtual card, and
    // what OpenSC classifies as a plain PIV card.
    AtrPattern {
        value: &[
            0x3B, 0x8B, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0xC8,
        ],
    },
    // YubiKey 5 (USB), "YubiKey" in the historical bytes.
    AtrPattern {
        value: &[
            0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62,
            0x69, 0x4B, 0x65, 0x79, 0x40,
        ],
    },
];

/// Object tag of the PIV Authentication certificate (slot 9A).
pub const CERT_9A: [u8; 3] = [0x5F, 0xC1, 0x05];

/// SELECT the PIV application.
pub async fn select<T: Transport>(ch: &mut Channel<'_, T>) -> Result<(), CardError> {
    ch.ok(&Command::new(0, 0xA4, 0x04, 0x00).data(&AID).le(0), "SELECT PIV")
        .await
        .map(|_| ())
}

/// GET DATA of an object; `None` when the card has no such object (`6A 82`).
pub async fn get_data<T: Transport>(ch: &mut Channel<'_, T>, tag: &[u8]) -> Result<Option<Vec<u8>>, CardError> {
    let mut q = vec![0x5C, u8::try_from(tag.len()).unwrap_or(0)];
    q.extend_from_slice(tag);
    let r = ch.transmit(&Command::new(0, 0xCB, 0x3F, 0xFF).data(&q).le(0)).await?;
    match r.sw {
        StatusWord::Ok => Ok(Some(r.data.to_vec())),
        StatusWord::FileNotFound => Ok(None),
        sw => Err(CardError::Status { during: "GET DATA", sw }),
    }
}

/// Reads the 9A certificate: `53 { 70 <DER> 71 <info> FE <LRC> }`.
pub async fn read_certificate<T: Transport>(ch: &mut Channel<'_, T>) -> Result<Vec<u8>, CardError> {
    let obj = get_data(ch, &CERT_9A).await?.ok_or(CardError::CertificateMissing)?;
    let bad = |e: tlv::TlvError| CardError::MalformedResponse(format!("certificate object: {}", e.0));
    let (outer, _) = tlv::parse_one(&obj).map_err(bad)?;
    if outer.tag != 0x53 {
        return Err(CardError::MalformedResponse("certificate object is not tag 53".into()));
    }
    let inner = tlv::parse_all(outer.value).map_err(bad)?;
    if inner
        .iter()
        .any(|t| t.tag == 0x71 && t.value.first().is_some_and(|&b| b & 0x01 != 0))
    {
        return Err(CardError::Unsupported("compressed certificate".into()));
    }
    let cert = inner
        .iter()
        .find(|t| t.tag == 0x70)
        .ok_or(CardError::CertificateMissing)?;
    Ok(cert.value.to_vec())
}

/// PIN state without spending a try: VERIFY with no data.
pub async fn pin_status<T: Transport>(ch: &mut Channel<'_, T>) -> Result<PinState, CardError> {
    let r = ch.transmit(&Command::new(0, 0x20, 0x00, 0x80)).await?;
    pin_state(r.sw)
}

/// VERIFY the PIV PIN (6 to 8 digits, padded with FF to 8 bytes).
pub async fn verify_pin<T: Transport>(ch: &mut Channel<'_, T>, pin: &Pin) -> Result<(), CardError> {
    let data = pin.padded(6, 8, 0xFF)?;
    let r = ch
        .transmit(&Command::new(0, 0x20, 0x00, 0x80).data(&data).sensitive())
        .await?;
    verify_result(r.sw)
}

/// DigestInfo prefixes (RFC 8017 §9.2 note 1).
fn digest_info_prefix(h: HashAlg) -> &'static [u8] {
    match h {
        HashAlg::Sha1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14,
        ],
        HashAlg::Sha256 => &[
            0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
            0x20,
        ],
        HashAlg::Sha384 => &[
            0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
            0x30,
        ],
        HashAlg::Sha512 => &[
            0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
            0x40,
        ],
    }
}

/// EMSA-PKCS1-v1_5 encoding of a digest for a `k`-byte modulus (what a PIV card's raw RSA
/// operation is given).
pub fn emsa_pkcs1_v15(h: HashAlg, digest: &[u8], k: usize) -> Option<Vec<u8>> {
    let prefix = digest_info_prefix(h);
    let t_len = prefix.len() + digest.len();
    let ps = k.checked_sub(t_len + 3).filter(|&n| n >= 8)?;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.extend(std::iter::repeat_n(0xFF, ps));
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(digest);
    Some(em)
}

/// GENERAL AUTHENTICATE with key 9A: `7C { 82 00, 81 <challenge> }` → `7C { 82 <response> }`.
pub async fn general_authenticate<T: Transport>(
    ch: &mut Channel<'_, T>,
    alg: u8,
    challenge: &[u8],
) -> Result<Vec<u8>, CardError> {
    let inner = [tlv::encode(0x82, &[]), tlv::encode(0x81, challenge)].concat();
    let data = tlv::encode(0x7C, &inner);
    let r = ch.transmit(&Command::new(0, 0x87, alg, 0x9A).data(&data).le(0)).await?;
    match r.sw {
        StatusWord::Ok => {}
        StatusWord::SecurityNotSatisfied => return Err(CardError::PinRequired),
        sw => {
            return Err(CardError::Status {
                during: "GENERAL AUTHENTICATE",
                sw,
            });
        }
    }
    let bad = |e: tlv::TlvError| CardError::MalformedResponse(format!("GENERAL AUTHENTICATE: {}", e.0));
    let (outer, _) = tlv::parse_one(&r.data).map_err(bad)?;
    if outer.tag != 0x7C {
        return Err(CardError::MalformedResponse(
            "GENERAL AUTHENTICATE answer is not tag 7C".into(),
        ));
    }
    tlv::find(outer.value, 0x82)
        .map_err(bad)?
        .map(<[u8]>::to_vec)
        .ok_or_else(|| CardError::MalformedResponse("GENERAL AUTHENTICATE answer lacks tag 82".into()))
}

pub(super) async fn info<T: Transport>(
    ch: &mut Channel<'_, T>,
    on_status: &mut dyn FnMut(Status),
) -> Result<CardInfo, CardError> {
    select(ch).await?;
    on_status(Status::ReadingCertificate);
    let mut certificates = Vec::new();
    match read_certificate(ch).await {
        Ok(der) => certificates.push(CardCertificate::from_der("piv-9a", &der)?),
        Err(CardError::CertificateMissing) => {}
        Err(e) => return Err(e),
    }
    on_status(Status::ReadingPinState);
    let state = pin_status(ch).await?;
    Ok(CardInfo {
        chip: None,
        profile: Profile::Piv,
        atr: crate::pki::cert::hex_upper(&ch.atr()),
        certificates,
        pins: vec![NamedPin {
            name: "piv",
            state,
            note: None,
        }],
        card_serial: None,
        assurance: "holder-signature",
        traffic: Default::default(),
    })
}

pub(super) async fn authenticate<T: Transport>(
    ch: &mut Channel<'_, T>,
    origin: &str,
    nonce: &str,
    pin: Option<&Pin>,
    on_status: &mut dyn FnMut(Status),
) -> Result<String, CardError> {
    select(ch).await?;
    on_status(Status::ReadingCertificate);
    let der = read_certificate(ch).await?;
    let cert = Cert::from_der(&der).map_err(|e| CardError::MalformedResponse(format!("certificate: {e}")))?;
    let key = cert.key.clone().map_err(|e| CardError::Unsupported(e.to_string()))?;
    let (alg, piv_alg) = match &key.key {
        PublicKey::Ec { curve: Curve::P256, .. } => (TokenAlg::ES256, 0x11),
        PublicKey::Ec { curve: Curve::P384, .. } => (TokenAlg::ES384, 0x14),
        PublicKey::Rsa { bits: 2048, .. } => (TokenAlg::RS256, 0x07),
        _ => return Err(CardError::Unsupported(format!("PIV key {}", key.describe()))),
    };
    on_status(Status::ReadingPinState);
    // A PIN the user gives is always verified, even if an earlier session left the card
    // verified (pcscd keeps a card powered briefly after its last client): a wrong PIN must
    // never pass. Without a PIN, a card the OS session already unlocked may sign.
    match (pin_status(ch).await?, pin) {
        (PinState::Blocked, _) => return Err(CardError::PinBlocked),
        (PinState::Verified, None) => {}
        (_, pin) => {
            on_status(Status::WaitingForPin);
            let pin = pin.ok_or(CardError::PinRequired)?;
            on_status(Status::VerifyingPin);
            verify_pin(ch, pin).await?;
        }
    }
    on_status(Status::Signing);
    let digest = token::signed_digest(alg.hash(), origin, nonce);
    let signature = match alg.curve() {
        Some(curve) => {
            let der_sig = general_authenticate(ch, piv_alg, &digest).await?;
            ecdsa_der_to_raw(&der_sig, curve)
                .ok_or_else(|| CardError::MalformedResponse("ECDSA signature is not DER".into()))?
        }
        None => {
            let em =
                emsa_pkcs1_v15(alg.hash(), &digest, 256).ok_or_else(|| CardError::Unsupported("RSA size".into()))?;
            let sig = general_authenticate(ch, piv_alg, &em).await?;
            if sig.len() != 256 {
                return Err(CardError::MalformedResponse(format!(
                    "RSA signature of {} bytes",
                    sig.len()
                )));
            }
            sig
        }
    };
    Ok(token::assemble(
        &der,
        alg,
        &signature,
        concat!("https://hoviat.ir/card/", env!("CARGO_PKG_VERSION")),
        Some(origin),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emsa_layout() {
        let em = emsa_pkcs1_v15(HashAlg::Sha256, &[0xAB; 32], 256).unwrap();
        assert_eq!(em.len(), 256);
        assert_eq!(&em[..3], &[0, 1, 0xFF]);
        assert_eq!(em[256 - 32 - 19 - 1], 0);
        assert!(emsa_pkcs1_v15(HashAlg::Sha512, &[0; 64], 64).is_none());
    }
}
