//! PDF signatures: each signature dictionary's `/ByteRange [a b c d]` names the signed bytes
//! (everything but the `/Contents <hex>` string, which holds a detached CMS SignedData); the
//! CMS is verified over those bytes exactly as [`super::verify`] does. The PDF is not parsed
//! beyond that: the byte range itself locates the CMS, and it must be the whole gap.

use serde::Serialize;

use super::{CmsError, CmsOptions, CmsRequest, VerifiedCms};
use crate::pki::TrustStore;
use crate::pki::alg::SignatureBackend;

/// Most signatures looked at in one PDF.
pub const MAX_PDF_SIGNATURES: usize = 16;
/// Largest PDF accepted.
pub const MAX_PDF_LEN: usize = 512 * 1024 * 1024;

/// One signature found in a PDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfSignature {
    /// The `/ByteRange` values.
    pub byte_range: [usize; 4],
    /// The DER CMS from `/Contents` (padding removed).
    pub cms: Vec<u8>,
}

impl PdfSignature {
    /// The signed bytes of `pdf`.
    pub fn signed_bytes(&self, pdf: &[u8]) -> Vec<u8> {
        let [a, b, c, d] = self.byte_range;
        [&pdf[a..a + b], &pdf[c..c + d]].concat()
    }
    /// Whether the signature covers the file up to its end.
    pub fn covers_to_end(&self, pdf_len: usize) -> bool {
        self.byte_range[2] + self.byte_range[3] == pdf_len
    }
}

/// One verified PDF signature.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedPdfSignature {
    /// The `/ByteRange`.
    pub byte_range: [usize; 4],
    /// Whether it covers the whole file (only the last signature must; earlier ones are
    /// followed by incremental updates such as later signatures).
    pub covers_whole_file: bool,
    /// The CMS verification.
    pub cms: VerifiedCms,
}

/// Every signature of a PDF verified; the last covers the whole file.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedPdf {
    /// The signatures, in file order.
    pub signatures: Vec<VerifiedPdfSignature>,
}

fn bad(m: &str) -> CmsError {
    CmsError::PdfMalformed(m.into())
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | 0) {
        i += 1;
    }
    i
}

fn number(b: &[u8], i: usize) -> Result<(usize, usize), CmsError> {
    let i = skip_ws(b, i);
    let end = b[i..]
        .iter()
        .position(|c| !c.is_ascii_digit())
        .map_or(b.len(), |p| i + p);
    if end == i || end - i > 12 {
        return Err(bad("ByteRange value is not a small unsigned integer"));
    }
    let s = std::str::from_utf8(&b[i..end]).map_err(|_| bad("ByteRange"))?;
    Ok((s.parse().map_err(|_| bad("ByteRange value"))?, end))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The DER length of the TLV at the start of `b` (the CMS in `/Contents` is zero-padded).
fn tlv_len(b: &[u8]) -> Option<usize> {
    let first = *b.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = b.get(2..2 + n)?.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x));
    len.checked_add(2 + n)
}

/// Finds the signatures of a PDF by their `/ByteRange`s.
pub fn find_signatures(pdf: &[u8]) -> Result<Vec<PdfSignature>, CmsError> {
    if pdf.len() > MAX_PDF_LEN {
        return Err(CmsError::TooLarge {
            what: "PDF (bytes)",
            limit: MAX_PDF_LEN,
        });
    }
    if !pdf.starts_with(b"%PDF-") {
        return Err(bad("not a PDF (no %PDF- header)"));
    }
    let key = b"/ByteRange";
    let mut out: Vec<PdfSignature> = Vec::new();
    let mut from = 0;
    while let Some(p) = pdf[from..].windows(key.len()).position(|w| w == key) {
        let at = from + p + key.len();
        from = at;
        let i = skip_ws(pdf, at);
        if pdf.get(i) != Some(&b'[') {
            return Err(bad("/ByteRange is not an array"));
        }
        let mut v = [0usize; 4];
        let mut j = i + 1;
        for x in &mut v {
            let (n, e) = number(pdf, j)?;
            *x = n;
            j = e;
        }
        if pdf.get(skip_ws(pdf, j)) != Some(&b']') {
            return Err(bad("/ByteRange must have four values"));
        }
        let [a, b, c, d] = v;
        let gap_end = a.checked_add(b).filter(|&e| e < c);
        let end = c.checked_add(d).filter(|&e| e <= pdf.len());
        let (Some(gap_start), Some(_)) = (gap_end, end) else {
            return Err(bad("/ByteRange outside the file or overlapping"));
        };
        if a != 0 {
            return Err(bad("/ByteRange does not start at the beginning of the file"));
        }
        let gap = &pdf[gap_start..c];
        if gap.first() != Some(&b'<') || gap.last() != Some(&b'>') || gap.len() < 2 {
            return Err(bad(
                "the bytes outside /ByteRange are not exactly the /Contents hex string",
            ));
        }
        let mut der = Vec::with_capacity(gap.len() / 2);
        let mut hi: Option<u8> = None;
        for &ch in &gap[1..gap.len() - 1] {
            if ch.is_ascii_whitespace() {
                continue;
            }
            let h = hex_value(ch).ok_or_else(|| bad("/Contents is not hex"))?;
            match hi.take() {
                None => hi = Some(h),
                Some(x) => der.push(x << 4 | h),
            }
        }
        if let Some(x) = hi {
            der.push(x << 4);
        }
        let n = tlv_len(&der)
            .filter(|&n| n <= der.len())
            .ok_or_else(|| bad("/Contents holds no DER CMS"))?;
        if der[n..].iter().any(|&z| z != 0) {
            return Err(bad("/Contents has data after the CMS"));
        }
        der.truncate(n);
        if out.len() >= MAX_PDF_SIGNATURES {
            return Err(CmsError::TooLarge {
                what: "PDF signatures",
                limit: MAX_PDF_SIGNATURES,
            });
        }
        out.push(PdfSignature {
            byte_range: v,
            cms: der,
        });
    }
    if out.is_empty() {
        return Err(CmsError::PdfNoSignature);
    }
    Ok(out)
}

/// Verifies every signature of a PDF; the one reaching furthest must cover the whole file
/// (else bytes were added after the last signature: `PDF_MODIFIED_AFTER_SIGNING`).
pub fn verify_pdf(
    pdf: &[u8],
    trust: &TrustStore,
    opts: &CmsOptions,
    backend: &dyn SignatureBackend,
) -> Result<VerifiedPdf, CmsError> {
    let sigs = find_signatures(pdf)?;
    if !sigs.iter().any(|s| s.covers_to_end(pdf.len())) {
        return Err(CmsError::PdfModifiedAfterSigning);
    }
    let mut signatures = Vec::with_capacity(sigs.len());
    for s in &sigs {
        let content = s.signed_bytes(pdf);
        let req = CmsRequest {
            signature: &s.cms,
            content: Some(&content),
            certificates: Vec::new(),
        };
        let cms = super::verify(&req, trust, opts, backend)?;
        signatures.push(VerifiedPdfSignature {
            byte_range: s.byte_range,
            covers_whole_file: s.covers_to_end(pdf.len()),
            cms,
        });
    }
    Ok(VerifiedPdf { signatures })
}
