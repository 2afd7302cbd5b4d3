//! Test equipment for identity records: an institution's CA (P-256 root, terminal-issuing CA)
//! and a counter terminal with an EC P-256 key, a test institution configuration with three
//! purposes, a terminal signer, and holder certificates in the Iranian card's real layout
//! (signing certificate subject `C=IR, OU=IRAN Citizen, SN, G, CN=<CRN> - SIG`, no national
//! code) issued by the test registry's RSA citizen CA.

use super::der::*;
use super::{CertSpec, Issuer, KeyKind, PrivateKey, Registry, ext, key_id, ku_bit, random_serial, rng_for};
use hoviat::pki::alg::{HashAlg, SigAlg};
use hoviat::pki::name::attr;
use hoviat::record::{CardFacts, Institution, PinOutcome, TerminalSigner};
use hoviat::time::UnixTime;

const DAY: i64 = 86_400;

/// An institution's PKI for sealing records: root → terminal CA → terminal certificate.
#[derive(Clone, Debug)]
pub struct TestInstitution {
    /// The institution's root CA (what a verifier configures: `--institution-ca`).
    pub root: Issuer,
    /// The CA that issues terminal certificates.
    pub terminal_ca: Issuer,
    /// The terminal's certificate (DER).
    pub terminal_cert: Vec<u8>,
    /// The terminal's P-256 key.
    pub terminal_key: PrivateKey,
}

impl TestInstitution {
    /// Generates the institution `name` deterministically from `seed`, valid around `now`.
    pub fn generate(seed: &str, name: &str, now: UnixTime) -> Self {
        let mut rng = rng_for(seed, &format!("institution/{name}"));
        let dn = |cn: &str| {
            super::der::name(&[
                (attr::COUNTRY, printable("IR")),
                (attr::ORG, utf8(name)),
                (attr::CN, utf8(cn)),
            ])
        };
        let root = Issuer::root(
            dn(&format!("{name} Root CA")),
            PrivateKey::generate(KeyKind::P256, &mut rng),
            UnixTime(now.0 - 3650 * DAY),
            UnixTime(now.0 + 3650 * DAY),
            &mut rng,
        );
        let terminal_ca = root.issue_ca(
            dn(&format!("{name} Terminal CA")),
            PrivateKey::generate(KeyKind::P256, &mut rng),
            Some(0),
            vec![],
            UnixTime(now.0 - 1000 * DAY),
            UnixTime(now.0 + 2000 * DAY),
            &mut rng,
        );
        let terminal_key = PrivateKey::generate(KeyKind::P256, &mut rng);
        let spki = terminal_key.spki();
        let spec = CertSpec {
            serial: random_serial(&mut rng),
            subject: dn("branch-1/counter-1"),
            not_before: UnixTime(now.0 - 30 * DAY),
            not_after: UnixTime(now.0 + 365 * DAY),
            extensions: vec![
                ext::basic_constraints(false, None),
                ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]),
                ext::ski(&key_id(&spki)),
            ],
            ecdsa_null_params: false,
            sig_alg: None,
        };
        let terminal_cert = terminal_ca.issue(&spec, &spki, &mut rng);
        TestInstitution {
            root,
            terminal_ca,
            terminal_cert,
            terminal_key,
        }
    }

    /// The `x5c` chain: terminal certificate, then the terminal CA.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.terminal_cert.clone(), self.terminal_ca.cert.clone()]
    }

    /// The terminal key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn terminal_key_pkcs8_pem(&self) -> String {
        use p256::pkcs8::EncodePrivateKey;
        match &self.terminal_key {
            PrivateKey::P256(k) => k
                .to_pkcs8_der()
                .map(|d| Registry::pem("PRIVATE KEY", d.as_bytes()))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Writes `root.pem`, `terminal-ca.pem`, `terminal.pem`, `terminal.key` (PKCS#8) and
    /// `institution.json` ([`config`]) into `dir`.
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("root.pem"), Registry::pem("CERTIFICATE", &self.root.cert))?;
        std::fs::write(
            dir.join("terminal-ca.pem"),
            Registry::pem("CERTIFICATE", &self.terminal_ca.cert),
        )?;
        std::fs::write(
            dir.join("terminal.pem"),
            Registry::pem("CERTIFICATE", &self.terminal_cert),
        )?;
        std::fs::write(dir.join("terminal.key"), self.terminal_key_pkcs8_pem())?;
        std::fs::write(dir.join("institution.json"), CONFIG)
    }
}

impl TerminalSigner for PrivateKey {
    fn sign_es256(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::P256(_) => {
                // ECDSA signing here is RFC 6979 deterministic: the RNG is not drawn from.
                let mut rng = rng_for("terminal", "es256");
                Ok(self.sign_digest(
                    SigAlg::Ecdsa(HashAlg::Sha256),
                    &HashAlg::Sha256.digest(message),
                    &mut rng,
                ))
            }
            _ => Err("ES256 needs a P-256 key".into()),
        }
    }
}

/// The test institution configuration: a bank with three purposes.
pub const CONFIG: &str = r#"{
  "id": "test-bank",
  "name": {"fa": "بانک آزمایشی هویت", "en": "hoviat test bank"},
  "purposes": [
    {"id": "account-opening", "label": {"fa": "افتتاح حساب", "en": "Account opening"},
     "attributes": ["given_name", "family_name", "national_code", "card_reference", "face_match",
                    "card_expiry_date", "holder_certificate"]},
    {"id": "sim-registration", "label": {"fa": "ثبت سیم‌کارت", "en": "SIM registration"},
     "attributes": ["given_name", "family_name", "national_code"]},
    {"id": "government-service", "label": {"fa": "خدمت دولتی", "en": "Government service"},
     "attributes": ["card_reference", "card_issue_date", "card_expiry_date"]}
  ]
}"#;

/// [`CONFIG`], parsed.
pub fn config() -> Institution {
    Institution::from_json(CONFIG).unwrap_or_else(|e| panic!("test configuration: {e}"))
}

/// The card reference number (10 digits) a test holder's card carries.
pub fn card_reference(holder: usize) -> String {
    format!("{:010}", 4_200_000_000u64 + u64::try_from(holder).unwrap_or(0) * 7919)
}

/// Holder `index`'s signing certificate in the real Iranian layout: same key and validity as
/// the registry's certificate, subject `C=IR, OU=IRAN Citizen, SN, G, CN=<CRN> - SIG` (no
/// national code), keyUsage nonRepudiation + digitalSignature, issued by the holder's CA.
pub fn iranian_signing_cert(reg: &Registry, index: usize) -> Option<Vec<u8>> {
    let h = reg.holders.get(index)?;
    let ca = reg.cas.get(h.issuer)?;
    let c = hoviat::pki::Cert::from_der(&h.cert).ok()?;
    let spki = h.key.spki();
    let subject = super::der::name(&[
        (attr::COUNTRY, printable("IR")),
        (attr::ORG_UNIT, utf8("IRAN Citizen")),
        (attr::SURNAME, utf8(&h.surname)),
        (attr::GIVEN_NAME, utf8(&h.given_name)),
        (attr::CN, utf8(&format!("{} - SIG", card_reference(index)))),
    ]);
    let mut rng = rng_for(&reg.seed, &format!("ir-sign-{index}"));
    let spec = CertSpec {
        serial: random_serial(&mut rng),
        subject,
        not_before: c.not_before,
        not_after: c.not_after,
        extensions: vec![
            ext::basic_constraints(false, None),
            ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE, ku_bit::NON_REPUDIATION]),
            ext::ski(&key_id(&spki)),
        ],
        ecdsa_null_params: false,
        sig_alg: None,
    };
    Some(ca.issue(&spec, &spki, &mut rng))
}

/// Card facts for holder `index` with the given certificate (the registry's, or
/// [`iranian_signing_cert`]), the holder's CA as intermediate, and chip files as a Mav4 card
/// exposes them (CRN from the card manager, dates from EF 0303).
pub fn card_facts(reg: &Registry, index: usize, cert: Vec<u8>, chip_type: &str, pin: PinOutcome) -> CardFacts {
    let (y, ..) = reg.now.to_ymd_hms();
    CardFacts {
        holder_certificate: cert,
        intermediates: reg
            .holders
            .get(index)
            .and_then(|h| reg.cas.get(h.issuer))
            .map(|ca| vec![ca.cert.clone()])
            .unwrap_or_default(),
        chip_type: chip_type.into(),
        card_serial: Some(format!("4090{:012X}", index + 1)),
        card_reference: Some(card_reference(index)),
        issue_date: Some(format!("{:04}-03-21", y - 1)),
        expiry_date: Some(format!("{:04}-03-20", y + 6)),
        pin,
    }
}
