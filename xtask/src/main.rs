//! `cargo xtask`: the workspace's chores, runnable with nothing but cargo.
//!
//! `cargo xtask run [FILTER]`, `bless [FILTER]`, `report …`, `history …`, `explore NAME` and `profile FILE`
//! forward to the `membound` command line with the workspace's own directories (`scenarios/`,
//! `baselines/`, `target/membound/`), so they work from any subdirectory. Like cargo-insta in front of insta,
//! this crate holds no harness logic: what a run or a bless means lives in the library, and
//! the CLI tests exercise exactly the code `cargo xtask` runs.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  run [FILTER] [--exact] [-j N] [--on-violation stop|pause] [--junit FILE]
                      run scenarios against their baselines, write the memory report
                      (target/membound/report.md and report.html); --exact matches whole
                      names only, -j runs N at once (default: one per CPU), --junit also
                      writes the verdicts as JUnit XML
  bless [FILTER] [--force]
                      accept new figures: writes only baselines that are new or moved
                      beyond tolerance (--force rewrites them all)
  report [FILTER] [--base REF] [--format markdown|html] [-o FILE] [--results DIR]...
                      the memory diff of the last run against a git ref's baselines;
                      --results (repeatable) merges the results of CI partitions
  history [FILTER] [--metric NAME] [--since REF] [--format markdown|html] [-o FILE]
                      each baseline metric at every commit that changed it, from git
  profile FILE [--json] [--scenario FILE]
                      summarise an eventlog, .hp, +RTS -t or valgrind massif.out file
  check [FILE...]     validate scenario files without running them
  explore NAME [--lengths N,M]
                      run a scenario at several lengths and propose the invariants it
                      keeps (exit 1 when a label grows: a suspected leak)
  diagnose FILTER     run GHC scenarios and attribute their violations with a profiled
                      rerun: every retainer set and cost-centre stack that grew

FILTER: a scenario's name selects only it; a glob (register_wb_*) selects whole names;
other text selects the names that contain it. `cargo xtask <task> --help` shows its options.

Every task takes --scenarios DIR (default scenarios/), --baselines DIR (default: baselines/
beside the scenarios directory) and --work-dir DIR (default target/membound/).";

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(sub) = args.first() else {
        bail!("{USAGE}");
    };
    if matches!(sub.as_str(), "--help" | "-h" | "help") {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    if !matches!(
        sub.as_str(),
        "run" | "bless" | "report" | "history" | "profile" | "check" | "diagnose" | "explore"
    ) {
        bail!("unknown task `{sub}`\n{USAGE}");
    }
    let root = workspace_root()?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // `profile FILE` and `check FILE` take paths relative to where the user stands.
    let cwd = std::env::current_dir().context("reading the current directory")?;
    // Paths the user typed are relative to where they stand, but the CLI runs at the root:
    // input files that exist, and the values of the options that name files or directories,
    // are made absolute.
    let mut rest: Vec<String> = Vec::new();
    for (i, a) in args.iter().enumerate().skip(1) {
        let p = Path::new(a);
        let after_output = matches!(
            args[i - 1].as_str(),
            "-o" | "--output"
                | "--results"
                | "--junit"
                | "--scenarios"
                | "--baselines"
                | "--work-dir"
        );
        let input =
            matches!(sub.as_str(), "profile" | "check") && !a.starts_with('-') && p.exists();
        if (after_output || input) && p.is_relative() {
            rest.push(cwd.join(p).to_string_lossy().into_owned());
        } else {
            rest.push(a.clone());
        }
    }
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "run",
            "--quiet",
            "--package",
            "membound",
            "--bin",
            "membound",
            "--",
        ])
        // Relative to the root, where cargo runs the CLI: reports and failures then show
        // `scenarios/x.toml`, not where this checkout happens to live. The baselines are not
        // named: they follow the scenarios (`<scenarios>/../baselines`), so that a user's
        // `--scenarios OTHER/scenarios` (which overrides this one) is judged against
        // OTHER/baselines, never against this repository's.
        .args(["--scenarios", "scenarios"])
        // Hints in failures then name the command the user types.
        .args(["--hint-command", "cargo xtask"])
        .arg("--work-dir")
        .arg(target.join("membound"))
        .arg(sub)
        .args(rest)
        .status()
        .context("running cargo")?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}
