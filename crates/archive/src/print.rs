//! The paper copy of an archived record, pure (no I/O): an HTML page in Persian (RTL) or
//! English with the institution, purpose, level in plain words, disclosed attributes with their
//! provenance, the Solar Hijri (icu_calendar's Persian calendar) and Gregorian date and time
//! (Tehran, UTC+03:30), operator, record id, log index, and a QR code (SVG) carrying the record
//! id, log index, leaf digest and where to verify — never personal data. The font is the caller's
//! (Vazirmatn, OFL, by URL); shaping and bidi are the browser's. The words are [`page_text`],
//! shared with the PDF ([`crate::pdf`], krilla, PDF/A-2u).

use hoviat::record::{Institution, Level, Provenance, attribute};
use icu_calendar::{Date, cal::Persian};
use qrcode::{Color, QrCode};
use serde_json::Value;

/// Page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Persian, right to left, Persian digits.
    Fa,
    /// English.
    En,
}

/// What a printed page shows.
#[derive(Clone, Debug)]
pub struct PrintView {
    /// `institution` claim.
    pub institution: String,
    /// `purpose.id`.
    pub purpose: String,
    /// `level`.
    pub level: String,
    /// `iat`.
    pub iat: i64,
    /// `operator`.
    pub operator: String,
    /// `terminal`.
    pub terminal: String,
    /// Record id.
    pub record_id: String,
    /// Log index.
    pub index: u64,
    /// Leaf hash (hex).
    pub leaf_hash: String,
    /// Disclosed attributes: (name, value, provenance); empty when purged.
    pub attributes: Vec<(String, Value, String)>,
    /// Whether the personal data was purged.
    pub purged: bool,
    /// `evidence.cardSignature.route` of a CMS card signature (`registry-assisted`).
    pub card_signature_route: Option<String>,
}

/// `evidence.cardSignature.route` in the issuer-signed JWT's payload, when there is one.
fn card_signature_route(jwt: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.pointer("/evidence/cardSignature/route")?.as_str().map(str::to_string)
}

impl PrintView {
    /// The page of a stored entry, with its disclosed attributes (see [`attribute_row`]);
    /// `purged` when the entry's personal data is gone.
    pub fn of(e: &crate::log::StoredEntry, attributes: Vec<(String, Value, String)>, purged: bool) -> Self {
        Self {
            institution: e.leaf.institution.clone(),
            purpose: e.leaf.purpose.clone(),
            level: e.leaf.level.clone(),
            iat: e.leaf.iat,
            operator: e.leaf.operator.clone(),
            terminal: e.leaf.terminal.clone(),
            record_id: e.leaf.record_id.clone(),
            index: e.idx,
            leaf_hash: crate::log::hex(&crate::log::record_hash(e.leaf.jwt.as_bytes()).0),
            attributes,
            purged,
            card_signature_route: card_signature_route(&e.leaf.jwt),
        }
    }
}

/// One disclosure as a printed row: (name, value, provenance). A record's disclosure value is
/// `{value, provenance}`; anything else is shown as it is, without provenance.
pub fn attribute_row(d: hoviat::record::sdjwt::Disclosure) -> (String, Value, String) {
    let value = d.value.get("value").cloned().unwrap_or(d.value.clone());
    let prov = d
        .value
        .get("provenance")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    (d.name, value, prov)
}

const MONTHS_FA: [&str; 12] = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// ASCII digits to Persian digits (۰–۹).
pub fn fa_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x06F0 + (c as u32 - '0' as u32)).unwrap_or(c),
            c => c,
        })
        .collect()
}

fn civil(days: i64) -> (i32, u8, u8) {
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y } as i32, m, d)
}

/// A calendar date: (year, month, day).
pub type Ymd = (i32, u8, u8);

/// (Solar Hijri y, m, d), (Gregorian y, m, d), (h, min) in Tehran time (UTC+03:30).
pub fn dates(unix: i64) -> (Ymd, Ymd, (i64, i64)) {
    let local = unix + 3 * 3600 + 1800;
    let (y, m, d) = civil(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    let p = Date::try_new_iso(y, m, d)
        .map(|iso| iso.to_calendar(Persian))
        .map(|p| (p.year().extended_year(), p.month().ordinal, p.day_of_month().0))
        .unwrap_or((0, 0, 0));
    (p, (y, m, d), (secs / 3600, secs % 3600 / 60))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The QR payload: record id, log index, digest and where to verify; no personal data.
pub fn qr_payload(v: &PrintView, verify_url: &str) -> String {
    format!(
        "hoviat-archive:v1;id={};index={};digest={};verify={}",
        v.record_id, v.index, v.leaf_hash, verify_url
    )
}

/// The QR code as an SVG (4-module quiet zone).
pub fn qr_svg(data: &str) -> String {
    let Ok(code) = QrCode::new(data.as_bytes()) else {
        return String::new();
    };
    let w = code.width();
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {0}" width="{1}" height="{1}" shape-rendering="crispEdges"><rect width="{0}" height="{0}" fill="#fff"/>"##,
        w + 8,
        (w + 8) * 4
    );
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            s.push_str(&format!(
                r#"<rect x="{}" y="{}" width="1" height="1"/>"#,
                i % w + 4,
                i / w + 4
            ));
        }
    }
    s.push_str("</svg>");
    s
}

fn provenance_label(p: &str, lang: Lang) -> String {
    let fa = match Provenance::parse(p) {
        Some(Provenance::ChipCertificate) => ("گواهی تراشهٔ کارت", "chip certificate"),
        Some(Provenance::ChipFile) => ("پروندهٔ تراشهٔ کارت", "chip file"),
        Some(Provenance::Operator) => ("متصدی", "operator"),
        Some(Provenance::Registry) => ("ثبت احوال", "registry"),
        _ => (p, p),
    };
    if lang == Lang::Fa { fa.0.into() } else { fa.1.into() }
}

fn value_text(name: &str, v: &Value, lang: Lang) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => if lang == Lang::Fa { "بله" } else { "yes" }.into(),
        Value::Bool(false) => if lang == Lang::Fa { "خیر" } else { "no" }.into(),
        other => other.to_string(),
    };
    let s = if name == "holder_certificate" && s.len() > 24 {
        format!("{}…", &s[..24])
    } else {
        s
    };
    if lang == Lang::Fa && name != "holder_certificate" {
        ltr_isolate(&fa_digits(&s))
    } else if lang == Lang::Fa {
        ltr_isolate(&s)
    } else {
        s
    }
}

/// On a Persian page, a Latin value (an identifier, a date in ASCII digits, base64) is wrapped
/// in a left-to-right isolate (U+2066 … U+2069) so that the bidi algorithm keeps it in one piece:
/// without it, `2026-11-25` after a Persian word reads `25-11-2026` (UAX #9 rule W2 turns the
/// numbers into Arabic numbers) and a trailing `…` jumps to the left. Text with Arabic-script
/// letters is left alone.
pub fn ltr_isolate(s: &str) -> String {
    let latin = s.chars().any(|c| c.is_ascii_alphanumeric());
    let arabic = s
        .chars()
        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c) && !('\u{06F0}'..='\u{06F9}').contains(&c));
    if latin && !arabic {
        format!("\u{2066}{s}\u{2069}")
    } else {
        s.to_string()
    }
}

/// One labelled line of the page.
#[derive(Clone, Debug)]
pub struct Field {
    /// Label, in the page's language.
    pub label: String,
    /// Value, in the page's language (Persian digits on Persian pages).
    pub value: String,
    /// A left-to-right identifier (record id): shown in monospace / LTR even on Persian pages.
    pub ltr: bool,
}

/// Everything a printed page says, in one language: shared by the HTML page and the PDF.
#[derive(Clone, Debug)]
pub struct PageText {
    /// Persian (RTL) page.
    pub fa: bool,
    /// Page title.
    pub title: String,
    /// "Institution".
    pub inst_label: String,
    /// The institution's name.
    pub inst: String,
    /// Purpose, level, date and time, operator, record id, log index.
    pub fields: Vec<Field>,
    /// "Disclosed attributes".
    pub attrs_label: String,
    /// Column heads: attribute, value, source.
    pub heads: [String; 3],
    /// Disclosed attributes: (label, value, provenance in words).
    pub rows: Vec<[String; 3]>,
    /// The notice on a purged record.
    pub purged: Option<String>,
    /// "Scan to verify".
    pub scan: String,
    /// "Verify at".
    pub verify_label: String,
    /// The verify URL.
    pub verify: String,
    /// The QR payload ([`qr_payload`]).
    pub qr: String,
}

/// The words of the page in one language.
pub fn page_text(v: &PrintView, lang: Lang, inst: Option<&Institution>, verify_url: &str) -> PageText {
    let fa = lang == Lang::Fa;
    let t = |a: &str, b: &str| if fa { a.to_string() } else { b.to_string() };
    let num = |n: String| if fa { fa_digits(&n) } else { n };
    let ((py, pm, pd), (gy, gm, gd), (h, mi)) = dates(v.iat);
    let pm_name = MONTHS_FA.get(usize::from(pm).wrapping_sub(1)).copied().unwrap_or("?");
    let gm_name = MONTHS_EN.get(usize::from(gm).wrapping_sub(1)).copied().unwrap_or("?");
    let (hijri, greg) = if fa {
        (
            format!(
                "{} {} {}",
                fa_digits(&pd.to_string()),
                pm_name,
                fa_digits(&py.to_string())
            ),
            ltr_isolate(&format!("{}-{:02}-{:02}", gy, gm, gd)),
        )
    } else {
        (
            format!(
                "{pd} {} {py} SH",
                [
                    "Farvardin",
                    "Ordibehesht",
                    "Khordad",
                    "Tir",
                    "Mordad",
                    "Shahrivar",
                    "Mehr",
                    "Aban",
                    "Azar",
                    "Dey",
                    "Bahman",
                    "Esfand"
                ]
                .get(usize::from(pm).wrapping_sub(1))
                .copied()
                .unwrap_or("?")
            ),
            format!("{gd} {gm_name} {gy}"),
        )
    };
    let time = num(format!("{h:02}:{mi:02}"));
    let inst_name = inst
        .map(|i| if fa { i.name.fa.clone() } else { i.name.en.clone() })
        .unwrap_or_else(|| v.institution.clone());
    let purpose = inst
        .and_then(|i| i.purposes.iter().find(|p| p.id == v.purpose))
        .map(|p| if fa { p.label.fa.clone() } else { p.label.en.clone() })
        .unwrap_or_else(|| v.purpose.clone());
    let level = Level::parse(&v.level)
        .map(|l| {
            if fa {
                l.label_fa().to_string()
            } else {
                l.label_en().to_string()
            }
        })
        .unwrap_or_else(|| v.level.clone());
    let rows = v
        .attributes
        .iter()
        .map(|(name, value, prov)| {
            let label = attribute(name)
                .map(|a| if fa { a.label_fa } else { a.label_en })
                .unwrap_or(name);
            [
                label.to_string(),
                value_text(name, value, lang),
                provenance_label(prov, lang),
            ]
        })
        .collect();
    let f = |label: String, value: String, ltr: bool| Field { label, value, ltr };
    PageText {
        fa,
        title: t("سند شناسایی با کارت هوشمند ملی", "Identity record from the smart national card"),
        inst_label: t("مؤسسه", "Institution"),
        inst: inst_name,
        fields: vec![
            f(t("هدف", "Purpose"), purpose, false),
            f(t("سطح اطمینان", "Assurance level"), level, false),
            f(
                t("تاریخ و ساعت", "Date and time"),
                format!("{hijri} — {greg} — {time} {}", t("(به وقت تهران)", "(Tehran time)")),
                false,
            ),
            f(
                t("متصدی", "Operator"),
                if fa {
                    format!("{} (پایانه: {})", ltr_isolate(&v.operator), ltr_isolate(&v.terminal))
                } else {
                    format!("{} (terminal: {})", v.operator, v.terminal)
                },
                false,
            ),
            f(t("شناسهٔ سند", "Record id"), v.record_id.clone(), true),
        ]
        .into_iter()
        .chain(v.card_signature_route.as_deref().map(|r| {
            f(
                t("امضای کارت", "Card signature"),
                if r == hoviat::record::ROUTE_REGISTRY_ASSISTED {
                    t(
                        "کارت همین سند را از راه نشست سامانهٔ ثبت احوال (دستینه) امضا کرد",
                        "The card signed this record through the registry's session (Dastine)",
                    )
                } else {
                    r.to_string()
                },
                false,
            )
        }))
        .chain([
            f(t("شمارهٔ ثبت در بایگانی", "Archive log index"), num(v.index.to_string()), false),
        ])
        .collect(),
        attrs_label: t("ویژگی‌های افشاشده", "Disclosed attributes"),
        heads: [t("ویژگی", "Attribute"), t("مقدار", "Value"), t("منبع", "Source")],
        rows,
        purged: v.purged.then(|| {
            t(
                "دادهٔ شخصی این سند طبق سیاست نگهداری پاک شده است؛ سند و مهر آن همچنان قابل بررسی است.",
                "The personal data of this record was purged under the retention policy; the record and its seal still verify.",
            )
        }),
        scan: t("برای بررسی، این کد را بخوانید", "Scan to verify"),
        verify_label: t("نشانی بررسی", "Verify at"),
        verify: verify_url.to_string(),
        qr: qr_payload(v, verify_url),
    }
}

/// The HTML page.
pub fn render_html(v: &PrintView, lang: Lang, inst: Option<&Institution>, font_url: &str, verify_url: &str) -> String {
    let p = page_text(v, lang, inst, verify_url);
    let mut fields = String::new();
    for f in &p.fields {
        if f.ltr {
            fields.push_str(&format!(
                "<tr><th>{}</th><td class=\"mono\">{}</td></tr>\n",
                esc(&f.label),
                esc(&f.value)
            ));
        } else {
            fields.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>\n",
                esc(&f.label),
                esc(&f.value)
            ));
        }
    }
    let mut rows = String::new();
    for [label, value, prov] in &p.rows {
        rows.push_str(&format!(
            "<tr><th>{}</th><td class=\"v\">{}</td><td class=\"p\">{}</td></tr>\n",
            esc(label),
            esc(value),
            esc(prov)
        ));
    }
    if let Some(n) = &p.purged {
        rows.push_str(&format!("<tr><td colspan=\"3\">{}</td></tr>", esc(n)));
    }
    format!(
        r#"<!doctype html>
<html lang="{lang_attr}" dir="{dir}">
<head><meta charset="utf-8"><title>{title}</title>
<style>
@font-face {{ font-family: Vazirmatn; src: url("{font}") format("truetype"); }}
body {{ font-family: Vazirmatn, sans-serif; margin: 2.2em; color: #111; }}
h1 {{ font-size: 1.5em; margin: 0 0 .3em; }}
table {{ border-collapse: collapse; width: 100%; margin: .6em 0; }}
th, td {{ border: 1px solid #999; padding: .35em .6em; text-align: start; vertical-align: top; }}
th {{ background: #f1f1f1; width: 30%; }}
.mono {{ font-family: monospace; direction: ltr; unicode-bidi: embed; font-size: .8em; word-break: break-all; }}
.qr {{ float: inline-end; margin: 0 1em 1em; text-align: center; font-size: .75em; }}
</style></head>
<body>
<div class="qr">{qr}<br>{scan}</div>
<h1>{title}</h1>
<p>{inst_label}: <b>{inst}</b></p>
<table>
{fields}</table>
<h2>{attrs_label}</h2>
<table>
<tr><th>{attr_h}</th><th>{value_h}</th><th>{prov_h}</th></tr>
{rows}</table>
<p>{verify_label}: <span class="mono">{verify}</span></p>
</body></html>
"#,
        lang_attr = if p.fa { "fa" } else { "en" },
        dir = if p.fa { "rtl" } else { "ltr" },
        title = esc(&p.title),
        font = esc(font_url),
        qr = qr_svg(&p.qr),
        scan = esc(&p.scan),
        inst_label = esc(&p.inst_label),
        inst = esc(&p.inst),
        attrs_label = esc(&p.attrs_label),
        attr_h = esc(&p.heads[0]),
        value_h = esc(&p.heads[1]),
        prov_h = esc(&p.heads[2]),
        verify_label = esc(&p.verify_label),
        verify = esc(&p.verify),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nowruz() {
        // Nowruz 1404 = 2025-03-21, 1405 = 2026-03-21 (records.md). Noon UTC.
        assert_eq!(dates(1_742_558_400).0, (1404, 1, 1));
        assert_eq!(dates(1_774_094_400).0, (1405, 1, 1));
        assert_eq!(fa_digits("2026-11"), "۲۰۲۶-۱۱");
        assert_eq!(ltr_isolate("2026-11-25"), "\u{2066}2026-11-25\u{2069}");
        assert_eq!(ltr_isolate("علی"), "علی");
        assert_eq!(ltr_isolate("۱۴۰۵"), "۱۴۰۵");
    }
}
