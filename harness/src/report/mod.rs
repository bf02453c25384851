//! `ReportInput`: the memory diff reviewers read on a pull request, rendered as markdown (a PR
//! comment) and as one self-contained HTML file with SVG charts.
//!
//! ```text
//! let input = ReportInput { results, base_ref: Some("origin/main".into()), base, blessed };
//! let comment = report::markdown(&input);   // starts with <!-- membound-report -->
//! let page = report::html(&input);          // no network: inline CSS and SVG only
//! ```
//!
//! `HistoryInput` (the baselines as each commit that changed them left them) renders the same
//! two ways, `history_markdown` and `history_html`, with one step chart per metric on the page;
//! and `key_figures` is the line `membound run` prints beside a passing scenario.
//!
//! Each of the two inputs is one document model (`doc`) built once and rendered twice: what
//! shows, in what order and in what words is decided there, the renderers only mark it up.
//!
//! Both are pure functions of their input: no I/O, no git, no clock, no environment. The front
//! end reads the results, the baselines at the base ref and the blessed changes, and passes
//! them in; the same input always gives the same bytes. Every figure shown comes from the input:
//! nothing is interpolated or estimated (where the baseline was sampled at other positions than
//! the run, a chart says so). A reporter never decides pass or fail: a scenario's status is its
//! `Verdict`.

mod doc;
mod html;
mod junit;
mod markdown;
mod mermaid;
pub mod summary;
mod svg;
pub mod timeline_json;

pub use html::{explore_html, history_html, html};
pub use junit::junit;
pub use markdown::{history_markdown, markdown};

use crate::judge::compare::{default_tolerance, figure_rows, fmt_tol, fmt_value, Row, RowVerdict};
use crate::judge::verdict::{Headline, Hints};
use crate::measure::invariant::Outcome;
use crate::pipeline::ScenarioResult;
use crate::spec::invariant::Tolerance;
use crate::spec::metric::Value;
use crate::store::{Baseline, ChartTimeline, Provenance};
use crate::units::fmt_int;
use crate::XUnit;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportInput {
    /// The results of this run, one per scenario (`target/membound/results/<name>.json`).
    pub results: Vec<ScenarioResult>,
    /// The git ref the pull request is compared with, e.g. `origin/main`.
    #[serde(default)]
    pub base_ref: Option<String>,
    /// The baselines at the base ref, by scenario. When empty, each result's own `baseline`
    /// (and its `comparison`) is what the report compares with.
    #[serde(default)]
    pub base: BTreeMap<String, Baseline>,
    /// Baselines that changed between the base ref and the head.
    #[serde(default)]
    pub blessed: Vec<BlessedChange>,
    /// The commands hints name.
    #[serde(default)]
    pub hints: Hints,
    /// Scenarios this run has no result of, and why: a report never shows an earlier run's
    /// result as this run's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without_result: Vec<NoResult>,
}

/// A scenario the report has no result of from this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoResult {
    /// The scenario (its file's name).
    pub scenario: String,
    /// Why.
    pub why: NoResultWhy,
}

/// Why a scenario has no result from this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NoResultWhy {
    /// Its file is refused as it stands: no run can have checked it.
    Refused {
        /// The error, naming file, line and column.
        error: String,
    },
    /// The result there is from an earlier run (this run refused before it, skipped it, or
    /// could not write its result).
    EarlierRun,
    /// The result is this run's, but the scenario file changed after it ran.
    ScenarioChanged,
}

impl NoResultWhy {
    /// Why a result of this provenance is not the run's, or `None` when it is (a directory
    /// without a run recorded cannot be checked, and is taken as it is).
    pub fn of(provenance: Provenance) -> Option<NoResultWhy> {
        match provenance {
            Provenance::ThisRun | Provenance::Unrecorded => None,
            Provenance::EarlierRun => Some(NoResultWhy::EarlierRun),
            Provenance::ScenarioChanged => Some(NoResultWhy::ScenarioChanged),
        }
    }
}

/// The results a report shows, and the scenarios it lists without one (in name order): each
/// result read with its provenance, and the scenarios whose files are refused as they stand
/// (name, error), which no run can have checked, whatever an earlier run left.
pub fn sort_results(
    read: Vec<(ScenarioResult, Provenance)>,
    refused: BTreeMap<String, String>,
) -> (Vec<ScenarioResult>, Vec<NoResult>) {
    let mut results = Vec::new();
    let mut without_result = Vec::new();
    for (result, provenance) in read {
        if refused.contains_key(&result.scenario) {
            continue;
        }
        match NoResultWhy::of(provenance) {
            None => results.push(result),
            Some(why) => without_result.push(NoResult {
                scenario: result.scenario,
                why,
            }),
        }
    }
    without_result.extend(refused.into_iter().map(|(scenario, error)| NoResult {
        scenario,
        why: NoResultWhy::Refused { error },
    }));
    without_result.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    (results, without_result)
}

impl NoResult {
    /// One line for a reader.
    pub fn describe(&self) -> String {
        match &self.why {
            NoResultWhy::Refused { error } => {
                format!("scenario refused: {}", error.replace('\n', " "))
            }
            NoResultWhy::EarlierRun => {
                "no result from this run (the result on disk is from an earlier run)".to_owned()
            }
            NoResultWhy::ScenarioChanged => {
                "no result from this run of the scenario file as it is now (it changed after the run)".to_owned()
            }
        }
    }
}

/// The headline of the scenarios without a result, or `None` when every scenario has one.
fn without_result_headline(input: &ReportInput) -> Option<String> {
    let n = input.without_result.len();
    (n > 0).then(|| {
        format!(
            "{n} scenario{} without a result from this run (not counted below)",
            if n == 1 { "" } else { "s" }
        )
    })
}

/// A baseline that changed between the base ref and the head of a pull request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlessedChange {
    /// The scenario.
    pub scenario: String,
    /// The baseline at the base ref; `None` when the PR adds it.
    pub old: Option<Baseline>,
    /// The baseline at the head; `None` when the PR removes it.
    pub new: Option<Baseline>,
    /// The last commit between the base ref and the head that changed the baseline file: who
    /// accepted the change is what a reviewer asks next. `None` when the change is not
    /// committed yet (a working tree report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Commit>,
}

pub use crate::store::git::Commit;

/// A passing scenario's key figures in one line, as `membound run` prints them beside `ok`:
/// `peak 36.1 KiB · steady 35.9 KiB · growth 0 B/kcycle`, then, for each whole-run metric that
/// moved within tolerance, its change (`Δ allocations.count +0.4%`). Empty when the run
/// measured nothing.
pub fn key_figures(r: &ScenarioResult) -> String {
    let mut parts: Vec<String> = r.current.as_ref().map(baseline_figures).unwrap_or_default();
    if let Some(c) = &r.comparison {
        for row in c
            .rows
            .iter()
            .filter(|row| row.verdict == RowVerdict::Within && type_metric(&row.metric).is_none())
        {
            parts.push(format!("Δ {} {}", row.metric, fmt_delta_rel_or_abs(row)));
        }
    }
    parts.join(" · ")
}

/// Peak, steady and growth of a baseline as short phrases: the residency metrics of its
/// source, told by its x-axis (the simulator's live bytes, a heap, an `rss` run's resident set).
fn baseline_figures(b: &Baseline) -> Vec<String> {
    let x_unit = b.timeline.x_unit;
    let [peak, steady, growth] = crate::spec::metric::residency(x_unit);
    let get = |m| b.metrics.get(&m).map(|v| v.as_f64());
    let mut out = Vec::new();
    if let Some(p) = get(peak) {
        out.push(format!("peak {}", crate::units::fmt_bytes(p)));
    }
    if let Some(s) = get(steady) {
        out.push(format!("steady {}", crate::units::fmt_bytes(s)));
    }
    if let Some(g) = get(growth) {
        out.push(format!(
            "growth {}/{}",
            crate::units::fmt_bytes(g),
            x_unit.per_short()
        ));
    }
    out
}

/// A relative change, or the absolute one when the baseline is zero.
fn fmt_delta_rel_or_abs(r: &Row) -> String {
    match r.delta_rel() {
        Some(_) => fmt_delta_rel(r),
        None => fmt_delta(r),
    }
}

/// What the PR accepts about one scenario, for the report's first lines.
struct Accepted<'a> {
    scenario: &'a str,
    /// `re-blessed: allocations.count 11,000,190 → 15,000,238, +36.4%; live_bytes.peak +1.6%`,
    /// `added: peak …`, `removed: …`.
    what: String,
    /// The commit that changed the baseline, when committed.
    commit: Option<&'a Commit>,
}

/// How many of a re-blessed baseline's moves the headline names.
const HEADLINE_MOVES: usize = 2;

/// The PR's baseline changes in scenario order, each as one headline.
fn accepted(input: &ReportInput) -> Vec<Accepted<'_>> {
    let base = input.base_ref.as_deref().unwrap_or("the base ref");
    blessed_sorted(input)
        .into_iter()
        .filter_map(|c| {
            let what = match (&c.old, &c.new) {
                (None, Some(n)) => {
                    let figures = baseline_figures(n);
                    if figures.is_empty() {
                        format!("added (no baseline at {base})")
                    } else {
                        format!("added (no baseline at {base}): {}", figures.join(" · "))
                    }
                }
                (Some(o), None) => {
                    let figures = baseline_figures(o);
                    if figures.is_empty() {
                        "removed: its baseline is deleted".to_owned()
                    } else {
                        format!(
                            "removed: its baseline is deleted (was {})",
                            figures.join(" · ")
                        )
                    }
                }
                (Some(o), Some(n)) => format!("re-blessed: {}", reblessed_moves(c, o, n)),
                (None, None) => return None,
            };
            Some(Accepted {
                scenario: &c.scenario,
                what,
                commit: c.commit.as_ref(),
            })
        })
        .collect()
}

/// The largest moves of a re-blessed baseline: whole-run metrics first (per-type ones only when
/// no whole-run metric moved), by relative size; then what else changed.
fn reblessed_moves(c: &BlessedChange, old: &Baseline, new: &Baseline) -> String {
    let rows = blessed_rows(c);
    let (whole, typed): (Vec<&Row>, Vec<&Row>) =
        rows.iter().partition(|r| type_metric(&r.metric).is_none());
    let mut pick = if whole.is_empty() { typed } else { whole };
    let mag = |r: &Row| r.delta_rel().map_or(f64::INFINITY, f64::abs);
    pick.sort_by(|a, b| {
        mag(b)
            .total_cmp(&mag(a))
            .then_with(|| a.metric.cmp(&b.metric))
    });
    let mut parts: Vec<String> = pick
        .iter()
        .take(HEADLINE_MOVES)
        .enumerate()
        .map(|(i, r)| match (r.baseline, r.current) {
            (Some(_), Some(_)) if i == 0 => format!(
                "{} {} → {}, {}",
                r.metric,
                fmt_opt(&r.metric, r.baseline),
                fmt_opt(&r.metric, r.current),
                fmt_delta_rel_or_abs(r)
            ),
            (Some(_), Some(_)) => format!("{} {}", r.metric, fmt_delta_rel_or_abs(r)),
            (None, _) => format!("{} new ({})", r.metric, fmt_opt(&r.metric, r.current)),
            (_, None) => format!("{} gone", r.metric),
        })
        .collect();
    let more = rows.len().saturating_sub(HEADLINE_MOVES.min(pick.len()));
    if more > 0 {
        parts.push(format!(
            "{more} more {}",
            if more == 1 { "metric" } else { "metrics" }
        ));
    }
    if old.fingerprint != new.fingerprint {
        parts.push("the scenario file changed".to_owned());
    }
    let invariants: Vec<&str> = new
        .invariants
        .iter()
        .filter(|(k, v)| old.invariants.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .chain(
            old.invariants
                .keys()
                .filter(|k| !new.invariants.contains_key(*k))
                .map(String::as_str),
        )
        .collect();
    if !invariants.is_empty() {
        parts.push(format!("invariants changed: {}", invariants.join(", ")));
    }
    if parts.is_empty() {
        "no metric changed (only recorded facts such as the toolchain)".to_owned()
    } else {
        parts.join("; ")
    }
}

/// The marker CI looks for to update the same PR comment.
pub const MARKER: &str = "<!-- membound-report -->";

/// How many per-type rows "top movers by type" lists.
const TOP_MOVERS: usize = 6;

/// One scenario as both reporters show it: the result plus what it is compared with.
struct View<'a> {
    r: &'a ScenarioResult,
    /// The baseline compared with (at the base ref, or the result's own).
    baseline: Option<&'a Baseline>,
    /// The comparison's rows against `baseline`.
    rows: Vec<Row>,
    /// Whether the scenario's baseline at the base ref differs from the head's (blessed in this PR).
    reblessed: bool,
    /// The base ref's baselines were given but this scenario had none there.
    new_at_base: bool,
}

impl<'a> View<'a> {
    fn new(r: &'a ScenarioResult, input: &'a ReportInput) -> View<'a> {
        let own_rows = || {
            r.comparison
                .as_ref()
                .map(|c| c.rows.clone())
                .unwrap_or_default()
        };
        if input.base.is_empty() {
            return View {
                r,
                baseline: r.baseline.as_ref(),
                rows: own_rows(),
                reblessed: false,
                new_at_base: false,
            };
        }
        let base = input.base.get(&r.scenario);
        if base.is_none() {
            // New in this PR: nothing at the base ref to compare with, so the run is shown
            // against the baseline the PR adds rather than as a table of all-new metrics.
            return View {
                r,
                baseline: r.baseline.as_ref(),
                rows: own_rows(),
                reblessed: false,
                new_at_base: true,
            };
        }
        let reblessed = base != r.baseline.as_ref();
        let rows = match (base, &r.current) {
            _ if !reblessed => own_rows(),
            (Some(b), Some(c)) => {
                rows_against(b, c, r.comparison.as_ref().map_or(&[], |c| &c.rows))
            }
            _ => Vec::new(),
        };
        View {
            r,
            baseline: base,
            rows,
            reblessed,
            new_at_base: false,
        }
    }

    fn name(&self) -> &str {
        &self.r.scenario
    }

    /// The status as the overview shows it: a scenario the PR adds says so beside its verdict.
    fn status_text(&self) -> String {
        if self.new_at_base {
            format!("{}, added in this PR", self.status().word())
        } else {
            self.status().word().to_owned()
        }
    }

    fn unit(&self) -> XUnit {
        self.r.x_unit
    }

    fn status(&self) -> Headline {
        self.r.verdict.headline()
    }

    /// Whole-run rows that moved.
    fn moved_metrics(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.verdict != RowVerdict::Equal && type_metric(&r.metric).is_none())
            .collect()
    }

    /// Per-type rows that moved, largest relative change first (new and gone ones first of all).
    fn moved_types(&self) -> Vec<&Row> {
        let mut v: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.verdict != RowVerdict::Equal && type_metric(&r.metric).is_some())
            .collect();
        let mag = |r: &Row| r.delta_rel().map_or(f64::INFINITY, f64::abs);
        v.sort_by(|a, b| {
            mag(b)
                .total_cmp(&mag(a))
                .then_with(|| a.metric.cmp(&b.metric))
        });
        v
    }

    fn unchanged(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.verdict == RowVerdict::Equal)
            .collect()
    }

    /// Whether a reader needs the whole section (anything failed or moved beyond noise).
    fn interesting(&self) -> bool {
        !self.r.verdict.passed()
            || self.reblessed
            || self
                .rows
                .iter()
                .any(|r| !matches!(r.verdict, RowVerdict::Equal | RowVerdict::Within))
            || self
                .r
                .invariants
                .iter()
                .any(|i| matches!(i.outcome, Outcome::Violated(_)))
    }

    /// Whether bless would accept this run (the verdict's one definition).
    fn blessable(&self) -> bool {
        self.r.verdict.blessable() && self.r.current.is_some()
    }

    /// Reasons as text, naming the input's commands.
    fn reasons(&self, hints: &Hints) -> Vec<String> {
        self.r.verdict.messages(&self.r.scenario, hints)
    }

    /// How this run's figures were cut short, when they were: its peak is the peak up to
    /// there, not the peak of a whole run.
    fn cut_short(&self) -> Option<String> {
        match (self.r.stopped_at, &self.r.run_error) {
            (_, Some(_)) => Some("up to the failure".into()),
            (Some(x), None) => Some(format!("up to the stop at {}", fmt_at(self.unit(), x))),
            (None, None) => None,
        }
    }

    /// This run's peak as text, labelled when the run was cut short.
    fn current_peak_text(&self) -> String {
        match (self.peak().1, self.cut_short()) {
            (None, _) => "—".into(),
            (Some(p), None) => crate::units::fmt_bytes(p),
            (Some(p), Some(cut)) => format!("{} ({cut})", crate::units::fmt_bytes(p)),
        }
    }

    fn peak(&self) -> (Option<f64>, Option<f64>) {
        let get = |b: Option<&Baseline>| b.and_then(peak_metric).map(|(_, v)| v);
        (get(self.baseline), get(self.r.current.as_ref()))
    }

    fn current_timeline(&self) -> Option<&'a ChartTimeline> {
        self.r
            .current
            .as_ref()
            .map(|c| &c.timeline)
            .filter(|t| !t.points.is_empty())
    }

    fn baseline_timeline(&self) -> Option<&'a ChartTimeline> {
        self.baseline
            .map(|b| &b.timeline)
            .filter(|t| !t.points.is_empty())
    }

    /// The name of what the run is compared with, for captions.
    fn against(&self, input: &ReportInput) -> String {
        match (&input.base_ref, input.base.is_empty()) {
            _ if self.new_at_base => "baseline this PR adds".to_owned(),
            (Some(r), false) => format!("baseline at {r}"),
            _ => "blessed baseline".to_owned(),
        }
    }
}

/// How the reports name a verdict's headline.
trait Shown {
    /// Its word.
    fn word(self) -> &'static str;
}

impl Shown for Headline {
    fn word(self) -> &'static str {
        match self {
            Headline::Passed => "passed",
            Headline::LeakCaught => "leak caught",
            Headline::Skipped => "skipped",
            Headline::RunFailed => "run failed",
            Headline::Invariant => "invariant violated",
            Headline::Regressed => "regressed",
            Headline::Improved => "improved: bless to lock it in",
            Headline::Failed => "failed",
        }
    }
}

/// Counts for the one-line summary.
struct Summary {
    /// Baselines the PR changed (re-blessed, added or removed).
    changed: usize,
    run: usize,
    /// Passes that caught their expected violation, counted apart from plain passes.
    caught: usize,
    failed: usize,
    skipped: usize,
    regressed: usize,
    improved: usize,
    invariant_failures: usize,
}

fn summary(input: &ReportInput) -> Summary {
    let results = &input.results;
    Summary {
        changed: input.blessed.len(),
        run: results.len(),
        caught: results.iter().filter(|r| r.verdict.leak_caught()).count(),
        failed: results.iter().filter(|r| r.verdict.failed()).count(),
        skipped: results
            .iter()
            .filter(|r| r.verdict.status == crate::judge::verdict::Status::Skipped)
            .count(),
        regressed: results.iter().filter(|r| r.verdict.regressed()).count(),
        improved: results.iter().filter(|r| r.verdict.improved()).count(),
        invariant_failures: results.iter().map(invariant_failures).sum(),
    }
}

impl Summary {
    fn line(&self, against: &str) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let caught = if self.caught > 0 {
            format!(", {}", plural(self.caught, "leak caught", "leaks caught"))
        } else {
            String::new()
        };
        let skipped = if self.skipped > 0 {
            format!(", {} skipped", self.skipped)
        } else {
            String::new()
        };
        // An accepted change is no regression of this run, but it is what the PR changes: the
        // line never reads as all green without saying so.
        let changed = if self.changed > 0 {
            format!(
                " · {} changed by this PR (listed above)",
                plural(self.changed, "baseline", "baselines")
            )
        } else {
            String::new()
        };
        format!(
            "{} run: {} passed{caught}, {} failed{skipped} · {} · {} · {}{changed} · compared with {against}",
            plural(self.run, "scenario", "scenarios"),
            self.run - self.caught - self.failed - self.skipped,
            self.failed,
            plural(self.regressed, "regression", "regressions"),
            plural(self.improved, "improvement", "improvements"),
            plural(
                self.invariant_failures,
                "invariant failure",
                "invariant failures"
            ),
        )
    }
}

fn against_all(input: &ReportInput) -> String {
    match (&input.base_ref, input.base.is_empty()) {
        (Some(r), false) => format!("the baselines at {r}"),
        _ => "the blessed baselines".to_owned(),
    }
}

/// Invariants whose outcome is not the declared one: an unexpected violation, an expected
/// violation that did not happen, or an invariant never evaluated.
fn invariant_failures(r: &ScenarioResult) -> usize {
    r.invariants
        .iter()
        .filter(|i| !i.outcome.as_declared(i.expected_violation))
        .count()
}

/// Views in report order: failing scenarios first, then by name.
fn views(input: &ReportInput) -> Vec<View<'_>> {
    let mut v: Vec<View> = input.results.iter().map(|r| View::new(r, input)).collect();
    v.sort_by(|a, b| {
        a.r.verdict
            .passed()
            .cmp(&b.r.verdict.passed())
            .then_with(|| a.name().cmp(b.name()))
    });
    v
}

/// Compares a run with a baseline other than the one the run was judged against (the base
/// ref's), under the scenario's tolerances as the run's own comparison recorded them.
fn rows_against(base: &Baseline, current: &Baseline, tolerances: &[Row]) -> Vec<Row> {
    figure_rows(Some(base), Some(current), |name| {
        tolerances
            .iter()
            .find(|r| r.metric == name)
            .map_or_else(|| default_tolerance(name), |r| r.tolerance)
    })
}

/// `types.<label>.<field>` split into label and field (labels contain dots, fields do not).
fn type_metric(metric: &str) -> Option<(&str, &str)> {
    metric.strip_prefix("types.")?.rsplit_once('.')
}

/// The run's peak residency metric: its source's own (the simulator's live bytes, a GHC or
/// massif heap, an `rss` run's resident set), told by the run's x-axis, not by trying names.
fn peak_metric(b: &Baseline) -> Option<(&'static str, f64)> {
    let [peak, _, _] = crate::spec::metric::residency(b.timeline.x_unit);
    b.metrics.get(&peak).map(|v| (peak.name(), v.as_f64()))
}

fn fmt_opt(metric: &str, v: Option<Value>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| fmt_value(metric, v.as_f64()))
}

fn fmt_delta(r: &Row) -> String {
    r.delta().map_or_else(
        || "—".into(),
        |d| {
            format!(
                "{}{}",
                if d > 0.0 { "+" } else { "" },
                fmt_value(&r.metric, d)
            )
        },
    )
}

fn fmt_delta_rel(r: &Row) -> String {
    r.delta_rel()
        .map_or_else(|| "—".into(), |d| format!("{:+.1}%", d * 100.0))
}

fn fmt_rel(old: Option<f64>, new: Option<f64>) -> String {
    match (old, new) {
        (Some(o), Some(n)) if o != 0.0 => format!("{:+.1}%", (n - o) / o.abs() * 100.0),
        _ => "—".into(),
    }
}

/// `cycle 120,000` or `census 14`.
fn fmt_at(unit: XUnit, x: u64) -> String {
    unit.at(x)
}

/// One line per invariant outcome: text, and whether it is what the scenario declared.
fn invariant_line(unit: XUnit, i: &crate::pipeline::InvariantResult) -> (bool, String) {
    let expected = if i.expected_violation {
        " (expected)"
    } else {
        ""
    };
    match &i.outcome {
        Outcome::Held { samples } => (
            !i.expected_violation,
            format!(
                "held over {} samples{}",
                fmt_int(*samples as i128),
                if i.expected_violation {
                    " (a violation was expected)"
                } else {
                    ""
                }
            ),
        ),
        Outcome::Violated(v) => {
            let mut s = format!(
                "violated at {}{expected}: {}, found {}",
                fmt_at(unit, v.x),
                v.predicate,
                v.value
            );
            if let Some(g) = v.top_growth.first().filter(|g| !g.counts_objects()) {
                s.push_str(&format!(
                    "; top growth `{}` {}{} live bytes",
                    g.label,
                    if g.bytes_delta >= 0 { "+" } else { "" },
                    crate::units::fmt_bytes(g.bytes_delta as f64)
                ));
                if let Some(c) = crate::timeline::called_from(&g.callers) {
                    s.push_str(&format!(", {c}"));
                }
            } else if let Some(g) = v.top_growth.first() {
                s.push_str(&format!(
                    "; top growth `{}` {}{} live ({}{})",
                    g.label,
                    if g.to_count >= g.from_count { "+" } else { "" },
                    fmt_int(g.to_count as i128 - g.from_count as i128),
                    if g.bytes_delta >= 0 { "+" } else { "" },
                    crate::units::fmt_bytes(g.bytes_delta as f64)
                ));
            }
            if let Some(a) = &v.attribution {
                s.push_str(&format!("; {}", a.short()));
            }
            (i.expected_violation, s)
        }
        // Never evaluated is never as declared: no sample, no verdict (not a green check).
        Outcome::NotReached { reason, .. } => (false, format!("not reached: {reason}")),
        Outcome::NotEvaluable { reason } => (false, format!("not evaluable: {reason}")),
    }
}

/// What changed in a blessed baseline: rows of metrics that differ, without tolerances (the
/// change was accepted; this shows by how much).
fn blessed_rows(c: &BlessedChange) -> Vec<Row> {
    let exact = Tolerance::default();
    figure_rows(c.old.as_ref(), c.new.as_ref(), |_| exact)
        .into_iter()
        .filter(|r| r.verdict != RowVerdict::Equal)
        .collect()
}

/// The blessed changes in scenario order.
fn blessed_sorted(input: &ReportInput) -> Vec<&BlessedChange> {
    let mut v: Vec<&BlessedChange> = input.blessed.iter().collect();
    v.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    v
}

/// A word for a blessed row's direction (no tolerance applies to an accepted change).
fn direction(r: &Row) -> &'static str {
    match r.verdict {
        RowVerdict::Regressed => "up",
        RowVerdict::Improved => "down",
        RowVerdict::Added => "new",
        RowVerdict::Removed => "gone",
        RowVerdict::Equal | RowVerdict::Within | RowVerdict::NotCompared => "=",
    }
}

// The history of baselines in git (`membound history`): per scenario, the baseline as each
// commit that changed its file left it, built into a document by `doc::history`. The
// front end walks `git log` and `git show`; nothing between commits is inferred.

/// Everything a history shows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryInput {
    /// One history per scenario, in the order shown.
    pub scenarios: Vec<ScenarioHistory>,
    /// Only this metric (a flat name, `types.<label>.<field>` for per-type ones); `None`: every
    /// metric whose value changed.
    #[serde(default)]
    pub metric: Option<String>,
    /// The ref the history starts after (`--since`), when limited.
    #[serde(default)]
    pub since: Option<String>,
    /// Set when the repository is a shallow clone: the history may begin later than the
    /// baselines did.
    #[serde(default)]
    pub shallow: Option<Shallow>,
}

/// How far a shallow clone let the front end see.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Shallow {
    /// The oldest commit seen that changed a baseline, if any.
    pub oldest: Option<Commit>,
    /// How many commits of the clone's history were visible.
    pub depth: usize,
}

/// One scenario's baseline over the commits that changed its file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScenarioHistory {
    /// The scenario.
    pub scenario: String,
    /// Oldest first.
    pub entries: Vec<HistoryEntry>,
    /// Commits whose baseline file this version cannot read, oldest first: left out of the
    /// values (a gap is not a change), and named so that nobody mistakes the history for whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
}

/// A commit whose baseline file could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unreadable {
    /// The commit.
    pub commit: Commit,
    /// Why, with the file and where in it.
    pub reason: String,
}

/// One line per unreadable commit of a scenario's history.
fn unreadable_notes(h: &ScenarioHistory) -> Vec<String> {
    h.unreadable
        .iter()
        .map(|u| {
            format!(
                "Unreadable at {} ({}, {}), left out: {}",
                u.commit.id, u.commit.date, u.commit.subject, u.reason
            )
        })
        .collect()
}

/// The baseline as one commit left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The commit.
    pub commit: Commit,
    /// The baseline at that commit; `None` where the commit deleted it (or, for the starting
    /// point of `--since`, where it did not exist yet).
    pub baseline: Option<Baseline>,
}

/// One metric's values along a scenario's entries.
struct Series {
    metric: String,
    values: Vec<Option<f64>>,
}

impl Series {
    /// Indices of the entries where the value differs from the entry before (the first entry
    /// that has a value counts as a move from nothing).
    fn steps(&self) -> Vec<usize> {
        (0..self.values.len())
            .filter(|&i| {
                if i == 0 {
                    self.values[0].is_some()
                } else {
                    self.values[i] != self.values[i - 1]
                }
            })
            .collect()
    }

    fn changed(&self) -> bool {
        self.values.windows(2).any(|w| w[0] != w[1])
    }
}

/// The metrics shown for one scenario, and the names of all it had.
fn series(h: &ScenarioHistory, only: Option<&str>) -> (Vec<Series>, BTreeSet<String>) {
    let flat: Vec<_> = h
        .entries
        .iter()
        .map(|e| {
            e.baseline
                .as_ref()
                .map(|b| crate::measure::metrics::flatten(&b.metrics, &b.types))
                .unwrap_or_default()
        })
        .collect();
    let names: BTreeSet<String> = flat.iter().flat_map(|m| m.keys().cloned()).collect();
    let shown = names
        .iter()
        .filter(|n| only.is_none_or(|m| m == n.as_str()))
        .map(|n| Series {
            metric: n.clone(),
            values: flat.iter().map(|m| m.get(n).map(|v| v.as_f64())).collect(),
        })
        .filter(|s| only.is_some() || s.changed())
        .collect();
    (shown, names)
}

/// Notes on what the history covers: `--since`, a shallow clone.
fn scope(input: &HistoryInput) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(r) = &input.since {
        notes.push(format!(
            "Commits after {r}; the first row of each table is the value at {r}."
        ));
    }
    if let Some(sh) = &input.shallow {
        let from = sh.oldest.as_ref().map_or_else(
            || "no commit that changed a baseline".to_owned(),
            |c| format!("back to {} ({}, {})", c.id, c.date, c.subject),
        );
        notes.push(format!(
            "Shallow clone: git could see {} commit(s), {from}; older changes are not shown (hint: `git fetch --unshallow` to see them all).",
            sh.depth
        ));
    }
    notes
}

/// What one scenario's section says when no metric is shown.
fn nothing_shown(input: &HistoryInput, h: &ScenarioHistory, names: &BTreeSet<String>) -> String {
    let only = input.metric.as_deref();
    match only {
        Some(m) if !names.contains(m) => format!(
            "No metric `{m}` in any of its baselines (metrics: {}).",
            names.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        _ if h.entries.len() <= 1 => match &input.since {
            Some(r) => format!("No commit after {r} changed it."),
            None => "Blessed once: no metric has changed since.".to_owned(),
        },
        _ => "No metric changed (the commits changed only recorded facts such as the toolchain or the timeline).".to_owned(),
    }
}

fn fmt_history_value(metric: &str, v: Option<f64>) -> String {
    v.map_or_else(|| "— (no baseline)".to_owned(), |v| fmt_value(metric, v))
}

fn fmt_history_step(metric: &str, old: Option<f64>, new: Option<f64>) -> (String, String) {
    match (old, new) {
        (Some(o), Some(n)) => {
            let d = n - o;
            let abs = format!("{}{}", if d > 0.0 { "+" } else { "" }, fmt_value(metric, d));
            let rel = if o != 0.0 {
                format!("{:+.1}%", d / o.abs() * 100.0)
            } else {
                String::new()
            };
            (abs, rel)
        }
        _ => (String::new(), String::new()),
    }
}

fn commits_phrase(h: &ScenarioHistory) -> String {
    let n = h.entries.len();
    format!(
        "{n} commit{} changed `baselines/{}.json`",
        if n == 1 { "" } else { "s" },
        h.scenario
    )
}

impl Series {
    /// The entries a table lists: every step, and a removal (a value gone) too.
    fn steps_or_removal(&self) -> Vec<usize> {
        let steps = self.steps();
        if steps.is_empty() && !self.values.is_empty() {
            // Shown on request but never set: one row says so.
            return vec![0];
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passed(scenario: &str) -> ScenarioResult {
        serde_json::from_value(serde_json::json!({
            "scenario": scenario,
            "path": format!("{scenario}.toml"),
            "x_unit": "cycles",
            "invariants": [],
            "verdict": {"status": "passed", "reasons": []},
        }))
        .expect("a result")
    }

    #[test]
    fn a_report_shows_only_this_runs_results_of_files_it_accepts() {
        let read = vec![
            (passed("now"), Provenance::ThisRun),
            (passed("old_dir"), Provenance::Unrecorded),
            (passed("earlier"), Provenance::EarlierRun),
            (passed("edited"), Provenance::ScenarioChanged),
            (passed("broken"), Provenance::ThisRun),
        ];
        let refused = BTreeMap::from([("broken".to_owned(), "broken.toml:1:1: bad".to_owned())]);
        let (shown, without) = sort_results(read, refused);
        let shown: Vec<&str> = shown.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(shown, ["now", "old_dir"]);
        let without: Vec<(&str, &NoResultWhy)> = without
            .iter()
            .map(|n| (n.scenario.as_str(), &n.why))
            .collect();
        assert_eq!(
            without,
            [
                (
                    "broken",
                    &NoResultWhy::Refused {
                        error: "broken.toml:1:1: bad".into()
                    }
                ),
                ("earlier", &NoResultWhy::EarlierRun),
                ("edited", &NoResultWhy::ScenarioChanged),
            ]
        );
    }

    #[test]
    fn type_metrics_split_at_the_last_dot() {
        assert_eq!(
            type_metric("types.clash-prelude:Clash.Signal.Internal.:-.peak_bytes"),
            Some(("clash-prelude:Clash.Signal.Internal.:-", "peak_bytes"))
        );
        assert_eq!(type_metric("live_bytes.peak"), None);
    }

    #[test]
    fn the_summary_counts_what_the_verdicts_say() {
        let s = Summary {
            changed: 0,
            run: 4,
            caught: 0,
            failed: 3,
            skipped: 0,
            regressed: 1,
            improved: 1,
            invariant_failures: 1,
        };
        assert_eq!(
            s.line("the blessed baselines"),
            "4 scenarios run: 1 passed, 3 failed · 1 regression · 1 improvement · 1 invariant failure · compared with the blessed baselines"
        );
        let s = Summary {
            changed: 2,
            run: 3,
            caught: 0,
            failed: 1,
            skipped: 1,
            regressed: 0,
            improved: 0,
            invariant_failures: 0,
        };
        assert_eq!(
            s.line("the blessed baselines"),
            "3 scenarios run: 1 passed, 1 failed, 1 skipped · 0 regressions · 0 improvements · 0 invariant failures · 2 baselines changed by this PR (listed above) · compared with the blessed baselines"
        );
        // A caught leak is counted apart from plain passes.
        let s = Summary {
            changed: 0,
            run: 3,
            caught: 2,
            failed: 0,
            skipped: 0,
            regressed: 0,
            improved: 0,
            invariant_failures: 0,
        };
        assert_eq!(
            s.line("the blessed baselines"),
            "3 scenarios run: 1 passed, 2 leaks caught, 0 failed · 0 regressions · 0 improvements · 0 invariant failures · compared with the blessed baselines"
        );
    }

    /// A baseline with these whole-run and per-type metrics and invariant outcomes.
    fn baseline(
        metrics: &[(&str, u64)],
        types: &[(&str, &str, u64)],
        inv: &[(&str, usize)],
    ) -> Baseline {
        let mut t = serde_json::Map::new();
        for (l, f, v) in types {
            t.entry(l.to_string())
                .or_insert_with(|| serde_json::json!({}))[*f] = (*v).into();
        }
        serde_json::from_value(serde_json::json!({
            "scenario": "s",
            "fingerprint": "f",
            "description": "",
            "metrics": metrics.iter().map(|(m, v)| (m.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "types": t,
            "invariants": inv.iter().map(|(n, held)| (n.to_string(), serde_json::json!({"outcome": "held", "samples": held}))).collect::<BTreeMap<_, _>>(),
            "toolchain": {},
            "host": {},
            "timeline": { "x_unit": "cycles", "points": [] },
        }))
        .expect("a baseline")
    }

    #[test]
    fn the_overview_peak_is_the_sources_own_peak_metric() {
        let with = |unit: &str, metrics: serde_json::Value| -> Baseline {
            serde_json::from_value(serde_json::json!({
                "scenario": "s", "fingerprint": "f", "description": "",
                "metrics": metrics, "types": {}, "invariants": {},
                "toolchain": {}, "host": {},
                "timeline": { "x_unit": unit, "points": [] }
            }))
            .expect("a baseline")
        };
        // An rss run has no live bytes: its peak is its resident set's.
        let rss = with(
            "millis",
            serde_json::json!({ "rss.peak": 9_437_184, "rss.steady": 9_000_000 }),
        );
        assert_eq!(peak_metric(&rss), Some(("rss.peak", 9_437_184.0)));
        // A simulator run records rss.peak too, but its peak is its live bytes'.
        let sim = with(
            "cycles",
            serde_json::json!({ "rss.peak": 9_437_184, "live_bytes.peak": 36_966 }),
        );
        assert_eq!(peak_metric(&sim), Some(("live_bytes.peak", 36_966.0)));
        let massif = with("snapshot", serde_json::json!({ "heap.peak": 1_000 }));
        assert_eq!(peak_metric(&massif), Some(("heap.peak", 1_000.0)));
    }

    fn headline(old: Option<Baseline>, new: Option<Baseline>) -> String {
        let input = ReportInput {
            base_ref: Some("origin/main".into()),
            blessed: vec![BlessedChange {
                scenario: "s".into(),
                old,
                new,
                commit: None,
            }],
            ..Default::default()
        };
        accepted(&input).remove(0).what
    }

    #[test]
    fn a_reblessed_headline_names_the_largest_whole_run_moves_then_the_rest() {
        let old = baseline(
            &[
                ("allocations.count", 11_000_190),
                ("live_bytes.peak", 36_966),
                ("rss.peak", 100),
            ],
            &[("T", "peak_count", 10)],
            &[("no growth", 39)],
        );
        let mut new = baseline(
            &[
                ("allocations.count", 15_000_238),
                ("live_bytes.peak", 37_558),
                ("rss.peak", 100),
            ],
            &[("T", "peak_count", 40)],
            &[("no growth", 40)],
        );
        new.fingerprint = "g".into();
        assert_eq!(
            headline(Some(old.clone()), Some(new)),
            "re-blessed: allocations.count 11,000,190 → 15,000,238, +36.4%; live_bytes.peak +1.6%; 1 more metric; the scenario file changed; invariants changed: no growth"
        );
        // Per-type moves are named only when no whole-run metric moved.
        let types_only = baseline(
            &[
                ("allocations.count", 11_000_190),
                ("live_bytes.peak", 36_966),
                ("rss.peak", 100),
            ],
            &[("T", "peak_count", 12)],
            &[("no growth", 39)],
        );
        assert_eq!(
            headline(Some(old.clone()), Some(types_only)),
            "re-blessed: types.T.peak_count 10 → 12, +20.0%"
        );
        assert_eq!(
            headline(Some(old.clone()), None),
            "removed: its baseline is deleted (was peak 36.1 KiB)"
        );
        assert_eq!(
            headline(None, Some(old)),
            "added (no baseline at origin/main): peak 36.1 KiB"
        );
    }

    fn series_of(values: &[Option<f64>]) -> Series {
        Series {
            metric: "m".into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn steps_are_the_commits_that_moved_a_value() {
        let s = series_of(&[Some(1.0), Some(1.0), Some(2.0), None, Some(2.0)]);
        assert_eq!(s.steps(), vec![0, 2, 3, 4]);
        assert!(s.changed());
        let s = series_of(&[None, Some(3.0), Some(3.0)]);
        assert_eq!(s.steps(), vec![1]);
        assert!(!series_of(&[Some(1.0), Some(1.0)]).changed());
    }
}
