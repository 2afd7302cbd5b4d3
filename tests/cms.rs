//! CMS SignedData verification (`hoviat::cms`): signatures made by the testkit builder with the
//! test registry's keys, every signed-attribute rule, the SHA-1 policy, validation as of the
//! claimed signing time, the real Iranian certificates in a message, and hostile inputs (codes,
//! never a panic). The differential suite against OpenSSL is scripts/cms-tests.sh.

mod common;

use std::sync::Arc;

use common::{now, reg};
use hoviat::cms::{self, CmsOptions, CmsRequest, VerifiedCms};
use hoviat::error::Coded;
use hoviat::pki::alg::{HashAlg, SigAlg, SignatureBackend};
use hoviat::pki::platform::{PlatformVerification, Step};
use hoviat::pki::{AlgorithmPolicy, Cert, TrustStore};
use hoviat::time::UnixTime;
use hoviat_testkit::cms::{AttrSpec, Sid, SignedDataBuilder, SignerSpec};
use hoviat_testkit::{Registry, TestHolder};

const CONTENT: &[u8] = "قرارداد ۱۴۰۳ — hoviat".as_bytes();

fn trust() -> TrustStore {
    let r = reg();
    let mut t = TrustStore::new();
    t.add_anchors(Registry::pem("CERTIFICATE", &r.root.cert).as_bytes())
        .unwrap();
    for ca in &r.cas {
        t.add_intermediates(&ca.cert).unwrap();
    }
    for crl in &r.crls {
        t.add_crls(crl).unwrap();
    }
    t
}

fn holder(i: usize) -> &'static TestHolder {
    &reg().holders[i]
}

fn attrs() -> Option<AttrSpec> {
    Some(AttrSpec {
        signing_time: Some(UnixTime(now().0 - 3600)),
        ..AttrSpec::default()
    })
}

fn signer(h: &'static TestHolder, alg: SigAlg, a: Option<AttrSpec>) -> SignerSpec<'static> {
    SignerSpec {
        cert: &h.cert,
        key: &h.key,
        alg,
        rsa_encryption_oid: false,
        sid: Sid::IssuerSerial,
        signed_attrs: a,
    }
}

fn build(signers: Vec<SignerSpec<'static>>, attached: bool) -> Vec<u8> {
    SignedDataBuilder {
        content: CONTENT.to_vec(),
        attached,
        certificates: signers.iter().map(|s| s.cert.to_vec()).collect(),
        signers,
        ..SignedDataBuilder::default()
    }
    .build()
}

fn run(msg: &[u8], content: Option<&[u8]>, opts: &CmsOptions) -> Result<VerifiedCms, cms::CmsError> {
    let req = CmsRequest {
        signature: msg,
        content,
        certificates: Vec::new(),
    };
    cms::verify(&req, &trust(), opts, &hoviat::pki::RustCrypto)
}

fn code(r: Result<VerifiedCms, cms::CmsError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.code().into(),
    }
}

fn opts() -> CmsOptions {
    CmsOptions::new(now())
}

fn backends() -> Vec<&'static dyn SignatureBackend> {
    vec![
        &hoviat::pki::RustCrypto,
        #[cfg(feature = "aws-lc")]
        &hoviat::pki::alg::AwsLc,
    ]
}

#[test]
fn every_form_verifies_on_every_backend() {
    let sha256 = HashAlg::Sha256;
    let cases: Vec<(&str, SignerSpec<'static>)> = vec![
        ("rsa pkcs1", signer(holder(0), SigAlg::RsaPkcs1(sha256), attrs())),
        (
            "rsa pkcs1 as rsaEncryption",
            SignerSpec {
                rsa_encryption_oid: true,
                ..signer(holder(0), SigAlg::RsaPkcs1(sha256), attrs())
            },
        ),
        (
            "rsa pss",
            signer(
                holder(0),
                SigAlg::RsaPss {
                    hash: sha256,
                    salt_len: 32,
                },
                attrs(),
            ),
        ),
        ("p256", signer(holder(1), SigAlg::Ecdsa(sha256), attrs())),
        (
            "p384 sha384",
            signer(holder(2), SigAlg::Ecdsa(HashAlg::Sha384), attrs()),
        ),
        ("p256 no attributes", signer(holder(1), SigAlg::Ecdsa(sha256), None)),
        (
            "p256 by subjectKeyIdentifier",
            SignerSpec {
                sid: Sid::SubjectKeyId,
                ..signer(holder(1), SigAlg::Ecdsa(sha256), attrs())
            },
        ),
    ];
    for (name, s) in cases {
        let with_attrs = s.signed_attrs.is_some();
        for attached in [true, false] {
            let msg = build(vec![s.clone()], attached);
            let content = (!attached).then_some(CONTENT);
            for b in backends() {
                let req = CmsRequest {
                    signature: &msg,
                    content,
                    certificates: Vec::new(),
                };
                let v = cms::verify(&req, &trust(), &opts(), b)
                    .unwrap_or_else(|e| panic!("{name} attached={attached} {}: {e}", b.name()));
                assert_eq!(v.content_attached, attached);
                assert_eq!(v.content_length, CONTENT.len());
                let s0 = &v.signers[0];
                assert_eq!(s0.signed_attributes, with_attrs, "{name}");
                assert_eq!(s0.validation_time_source, "given");
                assert!(!s0.legacy_sha1);
                assert_eq!(s0.chain.len(), 3, "{name}");
                if with_attrs {
                    let t = s0.signing_time.as_ref().unwrap();
                    assert!(!t.authenticated && t.within_certificate_validity);
                }
            }
        }
    }
}

#[test]
fn webcrypto_two_pass_gives_the_same_verdicts() {
    // The platform backend of the browser build: a first pass records checks, answers come
    // back, the second pass decides.
    let good = build(vec![signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), attrs())], true);
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 3] ^= 1; // inside the signature
    for (msg, want) in [(good, "ok"), (bad, "CMS_SIGNATURE_INVALID")] {
        let req = CmsRequest {
            signature: &msg,
            content: None,
            certificates: Vec::new(),
        };
        let mut job = PlatformVerification::new(|b: &dyn SignatureBackend| cms::verify(&req, &trust(), &opts(), b));
        let mut answers = Vec::new();
        let mut rounds = 0;
        let verdict = loop {
            match job.step(answers) {
                Step::Done(v) => break v,
                Step::NeedChecks(checks) => {
                    rounds += 1;
                    assert!(rounds < 4, "does not settle");
                    answers = checks
                        .into_iter()
                        .map(|(id, c)| (id, hoviat::pki::RustCrypto.verify(&c)))
                        .collect();
                }
            }
        };
        assert_eq!(code(verdict), want);
    }
}

#[test]
fn two_signers_both_reported_and_both_required() {
    let a = signer(holder(0), SigAlg::RsaPkcs1(HashAlg::Sha256), attrs());
    let b = signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), None);
    let v = run(&build(vec![a.clone(), b.clone()], true), None, &opts()).unwrap();
    assert_eq!(v.signers.len(), 2);
    assert_eq!(v.signers[1].index, 1);
    assert_ne!(v.signers[0].certificate.sha256, v.signers[1].certificate.sha256);
    // The second signer by a revoked holder: the whole message is refused, naming signer 1.
    let c = signer(holder(3), SigAlg::Ecdsa(HashAlg::Sha256), attrs());
    let e = run(&build(vec![a, c], true), None, &opts()).unwrap_err();
    assert_eq!((e.code(), e.signer()), ("CERT_REVOKED", Some(1)));
}

#[test]
fn signed_attribute_rules() {
    let ec = |a: AttrSpec| signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), Some(a));
    let cases: Vec<(&str, AttrSpec, &str)> = vec![
        (
            "no contentType",
            AttrSpec {
                omit_content_type: true,
                ..AttrSpec::default()
            },
            "CMS_CONTENT_TYPE_MISMATCH",
        ),
        (
            "other contentType",
            AttrSpec {
                content_type: Some(cms::oid::SIGNED_DATA),
                ..AttrSpec::default()
            },
            "CMS_CONTENT_TYPE_MISMATCH",
        ),
        (
            "no messageDigest",
            AttrSpec {
                omit_message_digest: true,
                ..AttrSpec::default()
            },
            "CMS_ATTRIBUTE_INVALID",
        ),
        (
            "messageDigest of other content (signed)",
            AttrSpec {
                message_digest: Some(HashAlg::Sha256.digest(b"other")),
                ..AttrSpec::default()
            },
            "CMS_DIGEST_MISMATCH",
        ),
        (
            "signingTime in the future",
            AttrSpec {
                signing_time: Some(UnixTime(now().0 + 3600)),
                ..AttrSpec::default()
            },
            "CMS_ATTRIBUTE_INVALID",
        ),
        (
            "ESS v2 naming the signer",
            AttrSpec {
                ess_v2_cert: Some(holder(1).cert.clone()),
                ..AttrSpec::default()
            },
            "ok",
        ),
        (
            "ESS v2 naming another certificate",
            AttrSpec {
                ess_v2_cert: Some(holder(2).cert.clone()),
                ..AttrSpec::default()
            },
            "CMS_SIGNING_CERTIFICATE_MISMATCH",
        ),
    ];
    for (name, a, want) in cases {
        let r = run(&build(vec![ec(a)], true), None, &opts());
        if want == "ok" {
            let ess = r.as_ref().unwrap().signers[0].signing_certificate.clone().unwrap();
            assert_eq!((ess.version, ess.hash, ess.matches), (2, "SHA-256", true));
        }
        assert_eq!(code(r), want, "{name}");
    }
    // Content that is not id-data must be signed through attributes (RFC 5652 §5.3).
    let msg = SignedDataBuilder {
        content: CONTENT.to_vec(),
        attached: true,
        content_type: Some(const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4")),
        certificates: vec![holder(1).cert.clone()],
        signers: vec![signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), None)],
    }
    .build();
    assert_eq!(code(run(&msg, None, &opts())), "CMS_CONTENT_TYPE_MISMATCH");
}

#[test]
fn signed_attributes_are_verified_as_received_not_re_encoded() {
    // The builder writes the attributes in its own order (contentType, signingTime,
    // messageDigest), not necessarily DER SET OF order: verified over the bytes as received.
    let msg = build(vec![signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), attrs())], true);
    assert_eq!(code(run(&msg, None, &opts())), "ok");
    // Swap the first two attributes in place (same bytes, other order): a verifier that
    // re-encodes (sorting) could accept; the signature is over the received bytes.
    let sd = cms::SignedData::from_der(&msg).unwrap();
    let set = sd.signers[0].signed_attrs.clone().unwrap().unwrap().signed_bytes;
    let at = msg.windows(set.len() - 1).position(|w| w == &set[1..]).unwrap();
    let (hdr, body) = (at, &set[2..]); // short-form length in these tests
    let first_len = 2 + usize::from(body[1]);
    let (first, rest) = body.split_at(first_len);
    let second_len = 2 + usize::from(rest[1]);
    let (second, tail) = rest.split_at(second_len);
    let swapped: Vec<u8> = [second, first, tail].concat();
    let mut m = msg.clone();
    m[hdr + 1..hdr + 1 + swapped.len()].copy_from_slice(&swapped);
    assert_ne!(m, msg);
    assert_eq!(code(run(&m, None, &opts())), "CMS_SIGNATURE_INVALID");
}

#[test]
fn content_rules() {
    let s = signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), attrs());
    let detached = build(vec![s.clone()], false);
    assert_eq!(code(run(&detached, None, &opts())), "CMS_CONTENT_MISSING");
    assert_eq!(code(run(&detached, Some(b"other"), &opts())), "CMS_DIGEST_MISMATCH");
    let attached = build(vec![s.clone()], true);
    assert_eq!(code(run(&attached, Some(CONTENT), &opts())), "ok");
    assert_eq!(code(run(&attached, Some(b"other"), &opts())), "CMS_CONTENT_CONFLICT");
    let no_attrs = build(vec![signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), None)], false);
    assert_eq!(code(run(&no_attrs, Some(b"other"), &opts())), "CMS_SIGNATURE_INVALID");
}

#[test]
fn signer_lookup() {
    let s = signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), attrs());
    let mut b = SignedDataBuilder {
        content: CONTENT.to_vec(),
        attached: true,
        certificates: vec![],
        signers: vec![s],
        ..SignedDataBuilder::default()
    };
    let msg = b.build();
    assert_eq!(code(run(&msg, None, &opts())), "CMS_SIGNER_NOT_FOUND");
    // Supplied by the caller instead.
    let req = CmsRequest {
        signature: &msg,
        content: None,
        certificates: vec![Arc::new(Cert::from_der(&holder(1).cert).unwrap())],
    };
    assert!(cms::verify(&req, &trust(), &opts(), &hoviat::pki::RustCrypto).is_ok());
    // Another holder's certificate embedded: still not the signer.
    b.certificates = vec![holder(2).cert.clone()];
    assert_eq!(code(run(&b.build(), None, &opts())), "CMS_SIGNER_NOT_FOUND");
}

#[test]
fn sha1_refused_by_default_accepted_with_the_opt_in_and_reported() {
    for s in [
        signer(holder(0), SigAlg::RsaPkcs1(HashAlg::Sha1), attrs()),
        signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha1), None),
    ] {
        let msg = build(vec![s], true);
        assert_eq!(code(run(&msg, None, &opts())), "ALGORITHM_DISALLOWED");
        let lax = opts().with_policy(AlgorithmPolicy {
            allow_sha1: true,
            ..AlgorithmPolicy::default()
        });
        let v = run(&msg, None, &lax).unwrap();
        assert!(v.legacy_sha1 && v.signers[0].legacy_sha1);
        assert_eq!(v.signers[0].digest_algorithm, "SHA-1");
        assert!(v.statement.contains("SHA-1"));
    }
}

#[test]
fn validation_as_of_the_claimed_signing_time() {
    // Holder 4's certificate expired before `now`; it claims to have signed while it was valid.
    let h = holder(4);
    let c = Cert::from_der(&h.cert).unwrap();
    let claim = UnixTime(c.not_after.0 - 86_400);
    let msg = build(
        vec![signer(
            h,
            SigAlg::Ecdsa(HashAlg::Sha256),
            Some(AttrSpec {
                signing_time: Some(claim),
                ..AttrSpec::default()
            }),
        )],
        true,
    );
    assert_eq!(code(run(&msg, None, &opts())), "CERT_EXPIRED");
    let mut at_claim = opts();
    at_claim.at_signing_time = true;
    let v = run(&msg, None, &at_claim).unwrap();
    let s = &v.signers[0];
    assert_eq!(s.validation_time_source, "claimed-signing-time");
    assert_eq!(s.validation_time, claim.to_string());
    assert!(!s.signing_time.as_ref().unwrap().authenticated);
    let given = s.at_given_time.as_ref().unwrap();
    assert_eq!((given.valid, given.code), (false, Some("CERT_EXPIRED")));
    // The configured CRLs are newer than the claim: revocation is not checked at the claim...
    assert_eq!(serde_json::to_value(&s.revocation).unwrap()["status"], "not-checked");
    // ...but a revocation known now refuses the signature whatever the (unauthenticated) claim.
    let revoked = build(vec![signer(holder(3), SigAlg::Ecdsa(HashAlg::Sha256), attrs())], true);
    assert_eq!(code(run(&revoked, None, &at_claim)), "CERT_REVOKED");
    // Without a claim there is nothing to validate at.
    let none = build(vec![signer(h, SigAlg::Ecdsa(HashAlg::Sha256), None)], true);
    assert_eq!(code(run(&none, None, &at_claim)), "CMS_SIGNING_TIME_MISSING");
}

#[test]
fn input_forms() {
    use base64::Engine;
    let msg = build(vec![signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), attrs())], true);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&msg);
    let wrapped: String = b64
        .as_bytes()
        .chunks(64)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let pem = Registry::pem("PKCS7", &msg);
    for input in [b64.as_bytes(), wrapped.as_bytes(), pem.as_bytes()] {
        assert_eq!(code(run(input, None, &opts())), "ok");
    }
    assert_eq!(code(run(b"not base64 at all!", None, &opts())), "CMS_MALFORMED");
    assert_eq!(code(run(b"", None, &opts())), "CMS_MALFORMED");
}

#[test]
fn real_iranian_certificates_in_a_message() {
    // No private key of a real Iranian certificate is in hand, so no real signer chain can be
    // signed; what can be checked: a message carrying the real certificates (as Dastine's
    // would carry the chain) parses, its signer still verifies to the test root, and with only
    // the real roots configured the signer is untrusted (not accepted through them).
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/iran-roots");
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("skipped: {dir} not present");
        return;
    };
    let mut real = Vec::new();
    let mut iran_roots = TrustStore::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "pem") {
            let bytes = std::fs::read(&p).unwrap();
            let der = hoviat::pki::cert::pem_or_der(&bytes, &["CERTIFICATE"], 4, 65536).unwrap();
            real.extend(der);
            if p.file_name().unwrap().to_string_lossy().contains("root") {
                iran_roots.add_anchors(&bytes).unwrap();
            }
        }
    }
    assert_eq!(real.len(), 8);
    let s = signer(holder(0), SigAlg::RsaPkcs1(HashAlg::Sha256), attrs());
    let mut certs = real.clone();
    certs.push(holder(0).cert.clone());
    let msg = SignedDataBuilder {
        content: CONTENT.to_vec(),
        attached: true,
        certificates: certs,
        signers: vec![s],
        ..SignedDataBuilder::default()
    }
    .build();
    let sd = cms::SignedData::from_der(&msg).unwrap();
    assert_eq!(sd.certificates.len(), 9);
    assert!(run(&msg, None, &opts()).is_ok());
    let req = CmsRequest {
        signature: &msg,
        content: None,
        certificates: Vec::new(),
    };
    let r = cms::verify(&req, &iran_roots, &opts(), &hoviat::pki::RustCrypto);
    assert_eq!(code(r), "CERT_UNTRUSTED");
}

#[test]
fn hostile_inputs_give_codes_and_never_panic() {
    let msg = build(
        vec![
            signer(holder(0), SigAlg::RsaPkcs1(HashAlg::Sha256), attrs()),
            signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), None),
        ],
        true,
    );
    let store = trust();
    let o = opts();
    let verify = |m: &[u8]| {
        let req = CmsRequest {
            signature: m,
            content: None,
            certificates: Vec::new(),
        };
        cms::verify(&req, &store, &o, &hoviat::pki::RustCrypto)
    };
    // Every truncation.
    for n in 0..msg.len() {
        let r = verify(&msg[..n]);
        assert!(r.is_err(), "truncated to {n} accepted");
    }
    // Every single-byte corruption: never a panic, never accepted, except inside the OID of the
    // SignedData-level digestAlgorithms SET, which no signature covers and which RFC 5652 makes
    // informational (each SignerInfo names its own digest algorithm; OpenSSL ignores it too).
    let sha256_oid = hoviat_testkit::der::oid(&hoviat::pki::alg::oid::SHA256);
    let at = msg.windows(sha256_oid.len()).position(|w| w == sha256_oid).unwrap();
    let informational = at + 2..at + sha256_oid.len();
    for i in 0..msg.len() {
        let mut m = msg.clone();
        m[i] ^= 0x5a;
        if verify(&m).is_ok() {
            assert!(informational.contains(&i), "accepted with byte {i} changed");
        }
    }
    // Huge lengths.
    for m in [
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x06][..],
        &[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9][..],
        &[0x30, 0x80, 0x06, 0x09][..],
    ] {
        let e = verify(m).unwrap_err();
        assert_eq!(e.code(), "CMS_MALFORMED", "{m:02x?}");
    }
    // BER indefinite length is named as such.
    let e = verify(&[0x30, 0x80, 0x00, 0x00]).unwrap_err();
    assert!(e.to_string().contains("indefinite"), "{e}");
    // Deep nesting (no recursion on input structure).
    let mut deep = vec![0x05, 0x00];
    for _ in 0..20_000 {
        deep = hoviat_testkit::der::ctx(0, &deep);
    }
    let e = verify(&hoviat_testkit::der::seq(&[
        hoviat_testkit::der::oid(&cms::oid::SIGNED_DATA),
        deep,
    ]))
    .unwrap_err();
    assert_eq!(e.code(), "CMS_MALFORMED");
    // Not SignedData.
    let env = hoviat_testkit::der::seq(&[
        hoviat_testkit::der::oid(&const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3")),
        hoviat_testkit::der::ctx(0, &hoviat_testkit::der::seq(&[])),
    ]);
    assert_eq!(verify(&env).unwrap_err().code(), "CMS_NOT_SIGNED_DATA");
    // Too many signers.
    let s = signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), None);
    let many = build(vec![s; cms::MAX_SIGNERS + 1], true);
    assert_eq!(verify(&many).unwrap_err().code(), "CMS_TOO_LARGE");
    // No signers.
    let none = SignedDataBuilder {
        content: CONTENT.to_vec(),
        attached: true,
        ..SignedDataBuilder::default()
    }
    .build();
    assert_eq!(verify(&none).unwrap_err().code(), "CMS_NO_SIGNERS");
}

/// A minimal PDF with one signature dictionary, signed by `s` over its ByteRange (what a PDF
/// signer does: placeholder, byte range, detached CMS, hex into /Contents).
fn signed_pdf(s: SignerSpec<'static>, body: &str) -> Vec<u8> {
    let head = format!(
        "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n2 0 obj\n% {body}\nendobj\n3 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 0000000000 0000000000 0000000000] /Contents <"
    );
    let hex_len = 16384;
    let tail = ">\n>>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    let mut pdf = head.clone().into_bytes();
    pdf.extend(std::iter::repeat_n(b'0', hex_len));
    pdf.extend_from_slice(tail.as_bytes());
    let gap_start = head.len() - 1;
    let c = head.len() + hex_len + 1;
    let range = format!("[0 {gap_start:010} {c:010} {:010}]", pdf.len() - c);
    let at = pdf.windows(4).position(|w| w == b"[0 0").unwrap();
    pdf[at..at + range.len()].copy_from_slice(range.as_bytes());
    let content = [&pdf[..gap_start], &pdf[c..]].concat();
    let cms = SignedDataBuilder {
        content,
        attached: false,
        certificates: vec![s.cert.to_vec()],
        signers: vec![s],
        ..SignedDataBuilder::default()
    }
    .build();
    let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
    pdf[gap_start + 1..gap_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    pdf
}

#[test]
fn pdf_signatures() {
    use hoviat::cms::pdf;
    let s = signer(holder(0), SigAlg::RsaPkcs1(HashAlg::Sha256), attrs());
    let doc = signed_pdf(s.clone(), "قرارداد");
    let pdf_code = |d: &[u8]| match pdf::verify_pdf(d, &trust(), &opts(), &hoviat::pki::RustCrypto) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.code().to_string(),
    };
    let v = pdf::verify_pdf(&doc, &trust(), &opts(), &hoviat::pki::RustCrypto).unwrap();
    assert_eq!(v.signatures.len(), 1);
    assert!(v.signatures[0].covers_whole_file);
    assert!(!v.signatures[0].cms.content_attached);
    // A byte of the signed document changed.
    let mut changed = doc.clone();
    let at = changed.windows(8).position(|w| w == b"/Catalog").unwrap();
    changed[at + 1] = b'K';
    assert_eq!(pdf_code(&changed), "CMS_DIGEST_MISMATCH");
    // Bytes appended after the signature (an incremental update nobody signed).
    let mut appended = doc.clone();
    appended.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Evil true >>\nendobj\n%%EOF\n");
    assert_eq!(pdf_code(&appended), "PDF_MODIFIED_AFTER_SIGNING");
    // No signature; not a PDF; a ByteRange that leaves more than /Contents unsigned.
    assert_eq!(pdf_code(b"%PDF-1.7\n%%EOF\n"), "PDF_NO_SIGNATURE");
    assert_eq!(pdf_code(b"hello"), "PDF_MALFORMED");
    let mut widened = doc.clone();
    let at = widened.windows(4).position(|w| w == b"[0 0").unwrap();
    widened[at + 3..at + 13].copy_from_slice(b"0000000010");
    assert_eq!(pdf_code(&widened), "PDF_MALFORMED");
    // Truncations never panic.
    for n in (0..doc.len()).step_by(97) {
        assert_ne!(pdf_code(&doc[..n]), "ok");
    }
}

/// Re-encodes DER as BER the way streaming signers do: every constructed element with an
/// indefinite length, every OCTET STRING longer than 16 bytes as a constructed string of chunks.
fn to_ber(der: &[u8]) -> Vec<u8> {
    fn one(b: &[u8], at: usize, out: &mut Vec<u8>) -> usize {
        let tag = b[at];
        let l = b[at + 1];
        let (start, len) = if l < 0x80 {
            (at + 2, usize::from(l))
        } else {
            let n = usize::from(l & 0x7f);
            (
                at + 2 + n,
                b[at + 2..at + 2 + n].iter().fold(0, |a, &x| (a << 8) | usize::from(x)),
            )
        };
        let end = start + len;
        if tag & 0x20 != 0 {
            out.extend_from_slice(&[tag, 0x80]);
            let mut i = start;
            while i < end {
                i = one(b, i, out);
            }
            out.extend_from_slice(&[0, 0]);
        } else if tag == 0x04 && len > 16 {
            out.extend_from_slice(&[0x24, 0x80]);
            for c in b[start..end].chunks(16) {
                out.extend(hoviat_testkit::der::octets(c));
            }
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&b[at..end]);
        }
        end
    }
    let mut out = Vec::new();
    one(der, 0, &mut out);
    out
}

#[test]
fn ber_from_streaming_signers_is_read() {
    let msg = build(vec![signer(holder(1), SigAlg::Ecdsa(HashAlg::Sha256), attrs())], true);
    let ber = to_ber(&msg);
    assert_ne!(ber, msg);
    assert_eq!(cms::ber::to_der(&ber).unwrap(), msg);
    let v = run(&ber, None, &opts()).unwrap();
    assert_eq!(v.content_length, CONTENT.len());
    // A BER message changed after signing is still refused.
    let mut bad = ber.clone();
    let at = bad.windows(4).position(|w| w == &CONTENT[..4]).unwrap();
    bad[at] ^= 1;
    assert_eq!(code(run(&bad, None, &opts())), "CMS_DIGEST_MISMATCH");
    // Depth and truncation limits of the conversion.
    let mut deep = Vec::new();
    for _ in 0..100 {
        deep.extend_from_slice(&[0x30, 0x80]);
    }
    deep.extend(std::iter::repeat_n(0u8, 200));
    assert!(cms::ber::to_der(&deep).is_err());
    for n in 0..ber.len() {
        assert!(run(&ber[..n], None, &opts()).is_err());
    }
}
