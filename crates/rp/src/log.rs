//! Structured logs: one JSON object per line (`{"ts","event",...}`).
//!
//! What never goes into a log: PINs (the server never receives one), tokens, signatures and
//! whole certificates. A field whose key names such a thing is dropped, and a value that looks
//! like PEM or is longer than [`MAX_VALUE_LEN`] characters is cut, so a careless caller cannot
//! leak them either. Nonces are logged as a short fingerprint ([`fingerprint`]).

use std::io::Write;
use std::sync::{Arc, Mutex};

use sha2::Digest;

use hoviat::time::UnixTime;

/// Longest string value written (characters); longer ones are cut and marked `…`.
pub const MAX_VALUE_LEN: usize = 256;

/// Keys that are never logged, whatever their value.
const FORBIDDEN_KEYS: [&str; 7] = ["pin", "token", "signature", "certificate", "cert", "der", "password"];

/// Where log lines go.
pub trait Sink: Send + Sync {
    /// Writes one line (without the newline).
    fn line(&self, line: &str);
}

/// A sink over any writer (stderr, a file).
pub struct WriterSink<W: Write + Send>(Mutex<W>);

impl<W: Write + Send> WriterSink<W> {
    /// Wraps a writer.
    pub fn new(w: W) -> Self {
        Self(Mutex::new(w))
    }
}

impl<W: Write + Send> Sink for WriterSink<W> {
    fn line(&self, line: &str) {
        if let Ok(mut w) = self.0.lock() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }
}

/// A sink that keeps lines in memory (tests).
#[derive(Clone, Default)]
pub struct MemorySink(Arc<Mutex<String>>);

impl MemorySink {
    /// Everything logged so far.
    pub fn contents(&self) -> String {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Sink for MemorySink {
    fn line(&self, line: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.push_str(line);
            s.push('\n');
        }
    }
}

/// A structured logger; cheap to clone.
#[derive(Clone)]
pub struct Logger {
    sink: Option<Arc<dyn Sink>>,
    fields: Vec<(String, serde_json::Value)>,
}

impl Logger {
    /// Logs nothing.
    pub fn disabled() -> Self {
        Self {
            sink: None,
            fields: Vec::new(),
        }
    }

    /// Logs to standard error.
    pub fn stderr() -> Self {
        Self::to_sink(WriterSink::new(std::io::stderr()))
    }

    /// Logs to a sink.
    pub fn to_sink(sink: impl Sink + 'static) -> Self {
        Self {
            sink: Some(Arc::new(sink)),
            fields: Vec::new(),
        }
    }

    /// A logger that adds `key: value` to every line (e.g. the instance name).
    pub fn with_field(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.fields.push((key.to_string(), value.into()));
        self
    }

    /// Writes one event with its fields.
    pub fn event(&self, event: &str, fields: &[(&str, serde_json::Value)]) {
        let Some(sink) = &self.sink else { return };
        let mut m = serde_json::Map::new();
        m.insert("ts".into(), UnixTime::now().to_string().into());
        m.insert("event".into(), clean(event.into()));
        for (k, v) in self
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain(fields.iter().map(|(k, v)| (*k, v)))
        {
            if FORBIDDEN_KEYS.iter().any(|f| k.eq_ignore_ascii_case(f)) {
                continue;
            }
            m.insert(k.to_string(), clean(v.clone()));
        }
        sink.line(&serde_json::Value::Object(m).to_string());
    }
}

/// Cuts long strings and PEM blocks out of a value.
fn clean(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) => {
            let s = match s.find("-----BEGIN") {
                Some(i) => format!("{}[PEM removed]", &s[..i]),
                None => s,
            };
            if s.chars().count() > MAX_VALUE_LEN {
                let cut: String = s.chars().take(MAX_VALUE_LEN).collect();
                format!("{cut}…").into()
            } else {
                s.into()
            }
        }
        serde_json::Value::Array(a) => a.into_iter().take(16).map(clean).collect(),
        serde_json::Value::Object(o) => o
            .into_iter()
            .filter(|(k, _)| !FORBIDDEN_KEYS.iter().any(|f| k.eq_ignore_ascii_case(f)))
            .take(32)
            .map(|(k, v)| (k, clean(v)))
            .collect(),
        other => other,
    }
}

/// A short, non-reversible identifier for a nonce or session (first 12 hex digits of SHA-256),
/// to correlate log lines without logging the value.
pub fn fingerprint(s: &str) -> String {
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_secrets_and_pem() {
        let m = MemorySink::default();
        let l = Logger::to_sink(m.clone()).with_field("instance", "a");
        l.event(
            "x",
            &[
                ("pin", "1234".into()),
                ("Token", "{...}".into()),
                ("note", "see -----BEGIN CERTIFICATE-----\nMIIB...".into()),
                ("long", "A".repeat(5000).into()),
                ("nested", serde_json::json!({"certificate": "MIIB", "ok": 1})),
            ],
        );
        let line = m.contents();
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["event"], "x");
        assert_eq!(v["instance"], "a");
        assert!(v.get("pin").is_none() && v.get("Token").is_none());
        assert!(!line.contains("1234") && !line.contains("MIIB"));
        assert_eq!(v["note"], "see [PEM removed]");
        assert!(v["long"].as_str().unwrap().chars().count() == MAX_VALUE_LEN + 1);
        assert_eq!(v["nested"]["ok"], 1);
        assert_eq!(fingerprint("abc").len(), 12);
    }
}
