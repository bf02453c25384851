//! `check` and `bless`: one scenario end to end, `Scenario → Timeline → Measurement → Verdict`,
//! shared by every front end (the test harness, the CLI, xtask).
//!
//! It sequences the stages and decides which files change (through `store::Store`); it does
//! not print: front ends render `ScenarioResult` with [`failure_message`] or a reporter. A
//! scenario is checked or blessed under its lock, so concurrent invocations take turns.

use crate::errors::{BaselineError, RunError};
use crate::judge::compare::{compare, table, unified_diff, Comparison};
use crate::judge::invariants::{problems, InvariantProblem};
use crate::judge::verdict::{verdict, BaselineState, Hints, Inputs, Verdict};
use crate::measure::invariant::{outcomes_by_name, Outcome};
use crate::measure::metrics::{Measurement, Meter};
use crate::scenario::Scenario;
use crate::source::{self, Event, RunConfig};
use crate::spec::invariant::{Expectation, Predicate};
use crate::store::{Baseline, ChartSampler, Store};
use crate::timeline::{Sample, SampleSink};
use crate::XUnit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Whether the value of the `CI` environment variable means "running under CI", the one rule
/// every front end uses (they read the variable; the library reads no environment). Set and
/// not `false` or `0`, as GitHub Actions, GitLab and most CI systems set it.
pub fn is_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Everything a front end needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// How to run scenarios.
    pub run: RunConfig,
    /// Where baselines and results live.
    pub store: Store,
    /// Running under CI: never write `.json.new` files, and a missing tool fails.
    pub ci: bool,
    /// The commands hints name.
    pub hints: Hints,
}

/// One invariant's declaration and outcome, as reports need them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvariantResult {
    /// Its name.
    pub name: String,
    /// Its window in the scenario's words (`always`, `phase "steady" (from cycle 10,000 to the end)`,
    /// `from cycle 30,000 to the end`).
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
    /// How many samples the run produced (up to its stop).
    #[serde(default)]
    pub samples: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// Invariants not as declared (unexpected violations, culprits not named, windows never
    /// evaluated): (invariant, explanation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invariant_problems: Vec<InvariantProblem>,
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

/// Runs one scenario and judges it against its baseline. Leaves `.json.new` on a blessable
/// mismatch (outside CI), removes a stale one on a pass, and writes the result for reports.
/// A result that cannot be written fails the scenario: a report must not silently lack it.
pub fn check(scenario: &Scenario, cfg: &Config, on_event: &mut dyn FnMut(Event)) -> ScenarioResult {
    let mut result = empty_result(scenario);
    let _lock = match prepare(scenario, cfg, on_event) {
        Ok(lock) => lock,
        Err(e) => {
            result.run_error = Some(write_error(&e, &cfg.hints));
            result.verdict = fold(&result, None, &BaselineState::Missing, cfg.ci);
            return result;
        }
    };
    let missing = source::check_requirements(scenario, &cfg.run).err();
    if missing.is_none() {
        execute(scenario, cfg, on_event, &mut result);
    }
    let baseline = match cfg.store.read(&scenario.name) {
        Ok(b) => b,
        Err(e) => {
            result
                .run_error
                .get_or_insert(e.with_hint(&|s| cfg.hints.bless_forced(s)));
            None
        }
    };
    let state = match (&baseline, &result.current) {
        (Some(b), Some(c)) => BaselineState::Compared(compare(scenario, b, c)),
        _ => BaselineState::Missing,
    };
    result.verdict = fold(&result, missing.as_deref(), &state, cfg.ci);
    if let BaselineState::Compared(c) = state {
        result.comparison = Some(c);
    }
    result.baseline = baseline;
    if let Err(e) = write_files(scenario, cfg, &mut result) {
        result.run_error = Some(write_error(&e, &cfg.hints));
        result.verdict = fold(&result, None, &BaselineState::Missing, cfg.ci);
    }
    result
}

/// A file a check writes (a pending result beside the baselines, or the result under the
/// work directory) could not be written: the error names that file, the OS's reason (read-only,
/// no space, no permission) and the directory to fix.
fn write_error(e: &BaselineError, hints: &Hints) -> String {
    match e {
        BaselineError::Io { path, source } => {
            let dir = path.parent().unwrap_or(path.as_path());
            format!(
                "cannot write {}: {source} (hint: the directory {} must exist, be writable and have free space)",
                path.display(),
                dir.display()
            )
        }
        other => other.with_hint(&|s| hints.bless_forced(s)),
    }
}

/// Takes the scenario's lock and clears what an interrupted earlier run left behind.
fn prepare(
    scenario: &Scenario,
    cfg: &Config,
    on_event: &mut dyn FnMut(Event),
) -> Result<crate::store::ScenarioLock, BaselineError> {
    let lock = cfg.store.lock(&scenario.name, &mut |path| {
        on_event(Event::WaitingForLock(path.to_owned()))
    })?;
    cfg.store.remove_stale_temps()?;
    Ok(lock)
}

/// The verdict of a result as it stands.
fn fold(
    result: &ScenarioResult,
    missing_tool: Option<&str>,
    baseline: &BaselineState,
    ci: bool,
) -> Verdict {
    verdict(Inputs {
        missing_tool: missing_tool.map(|m| (m, ci)),
        run_error: result.run_error.as_deref(),
        no_data: no_data(result).as_deref(),
        invariant_problems: &result.invariant_problems,
        caught: result
            .invariants
            .iter()
            .filter(|i| i.expected_violation && matches!(i.outcome, Outcome::Violated(_)))
            .count(),
        baseline,
    })
}

/// A run that finished but measured nothing (a profile without a census) proves nothing.
fn no_data(result: &ScenarioResult) -> Option<String> {
    (result.run_error.is_none() && result.current.is_some() && result.samples == 0).then(|| {
        format!(
            "the run produced no sample: {}",
            result.x_unit.no_sample_words()
        )
    })
}

/// The files a check changes: the pending result, and the result for reports.
fn write_files(
    scenario: &Scenario,
    cfg: &Config,
    result: &mut ScenarioResult,
) -> Result<(), BaselineError> {
    if result.verdict.passed() {
        cfg.store.remove_pending(&scenario.name)?;
    } else if result.verdict.blessable() && !cfg.ci {
        if let Some(current) = &result.current {
            result.pending = Some(cfg.store.write_pending(current)?);
        }
    }
    cfg.store.write_result(scenario, result)?;
    Ok(())
}

fn empty_result(scenario: &Scenario) -> ScenarioResult {
    ScenarioResult {
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
        samples: 0,
        verdict: Verdict::unjudged(),
        invariant_problems: Vec::new(),
        pending: None,
    }
}

/// Runs and measures into `result`, without touching baselines.
fn execute(
    scenario: &Scenario,
    cfg: &Config,
    on_event: &mut dyn FnMut(Event),
    result: &mut ScenarioResult,
) {
    let mut figures = Figures::new(scenario);
    match source::run(scenario, &cfg.run, on_event, &mut figures) {
        Ok(out) => {
            let (m, chart) = figures.finish(&out.profile);
            let mut tc = toolchain();
            tc.extend(out.toolchain);
            result.current = Some(Baseline::from_run(scenario, &m, &out.outcomes, chart, tc));
            result.samples = out.samples;
            result.invariant_problems = problems(scenario, &out.outcomes);
            result.invariants = invariant_results(scenario, &out.outcomes);
            result.stopped_at = out.stopped_at;
            result.simulated_cycles = out
                .profile
                .facts
                .get("stopped_at_cycle")
                .and_then(|c| c.parse().ok());
        }
        Err(e) => {
            let text = match &e {
                RunError::Child { timeline, .. } => {
                    // The samples so far go into the result, so reports chart what happened
                    // up to the crash or the kill: the failure's timeline holds them when its
                    // source read them again for it (a profile written by the program), else
                    // they are in this run's figures already (streamed, as the simulator's).
                    let fed = if timeline.samples.is_empty() {
                        figures
                    } else {
                        let mut again = Figures::new(scenario);
                        timeline.feed(&mut again);
                        again
                    };
                    let (samples, last) = (fed.samples, fed.last_x);
                    if samples > 0 {
                        let (m, chart) = fed.finish(timeline);
                        result.current =
                            Some(Baseline::from_run(scenario, &m, &[], chart, toolchain()));
                        result.samples = samples;
                    }
                    format!(
                        "{e}\n--- timeline so far: {samples} samples, last at {} ---",
                        last.unwrap_or(0)
                    )
                }
                _ => e.to_string(),
            };
            result.run_error = Some(text);
        }
    }
}

/// A run's figures and chart, computed as its samples stream by: what the pipeline keeps of a
/// run instead of its samples.
struct Figures<'a> {
    meter: Meter<'a>,
    chart: ChartSampler,
    /// Samples given since the last `begin`, and the last one's position: for the message of
    /// a run that failed after streaming them.
    samples: usize,
    last_x: Option<u64>,
}

impl<'a> Figures<'a> {
    fn new(scenario: &'a Scenario) -> Self {
        Figures {
            meter: Meter::new(scenario),
            chart: ChartSampler::default(),
            samples: 0,
            last_x: None,
        }
    }

    /// The measurement (with the profile's whole-run totals) and the chart.
    fn finish(self, profile: &crate::Timeline) -> (Measurement, crate::store::ChartTimeline) {
        (
            self.meter.finish(&profile.marks, &profile.totals),
            self.chart.finish(&profile.marks),
        )
    }
}

impl SampleSink for Figures<'_> {
    fn begin(&mut self, x_unit: XUnit) {
        self.meter.begin(x_unit);
        self.chart.begin(x_unit);
        self.samples = 0;
        self.last_x = None;
    }

    fn sample(&mut self, s: &Sample) {
        self.meter.sample(s);
        self.chart.sample(s);
        self.samples += 1;
        self.last_x = Some(s.x);
    }

    fn recount(&mut self, size: &dyn Fn(&str) -> u64) {
        self.meter.recount(size);
    }
}

fn invariant_results(scenario: &Scenario, outcomes: &[(String, Outcome)]) -> Vec<InvariantResult> {
    let by_name = outcomes_by_name(outcomes);
    scenario
        .invariants
        .iter()
        .filter_map(|inv| {
            let o = *by_name.get(inv.name.as_str())?;
            Some(InvariantResult {
                name: inv.name.clone(),
                during: scenario.window_text(&inv.during).to_string(),
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
pub fn failure_message(r: &ScenarioResult, hints: &Hints) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario `{}` ({}) failed:",
        r.scenario,
        r.path.display()
    );
    for reason in r.verdict.messages(&r.scenario, hints) {
        let _ = writeln!(s, "  - {}", reason.trim_end().replace('\n', "\n    "));
    }
    if let (Some(cmp), Some(b), Some(c)) = (&r.comparison, &r.baseline, &r.current) {
        if cmp.failing().next().is_some() || cmp.fingerprint_mismatch.is_some() {
            let _ = writeln!(s, "\nmetrics that moved:\n{}", table(cmp, false));
            let name = format!("baselines/{}.json", r.scenario);
            let _ = writeln!(s, "{}", unified_diff(b, c, &name, "this run"));
        }
    }
    if r.verdict.blessable() {
        if let Some(p) = &r.pending {
            let _ = writeln!(s, "this run's result is in {}", p.display());
        }
        let _ = writeln!(
            s,
            "to accept this run as the new baseline: {}",
            hints.bless_one(&r.scenario)
        );
    }
    s
}

/// What blessing did.
#[derive(Debug, Clone, PartialEq)]
pub enum Blessed {
    /// A pending `.json.new` was accepted without re-running.
    AcceptedPending(Option<Comparison>),
    /// The scenario was run and its result written: it was new, or it differed from its
    /// baseline beyond tolerance, or blessing was forced.
    Written(Box<ScenarioResult>),
    /// The run matched its baseline within tolerance: nothing was written.
    Unchanged,
}

/// Whether bless writes only what changed (the default, like insta) or rewrites on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlessMode {
    /// Write a baseline only when its comparison fails, it is new, or a result is pending.
    Changed,
    /// Re-run and rewrite, reading neither the old baseline nor a pending result (which is
    /// also how a corrupt file is replaced).
    Force,
}

/// Errors of blessing: the scenario cannot run here, the run failed, its invariants failed,
/// or a file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BlessError {
    /// A tool it requires is missing.
    #[error("skipped, {0}")]
    MissingTool(String),
    /// The run itself failed, or measured nothing.
    #[error("cannot bless `{scenario}`: {message}")]
    RunFailed {
        /// The scenario.
        scenario: String,
        /// Why.
        message: String,
    },
    /// Refused or failed to write.
    #[error("{0}")]
    Baseline(String),
}

impl BlessError {
    fn store(e: BaselineError, hints: &Hints) -> BlessError {
        BlessError::Baseline(write_error(&e, hints))
    }
}

/// Accepts a pending result if one matches the scenario, or runs it and writes its result if
/// it is new or differs from its baseline beyond tolerance (always, under [`BlessMode::Force`]).
/// Never writes a result whose invariants fail, or one that measured nothing.
pub fn bless(
    scenario: &Scenario,
    cfg: &Config,
    mode: BlessMode,
    on_event: &mut dyn FnMut(Event),
) -> Result<Blessed, BlessError> {
    let err = |e| BlessError::store(e, &cfg.hints);
    let _lock = prepare(scenario, cfg, on_event).map_err(err)?;
    if let Err(reason) = source::check_requirements(scenario, &cfg.run) {
        return Err(BlessError::MissingTool(reason));
    }
    if mode == BlessMode::Changed {
        if let Some(pending) = cfg.store.read_pending(&scenario.name).map_err(err)? {
            if pending.fingerprint == scenario.fingerprint {
                let old = cfg.store.read(&scenario.name).map_err(err)?;
                let cmp = old.as_ref().map(|o| compare(scenario, o, &pending));
                cfg.store.bless(&pending, &[]).map_err(err)?;
                return Ok(Blessed::AcceptedPending(cmp));
            }
        }
    }
    // A pending result of an older version of the scenario is stale, and a forced bless
    // replaces whatever is there: run afresh.
    cfg.store.remove_pending(&scenario.name).map_err(err)?;
    let mut result = empty_result(scenario);
    execute(scenario, cfg, on_event, &mut result);
    let failed = |message: String| BlessError::RunFailed {
        scenario: scenario.name.clone(),
        message,
    };
    if let Some(e) = &result.run_error {
        return Err(failed(format!("the run failed: {e}")));
    }
    if let Some(e) = no_data(&result) {
        return Err(failed(e));
    }
    let Some(current) = result.current.clone() else {
        return Err(failed("the run produced no result".into()));
    };
    let old = match mode {
        BlessMode::Changed => cfg.store.read(&scenario.name).map_err(err)?,
        // The old figures only explain the change; a file that cannot be read is replaced.
        BlessMode::Force => cfg.store.read(&scenario.name).ok().flatten(),
    };
    let state = old.as_ref().map_or(BaselineState::Missing, |o| {
        BaselineState::Compared(compare(scenario, o, &current))
    });
    let v = fold(&result, None, &state, cfg.ci);
    if v.passed() && mode == BlessMode::Changed {
        return Ok(Blessed::Unchanged);
    }
    cfg.store
        .bless(&current, &worded(&result.invariant_problems))
        .map_err(err)?;
    if let BaselineState::Compared(c) = state {
        result.comparison = Some(c);
    }
    result.baseline = old;
    result.verdict = v;
    Ok(Blessed::Written(Box::new(result)))
}

/// Invariant problems as the store records a refused blessing: (invariant, explanation).
fn worded(problems: &[InvariantProblem]) -> Vec<(String, String)> {
    problems
        .iter()
        .map(|p| (p.invariant.clone(), p.message()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::is_ci;

    #[test]
    fn ci_is_any_value_but_empty_false_or_zero() {
        for (value, ci) in [
            (None, false),
            (Some(""), false),
            (Some("false"), false),
            (Some("0"), false),
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
        ] {
            assert_eq!(is_ci(value), ci, "{value:?}");
        }
    }
}
