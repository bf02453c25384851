//! From classes to a scenario: one invariant per classified label, its evidence as a comment,
//! kept only if the checker finds it holding on every run the exploration made.
//!
//! The proposal is the scenario's own text with a section appended (or, for a new program, a
//! scenario written from its command), so what a reviewer reads is the diff.

use super::classify::{Basis, Class, ExploredRun, LabelEvidence, Warmup};
use super::ExploreError;
use crate::measure::invariant::{check_timeline, Outcome};
use crate::scenario::{self, ProfileKind, Scenario};
use crate::spec::metric::residency_invariant_metric;
use crate::units::fmt_int;
use crate::XUnit;
use std::fmt::Write as _;

/// The phase the proposal's invariants hold during: the scenario's own, or one it adds.
pub const STEADY: &str = "steady";

/// Headroom of a proposed bound over the largest figure seen, in percent.
pub const HEADROOM_PERCENT: u64 = 25;

/// How many times a growth bound that did not hold on a run is doubled before it is dropped:
/// an early fit over few samples can be steeper than the whole run's.
const LOOSENINGS: u32 = 10;

/// A proposed scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The scenario it extends, as text (empty for a new program's).
    pub base: String,
    /// The proposed scenario, whole.
    pub text: String,
    /// The invariants proposed, by name.
    pub invariants: Vec<String>,
    /// Invariants considered and left out: (name, why).
    pub dropped: Vec<(String, String)>,
}

impl Proposal {
    /// The proposal as a unified diff of the scenario file `path`.
    pub fn diff(&self, path: &str) -> String {
        similar::TextDiff::from_lines(&self.base, &self.text)
            .unified_diff()
            .context_radius(3)
            .header(path, &format!("{path} (proposed)"))
            .to_string()
    }
}

/// A scenario for a program that has none yet: its command (with `{n}` where it takes its
/// length, then `length`), its profile, default budget. `explore` appends the invariants.
pub fn new_scenario(profile: ProfileKind, argv: &[String], length: Option<u64>) -> String {
    let mut s = String::new();
    let quoted: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    let _ = writeln!(
        s,
        "# Written by `membound explore --new`: the program, its profile and the invariants it was\n# seen to keep. Read each invariant's evidence before committing it.\ndescription = {}",
        quote(&format!("{}, explored", argv.join(" ")))
    );
    let _ = writeln!(s, "\n[run]\ncommand = [{}]", quoted.join(", "));
    if let Some(n) = length {
        let _ = writeln!(s, "length = {n}");
    }
    let _ = writeln!(s, "profile = {}", quote(profile.name()));
    s
}

/// A TOML string.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// One line of a comment: no line breaks from labels.
fn comment(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The key of a phase's range in this unit.
fn range_key(unit: XUnit) -> &'static str {
    match unit {
        XUnit::Cycles => "cycles",
        XUnit::Census => "census",
        XUnit::Millis => "ms",
        XUnit::Snapshot => "snapshot",
    }
}

/// The key of a growth bound in this unit.
fn growth_key(unit: XUnit) -> &'static str {
    match unit {
        XUnit::Cycles => "max_growth_per_kcycle",
        XUnit::Census => "max_growth_per_census",
        XUnit::Snapshot => "max_growth_per_snapshot",
        XUnit::Millis => "max_growth_per_second",
    }
}

/// Where the warm-up ends, in words.
pub fn warmup_words(w: &Warmup, unit: XUnit) -> String {
    let at = |v: &[u64]| {
        let mut v: Vec<String> = v.iter().map(|x| unit.at(*x)).collect();
        v.dedup();
        v.join(", ")
    };
    match w {
        Warmup::Phase(v) => format!(
            "the warm-up ends where the `{STEADY}` phase starts ({})",
            at(v)
        ),
        Warmup::Marker(v) => format!(
            "the warm-up ends at the program's `{STEADY}` marker ({})",
            at(v)
        ),
        Warmup::Settled(x) => format!(
            "the warm-up ends at {}, where the labels settle into the range they keep",
            unit.at(*x)
        ),
    }
}

/// A class in words.
pub fn class_words(c: &Class, basis: Basis, unit: XUnit) -> String {
    match c {
        Class::Exactly(k) => format!("exactly {}", basis.show(*k)),
        Class::Bounded { max } => format!("bounded (≤ {})", basis.show(*max)),
        Class::GoneAfterInit => "gone after init".into(),
        Class::Growing { per } => format!(
            "GROWING ({}{} {})",
            if *per >= 0.0 { "+" } else { "-" },
            match basis {
                Basis::Count if per.abs() < 10.0 => format!("{:.1}", per.abs()),
                Basis::Count => fmt_int(per.abs().round() as i128),
                Basis::Bytes => crate::units::fmt_bytes(per.abs()),
            },
            unit.per_name()
        ),
        Class::Noise(_) => "noise".into(),
    }
}

/// A label's figures after the warm-up at each length.
pub fn figures_words(e: &LabelEvidence) -> String {
    let parts: Vec<String> = e
        .runs
        .iter()
        .map(|f| {
            let at = f
                .length
                .map_or_else(|| "one run".to_owned(), |n| fmt_int(i128::from(n)));
            format!(
                "{at}: {}..{} ({} samples)",
                e.basis.show(f.min),
                e.basis.show(f.max),
                f.samples
            )
        })
        .collect();
    let mut s = parts.join(" · ");
    if let Class::Noise(why) = &e.class {
        let _ = write!(s, "; {why}");
    }
    s
}

/// A bound with the stated headroom, rounded up.
fn headroom(max: u64) -> u64 {
    max.saturating_add((max.saturating_mul(HEADROOM_PERCENT)).div_ceil(100))
}

/// One proposed invariant: its name, the TOML lines after `name`, and a growth bound to
/// loosen if a run breaks it.
#[derive(Debug, Clone)]
struct Candidate {
    name: String,
    evidence: String,
    /// Lines of the table after `name` and `during`, except a growth bound's.
    lines: Vec<String>,
    /// A growth bound: (key, value).
    growth: Option<(&'static str, u64)>,
}

/// How the invariants are written into the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// As invariants that hold: the scenario declares no expected violation.
    Holding,
    /// Commented out: the scenario expects a violation, and a scenario cannot also declare
    /// invariants that hold (a run stops at its first violation); they belong in the fixed
    /// variant's scenario.
    Commented,
    /// Declared violated, so that a scenario with expected violations parses with them: only
    /// for checking them on the runs, whose raw outcomes do not depend on the expectation.
    ForChecking,
}

impl Candidate {
    fn toml(&self, form: Form) -> String {
        let mut lines = vec![
            "[[invariant]]".to_owned(),
            format!("name = {}", quote(&self.name)),
            format!("during = {}", quote(STEADY)),
        ];
        lines.extend(self.lines.iter().cloned());
        if let Some((k, v)) = self.growth {
            lines.push(format!("{k} = {v}"));
        }
        if form == Form::ForChecking {
            lines.push("expect = \"violated\"".to_owned());
        }
        let mut s = format!("\n# evidence: {}\n", comment(&self.evidence));
        for l in lines {
            let _ = writeln!(s, "{}{l}", if form == Form::Commented { "# " } else { "" });
        }
        s
    }
}

/// The invariants the classes suggest, before checking them on the runs.
fn candidates(
    scenario: &Scenario,
    runs: &[ExploredRun],
    warmup: &Warmup,
    evidence: &[LabelEvidence],
    dropped: &mut Vec<(String, String)>,
) -> Vec<Candidate> {
    let unit = scenario.x_unit();
    let taken = |n: &str| scenario.invariants.iter().any(|i| i.name == n);
    let name = |base: String| {
        if taken(&base) {
            format!("{base} (explored)")
        } else {
            base
        }
    };
    let mut out = Vec::new();
    for e in evidence {
        let evidence = figures_words(e);
        let Some(label) = &e.label else {
            if let Class::Bounded { max } | Class::Exactly(max) = e.class {
                let metric = residency_invariant_metric(unit);
                out.push(Candidate {
                    name: name(format!("{} bounded", unit.residency_label())),
                    evidence: evidence.clone(),
                    lines: vec![
                        format!("metric = {}", quote(metric)),
                        format!(
                            "max = {}  # {} seen at most, +{HEADROOM_PERCENT}% headroom",
                            headroom(max),
                            crate::units::fmt_bytes(max as f64)
                        ),
                    ],
                    growth: None,
                });
                let flat = name(format!("{} flat", unit.residency_label()));
                match too_sparse_for_growth(scenario, warmup) {
                    Some(why) => dropped.push((flat, why)),
                    None => out.push(Candidate {
                        name: flat,
                        evidence,
                        lines: vec![format!("metric = {}", quote(metric))],
                        growth: Some((growth_key(unit), heap_growth(runs, warmup, unit))),
                    }),
                }
            }
            continue;
        };
        let t = format!("type = {}", quote(label));
        let (suffix, bound) = match (&e.class, e.basis) {
            (Class::Exactly(0), _) => continue,
            (Class::Exactly(k), Basis::Count) => ("exactly", format!("count = {k}")),
            (Class::Exactly(k) | Class::Bounded { max: k }, Basis::Bytes) => (
                "bounded",
                format!(
                    "max_bytes = {}  # {} seen at most, +{HEADROOM_PERCENT}% headroom",
                    headroom(*k),
                    crate::units::fmt_bytes(*k as f64)
                ),
            ),
            (Class::Bounded { max }, Basis::Count) => (
                "bounded",
                format!(
                    "max_count = {}  # {} seen at most, +{HEADROOM_PERCENT}% headroom",
                    headroom(*max),
                    fmt_int(i128::from(*max))
                ),
            ),
            (Class::GoneAfterInit, _) => ("gone after init", "absent = true".to_owned()),
            (Class::Growing { .. } | Class::Noise(_), _) => continue,
        };
        out.push(Candidate {
            name: name(format!("{} {suffix}", comment(label))),
            evidence,
            lines: vec![t, bound],
            growth: None,
        });
    }
    out
}

/// Why a growth bound cannot be judged at the scenario's own sampling, if it cannot: a
/// simulator sampled every `sample_every` cycles has too few samples after the warm-up for a
/// fit (explore's own runs are sampled more often).
fn too_sparse_for_growth(scenario: &Scenario, warmup: &Warmup) -> Option<String> {
    use crate::spec::invariant::MIN_GROWTH_SAMPLES;
    let crate::scenario::Run::Simulator(r) = &scenario.run else {
        return None;
    };
    let from = warmup.end(0);
    let samples = r.cycles.saturating_sub(from) / r.sample_every.max(1);
    (samples < MIN_GROWTH_SAMPLES as u64).then(|| {
        let every = (r.cycles.saturating_sub(from) / MIN_GROWTH_SAMPLES as u64).max(1);
        format!(
            "at its own `sample_every = {}` the scenario has {samples} samples after the warm-up, fewer than the {MIN_GROWTH_SAMPLES} a growth fit needs (hint: `sample_every = {every}` or less in `[run]`, then explore again)",
            r.sample_every
        )
    })
}

/// The steepest growth of total residency after the warm-up, over the runs, with headroom and
/// at least 0, in bytes per the unit's growth period.
fn heap_growth(runs: &[ExploredRun], warmup: &Warmup, unit: XUnit) -> u64 {
    let mut steepest = 0.0f64;
    for (i, r) in runs.iter().enumerate() {
        let points: Vec<(u64, u64)> = r
            .timeline
            .samples
            .iter()
            .filter(|s| s.x >= warmup.end(i))
            .map(|s| (s.x, s.live_bytes))
            .collect();
        steepest = steepest.max(super::classify::slope(&points, unit.per()));
    }
    headroom(steepest.ceil() as u64)
}

/// The section appended to the scenario: a header, the phase it adds if it has none, the
/// labels left out and why, then the invariants.
fn section(
    scenario: &Scenario,
    runs: &[ExploredRun],
    warmup: &Warmup,
    evidence: &[LabelEvidence],
    kept: &[Candidate],
    form: Form,
) -> String {
    let unit = scenario.x_unit();
    let mut s = String::new();
    let lengths: Vec<String> = runs
        .iter()
        .map(|r| {
            r.length
                .map_or_else(|| "its own length".to_owned(), |n| fmt_int(i128::from(n)))
        })
        .collect();
    let _ = writeln!(
        s,
        "\n# ---------------------------------------------------------------------------------------\n# Proposed by `membound explore` from runs at {} ({}); {}.\n# Each invariant's evidence is what was seen after the warm-up at each length (min..max);\n# bounds carry {HEADROOM_PERCENT}% headroom, and every invariant held on every run explored.",
        crate::units::and_list(&lengths),
        unit.label(),
        warmup_words(warmup, unit)
    );
    if scenario.phase(STEADY).is_none() {
        let range = match warmup {
            Warmup::Marker(_) => format!("markers = [{}, \"end\"]", quote(STEADY)),
            Warmup::Phase(v) => format!(
                "{} = [{}, \"end\"]",
                range_key(unit),
                v.first().copied().unwrap_or(0)
            ),
            Warmup::Settled(x) => format!("{} = [{x}, \"end\"]", range_key(unit)),
        };
        let _ = writeln!(s, "\n[phases.{STEADY}]\n{range}");
    }
    let what = |e: &LabelEvidence| {
        e.label.as_deref().map_or_else(
            || "the whole heap".to_owned(),
            |l| format!("`{}`", comment(l)),
        )
    };
    for e in super::classify::growing(evidence) {
        let _ = writeln!(
            s,
            "# LEAK SUSPECTED: {} grows with the run's length ({}); no invariant proposed for it.",
            what(e),
            figures_words(e)
        );
    }
    for e in evidence
        .iter()
        .filter(|e| matches!(e.class, Class::Noise(_)))
    {
        let _ = writeln!(s, "# not classified: {}: {}", what(e), figures_words(e));
    }
    if form == Form::Commented && !kept.is_empty() {
        let _ = writeln!(
            s,
            "# This scenario expects a violation, and a run stops at its first one: the invariants\n# below held on every run explored, and belong in the fixed variant's scenario."
        );
    }
    for c in kept {
        s.push_str(&c.toml(form));
    }
    s
}

/// Proposes invariants for the classes, keeping those that hold on every run.
pub fn propose(
    scenario: &Scenario,
    base: &str,
    catalog: &sim::circuits::Catalog,
    runs: &[ExploredRun],
    warmup: &Warmup,
    evidence: &[LabelEvidence],
) -> Result<Proposal, ExploreError> {
    let mut dropped = Vec::new();
    let mut kept = candidates(scenario, runs, warmup, evidence, &mut dropped);
    let mut loosened = 0u32;
    let expects_violation = scenario.invariants.iter().any(|i| {
        matches!(
            i.expect,
            crate::spec::invariant::Expectation::Violated { .. }
        )
    });
    let (form, check_form) = if expects_violation {
        (Form::Commented, Form::ForChecking)
    } else {
        (Form::Holding, Form::Holding)
    };
    let parse = |text: &str| {
        scenario::parse(&scenario.path, text, catalog)
            .map_err(|e| ExploreError::Proposal(e.to_string()))
    };
    loop {
        let checked = format!(
            "{base}{}",
            section(scenario, runs, warmup, evidence, &kept, check_form)
        );
        let parsed = parse(&checked)?;
        let broken = first_broken(&parsed, &kept, runs);
        let Some((i, why)) = broken else {
            let text = format!(
                "{base}{}",
                section(scenario, runs, warmup, evidence, &kept, form)
            );
            parse(&text)?;
            return Ok(Proposal {
                base: base.to_owned(),
                text,
                invariants: kept.iter().map(|c| c.name.clone()).collect(),
                dropped,
            });
        };
        match &mut kept[i].growth {
            Some((_, v)) if loosened < LOOSENINGS && why.violated => {
                *v = (*v).max(1).saturating_mul(2);
                loosened += 1;
            }
            _ => {
                let c = kept.remove(i);
                dropped.push((c.name, why.text));
            }
        }
    }
}

/// Why a proposed invariant failed a run.
struct Broken {
    violated: bool,
    text: String,
}

/// The first proposed invariant that does not hold on some run, by index into `kept`.
fn first_broken(
    parsed: &Scenario,
    kept: &[Candidate],
    runs: &[ExploredRun],
) -> Option<(usize, Broken)> {
    for r in runs {
        let mut s = match r.length {
            Some(n) => parsed.with_length(n).unwrap_or_else(|| parsed.clone()),
            None => parsed.clone(),
        };
        s.invariants
            .retain(|i| kept.iter().any(|c| c.name == i.name));
        let (outcomes, _) = check_timeline(&s, &r.timeline);
        let at = r.length.map_or_else(
            || "the run".to_owned(),
            |n| format!("length {}", fmt_int(i128::from(n))),
        );
        for (name, o) in outcomes {
            let why = match o {
                Outcome::Held { .. } => continue,
                Outcome::Violated(v) => Broken {
                    violated: true,
                    text: format!(
                        "violated at {} on the run at {at}: {} found {}",
                        parsed.x_unit().at(v.x),
                        v.predicate,
                        v.value
                    ),
                },
                // Another invariant's violation stopped the check before this one's window:
                // that one is dropped or loosened first.
                Outcome::NotReached {
                    stopped_at: Some(_),
                    ..
                } => continue,
                Outcome::NotReached { reason, .. } => Broken {
                    violated: false,
                    text: format!("not reached on the run at {at}: {reason}"),
                },
                Outcome::NotEvaluable { reason } => Broken {
                    violated: false,
                    text: format!("could not be evaluated on the run at {at}: {reason}"),
                },
            };
            let i = kept.iter().position(|c| c.name == name)?;
            return Some((i, why));
        }
    }
    None
}
