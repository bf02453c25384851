//! External programs: built, run through the launcher with their profile kind's RTS options,
//! and their profile read into a `Timeline`.

use super::build::build;
use super::probe;
use super::supervise::Supervised;
use super::{Event, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::measure::invariant::check_timeline;
use crate::scenario::{CommandRun, ProfileKind, Scenario};
use crate::{Timeline, XUnit};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where an external program writes its eventlog, relative to its run directory.
const EVENTLOG_FILE: &str = "profile.eventlog";
/// Where it writes `+RTS -t --machine-readable` statistics.
const STATS_FILE: &str = "rts.stats";

pub(crate) fn run_command(
    scenario: &Scenario,
    c: &CommandRun,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunOutput, RunError> {
    let exe = match &c.build {
        Some(b) => Some(build(b, cfg, on_event)?),
        None => None,
    };
    let work = std::path::absolute(&cfg.work_dir).map_err(|source| RunError::Io {
        path: cfg.work_dir.clone(),
        source,
    })?;
    let run_dir = work.join("runs").join(&scenario.name);
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir).map_err(|source| RunError::Io {
        path: run_dir.clone(),
        source,
    })?;
    let eventlog = run_dir.join(EVENTLOG_FILE);
    let stats = run_dir.join(STATS_FILE);
    let mut argv: Vec<String> = c
        .argv
        .iter()
        .map(|a| match &exe {
            Some(e) => a.replace("{build}", &e.to_string_lossy()),
            None => a.clone(),
        })
        .collect();
    // The options that make GHC's censuses deterministic: a census at every major GC (-i0)
    // with a fixed small allocation area, as GHC's own testsuite does for residency tests.
    let rts: Vec<String> = match c.profile {
        ProfileKind::GhcEventlog => vec![
            "+RTS".into(),
            "-hT".into(),
            "-i0".into(),
            "-A256k".into(),
            "-l".into(),
            // Relative to the run directory (the child's cwd): the program's own view of its
            // arguments must not depend on where the checkout lives.
            format!("-ol{}", EVENTLOG_FILE),
            format!("-t{}", STATS_FILE),
            "--machine-readable".into(),
            "-RTS".into(),
        ],
        ProfileKind::GhcHp => vec![
            "+RTS".into(),
            "-hT".into(),
            "-i0".into(),
            "-A256k".into(),
            format!("-t{}", STATS_FILE),
            "--machine-readable".into(),
            "-RTS".into(),
        ],
    };
    argv.extend(rts);
    let program = if Path::new(&argv[0]).is_relative() && argv[0].contains('/') {
        cfg.scenarios_dir
            .join(&argv[0])
            .to_string_lossy()
            .into_owned()
    } else {
        argv[0].clone()
    };
    // Through the launcher, so that the program's peak RSS is its own (see probe::EXEC_ARG).
    let rss_file = run_dir.join("peak_rss");
    let mut cmd = Command::new(&cfg.probe_program);
    cmd.arg(probe::EXEC_ARG).arg(&rss_file).arg(&program);
    cmd.args(&argv[1..])
        .current_dir(&run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let (sup, _child) = Supervised::spawn(cmd, scenario.budget)?;
    let (status, ok, polled_rss, killed, stderr_tail) = sup.wait();
    let peak_rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(polled_rss);
    let profile_path = match c.profile {
        ProfileKind::GhcEventlog => eventlog,
        ProfileKind::GhcHp => {
            find_with_extension(&run_dir, "hp").unwrap_or_else(|| run_dir.join("profile.hp"))
        }
    };
    let opts = crate::source::ghc::ReadOptions {
        closure_sizes: c.closure_sizes.clone(),
    };
    let read = crate::source::ghc::read_profile(&profile_path, &opts);
    let mut tl = match read {
        Ok(tl) => tl,
        Err(e) if ok => {
            return Err(RunError::Profile {
                path: profile_path,
                message: e.to_string(),
            })
        }
        Err(_) => Timeline::new("ghc", XUnit::Census),
    };
    if !ok && tl.samples.is_empty() {
        // GHC 9.0 buffers its eventlog (no flush interval before 9.2), so a killed program's log
        // may hold only its header, while the `.hp` file it writes beside it is flushed census
        // by census: the timeline so far is there.
        if let Some(hp) = find_with_extension(&run_dir, "hp") {
            if let Ok(from_hp) = crate::source::ghc::read_profile(&hp, &opts) {
                if !from_hp.samples.is_empty() {
                    tl = from_hp;
                    tl.notes.push("the eventlog was cut off before its first census; read the .hp file GHC wrote beside it".into());
                }
            }
        }
    }
    tl.totals.insert("rss.peak".into(), peak_rss);
    if let Ok(text) = std::fs::read_to_string(&stats) {
        if let Ok(st) = crate::source::ghc::rts_stats::RtsStats::parse(&text) {
            st.merge_into(&mut tl);
        }
    }
    if !ok || killed.is_some() {
        return Err(RunError::Child {
            what: killed.unwrap_or_else(|| format!("`{}` failed", argv[0])),
            status,
            stderr_tail,
            timeline: Box::new(tl),
        });
    }
    let (outcomes, stopped_at) = check_timeline(scenario, &tl);
    if let Some(x) = stopped_at {
        // The same view a live run would have had: nothing after the first violation.
        tl.samples.retain(|s| s.x <= x);
    }
    let mut toolchain = BTreeMap::new();
    if let Some(v) = tl.facts.get("rts_ident") {
        toolchain.insert("ghc_rts".into(), v.clone());
    }
    Ok(RunOutput {
        timeline: tl,
        outcomes,
        stopped_at,
        toolchain,
    })
}

fn find_with_extension(dir: &Path, ext: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == ext))
}
