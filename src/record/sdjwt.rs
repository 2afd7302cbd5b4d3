//! The small part of SD-JWT (RFC 9901) hoviat needs, written here rather than taken from
//! `sd-jwt-payload` 0.5 (see the module documentation of [`super`] for why): object-property
//! disclosures `[salt, name, value]`, their SHA-256 digests in a flat top-level `_sd`, decoy
//! digests, the compact serialisation `<JWT>~<D1>~...~<Dn>~` without key binding, and an ES256
//! JWS whose signature a caller-supplied signer makes and the core's signature backend checks.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::error::{RecordError, malformed};
use crate::pki::alg::HashAlg;

/// Largest serialised record or presentation accepted, in bytes.
pub const MAX_RECORD_LEN: usize = 64 * 1024;
/// Most disclosures in one record.
pub const MAX_DISCLOSURES: usize = 32;
/// Most digests in `_sd` (disclosures plus decoys).
pub const MAX_SD_DIGESTS: usize = 64;
/// Most certificates in `x5c`.
pub const MAX_X5C: usize = 4;
/// Salt length in bytes (RFC 9901 §9.3 asks for at least 128 bits).
pub const SALT_LEN: usize = 16;
/// `_sd_alg`.
pub const SD_ALG: &str = "sha-256";
/// The header `typ` of an SD-JWT VC.
pub const TYP: &str = "dc+sd-jwt";

/// base64url without padding.
pub fn b64url(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// Decodes base64url without padding (strict: no padding, no other alphabet).
pub fn b64url_decode(s: &str, what: &str) -> Result<Vec<u8>, RecordError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| malformed(format!("{what} is not base64url: {e}")))
}

/// The digest of a disclosure as it appears in `_sd`: base64url(SHA-256(the ASCII string)).
pub fn disclosure_digest(disclosure: &str) -> String {
    b64url(&HashAlg::Sha256.digest(disclosure.as_bytes()))
}

/// One object-property disclosure.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosure {
    /// The encoded form, exactly as serialised (what is hashed).
    pub encoded: String,
    /// The salt (base64url text, as in the array).
    pub salt: String,
    /// The claim name.
    pub name: String,
    /// The claim value.
    pub value: Value,
}

impl Disclosure {
    /// A fresh disclosure with a salt of [`SALT_LEN`] bytes.
    pub fn new(salt: &[u8; SALT_LEN], name: &str, value: Value) -> Self {
        let salt = b64url(salt);
        let json = Value::Array(vec![
            Value::String(salt.clone()),
            Value::String(name.into()),
            value.clone(),
        ]);
        Disclosure {
            encoded: b64url(json.to_string().as_bytes()),
            salt,
            name: name.into(),
            value,
        }
    }

    /// Parses an encoded disclosure (object properties only: array-element disclosures are not
    /// used by hoviat's records and are refused).
    pub fn parse(encoded: &str) -> Result<Self, RecordError> {
        let bytes = b64url_decode(encoded, "a disclosure")?;
        let v: Value =
            serde_json::from_slice(&bytes).map_err(|e| malformed(format!("a disclosure is not JSON: {e}")))?;
        let Value::Array(a) = v else {
            return Err(malformed("a disclosure is not a JSON array"));
        };
        let [Value::String(salt), Value::String(name), value] =
            <[Value; 3]>::try_from(a).map_err(|_| malformed("a disclosure must be [salt, name, value]"))?
        else {
            return Err(malformed("a disclosure's salt and name must be strings"));
        };
        if b64url_decode(&salt, "a salt").map(|s| s.len()).unwrap_or(0) < SALT_LEN {
            return Err(malformed("a disclosure's salt is shorter than 128 bits"));
        }
        if name == "_sd" || name == "..." || name.is_empty() || name.len() > 64 {
            return Err(malformed(format!("a disclosure may not name {name:?}")));
        }
        Ok(Disclosure {
            encoded: encoded.to_string(),
            salt,
            name,
            value,
        })
    }

    /// Its digest for `_sd`.
    pub fn digest(&self) -> String {
        disclosure_digest(&self.encoded)
    }
}

/// A decoy digest (RFC 9901 §4.2.5): the hash of random bytes.
pub fn decoy_digest(random: &[u8; 32]) -> String {
    b64url(&HashAlg::Sha256.digest(random))
}

/// The JWS protected header of a record: `alg: ES256`, `typ: dc+sd-jwt`, `x5c` (standard
/// base64 DER, terminal certificate first, RFC 7515 §4.1.6).
pub fn header(x5c: &[Vec<u8>]) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("alg".into(), "ES256".into());
    h.insert("typ".into(), TYP.into());
    h.insert(
        "x5c".into(),
        Value::Array(x5c.iter().map(|c| Value::String(STANDARD.encode(c))).collect()),
    );
    h
}

/// The JWS signing input `base64url(header) . base64url(payload)`.
pub fn signing_input(header: &Map<String, Value>, payload: &Map<String, Value>) -> String {
    format!(
        "{}.{}",
        b64url(Value::Object(header.clone()).to_string().as_bytes()),
        b64url(Value::Object(payload.clone()).to_string().as_bytes())
    )
}

/// A parsed SD-JWT (record or presentation); nothing is verified yet.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The issuer-signed JWT, compact.
    pub jwt: String,
    /// `header.payload` (the bytes the seal covers).
    pub signing_input: String,
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload.
    pub payload: Map<String, Value>,
    /// The signature bytes (ES256: raw `r || s`).
    pub signature: Vec<u8>,
    /// The disclosures, in serialised order.
    pub disclosures: Vec<Disclosure>,
}

fn json_object(b64: &str, what: &str) -> Result<Map<String, Value>, RecordError> {
    let bytes = b64url_decode(b64, what)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(malformed(format!("the {what} is not a JSON object"))),
        Err(e) => Err(malformed(format!("the {what} is not JSON: {e}"))),
    }
}

/// Splits and decodes `<JWT>~<D1>~...~<Dn>~` with the limits above. A key-binding JWT after
/// the last `~` is refused (hoviat's records carry no `cnf`).
pub fn parse(input: &str) -> Result<Parsed, RecordError> {
    let input = input.trim();
    if input.len() > MAX_RECORD_LEN {
        return Err(RecordError::TooLarge {
            what: "the record",
            limit: MAX_RECORD_LEN,
        });
    }
    if !input.is_ascii() {
        return Err(malformed("an SD-JWT is ASCII"));
    }
    let Some(body) = input.strip_suffix('~') else {
        return Err(malformed(
            "an SD-JWT without key binding ends with '~' (a key-binding JWT is not accepted)",
        ));
    };
    let mut parts = body.split('~');
    let jwt = parts.next().unwrap_or_default();
    let encoded: Vec<&str> = parts.collect();
    if encoded.len() > MAX_DISCLOSURES {
        return Err(RecordError::TooLarge {
            what: "the number of disclosures",
            limit: MAX_DISCLOSURES,
        });
    }
    let segs: Vec<&str> = jwt.split('.').collect();
    let [h, p, s] = segs.as_slice() else {
        return Err(malformed("the JWT must have three parts"));
    };
    let header = json_object(h, "JWT header")?;
    let payload = json_object(p, "JWT payload")?;
    let signature = b64url_decode(s, "the JWT signature")?;
    let disclosures = encoded
        .iter()
        .map(|d| Disclosure::parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed {
        jwt: jwt.to_string(),
        signing_input: format!("{h}.{p}"),
        header,
        payload,
        signature,
        disclosures,
    })
}

/// Serialises a JWT and disclosures as an SD-JWT.
pub fn serialise<'a>(jwt: &str, disclosures: impl IntoIterator<Item = &'a str>) -> String {
    let mut s = String::from(jwt);
    s.push('~');
    for d in disclosures {
        s.push_str(d);
        s.push('~');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Coded;

    #[test]
    fn rfc9901_disclosure_digest_example() {
        // RFC 9901 §5.2.1 example: the disclosure of "family_name": "Möbius" and its digest.
        let d = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
        assert_eq!(disclosure_digest(d), "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0");
    }

    #[test]
    fn disclosure_round_trip_and_refusals() {
        let d = Disclosure::new(&[7; SALT_LEN], "given_name", Value::String("علی".into()));
        let p = Disclosure::parse(&d.encoded).unwrap();
        assert_eq!(p, d);
        let short = b64url(br#"["AAAA","given_name","x"]"#);
        assert_eq!(Disclosure::parse(&short).unwrap_err().code(), "RECORD_MALFORMED");
        let arr = b64url(br#"["AAAAAAAAAAAAAAAAAAAAAA","x"]"#);
        assert_eq!(Disclosure::parse(&arr).unwrap_err().code(), "RECORD_MALFORMED");
        let sd = b64url(br#"["AAAAAAAAAAAAAAAAAAAAAA","_sd",1]"#);
        assert_eq!(Disclosure::parse(&sd).unwrap_err().code(), "RECORD_MALFORMED");
    }

    #[test]
    fn parse_limits() {
        assert_eq!(
            parse(&"a".repeat(MAX_RECORD_LEN + 1)).unwrap_err().code(),
            "RECORD_TOO_LARGE"
        );
        assert_eq!(parse("a.b.c").unwrap_err().code(), "RECORD_MALFORMED");
        assert_eq!(parse("a.b~").unwrap_err().code(), "RECORD_MALFORMED");
        let many = format!("a.b.c{}", "~x".repeat(MAX_DISCLOSURES + 1)) + "~";
        assert_eq!(parse(&many).unwrap_err().code(), "RECORD_TOO_LARGE");
        assert_eq!(parse("e30.e30.AA~kb").unwrap_err().code(), "RECORD_MALFORMED");
        assert_eq!(parse("e30.e30.AA~").unwrap().disclosures.len(), 0);
    }
}
