//! CMS (PKCS#7) signature verification for the relying party (issue 19): the signatures
//! portals collect through Dastine, and signed PDFs, verified by the core
//! ([`hoviat::cms::verify`], [`hoviat::cms::pdf::verify_pdf`]) with the service's own trust
//! configuration, clock and revocation fetcher: each signer's certificate gets its revocation
//! the way a login's holder does ([`crate::revocation::Revocation::for_login`]: OCSP from its
//! authorityInfoAccess or the configured responder, CRLs from its distribution points, cached,
//! fail closed).
//!
//! As for tokens, nothing is fetched for a message that does not verify: the core first
//! verifies every signer's signature and path against the configured anchors (and configured
//! CRLs) without fetching; only then is revocation gathered for each signer's certificate, and
//! the message verified again with it (so a forged message cannot make the server ask
//! responders for arbitrary certificates, and a revoked signer is refused with `CERT_REVOKED`).
//!
//! With [`SignatureOptions::at_signing_time`], the path is validated as of each signer's
//! claimed signingTime (the signer's unauthenticated claim, labelled so). CRLs fetched now are
//! handed to the core, which judges revocation at the given time; OCSP answers fetched now are
//! judged here at the given time (a revoked or unknown signer is refused whatever it claims),
//! since an answer produced now says nothing about the validity window at the claim. With
//! required revocation, a fetched and verified answer or list then stands for the coverage the
//! claim-time validation would otherwise demand (a list issued after the claim cannot be
//! applied at it).

use std::sync::Arc;

use hoviat::cms::pdf::{VerifiedPdf, find_signatures};
use hoviat::cms::{CmsError, CmsOptions, CmsRequest, VerifiedCms};
use hoviat::pki::alg::SignatureBackend;
use hoviat::pki::ocsp::{self, CertStatus, OcspCheck, OcspConfig};
use hoviat::pki::{AlgorithmPolicy, Cert, EkuRequirement, PkiError, TrustStore};
use hoviat::time::UnixTime;

use crate::ChallengeService;

/// Options of one signature verification (the service supplies trust, clock and revocation).
#[derive(Clone, Debug, Default)]
pub struct SignatureOptions {
    /// Accept SHA-1 (the signer's digest and certificate signatures) for legacy documents:
    /// Dastine's `CmsSign` defaults to SHA-1. Off by default: `ALGORITHM_DISALLOWED`. The
    /// result says `legacySha1` when it was accepted.
    pub allow_sha1: bool,
    /// Validate each signer's path as of its claimed signingTime (labelled as the signer's
    /// unauthenticated claim; the verdict now is reported beside it). A signer without
    /// signingTime: `CMS_SIGNING_TIME_MISSING`.
    pub at_signing_time: bool,
    /// Certificates to find signers and intermediates in, besides those in the message.
    pub certificates: Vec<Arc<Cert>>,
    /// Extended key usage the signer certificates must allow (default: any).
    pub eku: Option<EkuRequirement>,
}

/// Merges one signer's fetched revocation into what the message gets.
#[derive(Default)]
struct Gathered {
    crls: Vec<Arc<hoviat::pki::Crl>>,
    ocsp: Option<OcspConfig>,
    skipped: Vec<String>,
}

impl ChallengeService {
    fn cms_options(&self, at: UnixTime, opts: &SignatureOptions) -> CmsOptions {
        let mut o = CmsOptions::new(at).with_policy(AlgorithmPolicy {
            allow_sha1: opts.allow_sha1,
            ..AlgorithmPolicy::default()
        });
        o.at_signing_time = opts.at_signing_time;
        if let Some(e) = &opts.eku {
            o.path.eku = e.clone();
        }
        o
    }

    /// Verifies a CMS SignedData (DER, PEM or base64 text, as Dastine returns it) over
    /// `content` (for a detached signature; for an attached one it may be given and must then
    /// be equal) with this service's anchors, clock and revocation. The result is the core's
    /// ([`VerifiedCms`]: every signer, its chain, revocation source, signingTime claim and
    /// whether SHA-1 was accepted); an error has its stable code ([`Coded`]).
    pub fn verify_signature(
        &self,
        cms: &[u8],
        content: Option<&[u8]>,
        opts: &SignatureOptions,
    ) -> Result<VerifiedCms, CmsError> {
        let req = CmsRequest {
            signature: cms,
            content,
            certificates: opts.certificates.clone(),
        };
        self.verify_cms_at((self.clock)(), &req, opts)
    }

    /// Verifies every signature of a PDF (`/ByteRange` + detached CMS) as
    /// [`ChallengeService::verify_signature`] does; the signature reaching furthest must cover
    /// the whole file (`PDF_MODIFIED_AFTER_SIGNING` otherwise).
    pub fn verify_pdf_signatures(&self, pdf: &[u8], opts: &SignatureOptions) -> Result<VerifiedPdf, CmsError> {
        let at = (self.clock)();
        let sigs = find_signatures(pdf)?;
        if !sigs.iter().any(|s| s.covers_to_end(pdf.len())) {
            return Err(CmsError::PdfModifiedAfterSigning);
        }
        // The core's own PDF verification first (no fetching), then each CMS with revocation.
        let trust = self.trust();
        let mut first = self.cms_options(at, opts);
        first.path.require_revocation = self.require_revocation && !self.revocation.is_active();
        let mut verified = hoviat::cms::pdf::verify_pdf(pdf, &trust, &first, hoviat::pki::alg::default_backend())?;
        if !self.revocation.is_active() {
            return Ok(verified);
        }
        for (s, out) in sigs.iter().zip(verified.signatures.iter_mut()) {
            let content = s.signed_bytes(pdf);
            let req = CmsRequest {
                signature: &s.cms,
                content: Some(&content),
                certificates: Vec::new(),
            };
            out.cms = self.verify_cms_at(at, &req, opts)?;
        }
        Ok(verified)
    }

    fn verify_cms_at(
        &self,
        at: UnixTime,
        req: &CmsRequest<'_>,
        opts: &SignatureOptions,
    ) -> Result<VerifiedCms, CmsError> {
        let backend = hoviat::pki::alg::default_backend();
        let trust = self.trust();
        let mut options = self.cms_options(at, opts);
        if !self.revocation.is_active() {
            options.path.require_revocation = self.require_revocation;
            return hoviat::cms::verify(req, &trust, &options, backend);
        }
        // Signatures and paths first, nothing fetched.
        let first = hoviat::cms::verify(req, &trust, &options, backend)?;
        let signers = signer_certificates(req, &first)?;
        let mut got = Gathered::default();
        for (i, cert) in &signers {
            let rev = self
                .revocation
                .for_login(&trust, cert.der(), at, &options.path.policy, backend)
                .map_err(|error| CmsError::Pki {
                    signer: Some(*i),
                    error,
                })?;
            got.crls.extend(rev.crls);
            got.skipped.extend(rev.skipped);
            if let Some(o) = rev.ocsp {
                match &mut got.ocsp {
                    Some(m) => m.responses.extend(o.responses),
                    None => got.ocsp = Some(o),
                }
            }
        }
        options.path.require_revocation = self.require_revocation;
        // Revocation data was fetched and no source was skipped: it must cover every signer
        // (as for a login's holder: an answer that covers nothing is REVOCATION_UNKNOWN).
        if (!got.crls.is_empty() || got.ocsp.is_some()) && got.skipped.is_empty() {
            options.path.require_revocation = true;
        }
        let trust = if got.crls.is_empty() {
            trust
        } else {
            Arc::new(trust.with_fresh_crls(&got.crls))
        };
        if options.at_signing_time {
            // What was fetched is about now. CRLs go to the core, which judges revocation at the
            // given time (a list issued after the claim cannot be applied at it, and a
            // revocation it knows refuses the signer whatever the claim); OCSP answers are judged
            // here at the given time. The claim-time validation is then not made to require
            // what only those sources (now) vouch for: with required revocation, a signer is
            // accepted as of its claim when a fetched answer or list about it was verified.
            options.path.require_revocation = self.require_revocation;
            let mut ocsp_covered = got.ocsp.is_some();
            if let Some(cfg) = &got.ocsp {
                for (i, cert) in &signers {
                    ocsp_covered &= ocsp_now(*i, cert, cfg, &trust, at, &options.path.policy, backend)?;
                }
            }
            if (ocsp_covered || !got.crls.is_empty()) && got.skipped.is_empty() {
                options.path.require_revocation = false;
            }
            return hoviat::cms::verify(req, &trust, &options, backend);
        }
        options.path.ocsp = got.ocsp;
        hoviat::cms::verify(req, &trust, &options, backend)
    }
}

/// Each verified signer's certificate (by its index), found again among the message's and the
/// supplied certificates by the SHA-256 the core reported.
fn signer_certificates(req: &CmsRequest<'_>, verified: &VerifiedCms) -> Result<Vec<(usize, Arc<Cert>)>, CmsError> {
    let der = hoviat::cms::decode_input(req.signature)?;
    let sd = match hoviat::cms::SignedData::from_der(&der) {
        Ok(sd) => sd,
        Err(e) => match hoviat::cms::ber::to_der(&der) {
            Ok(d) => hoviat::cms::SignedData::from_der(&d).map_err(|_| e)?,
            Err(_) => return Err(e),
        },
    };
    let pool: Vec<&Arc<Cert>> = sd.certificates.iter().chain(&req.certificates).collect();
    verified
        .signers
        .iter()
        .map(|s| {
            pool.iter()
                .find(|c| hoviat::identity::CertificateSummary::from_cert(c).sha256 == s.certificate.sha256)
                .map(|c| (s.index, Arc::clone(c)))
                .ok_or_else(|| CmsError::SignerNotFound {
                    signer: s.index,
                    sid: s.signer_id.clone(),
                })
        })
        .collect()
}

/// The signer's OCSP status now, from the fetched answers: revoked is `CERT_REVOKED`, unknown
/// `OCSP_CERT_UNKNOWN`, an answer that does not verify its `OCSP_*` code; `Ok(true)` when good.
/// No answer names it: `Ok(false)` (the core's CRL check and `require_revocation` decide).
fn ocsp_now(
    i: usize,
    cert: &Cert,
    cfg: &OcspConfig,
    trust: &TrustStore,
    at: UnixTime,
    policy: &AlgorithmPolicy,
    backend: &dyn SignatureBackend,
) -> Result<bool, CmsError> {
    let err = |error: PkiError| CmsError::Pki { signer: Some(i), error };
    for issuer in trust.issuers_of(cert) {
        for resp in &cfg.responses {
            if resp.find(cert, &issuer).map_err(err)?.is_none() {
                continue;
            }
            let chk = OcspCheck {
                cert,
                issuer: &issuer,
                nonce: cfg.nonce.as_deref(),
                at,
                options: &cfg.options,
                policy,
                backend,
            };
            let v = ocsp::verify(resp, &chk).map_err(err)?;
            return match v.status {
                CertStatus::Good => Ok(true),
                CertStatus::Revoked { time, .. } => Err(err(PkiError::Revoked {
                    subject: cert.subject.to_string(),
                    serial: cert.serial_hex(),
                    date: time.to_string(),
                })),
                CertStatus::Unknown => Err(err(PkiError::OcspCertUnknown {
                    subject: cert.subject.to_string(),
                })),
            };
        }
    }
    Ok(false)
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    //! Against real parts: CMS made by `openssl cms -sign` with the test registry's keys, and
    //! revocation answered by a real `openssl ocsp` responder on 127.0.0.1 that the kit finds
    //! through each signer certificate's authorityInfoAccess.
    use super::*;
    use crate::revocation::{OcspPolicy, Revocation};
    use hoviat::Coded;
    use hoviat::token::{MemoryNonceStore, Origin};
    use hoviat_testkit::{Registry, TestHolder};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};

    /// A scratch directory removed at the end.
    struct Dir(PathBuf);
    impl Dir {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!("hoviat-rp-sig-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `openssl ocsp` serving `index.txt` for one CA; stopped (by its own pid) when dropped.
    struct Responder {
        child: Child,
        port: u16,
    }
    impl Responder {
        fn start(dir: &Path) -> Self {
            let log = std::fs::File::create(dir.join("responder.log")).unwrap();
            let child = Command::new("openssl")
                .current_dir(dir)
                .args(["ocsp", "-port", "0", "-index", "index.txt", "-CA", "ca.pem"])
                .args(["-rsigner", "ca.pem", "-rkey", "ca.key", "-ndays", "1", "-ignore_err"])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .expect("openssl ocsp");
            // Wait for the ACCEPT line (never a bare connect: it sends the responder spinning).
            for _ in 0..400 {
                let text = std::fs::read_to_string(dir.join("responder.log")).unwrap_or_default();
                if let Some(l) = text.lines().find(|l| l.starts_with("ACCEPT")) {
                    let port = l
                        .split_whitespace()
                        .nth(1)
                        .and_then(|a| a.rsplit(':').next())
                        .and_then(|p| p.parse().ok())
                        .unwrap();
                    return Self { child, port };
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "responder did not start: {}",
                std::fs::read_to_string(dir.join("responder.log")).unwrap_or_default()
            );
        }
    }
    impl Drop for Responder {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn write_holder(dir: &Path, name: &str, h: &TestHolder) {
        std::fs::write(dir.join(format!("{name}.pem")), Registry::pem("CERTIFICATE", &h.cert)).unwrap();
        std::fs::write(
            dir.join(format!("{name}.key")),
            hoviat_testkit::cms::private_key_pem(&h.key),
        )
        .unwrap();
    }

    /// `openssl cms -sign` of content.txt by `name`; DER.
    fn sign(dir: &Path, name: &str, extra: &[&str]) -> Vec<u8> {
        let out = format!("{name}-{}.der", extra.join("").replace('-', ""));
        let mut args = vec![
            "cms",
            "-sign",
            "-binary",
            "-in",
            "content.txt",
            "-outform",
            "DER",
            "-out",
            &out,
        ];
        let (signer, key) = (format!("{name}.pem"), format!("{name}.key"));
        args.extend(["-signer", &signer, "-inkey", &key]);
        args.extend(extra);
        openssl(dir, &args);
        std::fs::read(dir.join(&out)).unwrap()
    }

    /// Anchors and intermediates only: revocation can come from the fetcher alone.
    fn trust_without_crls(reg: &Registry) -> TrustStore {
        let mut t = TrustStore::new();
        t.add_anchor_cert(Arc::new(Cert::from_der(&reg.root.cert).unwrap()));
        for ca in &reg.cas {
            t.add_intermediate_cert(Arc::new(Cert::from_der(&ca.cert).unwrap()));
        }
        t
    }

    fn service(reg: &Registry, rev: Revocation, require: bool) -> ChallengeService {
        ChallengeService::new(
            Origin::parse("https://bank.example.ir").unwrap(),
            trust_without_crls(reg),
            Arc::new(MemoryNonceStore::default()),
        )
        .with_required_revocation(require)
        .with_revocation(rev)
    }

    fn code<T>(r: Result<T, CmsError>) -> String {
        match r {
            Ok(_) => "verified".into(),
            Err(e) => e.code().into(),
        }
    }

    /// A signer of the testkit's CMS builder (EC holders), claiming signingTime `t`.
    fn signer_at(h: &TestHolder, t: UnixTime) -> hoviat_testkit::cms::SignerSpec<'_> {
        use hoviat::pki::alg::{HashAlg, SigAlg};
        let hash = match h.key {
            hoviat_testkit::PrivateKey::P384(_) => HashAlg::Sha384,
            _ => HashAlg::Sha256,
        };
        hoviat_testkit::cms::SignerSpec {
            cert: &h.cert,
            key: &h.key,
            alg: SigAlg::Ecdsa(hash),
            rsa_encryption_oid: false,
            sid: hoviat_testkit::cms::Sid::IssuerSerial,
            signed_attrs: Some(hoviat_testkit::cms::AttrSpec {
                signing_time: Some(t),
                ..Default::default()
            }),
        }
    }

    /// A minimal PDF with one signature dictionary signed by `s` over its ByteRange (what a PDF
    /// signer does: placeholder, byte range, detached CMS, hex into /Contents).
    fn signed_pdf(s: hoviat_testkit::cms::SignerSpec<'_>) -> Vec<u8> {
        let head = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n3 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 0000000000 0000000000 0000000000] /Contents <";
        let hex_len = 16384;
        let tail = ">\n>>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
        let mut pdf = head.as_bytes().to_vec();
        pdf.extend(std::iter::repeat_n(b'0', hex_len));
        pdf.extend_from_slice(tail.as_bytes());
        let gap_start = head.len() - 1;
        let c = head.len() + hex_len + 1;
        let range = format!("[0 {gap_start:010} {c:010} {:010}]", pdf.len() - c);
        let at = pdf.windows(4).position(|w| w == b"[0 0").unwrap();
        pdf[at..at + range.len()].copy_from_slice(range.as_bytes());
        let content = [&pdf[..gap_start], &pdf[c..]].concat();
        let cms = hoviat_testkit::cms::SignedDataBuilder {
            content,
            attached: false,
            certificates: vec![s.cert.to_vec()],
            signers: vec![s],
            ..Default::default()
        }
        .build();
        let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
        pdf[gap_start + 1..gap_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        pdf
    }

    /// A real HTTP server on 127.0.0.1 answering every request with `body` (a CRL).
    fn serve(body: Vec<u8>) -> String {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    req.extend_from_slice(&buf[..n]);
                    if n == 0 || req.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let _ = s.write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
                let _ = s.write_all(&body);
            }
        });
        format!("http://127.0.0.1:{port}/ca.crl")
    }

    /// CRLs from the signer certificate's distribution point, fetched by the kit: the RSA CA's
    /// list revokes holder 3 (the kit alone knows: no CRL is configured).
    #[test]
    fn cms_signers_get_crls_from_their_distribution_points() {
        let reg = Registry::generate_light("rp-signature-crl", UnixTime::now());
        let url = serve(reg.crls[0].clone());
        let good = reg.holder_with_urls(0, Some(&url), None).unwrap();
        let revoked = reg.holder_with_urls(3, Some(&url), None).unwrap();
        let claim = UnixTime(UnixTime::now().0 - 30 * 86_400);
        let msg = |h: &TestHolder| {
            hoviat_testkit::cms::SignedDataBuilder {
                content: b"sanad".to_vec(),
                attached: true,
                certificates: vec![h.cert.clone()],
                signers: vec![signer_at(h, claim)],
                ..Default::default()
            }
            .build()
        };
        let svc = service(
            &reg,
            Revocation::none().with_crl_fetch(crate::revocation::CrlFetchPolicy::default()),
            true,
        );
        let now = SignatureOptions::default();
        let at_claim = SignatureOptions {
            at_signing_time: true,
            ..SignatureOptions::default()
        };
        let v = svc.verify_signature(&msg(&good), None, &now).unwrap();
        assert_eq!(
            serde_json::to_value(&v).unwrap()["signers"][0]["revocation"]["source"],
            "crl"
        );
        assert_eq!(code(svc.verify_signature(&msg(&revoked), None, &now)), "CERT_REVOKED");
        // As of a month-old claim: the list (issued now) still refuses the revoked signer.
        let v = svc.verify_signature(&msg(&good), None, &at_claim).unwrap();
        assert_eq!(v.signers[0].validation_time_source, "claimed-signing-time");
        assert_eq!(
            code(svc.verify_signature(&msg(&revoked), None, &at_claim)),
            "CERT_REVOKED"
        );
        assert_eq!(
            code(service(&reg, Revocation::none(), true).verify_signature(&msg(&good), None, &now)),
            "REVOCATION_UNKNOWN"
        );
    }

    /// The openssl responder and `openssl cms` use the wall clock, so the registry is made
    /// around it (every time relative to the run's own clock).
    #[test]
    fn cms_signers_get_revocation_like_login_holders() {
        let dir = Dir::new("ocsp");
        let d = &dir.0;
        let reg = Registry::generate_light("rp-signature", UnixTime::now());
        let ca = &reg.cas[1];
        std::fs::write(d.join("ca.pem"), Registry::pem("CERTIFICATE", &ca.cert)).unwrap();
        std::fs::write(d.join("ca.key"), hoviat_testkit::cms::private_key_pem(&ca.key)).unwrap();
        std::fs::write(d.join("content.txt"), "قرارداد شماره ۱۲ — signed by the holder\n").unwrap();
        // Holders 1 and 2 are issued by CA 1; the responder says 2 is revoked, 1 good.
        let serial_of = |name: &str| {
            let s = String::from_utf8(openssl(
                d,
                &["x509", "-in", &format!("{name}.pem"), "-noout", "-serial"],
            ))
            .unwrap();
            s.trim().trim_start_matches("serial=").to_string()
        };
        let (good0, revoked0) = (reg.holders[1].clone(), reg.holders[2].clone());
        write_holder(d, "good", &good0);
        write_holder(d, "revoked", &revoked0);
        let exp = "491231235959Z";
        let rev_at = "240101000000Z";
        let index = format!(
            "V\t{exp}\t\t{}\tunknown\t/CN=good\nR\t{exp}\t{rev_at},keyCompromise\t{}\tunknown\t/CN=revoked\n",
            serial_of("good"),
            serial_of("revoked")
        );
        std::fs::write(d.join("index.txt"), index).unwrap();
        let responder = Responder::start(d);
        let url = format!("http://127.0.0.1:{}/", responder.port);
        // The same holders reissued (same serial and key) with the responder in their AIA.
        let good = reg.holder_with_urls(1, None, Some(&url)).unwrap();
        let revoked = reg.holder_with_urls(2, None, Some(&url)).unwrap();
        write_holder(d, "good", &good);
        write_holder(d, "revoked", &revoked);
        let content = std::fs::read(d.join("content.txt")).unwrap();
        let good_det = sign(d, "good", &[]);
        let good_sha1 = sign(d, "good", &["-nodetach", "-md", "sha1"]);
        let revoked_det = sign(d, "revoked", &[]);
        let opts = SignatureOptions::default();

        let svc = service(&reg, Revocation::none().with_ocsp(OcspPolicy::default()), false);
        // A good signer: verified, revocation by the responder's answer.
        let v = svc.verify_signature(&good_det, Some(&content), &opts).unwrap();
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["signers"][0]["revocation"]["source"], "ocsp", "{j}");
        assert_eq!(j["signers"][0]["revocation"]["status"], "good", "{j}");
        assert_eq!(
            v.signers[0].holder.national_code.as_deref(),
            Some(good.national_code.as_str())
        );
        assert!(!v.legacy_sha1);
        // Base64 text (as Dastine returns it) too; the second answer comes from the cache.
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &good_det);
        svc.verify_signature(b64.as_bytes(), Some(&content), &opts).unwrap();
        assert_eq!(svc.revocation().stats().ocsp_fetches, 1);
        assert!(svc.revocation().stats().ocsp_cache_hits >= 1);
        // The revoked signer: refused through the kit's revocation path...
        assert_eq!(
            code(svc.verify_signature(&revoked_det, Some(&content), &opts)),
            "CERT_REVOKED"
        );
        // ...which alone knows (no CRL is configured): without it the signature verifies, and
        // with required revocation it is refused as unknown.
        let plain = service(&reg, Revocation::none(), false);
        let v = plain.verify_signature(&revoked_det, Some(&content), &opts).unwrap();
        assert_eq!(
            serde_json::to_value(&v).unwrap()["signers"][0]["revocation"]["status"],
            "not-checked"
        );
        let strict = service(&reg, Revocation::none(), true);
        assert_eq!(
            code(strict.verify_signature(&revoked_det, Some(&content), &opts)),
            "REVOCATION_UNKNOWN"
        );
        // Also when validated as of the claimed signing time: the answer about now decides.
        let at_claim = SignatureOptions {
            at_signing_time: true,
            ..SignatureOptions::default()
        };
        assert_eq!(
            code(svc.verify_signature(&revoked_det, Some(&content), &at_claim)),
            "CERT_REVOKED"
        );
        let v = svc.verify_signature(&good_det, Some(&content), &at_claim).unwrap();
        assert_eq!(v.signers[0].validation_time_source, "claimed-signing-time");
        // A document signed a month ago (signingTime claimed so), validated as of the claim:
        // the answer about now still refuses the revoked signer, and passes the good one.
        let month_ago = UnixTime(UnixTime::now().0 - 30 * 86_400);
        let old = |hs: &[&TestHolder]| {
            hoviat_testkit::cms::SignedDataBuilder {
                content: content.clone(),
                attached: true,
                certificates: hs.iter().map(|h| h.cert.clone()).collect(),
                signers: hs.iter().map(|h| signer_at(h, month_ago)).collect(),
                ..Default::default()
            }
            .build()
        };
        let v = svc.verify_signature(&old(&[&good]), None, &at_claim).unwrap();
        assert_eq!(v.signers[0].validation_time, month_ago.to_string());
        assert_eq!(v.signers[0].validation_time_source, "claimed-signing-time");
        assert_eq!(
            code(svc.verify_signature(&old(&[&revoked]), None, &at_claim)),
            "CERT_REVOKED"
        );
        svc.verify_signature(&old(&[&good]), None, &opts).unwrap();
        // Two signers: each gets its revocation; the revoked second one refuses the message.
        let two = old(&[&good, &revoked]);
        let e = svc.verify_signature(&two, None, &opts).unwrap_err();
        assert_eq!((e.code(), e.signer()), ("CERT_REVOKED", Some(1)));
        // Signed PDFs: each signature's signer gets its revocation the same way.
        let now = UnixTime::now();
        let pdf = signed_pdf(signer_at(&good, now));
        let v = svc.verify_pdf_signatures(&pdf, &opts).unwrap();
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["signatures"][0]["coversWholeFile"], true);
        assert_eq!(
            j["signatures"][0]["cms"]["signers"][0]["revocation"]["source"], "ocsp",
            "{j}"
        );
        let pdf_revoked = signed_pdf(signer_at(&revoked, now));
        assert_eq!(code(svc.verify_pdf_signatures(&pdf_revoked, &opts)), "CERT_REVOKED");
        assert!(plain.verify_pdf_signatures(&pdf_revoked, &opts).is_ok());
        let mut appended = pdf.clone();
        appended.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Evil true >>\nendobj\n%%EOF\n");
        assert_eq!(
            code(svc.verify_pdf_signatures(&appended, &opts)),
            "PDF_MODIFIED_AFTER_SIGNING"
        );
        // SHA-1: refused by default, accepted with the opt-in and reported.
        assert_eq!(
            code(svc.verify_signature(&good_sha1, None, &opts)),
            "ALGORITHM_DISALLOWED"
        );
        let legacy = SignatureOptions {
            allow_sha1: true,
            ..SignatureOptions::default()
        };
        let v = svc.verify_signature(&good_sha1, None, &legacy).unwrap();
        assert!(v.legacy_sha1 && v.signers[0].legacy_sha1);
        assert!(v.statement.contains("SHA-1"), "{}", v.statement);
        // A message that does not verify makes the server fetch nothing.
        let fetches = svc.revocation().stats().ocsp_fetches;
        let fresh = service(&reg, Revocation::none().with_ocsp(OcspPolicy::default()), false);
        let mut changed = content.clone();
        changed[0] ^= 1;
        assert_eq!(
            code(fresh.verify_signature(&good_det, Some(&changed), &opts)),
            "CMS_DIGEST_MISMATCH"
        );
        assert_eq!(
            code(fresh.verify_signature(&revoked_det[..revoked_det.len() - 9], Some(&content), &opts)),
            "CMS_MALFORMED"
        );
        assert_eq!(fresh.revocation().stats().ocsp_fetches, 0);
        assert_eq!(svc.revocation().stats().ocsp_fetches, fetches);
        // The responder down: fail closed with its code.
        drop(responder);
        let down = service(&reg, Revocation::none().with_ocsp(OcspPolicy::default()), false);
        assert_eq!(
            code(down.verify_signature(&good_det, Some(&content), &opts)),
            "OCSP_RESPONDER_UNREACHABLE"
        );
    }
}
