//! `Checker`: memory invariants evaluated at every sample, stopping at the first violation.
//!
//! An invariant is a predicate on the heap plus the window of the timeline where it must hold.
//! The checker consumes samples one at a time (so the runner can stop a leaking child at once)
//! and, on a violation, explains it: the value against the bound, the types that grew most since
//! the window began, and for census types where the live objects were created and when.
//! It knows nothing of processes or baselines.

use crate::measure::metrics::{resolve, Fit};
use crate::scenario::{glob_match, Cmp, Expectation, Invariant, Predicate, Scenario, Window};
use crate::units::{fmt_bytes, fmt_int};
use crate::{Mark, Sample, SiteSample, XUnit};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Growth bounds are judged only once the window holds this many samples: a slope through two
/// or three points says more about sampling phase than about a trend.
pub const MIN_GROWTH_SAMPLES: usize = 5;

/// How an invariant fared over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// It held at every sample of its window.
    Held {
        /// Samples checked.
        samples: usize,
    },
    /// It was violated.
    Violated(Violation),
    /// Its window had no sample (the run stopped before it, or a marker never came).
    NotReached {
        /// Why.
        reason: String,
    },
}

/// The first sample at which an invariant failed, explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: String,
    /// Where it failed (cycle or census index).
    pub x: u64,
    /// Where its window began (its first sample).
    pub window_start: u64,
    /// The sample growth is measured from: the window's first, or the run's first when the
    /// bound was already broken as the window opened.
    #[serde(default)]
    pub growth_since: u64,
    /// The predicate, e.g. "count of `Signal<*>::Cons` ≤ 5,000".
    pub predicate: String,
    /// The value found, as text with units.
    pub value: String,
    /// The types that grew most since the window began, largest first.
    pub top_growth: Vec<Growth>,
    /// A few unevaluated computations (thunks) of types that did not grow, alive since before
    /// growth was measured from: a leak's growing objects are typically held by an old pending
    /// computation (the investigation's lagging `unzip` thunk), so these are the first places
    /// to look for the retainer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub long_lived: Vec<LongLived>,
}

/// Live objects of one type and site, all born before growth was measured from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongLived {
    /// The type label.
    pub label: String,
    /// Where they were built, how many, and when.
    pub site: SiteSample,
}

/// How many long-lived holders a violation lists.
const LONG_LIVED: usize = 3;
/// Holders are few: a site with more live objects than this is a population, not a retainer.
const LONG_LIVED_MAX_COUNT: u64 = 16;

/// One type's growth between the window's first sample and the violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Growth {
    /// The type label.
    pub label: String,
    /// Live count at the window's first sample.
    pub from_count: u64,
    /// Live count at the violation.
    pub to_count: u64,
    /// Live bytes added.
    pub bytes_delta: i64,
    /// Where the live ones were created (census types only).
    pub sites: Vec<SiteSample>,
}

/// How many growing types a violation lists.
const TOP_GROWTH: usize = 5;

impl Violation {
    /// The multi-line explanation printed in failures, in the timeline's unit.
    pub fn explain(&self, unit: XUnit) -> String {
        let at = |x: u64| match unit {
            XUnit::Cycles => format!("cycle {}", fmt_int(x as i128)),
            XUnit::Census => format!("census {}", fmt_int(x as i128)),
        };
        let mut s = format!(
            "invariant `{}` violated at {} (window from {}): {}, found {}\n",
            self.invariant,
            at(self.x),
            at(self.window_start),
            self.predicate,
            self.value
        );
        if self.top_growth.is_empty() {
            let _ = writeln!(s, "  no type grew since {}", at(self.growth_since));
        } else {
            let _ = writeln!(s, "  top growth since {}:", at(self.growth_since));
        }
        for g in &self.top_growth {
            let _ = writeln!(
                s,
                "    {:<40} {:>12} live ({} -> {}, {}{})",
                format!("`{}`", g.label),
                {
                    let d = g.to_count as i128 - g.from_count as i128;
                    format!("{}{}", if d >= 0 { "+" } else { "" }, fmt_int(d))
                },
                fmt_int(g.from_count as i128),
                fmt_int(g.to_count as i128),
                if g.bytes_delta >= 0 { "+" } else { "" },
                fmt_bytes(g.bytes_delta as f64)
            );
            for site in &g.sites {
                let _ = writeln!(
                    s,
                    "      {} live built by `{}`, born cycles {}..={} (oldest {} old)",
                    fmt_int(site.count as i128),
                    site.site,
                    fmt_int(site.oldest_birth as i128),
                    fmt_int(site.newest_birth as i128),
                    fmt_int(self.x.saturating_sub(site.oldest_birth) as i128)
                );
            }
        }
        for l in &self.long_lived {
            let _ = writeln!(
                s,
                "  may hold them (pending since before the growth, not growing): {} `{}` built by `{}`, alive since cycle {}",
                fmt_int(l.site.count as i128),
                l.label,
                l.site.site,
                fmt_int(l.site.oldest_birth as i128)
            );
        }
        s
    }

    /// Whether the violation matches an expected culprit: the top growing type matches the
    /// glob, and the site appears in the explanation, as a creation site of that type or as a
    /// long-lived object that may hold them.
    pub fn names_culprit(
        &self,
        culprit_type: Option<&str>,
        culprit_site: Option<&str>,
    ) -> Result<(), String> {
        let Some(top) = self.top_growth.first() else {
            return if culprit_type.is_none() && culprit_site.is_none() {
                Ok(())
            } else {
                Err("the violation names no growing type".into())
            };
        };
        if let Some(t) = culprit_type {
            if !glob_match(t, &top.label) {
                return Err(format!(
                    "the top growing type is `{}`, expected one matching `{t}`",
                    top.label
                ));
            }
        }
        if let Some(site) = culprit_site {
            if !top.sites.iter().any(|s| s.site == site)
                && !self.long_lived.iter().any(|l| l.site.site == site)
            {
                let seen: Vec<&str> = top.sites.iter().map(|s| s.site.as_str()).collect();
                return Err(format!(
                    "`{}` was not built by `{site}` (sites: {})",
                    top.label,
                    seen.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Checks a scenario's invariants sample by sample.
#[derive(Debug)]
pub struct Checker<'a> {
    invariants: Vec<State<'a>>,
    /// The run's first sample: growth is explained from here when a window's first sample is
    /// the violating one (a bound already broken when the window opens).
    run_first: Option<Sample>,
}

#[derive(Debug)]
struct State<'a> {
    inv: &'a Invariant,
    scenario: &'a Scenario,
    window: Option<(u64, u64)>,
    first: Option<Sample>,
    fit: Fit,
    samples: usize,
    violation: Option<Violation>,
    unresolved: Option<String>,
}

impl<'a> Checker<'a> {
    /// A checker for a run whose end is known in advance (simulator runs). For profiles read
    /// after the fact, pass the last sample's position.
    pub fn new(scenario: &'a Scenario, end: u64, marks: &[Mark]) -> Self {
        let invariants = scenario
            .invariants
            .iter()
            .map(|inv| {
                let (window, unresolved) = match window_of(scenario, &inv.during, end, marks) {
                    Ok(w) => (Some(w), None),
                    Err(e) => (None, Some(e)),
                };
                State {
                    inv,
                    scenario,
                    window,
                    first: None,
                    fit: Fit::default(),
                    samples: 0,
                    violation: None,
                    unresolved,
                }
            })
            .collect();
        Checker {
            invariants,
            run_first: None,
        }
    }

    /// Checks one more sample; returns the first violation it causes. After a violation the
    /// caller stops the run: this is the fail-fast point.
    pub fn check(&mut self, sample: &Sample) -> Option<&Violation> {
        let mut hit = None;
        if self.run_first.is_none() {
            self.run_first = Some(sample.clone());
        }
        for (i, st) in self.invariants.iter_mut().enumerate() {
            if st.violation.is_some() {
                continue;
            }
            let Some((a, b)) = st.window else { continue };
            if sample.x < a || sample.x > b {
                continue;
            }
            if st.first.is_none() {
                st.first = Some(sample.clone());
            }
            st.samples += 1;
            if let Some(v) = evaluate(st, sample, self.run_first.as_ref()) {
                st.violation = Some(v);
                if hit.is_none() {
                    hit = Some(i);
                }
            }
        }
        hit.and_then(|i| self.invariants[i].violation.as_ref())
    }

    /// Each invariant's outcome, in scenario order.
    pub fn outcomes(&self) -> Vec<(String, Outcome)> {
        self.invariants
            .iter()
            .map(|st| {
                let o = if let Some(v) = &st.violation {
                    Outcome::Violated(v.clone())
                } else if let Some(r) = &st.unresolved {
                    Outcome::NotReached { reason: r.clone() }
                } else if st.samples == 0 {
                    Outcome::NotReached {
                        reason: "no sample fell in its window".into(),
                    }
                } else {
                    Outcome::Held {
                        samples: st.samples,
                    }
                };
                (st.inv.name.clone(), o)
            })
            .collect()
    }
}

/// Checks a whole timeline after the fact (profiles of external programs), stopping at the
/// first violation like a live run would.
pub fn check_timeline(
    scenario: &Scenario,
    tl: &crate::Timeline,
) -> (Vec<(String, Outcome)>, Option<u64>) {
    let end = crate::measure::metrics::run_end(scenario, tl);
    let mut checker = Checker::new(scenario, end, &tl.marks);
    for s in &tl.samples {
        if checker.check(s).is_some() {
            return (checker.outcomes(), Some(s.x));
        }
    }
    (checker.outcomes(), None)
}

/// Whether the outcomes are what the scenario declares: expected violations happened and
/// named their culprit, and every other invariant held. Returns the problems found, each as
/// (invariant name, explanation).
pub fn judge(scenario: &Scenario, outcomes: &[(String, Outcome)]) -> Vec<(String, String)> {
    let unit = scenario.x_unit();
    let mut problems = Vec::new();
    for inv in &scenario.invariants {
        let Some((_, o)) = outcomes.iter().find(|(n, _)| *n == inv.name) else {
            continue;
        };
        let problem = match (&inv.expect, o) {
            (Expectation::Holds, Outcome::Held { .. }) => None,
            (Expectation::Holds, Outcome::Violated(v)) => Some(v.explain(unit)),
            (Expectation::Holds, Outcome::NotReached { reason }) => {
                // A window cut short by another invariant's violation is not a failure in itself.
                (!outcomes.iter().any(|(_, o)| matches!(o, Outcome::Violated(_))))
                    .then(|| format!("invariant `{}` was never checked: {reason}", inv.name))
            }
            (Expectation::Violated { culprit_type, culprit_site }, Outcome::Violated(v)) => v
                .names_culprit(culprit_type.as_deref(), culprit_site.as_deref())
                .err()
                .map(|e| format!("invariant `{}` was violated as expected, but the report does not name the culprit: {e}\n{}", inv.name, v.explain(unit))),
            (Expectation::Violated { .. }, Outcome::Held { samples }) => Some(format!(
                "invariant `{}` was expected to be violated but held at all {samples} samples: the leak this scenario exists to catch went undetected",
                inv.name
            )),
            (Expectation::Violated { .. }, Outcome::NotReached { reason }) => Some(format!(
                "invariant `{}` was expected to be violated but was never checked: {reason}",
                inv.name
            )),
        };
        if let Some(p) = problem {
            problems.push((inv.name.clone(), p));
        }
    }
    problems
}

fn window_of(
    scenario: &Scenario,
    w: &Window,
    end: u64,
    marks: &[Mark],
) -> Result<(u64, u64), String> {
    match w {
        Window::Always => Ok((0, u64::MAX)),
        Window::Phase(name) => {
            let p = scenario
                .phase(name)
                .ok_or_else(|| format!("no phase `{name}`"))?;
            Ok((resolve(&p.from, end, marks)?, resolve(&p.to, end, marks)?))
        }
        Window::Range(a, b) => Ok((resolve(a, end, marks)?, resolve(b, end, marks)?)),
    }
}

fn matching<'s>(
    sample: &'s Sample,
    glob: &'s str,
) -> impl Iterator<Item = (&'s String, &'s crate::TypeSample)> {
    sample
        .types
        .iter()
        .filter(move |(l, _)| glob_match(glob, l))
}

fn evaluate(st: &mut State<'_>, sample: &Sample, run_first: Option<&Sample>) -> Option<Violation> {
    let per = match st.scenario.x_unit() {
        XUnit::Cycles => 1000.0,
        XUnit::Census => 1.0,
    };
    let per_name = match st.scenario.x_unit() {
        XUnit::Cycles => "per 1000 cycles",
        XUnit::Census => "per census",
    };
    let (ok, predicate, value) = match &st.inv.predicate {
        Predicate::TypeAbsent(g) => {
            let n: u64 = matching(sample, g).map(|(_, t)| t.count).sum();
            (
                n == 0,
                format!("no live `{g}`"),
                format!("{} live", fmt_int(n as i128)),
            )
        }
        Predicate::TypeCount { glob, cmp, n } => {
            let c: u64 = matching(sample, glob).map(|(_, t)| t.count).sum();
            let (ok, op) = match cmp {
                Cmp::AtMost => (c <= *n, "≤"),
                Cmp::AtLeast => (c >= *n, "≥"),
                Cmp::Exactly => (c == *n, "=="),
            };
            (
                ok,
                format!("count of `{glob}` {op} {}", fmt_int(*n as i128)),
                fmt_int(c as i128),
            )
        }
        Predicate::TypeGrowth { glob, max } => {
            let c: u64 = matching(sample, glob).map(|(_, t)| t.count).sum();
            st.fit.push(sample.x as f64, c as f64);
            let g = growth(&st.fit, per);
            (
                g.is_none_or(|g| g <= *max),
                format!("growth of `{glob}` ≤ {max} {per_name}"),
                format!("{:.1} {per_name}", g.unwrap_or(0.0)),
            )
        }
        Predicate::LiveBytesMax(max) => (
            sample.live_bytes <= *max,
            format!("live bytes ≤ {}", fmt_bytes(*max as f64)),
            fmt_bytes(sample.live_bytes as f64),
        ),
        Predicate::LiveBytesGrowth(max) => {
            st.fit.push(sample.x as f64, sample.live_bytes as f64);
            let g = growth(&st.fit, per);
            (
                g.is_none_or(|g| g <= *max),
                format!("live-byte growth ≤ {} {per_name}", fmt_bytes(*max)),
                format!("{} {per_name}", fmt_bytes(g.unwrap_or(0.0))),
            )
        }
    };
    if ok {
        return None;
    }
    let window_first = st.first.as_ref().unwrap_or(sample);
    let mut first = window_first;
    if first.x == sample.x {
        first = run_first.unwrap_or(sample);
    }
    Some(Violation {
        invariant: st.inv.name.clone(),
        x: sample.x,
        window_start: window_first.x,
        growth_since: first.x,
        predicate,
        value,
        top_growth: top_growth(first, sample),
        long_lived: long_lived(first, sample),
    })
}

fn growth(fit: &Fit, per: f64) -> Option<f64> {
    if fit.len() < MIN_GROWTH_SAMPLES {
        return None;
    }
    fit.slope().map(|(b, _)| b * per)
}

/// Types ordered by bytes gained between two samples; only those that grew.
pub fn top_growth(from: &Sample, to: &Sample) -> Vec<Growth> {
    let mut out: Vec<Growth> = to
        .types
        .iter()
        .filter_map(|(label, t)| {
            let before = from.types.get(label);
            let bytes_delta = t.bytes as i64 - before.map_or(0, |b| b.bytes as i64);
            let from_count = before.map_or(0, |b| b.count);
            (bytes_delta > 0 || t.count > from_count).then(|| Growth {
                label: label.clone(),
                from_count,
                to_count: t.count,
                bytes_delta,
                sites: t.sites.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.bytes_delta
            .cmp(&a.bytes_delta)
            .then_with(|| a.label.cmp(&b.label))
    });
    out.truncate(TOP_GROWTH);
    out
}

/// Sites of thunk types that did not grow whose live objects all predate `from`, oldest first.
pub fn long_lived(from: &Sample, to: &Sample) -> Vec<LongLived> {
    let mut out: Vec<LongLived> = Vec::new();
    // An evaluated value held for the whole run is usually meant to be (a memory map); a
    // computation still pending since then is what keeps its inputs alive.
    let pending = |label: &str| label.contains("Thunk") || label.starts_with("THUNK");
    for (label, t) in to.types.iter().filter(|(l, _)| pending(l)) {
        let grew = from.types.get(label).is_none_or(|b| t.count > b.count);
        if grew {
            continue;
        }
        for site in &t.sites {
            if site.count <= LONG_LIVED_MAX_COUNT && site.newest_birth <= from.x {
                out.push(LongLived {
                    label: label.clone(),
                    site: site.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.site
            .oldest_birth
            .cmp(&b.site.oldest_birth)
            .then(a.site.count.cmp(&b.site.count))
            .then_with(|| a.label.cmp(&b.label))
    });
    out.truncate(LONG_LIVED);
    out
}
