//! `Scenario`: a declarative TOML file parsed and validated before anything runs.
//!
//! Every mistake a user can make in a scenario file is an error that names the file, the line
//! and the column, and lists the valid choices. This module knows nothing of processes,
//! timelines or baselines; it only turns text into a checked `Scenario`.

use crate::errors::ScenarioError;
use crate::units;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Cycles between samples when a scenario does not say: 100 samples per million cycles, dense
/// enough for growth fits and charts at under 5% overhead (see BENCHMARKS.md). Culprit
/// scenarios sample more often to stop sooner after a violation.
pub const DEFAULT_SAMPLE_EVERY: u64 = 10_000;

/// A validated scenario: what to run, how to sample it, its phases, invariants and tolerances.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file stem; also the baseline's name.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// One line for humans.
    pub description: String,
    /// What to run.
    pub run: Run,
    /// Named phases, in file order.
    pub phases: Vec<Phase>,
    /// Memory invariants, in file order.
    pub invariants: Vec<Invariant>,
    /// Per-metric tolerance overrides, keyed by metric name.
    pub tolerances: BTreeMap<String, Tolerance>,
    /// Limits after which the run is killed.
    pub budget: Budget,
    /// A hash of the normalised content that affects measurement (`run`, `build`, `phases`,
    /// `invariant`): a baseline blessed under another fingerprint is stale.
    pub fingerprint: String,
}

/// What a scenario runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    /// A circuit of the project's simulator, run in a probe child process.
    Simulator(SimRun),
    /// An external program that writes a profile.
    Command(CommandRun),
}

/// A simulator run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRun {
    /// The circuit's name in `sim::circuits::catalog()`.
    pub circuit: String,
    /// Its parameters (validated against the catalogue).
    pub params: BTreeMap<String, sim::circuits::ParamValue>,
    /// Cycles to simulate.
    pub cycles: u64,
    /// Cycles between two samples.
    pub sample_every: u64,
}

/// An external program run.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRun {
    /// An optional build step, cached by the hash of its command and inputs.
    pub build: Option<Build>,
    /// The program and its arguments; `{build}` is replaced by the built executable.
    pub argv: Vec<String>,
    /// What profile the program writes; the harness adds the options that make it.
    pub profile: ProfileKind,
    /// Tools the run needs (`ghc`, or a GHC package such as `clash-prelude`).
    pub requires: Vec<String>,
    /// Declared closure sizes in bytes by normalised label (counts are bytes ÷ size).
    pub closure_sizes: BTreeMap<String, u64>,
    /// Extra RTS options (`rts = ["-i0.05"]`), placed after the harness's own so they win.
    /// Empty keeps the exact-census defaults; anything else marks the timeline inexact.
    pub rts: Vec<String>,
    /// What to do with the program at the first violating census (`on_violation`).
    pub on_violation: OnViolation,
}

/// What happens to an external program at its first violating census.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnViolation {
    /// End it (SIGINT to its process group, SIGKILL after a grace period).
    #[default]
    Stop,
    /// Stop it with SIGSTOP and wait until it is continued or ended, for a debugger.
    Pause,
}

impl OnViolation {
    /// The names accepted in `on_violation = "…"` and `--on-violation`.
    pub const NAMES: &'static [&'static str] = &["stop", "pause"];

    /// Parses one of [`OnViolation::NAMES`].
    pub fn from_name(name: &str) -> Option<OnViolation> {
        match name {
            "stop" => Some(OnViolation::Stop),
            "pause" => Some(OnViolation::Pause),
            _ => None,
        }
    }
}

/// A build step.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    /// The command; `{out}` is the output executable's path, inputs are relative to the
    /// scenarios directory.
    pub command: Vec<String>,
    /// Files whose content is part of the cache key, relative to the scenarios directory.
    pub inputs: Vec<PathBuf>,
    /// Wall-clock limit of the build (`timeout = "10 min"`), [`Build::DEFAULT_TIMEOUT`] if unset.
    pub timeout: Duration,
}

impl Build {
    /// Generous: a cold GHC build of a Clash program takes minutes, a hung one forever.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
}

/// The profile an external program writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// `+RTS -hT -i0 -A256k -l`: a closure-type heap census at every major GC, in the eventlog.
    GhcEventlog,
    /// `+RTS -hT -i0 -A256k`: the same censuses as a text `.hp` file.
    GhcHp,
}

impl ProfileKind {
    /// The names accepted in scenario files.
    pub const NAMES: &'static [&'static str] = &["ghc-eventlog", "ghc-hp"];
}

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
        /// The creation site that must appear for that type.
        culprit_site: Option<String>,
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

/// Limits on a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Peak RSS limit in bytes.
    pub max_rss: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            timeout: Duration::from_secs(120),
            max_rss: 2 * 1024 * 1024 * 1024,
        }
    }
}

impl Scenario {
    /// Whether x-positions of this scenario's run are cycles (simulator) or census indices.
    pub fn x_unit(&self) -> crate::XUnit {
        match self.run {
            Run::Simulator(_) => crate::XUnit::Cycles,
            Run::Command(_) => crate::XUnit::Census,
        }
    }

    /// The phase with this name.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }
}

/// Reads and validates every `*.toml` in `dir`, sorted by name. A file that fails yields its
/// error in place, so one bad file does not hide the others.
pub fn load_dir(dir: &Path) -> Result<Vec<Result<Scenario, ScenarioError>>, ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    Ok(paths.iter().map(|p| load(p)).collect())
}

/// Reads and validates one scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Validates scenario text; `path` names the file in errors and gives the scenario its name.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let cx = Cx { path, text };
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(cx.err(0..0, format!("scenario name `{name}` must be letters, digits, `_` or `-` (hint: the file name is the baseline's name, so it may not contain dots, separators or `..`)")));
    }
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        cx.err(span, e.message().trim().to_owned())
    })?;
    let run = cx.run(&raw)?;
    let x_unit = match run {
        Run::Simulator(_) => crate::XUnit::Cycles,
        Run::Command(_) => crate::XUnit::Census,
    };
    let mut phases = Vec::new();
    for (pname, rp) in &raw.phases {
        phases.push(cx.phase(pname, rp, x_unit, &run)?);
    }
    let phase_names: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
    let mut invariants = Vec::new();
    for ri in &raw.invariant {
        let inv = cx.invariant(ri, &phase_names, x_unit, &run)?;
        if invariants.iter().any(|i: &Invariant| i.name == inv.name) {
            return Err(cx.err(ri.span(), format!("two invariants are named `{}` (hint: names identify invariants in failures and baselines)", inv.name)));
        }
        invariants.push(inv);
    }
    let mut tolerances = BTreeMap::new();
    for (key, rt) in &raw.tolerance {
        cx.check_metric_name(key, x_unit)?;
        let relative = match &rt.get_ref().relative {
            Some(r) => units::parse_percent(r.get_ref()).map_err(|m| cx.err(r.span(), m))?,
            None => 0.0,
        };
        let absolute = match &rt.get_ref().absolute {
            Some(a) => cx.number_or_bytes(a)?,
            None => 0.0,
        };
        tolerances.insert(key.get_ref().clone(), Tolerance { relative, absolute });
    }
    let mut budget = Budget::default();
    if let Some(t) = &raw.budget.timeout {
        budget.timeout = units::parse_duration(t.get_ref()).map_err(|m| cx.err(t.span(), m))?;
    }
    if let Some(m) = &raw.budget.max_rss {
        budget.max_rss = cx.bytes(m)?;
    }
    Ok(Scenario {
        name,
        path: path.to_owned(),
        description: raw.description.clone(),
        run,
        phases,
        invariants,
        tolerances,
        budget,
        fingerprint: fingerprint(text),
    })
}

/// The metric names a scenario may set tolerances for, besides `types.<label>.<field>`.
pub fn metric_names(x_unit: crate::XUnit) -> &'static [&'static str] {
    match x_unit {
        crate::XUnit::Cycles => &[
            "live_bytes.peak",
            "live_bytes.steady",
            "live_bytes.growth_per_kcycle",
            "allocations.count",
            "rss.peak",
            "jemalloc.resident.peak",
        ],
        crate::XUnit::Census => &[
            "heap.peak",
            "heap.steady",
            "heap.growth_per_census",
            "ghc.max_bytes_used",
            "ghc.bytes_allocated",
            "rss.peak",
        ],
    }
}

/// The per-type fields, the `<field>` of `types.<label>.<field>`.
pub fn type_fields(x_unit: crate::XUnit) -> &'static [&'static str] {
    match x_unit {
        crate::XUnit::Cycles => &["peak_count", "final_count", "growth_per_kcycle"],
        crate::XUnit::Census => &["peak_bytes", "final_bytes", "peak_count"],
    }
}

/// Whether `label` matches `glob`, where `*` matches any run of characters.
pub fn glob_match(glob: &str, label: &str) -> bool {
    // Iterative matcher with single backtrack point: linear enough for labels, no allocation.
    let (g, l) = (glob.as_bytes(), label.as_bytes());
    let (mut gi, mut li) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while li < l.len() {
        if gi < g.len() && g[gi] != b'*' && g[gi] == l[li] {
            gi += 1;
            li += 1;
        } else if gi < g.len() && g[gi] == b'*' {
            star = Some(gi);
            mark = li;
            gi += 1;
        } else if let Some(s) = star {
            gi = s + 1;
            mark += 1;
            li = mark;
        } else {
            return false;
        }
    }
    while gi < g.len() && g[gi] == b'*' {
        gi += 1;
    }
    gi == g.len()
}

/// FNV-1a over the canonical JSON of the measurement-relevant tables: stable across key order,
/// comments and formatting, different when anything that changes the measurement changes.
fn fingerprint(text: &str) -> String {
    let value: toml::Value = match toml::from_str(text) {
        Ok(v) => v,
        Err(_) => return String::new(),
    };
    let mut relevant = serde_json::Map::new();
    if let toml::Value::Table(t) = value {
        for key in ["run", "build", "phases", "invariant"] {
            if let Some(v) = t.get(key) {
                // serde_json's map is sorted (no preserve_order feature), so this is canonical.
                relevant.insert(key.to_owned(), serde_json::to_value(v).unwrap_or_default());
            }
        }
    }
    let canon = serde_json::Value::Object(relevant).to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canon.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

// ---------------------------------------------------------------------------------------------
// Raw TOML shapes. `deny_unknown_fields` makes toml report unknown keys with their position and
// the list of expected ones; `Spanned` keeps positions for the semantic checks below.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: String,
    run: RawRun,
    build: Option<Spanned<RawBuild>>,
    #[serde(default)]
    phases: BTreeMap<Spanned<String>, Spanned<RawPhase>>,
    #[serde(default)]
    invariant: Vec<Spanned<RawInvariant>>,
    #[serde(default)]
    tolerance: BTreeMap<Spanned<String>, Spanned<RawTolerance>>,
    #[serde(default)]
    budget: RawBudget,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    simulator: Option<Spanned<String>>,
    cycles: Option<Spanned<i64>>,
    sample_every: Option<Spanned<i64>>,
    #[serde(default)]
    params: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    command: Option<Spanned<Vec<String>>>,
    profile: Option<Spanned<String>>,
    #[serde(default)]
    requires: Vec<Spanned<String>>,
    #[serde(default)]
    closure_sizes: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    rts: Vec<Spanned<String>>,
    on_violation: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    command: Spanned<Vec<String>>,
    #[serde(default)]
    inputs: Vec<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    cycles: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    census: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    markers: Option<Spanned<Vec<Spanned<toml::Value>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInvariant {
    name: Spanned<String>,
    during: Option<Spanned<String>>,
    cycles: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    census: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    #[serde(rename = "type")]
    type_glob: Option<Spanned<String>>,
    metric: Option<Spanned<String>>,
    absent: Option<Spanned<bool>>,
    max_count: Option<Spanned<i64>>,
    min_count: Option<Spanned<i64>>,
    count: Option<Spanned<i64>>,
    max: Option<Spanned<toml::Value>>,
    max_growth_per_kcycle: Option<Spanned<toml::Value>>,
    max_growth_per_census: Option<Spanned<toml::Value>>,
    expect: Option<Spanned<String>>,
    expect_type: Option<Spanned<String>>,
    expect_site: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTolerance {
    relative: Option<Spanned<String>>,
    absolute: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    timeout: Option<Spanned<String>>,
    max_rss: Option<Spanned<toml::Value>>,
}

/// Validation context: the file and its text, to turn byte spans into line and column.
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Cx<'_> {
    fn err(&self, span: Range<usize>, message: String) -> ScenarioError {
        let (line, column) = line_col(self.text, span.start);
        ScenarioError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            message,
        }
    }

    fn run(&self, raw: &RawScenario) -> Result<Run, ScenarioError> {
        let r = &raw.run;
        match (&r.simulator, &r.command) {
            (Some(_), Some(c)) => Err(self.err(
                c.span(),
                "`run` has both `simulator` and `command` (hint: a scenario runs one thing)".into(),
            )),
            (None, None) => Err(self.err(
                0..0,
                "`[run]` needs `simulator = \"…\"` or `command = [\"…\"]`".into(),
            )),
            (Some(sim_name), None) => self.sim_run(raw, sim_name),
            (None, Some(cmd)) => self.command_run(raw, cmd),
        }
    }

    fn sim_run(&self, raw: &RawScenario, sim_name: &Spanned<String>) -> Result<Run, ScenarioError> {
        let r = &raw.run;
        for (present, key) in [
            (r.profile.as_ref().map(|s| s.span()), "profile"),
            (r.requires.first().map(|s| s.span()), "requires"),
            (
                r.closure_sizes.values().next().map(|s| s.span()),
                "closure_sizes",
            ),
            (raw.build.as_ref().map(|s| s.span()), "build"),
            (r.rts.first().map(|s| s.span()), "rts"),
            (r.on_violation.as_ref().map(|s| s.span()), "on_violation"),
        ] {
            if let Some(span) = present {
                return Err(self.err(
                    span,
                    format!("`{key}` applies to external commands, not to `simulator` runs"),
                ));
            }
        }
        let catalog = sim::circuits::catalog();
        let Some(spec) = catalog.iter().find(|c| c.name == sim_name.get_ref()) else {
            let names: Vec<&str> = catalog.iter().map(|c| c.name).collect();
            return Err(self.err(
                sim_name.span(),
                format!(
                    "unknown circuit `{}` (hint: one of {})",
                    sim_name.get_ref(),
                    names.join(", ")
                ),
            ));
        };
        let Some(cycles) = &r.cycles else {
            return Err(self.err(
                sim_name.span(),
                "`[run]` needs `cycles = N` for a simulator run".into(),
            ));
        };
        if *cycles.get_ref() < 1 {
            return Err(self.err(cycles.span(), "`cycles` must be at least 1".into()));
        }
        let sample_every = match &r.sample_every {
            Some(s) if *s.get_ref() < 1 => {
                return Err(self.err(s.span(), "`sample_every` must be at least 1".into()))
            }
            Some(s) => *s.get_ref() as u64,
            None => DEFAULT_SAMPLE_EVERY,
        };
        let mut params = BTreeMap::new();
        for (key, value) in &r.params {
            let Some(p) = spec.params.iter().find(|p| p.name == key.get_ref()) else {
                let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                return Err(self.err(
                    key.span(),
                    format!(
                        "circuit `{}` has no parameter `{}` (hint: one of {})",
                        spec.name,
                        key.get_ref(),
                        names.join(", ")
                    ),
                ));
            };
            let v = match (&p.kind, value.get_ref()) {
                (sim::circuits::ParamKind::Int { min, max }, toml::Value::Integer(i)) => {
                    if i < min || i > max {
                        return Err(self.err(
                            value.span(),
                            format!("`{}` = {i} is out of range (hint: {min} to {max})", p.name),
                        ));
                    }
                    sim::circuits::ParamValue::Int(*i)
                }
                (sim::circuits::ParamKind::Choice(choices), toml::Value::String(s)) => {
                    if !choices.contains(&s.as_str()) {
                        return Err(self.err(
                            value.span(),
                            format!(
                                "`{}` = \"{s}\" is not a choice (hint: one of {})",
                                p.name,
                                choices.join(", ")
                            ),
                        ));
                    }
                    sim::circuits::ParamValue::Str(s.clone())
                }
                (sim::circuits::ParamKind::Int { .. }, other) => {
                    return Err(self.err(
                        value.span(),
                        format!(
                            "`{}` must be an integer, found {}",
                            p.name,
                            other.type_str()
                        ),
                    ))
                }
                (sim::circuits::ParamKind::Choice(choices), other) => {
                    return Err(self.err(
                        value.span(),
                        format!(
                            "`{}` must be a string, one of {}; found {}",
                            p.name,
                            choices.join(", "),
                            other.type_str()
                        ),
                    ))
                }
            };
            params.insert(key.get_ref().clone(), v);
        }
        Ok(Run::Simulator(SimRun {
            circuit: spec.name.to_owned(),
            params,
            cycles: *cycles.get_ref() as u64,
            sample_every,
        }))
    }

    fn command_run(
        &self,
        raw: &RawScenario,
        cmd: &Spanned<Vec<String>>,
    ) -> Result<Run, ScenarioError> {
        let r = &raw.run;
        if cmd.get_ref().is_empty() {
            return Err(self.err(
                cmd.span(),
                "`command` is empty (hint: the program, then its arguments)".into(),
            ));
        }
        for (span, key) in [
            (r.cycles.as_ref().map(|s| s.span()), "cycles"),
            (r.sample_every.as_ref().map(|s| s.span()), "sample_every"),
            (r.params.keys().next().map(|s| s.span()), "params"),
        ] {
            if let Some(span) = span {
                return Err(self.err(span, format!("`{key}` applies to `simulator` runs; an external command takes its own arguments in `command`")));
            }
        }
        let profile = match &r.profile {
            None => ProfileKind::GhcEventlog,
            Some(p) => match p.get_ref().as_str() {
                "ghc-eventlog" => ProfileKind::GhcEventlog,
                "ghc-hp" => ProfileKind::GhcHp,
                other => {
                    return Err(self.err(
                        p.span(),
                        format!(
                            "unknown profile `{other}` (hint: one of {})",
                            ProfileKind::NAMES.join(", ")
                        ),
                    ))
                }
            },
        };
        let build = match &raw.build {
            None => None,
            Some(b) => {
                let b = b.get_ref();
                if b.command.get_ref().is_empty() {
                    return Err(self.err(b.command.span(), "`build.command` is empty".into()));
                }
                let mut inputs = Vec::new();
                for i in &b.inputs {
                    let p = Path::new(i.get_ref());
                    if p.is_absolute()
                        || p.components()
                            .any(|c| matches!(c, std::path::Component::ParentDir))
                    {
                        return Err(self.err(i.span(), format!("build input `{}` must be a relative path inside the scenarios directory", i.get_ref())));
                    }
                    inputs.push(p.to_owned());
                }
                let timeout = match &b.timeout {
                    Some(t) => {
                        units::parse_duration(t.get_ref()).map_err(|m| self.err(t.span(), m))?
                    }
                    None => Build::DEFAULT_TIMEOUT,
                };
                Some(Build {
                    command: b.command.get_ref().clone(),
                    inputs,
                    timeout,
                })
            }
        };
        if cmd.get_ref().iter().any(|a| a.contains("{build}")) && build.is_none() {
            return Err(self.err(
                cmd.span(),
                "`command` uses `{build}` but there is no `[build]` section".into(),
            ));
        }
        let mut closure_sizes = BTreeMap::new();
        for (label, size) in &r.closure_sizes {
            closure_sizes.insert(label.clone(), self.bytes(size)?);
        }
        Ok(Run::Command(CommandRun {
            build,
            argv: cmd.get_ref().clone(),
            profile,
            requires: r.requires.iter().map(|s| s.get_ref().clone()).collect(),
            closure_sizes,
            rts: self.rts_options(&r.rts)?,
            on_violation: match &r.on_violation {
                None => OnViolation::Stop,
                Some(v) => OnViolation::from_name(v.get_ref()).ok_or_else(|| {
                    self.err(
                        v.span(),
                        format!(
                            "unknown on_violation `{}` (hint: one of {})",
                            v.get_ref(),
                            OnViolation::NAMES.join(", ")
                        ),
                    )
                })?,
            },
        }))
    }

    /// `rts = [...]`: single RTS options; the harness brackets them with `+RTS … -RTS` itself.
    fn rts_options(&self, rts: &[Spanned<String>]) -> Result<Vec<String>, ScenarioError> {
        rts.iter()
            .map(|o| {
                let t = o.get_ref();
                if !t.starts_with('-') || t == "-RTS" || t == "--RTS" {
                    Err(self.err(o.span(), format!("RTS option `{t}` must be one option starting with `-`, without `+RTS`/`-RTS` (hint: rts = [\"-i0.05\"])")))
                } else {
                    Ok(t.clone())
                }
            })
            .collect()
    }

    fn phase(
        &self,
        name: &Spanned<String>,
        rp: &Spanned<RawPhase>,
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Phase, ScenarioError> {
        if name.get_ref() == "always" {
            return Err(self.err(name.span(), "`always` is reserved for invariants that hold at every sample; name the phase otherwise".into()));
        }
        let p = rp.get_ref();
        let given = [p.cycles.is_some(), p.census.is_some(), p.markers.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if given != 1 {
            return Err(self.err(rp.span(), format!("phase `{}` needs exactly one of `cycles = [from, to]`, `census = [from, to]`, `markers = [from, to]`", name.get_ref())));
        }
        let (from, to) = self.range(
            p.cycles.as_ref(),
            p.census.as_ref(),
            p.markers.as_ref(),
            x_unit,
            run,
        )?;
        Ok(Phase {
            name: name.get_ref().clone(),
            from,
            to,
        })
    }

    /// Validates a `[from, to]` range in one of its three spellings.
    fn range(
        &self,
        cycles: Option<&Spanned<Vec<Spanned<toml::Value>>>>,
        census: Option<&Spanned<Vec<Spanned<toml::Value>>>>,
        markers: Option<&Spanned<Vec<Spanned<toml::Value>>>>,
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<(Endpoint, Endpoint), ScenarioError> {
        let (list, allow_markers) = match (cycles, census, markers) {
            (Some(c), _, _) => {
                if x_unit != crate::XUnit::Cycles {
                    return Err(self.err(c.span(), "`cycles` ranges apply to simulator runs; an external program's timeline is indexed by `census` or `markers`".into()));
                }
                (c, false)
            }
            (_, Some(c), _) => {
                if x_unit != crate::XUnit::Census {
                    return Err(self.err(c.span(), "`census` ranges apply to external programs; a simulator run is indexed by `cycles`".into()));
                }
                (c, false)
            }
            (_, _, Some(m)) => {
                if x_unit != crate::XUnit::Census {
                    return Err(self.err(m.span(), "`markers` apply to external programs that emit user markers; a simulator run is indexed by `cycles`".into()));
                }
                (m, true)
            }
            (None, None, None) => return Ok((Endpoint::At(0), Endpoint::End)),
        };
        let v = list.get_ref();
        if v.len() != 2 {
            return Err(self.err(
                list.span(),
                format!("a range is `[from, to]`, found {} elements", v.len()),
            ));
        }
        let from = self.endpoint(&v[0], allow_markers)?;
        let to = self.endpoint(&v[1], allow_markers)?;
        // Reject what can be judged without a run: empty or reversed absolute ranges.
        let total = match run {
            Run::Simulator(s) => Some(s.cycles),
            Run::Command(_) => None,
        };
        let resolve = |e: &Endpoint| match (e, total) {
            (Endpoint::At(x), _) => Some(*x as f64),
            (Endpoint::Fraction(f), Some(t)) => Some(f * t as f64),
            (Endpoint::End, Some(t)) => Some(t as f64),
            _ => None,
        };
        if let (Some(a), Some(b)) = (resolve(&from), resolve(&to)) {
            if a >= b {
                return Err(self.err(
                    list.span(),
                    format!("range is empty or reversed: from {a} to {b}"),
                ));
            }
            if let Some(t) = total {
                if a > t as f64 || b > t as f64 {
                    return Err(self.err(
                        list.span(),
                        format!("range [{a}, {b}] goes beyond the run's {t} cycles"),
                    ));
                }
            }
        }
        if from == to {
            return Err(self.err(
                list.span(),
                "range is empty: from and to are the same".into(),
            ));
        }
        Ok((from, to))
    }

    fn endpoint(
        &self,
        v: &Spanned<toml::Value>,
        allow_markers: bool,
    ) -> Result<Endpoint, ScenarioError> {
        match v.get_ref() {
            toml::Value::Integer(i) if *i >= 0 && !allow_markers => Ok(Endpoint::At(*i as u64)),
            toml::Value::String(s) if s == "end" => Ok(Endpoint::End),
            toml::Value::String(s) if s.ends_with('%') && !allow_markers => {
                let f = units::parse_percent(s).map_err(|m| self.err(v.span(), m))?;
                if f > 1.0 {
                    return Err(self.err(v.span(), format!("`{s}` is beyond the end of the run")));
                }
                Ok(Endpoint::Fraction(f))
            }
            toml::Value::String(s) if allow_markers => Ok(Endpoint::Marker(s.clone())),
            _ if allow_markers => Err(self.err(
                v.span(),
                "a marker range endpoint is a marker's text or \"end\"".into(),
            )),
            _ => Err(self.err(
                v.span(),
                "a range endpoint is a non-negative integer, a percentage like \"25%\", or \"end\""
                    .into(),
            )),
        }
    }

    fn invariant(
        &self,
        ri: &Spanned<RawInvariant>,
        phases: &[&str],
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Invariant, ScenarioError> {
        let r = ri.get_ref();
        let name = r.name.get_ref().clone();
        let window = if r.cycles.is_some() || r.census.is_some() {
            if let Some(d) = &r.during {
                return Err(self.err(d.span(), "give either `during` or a range, not both".into()));
            }
            let (a, b) = self.range(r.cycles.as_ref(), r.census.as_ref(), None, x_unit, run)?;
            Window::Range(a, b)
        } else {
            match &r.during {
                None => Window::Always,
                Some(d) if d.get_ref() == "always" => Window::Always,
                Some(d) => {
                    if !phases.contains(&d.get_ref().as_str()) {
                        let mut choices = vec!["always"];
                        choices.extend_from_slice(phases);
                        return Err(self.err(
                            d.span(),
                            format!(
                                "invariant `{name}`: no phase named `{}` (hint: one of {})",
                                d.get_ref(),
                                choices.join(", ")
                            ),
                        ));
                    }
                    Window::Phase(d.get_ref().clone())
                }
            }
        };
        let growth = match x_unit {
            crate::XUnit::Cycles => {
                if let Some(g) = &r.max_growth_per_census {
                    return Err(self.err(g.span(), "`max_growth_per_census` applies to external programs; use `max_growth_per_kcycle`".into()));
                }
                r.max_growth_per_kcycle.as_ref()
            }
            crate::XUnit::Census => {
                if let Some(g) = &r.max_growth_per_kcycle {
                    return Err(self.err(g.span(), "`max_growth_per_kcycle` applies to simulator runs; use `max_growth_per_census`".into()));
                }
                r.max_growth_per_census.as_ref()
            }
        };
        let predicate = match (&r.type_glob, &r.metric) {
            (Some(_), Some(m)) => return Err(self.err(m.span(), format!("invariant `{name}` has both `type` and `metric` (hint: one predicate per invariant)"))),
            (None, None) => return Err(self.err(ri.span(), format!("invariant `{name}` needs a predicate: `type = \"glob\"` with `absent`, `max_count`, `min_count`, `count` or a growth bound; or `metric = \"live_bytes\"` with `max` or a growth bound"))),
            (Some(glob), None) => {
                if let Some(m) = &r.max {
                    return Err(self.err(m.span(), "`max` bounds a metric's bytes; for a type use `max_count`".into()));
                }
                let g = glob.get_ref().clone();
                let mut preds = Vec::new();
                if let Some(a) = &r.absent {
                    if !*a.get_ref() {
                        return Err(self.err(a.span(), "`absent = false` says nothing (hint: remove it, or bound the count with `min_count`)".into()));
                    }
                    preds.push(Predicate::TypeAbsent(g.clone()));
                }
                for (field, cmp) in [(&r.max_count, Cmp::AtMost), (&r.min_count, Cmp::AtLeast), (&r.count, Cmp::Exactly)] {
                    if let Some(n) = field {
                        if *n.get_ref() < 0 {
                            return Err(self.err(n.span(), "a count bound must be non-negative".into()));
                        }
                        preds.push(Predicate::TypeCount { glob: g.clone(), cmp, n: *n.get_ref() as u64 });
                    }
                }
                if let Some(gv) = growth {
                    preds.push(Predicate::TypeGrowth { glob: g.clone(), max: self.number(gv)? });
                }
                self.one_predicate(&name, ri, preds)?
            }
            (None, Some(metric)) => {
                let expected = match x_unit {
                    crate::XUnit::Cycles => "live_bytes",
                    crate::XUnit::Census => "heap",
                };
                if metric.get_ref() != expected {
                    return Err(self.err(metric.span(), format!("unknown invariant metric `{}` (hint: `{expected}` for this kind of run; per-type bounds use `type = \"glob\"`)", metric.get_ref())));
                }
                for (span, key) in [
                    (r.absent.as_ref().map(|s| s.span()), "absent"),
                    (r.max_count.as_ref().map(|s| s.span()), "max_count"),
                    (r.min_count.as_ref().map(|s| s.span()), "min_count"),
                    (r.count.as_ref().map(|s| s.span()), "count"),
                ] {
                    if let Some(span) = span {
                        return Err(self.err(span, format!("`{key}` bounds a type's count; a metric takes `max` or a growth bound")));
                    }
                }
                let mut preds = Vec::new();
                if let Some(m) = &r.max {
                    preds.push(Predicate::LiveBytesMax(self.bytes(m)?));
                }
                if let Some(gv) = growth {
                    preds.push(Predicate::LiveBytesGrowth(self.number(gv)?));
                }
                self.one_predicate(&name, ri, preds)?
            }
        };
        let expect = match &r.expect {
            None => {
                if let Some(s) = r.expect_type.as_ref().or(r.expect_site.as_ref()) {
                    return Err(self.err(
                        s.span(),
                        "`expect_type` and `expect_site` need `expect = \"violated\"`".into(),
                    ));
                }
                Expectation::Holds
            }
            Some(e) => match e.get_ref().as_str() {
                "holds" => Expectation::Holds,
                "violated" => Expectation::Violated {
                    culprit_type: r.expect_type.as_ref().map(|s| s.get_ref().clone()),
                    culprit_site: r.expect_site.as_ref().map(|s| s.get_ref().clone()),
                },
                other => {
                    return Err(self.err(
                        e.span(),
                        format!("unknown expectation `{other}` (hint: \"holds\" or \"violated\")"),
                    ))
                }
            },
        };
        Ok(Invariant {
            name,
            during: window,
            predicate,
            expect,
        })
    }

    fn one_predicate(
        &self,
        name: &str,
        ri: &Spanned<RawInvariant>,
        mut preds: Vec<Predicate>,
    ) -> Result<Predicate, ScenarioError> {
        match preds.len() {
            1 => Ok(preds.remove(0)),
            0 => Err(self.err(ri.span(), format!("invariant `{name}` has no bound (hint: `absent = true`, `max_count`, `min_count`, `count`, `max` or `max_growth_per_kcycle`)"))),
            _ => Err(self.err(ri.span(), format!("invariant `{name}` has {} bounds (hint: one bound per invariant; split it in two, each with its own name)", preds.len()))),
        }
    }

    fn check_metric_name(
        &self,
        key: &Spanned<String>,
        x_unit: crate::XUnit,
    ) -> Result<(), ScenarioError> {
        let k = key.get_ref();
        let names = metric_names(x_unit);
        if names.contains(&k.as_str()) {
            return Ok(());
        }
        if let Some(rest) = k.strip_prefix("types.") {
            let fields = type_fields(x_unit);
            if let Some((label, field)) = rest.rsplit_once('.') {
                if !label.is_empty() && fields.contains(&field) {
                    return Ok(());
                }
            }
            return Err(self.err(key.span(), format!("`{k}` is not a per-type metric (hint: `types.<label>.<field>` with field one of {})", fields.join(", "))));
        }
        Err(self.err(
            key.span(),
            format!(
                "unknown metric `{k}` (hint: one of {}, or types.<label>.<field>)",
                names.join(", ")
            ),
        ))
    }

    fn number(&self, v: &Spanned<toml::Value>) -> Result<f64, ScenarioError> {
        match v.get_ref() {
            toml::Value::Integer(i) => Ok(*i as f64),
            toml::Value::Float(f) if f.is_finite() => Ok(*f),
            other => Err(self.err(
                v.span(),
                format!("expected a number, found {}", other.type_str()),
            )),
        }
    }

    fn bytes(&self, v: &Spanned<toml::Value>) -> Result<u64, ScenarioError> {
        match v.get_ref() {
            toml::Value::Integer(i) if *i >= 0 => Ok(*i as u64),
            toml::Value::String(s) => units::parse_bytes(s).map_err(|m| self.err(v.span(), m)),
            other => Err(self.err(
                v.span(),
                format!(
                    "expected a byte size (an integer or a string like \"2 MiB\"), found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn number_or_bytes(&self, v: &Spanned<toml::Value>) -> Result<f64, ScenarioError> {
        match v.get_ref() {
            toml::Value::String(_) => self.bytes(v).map(|b| b as f64),
            _ => self.number(v),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(text: &str, expect: &str) {
        let err =
            parse(Path::new("scenarios/t.toml"), text).expect_err("scenario should be invalid");
        let msg = err.to_string();
        assert!(
            msg.contains(expect),
            "error\n  {msg}\ndoes not contain\n  {expect}"
        );
    }

    const OK: &str = r#"
description = "d"
[run]
simulator = "register_wb"
cycles = 20_000
sample_every = 1_000
params = { slaves = 4, leak = "none" }
[phases]
init = { cycles = [0, 2_000] }
steady = { cycles = [2_000, "end"] }
[[invariant]]
name = "cells bounded"
during = "steady"
type = "Signal<*>::Cons"
max_count = 5_000
[tolerance]
"rss.peak" = { relative = "10%", absolute = "2 MiB" }
"#;

    #[test]
    fn a_valid_scenario() {
        let s = parse(Path::new("scenarios/t.toml"), OK).expect("valid");
        assert_eq!(s.name, "t");
        assert_eq!(s.phases.len(), 2);
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::TypeCount {
                glob: "Signal<*>::Cons".into(),
                cmp: Cmp::AtMost,
                n: 5000
            }
        );
        assert_eq!(s.tolerances["rss.peak"].absolute, 2.0 * 1024.0 * 1024.0);
        assert!(s.fingerprint.starts_with("fnv1a64:"));
    }

    #[test]
    fn fingerprint_ignores_formatting_and_tolerances() {
        let a = parse(Path::new("t.toml"), OK).expect("valid");
        let reformatted = OK
            .replace("cycles = 20_000", "cycles   =   20000 # same")
            .replace("10%", "20%");
        let b = parse(Path::new("t.toml"), &reformatted).expect("valid");
        assert_eq!(a.fingerprint, b.fingerprint);
        let c = parse(Path::new("t.toml"), &OK.replace("20_000", "30_000")).expect("valid");
        assert_ne!(a.fingerprint, c.fingerprint);
    }

    #[test]
    fn unknown_key_names_line_and_choices() {
        check_err(
            &OK.replace("sample_every", "sample_evry"),
            "t.toml:6:1: unknown field `sample_evry`",
        );
    }

    #[test]
    fn unknown_circuit_lists_choices() {
        check_err(
            &OK.replace("\"register_wb\"", "\"register_wbb\""),
            "t.toml:4:13: unknown circuit `register_wbb` (hint: one of register_wb",
        );
    }

    #[test]
    fn bad_param_value_lists_choices() {
        check_err(
            &OK.replace("\"none\"", "\"nope\""),
            "`leak` = \"nope\" is not a choice (hint: one of none",
        );
        check_err(
            &OK.replace("slaves = 4", "slavs = 4"),
            "has no parameter `slavs`",
        );
    }

    #[test]
    fn phases_must_exist_and_be_ordered() {
        check_err(
            &OK.replace("during = \"steady\"", "during = \"stedy\""),
            "no phase named `stedy` (hint: one of always, init, steady)",
        );
        check_err(
            &OK.replace("[2_000, \"end\"]", "[30_000, 2_000]"),
            "range is empty or reversed",
        );
        check_err(&OK.replace("[0, 2_000]", "[0, 0]"), "range is empty");
        check_err(
            &OK.replace("[0, 2_000]", "[0, 50_000]"),
            "beyond the run's 20000 cycles",
        );
    }

    #[test]
    fn wrong_types_and_metrics() {
        check_err(
            &OK.replace("cycles = 20_000", "cycles = \"many\""),
            "t.toml:5:10: invalid type: string \"many\", expected i64",
        );
        check_err(
            &OK.replace("\"rss.peak\"", "\"rss.peek\""),
            "unknown metric `rss.peek` (hint: one of live_bytes.peak",
        );
        check_err(
            &OK.replace(
                "max_count = 5_000",
                "max_count = 5_000\nmax_growth_per_kcycle = 1",
            ),
            "has 2 bounds",
        );
    }

    #[test]
    fn names_cannot_escape_baselines() {
        let err = parse(Path::new("scenarios/../x.y.toml"), OK).expect_err("invalid");
        assert!(err.to_string().contains("may not contain dots"), "{err}");
    }

    #[test]
    fn never_panics_on_mangled_input() {
        // Every prefix, and every single-byte substitution by a character TOML cares about:
        // each is a scenario or an error, never a panic.
        for end in 0..=OK.len() {
            if let Some(prefix) = OK.get(..end) {
                let _ = parse(Path::new("t.toml"), prefix);
            }
        }
        for (i, _) in OK.char_indices() {
            for c in ['"', '[', ']', '=', '\n', '{', '}', ',', '#', '-', '9', 'x'] {
                let mut t = OK.to_owned();
                let end = i + OK[i..].chars().next().map_or(1, char::len_utf8);
                t.replace_range(i..end, &c.to_string());
                let _ = parse(Path::new("t.toml"), &t);
            }
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("Signal<*>::Cons", "Signal<WishboneS2M>::Cons"));
        assert!(!glob_match("Signal<*>::Cons", "Signal<WishboneS2M>::Thunk"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*:-", "clash-prelude:Clash.Signal.Internal.:-"));
        assert!(!glob_match("a*b*c", "abca"));
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
