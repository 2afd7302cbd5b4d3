//! Algorithms: signature algorithm identifiers, public keys, the relying party's algorithm
//! policy, and the signature checks that path validation and token verification hand out.
//!
//! The core never calls cryptography inline. It produces [`SignatureCheck`]s (algorithm, key,
//! message, signature) and a [`SignatureBackend`] discharges them: RustCrypto here, always
//! available; faster platform backends (WebCrypto, `node:crypto`, aws-lc-rs) plug in behind the
//! same trait and must give the same verdicts.

use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Reader, SliceReader, Tag, Tagged, asn1::AnyRef};

use super::PkiError;

/// OIDs used by the algorithms module.
pub mod oid {
    use const_oid::ObjectIdentifier as Oid;
    /// rsaEncryption
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// sha1WithRSAEncryption
    pub const SHA1_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
    /// sha256WithRSAEncryption
    pub const SHA256_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    /// sha384WithRSAEncryption
    pub const SHA384_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    /// sha512WithRSAEncryption
    pub const SHA512_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    /// id-RSASSA-PSS
    pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    /// id-mgf1
    pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
    /// id-ecPublicKey
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    /// ecdsa-with-SHA1
    pub const ECDSA_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");
    /// ecdsa-with-SHA256
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    /// ecdsa-with-SHA512
    pub const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    /// prime256v1 / secp256r1
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    /// secp384r1
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    /// secp521r1
    pub const P521: Oid = Oid::new_unwrap("1.3.132.0.35");
    /// id-sha1
    pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
    /// id-sha256
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// id-sha384
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// id-sha512
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
}

/// A hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-1 (refused by the default policy).
    Sha1,
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl HashAlg {
    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
    /// The WebCrypto / JOSE name (`SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }
    fn from_oid(o: &Oid) -> Option<Self> {
        Some(match *o {
            oid::SHA1 => Self::Sha1,
            oid::SHA256 => Self::Sha256,
            oid::SHA384 => Self::Sha384,
            oid::SHA512 => Self::Sha512,
            _ => return None,
        })
    }
}

/// A named elliptic curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256
    P256,
    /// NIST P-384
    P384,
    /// NIST P-521
    P521,
}

impl Curve {
    /// Size of a field element / scalar in bytes.
    pub fn field_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }
    /// The WebCrypto name (`P-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }
}

/// A signature algorithm, with its parameters resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigAlg {
    /// ECDSA; the signature in a [`SignatureCheck`] is always raw `r || s`.
    Ecdsa(HashAlg),
    /// RSASSA-PKCS1-v1_5
    RsaPkcs1(HashAlg),
    /// RSASSA-PSS with MGF1 using the same hash, trailer field 1.
    RsaPss {
        /// The hash (and MGF1 hash).
        hash: HashAlg,
        /// Salt length in bytes.
        salt_len: usize,
    },
}

impl SigAlg {
    /// The hash this algorithm uses.
    pub fn hash(self) -> HashAlg {
        match self {
            Self::Ecdsa(h) | Self::RsaPkcs1(h) | Self::RsaPss { hash: h, .. } => h,
        }
    }

    /// Resolves an AlgorithmIdentifier (given as its OID and raw parameters TLV, if any).
    ///
    /// Leniency: ECDSA identifiers must have absent parameters (RFC 5758), but a Finnish ES384
    /// card encodes an explicit NULL; accepting NULL is safe because the parameters carry no
    /// meaning for ECDSA and the signed bytes are verified as they are.
    pub fn from_algorithm_identifier(o: &Oid, params: Option<AnyRef<'_>>) -> Result<Self, PkiError> {
        let null_or_absent = params.is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty());
        let bad_params = || PkiError::AlgorithmUnsupported(detail!("{o} with unexpected parameters"));
        let alg = match *o {
            oid::SHA1_RSA => Self::RsaPkcs1(HashAlg::Sha1),
            oid::SHA256_RSA => Self::RsaPkcs1(HashAlg::Sha256),
            oid::SHA384_RSA => Self::RsaPkcs1(HashAlg::Sha384),
            oid::SHA512_RSA => Self::RsaPkcs1(HashAlg::Sha512),
            oid::ECDSA_SHA1 => Self::Ecdsa(HashAlg::Sha1),
            oid::ECDSA_SHA256 => Self::Ecdsa(HashAlg::Sha256),
            oid::ECDSA_SHA384 => Self::Ecdsa(HashAlg::Sha384),
            oid::ECDSA_SHA512 => Self::Ecdsa(HashAlg::Sha512),
            oid::RSA_PSS => return parse_pss_params(params.ok_or_else(bad_params)?),
            _ => return Err(PkiError::AlgorithmUnsupported(detail!("signature algorithm {o}"))),
        };
        if !null_or_absent {
            return Err(bad_params());
        }
        Ok(alg)
    }

    /// A readable name, e.g. `ecdsa-with-SHA256`.
    pub fn describe(self) -> String {
        match self {
            Self::Ecdsa(h) => format!("ECDSA with {}", h.name()),
            Self::RsaPkcs1(h) => format!("RSA PKCS#1 v1.5 with {}", h.name()),
            Self::RsaPss { hash, salt_len } => format!("RSA-PSS with {} (salt {salt_len})", hash.name()),
        }
    }
}

fn seq_items(content: &[u8]) -> der::Result<Vec<AnyRef<'_>>> {
    let mut r = SliceReader::new(content)?;
    let mut items = Vec::new();
    while !r.is_finished() {
        if items.len() >= 16 {
            return Err(der::ErrorKind::Overlength.into());
        }
        items.push(AnyRef::decode(&mut r)?);
    }
    Ok(items)
}

/// The OID and optional parameters of an encoded AlgorithmIdentifier's content.
pub(crate) fn algid_parts<'a>(content: &'a [u8]) -> Result<(Oid, Option<AnyRef<'a>>), PkiError> {
    let bad = |e: der::Error| PkiError::CertMalformed(detail!("AlgorithmIdentifier: {e}"));
    let items = seq_items(content).map_err(bad)?;
    let (first, rest) = items
        .split_first()
        .ok_or_else(|| PkiError::CertMalformed(detail!("empty AlgorithmIdentifier")))?;
    let o = first.decode_as::<Oid>().map_err(bad)?;
    match rest {
        [] => Ok((o, None)),
        [p] => Ok((o, Some(*p))),
        _ => Err(PkiError::CertMalformed(detail!(
            "AlgorithmIdentifier with extra fields"
        ))),
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1). Only SHA-256/384/512 with MGF1 of the same hash and
/// trailer field 1 are accepted; the SHA-1 defaults are refused as unsupported.
fn parse_pss_params(p: AnyRef<'_>) -> Result<SigAlg, PkiError> {
    let unsupported = |why: &str| PkiError::AlgorithmUnsupported(detail!("RSA-PSS parameters: {why}"));
    if p.tag() != Tag::Sequence {
        return Err(unsupported("not a SEQUENCE"));
    }
    let items = seq_items(p.value()).map_err(|e| unsupported(&detail!("{e}")))?;
    let (mut hash, mut mgf_hash, mut salt, mut trailer) = (None, None, 20usize, 1u64);
    let mut last = None;
    for it in items {
        let n = match it.tag() {
            Tag::ContextSpecific {
                constructed: true,
                number,
            } => number.value(),
            _ => return Err(unsupported("unexpected field")),
        };
        if last.is_some_and(|l| n <= l) {
            return Err(unsupported("fields out of order"));
        }
        last = Some(n);
        let inner = AnyRef::from_der(it.value()).map_err(|e| unsupported(&detail!("{e}")))?;
        match n {
            0 => {
                let (o, _) = algid_parts(inner.value())?;
                hash = Some(HashAlg::from_oid(&o).ok_or_else(|| unsupported("hash"))?);
            }
            1 => {
                let (o, params) = algid_parts(inner.value())?;
                if o != oid::MGF1 {
                    return Err(unsupported("mask generation function"));
                }
                let params = params.ok_or_else(|| unsupported("MGF1 without hash"))?;
                let (h, _) = algid_parts(params.value())?;
                mgf_hash = Some(HashAlg::from_oid(&h).ok_or_else(|| unsupported("MGF1 hash"))?);
            }
            2 => {
                let v: u32 = inner
                    .decode_as()
                    .map_err(|e: der::Error| unsupported(&detail!("{e}")))?;
                salt = usize::try_from(v).map_err(|_| unsupported("salt length"))?;
            }
            3 => {
                trailer = inner
                    .decode_as()
                    .map_err(|e: der::Error| unsupported(&detail!("{e}")))?
            }
            _ => return Err(unsupported("unexpected field")),
        }
    }
    let hash = hash.unwrap_or(HashAlg::Sha1);
    if hash == HashAlg::Sha1 || mgf_hash.unwrap_or(HashAlg::Sha1) != hash || trailer != 1 || salt > 512 {
        return Err(unsupported("only SHA-2 with MGF1 of the same hash and trailer 1"));
    }
    Ok(SigAlg::RsaPss { hash, salt_len: salt })
}

/// A decoded subject public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An EC point (SEC1 encoding, as in the certificate) on a named curve.
    Ec {
        /// The curve.
        curve: Curve,
        /// SEC1 point encoding.
        point: Vec<u8>,
    },
    /// An RSA public key.
    Rsa {
        /// Modulus, big-endian, no leading zeros.
        n: Vec<u8>,
        /// Public exponent, big-endian.
        e: Vec<u8>,
        /// Modulus size in bits.
        bits: usize,
    },
}

/// A public key with its DER SubjectPublicKeyInfo (what WebCrypto imports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The decoded key.
    pub key: PublicKey,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

impl KeyInfo {
    /// Decodes a DER SubjectPublicKeyInfo. Only id-ecPublicKey with a named curve (P-256,
    /// P-384, P-521) and rsaEncryption are supported.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, PkiError> {
        let bad = |e: &dyn std::fmt::Display| PkiError::KeyMalformed(detail!("{e}"));
        let outer = AnyRef::from_der(spki).map_err(|e| bad(&e))?;
        if outer.tag() != Tag::Sequence {
            return Err(bad(&"SubjectPublicKeyInfo is not a SEQUENCE"));
        }
        let items = seq_items(outer.value()).map_err(|e| bad(&e))?;
        let [alg, bits] = items.as_slice() else {
            return Err(bad(&"SubjectPublicKeyInfo must have two fields"));
        };
        if alg.tag() != Tag::Sequence {
            return Err(bad(&"algorithm is not a SEQUENCE"));
        }
        let bits = bits.decode_as::<der::asn1::BitStringRef<'_>>().map_err(|e| bad(&e))?;
        let key_bytes = bits.as_bytes().ok_or_else(|| bad(&"key BIT STRING has unused bits"))?;
        let (o, params) = algid_parts(alg.value()).map_err(|e| bad(&e))?;
        let key = match o {
            oid::EC_PUBLIC_KEY => {
                let p = params.ok_or_else(|| bad(&"EC key without curve"))?;
                let curve_oid = p.decode_as::<Oid>().map_err(|_| {
                    PkiError::AlgorithmUnsupported(detail!("EC key with explicit (unnamed) curve parameters"))
                })?;
                let curve = match curve_oid {
                    oid::P256 => Curve::P256,
                    oid::P384 => Curve::P384,
                    oid::P521 => Curve::P521,
                    other => return Err(PkiError::AlgorithmUnsupported(detail!("curve {other}"))),
                };
                let fl = curve.field_len();
                let ok_len = match key_bytes.first() {
                    Some(4) => key_bytes.len() == 1 + 2 * fl,
                    Some(2 | 3) => key_bytes.len() == 1 + fl,
                    _ => false,
                };
                if !ok_len {
                    return Err(bad(&"EC point has the wrong encoding for its curve"));
                }
                PublicKey::Ec {
                    curve,
                    point: key_bytes.to_vec(),
                }
            }
            oid::RSA_ENCRYPTION => {
                // RFC 3279: parameters MUST be NULL; absent is tolerated (harmless: no meaning).
                if params.is_some_and(|p| p.tag() != Tag::Null || !p.value().is_empty()) {
                    return Err(bad(&"rsaEncryption parameters must be NULL"));
                }
                let seq = AnyRef::from_der(key_bytes).map_err(|e| bad(&e))?;
                if seq.tag() != Tag::Sequence {
                    return Err(bad(&"RSAPublicKey is not a SEQUENCE"));
                }
                let ints = seq_items(seq.value()).map_err(|e| bad(&e))?;
                let [n, e] = ints.as_slice() else {
                    return Err(bad(&"RSAPublicKey must have two INTEGERs"));
                };
                let n = n.decode_as::<der::asn1::UintRef<'_>>().map_err(|e| bad(&e))?;
                let e = e.decode_as::<der::asn1::UintRef<'_>>().map_err(|e| bad(&e))?;
                let (n, e) = (n.as_bytes(), e.as_bytes());
                let bits = match n.first() {
                    Some(&b) if b != 0 => n.len() * 8 - usize::try_from(b.leading_zeros()).unwrap_or(0),
                    _ => 0,
                };
                if !(512..=16384).contains(&bits) {
                    return Err(bad(&detail!("RSA modulus of {bits} bits")));
                }
                // e ≤ 2^33 - 1: what RustCrypto and AWS-LC both accept, so backends agree.
                let e_val = e
                    .iter()
                    .fold(0u64, |a, &b| a.saturating_mul(256).saturating_add(u64::from(b)));
                let e_small = e.len() > 5 || e.is_empty() || e_val > (1 << 33) - 1;
                let e_odd = e.last().is_some_and(|b| b & 1 == 1);
                if e_small || !e_odd || (e.len() == 1 && e[0] < 3) {
                    return Err(bad(&"RSA public exponent must be odd, at least 3"));
                }
                PublicKey::Rsa {
                    n: n.to_vec(),
                    e: e.to_vec(),
                    bits,
                }
            }
            other => return Err(PkiError::AlgorithmUnsupported(detail!("public key algorithm {other}"))),
        };
        Ok(KeyInfo {
            key,
            spki: spki.to_vec(),
        })
    }

    /// The key identifier of RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
    pub fn key_id(&self) -> Vec<u8> {
        let bits = AnyRef::from_der(&self.spki)
            .ok()
            .and_then(|o| seq_items(o.value()).ok())
            .and_then(|items| {
                items
                    .get(1)
                    .and_then(|b| b.decode_as::<der::asn1::BitStringRef<'_>>().ok())
            })
            .and_then(|b| b.as_bytes().map(<[u8]>::to_vec))
            .unwrap_or_default();
        HashAlg::Sha1.digest(&bits)
    }

    /// A short description: `EC P-256`, `RSA 2048`.
    pub fn describe(&self) -> String {
        match &self.key {
            PublicKey::Ec { curve, .. } => format!("EC {}", curve.name()),
            PublicKey::Rsa { bits, .. } => format!("RSA {bits}"),
        }
    }
}

/// What a relying party accepts. The default refuses SHA-1 and RSA keys under 2048 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    /// Accept SHA-1 signatures on certificates and CRLs (off by default; only for legacy
    /// chains such as the 2008 Iranian root).
    pub allow_sha1: bool,
    /// Minimum RSA modulus size for any key whose signature is checked.
    pub min_rsa_bits: usize,
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        Self {
            allow_sha1: false,
            min_rsa_bits: 2048,
        }
    }
}

impl AlgorithmPolicy {
    /// Checks that a signature by `key` with `alg` is acceptable and consistent (an ECDSA
    /// algorithm needs an EC key, RSA needs RSA).
    pub fn check(&self, alg: SigAlg, key: &KeyInfo) -> Result<(), PkiError> {
        if alg.hash() == HashAlg::Sha1 && !self.allow_sha1 {
            return Err(PkiError::AlgorithmDisallowed(detail!("{} (SHA-1)", alg.describe())));
        }
        match (&key.key, alg) {
            (PublicKey::Ec { .. }, SigAlg::Ecdsa(_)) => Ok(()),
            (PublicKey::Rsa { bits, .. }, SigAlg::RsaPkcs1(_) | SigAlg::RsaPss { .. }) => {
                if *bits < self.min_rsa_bits {
                    Err(PkiError::KeyTooSmall {
                        bits: *bits,
                        min: self.min_rsa_bits,
                    })
                } else if *bits > 8192 {
                    Err(PkiError::AlgorithmUnsupported(detail!("RSA key of {bits} bits")))
                } else {
                    Ok(())
                }
            }
            _ => Err(PkiError::AlgorithmUnsupported(detail!(
                "{} with a {} key",
                alg.describe(),
                key.describe()
            ))),
        }
    }
}

/// One signature the core needs verified.
#[derive(Clone, Debug)]
pub struct SignatureCheck {
    /// The algorithm.
    pub alg: SigAlg,
    /// The signer's public key.
    pub key: Arc<KeyInfo>,
    /// The signed message (not its hash).
    pub message: Vec<u8>,
    /// The signature: raw `r || s` for ECDSA (each half the curve size), the bytes otherwise.
    pub signature: Vec<u8>,
}

/// Converts a DER `Ecdsa-Sig-Value` to raw `r || s` for a curve. `None` if malformed.
pub fn ecdsa_der_to_raw(der_sig: &[u8], curve: Curve) -> Option<Vec<u8>> {
    let seq = AnyRef::from_der(der_sig).ok()?;
    if seq.tag() != Tag::Sequence {
        return None;
    }
    let items = seq_items(seq.value()).ok()?;
    let [r, s] = items.as_slice() else { return None };
    let fl = curve.field_len();
    let mut out = vec![0u8; 2 * fl];
    for (i, v) in [r, s].into_iter().enumerate() {
        let u = v.decode_as::<der::asn1::UintRef<'_>>().ok()?;
        let b = u.as_bytes();
        if b.len() > fl || b.is_empty() {
            return None;
        }
        out[i * fl + fl - b.len()..(i + 1) * fl].copy_from_slice(b);
    }
    Some(out)
}

/// Converts raw `r || s` to DER (what PIV cards return the other way round).
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let int = |x: &[u8]| -> Vec<u8> {
        let x = &x[x.iter().position(|&b| b != 0).unwrap_or(x.len().saturating_sub(1))..];
        let mut v = Vec::with_capacity(x.len() + 3);
        let pad = x.first().is_some_and(|&b| b & 0x80 != 0);
        v.push(0x02);
        push_len(&mut v, x.len() + usize::from(pad));
        if pad {
            v.push(0);
        }
        v.extend_from_slice(x);
        v
    };
    let (ri, si) = (int(r), int(s));
    let mut out = vec![0x30];
    push_len(&mut out, ri.len() + si.len());
    out.extend(ri);
    out.extend(si);
    Some(out)
}

fn push_len(v: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        v.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
        v.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        v.extend_from_slice(&bytes[skip..]);
    }
}

/// Discharges signature checks. Every backend must give the same verdict on every check.
pub trait SignatureBackend: Send + Sync {
    /// A short name for reports (`rustcrypto`).
    fn name(&self) -> &'static str;
    /// True when the signature verifies. Malformed keys or signatures are `false`, never a panic.
    fn verify(&self, check: &SignatureCheck) -> bool;
    /// Verifies several checks; the default runs them in order and stops at the first failure,
    /// returning its index.
    fn verify_all(&self, checks: &[SignatureCheck]) -> Result<(), usize> {
        match checks.iter().position(|c| !self.verify(c)) {
            Some(i) => Err(i),
            None => Ok(()),
        }
    }
}

/// The portable backend: RustCrypto `p256`, `p384`, `p521` and `rsa` (feature `rustcrypto`).
#[cfg(feature = "rustcrypto")]
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

#[cfg(feature = "rustcrypto")]
impl SignatureBackend for RustCrypto {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn verify(&self, c: &SignatureCheck) -> bool {
        let digest = c.alg.hash().digest(&c.message);
        match (&c.key.key, c.alg) {
            (PublicKey::Ec { curve, point }, SigAlg::Ecdsa(_)) => verify_ecdsa(*curve, point, &digest, &c.signature),
            (PublicKey::Rsa { n, e, .. }, alg) => verify_rsa(n, e, alg, &digest, &c.signature),
            _ => false,
        }
    }
}

/// A native backend over a ring-style API (`signature::UnparsedPublicKey`,
/// `RsaPublicKeyComponents`): aws-lc-rs and ring share it. Combinations a library lacks (P-521
/// in ring, ECDSA with a hash other than the curve's, PSS with a non-default salt, RSA under
/// 2048 bits) go to RustCrypto, so every check has the same verdict as with [`RustCrypto`]
/// (the tests run the tables through each backend).
macro_rules! native_backend {
    ($ty:ident, $name:literal, $feature:literal, $lib:ident, { $($p521:tt)* }) => {
        #[cfg(feature = $feature)]
        #[doc = concat!("The native backend on `", stringify!($lib), "` (feature `", $feature, "`).")]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $ty;

        #[cfg(feature = $feature)]
        impl SignatureBackend for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn verify(&self, c: &SignatureCheck) -> bool {
                use $lib::signature as s;
                let ec: Option<&'static s::EcdsaVerificationAlgorithm> = match (&c.key.key, c.alg) {
                    (PublicKey::Ec { curve: Curve::P256, .. }, SigAlg::Ecdsa(HashAlg::Sha256)) => {
                        Some(&s::ECDSA_P256_SHA256_FIXED)
                    }
                    (PublicKey::Ec { curve: Curve::P384, .. }, SigAlg::Ecdsa(HashAlg::Sha384)) => {
                        Some(&s::ECDSA_P384_SHA384_FIXED)
                    }
                    $($p521)*
                    _ => None,
                };
                if let (Some(alg), PublicKey::Ec { curve, point }) = (ec, &c.key.key) {
                    if c.signature.len() != 2 * curve.field_len() {
                        return false;
                    }
                    return s::UnparsedPublicKey::new(alg, point)
                        .verify(&c.message, &c.signature)
                        .is_ok();
                }
                if let PublicKey::Rsa { n, e, bits } = &c.key.key {
                    let params: Option<&'static s::RsaParameters> = match c.alg {
                        _ if *bits < 2048 || *bits > 8192 => None,
                        SigAlg::RsaPkcs1(HashAlg::Sha1) => Some(&s::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY),
                        SigAlg::RsaPkcs1(HashAlg::Sha256) => Some(&s::RSA_PKCS1_2048_8192_SHA256),
                        SigAlg::RsaPkcs1(HashAlg::Sha384) => Some(&s::RSA_PKCS1_2048_8192_SHA384),
                        SigAlg::RsaPkcs1(HashAlg::Sha512) => Some(&s::RSA_PKCS1_2048_8192_SHA512),
                        SigAlg::RsaPss {
                            hash: HashAlg::Sha256,
                            salt_len: 32,
                        } => Some(&s::RSA_PSS_2048_8192_SHA256),
                        SigAlg::RsaPss {
                            hash: HashAlg::Sha384,
                            salt_len: 48,
                        } => Some(&s::RSA_PSS_2048_8192_SHA384),
                        SigAlg::RsaPss {
                            hash: HashAlg::Sha512,
                            salt_len: 64,
                        } => Some(&s::RSA_PSS_2048_8192_SHA512),
                        _ => None,
                    };
                    if let Some(params) = params {
                        // The same preconditions as the RustCrypto path: exact signature length
                        // (the exponent's bounds are checked when the key is decoded).
                        if c.signature.len() != n.len() {
                            return false;
                        }
                        return s::RsaPublicKeyComponents {
                            n: n.as_slice(),
                            e: e.as_slice(),
                        }
                        .verify(params, &c.message, &c.signature)
                        .is_ok();
                    }
                }
                RustCrypto.verify(c)
            }
        }
    };
}

native_backend!(AwsLc, "aws-lc", "aws-lc", aws_lc_rs, {
    (PublicKey::Ec { curve: Curve::P521, .. }, SigAlg::Ecdsa(HashAlg::Sha256)) => Some(&s::ECDSA_P521_SHA256_FIXED),
    (PublicKey::Ec { curve: Curve::P521, .. }, SigAlg::Ecdsa(HashAlg::Sha384)) => Some(&s::ECDSA_P521_SHA384_FIXED),
    (PublicKey::Ec { curve: Curve::P521, .. }, SigAlg::Ecdsa(HashAlg::Sha512)) => Some(&s::ECDSA_P521_SHA512_FIXED),
});

// ring has no P-521: those checks go to RustCrypto.
native_backend!(Ring, "ring", "ring", ring, {});

/// The fastest backend this build has: aws-lc-rs natively when compiled in, else RustCrypto;
/// a build with neither (the browser "lite" build) has only the answers ([`PlatformAnswers`]) of the
/// platform's cryptography, and this returns [`Unavailable`], which verifies nothing.
pub fn default_backend() -> &'static dyn SignatureBackend {
    #[cfg(feature = "aws-lc")]
    {
        &AwsLc
    }
    #[cfg(all(feature = "rustcrypto", not(feature = "aws-lc")))]
    {
        &RustCrypto
    }
    #[cfg(not(feature = "rustcrypto"))]
    {
        &Unavailable
    }
}

/// A backend that verifies nothing (fail closed): what a build without cryptography falls back to.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unavailable;

impl SignatureBackend for Unavailable {
    fn name(&self) -> &'static str {
        "none"
    }
    fn verify(&self, _: &SignatureCheck) -> bool {
        false
    }
}

impl SignatureCheck {
    /// Whether two checks ask the same question (algorithm, key, message and signature, byte
    /// for byte).
    fn same(&self, o: &SignatureCheck) -> bool {
        self.alg == o.alg && self.signature == o.signature && self.message == o.message && self.key.spki == o.key.spki
    }
}

/// Signature results computed outside the core (WebCrypto, `node:crypto`), behind
/// [`super::platform::PlatformVerification`] (the only way out of the core), for the two-pass
/// verification that keeps the core synchronous: a first pass records the checks the core
/// needs (answering "valid" provisionally so that validation runs to the end), the platform
/// verifies them, and further passes use the real answers until no check is unknown. Only a
/// pass in which every answer was real gives a verdict.
///
/// A check's id is its index in the list of checks this value has been asked (compared byte for
/// byte, so a result can only ever answer the very check it was computed for); at most
/// [`PlatformAnswers::MAX_CHECKS`] checks, after which further ones are answered "invalid".
#[derive(Debug, Default)]
pub(crate) struct PlatformAnswers {
    state: std::sync::Mutex<AnswersState>,
}

#[derive(Debug, Default)]
struct AnswersState {
    /// Every check asked for, with its real result once known; the index is the id.
    seen: Vec<(SignatureCheck, Option<bool>)>,
    /// Indices of the checks the last pass needed and did not know.
    pending: Vec<usize>,
}

impl PlatformAnswers {
    /// Most distinct checks one verification may ask for.
    pub const MAX_CHECKS: usize = 1024;

    /// Adds a real result for the check at `index` (handed out by
    /// [`PlatformAnswers::take_pending_indexed`]); an index that names no check is ignored.
    pub fn insert_index(&self, index: usize, ok: bool) {
        if let Ok(mut st) = self.state.lock()
            && let Some(slot) = st.seen.get_mut(index)
        {
            slot.1 = Some(ok);
        }
    }
    /// The real result known for the check at `index`.
    pub fn answer(&self, index: usize) -> Option<bool> {
        self.state
            .lock()
            .ok()
            .and_then(|st| st.seen.get(index).and_then(|s| s.1))
    }
    /// Takes the checks the last pass needed and did not know, with their indices.
    pub fn take_pending_indexed(&self) -> Vec<(usize, SignatureCheck)> {
        let Ok(mut st) = self.state.lock() else {
            return Vec::new();
        };
        let pending = std::mem::take(&mut st.pending);
        pending
            .into_iter()
            .filter_map(|i| st.seen.get(i).map(|(c, _)| (i, c.clone())))
            .collect()
    }
}

impl SignatureBackend for PlatformAnswers {
    fn name(&self) -> &'static str {
        "platform"
    }
    fn verify(&self, c: &SignatureCheck) -> bool {
        let Ok(mut st) = self.state.lock() else {
            return false;
        };
        match st.seen.iter().position(|(s, _)| s.same(c)) {
            Some(i) => match st.seen[i].1 {
                Some(ok) => ok,
                None => {
                    if !st.pending.contains(&i) {
                        st.pending.push(i);
                    }
                    true
                }
            },
            // Fail closed: a provisional "valid" that is never handed out could stand.
            None if st.seen.len() >= Self::MAX_CHECKS => false,
            None => {
                let i = st.seen.len();
                st.seen.push((c.clone(), None));
                st.pending.push(i);
                true
            }
        }
    }
}

/// A backend by name (`rustcrypto`, `aws-lc`), for tools and tests.
pub fn backend_by_name(name: &str) -> Option<&'static dyn SignatureBackend> {
    match name {
        #[cfg(feature = "rustcrypto")]
        "rustcrypto" => Some(&RustCrypto),
        #[cfg(feature = "aws-lc")]
        "aws-lc" => Some(&AwsLc),
        #[cfg(feature = "ring")]
        "ring" => Some(&Ring),
        _ => None,
    }
}

#[cfg(feature = "rustcrypto")]
fn verify_ecdsa(curve: Curve, point: &[u8], digest: &[u8], raw: &[u8]) -> bool {
    use signature::hazmat::PrehashVerifier;
    macro_rules! ec {
        ($m:ident) => {{
            let Ok(key) = $m::ecdsa::VerifyingKey::from_sec1_bytes(point) else {
                return false;
            };
            let Ok(sig) = $m::ecdsa::Signature::from_slice(raw) else {
                return false;
            };
            key.verify_prehash(digest, &sig).is_ok()
        }};
    }
    if raw.len() != 2 * curve.field_len() {
        return false;
    }
    match curve {
        Curve::P256 => ec!(p256),
        Curve::P384 => ec!(p384),
        Curve::P521 => ec!(p521),
    }
}

#[cfg(feature = "rustcrypto")]
fn verify_rsa(n: &[u8], e: &[u8], alg: SigAlg, digest: &[u8], sig: &[u8]) -> bool {
    use rsa::{BoxedUint, Pkcs1v15Sign, RsaPublicKey, pss::Pss};
    let bits = |b: &[u8]| u32::try_from(b.len() * 8).unwrap_or(u32::MAX);
    let (Ok(nn), Ok(ee)) = (
        BoxedUint::from_be_slice(n, bits(n)),
        BoxedUint::from_be_slice(e, bits(e).max(64)),
    ) else {
        return false;
    };
    let Ok(key) = RsaPublicKey::new_with_size_limits(nn, ee, 1024..=8192) else {
        return false;
    };
    if sig.len() != n.len() {
        return false;
    }
    let r = match alg {
        SigAlg::RsaPkcs1(h) => {
            let scheme = match h {
                HashAlg::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
                HashAlg::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
                HashAlg::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
                HashAlg::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            key.verify(scheme, digest, sig)
        }
        SigAlg::RsaPss { hash, salt_len } => match hash {
            HashAlg::Sha1 => key.verify(Pss::<sha1::Sha1>::new_with_salt(salt_len), digest, sig),
            HashAlg::Sha256 => key.verify(Pss::<sha2::Sha256>::new_with_salt(salt_len), digest, sig),
            HashAlg::Sha384 => key.verify(Pss::<sha2::Sha384>::new_with_salt(salt_len), digest, sig),
            HashAlg::Sha512 => key.verify(Pss::<sha2::Sha512>::new_with_salt(salt_len), digest, sig),
        },
        SigAlg::Ecdsa(_) => return false,
    };
    r.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_answers_only_the_exact_check_it_was_given() {
        let key = Arc::new(KeyInfo {
            key: PublicKey::Ec {
                curve: Curve::P256,
                point: vec![4; 65],
            },
            spki: vec![1, 2, 3],
        });
        let check = |m: &[u8], s: &[u8]| SignatureCheck {
            alg: SigAlg::Ecdsa(HashAlg::Sha256),
            key: key.clone(),
            message: m.to_vec(),
            signature: s.to_vec(),
        };
        let rec = PlatformAnswers::default();
        // First pass: provisional "valid", recorded once each.
        assert!(rec.verify(&check(b"a", b"s1")));
        assert!(rec.verify(&check(b"b", b"s2")));
        assert!(rec.verify(&check(b"a", b"s1")));
        let p = rec.take_pending_indexed();
        assert_eq!(p.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1]);
        assert!(rec.take_pending_indexed().is_empty());
        rec.insert_index(1, false);
        rec.insert_index(7, true); // names nothing: ignored
        assert_eq!(rec.answer(7), None);
        // Second pass: real answers; the unanswered check is pending again.
        assert!(!rec.verify(&check(b"b", b"s2")));
        assert!(rec.verify(&check(b"a", b"s1")));
        assert_eq!(rec.take_pending_indexed().len(), 1);
        // A check differing in one byte of the message or signature is another question.
        rec.insert_index(0, true);
        assert!(rec.verify(&check(b"b", b"s3")));
        assert!(rec.verify(&check(b"c", b"s1")));
        assert_eq!(
            rec.take_pending_indexed().iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [2, 3]
        );
        // Past the cap, fail closed.
        for i in 0..PlatformAnswers::MAX_CHECKS {
            rec.verify(&check(&i.to_be_bytes(), b"z"));
        }
        assert!(!rec.verify(&check(b"one more", b"z")));
    }

    #[test]
    fn ecdsa_der_raw_round_trip() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero in DER
        raw[63] = 1; // s is tiny
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(ecdsa_der_to_raw(&der, Curve::P256).unwrap(), raw);
        assert!(ecdsa_der_to_raw(&der[..der.len() - 1], Curve::P256).is_none());
        assert!(ecdsa_der_to_raw(b"\x30\x00", Curve::P256).is_none());
    }

    #[test]
    fn policy_refuses_sha1_and_small_rsa() {
        let rsa = |bits| KeyInfo {
            key: PublicKey::Rsa {
                n: vec![],
                e: vec![1, 0, 1],
                bits,
            },
            spki: vec![],
        };
        let p = AlgorithmPolicy::default();
        assert!(matches!(
            p.check(SigAlg::RsaPkcs1(HashAlg::Sha1), &rsa(2048)),
            Err(PkiError::AlgorithmDisallowed(_))
        ));
        assert!(matches!(
            p.check(SigAlg::RsaPkcs1(HashAlg::Sha256), &rsa(1024)),
            Err(PkiError::KeyTooSmall { .. })
        ));
        assert!(p.check(SigAlg::RsaPkcs1(HashAlg::Sha256), &rsa(2048)).is_ok());
        let lax = AlgorithmPolicy { allow_sha1: true, ..p };
        assert!(lax.check(SigAlg::RsaPkcs1(HashAlg::Sha1), &rsa(2048)).is_ok());
        assert!(matches!(
            p.check(SigAlg::Ecdsa(HashAlg::Sha256), &rsa(2048)),
            Err(PkiError::AlgorithmUnsupported(_))
        ));
    }
}
