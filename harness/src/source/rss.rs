//! `profile = "rss"`: any program, its resident set sampled while it runs.
//!
//! Every `sample_interval` the resident set of the program and all its descendants (the
//! launcher's process tree, the launcher itself not counted) is summed from `/proc` into a
//! sample at x = milliseconds since the program was started. Invariants are checked on each
//! sample as it is taken, and the program is stopped (SIGINT, then SIGKILL) or paused at the
//! first violation, as GHC programs are; windows that depend on the run's length (`"50%"`) can
//! only be checked once it has ended, and are (see `docs/live.md`).
//!
//! The figures are noisy by nature (page-granular, timing-dependent): the `rss.*` metrics have
//! the noisy default tolerances.

use super::command::{failure, launcher_command, program_status};
use super::live::end_at_violation;
use super::supervise::{rss_over, tree_of, Root, Supervised};
use super::{judged, Censuses, Cut, Event, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::measure::invariant::Checker;
use crate::scenario::{CommandRun, Endpoint, OnViolation, Scenario, Window};
use crate::timeline::{Sample, SampleSink, Timeline, XUnit};
use std::path::Path;
use std::time::Instant;

#[allow(clippy::too_many_arguments)] // the run's context, passed down from run_command
pub(crate) fn run_rss(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    run_dir: &Path,
    argv: &[String],
    on_violation: OnViolation,
    on_event: &mut dyn FnMut(Event),
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let cmd = launcher_command(cfg, run_dir, argv);
    let start = Instant::now();
    let (mut sup, _child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Launcher)?;
    let live_sc = live_scenario(scenario);
    let mut checker = Checker::new(&live_sc, u64::MAX, &[]);
    let mut tl = Timeline::new("rss", XUnit::Millis);
    tl.facts.insert(
        "sample_interval_ms".into(),
        c.sample_interval.as_millis().to_string(),
    );
    let mut stop = None;
    let mut tick = start;
    while !sup.has_exited() {
        let (rss, processes) = rss_over(&tree_of(sup.pid()), Root::Launcher);
        let elapsed = start.elapsed();
        let x = elapsed.as_millis() as u64;
        // Before the launcher has started the program, and after it has ended, there is no
        // process to measure: such a moment is not a sample of 0 bytes.
        if processes > 0 && rss > 0 && tl.samples.last().is_none_or(|l| l.x < x) {
            let sample = Sample {
                x,
                live_bytes: rss,
                rss: Some(rss),
                time_ns: Some(elapsed.as_nanos() as u64),
                ..Default::default()
            };
            on_event(Event::Sample { x, end: None });
            tl.samples.push(sample);
            if let Some(last) = tl.samples.last() {
                if let Some(v) = checker.check(last) {
                    let text = v.explain(XUnit::Millis);
                    end_at_violation(&mut sup, on_violation, text, on_event);
                    stop = Some(x);
                    break;
                }
            }
        }
        // A fixed rate, not a fixed pause: the time a sample takes does not stretch the interval.
        tick += c.sample_interval;
        let now = Instant::now();
        if tick > now {
            std::thread::sleep(tick - now);
        } else {
            tick = now;
        }
    }
    let exit = sup.wait();
    let (status, success) = program_status(run_dir, &exit);
    if let Some(peak) = tl.samples.iter().map(|s| s.live_bytes).max() {
        tl.totals.insert("rss.peak".into(), peak);
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
