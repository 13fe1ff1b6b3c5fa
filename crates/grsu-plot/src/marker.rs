//! Marker shapes for the points of line-chart series.
//!
//! Each series gets a shape as well as a colour, so that lines that cross or print in greyscale
//! can still be told apart. Shapes are sized to cover roughly the same area.

use crate::path::Path;

/// A point marker shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
}

const ORDER: [Marker; 5] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
];

/// The marker of series `index`.
pub fn series(index: usize) -> Marker {
    ORDER[index % ORDER.len()]
}

impl Marker {
    /// Shape `index` in the order series take them (they repeat after five).
    pub fn nth(index: usize) -> Marker {
        series(index)
    }

    /// The outline of the marker centred on `(x, y)`, `size` pixels across (about).
    pub fn path(self, x: f32, y: f32, size: f32) -> Path {
        let r = size / 2.0;
        match self {
            Marker::Circle => Path::circle(x, y, r),
            Marker::Square => {
                let h = r * 0.88;
                Path::polygon(&[
                    (x - h, y - h),
                    (x + h, y - h),
                    (x + h, y + h),
                    (x - h, y + h),
                ])
            }
            Marker::TriangleUp => {
                let h = r * 1.2;
                Path::polygon(&[(x, y - h), (x + h, y + h * 0.75), (x - h, y + h * 0.75)])
            }
            Marker::TriangleDown => {
                let h = r * 1.2;
                Path::polygon(&[(x, y + h), (x - h, y - h * 0.75), (x + h, y - h * 0.75)])
            }
            Marker::Diamond => {
                let h = r * 1.25;
                Path::polygon(&[(x, y - h), (x + h * 0.8, y), (x, y + h), (x - h * 0.8, y)])
            }
        }
    }
}
