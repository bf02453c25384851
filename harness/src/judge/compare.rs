//! `Comparison`: a run's result against its blessed baseline, metric by metric, under
//! two-sided tolerances; and its rendering as a table and a unified diff.
//!
//! Pure functions over `Baseline` values. A change beyond tolerance in either direction is
//! reported: an improvement must be blessed so later drift cannot quietly eat it.

use crate::scenario::Scenario;
use crate::spec::invariant::Tolerance;
use crate::spec::metric::{kind, unit, Kind, Unit, Value};
use crate::store::{Baseline, InvariantRecord};
use crate::units::{fmt_bytes, fmt_int};
use crate::XUnit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Default tolerance of noisy metrics: 10% or 2 MiB, whichever is larger.
pub const NOISY_DEFAULT: Tolerance = Tolerance {
    relative: 0.10,
    absolute: 2.0 * 1024.0 * 1024.0,
};

/// How one metric compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowVerdict {
    /// Identical.
    Equal,
    /// Different, within tolerance.
    Within,
    /// Higher than the baseline beyond tolerance.
    Regressed,
    /// Lower than the baseline beyond tolerance: bless to lock it in.
    Improved,
    /// In the run, not in the baseline.
    Added,
    /// In the baseline, not in the run.
    Removed,
    /// Not compared: the run stopped at its expected violation at a point a noisy source set
    /// (a wall-clock axis), so the figure says where the stop fell, which varies from run to
    /// run. What such a scenario guards is the violation, which its verdict judges.
    NotCompared,
}

impl RowVerdict {
    /// Whether this row fails the comparison.
    pub fn fails(self) -> bool {
        !matches!(
            self,
            RowVerdict::Equal | RowVerdict::Within | RowVerdict::NotCompared
        )
    }

    /// A short word for tables.
    pub fn word(self) -> &'static str {
        match self {
            RowVerdict::Equal => "=",
            RowVerdict::Within => "ok",
            RowVerdict::Regressed => "REGRESSED",
            RowVerdict::Improved => "improved",
            RowVerdict::Added => "new",
            RowVerdict::Removed => "gone",
            RowVerdict::NotCompared => "not compared",
        }
    }
}

/// One metric's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Flat metric name (`types.<label>.<field>` for per-type ones).
    pub metric: String,
    /// Blessed value.
    pub baseline: Option<Value>,
    /// This run's value.
    pub current: Option<Value>,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// The outcome.
    pub verdict: RowVerdict,
}

impl Row {
    /// current − baseline.
    pub fn delta(&self) -> Option<f64> {
        Some(self.current?.as_f64() - self.baseline?.as_f64())
    }

    /// The change as a fraction of the baseline; none when either side is missing (a metric
    /// new or gone has no relative change, as it has no change).
    pub fn delta_rel(&self) -> Option<f64> {
        let (b, d) = (self.baseline?.as_f64(), self.delta()?);
        (b != 0.0).then(|| d / b.abs())
    }
}

/// The whole comparison of a run with its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Every metric of either side, in name order.
    pub rows: Vec<Row>,
    /// `Some((baseline's, scenario's))` when the scenario changed since the blessing.
    pub fingerprint_mismatch: Option<(String, String)>,
}

impl Comparison {
    /// Rows that fail.
    pub fn failing(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict.fails())
    }
}

/// The tolerance for a metric: the scenario's override, else the default of its kind, or,
/// for a scenario whose figures are not exact by construction (its own RTS options), the
/// default of its unit ([`inexact_tolerance`]).
pub fn tolerance_for(scenario: &Scenario, metric: &str) -> Tolerance {
    scenario.tolerances.get(metric).copied().unwrap_or_else(|| {
        if scenario.exact_figures() {
            default_tolerance(metric)
        } else {
            inexact_tolerance(metric)
        }
    })
}

/// The default tolerance of a metric in a run whose census is not the harness's exact one
/// (`rts = [...]` in the scenario: a census interval instead of every major GC, say). Its
/// censuses fall at other points of the run from one run to the next, so every figure drifts
/// by a little: 10%, or an absolute floor by unit so that near-zero figures (the growth of a
/// flat heap) do not fail on a few bytes. A scenario's `[tolerance]` overrides it.
pub fn inexact_tolerance(metric: &str) -> Tolerance {
    if kind(metric) == Kind::Noisy {
        return NOISY_DEFAULT;
    }
    let absolute = match unit(metric) {
        Some(Unit::Bytes) => 64.0 * 1024.0,
        Some(Unit::Count) => 16.0,
        Some(Unit::BytesPerX) => 64.0,
        Some(Unit::CountPerX) => 1.0,
        None => 0.0,
    };
    Tolerance {
        relative: 0.10,
        absolute,
    }
}

/// The default tolerance of a metric's kind: none for exact metrics, [`NOISY_DEFAULT`] for
/// noisy ones.
pub fn default_tolerance(metric: &str) -> Tolerance {
    match kind(metric) {
        Kind::Exact => Tolerance::default(),
        Kind::Noisy => NOISY_DEFAULT,
    }
}

/// Judges one value against its baseline.
pub fn judge(baseline: Option<Value>, current: Option<Value>, tol: Tolerance) -> RowVerdict {
    match (baseline, current) {
        (None, None) => RowVerdict::Equal,
        (None, Some(_)) => RowVerdict::Added,
        (Some(_), None) => RowVerdict::Removed,
        (Some(b), Some(c)) => {
            let (b, c) = (b.as_f64(), c.as_f64());
            if b == c {
                return RowVerdict::Equal;
            }
            let allowed = (tol.relative * b.abs()).max(tol.absolute);
            if (c - b).abs() <= allowed {
                RowVerdict::Within
            } else if c > b {
                RowVerdict::Regressed
            } else {
                RowVerdict::Improved
            }
        }
    }
}

/// Whether both results stopped at an expected violation (a caught leak) at a position a
/// noisy source set: milliseconds of the wall clock, where the stop falls a little later or
/// sooner on every run, and with it every figure measured up to it (peak, steady, growth).
/// Cycles, censuses and snapshots repeat exactly, and their figures stay compared.
pub fn stopped_where_noise_put_it(
    scenario: &Scenario,
    baseline: &Baseline,
    current: &Baseline,
) -> bool {
    let caught = |b: &Baseline| {
        b.invariants
            .values()
            .any(|i| matches!(i, InvariantRecord::Violated { expected: true, .. }))
    };
    scenario.x_unit() == XUnit::Millis && caught(baseline) && caught(current)
}

/// Compares a run's result with the blessed baseline. A caught leak on a noisy axis
/// ([`stopped_where_noise_put_it`]) leaves the figures both sides have
/// [`RowVerdict::NotCompared`]: the baseline records the violation instead.
pub fn compare(scenario: &Scenario, baseline: &Baseline, current: &Baseline) -> Comparison {
    let noisy_stop = stopped_where_noise_put_it(scenario, baseline, current);
    let mut rows = figure_rows(Some(baseline), Some(current), |name| {
        tolerance_for(scenario, name)
    });
    if noisy_stop {
        for r in rows
            .iter_mut()
            .filter(|r| r.baseline.is_some() && r.current.is_some())
        {
            r.verdict = RowVerdict::NotCompared;
        }
    }
    let fingerprint_mismatch = (baseline.fingerprint != current.fingerprint)
        .then(|| (baseline.fingerprint.clone(), current.fingerprint.clone()));
    Comparison {
        rows,
        fingerprint_mismatch,
    }
}

/// The one comparison of two sets of figures: a row for every figure either side has (whole-run
/// metrics and `types.<label>.<field>`, by flat name), judged under `tolerance(name)`. A run
/// against its baseline, against the base ref's baseline, and a re-blessed baseline against
/// the one it replaced are all compared here; a side that is absent (a baseline added or
/// removed) has no figures.
pub fn figure_rows(
    old: Option<&Baseline>,
    new: Option<&Baseline>,
    tolerance: impl Fn(&str) -> Tolerance,
) -> Vec<Row> {
    let flat = |b: Option<&Baseline>| {
        b.map(|b| crate::measure::metrics::flatten(&b.metrics, &b.types))
            .unwrap_or_default()
    };
    let (old, new) = (flat(old), flat(new));
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let tolerance = tolerance(name);
            let (b, c) = (old.get(name).copied(), new.get(name).copied());
            Row {
                metric: name.clone(),
                baseline: b,
                current: c,
                tolerance,
                verdict: judge(b, c, tolerance),
            }
        })
        .collect()
}

/// Formats a metric's value with its unit: bytes for byte metrics, plain integers for counts.
pub fn fmt_value(metric: &str, v: f64) -> String {
    // Exact byte figures are shown to the byte: a one-byte change must be visible.
    if is_bytes(metric) && kind(metric) == Kind::Exact && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{} B", fmt_int(v as i128))
    } else if is_bytes(metric) {
        fmt_bytes(v)
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        fmt_int(v as i128)
    } else {
        format!("{v:.3}")
    }
}

/// Whether a figure is measured in bytes (a byte slope included), by the metric table.
pub fn is_bytes(metric: &str) -> bool {
    matches!(unit(metric), Some(Unit::Bytes | Unit::BytesPerX))
}

/// A tolerance as people read it: `exact`, `±10%`, `±10% or 2.00 MiB`.
pub fn fmt_tol(metric: &str, t: &Tolerance) -> String {
    let (r, a) = (t.relative, t.absolute);
    if r == 0.0 && a == 0.0 {
        "exact".into()
    } else if a == 0.0 {
        format!("±{:.0}%", r * 100.0)
    } else if r == 0.0 {
        format!("±{}", fmt_value(metric, a))
    } else {
        format!("±{:.0}% or {}", r * 100.0, fmt_value(metric, a))
    }
}

/// The comparison as a plain-text table of the rows that moved (all rows if `all`).
pub fn table(cmp: &Comparison, all: bool) -> String {
    let header = [
        "metric",
        "baseline",
        "current",
        "Δ",
        "Δ%",
        "tolerance",
        "verdict",
    ];
    let mut rows: Vec<[String; 7]> = Vec::new();
    for r in cmp
        .rows
        .iter()
        .filter(|r| all || r.verdict != RowVerdict::Equal)
    {
        let f = |v: Option<Value>| v.map_or("—".to_owned(), |v| fmt_value(&r.metric, v.as_f64()));
        rows.push([
            r.metric.clone(),
            f(r.baseline),
            f(r.current),
            r.delta().map_or("—".into(), |d| {
                format!(
                    "{}{}",
                    if d > 0.0 { "+" } else { "" },
                    fmt_value(&r.metric, d)
                )
            }),
            r.delta_rel()
                .map_or("—".into(), |d| format!("{:+.1}%", d * 100.0)),
            fmt_tol(&r.metric, &r.tolerance),
            r.verdict.word().to_owned(),
        ]);
    }
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - c.chars().count();
            if i == 0 {
                let _ = write!(out, "  {c}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{c}", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(&header.map(String::from), &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    out
}

/// A unified diff of the comparable parts of two results (`similar`), with `a`/`b` names.
pub fn unified_diff(
    baseline: &Baseline,
    current: &Baseline,
    old_name: &str,
    new_name: &str,
) -> String {
    let (a, b) = (baseline.comparable_json(), current.comparable_json());
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(2)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(relative: f64, absolute: f64) -> Tolerance {
        Tolerance { relative, absolute }
    }

    #[test]
    fn two_sided_tolerances() {
        use RowVerdict::*;
        let cases = [
            (Some(100), Some(100), t(0.0, 0.0), Equal),
            (Some(100), Some(101), t(0.0, 0.0), Regressed),
            (Some(100), Some(99), t(0.0, 0.0), Improved),
            (Some(100), Some(109), t(0.1, 0.0), Within),
            (Some(100), Some(111), t(0.1, 0.0), Regressed),
            (Some(100), Some(89), t(0.1, 0.0), Improved),
            (Some(100), Some(150), t(0.1, 50.0), Within),
            (None, Some(1), t(0.0, 0.0), Added),
            (Some(1), None, t(0.0, 0.0), Removed),
        ];
        for (b, c, tol, want) in cases {
            assert_eq!(
                judge(b.map(Value::Int), c.map(Value::Int), tol),
                want,
                "{b:?} -> {c:?} under {tol:?}"
            );
        }
    }

    #[test]
    fn a_gone_metric_has_no_relative_change_either() {
        let row = Row {
            metric: "rss.peak".into(),
            baseline: Some(Value::Int(100)),
            current: None,
            tolerance: t(0.0, 0.0),
            verdict: RowVerdict::Removed,
        };
        assert_eq!(row.delta(), None);
        assert_eq!(row.delta_rel(), None);
        let cmp = Comparison {
            rows: vec![row],
            fingerprint_mismatch: None,
        };
        let text = table(&cmp, true);
        let line = text.lines().nth(1).unwrap_or_default();
        assert!(!line.contains('%'), "{line}");
    }

    /// A caught leak on the wall clock: its figures say where the stop fell, and are not
    /// compared; a run that did not catch it, or a repeatable axis, is compared as ever.
    #[test]
    fn a_caught_leak_on_the_wall_clock_is_judged_by_its_violation_not_its_figures() {
        let scenario = |profile: &str, unit: &str| {
            crate::scenario::parse(
                std::path::Path::new("s.toml"),
                &format!(
                    "description = \"d\"\n[run]\ncommand = [\"prog\"]\nprofile = \"{profile}\"\n[[invariant]]\nname = \"flat\"\nmetric = \"{unit}\"\nmax = 1\nexpect = \"violated\"\n"
                ),
                &sim::circuits::catalog(),
            )
            .expect("scenario")
        };
        let result = |peak: i64, caught: bool| {
            let mut b = Baseline {
                scenario: "s".into(),
                fingerprint: "f".into(),
                description: String::new(),
                metrics: [(
                    crate::spec::metric::Metric::of(&crate::spec::metric::RSS_PEAK),
                    Value::Int(peak),
                )]
                .into(),
                types: Default::default(),
                fit: Default::default(),
                invariants: Default::default(),
                toolchain: Default::default(),
                host: Default::default(),
                timeline: Default::default(),
            };
            let record = if caught {
                InvariantRecord::Violated {
                    at: 500,
                    expected: true,
                }
            } else {
                InvariantRecord::Held { samples: 9 }
            };
            b.invariants.insert("flat".into(), record);
            b
        };
        let rss = scenario("rss", "rss");
        let verdict = |s: &Scenario, b, c| compare(s, &b, &c).rows[0].verdict;
        let (blessed, rerun) = (result(20 << 20, true), result(43 << 20, true));
        assert_eq!(
            verdict(&rss, blessed.clone(), rerun),
            RowVerdict::NotCompared
        );
        assert!(!RowVerdict::NotCompared.fails());
        assert_eq!(
            verdict(&rss, blessed.clone(), result(43 << 20, false)),
            RowVerdict::Regressed
        );
        let massif = scenario("massif", "heap");
        assert_eq!(
            verdict(&massif, blessed, result(43 << 20, true)),
            RowVerdict::Regressed
        );
    }

    #[test]
    fn noisy_metrics_default_to_relative_tolerance() {
        assert_eq!(kind("rss.peak"), Kind::Noisy);
        assert_eq!(kind("live_bytes.peak"), Kind::Exact);
        assert_eq!(kind("types.Signal<Bool>::Cons.peak_count"), Kind::Exact);
    }

    #[test]
    fn a_run_with_its_own_rts_options_compares_exact_metrics_under_tolerances() {
        let scenario = |rts: &str| {
            crate::scenario::parse(
                std::path::Path::new("s.toml"),
                &format!(
                    "description = \"d\"\n[run]\ncommand = [\"prog\"]\nprofile = \"ghc-hp\"\n{rts}\n[budget]\ntimeout = \"10s\"\nmax_rss = \"1 GiB\"\n"
                ),
                &sim::circuits::catalog(),
            )
            .expect("scenario")
        };
        let exact = scenario("");
        let inexact = scenario("rts = [\"-i0.05\"]");
        assert_eq!(tolerance_for(&exact, "heap.peak"), Tolerance::default());
        assert_eq!(tolerance_for(&inexact, "heap.peak"), t(0.10, 65536.0));
        assert_eq!(
            tolerance_for(&inexact, "types.THUNK.peak_count").relative,
            0.10
        );
        assert_eq!(tolerance_for(&inexact, "rss.peak"), NOISY_DEFAULT);
    }
}
