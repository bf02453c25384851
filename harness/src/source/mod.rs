//! `run`: turns a `Scenario` into a `Timeline`, in a child process, under a budget.
//!
//! The only module that spawns processes. Simulator scenarios run in a probe child (the front
//! end's own binary with [`crate::source::probe::PROBE_ARG`]) that streams samples; invariants are
//! checked as each sample arrives and the child is stopped at the first violation. External
//! programs are built (cached by the hash of their inputs) under the same supervision, run
//! through a launcher with the profiling options of their profile kind, their `.hp` censuses
//! checked live as GHC flushes them (see `docs/live.md`), and their profile read afterwards.
//! Every child runs in its own process group, killed whole on timeout or when the RSS of its
//! process tree exceeds the budget; nothing is left behind, even when membound itself dies.
//! The runner reports progress as events and never prints.

mod build;
mod command;
mod diagnose;
pub mod ghc;
mod live;
pub mod massif;
pub mod probe;
mod requirements;
mod rss;
mod sim;
mod supervise;

pub use build::build;
pub use requirements::check_requirements;
pub use supervise::own_peak_rss;

use crate::errors::RunError;
use crate::measure::invariant::Outcome;
use crate::scenario::{OnViolation, Run, Scenario};
use crate::Timeline;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where and how the runner works. Built once by the front end from its environment.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The executable that serves as probe child (the front end's own binary).
    pub probe_program: PathBuf,
    /// The scenarios directory (build inputs and commands are relative to it).
    pub scenarios_dir: PathBuf,
    /// The harness's scratch directory, e.g. `target/membound`: builds, profiles.
    pub work_dir: PathBuf,
    /// Overrides every scenario's `on_violation` (the CLI's `--on-violation`).
    pub on_violation: Option<OnViolation>,
    /// Whether a run may pause at a violation and wait for a person: false under `CI=true`,
    /// where nobody would ever continue it.
    pub allow_pause: bool,
}

/// Progress of a run, for reporters.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Building an external program.
    Building(String),
    /// Attributing a GHC program's violation: rebuilding or rerunning it with profiling.
    Diagnosing(String),
    /// A sample arrived at `x` of about `end`.
    Sample {
        /// Its position.
        x: u64,
        /// The run's expected end, when known.
        end: Option<u64>,
    },
    /// Another invocation holds this scenario's lock (this file); waiting for it.
    WaitingForLock(PathBuf),
    /// An external program was paused (SIGSTOP) at its first violation and waits for a person:
    /// the run goes on when it is continued or ended.
    Paused {
        /// The violation, explained.
        violation: String,
        /// The program's pid (to attach a debugger to).
        pid: i32,
        /// Its process group (to continue or end it whole).
        pgid: i32,
    },
}

impl Event {
    /// What to tell a person about a pause: how to inspect, continue or end the program.
    pub fn pause_help(pid: i32, pgid: i32) -> String {
        format!(
            "inspect: gdb -p {pid}   (or: cat /proc/{pid}/status)\n\
             continue: kill -CONT -{pgid}   end: kill -KILL -{pgid}\n\
             membound waits until the program is continued or ended"
        )
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Every sample up to the end, or up to the first violation.
    pub timeline: Timeline,
    /// Each invariant's outcome.
    pub outcomes: Vec<(String, Outcome)>,
    /// Where the run was stopped by a violation.
    pub stopped_at: Option<u64>,
    /// Toolchain facts of the run (`ghc`), merged with the harness's own.
    pub toolchain: BTreeMap<String, String>,
}

/// Runs a scenario to its timeline, checking invariants on the way.
pub fn run(
    scenario: &Scenario,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunOutput, RunError> {
    match &scenario.run {
        Run::Simulator(s) => sim::run_sim(scenario, s, cfg, on_event),
        Run::Command(c) => command::run_command(scenario, c, cfg, on_event),
    }
}

