//! External programs: built, run through the launcher with their profile kind's RTS options,
//! their `.hp` censuses checked live as GHC flushes them (see [`super::live`]), and their
//! profile read into a `Timeline` once they have ended. Programs profiled by their resident
//! set or under valgrind massif are handed to [`super::rss`] and [`super::massif`] once built.

use super::build::build;
use super::live::{marker_windows, Live, Stop};
use super::probe::{self, LauncherReport};
use super::supervise::{describe_status, Exit, Root, Supervised};
use super::{judged, Censuses, Cut, Event, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::measure::invariant::Outcome;
use crate::scenario::{CommandRun, OnViolation, ProfileKind, Scenario};
use crate::timeline::SampleSink;
use crate::{Timeline, XUnit};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where an external program writes its eventlog, relative to its run directory.
const EVENTLOG_FILE: &str = "profile.eventlog";
/// Where it writes `+RTS -t --machine-readable` statistics.
const STATS_FILE: &str = "rts.stats";
/// Where the launcher writes its [`LauncherReport`].
pub(crate) const LAUNCHER_FILE: &str = "launcher";
/// Where `Membound.marker` (scenarios/haskell/Membound.hs) records markers for the watcher;
/// passed to the program in [`MARKS_ENV`].
pub(crate) const MARKS_FILE: &str = "markers";
/// The environment variable naming [`MARKS_FILE`] to the program.
pub(crate) const MARKS_ENV: &str = "MEMBOUND_MARKERS";

/// The options that make GHC's censuses deterministic: a census at every major GC (`-i0`)
/// with a fixed small allocation area, as GHC's own testsuite does for residency tests, and no
/// RTS tick timer (`-V0`), whose timer-driven context switches moved census totals by a few
/// bytes from run to run.
const EXACT_RTS: &[&str] = &["-hT", "-i0", "-A256k", "-V0"];

pub(crate) fn run_command(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let on_violation = cfg.on_violation.unwrap_or(c.on_violation);
    if on_violation == OnViolation::Pause && !cfg.allow_pause {
        return Err(RunError::PauseRefused {
            scenario: scenario.name.clone(),
        });
    }
    let exe = match &c.build {
        Some(b) => Some(build(b, cfg, on_event)?),
        None => None,
    };
    let run_dir = fresh_run_dir(cfg, scenario)?;
    match c.profile {
        ProfileKind::Rss => {
            let argv = plain_argv(c, exe.as_deref(), cfg);
            return super::rss::run_rss(
                scenario,
                c,
                cfg,
                &run_dir,
                &argv,
                on_violation,
                on_event,
                sink,
            );
        }
        ProfileKind::Massif => {
            let argv = plain_argv(c, exe.as_deref(), cfg);
            return super::massif::run_massif(scenario, cfg, &run_dir, &argv, sink);
        }
        ProfileKind::GhcEventlog | ProfileKind::GhcHp => {}
    }
    let argv = program_argv(c, exe.as_deref(), cfg);
    let mut cmd = launcher_command(cfg, &run_dir, &argv);
    // Relative to the run directory (the program's cwd): what the program allocates for
    // the path must not depend on where the checkout lives, or exact figures would.
    cmd.env(MARKS_ENV, MARKS_FILE);
    let (mut sup, _child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Launcher)?;
    // `retained_by` invariants are checked on a retainer profile afterwards, not on these
    // censuses (which do not know retainers).
    let plain = without_retained_by(scenario);
    let scenario_all = scenario;
    let scenario = &plain;
    let mut live = Live::new(scenario, c, &run_dir);
    let stop = live.follow(&mut sup, on_violation, on_event, sink);
    let exit = sup.wait();
    let (status, success) = program_status(&run_dir, &exit);
    let profile = if success && stop.is_none() && exit.killed.is_none() {
        Profile::Whole
    } else if success || stop.is_some() {
        Profile::Required
    } else {
        Profile::IfAny
    };
    // A program that failed is reported as such: its failure is more fundamental than the
    // counts of its censuses.
    if let Some(e) = live
        .declared_mismatch()
        .filter(|_| profile != Profile::IfAny)
    {
        return Err(RunError::Profile {
            path: live_hp_path(&run_dir, &live),
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
    let (mut tl, censuses) = final_timeline(c, &run_dir, &live, profile, stop.as_ref())?;
    if let (Censuses::Memory(samples), false) = (&censuses, profile == Profile::IfAny) {
        let opts = crate::source::ghc::ReadOptions {
            closure_sizes: c.closure_sizes.clone(),
        };
        if let Some(e) = samples.iter().find_map(|s| opts.check_sample(s).err()) {
            return Err(RunError::Profile {
                path: run_dir.clone(),
                message: e.to_string(),
            });
        }
    }
    closure_type_profile(scenario_all, &tl).map_err(|message| RunError::Profile {
        path: run_dir.clone(),
        message,
    })?;
    tl.totals.insert(
        crate::spec::metric::RSS_PEAK.name.into(),
        LauncherReport::read(&run_dir.join(LAUNCHER_FILE)).map_or(exit.peak_rss_polled, |r| {
            r.peak_rss.max(exit.peak_rss_polled)
        }),
    );
    if let Ok(text) = std::fs::read_to_string(run_dir.join(STATS_FILE)) {
        if let Ok(st) = crate::source::ghc::rts_stats::RtsStats::parse(&text) {
            st.merge_into(&mut tl);
        }
    }
    if !c.rts.is_empty() {
        // Not the exact-census defaults: a sparser census or other RTS options make the
        // figures approximate, to be compared under tolerances.
        tl.facts.insert("exact".into(), "false".into());
        tl.facts.insert("rts".into(), c.rts.join(" "));
    }
    let mut out = match stop {
        Some(stop) => stopped_output(scenario, c, tl, censuses, &stop, sink)?,
        None if !success || exit.killed.is_some() => {
            if let (Some(problem), None) = (
                super::cabal::LinkProblem::detect(&exit.stderr),
                &exit.killed,
            ) {
                return Err(RunError::NotLinkedForProfiling {
                    program: argv[0].clone(),
                    flag: problem.flag(),
                    fix: super::cabal::link_fix(c.build.as_ref()),
                    stderr_tail: exit.stderr,
                });
            }
            return Err(failure(&argv[0], exit, status, censuses.into_timeline(tl)?));
        }
        None => match (&censuses, live.outcomes()) {
            // The sink has every census already and each invariant its outcome over all of
            // them, under the markers the final timeline has: nothing to read again.
            (Censuses::Watched { .. }, Some(outcomes))
                if tl.marks == live.marks().unwrap_or_default() =>
            {
                let sizes = live.sizes();
                sink.recount(&|label| sizes.get(label).copied().unwrap_or(0));
                tl.notes.extend(live.count_notes());
                RunOutput {
                    toolchain: toolchain(&tl),
                    samples: live.census_count(),
                    outcomes: outcomes.to_vec(),
                    stopped_at: None,
                    profile: tl,
                }
            }
            _ => judged(scenario, tl, censuses, Cut::AtViolation, sink)?,
        },
    };
    if c.diagnose && matches!(c.profile, ProfileKind::GhcEventlog | ProfileKind::GhcHp) {
        attribute_first_violation(scenario, c, cfg, &mut out, on_event);
    }
    for inv in scenario_all
        .invariants
        .iter()
        .filter(|i| i.retained_by.is_some())
    {
        let o = super::diagnose::retained_by(scenario_all, c, cfg, inv, out.stopped_at, on_event);
        out.outcomes.push((inv.name.clone(), o));
    }
    Ok(out)
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

/// `argv` run through the launcher in `run_dir`, so that the program's peak RSS is its own and
/// nothing it starts outlives the run (see probe::launcher_main).
pub(crate) fn launcher_command(cfg: &RunConfig, run_dir: &Path, argv: &[String]) -> Command {
    let mut cmd = Command::new(&cfg.probe_program);
    cmd.arg(probe::EXEC_ARG)
        .arg(run_dir.join(LAUNCHER_FILE))
        .args(argv)
        .current_dir(run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

/// The run directory, emptied.
fn fresh_run_dir(cfg: &RunConfig, scenario: &Scenario) -> Result<PathBuf, RunError> {
    let work = std::path::absolute(&cfg.work_dir).map_err(|source| RunError::Io {
        path: cfg.work_dir.clone(),
        source,
    })?;
    let run_dir = work.join("runs").join(&scenario.name);
    // The last run's profiles (a long run's are 100 MB) are renamed out of the way and deleted
    // beside the new run: unlinking them took a tenth of a second before the program started.
    let old = work
        .join("runs")
        .join(format!(".old-{}-{}", scenario.name, std::process::id()));
    if std::fs::rename(&run_dir, &old).is_err() {
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    // Also what an earlier membound, ended before its deletion finished, left behind (the
    // scenario's lock is held: no other run of it is using them).
    let prefix = format!(".old-{}-", scenario.name);
    let stale: Vec<PathBuf> = std::fs::read_dir(work.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    if !stale.is_empty() {
        std::thread::spawn(move || {
            for d in stale {
                let _ = std::fs::remove_dir_all(d);
            }
        });
    }
    std::fs::create_dir_all(&run_dir).map_err(|source| RunError::Io {
        path: run_dir.clone(),
        source,
    })?;
    Ok(run_dir)
}

/// The program, its arguments with `{build}` substituted, and the RTS options of its profile
/// kind followed by the scenario's own.
fn program_argv(c: &CommandRun, exe: Option<&Path>, cfg: &RunConfig) -> Vec<String> {
    let mut argv = plain_argv(c, exe, cfg);
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

/// The program and its arguments with `{build}` substituted; a relative program path with a
/// `/` is relative to the scenarios directory.
fn plain_argv(c: &CommandRun, exe: Option<&Path>, cfg: &RunConfig) -> Vec<String> {
    let mut argv: Vec<String> = c
        .argv
        .iter()
        .map(|a| match exe {
            Some(e) => a.replace("{build}", &e.to_string_lossy()),
            None => a.clone(),
        })
        .collect();
    if Path::new(&argv[0]).is_relative() && argv[0].contains('/') {
        argv[0] = cfg
            .scenarios_dir
            .join(&argv[0])
            .to_string_lossy()
            .into_owned();
    }
    argv
}

/// The program's own exit (from the launcher's report), or the launcher's when it wrote none.
pub(crate) fn program_status(run_dir: &Path, exit: &Exit) -> (String, bool) {
    match LauncherReport::read(&run_dir.join(LAUNCHER_FILE)).and_then(|r| r.status) {
        Some(s) => (
            describe_status(s),
            libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0,
        ),
        None => (exit.status.clone(), exit.success),
    }
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
    let profile_path = match c.profile {
        ProfileKind::GhcEventlog => run_dir.join(EVENTLOG_FILE),
        ProfileKind::GhcHp => hps
            .into_iter()
            .next()
            .unwrap_or_else(|| run_dir.join("profile.hp")),
        // Dispatched to their own runners before the program runs.
        ProfileKind::Rss | ProfileKind::Massif => {
            return Err(RunError::Profile {
                path: run_dir.to_owned(),
                message: "not a GHC profile kind".into(),
            })
        }
    };
    if let Some(watched) = watched_profile(c, &profile_path, live, stop) {
        return Ok(watched);
    }
    let opts = crate::source::ghc::ReadOptions {
        closure_sizes: c.closure_sizes.clone(),
    };
    let watched = live.census_count();
    let read = if profile == Profile::Whole {
        crate::source::ghc::read_profile(&profile_path, &opts)
    } else {
        // A program stopped or killed may have been caught mid-write: its whole records are
        // the timeline so far.
        crate::source::ghc::read_partial_profile(&profile_path, &opts).map(|(tl, _)| tl)
    };
    let mut tl = match read {
        Ok(tl) => tl,
        Err(crate::source::ghc::ProfileError::Incomplete { at, .. }) => {
            return Err(RunError::Profile {
                path: profile_path,
                message: crate::source::ghc::incomplete(at),
            })
        }
        Err(crate::source::ghc::ProfileError::ClosureSize { source, .. }) => {
            return Err(RunError::Profile {
                path: profile_path,
                message: source.to_string(),
            })
        }
        Err(_) if profile != Profile::IfAny && !profile_path.exists() => {
            return Err(RunError::Profile {
                message: format!("the program wrote no {} (hint: `profile = \"{}\"` is for GHC programs built with `-rtsopts`{}; any other program can be watched with `profile = \"rss\"`, and a C/C++ program's heap with `profile = \"massif\"`)",
                    if c.profile == ProfileKind::GhcEventlog { "eventlog" } else { ".hp heap profile" },
                    if c.profile == ProfileKind::GhcEventlog { "ghc-eventlog" } else { "ghc-hp" },
                    if c.profile == ProfileKind::GhcEventlog { " and `-eventlog`" } else { "" }),
                path: profile_path,
            })
        }
        Err(e) if profile != Profile::IfAny && watched == 0 => {
            return Err(RunError::Profile {
                path: profile_path,
                message: e.to_string(),
            })
        }
        Err(_) => Timeline::new("ghc", XUnit::Census),
    };
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
    tl.totals
        .retain(|k, _| !k.starts_with(crate::spec::metric::RTS_PREFIX));
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

/// The toolchain facts a GHC profile names.
pub(crate) fn toolchain(tl: &Timeline) -> BTreeMap<String, String> {
    let mut toolchain = BTreeMap::new();
    if let Some(v) = tl.facts.get("rts_ident") {
        toolchain.insert("ghc_rts".into(), v.clone());
    }
    toolchain
}

/// A failed program: what happened, with its figures so far.
pub(crate) fn failure(program: &str, exit: Exit, status: String, tl: Timeline) -> RunError {
    let what = exit.killed.unwrap_or_else(|| format!("`{program}` failed"));
    RunError::Child {
        what,
        status,
        figures: figures_so_far(&tl),
        stderr_tail: exit.stderr,
        timeline: Box::new(tl),
    }
}

/// `; so far: peak heap 1.2 MiB, last census (#41) 1.1 MiB, top types: …`, in the words of
/// the timeline's source ([`XUnit::residency_words`] and its kin: `peak resident set …, last
/// sample (1,250 ms) …` for rss, `live heap` and `snapshot` for massif), or nothing without a
/// sample.
pub(crate) fn figures_so_far(tl: &Timeline) -> String {
    let Some(last) = tl.samples.last() else {
        return String::new();
    };
    let unit = tl.x_unit;
    let peak = tl.samples.iter().map(|s| s.live_bytes).max().unwrap_or(0);
    let mut text = format!(
        "; so far: peak {residency} {}, last {sample} ({}) {}",
        crate::units::fmt_bytes(peak as f64),
        if unit.is_index() {
            format!("#{}", last.x)
        } else {
            unit.at(last.x)
        },
        crate::units::fmt_bytes(last.live_bytes as f64),
        residency = unit.residency_words(),
        sample = unit.sample_word(),
    );
    if let Some(what) = unit.breakdown_words() {
        let mut types: Vec<(&String, u64)> = last.types.iter().map(|(l, t)| (l, t.bytes)).collect();
        types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let top: Vec<String> = types
            .iter()
            .take(3)
            .map(|(l, b)| format!("{l} {}", crate::units::fmt_bytes(*b as f64)))
            .collect();
        text.push_str(&format!(
            ", top {what}: {}",
            if top.is_empty() {
                "none".to_owned()
            } else {
                top.join(", ")
            }
        ));
    }
    text
}
