//! Structured events through [`tracing`], written as JSON lines (`{"ts","event",...}`).
//!
//! The kit emits its events (`challenge_issued`, `login_verified`, `login_refused` with its
//! `code`, ...) as `tracing` events with target `hoviat_rp` and an `event` field, through the
//! [`event!`](crate::event) macro. Where they go is a [`Logger`]: the caller's current `tracing`
//! subscriber ([`Logger::current`], so an application that installs its own subscriber gets
//! them), nowhere ([`Logger::disabled`]), or this module's JSON-lines layer ([`JsonLines`]) over a
//! [`Sink`] (a file, standard error, memory in tests), one dispatcher per logger so two services
//! in one process (or one test binary) keep separate logs.
//!
//! What never goes into a line written by [`JsonLines`]: PINs (the server never receives one),
//! tokens, signatures and whole certificates. A field whose name names such a thing is dropped,
//! and a value that looks like PEM or is longer than [`MAX_VALUE_LEN`] characters is cut, so a
//! careless caller cannot leak them either (whatever emitted the event: the layer sees every
//! field). Nonces and sessions are logged as a short fingerprint ([`fingerprint`]).
//!
//! Why a layer of our own and not `tracing-subscriber`'s `fmt().json()`: its JSON formatter
//! serializes an event's fields directly, with no hook to drop or cut a value; redaction would
//! have to parse every line back.

use std::io::Write;
use std::sync::{Arc, Mutex};

use sha2::Digest;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Dispatch, Event, Span, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use hoviat::time::UnixTime;

/// The `tracing` crate, for [`event!`](crate::event) and for callers that build their own
/// subscriber around [`JsonLines`].
pub use tracing;

/// Longest string value written (characters); longer ones are cut and marked `…`.
pub const MAX_VALUE_LEN: usize = 256;

/// Field names that are never logged, whatever their value.
const FORBIDDEN_KEYS: [&str; 7] = ["pin", "token", "signature", "certificate", "cert", "der", "password"];

/// Emits one structured event: `event!(logger, "name", key = value, key = %display, ...)`.
///
/// An `info`-level `tracing` event with target `hoviat_rp` and the field `event = "name"`,
/// dispatched to `logger` ([`Logger::in_scope`]).
#[macro_export]
macro_rules! event {
    ($log:expr, $name:literal $(, $($fields:tt)+)?) => {
        $log.in_scope(|| {
            $crate::log::tracing::info!(target: "hoviat_rp", event = $name $(, $($fields)+)?)
        })
    };
}

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

/// A `tracing-subscriber` layer that writes each event as one redacted JSON line to a [`Sink`]:
/// `ts` (RFC 3339, UTC), the fields of the spans it happened in (outermost first, e.g.
/// `instance`), then the event's own fields (`event`, `code`, ...).
pub struct JsonLines {
    sink: Arc<dyn Sink>,
}

impl JsonLines {
    /// A layer writing to `sink`.
    pub fn new(sink: impl Sink + 'static) -> Self {
        Self { sink: Arc::new(sink) }
    }
}

/// A span's fields, already redacted (kept in the span's extensions).
struct SpanFields(serde_json::Map<String, serde_json::Value>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for JsonLines {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut m = serde_json::Map::new();
        attrs.record(&mut Fields(&mut m));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(m));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut m = serde_json::Map::new();
        m.insert("ts".into(), UnixTime::now().to_string().into());
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<SpanFields>() {
                    m.extend(f.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut Fields(&mut m));
        if !m.contains_key("event") {
            m.insert("event".into(), event.metadata().name().into());
        }
        self.sink.line(&serde_json::Value::Object(m).to_string());
    }
}

/// Collects an event's fields, dropping forbidden names and cutting long or PEM values.
struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, v: serde_json::Value) {
        let k = field.name();
        if FORBIDDEN_KEYS.iter().any(|f| k.eq_ignore_ascii_case(f)) || k == "ts" {
            return;
        }
        self.0.insert(k.to_string(), v);
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, clean(value).into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, clean(&format!("{value:?}")).into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
}

/// Cuts PEM blocks and long strings.
fn clean(s: &str) -> String {
    let s = match s.find("-----BEGIN") {
        Some(i) => format!("{}[PEM removed]", &s[..i]),
        None => s.to_string(),
    };
    if s.chars().count() > MAX_VALUE_LEN {
        let cut: String = s.chars().take(MAX_VALUE_LEN).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Where a service's events go; cheap to clone.
#[derive(Clone, Default)]
pub struct Logger {
    dispatch: Option<Dispatch>,
    /// A span every event is emitted in ([`Logger::with_instance`]).
    span: Option<Span>,
}

impl Logger {
    /// The caller's current `tracing` subscriber (the global default unless a scope sets one;
    /// with none installed, nothing is written).
    pub fn current() -> Self {
        Self::default()
    }

    /// Logs nothing.
    pub fn disabled() -> Self {
        Self::with_dispatch(Dispatch::none())
    }

    /// JSON lines on standard error.
    pub fn stderr() -> Self {
        Self::to_sink(WriterSink::new(std::io::stderr()))
    }

    /// JSON lines ([`JsonLines`]) to a sink.
    pub fn to_sink(sink: impl Sink + 'static) -> Self {
        Self::with_dispatch(Dispatch::new(tracing_subscriber::registry().with(JsonLines::new(sink))))
    }

    /// Events go to this dispatcher (any `tracing` subscriber).
    pub fn with_dispatch(d: Dispatch) -> Self {
        // `tracing` caches, per call site, whether any subscriber wants its events. While only
        // one dispatcher is registered in the process it asks the *calling thread's* current
        // one: an event first hit on a thread without a logger (another service, a disabled
        // logger) would be cached as "never" and lost for this logger too. A second, idle
        // dispatcher kept for the life of the process makes `tracing` ask every registered
        // dispatcher instead (seen: the bank-portal test lost `server_started` in 2 runs of 4
        // without it; `call_site_first_hit_elsewhere_still_logs` below).
        static ANCHOR: std::sync::OnceLock<Dispatch> = std::sync::OnceLock::new();
        ANCHOR.get_or_init(|| Dispatch::new(tracing_subscriber::registry()));
        Self {
            dispatch: Some(d),
            span: None,
        }
    }

    /// A logger whose events all carry `instance` (the server instance's name).
    pub fn with_instance(mut self, instance: &str) -> Self {
        let span = self.in_scope(|| tracing::info_span!(target: "hoviat_rp", "instance", instance));
        self.span = Some(span);
        self
    }

    /// The dispatcher, if this logger has its own (e.g. to make it the process's global default
    /// with `tracing::dispatcher::set_global_default`).
    pub fn dispatch(&self) -> Option<&Dispatch> {
        self.dispatch.as_ref()
    }

    /// Runs `f` (which emits events) with this logger's dispatcher as the current one.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let f = || match &self.span {
            Some(s) => s.in_scope(f),
            None => f(),
        };
        match &self.dispatch {
            Some(d) => tracing::dispatcher::with_default(d, f),
            None => f(),
        }
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
        let l = Logger::to_sink(m.clone());
        let long = "A".repeat(5000);
        crate::event!(
            l,
            "x",
            pin = "1234",
            Token = "{...}",
            signature = ?b"MIIBsig",
            note = "see -----BEGIN CERTIFICATE-----\nMIIB...",
            long = long.as_str(),
            shown = %"MIIC\n-----BEGIN PRIVATE KEY-----",
            count = 3u64,
            ok = true,
        );
        let line = m.contents();
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["event"], "x");
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
        assert!(v.get("pin").is_none() && v.get("Token").is_none() && v.get("signature").is_none());
        assert!(!line.contains("1234") && !line.contains("MIIB") && !line.contains("PRIVATE"));
        assert_eq!(v["note"], "see [PEM removed]");
        assert_eq!(v["shown"], "MIIC\n[PEM removed]");
        assert!(v["long"].as_str().unwrap().chars().count() == MAX_VALUE_LEN + 1);
        assert_eq!((v["count"].clone(), v["ok"].clone()), (3.into(), true.into()));
        assert_eq!(fingerprint("abc").len(), 12);
    }

    /// A call site first reached on a thread with no logger (here a disabled one) while a
    /// JSON logger exists still writes through that logger afterwards.
    #[test]
    fn call_site_first_hit_elsewhere_still_logs() {
        fn emit(l: &Logger) {
            crate::event!(l, "probe", n = 1u64);
        }
        let m = MemorySink::default();
        let l = Logger::to_sink(m.clone());
        std::thread::spawn(|| emit(&Logger::disabled())).join().unwrap();
        emit(&l);
        assert!(m.contents().contains("\"event\":\"probe\""), "{}", m.contents());
    }

    /// Any `tracing` event reaching the layer is redacted, not only the kit's own; a disabled
    /// logger writes nothing, and two loggers in one thread keep their own lines.
    #[test]
    fn every_event_is_redacted_and_loggers_are_separate() {
        let (a, b) = (MemorySink::default(), MemorySink::default());
        let (la, lb) = (
            Logger::to_sink(a.clone()),
            Logger::to_sink(b.clone()).with_instance("b1"),
        );
        la.in_scope(|| tracing::warn!(certificate = "MIIB", "careless {}", "caller"));
        crate::event!(lb, "y", code = "NONCE_REPLAYED");
        crate::event!(Logger::disabled(), "z", code = "X");
        let va: serde_json::Value = serde_json::from_str(a.contents().trim()).unwrap();
        assert_eq!(va["message"], "careless caller");
        assert!(va.get("certificate").is_none() && !a.contents().contains("MIIB"));
        assert_eq!(b.contents().lines().count(), 1);
        let vb: serde_json::Value = serde_json::from_str(b.contents().trim()).unwrap();
        assert_eq!(
            (vb["event"].as_str(), vb["code"].as_str()),
            (Some("y"), Some("NONCE_REPLAYED"))
        );
        assert_eq!(vb["instance"], "b1");
    }
}
