//! Signature checks answered outside the core (WebCrypto in a browser, `node:crypto` in Node),
//! as a typed step API: a [`PlatformVerification`] runs a verification, hands out the signature
//! checks its verdict needs ([`Step::NeedChecks`]), takes the platform's answers, and gives a
//! verdict ([`Step::Done`]) only when every signature that verdict rests on was answered by the
//! platform. The verdict of a pass that used a provisional answer never leaves this module.
//!
//! Usually one pass and one round of answers suffice: the first pass answers every unknown
//! check "valid" provisionally (so validation runs to the end and reports every check it
//! needs) and keeps its verdict sealed here; when the platform then confirms every one of those
//! checks, every answer that pass used was real, and its verdict is released without a second
//! pass. Any "invalid" answer, or a check not handed out before, means another pass with the
//! real answers.

use super::alg::{PlatformAnswers, SignatureBackend, SignatureCheck};

/// Names one signature check of one [`PlatformVerification`]; it answers only the very check
/// (algorithm, key, message and signature, byte for byte) it was handed out with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckId(usize);

impl CheckId {
    /// Reads an id in its text form (as handed to JavaScript); `None` if it is not one.
    pub fn parse(s: &str) -> Option<CheckId> {
        if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().map(CheckId)
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a [`PlatformVerification::step`] asks for or decided.
#[derive(Debug)]
pub enum Step<T, E> {
    /// Verify these signatures and pass the answers to the next `step`.
    NeedChecks(Vec<(CheckId, SignatureCheck)>),
    /// The verdict, resting only on answers the platform gave.
    Done(Result<T, E>),
}

/// A verification whose signature checks the caller discharges (see the module docs). `run`
/// performs the whole verification with the backend it is given (token, chain, CMS...); it is
/// called once per pass and must be deterministic for the same inputs.
pub struct PlatformVerification<F, T, E>
where
    F: FnMut(&dyn SignatureBackend) -> Result<T, E>,
{
    run: F,
    rec: PlatformAnswers,
    /// The last pass's verdict and the checks it took as valid without an answer: released
    /// only if every one of them is answered "valid".
    sealed: Option<(Vec<CheckId>, Result<T, E>)>,
}

impl<F, T, E> PlatformVerification<F, T, E>
where
    F: FnMut(&dyn SignatureBackend) -> Result<T, E>,
{
    /// Most distinct checks one verification may ask for; past it, further checks are
    /// answered "invalid" (fail closed).
    pub const MAX_CHECKS: usize = PlatformAnswers::MAX_CHECKS;

    /// A verification that has not run yet; the first [`step`](Self::step) runs it.
    pub fn new(run: F) -> Self {
        PlatformVerification {
            run,
            rec: PlatformAnswers::default(),
            sealed: None,
        }
    }

    /// Adds the platform's answers (ids not handed out by this verification are ignored) and
    /// either releases the verdict or asks for more checks.
    pub fn step(&mut self, answers: impl IntoIterator<Item = (CheckId, bool)>) -> Step<T, E> {
        for (id, ok) in answers {
            self.rec.insert_index(id.0, ok);
        }
        if let Some((provisional, verdict)) = self.sealed.take()
            && provisional.iter().all(|id| self.rec.answer(id.0) == Some(true))
        {
            return Step::Done(verdict);
        }
        let verdict = (self.run)(&self.rec);
        let pending = self.rec.take_pending_indexed();
        if pending.is_empty() {
            return Step::Done(verdict);
        }
        let ids: Vec<CheckId> = pending.iter().map(|(i, _)| CheckId(*i)).collect();
        self.sealed = Some((ids, verdict));
        Step::NeedChecks(pending.into_iter().map(|(i, c)| (CheckId(i), c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pki::alg::{Curve, HashAlg, KeyInfo, PublicKey, SigAlg};

    fn check(m: &[u8]) -> SignatureCheck {
        SignatureCheck {
            alg: SigAlg::Ecdsa(HashAlg::Sha256),
            key: Arc::new(KeyInfo {
                key: PublicKey::Ec {
                    curve: Curve::P256,
                    point: vec![4; 65],
                },
                spki: vec![1, 2, 3],
            }),
            message: m.to_vec(),
            signature: b"sig".to_vec(),
        }
    }

    /// A verification needing checks "a" and "b", and "c" only if "a" is invalid.
    fn verification() -> impl FnMut(&dyn SignatureBackend) -> Result<&'static str, &'static str> {
        |b: &dyn SignatureBackend| {
            let a = b.verify(&check(b"a"));
            let bb = b.verify(&check(b"b"));
            if !a {
                return if b.verify(&check(b"c")) {
                    Err("a invalid, c valid")
                } else {
                    Err("a and c invalid")
                };
            }
            if bb { Ok("valid") } else { Err("b invalid") }
        }
    }

    fn answer_all(v: &Step<&str, &str>, ok: impl Fn(&[u8]) -> bool) -> Vec<(CheckId, bool)> {
        match v {
            Step::NeedChecks(c) => c.iter().map(|(i, c)| (*i, ok(&c.message))).collect(),
            Step::Done(_) => panic!("expected checks"),
        }
    }

    #[test]
    fn all_valid_is_released_after_one_pass() {
        let mut calls = 0;
        let mut run = verification();
        let mut v = PlatformVerification::new(|b: &dyn SignatureBackend| {
            calls += 1;
            run(b)
        });
        let s = v.step([]);
        let answers = answer_all(&s, |_| true);
        assert_eq!(answers.len(), 2);
        assert!(matches!(v.step(answers), Step::Done(Ok("valid"))));
        drop(v);
        assert_eq!(calls, 1, "the sealed verdict is released without a second pass");
    }

    #[test]
    fn an_invalid_answer_never_lets_the_provisional_verdict_out() {
        let mut v = PlatformVerification::new(verification());
        let s = v.step([]);
        // The first pass took "a" and "b" as valid: its sealed verdict is Ok("valid").
        let answers = answer_all(&s, |m| m != b"b");
        assert!(matches!(v.step(answers), Step::Done(Err("b invalid"))));

        // "a" invalid: the second pass needs "c", which it has not seen.
        let mut v = PlatformVerification::new(verification());
        let s = v.step([]);
        let answers = answer_all(&s, |m| m != b"a");
        let s = v.step(answers);
        let answers = answer_all(&s, |_| false);
        assert_eq!(answers.len(), 1);
        assert!(matches!(v.step(answers), Step::Done(Err("a and c invalid"))));
    }

    #[test]
    fn partial_or_foreign_answers_are_not_enough() {
        let mut v = PlatformVerification::new(verification());
        let s = v.step([]);
        let mut answers = answer_all(&s, |_| true);
        answers.pop();
        // One check unanswered: a new pass, which asks for it again.
        let s = v.step(answers.iter().copied().chain([(CheckId(99), true)]));
        assert!(matches!(&s, Step::NeedChecks(c) if c.len() == 1));
        let answers = answer_all(&s, |_| true);
        assert!(matches!(v.step(answers), Step::Done(Ok("valid"))));
        assert_eq!(CheckId::parse("12"), Some(CheckId(12)));
        for bad in ["", "-1", "1e3", "99999999999", " 1"] {
            assert_eq!(CheckId::parse(bad), None, "{bad:?}");
        }
    }
}
