//! Stable machine codes shared by every layer's error type.
//!
//! Each layer has its own `#[non_exhaustive]` error enum; all of them implement [`Coded`], whose
//! [`Coded::code`] is a short upper-case string (`"CERT_EXPIRED"`, `"ORIGIN_MISMATCH"`, ...) that
//! is part of hoviat's public interface: it is printed by the CLI, returned by the host and
//! surfaces in JavaScript as `err.code`. Codes are never renamed; new ones may be added.

/// An error with a stable machine-readable code.
pub trait Coded: std::error::Error {
    /// The stable code, e.g. `"CERT_EXPIRED"`.
    fn code(&self) -> &'static str;
    /// Whether trying the same operation again may succeed (a busy store, a card removed).
    fn is_retryable(&self) -> bool {
        false
    }
}

/// The `{"error": {"code", "message"}}` object the CLI, the host and the JS bindings emit.
pub fn error_json(err: &dyn Coded) -> serde_json::Value {
    serde_json::json!({ "error": { "code": err.code(), "message": err.to_string() } })
}
