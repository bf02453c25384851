//! `check` and `bless`: one scenario end to end, `Scenario → Timeline → Measurement → Verdict`,
//! shared by every front end (the test harness, the CLI, xtask).
//!
//! It sequences the stages and decides which files change (through `baseline::Store`); it does
//! not print: front ends render `ScenarioResult` with [`failure_message`] or a reporter.

use crate::judge::compare::{compare, table, unified_diff, Comparison};
use crate::judge::verdict::{verdict, BaselineState, Verdict};
use crate::measure::invariant::{judge, Outcome};
use crate::measure::metrics::measure;
use crate::scenario::{Expectation, Predicate, Scenario, Window};
use crate::source::{self, Event, RunConfig};
use crate::store::{Baseline, Store};
use crate::{errors::RunError, XUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Everything a front end needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// How to run scenarios.
    pub run: RunConfig,
    /// Where baselines and results live.
    pub store: Store,
    /// Running under CI: never write `.json.new` files.
    pub ci: bool,
}

/// One invariant's declaration and outcome, as reports need them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvariantResult {
    /// Its name.
    pub name: String,
    /// Its window, as written (`always`, a phase name, or a range).
    pub during: String,
    /// A live-bytes bound in bytes, for charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_live_bytes: Option<u64>,
    /// Whether the scenario expects it to be violated.
    pub expected_violation: bool,
    /// What happened.
    pub outcome: Outcome,
}

/// The result of checking one scenario; written to `target/membound/results/<name>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub scenario: String,
    /// Its file.
    pub path: PathBuf,
    /// What x counts in this run.
    pub x_unit: XUnit,
    /// Why the run itself failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_error: Option<String>,
    /// Each invariant.
    pub invariants: Vec<InvariantResult>,
    /// Where a violation stopped the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<u64>,
    /// How far the probe child had simulated when it stopped (at most one sample interval past
    /// `stopped_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated_cycles: Option<u64>,
    /// This run's result, in baseline form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Baseline>,
    /// The blessed baseline it was compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// The comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// The verdict.
    pub verdict: Verdict,
    /// Problems with the invariants (unexpected violations, culprits not named).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invariant_problems: Vec<String>,
    /// Where a mismatching result was left for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PathBuf>,
}

/// The harness's own toolchain facts.
pub fn toolchain() -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    t.insert("rustc".into(), env!("MEMBOUND_RUSTC_VERSION").to_owned());
    t.insert("membound".into(), env!("CARGO_PKG_VERSION").to_owned());
    t
}

/// Runs one scenario and judges it against its baseline. Leaves `.json.new` on a mismatch
/// (outside CI), removes a stale one on a pass, and writes the result for reports.
pub fn check(scenario: &Scenario, cfg: &Config, on_event: &mut dyn FnMut(Event)) -> ScenarioResult {
    let mut result = execute(scenario, cfg, on_event);
    let baseline = match cfg.store.read(&scenario.name) {
        Ok(b) => b,
        Err(e) => {
            result.run_error.get_or_insert(e.to_string());
            None
        }
    };
    // A failed run's partial result is kept for charts, never compared or left for blessing.
    let state = match (&baseline, &result.current, &result.run_error) {
        (Some(b), Some(c), None) => BaselineState::Compared(compare(scenario, b, c)),
        _ => BaselineState::Missing,
    };
    result.verdict = verdict(
        &scenario.name,
        result.run_error.as_deref(),
        &result.invariant_problems,
        &state,
    );
    if let BaselineState::Compared(c) = state {
        result.comparison = Some(c);
    }
    result.baseline = baseline;
    if let Some(current) = &result.current {
        if result.verdict.passed {
            let _ = cfg.store.remove_pending(&scenario.name);
        } else if !cfg.ci && result.invariant_problems.is_empty() && result.run_error.is_none() {
            result.pending = cfg.store.write_pending(current).ok();
        }
    }
    let _ = cfg.store.write_result(&scenario.name, &result);
    result
}

/// Runs and measures, without touching baselines.
fn execute(scenario: &Scenario, cfg: &Config, on_event: &mut dyn FnMut(Event)) -> ScenarioResult {
    let mut result = ScenarioResult {
        scenario: scenario.name.clone(),
        path: scenario.path.clone(),
        x_unit: scenario.x_unit(),
        run_error: None,
        invariants: Vec::new(),
        stopped_at: None,
        simulated_cycles: None,
        current: None,
        baseline: None,
        comparison: None,
        verdict: Verdict {
            passed: false,
            reasons: vec![],
            improved: false,
            regressed: false,
        },
        invariant_problems: Vec::new(),
        pending: None,
    };
    match source::run(scenario, &cfg.run, on_event) {
        Ok(out) => {
            let m = measure(scenario, &out.timeline);
            let mut tc = toolchain();
            tc.extend(out.toolchain);
            result.current = Some(Baseline::from_run(
                scenario,
                &m,
                &out.outcomes,
                &out.timeline,
                tc,
            ));
            result.invariant_problems = judge(scenario, &out.outcomes);
            result.invariants = invariant_results(scenario, &out.outcomes);
            result.stopped_at = out.stopped_at;
            result.simulated_cycles = out
                .timeline
                .facts
                .get("stopped_at_cycle")
                .and_then(|c| c.parse().ok());
        }
        Err(e) => {
            let text = match &e {
                RunError::Child { timeline, .. } => {
                    // The timeline so far goes into the result, so reports chart what happened
                    // up to the crash or the kill.
                    if !timeline.samples.is_empty() {
                        let m = measure(scenario, timeline);
                        result.current =
                            Some(Baseline::from_run(scenario, &m, &[], timeline, toolchain()));
                    }
                    format!(
                        "{e}\n--- timeline so far: {} samples, last at {} ---",
                        timeline.samples.len(),
                        timeline.end().unwrap_or(0)
                    )
                }
                _ => e.to_string(),
            };
            result.run_error = Some(text);
        }
    }
    result
}

fn invariant_results(scenario: &Scenario, outcomes: &[(String, Outcome)]) -> Vec<InvariantResult> {
    scenario
        .invariants
        .iter()
        .filter_map(|inv| {
            let (_, o) = outcomes.iter().find(|(n, _)| *n == inv.name)?;
            Some(InvariantResult {
                name: inv.name.clone(),
                during: match &inv.during {
                    Window::Always => "always".into(),
                    Window::Phase(p) => p.clone(),
                    Window::Range(a, b) => format!("{a:?}..{b:?}"),
                },
                max_live_bytes: match inv.predicate {
                    Predicate::LiveBytesMax(m) => Some(m),
                    _ => None,
                },
                expected_violation: matches!(inv.expect, Expectation::Violated { .. }),
                outcome: o.clone(),
            })
        })
        .collect()
}

/// The failure as a reader wants it, in order: where, why, what moved (table and diff), the
/// command that accepts the change.
pub fn failure_message(r: &ScenarioResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario `{}` ({}) failed:",
        r.scenario,
        r.path.display()
    );
    for reason in &r.verdict.reasons {
        let _ = writeln!(s, "  - {}", reason.trim_end().replace('\n', "\n    "));
    }
    if let (Some(cmp), Some(b), Some(c)) = (&r.comparison, &r.baseline, &r.current) {
        if cmp.failing().next().is_some() || cmp.fingerprint_mismatch.is_some() {
            let _ = writeln!(s, "\nmetrics that moved:\n{}", table(cmp, false));
            let name = format!("baselines/{}.json", r.scenario);
            let _ = writeln!(s, "{}", unified_diff(b, c, &name, "this run"));
        }
    }
    if r.run_error.is_none() && r.invariant_problems.is_empty() {
        if let Some(p) = &r.pending {
            let _ = writeln!(s, "this run's result is in {}", p.display());
        }
        let _ = writeln!(
            s,
            "to accept this run as the new baseline: cargo xtask bless {}",
            r.scenario
        );
    }
    s
}

/// What blessing did.
#[derive(Debug, Clone, PartialEq)]
pub enum Blessed {
    /// A pending `.json.new` was accepted without re-running.
    AcceptedPending(Option<Comparison>),
    /// The scenario was run and its result written.
    Ran(Box<ScenarioResult>),
    /// Nothing changed: the run matched the baseline exactly.
    Unchanged,
}

/// Errors of blessing: the run failed, its invariants failed, or a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BlessError {
    /// The run itself failed.
    #[error("cannot bless `{scenario}`: the run failed: {message}")]
    RunFailed {
        /// The scenario.
        scenario: String,
        /// Why.
        message: String,
    },
    /// Refused or failed to write.
    #[error(transparent)]
    Baseline(#[from] crate::errors::BaselineError),
}

/// Accepts a pending result if one matches the scenario, or runs it and writes its result.
/// Never writes a result whose invariants fail.
pub fn bless(
    scenario: &Scenario,
    cfg: &Config,
    on_event: &mut dyn FnMut(Event),
) -> Result<Blessed, BlessError> {
    if let Some(pending) = cfg.store.read_pending(&scenario.name)? {
        if pending.fingerprint == scenario.fingerprint {
            let old = cfg.store.read(&scenario.name)?;
            let cmp = old.as_ref().map(|o| compare(scenario, o, &pending));
            cfg.store.bless(&pending, &[], None)?;
            return Ok(Blessed::AcceptedPending(cmp));
        }
        // A pending result from an older version of the scenario is stale: run afresh.
        cfg.store.remove_pending(&scenario.name)?;
    }
    let mut result = execute(scenario, cfg, on_event);
    if let Some(e) = &result.run_error {
        return Err(BlessError::RunFailed {
            scenario: scenario.name.clone(),
            message: e.clone(),
        });
    }
    let Some(current) = result.current.clone() else {
        return Err(BlessError::RunFailed {
            scenario: scenario.name.clone(),
            message: "no result".into(),
        });
    };
    let failed = result
        .invariants
        .iter()
        .find(|i| matches!(i.outcome, Outcome::Violated(_)) && !i.expected_violation)
        .map(|i| i.name.clone());
    let old = cfg.store.read(&scenario.name)?;
    if old.as_ref().is_some_and(|o| {
        o.comparable_json() == current.comparable_json() && o.timeline == current.timeline
    }) {
        return Ok(Blessed::Unchanged);
    }
    result.comparison = old.as_ref().map(|o| compare(scenario, o, &current));
    result.baseline = old;
    cfg.store
        .bless(&current, &result.invariant_problems, failed.as_deref())?;
    Ok(Blessed::Ran(Box::new(result)))
}
