//! Shared set-up of the integration tests: the fixed validation time and the test registry.
#![allow(dead_code)]

use std::sync::OnceLock;

use hoviat::time::UnixTime;
use hoviat_testkit::Registry;

/// The origin tokens are made for.
pub const ORIGIN: &str = "https://bank.example.ir";

/// The fixed validation time of the tests.
pub fn now() -> UnixTime {
    UnixTime::parse_rfc3339("2026-11-23T10:00:00Z").unwrap()
}

/// The test registry (seed "tests"), made once per test binary.
pub fn reg() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry::generate("tests", now()))
}

/// The Iranian-layout test registry (seed "tests"), made once per test binary.
pub fn iran() -> &'static hoviat_testkit::iran::IranRegistry {
    static R: OnceLock<hoviat_testkit::iran::IranRegistry> = OnceLock::new();
    R.get_or_init(|| hoviat_testkit::iran::IranRegistry::generate("tests", now()))
}

/// Bytes from hex text; whitespace between digits is ignored.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
