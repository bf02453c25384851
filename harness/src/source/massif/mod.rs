//! `profile = "massif"`: a malloc-based (C/C++) program run under valgrind massif, its
//! snapshots read by [`reader`] into a timeline of heap bytes per allocation site.
//!
//! The program runs as `valgrind --tool=massif` with [`MASSIF_OPTIONS`], through the launcher
//! and under the scenario's budget like every program. Massif writes `massif.out` only when the
//! program exits, so invariants are checked after the run, on every snapshot in order, and the
//! verdict is the one a live check would have reached; the bound on stopping is the run itself
//! (its budget's timeout and RSS limit still hold). See `docs/live.md`.

pub mod reader;

use super::command::{failure, launcher_command, program_status};
use super::supervise::{Root, Supervised};
use super::{judged, Censuses, Cut, RunConfig, RunOutput};
use crate::errors::RunError;
use crate::scenario::Scenario;
use crate::timeline::SampleSink;
use crate::Timeline;
pub use reader::{read_massif, sniff, MassifError};
use std::io::BufReader;
use std::path::Path;

/// Where massif writes its snapshots, relative to the run directory (the program's cwd).
pub const MASSIF_FILE: &str = "massif.out";

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
/// - `-q`: valgrind's banner stays out of the program's stderr tail.
pub const MASSIF_OPTIONS: &[&str] = &[
    "-q",
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
    let path = run_dir.join(MASSIF_FILE);
    let program = argv.first().map_or("", String::as_str);
    if !success || exit.killed.is_some() {
        // Whatever massif wrote is the timeline so far (nothing, if it was killed).
        let tl = read_massif_file(&path)
            .unwrap_or_else(|_| Timeline::new("massif", crate::XUnit::Snapshot));
        return Err(failure(program, exit, status, tl));
    }
    if !path.exists() {
        return Err(RunError::Profile {
            path,
            message: format!("`{program}` exited normally but valgrind wrote no massif output (hint: massif profiles programs that allocate with malloc/new; check that `valgrind --tool=massif {program}` runs, and that the program does not change its working directory or exec another program)"),
        });
    }
    let mut tl = read_massif_file(&path).map_err(|e| RunError::Profile {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if tl
        .samples
        .iter()
        .all(|s| s.live_bytes == 0 && s.types.is_empty())
    {
        // Nothing to judge: every heap bound would hold on it, whatever the program does.
        return Err(RunError::Profile {
            path,
            message: format!("massif saw no heap allocation by `{program}` in {} snapshot(s) (hint: massif sees malloc/new; a GHC program allocates its heap with mmap, so profile it with `profile = \"ghc-eventlog\"`, and any program's memory with `profile = \"rss\"`)", tl.samples.len()),
        });
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
