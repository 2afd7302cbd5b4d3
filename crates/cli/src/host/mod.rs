//! The native-messaging host's protocol, as pure logic: framing (a 32-bit length in native byte
//! order, then UTF-8 JSON), size limits, strict request validation, and the messages the host
//! sends back. The binary `hoviat-host` wires this to stdin/stdout and to PC/SC.
//!
//! Protocol v1. Requests (browser → host, at most [`MAX_REQUEST`] bytes):
//! `{"v":1,"id":"<1..64 of A-Z a-z 0-9 . _ : ->","cmd":"version"|"list-readers"|"info"|"authenticate"|"cancel",
//!   "origin":"<set by the extension>","nonce":"<44..128 base64>","reader":"<optional>","pin":"<digits, optional>"}`;
//! unknown fields, duplicate fields and wrong types are refused (`HOST_BAD_MESSAGE`), another
//! `v` is `PROTOCOL_VERSION_MISMATCH`. Answers (host → browser, at most [`MAX_RESPONSE`] bytes):
//! progress `{"v":1,"id","status"}`, result `{"v":1,"id","ok":true,"result"}`, error
//! `{"v":1,"id","ok":false,"error":{"code","message"}}` (`id` is `null` when the request had none
//! that could be read).

pub mod install;

use std::fmt;
use std::io::{self, Read, Write};

use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use hoviat::card::{Pin, Status};
use hoviat::error::Coded;
use hoviat::token::Origin;

/// The protocol version this host speaks.
pub const PROTOCOL: u64 = 1;
/// The host's name in native-messaging manifests.
pub const HOST_NAME: &str = "ir.hoviat.host";
/// Largest message the host accepts from the browser (64 KiB).
pub const MAX_REQUEST: usize = 64 * 1024;
/// Largest message the host sends (1 MiB: Chromium's limit for host → browser messages).
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// Longest request id.
pub const MAX_ID: usize = 64;
/// Longest reader name.
pub const MAX_READER: usize = 256;

/// Host-level failures, with stable codes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// The message is not a valid v1 request (bad JSON, wrong types, unknown fields, bad values).
    BadMessage(String),
    /// The message is larger than the limit of its direction.
    MessageTooLarge {
        /// Its length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A card operation is already running (one at a time).
    Busy,
    /// The request speaks another protocol version.
    VersionMismatch {
        /// What the request said.
        got: String,
    },
    /// The operation was cancelled by a `cancel` request.
    Cancelled,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMessage(d) => write!(f, "invalid message: {d}"),
            Self::MessageTooLarge { len, max } => write!(f, "message of {len} bytes exceeds the limit of {max} bytes"),
            Self::Busy => f.write_str("another card operation is running; try again when it ends"),
            Self::VersionMismatch { got } => {
                write!(f, "the host speaks protocol {PROTOCOL}, the request speaks {got}")
            }
            Self::Cancelled => f.write_str("the operation was cancelled"),
        }
    }
}

impl std::error::Error for HostError {}

impl Coded for HostError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadMessage(_) => "HOST_BAD_MESSAGE",
            Self::MessageTooLarge { .. } => "HOST_MESSAGE_TOO_LARGE",
            Self::Busy => "HOST_BUSY",
            Self::VersionMismatch { .. } => "PROTOCOL_VERSION_MISMATCH",
            Self::Cancelled => "HOST_CANCELLED",
        }
    }
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Busy | Self::Cancelled)
    }
}

/// What reading one frame gave.
#[derive(Debug)]
pub enum Frame {
    /// A message within the limit (zeroized on drop: it may hold a PIN).
    Message(Zeroizing<Vec<u8>>),
    /// A message over the limit; its bytes were read and dropped, so the stream stays in step.
    TooLarge(u64),
    /// The other side closed the stream between two messages.
    End,
}

/// Reads one frame of at most `max` bytes. A stream that ends inside a frame is an
/// `UnexpectedEof` error; an oversized frame is skipped (its bytes drained) and reported.
pub fn read_frame(r: &mut impl Read, max: usize) -> io::Result<Frame> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(Frame::End),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended inside a length",
                ));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u64::from(u32::from_ne_bytes(len));
    if len > max as u64 {
        let skipped = io::copy(&mut r.take(len), &mut io::sink())?;
        if skipped < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stream ended inside a message",
            ));
        }
        return Ok(Frame::TooLarge(len));
    }
    let mut buf = Zeroizing::new(vec![0u8; len as usize]);
    r.read_exact(&mut buf)?;
    Ok(Frame::Message(buf))
}

/// Encodes a message as a frame, or refuses it when it is over `max` bytes.
pub fn encode_frame(msg: &Value, max: usize) -> Result<Vec<u8>, HostError> {
    let body = serde_json::to_vec(msg).map_err(|e| HostError::BadMessage(e.to_string()))?;
    if body.len() > max {
        return Err(HostError::MessageTooLarge {
            len: body.len() as u64,
            max,
        });
    }
    let len = u32::try_from(body.len()).map_err(|_| HostError::MessageTooLarge {
        len: body.len() as u64,
        max,
    })?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Writes one host → browser message; a message over [`MAX_RESPONSE`] is replaced by a
/// `HOST_MESSAGE_TOO_LARGE` error for the same id, so the browser always gets an answer.
pub fn write_message(w: &mut impl Write, msg: &Value) -> io::Result<()> {
    let frame = match encode_frame(msg, MAX_RESPONSE) {
        Ok(f) => f,
        Err(e) => {
            let id = msg.get("id").and_then(Value::as_str);
            encode_frame(&error(id, &e), MAX_RESPONSE).map_err(io::Error::other)?
        }
    };
    w.write_all(&frame)?;
    w.flush()
}

/// A validated request.
#[derive(Debug)]
pub struct Request {
    /// The request id, echoed in every answer.
    pub id: String,
    /// What to do.
    pub cmd: Cmd,
}

/// The commands of protocol v1.
#[derive(Debug)]
pub enum Cmd {
    /// The host's name, version and protocol.
    Version,
    /// The readers and whether each holds a card.
    ListReaders,
    /// What the card says without a PIN.
    Info {
        /// A reader name, or the first reader with a card.
        reader: Option<String>,
    },
    /// A challenge-response for `origin` and `nonce`.
    Authenticate {
        /// A reader name, or the first reader with a card.
        reader: Option<String>,
        /// The calling page's origin as the browser reported it to the extension.
        origin: Origin,
        /// The relying party's challenge.
        nonce: String,
        /// The PIN, when the extension asked it.
        pin: Option<Pin>,
    },
    /// Cancels the running operation.
    Cancel,
}

impl Cmd {
    /// The command's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Version => "version",
            Self::ListReaders => "list-readers",
            Self::Info { .. } => "info",
            Self::Authenticate { .. } => "authenticate",
            Self::Cancel => "cancel",
        }
    }
    /// Whether it uses the card (and so waits for a running operation).
    pub fn uses_card(&self) -> bool {
        matches!(self, Self::ListReaders | Self::Info { .. } | Self::Authenticate { .. })
    }
}

/// A PIN read straight from the message into a [`Pin`] (no intermediate `String` for PINs
/// without JSON escapes).
struct PinField(Pin);

impl<'de> Deserialize<'de> for PinField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PinField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a PIN of 4 to 16 digits")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<PinField, E> {
                // The wire carries ASCII digits only: the extension's PIN window converts what
                // was typed (Persian digits included) before it sends the PIN here.
                if !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom("invalid PIN: only digits"));
                }
                Pin::new(s).map(PinField).map_err(|e| E::custom(e.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    v: Value,
    id: String,
    cmd: String,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    reader: Option<String>,
    #[serde(default)]
    pin: Option<PinField>,
}

#[derive(Deserialize)]
struct VOnly {
    v: Option<Value>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: Option<Value>,
}

/// A request that could not be accepted, with the id to answer to when one could be read.
#[derive(Debug)]
pub struct Refusal {
    /// The request's id, when it had a valid one.
    pub id: Option<String>,
    /// Why.
    pub error: HostError,
}

fn valid_id(id: &str) -> bool {
    (1..=MAX_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Parses and validates one request. Never panics, whatever the bytes.
pub fn parse_request(bytes: &[u8]) -> Result<Request, Refusal> {
    // The id to answer to, read leniently so that even a refused message gets a correlated answer.
    let id = serde_json::from_slice::<IdOnly>(bytes)
        .ok()
        .and_then(|r| r.id)
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|s| valid_id(s));
    let refuse = |error: HostError| Refusal { id: id.clone(), error };
    let bad = |m: String| refuse(HostError::BadMessage(m));
    // The version first: a request of another version may have other fields. (Only `v` is
    // kept: the other fields, the PIN among them, are skipped without being copied.)
    if let Ok(VOnly { v }) = serde_json::from_slice::<VOnly>(bytes) {
        match v {
            Some(Value::Number(n)) if n.as_u64() == Some(PROTOCOL) => {}
            Some(v) => {
                return Err(refuse(HostError::VersionMismatch {
                    got: clip(&v.to_string()),
                }));
            }
            None => return Err(bad("no protocol version \"v\"".into())),
        }
    }
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| bad(clip(&e.to_string())))?;
    if raw.v.as_u64() != Some(PROTOCOL) {
        return Err(refuse(HostError::VersionMismatch {
            got: clip(&raw.v.to_string()),
        }));
    }
    if !valid_id(&raw.id) {
        return Err(bad(format!(
            "\"id\" must be 1 to {MAX_ID} characters of A-Z a-z 0-9 . _ : -"
        )));
    }
    if let Some(r) = &raw.reader
        && (r.is_empty() || r.len() > MAX_READER || r.chars().any(char::is_control))
    {
        return Err(bad(format!(
            "\"reader\" must be 1 to {MAX_READER} bytes without control characters"
        )));
    }
    let origin = match &raw.origin {
        Some(o) => Some(Origin::parse(o).map_err(|e| bad(clip(&e.to_string())))?),
        None => None,
    };
    if let Some(n) = &raw.nonce {
        hoviat::token::nonce::check_nonce_shape(n)
            .map_err(|_| bad("\"nonce\" must be 44 to 128 base64 characters".into()))?;
    }
    let only = |allowed: &[&str]| -> Result<(), Refusal> {
        let present = [
            ("origin", raw.origin.is_some()),
            ("nonce", raw.nonce.is_some()),
            ("reader", raw.reader.is_some()),
            ("pin", raw.pin.is_some()),
        ];
        match present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
            Some((k, _)) => Err(bad(format!("\"{k}\" is not a field of \"{}\"", raw.cmd))),
            None => Ok(()),
        }
    };
    let cmd = match raw.cmd.as_str() {
        "version" => {
            only(&["origin"])?;
            Cmd::Version
        }
        "list-readers" => {
            only(&["origin"])?;
            Cmd::ListReaders
        }
        "cancel" => {
            only(&["origin"])?;
            Cmd::Cancel
        }
        "info" => {
            only(&["origin", "reader"])?;
            Cmd::Info { reader: raw.reader }
        }
        "authenticate" => {
            only(&["origin", "reader", "nonce", "pin"])?;
            Cmd::Authenticate {
                reader: raw.reader,
                origin: origin.ok_or_else(|| bad("\"authenticate\" needs \"origin\"".into()))?,
                nonce: raw
                    .nonce
                    .ok_or_else(|| bad("\"authenticate\" needs \"nonce\"".into()))?,
                pin: raw.pin.map(|p| p.0),
            }
        }
        other => return Err(bad(format!("unknown command {:?}", clip(other)))),
    };
    Ok(Request { id: raw.id, cmd })
}

fn clip(s: &str) -> String {
    if s.len() <= 120 {
        return s.to_string();
    }
    let mut end = 120;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A progress message.
pub fn progress(id: &str, status: Status) -> Value {
    json!({ "v": PROTOCOL, "id": id, "status": status })
}

/// A success.
pub fn success(id: &str, result: Value) -> Value {
    json!({ "v": PROTOCOL, "id": id, "ok": true, "result": result })
}

/// A failure with a stable code.
pub fn error(id: Option<&str>, err: &dyn Coded) -> Value {
    json!({ "v": PROTOCOL, "id": id, "ok": false, "error": { "code": err.code(), "message": err.to_string() } })
}

/// The answer to `version`.
pub fn version_result() -> Value {
    json!({ "name": "hoviat-host", "version": env!("CARGO_PKG_VERSION"), "protocol": PROTOCOL })
}

/// The answer to `authenticate`: the `web-eid:1.0` token as a JSON object.
pub fn authenticate_result(token_json: &str) -> Result<Value, HostError> {
    let token: Value = serde_json::from_str(token_json)
        .map_err(|e| HostError::BadMessage(format!("token from the card layer: {e}")))?;
    Ok(json!({ "token": token }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut v = u32::try_from(body.len()).unwrap().to_ne_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn code(r: Result<Request, Refusal>) -> (&'static str, Option<String>) {
        let e = r.expect_err("should be refused");
        (e.error.code(), e.id)
    }

    #[test]
    fn framing_round_trip_and_end() {
        let msg = success("a1", json!({"x": "é"}));
        let f = encode_frame(&msg, MAX_RESPONSE).unwrap();
        assert_eq!(u32::from_ne_bytes(f[..4].try_into().unwrap()) as usize, f.len() - 4);
        let mut two = f.clone();
        two.extend_from_slice(&f);
        let mut r = &two[..];
        for _ in 0..2 {
            match read_frame(&mut r, MAX_REQUEST).unwrap() {
                Frame::Message(b) => assert_eq!(serde_json::from_slice::<Value>(&b).unwrap(), msg),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(read_frame(&mut r, MAX_REQUEST).unwrap(), Frame::End));
    }

    #[test]
    fn truncated_frames_are_errors() {
        let f = frame(br#"{"v":1}"#);
        for cut in [1, 3, 5, f.len() - 1] {
            let e = read_frame(&mut &f[..cut], MAX_REQUEST).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
        }
    }

    #[test]
    fn oversized_request_is_skipped_and_the_stream_stays_in_step() {
        let mut s = frame(&vec![b' '; MAX_REQUEST + 1]);
        s.extend_from_slice(&frame(br#"{"v":1,"id":"n","cmd":"version"}"#));
        let mut r = &s[..];
        assert!(matches!(read_frame(&mut r, MAX_REQUEST).unwrap(), Frame::TooLarge(n) if n == MAX_REQUEST as u64 + 1));
        let Frame::Message(b) = read_frame(&mut r, MAX_REQUEST).unwrap() else {
            panic!("next frame lost")
        };
        assert_eq!(parse_request(&b).unwrap().id, "n");
        // Exactly the limit is accepted.
        let at = frame(&vec![b' '; MAX_REQUEST]);
        assert!(matches!(read_frame(&mut &at[..], MAX_REQUEST).unwrap(), Frame::Message(b) if b.len() == MAX_REQUEST));
        // A length announcing 4 GiB with nothing behind it ends as EOF, without allocating.
        let huge = u32::MAX.to_ne_bytes();
        assert_eq!(
            read_frame(&mut &huge[..], MAX_REQUEST).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn oversized_response_becomes_an_error_for_the_same_id() {
        let big = success("big", json!({ "blob": "x".repeat(MAX_RESPONSE) }));
        assert!(matches!(
            encode_frame(&big, MAX_RESPONSE),
            Err(HostError::MessageTooLarge { .. })
        ));
        let mut out = Vec::new();
        write_message(&mut out, &big).unwrap();
        let Frame::Message(b) = read_frame(&mut &out[..], MAX_RESPONSE).unwrap() else {
            panic!()
        };
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["id"], "big");
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["code"], "HOST_MESSAGE_TOO_LARGE");
    }

    #[test]
    fn valid_requests() {
        let r = parse_request(br#"{"v":1,"id":"r-1","cmd":"version"}"#).unwrap();
        assert!(matches!(r.cmd, Cmd::Version) && r.id == "r-1");
        let r = parse_request(br#"{"v":1,"id":"2","cmd":"info","reader":"Virtual PCD 00 00"}"#).unwrap();
        assert!(matches!(r.cmd, Cmd::Info { reader: Some(ref n) } if n == "Virtual PCD 00 00"));
        let body = format!(
            r#"{{"v":1,"id":"3","cmd":"authenticate","origin":"https://bank.example.ir","nonce":"{NONCE}","pin":"123456"}}"#
        );
        let r = parse_request(body.as_bytes()).unwrap();
        let Cmd::Authenticate {
            origin,
            nonce,
            pin,
            reader,
        } = r.cmd
        else {
            panic!()
        };
        assert_eq!(origin.as_str(), "https://bank.example.ir");
        assert_eq!(nonce, NONCE);
        assert_eq!(pin.unwrap().len(), 6);
        assert!(reader.is_none());
        assert!(matches!(
            parse_request(br#"{"v":1,"id":"c","cmd":"cancel"}"#).unwrap().cmd,
            Cmd::Cancel
        ));
    }

    #[test]
    fn hostile_or_malformed_requests_are_refused_with_codes() {
        let cases: &[(&[u8], &str, Option<&str>)] = &[
            (b"", "HOST_BAD_MESSAGE", None),
            (b"not json", "HOST_BAD_MESSAGE", None),
            (b"[1,2]", "HOST_BAD_MESSAGE", None),
            (b"\xff\xfe{}", "HOST_BAD_MESSAGE", None),
            (br#"{"id":"a","cmd":"version"}"#, "HOST_BAD_MESSAGE", Some("a")),
            (
                br#"{"v":2,"id":"a","cmd":"version"}"#,
                "PROTOCOL_VERSION_MISMATCH",
                Some("a"),
            ),
            (
                br#"{"v":"1","id":"a","cmd":"version"}"#,
                "PROTOCOL_VERSION_MISMATCH",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"format-disk"}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"version","extra":1}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","id":"b","cmd":"version"}"#,
                "HOST_BAD_MESSAGE",
                None,
            ),
            (br#"{"v":1,"id":7,"cmd":"version"}"#, "HOST_BAD_MESSAGE", None),
            (br#"{"v":1,"id":"has space","cmd":"version"}"#, "HOST_BAD_MESSAGE", None),
            (
                br#"{"v":1,"id":"a","cmd":"version","pin":"1234"}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"info","reader":""}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"info","reader":"x\u0000y"}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"authenticate","nonce":"short"}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"authenticate","origin":"https://a.example"}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"info","origin":"javascript:alert(1)"}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
            (
                br#"{"v":1,"id":"a","cmd":"info","origin":"http://evil.example"}"#,
                "HOST_BAD_MESSAGE",
                Some("a"),
            ),
        ];
        for (body, want, id) in cases {
            let (got, got_id) = code(parse_request(body));
            assert_eq!(got, *want, "{}", String::from_utf8_lossy(body));
            assert_eq!(got_id.as_deref(), *id, "{}", String::from_utf8_lossy(body));
        }
        let long_id = format!(r#"{{"v":1,"id":"{}","cmd":"version"}}"#, "a".repeat(MAX_ID + 1));
        assert_eq!(code(parse_request(long_id.as_bytes())).0, "HOST_BAD_MESSAGE");
        for pin in ["12a4", "123", "12345678901234567", "1234\n", " 1234", "١٢٣٤"] {
            let body = format!(
                r#"{{"v":1,"id":"p","cmd":"authenticate","origin":"https://a.example","nonce":"{NONCE}","pin":{}}}"#,
                serde_json::to_string(pin).unwrap()
            );
            let (c, id) = code(parse_request(body.as_bytes()));
            assert_eq!((c, id.as_deref()), ("HOST_BAD_MESSAGE", Some("p")), "pin {pin:?}");
        }
        // The PIN never appears in a refusal.
        let body = format!(
            r#"{{"v":1,"id":"p","cmd":"authenticate","origin":"https://a.example","nonce":"{NONCE}","pin":"98765x"}}"#
        );
        let e = parse_request(body.as_bytes()).unwrap_err();
        assert!(!e.error.to_string().contains("98765"), "{}", e.error);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A deterministic byte soup (xorshift), plus every prefix of a valid request.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for n in 0..2000 {
            let len = n % 97;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x & 0xff) as u8
                })
                .collect();
            assert!(parse_request(&bytes).is_err());
            let _ = read_frame(&mut &bytes[..], MAX_REQUEST);
        }
        let good = format!(r#"{{"v":1,"id":"3","cmd":"authenticate","origin":"https://a.example","nonce":"{NONCE}"}}"#);
        for cut in 0..good.len() {
            assert!(parse_request(&good.as_bytes()[..cut]).is_err());
        }
        assert!(parse_request(good.as_bytes()).is_ok());
    }

    #[test]
    fn answers_have_the_v1_shape() {
        assert_eq!(
            progress("i", Status::WaitingForPin),
            json!({"v":1,"id":"i","status":"waiting-for-pin"})
        );
        let e = error(None, &HostError::Busy);
        assert_eq!(
            e,
            json!({"v":1,"id":null,"ok":false,"error":{"code":"HOST_BUSY","message":HostError::Busy.to_string()}})
        );
        assert_eq!(version_result()["protocol"], 1);
        assert_eq!(version_result()["name"], "hoviat-host");
        let t = authenticate_result(r#"{"format":"web-eid:1.0"}"#).unwrap();
        assert_eq!(t["token"]["format"], "web-eid:1.0");
        assert!(authenticate_result("{").is_err());
    }
}
