//! BER to DER for the outer layers of a CMS message: what streaming signers (`openssl cms
//! -stream`, Java's BER generators) write is indefinite lengths and constructed (chunked)
//! OCTET STRINGs around the content. Only the encoding of lengths and of constructed strings
//! changes; every primitive value is copied as is, and an element already in DER comes out
//! byte for byte the same (so signed attributes received in DER, as RFC 5652 §5.4 requires,
//! are still verified over the received bytes). Bounded: nesting depth, input size.

/// Deepest nesting converted (CMS needs about 12).
pub const MAX_DEPTH: usize = 64;

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let b = len.to_be_bytes();
        let skip = b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1);
        out.push(0x80 | u8::try_from(b.len() - skip).unwrap_or(0));
        out.extend_from_slice(&b[skip..]);
    }
}

/// One element at `at`: (identifier octets, constructed, content start, content end or None
/// for indefinite).
fn header(b: &[u8], at: usize) -> Result<(std::ops::Range<usize>, bool, usize, Option<usize>), String> {
    let t = *b.get(at).ok_or("truncated")?;
    let mut i = at + 1;
    if t & 0x1f == 0x1f {
        // High tag number: base-128 octets, at most 4.
        let mut n = 0;
        loop {
            let x = *b.get(i).ok_or("truncated tag")?;
            i += 1;
            n += 1;
            if n > 4 {
                return Err("tag number too large".into());
            }
            if x & 0x80 == 0 {
                break;
            }
        }
    }
    let id = at..i;
    let l = *b.get(i).ok_or("truncated length")?;
    i += 1;
    let constructed = t & 0x20 != 0;
    if l == 0x80 {
        if !constructed {
            return Err("indefinite length on a primitive element".into());
        }
        return Ok((id, true, i, None));
    }
    let len = if l < 0x80 {
        usize::from(l)
    } else {
        let n = usize::from(l & 0x7f);
        if n > 4 {
            return Err("length too large".into());
        }
        let bytes = b.get(i..i + n).ok_or("truncated length")?;
        i += n;
        bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x))
    };
    let end = i
        .checked_add(len)
        .filter(|&e| e <= b.len())
        .ok_or("length past the end")?;
    Ok((id, constructed, i, Some(end)))
}

/// Converts the element at `at`; returns its DER and the offset after it.
fn convert(b: &[u8], at: usize, depth: usize, out: &mut Vec<u8>) -> Result<usize, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH}"));
    }
    let (id, constructed, start, end) = header(b, at)?;
    if !constructed {
        let end = end.ok_or("indefinite primitive")?;
        out.extend_from_slice(&b[id]);
        push_len(out, end - start);
        out.extend_from_slice(&b[start..end]);
        return Ok(end);
    }
    // Children, up to the end or the end-of-contents octets.
    let mut body = Vec::new();
    let mut i = start;
    let after = loop {
        match end {
            Some(e) if i == e => break e,
            Some(e) if i > e => return Err("child runs past its parent".into()),
            None if b.get(i..i + 2) == Some(&[0, 0]) => break i + 2,
            None if i >= b.len() => return Err("missing end-of-contents".into()),
            _ => {}
        }
        i = convert(b, i, depth + 1, &mut body)?;
    };
    let tag = b[id.start];
    if tag == 0x24 {
        // Constructed OCTET STRING: the concatenation of its (now primitive) segments.
        let mut content = Vec::new();
        let mut j = 0;
        while j < body.len() {
            let (_, c, s, e) = header(&body, j)?;
            if body[j] != 0x04 || c {
                return Err("constructed OCTET STRING with a non-OCTET STRING segment".into());
            }
            let e = e.ok_or("indefinite segment")?;
            content.extend_from_slice(&body[s..e]);
            j = e;
        }
        out.push(0x04);
        push_len(out, content.len());
        out.extend_from_slice(&content);
    } else {
        out.extend_from_slice(&b[id]);
        push_len(out, body.len());
        out.extend_from_slice(&body);
    }
    Ok(after)
}

/// Converts one BER element (the whole input) to DER.
pub fn to_der(b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(b.len());
    let end = convert(b, 0, 0, &mut out)?;
    if end != b.len() {
        return Err("data after the message".into());
    }
    Ok(out)
}
