//! `Scenario`: a declarative TOML file parsed and validated before anything runs.
//!
//! Every mistake a user can make in a scenario file is an error that names the file, the line
//! and the column, and lists the valid choices. This module knows nothing of processes,
//! timelines or baselines; it only turns text into a checked `Scenario`.

pub mod select;

use crate::errors::ScenarioError;
use crate::spec::invariant::{
    Cmp, Endpoint, Expectation, Invariant, Phase, Predicate, Tolerance, Window, MIN_GROWTH_SAMPLES,
};
use crate::spec::text::{glob_match, line_col, nearest_first};
use crate::units;
use serde::Deserialize;
use sim::circuits::{Catalog, ParamKind, ParamValue};
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

impl Run {
    /// What x-positions of this run count (see [`Scenario::x_unit`]).
    pub fn x_unit(&self) -> crate::XUnit {
        match self {
            Run::Simulator(_) => crate::XUnit::Cycles,
            Run::Command(c) => c.profile.x_unit(),
        }
    }
}

/// A simulator run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRun {
    /// The circuit's name in the catalogue the scenario was loaded with.
    pub circuit: String,
    /// Its parameters as written (validated against the catalogue, defaults not filled in).
    pub params: BTreeMap<String, ParamValue>,
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
    /// Tools the run needs, each the name of one of [`KNOWN_TOOLS`] (see [`tool`]).
    pub requires: Vec<String>,
    /// Declared closure sizes in bytes by normalised label (counts are bytes ÷ size).
    pub closure_sizes: BTreeMap<String, u64>,
    /// Extra RTS options (`rts = ["-i0.05"]`), placed after the harness's own so they win.
    /// Empty keeps the exact-census defaults; anything else marks the timeline inexact.
    pub rts: Vec<String>,
    /// What to do with the program at the first violating census (`on_violation`).
    pub on_violation: OnViolation,
    /// Whether a violation is attributed with a profiled rerun (`diagnose`, default true;
    /// see `docs/attribution.md`).
    pub diagnose: bool,
    /// Time between two samples of the resident set (`sample_interval`, `profile = "rss"`
    /// only): [`CommandRun::DEFAULT_SAMPLE_INTERVAL`] unless set.
    pub sample_interval: Duration,
    /// The run's length when `command` has an argument written `{n}` (`length = N`): `argv`
    /// has N in its place, and `membound explore` runs the program at other lengths.
    pub length: Option<Length>,
}

/// A command's length argument: `{n}` in `command`, `length = N` in `[run]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Length {
    /// The value `{n}` stands for in this scenario's runs.
    pub n: u64,
    /// `command` as written, `{n}` included.
    pub template: Vec<String>,
}

impl Length {
    /// The placeholder a command's length argument is written as.
    pub const PLACEHOLDER: &'static str = "{n}";

    /// The command with `{n}` replaced by `n`.
    pub fn argv(&self, n: u64) -> Vec<String> {
        self.template
            .iter()
            .map(|a| a.replace(Self::PLACEHOLDER, &n.to_string()))
            .collect()
    }
}

impl CommandRun {
    /// 20 samples a second: dense enough for a growth fit over a run of a second or two, and
    /// reading `/proc` for a small process tree costs well under a millisecond a sample.
    pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);
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
    /// Files whose content is part of the cache key, relative to the scenarios directory: a
    /// file, a directory (every file below it) or a glob; inside the repository (see
    /// `source::inputs`).
    pub inputs: Vec<PathBuf>,
    /// Wall-clock limit of the build (`timeout = "10 min"`), [`Build::DEFAULT_TIMEOUT`] if unset.
    pub timeout: Duration,
    /// A cabal build (`cabal = "test:unittests"`) instead of `command`: `cabal build TARGET` in
    /// the nearest cabal project above the scenarios directory, never cached by membound (cabal
    /// decides what is stale); `command` and `inputs` are then empty. See `source::cabal`.
    pub cabal: Option<CabalTarget>,
}

/// A cabal target as `cabal build` and `cabal list-bin` take it (`exe:sim`,
/// `test:unittests`, `pkg:test:unittests`): one executable component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CabalTarget(pub String);

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
    /// Any program: the resident set of its whole process tree, sampled every
    /// `sample_interval` while it runs.
    Rss,
    /// A malloc-based (C/C++) program run under `valgrind --tool=massif`: heap snapshots with
    /// live bytes per allocation site.
    Massif,
}

impl ProfileKind {
    /// The names accepted in scenario files.
    pub const NAMES: &'static [&'static str] = &["ghc-eventlog", "ghc-hp", "rss", "massif"];

    /// Parses one of [`ProfileKind::NAMES`].
    pub fn from_name(name: &str) -> Option<ProfileKind> {
        match name {
            "ghc-eventlog" => Some(ProfileKind::GhcEventlog),
            "ghc-hp" => Some(ProfileKind::GhcHp),
            "rss" => Some(ProfileKind::Rss),
            "massif" => Some(ProfileKind::Massif),
            _ => None,
        }
    }

    /// Its name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            ProfileKind::GhcEventlog => "ghc-eventlog",
            ProfileKind::GhcHp => "ghc-hp",
            ProfileKind::Rss => "rss",
            ProfileKind::Massif => "massif",
        }
    }

    /// What a sample's x counts for programs profiled this way.
    pub fn x_unit(self) -> crate::XUnit {
        match self {
            ProfileKind::GhcEventlog | ProfileKind::GhcHp => crate::XUnit::Census,
            ProfileKind::Rss => crate::XUnit::Millis,
            ProfileKind::Massif => crate::XUnit::Snapshot,
        }
    }

    /// Whether the program is a GHC program run with RTS options.
    pub fn is_ghc(self) -> bool {
        matches!(self, ProfileKind::GhcEventlog | ProfileKind::GhcHp)
    }
}

/// What kind of thing a required tool is, so that its presence can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// A program on `PATH`.
    Program,
    /// A package of GHC's package database (`ghc-pkg`).
    GhcPackage,
}

/// A tool a scenario may require: a scenario whose tools are missing is skipped (or fails on
/// CI), so a misspelt name would silently skip the test forever. Only known names are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// Its name in `requires`.
    pub name: &'static str,
    /// How its presence is checked.
    pub kind: ToolKind,
}

const fn program(name: &'static str) -> Tool {
    Tool {
        name,
        kind: ToolKind::Program,
    }
}

const fn ghc_package(name: &'static str) -> Tool {
    Tool {
        name,
        kind: ToolKind::GhcPackage,
    }
}

/// The tools `requires` may name. Add a line here for a new one.
pub const KNOWN_TOOLS: &[Tool] = &[
    program("ghc"),
    program("ghc-pkg"),
    program("cabal"),
    program("clash"),
    program("ghc-events"),
    program("hp2ps"),
    program("cc"),
    program("gcc"),
    program("clang"),
    program("make"),
    program("valgrind"),
    program("verilator"),
    program("iverilog"),
    program("yosys"),
    ghc_package("clash-prelude"),
    ghc_package("clash-lib"),
    ghc_package("clash-ghc"),
    ghc_package("ghc-typelits-natnormalise"),
    ghc_package("ghc-typelits-knownnat"),
    ghc_package("ghc-typelits-extra"),
    ghc_package("tasty"),
];

/// The known tool called `name`.
pub fn tool(name: &str) -> Option<&'static Tool> {
    KNOWN_TOOLS.iter().find(|t| t.name == name)
}

/// A window as a scenario file's reader says it (`always`, `phase "steady" (from cycle 10,000
/// to the end)`, `from cycle 30,000 to the end`): the one way windows are shown, in errors,
/// failures and reports.
#[derive(Debug, Clone, Copy)]
pub struct WindowText<'a> {
    scenario: &'a Scenario,
    window: &'a Window,
}

impl std::fmt::Display for WindowText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = self.scenario.x_unit();
        let range = |f: &mut std::fmt::Formatter<'_>, a: &Endpoint, b: &Endpoint| {
            write!(f, "from {} to {}", a.words(unit), b.words(unit))
        };
        match self.window {
            Window::Always => write!(f, "always"),
            Window::Phase(p) => match self.scenario.phase(p) {
                Some(ph) => {
                    write!(f, "phase \"{p}\" (")?;
                    range(f, &ph.from, &ph.to)?;
                    write!(f, ")")
                }
                None => write!(f, "phase \"{p}\""),
            },
            Window::Range(a, b) => range(f, a, b),
        }
    }
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
    /// Whether the harness's exact-census options hold for this scenario's run, so its exact
    /// metrics repeat bit for bit: false for an external program given its own RTS options.
    pub fn exact_figures(&self) -> bool {
        match &self.run {
            Run::Simulator(_) => true,
            Run::Command(c) => c.rts.is_empty(),
        }
    }

    /// What x-positions of this scenario's run count: cycles (simulator), census indices
    /// (GHC), milliseconds (rss) or snapshot indices (massif).
    pub fn x_unit(&self) -> crate::XUnit {
        self.run.x_unit()
    }

    /// The phase with this name.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// A window of this scenario in its own words (see [`WindowText`]).
    pub fn window_text<'a>(&'a self, window: &'a Window) -> WindowText<'a> {
        WindowText {
            scenario: self,
            window,
        }
    }

    /// The run's length, when it can be varied: a simulator's `cycles`, or the `length` a
    /// command's `{n}` argument stands for.
    pub fn length(&self) -> Option<u64> {
        match &self.run {
            Run::Simulator(s) => Some(s.cycles),
            Run::Command(c) => c.length.as_ref().map(|l| l.n),
        }
    }

    /// This scenario run at another length (see [`Scenario::length`]); `None` when its length
    /// cannot be varied (a command without `{n}`) or `n` is 0.
    pub fn with_length(&self, n: u64) -> Option<Scenario> {
        if n == 0 {
            return None;
        }
        let mut s = self.clone();
        match &mut s.run {
            Run::Simulator(r) => {
                r.cycles = n;
                r.sample_every = r.sample_every.min(n);
            }
            Run::Command(c) => {
                let l = c.length.as_mut()?;
                l.n = n;
                c.argv = l.argv(n);
            }
        }
        Some(s)
    }
}

/// Reads and validates every `*.toml` in `dir`, sorted by name, against the circuits of
/// `catalog`. A file that fails yields its error in place, so one bad file does not hide the
/// others. A directory without any is an error ([`ScenarioError::NoScenarios`]).
pub fn load_dir(
    dir: &Path,
    catalog: &Catalog,
) -> Result<Vec<Result<Scenario, ScenarioError>>, ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    if paths.is_empty() {
        return Err(ScenarioError::NoScenarios {
            path: dir.to_owned(),
        });
    }
    paths.sort();
    Ok(paths.iter().map(|p| load(p, catalog)).collect())
}

/// Reads and validates one scenario file against the circuits of `catalog`.
pub fn load(path: &Path, catalog: &Catalog) -> Result<Scenario, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            // The prefix is valid UTF-8, so line and column count its characters.
            let prefix =
                std::str::from_utf8(bytes.get(..valid).unwrap_or_default()).unwrap_or_default();
            let (line, column) = line_col(prefix, valid);
            return Err(ScenarioError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: format!(
                    "the file is not UTF-8: byte 0x{:02x} at byte offset {valid} does not belong to a UTF-8 character (hint: save the file as UTF-8; TOML files are UTF-8)",
                    bytes.get(valid).copied().unwrap_or_default()
                ),
            });
        }
    };
    // Build inputs are relative to the scenarios directory, the file's own.
    let dir = path.parent().unwrap_or(Path::new("."));
    parse_in(path, &text, catalog, Some(dir))
}

/// Validates scenario text against the circuits of `catalog`; `path` names the file in errors
/// and gives the scenario its name. Files it names are not looked for ([`load`] does).
pub fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Scenario, ScenarioError> {
    parse_in(path, text, catalog, None)
}

/// [`parse`], checking that each build input is a file in `inputs_dir` when one is given.
fn parse_in(
    path: &Path,
    text: &str,
    catalog: &Catalog,
    inputs_dir: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
    let cx = Cx {
        path,
        text,
        catalog,
        inputs_dir,
    };
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
    let x_unit = run.x_unit();
    let mut phases = Vec::new();
    for (pname, rp) in &raw.phases {
        phases.push(cx.phase(pname, rp, x_unit, &run)?);
    }
    let mut invariants = Vec::new();
    // A set, not a scan of the invariants so far: a scenario may have many thousands.
    let mut names = std::collections::HashSet::new();
    for ri in &raw.invariant {
        let inv = cx.invariant(ri, &phases, x_unit, &run)?;
        if !names.insert(inv.name.clone()) {
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
            Some(a) => {
                let v = cx.number_or_bytes(a)?;
                if v < 0.0 {
                    return Err(cx.err(a.span(), format!("a tolerance's `absolute` must be non-negative, found {v} (hint: it allows a change of that much either way, e.g. `absolute = 1024` or \"2 MiB\")")));
                }
                v
            }
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
    let scenario = Scenario {
        name,
        path: path.to_owned(),
        description: raw.description.clone(),
        run,
        phases,
        invariants,
        tolerances,
        budget,
        fingerprint: fingerprint(text),
    };
    cx.check_expected_violations(&scenario, &raw.invariant)?;
    Ok(scenario)
}

/// FNV-1a over the canonical JSON of the measurement-relevant tables: stable across key order,
/// comments and formatting, different when anything that changes the measurement changes.
fn fingerprint(text: &str) -> String {
    let value: toml::Value = match toml::from_str(text) {
        Ok(v) => v,
        Err(_) => return String::new(),
    };
    let mut relevant = serde_json::Map::new();
    if let toml::Value::Table(mut t) = value {
        // Keys that change what is reported about a violation, never what is measured: a
        // baseline blessed before them is not stale.
        if let Some(toml::Value::Table(run)) = t.get_mut("run") {
            run.remove("diagnose");
        }
        if let Some(toml::Value::Array(invs)) = t.get_mut("invariant") {
            for inv in invs {
                if let toml::Value::Table(inv) = inv {
                    inv.remove("expect_retainer");
                }
            }
        }
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
    diagnose: Option<Spanned<bool>>,
    sample_interval: Option<Spanned<String>>,
    length: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    command: Option<Spanned<Vec<String>>>,
    cabal: Option<Spanned<String>>,
    #[serde(default)]
    inputs: Vec<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    cycles: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    census: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    snapshot: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    ms: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    markers: Option<Spanned<Vec<Spanned<toml::Value>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInvariant {
    name: Spanned<String>,
    during: Option<Spanned<String>>,
    cycles: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    census: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    snapshot: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    ms: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    #[serde(rename = "type")]
    type_glob: Option<Spanned<String>>,
    metric: Option<Spanned<String>>,
    absent: Option<Spanned<bool>>,
    max_count: Option<Spanned<i64>>,
    min_count: Option<Spanned<i64>>,
    count: Option<Spanned<i64>>,
    max: Option<Spanned<toml::Value>>,
    max_bytes: Option<Spanned<toml::Value>>,
    max_growth_per_kcycle: Option<Spanned<toml::Value>>,
    max_growth_per_census: Option<Spanned<toml::Value>>,
    max_growth_per_snapshot: Option<Spanned<toml::Value>>,
    max_growth_per_second: Option<Spanned<toml::Value>>,
    expect: Option<Spanned<String>>,
    expect_type: Option<Spanned<String>>,
    expect_site: Option<Spanned<String>>,
    expect_retainer: Option<Spanned<String>>,
    retained_by: Option<Spanned<String>>,
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

/// Validation context: the file and its text, to turn byte spans into line and column, and
/// the circuits simulator runs may name.
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    catalog: &'a Catalog,
    /// The directory build inputs are relative to, when they are to be looked for.
    inputs_dir: Option<&'a Path>,
}

/// The range keys of a phase or invariant, at most one of which is given.
struct Ranges<'r> {
    cycles: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    census: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    snapshot: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    ms: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
    markers: Option<&'r Spanned<Vec<Spanned<toml::Value>>>>,
}

/// The key of a range of positions on a timeline in this unit.
fn range_key(unit: crate::XUnit) -> &'static str {
    match unit {
        crate::XUnit::Cycles => "cycles",
        crate::XUnit::Census => "census",
        crate::XUnit::Snapshot => "snapshot",
        crate::XUnit::Millis => "ms",
    }
}

/// The runs whose timelines are in this unit, in words.
fn unit_runs(unit: crate::XUnit) -> &'static str {
    match unit {
        crate::XUnit::Cycles => "simulator runs",
        crate::XUnit::Census => "GHC programs",
        crate::XUnit::Snapshot => "`profile = \"massif\"` runs",
        crate::XUnit::Millis => "`profile = \"rss\"` runs",
    }
}

/// The growth-bound key of runs in this unit.
fn growth_key(unit: crate::XUnit) -> &'static str {
    match unit {
        crate::XUnit::Cycles => "max_growth_per_kcycle",
        crate::XUnit::Census => "max_growth_per_census",
        crate::XUnit::Snapshot => "max_growth_per_snapshot",
        crate::XUnit::Millis => "max_growth_per_second",
    }
}

/// How a range's endpoints are written: positions (integers, percentages) or marker texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndpointSpelling {
    Positions,
    Markers,
}

/// The samples a probe child takes of a run of `cycles` (cycle 0, every multiple of `every`,
/// and the last cycle) that fall in `a..=b`.
fn sim_samples_in(a: u64, b: u64, every: u64, cycles: u64) -> u64 {
    let every = every.max(1);
    let b = b.min(cycles);
    if a > b {
        return 0;
    }
    let (first, last) = (a.div_ceil(every), b / every);
    let multiples = if first > last { 0 } else { last - first + 1 };
    let last = u64::from(!cycles.is_multiple_of(every) && a <= cycles && cycles <= b);
    multiples + last
}

/// The largest `sample_every` that puts [`MIN_GROWTH_SAMPLES`] samples in `a..=b`, if any does.
fn suggest_sample_every(a: u64, b: u64, cycles: u64) -> Option<u64> {
    let need = MIN_GROWTH_SAMPLES as u64;
    let mut every = ((b.saturating_sub(a)) / (need - 1)).max(1);
    while every > 1 && sim_samples_in(a, b, every, cycles) < need {
        // Shrinks geometrically then by one: a handful of steps for any window.
        every = (every - every / 10).min(every - 1);
    }
    (sim_samples_in(a, b, every, cycles) >= need).then_some(every)
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

    /// A run stops at its first violation, so an invariant expected to hold beside one
    /// expected to be violated would be checked only up to that violation, or never: it could
    /// never be evaluated as declared, and passing it would be a false green. Such a scenario
    /// is refused; several expected violations together are fine, since each must happen.
    fn check_expected_violations(
        &self,
        scenario: &Scenario,
        raw: &[Spanned<RawInvariant>],
    ) -> Result<(), ScenarioError> {
        let violated = |i: &&Invariant| matches!(i.expect, Expectation::Violated { .. });
        let Some(leak) = scenario.invariants.iter().find(violated) else {
            return Ok(());
        };
        let Some((held, span)) = scenario
            .invariants
            .iter()
            .zip(raw)
            .find(|(i, _)| i.expect == Expectation::Holds)
        else {
            return Ok(());
        };
        Err(self.err(
            span.span(),
            format!(
                "invariant `{}` ({}) is expected to hold, but invariant `{}` ({}) expects a violation, and a run stops at its first violation: `{}` would be checked only up to there, or never (hint: move `{}` to a scenario of its own, such as the fixed variant's, or expect it violated too)",
                held.name,
                scenario.window_text(&held.during),
                leak.name,
                scenario.window_text(&leak.during),
                held.name,
                held.name
            ),
        ))
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
            (r.diagnose.as_ref().map(|s| s.span()), "diagnose"),
            (
                r.sample_interval.as_ref().map(|s| s.span()),
                "sample_interval",
            ),
            (r.length.as_ref().map(|s| s.span()), "length"),
        ] {
            if let Some(span) = present {
                return Err(self.err(
                    span,
                    format!("`{key}` applies to external commands, not to `simulator` runs (a simulator run's length is `cycles`)"),
                ));
            }
        }
        let Some(spec) = self.catalog.get(sim_name.get_ref()) else {
            let names = nearest_first(sim_name.get_ref(), self.catalog.names());
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
        let total = *cycles.get_ref() as u64;
        let sample_every = match &r.sample_every {
            Some(s) if *s.get_ref() < 1 => {
                return Err(self.err(s.span(), "`sample_every` must be at least 1".into()))
            }
            Some(s) if *s.get_ref() as u64 > total => {
                return Err(self.err(s.span(), format!("`sample_every` = {} is larger than `cycles` = {total}: the run would be sampled only at its start and end (hint: `sample_every = {}` gives 100 samples)", s.get_ref(), (total / 100).max(1))))
            }
            Some(s) => *s.get_ref() as u64,
            // The default suits long runs; a short one is sampled at least at its end.
            None => DEFAULT_SAMPLE_EVERY.min(total),
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
            let v = self.param_value(p, value)?;
            params.insert(key.get_ref().clone(), v);
        }
        self.validate_params(raw, sim_name, spec, &params)?;
        Ok(Run::Simulator(SimRun {
            circuit: spec.name.to_owned(),
            params,
            cycles: total,
            sample_every,
        }))
    }

    /// One parameter's value, checked against its kind.
    fn param_value(
        &self,
        p: &sim::circuits::ParamSpec,
        value: &Spanned<toml::Value>,
    ) -> Result<ParamValue, ScenarioError> {
        let v = match (&p.kind, value.get_ref()) {
            (ParamKind::Int { min, max }, toml::Value::Integer(i)) => {
                if i < min || i > max {
                    return Err(self.err(
                        value.span(),
                        format!("`{}` = {i} is out of range (hint: {min} to {max})", p.name),
                    ));
                }
                ParamValue::Int(*i)
            }
            (ParamKind::Choice(choices), toml::Value::String(s)) => {
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
                ParamValue::Str(s.clone())
            }
            (ParamKind::Int { .. }, other) => {
                return Err(self.err(
                    value.span(),
                    format!(
                        "`{}` must be an integer, found {}",
                        p.name,
                        other.type_str()
                    ),
                ))
            }
            (ParamKind::Choice(choices), other) => {
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
        Ok(v)
    }

    /// The circuit's own check of its parameters together (e.g. `corrupt_slave < slaves`),
    /// before anything runs. The error points at the first parameter its message names.
    fn validate_params(
        &self,
        raw: &RawScenario,
        sim_name: &Spanned<String>,
        spec: &sim::circuits::CircuitSpec,
        params: &BTreeMap<String, ParamValue>,
    ) -> Result<(), ScenarioError> {
        let at = |message: &str| {
            raw.run
                .params
                .keys()
                .filter_map(|k| message.find(&format!("`{}`", k.get_ref())).map(|i| (i, k)))
                .min_by_key(|(i, _)| *i)
                .map_or(sim_name.span(), |(_, k)| k.span())
        };
        let resolved = spec
            .resolve(params)
            .map_err(|e| self.err(at(e.message()), e.message().to_owned()))?;
        (spec.validate)(&resolved).map_err(|m| self.err(at(&m), format!("{}: {m}", spec.name)))
    }

    /// `[build]`'s `command` or `cabal`: exactly one, and `inputs` only with `command`.
    fn build_kind(
        &self,
        whole: &Spanned<RawBuild>,
    ) -> Result<(Vec<String>, Option<CabalTarget>), ScenarioError> {
        let b = whole.get_ref();
        match (&b.command, &b.cabal) {
            (Some(_), Some(t)) => Err(self.err(t.span(), "`[build]` has both `command` and `cabal` (hint: `cabal = \"test:NAME\"` builds a cabal project's component; `command` runs any other build)".into())),
            (None, None) => Err(self.err(whole.span(), "`[build]` needs `command = [\"…\"]` or `cabal = \"TARGET\"` (e.g. `cabal = \"test:unittests\"`)".into())),
            (Some(c), None) if c.get_ref().is_empty() => {
                Err(self.err(c.span(), "`build.command` is empty".into()))
            }
            (Some(c), None) => Ok((c.get_ref().clone(), None)),
            (None, Some(t)) => {
                let target = t.get_ref();
                if let Some(i) = b.inputs.first() {
                    return Err(self.err(i.span(), "`inputs` apply to `command` builds: a `cabal` build is never cached by membound, cabal itself decides what is stale (hint: remove `inputs`)".into()));
                }
                if target.is_empty()
                    || target.starts_with('-')
                    || target.chars().any(char::is_whitespace)
                {
                    return Err(self.err(t.span(), format!("`cabal = \"{target}\"` is not a cabal target (hint: one executable component, e.g. \"exe:sim\" or \"test:unittests\")")));
                }
                Ok((Vec::new(), Some(CabalTarget(target.clone()))))
            }
        }
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
            Some(p) => ProfileKind::from_name(p.get_ref()).ok_or_else(|| {
                self.err(
                    p.span(),
                    format!(
                        "unknown profile `{}` (hint: one of {})",
                        p.get_ref(),
                        ProfileKind::NAMES.join(", ")
                    ),
                )
            })?,
        };
        if !profile.is_ghc() {
            for (span, key) in [
                (r.rts.first().map(|s| s.span()), "rts"),
                (r.diagnose.as_ref().map(|s| s.span()), "diagnose"),
                (
                    r.closure_sizes.values().next().map(|s| s.span()),
                    "closure_sizes",
                ),
            ] {
                if let Some(span) = span {
                    return Err(self.err(span, format!("`{key}` applies to GHC programs (`profile = \"ghc-eventlog\"` or `\"ghc-hp\"`), not to `profile = \"{}\"`", r.profile.as_ref().map_or("", |p| p.get_ref().as_str()))));
                }
            }
        }
        if let (ProfileKind::Massif, Some(v)) = (profile, &r.on_violation) {
            return Err(self.err(v.span(), "`on_violation` does not apply to `profile = \"massif\"`: massif writes its snapshots when the program exits, so they are checked after the run, when there is nothing left to stop or pause (see docs/live.md)".into()));
        }
        let sample_interval = match &r.sample_interval {
            Some(s) if profile != ProfileKind::Rss => {
                return Err(self.err(s.span(), "`sample_interval` applies to `profile = \"rss\"`: other profiles are sampled by the program's runtime (GHC's censuses, massif's snapshots)".into()))
            }
            Some(s) => {
                let d = units::parse_duration(s.get_ref()).map_err(|m| self.err(s.span(), m))?;
                if d < Duration::from_millis(1) {
                    return Err(self.err(s.span(), format!("`sample_interval` = \"{}\" is below 1 ms (hint: \"50ms\", the default; each sample reads /proc for the whole process tree)", s.get_ref())));
                }
                d
            }
            None => CommandRun::DEFAULT_SAMPLE_INTERVAL,
        };
        let build = match &raw.build {
            None => None,
            Some(whole) => {
                let b = whole.get_ref();
                let (command, cabal) = self.build_kind(whole)?;
                let mut inputs = Vec::new();
                for i in &b.inputs {
                    let p = Path::new(i.get_ref());
                    if p.is_absolute() {
                        return Err(self.err(i.span(), format!("build input `{}` must be relative to the scenarios directory (it may reach into the repository around it: `../src`)", i.get_ref())));
                    }
                    // Found now rather than when the build hashes its inputs, minutes into
                    // a run.
                    if let Some(dir) = self.inputs_dir {
                        let full = dir.join(p);
                        if !full.is_file() {
                            return Err(self.err(i.span(), format!("build input `{}` is not a file: {} does not exist or is not a regular file (hint: inputs are paths relative to the scenarios directory {}, e.g. \"haskell/RegisterWb.hs\")", i.get_ref(), full.display(), dir.display())));
                        }
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
                    command,
                    inputs,
                    timeout,
                    cabal,
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
            let bytes = self.bytes(size)?;
            if bytes == 0 {
                return Err(self.err(size.span(), format!("closure size of `{label}` is 0: counts are bytes ÷ size (hint: the closure's size in bytes, a header word plus its payload, e.g. 24 for a constructor with two pointer fields on 64-bit)")));
            }
            closure_sizes.insert(label.clone(), bytes);
        }
        let mut requires = Vec::new();
        for req in &r.requires {
            let Some(t) = tool(req.get_ref()) else {
                let known = nearest_first(req.get_ref(), KNOWN_TOOLS.iter().map(|t| t.name));
                return Err(self.err(req.span(), format!("unknown tool `{}` in `requires`: a misspelt tool would skip the scenario forever (hint: one of {}; a new tool is added to `scenario::KNOWN_TOOLS`)", req.get_ref(), known.join(", "))));
            };
            requires.push(t.name.to_owned());
        }
        let length = self.length(cmd, r.length.as_ref())?;
        Ok(Run::Command(CommandRun {
            build,
            argv: length
                .as_ref()
                .map_or_else(|| cmd.get_ref().clone(), |l| l.argv(l.n)),
            length,
            profile,
            requires,
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
            diagnose: r.diagnose.as_ref().is_none_or(|d| *d.get_ref()),
            sample_interval,
        }))
    }

    /// `length = N` with `{n}` in `command`: both or neither.
    fn length(
        &self,
        cmd: &Spanned<Vec<String>>,
        length: Option<&Spanned<i64>>,
    ) -> Result<Option<Length>, ScenarioError> {
        let uses = cmd
            .get_ref()
            .iter()
            .any(|a| a.contains(Length::PLACEHOLDER));
        match (uses, length) {
            (false, None) => Ok(None),
            (true, None) => Err(self.err(cmd.span(), "`command` uses `{n}` but `[run]` has no `length` (hint: `length = 3000`, the value `{n}` stands for in runs; `membound explore` varies it)".into())),
            (false, Some(l)) => Err(self.err(l.span(), "`length` is set but no argument of `command` is `{n}` (hint: write `{n}` where the program takes its length, e.g. command = [\"{build}\", \"{n}\"])".into())),
            (true, Some(l)) if *l.get_ref() < 1 => {
                Err(self.err(l.span(), "`length` must be at least 1".into()))
            }
            (true, Some(l)) => Ok(Some(Length {
                n: *l.get_ref() as u64,
                template: cmd.get_ref().clone(),
            })),
        }
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
        let given = [
            p.cycles.is_some(),
            p.census.is_some(),
            p.snapshot.is_some(),
            p.ms.is_some(),
            p.markers.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return Err(self.err(
                rp.span(),
                format!(
                    "phase `{}` needs exactly one of `{} = [from, to]`, `markers = [from, to]`",
                    name.get_ref(),
                    range_key(x_unit)
                ),
            ));
        }
        let (from, to) = self.range(
            Ranges {
                cycles: p.cycles.as_ref(),
                census: p.census.as_ref(),
                snapshot: p.snapshot.as_ref(),
                ms: p.ms.as_ref(),
                markers: p.markers.as_ref(),
            },
            x_unit,
            run,
        )?;
        Ok(Phase {
            name: name.get_ref().clone(),
            from,
            to,
        })
    }

    /// Validates a `[from, to]` range in one of its spellings: positions in the run's own
    /// unit (`cycles`, `census`, `snapshot`, `ms`) or GHC markers.
    fn range(
        &self,
        r: Ranges<'_>,
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<(Endpoint, Endpoint), ScenarioError> {
        use crate::XUnit::*;
        let positions = [
            (r.cycles, Cycles, "cycles"),
            (r.census, Census, "census"),
            (r.snapshot, Snapshot, "snapshot"),
            (r.ms, Millis, "ms"),
        ];
        let (list, spelling) = if let Some((list, unit, key)) = positions
            .iter()
            .find_map(|(l, u, k)| l.map(|l| (l, *u, *k)))
        {
            if unit != x_unit {
                return Err(self.err(
                    list.span(),
                    format!(
                        "`{key}` ranges apply to {}; this run's timeline is indexed by `{}`",
                        unit_runs(unit),
                        range_key(x_unit)
                    ),
                ));
            }
            (list, EndpointSpelling::Positions)
        } else if let Some(m) = r.markers {
            if x_unit != Census {
                return Err(self.err(m.span(), format!("`markers` apply to GHC programs that emit user markers; this run's timeline is indexed by `{}`", range_key(x_unit))));
            }
            (m, EndpointSpelling::Markers)
        } else {
            return Ok((Endpoint::At(0), Endpoint::End));
        };
        let v = list.get_ref();
        if v.len() != 2 {
            return Err(self.err(
                list.span(),
                format!("a range is `[from, to]`, found {} elements", v.len()),
            ));
        }
        let from = self.endpoint(&v[0], spelling)?;
        let to = self.endpoint(&v[1], spelling)?;
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
        spelling: EndpointSpelling,
    ) -> Result<Endpoint, ScenarioError> {
        let markers = spelling == EndpointSpelling::Markers;
        match v.get_ref() {
            toml::Value::Integer(i) if *i >= 0 && !markers => Ok(Endpoint::At(*i as u64)),
            toml::Value::String(s) if s == "end" => Ok(Endpoint::End),
            toml::Value::String(s) if s.ends_with('%') && !markers => {
                let f = units::parse_percent(s).map_err(|m| self.err(v.span(), m))?;
                if f > 1.0 {
                    return Err(self.err(v.span(), format!("`{s}` is beyond the end of the run")));
                }
                Ok(Endpoint::Fraction(f))
            }
            toml::Value::String(s) if markers => Ok(Endpoint::Marker(s.clone())),
            _ if markers => Err(self.err(
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
        phases: &[Phase],
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Invariant, ScenarioError> {
        let r = ri.get_ref();
        let name = r.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.err(r.name.span(), "an invariant's `name` is empty (hint: a short phrase such as \"signal cells bounded\": it names the invariant in failures and baselines)".into()));
        }
        let during = self.window(&name, r, phases, x_unit, run)?;
        if let (Some(e), Run::Simulator(_)) = (&r.expect_retainer, run) {
            return Err(self.err(e.span(), format!("invariant `{name}`: `expect_retainer` names a function of a GHC program that a profiled rerun finds retaining the growth; simulator runs name their culprit with `expect_site` (hint: remove it)")));
        }
        // Retainers come from GHC's profiler: an rss or massif run has none, and a key that
        // could never be met must not be accepted.
        if let Run::Command(c) = run {
            let retainer_key = [
                (
                    r.expect_retainer.as_ref().map(|s| s.span()),
                    "expect_retainer",
                ),
                (r.retained_by.as_ref().map(|s| s.span()), "retained_by"),
            ];
            for (span, key) in retainer_key {
                if let (Some(span), false) = (span, c.profile.is_ghc()) {
                    return Err(self.err(span, format!("invariant `{name}`: `{key}` is found by GHC's retainer profiler, which `profile = \"{}\"` does not have (hint: name the growing allocation site with `expect_type`)", c.profile.name())));
                }
            }
        }
        let growth = self.growth_bound(r, x_unit)?;
        let predicate = match (&r.type_glob, &r.metric) {
            (Some(_), Some(m)) => return Err(self.err(m.span(), format!("invariant `{name}` has both `type` and `metric` (hint: one predicate per invariant)"))),
            (None, None) => return Err(self.err(ri.span(), format!("invariant `{name}` needs a predicate: `type = \"glob\"` with `absent`, `max_count`, `min_count`, `count` or a growth bound; or `metric = \"live_bytes\"` with `max` or a growth bound"))),
            (Some(glob), None) => self.type_predicate(&name, ri, glob, growth, x_unit)?,
            (None, Some(metric)) => self.metric_predicate(&name, ri, metric, growth, x_unit)?,
        };
        if let (Some(g), Run::Simulator(s)) = (growth, run) {
            self.check_growth_sampling(&name, g, &during, phases, s)?;
        }
        let expect = self.expectation(r)?;
        let retained_by = match &r.retained_by {
            None => None,
            Some(g) => {
                let glob = g.get_ref().trim();
                if matches!(run, Run::Simulator(_)) {
                    return Err(self.err(g.span(), format!("invariant `{name}`: `retained_by` is checked on a GHC retainer profile; simulator runs have none (hint: remove it)")));
                }
                if glob.is_empty() {
                    return Err(self.err(g.span(), format!("invariant `{name}`: `retained_by` is empty (hint: a glob over cost-centre names, e.g. \"*singleMasterInterconnect*\")")));
                }
                let exact_type = match &predicate {
                    Predicate::TypeAbsent(t)
                    | Predicate::TypeCount { glob: t, .. }
                    | Predicate::TypeGrowth { glob: t, .. } => !t.contains('*'),
                    _ => false,
                };
                if !exact_type {
                    return Err(self.err(g.span(), format!("invariant `{name}`: `retained_by` needs `type` to name one constructor exactly, e.g. \"clash-prelude:Clash.Signal.Internal.:-\" (the retainer profile is restricted to it with `-hd`)")));
                }
                Some(glob.to_owned())
            }
        };
        Ok(Invariant {
            name,
            during,
            predicate,
            expect,
            retained_by,
        })
    }

    /// Where the invariant must hold: `during` a phase, an explicit range, or always.
    fn window(
        &self,
        name: &str,
        r: &RawInvariant,
        phases: &[Phase],
        x_unit: crate::XUnit,
        run: &Run,
    ) -> Result<Window, ScenarioError> {
        if r.cycles.is_some() || r.census.is_some() || r.snapshot.is_some() || r.ms.is_some() {
            if let Some(d) = &r.during {
                return Err(self.err(d.span(), "give either `during` or a range, not both".into()));
            }
            let (a, b) = self.range(
                Ranges {
                    cycles: r.cycles.as_ref(),
                    census: r.census.as_ref(),
                    snapshot: r.snapshot.as_ref(),
                    ms: r.ms.as_ref(),
                    markers: None,
                },
                x_unit,
                run,
            )?;
            return Ok(Window::Range(a, b));
        }
        match &r.during {
            None => Ok(Window::Always),
            Some(d) if d.get_ref() == "always" => Ok(Window::Always),
            Some(d) if phases.iter().any(|p| &p.name == d.get_ref()) => {
                Ok(Window::Phase(d.get_ref().clone()))
            }
            Some(d) => {
                let mut choices = vec!["always"];
                choices.extend(phases.iter().map(|p| p.name.as_str()));
                Err(self.err(
                    d.span(),
                    format!(
                        "invariant `{name}`: no phase named `{}` (hint: one of {})",
                        d.get_ref(),
                        choices.join(", ")
                    ),
                ))
            }
        }
    }

    /// The growth bound in the spelling of this kind of run, if any.
    fn growth_bound<'r>(
        &self,
        r: &'r RawInvariant,
        x_unit: crate::XUnit,
    ) -> Result<Option<&'r Spanned<toml::Value>>, ScenarioError> {
        use crate::XUnit::*;
        let mut own = None;
        for (g, unit) in [
            (&r.max_growth_per_kcycle, Cycles),
            (&r.max_growth_per_census, Census),
            (&r.max_growth_per_snapshot, Snapshot),
            (&r.max_growth_per_second, Millis),
        ] {
            let Some(g) = g else { continue };
            if unit != x_unit {
                return Err(self.err(
                    g.span(),
                    format!(
                        "`{}` applies to {}; use `{}`",
                        growth_key(unit),
                        unit_runs(unit),
                        growth_key(x_unit)
                    ),
                ));
            }
            own = Some(g);
        }
        Ok(own)
    }

    /// `type = "glob"` with one bound on the count of matching objects.
    fn type_predicate(
        &self,
        name: &str,
        ri: &Spanned<RawInvariant>,
        glob: &Spanned<String>,
        growth: Option<&Spanned<toml::Value>>,
        x_unit: crate::XUnit,
    ) -> Result<Predicate, ScenarioError> {
        let r = ri.get_ref();
        if let Some(m) = &r.max {
            return Err(self.err(
                m.span(),
                "`max` bounds a metric's bytes; for a type use `max_count` or `max_bytes`".into(),
            ));
        }
        let g = glob.get_ref().clone();
        if g.is_empty() {
            return Err(self.err(glob.span(), "`type` is empty (hint: a type label or a glob such as \"Signal<*>::Cons\"; `*` matches anything)".into()));
        }
        if x_unit == crate::XUnit::Millis {
            return Err(self.err(glob.span(), "`profile = \"rss\"` samples the resident set only, with no types (hint: bound `metric = \"rss\"`, or profile the program with `profile = \"massif\"` to see its allocation sites)".into()));
        }
        let mut preds = Vec::new();
        if x_unit == crate::XUnit::Snapshot {
            // massif attributes bytes to allocation sites and counts no objects: a count bound
            // would hold on any leak.
            for (span, key) in [
                (r.max_count.as_ref().map(|s| s.span()), "max_count"),
                (r.min_count.as_ref().map(|s| s.span()), "min_count"),
                (r.count.as_ref().map(|s| s.span()), "count"),
            ] {
                if let Some(span) = span {
                    return Err(self.err(span, format!("`{key}` counts objects, and massif attributes bytes to allocation sites without counting them (hint: `max_bytes = \"1 MiB\"`, or `max_growth_per_snapshot = \"1 KiB\"`)")));
                }
            }
            if let Some(gv) = growth {
                let max = self.number_or_bytes(gv)?;
                if max < 0.0 {
                    return Err(self.err(
                        gv.span(),
                        "a growth bound must be non-negative (hint: 0 for no growth at all)".into(),
                    ));
                }
                preds.push(Predicate::TypeBytesGrowth {
                    glob: g.clone(),
                    max,
                });
            }
        }
        if let Some(m) = &r.max_bytes {
            preds.push(Predicate::TypeBytesMax {
                glob: g.clone(),
                max: self.bytes(m)?,
            });
        }
        let growth = growth.filter(|_| x_unit != crate::XUnit::Snapshot);
        if let Some(a) = &r.absent {
            if !*a.get_ref() {
                return Err(self.err(a.span(), "`absent = false` says nothing (hint: remove it, or bound the count with `min_count`)".into()));
            }
            preds.push(Predicate::TypeAbsent(g.clone()));
        }
        for (field, cmp) in [
            (&r.max_count, Cmp::AtMost),
            (&r.min_count, Cmp::AtLeast),
            (&r.count, Cmp::Exactly),
        ] {
            let Some(n) = field else { continue };
            if *n.get_ref() < 0 {
                return Err(self.err(n.span(), "a count bound must be non-negative".into()));
            }
            if cmp == Cmp::AtLeast && *n.get_ref() == 0 {
                return Err(self.err(n.span(), "`min_count = 0` always holds (hint: `min_count = 1` to require at least one live object, or `absent = true` to require none)".into()));
            }
            preds.push(Predicate::TypeCount {
                glob: g.clone(),
                cmp,
                n: *n.get_ref() as u64,
            });
        }
        if let Some(gv) = growth {
            if let toml::Value::String(_) = gv.get_ref() {
                return Err(self.err(gv.span(), "a type's growth is in objects, not bytes (hint: a number of objects per 1000 cycles or per census, e.g. 0; byte sizes bound `metric = \"live_bytes\"`)".into()));
            }
            preds.push(Predicate::TypeGrowth {
                glob: g,
                max: self.non_negative(gv)?,
            });
        }
        self.one_predicate(name, ri, preds)
    }

    /// `metric = "live_bytes"` (or `"heap"`) with `max` or a growth bound in bytes.
    fn metric_predicate(
        &self,
        name: &str,
        ri: &Spanned<RawInvariant>,
        metric: &Spanned<String>,
        growth: Option<&Spanned<toml::Value>>,
        x_unit: crate::XUnit,
    ) -> Result<Predicate, ScenarioError> {
        let r = ri.get_ref();
        let expected = crate::spec::metric::residency_invariant_metric(x_unit);
        if metric.get_ref() != expected {
            return Err(self.err(metric.span(), format!("unknown invariant metric `{}` (hint: `{expected}` for this kind of run; per-type bounds use `type = \"glob\"`)", metric.get_ref())));
        }
        for (span, key) in [
            (r.absent.as_ref().map(|s| s.span()), "absent"),
            (r.max_count.as_ref().map(|s| s.span()), "max_count"),
            (r.min_count.as_ref().map(|s| s.span()), "min_count"),
            (r.count.as_ref().map(|s| s.span()), "count"),
            (r.max_bytes.as_ref().map(|s| s.span()), "max_bytes"),
        ] {
            if let Some(span) = span {
                return Err(self.err(
                    span,
                    format!("`{key}` bounds a type; a metric takes `max` or a growth bound"),
                ));
            }
        }
        let mut preds = Vec::new();
        if let Some(m) = &r.max {
            preds.push(Predicate::LiveBytesMax(self.bytes(m)?));
        }
        if let Some(gv) = growth {
            let max = self.number_or_bytes(gv)?;
            if max < 0.0 {
                return Err(self.err(
                    gv.span(),
                    "a growth bound must be non-negative (hint: 0 for no growth at all)".into(),
                ));
            }
            preds.push(Predicate::LiveBytesGrowth(max));
        }
        self.one_predicate(name, ri, preds)
    }

    /// A growth fit needs [`MIN_GROWTH_SAMPLES`] samples in its window. A simulator run's
    /// samples are known before it runs (cycle 0, every `sample_every`, the last cycle), so a
    /// window that would hold too few is rejected here rather than judged on a guess.
    fn check_growth_sampling(
        &self,
        name: &str,
        bound: &Spanned<toml::Value>,
        during: &Window,
        phases: &[Phase],
        s: &SimRun,
    ) -> Result<(), ScenarioError> {
        let endpoints = match during {
            Window::Always => Some((Endpoint::At(0), Endpoint::End)),
            Window::Range(a, b) => Some((a.clone(), b.clone())),
            Window::Phase(p) => phases
                .iter()
                .find(|ph| &ph.name == p)
                .map(|ph| (ph.from.clone(), ph.to.clone())),
        };
        let Some((from, to)) = endpoints else {
            return Ok(());
        };
        let (Some(a), Some(b)) = (from.position(s.cycles), to.position(s.cycles)) else {
            return Ok(());
        };
        let have = sim_samples_in(a, b, s.sample_every, s.cycles);
        let need = MIN_GROWTH_SAMPLES as u64;
        if have >= need {
            return Ok(());
        }
        let hint = match suggest_sample_every(a, b, s.cycles) {
            Some(every) => format!("`sample_every = {every}` or less in `[run]`"),
            None => format!(
                "widen the window to at least {} cycles, or bound `max` instead",
                need - 1
            ),
        };
        Err(self.err(
            bound.span(),
            format!(
                "invariant `{name}`: a growth bound needs at least {need} samples in its window, but cycles {a} to {b} sampled every {} cycles hold {have} (hint: {hint})",
                s.sample_every
            ),
        ))
    }

    /// What the scenario expects: that the invariant holds, or that it is violated by a culprit.
    fn expectation(&self, r: &RawInvariant) -> Result<Expectation, ScenarioError> {
        let culprit = r
            .expect_type
            .as_ref()
            .or(r.expect_site.as_ref())
            .or(r.expect_retainer.as_ref());
        let Some(e) = &r.expect else {
            if let Some(s) = culprit {
                return Err(self.err(s.span(), "`expect_type`, `expect_site` and `expect_retainer` need `expect = \"violated\"` (hint: add it, or remove them)".into()));
            }
            return Ok(Expectation::Holds);
        };
        match e.get_ref().as_str() {
            "holds" => match culprit {
                Some(s) => Err(self.err(s.span(), "`expect_type`, `expect_site` and `expect_retainer` name the culprit of a violation, but `expect = \"holds\"` (hint: `expect = \"violated\"`, or remove them)".into())),
                None => Ok(Expectation::Holds),
            },
            "violated" => Ok(Expectation::Violated {
                culprit_type: r.expect_type.as_ref().map(|s| s.get_ref().clone()),
                culprit_site: r.expect_site.as_ref().map(|s| s.get_ref().clone()),
                culprit_retainer: r.expect_retainer.as_ref().map(|s| s.get_ref().clone()),
            }),
            other => Err(self.err(
                e.span(),
                format!("unknown expectation `{other}` (hint: \"holds\" or \"violated\")"),
            )),
        }
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
        let names = crate::spec::metric::metric_names(x_unit);
        if names.contains(&k.as_str()) {
            return Ok(());
        }
        if let Some(rest) = k.strip_prefix("types.") {
            let fields = crate::spec::metric::type_fields(x_unit);
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
            toml::Value::Integer(i) if *i >= 0 => {
                units::check_bytes(*i as u64, &i.to_string()).map_err(|m| self.err(v.span(), m))
            }
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

    fn non_negative(&self, v: &Spanned<toml::Value>) -> Result<f64, ScenarioError> {
        let n = self.number(v)?;
        if n < 0.0 {
            return Err(self.err(
                v.span(),
                "a growth bound must be non-negative (hint: 0 for no growth at all)".into(),
            ));
        }
        Ok(n)
    }

    fn number_or_bytes(&self, v: &Spanned<toml::Value>) -> Result<f64, ScenarioError> {
        match v.get_ref() {
            toml::Value::String(_) => self.bytes(v).map(|b| b as f64),
            _ => self.number(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses against this workspace's catalogue.
    fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        super::parse(path, text, &sim::circuits::catalog())
    }

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
    fn attribution_keys_belong_to_external_programs_and_leave_the_fingerprint_alone() {
        let cmd = |s: &Scenario| match &s.run {
            Run::Command(c) => c.diagnose,
            Run::Simulator(_) => panic!("a command scenario"),
        };
        let on = parse(Path::new("t.toml"), CMD).expect("valid");
        assert!(cmd(&on), "attribution is on by default");
        let off_text = CMD.replace(
            "command = [\"prog\"]",
            "command = [\"prog\"]\ndiagnose = false",
        );
        let off = parse(Path::new("t.toml"), &off_text).expect("valid");
        assert!(!cmd(&off));
        assert_eq!(
            on.fingerprint, off.fingerprint,
            "diagnose changes no figure"
        );
        let retainer = CMD.replace(
            "max = \"1 MiB\"",
            "max = \"1 MiB\"\nexpect = \"violated\"\nexpect_retainer = \"master\"",
        );
        let violated = CMD.replace("max = \"1 MiB\"", "max = \"1 MiB\"\nexpect = \"violated\"");
        assert_eq!(
            parse(Path::new("t.toml"), &retainer)
                .expect("valid")
                .fingerprint,
            parse(Path::new("t.toml"), &violated)
                .expect("valid")
                .fingerprint,
            "expect_retainer changes no figure"
        );
        check_err(
            &OK.replace(
                "sample_every = 1_000",
                "sample_every = 1_000\ndiagnose = false",
            ),
            "t.toml:7:12: `diagnose` applies to external commands, not to `simulator` runs",
        );
        check_err(
            &OK.replace(
                "max_count = 5_000",
                "max_count = 5_000\nexpect = \"violated\"\nexpect_retainer = \"f\"",
            ),
            "invariant `cells bounded`: `expect_retainer` names a function of a GHC program",
        );
        check_err(
            &CMD.replace(
                "max = \"1 MiB\"",
                "max = \"1 MiB\"\nexpect_retainer = \"f\"",
            ),
            "need `expect = \"violated\"`",
        );
    }

    #[test]
    fn retained_by_needs_a_ghc_program_and_one_exact_constructor() {
        check_err(
            &OK.replace("max_count = 5_000", "max_count = 5_000\nretained_by = \"*f*\""),
            "invariant `cells bounded`: `retained_by` is checked on a GHC retainer profile; simulator runs have none",
        );
        let ghc = |ty: &str, by: &str| {
            CMD.replace(
                "metric = \"heap\"\nmax = \"1 MiB\"",
                &format!("type = \"{ty}\"\nabsent = true\nretained_by = \"{by}\""),
            )
        };
        check_err(
            &ghc("clash-prelude:*", "*f*"),
            "`retained_by` needs `type` to name one constructor exactly",
        );
        check_err(
            &ghc("clash-prelude:Clash.Signal.Internal.:-", " "),
            "`retained_by` is empty",
        );
        let s = parse(
            Path::new("t.toml"),
            &ghc(
                "clash-prelude:Clash.Signal.Internal.:-",
                "*singleMasterInterconnect*",
            ),
        )
        .expect("valid");
        assert_eq!(
            s.invariants[0].retained_by.as_deref(),
            Some("*singleMasterInterconnect*")
        );
    }

    /// An external program's scenario, for checks of `[run]` keys of commands.
    const CMD: &str = r#"
description = "d"
[run]
command = ["prog"]
requires = ["ghc", "clash-prelude"]
closure_sizes = { "x" = 24 }
[[invariant]]
name = "heap bounded"
metric = "heap"
max = "1 MiB"
"#;

    #[test]
    fn build_inputs_may_reach_into_the_repository_but_are_relative() {
        let build = |inputs: &str| {
            CMD.replace("command = [\"prog\"]", "command = [\"{build}\"]")
                + &format!("[build]\ncommand = [\"ghc\", \"-i../src\", \"../src/Main.hs\"]\ninputs = {inputs}\n")
        };
        let s = parse(
            Path::new("t.toml"),
            &build("[\"../src\", \"haskell/*.hs\"]"),
        )
        .expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        let inputs = &c.build.as_ref().expect("a build").inputs;
        assert_eq!(
            inputs,
            &[PathBuf::from("../src"), PathBuf::from("haskell/*.hs")]
        );
        check_err(
            &build("[\"/src/Main.hs\"]"),
            "t.toml:13:11: build input `/src/Main.hs` must be relative to the scenarios directory",
        );
    }

    #[test]
    fn a_cabal_build_names_one_target_and_no_inputs() {
        let cabal = CMD.replace(
            "command = [\"prog\"]",
            "command = [\"{build}\", \"-p\", \"Leaky\"]",
        ) + "[build]\ncabal = \"test:unittests\"\n";
        let s = parse(Path::new("t.toml"), &cabal).expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        let b = c.build.as_ref().expect("a build");
        assert_eq!(b.cabal, Some(CabalTarget("test:unittests".into())));
        assert!(b.command.is_empty() && b.inputs.is_empty());
        check_err(
            &(cabal.clone() + "command = [\"ghc\"]\n"),
            "t.toml:12:9: `[build]` has both `command` and `cabal`",
        );
        check_err(
            &(cabal.clone() + "inputs = [\"src/Counter.hs\"]\n"),
            "t.toml:13:11: `inputs` apply to `command` builds: a `cabal` build is never cached by membound",
        );
        check_err(
            &cabal.replace("\"test:unittests\"", "\"test:unit tests\""),
            "t.toml:12:9: `cabal = \"test:unit tests\"` is not a cabal target",
        );
        check_err(
            &cabal.replace("cabal = \"test:unittests\"\n", "timeout = \"1 min\"\n"),
            "`[build]` needs `command = [\"…\"]` or `cabal = \"TARGET\"`",
        );
    }

    #[test]
    fn growth_windows_with_too_few_samples_are_rejected_with_the_sampling_to_use() {
        // The reproduction: a leak sampled every 40,000 cycles over 100,000 was blessed as
        // "held (4 samples)". A growth fit needs MIN_GROWTH_SAMPLES.
        let leak = OK
            .replace("cycles = 20_000", "cycles = 100_000")
            .replace("sample_every = 1_000", "sample_every = 40_000")
            .replace("[0, 2_000]", "[0, 10_000]")
            .replace("[2_000, \"end\"]", "[0, \"end\"]")
            .replace("max_count = 5_000", "max_growth_per_kcycle = 0");
        check_err(&leak, "t.toml:15:25: invariant `cells bounded`: a growth bound needs at least 5 samples in its window, but cycles 0 to 100000 sampled every 40000 cycles hold 4 (hint: `sample_every = 25000` or less in `[run]`)");
        let metric = leak.replace("type = \"Signal<*>::Cons\"", "metric = \"live_bytes\"");
        check_err(&metric, "hold 4 (hint: `sample_every = 25000` or less");
        // The suggestion is enough: at 25,000 the window holds five samples.
        parse(Path::new("t.toml"), &leak.replace("40_000", "25_000")).expect("valid");
        // A window too short for any sampling says so.
        let short = leak
            .replace("sample_every = 40_000", "sample_every = 1")
            .replace("during = \"steady\"", "cycles = [10, 12]");
        check_err(
            &short,
            "hold 3 (hint: widen the window to at least 4 cycles",
        );
    }

    #[test]
    fn inputs_that_say_nothing_or_too_little_are_rejected() {
        check_err(
            &OK.replace("sample_every = 1_000", "sample_every = 30_000"),
            "t.toml:6:16: `sample_every` = 30000 is larger than `cycles` = 20000",
        );
        check_err(
            &OK.replace("max_count = 5_000", "min_count = 0"),
            "t.toml:15:13: `min_count = 0` always holds (hint: `min_count = 1`",
        );
        check_err(
            &OK.replace("max_count = 5_000", "max_count = 5_000\nexpect = \"holds\"\nexpect_site = \"x\""),
            "t.toml:17:15: `expect_type`, `expect_site` and `expect_retainer` name the culprit of a violation, but `expect = \"holds\"`",
        );
        check_err(
            &OK.replace("name = \"cells bounded\"", "name = \" \""),
            "t.toml:12:8: an invariant's `name` is empty",
        );
        check_err(
            &OK.replace("absolute = \"2 MiB\"", "absolute = -5"),
            "t.toml:17:45: a tolerance's `absolute` must be non-negative, found -5",
        );
        check_err(
            &OK.replace("max_count = 5_000", "max_growth_per_kcycle = -1"),
            "a growth bound must be non-negative",
        );
        check_err(
            &CMD.replace("= 24", "= 0"),
            "t.toml:6:25: closure size of `x` is 0",
        );
        check_err(
            &CMD.replace("\"clash-prelude\"", "\"clash-prelud\""),
            "t.toml:5:20: unknown tool `clash-prelud` in `requires`: a misspelt tool would skip the scenario forever (hint: one of clash-prelude, ",
        );
        let s = parse(Path::new("t.toml"), CMD).expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        assert_eq!(c.requires, ["ghc", "clash-prelude"]);
        assert!(c.requires.iter().all(|r| tool(r).is_some()));
    }

    /// A massif run's scenario with this invariant.
    fn massif(invariant: &str) -> String {
        format!("description = \"d\"\n[run]\ncommand = [\"prog\"]\nprofile = \"massif\"\nrequires = [\"valgrind\"]\n[phases]\nsteady = {{ snapshot = [10, \"end\"] }}\n[[invariant]]\nname = \"i\"\nduring = \"steady\"\n{invariant}\n")
    }

    /// An rss run's scenario with these `[run]` keys and this invariant.
    fn rss(run: &str, invariant: &str) -> String {
        format!("description = \"d\"\n[run]\ncommand = [\"prog\"]\nprofile = \"rss\"\n{run}\n[[invariant]]\nname = \"i\"\n{invariant}\n")
    }

    #[test]
    fn retainers_and_diagnosis_belong_to_ghc_programs() {
        check_err(
            &massif("type = \"f*\"\nmax_bytes = \"64 KiB\"\nretained_by = \"*g*\""),
            "`retained_by` is found by GHC's retainer profiler, which `profile = \"massif\"` does not have",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1\nexpect = \"violated\"\nexpect_retainer = \"g\""),
            "`expect_retainer` is found by GHC's retainer profiler",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1").replace("requires", "diagnose = false\nrequires"),
            "`diagnose` applies to GHC programs",
        );
    }

    #[test]
    fn massif_sites_are_bounded_in_bytes_never_in_counts() {
        let s = parse(
            Path::new("t.toml"),
            &massif("type = \"record_write*\"\nmax_growth_per_snapshot = \"1 KiB\""),
        )
        .expect("valid");
        assert_eq!(s.x_unit(), crate::XUnit::Snapshot);
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::TypeBytesGrowth {
                glob: "record_write*".into(),
                max: 1024.0
            }
        );
        let s = parse(
            Path::new("t.toml"),
            &massif("type = \"f*\"\nmax_bytes = \"64 KiB\""),
        )
        .expect("valid");
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::TypeBytesMax {
                glob: "f*".into(),
                max: 65536
            }
        );
        check_err(&massif("type = \"f*\"\nmax_count = 3"), "t.toml:12:13: `max_count` counts objects, and massif attributes bytes to allocation sites without counting them (hint: `max_bytes = \"1 MiB\"`");
        check_err(
            &massif("metric = \"heap\"\nmax_growth_per_census = 0"),
            "`max_growth_per_census` applies to GHC programs; use `max_growth_per_snapshot`",
        );
        check_err(
            &massif("metric = \"rss\"\nmax = 1"),
            "unknown invariant metric `rss` (hint: `heap` for this kind of run",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1").replace("snapshot = [10", "census = [10"),
            "`census` ranges apply to GHC programs; this run's timeline is indexed by `snapshot`",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1").replace("requires", "rts = [\"-i0\"]\nrequires"),
            "`rts` applies to GHC programs",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1")
                .replace("requires", "sample_interval = \"5ms\"\nrequires"),
            "`sample_interval` applies to `profile = \"rss\"`",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1")
                .replace("requires", "on_violation = \"pause\"\nrequires"),
            "`on_violation` does not apply to `profile = \"massif\"`",
        );
    }

    #[test]
    fn rss_runs_bound_the_resident_set_per_second_and_have_no_types() {
        let s = parse(
            Path::new("t.toml"),
            &rss(
                "sample_interval = \"20ms\"",
                "metric = \"rss\"\nmax_growth_per_second = \"1 MiB\"\nms = [500, \"end\"]",
            ),
        )
        .expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        assert_eq!(c.sample_interval, Duration::from_millis(20));
        assert_eq!(
            s.invariants[0].during,
            Window::Range(Endpoint::At(500), Endpoint::End)
        );
        let s = parse(
            Path::new("t.toml"),
            &rss("", "metric = \"rss\"\nmax = \"1 MiB\""),
        )
        .expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        assert_eq!(c.sample_interval, CommandRun::DEFAULT_SAMPLE_INTERVAL);
        check_err(
            &rss("", "type = \"x\"\nmax_bytes = 1"),
            "`profile = \"rss\"` samples the resident set only, with no types",
        );
        check_err(
            &rss("sample_interval = \"0ms\"", "metric = \"rss\"\nmax = 1"),
            "t.toml:5:19: `0ms` must be a positive duration",
        );
        check_err(
            &rss("sample_interval = \"0.5ms\"", "metric = \"rss\"\nmax = 1"),
            "below 1 ms",
        );
        check_err(
            &rss("", "metric = \"rss\"\nmax_growth_per_kcycle = 1"),
            "`max_growth_per_kcycle` applies to simulator runs; use `max_growth_per_second`",
        );
        check_err(
            &rss("", "metric = \"rss\"\nmax = 1\nmarkers = [\"a\", \"b\"]"),
            "unknown field `markers`",
        );
    }

    #[test]
    fn growth_bounds_take_byte_sizes_for_bytes_and_numbers_for_counts() {
        let bytes = OK
            .replace("type = \"Signal<*>::Cons\"", "metric = \"live_bytes\"")
            .replace("max_count = 5_000", "max_growth_per_kcycle = \"1 KiB\"");
        let s = parse(Path::new("t.toml"), &bytes).expect("valid");
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::LiveBytesGrowth(1024.0)
        );
        check_err(
            &OK.replace("max_count = 5_000", "max_growth_per_kcycle = \"1 KiB\""),
            "a type's growth is in objects, not bytes",
        );
        check_err(
            &bytes.replace("1 KiB", "1 parsec"),
            "unknown byte unit `parsec`",
        );
    }

    #[test]
    fn circuits_validate_their_parameters_at_load() {
        check_err(
            &OK.replace("slaves = 4,", "slaves = 4, corrupt_slave = 4,"),
            "t.toml:7:24: register_wb: parameter `corrupt_slave` = 4 must be below `slaves` = 4 (hint: a slave index from 0 to 3, or -1 for none)",
        );
        parse(
            Path::new("t.toml"),
            &OK.replace("slaves = 4,", "slaves = 4, corrupt_slave = 3,"),
        )
        .expect("valid");
        // Defaults take part: `slaves` defaults to 4.
        check_err(
            &OK.replace("slaves = 4,", "corrupt_slave = 7,"),
            "t.toml:7:12: register_wb: parameter `corrupt_slave` = 7 must be below `slaves` = 4",
        );
    }

    #[test]
    fn a_catalogue_of_ones_own() {
        use sim::circuits::{Circuit, CircuitSpec, CircuitStatus, ParamSpec, Params, SimError};
        struct Idle;
        impl Circuit for Idle {
            fn step(&mut self) {}
            fn status(&self) -> CircuitStatus {
                CircuitStatus::default()
            }
        }
        static DEPTH: [ParamSpec; 1] = [ParamSpec {
            name: "depth",
            kind: ParamKind::Int { min: 1, max: 64 },
            default: "2",
            doc: "fifo depth",
        }];
        fn build(_: &Params) -> Result<Box<dyn Circuit>, SimError> {
            Ok(Box::new(Idle))
        }
        fn validate(p: &Params) -> Result<(), String> {
            if p.int("depth").count_ones() != 1 {
                return Err(format!(
                    "`depth` = {} must be a power of two",
                    p.int("depth")
                ));
            }
            Ok(())
        }
        let catalog = Catalog::new(vec![CircuitSpec {
            name: "fifo",
            doc: "a fifo",
            params: &DEPTH,
            build,
            validate,
        }]);
        let text = "description = \"d\"\n[run]\nsimulator = \"fifo\"\ncycles = 100\nparams = { depth = 3 }\n";
        let err = super::parse(Path::new("f.toml"), text, &catalog).expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "f.toml:5:12: fifo: `depth` = 3 must be a power of two"
        );
        let s = super::parse(Path::new("f.toml"), &text.replace("= 3", "= 4"), &catalog)
            .expect("valid");
        assert_eq!(
            s.run,
            Run::Simulator(SimRun {
                circuit: "fifo".into(),
                params: [("depth".to_string(), ParamValue::Int(4))].into(),
                cycles: 100,
                sample_every: 100
            })
        );
        // This workspace's circuits are not in that catalogue.
        let err = super::parse(Path::new("t.toml"), OK, &catalog).expect_err("invalid");
        assert!(
            err.to_string()
                .contains("unknown circuit `register_wb` (hint: one of fifo)"),
            "{err}"
        );
    }

    #[test]
    fn samples_in_a_window() {
        // 0, 1000, ..., 10000: the probe samples cycle 0, every multiple, and the last cycle.
        assert_eq!(sim_samples_in(0, 10_000, 1_000, 10_000), 11);
        assert_eq!(sim_samples_in(3_000, 10_000, 1_000, 10_000), 8);
        assert_eq!(sim_samples_in(0, 100_000, 40_000, 100_000), 4);
        assert_eq!(sim_samples_in(100, 900, 1_000, 10_000), 0);
        assert_eq!(sim_samples_in(0, 10_500, 1_000, 10_500), 12);
        assert_eq!(suggest_sample_every(0, 100_000, 100_000), Some(25_000));
        assert_eq!(suggest_sample_every(10, 12, 100), None);
    }

    #[test]
    fn an_invariant_to_hold_beside_an_expected_violation_is_refused() {
        let both = OK.replace(
            "max_count = 5_000\n",
            "max_count = 5_000\nexpect = \"violated\"\n[[invariant]]\nname = \"late\"\ncycles = [\"50%\", \"end\"]\nmetric = \"live_bytes\"\nmax = 1\n",
        );
        check_err(&both, "t.toml:17:1: invariant `late` (from 50% of the run to the end) is expected to hold, but invariant `cells bounded` (phase \"steady\" (from cycle 2,000 to the end)) expects a violation");
        // Two expected violations are fine: each must happen.
        let two = both.replace("max = 1\n", "max = 1\nexpect = \"violated\"\n");
        assert!(parse(Path::new("scenarios/t.toml"), &two).is_ok());
    }

    #[test]
    fn windows_read_as_the_scenario_writes_them() {
        let s = parse(Path::new("scenarios/t.toml"), OK).expect("valid");
        let text = |w: &Window| s.window_text(w).to_string();
        assert_eq!(text(&Window::Always), "always");
        assert_eq!(
            text(&Window::Range(Endpoint::At(30_000), Endpoint::End)),
            "from cycle 30,000 to the end"
        );
        assert_eq!(
            text(&Window::Phase("init".into())),
            "phase \"init\" (from cycle 0 to cycle 2,000)"
        );
        assert_eq!(
            text(&Window::Range(
                Endpoint::Fraction(0.25),
                Endpoint::Marker("m".into())
            )),
            "from 25% of the run to marker \"m\""
        );
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
