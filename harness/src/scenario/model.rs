//! What a valid scenario is: the run, its build, budget, phases, invariants and tolerances, as
//! the validator leaves them. Types only, with the small questions a reader asks of them.

use crate::spec::invariant::{Endpoint, Invariant, Phase, Plan, Tolerance, Window};
use sim::circuits::ParamValue;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

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

impl<'a> From<&'a Scenario> for Plan<'a> {
    fn from(s: &'a Scenario) -> Plan<'a> {
        Plan {
            x_unit: s.x_unit(),
            phases: &s.phases,
            invariants: &s.invariants,
            known_end: match &s.run {
                Run::Simulator(sim) => Some(sim.cycles),
                Run::Command(_) => None,
            },
        }
    }
}
