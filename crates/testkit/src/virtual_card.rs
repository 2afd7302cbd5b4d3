//! Virtual cards (test equipment, feature `testkit`): a PIV card and an Iranian national card
//! that answer byte for byte as `cards.md` describes, holding keys and certificates from the
//! test registry; a card that answers garbage and one that answers nothing useful; and an
//! in-process [`VirtualTransport`] (with simulated removal). `hoviat sim card` puts the same
//! cards behind the real pcscd through vpcd.

use rand_core::Rng;

use crate::PrivateKey;
use hoviat::apdu::{Command, Response, StatusWord as Sw, tlv};
use hoviat::card::{Transport, TransportError, ir_nid, piv};
use hoviat::pki::alg::{HashAlg, SigAlg};

/// A card's behaviour: ATR, power, APDU in, APDU out.
pub trait VirtualCard: Send {
    /// Answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// Power off (clears session state such as verified PINs) or on.
    fn power(&mut self, on: bool);
    /// Processes one command APDU and returns the response bytes (data || SW).
    fn process(&mut self, apdu: &[u8]) -> Vec<u8>;
}

/// The PIN of every virtual PIV card.
pub const PIV_PIN: &str = "123456";
/// The ID PIN of every virtual Iranian card.
pub const IR_ID_PIN: &str = "1234";
/// The SIGN PIN of every virtual Iranian card.
pub const IR_SIGN_PIN: &str = "123456";
/// Tries before a PIN blocks.
pub const PIN_TRIES: u8 = 3;

fn sw(s: Sw) -> Vec<u8> {
    s.to_bytes().to_vec()
}

/// Response chaining shared by the cards: answers at most `le` (or 256) bytes and `61 xx`
/// while more remains; GET RESPONSE continues.
#[derive(Default)]
struct Outbox(Vec<u8>);

impl Outbox {
    fn send(&mut self, data: Vec<u8>, le: Option<usize>) -> Vec<u8> {
        self.0 = data;
        self.next(le)
    }
    fn next(&mut self, le: Option<usize>) -> Vec<u8> {
        let n = le.unwrap_or(256).clamp(1, 256).min(self.0.len());
        let mut out: Vec<u8> = self.0.drain(..n).collect();
        let rest = self.0.len();
        out.extend(if rest == 0 {
            sw(Sw::Ok)
        } else {
            sw(Sw::MoreData(u8::try_from(rest.min(256) % 256).unwrap_or(0)))
        });
        out
    }
}

/// PIN counter logic shared by both cards.
struct PinSlot {
    value: Vec<u8>,
    tries: u8,
    verified: bool,
}

impl PinSlot {
    fn new(pin: &str, len: usize, pad: u8) -> Self {
        let mut value = vec![pad; len];
        value[..pin.len()].copy_from_slice(pin.as_bytes());
        Self {
            value,
            tries: PIN_TRIES,
            verified: false,
        }
    }
    fn status(&self) -> Vec<u8> {
        if self.tries == 0 {
            sw(Sw::Blocked)
        } else if self.verified {
            sw(Sw::Ok)
        } else {
            sw(Sw::TriesLeft(self.tries))
        }
    }
    fn verify(&mut self, given: &[u8]) -> Vec<u8> {
        if self.tries == 0 {
            return sw(Sw::Blocked);
        }
        if given.len() != self.value.len() {
            return sw(Sw::WrongLength);
        }
        if given == self.value.as_slice() {
            self.tries = PIN_TRIES;
            self.verified = true;
            sw(Sw::Ok)
        } else {
            self.tries -= 1;
            self.verified = false;
            if self.tries == 0 {
                sw(Sw::Blocked)
            } else {
                sw(Sw::TriesLeft(self.tries))
            }
        }
    }
}

/// A virtual PIV card with one key in slot 9A (P-256, P-384 or RSA-2048).
pub struct VirtualPiv {
    cert: Vec<u8>,
    key: PrivateKey,
    pin: PinSlot,
    out: Outbox,
    chain: Vec<u8>,
}

/// The virtual PIV card's ATR: historical bytes with the PIV AID (OpenSC: plain PIV).
pub const PIV_ATR: [u8; 16] = [
    0x3B, 0x8B, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0xC8,
];

impl VirtualPiv {
    /// A card holding `cert` and its private key.
    pub fn new(cert: Vec<u8>, key: PrivateKey) -> Self {
        Self {
            cert,
            key,
            pin: PinSlot::new(PIV_PIN, 8, 0xFF),
            out: Outbox::default(),
            chain: Vec::new(),
        }
    }

    fn object(&self, tag: &[u8]) -> Option<Vec<u8>> {
        match tag {
            [0x7E] => Some(tlv::encode(
                0x7E,
                &[tlv::encode(0x4F, &piv::AID), tlv::encode(0x5F2F, &[0x40, 0x00])].concat(),
            )),
            [0x5F, 0xC1, 0x05] => {
                let inner = [
                    tlv::encode(0x70, &self.cert),
                    tlv::encode(0x71, &[0x00]),
                    tlv::encode(0xFE, &[]),
                ]
                .concat();
                Some(tlv::encode(0x53, &inner))
            }
            _ => None,
        }
    }

    fn general_authenticate(&mut self, alg: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
        if !self.pin.verified {
            return sw(Sw::SecurityNotSatisfied);
        }
        let Ok((outer, _)) = tlv::parse_one(data) else {
            return sw(Sw::IncorrectData);
        };
        let Ok(Some(challenge)) = tlv::find(outer.value, 0x81) else {
            return sw(Sw::IncorrectData);
        };
        let mut rng = crate::rng_for("virtual-piv", "ga");
        let sig = match (alg, &self.key, challenge.len()) {
            (0x11, PrivateKey::P256(_), 32) | (0x14, PrivateKey::P384(_), 48) => {
                let raw = self
                    .key
                    .sign_digest(SigAlg::Ecdsa(HashAlg::Sha256), challenge, &mut rng);
                hoviat::pki::alg::ecdsa_raw_to_der(&raw).unwrap_or_default()
            }
            (0x07, PrivateKey::Rsa(_), 256) => {
                // A raw RSA private operation on an EMSA-PKCS1-v1_5 block equals a PKCS#1 v1.5
                // signature of the digest inside it.
                let Some((h, digest)) = parse_emsa(challenge) else {
                    return sw(Sw::IncorrectData);
                };
                self.key.sign_digest(SigAlg::RsaPkcs1(h), digest, &mut rng)
            }
            _ => return sw(Sw::IncorrectData),
        };
        let resp = tlv::encode(0x7C, &tlv::encode(0x82, &sig));
        self.out.send(resp, le)
    }
}

fn parse_emsa(em: &[u8]) -> Option<(HashAlg, &[u8])> {
    let rest = em.strip_prefix(&[0x00, 0x01])?;
    let zero = rest.iter().position(|&b| b != 0xFF)?;
    let rest = rest[zero..].strip_prefix(&[0x00])?;
    for h in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
        let want = piv::emsa_pkcs1_v15(h, &vec![0; h.output_len()], em.len())?;
        let prefix_len = want.len() - h.output_len();
        let prefix = &want[em.len() - rest.len()..prefix_len];
        if let Some(d) = rest.strip_prefix(prefix)
            && d.len() == h.output_len()
        {
            return Some((h, d));
        }
    }
    None
}

impl VirtualCard for VirtualPiv {
    fn atr(&self) -> Vec<u8> {
        PIV_ATR.to_vec()
    }

    fn power(&mut self, _on: bool) {
        self.pin.verified = false;
        self.out = Outbox::default();
        self.chain.clear();
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(c) = Command::parse(apdu) else {
            return sw(Sw::WrongLength);
        };
        if c.ins == 0xC0 {
            return if self.out.0.is_empty() {
                sw(Sw::ConditionsNotSatisfied)
            } else {
                self.out.next(c.le)
            };
        }
        self.out = Outbox::default();
        if c.cla & 0x10 != 0 {
            if c.ins != 0x87 || self.chain.len() > 4096 {
                self.chain.clear();
                return sw(Sw::ConditionsNotSatisfied);
            }
            self.chain.extend_from_slice(&c.data);
            return sw(Sw::Ok);
        }
        let chained = std::mem::take(&mut self.chain);
        match (c.ins, c.p1, c.p2) {
            (0xA4, 0x04, 0x00) => {
                if c.data.len() >= 5 && piv::AID.starts_with(&c.data) {
                    let tmpl = [
                        tlv::encode(0x4F, &piv::AID[5..]),
                        tlv::encode(0x79, &tlv::encode(0x4F, &piv::AID[..5])),
                    ]
                    .concat();
                    self.out.send(tlv::encode(0x61, &tmpl), c.le)
                } else {
                    sw(Sw::FileNotFound)
                }
            }
            (0xA4, _, _) => sw(Sw::FileNotFound),
            (0xCB, 0x3F, 0xFF) => match tlv::parse_one(&c.data) {
                Ok((t, _)) if t.tag == 0x5C => match self.object(t.value) {
                    Some(obj) => self.out.send(obj, c.le),
                    None => sw(Sw::FileNotFound),
                },
                _ => sw(Sw::IncorrectData),
            },
            (0x20, 0x00, 0x80) => {
                if c.data.is_empty() {
                    self.pin.status()
                } else {
                    self.pin.verify(&c.data)
                }
            }
            (0x20, 0x00, _) => sw(Sw::ReferenceNotFound),
            (0x87, alg, 0x9A) => {
                let data = [chained, c.data.to_vec()].concat();
                self.general_authenticate(alg, &data, c.le)
            }
            (0x87, _, _) => sw(Sw::ReferenceNotFound),
            _ => sw(Sw::InsNotSupported),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Applet {
    None,
    Pki,
    Id,
    CardManager,
}

/// What a virtual Iranian card holds besides its keys' certificates (cards.md §1).
#[derive(Clone, Debug)]
pub struct IrCardData {
    /// The authentication certificate (DF 5000 / EF 5040).
    pub auth_cert: Vec<u8>,
    /// The signing certificate (DF 5100 / EF 5040).
    pub sign_cert: Vec<u8>,
    /// The chip's IC serial number (CPLC bytes 12..16).
    pub chip_serial: [u8; 4],
    /// The card reference number (10 ASCII digits; card manager data object 0101).
    pub crn: String,
    /// Issue date as EF 0303 holds it (Solar Hijri `YYYY/MM/DD`, tag B2).
    pub issue_date: String,
    /// Expiry date (tag B3).
    pub expiry_date: String,
}

impl IrCardData {
    /// The card of holder `index` of the Iranian-layout test registry.
    pub fn from_iran(reg: &crate::iran::IranRegistry, index: usize) -> Option<Self> {
        let h = reg.holders.get(index)?;
        let fmt = |(y, m, d): (i64, i64, i64)| format!("{y:04}/{m:02}/{d:02}");
        Some(Self {
            auth_cert: h.auth_cert.clone(),
            sign_cert: h.sign_cert.clone(),
            chip_serial: h.chip_serial,
            crn: h.crn.clone(),
            issue_date: fmt(h.issue_date),
            expiry_date: fmt(h.expiry_date),
        })
    }
}

/// A virtual Iranian national card (Mav4-like), answering as cards.md describes real cards:
/// certificates readable without a PIN; the card manager's CPLC (`80 CA 9F 7F`) and CRN
/// (`80 CA 01 01`); the ID applet's free files (EF 0010 PIN flags, DF 0300 EF 0303 dates,
/// EF 0302 fingerprint flag, DF 0600 EF 0601 versions); two PINs; personal data and the
/// security object protected (`69 82`); private-key operations refused without secure
/// messaging (`69 82`).
///
/// Layouts cards.md does not give byte for byte are hoviat's reading of the open SDK and are
/// marked "unconfirmed" in [`ir_nid`]: the CRN answer (`01 01 12`, 8 bytes, then the 10 ASCII
/// digits: 21 bytes, as `Le = 15` asks), EF 0303 (`B2 len <UTF-16BE date>` `B3 len <...>`,
/// dates `YYYY/MM/DD` Solar Hijri), and which PIN each EF 0010 flag (offsets 4, 5, 7) is.
pub struct VirtualIrNid {
    data: IrCardData,
    id_pin: PinSlot,
    sign_pin: PinSlot,
    applet: Applet,
    df: Option<[u8; 2]>,
    ef: Option<[u8; 2]>,
    cplc: [u8; 42],
}

/// The virtual Iranian card's ATR (a Mav4 ATR seen in the field).
pub const IR_NID_ATR: [u8; 25] = [
    0x3B, 0xFF, 0x96, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x43, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x04, 0x00, 0x11, 0x12,
    0x0F, 0xFF, 0x82, 0x90, 0x00, 0xE0,
];

impl VirtualIrNid {
    /// A card with an authentication and a signing certificate; `serial` is the chip serial
    /// (CRN and dates: fixed test values).
    pub fn new(auth_cert: Vec<u8>, sign_cert: Vec<u8>, serial: [u8; 4]) -> Self {
        Self::with_data(IrCardData {
            auth_cert,
            sign_cert,
            chip_serial: serial,
            crn: "5112000000".into(),
            issue_date: "1404/09/01".into(),
            expiry_date: "1411/09/01".into(),
        })
    }

    /// A card holding `data`.
    pub fn with_data(data: IrCardData) -> Self {
        let mut cplc = [0u8; 42];
        cplc[..12].copy_from_slice(&[0x40, 0x90, 0x12, 0x34, 0x00, 0x04, 0x21, 0x01, 0x00, 0x04, 0x21, 0x05]);
        cplc[12..16].copy_from_slice(&data.chip_serial);
        Self {
            data,
            id_pin: PinSlot::new(IR_ID_PIN, 8, 0x00),
            sign_pin: PinSlot::new(IR_SIGN_PIN, 16, 0x00),
            applet: Applet::None,
            df: None,
            ef: None,
            cplc,
        }
    }

    /// EF 0010: PIN state flags at offsets 4 (ID PIN), 5 (SIGN PIN) and 7 (match-on-card):
    /// `11` active, `F1` not active, `F2` blocked.
    fn pin_flags(&self) -> Vec<u8> {
        let flag = |p: &PinSlot| if p.tries == 0 { 0xF2 } else { 0x11 };
        vec![
            0x00,
            0x10,
            0x00,
            0x08,
            flag(&self.id_pin),
            flag(&self.sign_pin),
            0x00,
            0xF1,
        ]
    }

    /// EF 0303: `B2 len <issue date>` `B3 len <expiry date>`, UTF-16BE text.
    fn dates(&self) -> Vec<u8> {
        let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>();
        [
            tlv::encode(0xB2, &utf16(&self.data.issue_date)),
            tlv::encode(0xB3, &utf16(&self.data.expiry_date)),
        ]
        .concat()
    }

    /// The answer to `80 CA 01 01 15`: 21 bytes, the CRN's ASCII digits last.
    fn crn_object(&self) -> Vec<u8> {
        let mut v = vec![0x01, 0x01, 0x12, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(self.data.crn.as_bytes());
        v
    }

    /// The content of the selected EF, or the status word that refuses it.
    fn file(&self) -> Result<Vec<u8>, Sw> {
        match (self.applet, self.df, self.ef) {
            (Applet::Pki, Some([0x50, 0x00]), Some([0x50, 0x40])) => Ok(self.data.auth_cert.clone()),
            (Applet::Pki, Some([0x51, 0x00]), Some([0x50, 0x40])) => Ok(self.data.sign_cert.clone()),
            (Applet::Id, Some([0x03, 0x00]), Some([0x03, 0x03])) => Ok(self.dates()),
            (Applet::Id, Some([0x03, 0x00]), Some([0x03, 0x02])) => Ok(vec![0x00]),
            (Applet::Id, Some([0x06, 0x00]), Some([0x06, 0x01])) => {
                Ok(vec![0x20, 0xE0, 0x1A, 0xF9, 0x03, 0x5F, 0x03, 0x0A])
            }
            (Applet::Id, None, Some([0x00, 0x10])) => Ok(self.pin_flags()),
            (Applet::Id, Some([0x02, 0x00]), Some([0x02, 0x01] | [0x02, 0x05])) => Err(Sw::SecurityNotSatisfied),
            _ => Err(Sw::CommandNotAllowed),
        }
    }

    fn select(&mut self, c: &Command) -> Vec<u8> {
        let d: &[u8] = &c.data;
        match c.p1 {
            0x04 => {
                let applet = match d {
                    _ if d == ir_nid::PKI_AID => Applet::Pki,
                    _ if d == ir_nid::ID_AID => Applet::Id,
                    _ if d == ir_nid::CM_AID => Applet::CardManager,
                    _ => return sw(Sw::FileNotFound),
                };
                (self.applet, self.df, self.ef) = (applet, None, None);
                sw(Sw::Ok)
            }
            0x00..=0x02 => {
                let Ok(fid) = <[u8; 2]>::try_from(d) else {
                    return sw(Sw::WrongLength);
                };
                let is_df = match (self.applet, fid) {
                    (Applet::Pki | Applet::Id, [0x3F, 0x00]) => {
                        (self.df, self.ef) = (None, None);
                        return sw(Sw::Ok);
                    }
                    (Applet::Pki, [0x50, 0x00] | [0x51, 0x00]) => true,
                    (Applet::Id, [0x02, 0x00] | [0x03, 0x00] | [0x05, 0x00] | [0x06, 0x00]) => true,
                    (Applet::Pki, [0x50, 0x40]) if self.df.is_some() => false,
                    (Applet::Id, [0x00, 0x10]) if self.df.is_none() => false,
                    (
                        Applet::Id,
                        [0x03, 0x02]
                        | [0x03, 0x03]
                        | [0x06, 0x01]
                        | [0x02, 0x01]
                        | [0x02, 0x05]
                        | [0x2F, 0x01]
                        | [0x5F, 0x04],
                    ) if self.df.is_some() => false,
                    _ => return sw(Sw::FileNotFound),
                };
                if is_df {
                    (self.df, self.ef) = (Some(fid), None);
                } else {
                    self.ef = Some(fid);
                }
                sw(Sw::Ok)
            }
            _ => sw(Sw::IncorrectP1P2),
        }
    }

    fn read_binary(&self, c: &Command) -> Vec<u8> {
        let file = match self.file() {
            Ok(f) => f,
            Err(s) => return sw(s),
        };
        let off = usize::from(u16::from_be_bytes([c.p1 & 0x7F, c.p2]));
        if off >= file.len() {
            return sw(Sw::WrongP1P2);
        }
        let remaining = file.len() - off;
        let le = c.le.unwrap_or(256);
        if le > remaining {
            // "Retry with Le = xx" (cards.md).
            return sw(Sw::WrongLe(u8::try_from(remaining.min(255)).unwrap_or(0xFF)));
        }
        Response::new(&file[off..off + le], Sw::Ok).to_bytes()
    }
}

impl VirtualCard for VirtualIrNid {
    fn atr(&self) -> Vec<u8> {
        IR_NID_ATR.to_vec()
    }

    fn power(&mut self, _on: bool) {
        self.id_pin.verified = false;
        self.sign_pin.verified = false;
        (self.applet, self.df, self.ef) = (Applet::None, None, None);
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(c) = Command::parse(apdu) else {
            return sw(Sw::WrongLength);
        };
        match (c.cla, c.ins) {
            (0x00, 0xA4) => self.select(&c),
            (0x00, 0xB0) => self.read_binary(&c),
            (0x00, 0x20) => match (self.applet, c.p2, self.df) {
                (Applet::Pki, 0x81, _) if c.data.is_empty() => self.sign_pin.status(),
                (Applet::Pki, 0x81, _) => self.sign_pin.verify(&c.data),
                (Applet::Id, 0x00, Some([0x05, 0x00])) if !c.data.is_empty() => self.id_pin.verify(&c.data),
                (Applet::Id, 0x00, _) => sw(Sw::ConditionsNotSatisfied),
                _ => sw(Sw::ReferenceNotFound),
            },
            (0x80, 0xC0)
                if self.applet == Applet::Id && self.df == Some([0x05, 0x00]) && c.p1 == 0x02 && c.p2 == 0x05 =>
            {
                let mut state = vec![
                    0x01,
                    0x02,
                    0x05,
                    0x0C,
                    0,
                    0,
                    0,
                    0,
                    0,
                    PIN_TRIES,
                    PIN_TRIES,
                    self.id_pin.tries,
                ];
                state.truncate(c.le.unwrap_or(12).min(12));
                Response::new(&state, Sw::Ok).to_bytes()
            }
            (0x80, 0xCA) if self.applet == Applet::CardManager && c.p1 == 0x9F && c.p2 == 0x7F => {
                let mut v = vec![0x9F, 0x7F, 0x2A];
                v.extend_from_slice(&self.cplc);
                Response::new(&v, Sw::Ok).to_bytes()
            }
            (0x80, 0xCA) if self.applet == Applet::CardManager && c.p1 == 0x01 && c.p2 == 0x01 => {
                let v = self.crn_object();
                match c.le {
                    Some(le) if le != v.len() => sw(Sw::WrongLe(u8::try_from(v.len()).unwrap_or(0))),
                    _ => Response::new(&v, Sw::Ok).to_bytes(),
                }
            }
            (0x80, 0x84) => {
                let mut ch = [0u8; 8];
                crate::rng_for("virtual-ir-nid", "challenge").fill_bytes(&mut ch);
                Response::new(&ch, Sw::Ok).to_bytes()
            }
            // Mutual authentication, MSE, PSO and secure-messaging commands need the
            // registry's keys: refused.
            (0x80, 0x82) | (0x00, 0x22) | (0x00, 0x2A) | (0x0C, _) => sw(Sw::SecurityNotSatisfied),
            _ => sw(Sw::InsNotSupported),
        }
    }
}

/// A card that answers random bytes (a broken card or a hostile reader).
pub struct GarbageCard(rand_chacha::ChaCha20Rng);

impl Default for GarbageCard {
    fn default() -> Self {
        Self(crate::rng_for("garbage", "card"))
    }
}

impl VirtualCard for GarbageCard {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x02, 0x14, 0x50]
    }
    fn power(&mut self, _on: bool) {}
    fn process(&mut self, _apdu: &[u8]) -> Vec<u8> {
        let n = usize::try_from(self.0.next_u32() % 300).unwrap_or(0);
        let mut v = vec![0u8; n];
        self.0.fill_bytes(&mut v);
        v
    }
}

/// A card that supports none of hoviat's profiles (answers `6A 82` / `6D 00`).
pub struct UnknownCard;

impl VirtualCard for UnknownCard {
    fn atr(&self) -> Vec<u8> {
        vec![
            0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x00, 0x6A,
        ]
    }
    fn power(&mut self, _on: bool) {}
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        match apdu.get(1) {
            Some(0xA4) => sw(Sw::FileNotFound),
            _ => sw(Sw::InsNotSupported),
        }
    }
}

/// An in-process transport to a virtual card. Records every exchange; can simulate the card
/// being removed after a number of APDUs.
pub struct VirtualTransport<C: VirtualCard> {
    /// The card.
    pub card: C,
    /// Exchanges so far: (command, response).
    pub log: Vec<(Vec<u8>, Vec<u8>)>,
    /// After this many APDUs the card is "removed".
    pub remove_after: Option<usize>,
    powered: bool,
}

impl<C: VirtualCard> VirtualTransport<C> {
    /// Inserts `card`.
    pub fn new(card: C) -> Self {
        Self {
            card,
            log: Vec::new(),
            remove_after: None,
            powered: false,
        }
    }
}

impl<C: VirtualCard> Transport for VirtualTransport<C> {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.remove_after.is_some_and(|n| self.log.len() >= n) {
            return Err(TransportError::CardRemoved);
        }
        if !self.powered {
            self.card.power(true);
            self.powered = true;
        }
        let r = self.card.process(apdu);
        self.log.push((apdu.to_vec(), r.clone()));
        Ok(r)
    }
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        self.card.power(false);
        self.card.power(true);
        Ok(())
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        Ok(self.remove_after.is_none_or(|n| self.log.len() < n))
    }
}

/// The faithful virtual Iranian card of holder `index` of the Iranian-layout test registry
/// (two RSA-2048 certificates, CRN, chip serial, dates).
pub fn for_iran_holder(reg: &crate::iran::IranRegistry, index: usize) -> Option<Box<dyn VirtualCard>> {
    Some(Box::new(VirtualIrNid::with_data(IrCardData::from_iran(reg, index)?)))
}

/// A virtual card for holder `index` of the Estonian-style registry: PIV for EC and RSA-2048
/// keys, or (with `ir_nid`) an Iranian card carrying that holder's one certificate as both
/// authentication and signing certificate (the older layout, kept for the browser demo's light
/// registry and the reader emulators; [`for_iran_holder`] is the faithful card).
pub fn for_holder(reg: &crate::Registry, index: usize, ir_nid: bool) -> Option<Box<dyn VirtualCard>> {
    let h = reg.holders.get(index)?;
    if ir_nid {
        let serial: [u8; 4] = h.serial.get(..4)?.try_into().ok()?;
        Some(Box::new(VirtualIrNid::with_data(IrCardData {
            auth_cert: h.cert.clone(),
            sign_cert: h.cert.clone(),
            chip_serial: serial,
            crn: crate::institution::card_reference(index),
            issue_date: "1404/09/01".into(),
            expiry_date: "1411/09/01".into(),
        })))
    } else {
        Some(Box::new(VirtualPiv::new(h.cert.clone(), h.key.clone())))
    }
}

/// Holder `index` of the Estonian-style (light) registry on an Iranian card whose signing
/// certificate follows the real layout ([`crate::institution::iranian_signing_cert`]: `SN`, `G`,
/// `CN=<CRN> - SIG`, no national code; same key and CA as the registry's certificate), so that
/// the browser demo's virtual Iranian card names the holder as a real card does while its
/// chain stays in the light registry the demo server trusts. The authentication certificate is
/// the registry's. The registry's CRL lists only the registry's certificates: a revoked holder's
/// signing certificate made here is not on it.
pub fn for_holder_iranian_layout(reg: &crate::Registry, index: usize) -> Option<Box<dyn VirtualCard>> {
    let h = reg.holders.get(index)?;
    let serial: [u8; 4] = h.serial.get(..4)?.try_into().ok()?;
    Some(Box::new(VirtualIrNid::with_data(IrCardData {
        auth_cert: h.cert.clone(),
        sign_cert: crate::institution::iranian_signing_cert(reg, index)?,
        chip_serial: serial,
        crn: crate::institution::card_reference(index),
        issue_date: "1404/09/01".into(),
        expiry_date: "1411/09/01".into(),
    })))
}

impl VirtualCard for Box<dyn VirtualCard> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn power(&mut self, on: bool) {
        (**self).power(on);
    }
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        (**self).process(apdu)
    }
}
