//! What every external program's run shares, whatever it is profiled by: the program built and
//! given a fresh run directory ([`Prepared`]), its command line, the launcher it runs through
//! (see [`probe::launcher_main`](super::probe)), its own exit status as the launcher reported
//! it, and the error of a program that failed, with its figures so far.
//!
//! A leaf among the runs: `command` (GHC programs), `rss` and `massif` import it, and it imports
//! none of them.

use super::build::build;
use super::probe::{self, LauncherReport};
use super::supervise::{describe_status, Exit};
use super::{Event, RunConfig};
use crate::errors::RunError;
use crate::scenario::{CommandRun, OnViolation, Scenario};
use crate::Timeline;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the launcher writes its [`LauncherReport`], relative to the run directory.
pub(crate) const LAUNCHER_FILE: &str = "launcher";
/// Where `Membound.marker` (scenarios/haskell/Membound.hs) records markers for the watcher;
/// passed to the program in [`MARKS_ENV`].
pub(crate) const MARKS_FILE: &str = "markers";
/// The environment variable naming [`MARKS_FILE`] to the program.
pub(crate) const MARKS_ENV: &str = "MEMBOUND_MARKERS";

/// An external program ready to start: built, with an empty run directory, and what it does
/// at a violation settled.
pub(crate) struct Prepared {
    /// The built executable, when the scenario has a `[build]` step (`{build}` in its command).
    pub exe: Option<PathBuf>,
    /// The program's working directory, where it writes its profiles.
    pub run_dir: PathBuf,
    /// The scenario's `on_violation`, or the front end's override of it.
    pub on_violation: OnViolation,
}

impl Prepared {
    /// Refuses a pause nobody could continue, builds the program and empties its run
    /// directory.
    pub fn new(
        scenario: &Scenario,
        c: &CommandRun,
        cfg: &RunConfig,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Prepared, RunError> {
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
        Ok(Prepared {
            exe,
            run_dir,
            on_violation,
        })
    }

    /// The program and its arguments with `{build}` substituted; a relative program path with
    /// a `/` is relative to the scenarios directory.
    pub fn plain_argv(&self, c: &CommandRun, cfg: &RunConfig) -> Vec<String> {
        let mut argv: Vec<String> = c
            .argv
            .iter()
            .map(|a| match &self.exe {
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
fn figures_so_far(tl: &Timeline) -> String {
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
        let mut types: Vec<(&crate::timeline::Label, u64)> =
            last.types.iter().map(|(l, t)| (l, t.bytes)).collect();
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
