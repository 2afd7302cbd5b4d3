//! The paper copy as a PDF made in Rust, pure (no I/O): krilla writes PDF/A-2u (every glyph
//! maps back to Unicode, so `pdftotext` reads the Persian text in logical order), shapes each run
//! with rustybuzz (Arabic-script joining, mark placement, mirroring), and subsets and embeds
//! Vazirmatn (SIL OFL 1.1, vendored in `fonts/` with its licence). krilla does no bidi and no
//! line breaking: lines are wrapped here by measured width, split into directional runs with
//! `unicode-bidi` (UAX #9) and drawn run by run in visual order. The same words as the HTML page
//! ([`crate::print::page_text`]); the QR code is drawn as vector squares.

use hoviat::record::Institution;
use krilla::Document;
use krilla::color::luma;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata, TextDirection as DocDirection};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use krilla::{Data, SerializeSettings};
use qrcode::{Color, QrCode};
use unicode_bidi::{BidiInfo, Level};

use crate::print::{Lang, PageText, PrintView, dates, page_text};

/// Vazirmatn Regular 33.0.3 (SIL Open Font License 1.1, `fonts/OFL.txt`), from the npm package
/// `vazirmatn@33.0.3`.
pub const FONT: &[u8] = include_bytes!("../fonts/Vazirmatn-Regular.ttf");

const W: f32 = 595.28; // A4, points
const H: f32 = 841.89;
const M: f32 = 48.0; // margin
const QR_MODULE: f32 = 2.4;

/// A drawing operation on one page.
#[derive(Clone, Debug)]
enum Op {
    /// A line of text whose visual left edge is at `x`, baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        rtl: bool,
    },
    /// A filled rectangle, `gray` 0 (black) to 255 (white).
    Rect { x: f32, y: f32, w: f32, h: f32, gray: u8 },
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Measures text with rustybuzz (the shaper krilla uses), in points.
struct Measure {
    face: rustybuzz::Face<'static>,
    upem: f32,
}

impl Measure {
    fn new() -> Option<Self> {
        let face = rustybuzz::Face::from_slice(FONT, 0)?;
        let upem = face.units_per_em() as f32;
        Some(Measure { face, upem })
    }

    fn run(&self, text: &str, rtl: bool, size: f32) -> f32 {
        let mut b = rustybuzz::UnicodeBuffer::new();
        b.push_str(text);
        b.guess_segment_properties();
        b.set_direction(if rtl {
            rustybuzz::Direction::RightToLeft
        } else {
            rustybuzz::Direction::LeftToRight
        });
        let out = rustybuzz::shape(&self.face, &[], b);
        out.glyph_positions().iter().map(|p| p.x_advance as f32).sum::<f32>() * size / self.upem
    }

    /// Directional runs of one line in visual order: (text, rtl, width).
    fn runs(&self, line: &str, base_rtl: bool, size: f32) -> Vec<(String, bool, f32)> {
        if line.is_empty() {
            return vec![];
        }
        let base = if base_rtl { Level::rtl() } else { Level::ltr() };
        let info = BidiInfo::new(line, Some(base));
        let Some(para) = info.paragraphs.first() else {
            return vec![];
        };
        let (levels, runs) = info.visual_runs(para, para.range.clone());
        runs.into_iter()
            .filter_map(|r| {
                // Bidi controls have done their work; they are not drawn.
                let text: String = line.get(r.clone())?.chars().filter(|c| !is_bidi_control(*c)).collect();
                if text.is_empty() {
                    return None;
                }
                let rtl = levels.get(r.start).is_some_and(|l| l.is_rtl());
                let w = self.run(&text, rtl, size);
                Some((text, rtl, w))
            })
            .collect()
    }

    fn width(&self, line: &str, base_rtl: bool, size: f32) -> f32 {
        self.runs(line, base_rtl, size).iter().map(|r| r.2).sum()
    }

    /// Greedy line breaking at spaces by measured width; a word wider than the line is broken
    /// between characters (identifiers, digests, URLs).
    fn wrap(&self, text: &str, base_rtl: bool, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cur = String::new();
        for word in text.split(' ') {
            let cand = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if self.width(&cand, base_rtl, size) <= max {
                cur = cand;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            if self.width(word, base_rtl, size) <= max {
                cur = word.to_string();
                continue;
            }
            for c in word.chars() {
                let mut next = cur.clone();
                next.push(c);
                if !cur.is_empty() && self.width(&next, base_rtl, size) > max {
                    lines.push(std::mem::take(&mut cur));
                    cur.push(c);
                } else {
                    cur = next;
                }
            }
        }
        if !cur.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }
}

/// Lays out pages top to bottom, breaking to a new page when one is full.
struct Layout {
    m: Measure,
    rtl: bool,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let n = self.pages.len() - 1;
        &mut self.pages[n]
    }

    fn need(&mut self, h: f32) {
        if self.y + h > H - M {
            self.pages.push(Vec::new());
            self.y = M;
        }
    }

    /// Text lines in the box [left, right], aligned to the start side (right on Persian pages;
    /// left for `ltr` values on any page), first baseline at `y`. Returns the height used.
    fn text_box(&mut self, text: &str, left: f32, right: f32, y: f32, size: f32, ltr: bool) -> f32 {
        let base_rtl = self.rtl && !ltr;
        let lines = self.m.wrap(text, base_rtl, size, right - left);
        let lh = size * 1.55;
        for (i, line) in lines.iter().enumerate() {
            let runs = self.m.runs(line, base_rtl, size);
            let total: f32 = runs.iter().map(|r| r.2).sum();
            let mut x = if self.rtl { right - total } else { left };
            let by = y + i as f32 * lh;
            for (t, rtl, w) in runs {
                self.ops().push(Op::Text {
                    x,
                    y: by,
                    size,
                    text: t,
                    rtl,
                });
                x += w;
            }
        }
        lines.len() as f32 * lh
    }

    fn rule(&mut self, y: f32, gray: u8) {
        self.ops().push(Op::Rect {
            x: M,
            y,
            w: W - 2.0 * M,
            h: 0.6,
            gray,
        });
    }

    /// A table row: columns given as (left, right) boxes in page coordinates, cell texts
    /// (text, ltr). Breaks to a new page first if the row does not fit.
    fn row(&mut self, cols: &[(f32, f32)], cells: &[(&str, bool)], size: f32, shade: bool) {
        let lh = size * 1.55;
        let heights: Vec<f32> = cols
            .iter()
            .zip(cells)
            .map(|(&(l, r), &(t, ltr))| self.m.wrap(t, self.rtl && !ltr, size, r - l).len() as f32 * lh)
            .collect();
        let h = heights.iter().copied().fold(lh, f32::max) + 8.0;
        self.need(h);
        let top = self.y;
        if shade {
            self.ops().push(Op::Rect {
                x: M,
                y: top,
                w: W - 2.0 * M,
                h,
                gray: 238,
            });
        }
        for (&(l, r), &(t, ltr)) in cols.iter().zip(cells) {
            self.text_box(t, l, r, top + 4.0 + size * 1.1, size, ltr);
        }
        self.y = top + h;
        self.rule(self.y, 150);
    }
}

/// Column boxes for widths given start-side first (right to left on Persian pages).
fn columns(rtl: bool, widths: &[f32]) -> Vec<(f32, f32)> {
    let pad = 6.0;
    let mut out = Vec::new();
    let mut edge = if rtl { W - M } else { M };
    for &w in widths {
        if rtl {
            out.push((edge - w + pad, edge - pad));
            edge -= w;
        } else {
            out.push((edge + pad, edge + w - pad));
            edge += w;
        }
    }
    out
}

fn layout(p: &PageText) -> Option<(Vec<Vec<Op>>, f32)> {
    let rtl = p.fa;
    let mut l = Layout {
        m: Measure::new()?,
        rtl,
        pages: vec![Vec::new()],
        y: M,
    };
    // The QR code at the top on the end side (left on Persian pages), with its caption.
    let code = QrCode::new(p.qr.as_bytes()).ok()?;
    let n = code.width();
    let qr_w = (n + 8) as f32 * QR_MODULE;
    let qr_x = if rtl { M } else { W - M - qr_w };
    l.ops().push(Op::Rect {
        x: qr_x,
        y: M,
        w: qr_w,
        h: qr_w,
        gray: 255,
    });
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            let x = qr_x + ((i % n) + 4) as f32 * QR_MODULE;
            let y = M + ((i / n) + 4) as f32 * QR_MODULE;
            l.ops().push(Op::Rect {
                x,
                y,
                w: QR_MODULE,
                h: QR_MODULE,
                gray: 0,
            });
        }
    }
    let cap_w = l.m.width(&p.scan, rtl, 8.0);
    l.ops().push(Op::Text {
        x: qr_x + (qr_w - cap_w) / 2.0,
        y: M + qr_w + 10.0,
        size: 8.0,
        text: p.scan.clone(),
        rtl,
    });
    // Title and institution beside the QR code.
    let (tl, tr) = if rtl {
        (M + qr_w + 16.0, W - M)
    } else {
        (M, W - M - qr_w - 16.0)
    };
    let mut y = M + 22.0;
    y += l.text_box(&p.title, tl, tr, y, 19.0, false) + 8.0;
    let inst = format!("{}: {}", p.inst_label, p.inst);
    y += l.text_box(&inst, tl, tr, y, 12.5, false);
    l.y = y.max(M + qr_w + 20.0) + 8.0;
    l.rule(l.y, 60);
    // The record's fields.
    let cols = columns(rtl, &[150.0, W - 2.0 * M - 150.0]);
    for f in &p.fields {
        l.row(&cols, &[(&f.label, false), (&f.value, f.ltr)], 10.5, false);
    }
    // Disclosed attributes with their provenance.
    l.need(60.0);
    l.y += 30.0;
    let heading_y = l.y;
    l.text_box(&p.attrs_label, M, W - M, heading_y, 14.0, false);
    l.y += 12.0;
    l.rule(l.y, 60);
    let cols = columns(rtl, &[150.0, W - 2.0 * M - 150.0 - 120.0, 120.0]);
    l.row(
        &cols,
        &[(&p.heads[0], false), (&p.heads[1], false), (&p.heads[2], false)],
        10.5,
        true,
    );
    for [a, v, s] in &p.rows {
        l.row(&cols, &[(a, false), (v, false), (s, false)], 10.5, false);
    }
    if let Some(notice) = &p.purged {
        l.row(&[(M + 6.0, W - M - 6.0)], &[(notice, false)], 10.5, false);
    }
    // Where to verify.
    l.need(50.0);
    l.y += 26.0;
    let y = l.y;
    let h = l.text_box(&format!("{}:", p.verify_label), M, W - M, y, 10.5, false);
    l.text_box(&p.verify, M, W - M, y + h, 10.0, true);
    Some((l.pages, qr_w))
}

/// The PDF (PDF/A-2u, A4) of a record in one language. Errors are krilla's validation or
/// serialisation errors, as text.
pub fn render_pdf(v: &PrintView, lang: Lang, inst: Option<&Institution>, verify_url: &str) -> Result<Vec<u8>, String> {
    let p = page_text(v, lang, inst, verify_url);
    let (pages, _) = layout(&p).ok_or("layout failed (font or QR code)")?;
    let font = Font::new(Data::from(FONT), 0).ok_or("the font does not load")?;
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_U)
        .finish()
        .map_err(|e| format!("{e:?}"))?;
    let mut doc = Document::new_with(SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    });
    // The creation date is the record's (Tehran time), not the clock: the same record prints
    // the same file.
    let (_, (gy, gm, gd), (h, mi)) = dates(v.iat);
    let mut meta = Metadata::new()
        .title(p.title.clone())
        .language(if p.fa { "fa-IR" } else { "en" }.into())
        .creator("hoviat-archive".into())
        .document_id(v.record_id.clone())
        .text_direction(if p.fa {
            DocDirection::RightToLeft
        } else {
            DocDirection::LeftToRight
        });
    if let Ok(year) = u16::try_from(gy) {
        meta = meta.creation_date(
            DateTime::new(year)
                .month(gm)
                .day(gd)
                .hour(h as u8)
                .minute(mi as u8)
                .utc_offset_hour(3)
                .utc_offset_minute(30),
        );
    }
    doc.set_metadata(meta);
    for ops in pages {
        let settings = PageSettings::from_wh(W, H).ok_or("page size")?;
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        for op in ops {
            match op {
                Op::Rect { x, y, w, h, gray } => {
                    let mut pb = PathBuilder::new();
                    if let Some(r) = Rect::from_xywh(x, y, w, h) {
                        pb.push_rect(r);
                    }
                    if let Some(path) = pb.finish() {
                        s.set_fill(Some(Fill {
                            paint: luma::Color::new(gray).into(),
                            opacity: NormalizedF32::ONE,
                            rule: Default::default(),
                        }));
                        s.draw_path(&path);
                    }
                }
                Op::Text { x, y, size, text, rtl } => {
                    s.set_fill(Some(Fill::default()));
                    let dir = if rtl {
                        TextDirection::RightToLeft
                    } else {
                        TextDirection::LeftToRight
                    };
                    s.draw_text(Point::from_xy(x, y), font.clone(), size, &text, false, dir);
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_runs_in_visual_order() {
        let m = Measure::new().unwrap();
        // A Persian word then a Latin identifier on an RTL line: the identifier (logically
        // last) is visually leftmost.
        let runs = m.runs("متصدی operator-7", true, 10.0);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].0, "operator-7");
        assert!(!runs[0].1 && runs[1].1);
        assert!(runs.iter().all(|r| r.2 > 0.0));
        // An isolated Gregorian date after a Persian word stays in order, controls not drawn.
        let runs = m.runs("آذر \u{2066}2026-11-25\u{2069}", true, 10.0);
        assert!(runs.iter().any(|r| r.0 == "2026-11-25" && !r.1), "{runs:?}");
        assert!(runs.iter().all(|r| !r.0.chars().any(is_bidi_control)));
    }

    #[test]
    fn wraps_long_words() {
        let m = Measure::new().unwrap();
        let hex = "ab".repeat(64);
        let lines = m.wrap(&hex, false, 10.0, 120.0);
        assert!(lines.len() > 2);
        assert_eq!(lines.concat(), hex);
    }
}
