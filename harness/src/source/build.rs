//! Build steps of external programs, cached by the hash of their command and inputs under
//! `<work>/build/<hash>/`, one builder at a time per hash. A build step runs supervised like
//! the program it builds (own process group, through the launcher, under its own timeout), so a
//! hanging compiler cannot hang membound.

use super::probe::{self, LauncherReport};
use super::supervise::{describe_status, Limits, Root, Supervised};
use super::{Event, RunConfig};
use crate::errors::RunError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// FNV-1a, for cache keys.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// Builds an external program unless a build with the same command and inputs is cached (a
/// cabal build is left to cabal, see `cabal`). Returns the executable's path.
pub fn build(
    c: &crate::scenario::Build,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, RunError> {
    match &c.cabal {
        Some(target) => super::cabal::build(target, c, super::cabal::Flavour::Plain, cfg, on_event),
        None => build_steps(std::slice::from_ref(&c.command), c, cfg, on_event),
    }
}

/// Builds with several commands run in order in one scratch directory (the profiled build's
/// two GHC steps), cached like [`build`] by the hash of all of them and the inputs.
pub(crate) fn build_steps(
    commands: &[Vec<String>],
    c: &crate::scenario::Build,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, RunError> {
    let h = build_key(commands, c, cfg)?;
    let work = std::path::absolute(&cfg.work_dir).map_err(|source| RunError::Io {
        path: cfg.work_dir.clone(),
        source,
    })?;
    let builds = work.join("build");
    std::fs::create_dir_all(&builds).map_err(|source| RunError::Io {
        path: builds.clone(),
        source,
    })?;
    let dir = builds.join(format!("{h:016x}"));
    let exe = dir.join("out");
    if exe.is_file() {
        return Ok(exe);
    }
    // Scenarios sharing a program run in parallel threads (cargo test) or processes (nextest):
    // one builds it while the others wait on the lock, then find it cached.
    let lock = lock_exclusive(&builds.join(format!("{h:016x}.lock")))?;
    if exe.is_file() {
        return Ok(exe);
    }
    on_event(Event::Building(
        commands
            .iter()
            .map(|c| c.join(" "))
            .collect::<Vec<_>>()
            .join(" && "),
    ));
    // Build into a scratch directory and rename it into place: an interrupted build is never
    // mistaken for a cached one.
    let scratch = builds.join(format!("{h:016x}.tmp"));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|source| RunError::Io {
        path: scratch.clone(),
        source,
    })?;
    let subst = |a: &String| {
        a.replace("{out}", &scratch.join("out").to_string_lossy())
            .replace("{outdir}", &scratch.to_string_lossy())
    };
    for command in commands {
        let argv: Vec<String> = command.iter().map(subst).collect();
        run_build_step(
            &argv,
            c.timeout,
            cfg,
            &builds.join(format!("{h:016x}.launcher")),
        )?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&scratch, &dir).map_err(|source| RunError::Io {
        path: dir.clone(),
        source,
    })?;
    drop(lock);
    Ok(exe)
}

/// The cache key of a build: the hash of its commands and of its inputs' names and contents,
/// so a build is reused exactly when nothing it reads has changed.
fn build_key(
    commands: &[Vec<String>],
    c: &crate::scenario::Build,
    cfg: &RunConfig,
) -> Result<u64, RunError> {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (i, command) in commands.iter().enumerate() {
        if i > 0 {
            // A separator no single command hashes: one command is keyed as before.
            fnv(&mut h, &[1]);
        }
        for a in command {
            fnv(&mut h, a.as_bytes());
            fnv(&mut h, &[0]);
        }
    }
    for input in super::inputs::expand(&cfg.scenarios_dir, &c.inputs)? {
        let bytes = std::fs::read(&input.path).map_err(|source| RunError::Io {
            path: input.path.clone(),
            source,
        })?;
        fnv(&mut h, input.name.as_bytes());
        fnv(&mut h, &bytes);
    }
    Ok(h)
}

/// Runs one build command through the launcher under its timeout (no RSS budget: compilers
/// need what they need).
fn run_build_step(
    argv: &[String],
    timeout: Duration,
    cfg: &RunConfig,
    report: &Path,
) -> Result<(), RunError> {
    run_step(
        argv,
        &cfg.scenarios_dir,
        Stdio::null(),
        timeout,
        cfg,
        report,
    )
}

/// Runs one build command in `cwd` through the launcher under its timeout, its stdout to
/// `stdout`; a failure keeps the head and tail of its stderr.
pub(crate) fn run_step(
    argv: &[String],
    cwd: &Path,
    stdout: Stdio,
    timeout: Duration,
    cfg: &RunConfig,
    report: &Path,
) -> Result<(), RunError> {
    let _ = std::fs::remove_file(report);
    let mut cmd = Command::new(&cfg.probe_program);
    cmd.arg(probe::EXEC_ARG)
        .arg(report)
        .args(argv)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(stdout);
    let limits = Limits {
        timeout,
        max_rss: None,
    };
    let (sup, _child) = Supervised::spawn(cmd, limits, Root::Launcher)?;
    let exit = sup.wait();
    let (status, success) = match LauncherReport::read(report).and_then(|r| r.status) {
        Some(s) => (
            describe_status(s),
            libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0,
        ),
        None => (exit.status.clone(), exit.success),
    };
    let _ = std::fs::remove_file(report);
    if success && exit.killed.is_none() {
        return Ok(());
    }
    Err(RunError::Build {
        command: argv.join(" "),
        status: match exit.killed {
            Some(k) => format!("{k} ({status})"),
            None => status,
        },
        stderr_tail: exit.stderr,
    })
}

/// Takes an exclusive lock on the file at `path` (made if missing), waiting for whoever holds
/// it: builders of one program, or of one cabal project, take turns. Released when the returned
/// file is dropped (closed).
pub(crate) fn lock_exclusive(path: &std::path::Path) -> Result<std::fs::File, RunError> {
    let lock = std::fs::File::create(path).map_err(|source| RunError::Io {
        path: path.to_owned(),
        source,
    })?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(RunError::Io {
            path: path.to_owned(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(lock)
}
