//! The shared case table (also run by the Node and Chromium package tests): every case's
//! native verdict is the expected one.

#[test]
fn shared_case_table_native_verdicts() {
    let cases = hoviat_testkit::cases::build();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let got = hoviat_testkit::cases::native_verdict(c);
        let ok = match (&c.expect_code, &got) {
            (None, Ok(nc)) => nc == &c.expect_national_code,
            (Some(code), Err(got)) => code == got,
            _ => false,
        };
        if !ok {
            wrong.push(format!("{}: expected {:?}, got {:?}", c.name, c.expect_code, got));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    println!(
        "cases: {}/{} native verdicts as expected",
        cases.len() - wrong.len(),
        cases.len()
    );
}

/// `HOVIAT_BACKEND` selects the backend the tables run through; a name this build lacks would
/// silently fall back to the default and test nothing new, so it is refused here.
#[test]
fn the_requested_backend_is_the_one_used() {
    if let Ok(name) = std::env::var("HOVIAT_BACKEND") {
        assert_eq!(
            hoviat_testkit::backend_from_env().name(),
            name,
            "HOVIAT_BACKEND={name} is not compiled into this build"
        );
    }
}
