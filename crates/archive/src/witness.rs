//! Witness cosignatures (C2SP `tlog-cosignature`, v1, Ed25519, algorithm byte 0x04), pure: a
//! witness that has verified a checkpoint is consistent with the last one it cosigned adds a
//! signature line over `cosignature/v1\ntime <T>\n<checkpoint text>`; the line's signature bytes
//! are the 8-byte big-endian timestamp followed by the Ed25519 signature. A log that shows two
//! histories is caught when its checkpoint is compared with a witness's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, Signer, Verifier, VerifierList};

use crate::error::ArchiveError;

/// The cosignature algorithm byte.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

fn message(ts: u64, text: &[u8]) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {ts}\n").into_bytes();
    m.extend_from_slice(text);
    m
}

/// A witness key pair in note formats: (`PRIVATE+KEY+name+id+base64(04 || seed)`,
/// `name+id+base64(04 || public key)`), from 32 bytes the caller supplies.
pub fn witness_keypair(name: &str, seed: [u8; 32]) -> Result<(String, String), ArchiveError> {
    if !signed_note::is_key_name_valid(name) {
        return Err(ArchiveError::KeyInvalid(format!("{name:?} is not a valid key name")));
    }
    let sk = SigningKey::from_bytes(&seed);
    let mut pubk = vec![ALG_COSIGNATURE_V1];
    pubk.extend_from_slice(sk.verifying_key().as_bytes());
    let id = signed_note::key_id(name, &pubk);
    let mut privk = vec![ALG_COSIGNATURE_V1];
    privk.extend_from_slice(&seed);
    Ok((
        format!("PRIVATE+KEY+{name}+{id:08x}+{}", STANDARD.encode(privk)),
        format!("{name}+{id:08x}+{}", STANDARD.encode(pubk)),
    ))
}

fn split_key(s: &str) -> Result<(String, u32, Vec<u8>), ArchiveError> {
    let bad = || ArchiveError::KeyInvalid("malformed witness key".into());
    let mut it = s.trim().splitn(3, '+');
    let (name, id, key) = (
        it.next().ok_or_else(bad)?,
        it.next().ok_or_else(bad)?,
        it.next().ok_or_else(bad)?,
    );
    let id = u32::from_str_radix(id, 16).map_err(|_| bad())?;
    let key = STANDARD.decode(key).map_err(|_| bad())?;
    if key.len() != 33 || key[0] != ALG_COSIGNATURE_V1 {
        return Err(ArchiveError::KeyInvalid("not a tlog-cosignature/v1 Ed25519 key".into()));
    }
    Ok((name.to_string(), id, key))
}

/// Signs as a witness at time `ts` (Unix seconds).
pub struct Cosigner {
    name: String,
    id: u32,
    sk: SigningKey,
    ts: u64,
}

impl Cosigner {
    /// From a witness signing key and the cosigning time.
    pub fn new(skey: &str, ts: u64) -> Result<Self, ArchiveError> {
        let s = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| ArchiveError::KeyInvalid("not a private key".into()))?;
        let (name, id, key) = split_key(s)?;
        let seed: [u8; 32] = key[1..]
            .try_into()
            .map_err(|_| ArchiveError::KeyInvalid("seed".into()))?;
        let sk = SigningKey::from_bytes(&seed);
        let mut pubk = vec![ALG_COSIGNATURE_V1];
        pubk.extend_from_slice(sk.verifying_key().as_bytes());
        if signed_note::key_id(&name, &pubk) != id {
            return Err(ArchiveError::KeyInvalid("witness key id does not match".into()));
        }
        Ok(Cosigner { name, id, sk, ts })
    }
}

impl Signer for Cosigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let mut out = self.ts.to_be_bytes().to_vec();
        out.extend_from_slice(&self.sk.sign(&message(self.ts, msg)).to_bytes());
        Ok(out)
    }
}

/// Verifies a witness's cosignatures.
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// From a witness verifier key.
    pub fn new(vkey: &str) -> Result<Self, ArchiveError> {
        let (name, id, key) = split_key(vkey)?;
        if signed_note::key_id(&name, &key) != id {
            return Err(ArchiveError::KeyInvalid("witness key id does not match".into()));
        }
        let pk: [u8; 32] = key[1..]
            .try_into()
            .map_err(|_| ArchiveError::KeyInvalid("key".into()))?;
        let key = VerifyingKey::from_bytes(&pk).map_err(|e| ArchiveError::KeyInvalid(e.to_string()))?;
        Ok(CosignatureVerifier { name, id, key })
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let ts = u64::from_be_bytes(sig[..8].try_into().unwrap_or_default());
        let Ok(s) = ed25519_dalek::Signature::from_slice(&sig[8..]) else {
            return false;
        };
        self.key.verify_strict(&message(ts, msg), &s).is_ok()
    }
}

/// Adds the witness's cosignature to a (log-signed) checkpoint note.
pub fn cosign(note: &str, signer: &Cosigner) -> Result<String, ArchiveError> {
    let mut n = Note::from_bytes(note.as_bytes()).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    n.add_sigs(&[signer])
        .map_err(|e| ArchiveError::KeyInvalid(e.to_string()))?;
    String::from_utf8(n.to_bytes()).map_err(|e| ArchiveError::Malformed(e.to_string()))
}

/// Checks that a note carries a valid cosignature by the witness; returns its timestamp.
pub fn check_cosigned(note: &str, witness_vkey: &str) -> Result<u64, ArchiveError> {
    let v = CosignatureVerifier::new(witness_vkey)?;
    let (name, id) = (v.name.clone(), v.id);
    let n = Note::from_bytes(note.as_bytes()).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    let (ok, _) = n
        .verify(&VerifierList::new(vec![Box::new(v)]))
        .map_err(|e| ArchiveError::CheckpointSignatureInvalid(format!("witness {name}: {e}")))?;
    let s = ok
        .iter()
        .find(|s| s.name() == name && s.id() == id)
        .ok_or_else(|| ArchiveError::CheckpointSignatureInvalid(format!("no cosignature by witness {name}")))?;
    Ok(u64::from_be_bytes(s.signature()[..8].try_into().unwrap_or_default()))
}
