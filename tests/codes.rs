//! Issue 15: one table of stable codes (`hoviat::codes::CODES`), checked against every place a
//! code must appear. Fails when a code the core emits is missing from the table, or a table
//! code lacks a README mention, a Persian or English message in www/messages.js, or a type in
//! npm/index.d.ts; and when messages.js or index.d.ts name a code the table does not have.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hoviat::codes::CODES;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &str) -> String {
    std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn is_code(s: &str) -> bool {
    s.len() >= 3
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The string literals returned by every `fn code(&self) -> &'static str` under `dir`: what the
/// core's error enums (and the host's, the CLI's) emit.
fn emitted_codes(dir: &Path, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            emitted_codes(&p, out);
            continue;
        }
        if p.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let s = std::fs::read_to_string(&p).unwrap();
        let sig = "fn code(&self) -> &'static str {";
        let mut from = 0;
        while let Some(i) = s[from..].find(sig) {
            let start = from + i + sig.len();
            let end = s[start..].find("\n    }\n").map_or(s.len(), |j| start + j);
            for lit in s[start..end].split('"').skip(1).step_by(2) {
                if is_code(lit) {
                    out.insert(lit.to_string());
                }
            }
            from = end;
        }
    }
}

/// `CODE: ['fa', 'en'],` lines of www/messages.js.
fn messages() -> Vec<(String, String, String)> {
    read("www/messages.js")
        .lines()
        .filter_map(|l| {
            let (code, rest) = l.strip_prefix("  ")?.split_once(": [")?;
            if !is_code(code) {
                return None;
            }
            // Two single-quoted strings (with \' escapes).
            let mut parts = Vec::new();
            let mut cur = String::new();
            let (mut inside, mut esc) = (false, false);
            for ch in rest.chars() {
                match (inside, esc, ch) {
                    (true, true, c) => {
                        cur.push(c);
                        esc = false;
                    }
                    (true, false, '\\') => esc = true,
                    (true, false, '\'') => {
                        parts.push(std::mem::take(&mut cur));
                        inside = false;
                    }
                    (true, false, c) => cur.push(c),
                    (false, _, '\'') => inside = true,
                    _ => {}
                }
            }
            (parts.len() == 2).then(|| (code.to_string(), parts[0].clone(), parts[1].clone()))
        })
        .collect()
}

#[test]
fn the_table_has_each_code_once() {
    let mut seen = BTreeSet::new();
    for (c, _) in CODES {
        assert!(is_code(c), "{c} is not a SCREAMING_SNAKE code");
        assert!(seen.insert(*c), "{c} is in the table twice");
    }
    assert!(CODES.len() > 100);
}

#[test]
fn every_code_the_core_emits_is_in_the_table() {
    let mut emitted = BTreeSet::new();
    // The core and every workspace member (crates/*/src).
    emitted_codes(&root().join("src"), &mut emitted);
    for member in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        emitted_codes(&member.path().join("src"), &mut emitted);
    }
    assert!(
        emitted.len() > 80,
        "only {} codes found in src/ and crates/*/src",
        emitted.len()
    );
    let missing: Vec<_> = emitted.iter().filter(|c| !hoviat::codes::is_known(c)).collect();
    assert!(missing.is_empty(), "emitted but not in src/codes/mod.rs: {missing:?}");
}

#[test]
fn every_code_has_a_readme_mention() {
    let readme = read("README.md");
    let missing: Vec<_> = CODES
        .iter()
        .filter(|(c, _)| !readme.contains(&format!("`{c}`")))
        .map(|(c, _)| c)
        .collect();
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
}

#[test]
fn every_code_has_a_persian_and_an_english_message_and_nothing_else_does() {
    let msgs = messages();
    let persian = |s: &str| s.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
    for (c, _) in CODES {
        let Some((_, fa, en)) = msgs.iter().find(|(m, _, _)| m == c) else {
            panic!("{c} has no message in www/messages.js");
        };
        assert!(persian(fa), "{c}: the first message is not Persian: {fa:?}");
        assert!(
            !en.is_empty() && !persian(en),
            "{c}: the second message is not English: {en:?}"
        );
    }
    for (m, _, _) in &msgs {
        assert!(
            hoviat::codes::is_known(m),
            "www/messages.js has {m}, the table does not"
        );
    }
}

/// The npm package's lite-module table (npm/messages.js, `  CODE: 'text',` lines): the lite
/// wasm has no messages of its own, so this table words every code of the Pki and Token layers
/// (what the lite module raises), and names no other code.
#[test]
fn the_npm_lite_table_words_every_pki_and_token_code_and_nothing_else() {
    use hoviat::codes::Layer;
    let js = read("npm/messages.js");
    let mut table = BTreeSet::new();
    for l in js.lines() {
        let Some((code, rest)) = l.strip_prefix("  ").and_then(|l| l.split_once(": ")) else {
            continue;
        };
        if is_code(code) {
            let text = rest.trim_end_matches(',');
            assert!(
                text.len() > 2 && (text.starts_with('\'') || text.starts_with('"')),
                "npm/messages.js: {code} has no text: {rest:?}"
            );
            assert!(table.insert(code.to_string()), "npm/messages.js has {code} twice");
        }
    }
    let lite: BTreeSet<String> = CODES
        .iter()
        .filter(|(_, l)| matches!(l, Layer::Pki | Layer::Token))
        .map(|(c, _)| c.to_string())
        .collect();
    let missing: Vec<_> = lite.difference(&table).collect();
    let extra: Vec<_> = table.difference(&lite).collect();
    assert!(
        missing.is_empty(),
        "codes the lite module raises without a text in npm/messages.js: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "npm/messages.js words codes outside the Pki and Token layers: {extra:?}"
    );
}

#[test]
fn every_code_is_a_typescript_type() {
    let dts = read("npm/index.d.ts");
    let start = dts
        .find("export type HoviatErrorCode =")
        .expect("HoviatErrorCode in npm/index.d.ts");
    let end = start + dts[start..].find(';').unwrap();
    let union = &dts[start..end];
    let listed: BTreeSet<&str> = union.split('\'').skip(1).step_by(2).collect();
    for (c, _) in CODES {
        assert!(listed.contains(c), "{c} is not in HoviatErrorCode (npm/index.d.ts)");
    }
    for l in &listed {
        assert!(
            hoviat::codes::is_known(l),
            "HoviatErrorCode has {l}, the table does not"
        );
    }
}

/// Codes the JavaScript parts throw (`coded('X', …)`, `code: 'X'`, `HoviatError('X', …)`,
/// `|| 'X'`) in the extension, the npm package and the demo pages.
fn js_codes(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            if !matches!(name.as_str(), "node_modules" | "test" | "pkg" | "dist") {
                js_codes(&p, out);
            }
            continue;
        }
        if !(name.ends_with(".js") || name.ends_with(".mjs")) {
            continue;
        }
        let s = std::fs::read_to_string(&p).unwrap();
        for pat in ["coded('", "code: '", "HoviatError('", "|| '"] {
            for (i, _) in s.match_indices(pat) {
                let rest = &s[i + pat.len()..];
                let lit = &rest[..rest.find('\'').unwrap_or(0)];
                if is_code(lit) && lit.contains('_') {
                    out.insert(lit.to_string());
                }
            }
        }
    }
}

#[test]
fn every_code_the_javascript_throws_is_in_the_table() {
    let mut thrown = BTreeSet::new();
    for d in ["extension", "npm", "www"] {
        js_codes(&root().join(d), &mut thrown);
    }
    // The wasm facade's own `error("CODE", …)` calls.
    let facade = read("crates/wasm/src/lib.rs");
    for (i, _) in facade.match_indices("error(\"") {
        let rest = &facade[i + 7..];
        let lit = &rest[..rest.find('"').unwrap_or(0)];
        if is_code(lit) {
            thrown.insert(lit.to_string());
        }
    }
    assert!(thrown.contains("INVALID_ARGUMENT"), "scan found {thrown:?}");
    assert!(thrown.contains("EXTENSION_COOLDOWN"), "scan found {thrown:?}");
    let missing: Vec<_> = thrown.iter().filter(|c| !hoviat::codes::is_known(c)).collect();
    assert!(
        missing.is_empty(),
        "thrown by JavaScript but not in src/codes/mod.rs: {missing:?}"
    );
}

/// `(code, HTTP status)` pairs the example servers answer with: `error(StatusCode::X, "CODE"`
/// and `StatusCode::X => (status, "CODE"` in bank-portal, `fail(res, N, 'CODE'` in node-server.
fn server_answers() -> Vec<(String, u16, &'static str)> {
    let status_of = |name: &str| -> Option<u16> {
        Some(match name {
            "BAD_REQUEST" => 400,
            "UNAUTHORIZED" => 401,
            "FORBIDDEN" => 403,
            "NOT_FOUND" => 404,
            "METHOD_NOT_ALLOWED" => 405,
            "REQUEST_TIMEOUT" => 408,
            "PAYLOAD_TOO_LARGE" => 413,
            "UNSUPPORTED_MEDIA_TYPE" => 415,
            "UNPROCESSABLE_ENTITY" => 422,
            "TOO_MANY_REQUESTS" => 429,
            "INTERNAL_SERVER_ERROR" => 500,
            "SERVICE_UNAVAILABLE" => 503,
            _ => return None,
        })
    };
    let mut out = Vec::new();
    for file in [
        "examples/bank-portal/app.rs",
        "examples/bank-portal/serve.rs",
        "examples/bank-portal/record.rs",
        "examples/bank-portal/signature.rs",
    ] {
        let s = read(file);
        for (i, _) in s.match_indices("StatusCode::") {
            let rest = &s[i + 12..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            let Some(status) = status_of(&name) else { continue };
            let after = rest[name.len()..].trim_start();
            let after = after
                .strip_prefix("=> (status,")
                .or_else(|| after.strip_prefix(','))
                .map(str::trim_start);
            if let Some(lit) = after.and_then(|a| a.strip_prefix('"')) {
                let code = &lit[..lit.find('"').unwrap_or(0)];
                if is_code(code) {
                    out.push((code.to_string(), status, "bank-portal"));
                }
            }
        }
    }
    let node = read("examples/node-server/server.mjs");
    for (i, _) in node.match_indices("fail(res, ") {
        let rest = &node[i + 10..];
        let Some((num, tail)) = rest.split_once(", '") else {
            continue;
        };
        let (Ok(status), Some(code)) = (num.parse::<u16>(), tail.split('\'').next()) else {
            continue;
        };
        if is_code(code) {
            out.push((code.to_string(), status, "node-server"));
        }
    }
    out
}

#[test]
fn every_server_code_is_in_the_table_with_one_status() {
    let answers = server_answers();
    let codes: BTreeSet<&str> = answers.iter().map(|(c, _, _)| c.as_str()).collect();
    for c in [
        "NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "RATE_LIMITED",
        "REQUEST_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
    ] {
        assert!(codes.contains(c), "the scan missed {c}: {answers:?}");
    }
    assert!(answers.iter().any(|(_, _, s)| *s == "node-server"));
    let missing: Vec<_> = codes.iter().filter(|c| !hoviat::codes::is_known(c)).collect();
    assert!(
        missing.is_empty(),
        "answered by a server but not in src/codes/mod.rs: {missing:?}"
    );
    for c in &codes {
        let statuses: BTreeSet<u16> = answers.iter().filter(|(x, _, _)| x == c).map(|(_, s, _)| *s).collect();
        assert_eq!(statuses.len(), 1, "{c} is answered with several statuses: {answers:?}");
    }
}
