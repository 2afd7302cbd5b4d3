//! A second test registry that follows the Iranian card's real layout (cards.md §1,
//! `iran-roots/`): an RSA-4096 root named like the real trust anchor but plainly a test
//! (`hoviat Test IRAN Root CA1`; keyUsage and basicConstraints critical, SKI, and an AKI equal
//! to its SKI, as the real root has), an RSA-2048 citizen CA under it, and holders whose card
//! carries two RSA-2048 keys signed with sha256WithRSAEncryption:
//!
//! - the signing certificate (DF 5100): subject `C=IR, OU=IRAN Citizen, G=<given name>,
//!   SN=<surname>, CN=<CRN> - SIG`; keyUsage digitalSignature + nonRepudiation;
//! - the authentication certificate (DF 5000): no name, subject `C=IR, OU=IRAN Citizen,
//!   CN=<CRN> - AUTH` (the exact CN of a real authentication certificate is not known; it names
//!   no person); keyUsage digitalSignature, extKeyUsage clientAuth.
//!
//! Neither holds the national code (the operator types it). Validity is the card's: seven
//! years from the issue date, which the chip's EF 0303 also states in Solar Hijri.
//!
//! The Estonian-style registry ([`super::Registry`], `serialNumber=PNOIR-…`) stays for PIV
//! cards, tokens and the many tests built on it. RSA key generation is the slow part (an
//! RSA-4096 root takes seconds): keys depend only on the seed and are cached per process.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use rand_chacha::ChaCha20Rng;

use super::der::*;
use super::{CertSpec, Issuer, KeyKind, PrivateKey, Registry, ext, key_id, ku_bit, random_serial, rng_for};
use hoviat::identity::solar_hijri;
use hoviat::pki::cert::eku;
use hoviat::pki::name::attr;
use hoviat::time::UnixTime;

const DAY: i64 = 86_400;

/// The test root's commonName.
pub const ROOT_CN: &str = "hoviat Test IRAN Root CA1";
/// The test citizen CA's commonName.
pub const CA_CN: &str = "hoviat Test IRAN Digital Citizen CA";

/// One holder of the Iranian-layout registry: what a real card would carry.
#[derive(Clone, Debug)]
pub struct IranHolder {
    /// Index in the registry.
    pub index: usize,
    /// Given name (Persian), the signing certificate's `G`.
    pub given_name: String,
    /// Surname (Persian), the signing certificate's `SN`.
    pub surname: String,
    /// The national code (NOT on the card's readable data: what an operator would type).
    pub national_code: String,
    /// The card reference number (10 ASCII digits): the card manager's data object 0101 and the
    /// signing certificate's CN.
    pub crn: String,
    /// The chip's IC serial number (CPLC bytes 12..16).
    pub chip_serial: [u8; 4],
    /// Issue date, Solar Hijri `(y, m, d)` (EF 0303 tag B2).
    pub issue_date: (i64, i64, i64),
    /// Expiry date, Solar Hijri (EF 0303 tag B3).
    pub expiry_date: (i64, i64, i64),
    /// The authentication certificate (DF 5000 / EF 5040).
    pub auth_cert: Vec<u8>,
    /// Its RSA-2048 key.
    pub auth_key: PrivateKey,
    /// The signing certificate (DF 5100 / EF 5040).
    pub sign_cert: Vec<u8>,
    /// Its RSA-2048 key.
    pub sign_key: PrivateKey,
    /// Whether the citizen CA's CRL lists both certificates.
    pub revoked: bool,
}

/// The Iranian-layout test registry.
#[derive(Clone, Debug)]
pub struct IranRegistry {
    /// The seed.
    pub seed: String,
    /// The time it was made for.
    pub now: UnixTime,
    /// `hoviat Test IRAN Root CA1` (RSA-4096).
    pub root: Issuer,
    /// The citizen CA (RSA-2048).
    pub ca: Issuer,
    /// Holders: 0 and 1 valid, 2 revoked.
    pub holders: Vec<IranHolder>,
    /// The citizen CA's current CRL.
    pub crl: Vec<u8>,
}

type KeyCache = Mutex<HashMap<(String, String), PrivateKey>>;

fn key_cache() -> &'static KeyCache {
    static CACHE: OnceLock<KeyCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Cached keys: RSA generation dominates; a key depends only on (seed, label, kind).
fn cached_key(seed: &str, label: &str, kind: KeyKind) -> PrivateKey {
    let cache = key_cache();
    let k = (seed.to_string(), label.to_string());
    if let Some(key) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&k) {
        return key.clone();
    }
    let key = PrivateKey::generate(kind, &mut rng_for(seed, &format!("iran-key/{label}")));
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(k, key.clone());
    key
}

/// The labels of every key a registry holds (file names under `keys/`).
fn key_labels() -> Vec<String> {
    let mut v = vec!["root".to_string(), "ca".to_string()];
    for i in 0..HOLDERS.len() {
        v.push(format!("holder-{i}-auth"));
        v.push(format!("holder-{i}-sign"));
    }
    v
}

const HOLDERS: [(&str, &str, bool); 3] = [
    ("مریم", "رضایی", false),
    ("علی", "حسینی", false),
    ("زهرا", "کریمی", true),
];

/// Years, months and days of a Gregorian date, in Solar Hijri.
fn sh(t: UnixTime) -> (i64, i64, i64) {
    let (y, m, d, ..) = t.to_ymd_hms();
    solar_hijri::from_gregorian(y, m, d).unwrap_or((1400, 1, 1))
}

impl IranRegistry {
    /// Generates the registry for `seed`, valid around `now`.
    pub fn generate(seed: &str, now: UnixTime) -> Self {
        let day_start = UnixTime(now.0 - now.0.rem_euclid(DAY));
        let root_name = name(&[
            (attr::COUNTRY, printable("IR")),
            (attr::ORG, utf8("hoviat test registry")),
            (attr::CN, utf8(ROOT_CN)),
        ]);
        let mut rng = rng_for(seed, "iran-root");
        let root_key = cached_key(seed, "root", KeyKind::Rsa(4096));
        let root = Self::root(
            root_name,
            root_key,
            UnixTime(day_start.0 - 4000 * DAY),
            UnixTime(day_start.0 + 7300 * DAY),
            &mut rng,
        );
        let ca_name = name(&[
            (attr::COUNTRY, printable("IR")),
            (attr::ORG, utf8("hoviat test registry")),
            (attr::ORG_UNIT, utf8("NOCR (test)")),
            (attr::CN, utf8(CA_CN)),
        ]);
        let mut r = rng_for(seed, "iran-ca");
        let ca = root.issue_ca(
            ca_name,
            cached_key(seed, "ca", KeyKind::Rsa(2048)),
            Some(0),
            vec![],
            UnixTime(day_start.0 - 3000 * DAY),
            UnixTime(day_start.0 + 5000 * DAY),
            &mut r,
        );
        let holders: Vec<IranHolder> = HOLDERS
            .iter()
            .enumerate()
            .map(|(i, (g, s, revoked))| Self::holder(seed, &ca, i, g, s, *revoked, day_start))
            .collect();
        let revoked: Vec<Vec<u8>> = holders
            .iter()
            .filter(|h| h.revoked)
            .flat_map(|h| [&h.auth_cert, &h.sign_cert])
            .filter_map(|c| hoviat::pki::Cert::from_der(c).ok().map(|c| c.serial.clone()))
            .collect();
        let crl = ca.crl(
            &revoked,
            UnixTime(day_start.0 - DAY),
            UnixTime(day_start.0 + 7 * DAY),
            None,
            &mut rng_for(seed, "iran-crl"),
        );
        IranRegistry {
            seed: seed.to_string(),
            now,
            root,
            ca,
            holders,
            crl,
        }
    }

    /// The root as `IRAN Root CA1` is built: keyUsage (critical) first, basicConstraints
    /// (critical), SKI, and an AKI naming its own key.
    fn root(subject: Vec<u8>, key: PrivateKey, nb: UnixTime, na: UnixTime, rng: &mut ChaCha20Rng) -> Issuer {
        let spki = key.spki();
        let ski = key_id(&spki);
        let spec = CertSpec {
            serial: random_serial(rng),
            subject: subject.clone(),
            not_before: nb,
            not_after: na,
            extensions: vec![
                ext::key_usage(&[ku_bit::KEY_CERT_SIGN, ku_bit::CRL_SIGN]),
                ext::basic_constraints(true, None),
                ext::ski(&ski),
                ext::aki(&ski),
            ],
            ecdsa_null_params: false,
            sig_alg: None,
        };
        let cert = super::build_cert(&spec, &spki, &subject, &key, rng);
        Issuer {
            cert,
            name: subject,
            key,
            ski,
        }
    }

    fn holder(
        seed: &str,
        ca: &Issuer,
        index: usize,
        given: &str,
        surname: &str,
        revoked: bool,
        day_start: UnixTime,
    ) -> IranHolder {
        let mut r = rng_for(seed, &format!("iran-holder-{index}"));
        let idx = u64::try_from(index).unwrap_or(0);
        let crn = format!("{:010}", 5_112_000_000u64 + idx * 104_729);
        let national_code = super::random_national_code(&mut r);
        let chip_serial = [0x51, 0x20, 0x00, 0x10 + u8::try_from(index % 200).unwrap_or(0)];
        // Issued 300 days (+ a day per holder) before `now`, for the card's seven years.
        let issued = UnixTime(day_start.0 - (300 + i64::try_from(index).unwrap_or(0)) * DAY);
        let issue_date = sh(issued);
        let expiry_date = (issue_date.0 + 7, issue_date.1, issue_date.2.min(29));
        let expires = solar_hijri::to_gregorian(expiry_date.0, expiry_date.1, expiry_date.2)
            .map(|(y, m, d)| UnixTime::from_ymd_hms(y, m, d, 0, 0, 0))
            .unwrap_or(UnixTime(issued.0 + 7 * 365 * DAY));
        let base = |cn: String, names: bool| {
            let mut a = vec![(attr::COUNTRY, printable("IR")), (attr::ORG_UNIT, utf8("IRAN Citizen"))];
            if names {
                a.push((attr::GIVEN_NAME, utf8(given)));
                a.push((attr::SURNAME, utf8(surname)));
            }
            a.push((attr::CN, utf8(&cn)));
            name(&a)
        };
        let make = |key: &PrivateKey, subject: Vec<u8>, exts: Vec<Vec<u8>>, r: &mut ChaCha20Rng| {
            let spki = key.spki();
            let mut extensions = vec![ext::basic_constraints(false, None)];
            extensions.extend(exts);
            extensions.push(ext::ski(&key_id(&spki)));
            let spec = CertSpec {
                serial: random_serial(r),
                subject,
                not_before: issued,
                not_after: expires,
                extensions,
                ecdsa_null_params: false,
                sig_alg: None,
            };
            ca.issue(&spec, &spki, r)
        };
        let auth_key = cached_key(seed, &format!("holder-{index}-auth"), KeyKind::Rsa(2048));
        let sign_key = cached_key(seed, &format!("holder-{index}-sign"), KeyKind::Rsa(2048));
        let auth_cert = make(
            &auth_key,
            base(format!("{crn} - AUTH"), false),
            vec![
                ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]),
                ext::eku(&[eku::CLIENT_AUTH], false),
            ],
            &mut r,
        );
        let sign_cert = make(
            &sign_key,
            base(format!("{crn} - SIG"), true),
            vec![ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE, ku_bit::NON_REPUDIATION])],
            &mut r,
        );
        IranHolder {
            index,
            given_name: given.into(),
            surname: surname.into(),
            national_code,
            crn,
            chip_serial,
            issue_date,
            expiry_date,
            auth_cert,
            auth_key,
            sign_cert,
            sign_key,
            revoked,
        }
    }

    /// Writes `root.pem`, `ca.pem`, `ca.crl.pem`, `holders/NN-{auth,sign}.pem` and
    /// `manifest.json` (`"layout": "iran"`, seed, time, each holder's names, CRN, chip serial,
    /// Solar Hijri dates and the national code an operator would type) into `dir`.
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("holders"))?;
        std::fs::write(dir.join("root.pem"), Registry::pem("CERTIFICATE", &self.root.cert))?;
        std::fs::write(dir.join("ca.pem"), Registry::pem("CERTIFICATE", &self.ca.cert))?;
        std::fs::write(dir.join("ca.crl.pem"), Registry::pem("X509 CRL", &self.crl))?;
        let fmt = |(y, m, d): (i64, i64, i64)| format!("{y:04}/{m:02}/{d:02}");
        let mut holders = Vec::new();
        for h in &self.holders {
            let auth = format!("holders/{:02}-auth.pem", h.index);
            let sign = format!("holders/{:02}-sign.pem", h.index);
            std::fs::write(dir.join(&auth), Registry::pem("CERTIFICATE", &h.auth_cert))?;
            std::fs::write(dir.join(&sign), Registry::pem("CERTIFICATE", &h.sign_cert))?;
            holders.push(serde_json::json!({
                "index": h.index, "authCertificate": auth, "signCertificate": sign,
                "givenName": h.given_name, "surname": h.surname, "crn": h.crn,
                "chipSerial": hoviat::pki::cert::hex_upper(&h.chip_serial),
                "issueDate": fmt(h.issue_date), "expiryDate": fmt(h.expiry_date),
                "nationalCode": h.national_code, "revoked": h.revoked,
            }));
        }
        // The keys (PKCS#8 DER), so that a process loading this directory skips RSA generation
        // (`load`); they are regenerated from the seed when absent.
        std::fs::create_dir_all(dir.join("keys"))?;
        for label in key_labels() {
            let cache = key_cache().lock().unwrap_or_else(|e| e.into_inner());
            if let Some(PrivateKey::Rsa(k)) = cache.get(&(self.seed.clone(), label.clone())) {
                use rsa::pkcs8::EncodePrivateKey;
                if let Ok(der) = k.to_pkcs8_der() {
                    std::fs::write(dir.join("keys").join(format!("{label}.p8")), der.as_bytes())?;
                }
            }
        }
        let manifest = serde_json::json!({
            "layout": "iran", "seed": self.seed, "now": self.now.to_string(),
            "root": "root.pem", "ca": "ca.pem", "crl": "ca.crl.pem", "holders": holders,
        });
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_string_pretty(&manifest).unwrap_or_default(),
        )
    }

    /// Loads the registry [`Self::write_to`] wrote into `dir`: its keys from `keys/` (those
    /// missing or unreadable are regenerated from the seed), the certificates regenerated
    /// from the seed and time of `manifest.json`. `Ok(None)` when the manifest is not an
    /// Iranian-layout one.
    pub fn load(dir: &std::path::Path) -> std::io::Result<Option<Self>> {
        let json = std::fs::read_to_string(dir.join("manifest.json"))?;
        let m: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        if m.get("layout").and_then(|v| v.as_str()) != Some("iran") {
            return Ok(None);
        }
        if let Some(seed) = m.get("seed").and_then(|v| v.as_str()) {
            for label in key_labels() {
                use rsa::pkcs8::DecodePrivateKey;
                let Ok(der) = std::fs::read(dir.join("keys").join(format!("{label}.p8"))) else {
                    continue;
                };
                if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
                    key_cache()
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert((seed.to_string(), label), PrivateKey::Rsa(Box::new(k)));
                }
            }
        }
        Ok(Self::from_manifest(&json))
    }

    /// Regenerates the registry a `manifest.json` written by [`Self::write_to`] describes
    /// (`None` when it is not an Iranian-layout manifest).
    pub fn from_manifest(json: &str) -> Option<Self> {
        let m: serde_json::Value = serde_json::from_str(json).ok()?;
        if m.get("layout")?.as_str()? != "iran" {
            return None;
        }
        let now = UnixTime::parse_rfc3339(m.get("now")?.as_str()?)?;
        Some(Self::generate(m.get("seed")?.as_str()?, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoviat::identity::Holder;
    use hoviat::pki::Cert;

    #[test]
    fn real_layout() {
        let now = UnixTime::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
        let t0 = std::time::Instant::now();
        let reg = IranRegistry::generate("unit", now);
        let first = t0.elapsed();
        let t1 = std::time::Instant::now();
        let again = IranRegistry::generate("unit", now);
        eprintln!("iran registry: first {first:?}, cached keys {:?}", t1.elapsed());
        assert_eq!(reg.holders[0].sign_cert, again.holders[0].sign_cert, "deterministic");
        // Written and loaded back: the same bytes (keys from keys/, certificates regenerated).
        let dir = std::env::temp_dir().join(format!("hoviat-iran-unit-{}", std::process::id()));
        reg.write_to(&dir).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.join("keys")).unwrap().count(),
            2 + 2 * HOLDERS.len()
        );
        let loaded = IranRegistry::load(&dir).unwrap().unwrap();
        assert_eq!(loaded.root.cert, reg.root.cert);
        assert_eq!(loaded.holders[2].auth_cert, reg.holders[2].auth_cert);
        std::fs::remove_dir_all(&dir).ok();

        let root = Cert::from_der(&reg.root.cert).unwrap();
        assert_eq!(root.subject.get(&attr::CN).as_deref(), Some(ROOT_CN));
        assert_eq!(root.key.as_ref().unwrap().describe(), "RSA 4096");
        let h = &reg.holders[0];
        let sign = Cert::from_der(&h.sign_cert).unwrap();
        let auth = Cert::from_der(&h.auth_cert).unwrap();
        assert_eq!(sign.key.as_ref().unwrap().describe(), "RSA 2048");
        let hs = Holder::from_cert(&sign);
        assert_eq!(hs.given_name.as_deref(), Some("مریم"));
        assert_eq!(hs.surname.as_deref(), Some("رضایی"));
        assert_eq!(hs.card_reference.as_deref(), Some(h.crn.as_str()));
        assert_eq!(hs.national_code, None);
        assert_eq!(hs.serial_number, None);
        let ha = Holder::from_cert(&auth);
        assert_eq!((ha.given_name, ha.surname, ha.national_code), (None, None, None));
        assert!(!hs.subject.contains(&h.national_code) && !ha.subject.contains(&h.national_code));
        // Seven years, as the chip's dates say.
        let (y, m, d) = solar_hijri::to_gregorian(h.expiry_date.0, h.expiry_date.1, h.expiry_date.2).unwrap();
        assert_eq!(sign.not_after, UnixTime::from_ymd_hms(y, m, d, 0, 0, 0));
    }
}
