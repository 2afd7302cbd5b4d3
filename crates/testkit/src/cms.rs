//! Test equipment for CMS: a SignedData builder signing with the test registry's keys (every
//! byte under the caller's control, for hostile and quirky cases), and the holders' private keys
//! as PEM so that `openssl cms -sign` can sign independently.

use super::der::{ctx, int, null, octets, oid, seq, set, time, tlv};
use super::{PrivateKey, rng_for};
use hoviat::cms::oid as cms_oid;
use hoviat::pki::alg::{HashAlg, SigAlg, oid as alg_oid};
use hoviat::time::UnixTime;

/// The private key as PEM: `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1), what
/// `openssl cms -sign -inkey` reads.
pub fn private_key_pem(key: &PrivateKey) -> String {
    use super::der::bits;
    let ec = |d: &[u8], curve: &const_oid::ObjectIdentifier, point: &[u8]| {
        super::Registry::pem(
            "EC PRIVATE KEY",
            &seq(&[int(1), octets(d), ctx(0, &oid(curve)), ctx(1, &bits(point))]),
        )
    };
    match key {
        PrivateKey::P256(k) => ec(
            &k.to_bytes(),
            &alg_oid::P256,
            k.verifying_key().to_sec1_point(false).as_bytes(),
        ),
        PrivateKey::P384(k) => ec(
            &k.to_bytes(),
            &alg_oid::P384,
            k.verifying_key().to_sec1_point(false).as_bytes(),
        ),
        PrivateKey::P521(k) => ec(
            &k.to_bytes(),
            &alg_oid::P521,
            k.verifying_key().to_sec1_point(false).as_bytes(),
        ),
        PrivateKey::Rsa(k) => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let der_doc = k.to_pkcs1_der().unwrap_or_else(|e| panic!("PKCS#1 encoding: {e}"));
            super::Registry::pem("RSA PRIVATE KEY", der_doc.as_bytes())
        }
    }
}

/// How the builder names the signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sid {
    /// issuerAndSerialNumber
    IssuerSerial,
    /// subjectKeyIdentifier
    SubjectKeyId,
}

/// One signer of a [`SignedDataBuilder`].
#[derive(Clone, Debug)]
pub struct SignerSpec<'a> {
    /// The signer's certificate (DER).
    pub cert: &'a [u8],
    /// Its key.
    pub key: &'a PrivateKey,
    /// The signature algorithm (its hash is the digest algorithm).
    pub alg: SigAlg,
    /// Write the signatureAlgorithm as `rsaEncryption` (as OpenSSL does) for PKCS#1 v1.5.
    pub rsa_encryption_oid: bool,
    /// How to name the signer.
    pub sid: Sid,
    /// Signed attributes (contentType, messageDigest, then these extras); `None` signs the
    /// content directly.
    pub signed_attrs: Option<AttrSpec>,
}

/// Which signed attributes to write.
#[derive(Clone, Debug, Default)]
pub struct AttrSpec {
    /// signingTime.
    pub signing_time: Option<UnixTime>,
    /// ESS signing-certificate-v2 with SHA-256 of this certificate DER.
    pub ess_v2_cert: Option<Vec<u8>>,
    /// Leave out contentType.
    pub omit_content_type: bool,
    /// Leave out messageDigest.
    pub omit_message_digest: bool,
    /// Replace the messageDigest value.
    pub message_digest: Option<Vec<u8>>,
    /// Replace the contentType value.
    pub content_type: Option<const_oid::ObjectIdentifier>,
}

/// Builds a ContentInfo/SignedData.
#[derive(Clone, Debug, Default)]
pub struct SignedDataBuilder<'a> {
    /// The content.
    pub content: Vec<u8>,
    /// Put the content inside (else detached).
    pub attached: bool,
    /// eContentType (default id-data).
    pub content_type: Option<const_oid::ObjectIdentifier>,
    /// Certificates to embed.
    pub certificates: Vec<Vec<u8>>,
    /// The signers.
    pub signers: Vec<SignerSpec<'a>>,
}

fn hash_oid(h: HashAlg) -> const_oid::ObjectIdentifier {
    match h {
        HashAlg::Sha1 => alg_oid::SHA1,
        HashAlg::Sha256 => alg_oid::SHA256,
        HashAlg::Sha384 => alg_oid::SHA384,
        HashAlg::Sha512 => alg_oid::SHA512,
    }
}

fn sig_alg_id(alg: SigAlg, rsa_encryption: bool) -> Vec<u8> {
    use HashAlg::*;
    let o = match alg {
        SigAlg::RsaPkcs1(_) if rsa_encryption => alg_oid::RSA_ENCRYPTION,
        SigAlg::RsaPkcs1(Sha1) => alg_oid::SHA1_RSA,
        SigAlg::RsaPkcs1(Sha256) => alg_oid::SHA256_RSA,
        SigAlg::RsaPkcs1(Sha384) => alg_oid::SHA384_RSA,
        SigAlg::RsaPkcs1(Sha512) => alg_oid::SHA512_RSA,
        SigAlg::Ecdsa(Sha1) => alg_oid::ECDSA_SHA1,
        SigAlg::Ecdsa(Sha256) => alg_oid::ECDSA_SHA256,
        SigAlg::Ecdsa(Sha384) => alg_oid::ECDSA_SHA384,
        SigAlg::Ecdsa(Sha512) => alg_oid::ECDSA_SHA512,
        SigAlg::RsaPss { hash, salt_len } => {
            let h = seq(&[oid(&hash_oid(hash))]);
            let mgf = seq(&[oid(&alg_oid::MGF1), h.clone()]);
            let salt = int(u64::try_from(salt_len).unwrap_or(0));
            return seq(&[oid(&alg_oid::RSA_PSS), seq(&[ctx(0, &h), ctx(1, &mgf), ctx(2, &salt)])]);
        }
    };
    match alg {
        SigAlg::RsaPkcs1(_) => seq(&[oid(&o), null()]),
        _ => seq(&[oid(&o)]),
    }
}

fn attribute(t: &const_oid::ObjectIdentifier, value: Vec<u8>) -> Vec<u8> {
    seq(&[oid(t), set(&[value])])
}

/// The parts of a certificate the builder needs: issuer Name TLV, serial TLV, SKI.
fn cert_ids(cert: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let c = hoviat::pki::Cert::from_der(cert).unwrap_or_else(|e| panic!("builder certificate: {e}"));
    let ski = c
        .ski
        .clone()
        .unwrap_or_else(|| c.key.as_ref().map(|k| k.key_id()).unwrap_or_default());
    (c.issuer.der.clone(), tlv(0x02, &c.serial), ski)
}

impl SignedDataBuilder<'_> {
    /// The signed attributes of one signer as the SET OF the signature covers.
    pub fn signed_attributes(&self, s: &SignerSpec<'_>, a: &AttrSpec) -> Vec<u8> {
        let hash = s.alg.hash();
        let ct = self.content_type.unwrap_or(cms_oid::DATA);
        let mut attrs = Vec::new();
        if !a.omit_content_type {
            attrs.push(attribute(&cms_oid::CONTENT_TYPE, oid(&a.content_type.unwrap_or(ct))));
        }
        if let Some(t) = a.signing_time {
            attrs.push(attribute(&cms_oid::SIGNING_TIME, time(t)));
        }
        if !a.omit_message_digest {
            let md = a.message_digest.clone().unwrap_or_else(|| hash.digest(&self.content));
            attrs.push(attribute(&cms_oid::MESSAGE_DIGEST, octets(&md)));
        }
        if let Some(c) = &a.ess_v2_cert {
            // ESSCertIDv2 with the default hash (SHA-256) left out.
            let id = seq(&[octets(&HashAlg::Sha256.digest(c))]);
            attrs.push(attribute(&cms_oid::SIGNING_CERTIFICATE_V2, seq(&[seq(&[id])])));
        }
        set(&attrs)
    }

    /// The DER ContentInfo.
    pub fn build(&self) -> Vec<u8> {
        let mut rng = rng_for("cms", "builder");
        let mut digest_algs: Vec<Vec<u8>> = Vec::new();
        let mut infos = Vec::new();
        for s in &self.signers {
            let hash = s.alg.hash();
            let dalg = seq(&[oid(&hash_oid(hash))]);
            if !digest_algs.contains(&dalg) {
                digest_algs.push(dalg.clone());
            }
            let (issuer, serial, ski) = cert_ids(s.cert);
            let (version, sid) = match s.sid {
                Sid::IssuerSerial => (1, seq(&[issuer, serial])),
                Sid::SubjectKeyId => (3, tlv(0x80, &ski)),
            };
            let (attrs_field, message) = match &s.signed_attrs {
                Some(a) => {
                    let set_der = self.signed_attributes(s, a);
                    let mut implicit = set_der.clone();
                    implicit[0] = 0xA0;
                    (Some(implicit), set_der)
                }
                None => (None, self.content.clone()),
            };
            let raw = s.key.sign_digest(s.alg, &hash.digest(&message), &mut rng);
            let sig = match s.alg {
                SigAlg::Ecdsa(_) => hoviat::pki::alg::ecdsa_raw_to_der(&raw).unwrap_or_default(),
                _ => raw,
            };
            let mut fields = vec![int(version), sid, dalg];
            fields.extend(attrs_field);
            fields.push(sig_alg_id(s.alg, s.rsa_encryption_oid));
            fields.push(octets(&sig));
            infos.push(seq(&fields));
        }
        let ct = self.content_type.unwrap_or(cms_oid::DATA);
        let encap = if self.attached {
            seq(&[oid(&ct), ctx(0, &octets(&self.content))])
        } else {
            seq(&[oid(&ct)])
        };
        let any_ski = self.signers.iter().any(|s| s.sid == Sid::SubjectKeyId);
        let mut sd = vec![int(if any_ski { 3 } else { 1 }), set(&digest_algs), encap];
        if !self.certificates.is_empty() {
            sd.push(ctx(0, &self.certificates.concat()));
        }
        sd.push(set(&infos));
        seq(&[oid(&cms_oid::SIGNED_DATA), ctx(0, &seq(&sd))])
    }
}

/// What the registry's signing session has a card produce (Dastine's `NIDSign` / `CmsSign`):
/// one signer, `cert` embedded and named by issuer and serial, signed attributes contentType,
/// messageDigest and signingTime, RSA as rsaEncryption, ECDSA with `hash`.
pub fn card_signed_data(
    cert: &[u8],
    key: &PrivateKey,
    content: &[u8],
    hash: HashAlg,
    attached: bool,
    signing_time: UnixTime,
) -> Vec<u8> {
    let alg = match key {
        PrivateKey::Rsa(_) => SigAlg::RsaPkcs1(hash),
        _ => SigAlg::Ecdsa(hash),
    };
    SignedDataBuilder {
        content: content.to_vec(),
        attached,
        certificates: vec![cert.to_vec()],
        signers: vec![SignerSpec {
            cert,
            key,
            alg,
            rsa_encryption_oid: true,
            sid: Sid::IssuerSerial,
            signed_attrs: Some(AttrSpec {
                signing_time: Some(signing_time),
                ..AttrSpec::default()
            }),
        }],
        ..SignedDataBuilder::default()
    }
    .build()
}
