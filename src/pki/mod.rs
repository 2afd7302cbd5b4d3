//! Public-key infrastructure: certificates, names, algorithms, path validation, CRLs.

pub mod alg;
pub mod cert;
pub mod crl;
mod error;
pub mod name;
pub mod name_constraints;
pub mod ocsp;
pub mod path;
pub mod platform;
pub mod verify_chain;

#[cfg(feature = "rustcrypto")]
pub use alg::RustCrypto;
pub use alg::{AlgorithmPolicy, SignatureBackend, SignatureCheck};
pub use cert::Cert;
pub use crl::Crl;
pub use error::PkiError;
pub use path::{
    EkuRequirement, KeyUsageRequirement, PathOptions, PolicyRule, RevocationStatus, TrustStore, ValidatedPath,
};
pub use verify_chain::{ChainRequest, verify_chain};
