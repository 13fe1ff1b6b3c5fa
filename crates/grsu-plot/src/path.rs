//! The geometry of a figure: paths (the drawing commands of filled and stroked shapes) and
//! rectangles, in CSS pixels (origin top left, y down).
//!
//! Everything that draws produces these: chart code and markers directly, the font as glyph
//! outlines ([`crate::font`]); the scene ([`crate::scene`]) holds them and the writers read them.
//! This module depends on nothing else of the plot code, which keeps font and scene free of a
//! cycle.

/// One drawing command of a path, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Segment {
    MoveTo(f32, f32),
    LineTo(f32, f32),
    /// Quadratic Bézier: control point, end point.
    QuadTo(f32, f32, f32, f32),
    /// Cubic Bézier: two control points, end point.
    CubicTo(f32, f32, f32, f32, f32, f32),
    Close,
}

/// A sequence of subpaths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Path {
    pub segments: Vec<Segment>,
}

impl Path {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn move_to(&mut self, x: f32, y: f32) {
        self.segments.push(Segment::MoveTo(x, y));
    }

    pub fn line_to(&mut self, x: f32, y: f32) {
        self.segments.push(Segment::LineTo(x, y));
    }

    pub fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.segments.push(Segment::QuadTo(x1, y1, x, y));
    }

    pub fn cubic_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.segments.push(Segment::CubicTo(x1, y1, x2, y2, x, y));
    }

    pub fn close(&mut self) {
        self.segments.push(Segment::Close);
    }

    /// Appends the subpaths of `other`.
    pub fn extend(&mut self, other: Path) {
        self.segments.extend(other.segments);
    }

    /// An open polyline through `points` (empty for no points).
    pub fn polyline(points: &[(f32, f32)]) -> Self {
        let mut path = Path::new();
        for (index, &(x, y)) in points.iter().enumerate() {
            if index == 0 {
                path.move_to(x, y);
            } else {
                path.line_to(x, y);
            }
        }
        path
    }

    /// A straight segment.
    pub fn line(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Self::polyline(&[(x1, y1), (x2, y2)])
    }

    /// A closed polygon through `points`.
    pub fn polygon(points: &[(f32, f32)]) -> Self {
        let mut path = Self::polyline(points);
        if !path.is_empty() {
            path.close();
        }
        path
    }

    /// An axis-aligned rectangle.
    pub fn rect(rect: Rect) -> Self {
        Self::polygon(&[
            (rect.left, rect.top),
            (rect.right, rect.top),
            (rect.right, rect.bottom),
            (rect.left, rect.bottom),
        ])
    }

    /// A circle, as four cubic arcs.
    pub fn circle(cx: f32, cy: f32, r: f32) -> Self {
        // Control-point distance for a quarter circle.
        let k = 0.552_284_8 * r;
        let mut path = Path::new();
        path.move_to(cx + r, cy);
        path.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
        path.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
        path.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
        path.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
        path.close();
        path
    }
}

/// An axis-aligned rectangle in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl Rect {
    pub fn width(&self) -> f32 {
        self.right - self.left
    }

    pub fn height(&self) -> f32 {
        self.bottom - self.top
    }

    pub fn center_x(&self) -> f32 {
        (self.left + self.right) / 2.0
    }

    pub fn center_y(&self) -> f32 {
        (self.top + self.bottom) / 2.0
    }
}
