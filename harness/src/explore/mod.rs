//! `explore`: runs a program at several lengths and proposes the memory invariants it keeps.
//!
//! The first question of a leak hunt is which invariant the program should keep. `explore`
//! answers it from evidence: it runs the scenario at two or more lengths (a simulator's
//! `cycles`, or the `length` that a command's `{n}` argument stands for; N and 4·N by default),
//! finds where the warm-up ends (the scenario's `steady` phase, the program's `steady` marker,
//! or where the labels settle), and classifies every label ([`classify`]): exactly k, bounded,
//! gone after init, growing (a suspected leak) or noise. [`propose`] turns the classes into
//! invariants with their evidence as comments, and keeps only those the checker finds holding
//! on every run it made, so it never proposes a bound it did not see hold.
//!
//! ```no_run
//! # use membound::{explore, scenario, source::RunConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let s = scenario::load("scenarios/register_wb.toml".as_ref(), &sim::circuits::catalog())?;
//! # let cfg: RunConfig = todo!();
//! let text = std::fs::read_to_string("scenarios/register_wb.toml")?;
//! let found = explore::explore(&s, &text, &sim::circuits::catalog(), &cfg, &explore::Options { lengths: vec![20_000, 80_000] }, &mut |_| {})?;
//! println!("{}", explore::render(&found));
//! # Ok(()) }
//! ```
//!
//! What it must not do: bless or write anything (front ends write the proposal), or turn a
//! growing label into an invariant that would pass it.

pub mod classify;
pub mod propose;

use crate::errors::RunError;
use crate::scenario::Scenario;
use crate::source::{self, Event, RunConfig};
use crate::spec::invariant::Endpoint;
use crate::timeline::{Sample, SampleSink, Timeline};
use crate::units::fmt_int;
use crate::XUnit;
use classify::{Basis, ExploredRun, LabelEvidence, Warmup};
use std::fmt::Write as _;

/// How to explore.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The lengths to run at; empty for the scenario's own length and four times it (or, for
    /// a command without `{n}`, its one run).
    pub lengths: Vec<u64>,
}

/// Why an exploration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// Lengths were asked of a scenario whose length cannot be varied.
    #[error("scenario `{0}` has no length to vary (hint: write `{{n}}` where the program takes its length in `command`, and `length = N` in `[run]`; or explore it along one run without `--lengths`)")]
    NoLength(String),
    /// A length of 0 was asked.
    #[error("lengths must be at least 1")]
    ZeroLength,
    /// A run failed.
    #[error("the run at {} failed: {error}", length.map_or("its own length".to_owned(), |n| format!("length {}", fmt_int(i128::from(n)))))]
    Run {
        /// The length it ran at.
        length: Option<u64>,
        /// Why.
        error: RunError,
    },
    /// A run produced no sample.
    #[error("the run at {} produced no sample (for a GHC program: was it built with -rtsopts -eventlog, and did it run long enough for a census?)", length.map_or("its own length".to_owned(), |n| format!("length {}", fmt_int(i128::from(n)))))]
    NoSamples {
        /// The length it ran at.
        length: Option<u64>,
    },
    /// The proposal did not parse back as a scenario: a bug, reported rather than written.
    #[error("the proposed scenario is invalid: {0}")]
    Proposal(String),
}

/// What an exploration found and proposes.
#[derive(Debug, Clone)]
pub struct Exploration {
    /// The scenario explored.
    pub scenario: String,
    /// What x counts.
    pub x_unit: XUnit,
    /// The lengths run, shortest first (`None`: one run at the scenario's own length).
    pub lengths: Vec<Option<u64>>,
    /// Where the warm-up ends.
    pub warmup: Warmup,
    /// The whole heap's residency first, then every label, sorted.
    pub evidence: Vec<LabelEvidence>,
    /// The proposed scenario and what was left out of it.
    pub proposal: propose::Proposal,
    /// Each label's figure (and the whole heap's, first) at every sample of every run, in the
    /// order of `evidence`: what the HTML page draws, one line per length.
    pub curves: Vec<Curve>,
    /// For a GHC program with a growing label: the violation of a rerun that bounds that label
    /// at its warm-up level, attributed like any failing run's (what retains the growth and
    /// where it was built), or why it could not be made.
    pub attribution: Option<String>,
}

impl Exploration {
    /// The labels (and the heap, as `None`, first) that grow with the run's length, those
    /// whose bytes rose most first.
    pub fn growing(&self) -> impl Iterator<Item = &LabelEvidence> {
        classify::growing(&self.evidence).into_iter()
    }

    /// Whether a leak is suspected: something grows with the run's length.
    pub fn leak_suspected(&self) -> bool {
        self.growing().next().is_some()
    }
}

/// A run's (x, figure) points for one label.
pub type Points = Vec<(u64, u64)>;

/// One label's figure over each run.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Per run, shortest first: its length and its points.
    pub runs: Vec<(Option<u64>, Points)>,
}

/// Keeps every sample of a run (explorations are short, and classes need all of them).
struct Recorder(Timeline);

impl SampleSink for Recorder {
    fn begin(&mut self, x_unit: XUnit) {
        self.0.x_unit = x_unit;
        self.0.samples.clear();
    }

    fn sample(&mut self, s: &Sample) {
        self.0.samples.push(s.clone());
    }

    fn recount(&mut self, size: &dyn Fn(&str) -> u64) {
        for s in &mut self.0.samples {
            for (label, t) in &mut s.types {
                t.count = t.bytes.checked_div(size(label)).unwrap_or(0);
            }
        }
    }
}

/// The lengths to run at, shortest first.
fn lengths(scenario: &Scenario, opts: &Options) -> Result<Vec<Option<u64>>, ExploreError> {
    if opts.lengths.is_empty() {
        return Ok(match scenario.length() {
            Some(n) => vec![Some(n), Some(n.saturating_mul(4))],
            None => vec![None],
        });
    }
    if scenario.length().is_none() {
        return Err(ExploreError::NoLength(scenario.name.clone()));
    }
    if opts.lengths.contains(&0) {
        return Err(ExploreError::ZeroLength);
    }
    let mut l = opts.lengths.clone();
    l.sort_unstable();
    l.dedup();
    Ok(l.into_iter().map(Some).collect())
}

/// Samples a simulator run of the shortest length takes at least: enough for the classes and
/// for growth fits after a warm-up, at every length.
pub const MIN_SIM_SAMPLES: u64 = 64;

/// The scenario as a run of `explore` makes it: at `length`, with no invariant, so that no
/// violation stops it before its end. A simulator is sampled at the same cycles at every
/// length (so the runs' samples match), often enough for the shortest.
fn run_scenario(scenario: &Scenario, length: Option<u64>, shortest: Option<u64>) -> Scenario {
    let mut s = match length {
        Some(n) => scenario.with_length(n).unwrap_or_else(|| scenario.clone()),
        None => scenario.clone(),
    };
    if let (crate::scenario::Run::Simulator(r), Some(short)) = (&mut s.run, shortest) {
        r.sample_every = r.sample_every.min(short / MIN_SIM_SAMPLES).max(1);
    }
    s.invariants.clear();
    s
}

/// Runs `scenario` at each length and proposes its invariants.
pub fn explore(
    scenario: &Scenario,
    base: &str,
    catalog: &sim::circuits::Catalog,
    cfg: &RunConfig,
    opts: &Options,
    on_event: &mut dyn FnMut(Event),
) -> Result<Exploration, ExploreError> {
    let lengths = lengths(scenario, opts)?;
    let mut runs = Vec::new();
    let shortest = lengths.first().copied().flatten();
    for &length in &lengths {
        let s = run_scenario(scenario, length, shortest);
        let mut rec = Recorder(Timeline::new("explore", s.x_unit()));
        let out = source::run(&s, cfg, on_event, &mut rec)
            .map_err(|error| ExploreError::Run { length, error })?;
        if rec.0.samples.is_empty() {
            return Err(ExploreError::NoSamples { length });
        }
        let mut timeline = rec.0;
        timeline.marks = out.profile.marks;
        runs.push(ExploredRun { length, timeline });
    }
    let shortest = runs.first().map(|r| r.length);
    let mut found = examine(scenario, base, catalog, runs)?;
    if let Some(length) = shortest {
        found.attribution = attribute(scenario, &found, length, cfg, on_event);
    }
    Ok(found)
}

/// Reruns a GHC program at `length` with one invariant, the top growing label bounded by what
/// it was when the warm-up ended, so that the source's diagnosis attributes its growth as it
/// would a failing scenario's. `None` when nothing grows or the program is not a GHC program
/// that diagnoses its violations.
fn attribute(
    scenario: &Scenario,
    found: &Exploration,
    length: Option<u64>,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Option<String> {
    use crate::scenario::Run;
    use crate::spec::invariant::{Cmp, Expectation, Invariant, Predicate, Window};
    let Run::Command(c) = &scenario.run else {
        return None;
    };
    if !c.profile.is_ghc() || !c.diagnose {
        return None;
    }
    let top = found.growing().find(|e| e.label.is_some())?;
    let label = top.label.clone()?;
    let first = top.runs.first()?;
    let mut s = run_scenario(scenario, length, None);
    s.invariants = vec![Invariant {
        name: format!("{label} stays at its warm-up level"),
        during: Window::Range(Endpoint::At(found.warmup.end(0)), Endpoint::End),
        predicate: match top.basis {
            Basis::Count => Predicate::TypeCount {
                glob: label.clone(),
                cmp: Cmp::AtMost,
                n: first.warmup_max.max(first.min),
            },
            Basis::Bytes => Predicate::TypeBytesMax {
                glob: label.clone(),
                max: first.warmup_max.max(first.min),
            },
        },
        expect: Expectation::Holds,
        retained_by: None,
    }];
    let unit = scenario.x_unit();
    Some(match source::run(&s, cfg, on_event, &mut ()) {
        Ok(out) => match out.outcomes.into_iter().find_map(|(_, o)| match o {
            crate::measure::invariant::Outcome::Violated(v) => Some(v),
            _ => None,
        }) {
            Some(v) => v.explain(unit),
            None => format!("the rerun that bounds `{label}` at its warm-up level was not violated, so there is nothing to attribute"),
        },
        Err(e) => format!("the rerun that attributes `{label}` failed: {e}"),
    })
}

/// Classifies the runs' labels and proposes invariants: the pure half of [`explore`].
/// `base` is the scenario's text, which the proposal extends.
pub fn examine(
    scenario: &Scenario,
    base: &str,
    catalog: &sim::circuits::Catalog,
    runs: Vec<ExploredRun>,
) -> Result<Exploration, ExploreError> {
    let x_unit = scenario.x_unit();
    let labels = classify::labels(&runs);
    let warmup = warmup(scenario, &runs, &labels);
    let mut evidence = vec![classify::classify(
        &runs,
        &warmup,
        None,
        Basis::Bytes,
        x_unit,
    )];
    for (label, basis) in &labels {
        evidence.push(classify::classify(
            &runs,
            &warmup,
            Some(label),
            *basis,
            x_unit,
        ));
    }
    let proposal = propose::propose(scenario, base, catalog, &runs, &warmup, &evidence)?;
    let curves = evidence
        .iter()
        .map(|e| Curve {
            runs: runs
                .iter()
                .map(|r| {
                    let points = r
                        .timeline
                        .samples
                        .iter()
                        .map(|s| (s.x, classify::figure(s, e.label.as_deref(), e.basis)))
                        .collect();
                    (r.length, points)
                })
                .collect(),
        })
        .collect();
    Ok(Exploration {
        scenario: scenario.name.clone(),
        x_unit,
        lengths: runs.iter().map(|r| r.length).collect(),
        warmup,
        evidence,
        proposal,
        curves,
        attribution: None,
    })
}

/// Where each run's warm-up ends: the scenario's `steady` phase, else the program's `steady`
/// marker, else where the labels settle.
fn warmup(
    scenario: &Scenario,
    runs: &[ExploredRun],
    labels: &std::collections::BTreeMap<String, Basis>,
) -> Warmup {
    let marker =
        |r: &ExploredRun, m: &str| r.timeline.marks.iter().find(|k| k.label == m).map(|k| k.x);
    if let Some(p) = scenario.phase(propose::STEADY) {
        let at: Option<Vec<u64>> = runs
            .iter()
            .map(|r| {
                let end = r.timeline.end().unwrap_or(0);
                match &p.from {
                    Endpoint::Marker(m) => marker(r, m),
                    e => e.position(end),
                }
            })
            .collect();
        if let Some(at) = at {
            return Warmup::Phase(at);
        }
    }
    let at: Option<Vec<u64>> = runs.iter().map(|r| marker(r, propose::STEADY)).collect();
    if let Some(at) = at {
        return Warmup::Marker(at);
    }
    let longest = runs.last().map(|r| &r.timeline);
    Warmup::Settled(longest.map_or(0, |t| classify::settle(t, labels)))
}

/// One length in words: `20,000 cycles`, `length 3,000`, or `its own length`.
pub fn length_words(unit: XUnit, l: Option<u64>) -> String {
    match (l, unit) {
        (Some(n), XUnit::Cycles) => format!("{} cycles", fmt_int(i128::from(n))),
        (Some(n), _) => format!("length {}", fmt_int(i128::from(n))),
        (None, _) => "its own length".into(),
    }
}

/// The evidence as a table for the terminal, then what leaks, what was left out and where the
/// proposal is.
pub fn render(e: &Exploration) -> String {
    let mut s = String::new();
    let lengths: Vec<String> = e
        .lengths
        .iter()
        .map(|l| length_words(e.x_unit, *l))
        .collect();
    let _ = writeln!(
        s,
        "explored `{}` at {}; {}",
        e.scenario,
        crate::units::and_list(&lengths),
        propose::warmup_words(&e.warmup, e.x_unit)
    );
    let rows: Vec<(String, String, String)> = e
        .evidence
        .iter()
        .map(|ev| {
            let label = ev
                .label
                .clone()
                .unwrap_or_else(|| format!("(whole heap, {})", e.x_unit.residency_label()));
            (
                label,
                propose::class_words(&ev.class, ev.basis, e.x_unit),
                propose::figures_words(ev),
            )
        })
        .collect();
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let _ = writeln!(
        s,
        "{:<w0$}  {:<w1$}  after the warm-up, per length (min..max, samples)",
        "label", "class"
    );
    for (a, b, c) in rows {
        let _ = writeln!(s, "{a:<w0$}  {b:<w1$}  {c}");
    }
    /// Suspected leaks listed one a line; the rest are in the table.
    const LISTED: usize = 5;
    let growing: Vec<&LabelEvidence> = e.growing().collect();
    if growing.len() > LISTED {
        let _ = writeln!(
            s,
            "{} labels grow with the run's length; the {LISTED} whose bytes rose most:",
            growing.len()
        );
    }
    for g in growing.iter().take(LISTED) {
        let _ = writeln!(
            s,
            "leak suspected: {} grows with the run's length ({}); no invariant is proposed that would pass it",
            g.label.as_deref().map_or_else(|| "the whole heap".to_owned(), |l| format!("`{l}`")),
            propose::figures_words(g)
        );
    }
    if let Some(a) = &e.attribution {
        let _ = writeln!(s, "what the top growing label's growth is (attributed on a rerun at the shortest length):\n{}", a.trim_end());
    }
    for (name, why) in &e.proposal.dropped {
        let _ = writeln!(s, "not proposed: `{name}`: {why}");
    }
    s
}
