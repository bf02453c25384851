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
//!
//! [`run`] is the one dispatch over the kinds of run: the simulator (`sim`), or an external
//! program prepared by `launch` and run by `command` (GHC programs), `rss` or `massif`, which
//! share `launch` and import none of each other.

mod build;
mod cabal;
mod command;
mod diagnose;
pub mod ghc;
mod inputs;
mod launch;
mod live;
pub mod massif;
pub mod probe;
mod requirements;
mod rss;
mod sim;
mod supervise;

pub use build::build;
pub use command::closure_type_profile;
pub use requirements::check_requirements;
pub use supervise::own_peak_rss;

use crate::errors::RunError;
use crate::measure::invariant::{name_callers, Checker, Outcome};
use crate::scenario::{OnViolation, ProfileKind, Run, Scenario};
use crate::timeline::{Sample, SampleSink};
use crate::Timeline;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
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

/// What a run produced. Its samples are not here: they went to the run's [`SampleSink`], every
/// sample up to the end or up to the first violation, as they were read.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The run's profile without its samples: marks, totals, facts, notes.
    pub profile: Timeline,
    /// How many samples the sink was given.
    pub samples: usize,
    /// Each invariant's outcome.
    pub outcomes: Vec<(String, Outcome)>,
    /// Where the run was stopped by a violation.
    pub stopped_at: Option<u64>,
    /// Toolchain facts of the run (`ghc`), merged with the harness's own.
    pub toolchain: BTreeMap<String, String>,
}

/// Runs a scenario, checking invariants on the way, and streams its samples into `sink`.
/// On a failed run the samples so far are in the error's timeline instead.
pub fn run(
    scenario: &Scenario,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let c = match &scenario.run {
        Run::Simulator(s) => return sim::run_sim(scenario, s, cfg, on_event, sink),
        Run::Command(c) => c,
    };
    let program = launch::Prepared::new(scenario, c, cfg, on_event)?;
    match c.profile {
        ProfileKind::GhcEventlog | ProfileKind::GhcHp => {
            command::run_command(scenario, c, cfg, &program, on_event, sink)
        }
        ProfileKind::Rss => rss::run_rss(scenario, c, cfg, &program, on_event, sink),
        ProfileKind::Massif => massif::run_massif(
            scenario,
            cfg,
            &program.run_dir,
            &program.plain_argv(c, cfg),
            sink,
        ),
    }
}

/// A run's samples, to be passed over without being held all at once: a timeline's samples in
/// memory, or the censuses a GHC program's live watch read, read again from its `.hp` file.
pub(crate) enum Censuses<'l, 's> {
    /// In memory.
    Memory(Vec<Sample>),
    /// The first `last + 1` censuses the watch read.
    Watched {
        /// The watch.
        live: &'l live::Live<'s>,
        /// The index of the last census.
        last: u64,
    },
}

impl Censuses<'_, '_> {
    /// The position of the last sample.
    fn last_x(&self) -> Option<u64> {
        match self {
            Censuses::Memory(v) => v.last().map(|s| s.x),
            Censuses::Watched { last, .. } => Some(*last),
        }
    }

    /// Calls `f` on the samples in order until it breaks. Returns the notes of counting them
    /// again (GHC censuses only).
    fn pass(&self, f: &mut dyn FnMut(&Sample) -> ControlFlow<()>) -> Result<Vec<String>, RunError> {
        match self {
            Censuses::Memory(v) => {
                for s in v {
                    if f(s).is_break() {
                        break;
                    }
                }
                Ok(Vec::new())
            }
            Censuses::Watched { live, last } => live.replay(*last, f),
        }
    }

    /// The samples as a timeline in memory, for a failed run's figures so far.
    fn into_timeline(self, mut header: Timeline) -> Result<Timeline, RunError> {
        match self {
            Censuses::Memory(v) => header.samples = v,
            Censuses::Watched { .. } => {
                let mut samples = Vec::new();
                let notes = self.pass(&mut |s| {
                    samples.push(s.clone());
                    ControlFlow::Continue(())
                })?;
                header.samples = samples;
                header.notes.extend(notes);
            }
        }
        Ok(header)
    }
}

/// Whether a violation found after the run cuts its samples there (a run that ended by
/// itself: the same view a live run would have had) or not (a run already stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    AtViolation,
    No,
}

/// Checks `censuses` against `check` (stopping at the first violation) and streams them into
/// `sink` in the same pass, up to that violation for a run cut there: the output of a run
/// whose samples are judged after it ended.
fn judged(
    check: &Scenario,
    mut profile: Timeline,
    censuses: Censuses<'_, '_>,
    cut: Cut,
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let end = crate::measure::metrics::run_end(check, censuses.last_x());
    let mut checker = Checker::new(check, end, &profile.marks);
    sink.begin(profile.x_unit);
    let mut violation = None;
    let mut given = 0;
    let notes = censuses.pass(&mut |s| {
        sink.sample(s);
        given += 1;
        if violation.is_none() && checker.check(s).is_some() {
            violation = Some(s.x);
            if cut == Cut::AtViolation {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    profile.notes.extend(notes);
    let mut outcomes = checker.outcomes();
    name_callers(&mut outcomes, &profile.callers);
    Ok(RunOutput {
        toolchain: launch::toolchain(&profile),
        profile,
        samples: given,
        outcomes,
        stopped_at: violation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::TypeSample;
    use crate::XUnit;
    use std::path::Path;

    /// Records what a run streamed into it: the samples' positions, each pass (from a
    /// `begin`) apart.
    #[derive(Default)]
    struct Recorder {
        passes: Vec<Vec<u64>>,
    }

    impl SampleSink for Recorder {
        fn begin(&mut self, _: XUnit) {
            self.passes.push(Vec::new());
        }
        fn sample(&mut self, s: &Sample) {
            if let Some(pass) = self.passes.last_mut() {
                pass.push(s.x);
            }
        }
    }

    /// Scenario in (a command run with one residency bound), censuses with these residencies
    /// in, what the sink was given and where the run stopped out.
    fn check(residency: &[u64], cut: Cut) -> (Recorder, Option<u64>, usize) {
        let toml = "description = \"t\"\n[run]\ncommand = [\"p\"]\nprofile = \"ghc-hp\"\n\n[[invariant]]\nname = \"bounded\"\nmetric = \"heap\"\nmax = \"100 B\"\n";
        let s = crate::scenario::parse(Path::new("t.toml"), toml, &::sim::circuits::catalog())
            .unwrap_or_else(|e| panic!("scenario should be valid: {e}"));
        let samples = residency
            .iter()
            .enumerate()
            .map(|(x, b)| Sample {
                x: x as u64,
                live_bytes: *b,
                types: [(
                    "T".into(),
                    TypeSample {
                        count: 1,
                        bytes: *b,
                        ..Default::default()
                    },
                )]
                .into(),
                ..Sample::default()
            })
            .collect();
        let mut sink = Recorder::default();
        let out = judged(
            &s,
            Timeline::new("test", XUnit::Census),
            Censuses::Memory(samples),
            cut,
            &mut sink,
        )
        .unwrap_or_else(|e| panic!("judged: {e}"));
        (sink, out.stopped_at, out.samples)
    }

    #[test]
    fn a_run_cut_at_a_violation_found_after_it_is_streamed_up_to_it() {
        let (sink, stopped, n) = check(&[10, 20, 200, 30, 40], Cut::AtViolation);
        assert_eq!((stopped, n), (Some(2), 3));
        assert_eq!(sink.passes, [vec![0, 1, 2]]);
    }

    #[test]
    fn a_stopped_run_streams_every_census_once_and_a_passing_one_too() {
        let (sink, stopped, n) = check(&[10, 200, 30], Cut::No);
        assert_eq!((stopped, n), (Some(1), 3));
        assert_eq!(sink.passes, [vec![0, 1, 2]]);
        let (sink, stopped, n) = check(&[10, 20, 30], Cut::AtViolation);
        assert_eq!((stopped, n), (None, 3));
        assert_eq!(sink.passes, [vec![0, 1, 2]]);
    }
}
