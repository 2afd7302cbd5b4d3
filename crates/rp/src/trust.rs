//! Trust configuration: anchors from files only; intermediates and CRLs from files or `http://`
//! URLs fetched by the server (with a timeout and a size limit). Everything fetched is verified
//! before it counts: an intermediate only through a path to a configured anchor, a CRL only by
//! its issuer's signature, so the network can delay a login, never forge one.

use std::path::PathBuf;
use std::time::Duration;

use hoviat::pki::{PkiError, TrustStore};

/// Where one item of trust configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A PEM or DER file.
    File(PathBuf),
    /// An `http://` URL.
    Url(String),
}

impl Source {
    /// `http://` and `https://` are URLs; anything else is a file path.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("http://") || s.starts_with("https://") {
            Source::Url(s.to_string())
        } else {
            Source::File(PathBuf::from(s))
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Url(u) => u.clone(),
        }
    }
}

/// Why the trust configuration could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrustConfigError {
    /// A file could not be read (`IO_ERROR`).
    Io(String),
    /// A URL could not be fetched (`TRUST_FETCH_FAILED`).
    Fetch(String),
    /// A trust anchor was given as a URL (`TRUST_ANCHOR_NOT_FILE`).
    AnchorNotFile(String),
    /// No trust anchor configured (`TRUST_ANCHOR_MISSING`).
    NoAnchor,
    /// An item did not parse (its own code, e.g. `CERT_MALFORMED`, `CRL_MALFORMED`).
    Pki(String, PkiError),
}

impl std::fmt::Display for TrustConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(d) => write!(f, "cannot read trust configuration: {d}"),
            Self::Fetch(d) => write!(f, "cannot fetch trust configuration: {d}"),
            Self::AnchorNotFile(u) => write!(
                f,
                "trust anchor {u} is a URL: anchors are read from files only (fetching them would make the network the root of trust)"
            ),
            Self::NoAnchor => f.write_str("no trust anchor configured"),
            Self::Pki(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

impl std::error::Error for TrustConfigError {}

impl hoviat::Coded for TrustConfigError {
    fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "IO_ERROR",
            Self::Fetch(_) => "TRUST_FETCH_FAILED",
            Self::AnchorNotFile(_) => "TRUST_ANCHOR_NOT_FILE",
            Self::NoAnchor => "TRUST_ANCHOR_MISSING",
            Self::Pki(_, e) => hoviat::Coded::code(e),
        }
    }
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Fetch(_))
    }
}

/// What a relying party trusts, and where each item comes from.
#[derive(Clone, Debug)]
pub struct TrustConfig {
    /// Trust anchors (files only).
    pub anchors: Vec<Source>,
    /// Intermediate CAs (files or `http://` URLs).
    pub intermediates: Vec<Source>,
    /// CRLs (files or `http://` URLs).
    pub crls: Vec<Source>,
    /// Time allowed for each fetch.
    pub fetch_timeout: Duration,
    /// Largest item read (bytes).
    pub max_bytes: usize,
}

impl Default for TrustConfig {
    fn default() -> Self {
        Self {
            anchors: Vec::new(),
            intermediates: Vec::new(),
            crls: Vec::new(),
            fetch_timeout: Duration::from_secs(10),
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

impl TrustConfig {
    fn read(&self, s: &Source) -> Result<Vec<u8>, TrustConfigError> {
        match s {
            Source::File(p) => {
                let meta = std::fs::metadata(p).map_err(|e| TrustConfigError::Io(format!("{}: {e}", p.display())))?;
                if meta.len() > self.max_bytes as u64 {
                    return Err(TrustConfigError::Io(format!(
                        "{}: larger than {} bytes",
                        p.display(),
                        self.max_bytes
                    )));
                }
                std::fs::read(p).map_err(|e| TrustConfigError::Io(format!("{}: {e}", p.display())))
            }
            Source::Url(u) => super::http::http_get(u, self.fetch_timeout, self.max_bytes)
                .map_err(|e| TrustConfigError::Fetch(format!("{u}: {e}"))),
        }
    }

    /// Reads and fetches everything into a trust store (fetched intermediates validated now).
    pub fn load(&self) -> Result<TrustStore, TrustConfigError> {
        self.load_at(hoviat::time::UnixTime::now())
    }

    /// [`TrustConfig::load`], validating fetched intermediates at `at`.
    pub fn load_at(&self, at: hoviat::time::UnixTime) -> Result<TrustStore, TrustConfigError> {
        if self.anchors.is_empty() {
            return Err(TrustConfigError::NoAnchor);
        }
        let mut t = TrustStore::new();
        for a in &self.anchors {
            if let Source::Url(u) = a {
                return Err(TrustConfigError::AnchorNotFile(u.clone()));
            }
            let b = self.read(a)?;
            t.add_anchors(&b).map_err(|e| TrustConfigError::Pki(a.describe(), e))?;
        }
        let mut fetched = Vec::new();
        for i in &self.intermediates {
            let b = self.read(i)?;
            match i {
                Source::File(_) => {
                    t.add_intermediates(&b)
                        .map_err(|e| TrustConfigError::Pki(i.describe(), e))?;
                }
                Source::Url(_) => fetched.push((i, b)),
            }
        }
        self.add_fetched_intermediates(&mut t, fetched, at)?;
        for c in &self.crls {
            let b = self.read(c)?;
            t.add_crls(&b).map_err(|e| TrustConfigError::Pki(c.describe(), e))?;
        }
        Ok(t)
    }
}

impl TrustConfig {
    /// Adds intermediates fetched over the network only once each is validated as a CA under
    /// what is already trusted: a path to a configured anchor (through configured or already
    /// accepted intermediates), basicConstraints cA, keyCertSign when keyUsage is present, valid
    /// at `at`. An intermediate decides which certificates chain and which URLs the server
    /// follows for their revocation, so one the network made up must not count. Several
    /// fetched intermediates may depend on one another, in any order.
    fn add_fetched_intermediates(
        &self,
        t: &mut TrustStore,
        fetched: Vec<(&Source, Vec<u8>)>,
        at: hoviat::time::UnixTime,
    ) -> Result<(), TrustConfigError> {
        let mut pending = Vec::new();
        for (src, bytes) in fetched {
            let mut one = TrustStore::new();
            one.add_intermediates(&bytes)
                .map_err(|e| TrustConfigError::Pki(src.describe(), e))?;
            for c in one.intermediates() {
                pending.push((src, std::sync::Arc::clone(c)));
            }
        }
        let opts = hoviat::pki::PathOptions::client_auth(at);
        let backend = hoviat::pki::alg::default_backend();
        while !pending.is_empty() {
            let mut first_err = None;
            let before = pending.len();
            pending.retain(|(src, c)| match t.validate_ca(c, &opts, backend) {
                Ok(_) => {
                    t.add_intermediate_cert(std::sync::Arc::clone(c));
                    false
                }
                Err(e) => {
                    first_err.get_or_insert_with(|| TrustConfigError::Pki(src.describe(), e));
                    true
                }
            });
            if pending.len() == before {
                return Err(first_err.unwrap_or(TrustConfigError::NoAnchor));
            }
        }
        Ok(())
    }
}

/// The trust configuration of a test registry (root as anchor, CAs as intermediates, their
/// CRLs): what a demo server trusts to accept the virtual card.
#[cfg(feature = "testkit")]
pub fn demo_trust(reg: &hoviat_testkit::Registry) -> Result<TrustStore, PkiError> {
    let mut t = TrustStore::new();
    t.add_anchors(&reg.root.cert)?;
    for ca in &reg.cas {
        t.add_intermediates(&ca.cert)?;
    }
    for crl in &reg.crls {
        t.add_crls(crl)?;
    }
    Ok(t)
}

/// The virtual card's registry for `now`: `Registry::generate_light("hoviat-virtual", day)`
/// with `day` the start of `now`'s UTC day, as the npm package's virtual card makes it.
#[cfg(feature = "testkit")]
pub fn virtual_card_registry(seed: &str, now: hoviat::time::UnixTime) -> hoviat_testkit::Registry {
    hoviat_testkit::Registry::generate_light(seed, hoviat::time::UnixTime(now.0 - now.0.rem_euclid(86_400)))
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use hoviat::Coded;
    use hoviat_testkit::Registry;
    use std::io::{Read, Write};

    #[test]
    fn files_and_urls() {
        let reg = virtual_card_registry("rp-trust", hoviat::time::UnixTime(1_780_000_000));
        let dir = std::env::temp_dir().join(format!("hoviat-rp-trust-{}", std::process::id()));
        reg.write_to(&dir).unwrap();
        // Serve the EC CA's CRL over http.
        let crl = std::fs::read(dir.join("ca-ec.crl.pem")).unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b);
                let _ = s.write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", crl.len()).as_bytes());
                let _ = s.write_all(&crl);
            }
        });
        let cfg = TrustConfig {
            anchors: vec![Source::parse(dir.join("root.pem").to_str().unwrap())],
            intermediates: vec![Source::parse(dir.join("ca-ec.pem").to_str().unwrap())],
            crls: vec![Source::parse(&format!("http://127.0.0.1:{port}/ca-ec.crl"))],
            ..TrustConfig::default()
        };
        let t = cfg.load().unwrap();
        assert_eq!(t.anchors().len(), 1);
        // Intermediates over http count only as CAs that chain to the anchors.
        let serve = |body: Vec<u8>| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            std::thread::spawn(move || {
                if let Ok((mut s, _)) = l.accept() {
                    let mut b = [0u8; 1024];
                    let _ = s.read(&mut b);
                    let _ =
                        s.write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
                    let _ = s.write_all(&body);
                }
            });
            format!("http://127.0.0.1:{port}/ca.cer")
        };
        let with_fetched = |url: String| TrustConfig {
            anchors: cfg.anchors.clone(),
            intermediates: vec![Source::Url(url)],
            ..TrustConfig::default()
        };
        let real = with_fetched(serve(reg.cas[1].cert.clone())).load_at(reg.now).unwrap();
        assert_eq!(real.intermediates().len(), 1);
        // A holder certificate (not a CA) served as an intermediate.
        let leaf = with_fetched(serve(reg.holders[1].cert.clone())).load_at(reg.now);
        assert_eq!(leaf.unwrap_err().code(), "CERT_ISSUER_NOT_CA");
        // A CA of another registry (same names, other keys): it chains to nothing configured.
        let other = virtual_card_registry("rp-trust-other", hoviat::time::UnixTime(1_780_000_000));
        let foreign = with_fetched(serve(other.cas[1].cert.clone())).load_at(reg.now);
        let code = foreign.unwrap_err().code();
        assert!(code == "CERT_UNTRUSTED" || code == "CERT_SIGNATURE_INVALID", "{code}");
        let bad = TrustConfig {
            anchors: vec![Source::parse("http://127.0.0.1:1/root.pem")],
            ..TrustConfig::default()
        };
        assert_eq!(bad.load().unwrap_err().code(), "TRUST_ANCHOR_NOT_FILE");
        let missing = TrustConfig {
            anchors: vec![Source::parse(dir.join("nope.pem").to_str().unwrap())],
            ..TrustConfig::default()
        };
        assert_eq!(missing.load().unwrap_err().code(), "IO_ERROR");
        let unreachable = TrustConfig {
            anchors: cfg.anchors.clone(),
            crls: vec![Source::parse("http://127.0.0.1:1/x.crl")],
            fetch_timeout: Duration::from_millis(500),
            ..TrustConfig::default()
        };
        assert_eq!(unreachable.load().unwrap_err().code(), "TRUST_FETCH_FAILED");
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, b"not a certificate").unwrap();
        let g = TrustConfig {
            anchors: vec![Source::File(garbage)],
            ..TrustConfig::default()
        };
        assert_eq!(g.load().unwrap_err().code(), "CERT_MALFORMED");
        assert_eq!(
            TrustConfig::default().load().unwrap_err().code(),
            "TRUST_ANCHOR_MISSING"
        );
        let _ = Registry::pem("X", b"");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
