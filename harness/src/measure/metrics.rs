//! `Measurement`: the named figures of one run, computed from its `Timeline` alone.
//!
//! Peak, steady state (median over the steady phase), growth (least-squares slope, with r²),
//! allocation count and per-type peaks; names as in DESIGN.md. Pure functions: no I/O, no
//! baselines, no processes.

use crate::spec::invariant::{Endpoint, Plan};
use crate::spec::metric::Total;
use crate::spec::metric::{
    predicate_glob, residency, Metric, Value, ALLOCATIONS, JEMALLOC_RESIDENT_PEAK,
    TYPE_FINAL_BYTES, TYPE_FINAL_COUNT, TYPE_GROWTH, TYPE_PEAK_BYTES, TYPE_PEAK_COUNT,
};
use crate::timeline::{Label, Sample, SampleSink};
use crate::{Mark, Timeline, XUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many per-type entries a GHC measurement keeps (by peak bytes), besides those an
/// invariant names: `-hT` profiles list dozens of RTS closure types nobody baselines.
pub const GHC_TOP_TYPES: usize = 12;

/// The named figures of one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Measurement {
    /// Whole-run metrics by name (`live_bytes.peak`, ...).
    pub metrics: BTreeMap<Metric, Value>,
    /// Per-type metrics keyed by the whole label (labels contain dots), then by field.
    pub types: BTreeMap<String, BTreeMap<String, Value>>,
    /// Fit quality of the growth slopes (r²), for readers; never compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fit: BTreeMap<String, f64>,
}

/// Every metric as (flat name, value), per-type ones as `types.<label>.<field>`: the names
/// tables, tolerances and the CLI use.
pub fn flatten(
    metrics: &BTreeMap<Metric, Value>,
    types: &BTreeMap<String, BTreeMap<String, Value>>,
) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = metrics
        .iter()
        .map(|(m, v)| (m.name().to_owned(), *v))
        .collect();
    for (label, fields) in types {
        for (field, v) in fields {
            out.insert(format!("types.{label}.{field}"), *v);
        }
    }
    out
}

/// A window endpoint that names a marker the profile never had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingMarker {
    /// The marker the endpoint names.
    pub marker: String,
    /// The markers the profile did have, in order.
    pub seen: Vec<String>,
}

impl std::fmt::Display for MissingMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "marker `{}` does not occur in the profile (markers seen: {})",
            self.marker,
            if self.seen.is_empty() {
                "none".to_owned()
            } else {
                self.seen.join(", ")
            }
        )
    }
}

/// Resolves an endpoint on a run that ends at `end` with these marks.
pub fn resolve(e: &Endpoint, end: u64, marks: &[Mark]) -> Result<u64, MissingMarker> {
    if let Some(x) = e.position(end) {
        return Ok(x);
    }
    match e {
        Endpoint::At(_) | Endpoint::End | Endpoint::Fraction(_) => Ok(end),
        Endpoint::Marker(m) => marks
            .iter()
            .find(|k| &k.label == m)
            .map(|k| k.x)
            .ok_or_else(|| MissingMarker {
                marker: m.clone(),
                seen: marks.iter().map(|k| k.label.clone()).collect(),
            }),
    }
}

/// The steady window: the phase named `steady` if there is one, else the second half.
pub fn steady_window<'a>(plan: impl Into<Plan<'a>>, end: u64, marks: &[Mark]) -> (u64, u64) {
    match plan.into().phase("steady") {
        Some(p) => match (resolve(&p.from, end, marks), resolve(&p.to, end, marks)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => (end / 2, end),
        },
        None => (end / 2, end),
    }
}

/// The run's end: the scenario's cycle count for simulator runs, else the last sample's
/// position (`last_x`).
pub fn run_end<'a>(plan: impl Into<Plan<'a>>, last_x: Option<u64>) -> u64 {
    plan.into().end(last_x)
}

/// Least-squares slope of y over x, and r². `None` with fewer than two distinct x.
pub fn slope(points: impl Iterator<Item = (f64, f64)>) -> Option<(f64, f64)> {
    let mut fit = Fit::default();
    for (x, y) in points {
        fit.push(x, y);
    }
    fit.slope()
}

/// An incremental least-squares fit (O(1) per point), used by invariants at every sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fit {
    n: f64,
    x0: Option<f64>,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
    syy: f64,
}

impl Fit {
    /// Adds a point.
    pub fn push(&mut self, x: f64, y: f64) {
        // Shift x to the first point so large cycle numbers do not cancel in the sums.
        let x = x - *self.x0.get_or_insert(x);
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.sxy += x * y;
        self.syy += y * y;
    }

    /// Points so far.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// Whether no point was added.
    pub fn is_empty(&self) -> bool {
        self.n == 0.0
    }

    /// Slope and r² (1 when y is constant).
    pub fn slope(&self) -> Option<(f64, f64)> {
        let n = self.n;
        let vx = n * self.sxx - self.sx * self.sx;
        if n < 2.0 || vx <= 0.0 {
            return None;
        }
        let cov = n * self.sxy - self.sx * self.sy;
        let vy = n * self.syy - self.sy * self.sy;
        let b = cov / vx;
        let r2 = if vy <= 0.0 {
            1.0
        } else {
            (cov * cov) / (vx * vy)
        };
        Some((b, r2.clamp(0.0, 1.0)))
    }
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

fn int(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Computes the scenario's metrics from a timeline.
pub fn measure<'a>(plan: impl Into<Plan<'a>>, tl: &Timeline) -> Measurement {
    let mut meter = Meter::new(plan);
    tl.feed(&mut meter);
    meter.finish(&tl.marks, &tl.totals)
}

/// The scenario's metrics computed as the samples stream by ([`SampleSink`]), so that a run's
/// tens of thousands of censuses need not be held to be measured: what is kept is per type,
/// and per sample only its position and residency (16 bytes), since the steady window is
/// known only once the run's end and markers are (its median needs every residency in it).
/// [`measure`] is this over a whole timeline.
#[derive(Debug)]
pub struct Meter<'a> {
    plan: Plan<'a>,
    x_unit: XUnit,
    /// Each sample's position and residency, in order.
    residency: Vec<(u64, u64)>,
    /// The steady window of a simulator run, known before its first sample (its end is the
    /// scenario's cycle count, and it has no markers), so the per-type growth fits are summed
    /// as the samples come; `None` for other runs.
    type_window: Option<(u64, u64)>,
    /// The steady samples' positions so far, the fit every type's growth shares.
    steady_x: Fit,
    peak: u64,
    allocations: Option<u64>,
    resident: Option<u64>,
    labels: crate::timeline::LabelMap<LabelFigures>,
}

/// One type's figures so far.
#[derive(Debug, Clone, Default)]
struct LabelFigures {
    peak_bytes: u64,
    peak_count: u64,
    /// The index of the last sample that had the type, and its count and bytes there.
    last: (usize, u64, u64),
    /// Sums of the type's count y at the steady samples that had it (simulator runs): Σy,
    /// Σxy, Σy², over `Meter::steady_x`'s positions, for its growth fit.
    sums: (f64, f64, f64),
}

impl<'a> Meter<'a> {
    /// A meter for a scenario's metrics (its [`Plan`]).
    pub fn new(plan: impl Into<Plan<'a>>) -> Self {
        let plan = plan.into();
        let type_window = plan.known_end.map(|end| steady_window(plan, end, &[]));
        Meter {
            plan,
            x_unit: plan.x_unit,
            residency: Vec::new(),
            type_window,
            steady_x: Fit::default(),
            peak: 0,
            allocations: None,
            resident: None,
            labels: crate::timeline::LabelMap::new(),
        }
    }

    /// The figures of the samples since the last `begin`, with the run's `marks` (which place
    /// the steady window) and whole-run `totals`.
    pub fn finish(self, marks: &[Mark], totals: &BTreeMap<Total, u64>) -> Measurement {
        let end = run_end(self.plan, self.residency.last().map(|r| r.0));
        let steady = steady_window(self.plan, end, marks);
        let mut m = Measurement::default();
        self.whole_run(&mut m, steady, totals);
        for label in self.kept_labels() {
            m.types.insert(label.to_owned(), self.type_figures(label));
        }
        m
    }

    /// The whole-run metrics: residency's peak, its median and growth over the `steady`
    /// window, the allocator's figures, and the source's totals that are metrics.
    fn whole_run(&self, m: &mut Measurement, (s0, s1): (u64, u64), totals: &BTreeMap<Total, u64>) {
        let in_steady = |x: u64| x >= s0 && x <= s1;
        let per = self.x_unit.per();
        let [peak_metric, steady_metric, growth_metric] = residency(self.x_unit);
        m.metrics.insert(peak_metric, int(self.peak));
        let steady: Vec<(u64, u64)> = self
            .residency
            .iter()
            .copied()
            .filter(|(x, _)| in_steady(*x))
            .collect();
        if let Some(med) = median(steady.iter().map(|(_, b)| *b).collect()) {
            m.metrics.insert(steady_metric, int(med));
        }
        if let Some((b, r2)) = slope(steady.iter().map(|(x, b)| (*x as f64, *b as f64))) {
            m.metrics.insert(growth_metric, Value::float(b * per));
            m.fit
                .insert(growth_metric.name().into(), (r2 * 1000.0).round() / 1000.0);
        }
        if let Some(a) = self.allocations {
            m.metrics.insert(Metric::of(&ALLOCATIONS), int(a));
        }
        if let Some(r) = self.resident {
            m.metrics
                .insert(Metric::of(&JEMALLOC_RESIDENT_PEAK), int(r));
        }
        // A source's totals are metrics (`ghc.bytes_allocated`, `rss.peak`) and facts shown by
        // `profile` but never compared (`ghc.heap_size.max`, the simulator's `transactions`).
        for (k, v) in totals {
            if let Total::Metric(metric) = k {
                m.metrics.insert(*metric, int(*v));
            }
        }
    }

    /// The labels whose figures a measurement keeps: every type of a simulator run; a heap
    /// profile's largest [`GHC_TOP_TYPES`] and those an invariant names; none of an `rss` run.
    fn kept_labels(&self) -> Vec<&str> {
        let labels = &self.labels;
        match self.x_unit {
            XUnit::Cycles => labels.keys().map(Label::as_str).collect(),
            XUnit::Millis => Vec::new(),
            XUnit::Census | XUnit::Snapshot => {
                let mut by_bytes: Vec<(&str, u64)> = labels
                    .iter()
                    .map(|(l, f)| (l.as_str(), f.peak_bytes))
                    .collect();
                by_bytes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let mut keep: Vec<&str> = by_bytes
                    .iter()
                    .take(GHC_TOP_TYPES)
                    .map(|(l, _)| *l)
                    .collect();
                for inv in self.plan.invariants {
                    if let Some(g) = predicate_glob(&inv.predicate) {
                        keep.extend(
                            labels
                                .keys()
                                .map(Label::as_str)
                                .filter(|l| crate::spec::text::glob_match(g, l)),
                        );
                    }
                }
                keep.sort_unstable();
                keep.dedup();
                keep
            }
        }
    }

    /// One kept label's per-type figures, as its run's x-axis has them.
    fn type_figures(&self, label: &str) -> BTreeMap<String, Value> {
        let per = self.x_unit.per();
        let last_index = self.residency.len().checked_sub(1);
        let l = &self.labels[label];
        // The last sample's figures: zero where it did not have the type.
        let (final_count, final_bytes) = match Some(l.last.0) == last_index {
            true => (l.last.1, l.last.2),
            false => (0, 0),
        };
        let mut f = BTreeMap::new();
        match self.x_unit {
            XUnit::Cycles => {
                f.insert(TYPE_PEAK_COUNT.name.into(), int(l.peak_count));
                f.insert(TYPE_FINAL_COUNT.name.into(), int(final_count));
                let mut fit = self.steady_x;
                (fit.sy, fit.sxy, fit.syy) = l.sums;
                if let Some((b, _)) = fit.slope() {
                    f.insert(TYPE_GROWTH.name.into(), Value::float(b * per));
                }
            }
            XUnit::Census => {
                f.insert(TYPE_PEAK_BYTES.name.into(), int(l.peak_bytes));
                f.insert(TYPE_FINAL_BYTES.name.into(), int(final_bytes));
                f.insert(TYPE_PEAK_COUNT.name.into(), int(l.peak_count));
            }
            // massif attributes bytes to sites; it counts no objects.
            XUnit::Snapshot => {
                f.insert(TYPE_PEAK_BYTES.name.into(), int(l.peak_bytes));
                f.insert(TYPE_FINAL_BYTES.name.into(), int(final_bytes));
            }
            XUnit::Millis => {}
        }
        f
    }
}

impl SampleSink for Meter<'_> {
    fn begin(&mut self, x_unit: XUnit) {
        *self = Meter::new(self.plan);
        self.x_unit = x_unit;
    }

    fn sample(&mut self, s: &Sample) {
        let index = self.residency.len();
        self.residency.push((s.x, s.live_bytes));
        self.peak = self
            .peak
            .max(s.peak_live_bytes.unwrap_or(0).max(s.live_bytes));
        if let Some(a) = s.allocations {
            self.allocations = Some(self.allocations.map_or(a, |m| m.max(a)));
        }
        if let Some(j) = s.jemalloc {
            self.resident = Some(self.resident.map_or(j.resident, |m| m.max(j.resident)));
        }
        // The per-type growth fits share the steady samples' positions (shifted to the first
        // one, as `Fit::push` shifts them); a type absent from a sample counts 0 there, which
        // adds nothing to its own sums.
        let steady_x = match self.type_window {
            Some((a, b)) if self.x_unit == XUnit::Cycles && s.x >= a && s.x <= b => {
                self.steady_x.push(s.x as f64, 0.0);
                Some(s.x as f64 - self.steady_x.x0.unwrap_or(0.0))
            }
            _ => None,
        };
        crate::timeline::for_each_label(&mut self.labels, &s.types, |f, t| {
            f.peak_bytes = f.peak_bytes.max(t.bytes);
            f.peak_count = f.peak_count.max(t.count);
            f.last = (index, t.count, t.bytes);
            if let Some(x) = steady_x {
                let y = t.count as f64;
                f.sums.0 += y;
                f.sums.1 += x * y;
                f.sums.2 += y * y;
            }
        });
    }

    /// A count is bytes over size, so the peak count is the peak bytes over the size.
    fn recount(&mut self, size: &dyn Fn(&str) -> u64) {
        for (label, f) in &mut self.labels {
            let count = |bytes: u64| bytes.checked_div(size(label)).unwrap_or(0);
            f.peak_count = count(f.peak_bytes);
            f.last.1 = count(f.last.2);
            // `sums` are the simulator's, whose counts are exact and never recounted.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_and_a_flat() {
        let (b, r2) = slope([(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)].into_iter()).expect("fit");
        assert!((b - 2.0).abs() < 1e-9 && (r2 - 1.0).abs() < 1e-9);
        let (b, r2) = slope([(1e9, 7.0), (1e9 + 1.0, 7.0)].into_iter()).expect("fit");
        assert_eq!((b, r2), (0.0, 1.0));
        assert_eq!(slope([(1.0, 1.0)].into_iter()), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3, 1, 2]), Some(2));
        assert_eq!(median(vec![4, 1, 2, 3]), Some(2));
        assert_eq!(median(vec![]), None);
    }
}
