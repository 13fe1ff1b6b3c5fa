//! Writes a scene as SVG.
//!
//! Every primitive becomes a `<path>`: the background, rules, data and text alike (text is already
//! glyph outlines), so the file names no font and renders the same in any viewer. Coordinates are
//! written with at most two decimals (a hundredth of a CSS pixel is far below what shows), which
//! keeps files small and the output byte-for-byte reproducible.

use std::fmt::Write;

use crate::path::{Path, Segment};
use crate::scene::{Item, Scene, StrokeStyle};

/// A coordinate or length: two decimals, trailing zeros and a negative zero dropped.
fn number(value: f32) -> String {
    let mut text = format!("{value:.2}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

fn path_data(path: &Path) -> String {
    let mut data = String::new();
    for segment in &path.segments {
        let (command, values): (char, &[f32]) = match segment {
            Segment::MoveTo(x, y) => ('M', &[*x, *y]),
            Segment::LineTo(x, y) => ('L', &[*x, *y]),
            Segment::QuadTo(x1, y1, x, y) => ('Q', &[*x1, *y1, *x, *y]),
            Segment::CubicTo(x1, y1, x2, y2, x, y) => ('C', &[*x1, *y1, *x2, *y2, *x, *y]),
            Segment::Close => ('Z', &[]),
        };
        data.push(command);
        let values: Vec<String> = values.iter().map(|&v| number(v)).collect();
        data.push_str(&values.join(" "));
    }
    data
}

fn stroke_attributes(style: &StrokeStyle) -> String {
    let mut attributes = format!(
        r#" fill="none" stroke="{}" stroke-width="{}""#,
        style.color.hex(),
        number(style.width)
    );
    if !style.dash.is_empty() {
        let dash: Vec<String> = style.dash.iter().map(|&d| number(d)).collect();
        let _ = write!(attributes, r#" stroke-dasharray="{}""#, dash.join(" "));
    }
    if style.round {
        attributes.push_str(r#" stroke-linecap="round" stroke-linejoin="round""#);
    }
    attributes
}

/// The scene as a standalone SVG document, sized in CSS pixels.
pub fn write(scene: &Scene) -> String {
    let (width, height) = (number(scene.width), number(scene.height));
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    let _ = writeln!(
        out,
        r#"<path d="M0 0H{width}V{height}H0Z" fill="{}"/>"#,
        scene.background.hex()
    );
    for item in &scene.items {
        match item {
            Item::Fill { path, color } => {
                let _ = writeln!(
                    out,
                    r#"<path d="{}" fill="{}"/>"#,
                    path_data(path),
                    color.hex()
                );
            }
            Item::Stroke { path, style } => {
                let _ = writeln!(
                    out,
                    r#"<path d="{}"{}/>"#,
                    path_data(path),
                    stroke_attributes(style)
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::palette::Color;
    use crate::path::Rect;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(0.123_456), "0.12");
        assert_eq!(number(-0.001), "0");
        assert_eq!(number(-3.25), "-3.25");
    }

    #[test]
    fn fills_and_strokes_become_paths() {
        let mut scene = Scene::new(100.0, 50.0, Color::WHITE);
        let rect = Rect {
            left: 10.0,
            top: 10.0,
            right: 20.0,
            bottom: 30.0,
        };
        scene.fill(Path::rect(rect), Color::rgb(0, 0x72, 0xb2));
        scene.stroke(
            Path::line(0.0, 1.0, 5.0, 1.0),
            StrokeStyle {
                color: Color::BLACK,
                width: 1.5,
                dash: vec![4.0, 2.0],
                round: false,
            },
        );
        let svg = write(&scene);
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r##"<path d="M10 10L20 10L20 30L10 30Z" fill="#0072b2"/>"##));
        assert!(svg.contains(r##"stroke="#000000" stroke-width="1.5" stroke-dasharray="4 2""##));
        assert_eq!(svg.matches("<path").count(), 3);
    }
}
