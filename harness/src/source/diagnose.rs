//! Attribution of a GHC program's violation: the program is rebuilt with profiling, rerun to
//! the census equivalent to the violation with a retainer profile (`-hr`) and a cost-centre
//! profile (`-hc`) of the growing closures, and the growth over the violated window is ranked
//! by retainer set and by cost-centre stack, each expanded through the `.prof` cost-centre tree
//! into an [`Attribution`]. See `docs/attribution.md`.
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
//!
//! Produces data only; never changes an outcome.

use super::build::build_steps;
use super::command::{MARKS_ENV, MARKS_FILE};
use super::live::{find_with_extension, HpTail, MarkerFile};
use super::probe;
use super::supervise::{Root, Supervised};
use super::{Event, RunConfig};
use crate::attribution::{
    Attribution, Found, Frame, Impossible, Retainer, RetainerGrowth, Stack, StackGrowth,
};
use crate::errors::RunError;
use crate::measure::invariant::{Outcome, Unevaluable, Violation};
use crate::scenario::{Build, CommandRun, Endpoint, Predicate, Scenario, Window};
use crate::source::ghc::hp::read_hp;
use crate::source::ghc::prof::{read_prof, ProfFile};
use crate::source::ghc::ReadOptions;
use crate::timeline::{Mark, Sample, Timeline};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// How long cost-centre labels may be in the `.hp` (`-L`): whole stacks and sets, never cut.
const LABEL_LENGTH: &str = "-L400";
/// How many stacks of one retainer's name a table keeps.
const STACKS_PER_RETAINER: usize = 3;

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
    let own_files: Vec<String> = match &build.cabal {
        Some(_) => super::cabal::own_files(cfg).map_err(build_failure)?,
        None => super::inputs::expand(&cfg.scenarios_dir, &build.inputs)
            .map_err(build_failure)?
            .into_iter()
            .map(|f| f.name)
            .collect(),
    };
    let window = Equivalent::of(scenario, v, plain_marks);
    let mut runs = vec![
        (Mode::Retainers, closures.clone()),
        (Mode::Builders, closures.clone()),
    ];
    if closures.is_some() {
        runs.push((Mode::Retainers, None));
    }
    let mut profiles = Vec::new();
    for (mode, restrict) in &runs {
        on_event(Event::Diagnosing(format!(
            "rerunning `{}` with {}",
            scenario.name,
            rts_mode(*mode, restrict.as_deref()).join(" ")
        )));
        profiles.push(rerun(
            scenario,
            c,
            cfg,
            &exe,
            *mode,
            restrict.as_deref(),
            &window,
        )?);
    }
    let mut profiles = profiles.into_iter();
    let (Some(retained), Some(built)) = (profiles.next(), profiles.next()) else {
        return Err(Impossible::RerunFailed {
            detail: "fewer profiles than reruns".into(),
        });
    };
    analyse(&Analysis {
        closures,
        retained,
        built,
        heap: profiles.next(),
        own_files,
    })
}

/// What [`analyse`] ranks: the profiles of the reruns, read.
pub(crate) struct Analysis {
    /// The `-hd` restriction of `retained` and `built`, `None` for the whole heap.
    pub closures: Option<String>,
    /// The `-hr` profile of those closures.
    pub retained: Profile,
    /// The `-hc` profile of those closures.
    pub built: Profile,
    /// The `-hr` profile of the whole heap, when `closures` restricted the others.
    pub heap: Option<Profile>,
    /// The build's inputs (relative to the scenarios directory, as GHC names sources): a cost
    /// centre whose source is one of them is the program's own code.
    pub own_files: Vec<String>,
}

/// Ranks the growth of each profile over its window into a [`Found`] (`millis` left 0).
pub(crate) fn analyse(a: &Analysis) -> Result<Found, Impossible> {
    let (from, to) = a.retained.window;
    let own = |n: &crate::source::ghc::prof::CcNode| {
        n.module == "Main"
            || n.src_file()
                .is_some_and(|f| a.own_files.iter().any(|o| o == f))
    };
    let retainers = retainer_growth(&a.retained, &own);
    let built_by = builder_growth(&a.built, &own);
    let heap_retainers = a
        .heap
        .as_ref()
        .map(|p| retainer_growth(p, &own))
        .unwrap_or_default();
    if retainers.is_empty() && built_by.is_empty() {
        return Err(Impossible::NotReproduced {
            detail: format!(
                "between censuses {from} and {to} of the profiled run nothing {} grew",
                a.closures
                    .as_deref()
                    .map_or("on the heap".to_owned(), |c| format!("of `{c}`"))
            ),
        });
    }
    Ok(Found {
        closures: a.closures.clone(),
        from_census: from,
        to_census: to,
        series: series(&a.retained, &retainers),
        retainers,
        built_by,
        heap_retainers,
        millis: 0,
    })
}

/// The outcome of a `retained_by` invariant: its type predicate checked, census by census, on
/// the bytes of a `-hr -hd<C>` profile whose retainer set has a cost centre matching the glob.
/// The rerun goes as far as the plain run did (to `stopped_at`, or to its end).
pub(crate) fn retained_by(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    inv: &crate::scenario::Invariant,
    stopped_at: Option<u64>,
    on_event: &mut dyn FnMut(Event),
) -> Outcome {
    let unevaluable = |reason: String| Outcome::NotEvaluable {
        reason: Unevaluable::NoRetainerProfile { reason },
    };
    let glob = inv.retained_by.as_deref().unwrap_or("*");
    let ty = match &inv.predicate {
        Predicate::TypeAbsent(g)
        | Predicate::TypeCount { glob: g, .. }
        | Predicate::TypeGrowth { glob: g, .. } => g.clone(),
        _ => return unevaluable("`retained_by` needs a type predicate".into()),
    };
    let Some(con) = constructor(&ty) else {
        return unevaluable(format!(
            "`{ty}` is not a constructor a `-hd` restriction can name"
        ));
    };
    let Some(build) = &c.build else {
        return unevaluable("the scenario has no `[build]` step to profile".into());
    };
    let exe = match profiled_exe(build, cfg, on_event) {
        Ok(exe) => exe,
        Err(why) => return unevaluable(why.to_string()),
    };
    on_event(Event::Diagnosing(format!(
        "rerunning `{}` with -hr -hd{con} for `retained_by = \"{glob}\"`",
        scenario.name
    )));
    let eq = Equivalent {
        marker: None,
        to_offset: stopped_at.unwrap_or(u64::MAX),
        from_offset: Some(0),
    };
    let p = match rerun(scenario, c, cfg, &exe, Mode::Retainers, Some(&con), &eq) {
        Ok(p) => p,
        Err(why) => return unevaluable(why.to_string()),
    };
    let mut tl = Timeline::new("ghc-hp-retainers", crate::XUnit::Census);
    let mut seen: Vec<String> = Vec::new();
    let mut matched = false;
    for s in p.timeline.samples.iter().filter(|s| s.x <= p.window.1) {
        let mut bytes = 0;
        for (label, t) in &s.types {
            let (_, names) = split_label(label);
            let mut hit = false;
            for n in names.split(',').filter(|n| !n.is_empty() && *n != "MANY") {
                if !seen.iter().any(|x| x == n) {
                    seen.push(n.to_owned());
                }
                hit |= crate::scenario::glob_match(glob, n);
            }
            if hit {
                bytes += t.bytes;
            }
        }
        matched |= bytes > 0;
        let mut sample = Sample {
            x: s.x,
            live_bytes: bytes,
            time_ns: s.time_ns,
            ..Sample::default()
        };
        sample.types.insert(
            ty.clone(),
            crate::TypeSample {
                bytes,
                ..Default::default()
            },
        );
        tl.samples.push(sample);
    }
    if !matched && !seen.iter().any(|n| crate::scenario::glob_match(glob, n)) {
        let seen = crate::scenario::nearest_first(glob, seen.iter().map(String::as_str))
            .into_iter()
            .take(8)
            .map(str::to_owned)
            .collect();
        return Outcome::NotEvaluable {
            reason: Unevaluable::NoMatchingRetainer {
                glob: glob.to_owned(),
                seen,
            },
        };
    }
    tl.marks = p.marks.clone();
    crate::source::ghc::assign_counts(
        &mut tl,
        &ReadOptions {
            closure_sizes: c.closure_sizes.clone(),
        },
    );
    let mut single = scenario.clone();
    single.invariants = vec![crate::scenario::Invariant {
        retained_by: None,
        ..inv.clone()
    }];
    let single = super::live::marker_windows(&single, &tl.marks);
    let (outcomes, _) = crate::measure::invariant::check_timeline(&single, &tl);
    outcomes
        .into_iter()
        .find(|(n, _)| *n == inv.name)
        .map_or_else(|| unevaluable("no outcome".into()), |(_, o)| o)
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

fn rts_mode(mode: Mode, restrict: Option<&str>) -> Vec<String> {
    let mut out = vec![match mode {
        Mode::Retainers => "-hr".to_owned(),
        Mode::Builders => "-hc".to_owned(),
    }];
    if let Some(c) = restrict {
        out.push(format!("-hd{c}"));
    }
    out
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

/// A profiled rerun's profile: its censuses, its `.prof`, and the censuses growth is
/// measured between.
pub(crate) struct Profile {
    /// The censuses (from the `.hp`, or an eventlog).
    pub timeline: Timeline,
    /// The `.prof` written at exit.
    pub prof: ProfFile,
    /// (from, to) census indices.
    pub window: (u64, u64),
    /// The markers the rerun recorded, placed at the census each precedes.
    pub marks: Vec<Mark>,
}

#[allow(clippy::too_many_arguments)]
fn rerun(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    exe: &Path,
    mode: Mode,
    restrict: Option<&str>,
    eq: &Equivalent,
) -> Result<Profile, Impossible> {
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
    let mut argv: Vec<String> = c
        .argv
        .iter()
        .map(|a| a.replace("{build}", &exe.to_string_lossy()))
        .collect();
    argv.push("+RTS".into());
    argv.extend(rts_mode(mode, restrict));
    argv.extend(["-p", LABEL_LENGTH, "-i0", "-A256k", "-V0"].map(str::to_owned));
    // The scenario's own options (a sparser census) after ours, as in the plain run.
    argv.extend(c.rts.iter().cloned());
    argv.push("-RTS".into());
    let mut cmd = Command::new(&cfg.probe_program);
    cmd.arg(probe::EXEC_ARG)
        .arg(run_dir.join("launcher"))
        .args(&argv)
        .env(MARKS_ENV, MARKS_FILE)
        .current_dir(&run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let (mut sup, _child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Launcher)
        .map_err(|e| failed(e.to_string()))?;
    let mut watch = Watch::new(&run_dir);
    loop {
        let exited = sup.has_exited();
        watch.poll();
        if let Some(target) = watch.target(eq) {
            if watch.censuses.len() as u64 > target {
                super::live::stop_gracefully(&mut sup);
                break;
            }
        }
        if exited {
            break;
        }
        sup.wait_exit_for(super::live::LIVE_POLL);
    }
    let exit = sup.wait();
    if let Some(k) = &exit.killed {
        // The budget or the timeout, not our stop.
        return Err(failed(format!("{k}{}", tail(&exit.stderr))));
    }
    let hp = find_with_extension(&run_dir, "hp").ok_or_else(|| {
        failed(format!(
            "no .hp file in {}{}",
            run_dir.display(),
            tail(&exit.stderr)
        ))
    })?;
    let bytes = std::fs::read(&hp).map_err(|e| failed(format!("{}: {e}", hp.display())))?;
    let timeline = read_hp(&bytes[..], &ReadOptions::default())
        .map_err(|e| failed(format!("{}: {e}", hp.display())))?;
    let prof_path = find_with_extension(&run_dir, "prof").ok_or_else(|| {
        failed(format!(
            "no .prof file in {} (the program did not exit through the RTS){}",
            run_dir.display(),
            tail(&exit.stderr)
        ))
    })?;
    let text = std::fs::read_to_string(&prof_path)
        .map_err(|e| failed(format!("{}: {e}", prof_path.display())))?;
    let prof = read_prof(&text).map_err(|e| failed(format!("{}: {e}", prof_path.display())))?;
    let last = timeline
        .samples
        .len()
        .checked_sub(1)
        .ok_or_else(|| failed(format!("{} holds no census", hp.display())))? as u64;
    let start = watch.start(eq).unwrap_or(0);
    let to = start.saturating_add(eq.to_offset).min(last);
    let from = eq
        .from_offset
        .map_or(0, |f| start.saturating_add(f).min(to));
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
        window: (from, to),
        marks,
    })
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
    seen_first: bool,
    marker_file: MarkerFile,
}

impl Watch {
    fn new(run_dir: &Path) -> Watch {
        Watch {
            run_dir: run_dir.to_owned(),
            hp: HpTail::default(),
            censuses: Vec::new(),
            seen_first: false,
            marker_file: MarkerFile::default(),
        }
    }

    fn poll(&mut self) {
        // Markers first: one read after a census is seen, it is placed before or after it.
        self.marker_file.poll(&self.run_dir);
        for (end, s) in self.hp.poll(&self.run_dir) {
            let first = !self.seen_first;
            self.seen_first = true;
            if first && s.types.is_empty() {
                continue;
            }
            self.censuses.push(end);
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

fn growth_rows(p: &Profile) -> Vec<(String, i64)> {
    let (from, to) = p.window;
    let empty = Sample::default();
    let at = |x: u64| {
        p.timeline
            .samples
            .iter()
            .find(|s| s.x == x)
            .unwrap_or(&empty)
    };
    // A violation at the run's first census: its growth is all that is live there.
    let a = if from == to { &empty } else { at(from) };
    let b = at(to);
    let mut labels: Vec<&String> = a.types.keys().chain(b.types.keys()).collect();
    labels.sort();
    labels.dedup();
    let mut rows: Vec<(String, i64)> = labels
        .into_iter()
        .map(|l| {
            let bytes = |s: &Sample| s.types.get(l).map_or(0, |t| t.bytes as i64);
            (l.clone(), bytes(b) - bytes(a))
        })
        .filter(|(_, d)| *d > 0)
        .collect();
    rows.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    rows
}

/// `(329)mapSignal#,singleMasterInterconnectC.goLazy` → (329, the names).
fn split_label(label: &str) -> (Option<u64>, &str) {
    if let Some(rest) = label.strip_prefix('(') {
        if let Some((id, names)) = rest.split_once(')') {
            if let Ok(id) = id.parse() {
                return (Some(id), names);
            }
        }
    }
    (None, label)
}

fn frames(
    prof: &ProfFile,
    id: u64,
    own: &dyn Fn(&crate::source::ghc::prof::CcNode) -> bool,
) -> Stack {
    Stack {
        frames: prof
            .stack(id)
            .into_iter()
            .map(|n| Frame {
                name: n.name.clone(),
                module: n.module.clone(),
                own: own(n),
            })
            .collect(),
    }
}

fn retainer_growth(
    p: &Profile,
    own: &dyn Fn(&crate::source::ghc::prof::CcNode) -> bool,
) -> Vec<RetainerGrowth> {
    growth_rows(p)
        .into_iter()
        .map(|(label, bytes)| {
            let (_, names) = split_label(&label);
            let retainers = if label == "MANY" {
                Vec::new()
            } else {
                names
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(|name| {
                        let mut ids: Vec<u64> = p.prof.stacks_named(name).collect();
                        ids.sort_by_key(|id| {
                            std::cmp::Reverse(p.prof.node(*id).map_or(0, |n| n.entries))
                        });
                        let candidates = ids.len();
                        let is_own = ids.first().and_then(|id| p.prof.node(*id)).is_some_and(own);
                        Retainer {
                            name: name.to_owned(),
                            own: is_own,
                            stacks: ids
                                .iter()
                                .take(STACKS_PER_RETAINER)
                                .map(|id| frames(&p.prof, *id, own))
                                .collect(),
                            candidates,
                        }
                    })
                    .collect()
            };
            RetainerGrowth {
                label,
                retainers,
                bytes,
            }
        })
        .collect()
}

fn builder_growth(
    p: &Profile,
    own: &dyn Fn(&crate::source::ghc::prof::CcNode) -> bool,
) -> Vec<StackGrowth> {
    let mut rows: Vec<StackGrowth> = growth_rows(p)
        .into_iter()
        .map(|(label, bytes)| {
            let (id, names) = split_label(&label);
            // `.hp` labels carry the stack's id; eventlog labels are the names alone, matched
            // against the tree's stacks.
            let id = id.filter(|id| p.prof.node(*id).is_some()).or_else(|| {
                let path: Vec<&str> = names.split('/').collect();
                p.prof.stacks_named(path[0]).find(|id| {
                    let names: Vec<&str> =
                        p.prof.stack(*id).iter().map(|n| n.name.as_str()).collect();
                    names == path
                })
            });
            let stack = match id {
                Some(id) => frames(&p.prof, id, own),
                // A label the tree does not know: its names, none of them known to be own code.
                None => Stack {
                    frames: names
                        .split('/')
                        .map(|n| Frame {
                            name: n.to_owned(),
                            module: String::new(),
                            own: false,
                        })
                        .collect(),
                },
            };
            StackGrowth { stack, bytes }
        })
        .collect();
    // Ties by the stack, not by the label: `.hp` labels start with ids, eventlog ones do not.
    rows.sort_by(|x, y| {
        y.bytes
            .cmp(&x.bytes)
            .then_with(|| x.stack.path().cmp(&y.stack.path()))
    });
    rows
}

fn series(p: &Profile, rows: &[RetainerGrowth]) -> Vec<(String, Vec<(u64, u64)>)> {
    let (from, to) = p.window;
    rows.iter()
        .take(crate::attribution::SHOWN)
        .map(|r| {
            let points = p
                .timeline
                .samples
                .iter()
                .filter(|s| s.x >= from && s.x <= to)
                .map(|s| (s.x, s.types.get(&r.label).map_or(0, |t| t.bytes)))
                .collect();
            (r.label.clone(), points)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Detail;

    /// `harness/tests/data/attribution/`: one profiled run of `RegisterWb lazy_unzip 100`
    /// (see the README there).
    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/attribution")
            .join(name)
    }

    fn profile(censuses: &str, window: (u64, u64)) -> Profile {
        let prof = std::fs::read_to_string(fixture("lazy_unzip-hc.prof")).expect("fixture");
        let timeline =
            crate::source::ghc::read_profile(&fixture(censuses), &ReadOptions::default())
                .expect("fixture reads");
        Profile {
            timeline,
            prof: read_prof(&prof).expect("fixture .prof reads"),
            window,
            marks: Vec::new(),
        }
    }

    /// The committed profiles, read and ranked, against the tables a failure would show.
    fn check(built: &str, expect: &str) {
        let found = analyse(&Analysis {
            closures: Some(":-".into()),
            retained: profile("lazy_unzip-hr.hp", (0, 19)),
            built: profile(built, (0, 19)),
            heap: None,
            own_files: vec!["haskell/RegisterWb.hs".into(), "haskell/Membound.hs".into()],
        })
        .expect("the fixture's growth is found");
        let exact = |v: Vec<i64>| format!("{v:?}");
        let got = format!(
            "{}exact bytes: retainers {}, built by {}\n",
            found.tables(Detail::Failure),
            exact(found.retainers.iter().map(|r| r.bytes).collect()),
            exact(found.built_by.iter().map(|r| r.bytes).collect()),
        );
        assert_eq!(got, expect, "\n--- got ---\n{got}");
    }

    const TABLES: &str = include_str!("../../tests/data/attribution/lazy_unzip.tables");

    #[test]
    fn retainer_and_cost_centre_growth_of_a_profiled_run() {
        check("lazy_unzip-hc.hp", TABLES);
    }

    #[test]
    fn the_eventlog_of_the_run_gives_the_same_builders() {
        check("lazy_unzip-hc.eventlog", TABLES);
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
