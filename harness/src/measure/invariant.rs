//! `Checker`: memory invariants evaluated at every sample, stopping at the first violation.
//!
//! An invariant is a predicate on the heap plus the window of the timeline where it must hold.
//! The checker consumes samples one at a time (so the runner can stop a leaking child at once)
//! and, on a violation, explains it: the value against the bound, the types that grew most since
//! the window began, and for census types where the live objects were created and when.
//! It knows nothing of processes or baselines.

use crate::measure::metrics::{resolve, Fit, MissingMarker};
use crate::spec::invariant::{Cmp, Invariant, Plan, Predicate, Window, MIN_GROWTH_SAMPLES};
use crate::spec::text::{glob_match, nearest_first};
use crate::timeline::Label;
use crate::units::{fmt_bytes, fmt_int};
use crate::{Mark, Sample, SiteSample, XUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

/// How many of the labels seen in a run a [`Unevaluable::NoMatchingType`] lists.
const SEEN_LABELS: usize = 8;

/// How an invariant fared over a run. Only [`Outcome::Held`] (for `expect = "holds"`) and
/// [`Outcome::Violated`] (for `expect = "violated"`) can pass; see [`judge`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// It held at every sample of its window, and those samples were enough to judge it.
    Held {
        /// Samples checked.
        samples: usize,
    },
    /// It was violated.
    Violated(Violation),
    /// Its window had no sample (the run stopped before it, or a marker never came).
    NotReached {
        /// Why.
        reason: Unreached,
        /// Where a violation stopped the run, when that happened before this window opened
        /// (shown; never an excuse: an invariant not reached did not hold).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped_at: Option<u64>,
    },
    /// Its window had samples, but they cannot decide it: a failure, whatever was expected.
    NotEvaluable {
        /// Why, and what to change.
        reason: Unevaluable,
    },
}

impl Outcome {
    /// Whether the outcome is what the scenario declared, before the culprit check of
    /// [`judge`]: held when expected to hold, violated when expected to be violated. An
    /// invariant that was not reached or not evaluable was never judged, which is never as
    /// declared (whatever stopped the run); reports render it as a failure.
    pub fn as_declared(&self, expected_violation: bool) -> bool {
        match self {
            Outcome::Held { .. } => !expected_violation,
            Outcome::Violated(_) => expected_violation,
            Outcome::NotReached { .. } | Outcome::NotEvaluable { .. } => false,
        }
    }
}

/// Why an invariant's window held no sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Unreached {
    /// An endpoint of its window names a marker the profile never had.
    MissingMarker(MissingMarker),
    /// A violation stopped the run before the window opened.
    StoppedBefore {
        /// Where the run stopped.
        stopped_at: u64,
        /// Where the window opens.
        opens: u64,
        /// What x counts.
        x_unit: XUnit,
    },
    /// The window opens after the run's last sample.
    OpensAfterEnd {
        /// Where the window opens.
        opens: u64,
        /// The run's end.
        end: u64,
        /// What x counts.
        x_unit: XUnit,
    },
    /// No sample fell between the window's ends (`to` is `None` for the run's end).
    NoSample {
        /// Where the window opens.
        from: u64,
        /// Where it closes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<u64>,
    },
}

impl fmt::Display for Unreached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |x: &u64| fmt_int(i128::from(*x));
        match self {
            Unreached::MissingMarker(m) => write!(f, "{m}"),
            Unreached::StoppedBefore {
                stopped_at,
                opens,
                x_unit,
            } => write!(
                f,
                "a violation stopped the run at {}, before its window opened at {}",
                x_unit.at(*stopped_at),
                n(opens)
            ),
            Unreached::OpensAfterEnd { opens, end, x_unit } => write!(
                f,
                "its window opens at {}, after the run's end at {}",
                x_unit.at(*opens),
                n(end)
            ),
            Unreached::NoSample { from, to } => write!(
                f,
                "no sample fell in its window ({} to {})",
                n(from),
                to.as_ref().map_or_else(|| "the end".to_owned(), n)
            ),
        }
    }
}

/// Why an invariant whose window had samples could not be judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum Unevaluable {
    /// A growth bound's window held fewer samples than a fit needs.
    TooFewSamples {
        /// Samples in the window.
        samples: usize,
        /// Samples a fit needs ([`MIN_GROWTH_SAMPLES`]).
        needed: usize,
        /// What the samples' x counts (the hint differs).
        x_unit: XUnit,
        /// Where a violation stopped the run inside this window, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped_at: Option<u64>,
        /// What those samples measured, as evidence (`1.20 KiB per census`): the slope
        /// through them, too few to judge; none with a single sample.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        measured: Option<String>,
    },
    /// A `retained_by` glob matched no retainer of the retainer profile: most likely a typo.
    NoMatchingRetainer {
        /// The glob.
        glob: String,
        /// Retainers the profile did have, nearest to the glob first (at most a few).
        seen: Vec<String>,
    },
    /// A `retained_by` invariant had no retainer profile to be checked on.
    NoRetainerProfile {
        /// Why (the attribution's reason: no profiling libraries, build failed, …).
        reason: String,
    },
    /// The type glob matched no label seen anywhere in the run: most likely a typo, and a
    /// count of nothing would pass on any leak.
    NoMatchingType {
        /// The glob.
        glob: String,
        /// Labels the run did have, nearest to the glob first (at most a few).
        seen: Vec<String>,
    },
}

impl fmt::Display for Unevaluable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unevaluable::TooFewSamples {
                samples,
                needed,
                x_unit,
                stopped_at,
                measured,
            } => {
                write!(
                    f,
                    "its window held {samples} sample(s) and a growth bound needs at least {needed}"
                )?;
                if let Some(x) = stopped_at {
                    write!(
                        f,
                        "; a violation stopped the run at {} {x}",
                        at_word(*x_unit)
                    )?;
                }
                if let Some(m) = measured {
                    write!(
                        f,
                        "; they measured a growth of {m}, too few samples to judge"
                    )?;
                }
                match x_unit {
                    XUnit::Cycles => write!(f, " (hint: sample more often with a smaller `sample_every` in `[run]`, or widen the window)"),
                    XUnit::Census => write!(f, " (hint: a census comes at every major GC: run the program longer, or widen the window so it holds at least {needed} censuses)"),
                    XUnit::Millis => write!(f, " (hint: sample more often with a smaller `sample_interval` in `[run]`, run the program longer, or widen the window)"),
                    XUnit::Snapshot => write!(f, " (hint: massif keeps at most 100 snapshots spread over the run: run the program longer, or widen the window so it holds at least {needed} snapshots)"),
                }
            }
            Unevaluable::NoMatchingRetainer { glob, seen } => {
                let list: Vec<String> = seen.iter().map(|l| format!("`{l}`")).collect();
                write!(
                    f,
                    "`retained_by = \"{glob}\"` matches no retainer of the retainer profile (hint: retainers seen, nearest first: {})",
                    if list.is_empty() { "none".to_owned() } else { list.join(", ") }
                )
            }
            Unevaluable::NoRetainerProfile { reason } => {
                write!(
                    f,
                    "it needs a retainer profile, and none could be made: {reason}"
                )
            }
            Unevaluable::NoMatchingType { glob, seen } => {
                write!(f, "type `{glob}` matches no label seen in the run")?;
                if seen.is_empty() {
                    write!(f, ", which had no per-type census at all")?;
                } else {
                    let list: Vec<String> = seen.iter().map(|l| format!("`{l}`")).collect();
                    write!(f, " (hint: labels seen, nearest first: {}", list.join(", "))?;
                    write!(f, "; if none is the point, write `absent = true`)")?;
                }
                Ok(())
            }
        }
    }
}

fn at_word(unit: XUnit) -> &'static str {
    unit.word()
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
    /// For a GHC program: what retains the growth and where it was built, from a profiled
    /// rerun (`source/diagnose/`), or why that was not possible. Added by the source after
    /// the check; `None` when not attempted (simulator runs, `diagnose = false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Box<crate::attribution::Attribution>>,
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
    /// The program's frames that called this allocation site, nearest first (massif only:
    /// the source's [`crate::Timeline::callers`], added after the check by
    /// [`name_callers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callers: Vec<String>,
}

impl Growth {
    /// Whether objects were counted: massif's allocation sites grow in bytes only.
    pub fn counts_objects(&self) -> bool {
        self.from_count > 0 || self.to_count > 0
    }
}

/// How many growing types a violation lists.
const TOP_GROWTH: usize = 5;

impl Violation {
    /// The multi-line explanation printed in failures, in the timeline's unit.
    pub fn explain(&self, unit: XUnit) -> String {
        let at = |x: u64| unit.at(x);
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
            if !g.counts_objects() {
                // An allocation site (massif): bytes, and no objects counted.
                let _ = writeln!(
                    s,
                    "    {:<40} {:>12} live bytes",
                    format!("`{}`", g.label),
                    format!(
                        "{}{}",
                        if g.bytes_delta >= 0 { "+" } else { "" },
                        fmt_bytes(g.bytes_delta as f64)
                    )
                );
                if let Some(c) = crate::timeline::called_from(&g.callers) {
                    let _ = writeln!(s, "      {c}");
                }
                continue;
            }
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
        if let Some(a) = &self.attribution {
            s.push_str(&a.explain(crate::attribution::Detail::Failure));
        }
        s
    }

    /// Whether the violation matches an expected culprit: the top growing type matches the
    /// glob, and the site appears in the explanation, as a creation site of that type or as a
    /// long-lived object that may hold them.
    ///
    /// With an attribution (a GHC program), the site is a function of the program that the
    /// attribution names as building the growing closures, and `culprit_retainer` one it names
    /// as retaining them; an attribution that was not possible names neither.
    pub fn names_culprit(
        &self,
        culprit_type: Option<&str>,
        culprit_site: Option<&str>,
        culprit_retainer: Option<&str>,
    ) -> Result<(), String> {
        if let Some(a) = &self.attribution {
            let unattributed = Violation {
                attribution: None,
                ..self.clone()
            };
            unattributed.names_culprit(culprit_type, None, None)?;
            return attributed(a, culprit_site, culprit_retainer);
        }
        if let Some(r) = culprit_retainer {
            return Err(format!("`expect_retainer = \"{r}\"` needs an attribution, and this violation has none (hint: it is made for GHC programs with `diagnose` on)"));
        }
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

/// Whether an attribution names the expected builder and retainer functions among the rows a
/// failure shows.
fn attributed(
    a: &crate::attribution::Attribution,
    site: Option<&str>,
    retainer: Option<&str>,
) -> Result<(), String> {
    use crate::attribution::{Attribution, SHOWN};
    if site.is_none() && retainer.is_none() {
        return Ok(());
    }
    let f = match a {
        Attribution::Found(f) => f,
        Attribution::Impossible { why } => {
            return Err(format!("attribution was not possible: {why}"));
        }
    };
    let list = |names: &[&str]| {
        if names.is_empty() {
            "none of the program's own functions".to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    if let Some(site) = site {
        let built = f.building_functions(SHOWN);
        if !built.contains(&site) {
            return Err(format!(
                "the growing closures were not built in `{site}` (built in: {})",
                list(&built)
            ));
        }
    }
    if let Some(r) = retainer {
        let retaining = f.retaining_functions(SHOWN);
        if !retaining.contains(&r) {
            return Err(format!(
                "the growth is not retained by `{r}` (retained by: {})",
                list(&retaining)
            ));
        }
    }
    Ok(())
}

/// Checks a scenario's invariants sample by sample.
#[derive(Debug)]
pub struct Checker<'a> {
    invariants: Vec<State<'a>>,
    /// The run's first sample: growth is explained from here when a window's first sample is
    /// the violating one (a bound already broken when the window opens).
    run_first: Option<Sample>,
    /// The labels seen in the run, so that a glob matching none of them (a typo) is reported
    /// at the end instead of passing.
    labels: Labels<'a>,
}

/// Type labels seen in a run, tracked only while some invariant's glob has matched none:
/// once every glob has matched a label, a sample costs one emptiness test.
#[derive(Debug, Default)]
struct Labels<'a> {
    /// Every label seen while some glob was unmatched, i.e. all of them when one stays so.
    seen: BTreeSet<crate::timeline::Label>,
    /// The globs of type bounds (other than `absent`) that no label seen has matched yet:
    /// sets, since each invariant asks once at the end. Exact labels (no `*`) are matched by
    /// lookup, so a label costs one lookup plus a test per unmatched glob with a `*`.
    unmatched: BTreeSet<&'a str>,
    unmatched_globs: BTreeSet<&'a str>,
}

impl<'a> Labels<'a> {
    fn new(globs: impl Iterator<Item = &'a str>) -> Self {
        let (globs, exact): (BTreeSet<&str>, BTreeSet<&str>) = globs.partition(|g| g.contains('*'));
        Labels {
            seen: BTreeSet::new(),
            unmatched: exact,
            unmatched_globs: globs,
        }
    }

    fn observe(&mut self, sample: &Sample) {
        if self.unmatched.is_empty() && self.unmatched_globs.is_empty() {
            return;
        }
        for label in sample.types.keys() {
            if !self.seen.contains(label) {
                self.unmatched.remove(label.as_str());
                self.unmatched_globs.retain(|g| !glob_match(g, label));
                self.seen.insert(label.clone());
            }
        }
    }

    fn matched(&self, glob: &str) -> bool {
        !self.unmatched.contains(glob) && !self.unmatched_globs.contains(glob)
    }
}

#[derive(Debug)]
struct State<'a> {
    inv: &'a Invariant,
    x_unit: XUnit,
    window: Option<(u64, u64)>,
    /// The window's first sample, shared by every invariant whose window opened at it: one
    /// copy per sample, not one per invariant (200,000 invariants held 200,000 copies).
    first: Option<std::sync::Arc<Sample>>,
    fit: Fit,
    samples: usize,
    violation: Option<Violation>,
    unresolved: Option<Unreached>,
}

impl<'a> Checker<'a> {
    /// A checker for a run whose end is known in advance (simulator runs). For profiles read
    /// after the fact, pass the last sample's position.
    pub fn new(plan: impl Into<Plan<'a>>, end: u64, marks: &[Mark]) -> Self {
        let plan = plan.into();
        let invariants = plan
            .invariants
            .iter()
            .map(|inv| {
                let (window, unresolved) = match window_of(&plan, &inv.during, end, marks) {
                    Ok(w) => (Some(w), None),
                    Err(e) => (None, Some(e)),
                };
                State {
                    inv,
                    x_unit: plan.x_unit,
                    window,
                    first: None,
                    fit: Fit::default(),
                    samples: 0,
                    violation: None,
                    unresolved,
                }
            })
            .collect();
        let labels = Labels::new(
            plan.invariants
                .iter()
                .filter_map(|i| must_match(&i.predicate)),
        );
        Checker {
            invariants,
            run_first: None,
            labels,
        }
    }

    /// Places the windows again, from `windows`: a scenario with the same invariants in the same
    /// order, whose windows now resolve differently (the live watch learns a marker's census
    /// only as the run goes). What each invariant has seen is kept, which is what a check from
    /// the start would have seen as long as a window only moves where no sample has been
    /// checked yet: a marker is placed at the census about to be checked, never before.
    pub fn rewindow<'w>(&mut self, windows: impl Into<Plan<'w>>, end: u64, marks: &[Mark]) {
        let windows = windows.into();
        for (st, inv) in self.invariants.iter_mut().zip(windows.invariants) {
            debug_assert_eq!(st.inv.name, inv.name);
            (st.window, st.unresolved) = match window_of(&windows, &inv.during, end, marks) {
                Ok(w) => (Some(w), None),
                Err(e) => (None, Some(e)),
            };
        }
    }

    /// Checks one more sample; returns the first violation it causes. After a violation the
    /// caller stops the run: this is the fail-fast point.
    pub fn check(&mut self, sample: &Sample) -> Option<&Violation> {
        let mut hit = None;
        if self.run_first.is_none() {
            self.run_first = Some(sample.clone());
        }
        self.labels.observe(sample);
        let mut shared: Option<std::sync::Arc<Sample>> = None;
        for (i, st) in self.invariants.iter_mut().enumerate() {
            if st.violation.is_some() {
                continue;
            }
            let Some((a, b)) = st.window else { continue };
            if sample.x < a || sample.x > b {
                continue;
            }
            if st.first.is_none() {
                st.first = Some(
                    shared
                        .get_or_insert_with(|| std::sync::Arc::new(sample.clone()))
                        .clone(),
                );
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

    /// Each invariant's outcome, in scenario order. Held only when its window had samples
    /// enough to judge it and, for a type bound, its glob named a type of the run.
    pub fn outcomes(&self) -> Vec<(String, Outcome)> {
        let stop = self
            .invariants
            .iter()
            .filter_map(|st| st.violation.as_ref().map(|v| v.x))
            .min();
        self.invariants
            .iter()
            .map(|st| (st.inv.name.clone(), self.outcome(st, stop)))
            .collect()
    }

    fn outcome(&self, st: &State<'_>, stop: Option<u64>) -> Outcome {
        let unit = st.x_unit;
        if let Some(v) = &st.violation {
            return Outcome::Violated(v.clone());
        }
        let (a, b) = match (st.window, &st.unresolved) {
            (Some(w), _) => w,
            (None, reason) => {
                return Outcome::NotReached {
                    // A window is resolved or has a reason; both missing cannot happen, and
                    // then "no sample from 0" is the honest reading.
                    reason: reason
                        .clone()
                        .unwrap_or(Unreached::NoSample { from: 0, to: None }),
                    stopped_at: None,
                };
            }
        };
        if st.samples == 0 {
            let reason = match stop {
                Some(x) if x < a => Unreached::StoppedBefore {
                    stopped_at: x,
                    opens: a,
                    x_unit: unit,
                },
                _ if a > b => Unreached::OpensAfterEnd {
                    opens: a,
                    end: b,
                    x_unit: unit,
                },
                _ => Unreached::NoSample {
                    from: a,
                    to: (b != u64::MAX).then_some(b),
                },
            };
            let stopped_at = match reason {
                Unreached::StoppedBefore { stopped_at, .. } => Some(stopped_at),
                _ => None,
            };
            return Outcome::NotReached { reason, stopped_at };
        }
        if let Some(glob) = must_match(&st.inv.predicate).filter(|g| !self.labels.matched(g)) {
            let mut near = nearest_first(glob, self.labels.seen.iter().map(Label::as_str));
            near.truncate(SEEN_LABELS);
            let seen = near.into_iter().map(str::to_owned).collect();
            return Outcome::NotEvaluable {
                reason: Unevaluable::NoMatchingType {
                    glob: glob.to_owned(),
                    seen,
                },
            };
        }
        let growth = matches!(
            st.inv.predicate,
            Predicate::TypeGrowth { .. }
                | Predicate::TypeBytesGrowth { .. }
                | Predicate::LiveBytesGrowth(_)
        );
        if growth && st.samples < MIN_GROWTH_SAMPLES {
            let measured = st.fit.slope().map(|(slope, _)| {
                let g = slope * unit.per();
                match st.inv.predicate {
                    Predicate::TypeGrowth { .. } => format!("{g:.1} objects {}", unit.per_name()),
                    _ => format!("{} {}", fmt_bytes(g), unit.per_name()),
                }
            });
            return Outcome::NotEvaluable {
                reason: Unevaluable::TooFewSamples {
                    samples: st.samples,
                    needed: MIN_GROWTH_SAMPLES,
                    x_unit: unit,
                    stopped_at: stop.filter(|x| *x <= b),
                    measured,
                },
            };
        }
        Outcome::Held {
            samples: st.samples,
        }
    }
}

/// The glob of a type bound that must match some label of the run to mean anything.
/// `absent = true` is the one type bound for which matching nothing is the point.
fn must_match(p: &Predicate) -> Option<&str> {
    match p {
        Predicate::TypeCount { glob, .. }
        | Predicate::TypeGrowth { glob, .. }
        | Predicate::TypeBytesMax { glob, .. }
        | Predicate::TypeBytesGrowth { glob, .. } => Some(glob),
        Predicate::TypeAbsent(_) | Predicate::LiveBytesMax(_) | Predicate::LiveBytesGrowth(_) => {
            None
        }
    }
}

/// Checks a whole timeline after the fact (profiles of external programs), stopping at the
/// first violation like a live run would.
pub fn check_timeline<'a>(
    plan: impl Into<Plan<'a>>,
    tl: &crate::Timeline,
) -> (Vec<(String, Outcome)>, Option<u64>) {
    let plan = plan.into();
    let end = plan.end(tl.end());
    let mut checker = Checker::new(plan, end, &tl.marks);
    let mut stopped = None;
    for s in &tl.samples {
        if checker.check(s).is_some() {
            stopped = Some(s.x);
            break;
        }
    }
    let mut outcomes = checker.outcomes();
    name_callers(&mut outcomes, &tl.callers);
    (outcomes, stopped)
}

/// Gives each growing label of the violations among `outcomes` its callers, as the source
/// found them (`Timeline::callers`): the checker sees samples, and a source's stacks are of
/// the whole run, so they are added to its verdicts afterwards.
pub fn name_callers(
    outcomes: &mut [(String, Outcome)],
    callers: &std::collections::BTreeMap<String, Vec<String>>,
) {
    if callers.is_empty() {
        return;
    }
    for (_, o) in outcomes {
        if let Outcome::Violated(v) = o {
            for g in &mut v.top_growth {
                if let Some(c) = callers.get(&g.label) {
                    g.callers.clone_from(c);
                }
            }
        }
    }
}

/// Outcomes by invariant name, so that pairing each invariant with its outcome is linear in
/// their number (a scan per invariant was quadratic: minutes at 200,000 invariants). The first
/// outcome of a name wins, as a scan would have found it.
pub fn outcomes_by_name(
    outcomes: &[(String, Outcome)],
) -> std::collections::HashMap<&str, &Outcome> {
    let mut by_name = std::collections::HashMap::with_capacity(outcomes.len());
    for (name, o) in outcomes {
        by_name.entry(name.as_str()).or_insert(o);
    }
    by_name
}

fn window_of(
    plan: &Plan<'_>,
    w: &Window,
    end: u64,
    marks: &[Mark],
) -> Result<(u64, u64), Unreached> {
    let both = |a, b| -> Result<(u64, u64), Unreached> {
        let a = resolve(a, end, marks).map_err(Unreached::MissingMarker)?;
        let b = resolve(b, end, marks).map_err(Unreached::MissingMarker)?;
        Ok((a, b))
    };
    match w {
        Window::Always => Ok((0, u64::MAX)),
        // Validation refuses a window naming an undefined phase; should one slip through, an
        // always-open window checks more, never less.
        Window::Phase(name) => match plan.phase(name) {
            Some(p) => both(&p.from, &p.to),
            None => Ok((0, u64::MAX)),
        },
        Window::Range(a, b) => both(a, b),
    }
}

/// The types of a sample a glob matches. A glob without `*` names one label, looked up in
/// the map: the cost of a sample is then one lookup per invariant, whatever the labels, where
/// matching it against every label made many invariants on many types quadratic.
fn matching<'s>(
    sample: &'s Sample,
    glob: &'s str,
) -> impl Iterator<Item = (&'s crate::timeline::Label, &'s crate::TypeSample)> {
    let exact = !glob.contains('*');
    let one = if exact {
        sample.types.get_key_value(glob)
    } else {
        None
    };
    let all = (!exact).then(|| {
        sample
            .types
            .iter()
            .filter(move |(l, _)| glob_match(glob, l))
    });
    one.into_iter().chain(all.into_iter().flatten())
}

fn evaluate(st: &mut State<'_>, sample: &Sample, run_first: Option<&Sample>) -> Option<Violation> {
    let (predicate, value) = broken(st, sample)?;
    let window_first = st.first.as_deref().unwrap_or(sample);
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
        attribution: None,
    })
}

/// Tests the invariant's predicate at one more sample (feeding its growth fit): `None` when it
/// holds, else the predicate and the value found, in words. Worded only on a violation: a
/// passing run tests every invariant at every census and formats nothing.
fn broken(st: &mut State<'_>, sample: &Sample) -> Option<(String, String)> {
    let per_name = st.x_unit.per_name();
    // The invariant outlives the state: matching on it leaves the state free to feed the fit.
    let inv = st.inv;
    match &inv.predicate {
        Predicate::TypeAbsent(g) => type_absent_broken(sample, g),
        Predicate::TypeBytesMax { glob, max } => {
            let b: u64 = matching(sample, glob).map(|(_, t)| t.bytes).sum();
            fails(b <= *max, || {
                (
                    format!("live bytes of `{glob}` ≤ {}", fmt_bytes(*max as f64)),
                    fmt_bytes(b as f64),
                )
            })
        }
        Predicate::TypeBytesGrowth { glob, max } => {
            let b: u64 = matching(sample, glob).map(|(_, t)| t.bytes).sum();
            let g = fed_growth(st, sample.x, b as f64);
            fails(g.is_none_or(|g| g <= *max), || {
                (
                    format!("growth of `{glob}` ≤ {} {per_name}", fmt_bytes(*max)),
                    format!("{} {per_name}", fmt_bytes(g.unwrap_or(0.0))),
                )
            })
        }
        Predicate::TypeCount { glob, cmp, n } => type_count_broken(sample, glob, *cmp, *n),
        Predicate::TypeGrowth { glob, max } => {
            let c: u64 = matching(sample, glob).map(|(_, t)| t.count).sum();
            let g = fed_growth(st, sample.x, c as f64);
            fails(g.is_none_or(|g| g <= *max), || {
                (
                    format!("growth of `{glob}` ≤ {max} {per_name}"),
                    format!("{:.1} {per_name}", g.unwrap_or(0.0)),
                )
            })
        }
        Predicate::LiveBytesMax(max) => fails(sample.live_bytes <= *max, || {
            (
                format!(
                    "{} ≤ {}",
                    st.x_unit.residency_words(),
                    fmt_bytes(*max as f64)
                ),
                fmt_bytes(sample.live_bytes as f64),
            )
        }),
        Predicate::LiveBytesGrowth(max) => {
            let g = fed_growth(st, sample.x, sample.live_bytes as f64);
            let x_unit = st.x_unit;
            fails(g.is_none_or(|g| g <= *max), || {
                (
                    format!("{} ≤ {} {per_name}", x_unit.growth_words(), fmt_bytes(*max)),
                    format!("{} {per_name}", fmt_bytes(g.unwrap_or(0.0))),
                )
            })
        }
    }
}

/// `None` when the predicate holds, else its words: a function so the words are formatted
/// only on a violation.
fn fails(ok: bool, words: impl FnOnce() -> (String, String)) -> Option<(String, String)> {
    (!ok).then(words)
}

/// Feeds one more point to the invariant's growth fit and returns the growth per unit of the
/// run's x, once the fit has enough samples: the growth predicates share this step.
fn fed_growth(st: &mut State<'_>, x: u64, value: f64) -> Option<f64> {
    st.fit.push(x as f64, value);
    growth(&st.fit, st.x_unit.per())
}

/// `absent = true` at one sample: no live objects of the glob, and (as massif's sites have
/// bytes and no counts) no live bytes either.
fn type_absent_broken(sample: &Sample, g: &str) -> Option<(String, String)> {
    let n: u64 = matching(sample, g).map(|(_, t)| t.count).sum();
    // massif's sites have bytes and no counts: bytes count as presence too.
    let bytes: u64 = matching(sample, g).map(|(_, t)| t.bytes).sum();
    fails(n == 0 && bytes == 0, || {
        let found = if n == 0 && bytes > 0 {
            format!("{} live", fmt_bytes(bytes as f64))
        } else {
            format!("{} live", fmt_int(n as i128))
        };
        (format!("no live `{g}`"), found)
    })
}

/// A count bound (`max_count`, `min_count`, `count`) on the glob's live objects at one sample.
fn type_count_broken(sample: &Sample, glob: &str, cmp: Cmp, n: u64) -> Option<(String, String)> {
    let c: u64 = matching(sample, glob).map(|(_, t)| t.count).sum();
    let (ok, op) = match cmp {
        Cmp::AtMost => (c <= n, "≤"),
        Cmp::AtLeast => (c >= n, "≥"),
        Cmp::Exactly => (c == n, "=="),
    };
    fails(ok, || {
        (
            format!("count of `{glob}` {op} {}", fmt_int(n as i128)),
            fmt_int(c as i128),
        )
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
                label: label.to_string(),
                from_count,
                to_count: t.count,
                bytes_delta,
                sites: t.sites.clone(),
                callers: Vec::new(),
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
                    label: label.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Timeline, TypeSample};
    use std::path::Path;

    /// A simulator scenario of 10,000 cycles sampled every 1,000, with these invariants.
    fn sim(invariants: &str) -> String {
        format!(
            "description = \"t\"\n[run]\nsimulator = \"register_wb\"\ncycles = 10_000\nsample_every = 1_000\n[phases]\nsteady = {{ cycles = [3_000, \"end\"] }}\n{invariants}"
        )
    }

    /// An external program's scenario (x in censuses) with a marker phase and these invariants.
    fn ghc(invariants: &str) -> String {
        format!(
            "description = \"t\"\n[run]\ncommand = [\"prog\"]\n[phases]\nsteady = {{ markers = [\"steady\", \"end\"] }}\n{invariants}"
        )
    }

    /// A sample at `x` with `live` bytes and these (label, count) types of 16 bytes each.
    fn at(x: u64, live: u64, types: &[(&str, u64)]) -> Sample {
        Sample {
            x,
            live_bytes: live,
            types: types
                .iter()
                .map(|(l, n)| {
                    let t = TypeSample {
                        count: *n,
                        bytes: n * 16,
                        ..Default::default()
                    };
                    ((*l).into(), t)
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Samples every 1,000 cycles from 0 to 10,000: `f(x)` gives (live bytes, types).
    fn every_kcycle(f: impl Fn(u64) -> (u64, Vec<(&'static str, u64)>)) -> Vec<Sample> {
        (0..=10)
            .map(|k| {
                let (live, types) = f(k * 1000);
                at(k * 1000, live, &types)
            })
            .collect()
    }

    /// Scenario in, verdict out: runs the checker over the samples (with these marks) and
    /// asserts that the rendered outcomes and judge's problems contain every `expect` line.
    fn check_marked(toml: &str, samples: Vec<Sample>, marks: &[(u64, &str)], expect: &[&str]) {
        let s = crate::scenario::parse(Path::new("t.toml"), toml, &sim::circuits::catalog())
            .unwrap_or_else(|e| panic!("scenario should be valid: {e}"));
        let mut tl = Timeline::new("test", s.x_unit());
        tl.samples = samples;
        tl.marks = marks
            .iter()
            .map(|(x, l)| Mark {
                x: *x,
                label: l.to_string(),
            })
            .collect();
        let (outcomes, stopped) = check_timeline(&s, &tl);
        let mut got = String::new();
        if let Some(x) = stopped {
            let _ = writeln!(got, "stopped at {x}");
        }
        for (name, o) in &outcomes {
            let _ = match o {
                Outcome::Held { samples } => writeln!(got, "{name}: held ({samples} samples)"),
                Outcome::Violated(v) => writeln!(
                    got,
                    "{name}: violated at {}: {}, found {}",
                    v.x, v.predicate, v.value
                ),
                Outcome::NotReached { reason, .. } => {
                    writeln!(got, "{name}: not reached: {reason}")
                }
                Outcome::NotEvaluable { reason } => {
                    writeln!(got, "{name}: not evaluable: {reason}")
                }
            };
        }
        let problems = crate::judge::invariants::problems(&s, &outcomes);
        if problems.is_empty() {
            got.push_str("PASS\n");
        }
        for (name, p) in problems.iter().map(|p| (p.invariant.clone(), p.message())) {
            assert!(
                p.contains(&format!("`{name}`")),
                "a problem names its invariant: {p}"
            );
            let _ = writeln!(got, "problem: {p}");
        }
        for e in expect {
            assert!(got.contains(e), "expected\n  {e}\nin\n{got}");
        }
        if expect.contains(&"PASS") {
            assert!(!got.contains("problem:"), "{got}");
        }
    }

    fn check(toml: &str, samples: Vec<Sample>, expect: &[&str]) {
        check_marked(toml, samples, &[], expect)
    }

    const CONS: &str = "Signal<Bool>::Cons";
    const THUNK: &str = "Lazy<u64>::Thunk";

    fn flat(x: u64) -> (u64, Vec<(&'static str, u64)>) {
        let _ = x;
        (10_000, vec![(CONS, 100), (THUNK, 2)])
    }

    fn leaking(x: u64) -> (u64, Vec<(&'static str, u64)>) {
        (10_000 + 16 * x, vec![(CONS, 100 + x), (THUNK, 2)])
    }

    #[test]
    fn absent() {
        let inv = "[[invariant]]\nname = \"no thunks\"\ntype = \"Lazy<*>::Thunk\"\nabsent = true\n";
        check(
            &sim(inv),
            every_kcycle(flat),
            &[
                "no thunks: violated at 0: no live `Lazy<*>::Thunk`, found 2 live",
                "problem:",
            ],
        );
        // Matching no label is what `absent` asks for: it holds, and is no typo.
        let inv =
            "[[invariant]]\nname = \"no u8 thunks\"\ntype = \"Lazy<u8>::Thunk\"\nabsent = true\n";
        check(
            &sim(inv),
            every_kcycle(flat),
            &["no u8 thunks: held (11 samples)", "PASS"],
        );
    }

    #[test]
    fn counts() {
        let bound = |key: &str, n: u64| {
            format!("[[invariant]]\nname = \"cells\"\ntype = \"Signal<*>::Cons\"\n{key} = {n}\n")
        };
        check(
            &sim(&bound("max_count", 100)),
            every_kcycle(flat),
            &["cells: held (11 samples)", "PASS"],
        );
        check(
            &sim(&bound("max_count", 99)),
            every_kcycle(flat),
            &[
                "cells: violated at 0: count of `Signal<*>::Cons` ≤ 99, found 100",
                "stopped at 0",
            ],
        );
        check(
            &sim(&bound("min_count", 100)),
            every_kcycle(flat),
            &["PASS"],
        );
        check(
            &sim(&bound("min_count", 101)),
            every_kcycle(flat),
            &["violated at 0: count of `Signal<*>::Cons` ≥ 101"],
        );
        check(&sim(&bound("count", 100)), every_kcycle(flat), &["PASS"]);
        check(
            &sim(&bound("count", 100)),
            every_kcycle(leaking),
            &["violated at 1000: count of `Signal<*>::Cons` == 100, found 1,100"],
        );
    }

    #[test]
    fn type_growth() {
        let inv = "[[invariant]]\nname = \"cells flat\"\nduring = \"steady\"\ntype = \"Signal<*>::Cons\"\nmax_growth_per_kcycle = 10\n";
        check(
            &sim(inv),
            every_kcycle(flat),
            &["cells flat: held (8 samples)", "PASS"],
        );
        // 1,000 cells per 1,000 cycles; judged at the fifth sample of the window (3,000..7,000).
        check(
            &sim(inv),
            every_kcycle(leaking),
            &["cells flat: violated at 7000: growth of `Signal<*>::Cons` ≤ 10 per 1000 cycles, found 1000.0 per 1000 cycles"],
        );
    }

    #[test]
    fn live_bytes_bounds() {
        let max = "[[invariant]]\nname = \"bounded\"\nmetric = \"live_bytes\"\nmax = \"64 KiB\"\n";
        check(
            &sim(max),
            every_kcycle(flat),
            &["bounded: held (11 samples)", "PASS"],
        );
        check(
            &sim(max),
            every_kcycle(leaking),
            &["bounded: violated at 4000: live bytes ≤ 64.0 KiB, found 72.3 KiB"],
        );
        // A growth bound in bytes: 16 KiB per 1,000 cycles is within "16 KiB", not within "1 KiB".
        let growth = |b: &str| {
            format!("[[invariant]]\nname = \"no growth\"\nduring = \"steady\"\nmetric = \"live_bytes\"\nmax_growth_per_kcycle = \"{b}\"\n")
        };
        check(
            &sim(&growth("16 KiB")),
            every_kcycle(leaking),
            &["no growth: held (8 samples)", "PASS"],
        );
        check(&sim(&growth("1 KiB")), every_kcycle(leaking), &["no growth: violated at 7000: live-byte growth ≤ 1.00 KiB per 1000 cycles, found 15.6 KiB per 1000 cycles"]);
    }

    #[test]
    fn windows() {
        // A leak before the window opens does not count; from its first sample it does.
        let range = "[[invariant]]\nname = \"late\"\ncycles = [8_000, \"end\"]\ntype = \"Signal<*>::Cons\"\nmax_count = 8_100\n";
        check(
            &sim(range),
            every_kcycle(leaking),
            &["late: violated at 9000", "stopped at 9000"],
        );
        let early = "[[invariant]]\nname = \"early\"\ncycles = [0, \"20%\"]\ntype = \"Signal<*>::Cons\"\nmax_count = 2_100\n";
        check(
            &sim(early),
            every_kcycle(leaking),
            &["early: held (3 samples)", "PASS"],
        );
        // Marker phases of external programs resolve against the profile's marks.
        let inv = "[[invariant]]\nname = \"steady heap\"\nduring = \"steady\"\nmetric = \"heap\"\nmax = 20_000\n";
        let censuses: Vec<Sample> = (0..8)
            .map(|k| at(k, if k < 3 { 50_000 } else { 10_000 }, &[(CONS, 5)]))
            .collect();
        check_marked(
            &ghc(inv),
            censuses.clone(),
            &[(3, "steady")],
            &["steady heap: held (5 samples)", "PASS"],
        );
        check_marked(&ghc(inv), censuses, &[(3, "stedy")], &["steady heap: not reached: marker `steady` does not occur in the profile (markers seen: stedy)", "problem: invariant `steady heap` was never checked"]);
    }

    #[test]
    fn too_few_samples_for_a_growth_fit_is_not_evaluable() {
        // Four censuses in the window of a leak that doubles each time: never "held".
        let inv = "[[invariant]]\nname = \"no growth\"\nduring = \"steady\"\nmetric = \"heap\"\nmax_growth_per_census = 0\n";
        let censuses: Vec<Sample> = (0..6).map(|k| at(k, 1 << (10 + k), &[(CONS, 5)])).collect();
        check_marked(
            &ghc(inv),
            censuses,
            &[(2, "steady")],
            &[
                "no growth: not evaluable: its window held 4 sample(s) and a growth bound needs at least 5",
                "problem: invariant `no growth` could not be evaluated",
                "run the program longer",
                // What was measured shows, as evidence: 4, 8, 16, 32 KiB fit 9.2 KiB a census.
                "they measured a growth of 9.20 KiB per census, too few samples to judge",
            ],
        );
        // Expected violations are no exception: an undecidable check never passes.
        let inv = "[[invariant]]\nname = \"leak\"\nmetric = \"heap\"\nmax_growth_per_census = 0\nexpect = \"violated\"\n";
        let censuses: Vec<Sample> = (0..3).map(|k| at(k, 1 << (10 + k), &[])).collect();
        check(
            &ghc(inv),
            censuses,
            &[
                "leak: not evaluable: its window held 3 sample(s)",
                "problem: invariant `leak` could not be evaluated",
            ],
        );
    }

    #[test]
    fn a_growth_window_cut_short_by_another_violation_is_not_evaluable() {
        let invs = "[[invariant]]\nname = \"cells\"\ntype = \"Signal<*>::Cons\"\nmax_count = 2_500\n\
                    [[invariant]]\nname = \"no growth\"\nmetric = \"live_bytes\"\nmax_growth_per_kcycle = 0\n";
        check(
            &sim(invs),
            every_kcycle(leaking),
            &[
                "stopped at 3000",
                "cells: violated at 3000",
                "no growth: not evaluable: its window held 4 sample(s) and a growth bound needs at least 5; a violation stopped the run at cycle 3000",
            ],
        );
    }

    #[test]
    fn a_glob_that_matches_no_label_fails_and_lists_the_labels_seen() {
        let inv =
            "[[invariant]]\nname = \"cells\"\ntype = \"Signal<Nope>::Cons\"\nmax_count = 1_000\n";
        check(
            &sim(inv),
            every_kcycle(leaking),
            &[
                "cells: not evaluable: type `Signal<Nope>::Cons` matches no label seen in the run (hint: labels seen, nearest first: `Signal<Bool>::Cons`, `Lazy<u64>::Thunk`; if none is the point, write `absent = true`)",
                "problem: invariant `cells` could not be evaluated",
            ],
        );
        let inv = "[[invariant]]\nname = \"cells flat\"\ntype = \"Signal<Nope>::Cons\"\nmax_growth_per_kcycle = 0\n";
        check(
            &sim(inv),
            every_kcycle(leaking),
            &["cells flat: not evaluable: type `Signal<Nope>::Cons` matches no label"],
        );
        // A label seen only outside the window is no typo: none in the window is a true count.
        let inv = "[[invariant]]\nname = \"late cells\"\ncycles = [5_000, \"end\"]\ntype = \"Signal<*>::Cons\"\nmax_count = 0\n";
        let gone = every_kcycle(|x| (1000, if x < 5000 { vec![(CONS, 1)] } else { vec![] }));
        check(&sim(inv), gone, &["late cells: held (6 samples)", "PASS"]);
    }

    #[test]
    fn not_reached_is_never_excused() {
        // `late` opens at census 5, after the violation at census 2 stopped the run: it was
        // never checked, which is a problem of its own.
        let invs = "[[invariant]]\nname = \"bounded\"\nmetric = \"heap\"\nmax = 10_000\n\
                    [[invariant]]\nname = \"late\"\ncensus = [5, \"end\"]\nmetric = \"heap\"\nmax = 100_000\n";
        let censuses: Vec<Sample> = (0..8).map(|k| at(k, 5_000 * (k + 1), &[])).collect();
        check(
            &ghc(invs),
            censuses,
            &["bounded: violated at 2", "late: not reached: a violation stopped the run at census 2, before its window opened at 5", "problem: invariant `late` was never checked: a violation stopped the run"],
        );
        // With no violation, a window without samples is a failure.
        let inv = "[[invariant]]\nname = \"late\"\ncensus = [50, \"end\"]\nmetric = \"heap\"\nmax = 100_000\n";
        let censuses: Vec<Sample> = (0..8).map(|k| at(k, 5_000, &[])).collect();
        check(
            &ghc(inv),
            censuses,
            &[
                "late: not reached: its window opens at census 50, after the run's end at 7",
                "problem: invariant `late` was never checked",
            ],
        );
    }

    #[test]
    fn only_evaluated_outcomes_are_as_declared() {
        let not_reached = |stopped_at| Outcome::NotReached {
            reason: Unreached::NoSample { from: 0, to: None },
            stopped_at,
        };
        let unevaluable = Outcome::NotEvaluable {
            reason: Unevaluable::NoMatchingType {
                glob: "x".into(),
                seen: vec![],
            },
        };
        // (outcome, declared as expected to hold, declared as expected to be violated)
        let cases = [
            (Outcome::Held { samples: 5 }, true, false),
            (not_reached(Some(3)), false, false),
            (not_reached(None), false, false),
            (unevaluable, false, false),
        ];
        for (o, holds, violated) in cases {
            assert_eq!(o.as_declared(false), holds, "{o:?}");
            assert_eq!(o.as_declared(true), violated, "{o:?}");
        }
    }

    /// 20,000 invariants, each on its own type of 20,000, judged end to end: every step that
    /// pairs an invariant with something (its outcome, its type in a sample, its glob's
    /// match, its record) goes through a map or a set, so this is linear; it was quadratic
    /// (116 s at 200,000).
    #[test]
    fn many_invariants_are_checked_and_judged_one_by_one() {
        const N: usize = 20_000;
        let mut invs = String::new();
        for i in 0..N {
            let _ = write!(
                invs,
                "[[invariant]]\nname = \"n{i}\"\ntype = \"T{i}\"\nmax_count = 10\n"
            );
        }
        let s = crate::scenario::parse(
            std::path::Path::new("scenarios/t.toml"),
            &sim(&invs),
            &sim::circuits::catalog(),
        )
        .expect("valid");
        assert_eq!(s.invariants.len(), N);
        // Every glob but the last matches a label: the last one's typo is still found.
        let types: Vec<(String, u64)> = (0..N - 1).map(|i| (format!("T{i}"), 1)).collect();
        let samples: Vec<Sample> = (0..5u64)
            .map(|k| {
                let t: Vec<(&str, u64)> = types.iter().map(|(l, c)| (l.as_str(), *c)).collect();
                at(k * 1000, 1000, &t)
            })
            .collect();
        let mut tl = Timeline::new("test", XUnit::Cycles);
        tl.samples = samples;
        let (outcomes, stopped) = check_timeline(&s, &tl);
        assert_eq!(stopped, None);
        let problems = crate::judge::invariants::problems(&s, &outcomes);
        assert_eq!(problems.len(), 1, "{:?}", problems.first());
        assert_eq!(problems[0].invariant, format!("n{}", N - 1));
        let record = crate::store::Baseline::from_run(
            &s,
            &crate::measure::metrics::Measurement::default(),
            &outcomes,
            crate::store::ChartTimeline::default(),
            Default::default(),
        );
        assert_eq!(record.invariants.len(), N);
    }

    #[test]
    fn expected_violations_must_happen_and_name_their_culprit() {
        let inv = "[[invariant]]\nname = \"cells\"\ntype = \"Signal<*>::Cons\"\nmax_count = 1_000\nexpect = \"violated\"\nexpect_type = \"Signal<Bool>::Cons\"\n";
        check(
            &sim(inv),
            every_kcycle(leaking),
            &["cells: violated at 1000", "PASS"],
        );
        check(
            &sim(inv),
            every_kcycle(flat),
            &["problem: invariant `cells` was expected to be violated but held at all 11 samples"],
        );
        let wrong = inv.replace(
            "expect_type = \"Signal<Bool>::Cons\"",
            "expect_type = \"Lazy<*>::Thunk\"",
        );
        check(
            &sim(&wrong),
            every_kcycle(leaking),
            &["does not name the culprit: the top growing type is `Signal<Bool>::Cons`"],
        );
    }
}
