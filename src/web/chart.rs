//! Server-rendered SVG bar charts (no JavaScript): the geometry is computed here and drawn by
//! `templates/components/mau_chart.html`, with `<title>` hover text on every bar.

/// One bar: its box in SVG units, the label under it and its hover text.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub label: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct BarChart {
    pub width: i64,
    pub height: i64,
    /// Where the plot area starts (left, for the y axis labels) and ends (bottom, for x labels).
    pub left: i64,
    pub bottom: i64,
    pub bars: Vec<Bar>,
    /// A second series drawn as a line (e.g. an allowance), as SVG `points`.
    pub line: Option<String>,
    pub line_title: String,
    pub y_max: i64,
    pub x_title: String,
    pub y_title: String,
    pub description: String,
}

const WIDTH: i64 = 720;
const HEIGHT: i64 = 260;
const LEFT: i64 = 64;
const TOP: i64 = 16;
const BOTTOM: i64 = 220;

/// A chart of `values` (label, value, hover text), with an optional line series of the same
/// length. The y axis runs from 0 to the largest value of either series.
pub fn bar_chart(
    values: &[(String, i64, String)],
    line: Option<&[i64]>,
    x_title: &str,
    y_title: &str,
    description: &str,
) -> BarChart {
    let y_max = values
        .iter()
        .map(|v| v.1)
        .chain(line.unwrap_or_default().iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_height = BOTTOM - TOP;
    let slot = if values.is_empty() {
        0
    } else {
        (WIDTH - LEFT - 8) / values.len() as i64
    };
    let scale = |value: i64| (value.max(0) * plot_height) / y_max;
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, (label, value, title))| {
            let height = scale(*value);
            Bar {
                x: LEFT + i as i64 * slot + slot / 6,
                y: BOTTOM - height,
                width: (slot * 2 / 3).max(1),
                height,
                label: label.clone(),
                title: title.clone(),
            }
        })
        .collect();
    let line = line.map(|points| {
        points
            .iter()
            .enumerate()
            .map(|(i, value)| format!("{},{}", LEFT + i as i64 * slot + slot / 2, BOTTOM - scale(*value)))
            .collect::<Vec<_>>()
            .join(" ")
    });
    BarChart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        bottom: BOTTOM,
        bars,
        line,
        line_title: String::new(),
        y_max,
        x_title: x_title.to_string(),
        y_title: y_title.to_string(),
        description: description.to_string(),
    }
}

impl BarChart {
    pub fn top(&self) -> i64 {
        TOP
    }

    pub fn right(&self) -> i64 {
        self.width - 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[i64]) -> Vec<(String, i64, String)> {
        v.iter().map(|n| (n.to_string(), *n, format!("{n}"))).collect()
    }

    #[test]
    fn the_tallest_bar_fills_the_plot_and_zero_has_no_height() {
        let chart = bar_chart(&values(&[0, 50, 100]), None, "Month", "MAU", "");
        assert_eq!(chart.bars[0].height, 0);
        assert_eq!(chart.bars[2].height, BOTTOM - TOP);
        assert_eq!(chart.bars[1].height, (BOTTOM - TOP) / 2);
        assert!(chart.bars.windows(2).all(|w| w[0].x < w[1].x));
    }

    #[test]
    fn a_line_above_every_bar_sets_the_scale() {
        let chart = bar_chart(&values(&[10, 20]), Some(&[40, 40]), "Month", "MAU", "");
        assert_eq!(chart.y_max, 40);
        assert_eq!(chart.bars[1].height, (BOTTOM - TOP) / 2);
        assert!(chart.line.is_some_and(|points| points.split(' ').count() == 2));
    }

    #[test]
    fn an_empty_or_all_zero_chart_does_not_divide_by_zero() {
        assert!(bar_chart(&[], None, "", "", "").bars.is_empty());
        assert_eq!(bar_chart(&values(&[0, 0]), None, "", "", "").y_max, 1);
    }
}
