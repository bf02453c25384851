//! The pure half of `explore`: from the runs' timelines, where the warm-up ends and what each
//! label does after it.
//!
//! Every figure is computed from the samples, in a fixed order, so the same runs give the same
//! classes byte for byte. Nothing here runs a program or writes TOML.

use crate::timeline::{Sample, Timeline};
use crate::XUnit;
use std::collections::BTreeMap;

/// Fewest samples after the warm-up, in each run, for a label to be classified at all.
pub const MIN_SAMPLES_AFTER_WARMUP: usize = 3;

/// A label grows when its late level at the longest length is at least this many times its
/// level at the shortest (and by at least [`Basis::slack`]).
pub const GROWTH_RATIO: f64 = 1.25;

/// A label is bounded when its late level and its maximum at the longest length stay within
/// this factor of the shortest's (plus [`Basis::slack`]).
pub const FLAT_RATIO: f64 = 1.1;

/// One run of an exploration: its length (`None` for a command explored along its own
/// course) and everything it sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploredRun {
    /// The length it ran at.
    pub length: Option<u64>,
    /// Its samples and marks.
    pub timeline: Timeline,
}

/// What a label's figures count: objects where the source counts them, bytes where it only
/// weighs them (massif's allocation sites).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Live objects.
    Count,
    /// Live bytes.
    Bytes,
}

impl Basis {
    /// A difference too small to call growth or irregularity: a couple of objects, or 256
    /// bytes.
    pub fn slack(self) -> f64 {
        match self {
            Basis::Count => 2.0,
            Basis::Bytes => 256.0,
        }
    }

    /// How a figure of this basis is written.
    pub fn show(self, v: u64) -> String {
        match self {
            Basis::Count => crate::units::fmt_int(i128::from(v)),
            Basis::Bytes => crate::units::fmt_bytes(v as f64),
        }
    }
}

/// What a label does after the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub enum Class {
    /// The same count at every sample after the warm-up, at every length.
    Exactly(u64),
    /// Flat in the run's length; `max` is the largest figure seen after the warm-up.
    Bounded {
        /// The largest figure after the warm-up, over every run.
        max: u64,
    },
    /// Alive during the warm-up, never after it.
    GoneAfterInit,
    /// Grows with the run's length: a suspected leak.
    Growing {
        /// Least-squares growth after the warm-up in the longest run, per the x-unit's
        /// growth period ([`XUnit::per`]).
        per: f64,
    },
    /// Too few samples, or too irregular to say.
    Noise(NoiseReason),
}

/// Why a label was not classified.
#[derive(Debug, Clone, PartialEq)]
pub enum NoiseReason {
    /// A run had fewer than [`MIN_SAMPLES_AFTER_WARMUP`] samples after the warm-up.
    TooFewSamples {
        /// The run's length.
        length: Option<u64>,
        /// Its samples after the warm-up.
        samples: usize,
    },
    /// Neither flat nor growing with the length: the late level moved by this factor.
    Irregular {
        /// Late level at the longest length over the late level at the shortest.
        ratio: f64,
    },
}

impl std::fmt::Display for NoiseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoiseReason::TooFewSamples { length, samples } => write!(
                f,
                "too few samples after the warm-up ({samples}{}; at least {MIN_SAMPLES_AFTER_WARMUP} needed)",
                length.map_or(String::new(), |n| format!(" at length {}", crate::units::fmt_int(i128::from(n))))
            ),
            NoiseReason::Irregular { ratio } => write!(
                f,
                "irregular: its late level moved {ratio:.2}× between the shortest and longest run, neither flat (≤ {FLAT_RATIO}×) nor growing (≥ {GROWTH_RATIO}×)"
            ),
        }
    }
}

/// A label's figures in one run, after the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    /// The run's length.
    pub length: Option<u64>,
    /// Samples after the warm-up.
    pub samples: usize,
    /// Smallest figure after the warm-up (0 where the label was absent).
    pub min: u64,
    /// Largest figure after the warm-up.
    pub max: u64,
    /// Mean of the last quarter of the samples after the warm-up: the level the run ended at.
    pub late: f64,
    /// Largest figure during the warm-up.
    pub warmup_max: u64,
}

/// One label's evidence and class.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelEvidence {
    /// The label (closure type, creation site or allocation site), or `None` for the whole
    /// heap's residency.
    pub label: Option<String>,
    /// What the figures count.
    pub basis: Basis,
    /// Per run, shortest first.
    pub runs: Vec<RunFigures>,
    /// What it does.
    pub class: Class,
    /// How much its late level in bytes rose from the shortest run to the longest: what
    /// orders suspected leaks, largest first, whatever their basis.
    pub late_bytes_rise: f64,
}

/// The evidence of growing labels: the whole heap first, then those whose bytes rose most.
pub fn growing(evidence: &[LabelEvidence]) -> Vec<&LabelEvidence> {
    let mut g: Vec<&LabelEvidence> = evidence
        .iter()
        .filter(|e| matches!(e.class, Class::Growing { .. }))
        .collect();
    g.sort_by(|a, b| {
        (a.label.is_some(), -a.late_bytes_rise)
            .partial_cmp(&(b.label.is_some(), -b.late_bytes_rise))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    g
}

/// The x-position where the warm-up ends, and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub enum Warmup {
    /// The scenario's own `steady` phase, starting at these positions (one per run).
    Phase(Vec<u64>),
    /// The program's `steady` marker, at these positions (one per run).
    Marker(Vec<u64>),
    /// Where the labels that do not grow settle into the range they keep to the end, in the
    /// longest run: the same position in every run.
    Settled(u64),
}

impl Warmup {
    /// Where the warm-up of run `i` ends.
    pub fn end(&self, i: usize) -> u64 {
        match self {
            Warmup::Phase(v) | Warmup::Marker(v) => v.get(i).copied().unwrap_or(0),
            Warmup::Settled(x) => *x,
        }
    }
}

/// A label's figure at one sample, on its basis (the whole heap's residency for `None`).
pub fn figure(s: &Sample, label: Option<&str>, basis: Basis) -> u64 {
    match label {
        None => s.live_bytes,
        Some(l) => s.types.get(l).map_or(0, |t| match basis {
            Basis::Count => t.count,
            Basis::Bytes => t.bytes,
        }),
    }
}

/// Every label of every run, sorted, with the basis its figures are compared on: counts when
/// any sample counts its objects, else bytes.
pub fn labels(runs: &[ExploredRun]) -> BTreeMap<String, Basis> {
    let mut out: BTreeMap<String, Basis> = BTreeMap::new();
    for r in runs {
        for s in &r.timeline.samples {
            for (l, t) in &s.types {
                let e = out.entry(l.to_string()).or_insert(Basis::Bytes);
                if t.count > 0 {
                    *e = Basis::Count;
                }
            }
        }
    }
    out
}

/// Where the warm-up ends when neither a phase nor a marker says: the first sample of the
/// longest run after which every label that does not trend keeps within the range it takes in
/// the run's second half. At most the middle of the run, so half of it is always judged.
pub fn settle(longest: &Timeline, labels: &BTreeMap<String, Basis>) -> u64 {
    let samples = &longest.samples;
    let Some(last) = samples.len().checked_sub(1) else {
        return 0;
    };
    let half = samples.len() / 2;
    let mut at = 0usize;
    let mut series: Vec<(Option<&str>, Basis)> = vec![(None, Basis::Bytes)];
    series.extend(labels.iter().map(|(l, b)| (Some(l.as_str()), *b)));
    for (label, basis) in series {
        let v: Vec<u64> = samples.iter().map(|s| figure(s, label, basis)).collect();
        let tail = &v[half..];
        // A label still trending in the second half has no range to settle into.
        let q = tail.len() / 2;
        if q > 0 {
            let early = mean(&tail[..q]);
            let late = mean(&tail[q..]);
            if late >= early * GROWTH_RATIO + basis.slack() {
                continue;
            }
        }
        let lo = tail.iter().copied().min().unwrap_or(0);
        let hi = tail.iter().copied().max().unwrap_or(0);
        let first_inside = v
            .iter()
            .rposition(|x| *x < lo || *x > hi)
            .map_or(0, |i| i + 1);
        at = at.max(first_inside);
    }
    samples[at.min(half).min(last)].x
}

fn mean(v: &[u64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64
    }
}

/// Least-squares slope of `(x, y)` per `per` x-units (0 for fewer than two x-positions).
pub(crate) fn slope(points: &[(u64, u64)], per: f64) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in points {
        let dx = *x as f64 - mx;
        sxy += dx * (*y as f64 - my);
        sxx += dx * dx;
    }
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx * per
    }
}

/// The figures of one label in one run.
fn run_figures(
    run: &ExploredRun,
    warmup_end: u64,
    label: Option<&str>,
    basis: Basis,
) -> (RunFigures, Vec<(u64, u64)>) {
    let mut after = Vec::new();
    let mut warmup_max = 0;
    for s in &run.timeline.samples {
        let v = figure(s, label, basis);
        if s.x >= warmup_end {
            after.push((s.x, v));
        } else {
            warmup_max = warmup_max.max(v);
        }
    }
    let values: Vec<u64> = after.iter().map(|p| p.1).collect();
    let quarter = values.len().div_ceil(4);
    let f = RunFigures {
        length: run.length,
        samples: values.len(),
        min: values.iter().copied().min().unwrap_or(0),
        max: values.iter().copied().max().unwrap_or(0),
        late: mean(&values[values.len() - quarter..]),
        warmup_max,
    };
    (f, after)
}

/// Classifies one label (or the whole heap, `label = None`) over the runs, shortest first.
/// With one run (a command explored along its own course), its first half after the warm-up
/// stands for the shorter length.
pub fn classify(
    runs: &[ExploredRun],
    warmup: &Warmup,
    label: Option<&str>,
    basis: Basis,
    x_unit: XUnit,
) -> LabelEvidence {
    let mut figures = Vec::new();
    let mut longest_points = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let (f, points) = run_figures(r, warmup.end(i), label, basis);
        figures.push(f);
        longest_points = points;
    }
    let class = decide(&figures, &longest_points, basis, x_unit);
    let late_bytes =
        |r: &ExploredRun, i: usize| run_figures(r, warmup.end(i), label, Basis::Bytes).0.late;
    let late_bytes_rise = match runs {
        [first, .., last] => late_bytes(last, runs.len() - 1) - late_bytes(first, 0),
        _ => 0.0,
    };
    LabelEvidence {
        label: label.map(str::to_owned),
        basis,
        runs: figures,
        class,
        late_bytes_rise,
    }
}

fn decide(figures: &[RunFigures], longest: &[(u64, u64)], basis: Basis, x_unit: XUnit) -> Class {
    if let Some(f) = figures
        .iter()
        .find(|f| f.samples < MIN_SAMPLES_AFTER_WARMUP)
    {
        return Class::Noise(NoiseReason::TooFewSamples {
            length: f.length,
            samples: f.samples,
        });
    }
    if figures.iter().all(|f| f.max == 0) {
        return if figures.iter().any(|f| f.warmup_max > 0) {
            Class::GoneAfterInit
        } else {
            // Seen only as zero: nothing alive to bound.
            Class::Exactly(0)
        };
    }
    let k = figures[0].max;
    if figures.iter().all(|f| f.min == k && f.max == k) {
        return Class::Exactly(k);
    }
    // The shorter and the longer course: the shortest and longest runs, or one run's first
    // half and its whole.
    let (short_late, short_max, long_late, long_max) = match figures {
        [only] => {
            let half = &longest[..longest.len() / 2];
            let values: Vec<u64> = half.iter().map(|p| p.1).collect();
            let quarter = values.len().div_ceil(4).max(1).min(values.len());
            (
                mean(&values[values.len() - quarter..]),
                values.iter().copied().max().unwrap_or(0) as f64,
                only.late,
                only.max as f64,
            )
        }
        [first, .., last] => (first.late, first.max as f64, last.late, last.max as f64),
        [] => unreachable!("figures has at least one run when runs do"),
    };
    let slack = basis.slack();
    if long_late >= short_late * GROWTH_RATIO + slack && long_max > short_max {
        return Class::Growing {
            per: slope(longest, x_unit.per()),
        };
    }
    if long_late <= short_late * FLAT_RATIO + slack && long_max <= short_max * FLAT_RATIO + slack {
        return Class::Bounded {
            max: figures.iter().map(|f| f.max).max().unwrap_or(0),
        };
    }
    Class::Noise(NoiseReason::Irregular {
        ratio: if short_late > 0.0 {
            long_late / short_late
        } else {
            f64::INFINITY
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::TypeSample;

    /// Runs of a label whose count at sample i is `f(length, i)`, 20 samples per 1,000 x.
    fn runs(lengths: &[u64], f: impl Fn(u64, u64) -> u64) -> Vec<ExploredRun> {
        lengths
            .iter()
            .map(|&n| {
                let mut tl = Timeline::new("test", XUnit::Cycles);
                for x in (0..=n).step_by(50) {
                    let mut s = Sample {
                        x,
                        live_bytes: 1000,
                        ..Default::default()
                    };
                    let c = f(n, x);
                    if c > 0 {
                        s.types.insert(
                            "T".into(),
                            TypeSample {
                                count: c,
                                bytes: c * 16,
                                ..Default::default()
                            },
                        );
                    }
                    tl.samples.push(s);
                }
                ExploredRun {
                    length: Some(n),
                    timeline: tl,
                }
            })
            .collect()
    }

    fn check(f: impl Fn(u64, u64) -> u64, expect: Class) {
        let r = runs(&[1000, 4000], f);
        let w = Warmup::Settled(200);
        let e = classify(&r, &w, Some("T"), Basis::Count, XUnit::Cycles);
        match (&e.class, &expect) {
            (Class::Growing { per }, Class::Growing { .. }) => assert!(*per > 0.0),
            (Class::Noise(_), Class::Noise(_)) => {}
            _ => assert_eq!(e.class, expect, "{e:?}"),
        }
    }

    #[test]
    fn a_constant_count_is_exact() {
        check(|_, x| if x < 200 { 9 } else { 5 }, Class::Exactly(5));
    }

    #[test]
    fn a_count_that_wobbles_the_same_at_every_length_is_bounded() {
        check(|_, x| 10 + (x / 50) % 4, Class::Bounded { max: 13 });
    }

    #[test]
    fn a_count_that_grows_with_the_length_is_growing() {
        check(|_, x| x / 10, Class::Growing { per: 0.0 });
    }

    #[test]
    fn a_label_alive_only_in_the_warmup_is_gone_after_init() {
        check(|_, x| if x < 200 { 3 } else { 0 }, Class::GoneAfterInit);
    }

    #[test]
    fn a_count_that_jumps_at_the_longer_run_only_is_noise() {
        check(
            |n, x| {
                if n == 4000 && x > 3000 && x % 400 == 0 {
                    30
                } else {
                    10
                }
            },
            Class::Noise(NoiseReason::Irregular { ratio: 0.0 }),
        );
    }

    #[test]
    fn too_few_samples_after_the_warmup_is_noise() {
        let r = runs(&[1000, 4000], |_, _| 4);
        let e = classify(
            &r,
            &Warmup::Settled(950),
            Some("T"),
            Basis::Count,
            XUnit::Cycles,
        );
        assert!(
            matches!(
                e.class,
                Class::Noise(NoiseReason::TooFewSamples { samples: 2, .. })
            ),
            "{e:?}"
        );
    }

    #[test]
    fn one_run_grows_when_its_second_half_ends_higher_than_its_first() {
        let r = runs(&[4000], |_, x| x / 10);
        let e = classify(
            &r,
            &Warmup::Settled(200),
            Some("T"),
            Basis::Count,
            XUnit::Cycles,
        );
        assert!(matches!(e.class, Class::Growing { .. }), "{e:?}");
        let r = runs(&[4000], |_, x| 10 + (x / 50) % 3);
        let e = classify(
            &r,
            &Warmup::Settled(200),
            Some("T"),
            Basis::Count,
            XUnit::Cycles,
        );
        assert_eq!(e.class, Class::Bounded { max: 12 });
    }

    #[test]
    fn the_warmup_ends_where_the_labels_settle() {
        let r = runs(&[4000], |_, x| {
            if x < 1000 {
                50 - x / 50
            } else {
                10 + (x / 50) % 2
            }
        });
        let l = labels(&r);
        assert_eq!(settle(&r[0].timeline, &l), 1000);
    }
}
