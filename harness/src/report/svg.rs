//! SVG charts of `ChartTimeline`s: total residency (baseline against this run) and the top
//! types as stacked bands, with invariant bounds, the first violation and phase marks.
//!
//! Pure string building. Points are drawn at their own x-positions (no interpolation); axes are
//! linear, y from zero, with tick values at 1, 2, 2.5 or 5 times a power of ten in the unit the
//! axis is labelled in (B, KiB, MiB, GiB). Coordinates are printed to 0.1 px.

use crate::store::ChartTimeline;
use crate::units::fmt_int;
use crate::XUnit;
use std::fmt::Write as _;

/// Width and height of a chart's view box, and its margins.
const W: f64 = 960.0;
const H: f64 = 300.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 46.0;

/// Colours of the stacked type bands, in band order (largest type at the bottom), then "other".
pub(super) const BAND_COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
];
pub(super) const OTHER_COLOUR: &str = "#d4cfcb";
pub(super) const CURRENT_COLOUR: &str = "#1f5fa8";
pub(super) const BASELINE_COLOUR: &str = "#555555";
pub(super) const BOUND_COLOUR: &str = "#c26a00";
pub(super) const VIOLATION_COLOUR: &str = "#c0392b";
pub(super) const MARK_COLOUR: &str = "#7a7a7a";

/// What a chart draws.
pub(super) struct Chart<'a> {
    /// What x counts.
    pub unit: XUnit,
    /// The timeline compared with, drawn dashed.
    pub baseline: Option<&'a ChartTimeline>,
    /// This run's timeline.
    pub current: Option<&'a ChartTimeline>,
    /// Live-bytes bounds: (invariant name, bytes).
    pub bounds: Vec<(String, u64)>,
    /// The first violation: (invariant name, x).
    pub violation: Option<(String, u64)>,
}

/// One legend entry, rendered by the page around the chart.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Legend {
    /// A colour.
    pub colour: &'static str,
    /// How it is drawn.
    pub kind: LegendKind,
    /// Its text.
    pub label: String,
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum LegendKind {
    Line,
    Dashed,
    Band,
}

/// A linear map from data to pixels.
#[derive(Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// A byte axis: its unit and ticks.
pub(super) struct ByteAxis {
    /// Bytes per unit and the unit's name.
    pub unit: (f64, &'static str),
    /// Tick step, in the unit.
    pub step: f64,
    /// The axis's top, in bytes.
    pub top: f64,
}

impl ByteAxis {
    pub(super) fn new(max: f64) -> ByteAxis {
        const K: f64 = 1024.0;
        let unit = [(K * K * K, "GiB"), (K * K, "MiB"), (K, "KiB")]
            .into_iter()
            .find(|(u, _)| max >= *u)
            .unwrap_or((1.0, "B"));
        let m = max / unit.0;
        let step = nice_step(
            if m > 0.0 { m / 5.0 } else { 1.0 },
            &[1.0, 2.0, 2.5, 5.0, 10.0],
        );
        let step = if unit.1 == "B" { step.max(1.0) } else { step };
        let top = ((m / step).ceil().max(1.0)) * step;
        ByteAxis {
            unit,
            step,
            top: top * unit.0,
        }
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        let n = (self.top / self.unit.0 / self.step).round() as i64;
        (0..=n)
            .map(|i| {
                let v = i as f64 * self.step;
                (
                    v * self.unit.0,
                    format!("{} {}", trim_number(v), self.unit.1),
                )
            })
            .collect()
    }
}

/// The smallest of `choices × 10^k` at least `raw`.
fn nice_step(raw: f64, choices: &[f64]) -> f64 {
    let e = 10f64.powf(raw.log10().floor());
    choices
        .iter()
        .map(|c| c * e)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * e)
}

/// A tick value with as few decimals as it needs (at most three).
pub(super) fn trim_number(v: f64) -> String {
    for d in 0..3 {
        let scaled = v * 10f64.powi(d);
        if (scaled - scaled.round()).abs() < 1e-6 {
            return format!("{v:.*}", d as usize);
        }
    }
    format!("{v:.3}")
}

/// x ticks: multiples of a nice step inside [x0, x1].
fn x_ticks(x0: f64, x1: f64, unit: XUnit) -> Vec<f64> {
    let raw = ((x1 - x0) / 8.0).max(1e-9);
    // 2.5 is a nice step only where its multiples are whole numbers.
    let choices: &[f64] = if unit.is_index() || raw < 10.0 {
        &[1.0, 2.0, 5.0, 10.0]
    } else {
        &[1.0, 2.0, 2.5, 5.0, 10.0]
    };
    let mut step = nice_step(raw, choices);
    if unit.is_index() || x1 - x0 >= 8.0 {
        step = step.max(1.0).round();
    }
    let first = (x0 / step).ceil() as i64;
    let last = (x1 / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// XML text and attribute escaping.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The frame of a chart: scales from the data, axes, grid, marks, bounds and the violation.
struct Frame {
    x: Scale,
    y: Scale,
    svg: String,
}

impl Chart<'_> {
    fn xs(&self) -> impl Iterator<Item = f64> + '_ {
        [self.baseline, self.current]
            .into_iter()
            .flatten()
            .flat_map(|t| t.points.iter().map(|p| p.x as f64))
    }

    /// The data's x range, widened to the violation and never empty.
    fn x_range(&self) -> (f64, f64) {
        let mut x0 = self.xs().fold(f64::INFINITY, f64::min);
        let mut x1 = self.xs().fold(f64::NEG_INFINITY, f64::max);
        if let Some((_, vx)) = &self.violation {
            x0 = x0.min(*vx as f64);
            x1 = x1.max(*vx as f64);
        }
        if !x0.is_finite() {
            (x0, x1) = (0.0, 1.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        (x0, x1)
    }

    fn frame(&self, class: &str, title: &str, ymax: f64) -> Frame {
        let (x0, x1) = self.x_range();
        let ymax = self
            .bounds
            .iter()
            .map(|(_, b)| *b as f64)
            .fold(ymax, f64::max);
        let axis = ByteAxis::new(ymax);
        let x = Scale {
            d0: x0,
            d1: x1,
            r0: LEFT,
            r1: W - RIGHT,
        };
        let y = Scale {
            d0: 0.0,
            d1: axis.top,
            r0: H - BOTTOM,
            r1: TOP,
        };
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart {class}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" data-x-unit="{}">"#,
            self.unit.label()
        );
        let _ = write!(s, "<title>{}</title>", esc(title));
        self.y_axis(&mut s, &axis, y);
        self.x_axis(&mut s, x);
        Frame { x, y, svg: s }
    }

    /// The grid, the y ticks and the y axis's title.
    fn y_axis(&self, s: &mut String, axis: &ByteAxis, y: Scale) {
        s.push_str(r#"<g class="axis y">"#);
        for (v, label) in axis.ticks() {
            let py = y.at(v);
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#e6e6e6"/>"##,
                W - RIGHT
            );
            let _ = write!(
                s,
                r#"<text class="ytick" x="{:.1}" y="{py:.1}" dy="0.32em" text-anchor="end">{}</text>"#,
                LEFT - 8.0,
                esc(&label)
            );
        }
        let _ = write!(
            s,
            r#"<text class="axis-title" transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text></g>"#,
            (TOP + H - BOTTOM) / 2.0,
            self.unit.residency_label()
        );
    }

    /// The x axis, its ticks and its title.
    fn x_axis(&self, s: &mut String, x: Scale) {
        s.push_str(r#"<g class="axis x">"#);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{}" y2="{}" stroke="#444"/>"##,
            W - RIGHT,
            H - BOTTOM,
            H - BOTTOM
        );
        for v in x_ticks(x.d0, x.d1, self.unit) {
            let px = x.at(v);
            let _ = write!(
                s,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{}" y2="{}" stroke="#444"/>"##,
                H - BOTTOM,
                H - BOTTOM + 5.0
            );
            let _ = write!(
                s,
                r#"<text class="xtick" x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#,
                H - BOTTOM + 18.0,
                fmt_int(v as i128)
            );
        }
        let _ = write!(
            s,
            r#"<text class="axis-title" x="{:.1}" y="{}" text-anchor="middle">{}</text></g>"#,
            (LEFT + W - RIGHT) / 2.0,
            H - 6.0,
            self.unit.label()
        );
    }

    /// Marks, bounds and the violation, drawn over the data.
    fn overlays(&self, f: &mut Frame) {
        let marks = self
            .current
            .or(self.baseline)
            .map_or(&[][..], |t| &t.marks[..]);
        let (x0, x1) = (f.x.d0, f.x.d1);
        for m in marks.iter().filter(|m| (x0..=x1).contains(&(m.x as f64))) {
            let px = f.x.at(m.x as f64);
            let _ = write!(
                f.svg,
                r##"<g class="mark" data-x="{}"><line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{}" stroke="{MARK_COLOUR}" stroke-dasharray="2 3"/><text x="{:.1}" y="{}" text-anchor="start" fill="#555">{}</text></g>"##,
                m.x,
                H - BOTTOM,
                px + 3.0,
                TOP - 6.0,
                esc(&m.label)
            );
        }
        for (name, b) in &self.bounds {
            let py = f.y.at(*b as f64);
            let _ = write!(
                f.svg,
                r#"<g class="bound" data-bytes="{b}"><line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="{BOUND_COLOUR}" stroke-width="1.5" stroke-dasharray="10 4"/><text x="{}" y="{:.1}" text-anchor="end" fill="{BOUND_COLOUR}">bound: {} ≤ {}</text></g>"#,
                W - RIGHT,
                W - RIGHT - 4.0,
                py - 5.0,
                esc(name),
                crate::units::fmt_bytes(*b as f64)
            );
        }
        if let Some((name, vx)) = &self.violation {
            let px = f.x.at(*vx as f64);
            let right_half = px > (LEFT + W - RIGHT) / 2.0;
            let (anchor, dx) = if right_half {
                ("end", -5.0)
            } else {
                ("start", 5.0)
            };
            let _ = write!(
                f.svg,
                r#"<g class="violation" data-x="{vx}"><line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{}" stroke="{VIOLATION_COLOUR}" stroke-width="2"/><text x="{:.1}" y="{}" text-anchor="{anchor}" fill="{VIOLATION_COLOUR}" font-weight="bold">violated: {} at {}</text>"#,
                H - BOTTOM,
                px + dx,
                TOP + 14.0,
                esc(name),
                esc(&super::fmt_at(self.unit, *vx))
            );
            if let Some(p) = self
                .current
                .and_then(|t| t.points.iter().find(|p| p.x == *vx))
            {
                let _ = write!(
                    f.svg,
                    r#"<circle cx="{px:.1}" cy="{:.1}" r="4" fill="{VIOLATION_COLOUR}"/>"#,
                    f.y.at(p.live_bytes as f64)
                );
            }
            f.svg.push_str("</g>");
        }
    }

    fn line(
        f: &Frame,
        t: &ChartTimeline,
        series: &str,
        colour: &str,
        width: f64,
        dashed: bool,
    ) -> String {
        let mut d = String::new();
        for (i, p) in t.points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                f.x.at(p.x as f64),
                f.y.at(p.live_bytes as f64)
            );
        }
        format!(
            r#"<path data-series="{series}" d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{} stroke-linejoin="round"/>"#,
            if dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            }
        )
    }

    fn common_legend(&self) -> Vec<Legend> {
        let mut l = Vec::new();
        if !self.bounds.is_empty() {
            l.push(Legend {
                colour: BOUND_COLOUR,
                kind: LegendKind::Dashed,
                label: "invariant bound (max live bytes)".into(),
            });
        }
        if self.violation.is_some() {
            l.push(Legend {
                colour: VIOLATION_COLOUR,
                kind: LegendKind::Line,
                label: "first violation".into(),
            });
        }
        let marks = self
            .current
            .or(self.baseline)
            .is_some_and(|t| !t.marks.is_empty());
        if marks {
            l.push(Legend {
                colour: MARK_COLOUR,
                kind: LegendKind::Dashed,
                label: "phase boundaries and markers".into(),
            });
        }
        l
    }

    /// Total residency over time: the baseline dashed, this run solid.
    pub fn residency(&self, baseline_name: &str, current_name: &str) -> (String, Vec<Legend>) {
        let ymax = [self.baseline, self.current]
            .into_iter()
            .flatten()
            .flat_map(|t| &t.points)
            .map(|p| p.live_bytes as f64)
            .fold(0.0, f64::max);
        let mut f = self.frame(
            "residency",
            &format!(
                "{} over {}: {baseline_name} against {current_name}",
                self.unit.residency_label(),
                self.unit.label()
            ),
            ymax,
        );
        let mut legend = Vec::new();
        if let Some(b) = self.baseline {
            f.svg
                .push_str(&Self::line(&f, b, "baseline", BASELINE_COLOUR, 1.8, true));
            legend.push(Legend {
                colour: BASELINE_COLOUR,
                kind: LegendKind::Dashed,
                label: baseline_name.to_owned(),
            });
        }
        if let Some(c) = self.current {
            f.svg
                .push_str(&Self::line(&f, c, "current", CURRENT_COLOUR, 2.4, false));
            legend.push(Legend {
                colour: CURRENT_COLOUR,
                kind: LegendKind::Line,
                label: current_name.to_owned(),
            });
        }
        self.overlays(&mut f);
        f.svg.push_str("</svg>");
        legend.extend(self.common_legend());
        (f.svg, legend)
    }

    /// This run's top types as stacked bands (largest at the bottom), the rest of the live bytes
    /// as "other", and the baseline's total as a dashed line over them.
    pub fn by_type(&self, baseline_name: &str) -> Option<(String, Vec<Legend>)> {
        let cur = self.current?;
        let labels = by_peak(cur);
        if labels.is_empty() {
            return None;
        }
        let ymax = cur
            .points
            .iter()
            .map(|p| p.live_bytes.max(p.types.values().sum()) as f64)
            .chain(
                self.baseline
                    .iter()
                    .flat_map(|t| &t.points)
                    .map(|p| p.live_bytes as f64),
            )
            .fold(0.0, f64::max);
        let mut f = self.frame(
            "types",
            &format!("live bytes by type over {}, this run", self.unit.label()),
            ymax,
        );
        let mut legend = Vec::new();
        let mut bands = Bands {
            points: &cur.points,
            below: vec![0; cur.points.len()],
        };
        for (i, l) in labels.iter().enumerate() {
            let colour = BAND_COLOURS[i % BAND_COLOURS.len()];
            bands.band(
                &mut f,
                l,
                colour,
                cur.points
                    .iter()
                    .map(|p| p.types.get(*l).copied().unwrap_or(0))
                    .collect(),
            );
            legend.push(Legend {
                colour,
                kind: LegendKind::Band,
                label: (*l).to_owned(),
            });
        }
        let other: Vec<u64> = cur
            .points
            .iter()
            .map(|p| p.live_bytes.saturating_sub(p.types.values().sum()))
            .collect();
        if other.iter().any(|o| *o > 0) {
            bands.band(&mut f, "other", OTHER_COLOUR, other);
            legend.push(Legend {
                colour: OTHER_COLOUR,
                kind: LegendKind::Band,
                label: "other (live bytes not in the types above)".into(),
            });
        }
        if let Some(b) = self.baseline {
            f.svg
                .push_str(&Self::line(&f, b, "baseline", "#222222", 1.8, true));
            legend.push(Legend {
                colour: "#222222",
                kind: LegendKind::Dashed,
                label: format!("{baseline_name}: total"),
            });
        }
        self.overlays(&mut f);
        f.svg.push_str("</svg>");
        legend.extend(self.common_legend());
        Some((f.svg, legend))
    }
}

/// A timeline's type labels, largest peak first (ties by name).
fn by_peak(t: &ChartTimeline) -> Vec<&str> {
    let mut peaks: Vec<(&str, u64)> = Vec::new();
    for p in &t.points {
        for (l, b) in &p.types {
            match peaks.iter_mut().find(|(n, _)| n == l) {
                Some(e) => e.1 = e.1.max(*b),
                None => peaks.push((l, *b)),
            }
        }
    }
    peaks.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    peaks.into_iter().map(|(l, _)| l).collect()
}

/// Stacked bands over a timeline's points, each drawn on top of the ones before.
struct Bands<'a> {
    points: &'a [crate::store::ChartPoint],
    /// The top of the stack so far, per point.
    below: Vec<u64>,
}

impl Bands<'_> {
    /// Draws a band of these heights (one per point) on the stack.
    fn band(&mut self, f: &mut Frame, name: &str, colour: &str, heights: Vec<u64>) {
        let top: Vec<u64> = self
            .below
            .iter()
            .zip(&heights)
            .map(|(b, h)| b + h)
            .collect();
        let mut d = String::new();
        for (i, (p, t)) in self.points.iter().zip(&top).enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                f.x.at(p.x as f64),
                f.y.at(*t as f64)
            );
        }
        for (p, b) in self.points.iter().zip(&self.below).rev() {
            let _ = write!(d, " L{:.1},{:.1}", f.x.at(p.x as f64), f.y.at(*b as f64));
        }
        let _ = write!(
            f.svg,
            r#"<path data-series="type" data-label="{}" d="{d} Z" fill="{colour}" stroke="white" stroke-width="0.5"/>"#,
            esc(name)
        );
        self.below = top;
    }
}

/// A value axis for a history chart: from `lo` to `hi` (both including zero), ticks at a nice
/// step, in bytes units for byte metrics.
struct ValueAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<(f64, String)>,
}

impl ValueAxis {
    fn new(min: f64, max: f64, bytes: bool) -> ValueAxis {
        const K: f64 = 1024.0;
        let span_abs = min.abs().max(max.abs());
        let unit = if bytes {
            [(K * K * K, "GiB"), (K * K, "MiB"), (K, "KiB")]
                .into_iter()
                .find(|(u, _)| span_abs >= *u)
                .unwrap_or((1.0, "B"))
        } else {
            (1.0, "")
        };
        let (m0, m1) = (min.min(0.0) / unit.0, max.max(0.0) / unit.0);
        let span = m1 - m0;
        let step = nice_step(
            if span > 0.0 { span / 5.0 } else { 1.0 },
            &[1.0, 2.0, 2.5, 5.0, 10.0],
        );
        let lo = (m0 / step).floor() * step;
        let hi = ((m1 / step).ceil() * step).max(lo + step);
        let n = ((hi - lo) / step).round() as i64;
        let ticks = (0..=n)
            .map(|i| {
                let v = lo + i as f64 * step;
                let label = if unit.1.is_empty() {
                    if v.fract() == 0.0 && v.abs() < 1e15 {
                        fmt_int(v as i128)
                    } else {
                        trim_number(v)
                    }
                } else {
                    format!("{} {}", trim_number(v), unit.1)
                };
                (v * unit.0, label)
            })
            .collect();
        ValueAxis {
            lo: lo * unit.0,
            hi: hi * unit.0,
            ticks,
        }
    }
}

/// A metric over a scenario's baseline commits, as a step line: one x position per commit,
/// oldest first, evenly spaced (commits, not time); the value holds until the next commit that
/// moved it. `points` are (the commit's label where it moved the value, the value there; `None`
/// where there was no baseline). Each step carries its value in `data-value`.
pub(super) fn history_chart(metric: &str, points: &[(Option<&str>, Option<f64>)]) -> String {
    let bytes = crate::judge::compare::is_bytes(metric);
    let values: Vec<f64> = points.iter().filter_map(|(_, v)| *v).collect();
    let min = values.iter().copied().fold(0.0, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    let axis = ValueAxis::new(min, max, bytes);
    let n = points.len().max(1);
    let x = Scale {
        d0: 0.0,
        d1: n as f64,
        r0: LEFT,
        r1: W - RIGHT,
    };
    let y = Scale {
        d0: axis.lo,
        d1: axis.hi,
        r0: H - BOTTOM,
        r1: TOP,
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart history" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" data-metric="{}">"#,
        esc(metric)
    );
    let _ = write!(
        s,
        "<title>{} at each commit that changed it</title>",
        esc(metric)
    );
    history_axes(&mut s, &axis, x, y, points);
    history_steps(&mut s, x, y, points);
    s.push_str("</svg>");
    s
}

/// A history chart's grid and value ticks, and its commit axis labelled where a value moved.
fn history_axes(
    s: &mut String,
    axis: &ValueAxis,
    x: Scale,
    y: Scale,
    points: &[(Option<&str>, Option<f64>)],
) {
    s.push_str(r#"<g class="axis y">"#);
    for (v, label) in &axis.ticks {
        let py = y.at(*v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#e6e6e6"/><text class="ytick" x="{:.1}" y="{py:.1}" dy="0.32em" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 8.0,
            esc(label)
        );
    }
    s.push_str("</g>");
    let _ = write!(
        s,
        r##"<g class="axis x"><line x1="{LEFT}" x2="{}" y1="{}" y2="{}" stroke="#444"/>"##,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for (i, (label, _)) in points.iter().enumerate() {
        if let Some(l) = label {
            let px = x.at(i as f64);
            let _ = write!(
                s,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{}" y2="{}" stroke="#444"/><text class="xtick" x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                H - BOTTOM,
                H - BOTTOM + 5.0,
                H - BOTTOM + 18.0,
                esc(l)
            );
        }
    }
    let _ = write!(
        s,
        r#"<text class="axis-title" x="{:.1}" y="{}" text-anchor="middle">commits, oldest first</text></g>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 6.0
    );
}

/// A history chart's step line (each value held until the next commit) and a dot at each step.
fn history_steps(s: &mut String, x: Scale, y: Scale, points: &[(Option<&str>, Option<f64>)]) {
    // Each value holds from its commit to the next: a horizontal run, then the step.
    let mut d = String::new();
    let mut open = false;
    for (i, (_, v)) in points.iter().enumerate() {
        match v {
            Some(v) => {
                let (x0, x1, py) = (x.at(i as f64), x.at(i as f64 + 1.0), y.at(*v));
                let _ = write!(
                    d,
                    "{}{x0:.1},{py:.1} L{x1:.1},{py:.1}",
                    if open {
                        " L"
                    } else if d.is_empty() {
                        "M"
                    } else {
                        " M"
                    }
                );
                open = true;
            }
            None => open = false,
        }
    }
    let _ = write!(
        s,
        r#"<path data-series="history" d="{d}" fill="none" stroke="{CURRENT_COLOUR}" stroke-width="2.2" stroke-linejoin="round"/>"#
    );
    for (i, (label, v)) in points.iter().enumerate() {
        if let (Some(l), Some(v)) = (label, v) {
            let _ = write!(
                s,
                r#"<circle class="step" data-commit="{}" data-value="{v}" cx="{:.1}" cy="{:.1}" r="3.5" fill="{CURRENT_COLOUR}"/>"#,
                esc(l),
                x.at(i as f64),
                y.at(*v)
            );
        }
    }
}

/// The retainer sets' retained bytes over a GHC attribution's window: one line per set, in the
/// band colours, census index on x. `series` is (set label, (census, bytes) points).
pub(super) fn retainer_chart(series: &[(String, Vec<(u64, u64)>)]) -> (String, Vec<Legend>) {
    lines_chart("retainers", "retainer", XUnit::Census, true, series)
}

/// Lines of (x, value) points, one per series in the band colours, on a linear x axis in
/// `unit` and a value axis in bytes or counts: retainer sets over censuses, or one label's
/// figure at each length of an exploration.
pub(super) fn lines_chart(
    class: &str,
    kind: &str,
    unit: XUnit,
    bytes: bool,
    series: &[(String, Vec<(u64, u64)>)],
) -> (String, Vec<Legend>) {
    let (x0, x1) = x_span(series);
    let max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, b)| *b))
        .max()
        .unwrap_or(0);
    let axis = ValueAxis::new(0.0, max as f64, bytes);
    let x = Scale {
        d0: x0 as f64,
        d1: x1 as f64,
        r0: LEFT,
        r1: W - RIGHT,
    };
    let y = Scale {
        d0: axis.lo,
        d1: axis.hi,
        r0: H - BOTTOM,
        r1: TOP,
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart {class}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img"><title>{} {x0} to {x1}</title>"#,
        unit.label()
    );
    for (v, label) in &axis.ticks {
        let py = y.at(*v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#e6e6e6"/><text class="ytick" x="{:.1}" y="{py:.1}" dy="0.32em" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            esc(label)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" x2="{}" y1="{}" y2="{}" stroke="#444"/><text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{} {x0} to {x1}</text>"##,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM,
        (LEFT + W - RIGHT) / 2.0,
        H - BOTTOM + 28.0,
        unit.label()
    );
    let legend = series_lines(&mut s, kind, x, y, series);
    s.push_str("</svg>");
    (s, legend)
}

/// The x range of lines' points, never empty.
fn x_span(series: &[(String, Vec<(u64, u64)>)]) -> (u64, u64) {
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
    let (x0, x1) = xs.fold((u64::MAX, 0), |(a, b), x| (a.min(x), b.max(x)));
    if x0 > x1 {
        (0, 1)
    } else {
        (x0, x1.max(x0 + 1))
    }
}

/// One line per series, in the band colours, and their legend.
fn series_lines(
    s: &mut String,
    kind: &str,
    x: Scale,
    y: Scale,
    series: &[(String, Vec<(u64, u64)>)],
) -> Vec<Legend> {
    let mut legend = Vec::new();
    for (i, (label, points)) in series.iter().enumerate() {
        let colour = BAND_COLOURS[i % BAND_COLOURS.len()];
        let d: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(k, (px, b))| {
                format!(
                    "{}{:.1},{:.1}",
                    if k == 0 { "M" } else { "L" },
                    x.at(*px as f64),
                    y.at(*b as f64)
                )
            })
            .collect();
        let _ = write!(
            s,
            r#"<path data-series="{kind}" data-label="{}" d="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>"#,
            esc(label),
            d.join(" ")
        );
        legend.push(Legend {
            colour,
            kind: LegendKind::Line,
            label: label.clone(),
        });
    }
    legend
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_axes_use_nice_steps_in_one_unit() {
        let a = ByteAxis::new(4.3 * 1024.0 * 1024.0);
        let labels: Vec<String> = a.ticks().into_iter().map(|(_, l)| l).collect();
        assert_eq!(
            labels,
            ["0 MiB", "1 MiB", "2 MiB", "3 MiB", "4 MiB", "5 MiB"]
        );
        let a = ByteAxis::new(600.0 * 1024.0);
        let labels: Vec<String> = a.ticks().into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["0 KiB", "200 KiB", "400 KiB", "600 KiB"]);
        let a = ByteAxis::new(1.2 * 1024.0 * 1024.0);
        assert_eq!(a.ticks()[1].1, "0.25 MiB");
    }

    #[test]
    fn x_ticks_are_round_and_inside() {
        assert_eq!(
            x_ticks(0.0, 200_000.0, XUnit::Cycles),
            (0..=8).map(|i| i as f64 * 25_000.0).collect::<Vec<_>>()
        );
        assert_eq!(
            x_ticks(0.0, 5.0, XUnit::Census),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
    }
}
