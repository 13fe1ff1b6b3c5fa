//! Text as vector outlines, from a font compiled into the binary.
//!
//! Figures must look the same on every machine, so no text is left for a viewer or rasteriser to
//! set in whatever font it finds: the SVG holds glyph outlines as `<path>`s (no `<text>`, no font
//! names) and the PNG is rasterised from the same outlines.
//!
//! The font is DejaVu Sans (regular and bold), whose TrueType files the `dejavu` crate embeds with
//! `include_bytes!`. DejaVu's licence is the Bitstream Vera licence (plus the Arev licence for
//! glyphs from Arev; DejaVu's own changes are public domain): free to use, embed and redistribute,
//! only modified fonts must be renamed. We only read the fonts. It is also matplotlib's default
//! font, so the figures look at home next to plots made in Python.
//!
//! `ttf-parser` reads the outlines and metrics. Layout is deliberately simple, one line of text,
//! left to right: each character's glyph from `cmap` (the `.notdef` box where the font has none),
//! advanced by its `hmtx` width, with pair kerning from the legacy `kern` table (which DejaVu
//! ships). No shaping beyond that is needed for axis labels, legends and titles in Latin script.

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId, OutlineBuilder};

use crate::palette::Color;
use crate::path::Path;

/// Which embedded face to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Where the given point lies on the text's baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// Face, size (CSS pixels per em) and colour of a piece of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub weight: Weight,
    pub size: f32,
    pub color: Color,
}

fn face(weight: Weight) -> &'static Face<'static> {
    static REGULAR: OnceLock<Face<'static>> = OnceLock::new();
    static BOLD: OnceLock<Face<'static>> = OnceLock::new();
    let (cell, bytes): (_, fn() -> &'static [u8]) = match weight {
        Weight::Regular => (&REGULAR, dejavu::sans::regular),
        Weight::Bold => (&BOLD, dejavu::sans::bold),
    };
    // The bytes are compiled in, so a parse failure is a build defect, not an input error.
    cell.get_or_init(|| Face::parse(bytes(), 0).expect("the embedded DejaVu Sans font parses"))
}

/// A glyph placed on the baseline: its id and pen position in font units.
#[derive(Debug, Clone, Copy)]
struct Placed {
    glyph: GlyphId,
    pen: f32,
}

/// One line of text laid out in font units: placed glyphs and the total advance.
fn layout(face: &Face<'_>, text: &str) -> (Vec<Placed>, f32) {
    let kerning: Vec<_> = face
        .tables()
        .kern
        .map(|table| {
            table
                .subtables
                .into_iter()
                .filter(|sub| sub.horizontal && !sub.variable && !sub.has_cross_stream)
                .collect()
        })
        .unwrap_or_default();
    let mut placed = Vec::with_capacity(text.len());
    let mut pen = 0.0_f32;
    let mut previous: Option<GlyphId> = None;
    for character in text.chars() {
        let character = if character.is_whitespace() {
            ' '
        } else {
            character
        };
        let glyph = face.glyph_index(character).unwrap_or(GlyphId(0));
        if let Some(left) = previous {
            let kern: i32 = kerning
                .iter()
                .filter_map(|sub| sub.glyphs_kerning(left, glyph))
                .map(i32::from)
                .sum();
            pen += kern as f32;
        }
        placed.push(Placed { glyph, pen });
        pen += f32::from(face.glyph_hor_advance(glyph).unwrap_or(0));
        previous = Some(glyph);
    }
    (placed, pen)
}

impl TextStyle {
    pub fn new(weight: Weight, size: f32, color: Color) -> Self {
        Self {
            weight,
            size,
            color,
        }
    }

    fn scale(&self) -> f32 {
        self.size / f32::from(face(self.weight).units_per_em())
    }

    /// The advance width of `text` in CSS pixels.
    pub fn width(&self, text: &str) -> f32 {
        layout(face(self.weight), text).1 * self.scale()
    }

    /// Height of capital letters above the baseline (to centre labels on a point).
    pub fn cap_height(&self) -> f32 {
        let face = face(self.weight);
        let units = face
            .capital_height()
            .unwrap_or_else(|| (f32::from(face.ascender()) * 0.7) as i16);
        f32::from(units) * self.scale()
    }

    /// Distance from the baseline up to the top of the tallest glyphs.
    pub fn ascent(&self) -> f32 {
        f32::from(face(self.weight).ascender()) * self.scale()
    }

    /// Distance from the baseline down to the bottom of descenders (positive).
    pub fn descent(&self) -> f32 {
        -f32::from(face(self.weight).descender()) * self.scale()
    }

    /// `text`, shortened with an ellipsis to fit `max_width` (unchanged when it fits).
    pub fn fit(&self, text: &str, max_width: f32) -> String {
        if self.width(text) <= max_width {
            return text.to_string();
        }
        let characters: Vec<char> = text.chars().collect();
        for keep in (0..characters.len()).rev() {
            let candidate: String = characters[..keep]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string()
                + "…";
            if self.width(&candidate) <= max_width {
                return candidate;
            }
        }
        "…".to_string()
    }

    /// The outlines of `text` with its baseline through `(x, y)`, aligned by `anchor`, rotated
    /// by `rotation_degrees` (clockwise on screen, as SVG's `rotate`) about `(x, y)`.
    pub fn outline(
        &self,
        text: &str,
        x: f32,
        y: f32,
        anchor: Anchor,
        rotation_degrees: f32,
    ) -> Path {
        let face = face(self.weight);
        let scale = self.scale();
        let (placed, advance) = layout(face, text);
        let shift = match anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => advance * scale / 2.0,
            Anchor::End => advance * scale,
        };
        let (sin, cos) = rotation_degrees.to_radians().sin_cos();
        let mut builder = GlyphPathBuilder {
            path: Path::new(),
            scale,
            pen: 0.0,
            shift,
            origin: (x, y),
            sin,
            cos,
        };
        for glyph in placed {
            builder.pen = glyph.pen;
            face.outline_glyph(glyph.glyph, &mut builder);
        }
        builder.path
    }
}

/// Receives glyph outlines in font units (y up) and writes them into a scene path (y down),
/// placed, scaled and rotated.
struct GlyphPathBuilder {
    path: Path,
    scale: f32,
    /// Pen position of the current glyph, in font units.
    pen: f32,
    /// Offset for the anchor, in CSS pixels along the baseline.
    shift: f32,
    origin: (f32, f32),
    sin: f32,
    cos: f32,
}

impl GlyphPathBuilder {
    fn map(&self, x: f32, y: f32) -> (f32, f32) {
        let along = (self.pen + x) * self.scale - self.shift;
        let down = -y * self.scale;
        (
            self.origin.0 + along * self.cos - down * self.sin,
            self.origin.1 + along * self.sin + down * self.cos,
        )
    }
}

impl OutlineBuilder for GlyphPathBuilder {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.map(x, y);
        self.path.move_to(x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.map(x, y);
        self.path.line_to(x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (x1, y1) = self.map(x1, y1);
        let (x, y) = self.map(x, y);
        self.path.quad_to(x1, y1, x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (x1, y1) = self.map(x1, y1);
        let (x2, y2) = self.map(x2, y2);
        let (x, y) = self.map(x, y);
        self.path.cubic_to(x1, y1, x2, y2, x, y);
    }

    fn close(&mut self) {
        self.path.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Segment;

    fn style(size: f32) -> TextStyle {
        TextStyle::new(Weight::Regular, size, Color::BLACK)
    }

    fn bounds(path: &Path) -> (f32, f32, f32, f32) {
        let mut b = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        let mut add = |x: f32, y: f32| {
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        };
        for segment in &path.segments {
            match *segment {
                Segment::MoveTo(x, y) | Segment::LineTo(x, y) => add(x, y),
                Segment::QuadTo(_, _, x, y) | Segment::CubicTo(_, _, _, _, x, y) => add(x, y),
                Segment::Close => {}
            }
        }
        b
    }

    #[test]
    fn width_scales_with_size_and_grows_with_text() {
        let small = style(10.0).width("Recall@50");
        let large = style(20.0).width("Recall@50");
        assert!(small > 0.0);
        assert!((large - 2.0 * small).abs() < 1e-3);
        assert!(style(10.0).width("Recall@500") > small);
        assert_eq!(style(10.0).width(""), 0.0);
    }

    #[test]
    fn kerning_tightens_known_pairs() {
        // "AV" is kerned in DejaVu Sans: the pair is narrower than its letters' advances.
        let s = style(100.0);
        assert!(s.width("AV") < s.width("A") + s.width("V") - 1.0);
    }

    #[test]
    fn anchors_place_the_text_around_the_point() {
        let s = style(12.0);
        let start = bounds(&s.outline("Depth", 100.0, 50.0, Anchor::Start, 0.0));
        let end = bounds(&s.outline("Depth", 100.0, 50.0, Anchor::End, 0.0));
        let middle = bounds(&s.outline("Depth", 100.0, 50.0, Anchor::Middle, 0.0));
        assert!(start.0 >= 99.0 && start.2 > 120.0);
        assert!(end.2 <= 101.0 && end.0 < 80.0);
        assert!(middle.0 < 100.0 && middle.2 > 100.0);
        // Baseline at y = 50: capitals rise above it, "p" descends a little below it.
        assert!(start.1 < 50.0 - s.cap_height() * 0.9);
        assert!(start.3 > 50.0 && start.3 < 50.0 + s.descent() + 0.5);
    }

    #[test]
    fn rotation_by_minus_90_runs_the_text_upwards() {
        let s = style(12.0);
        let rotated = bounds(&s.outline("Recall", 30.0, 200.0, Anchor::Start, -90.0));
        let height = rotated.3 - rotated.1;
        let width = rotated.2 - rotated.0;
        assert!(height > width, "{rotated:?}");
        assert!(rotated.3 <= 201.0 && rotated.1 < 200.0 - s.width("Recall") + 2.0);
        // Glyphs stand on the baseline, which after rotation is their right side.
        assert!(rotated.2 <= 30.0 + s.descent() + 0.5 && rotated.0 < 30.0);
    }

    #[test]
    fn fit_shortens_with_an_ellipsis() {
        let s = style(11.0);
        assert_eq!(s.fit("GRSU", 200.0), "GRSU");
        let long = "a very long method name that cannot fit";
        let fitted = s.fit(long, 80.0);
        assert!(fitted.ends_with('…'));
        assert!(s.width(&fitted) <= 80.0);
        assert!(fitted.len() < long.len());
    }
}
