//! The PR comment's chart: a mermaid `xychart-beta` block, which GitHub renders without
//! hosting images. The page draws SVG instead (`svg`).

use super::svg::{trim_number, ByteAxis, BASELINE_COLOUR, CURRENT_COLOUR};
use super::{fmt_at, View};
use crate::store::ChartTimeline;
use std::fmt::Write as _;

/// At most this many x positions in a markdown chart.
const MD_CHART_POINTS: usize = 16;

/// A mermaid chart and the caption under it.
pub(super) struct Mermaid {
    /// The chart's source, one line each, ending with a newline.
    pub source: String,
    /// What it shows, and where it holds a value or stops.
    pub caption: String,
}

/// The values a chart draws: this run's at its charted x positions, and the baseline's there.
struct Values {
    xs: Vec<u64>,
    current: Vec<u64>,
    baseline: Option<Vec<u64>>,
    /// Whether a baseline value was taken from another x than its own.
    held: bool,
}

/// A mermaid `xychart-beta` of total residency: the baseline and this run as two lines over at
/// most [`MD_CHART_POINTS`] of this run's charted samples.
pub(super) fn residency(v: &View, against: &str) -> Option<Mermaid> {
    let cur = v.current_timeline()?;
    let idx = charted_points(cur);
    let xs: Vec<u64> = idx.iter().map(|i| cur.points[*i].x).collect();
    let current: Vec<u64> = idx.iter().map(|i| cur.points[*i].live_bytes).collect();
    // The baseline at each x: its sample there, else its last sample before (said below).
    let (baseline, held) = match v.baseline_timeline() {
        Some(b) => {
            let (values, held) = baseline_at(b, &xs);
            (Some(values), held)
        }
        None => (None, false),
    };
    let values = Values {
        xs,
        current,
        baseline,
        held,
    };
    Some(Mermaid {
        source: source(v, &values),
        caption: caption(v, &values, cur.points.len(), against),
    })
}

/// The chart's mermaid source, in KiB or MiB by its largest value.
fn source(v: &View, values: &Values) -> String {
    let max = values
        .current
        .iter()
        .chain(values.baseline.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0) as f64;
    let (div, unit) = if max >= 1024.0 * 1024.0 {
        (1024.0 * 1024.0, "MiB")
    } else {
        (1024.0, "KiB")
    };
    let top = ByteAxis::new(max).top / div;
    let line = |b: &[u64]| {
        let nums: Vec<String> = b
            .iter()
            .map(|b| format!("{:.2}", *b as f64 / div))
            .collect();
        format!("    line [{}]", nums.join(", "))
    };
    let mut s = String::new();
    let palette = if values.baseline.is_some() {
        format!("{BASELINE_COLOUR}, {CURRENT_COLOUR}")
    } else {
        CURRENT_COLOUR.to_owned()
    };
    let _ = writeln!(
        s,
        r#"%%{{init: {{"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%"#
    );
    let _ = writeln!(s, "xychart-beta");
    let last = values.xs.last().copied().unwrap_or(0);
    let labels: Vec<String> = values
        .xs
        .iter()
        .map(|x| format!("\"{}\"", short(*x, last)))
        .collect();
    let _ = writeln!(
        s,
        "    x-axis \"{}\" [{}]",
        v.unit().label(),
        labels.join(", ")
    );
    let _ = writeln!(
        s,
        "    y-axis \"{} ({unit})\" 0 --> {}",
        v.unit().residency_label(),
        trim_number(top)
    );
    if let Some(b) = &values.baseline {
        let _ = writeln!(s, "{}", line(b));
    }
    let _ = writeln!(s, "{}", line(&values.current));
    s
}

/// Which line is which, how many of the run's `n` samples show, and where the values come from.
fn caption(v: &View, values: &Values, n: usize, against: &str) -> String {
    let mut caption = String::new();
    if values.baseline.is_some() {
        let _ = write!(caption, "grey: {against} · ");
    }
    let _ = write!(
        caption,
        "blue: this run · {} of its {} charted samples",
        values.xs.len(),
        n
    );
    if values.held {
        caption.push_str(" · the baseline was sampled elsewhere: each value is its last sample at or before that x");
    }
    if let Some(stop) = v.r.stopped_at {
        let _ = write!(caption, " · the run stopped at {}", fmt_at(v.unit(), stop));
    }
    caption
}

/// The points a markdown chart shows: at most [`MD_CHART_POINTS`] spread evenly, and the peak.
fn charted_points(cur: &ChartTimeline) -> Vec<usize> {
    let n = cur.points.len();
    let k = n.min(MD_CHART_POINTS);
    let mut idx: Vec<usize> = if k <= 1 {
        vec![0]
    } else {
        (0..k).map(|i| i * (n - 1) / (k - 1)).collect()
    };
    if let Some((peak, _)) = cur
        .points
        .iter()
        .enumerate()
        .max_by_key(|(i, p)| (p.live_bytes, std::cmp::Reverse(*i)))
    {
        if !idx.contains(&peak) {
            idx.push(peak);
        }
    }
    idx.sort_unstable();
    idx.dedup();
    idx
}

/// The baseline's residency at each of `xs`: its sample there, else its last sample before
/// (its first when it has none before); and whether any value was taken from elsewhere.
fn baseline_at(b: &ChartTimeline, xs: &[u64]) -> (Vec<u64>, bool) {
    let mut held = false;
    let values = xs
        .iter()
        .map(|x| match b.points.iter().rev().find(|p| p.x <= *x) {
            Some(p) => {
                held |= p.x != *x;
                p.live_bytes
            }
            None => {
                held = true;
                b.points[0].live_bytes
            }
        })
        .collect();
    (values, held)
}

/// `12.5k`, `3M`: short x labels for chart categories, in one style along an axis ending at `max`.
fn short(x: u64, max: u64) -> String {
    match max {
        _ if x == 0 => "0".to_owned(),
        0..=9_999 => x.to_string(),
        10_000..=9_999_999 => format!("{}k", trim_number(x as f64 / 1e3)),
        _ => format!("{}M", trim_number(x as f64 / 1e6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_x_labels() {
        assert_eq!(short(0, 30), "0");
        assert_eq!(short(9_000, 9_000), "9000");
        assert_eq!(short(5_000, 200_000), "5k");
        assert_eq!(short(12_500, 200_000), "12.5k");
        assert_eq!(short(3_000_000, 3_000_000), "3000k");
        assert_eq!(short(30_000_000, 30_000_000), "30M");
    }
}
