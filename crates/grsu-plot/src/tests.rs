//! Tests of whole figures: determinism, the SVG's form, and what the PNG shows where.

use tiny_skia::Pixmap;

use crate::font::{Anchor, TextStyle, Weight};
use crate::frame::{Frame, HEIGHT, WIDTH};
use crate::palette::{self, Color};
use crate::path::Rect;
use crate::scene::Scene;
use crate::*;

fn depth_chart() -> LineChart {
    let curve = |base: f64, gain: f64| -> Vec<(f64, f64)> {
        (0..=5)
            .map(|depth| {
                let d = depth as f64;
                (d, base + gain * (1.0 - (-0.6 * d).exp()))
            })
            .collect()
    };
    LineChart {
        title: "Recall@50 by search depth (INSPIRED)".into(),
        x_label: "Search depth".into(),
        y_label: "Recall@50".into(),
        series: vec![
            Series {
                name: "GRSU beam".into(),
                points: curve(0.212, 0.12),
                style: None,
            },
            Series {
                name: "GRSU greedy".into(),
                points: curve(0.212, 0.07),
                style: None,
            },
            Series {
                name: "Monte Carlo".into(),
                points: curve(0.212, 0.035),
                style: None,
            },
        ],
        references: vec![("ReFICR".into(), 0.262)],
        legend: None,
        note: String::new(),
    }
}

/// A figure of 3 variants × 4 output strategies: one colour per variant, one line style per
/// strategy, a key for a legend and a note, as grsu's report draws its depth figure.
fn keyed_chart() -> LineChart {
    let variants = ["GRSU", "- critiquing", "- scoring"];
    let strategies = ["reward-mean", "reward-sum", "vote", "best-list"];
    let mut series = Vec::new();
    for (v, variant) in variants.iter().enumerate() {
        for (s, strategy) in strategies.iter().enumerate() {
            let points = (1..=3)
                .map(|d| {
                    (
                        d as f64,
                        0.1 + 0.08 * v as f64 + 0.02 * s as f64 + 0.03 * d as f64,
                    )
                })
                .collect();
            series.push(
                Series::new(format!("{variant} · {strategy}"), points).with_style(SeriesStyle {
                    color: v,
                    dash: Dash::nth(s),
                    marker: Marker::nth(s),
                    dodge: 0.0,
                }),
            );
        }
    }
    let colours = variants.iter().enumerate().map(|(v, variant)| LegendKey {
        label: variant.to_string(),
        color: Some(v),
        dash: Dash::Solid,
        marker: None,
    });
    let styles = strategies
        .iter()
        .enumerate()
        .map(|(s, strategy)| LegendKey {
            label: strategy.to_string(),
            color: None,
            dash: Dash::nth(s),
            marker: Some(Marker::nth(s)),
        });
    LineChart {
        title: "ablation: Recall@50 by search depth".into(),
        x_label: "search depth".into(),
        y_label: "Recall@50".into(),
        series,
        references: vec![("CRSLab KBRD".into(), 0.2)],
        legend: Some(colours.chain(styles).collect()),
        note: "The first 3 of 5 variants; +16 more methods in the table.".into(),
    }
}

fn ablation_chart() -> BarChart {
    let names = [
        "GRSU (full)",
        "w/o critique",
        "w/o score",
        "w/o search",
        "CRS only",
    ];
    let recall = [0.182, 0.161, 0.154, 0.131, 0.118];
    let ndcg = [0.104, 0.093, 0.088, 0.074, 0.067];
    BarChart {
        title: "Ablation on ReDial".into(),
        y_label: "Score".into(),
        categories: vec!["Recall@10".into(), "NDCG@10".into()],
        bars: names
            .iter()
            .enumerate()
            .map(|(i, name)| BarSeries {
                name: (*name).into(),
                values: vec![recall[i], ndcg[i]],
                errors: Some(vec![0.006 + 0.001 * i as f64, 0.004 + 0.0005 * i as f64]),
            })
            .collect(),
        note: String::new(),
    }
}

fn decode(figure: &Figure) -> Pixmap {
    Pixmap::decode_png(&figure.png).expect("the PNG decodes")
}

/// The colour at CSS coordinates `(x, y)` of a PNG drawn at [`png::SCALE`].
fn color_at(pixmap: &Pixmap, x: f32, y: f32) -> Color {
    let pixel = pixmap
        .pixel((x * png::SCALE) as u32, (y * png::SCALE) as u32)
        .expect("inside the image")
        .demultiply();
    assert_eq!(pixel.alpha(), 0xff, "the figure is opaque");
    Color::rgb(pixel.red(), pixel.green(), pixel.blue())
}

/// Pixels in a CSS-pixel rectangle that differ from the background.
fn ink(pixmap: &Pixmap, rect: Rect) -> usize {
    let s = png::SCALE;
    let mut count = 0;
    for y in (rect.top * s) as u32..(rect.bottom * s) as u32 {
        for x in (rect.left * s) as u32..(rect.right * s) as u32 {
            let p = pixmap.pixel(x, y).expect("inside the image").demultiply();
            let c = Color::rgb(p.red(), p.green(), p.blue());
            if c != palette::BACKGROUND {
                count += 1;
            }
        }
    }
    count
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom
}

fn inside_figure(rect: Rect) -> bool {
    rect.left >= 0.0 && rect.top >= 0.0 && rect.right <= WIDTH && rect.bottom <= HEIGHT
}

#[test]
fn rendering_is_deterministic() {
    let line_a = render_line_chart(&depth_chart()).expect("renders");
    let line_b = render_line_chart(&depth_chart()).expect("renders");
    assert_eq!(line_a, line_b);
    let bar_a = render_bar_chart(&ablation_chart()).expect("renders");
    let bar_b = render_bar_chart(&ablation_chart()).expect("renders");
    assert_eq!(bar_a, bar_b);
    assert_ne!(line_a.png, bar_a.png);
}

#[test]
fn svg_holds_paths_only_and_no_fonts() {
    for figure in [
        render_line_chart(&depth_chart()).expect("renders"),
        render_bar_chart(&ablation_chart()).expect("renders"),
    ] {
        let svg = &figure.svg;
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r#"width="640" height="400""#));
        assert!(svg.contains("<path"));
        assert!(!svg.contains("<text"));
        assert!(!svg.contains("font"));
        // Every element is a path (and the root svg).
        let elements = svg.matches('<').count() - svg.matches("</").count();
        assert_eq!(elements, svg.matches("<path").count() + 1);
    }
}

#[test]
fn png_decodes_to_twice_the_css_size() {
    for figure in [
        render_line_chart(&depth_chart()).expect("renders"),
        render_bar_chart(&ablation_chart()).expect("renders"),
    ] {
        let pixmap = decode(&figure);
        assert_eq!(pixmap.width(), (WIDTH * png::SCALE) as u32);
        assert_eq!(pixmap.height(), (HEIGHT * png::SCALE) as u32);
    }
}

#[test]
fn a_tall_bar_paints_its_colour_where_it_belongs_and_empty_space_stays_background() {
    let chart = BarChart {
        title: String::new(),
        y_label: "Recall".into(),
        categories: vec!["Recall@10".into(), "NDCG@10".into()],
        bars: vec![
            BarSeries {
                name: "tall".into(),
                values: vec![0.30, 0.02],
                errors: None,
            },
            BarSeries {
                name: "short".into(),
                values: vec![0.01, 0.02],
                errors: None,
            },
        ],
        note: String::new(),
    };
    let (_, frame) = bar_chart::build(&chart).expect("lays out");
    let pixmap = decode(&render_bar_chart(&chart).expect("renders"));
    assert_eq!(frame.y.domain.0, 0.0, "bars start at zero");

    let tall = bar_chart::bar_rect(&frame, 2, 0, 0, 0.30);
    assert!(tall.height() > frame.plot.height() * 0.8);
    for fraction in [0.1, 0.5, 0.9] {
        let y = tall.bottom - tall.height() * fraction;
        assert_eq!(color_at(&pixmap, tall.center_x(), y), palette::series(0));
    }
    // Above the short bar next to it, between two gridlines, nothing is drawn.
    let short = bar_chart::bar_rect(&frame, 2, 0, 1, 0.01);
    let between_gridlines = frame.y.map(0.225);
    assert_eq!(
        color_at(&pixmap, short.center_x(), between_gridlines),
        palette::BACKGROUND
    );
    // Nor in the gap between the two groups.
    assert_eq!(
        color_at(&pixmap, frame.x.map(1.0), frame.y.map(0.125)),
        palette::BACKGROUND
    );
    // The short bar of the second group is drawn in the second colour.
    let second = bar_chart::bar_rect(&frame, 2, 1, 1, 0.02);
    assert_eq!(
        color_at(&pixmap, second.center_x(), second.center_y()),
        palette::series(1)
    );
}

#[test]
fn error_bars_are_drawn_above_the_bar() {
    let mut chart = ablation_chart();
    chart.bars.truncate(1);
    chart.bars[0].values = vec![0.1, 0.1];
    chart.bars[0].errors = Some(vec![0.05, 0.0]);
    let (_, frame) = bar_chart::build(&chart).expect("lays out");
    let pixmap = decode(&render_bar_chart(&chart).expect("renders"));
    let bar = bar_chart::bar_rect(&frame, 1, 0, 0, 0.1);
    let above = frame.y.map(0.13);
    assert_eq!(color_at(&pixmap, bar.center_x(), above), palette::ERROR_BAR);
    // No error in the second category: nothing above that bar.
    let bar = bar_chart::bar_rect(&frame, 1, 1, 0, 0.1);
    assert_eq!(
        color_at(&pixmap, bar.center_x(), above),
        palette::BACKGROUND
    );
}

#[test]
fn line_markers_sit_on_their_points() {
    let chart = depth_chart();
    let (_, frame) = line_chart::build(&chart).expect("lays out");
    let pixmap = decode(&render_line_chart(&chart).expect("renders"));
    // Points 3..5 of each series are far enough apart not to overlap.
    for (index, series) in chart.series.iter().enumerate() {
        for &(x, y) in &series.points[3..] {
            let color = color_at(&pixmap, frame.x.map(x), frame.y.map(y));
            assert_eq!(color, palette::series(index), "{} at {x}", series.name);
        }
    }
    assert!(
        frame.x.map(0.0) > frame.plot.left,
        "depth 0 is inside the frame"
    );
    assert!(frame.x.map(5.0) < frame.plot.right);
}

#[test]
fn reference_line_is_dashed_across_the_plot() {
    let chart = depth_chart();
    let (_, frame) = line_chart::build(&chart).expect("lays out");
    let pixmap = decode(&render_line_chart(&chart).expect("renders"));
    let y = frame.y.map(chart.references[0].1);
    let s = png::SCALE;
    let row = (y * s) as u32;
    let (mut drawn, mut gaps) = (0, 0);
    for x in (frame.plot.left * s) as u32 + 4..(frame.plot.right * s) as u32 - 4 {
        let p = pixmap.pixel(x, row).expect("inside").demultiply();
        if Color::rgb(p.red(), p.green(), p.blue()) == palette::REFERENCE {
            drawn += 1;
        } else {
            gaps += 1;
        }
    }
    assert!(drawn > 200, "{drawn} pixels of the reference line");
    assert!(gaps > 100, "{gaps} pixels of gaps: the line is dashed");
}

#[test]
fn text_renders_as_ink_where_it_is_placed() {
    let mut scene = Scene::new(200.0, 40.0, palette::BACKGROUND);
    let style = TextStyle::new(Weight::Regular, 16.0, palette::TEXT);
    scene.text("Recall@50", (10.0, 28.0), style, Anchor::Start, 0.0);
    let pixmap = png::rasterize(&scene, png::SCALE).expect("rasterises");
    let width = style.width("Recall@50");
    let text_box = Rect {
        left: 9.0,
        top: 28.0 - style.ascent(),
        right: 11.0 + width,
        bottom: 28.0 + style.descent(),
    };
    let total = ink(
        &pixmap,
        Rect {
            left: 0.0,
            top: 0.0,
            right: 200.0,
            bottom: 40.0,
        },
    );
    let inside = ink(&pixmap, text_box);
    assert!(inside > 300, "{inside} inked pixels");
    assert_eq!(inside, total, "no ink outside the text's box");
    // And it is dark: some pixels reach the text colour.
    let dark = (0..pixmap.height())
        .flat_map(|y| (0..pixmap.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| pixmap.pixel(x, y).expect("inside").red() < 0x40)
        .count();
    assert!(dark > 100);
}

#[test]
fn titles_and_labels_are_drawn_outside_the_plot_area() {
    let chart = depth_chart();
    let (_, frame) = line_chart::build(&chart).expect("lays out");
    let pixmap = decode(&render_line_chart(&chart).expect("renders"));
    let band = |top: f32, bottom: f32| Rect {
        left: 0.0,
        top,
        right: WIDTH,
        bottom,
    };
    assert!(ink(&pixmap, band(0.0, frame.plot.top - 2.0)) > 200, "title");
    assert!(
        ink(&pixmap, band(frame.plot.bottom + 2.0, HEIGHT)) > 200,
        "x labels"
    );
    let left = Rect {
        left: 0.0,
        top: frame.plot.top,
        right: frame.plot.left - 2.0,
        bottom: frame.plot.bottom,
    };
    assert!(ink(&pixmap, left) > 200, "y labels");
    // Without title, x label and y label there is less ink outside the plot area.
    let bare = LineChart {
        title: String::new(),
        x_label: String::new(),
        y_label: String::new(),
        ..depth_chart()
    };
    let bare_pixmap = decode(&render_line_chart(&bare).expect("renders"));
    let all = band(0.0, HEIGHT);
    assert!(ink(&bare_pixmap, all) < ink(&pixmap, all));
}

fn assert_legend_clear_of_plot(frame: &Frame) {
    let legend = frame.legend_bounds().expect("a legend");
    assert!(
        !overlaps(legend, frame.plot),
        "{legend:?} over {:?}",
        frame.plot
    );
    assert!(inside_figure(legend), "{legend:?}");
    assert!(inside_figure(frame.plot));
    assert!(frame.plot.width() > WIDTH * 0.4 && frame.plot.height() > HEIGHT * 0.4);
}

#[test]
fn the_legend_never_covers_the_plot() {
    let (_, frame) = line_chart::build(&depth_chart()).expect("lays out");
    assert_legend_clear_of_plot(&frame);
    let (_, frame) = bar_chart::build(&ablation_chart()).expect("lays out");
    assert_legend_clear_of_plot(&frame);
    // Long names move the legend below the plot.
    let mut chart = depth_chart();
    chart.series[0].name = "GRSU beam search, width 4, scored by the 1.5B simulated user".into();
    let (_, long_frame) = line_chart::build(&chart).expect("lays out");
    assert_legend_clear_of_plot(&long_frame);
    let legend = long_frame.legend_bounds().expect("a legend");
    assert!(legend.top > long_frame.plot.bottom);
    assert!(long_frame.plot.width() > frame.plot.width());
}

#[test]
fn many_categories_get_slanted_labels_that_stay_on_the_figure() {
    let categories: Vec<String> = (1..=8).map(|k| format!("Recall@{}", k * 10)).collect();
    let chart = BarChart {
        title: "Many metrics".into(),
        y_label: "Score".into(),
        bars: ablation_chart()
            .bars
            .into_iter()
            .map(|bar| BarSeries {
                values: vec![bar.values[0]; categories.len()],
                errors: None,
                ..bar
            })
            .collect(),
        categories,
        note: String::new(),
    };
    let (scene, frame) = bar_chart::build(&chart).expect("lays out");
    assert_legend_clear_of_plot(&frame);
    let pixmap = png::rasterize(&scene, png::SCALE).expect("rasterises");
    // Labels lie below the plot and above the bottom edge.
    let below = Rect {
        left: 0.0,
        top: frame.plot.bottom + 5.0,
        right: frame.plot.right,
        bottom: HEIGHT,
    };
    assert!(ink(&pixmap, below) > 500);
    let last_rows = Rect {
        left: 0.0,
        top: HEIGHT - 3.0,
        right: WIDTH,
        bottom: HEIGHT,
    };
    assert_eq!(ink(&pixmap, last_rows), 0, "nothing runs off the bottom");
}

#[test]
fn no_ink_touches_the_figure_edges() {
    let edges = [
        Rect {
            left: 0.0,
            top: 0.0,
            right: WIDTH,
            bottom: 3.0,
        },
        Rect {
            left: 0.0,
            top: HEIGHT - 3.0,
            right: WIDTH,
            bottom: HEIGHT,
        },
        Rect {
            left: 0.0,
            top: 0.0,
            right: 3.0,
            bottom: HEIGHT,
        },
        Rect {
            left: WIDTH - 3.0,
            top: 0.0,
            right: WIDTH,
            bottom: HEIGHT,
        },
    ];
    let figures = [
        render_line_chart(&depth_chart()).expect("renders"),
        render_bar_chart(&ablation_chart()).expect("renders"),
    ];
    for figure in figures.iter().chain(gallery().iter().map(|(_, f)| f)) {
        let pixmap = decode(figure);
        for edge in edges {
            assert_eq!(ink(&pixmap, edge), 0, "{edge:?}");
        }
    }
}

#[test]
fn bad_line_input_is_refused_with_the_series_named() {
    let empty = LineChart::default();
    assert_eq!(
        render_line_chart(&empty),
        Err(PlotError::NoSeries {
            chart: "line chart"
        })
    );
    let mut chart = depth_chart();
    chart.series[1].points.clear();
    let error = render_line_chart(&chart).expect_err("no points");
    assert!(error.to_string().contains("GRSU greedy"), "{error}");

    let mut chart = depth_chart();
    chart.series[2].points[3].1 = f64::NAN;
    let error = render_line_chart(&chart).expect_err("NaN");
    assert!(matches!(error, PlotError::NonFinite { .. }));
    let message = error.to_string();
    assert!(
        message.contains("Monte Carlo") && message.contains("point 3"),
        "{message}"
    );

    let mut chart = depth_chart();
    chart.series[0].points[0].0 = f64::INFINITY;
    assert!(matches!(
        render_line_chart(&chart),
        Err(PlotError::NonFinite { .. })
    ));

    let mut chart = depth_chart();
    chart.references[0].1 = f64::NAN;
    let error = render_line_chart(&chart).expect_err("NaN reference");
    assert!(error.to_string().contains("ReFICR"), "{error}");
}

#[test]
fn bad_bar_input_is_refused_with_the_series_named() {
    let mut chart = ablation_chart();
    chart.bars.clear();
    assert!(matches!(
        render_bar_chart(&chart),
        Err(PlotError::NoSeries { .. })
    ));

    let mut chart = ablation_chart();
    chart.categories.clear();
    assert_eq!(render_bar_chart(&chart), Err(PlotError::NoCategories));

    let mut chart = ablation_chart();
    chart.bars[2].values.push(0.1);
    let error = render_bar_chart(&chart).expect_err("3 values for 2 categories");
    assert_eq!(
        error,
        PlotError::LengthMismatch {
            series: "w/o score".into(),
            what: "values",
            found: 3,
            expected: 2
        }
    );
    assert!(error.to_string().contains("w/o score"));

    let mut chart = ablation_chart();
    chart.bars[3].errors = Some(vec![0.01]);
    let error = render_bar_chart(&chart).expect_err("1 error for 2 categories");
    assert!(matches!(
        error,
        PlotError::LengthMismatch {
            what: "error half-widths",
            ..
        }
    ));
    assert!(error.to_string().contains("w/o search"));

    let mut chart = ablation_chart();
    chart.bars[4].values[1] = f64::NAN;
    let error = render_bar_chart(&chart).expect_err("NaN");
    let message = error.to_string();
    assert!(
        message.contains("CRS only") && message.contains("NDCG@10"),
        "{message}"
    );

    let mut chart = ablation_chart();
    chart.bars[0].errors = Some(vec![0.01, -0.01]);
    assert!(matches!(
        render_bar_chart(&chart),
        Err(PlotError::NegativeError { .. })
    ));
}

#[test]
fn edge_cases_still_render() {
    // A single point, a flat series, negative bars, all-zero bars, missing names.
    let chart = LineChart {
        series: vec![
            Series {
                name: "one point".into(),
                points: vec![(2.0, 0.3)],
                style: None,
            },
            Series {
                name: String::new(),
                points: vec![(0.0, 0.3), (4.0, 0.3)],
                style: None,
            },
        ],
        ..LineChart::default()
    };
    render_line_chart(&chart).expect("renders");
    let chart = BarChart {
        categories: vec!["Δ Recall@10".into()],
        bars: vec![
            BarSeries {
                name: "worse".into(),
                values: vec![-0.02],
                errors: Some(vec![0.01]),
            },
            BarSeries {
                name: "same".into(),
                values: vec![0.0],
                errors: None,
            },
        ],
        ..BarChart::default()
    };
    let (_, frame) = bar_chart::build(&chart).expect("lays out");
    assert!(frame.y.domain.0 < -0.02 && frame.y.domain.1 >= 0.0);
    let zeros = BarChart {
        categories: vec!["a".into()],
        bars: vec![BarSeries {
            name: "zero".into(),
            values: vec![0.0],
            errors: None,
        }],
        ..BarChart::default()
    };
    let (_, frame) = bar_chart::build(&zeros).expect("lays out");
    assert_eq!(frame.y.domain.0, 0.0);
    assert!(frame.y.domain.1 > 0.0);
}

/// Figures that exercise the layout's harder cases: a legend that has to go below, slanted
/// category labels, negative bars.
fn gallery() -> Vec<(&'static str, Figure)> {
    let mut long_names = depth_chart();
    long_names.series[0].name =
        "GRSU beam search, width 4, scored by the 1.5B simulated user".into();
    long_names.series[1].name = "GRSU greedy search with critique feedback".into();
    long_names
        .references
        .push(("UniCRS (reported)".into(), 0.231));
    let categories: Vec<String> = [
        "Recall@1 (first turn only)",
        "Recall@10",
        "Recall@50",
        "NDCG@10",
        "NDCG@50",
        "MRR@10",
        "MRR@50",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    let many = BarChart {
        title: "All metrics, ReDial".into(),
        y_label: "Score".into(),
        bars: ablation_chart()
            .bars
            .into_iter()
            .take(3)
            .enumerate()
            .map(|(i, bar)| BarSeries {
                values: (0..categories.len())
                    .map(|k| 0.05 + 0.04 * k as f64 - 0.01 * i as f64)
                    .collect(),
                errors: None,
                ..bar
            })
            .collect(),
        categories,
        note: String::new(),
    };
    let differences = BarChart {
        title: "Change against CRS only".into(),
        y_label: "Δ score".into(),
        categories: vec!["Recall@10".into(), "NDCG@10".into(), "MRR@10".into()],
        bars: vec![
            BarSeries {
                name: "GRSU".into(),
                values: vec![0.064, 0.037, 0.021],
                errors: Some(vec![0.01, 0.008, 0.006]),
            },
            BarSeries {
                name: "w/o score".into(),
                values: vec![0.036, -0.012, 0.004],
                errors: Some(vec![0.01, 0.008, 0.006]),
            },
        ],
        note: String::new(),
    };
    vec![
        (
            "figure3_keyed_with_note",
            render_line_chart(&keyed_chart()).expect("renders"),
        ),
        (
            "figure3_long_legend",
            render_line_chart(&long_names).expect("renders"),
        ),
        (
            "figure2_many_metrics",
            render_bar_chart(&many).expect("renders"),
        ),
        (
            "figure2_differences",
            render_bar_chart(&differences).expect("renders"),
        ),
    ]
}

#[test]
fn figures_are_written_as_svg_and_png() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Where the example figures go: a temporary directory, or GRSU_PLOT_EXAMPLES to look at them.
    let out = std::env::var_os("GRSU_PLOT_EXAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().to_path_buf());
    std::fs::create_dir_all(&out).expect("output dir");
    let line = render_line_chart(&depth_chart()).expect("renders");
    line.write(&out.join("figure3.depth")).expect("writes");
    let bar = render_bar_chart(&ablation_chart()).expect("renders");
    bar.write(&out.join("figure2_ablation")).expect("writes");

    let svg = std::fs::read_to_string(out.join("figure3.depth.svg")).expect("svg written");
    assert_eq!(svg, line.svg);
    let png = std::fs::read(out.join("figure3.depth.png")).expect("png written");
    assert_eq!(png, line.png);
    assert_eq!(
        std::fs::read(out.join("figure2_ablation.png")).expect("png written"),
        bar.png
    );
    assert!(out.join("figure2_ablation.svg").exists());

    for (name, figure) in gallery() {
        figure.write(&out.join(name)).expect("writes");
        assert!(out.join(format!("{name}.png")).exists());
    }
}

#[test]
fn styled_series_are_drawn_in_their_colour_dash_and_marker() {
    let chart = keyed_chart();
    let (_, frame) = line_chart::build(&chart).expect("lays out");
    let pixmap = decode(&render_line_chart(&chart).expect("renders"));
    // The last point of each series (far enough apart) is its variant's colour.
    for series in &chart.series {
        let style = series.style.expect("styled");
        let &(x, y) = series.points.last().expect("points");
        assert_eq!(
            color_at(&pixmap, frame.x.map(x), frame.y.map(y)),
            palette::series(style.color),
            "{}",
            series.name
        );
    }
    // Along a solid line every pixel is drawn; along a dashed one there are gaps.
    let coverage = |series: &Series| {
        let color = palette::series(series.style.expect("styled").color);
        let (a, b) = (series.points[1], series.points[2]);
        let (mut drawn, mut total) = (0, 0);
        // Between the markers, away from them.
        for step in 15..=85 {
            let t = step as f64 / 100.0;
            let x = frame.x.map(a.0 + (b.0 - a.0) * t);
            let y = frame.y.map(a.1 + (b.1 - a.1) * t);
            total += 1;
            if color_at(&pixmap, x, y) == color {
                drawn += 1;
            }
        }
        drawn as f64 / total as f64
    };
    // GRSU · reward-mean is solid, GRSU · reward-sum dashed, GRSU · vote dotted.
    assert!(coverage(&chart.series[0]) > 0.95);
    let dashed = coverage(&chart.series[1]);
    assert!((0.3..0.9).contains(&dashed), "dashed: {dashed}");
    let dotted = coverage(&chart.series[2]);
    assert!(dotted < dashed, "dotted {dotted} vs dashed {dashed}");
}

#[test]
fn a_legend_key_replaces_the_entry_per_series() {
    let chart = keyed_chart();
    let entries = line_chart::legend(&chart);
    let labels: Vec<&str> = entries.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "GRSU",
            "- critiquing",
            "- scoring",
            "reward-mean",
            "reward-sum",
            "vote",
            "best-list",
            "CRSLab KBRD"
        ]
    );
    let (_, frame) = line_chart::build(&chart).expect("lays out");
    assert_legend_clear_of_plot(&frame);
    // An empty key: no legend at all.
    let bare = LineChart {
        legend: Some(Vec::new()),
        references: Vec::new(),
        ..keyed_chart()
    };
    let (_, frame) = line_chart::build(&bare).expect("lays out");
    assert!(frame.legend_bounds().is_none());
    // Without a key, one entry per series in its style.
    let per_series = LineChart {
        legend: None,
        ..keyed_chart()
    };
    assert_eq!(line_chart::legend(&per_series).len(), 13);
}

#[test]
fn a_note_sits_at_the_foot_clear_of_everything_else() {
    for chart in [
        keyed_chart(),
        LineChart {
            // Long names: the legend goes below, and the note under it.
            series: keyed_chart()
                .series
                .into_iter()
                .map(|s| Series {
                    name: format!("{} with a long description of its setting", s.name),
                    ..s
                })
                .collect(),
            legend: None,
            note: "A note long enough to wrap: ".repeat(8),
            ..keyed_chart()
        },
    ] {
        let (scene, frame) = line_chart::build(&chart).expect("lays out");
        let note = frame.note_bounds().expect("a note");
        assert!(inside_figure(note), "{note:?}");
        assert!(!overlaps(note, frame.plot));
        let legend = frame.legend_bounds().expect("a legend");
        assert!(!overlaps(note, legend), "{note:?} under {legend:?}");
        assert!(frame.note_lines().len() <= 2);
        let pixmap = png::rasterize(&scene, png::SCALE).expect("rasterises");
        assert!(ink(&pixmap, note) > 200, "the note is drawn");
    }
    let mut bars = ablation_chart();
    bars.note = "Each variant at reward-mean; +33 more methods in the table.".into();
    let (_, frame) = bar_chart::build(&bars).expect("lays out");
    let note = frame.note_bounds().expect("a note");
    assert!(!overlaps(note, frame.plot) && inside_figure(note));
    let (_, without) = bar_chart::build(&ablation_chart()).expect("lays out");
    assert!(without.note_bounds().is_none());
    assert!(
        without.plot.bottom > frame.plot.bottom,
        "the note takes room"
    );
}

#[test]
fn a_dodge_shifts_a_series_by_its_pixels() {
    let mut chart = depth_chart();
    chart.series.truncate(1);
    chart.references.clear();
    let mut style = SeriesStyle::nth(0);
    style.dodge = 6.0;
    chart.series[0].style = Some(style);
    let (_, frame) = line_chart::build(&chart).expect("lays out");
    let pixmap = decode(&render_line_chart(&chart).expect("renders"));
    let (x, y) = chart.series[0].points[5];
    let (px, py) = (frame.x.map(x), frame.y.map(y));
    assert_eq!(color_at(&pixmap, px + 6.0, py), palette::series(0));
    // The unshifted point's spot is left of the marker (radius 3.5): background there.
    assert_ne!(color_at(&pixmap, px - 1.0, py - 4.0), palette::series(0));
    let mut bad = chart.clone();
    bad.series[0].style = Some(SeriesStyle {
        dodge: f32::NAN,
        ..style
    });
    assert!(matches!(
        render_line_chart(&bad),
        Err(PlotError::NonFinite { .. })
    ));
}
