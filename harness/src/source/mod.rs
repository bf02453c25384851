//! `run`: turns a `Scenario` into a `Timeline`, in a child process, under a budget.
//!
//! The only module that spawns processes. Simulator scenarios run in a probe child (the front
//! end's own binary with [`crate::source::probe::PROBE_ARG`]) that streams samples; invariants are
//! checked as each sample arrives and the child is stopped at the first violation. External
//! programs are built (cached by the hash of their inputs), run with the profiling options of
//! their profile kind, and their profile read afterwards. Every child runs in its own process
//! group, killed whole on timeout or when its RSS exceeds the budget; nothing is left behind.
//! The runner reports progress as events and never prints.

mod build;
mod command;
pub mod ghc;
pub mod probe;
mod sim;
mod supervise;

pub use build::build;
pub use supervise::own_peak_rss;

use crate::errors::RunError;
use crate::measure::invariant::Outcome;
use crate::scenario::{Run, Scenario};
use crate::Timeline;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where and how the runner works. Built once by the front end from its environment.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The executable that serves as probe child (the front end's own binary).
    pub probe_program: PathBuf,
    /// The scenarios directory (build inputs and commands are relative to it).
    pub scenarios_dir: PathBuf,
    /// The harness's scratch directory, e.g. `target/membound`: builds, profiles.
    pub work_dir: PathBuf,
}

/// Progress of a run, for reporters.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Building an external program.
    Building(String),
    /// A sample arrived at `x` of about `end`.
    Sample {
        /// Its position.
        x: u64,
        /// The run's expected end, when known.
        end: Option<u64>,
    },
    /// Another invocation holds this scenario's lock (this file); waiting for it.
    WaitingForLock(PathBuf),
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

/// Checks the tools a scenario requires. `Err` holds a reason with the install command.
pub fn check_requirements(scenario: &Scenario) -> Result<(), String> {
    let Run::Command(c) = &scenario.run else {
        return Ok(());
    };
    for req in &c.requires {
        // A requirement is a program on PATH (`ghc`) or, failing that, a GHC package.
        let found = which(req).is_some() || ghc_package_installed(req);
        if !found {
            return Err(format!(
                "`{req}` is not installed (hint: `sudo apt-get install -y ghc libghc-clash-prelude-dev` on Debian/Ubuntu)"
            ));
        }
    }
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn ghc_package_installed(pkg: &str) -> bool {
    Command::new("ghc-pkg")
        .args(["--simple-output", "field", pkg, "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
