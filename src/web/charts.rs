//! Bar charts drawn on the server as inline SVG: axes, labels and a hover title per bar, no
//! JavaScript. The geometry is worked out here; `templates/components/bar_chart.html` draws it.

use askama::Template;

/// One coloured part of a bar (a stacked bar has several).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub value: f64,
    /// CSS class giving the colour: `seg-ok`, `seg-warning`, `seg-failed`, `seg-primary`.
    pub class: &'static str,
}

/// One bar: its label (a day) and its segments, bottom first.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub segments: Vec<Segment>,
    /// The hover text.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub class: &'static str,
}

impl Rect {
    /// Its `x`, `y`, `width` and `height` attributes, to two decimals.
    pub fn geometry(&self) -> Geometry<'_> {
        Geometry(self)
    }
}

/// A rectangle's SVG attributes, written without `format!("{:.2}")`: a 90-day chart has about a
/// thousand coordinates, and Rust's exact float formatting of them was a sixth of the customer
/// summary page's CPU time.
pub struct Geometry<'a>(&'a Rect);

impl std::fmt::Display for Geometry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.0;
        write!(
            f,
            "x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            Hundredths(r.x),
            Hundredths(r.y),
            Hundredths(r.width),
            Hundredths(r.height)
        )
    }
}

/// A number to two decimals, rounded half away from zero; non-finite numbers as 0.
struct Hundredths(f64);

impl std::fmt::Display for Hundredths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scaled = (self.0 * 100.0).round();
        // Chart coordinates are a few hundred at most; anything else is drawn at the origin.
        let hundredths = if scaled.is_finite() && scaled.abs() < 1e15 {
            scaled as i64
        } else {
            0
        };
        let sign = if hundredths < 0 { "-" } else { "" };
        let abs = hundredths.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DrawnBar {
    pub rects: Vec<Rect>,
    pub title: String,
    /// The whole bar's box, for the hover target.
    pub hit: Rect,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub position: f64,
    pub label: String,
}

#[derive(Template, Debug, Clone)]
#[template(path = "components/bar_chart.html")]
pub struct BarChart {
    pub id: String,
    pub description: String,
    pub width: f64,
    pub height: f64,
    pub plot_left: f64,
    pub plot_bottom: f64,
    pub plot_right: f64,
    pub bars: Vec<DrawnBar>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub empty: bool,
    /// A second series drawn as a dashed line over the bars (e.g. an allowance): SVG `points`.
    pub line_points: Option<String>,
    pub line_title: String,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A rounded-up "nice" top for the y axis: 1, 2 or 5 times a power of ten.
pub fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|top| *top >= max)
        .unwrap_or(max)
}

impl BarChart {
    /// Lays out `bars`; `format_value` writes the y-axis labels.
    pub fn new(id: &str, description: &str, bars: Vec<Bar>, format_value: impl Fn(f64) -> String) -> BarChart {
        BarChart::with_line(id, description, bars, None, format_value)
    }

    /// The same with a line series, one value per bar, and its hover title.
    pub fn with_line(
        id: &str,
        description: &str,
        bars: Vec<Bar>,
        line: Option<(Vec<f64>, String)>,
        format_value: impl Fn(f64) -> String,
    ) -> BarChart {
        let plot_width = WIDTH - LEFT - RIGHT;
        let plot_height = HEIGHT - TOP - BOTTOM;
        let plot_bottom = HEIGHT - BOTTOM;
        let line_max = line
            .as_ref()
            .map(|(values, _)| values.iter().copied().fold(0.0, f64::max))
            .unwrap_or(0.0);
        let max = bars
            .iter()
            .map(|b| b.segments.iter().map(|s| s.value.max(0.0)).sum::<f64>())
            .fold(line_max, f64::max);
        let top = nice_max(max);
        let slot = if bars.is_empty() {
            plot_width
        } else {
            plot_width / bars.len() as f64
        };
        let bar_width = (slot * 0.8).max(1.0);
        let drawn = bars
            .iter()
            .enumerate()
            .map(|(i, bar)| {
                let x = LEFT + i as f64 * slot + (slot - bar_width) / 2.0;
                let mut y = plot_bottom;
                let rects = bar
                    .segments
                    .iter()
                    .filter(|s| s.value > 0.0)
                    .map(|s| {
                        let height = s.value / top * plot_height;
                        y -= height;
                        Rect {
                            x,
                            y,
                            width: bar_width,
                            height,
                            class: s.class,
                        }
                    })
                    .collect();
                let hit = Rect {
                    x: LEFT + i as f64 * slot,
                    y: TOP,
                    width: slot,
                    height: plot_height,
                    class: "hit",
                };
                DrawnBar {
                    rects,
                    title: bar.title.clone(),
                    hit,
                }
            })
            .collect();
        let y_ticks = [0.0, 0.5, 1.0]
            .iter()
            .map(|f| Tick {
                position: plot_bottom - f * plot_height,
                label: format_value(top * f),
            })
            .collect();
        let x_ticks = match bars.len() {
            0 => vec![],
            1 => vec![Tick {
                position: LEFT + slot / 2.0,
                label: bars[0].label.clone(),
            }],
            n => [0, n / 2, n - 1]
                .iter()
                .map(|&i| Tick {
                    position: LEFT + i as f64 * slot + slot / 2.0,
                    label: bars[i].label.clone(),
                })
                .collect(),
        };
        let (line_points, line_title) = match line {
            Some((values, title)) if !values.is_empty() => {
                let points = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let x = LEFT + i as f64 * slot + slot / 2.0;
                        let y = plot_bottom - v.max(0.0) / top * plot_height;
                        format!("{x:.1},{y:.1}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                (Some(points), title)
            }
            _ => (None, String::new()),
        };
        BarChart {
            line_points,
            line_title,
            id: id.to_string(),
            description: description.to_string(),
            width: WIDTH,
            height: HEIGHT,
            plot_left: LEFT,
            plot_bottom,
            plot_right: WIDTH - RIGHT,
            empty: bars.is_empty(),
            bars: drawn,
            y_ticks,
            x_ticks,
        }
    }

    /// The SVG markup (escaped by askama) to place in a page with `|safe`.
    pub fn svg(&self) -> String {
        self.render().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(values: &[f64]) -> Vec<Bar> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Bar {
                label: format!("d{i}"),
                segments: vec![Segment {
                    value: *v,
                    class: "seg-primary",
                }],
                title: format!("d{i}: {v}"),
            })
            .collect()
    }

    #[test]
    fn coordinates_are_written_to_two_decimals_like_the_standard_formatting() {
        for v in [0.0, 0.004, 0.006, 1.5, 12.345_678, 656.0, 99.999, -3.25, -0.5, 1234.5] {
            assert_eq!(Hundredths(v).to_string(), format!("{v:.2}"), "{v}");
        }
        assert_eq!(Hundredths(f64::NAN).to_string(), "0.00");
        let rect = Rect {
            x: 56.0,
            y: 12.5,
            width: 5.184,
            height: 180.0,
            class: "hit",
        };
        assert_eq!(
            rect.geometry().to_string(),
            r#"x="56.00" y="12.50" width="5.18" height="180.00""#
        );
    }

    #[test]
    fn the_axis_top_is_a_round_number_at_or_above_the_largest_bar() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!(nice_max(11.0), 20.0);
        assert_eq!(nice_max(420.0), 500.0);
    }

    #[test]
    fn no_points_draw_an_empty_chart_with_axes() {
        let chart = BarChart::new("c", "nothing", vec![], |v| v.to_string());
        assert!(chart.empty && chart.bars.is_empty() && chart.x_ticks.is_empty());
        let svg = chart.svg();
        assert!(svg.contains("<svg") && svg.contains("No data"));
    }

    #[test]
    fn one_point_fills_one_bar_and_labels_it() {
        let chart = BarChart::new("c", "one", bars(&[5.0]), |v| v.to_string());
        assert_eq!(chart.bars.len(), 1);
        assert_eq!(chart.x_ticks.len(), 1);
        let rect = &chart.bars[0].rects[0];
        assert!(
            (rect.y + rect.height - chart.plot_bottom).abs() < 1e-9,
            "bars stand on the axis"
        );
    }

    #[test]
    fn ninety_points_fit_the_plot_and_keep_their_titles() {
        let values: Vec<f64> = (0..90).map(f64::from).collect();
        let chart = BarChart::new("c", "ninety", bars(&values), |v| v.to_string());
        assert_eq!(chart.bars.len(), 90);
        let last = chart.bars[89].rects[0].clone();
        assert!(last.x + last.width <= chart.plot_right + 1e-9);
        assert!(last.y >= 0.0);
        let svg = chart.svg();
        assert_eq!(svg.matches("</title>").count(), 91, "one per bar and the chart's own");
        assert!(svg.contains("d89: 89"));
    }

    #[test]
    fn stacked_segments_sit_on_each_other() {
        let bar = Bar {
            label: "x".into(),
            segments: vec![
                Segment {
                    value: 2.0,
                    class: "seg-ok",
                },
                Segment {
                    value: 1.0,
                    class: "seg-failed",
                },
            ],
            title: "x".into(),
        };
        let chart = BarChart::new("c", "stack", vec![bar], |v| v.to_string());
        let rects = &chart.bars[0].rects;
        assert_eq!(rects.len(), 2);
        assert!((rects[1].y + rects[1].height - rects[0].y).abs() < 1e-9);
    }

    #[test]
    fn a_line_series_raises_the_axis_and_has_a_point_per_bar() {
        let chart = BarChart::with_line(
            "c",
            "line",
            bars(&[1.0, 2.0]),
            Some((vec![5.0, 5.0], "allowance".into())),
            |v| v.to_string(),
        );
        assert_eq!(chart.line_points.as_deref().map(|p| p.split(' ').count()), Some(2));
        assert_eq!(chart.y_ticks.last().map(|t| t.label.clone()), Some("5".to_string()));
        assert!(chart.svg().contains("allowance"));
    }

    #[test]
    fn labels_are_escaped() {
        let mut b = bars(&[1.0]);
        b[0].title = "<script>".into();
        assert!(
            !BarChart::new("c", "<b>", b, |v| v.to_string())
                .svg()
                .contains("<script>")
        );
    }
}
