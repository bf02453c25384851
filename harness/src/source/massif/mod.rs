//! `profile = "massif"`: a malloc-based (C/C++) program run under valgrind massif, its
//! snapshots read by [`reader`] into a timeline of heap bytes per allocation site.
//!
//! The program runs as `valgrind --tool=massif` with [`MASSIF_OPTIONS`], through the launcher
//! and under the scenario's budget like every program. Massif writes `massif.out` only when the
//! program exits, so invariants are checked after the run, on every snapshot in order, and the
//! verdict is the one a live check would have reached; the bound on stopping is the run itself
//! (its budget's timeout and RSS limit still hold). See `docs/live.md`.

pub mod reader;

use super::launch::{failure, launcher_command, program_status};
use super::supervise::{Root, Supervised};
use super::{judged, Censuses, Cut, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::scenario::Scenario;
use crate::timeline::SampleSink;
use crate::Timeline;
pub use reader::{read_massif, sniff, MassifError};
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Where massif writes each process's snapshots, relative to the run directory (the program's
/// cwd): `massif.out.<pid>`, valgrind expanding `%p` in every process it follows.
pub const MASSIF_FILE: &str = "massif.out.%p";

/// The prefix of the files [`MASSIF_FILE`] names.
const MASSIF_PREFIX: &str = "massif.out.";

/// The options membound runs massif with, and why:
/// - `--detailed-freq=1`: every snapshot has its heap tree, so growth between any two of them
///   can be attributed to sites (the default, 10, leaves nine in ten with totals only);
/// - `--threshold=0`: every site is listed, however small: a leak starts small, and massif's
///   default (1%) would fold it into "below massif's threshold" until it is big;
/// - `--time-unit=B`: snapshots are spaced by bytes allocated, not instructions or wall time,
///   so a deterministic program's snapshots repeat bit for bit and the heap figures are exact;
/// - `--max-snapshots=100` (massif's default, written down): as snapshots fill, massif drops
///   every other one and doubles the interval, so a run of any length ends with 50 to 100
///   snapshots spread evenly over the bytes it allocated;
/// - `-q`: valgrind's banner stays out of the program's stderr tail;
/// - `--trace-children=yes`: a program started through a shell (`sh -c "prog 20"`), or that
///   execs or forks, is followed into every process, each writing its own file
///   ([`MASSIF_FILE`]): massif of the first process alone would measure the shell.
pub const MASSIF_OPTIONS: &[&str] = &[
    "-q",
    "--trace-children=yes",
    "--tool=massif",
    "--detailed-freq=1",
    "--threshold=0",
    "--time-unit=B",
    "--max-snapshots=100",
];

/// The massif file at `path` as a timeline.
pub fn read_massif_file(path: &Path) -> Result<Timeline, MassifError> {
    let f = std::fs::File::open(path)?;
    read_massif(BufReader::new(f))
}

/// One process's massif file, read.
struct Process {
    pid: u32,
    path: std::path::PathBuf,
    timeline: Timeline,
    peak: u64,
}

/// Every process's massif file in `run_dir` (`massif.out.<pid>`), in pid order.
fn process_files(run_dir: &Path) -> Vec<(u32, std::path::PathBuf)> {
    let mut found: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(run_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let pid = name.to_str()?.strip_prefix(MASSIF_PREFIX)?.parse().ok()?;
            Some((pid, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// A sink that keeps nothing: a process's timeline checked but not the run's.
struct Discard;

impl SampleSink for Discard {
    fn begin(&mut self, _: crate::XUnit) {}
    fn sample(&mut self, _: &crate::timeline::Sample) {}
}

/// Runs the program under massif, following every process it starts, and judges every
/// process's heap: each process's snapshots are a timeline of their own (their times are
/// bytes that process allocated, which no other process's times can be matched with), and
/// every one is checked against the invariants. The run's timeline, streamed into `sink` and
/// compared with the baseline, is the first process found violating one (by peak heap, then
/// pid), or, when none does, the one with the highest peak heap: the program, not the shell
/// that started it. The others are listed in the notes with their peaks.
pub(crate) fn run_massif(
    scenario: &Scenario,
    cfg: &RunConfig,
    run_dir: &Path,
    argv: &[String],
    sink: &mut dyn SampleSink,
) -> Result<RunOutput, RunError> {
    let mut full: Vec<String> = vec!["valgrind".into()];
    full.extend(MASSIF_OPTIONS.iter().map(|s| (*s).to_owned()));
    full.push(format!("--massif-out-file={MASSIF_FILE}"));
    full.extend(argv.iter().cloned());
    let cmd = launcher_command(cfg, run_dir, &full);
    let (sup, _child) = Supervised::spawn(cmd, scenario.budget.into(), Root::Launcher)?;
    let exit = sup.wait();
    let (status, success) = program_status(run_dir, &exit);
    let files = process_files(run_dir);
    let program = argv.first().map_or("", String::as_str);
    if !success || exit.killed.is_some() {
        // Whatever massif wrote is the timeline so far (nothing, if it was killed): the
        // process with the most heap.
        let tl = files
            .iter()
            .filter_map(|(_, p)| read_massif_file(p).ok())
            .max_by_key(peak_of)
            .unwrap_or_else(|| Timeline::new("massif", crate::XUnit::Snapshot));
        return Err(failure(program, exit, status, tl));
    }
    if files.is_empty() {
        return Err(RunError::Profile {
            path: run_dir.join(MASSIF_FILE),
            message: format!("`{program}` exited normally but valgrind wrote no massif output (hint: massif profiles programs that allocate with malloc/new; check that `valgrind --tool=massif {program}` runs, and that the program does not change its working directory)"),
        });
    }
    let mut processes = read_processes(files, program)?;
    // Highest peak first: the program a shell started comes before the shell.
    processes.sort_by(|a, b| b.peak.cmp(&a.peak).then(a.pid.cmp(&b.pid)));
    let chosen = first_violating(scenario, &processes)?;
    let listed: Vec<String> = processes
        .iter()
        .map(|p| {
            format!(
                "{} (pid {}) peak {}",
                p.timeline.facts.get("program").map_or("?", String::as_str),
                p.pid,
                crate::units::fmt_bytes(p.peak as f64)
            )
        })
        .collect();
    let count = processes.len();
    let mut tl = processes.swap_remove(chosen).timeline;
    if count > 1 {
        tl.notes.push(format!(
            "{count} processes ran under massif, each checked on its own snapshots; this timeline is {}'s: {}",
            tl.facts.get("program").map_or("?", String::as_str),
            listed.join(", ")
        ));
    }
    // The program's path lives under the build cache: only its name is a fact of the run.
    let name = Path::new(program)
        .file_name()
        .map_or_else(|| program.to_owned(), |n| n.to_string_lossy().into_owned());
    tl.facts.insert("program".into(), name);
    let samples = Censuses::Memory(std::mem::take(&mut tl.samples));
    let mut out = judged(scenario, tl, samples, Cut::AtViolation, sink)?;
    if let Some(v) = version() {
        out.toolchain.insert("valgrind".into(), v);
    }
    Ok(out)
}

/// Every process's massif file, read; refused when none saw a heap allocation (every heap
/// bound would hold on it, whatever the program does).
fn read_processes(files: Vec<(u32, PathBuf)>, program: &str) -> Result<Vec<Process>, RunError> {
    let mut processes = Vec::new();
    for (pid, path) in files {
        let timeline = read_massif_file(&path).map_err(|e| RunError::Profile {
            path: path.clone(),
            message: e.to_string(),
        })?;
        processes.push(Process {
            pid,
            peak: peak_of(&timeline),
            path,
            timeline,
        });
    }
    if processes.iter().all(|p| {
        p.timeline
            .samples
            .iter()
            .all(|s| s.live_bytes == 0 && s.types.is_empty())
    }) {
        // Nothing to judge: every heap bound would hold on it, whatever the program does.
        let snapshots: usize = processes.iter().map(|p| p.timeline.samples.len()).sum();
        return Err(RunError::Profile {
            path: processes[0].path.clone(),
            message: format!("massif saw no heap allocation by `{program}` in {snapshots} snapshot(s) of {} process(es) (hint: massif sees malloc/new; a GHC program allocates its heap with mmap, so profile it with `profile = \"ghc-eventlog\"`, and any program's memory with `profile = \"rss\"`)", processes.len()),
        });
    }
    Ok(processes)
}

/// The index of the first of `processes` (in their order) that violates an invariant; 0, the
/// highest peak, when none does or there is only one (then not checked here: the run's own
/// check does it).
fn first_violating(scenario: &Scenario, processes: &[Process]) -> Result<usize, RunError> {
    let mut chosen = 0;
    if processes.len() > 1 {
        for (i, p) in processes.iter().enumerate() {
            let out = judged(
                scenario,
                p.timeline.clone(),
                Censuses::Memory(p.timeline.samples.clone()),
                Cut::AtViolation,
                &mut Discard,
            )?;
            if out.stopped_at.is_some() {
                chosen = i;
                break;
            }
        }
    }
    Ok(chosen)
}

/// A timeline's highest heap.
fn peak_of(tl: &Timeline) -> u64 {
    tl.samples.iter().map(|s| s.live_bytes).max().unwrap_or(0)
}

fn version() -> Option<String> {
    let out = std::process::Command::new("valgrind")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
