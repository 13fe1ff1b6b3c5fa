//! Rasterises a scene with tiny-skia and encodes it as PNG.
//!
//! The PNG is drawn from the very primitives the SVG is written from, at a fixed scale (2×, so
//! that a 640 × 400 figure is 1280 × 800 pixels and stays sharp on high-density screens and in
//! documents), anti-aliased, with non-zero filling as in SVG. tiny-skia is a pure-Rust software
//! rasteriser, so the pixels depend on neither a GPU nor a system library.

use tiny_skia::{
    FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, StrokeDash, Transform,
};

use crate::palette::Color;
use crate::path::{Path, Segment};
use crate::scene::{Item, Scene, StrokeStyle};
use crate::PlotError;

/// Device pixels per CSS pixel in the PNG.
pub const SCALE: f32 = 2.0;

fn to_skia(path: &Path) -> Option<tiny_skia::Path> {
    let mut builder = PathBuilder::new();
    for segment in &path.segments {
        match *segment {
            Segment::MoveTo(x, y) => builder.move_to(x, y),
            Segment::LineTo(x, y) => builder.line_to(x, y),
            Segment::QuadTo(x1, y1, x, y) => builder.quad_to(x1, y1, x, y),
            Segment::CubicTo(x1, y1, x2, y2, x, y) => builder.cubic_to(x1, y1, x2, y2, x, y),
            Segment::Close => builder.close(),
        }
    }
    builder.finish()
}

fn paint(color: Color) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color_rgba8(color.r, color.g, color.b, 0xff);
    paint.anti_alias = true;
    paint
}

fn stroke(style: &StrokeStyle) -> Stroke {
    let (line_cap, line_join) = if style.round {
        (LineCap::Round, LineJoin::Round)
    } else {
        (LineCap::Butt, LineJoin::Miter)
    };
    Stroke {
        width: style.width,
        line_cap,
        line_join,
        dash: StrokeDash::new(style.dash.clone(), 0.0),
        ..Stroke::default()
    }
}

/// The scene drawn into a pixmap at `scale` device pixels per CSS pixel.
pub fn rasterize(scene: &Scene, scale: f32) -> Result<Pixmap, PlotError> {
    let width = (scene.width * scale).round() as u32;
    let height = (scene.height * scale).round() as u32;
    let mut pixmap = Pixmap::new(width, height).ok_or(PlotError::Render(format!(
        "cannot allocate a {width}×{height} image"
    )))?;
    let background = scene.background;
    pixmap.fill(tiny_skia::Color::from_rgba8(
        background.r,
        background.g,
        background.b,
        0xff,
    ));
    let transform = Transform::from_scale(scale, scale);
    for item in &scene.items {
        match item {
            Item::Fill { path, color } => {
                if let Some(path) = to_skia(path) {
                    pixmap.fill_path(&path, &paint(*color), FillRule::Winding, transform, None);
                }
            }
            Item::Stroke { path, style } => {
                if let Some(path) = to_skia(path) {
                    pixmap.stroke_path(&path, &paint(style.color), &stroke(style), transform, None);
                }
            }
        }
    }
    Ok(pixmap)
}

/// The scene as PNG bytes, at [`SCALE`].
pub fn write(scene: &Scene) -> Result<Vec<u8>, PlotError> {
    rasterize(scene, SCALE)?
        .encode_png()
        .map_err(|error| PlotError::Render(format!("cannot encode the PNG: {error}")))
}
