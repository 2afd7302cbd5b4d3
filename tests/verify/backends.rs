//! Backends: every signature check gets the same verdict from each backend in this build.

use super::*;

#[test]
fn every_backend_gives_the_same_verdict_on_every_check() {
    use hoviat::pki::alg::{KeyInfo, SignatureBackend, SignatureCheck, backend_by_name};
    let backends: Vec<&dyn SignatureBackend> = ["rustcrypto", "aws-lc"]
        .iter()
        .filter_map(|n| backend_by_name(n))
        .collect();
    let mut rng = rng_for("backends", "agree");
    let mut checks = Vec::new();
    let combos = [
        (KeyKind::P256, SigAlg::Ecdsa(HashAlg::Sha256)),
        (KeyKind::P256, SigAlg::Ecdsa(HashAlg::Sha384)),
        (KeyKind::P384, SigAlg::Ecdsa(HashAlg::Sha384)),
        (KeyKind::P384, SigAlg::Ecdsa(HashAlg::Sha256)),
        (KeyKind::P521, SigAlg::Ecdsa(HashAlg::Sha512)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha256)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha384)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha512)),
        (KeyKind::Rsa(2048), SigAlg::RsaPkcs1(HashAlg::Sha1)),
        (
            KeyKind::Rsa(2048),
            SigAlg::RsaPss {
                hash: HashAlg::Sha256,
                salt_len: 32,
            },
        ),
        (
            KeyKind::Rsa(2048),
            SigAlg::RsaPss {
                hash: HashAlg::Sha512,
                salt_len: 64,
            },
        ),
        (
            KeyKind::Rsa(2048),
            SigAlg::RsaPss {
                hash: HashAlg::Sha256,
                salt_len: 20,
            },
        ),
    ];
    for (kind, alg) in combos {
        let key = PrivateKey::generate(kind, &mut rng);
        let info = std::sync::Arc::new(KeyInfo::from_spki_der(&key.spki()).unwrap());
        let message = b"hoviat backend agreement".to_vec();
        let signature = key.sign_digest(alg, &alg.hash().digest(&message), &mut rng);
        let good = SignatureCheck {
            alg,
            key: info.clone(),
            message: message.clone(),
            signature: signature.clone(),
        };
        checks.push((true, good.clone()));
        let mut m = good.clone();
        m.message.push(0);
        checks.push((false, m));
        for i in [0, signature.len() / 2, signature.len() - 1] {
            let mut s = good.clone();
            s.signature[i] ^= 0x01;
            checks.push((false, s));
        }
        let mut short = good.clone();
        short.signature.pop();
        checks.push((false, short));
        let mut zero = good.clone();
        zero.signature.iter_mut().for_each(|b| *b = 0);
        checks.push((false, zero));
        // Another hash than the one signed.
        let other = match alg {
            SigAlg::Ecdsa(HashAlg::Sha256) => SigAlg::Ecdsa(HashAlg::Sha384),
            SigAlg::Ecdsa(_) => SigAlg::Ecdsa(HashAlg::Sha256),
            SigAlg::RsaPkcs1(HashAlg::Sha256) => SigAlg::RsaPkcs1(HashAlg::Sha512),
            SigAlg::RsaPkcs1(_) => SigAlg::RsaPkcs1(HashAlg::Sha256),
            SigAlg::RsaPss { .. } => SigAlg::RsaPkcs1(HashAlg::Sha256),
        };
        checks.push((
            false,
            SignatureCheck {
                alg: other,
                ..good.clone()
            },
        ));
    }
    assert!(!backends.is_empty());
    for (i, (expected, c)) in checks.iter().enumerate() {
        for b in &backends {
            assert_eq!(b.verify(c), *expected, "check {i} ({:?}) with {}", c.alg, b.name());
        }
    }
    println!(
        "backends {:?} agree on {} checks",
        backends.iter().map(|b| b.name()).collect::<Vec<_>>(),
        checks.len()
    );
}
