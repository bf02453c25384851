//! GHC programs: run through the launcher with their profile kind's RTS options, their `.hp`
//! censuses checked live as GHC flushes them (see [`super::live`]), and their profile read into
//! a `Timeline` once they have ended; their first violation attributed by [`super::diagnose`].
//! Programs profiled by their resident set or under valgrind massif are [`super::rss`]'s and
//! [`super::massif`]'s.

use super::launch::{
    failure, launcher_command, program_status, toolchain, Prepared, LAUNCHER_FILE, MARKS_ENV,
    MARKS_FILE,
};
use super::live::{marker_windows, Live, Stop};
use super::probe::LauncherReport;
use super::supervise::{Exit, Root, Supervised};
use super::{judged, Censuses, Cut, Event, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::measure::invariant::Outcome;
use crate::scenario::{CommandRun, ProfileKind, Scenario};
use crate::spec::metric::Total;
use crate::timeline::SampleSink;
use crate::{Timeline, XUnit};
use std::path::{Path, PathBuf};

/// Where an external program writes its eventlog, relative to its run directory.
const EVENTLOG_FILE: &str = "profile.eventlog";
/// Where it writes `+RTS -t --machine-readable` statistics.
const STATS_FILE: &str = "rts.stats";

/// The options that make GHC's censuses deterministic: a census at every major GC (`-i0`)
/// with a fixed small allocation area, as GHC's own testsuite does for residency tests, and no
/// RTS tick timer (`-V0`), whose timer-driven context switches moved census totals by a few
/// bytes from run to run.
const EXACT_RTS: &[&str] = &["-hT", "-i0", "-A256k", "-V0"];

/// Runs a GHC program (`profile = "ghc-eventlog"` or `"ghc-hp"`) through the launcher, its
/// censuses checked live, and judges its profile once it has ended.
pub(crate) fn run_command(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    program: &Prepared,
    on_event: &mut dyn FnMut(Event),
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let run_dir = program.run_dir.as_path();
    let argv = program_argv(c, program, cfg);
    let mut cmd = launcher_command(cfg, run_dir, &argv);
    // Relative to the run directory (the program's cwd): what the program allocates for
    // the path must not depend on where the checkout lives, or exact figures would.
    cmd.env(MARKS_ENV, MARKS_FILE);
    let (mut sup, _child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Launcher)?;
    // `retained_by` invariants are checked on a retainer profile afterwards, not on these
    // censuses (which do not know retainers).
    let plain = without_retained_by(scenario);
    let mut live = Live::new(&plain, c, run_dir);
    let stop = live.follow(&mut sup, program.on_violation, on_event, sink);
    let exit = sup.wait();
    let (status, success) = program_status(run_dir, &exit);
    let profile = if success && stop.is_none() && exit.killed.is_none() {
        Profile::Whole
    } else if success || stop.is_some() {
        Profile::Required
    } else {
        Profile::IfAny
    };
    refuse_unfaithful_hp(run_dir, &live, profile)?;
    let (mut tl, censuses) = final_timeline(c, run_dir, &live, profile, stop.as_ref())?;
    refuse_unjudgeable(scenario, c, run_dir, &tl, &censuses, profile)?;
    add_run_figures(c, run_dir, &exit, &mut tl);
    let mut out = match stop {
        Some(stop) => stopped_output(&plain, c, tl, censuses, &stop, sink)?,
        None if !success || exit.killed.is_some() => {
            return Err(failed(c, &argv[0], exit, status, tl, censuses))
        }
        None => finished_output(&plain, tl, censuses, &live, sink)?,
    };
    if c.diagnose {
        attribute_first_violation(&plain, c, cfg, &mut out, on_event);
    }
    for inv in scenario
        .invariants
        .iter()
        .filter(|i| i.retained_by.is_some())
    {
        let o = super::diagnose::retained_by(scenario, c, cfg, inv, out.stopped_at, on_event);
        out.outcomes.push((inv.name.clone(), o));
    }
    Ok(out)
}

/// Refuses a `.hp` the live watch cannot stand by: closure sizes it declared that divide no
/// row, or, from a program that ended by itself, a file cut mid-sample.
fn refuse_unfaithful_hp(run_dir: &Path, live: &Live<'_>, profile: Profile) -> Result<(), RunError> {
    // A program that failed is reported as such: its failure is more fundamental than the
    // counts of its censuses.
    if let Some(e) = live
        .declared_mismatch()
        .filter(|_| profile != Profile::IfAny)
    {
        return Err(RunError::Profile {
            path: live_hp_path(run_dir, live),
            message: e.to_string(),
        });
    }
    if profile == Profile::Whole {
        // The program ended by itself: the RTS wrote its `.hp` out whole. A file that stops
        // mid-sample holds less than the run, and what the watch checked of it is not the run.
        if let Some((path, at)) = live.hp_cut() {
            return Err(RunError::Profile {
                message: crate::source::ghc::incomplete(at),
                path,
            });
        }
    }
    Ok(())
}

/// Refuses a profile whose figures would mislead: a census whose closure sizes divide no row,
/// or type invariants on a profile that is not of closure types.
fn refuse_unjudgeable(
    scenario: &Scenario,
    c: &CommandRun,
    run_dir: &Path,
    tl: &Timeline,
    censuses: &Censuses<'_, '_>,
    profile: Profile,
) -> Result<(), RunError> {
    if let (Censuses::Memory(samples), false) = (censuses, profile == Profile::IfAny) {
        let opts = crate::source::ghc::ReadOptions {
            closure_sizes: c.closure_sizes.clone(),
        };
        if let Some(e) = samples.iter().find_map(|s| opts.check_sample(s).err()) {
            return Err(RunError::Profile {
                path: run_dir.to_owned(),
                message: e.to_string(),
            });
        }
    }
    closure_type_profile(scenario, tl).map_err(|message| RunError::Profile {
        path: run_dir.to_owned(),
        message,
    })
}

/// Adds what the launcher and the RTS measured besides the censuses: the peak RSS, the `-t`
/// statistics, and whether the scenario's own RTS options made the figures inexact.
fn add_run_figures(c: &CommandRun, run_dir: &Path, exit: &Exit, tl: &mut Timeline) {
    tl.totals.insert(
        Total::metric(&crate::spec::metric::RSS_PEAK),
        LauncherReport::read(&run_dir.join(LAUNCHER_FILE)).map_or(exit.peak_rss_polled, |r| {
            r.peak_rss.max(exit.peak_rss_polled)
        }),
    );
    if let Ok(text) = std::fs::read_to_string(run_dir.join(STATS_FILE)) {
        if let Ok(st) = crate::source::ghc::rts_stats::RtsStats::parse(&text) {
            st.merge_into(tl);
        }
    }
    if !c.rts.is_empty() {
        // Not the exact-census defaults: a sparser census or other RTS options make the
        // figures approximate, to be compared under tolerances.
        tl.facts.insert("exact".into(), "false".into());
        tl.facts.insert("rts".into(), c.rts.join(" "));
    }
}

/// A program that failed (not stopped by membound): an RTS that refused membound's options,
/// with the line that fixes the build, or the failure with its figures so far.
fn failed(
    c: &CommandRun,
    program: &str,
    exit: Exit,
    status: String,
    tl: Timeline,
    censuses: Censuses<'_, '_>,
) -> RunError {
    if let (Some(problem), None) = (
        super::cabal::LinkProblem::detect(&exit.stderr),
        &exit.killed,
    ) {
        return RunError::NotLinkedForProfiling {
            program: program.to_owned(),
            flag: problem.flag(),
            fix: super::cabal::link_fix(c.build.as_ref()),
            stderr_tail: exit.stderr,
        };
    }
    match censuses.into_timeline(tl) {
        Ok(tl) => failure(program, exit, status, tl),
        Err(e) => e,
    }
}

/// A run that ended by itself: its censuses judged, or, when the live watch already judged
/// every one of them under the final markers, its outcomes as they are.
fn finished_output(
    scenario: &Scenario,
    mut tl: Timeline,
    censuses: Censuses<'_, '_>,
    live: &Live<'_>,
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    match (&censuses, live.outcomes()) {
        // The sink has every census already and each invariant its outcome over all of
        // them, under the markers the final timeline has: nothing to read again.
        (Censuses::Watched { .. }, Some(outcomes))
            if tl.marks == live.marks().unwrap_or_default() =>
        {
            let sizes = live.sizes();
            sink.recount(&|label| sizes.get(label).copied().unwrap_or(0));
            tl.notes.extend(live.count_notes());
            Ok(RunOutput {
                toolchain: toolchain(&tl),
                samples: live.census_count(),
                outcomes: outcomes.to_vec(),
                stopped_at: None,
                profile: tl,
            })
        }
        _ => judged(scenario, tl, censuses, Cut::AtViolation, sink),
    }
}

fn without_retained_by(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    s.invariants.retain(|i| i.retained_by.is_none());
    s
}

/// Adds to the run's first violation what a profiled rerun finds retaining the growth (one
/// rerun serves the run: it stopped at its first violation).
fn attribute_first_violation(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    out: &mut RunOutput,
    on_event: &mut dyn FnMut(Event),
) {
    let RunOutput {
        outcomes, profile, ..
    } = out;
    let first = outcomes
        .iter_mut()
        .filter_map(|(_, o)| match o {
            Outcome::Violated(v) => Some(v),
            _ => None,
        })
        .min_by_key(|v| v.x);
    if let Some(v) = first {
        let attribution = super::diagnose::diagnose(scenario, c, cfg, v, &profile.marks, on_event);
        v.attribution = Some(Box::new(attribution));
    }
}

/// The program, its arguments with `{build}` substituted, and the RTS options of its profile
/// kind followed by the scenario's own.
fn program_argv(c: &CommandRun, program: &Prepared, cfg: &RunConfig) -> Vec<String> {
    let mut argv = program.plain_argv(c, cfg);
    argv.push("+RTS".into());
    argv.extend(EXACT_RTS.iter().map(|s| (*s).to_owned()));
    if c.profile == ProfileKind::GhcEventlog {
        // Relative to the run directory (the child's cwd): the program's own view of its
        // arguments must not depend on where the checkout lives.
        argv.extend(["-l".to_owned(), format!("-ol{EVENTLOG_FILE}")]);
    }
    argv.extend([format!("-t{STATS_FILE}"), "--machine-readable".into()]);
    // Last, so that a scenario's `-i0.05` overrides the default `-i0`.
    argv.extend(c.rts.iter().cloned());
    argv.push("-RTS".into());
    argv
}

/// The `.hp` file the live watch read, or the run directory when it found none.
fn live_hp_path(run_dir: &Path, live: &Live<'_>) -> PathBuf {
    live.hp_cut()
        .map(|(p, _)| p)
        .or_else(|| {
            super::live::files_with_extension(run_dir, "hp")
                .into_iter()
                .next()
        })
        .unwrap_or_else(|| run_dir.to_owned())
}

/// Whether the profile's rows are what the scenario's invariants are about: type invariants
/// (`type = "…"`, `absent = true` included) are about closure types, so they need a `-hT`
/// profile; on a cost-centre or retainer profile no type label ever appears, and every such
/// invariant would hold. Which breakdown a profile has is told by its reader
/// ([`HeapBreakdown::of`](crate::source::ghc::HeapBreakdown::of)); one that does not say is
/// taken as it is (membound runs GHC programs with `-hT`).
pub fn closure_type_profile(scenario: &Scenario, tl: &Timeline) -> Result<(), String> {
    use crate::source::ghc::HeapBreakdown;
    use crate::spec::invariant::Predicate;
    let Some(found) = HeapBreakdown::of(tl) else {
        return Ok(());
    };
    if found == HeapBreakdown::ClosureType {
        return Ok(());
    }
    let typed: Vec<String> = scenario
        .invariants
        .iter()
        .filter(|i| {
            i.retained_by.is_none()
                && matches!(
                    i.predicate,
                    Predicate::TypeAbsent(_)
                        | Predicate::TypeCount { .. }
                        | Predicate::TypeGrowth { .. }
                        | Predicate::TypeBytesMax { .. }
                        | Predicate::TypeBytesGrowth { .. }
                )
        })
        .map(|i| format!("`{}`", i.name))
        .collect();
    if typed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the profile is a {} profile (`{}`), whose rows are not closure types, but invariant(s) {} are about closure types (`type = \"…\"`): checked on it they would hold whatever the heap held (hint: type invariants need a closure-type profile, `+RTS -hT`; remove the `{}` from the scenario's `rts` or the program's options)",
        found.name(),
        found.flag(),
        typed.join(", "),
        found.flag(),
    ))
}

/// Whether a run must have left a readable profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// It exited with status 0 by itself: its profile must be whole, every record of it.
    Whole,
    /// It exited normally or was stopped with SIGINT: an unreadable profile is an error.
    Required,
    /// It failed: whatever it left is the timeline so far.
    IfAny,
}

/// The profile of a GHC program whose censuses the live watch read from its `.hp`: what only
/// the eventlog has (facts, totals, notes, `traceMarkerIO` markers) from a pass over it that
/// skips the census rows, and the censuses to be read again from the `.hp`. Reading the whole
/// eventlog again was most of the watch's cost after the run, and holding its censuses most of
/// membound's memory. Only when the eventlog is whole and holds the censuses the watch read
/// (all of them, or, for a run stopped at a violation, at least those up to it): then the two
/// are the same censuses, GHC writing both from one.
fn watched_profile<'l, 's>(
    c: &CommandRun,
    eventlog: &Path,
    live: &'l Live<'s>,
    stop: Option<&Stop>,
) -> Option<(Timeline, Censuses<'l, 's>)> {
    let watched = live.census_count() as u64;
    if c.profile != ProfileKind::GhcEventlog || watched == 0 {
        return None;
    }
    let file = std::fs::File::open(eventlog).ok()?;
    let (meta, in_log) =
        crate::source::ghc::eventlog::read_eventlog_meta(std::io::BufReader::new(file)).ok()?;
    let last = match stop {
        Some(stop) => stop.census,
        None => watched - 1,
    };
    let agrees = match stop {
        Some(_) => in_log > last,
        None => in_log == watched,
    };
    if meta.truncated || !agrees || last >= watched {
        return None;
    }
    let mut tl = Timeline::new(meta.source, XUnit::Census);
    tl.facts = meta.facts;
    tl.totals = meta.totals;
    tl.notes = meta.notes;
    tl.marks = live.marks().unwrap_or(meta.marks);
    Some((tl, Censuses::Watched { live, last }))
}

/// The run's profile: the eventlog (or `.hp`) GHC wrote, or, for a program killed before it
/// wrote out its eventlog, the censuses the watcher read from the `.hp` as they were flushed.
fn final_timeline<'l, 's>(
    c: &CommandRun,
    run_dir: &Path,
    live: &'l Live<'s>,
    profile: Profile,
    stop: Option<&Stop>,
) -> Result<(Timeline, Censuses<'l, 's>), RunError> {
    let profile_path = profile_path(c, run_dir)?;
    if let Some(watched) = watched_profile(c, &profile_path, live, stop) {
        return Ok(watched);
    }
    let watched = live.census_count();
    let mut tl = read_ghc_profile(c, profile_path, profile, watched)?;
    if tl.samples.len() < watched {
        // GHC 9.0 buffers its eventlog (no flush interval before 9.2), so a killed program's
        // log may hold only its header; the censuses the watcher read are the timeline so far.
        let in_log = tl.samples.len();
        let mut from_hp = Censuses::Watched {
            live,
            last: watched as u64 - 1,
        }
        .into_timeline(Timeline::new("ghc-hp", XUnit::Census))?;
        from_hp.marks = live.marks().unwrap_or_default();
        from_hp.facts.extend(std::mem::take(&mut tl.facts));
        from_hp.notes.push(format!(
            "the profile holds {in_log} of the {watched} censuses the watcher read from the .hp file GHC wrote beside it: the timeline is the .hp's"
        ));
        tl = from_hp;
    }
    if let Some(marks) = live.marks() {
        // `Membound.marker` records each marker at the census it precedes, exactly; the
        // eventlog's copy (traceMarkerIO) could land one census off.
        tl.marks = marks;
    }
    let samples = std::mem::take(&mut tl.samples);
    Ok((tl, Censuses::Memory(samples)))
}

/// The profile GHC was asked to write: the eventlog, or the one `.hp` in the run directory
/// (several are refused: which is the program's is not known).
fn profile_path(c: &CommandRun, run_dir: &Path) -> Result<PathBuf, RunError> {
    let hps = super::live::files_with_extension(run_dir, "hp");
    if hps.len() > 1 {
        let list: Vec<String> = hps.iter().map(|p| p.display().to_string()).collect();
        return Err(RunError::Profile {
            path: run_dir.to_owned(),
            message: format!(
                "the run directory holds {} .hp files, {}: which one is the program's heap profile is not known, and none is read (hint: a program that starts other GHC programs leaves one per program; profile the one the scenario is about, e.g. run it directly, or give the others `+RTS -h` off)",
                hps.len(),
                list.join(", ")
            ),
        });
    }
    match c.profile {
        ProfileKind::GhcEventlog => Ok(run_dir.join(EVENTLOG_FILE)),
        ProfileKind::GhcHp => Ok(hps
            .into_iter()
            .next()
            .unwrap_or_else(|| run_dir.join("profile.hp"))),
        // Dispatched to their own runners before the program runs.
        ProfileKind::Rss | ProfileKind::Massif => Err(RunError::Profile {
            path: run_dir.to_owned(),
            message: "not a GHC profile kind".into(),
        }),
    }
}

/// The profile at `path` read whole, or, from a program stopped or killed, what it holds of
/// whole records; an unreadable one is the error it is when the run must have left one.
fn read_ghc_profile(
    c: &CommandRun,
    profile_path: PathBuf,
    profile: Profile,
    watched: usize,
) -> Result<Timeline, RunError> {
    let opts = crate::source::ghc::ReadOptions {
        closure_sizes: c.closure_sizes.clone(),
    };
    let read = if profile == Profile::Whole {
        crate::source::ghc::read_profile(&profile_path, &opts)
    } else {
        // A program stopped or killed may have been caught mid-write: its whole records are
        // the timeline so far.
        crate::source::ghc::read_partial_profile(&profile_path, &opts).map(|(tl, _)| tl)
    };
    match read {
        Ok(tl) => Ok(tl),
        Err(crate::source::ghc::ProfileError::Incomplete { at, .. }) => {
            Err(RunError::Profile {
                path: profile_path,
                message: crate::source::ghc::incomplete(at),
            })
        }
        Err(crate::source::ghc::ProfileError::ClosureSize { source, .. }) => {
            Err(RunError::Profile {
                path: profile_path,
                message: source.to_string(),
            })
        }
        Err(_) if profile != Profile::IfAny && !profile_path.exists() => {
            Err(RunError::Profile {
                message: format!("the program wrote no {} (hint: `profile = \"{}\"` is for GHC programs built with `-rtsopts`{}; any other program can be watched with `profile = \"rss\"`, and a C/C++ program's heap with `profile = \"massif\"`)",
                    if c.profile == ProfileKind::GhcEventlog { "eventlog" } else { ".hp heap profile" },
                    if c.profile == ProfileKind::GhcEventlog { "ghc-eventlog" } else { "ghc-hp" },
                    if c.profile == ProfileKind::GhcEventlog { " and `-eventlog`" } else { "" }),
                path: profile_path,
            })
        }
        Err(e) if profile != Profile::IfAny && watched == 0 => {
            Err(RunError::Profile {
                path: profile_path,
                message: e.to_string(),
            })
        }
        Err(_) => Ok(Timeline::new("ghc", XUnit::Census)),
    }
}

/// A run stopped at its first violation: the outcomes of its censuses up to it.
fn stopped_output(
    scenario: &Scenario,
    c: &CommandRun,
    mut tl: Timeline,
    censuses: Censuses<'_, '_>,
    stop: &Stop,
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    // Everything after the violating census depends on how far the program got before the
    // signal reached it: censuses, markers written after that census, and closure sizes
    // inferred from byte totals that include later censuses. None of it may reach a figure.
    // (Censuses read again from the `.hp` end at the stop already, and are counted by the
    // sizes the watch learnt up to it.)
    tl.marks.retain(|m| m.x <= stop.census);
    let censuses = match censuses {
        Censuses::Memory(samples) => {
            tl.samples = samples;
            tl.samples.retain(|s| s.x <= stop.census);
            tl.notes.retain(|n| !n.starts_with("closure size"));
            let opts = crate::source::ghc::ReadOptions {
                closure_sizes: c.closure_sizes.clone(),
            };
            crate::source::ghc::assign_counts(&mut tl, &opts);
            Censuses::Memory(std::mem::take(&mut tl.samples))
        }
        watched => watched,
    };
    // The RTS's own totals (eventlog, `-t` statistics) run to wherever the signal caught the
    // program, past the violating census and differently each time: they would be neither the
    // timeline's figures nor repeatable.
    tl.totals.retain(|k, _| !k.from_rts());
    tl.facts
        .insert("stopped_at_census".into(), stop.census.to_string());
    // The run ended before its later markers (`end`): their windows are open, as they were
    // live, rather than unresolved.
    let check = marker_windows(scenario, &tl.marks);
    let mut out = judged(&check, tl, censuses, Cut::No, sink)?;
    // The live check found a violation at `stop.census`; the whole check over the same
    // censuses finds it there or earlier (an invariant not checkable live), unless a marker
    // came late and moved a window from under it: then the program was stopped for nothing
    // the run can stand by, and the run is incomplete, which must not pass.
    if !out
        .outcomes
        .iter()
        .any(|(_, o)| matches!(o, Outcome::Violated(_)))
    {
        return Err(RunError::UnconfirmedStop {
            scenario: scenario.name.clone(),
            census: stop.census,
        });
    }
    out.stopped_at = Some(out.stopped_at.unwrap_or(stop.census));
    Ok(out)
}
