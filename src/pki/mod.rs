//! Public-key infrastructure: certificates, names, algorithms, path validation, CRLs.

pub mod alg;
pub mod cert;
pub mod chain;
pub mod crl;
mod error;
pub mod name;
pub mod nc;
pub mod ocsp;
pub mod path;
pub mod platform;

#[cfg(feature = "rustcrypto")]
pub use alg::RustCrypto;
pub use alg::{AlgorithmPolicy, SignatureBackend, SignatureCheck};
pub use cert::Cert;
pub use chain::{ChainRequest, verify_chain};
pub use crl::Crl;
pub use error::PkiError;
pub use path::{
    EkuRequirement, KeyUsageRequirement, PathOptions, PolicyRule, RevocationStatus, TrustStore, ValidatedPath,
};
