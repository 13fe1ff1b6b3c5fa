//! The scene: what a figure is made of, independent of how it is written.
//!
//! Chart code lays a figure out once, as a list of primitives in CSS pixels (origin top left, y
//! down), and two writers turn the same list into SVG and PNG. Keeping the primitives this small
//! (paths that are filled or stroked) is what makes the two outputs agree: there is no text
//! primitive, because text is turned into glyph outlines when it is added (see [`crate::font`]),
//! so neither writer ever needs a font. The geometry itself (paths, rectangles) is in
//! [`crate::path`], which the font's outlines are made of too: the scene uses the font, the font
//! only the geometry.

use crate::font::{Anchor, TextStyle};
use crate::palette::Color;
use crate::path::Path;

/// How a stroke is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct StrokeStyle {
    pub color: Color,
    pub width: f32,
    /// Alternating dash and gap lengths; empty for a solid line.
    pub dash: Vec<f32>,
    /// Round caps and joins (for data lines) rather than butt caps and miter joins (for rules).
    pub round: bool,
}

impl StrokeStyle {
    pub fn solid(color: Color, width: f32) -> Self {
        Self {
            color,
            width,
            dash: Vec::new(),
            round: false,
        }
    }
}

/// One primitive of a scene.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A path filled with the non-zero winding rule (that of glyph outlines).
    Fill {
        path: Path,
        color: Color,
    },
    Stroke {
        path: Path,
        style: StrokeStyle,
    },
}

/// A figure: its size in CSS pixels, background and primitives in painting order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub width: f32,
    pub height: f32,
    pub background: Color,
    pub items: Vec<Item>,
}

impl Scene {
    pub fn new(width: f32, height: f32, background: Color) -> Self {
        Self {
            width,
            height,
            background,
            items: Vec::new(),
        }
    }

    pub fn fill(&mut self, path: Path, color: Color) {
        if !path.is_empty() {
            self.items.push(Item::Fill { path, color });
        }
    }

    pub fn stroke(&mut self, path: Path, style: StrokeStyle) {
        if !path.is_empty() && style.width > 0.0 {
            self.items.push(Item::Stroke { path, style });
        }
    }

    /// Adds `text` as filled glyph outlines, with its baseline through `(x, y)`, aligned by
    /// `anchor` and rotated by `rotation_degrees` (clockwise, as in SVG) about `(x, y)`.
    pub fn text(
        &mut self,
        text: &str,
        (x, y): (f32, f32),
        style: TextStyle,
        anchor: Anchor,
        rotation_degrees: f32,
    ) {
        let path = style.outline(text, x, y, anchor, rotation_degrees);
        self.fill(path, style.color);
    }
}
