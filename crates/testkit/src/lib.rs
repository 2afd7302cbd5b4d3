//! Test equipment: a deterministic test registry that stands in for the civil registration
//! organisation's PKI. Root CA (RSA-4096, like `IRAN Root CA1`), issuing CAs, holders with
//! Persian names and valid national codes, the variants tests need (revoked, expired,
//! wrong usage, each interoperability quirk), and CRLs. The same seed and time give the same
//! bytes. Never used by a relying party.

pub mod bench;
pub mod cases;
pub mod cms;
pub mod der;
pub mod institution;
pub mod iran;
pub mod ocsp;
pub mod readers;
pub mod virtual_card;
#[cfg(unix)]
pub mod vpcd;

use const_oid::ObjectIdentifier as Oid;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use hoviat::pki::alg::{HashAlg, SigAlg, oid as alg_oid};
use hoviat::pki::cert::{eku, ext_oid};
use hoviat::pki::name::attr;
use hoviat::time::UnixTime;
use hoviat::token::{self, TokenAlg};

/// A key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA P-256
    P256,
    /// ECDSA P-384
    P384,
    /// ECDSA P-521
    P521,
    /// RSA with this many bits
    Rsa(usize),
}

/// A private key and its SubjectPublicKeyInfo.
#[derive(Clone)]
pub enum PrivateKey {
    /// P-256
    P256(p256::ecdsa::SigningKey),
    /// P-384
    P384(p384::ecdsa::SigningKey),
    /// P-521
    P521(p521::ecdsa::SigningKey),
    /// RSA
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(***)")
    }
}

/// A deterministic RNG for one labelled purpose under a seed.
pub fn rng_for(seed: &str, label: &str) -> ChaCha20Rng {
    let d = HashAlg::Sha256.digest(format!("hoviat-testkit/{seed}/{label}").as_bytes());
    let mut s = [0u8; 32];
    s.copy_from_slice(&d);
    ChaCha20Rng::from_seed(s)
}

impl PrivateKey {
    /// Generates a key.
    pub fn generate(kind: KeyKind, rng: &mut ChaCha20Rng) -> Self {
        match kind {
            KeyKind::P256 => Self::P256(random_scalar(rng, 32, |b| p256::ecdsa::SigningKey::from_slice(b).ok())),
            KeyKind::P384 => Self::P384(random_scalar(rng, 48, |b| p384::ecdsa::SigningKey::from_slice(b).ok())),
            KeyKind::P521 => Self::P521(random_scalar(rng, 66, |b| p521::ecdsa::SigningKey::from_slice(b).ok())),
            KeyKind::Rsa(bits) => Self::Rsa(Box::new(
                rsa::RsaPrivateKey::new(rng, bits).unwrap_or_else(|e| panic!("RSA keygen: {e}")),
            )),
        }
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> Vec<u8> {
        use der::*;
        let ec = |curve: &Oid, point: &[u8]| seq(&[seq(&[oid(&alg_oid::EC_PUBLIC_KEY), oid(curve)]), bits(point)]);
        match self {
            Self::P256(k) => ec(&alg_oid::P256, k.verifying_key().to_sec1_point(false).as_bytes()),
            Self::P384(k) => ec(&alg_oid::P384, k.verifying_key().to_sec1_point(false).as_bytes()),
            Self::P521(k) => ec(&alg_oid::P521, k.verifying_key().to_sec1_point(false).as_bytes()),
            Self::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                let n = k.n().to_be_bytes();
                let e = k.e().to_be_bytes();
                let pk = seq(&[uint(&n), uint(&e)]);
                seq(&[seq(&[oid(&alg_oid::RSA_ENCRYPTION), null()]), bits(&pk)])
            }
        }
    }

    /// The signature algorithm this key signs certificates with.
    pub fn default_alg(&self) -> SigAlg {
        match self {
            Self::P256(_) => SigAlg::Ecdsa(HashAlg::Sha256),
            Self::P384(_) => SigAlg::Ecdsa(HashAlg::Sha384),
            Self::P521(_) => SigAlg::Ecdsa(HashAlg::Sha512),
            Self::Rsa(_) => SigAlg::RsaPkcs1(HashAlg::Sha256),
        }
    }

    /// Signs a precomputed digest, as a card does. ECDSA returns raw `r || s` (RFC 6979,
    /// deterministic); RSA-PSS draws its salt from `rng`.
    pub fn sign_digest(&self, alg: SigAlg, digest: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
        use signature::hazmat::PrehashSigner;
        let fail = |e: &dyn std::fmt::Display| -> Vec<u8> { panic!("test signing failed: {e}") };
        match (self, alg) {
            (Self::P256(k), SigAlg::Ecdsa(_)) => {
                let s: p256::ecdsa::Signature = k.sign_prehash(digest).unwrap_or_else(|e| panic!("{e}"));
                s.to_bytes().to_vec()
            }
            (Self::P384(k), SigAlg::Ecdsa(_)) => {
                let s: p384::ecdsa::Signature = k.sign_prehash(digest).unwrap_or_else(|e| panic!("{e}"));
                s.to_bytes().to_vec()
            }
            (Self::P521(k), SigAlg::Ecdsa(_)) => {
                let s: p521::ecdsa::Signature = k.sign_prehash(digest).unwrap_or_else(|e| panic!("{e}"));
                s.to_bytes().to_vec()
            }
            (Self::Rsa(k), SigAlg::RsaPkcs1(h)) => {
                let scheme = match h {
                    HashAlg::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                    HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                k.sign(scheme, digest).unwrap_or_else(|e| fail(&e))
            }
            (Self::Rsa(k), SigAlg::RsaPss { hash, salt_len }) => {
                use rsa::pss::Pss;
                let r = match hash {
                    HashAlg::Sha1 => k.sign_with_rng(rng, Pss::<sha1::Sha1>::new_with_salt(salt_len), digest),
                    HashAlg::Sha256 => k.sign_with_rng(rng, Pss::<sha2::Sha256>::new_with_salt(salt_len), digest),
                    HashAlg::Sha384 => k.sign_with_rng(rng, Pss::<sha2::Sha384>::new_with_salt(salt_len), digest),
                    HashAlg::Sha512 => k.sign_with_rng(rng, Pss::<sha2::Sha512>::new_with_salt(salt_len), digest),
                };
                r.unwrap_or_else(|e| fail(&e))
            }
            _ => fail(&"algorithm does not fit the key"),
        }
    }

    /// Signs `msg` and returns the signature as X.509 carries it (DER for ECDSA).
    pub(crate) fn sign_x509(&self, alg: SigAlg, msg: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
        let sig = self.sign_digest(alg, &alg.hash().digest(msg), rng);
        match alg {
            SigAlg::Ecdsa(_) => hoviat::pki::alg::ecdsa_raw_to_der(&sig).unwrap_or_default(),
            _ => sig,
        }
    }
}

/// Draws scalar candidates until one is a valid secret key (P-521's top byte is masked to 0..=1).
fn random_scalar<K>(rng: &mut ChaCha20Rng, len: usize, make: impl Fn(&[u8]) -> Option<K>) -> K {
    let mut b = vec![0u8; len];
    loop {
        rng.fill_bytes(&mut b);
        if len == 66 {
            b[0] &= 1;
        }
        if let Some(k) = make(&b) {
            return k;
        }
    }
}

/// The DER AlgorithmIdentifier of a signature algorithm (`ecdsa_null`: the Finnish quirk).
pub fn alg_id(alg: SigAlg, ecdsa_null: bool) -> Vec<u8> {
    use der::*;
    let h = |x: HashAlg| match x {
        HashAlg::Sha1 => alg_oid::SHA1,
        HashAlg::Sha256 => alg_oid::SHA256,
        HashAlg::Sha384 => alg_oid::SHA384,
        HashAlg::Sha512 => alg_oid::SHA512,
    };
    match alg {
        SigAlg::Ecdsa(x) => {
            let o = match x {
                HashAlg::Sha1 => alg_oid::ECDSA_SHA1,
                HashAlg::Sha256 => alg_oid::ECDSA_SHA256,
                HashAlg::Sha384 => alg_oid::ECDSA_SHA384,
                HashAlg::Sha512 => alg_oid::ECDSA_SHA512,
            };
            if ecdsa_null {
                seq(&[oid(&o), null()])
            } else {
                seq(&[oid(&o)])
            }
        }
        SigAlg::RsaPkcs1(x) => {
            let o = match x {
                HashAlg::Sha1 => alg_oid::SHA1_RSA,
                HashAlg::Sha256 => alg_oid::SHA256_RSA,
                HashAlg::Sha384 => alg_oid::SHA384_RSA,
                HashAlg::Sha512 => alg_oid::SHA512_RSA,
            };
            seq(&[oid(&o), null()])
        }
        SigAlg::RsaPss { hash, salt_len } => {
            let halg = seq(&[oid(&h(hash)), null()]);
            let mgf = seq(&[oid(&alg_oid::MGF1), halg.clone()]);
            let params = seq(&[
                ctx(0, &halg),
                ctx(1, &mgf),
                ctx(2, &int(u64::try_from(salt_len).unwrap_or(32))),
            ]);
            seq(&[oid(&alg_oid::RSA_PSS), params])
        }
    }
}

/// What goes into a certificate.
#[derive(Clone, Debug)]
pub struct CertSpec {
    /// Serial number bytes.
    pub serial: Vec<u8>,
    /// Subject Name DER.
    pub subject: Vec<u8>,
    /// notBefore.
    pub not_before: UnixTime,
    /// notAfter.
    pub not_after: UnixTime,
    /// Extensions, each already encoded.
    pub extensions: Vec<Vec<u8>>,
    /// Encode the ECDSA signature AlgorithmIdentifier with explicit NULL parameters.
    pub ecdsa_null_params: bool,
    /// Override the signature algorithm (default: the issuer key's).
    pub sig_alg: Option<SigAlg>,
}

/// A CA (or self-signed root) that issues certificates and CRLs.
#[derive(Clone, Debug)]
pub struct Issuer {
    /// The CA's certificate DER.
    pub cert: Vec<u8>,
    /// The CA's subject Name DER.
    pub name: Vec<u8>,
    /// The CA's key.
    pub key: PrivateKey,
    /// Its subjectKeyIdentifier.
    pub ski: Vec<u8>,
}

/// subjectKeyIdentifier method 1: SHA-1 of the subjectPublicKey bits.
pub fn key_id(spki: &[u8]) -> Vec<u8> {
    hoviat::pki::alg::KeyInfo::from_spki_der(spki)
        .map(|k| k.key_id())
        .unwrap_or_default()
}

/// Builds and signs a certificate.
pub fn build_cert(
    spec: &CertSpec,
    spki: &[u8],
    issuer_name: &[u8],
    signer: &PrivateKey,
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    use der::*;
    let alg = spec.sig_alg.unwrap_or_else(|| signer.default_alg());
    let algid = alg_id(alg, spec.ecdsa_null_params);
    let mut tbs = vec![ctx(0, &int(2)), uint(&spec.serial), algid.clone(), issuer_name.to_vec()];
    tbs.push(seq(&[time(spec.not_before), time(spec.not_after)]));
    tbs.push(spec.subject.clone());
    tbs.push(spki.to_vec());
    if !spec.extensions.is_empty() {
        tbs.push(ctx(3, &seq(&spec.extensions)));
    }
    let tbs = seq(&tbs);
    let sig = signer.sign_x509(alg, &tbs, rng);
    seq(&[tbs, algid, bits(&sig)])
}

/// Extension builders.
pub mod ext {
    use super::der::*;
    use super::*;

    /// basicConstraints (`cA` encoded only when true, as DER requires).
    pub fn basic_constraints(ca: bool, path_len: Option<u8>) -> Vec<u8> {
        let mut v = Vec::new();
        if ca {
            v.push(boolean(true));
        }
        if let Some(p) = path_len {
            v.push(int(u64::from(p)));
        }
        extension(&ext_oid::BASIC_CONSTRAINTS, true, &seq(&v))
    }
    /// basicConstraints with `cA = FALSE` explicitly encoded (the Finnish quirk).
    pub fn basic_constraints_explicit_false() -> Vec<u8> {
        extension(&ext_oid::BASIC_CONSTRAINTS, true, &seq(&[boolean(false)]))
    }
    /// keyUsage from bit numbers (0 = digitalSignature).
    pub fn key_usage(bits_set: &[u8]) -> Vec<u8> {
        let mut b = [0u8; 2];
        let mut max = 0;
        for &i in bits_set {
            b[usize::from(i / 8)] |= 0x80 >> (i % 8);
            max = max.max(i);
        }
        let nbytes = usize::from(max / 8) + 1;
        let unused = 7 - max % 8;
        let mut content = vec![unused];
        content.extend_from_slice(&b[..nbytes]);
        extension(&ext_oid::KEY_USAGE, true, &tlv(0x03, &content))
    }
    /// extKeyUsage.
    pub fn eku(purposes: &[Oid], critical: bool) -> Vec<u8> {
        let v: Vec<Vec<u8>> = purposes.iter().map(oid).collect();
        extension(&ext_oid::EKU, critical, &seq(&v))
    }
    /// subjectKeyIdentifier.
    pub fn ski(id: &[u8]) -> Vec<u8> {
        extension(&ext_oid::SKI, false, &octets(id))
    }
    /// cRLDistributionPoints with one URI.
    pub fn crl_dp(uri: &str) -> Vec<u8> {
        extension(
            &ext_oid::CRL_DP,
            false,
            &seq(&[seq(&[ctx(0, &ctx(0, &tlv(0x86, uri.as_bytes())))])]),
        )
    }
    /// authorityInfoAccess with one OCSP responder URI.
    pub fn aia_ocsp(uri: &str) -> Vec<u8> {
        extension(
            &Oid::new_unwrap("1.3.6.1.5.5.7.1.1"),
            false,
            &seq(&[seq(&[
                oid(&Oid::new_unwrap("1.3.6.1.5.5.7.48.1")),
                tlv(0x86, uri.as_bytes()),
            ])]),
        )
    }
    /// issuingDistributionPoint naming one URI (a partitioned CRL).
    pub fn issuing_dp(uri: &str) -> Vec<u8> {
        extension(
            &Oid::new_unwrap("2.5.29.28"),
            true,
            &seq(&[ctx(0, &ctx(0, &tlv(0x86, uri.as_bytes())))]),
        )
    }
    /// authorityKeyIdentifier with keyIdentifier.
    pub fn aki(id: &[u8]) -> Vec<u8> {
        extension(&ext_oid::AKI, false, &seq(&[tlv(0x80, id)]))
    }
    /// deltaCRLIndicator with its BaseCRLNumber (RFC 5280 requires `critical`).
    pub fn delta_crl_indicator(base: u64, critical: bool) -> Vec<u8> {
        extension(&Oid::new_unwrap("2.5.29.27"), critical, &int(base))
    }
    /// CRL entry reasonCode (an ENUMERATED CRLReason).
    pub fn reason_code(reason: u8) -> Vec<u8> {
        extension(&Oid::new_unwrap("2.5.29.21"), false, &tlv(0x0A, &[reason]))
    }
}

/// keyUsage bit numbers.
pub mod ku_bit {
    /// digitalSignature
    pub const DIGITAL_SIGNATURE: u8 = 0;
    /// nonRepudiation
    pub const NON_REPUDIATION: u8 = 1;
    /// keyEncipherment
    pub const KEY_ENCIPHERMENT: u8 = 2;
    /// keyAgreement
    pub const KEY_AGREEMENT: u8 = 4;
    /// keyCertSign
    pub const KEY_CERT_SIGN: u8 = 5;
    /// cRLSign
    pub const CRL_SIGN: u8 = 6;
}

impl Issuer {
    /// A self-signed root.
    pub fn root(
        subject: Vec<u8>,
        key: PrivateKey,
        not_before: UnixTime,
        not_after: UnixTime,
        rng: &mut ChaCha20Rng,
    ) -> Self {
        let spki = key.spki();
        let ski = key_id(&spki);
        let spec = CertSpec {
            serial: random_serial(rng),
            subject: subject.clone(),
            not_before,
            not_after,
            extensions: vec![
                ext::basic_constraints(true, None),
                ext::key_usage(&[ku_bit::KEY_CERT_SIGN, ku_bit::CRL_SIGN]),
                ext::ski(&ski),
            ],
            ecdsa_null_params: false,
            sig_alg: None,
        };
        let cert = build_cert(&spec, &spki, &subject, &key, rng);
        Issuer {
            cert,
            name: subject,
            key,
            ski,
        }
    }

    /// Issues a certificate: the spec's extensions plus AKI.
    pub fn issue(&self, spec: &CertSpec, spki: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
        let mut spec = spec.clone();
        spec.extensions.push(ext::aki(&self.ski));
        build_cert(&spec, spki, &self.name, &self.key, rng)
    }

    /// Issues a subordinate CA.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_ca(
        &self,
        subject: Vec<u8>,
        key: PrivateKey,
        path_len: Option<u8>,
        extra: Vec<Vec<u8>>,
        not_before: UnixTime,
        not_after: UnixTime,
        rng: &mut ChaCha20Rng,
    ) -> Issuer {
        let spki = key.spki();
        let ski = key_id(&spki);
        let mut extensions = vec![
            ext::basic_constraints(true, path_len),
            ext::key_usage(&[ku_bit::KEY_CERT_SIGN, ku_bit::CRL_SIGN]),
            ext::ski(&ski),
        ];
        extensions.extend(extra);
        self.issue_issuer(subject, key, extensions, not_before, not_after, rng)
    }

    /// Issues a certificate for a key that signs in turn (a CA or an OCSP responder): a random
    /// serial, the given extensions plus AKI, and the [`Issuer`] that signs with it.
    pub fn issue_issuer(
        &self,
        subject: Vec<u8>,
        key: PrivateKey,
        extensions: Vec<Vec<u8>>,
        not_before: UnixTime,
        not_after: UnixTime,
        rng: &mut ChaCha20Rng,
    ) -> Issuer {
        let spki = key.spki();
        let spec = CertSpec {
            serial: random_serial(rng),
            subject: subject.clone(),
            not_before,
            not_after,
            extensions,
            ecdsa_null_params: false,
            sig_alg: None,
        };
        Issuer {
            cert: self.issue(&spec, &spki, rng),
            name: subject,
            ski: key_id(&spki),
            key,
        }
    }

    /// Makes a CRL listing `revoked` serials (revoked at `this_update`), signed by `signer`
    /// (normally this CA's key; another key makes a CRL that must not verify).
    pub fn crl(
        &self,
        revoked: &[Vec<u8>],
        this_update: UnixTime,
        next_update: UnixTime,
        signer: Option<&PrivateKey>,
        rng: &mut ChaCha20Rng,
    ) -> Vec<u8> {
        self.crl_custom(revoked, this_update, Some(next_update), vec![], signer, rng)
    }

    /// A CRL with full control: optional nextUpdate and extra (encoded) CRL extensions.
    pub fn crl_custom(
        &self,
        revoked: &[Vec<u8>],
        this_update: UnixTime,
        next_update: Option<UnixTime>,
        extra_extensions: Vec<Vec<u8>>,
        signer: Option<&PrivateKey>,
        rng: &mut ChaCha20Rng,
    ) -> Vec<u8> {
        let spec = CrlSpec {
            entries: revoked.iter().map(|s| (s.clone(), None)).collect(),
            extra_extensions,
            ..CrlSpec::new(this_update, next_update)
        };
        self.crl_spec(&spec, signer, rng)
    }

    /// A CRL as `spec` says (cRLNumber, delta indicator, entry reasons), signed by `signer`
    /// (default: this CA's key).
    pub fn crl_spec(&self, spec: &CrlSpec, signer: Option<&PrivateKey>, rng: &mut ChaCha20Rng) -> Vec<u8> {
        use der::*;
        let key = signer.unwrap_or(&self.key);
        let alg = key.default_alg();
        let algid = alg_id(alg, false);
        let entries: Vec<Vec<u8>> = spec
            .entries
            .iter()
            .map(|(s, reason)| match reason {
                None => seq(&[uint(s), time(spec.this_update)]),
                Some(r) => seq(&[uint(s), time(spec.this_update), seq(&[ext::reason_code(*r)])]),
            })
            .collect();
        let mut tbs = vec![int(1), algid.clone(), self.name.clone(), time(spec.this_update)];
        if let Some(n) = spec.next_update {
            tbs.push(time(n));
        }
        if !entries.is_empty() {
            tbs.push(seq(&entries));
        }
        let number = spec
            .number
            .unwrap_or_else(|| u64::try_from(spec.this_update.0).unwrap_or(0));
        let mut exts = vec![
            ext::aki(&self.ski),
            extension(&Oid::new_unwrap("2.5.29.20"), false, &int(number)),
        ];
        if let Some(base) = spec.delta_base {
            exts.push(ext::delta_crl_indicator(base, true));
        }
        exts.extend(spec.extra_extensions.iter().cloned());
        tbs.push(ctx(0, &seq(&exts)));
        let tbs = seq(&tbs);
        let sig = key.sign_x509(alg, &tbs, rng);
        seq(&[tbs, algid, bits(&sig)])
    }
}

/// What goes into a CRL made by [`Issuer::crl_spec`].
#[derive(Clone, Debug)]
pub struct CrlSpec {
    /// Listed serials, each with an optional reasonCode (see `hoviat::pki::crl::reason`);
    /// every entry is revoked at `this_update`.
    pub entries: Vec<(Vec<u8>, Option<u8>)>,
    /// thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate (`None`: left out, which makes the CRL malformed).
    pub next_update: Option<UnixTime>,
    /// cRLNumber (default: `this_update` in seconds).
    pub number: Option<u64>,
    /// For a delta CRL: its BaseCRLNumber (a critical deltaCRLIndicator).
    pub delta_base: Option<u64>,
    /// More CRL extensions, each already encoded.
    pub extra_extensions: Vec<Vec<u8>>,
}

impl CrlSpec {
    /// An empty complete CRL for the period given.
    pub fn new(this_update: UnixTime, next_update: Option<UnixTime>) -> Self {
        Self {
            entries: Vec::new(),
            this_update,
            next_update,
            number: None,
            delta_base: None,
            extra_extensions: Vec::new(),
        }
    }
}

/// 16 random bytes, positive.
pub fn random_serial(rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut s = vec![0u8; 16];
    rng.fill_bytes(&mut s);
    s[0] = (s[0] & 0x7F) | 0x10;
    s
}

/// A holder variant: what is special about the certificate, and what a verifier must say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// A valid holder.
    Good,
    /// Listed on the issuing CA's CRL.
    Revoked,
    /// notAfter in the past.
    Expired,
    /// notBefore in the future.
    NotYetValid,
    /// keyUsage without digitalSignature.
    NoDigitalSignature,
    /// extKeyUsage serverAuth only.
    ServerAuthOnly,
    /// basicConstraints cA = TRUE.
    IsCa,
    /// An unknown extension marked critical.
    UnknownCriticalExtension,
    /// Quirk (valid): no basicConstraints at all (Belgian cards).
    NoBasicConstraints,
    /// Quirk (valid): basicConstraints with cA = FALSE explicitly encoded (Finnish cards).
    ExplicitCaFalse,
    /// Quirk (valid): ECDSA signature AlgorithmIdentifier with NULL parameters (Finnish ES384).
    EcdsaNullParams,
    /// Quirk (valid): RSA holder key under an EC issuing CA (Belgian RS256).
    RsaUnderEcCa,
    /// Quirk (valid): issued by a CA whose EKU is critical (Estonian issuing CA).
    UnderCriticalEkuCa,
}

impl Variant {
    /// The stable code a verifier must return, `None` when the holder is valid.
    pub fn expected_code(self) -> Option<&'static str> {
        Some(match self {
            Self::Revoked => "CERT_REVOKED",
            Self::Expired => "CERT_EXPIRED",
            Self::NotYetValid => "CERT_NOT_YET_VALID",
            Self::NoDigitalSignature => "CERT_KEY_USAGE",
            Self::ServerAuthOnly => "CERT_EKU_MISMATCH",
            Self::IsCa => "CERT_IS_CA",
            Self::UnknownCriticalExtension => "CERT_UNKNOWN_CRITICAL_EXTENSION",
            _ => return None,
        })
    }
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::NoDigitalSignature => "no-digital-signature",
            Self::ServerAuthOnly => "server-auth-only",
            Self::IsCa => "is-ca",
            Self::UnknownCriticalExtension => "unknown-critical-extension",
            Self::NoBasicConstraints => "quirk-no-basic-constraints",
            Self::ExplicitCaFalse => "quirk-explicit-ca-false",
            Self::EcdsaNullParams => "quirk-ecdsa-null-params",
            Self::RsaUnderEcCa => "quirk-rsa-under-ec-ca",
            Self::UnderCriticalEkuCa => "quirk-critical-eku-ca",
        }
    }
}

/// A test holder: certificate, key and who they are.
#[derive(Clone, Debug)]
pub struct TestHolder {
    /// Index in the registry.
    pub index: usize,
    /// What is special about it.
    pub variant: Variant,
    /// Certificate DER.
    pub cert: Vec<u8>,
    /// Private key (what a virtual card holds).
    pub key: PrivateKey,
    /// Given name (Persian).
    pub given_name: String,
    /// Surname (Persian).
    pub surname: String,
    /// National code.
    pub national_code: String,
    /// Serial number bytes.
    pub serial: Vec<u8>,
    /// Which issuing CA: 0 = RSA citizen CA, 1 = EC citizen CA, 2 = the critical-EKU CA.
    pub issuer: usize,
}

impl TestHolder {
    /// The token algorithm a card with this key uses.
    pub fn token_alg(&self) -> TokenAlg {
        match &self.key {
            PrivateKey::P256(_) => TokenAlg::ES256,
            PrivateKey::P384(_) => TokenAlg::ES384,
            PrivateKey::P521(_) => TokenAlg::ES512,
            PrivateKey::Rsa(_) => TokenAlg::RS256,
        }
    }

    /// What a card does: sign `H(H(origin) || H(nonce))` and assemble the token.
    pub fn make_token(&self, alg: TokenAlg, origin: &str, nonce: &str) -> String {
        let mut rng = rng_for("token", nonce);
        let digest = token::signed_digest(alg.hash(), origin, nonce);
        let sig = self.key.sign_digest(alg.sig_alg(), &digest, &mut rng);
        token::assemble(&self.cert, alg, &sig, "https://hoviat.ir/testkit/0.1", Some(origin))
    }
}

/// A whole test registry.
#[derive(Clone, Debug)]
pub struct Registry {
    /// The seed it was made from.
    pub seed: String,
    /// The time it was made for: every certificate is valid around it (except the variants).
    pub now: UnixTime,
    /// Root CA (RSA-4096).
    pub root: Issuer,
    /// Issuing CAs: 0 RSA-2048 citizen CA, 1 P-384 citizen CA, 2 P-256 CA with critical EKU.
    pub cas: Vec<Issuer>,
    /// Holders.
    pub holders: Vec<TestHolder>,
    /// Current CRLs of the issuing CAs (index as `cas`); the RSA CA's lists the revoked holder.
    pub crls: Vec<Vec<u8>>,
}

const GIVEN: [&str; 8] = ["علی", "مریم", "رضا", "زهرا", "حسین", "فاطمه", "مهدی", "نرگس"];
const SURNAMES: [&str; 8] = ["رضایی", "محمدی", "حسینی", "احمدی", "کریمی", "موسوی", "جعفری", "صادقی"];

/// A valid national code drawn from `rng`.
pub fn random_national_code(rng: &mut ChaCha20Rng) -> String {
    loop {
        let mut d = [0u32; 10];
        for x in d.iter_mut().take(9) {
            *x = rng.next_u32() % 10;
        }
        let s: u32 = d[..9].iter().zip((2..=10u32).rev()).map(|(x, w)| x * w).sum();
        let r = s % 11;
        d[9] = if r < 2 { r } else { 11 - r };
        let code: String = d
            .iter()
            .map(|x| char::from(b'0' + u8::try_from(*x).unwrap_or(0)))
            .collect();
        if hoviat::identity::NationalCode::parse(&code).is_ok() {
            return code;
        }
    }
}

const DAY: i64 = 86_400;

/// The variants a registry holds, in index order, with key type and issuing CA.
pub const HOLDERS: [(Variant, KeyKind, usize); 15] = [
    (Variant::Good, KeyKind::Rsa(2048), 0),
    (Variant::Good, KeyKind::P256, 1),
    (Variant::Good, KeyKind::P384, 1),
    (Variant::Revoked, KeyKind::P256, 0),
    (Variant::Expired, KeyKind::P256, 1),
    (Variant::NotYetValid, KeyKind::P256, 1),
    (Variant::NoDigitalSignature, KeyKind::P256, 1),
    (Variant::ServerAuthOnly, KeyKind::P256, 1),
    (Variant::IsCa, KeyKind::P256, 1),
    (Variant::UnknownCriticalExtension, KeyKind::P256, 1),
    (Variant::NoBasicConstraints, KeyKind::P256, 1),
    (Variant::ExplicitCaFalse, KeyKind::P256, 1),
    (Variant::EcdsaNullParams, KeyKind::P384, 1),
    (Variant::RsaUnderEcCa, KeyKind::Rsa(2048), 1),
    (Variant::UnderCriticalEkuCa, KeyKind::P256, 2),
];

impl Registry {
    /// Generates the registry for `seed`, with validity periods around `now`.
    pub fn generate(seed: &str, now: UnixTime) -> Self {
        Self::generate_with(seed, now, false)
    }

    /// Like [`Registry::generate`], but every key elliptic (root P-384, RSA holders and CAs
    /// P-256): generated in milliseconds even in WebAssembly, for the virtual card in the npm
    /// package and browser demos.
    pub fn generate_light(seed: &str, now: UnixTime) -> Self {
        Self::generate_with(seed, now, true)
    }

    fn generate_with(seed: &str, now: UnixTime, light: bool) -> Self {
        use der::*;
        let kind = |k: KeyKind| match (light, k) {
            (true, KeyKind::Rsa(4096)) => KeyKind::P384,
            (true, KeyKind::Rsa(_)) => KeyKind::P256,
            (_, k) => k,
        };
        let start = UnixTime(now.0 - 300 * DAY);
        let root_name = name(&[
            (attr::COUNTRY, printable("IR")),
            (attr::ORG, utf8("hoviat test registry")),
            (attr::CN, utf8("hoviat Test Root CA1")),
        ]);
        let mut rng = rng_for(seed, "root");
        let root_key = PrivateKey::generate(kind(KeyKind::Rsa(4096)), &mut rng);
        let root = Issuer::root(
            root_name,
            root_key,
            UnixTime(start.0 - 3650 * DAY),
            UnixTime(now.0 + 7300 * DAY),
            &mut rng,
        );

        let ca_name = |cn: &str| {
            name(&[
                (attr::COUNTRY, printable("IR")),
                (attr::ORG, utf8("hoviat test registry")),
                (attr::ORG_UNIT, utf8("NOCR test")),
                (attr::CN, utf8(cn)),
            ])
        };
        let ca_validity = (UnixTime(start.0 - 365 * DAY), UnixTime(now.0 + 3650 * DAY));
        let mut cas = Vec::new();
        let mut r = rng_for(seed, "ca-rsa");
        let k = PrivateKey::generate(kind(KeyKind::Rsa(2048)), &mut r);
        cas.push(root.issue_ca(
            ca_name("hoviat Test Citizen CA RSA"),
            k,
            Some(0),
            vec![],
            ca_validity.0,
            ca_validity.1,
            &mut r,
        ));
        let mut r = rng_for(seed, "ca-ec");
        let k = PrivateKey::generate(KeyKind::P384, &mut r);
        cas.push(root.issue_ca(
            ca_name("hoviat Test Citizen CA EC"),
            k,
            Some(0),
            vec![],
            ca_validity.0,
            ca_validity.1,
            &mut r,
        ));
        let mut r = rng_for(seed, "ca-eku");
        let k = PrivateKey::generate(KeyKind::P256, &mut r);
        let critical_eku = ext::eku(&[eku::CLIENT_AUTH, Oid::new_unwrap("1.3.6.1.5.5.7.3.4")], true);
        cas.push(root.issue_ca(
            ca_name("hoviat Test CA with critical EKU"),
            k,
            Some(0),
            vec![critical_eku],
            ca_validity.0,
            ca_validity.1,
            &mut r,
        ));

        let mut holders = Vec::new();
        for (i, (variant, kind_of, ca)) in HOLDERS.iter().copied().enumerate() {
            let mut r = rng_for(seed, &format!("holder-{i}"));
            let key = PrivateKey::generate(kind(kind_of), &mut r);
            holders.push(Self::make_holder(i, variant, key, ca, &cas[ca], start, now, &mut r));
        }
        let revoked: Vec<Vec<u8>> = holders
            .iter()
            .filter(|h| h.variant == Variant::Revoked)
            .map(|h| h.serial.clone())
            .collect();
        let mut crls = Vec::new();
        for (i, ca) in cas.iter().enumerate() {
            let mut r = rng_for(seed, &format!("crl-{i}"));
            let mine: Vec<Vec<u8>> = revoked.iter().filter(|_| i == 0).cloned().collect();
            crls.push(ca.crl(&mine, UnixTime(now.0 - DAY), UnixTime(now.0 + 7 * DAY), None, &mut r));
        }
        Registry {
            seed: seed.to_string(),
            now,
            root,
            cas,
            holders,
            crls,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn make_holder(
        index: usize,
        variant: Variant,
        key: PrivateKey,
        ca_index: usize,
        ca: &Issuer,
        start: UnixTime,
        now: UnixTime,
        r: &mut ChaCha20Rng,
    ) -> TestHolder {
        use der::*;
        let given = GIVEN[index % GIVEN.len()].to_string();
        let surname = SURNAMES[(index * 3 + 1) % SURNAMES.len()].to_string();
        let national_code = random_national_code(r);
        // Holder 1 spells its names in BMPString, as some CAs do; the rest in UTF8String.
        let enc = |s: &str| if index == 1 { bmp(s) } else { utf8(s) };
        let subject = name(&[
            (attr::COUNTRY, printable("IR")),
            (attr::ORG_UNIT, utf8("IRAN Citizen (test)")),
            (attr::SURNAME, enc(&surname)),
            (attr::GIVEN_NAME, enc(&given)),
            (attr::SERIAL_NUMBER, printable(&format!("PNOIR-{national_code}"))),
            (attr::CN, enc(&format!("{given} {surname}"))),
        ]);
        let spki = key.spki();
        let (mut nb, mut na) = (start, UnixTime(start.0 + 7 * 365 * DAY));
        match variant {
            Variant::Expired => (nb, na) = (UnixTime(now.0 - 3000 * DAY), UnixTime(now.0 - 10 * DAY)),
            Variant::NotYetValid => (nb, na) = (UnixTime(now.0 + 10 * DAY), UnixTime(now.0 + 3000 * DAY)),
            _ => {}
        }
        let mut exts = Vec::new();
        match variant {
            Variant::NoBasicConstraints => {}
            Variant::ExplicitCaFalse => exts.push(ext::basic_constraints_explicit_false()),
            Variant::IsCa => exts.push(ext::basic_constraints(true, None)),
            _ => exts.push(ext::basic_constraints(false, None)),
        }
        exts.push(if variant == Variant::NoDigitalSignature {
            ext::key_usage(&[ku_bit::KEY_ENCIPHERMENT, ku_bit::KEY_AGREEMENT])
        } else {
            ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE])
        });
        exts.push(if variant == Variant::ServerAuthOnly {
            ext::eku(&[eku::SERVER_AUTH], false)
        } else {
            ext::eku(&[eku::CLIENT_AUTH], false)
        });
        exts.push(ext::ski(&key_id(&spki)));
        if variant == Variant::UnknownCriticalExtension {
            exts.push(extension(&Oid::new_unwrap("1.3.6.1.4.1.99999.1"), true, &null()));
        }
        let serial = random_serial(r);
        let spec = CertSpec {
            serial: serial.clone(),
            subject,
            not_before: nb,
            not_after: na,
            extensions: exts,
            ecdsa_null_params: variant == Variant::EcdsaNullParams,
            sig_alg: None,
        };
        let cert = ca.issue(&spec, &spki, r);
        TestHolder {
            index,
            variant,
            cert,
            key,
            given_name: given,
            surname,
            national_code,
            serial,
            issuer: ca_index,
        }
    }

    /// Holder `index` reissued by its CA (same subject, key, serial and validity) with a CRL
    /// distribution point and/or an OCSP responder in authorityInfoAccess: what a relying
    /// party's fetcher follows. `None` when there is no such holder.
    pub fn holder_with_urls(&self, index: usize, crl_dp: Option<&str>, ocsp: Option<&str>) -> Option<TestHolder> {
        let h = self.holders.get(index)?;
        let ca = self.cas.get(h.issuer)?;
        let c = hoviat::pki::Cert::from_der(&h.cert).ok()?;
        let spki = h.key.spki();
        let mut extensions = vec![
            ext::basic_constraints(false, None),
            ext::key_usage(&[ku_bit::DIGITAL_SIGNATURE]),
            ext::eku(&[eku::CLIENT_AUTH], false),
            ext::ski(&key_id(&spki)),
        ];
        extensions.extend(crl_dp.map(ext::crl_dp));
        extensions.extend(ocsp.map(ext::aia_ocsp));
        let spec = CertSpec {
            serial: h.serial.clone(),
            subject: c.subject.der.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            extensions,
            ecdsa_null_params: false,
            sig_alg: None,
        };
        let mut rng = rng_for(&self.seed, &format!("urls-{index}"));
        let mut out = h.clone();
        out.cert = ca.issue(&spec, &spki, &mut rng);
        Some(out)
    }

    /// PEM of a DER item.
    pub fn pem(label: &str, der_bytes: &[u8]) -> String {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(der_bytes);
        let mut s = format!("-----BEGIN {label}-----\n");
        for chunk in b.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap_or(""));
            s.push('\n');
        }
        s.push_str(&format!("-----END {label}-----\n"));
        s
    }

    /// Writes the registry as PEM files plus `manifest.json` into `dir`.
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("holders"))?;
        std::fs::write(dir.join("root.pem"), Self::pem("CERTIFICATE", &self.root.cert))?;
        let ca_files = ["ca-rsa", "ca-ec", "ca-eku"];
        for (i, ca) in self.cas.iter().enumerate() {
            std::fs::write(
                dir.join(format!("{}.pem", ca_files[i])),
                Self::pem("CERTIFICATE", &ca.cert),
            )?;
            std::fs::write(
                dir.join(format!("{}.crl.pem", ca_files[i])),
                Self::pem("X509 CRL", &self.crls[i]),
            )?;
        }
        let mut holders = Vec::new();
        for h in &self.holders {
            let file = format!("holders/{:02}-{}.pem", h.index, h.variant.label());
            std::fs::write(dir.join(&file), Self::pem("CERTIFICATE", &h.cert))?;
            holders.push(serde_json::json!({
                "index": h.index, "variant": h.variant.label(), "file": file,
                "issuer": format!("{}.pem", ca_files[h.issuer]),
                "expectedCode": h.variant.expected_code(), "algorithm": h.token_alg().name(),
                "givenName": h.given_name, "surname": h.surname, "nationalCode": h.national_code,
                "serial": hoviat::pki::cert::hex_upper(&h.serial),
            }));
        }
        std::fs::create_dir_all(dir.join("ocsp"))?;
        for (file, der_bytes) in ocsp::samples(self, 1) {
            std::fs::write(dir.join("ocsp").join(file), der_bytes)?;
        }
        let manifest = serde_json::json!({
            "seed": self.seed, "now": self.now.to_string(),
            "root": "root.pem", "cas": ca_files.iter().map(|f| format!("{f}.pem")).collect::<Vec<_>>(),
            "crls": ca_files.iter().map(|f| format!("{f}.crl.pem")).collect::<Vec<_>>(),
            "holders": holders,
            "ocsp": { "holder": 1, "dir": "ocsp", "nonce": "07070707070707070707070707070707" },
        });
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_string_pretty(&manifest).unwrap_or_default(),
        )
    }
}

/// The backend named by the `HOVIAT_BACKEND` environment variable, else [`hoviat::pki::alg::default_backend`]:
/// lets the CLI and the test suites run the same tables through every backend.
pub fn backend_from_env() -> &'static dyn hoviat::pki::alg::SignatureBackend {
    std::env::var("HOVIAT_BACKEND")
        .ok()
        .and_then(|n| hoviat::pki::alg::backend_by_name(&n))
        .unwrap_or_else(hoviat::pki::alg::default_backend)
}
