//! `Measurement`: the named figures of one run, computed from its `Timeline` alone.
//!
//! Peak, steady state (median over the steady phase), growth (least-squares slope, with r²),
//! allocation count and per-type peaks; names as in DESIGN.md. Pure functions: no I/O, no
//! baselines, no processes.

use crate::scenario::{Endpoint, Scenario};
use crate::{Mark, Timeline, XUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many per-type entries a GHC measurement keeps (by peak bytes), besides those an
/// invariant names: `-hT` profiles list dozens of RTS closure types nobody baselines.
pub const GHC_TOP_TYPES: usize = 12;

/// A metric's value: integers for exact counts and bytes, floats for derived slopes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An exact integer.
    Int(i64),
    /// A derived figure, rounded to three decimals so it prints and compares stably.
    Float(f64),
}

impl Value {
    /// The value as a float, for arithmetic.
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
        }
    }

    fn float(f: f64) -> Value {
        Value::Float((f * 1000.0).round() / 1000.0)
    }
}

/// Whether a metric is reproducible to the byte or an OS figure that varies between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Deterministic: the default tolerance is zero.
    Exact,
    /// Varies between runs (RSS, allocator pages): the default tolerance is relative + absolute.
    Noisy,
}

/// The kind of a metric, by name.
pub fn kind(metric: &str) -> Kind {
    match metric {
        "rss.peak" | "jemalloc.resident.peak" => Kind::Noisy,
        _ => Kind::Exact,
    }
}

/// The named figures of one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Measurement {
    /// Whole-run metrics by name (`live_bytes.peak`, ...).
    pub metrics: BTreeMap<String, Value>,
    /// Per-type metrics keyed by the whole label (labels contain dots), then by field.
    pub types: BTreeMap<String, BTreeMap<String, Value>>,
    /// Fit quality of the growth slopes (r²), for readers; never compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fit: BTreeMap<String, f64>,
}

/// Every metric as (flat name, value), per-type ones as `types.<label>.<field>`: the names
/// tables, tolerances and the CLI use.
pub fn flatten(
    metrics: &BTreeMap<String, Value>,
    types: &BTreeMap<String, BTreeMap<String, Value>>,
) -> BTreeMap<String, Value> {
    let mut out = metrics.clone();
    for (label, fields) in types {
        for (field, v) in fields {
            out.insert(format!("types.{label}.{field}"), *v);
        }
    }
    out
}

/// Resolves an endpoint on a run that ends at `end` with these marks.
pub fn resolve(e: &Endpoint, end: u64, marks: &[Mark]) -> Result<u64, String> {
    match e {
        Endpoint::At(x) => Ok(*x),
        Endpoint::End => Ok(end),
        Endpoint::Fraction(f) => Ok((f * end as f64).round() as u64),
        Endpoint::Marker(m) => marks
            .iter()
            .find(|k| &k.label == m)
            .map(|k| k.x)
            .ok_or_else(|| {
                let seen: Vec<&str> = marks.iter().map(|k| k.label.as_str()).collect();
                format!(
                    "marker `{m}` does not occur in the profile (markers seen: {})",
                    if seen.is_empty() {
                        "none".to_owned()
                    } else {
                        seen.join(", ")
                    }
                )
            }),
    }
}

/// The steady window: the phase named `steady` if there is one, else the second half.
pub fn steady_window(scenario: &Scenario, end: u64, marks: &[Mark]) -> (u64, u64) {
    match scenario.phase("steady") {
        Some(p) => match (resolve(&p.from, end, marks), resolve(&p.to, end, marks)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => (end / 2, end),
        },
        None => (end / 2, end),
    }
}

/// The run's end: the scenario's cycle count for simulator runs, else the last sample.
pub fn run_end(scenario: &Scenario, tl: &Timeline) -> u64 {
    match &scenario.run {
        crate::scenario::Run::Simulator(s) => s.cycles,
        crate::scenario::Run::Command(_) => tl.end().unwrap_or(0),
    }
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
pub fn measure(scenario: &Scenario, tl: &Timeline) -> Measurement {
    let end = run_end(scenario, tl);
    let (s0, s1) = steady_window(scenario, end, &tl.marks);
    let in_steady = |x: u64| x >= s0 && x <= s1;
    let per = match tl.x_unit {
        XUnit::Cycles => 1000.0,
        XUnit::Census => 1.0,
    };
    let (prefix, growth_name) = match tl.x_unit {
        XUnit::Cycles => ("live_bytes", "live_bytes.growth_per_kcycle"),
        XUnit::Census => ("heap", "heap.growth_per_census"),
    };
    let mut m = Measurement::default();
    let peak = tl
        .samples
        .iter()
        .map(|s| s.peak_live_bytes.unwrap_or(0).max(s.live_bytes))
        .max()
        .unwrap_or(0);
    m.metrics.insert(format!("{prefix}.peak"), int(peak));
    let steady: Vec<u64> = tl
        .samples
        .iter()
        .filter(|s| in_steady(s.x))
        .map(|s| s.live_bytes)
        .collect();
    if let Some(med) = median(steady) {
        m.metrics.insert(format!("{prefix}.steady"), int(med));
    }
    if let Some((b, r2)) = slope(
        tl.samples
            .iter()
            .filter(|s| in_steady(s.x))
            .map(|s| (s.x as f64, s.live_bytes as f64)),
    ) {
        m.metrics
            .insert(growth_name.to_owned(), Value::float(b * per));
        m.fit
            .insert(growth_name.to_owned(), (r2 * 1000.0).round() / 1000.0);
    }
    if let Some(a) = tl.samples.iter().filter_map(|s| s.allocations).max() {
        m.metrics.insert("allocations.count".into(), int(a));
    }
    if let Some(r) = tl
        .samples
        .iter()
        .filter_map(|s| s.jemalloc.map(|j| j.resident))
        .max()
    {
        m.metrics.insert("jemalloc.resident.peak".into(), int(r));
    }
    for (k, v) in &tl.totals {
        if scenario_metric_known(k) {
            m.metrics.insert(k.clone(), int(*v));
        }
    }
    let mut labels: BTreeMap<&str, (u64, u64)> = BTreeMap::new(); // label -> (peak bytes, peak count)
    for s in &tl.samples {
        for (l, t) in &s.types {
            let e = labels.entry(l.as_str()).or_default();
            e.0 = e.0.max(t.bytes);
            e.1 = e.1.max(t.count);
        }
    }
    let keep: Vec<&str> = match tl.x_unit {
        XUnit::Cycles => labels.keys().copied().collect(),
        XUnit::Census => {
            let mut by_bytes: Vec<(&str, u64)> =
                labels.iter().map(|(l, (b, _))| (*l, *b)).collect();
            by_bytes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let mut keep: Vec<&str> = by_bytes
                .iter()
                .take(GHC_TOP_TYPES)
                .map(|(l, _)| *l)
                .collect();
            for inv in &scenario.invariants {
                if let Some(g) = predicate_glob(&inv.predicate) {
                    keep.extend(labels.keys().filter(|l| crate::scenario::glob_match(g, l)));
                }
            }
            keep.sort_unstable();
            keep.dedup();
            keep
        }
    };
    let last = tl.samples.last();
    for label in keep {
        let (peak_bytes, peak_count) = labels[label];
        let final_t = last.and_then(|s| s.types.get(label));
        let mut f = BTreeMap::new();
        match tl.x_unit {
            XUnit::Cycles => {
                f.insert("peak_count".into(), int(peak_count));
                f.insert("final_count".into(), int(final_t.map_or(0, |t| t.count)));
                let pts = tl
                    .samples
                    .iter()
                    .filter(|s| in_steady(s.x))
                    .map(|s| (s.x as f64, s.types.get(label).map_or(0, |t| t.count) as f64));
                if let Some((b, _)) = slope(pts) {
                    f.insert("growth_per_kcycle".into(), Value::float(b * per));
                }
            }
            XUnit::Census => {
                f.insert("peak_bytes".into(), int(peak_bytes));
                f.insert("final_bytes".into(), int(final_t.map_or(0, |t| t.bytes)));
                f.insert("peak_count".into(), int(peak_count));
            }
        }
        m.types.insert(label.to_owned(), f);
    }
    m
}

fn scenario_metric_known(k: &str) -> bool {
    crate::scenario::metric_names(XUnit::Cycles).contains(&k)
        || crate::scenario::metric_names(XUnit::Census).contains(&k)
}

/// The type glob an invariant's predicate is about, if any.
pub fn predicate_glob(p: &crate::scenario::Predicate) -> Option<&str> {
    use crate::scenario::Predicate::*;
    match p {
        TypeAbsent(g) | TypeCount { glob: g, .. } | TypeGrowth { glob: g, .. } => Some(g),
        LiveBytesMax(_) | LiveBytesGrowth(_) => None,
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
