//! Attribution of a GHC program's violation: the program is rebuilt with profiling, rerun to
//! the census equivalent to the violation with a retainer profile (`-hr`) and a cost-centre
//! profile (`-hc`) of the growing closures, and the profiles it leaves are ranked by
//! [`crate::attribution::rank`] (growth over the violated window by retainer set and by
//! cost-centre stack, each expanded through the `.prof` cost-centre tree) into an
//! [`Attribution`]. The same reruns check `retained_by` invariants ([`retained`]). See
//! `docs/attribution.md`.
//!
//! - The profiled build is derived from the scenario's `[build] command`, which must run
//!   `ghc`: first the same command with `-dynamic` (type-checker plugins such as
//!   clash-prelude's cannot load into a `-prof` compilation without it), then with
//!   `-prof -fprof-auto -rtsopts -osuf p_o -hisuf p_hi`. `-fprof-auto` rather than
//!   `-fprof-auto-top`: local bindings get cost centres (`master.step`,
//!   `singleMasterInterconnectC.goLazy`), and thunks built in them are attributed to the
//!   program's code instead of to the library function that forced them. Cached like the
//!   plain build.
//! - "Equivalent census": a profiled program allocates more per closure and so reaches a
//!   census sooner; censuses are counted from the violated window's start, found in the
//!   profiled run by the same marker, and the rerun is stopped as many censuses after it as the
//!   violation came in the plain run. Windows not opened by a marker count from the run's
//!   first census.
//! - Every rerun runs through the launcher under the scenario's budget, and is stopped with
//!   SIGINT so the RTS writes its `.prof` (SIGKILL after the grace).
//! - The cost-centre rerun (`-hc`) takes a census at every GC (`-i0`) and finds the equivalent
//!   census; the retainer reruns (`-hr`) take one on the RTS timer, and are stopped by SIGINT
//!   once a census is as far in mutator time as the `-hc` run's equivalent census. A timed
//!   run takes no census at exit, so the `.prof`'s `SET` lines expand every retainer set of
//!   its last census, taken while the leak was alive, to the retainers' whole stacks: a
//!   library cost centre (`map`) is named with the program's function that called it.
//! - The program's own code ([`OwnCode`]) is every module of the program being built: its
//!   inputs, the sources on its command line and the modules under its `-i` directories.
//!
//! The diagnosis produces data only and never changes an outcome; `retained` returns the
//! outcome of its own invariants.

mod retained;

pub(crate) use retained::retained_by;

use super::build::build_steps;
use super::launch::{launcher_command, MARKS_ENV, MARKS_FILE};
use super::live::{find_with_extension, HpTail, MarkerFile};
use super::supervise::{Root, Supervised};
use super::{Event, RunConfig};
use crate::attribution::rank::{analyse, split_label, Analysis};
use crate::attribution::rerun::ProfFile;
use crate::attribution::rerun::{OwnCode, Profile};
use crate::attribution::{Attribution, Found, Impossible};
use crate::errors::RunError;
use crate::measure::invariant::Violation;
use crate::scenario::{Build, CommandRun, Scenario};
use crate::source::ghc::hp::read_hp;
use crate::source::ghc::prof::read_prof;
use crate::source::ghc::ReadOptions;
use crate::spec::invariant::{Endpoint, Predicate, Window};
use crate::timeline::{Mark, Timeline};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How often a rerun's `.hp` is read for its goal. Shorter than the live watch's poll: a
/// short program (a few ms of mutator time past the goal) that ends before our SIGINT leaves
/// as its last census the one at exit, whose `SET` lines expand nothing of the leak; a rerun
/// lasts a fraction of a second, so the extra reads cost nothing that shows.
const RERUN_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// How long cost-centre labels may be in the `.hp` (`-L`): whole stacks and sets, never cut.
const LABEL_LENGTH: &str = "-L400";

/// One profiled rerun: its heap-profile mode and closure restriction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `-hr`: retainer sets.
    Retainers,
    /// `-hc`: cost-centre stacks of the closures' builders.
    Builders,
}

/// Attributes the violation `v` of a run of `scenario` whose markers were `plain_marks`.
pub(crate) fn diagnose(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    v: &Violation,
    plain_marks: &[Mark],
    on_event: &mut dyn FnMut(Event),
) -> Attribution {
    let started = Instant::now();
    match attribute(scenario, c, cfg, v, plain_marks, on_event) {
        Ok(mut found) => {
            found.millis = started.elapsed().as_millis() as u64;
            Attribution::Found(found)
        }
        Err(why) => Attribution::Impossible { why },
    }
}

fn attribute(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    v: &Violation,
    plain_marks: &[Mark],
    on_event: &mut dyn FnMut(Event),
) -> Result<Found, Impossible> {
    let build = c
        .build
        .as_ref()
        .ok_or_else(|| Impossible::NoProfiledBuild {
            detail: "the scenario has no `[build]` step".into(),
        })?;
    if build.cabal.is_none() {
        // Refused before the message: a build that is not `ghc` cannot be profiled.
        profiled_build(build)?;
    }
    on_event(Event::Diagnosing(format!(
        "rebuilding `{}` with profiling",
        scenario.name
    )));
    let exe = profiled_exe(build, cfg, on_event)?;
    let closures = restriction(scenario, v);
    let own = program_code(build, cfg)?;
    let window = Equivalent::of(scenario, v, plain_marks);
    let mut rerun_with = |mode: Mode, restrict: Option<&str>, until: &Until| {
        on_event(rerunning(scenario, mode, restrict, until));
        rerun(scenario, c, cfg, &exe, mode, restrict, until)
    };
    // The builders first: their equivalent census, in mutator time, is how far the timed
    // retainer reruns go.
    let built = rerun_with(
        Mode::Builders,
        closures.as_deref(),
        &Until::Census(window.clone()),
    )?;
    let timed = Until::time_of(&built);
    // A program that ends before its first timed census leaves no retainer census: its
    // retainers are then taken at every GC, as far as the builders were, without `SET` lines.
    let every_gc = Until::Census(window);
    // The retainers of the growing closures and, when those are a constructor's, of the whole
    // heap: independent reruns of one build, run side by side so the diagnosis costs one.
    let restricts = match closures.as_deref() {
        Some(c) => vec![Some(c), None],
        None => vec![None],
    };
    for &r in &restricts {
        on_event(rerunning(scenario, Mode::Retainers, r, &timed));
    }
    // Each: the profile, and whether it fell back to a census at every GC.
    let retainers = |restrict: Option<&str>| match rerun(
        scenario,
        c,
        cfg,
        &exe,
        Mode::Retainers,
        restrict,
        &timed,
    ) {
        Ok(p) => (Ok(p), false),
        Err(_) => (
            rerun(scenario, c, cfg, &exe, Mode::Retainers, restrict, &every_gc),
            true,
        ),
    };
    let runs: Vec<_> = std::thread::scope(|threads| {
        let started: Vec<_> = restricts
            .iter()
            .map(|&r| threads.spawn(move || retainers(r)))
            .collect();
        started
            .into_iter()
            .map(|t| {
                t.join().unwrap_or_else(|_| {
                    let detail = "a retainer rerun's thread panicked".to_owned();
                    (Err(Impossible::RerunFailed { detail }), false)
                })
            })
            .collect()
    });
    // Fallbacks are said once both reruns are done: they ran on threads of their own.
    for (&r, (_, fell_back)) in restricts.iter().zip(&runs) {
        if *fell_back {
            on_event(rerunning(scenario, Mode::Retainers, r, &every_gc));
        }
    }
    let mut profiles = runs.into_iter().map(|(p, _)| p);
    let retained = profiles.next().unwrap_or_else(|| {
        Err(Impossible::RerunFailed {
            detail: "no retainer rerun ran".into(),
        })
    })?;
    let heap = profiles.next().transpose()?;
    analyse(&Analysis {
        closures,
        retained,
        built,
        heap,
        own,
    })
}

/// The progress line of a rerun: its RTS options, as the user would type them.
fn rerunning(scenario: &Scenario, mode: Mode, restrict: Option<&str>, until: &Until) -> Event {
    Event::Diagnosing(format!(
        "rerunning `{}` with {}",
        scenario.name,
        rts_mode(mode, restrict, until).join(" ")
    ))
}

/// Adds source files (relative to `dir`, where GHC runs) to the program's own code, and the
/// modules they define.
fn add_sources(own: &mut OwnCode, files: impl IntoIterator<Item = String>, dir: &Path) {
    for f in files {
        if f.ends_with(".hs") || f.ends_with(".lhs") {
            if let Some(m) = std::fs::read_to_string(dir.join(&f))
                .ok()
                .and_then(|t| module_name(&t))
            {
                own.modules.insert(m);
            }
        }
        own.files.insert(f);
    }
}

/// The own code of the program `build` builds: [`own_code`], with a cabal project's packages'
/// sources, or every file a `ghc` build's inputs stand for.
fn program_code(build: &Build, cfg: &RunConfig) -> Result<OwnCode, Impossible> {
    let mut own = own_code(build, &cfg.scenarios_dir);
    match &build.cabal {
        // A cabal project's own code is its packages' sources, named as GHC names them when
        // cabal runs it in each package's directory.
        Some(_) => own
            .files
            .extend(super::cabal::own_files(cfg).map_err(build_failure)?),
        // Inputs may be directories and globs: every file they stand for is the program's.
        None => add_sources(
            &mut own,
            super::inputs::expand(&cfg.scenarios_dir, &build.inputs)
                .map_err(build_failure)?
                .into_iter()
                .map(|f| f.name),
            &cfg.scenarios_dir,
        ),
    }
    Ok(own)
}

/// How many source files one `-i` directory may contribute (a directory of a whole tree is a
/// mistake, not a program).
const MAX_SOURCES_PER_DIR: usize = 10_000;

/// The own code of a `ghc` build: its `[build] inputs`, the Haskell sources on its command
/// line, and every Haskell source under its `-i` directories (relative to the scenarios
/// directory, where the build runs), each file's module read from its header (`Main` without
/// one). Unreadable files count by name only.
pub(crate) fn own_code(build: &Build, scenarios_dir: &Path) -> OwnCode {
    let is_source = |p: &str| p.ends_with(".hs") || p.ends_with(".lhs");
    let mut files: BTreeSet<String> = build
        .inputs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    for a in &build.command {
        if let Some(dirs) = a.strip_prefix("-i") {
            for dir in dirs.split(':').filter(|d| !d.is_empty()) {
                let mut found = Vec::new();
                sources_under(scenarios_dir, Path::new(dir), &mut found);
                files.extend(found);
            }
        } else if !a.starts_with('-') && is_source(a) {
            files.insert(a.clone());
        }
    }
    let modules = files
        .iter()
        .filter(|f| is_source(f))
        .map(|f| {
            std::fs::read_to_string(scenarios_dir.join(f))
                .ok()
                .and_then(|t| module_name(&t))
                .unwrap_or_else(|| "Main".to_owned())
        })
        .collect();
    OwnCode { modules, files }
}

fn sources_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if out.len() >= MAX_SOURCES_PER_DIR {
            return;
        }
        let rel = dir.join(e.file_name());
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().is_ok_and(|t| t.is_dir()) && !name.starts_with('.') {
            sources_under(root, &rel, out);
        } else if name.ends_with(".hs") || name.ends_with(".lhs") {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

/// The module a Haskell source declares: the first line starting `module M`.
fn module_name(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix("module")?;
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '\''))
            .collect();
        (rest.starts_with(char::is_whitespace)
            && name.starts_with(|c: char| c.is_ascii_uppercase()))
        .then_some(name)
    })
}

/// The profiled executable of `b`: a cabal build's from `cabal build --enable-profiling`
/// (see `cabal`), a `ghc` build's from [`profiled_build`]'s steps, cached like the plain one.
fn profiled_exe(
    b: &Build,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, Impossible> {
    match &b.cabal {
        Some(target) => {
            super::cabal::build(target, b, super::cabal::Flavour::Profiled, cfg, on_event)
                .map_err(build_failure)
        }
        None => {
            let steps = profiled_build(b)?;
            build_steps(&steps, b, cfg, on_event).map_err(build_failure)
        }
    }
}

/// The profiled build's two steps, from a `ghc` build command.
fn profiled_build(b: &Build) -> Result<Vec<Vec<String>>, Impossible> {
    let program = b.command.first().map(String::as_str).unwrap_or("");
    let base = Path::new(program)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !(base == "ghc" || base.starts_with("ghc-")) {
        return Err(Impossible::NoProfiledBuild {
            detail: format!("`[build] command` runs `{program}`, not `ghc`"),
        });
    }
    // The dynamic step only provides the interfaces and objects plugins load; its executable
    // goes beside the profiled one.
    let mut dynamic = Vec::new();
    let mut it = b.command.iter();
    while let Some(a) = it.next() {
        if a == "-o" {
            it.next();
            dynamic.extend(["-o".to_owned(), "{outdir}/dynamic".to_owned()]);
        } else {
            dynamic.push(a.clone());
        }
    }
    dynamic.push("-dynamic".into());
    let mut profiled = b.command.clone();
    profiled.extend(
        [
            "-prof",
            "-fprof-auto",
            "-rtsopts",
            "-osuf",
            "p_o",
            "-hisuf",
            "p_hi",
        ]
        .map(str::to_owned),
    );
    Ok(vec![dynamic, profiled])
}

fn build_failure(e: RunError) -> Impossible {
    let text = e.to_string();
    if text.contains("profiling libraries") || text.contains("haven't installed the \"p\"") {
        let line = text
            .lines()
            .find(|l| l.contains("profiling libraries"))
            .unwrap_or("")
            .trim();
        let module = text
            .lines()
            .find(|l| l.contains("Could not find module") || l.contains("Could not load module"))
            .map(|l| l.trim().to_owned());
        Impossible::NoProfilingLibraries {
            detail: match module {
                Some(m) => format!("{m} {line}"),
                None => line.to_owned(),
            },
        }
    } else {
        Impossible::ProfiledBuildFailed { detail: text }
    }
}

/// The constructor a `-hd` restriction names, from the invariant's exact type or the
/// violation's top growing label: `:-` for `clash-prelude:Clash.Signal.Internal.:-`. `None`
/// (the whole heap) for closure types that are not constructors (`THUNK_2_0`, `ARR_WORDS`).
fn restriction(scenario: &Scenario, v: &Violation) -> Option<String> {
    let from_invariant = scenario
        .invariants
        .iter()
        .find(|i| i.name == v.invariant)
        .and_then(|i| match &i.predicate {
            Predicate::TypeAbsent(g)
            | Predicate::TypeCount { glob: g, .. }
            | Predicate::TypeGrowth { glob: g, .. } => (!g.contains('*')).then(|| g.clone()),
            _ => None,
        });
    let label = from_invariant.or_else(|| v.top_growth.first().map(|g| g.label.clone()))?;
    constructor(&label)
}

/// `pkg:Mod.Sub.Con` → `Con`; `pkg:Mod.:-` → `:-`; anything without a package → `None`.
pub(crate) fn constructor(label: &str) -> Option<String> {
    let (_, mut rest) = label.split_once(':')?;
    while let Some((seg, tail)) = rest.split_once('.') {
        let module_like = seg.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && seg
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '\'');
        if !module_like || tail.is_empty() {
            break;
        }
        rest = tail;
    }
    (!rest.is_empty() && rest != label).then(|| rest.to_owned())
}

fn rts_mode(mode: Mode, restrict: Option<&str>, until: &Until) -> Vec<String> {
    let mut out = vec![match mode {
        Mode::Retainers => "-hr".to_owned(),
        Mode::Builders => "-hc".to_owned(),
    }];
    if let Some(c) = restrict {
        out.push(format!("-hd{c}"));
    }
    match until {
        // `-V0` (no timer) keeps the censuses at every GC deterministic.
        Until::Census(_) => out.extend(["-i0".to_owned(), "-V0".to_owned()]),
        Until::Time { interval_ms, .. } => {
            let secs = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
            out.push(format!("-i{}", secs(*interval_ms)));
            // The RTS timer (10 ms by default) is what takes a timed census: a short window
            // needs it to tick as often.
            if *interval_ms < 10 {
                out.push(format!("-V{}", secs(*interval_ms)));
            }
        }
    }
    out
}

/// How far a rerun goes, and when it takes its censuses.
#[derive(Debug, Clone)]
enum Until {
    /// A census at every GC, stopped at the census equivalent to the violation.
    Census(Equivalent),
    /// A census every `interval_ms` of the RTS timer, stopped once a census is at `to_ns` of
    /// mutator time or later; growth measured from the last census at or before `from_ns`
    /// (`None`: everything live at the last census). No census is taken at exit, so the
    /// `.prof`'s `SET` lines describe the last census, taken while the leak was alive.
    Time {
        from_ns: Option<u64>,
        to_ns: u64,
        interval_ms: u64,
    },
}

impl Until {
    /// As far as a `-i0` rerun's window, in mutator time (`BEGIN_SAMPLE` times are mutator
    /// seconds, which censuses do not add to), with about 20 censuses up to its end.
    fn time_of(p: &Profile) -> Until {
        let (from, to) = p.window;
        let time = |x: u64| {
            p.timeline
                .samples
                .iter()
                .find(|s| s.x == x)
                .and_then(|s| s.time_ns)
                .unwrap_or(0)
        };
        let to_ns = time(to);
        Until::Time {
            from_ns: (from != to).then(|| time(from)),
            to_ns,
            interval_ms: (to_ns / 20 / 1_000_000).clamp(1, 200),
        }
    }
}

/// Where the profiled run's window starts and how many censuses after it the violation came.
#[derive(Debug, Clone)]
struct Equivalent {
    /// The marker that opens the window, if one does.
    marker: Option<String>,
    /// Censuses from the window's start to the violation, in the plain run.
    to_offset: u64,
    /// Censuses from the window's start to where growth is measured from; `None` for the
    /// run's first census (the bound was broken as the window opened).
    from_offset: Option<u64>,
}

impl Equivalent {
    fn of(scenario: &Scenario, v: &Violation, plain_marks: &[Mark]) -> Equivalent {
        let from = scenario
            .invariants
            .iter()
            .find(|i| i.name == v.invariant)
            .and_then(|i| match &i.during {
                Window::Phase(p) => scenario.phase(p).map(|p| p.from.clone()),
                Window::Range(a, _) => Some(a.clone()),
                Window::Always => None,
            });
        let marker = match from {
            Some(Endpoint::Marker(m)) if plain_marks.iter().any(|k| k.label == m) => Some(m),
            _ => None,
        };
        let start = marker
            .as_ref()
            .and_then(|m| plain_marks.iter().find(|k| k.label == *m))
            .map_or(0, |k| k.x);
        Equivalent {
            to_offset: v.x.saturating_sub(start),
            // Growth measured from before the window opened is measured from the run's first
            // census, in the profiled run too.
            from_offset: v.growth_since.checked_sub(start),
            marker,
        }
    }
}

/// Reruns the profiled program `exe` with `mode`'s heap profile of `restrict` (or the whole
/// heap) until `until`, and reads what it left.
#[allow(clippy::too_many_arguments)]
fn rerun(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    exe: &Path,
    mode: Mode,
    restrict: Option<&str>,
    until: &Until,
) -> Result<Profile, Impossible> {
    let failed = |detail: String| Impossible::RerunFailed { detail };
    let run_dir = rerun_dir(scenario, cfg, mode, restrict)?;
    let argv = rerun_argv(c, exe, mode, restrict, until);
    let mut cmd = launcher_command(cfg, &run_dir, &argv);
    cmd.env(MARKS_ENV, MARKS_FILE);
    let (mut sup, _child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Launcher)
        .map_err(|e| failed(e.to_string()))?;
    let watch = follow_until(&mut sup, &run_dir, until);
    let exit = sup.wait();
    if let Some(k) = &exit.killed {
        // The budget or the timeout, not our stop.
        return Err(failed(format!("{k}{}", tail(&exit.stderr))));
    }
    let (hp, timeline, prof) = read_rerun(&run_dir, &exit.stderr)?;
    let last = timeline
        .samples
        .len()
        .checked_sub(1)
        .ok_or_else(|| failed(format!("{} holds no census", hp.display())))? as u64;
    let (window, sets_at) = window(until, &watch, &timeline, &prof, last);
    let marks = watch
        .marker_file
        .marks
        .iter()
        .map(|(offset, label)| Mark {
            x: watch.censuses.partition_point(|end| end <= offset) as u64,
            label: label.clone(),
        })
        .collect();
    Ok(Profile {
        timeline,
        prof,
        window,
        marks,
        sets_at,
    })
}

/// A rerun's own run directory beside the plain run's, emptied.
fn rerun_dir(
    scenario: &Scenario,
    cfg: &RunConfig,
    mode: Mode,
    restrict: Option<&str>,
) -> Result<PathBuf, Impossible> {
    let failed = |detail: String| Impossible::RerunFailed { detail };
    let work = std::path::absolute(&cfg.work_dir).map_err(|e| failed(e.to_string()))?;
    let tag = match (mode, restrict) {
        (Mode::Retainers, Some(_)) => "hr",
        (Mode::Builders, _) => "hc",
        (Mode::Retainers, None) => "hr-heap",
    };
    let run_dir = work
        .join("runs")
        .join(format!("{}.diagnose.{tag}", scenario.name));
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir).map_err(|e| failed(format!("{}: {e}", run_dir.display())))?;
    Ok(run_dir)
}

/// The program's command line with the rerun's RTS options, then the scenario's own.
fn rerun_argv(
    c: &CommandRun,
    exe: &Path,
    mode: Mode,
    restrict: Option<&str>,
    until: &Until,
) -> Vec<String> {
    let mut argv: Vec<String> = c
        .argv
        .iter()
        .map(|a| a.replace("{build}", &exe.to_string_lossy()))
        .collect();
    argv.push("+RTS".into());
    argv.extend(rts_mode(mode, restrict, until));
    argv.extend(["-p", LABEL_LENGTH, "-A256k"].map(str::to_owned));
    // The scenario's own options (a sparser census) after ours, as in the plain run.
    argv.extend(c.rts.iter().cloned());
    argv.push("-RTS".into());
    argv
}

/// Follows the rerun's censuses until `until` is reached (then stops it with SIGINT, so that
/// the RTS writes its `.prof`) or it exits.
fn follow_until(sup: &mut Supervised, run_dir: &Path, until: &Until) -> Watch {
    let mut watch = Watch::new(run_dir);
    // From the second pass on, whether it had exited is what the last wait found.
    let mut exited = sup.has_exited();
    loop {
        watch.poll();
        let reached = match until {
            Until::Census(eq) => watch
                .target(eq)
                .is_some_and(|target| watch.censuses.len() as u64 > target),
            Until::Time { to_ns, .. } => watch.times.last().is_some_and(|t| t >= to_ns),
        };
        if reached {
            super::live::stop_gracefully(sup);
            break;
        }
        if exited {
            break;
        }
        exited = sup.wait_exit_for(RERUN_POLL);
    }
    watch
}

/// The `.hp` a rerun wrote (its path and censuses) and its `.prof`.
fn read_rerun(run_dir: &Path, stderr: &str) -> Result<(PathBuf, Timeline, ProfFile), Impossible> {
    let failed = |detail: String| Impossible::RerunFailed { detail };
    let hp = find_with_extension(run_dir, "hp").ok_or_else(|| {
        failed(format!(
            "no .hp file in {}{}",
            run_dir.display(),
            tail(stderr)
        ))
    })?;
    let bytes = std::fs::read(&hp).map_err(|e| failed(format!("{}: {e}", hp.display())))?;
    let timeline = read_hp(&bytes[..], &ReadOptions::default())
        .map_err(|e| failed(format!("{}: {e}", hp.display())))?;
    let prof_path = find_with_extension(run_dir, "prof").ok_or_else(|| {
        failed(format!(
            "no .prof file in {} (the program did not exit through the RTS){}",
            run_dir.display(),
            tail(stderr)
        ))
    })?;
    let text = std::fs::read_to_string(&prof_path)
        .map_err(|e| failed(format!("{}: {e}", prof_path.display())))?;
    let prof = read_prof(&text).map_err(|e| failed(format!("{}: {e}", prof_path.display())))?;
    Ok((hp, timeline, prof))
}

/// The censuses growth is measured between in a rerun whose last census is `last`, and the
/// census the `.prof`'s `SET` lines describe, when they describe one of them.
fn window(
    until: &Until,
    watch: &Watch,
    timeline: &Timeline,
    prof: &ProfFile,
    last: u64,
) -> ((u64, u64), Option<u64>) {
    match until {
        Until::Census(eq) => {
            let start = watch.start(eq).unwrap_or(0);
            let to = start.saturating_add(eq.to_offset).min(last);
            let from = eq
                .from_offset
                .map_or(0, |f| start.saturating_add(f).min(to));
            ((from, to), None)
        }
        Until::Time { from_ns, .. } => {
            let to = leak_census(timeline).unwrap_or(last);
            let from = match from_ns {
                None => to,
                Some(f) => {
                    let at_or_before = timeline
                        .samples
                        .partition_point(|s| s.time_ns.unwrap_or(0) <= *f)
                        .saturating_sub(1) as u64;
                    if at_or_before >= to {
                        to.saturating_sub(1)
                    } else {
                        at_or_before
                    }
                }
            };
            let described = to == last
                && timeline.samples.get(to as usize).is_some_and(|s| {
                    s.types.keys().all(|l| {
                        l == "MANY" || split_label(l).0.is_some_and(|id| prof.set(id).is_some())
                    })
                });
            ((from, to), described.then_some(to))
        }
    }
}

/// The census of a timed rerun that is analysed: its last census that saw anything, the one
/// the `.prof`'s `SET` lines describe, unless the leak had already shrunk by half there, in
/// which case the census where the profiled closures were largest. Not simply the last one: a
/// program that ends by itself (faster than our poll) or cleans up after the SIGINT (tasty
/// cancels its test threads) takes timed censuses after releasing the leak, and those hold
/// only CAFs. Not simply the largest either: a leak whose heap saws (thunks of the chain forced
/// now and then) is often largest a census before the last, whose sets no `SET` line expands,
/// and a library retainer there cannot be traced to the program's code. `None` when no census
/// saw anything.
fn leak_census(timeline: &Timeline) -> Option<u64> {
    let seen = || {
        timeline
            .samples
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.types.is_empty())
    };
    let (largest, max) = seen().max_by_key(|(i, s)| (s.live_bytes, *i))?;
    let (last, at_end) = seen().next_back()?;
    let kept = at_end.live_bytes.saturating_mul(2) >= max.live_bytes;
    Some(if kept { last } else { largest } as u64)
}

fn tail(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        String::new()
    } else {
        format!(
            "; stderr: {}",
            t.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
        )
    }
}

/// Follows a rerun's `.hp` and markers, counting censuses as the live watch does (the first
/// empty sample is the RTS's bracket, not a census).
struct Watch {
    run_dir: PathBuf,
    hp: HpTail,
    censuses: Vec<u64>,
    /// Each census's mutator time.
    times: Vec<u64>,
    seen_first: bool,
    marker_file: MarkerFile,
}

impl Watch {
    fn new(run_dir: &Path) -> Watch {
        Watch {
            run_dir: run_dir.to_owned(),
            hp: HpTail::default(),
            censuses: Vec::new(),
            times: Vec::new(),
            seen_first: false,
            marker_file: MarkerFile::default(),
        }
    }

    fn poll(&mut self) {
        // Markers first: one read after a census is seen, it is placed before or after it.
        self.marker_file.poll(&self.run_dir);
        let mut fresh = Vec::new();
        self.hp.poll(&self.run_dir, &mut fresh);
        for (end, s) in fresh {
            let first = !self.seen_first;
            self.seen_first = true;
            if first && s.types.is_empty() {
                continue;
            }
            self.censuses.push(end);
            self.times.push(s.time_ns.unwrap_or(0));
        }
    }

    /// The profiled run's window start: the census its marker precedes, once placed.
    fn start(&self, eq: &Equivalent) -> Option<u64> {
        let Some(m) = &eq.marker else {
            return Some(0);
        };
        let (offset, _) = self.marker_file.marks.iter().find(|(_, l)| l == m)?;
        // Placed once a census after it has been read.
        self.censuses
            .last()
            .is_some_and(|end| end > offset)
            .then(|| self.censuses.partition_point(|end| end <= offset) as u64)
    }

    fn target(&self, eq: &Equivalent) -> Option<u64> {
        self.start(eq).map(|s| s.saturating_add(eq.to_offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The live bytes of the census `leak_census` reads from a timed rerun of these censuses
    /// (`(time, rows)`), or `None` when it reads none.
    fn read_at(censuses: &[(&str, &str)]) -> Option<u64> {
        let mut hp =
            String::from("JOB \"x\"\nDATE \"x\"\nSAMPLE_UNIT \"seconds\"\nVALUE_UNIT \"bytes\"\n");
        for (t, rows) in censuses {
            hp.push_str(&format!("BEGIN_SAMPLE {t}\n{rows}END_SAMPLE {t}\n"));
        }
        let timeline = read_hp(hp.as_bytes(), &ReadOptions::default()).expect("reads");
        leak_census(&timeline).map(|at| timeline.samples[at as usize].live_bytes)
    }

    /// The census a timed rerun is read at: its last, whose `SET` lines expand its sets, unless
    /// the leak had halved there, as in the tasty example in CI (the test ends, or is cancelled
    /// by our SIGINT, and a later census holds only CAFs): then the leak's largest.
    #[test]
    fn a_timed_rerun_is_read_at_its_last_census_unless_the_leak_had_gone() {
        let tasty = [
            ("0.00", ""),
            ("0.01", "(12)counter.step\t1000\n(1)CAF\t500\n"),
            ("0.02", "(12)counter.step\t9000\n(1)CAF\t500\n"),
            ("0.03", "(1)CAF\t600\n"),
        ];
        assert_eq!(read_at(&tasty), Some(9500));
        // A sawing leak, a little smaller at its last census than before.
        let sawing = [
            ("0.00", ""),
            ("0.01", "(3)map\t1000\n"),
            ("0.02", "(5)map\t9000\n"),
            ("0.03", "(9)map\t7000\n"),
        ];
        assert_eq!(read_at(&sawing), Some(7000));
        // Nothing seen at all: no census to analyse.
        assert_eq!(read_at(&[("0.00", "")]), None);
    }

    #[test]
    fn constructors_of_labels() {
        assert_eq!(
            constructor("clash-prelude:Clash.Signal.Internal.:-").as_deref(),
            Some(":-")
        );
        assert_eq!(constructor("base:GHC.Maybe.Just").as_deref(), Some("Just"));
        assert_eq!(constructor("THUNK_2_0"), None);
        assert_eq!(constructor("ghc-prim:GHC.Types.:").as_deref(), Some(":"));
    }
}
