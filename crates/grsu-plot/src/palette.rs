//! Colours: the fixed series palette and the neutral colours of axes, grid and text.
//!
//! Series take the Okabe–Ito palette, chosen to stay distinguishable under the common forms of
//! colour blindness. It is fixed rather than generated so that a method keeps its colour from one
//! figure to the next (series `i` always gets colour `i`). The order puts the colours that read
//! best on white first; yellow, the weakest on white, comes last but one. Line charts also vary
//! the marker shape, so series stay apart in greyscale print too.

/// An opaque sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Color {
    pub const WHITE: Color = Color::rgb(0xff, 0xff, 0xff);
    pub const BLACK: Color = Color::rgb(0x00, 0x00, 0x00);

    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    /// `#rrggbb`, as SVG writes it.
    pub fn hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// Okabe–Ito colours in the order series take them.
pub const SERIES: [Color; 8] = [
    Color::rgb(0x00, 0x72, 0xb2), // blue
    Color::rgb(0xd5, 0x5e, 0x00), // vermillion
    Color::rgb(0x00, 0x9e, 0x73), // bluish green
    Color::rgb(0xcc, 0x79, 0xa7), // reddish purple
    Color::rgb(0xe6, 0x9f, 0x00), // orange
    Color::rgb(0x56, 0xb4, 0xe9), // sky blue
    Color::rgb(0xf0, 0xe4, 0x42), // yellow
    Color::BLACK,
];

/// The colour of series `index` (the palette repeats after eight series).
pub fn series(index: usize) -> Color {
    SERIES[index % SERIES.len()]
}

/// Figure background.
pub const BACKGROUND: Color = Color::WHITE;
/// Title, labels and tick labels.
pub const TEXT: Color = Color::rgb(0x22, 0x22, 0x22);
/// Axis lines and tick marks.
pub const AXIS: Color = Color::rgb(0x44, 0x44, 0x44);
/// Gridlines: light enough to stay behind the data.
pub const GRID: Color = Color::rgb(0xe3, 0xe3, 0xe3);
/// Error bars.
pub const ERROR_BAR: Color = Color::rgb(0x22, 0x22, 0x22);
/// Reference lines (external baselines): dark grey, told apart by dash pattern.
pub const REFERENCE: Color = Color::rgb(0x55, 0x55, 0x55);
/// Legend keys of a line style without a colour of its own (see `LegendKey`).
pub const KEY: Color = Color::rgb(0x33, 0x33, 0x33);
/// The note at the foot of a figure.
pub const NOTE: Color = Color::rgb(0x55, 0x55, 0x55);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_colours_are_distinct_and_cycle() {
        for (i, a) in SERIES.iter().enumerate() {
            for b in &SERIES[i + 1..] {
                assert_ne!(a, b);
            }
            assert_ne!(*a, BACKGROUND);
        }
        assert_eq!(series(0), series(SERIES.len()));
        assert_eq!(Color::rgb(0, 0x72, 0xb2).hex(), "#0072b2");
    }
}
