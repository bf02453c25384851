//! The invariant language: what a scenario's `[[invariant]]` and `[phases]` say, typed. The
//! validator in `scenario/` produces it, the checker in `measure/` evaluates it, the judge and
//! the reports show it; none of them re-spells it.

use crate::units::XUnit;

/// Growth bounds are judged only once the window holds this many samples: a slope through two
/// or three points says more about sampling phase than about a trend. A window that never
/// reaches this many is `Outcome::NotEvaluable` (the checker's), never held.
pub const MIN_GROWTH_SAMPLES: usize = 5;

/// A named range of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Its name, used by invariants' `during`.
    pub name: String,
    /// Where it starts (inclusive).
    pub from: Endpoint,
    /// Where it ends (inclusive).
    pub to: Endpoint,
}

/// A point on the timeline's x-axis, resolved against a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// An absolute position (cycle or census index).
    At(u64),
    /// A fraction of the run's length.
    Fraction(f64),
    /// The end of the run.
    End,
    /// The position of the first user marker with this label.
    Marker(String),
}

/// A memory invariant: a predicate on the heap over a window of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Invariant {
    /// Its name, as printed in failures.
    pub name: String,
    /// Where on the timeline it must hold.
    pub during: Window,
    /// What must hold.
    pub predicate: Predicate,
    /// Whether the scenario exists to show it violated.
    pub expect: Expectation,
    /// `retained_by = "GLOB"`: the type predicate counts only the closures whose retainer set
    /// has a cost centre matching the glob, checked on a retainer profile of a profiled rerun
    /// (GHC programs only; see `docs/attribution.md`).
    pub retained_by: Option<String>,
}

impl Endpoint {
    /// The position on a run of `end` x-units, when it does not depend on the run's markers.
    pub fn position(&self, end: u64) -> Option<u64> {
        match self {
            Endpoint::At(x) => Some(*x),
            Endpoint::End => Some(end),
            Endpoint::Fraction(f) => Some((f * end as f64).round() as u64),
            Endpoint::Marker(_) => None,
        }
    }
}

/// The timeline over which an invariant must hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    /// At every sample.
    Always,
    /// Within a named phase.
    Phase(String),
    /// Within an explicit range.
    Range(Endpoint, Endpoint),
}

impl Endpoint {
    /// The endpoint in the words of a scenario file: `cycle 30,000`, `25% of the run`, `the
    /// end`, `marker "steady"`.
    pub fn words(&self, unit: XUnit) -> String {
        match self {
            Endpoint::At(x) => unit.at(*x),
            Endpoint::Fraction(f) => format!("{}% of the run", f * 100.0),
            Endpoint::End => "the end".to_owned(),
            Endpoint::Marker(m) => format!("marker \"{m}\""),
        }
    }
}

/// A predicate on the heap at one sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// No live object of a type matching the glob.
    TypeAbsent(String),
    /// The summed count of live objects of types matching the glob compares to `n`.
    TypeCount {
        /// Glob on type labels (`*` matches anything).
        glob: String,
        /// The comparison.
        cmp: Cmp,
        /// The bound.
        n: u64,
    },
    /// The count of types matching the glob grows by at most `max` per 1000 x-units over the
    /// window so far (least squares).
    TypeGrowth {
        /// Glob on type labels.
        glob: String,
        /// The bound, objects per 1000 cycles (or per census for GHC).
        max: f64,
    },
    /// The summed live bytes of types (or massif allocation sites) matching the glob are at
    /// most `max` (`max_bytes`).
    TypeBytesMax {
        /// Glob on type labels.
        glob: String,
        /// The bound in bytes.
        max: u64,
    },
    /// The summed live bytes of the massif allocation sites matching the glob grow by at most
    /// `max` bytes per snapshot over the window so far: massif attributes bytes, not objects.
    TypeBytesGrowth {
        /// Glob on site labels.
        glob: String,
        /// The bound, bytes per snapshot.
        max: f64,
    },
    /// Total residency at most `max` bytes.
    LiveBytesMax(u64),
    /// Total residency grows by at most `max` bytes per 1000 x-units over the window so far.
    LiveBytesGrowth(f64),
}

/// A comparison of a count with its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// ≤
    AtMost,
    /// ≥
    AtLeast,
    /// ==
    Exactly,
}

/// What the scenario expects of an invariant.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Expectation {
    /// It holds at every sample of its window.
    #[default]
    Holds,
    /// It is violated, and the report of the violation names this type and site.
    Violated {
        /// A glob that the top growing type must match.
        culprit_type: Option<String>,
        /// The creation site that must appear for that type. For a GHC program: a function of
        /// the program named as building the growing closures by the attribution.
        culprit_site: Option<String>,
        /// A function of a GHC program that the attribution must name as retaining the growth
        /// (`expect_retainer`).
        culprit_retainer: Option<String>,
    },
}

/// A two-sided tolerance on one metric: a change within either bound passes.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Tolerance {
    /// A fraction of the baseline value (0.10 for 10%).
    pub relative: f64,
    /// An absolute amount in the metric's unit.
    pub absolute: f64,
}

/// What measuring and checking a run need of its scenario: its x-axis, phases and invariants,
/// and its end when the run's length is known before it runs (a simulator's cycles). The
/// checker and the meter take this, never a whole scenario.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// The run's x-axis.
    pub x_unit: XUnit,
    /// The named windows.
    pub phases: &'a [Phase],
    /// What must hold, in the scenario's order.
    pub invariants: &'a [Invariant],
    /// The run's end when known in advance (a simulator run's cycles); else the last sample's.
    pub known_end: Option<u64>,
}

impl<'a> Plan<'a> {
    /// The phase called `name`.
    pub fn phase(&self, name: &str) -> Option<&'a Phase> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// The run's end: known in advance, else the last sample's position (0 for none).
    pub fn end(&self, last_x: Option<u64>) -> u64 {
        self.known_end.unwrap_or_else(|| last_x.unwrap_or(0))
    }
}
