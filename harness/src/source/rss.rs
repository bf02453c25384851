//! `profile = "rss"`: any program, its resident set sampled while it runs.
//!
//! Every `sample_interval` the resident set of the program and all its descendants (the
//! launcher's process tree, the launcher itself not counted) is summed from `/proc` into a
//! sample at x = milliseconds since the program was started. Invariants are checked on each
//! sample as it is taken, and the program is stopped (SIGINT, then SIGKILL) or paused at the
//! first violation, as GHC programs are; windows that depend on the run's length (`"50%"`) can
//! only be checked once it has ended, and are (see `docs/live.md`).
//!
//! A sample is the highest resident set since the previous one, not the instant's: the kernel
//! keeps each process's high-water mark (`VmHWM`), read with the resident set, so a spike
//! between two samples counts in the peak and in `max` checks (see [`HighWater`] for what it
//! can and cannot see). At exit the program's own mark (`ru_maxrss`, from the launcher's
//! `wait4`) becomes a last sample when it is above every sample.
//!
//! The figures are noisy by nature (page-granular, timing-dependent): the `rss.*` metrics have
//! the noisy default tolerances.

use super::launch::{failure, launcher_command, program_status, Prepared, LAUNCHER_FILE};
use super::live::end_at_violation;
use super::probe::LauncherReport;
use super::supervise::{rss_and_hwm, rss_over, tree_of, Root, Supervised};
use super::{judged, Censuses, Cut, Event, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::measure::invariant::Checker;
use crate::scenario::{CommandRun, Scenario};
use crate::spec::invariant::{Endpoint, Window};
use crate::spec::metric::{Total, RSS_PEAK};
use crate::timeline::{Sample, SampleSink, Timeline, XUnit};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Runs the program, sampling its resident set and checking it as it goes.
pub(crate) fn run_rss(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    program: &Prepared,
    on_event: &mut dyn FnMut(Event),
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let run_dir = program.run_dir.as_path();
    let argv = program.plain_argv(c, cfg);
    let cmd = launcher_command(cfg, run_dir, &argv);
    let start = Instant::now();
    let (mut sup, _child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Launcher)?;
    let mut tl = Timeline::new("rss", XUnit::Millis);
    tl.facts.insert(
        "sample_interval_ms".into(),
        c.sample_interval.as_millis().to_string(),
    );
    let stop = sample_until_exit(scenario, c, program, &mut sup, start, &mut tl, on_event);
    let exit = sup.wait();
    let (status, success) = program_status(run_dir, &exit);
    if stop.is_none() {
        add_exit_mark(run_dir, start, &mut tl);
    }
    if let Some(peak) = tl.samples.iter().map(|s| s.live_bytes).max() {
        tl.totals.insert(Total::metric(&RSS_PEAK), peak);
    }
    if stop.is_none() && (!success || exit.killed.is_some()) {
        return Err(failure(&argv[0], exit, status, tl));
    }
    let samples = Censuses::Memory(std::mem::take(&mut tl.samples));
    match stop {
        Some(x) => {
            let mut out = judged(scenario, tl, samples, Cut::No, sink)?;
            out.stopped_at = Some(out.stopped_at.unwrap_or(x));
            Ok(out)
        }
        None => judged(scenario, tl, samples, Cut::AtViolation, sink),
    }
}

/// Samples the program's resident set into `tl` every `sample_interval` until it exits, or
/// until a sample violates an invariant that can be checked live: then the program is stopped
/// or paused, and the sample's position returned.
fn sample_until_exit(
    scenario: &Scenario,
    c: &CommandRun,
    program: &Prepared,
    sup: &mut Supervised,
    start: Instant,
    tl: &mut Timeline,
    on_event: &mut dyn FnMut(Event),
) -> Option<u64> {
    let live_sc = live_scenario(scenario);
    let mut checker = Checker::new(&live_sc, u64::MAX, &[]);
    let mut stop = None;
    let mut tick = start;
    let mut marks = HighWater::default();
    let mut pending = 0;
    while !sup.has_exited() {
        let tree = tree_of(sup.pid());
        let (rss, processes) = rss_over(&tree, Root::Launcher);
        // A reading that makes no sample (the same millisecond as the last) keeps its peak
        // for the next one.
        pending = pending.max(marks.since_last(tree.get(1..).unwrap_or_default()));
        let elapsed = start.elapsed();
        let x = elapsed.as_millis() as u64;
        // Before the launcher has started the program, and after it has ended, there is no
        // process to measure: such a moment is not a sample of 0 bytes.
        if processes > 0 && rss > 0 && tl.samples.last().is_none_or(|l| l.x < x) {
            let sample = Sample {
                x,
                // The highest the kernel saw since the last sample: a spike between two
                // samples is not missed.
                live_bytes: rss.max(std::mem::take(&mut pending)),
                rss: Some(rss),
                time_ns: Some(elapsed.as_nanos() as u64),
                ..Default::default()
            };
            on_event(Event::Sample { x, end: None });
            tl.samples.push(sample);
            if let Some(last) = tl.samples.last() {
                if let Some(v) = checker.check(last) {
                    let text = v.explain(XUnit::Millis);
                    end_at_violation(sup, program.on_violation, text, on_event);
                    stop = Some(x);
                    break;
                }
            }
        }
        // A fixed rate, not a fixed pause: the time a sample takes does not stretch the interval.
        // The wait ends early when the program exits, so the verdict comes then, not at the
        // next tick (a 10 s interval on a 0.5 s program).
        tick += c.sample_interval;
        let now = Instant::now();
        if tick > now {
            sup.wait_exit_for(tick - now);
        } else {
            tick = now;
        }
    }
    stop
}

/// The program's own high-water mark, as the sample at its exit when it is above every
/// sample.
fn add_exit_mark(run_dir: &Path, start: Instant, tl: &mut Timeline) {
    // The program's own high-water mark, from the kernel when it was reaped (`ru_maxrss`,
    // which covers the children it waited for): what the samples missed of its peak (a
    // spike after the last sample, a child that lived and died between two) is not lost.
    let sampled = tl.samples.iter().map(|s| s.live_bytes).max();
    if let Some(r) = LauncherReport::read(&run_dir.join(LAUNCHER_FILE)) {
        if r.peak_rss > 0 && sampled.is_none_or(|s| r.peak_rss > s) {
            let elapsed = start.elapsed();
            let x = (elapsed.as_millis() as u64).max(tl.samples.last().map_or(0, |l| l.x + 1));
            tl.notes.push(format!(
                "the program's high-water mark at exit ({}) is above every sample: it is the sample at its exit, {x} ms",
                crate::units::fmt_bytes(r.peak_rss as f64)
            ));
            tl.samples.push(Sample {
                x,
                live_bytes: r.peak_rss,
                time_ns: Some(elapsed.as_nanos() as u64),
                ..Default::default()
            });
        }
    }
}

/// The kernel's high-water marks (`VmHWM`) of the program's processes, read at each sample:
/// a process whose mark rose since the last reading reached it in between, even if its
/// resident set is lower now.
#[derive(Debug, Default)]
struct HighWater {
    /// Each process's mark at the last reading.
    last: BTreeMap<i32, u64>,
}

impl HighWater {
    /// The highest resident set of `pids` since the last call, as far as their marks say:
    /// per process its new mark if it rose (or it is new), else its resident set now; summed
    /// over the processes. An upper bound when several processes peaked at different moments;
    /// blind to a process that started and ended between two readings (only the program's own
    /// mark at exit, which covers the children it waited for, sees that).
    fn since_last(&mut self, pids: &[i32]) -> u64 {
        let mut sum = 0;
        let mut seen = BTreeMap::new();
        for &pid in pids {
            let Some((rss, hwm)) = rss_and_hwm(pid) else {
                continue;
            };
            let rose = self.last.get(&pid).is_none_or(|&old| hwm > old);
            sum += if rose { hwm } else { rss };
            seen.insert(pid, hwm);
        }
        self.last = seen;
        sum
    }
}

/// The invariants that can be checked while the program runs: those whose window does not
/// depend on the run's length.
fn live_scenario(scenario: &Scenario) -> Scenario {
    let fraction = |e: &Endpoint| matches!(e, Endpoint::Fraction(_));
    let mut sc = scenario.clone();
    sc.invariants.retain(|inv| match &inv.during {
        Window::Always => true,
        Window::Range(a, b) => !fraction(a) && !fraction(b),
        Window::Phase(name) => scenario
            .phase(name)
            .is_some_and(|p| !fraction(&p.from) && !fraction(&p.to)),
    });
    sc
}
