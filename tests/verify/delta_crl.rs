//! Delta CRLs (RFC 5280 §5.2.4, §6.3.3)

use super::*;

pub(crate) const KEY_COMPROMISE: u8 = 1;

/// The EC citizen CA's complete CRL number `number`, current now, listing `entries`.
pub(crate) fn base_crl(number: u64, entries: &[(Vec<u8>, Option<u8>)]) -> Vec<u8> {
    let mut spec = CrlSpec::new(UnixTime(now().0 - 86400), Some(UnixTime(now().0 + 7 * 86400)));
    spec.number = Some(number);
    spec.entries = entries.to_vec();
    let mut rng = rng_for("delta", &format!("base-{number}"));
    reg().cas[1].crl_spec(&spec, None, &mut rng)
}

/// The EC citizen CA's delta CRL `number` on base `base`, current now (fresher than the base,
/// and going stale first), listing `entries`.
pub(crate) fn delta_crl(number: u64, base: u64, entries: &[(Vec<u8>, Option<u8>)]) -> CrlSpec {
    let mut spec = CrlSpec::new(UnixTime(now().0 - 3600), Some(UnixTime(now().0 + 86400)));
    spec.number = Some(number);
    spec.delta_base = Some(base);
    spec.entries = entries.to_vec();
    spec
}

pub(crate) fn sign_delta(spec: &CrlSpec) -> Vec<u8> {
    let mut rng = rng_for("delta", &format!("delta-{:?}", spec.number));
    reg().cas[1].crl_spec(spec, None, &mut rng)
}

/// Root, both citizen CAs, and these CRLs.
pub(crate) fn crls_store(crls: &[&[u8]]) -> TrustStore {
    let r = reg();
    let mut t = store_with(&[&r.root.cert], &[&r.cas[0].cert, &r.cas[1].cert]);
    for c in crls {
        t.add_crls(c).unwrap();
    }
    t
}

/// Holder 1 (under the EC citizen CA) and its serial.
pub(crate) fn ec_holder() -> (&'static [u8], Vec<u8>) {
    let h = &reg().holders[1];
    assert_eq!(h.issuer, 1);
    (&h.cert, h.serial.clone())
}

#[test]
fn holder_revoked_only_in_the_delta_is_revoked() {
    let (leaf, serial) = ec_holder();
    let base = base_crl(100, &[]);
    let delta = sign_delta(&delta_crl(101, 100, &[(serial.clone(), Some(KEY_COMPROMISE))]));
    // The base alone vouches for the holder...
    assert!(matches!(
        validate(&crls_store(&[&base]), leaf, &opts()).unwrap().revocation,
        RevocationStatus::GoodByCrl { .. }
    ));
    // ...the delta that lists it revokes it, with a reason or without one.
    assert_eq!(
        code(validate(&crls_store(&[&base, &delta]), leaf, &opts())),
        "CERT_REVOKED"
    );
    let no_reason = sign_delta(&delta_crl(102, 100, &[(serial, None)]));
    assert_eq!(
        code(validate(&crls_store(&[&base, &no_reason]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // A holder neither lists is good, as fresh as the delta and until the first goes stale.
    let other = &reg().holders[2].cert;
    let v = validate(&crls_store(&[&base, &delta]), other, &opts()).unwrap();
    assert_eq!(
        v.revocation,
        RevocationStatus::GoodByCrl {
            this_update: UnixTime(now().0 - 3600),
            next_update: Some(UnixTime(now().0 + 86400)),
        }
    );
}

#[test]
fn hold_in_the_base_released_by_the_delta_is_accepted() {
    let (leaf, serial) = ec_holder();
    let held = [(serial.clone(), Some(reason::CERTIFICATE_HOLD))];
    let base = base_crl(100, &held);
    let release = sign_delta(&delta_crl(101, 100, &[(serial.clone(), Some(reason::REMOVE_FROM_CRL))]));
    assert_eq!(code(validate(&crls_store(&[&base]), leaf, &opts())), "CERT_REVOKED");
    let v = validate(&crls_store(&[&base, &release]), leaf, &opts()).unwrap();
    assert!(matches!(v.revocation, RevocationStatus::GoodByCrl { .. }));
    // The delta may name the base's number or an older one (base 100 ≥ BaseCRLNumber 99).
    let on_older = sign_delta(&delta_crl(101, 99, &[(serial.clone(), Some(reason::REMOVE_FROM_CRL))]));
    assert!(validate(&crls_store(&[&base, &on_older]), leaf, &opts()).is_ok());
    // Only a hold is released: a removal of a final revocation (keyCompromise, or no reason)
    // is not honoured (RFC 5280 5.3.1).
    let compromised = base_crl(100, &[(serial.clone(), Some(KEY_COMPROMISE))]);
    assert_eq!(
        code(validate(&crls_store(&[&compromised, &release]), leaf, &opts())),
        "CERT_REVOKED"
    );
    let unspecified = base_crl(100, &[(serial.clone(), None)]);
    assert_eq!(
        code(validate(&crls_store(&[&unspecified, &release]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // The newest delta decides: a later delta that no longer lists the removal leaves the
    // base's hold in force.
    let later = sign_delta(&delta_crl(102, 100, &[]));
    assert_eq!(
        code(validate(&crls_store(&[&base, &release, &later]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // A removal in a delta without any base to undo is simply not a revocation.
    let v = validate(&crls_store(&[&base_crl(100, &[]), &release]), leaf, &opts()).unwrap();
    assert!(matches!(v.revocation, RevocationStatus::GoodByCrl { .. }));
}

/// A delta whose BaseCRLNumber is newer than the configured complete CRL (105 > 100) is not
/// combined with it: the revocations between CRL 100 and CRL 105 are in neither. Verdict: the
/// complete CRL alone decides, exactly as without the delta (it is current, so the holder is
/// good by it); the delta's removals undo nothing, and its revocations still revoke (a verified,
/// current statement of the issuer, which can only make the verdict stricter). The same holds
/// for a delta that the complete CRL has superseded, and for one of another scope.
#[test]
fn delta_on_a_newer_base_is_not_combined() {
    let (leaf, serial) = ec_holder();
    let remove = [(serial.clone(), Some(reason::REMOVE_FROM_CRL))];
    let base = base_crl(100, &[]);
    let newer_base = sign_delta(&delta_crl(106, 105, &[]));
    let v = validate(&crls_store(&[&base, &newer_base]), leaf, &opts()).unwrap();
    assert_eq!(
        v.revocation,
        RevocationStatus::GoodByCrl {
            this_update: UnixTime(now().0 - 86400),
            next_update: Some(UnixTime(now().0 + 7 * 86400)),
        },
        "the base alone decides"
    );
    // A hold in the base is not released by a delta on a newer base...
    let held = base_crl(100, &[(serial.clone(), Some(reason::CERTIFICATE_HOLD))]);
    let release_on_newer = sign_delta(&delta_crl(106, 105, &remove));
    assert_eq!(
        code(validate(&crls_store(&[&held, &release_on_newer]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // ...nor by one the base supersedes (delta number 100, not above the base's)...
    let superseded = sign_delta(&delta_crl(100, 99, &remove));
    assert_eq!(
        code(validate(&crls_store(&[&held, &superseded]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // ...nor by one of another scope (a partition's delta)...
    let mut partition = delta_crl(101, 100, &remove);
    partition.extra_extensions = vec![ext::issuing_dp("http://crl.test/part-a.crl")];
    assert_eq!(
        code(validate(&crls_store(&[&held, &sign_delta(&partition)]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // ...and a revocation in it still counts.
    let revoking = sign_delta(&delta_crl(106, 105, &[(serial, Some(KEY_COMPROMISE))]));
    assert_eq!(
        code(validate(&crls_store(&[&base, &revoking]), leaf, &opts())),
        "CERT_REVOKED"
    );
}

#[test]
fn stale_or_future_delta_is_an_error() {
    let (leaf, _) = ec_holder();
    let base = base_crl(100, &[]);
    let mut stale = delta_crl(101, 100, &[]);
    (stale.this_update, stale.next_update) = (UnixTime(now().0 - 2 * 86400), Some(UnixTime(now().0 - 60)));
    let mut future = delta_crl(101, 100, &[]);
    (future.this_update, future.next_update) = (UnixTime(now().0 + 60), Some(UnixTime(now().0 + 86400)));
    let current = sign_delta(&delta_crl(101, 100, &[]));
    assert!(validate(&crls_store(&[&base, &current]), leaf, &opts()).is_ok());
    // Like a stale complete CRL: the relying party's CRL feed is broken, so fail closed.
    assert_eq!(
        code(validate(&crls_store(&[&base, &sign_delta(&stale)]), leaf, &opts())),
        "CRL_EXPIRED"
    );
    assert_eq!(
        code(validate(&crls_store(&[&base, &sign_delta(&future)]), leaf, &opts())),
        "CRL_NOT_YET_VALID"
    );
}

#[test]
fn delta_signed_by_another_key_is_an_error() {
    let (leaf, serial) = ec_holder();
    let base = base_crl(100, &[(serial.clone(), Some(reason::CERTIFICATE_HOLD))]);
    let spec = delta_crl(101, 100, &[(serial, Some(reason::REMOVE_FROM_CRL))]);
    let mut rng = rng_for("delta", "wrong-key");
    let wrong = PrivateKey::generate(KeyKind::P384, &mut rng);
    let forged = reg().cas[1].crl_spec(&spec, Some(&wrong), &mut rng);
    assert!(validate(&crls_store(&[&base, &sign_delta(&spec)]), leaf, &opts()).is_ok());
    // The forged delta would release the hold: it is an error before anything is read.
    assert_eq!(
        code(validate(&crls_store(&[&base, &forged]), leaf, &opts())),
        "CRL_SIGNATURE_INVALID"
    );
}

#[test]
fn delta_alone_never_vouches() {
    let (leaf, serial) = ec_holder();
    let delta = sign_delta(&delta_crl(101, 100, &[]));
    let mut req = opts();
    req.require_revocation = true;
    let t = crls_store(&[&delta]);
    assert_eq!(
        validate(&t, leaf, &opts()).unwrap().revocation,
        RevocationStatus::NotChecked
    );
    assert_eq!(code(validate(&t, leaf, &req)), "REVOCATION_UNKNOWN");
    // With its base it does.
    assert!(validate(&crls_store(&[&base_crl(100, &[]), &delta]), leaf, &req).is_ok());
    // Alone, it still revokes what it lists.
    let listing = sign_delta(&delta_crl(101, 100, &[(serial, Some(reason::CERTIFICATE_HOLD))]));
    assert_eq!(code(validate(&crls_store(&[&listing]), leaf, &opts())), "CERT_REVOKED");
}

#[test]
fn a_fetched_delta_does_not_replace_the_complete_crl() {
    let (leaf, serial) = ec_holder();
    let parse = |der: &[u8]| Arc::new(hoviat::pki::Crl::from_der(der).unwrap());
    let base = base_crl(100, &[(serial, Some(KEY_COMPROMISE))]);
    let configured = crls_store(&[&base]);
    // A delta fetched at login (a distribution point may serve one) is added beside the
    // complete CRL: the revocation the complete CRL lists still stands.
    let delta = parse(&sign_delta(&delta_crl(101, 100, &[])));
    assert_eq!(
        code(validate(&configured.with_fresh_crls(&[delta]), leaf, &opts())),
        "CERT_REVOKED"
    );
    // A later complete CRL does replace the earlier one (here: it no longer lists the holder).
    let later = parse(&base_crl(102, &[]));
    assert!(validate(&configured.with_fresh_crls(&[later]), leaf, &opts()).is_ok());
}

#[test]
fn delta_with_a_non_critical_indicator_is_malformed() {
    let mut spec = delta_crl(101, 100, &[]);
    let good = sign_delta(&spec);
    let parsed = hoviat::pki::Crl::from_der(&good).unwrap();
    assert!(parsed.is_delta());
    assert_eq!(parsed.base_number.as_deref(), Some(&[100u8][..]));
    spec.delta_base = None;
    spec.extra_extensions = vec![ext::delta_crl_indicator(100, false)];
    let bad = sign_delta(&spec);
    assert_eq!(hoviat::pki::Crl::from_der(&bad).unwrap_err().code(), "CRL_MALFORMED");
    let mut t = TrustStore::new();
    assert_eq!(t.add_crls(&bad).unwrap_err().code(), "CRL_MALFORMED");
}
