//! Build steps of external programs, cached by the hash of their command and inputs under
//! `<work>/build/<hash>/`, one builder at a time per hash.

use super::supervise::STDERR_TAIL_LINES;
use super::{Event, RunConfig};
use crate::errors::RunError;
use std::path::PathBuf;
use std::process::Command;

/// FNV-1a, for cache keys.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// Builds an external program unless a build with the same command and inputs is cached.
/// Returns the executable's path.
pub fn build(
    c: &crate::scenario::Build,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, RunError> {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for a in &c.command {
        fnv(&mut h, a.as_bytes());
        fnv(&mut h, &[0]);
    }
    for input in &c.inputs {
        let p = cfg.scenarios_dir.join(input);
        let bytes = std::fs::read(&p).map_err(|source| RunError::Io {
            path: p.clone(),
            source,
        })?;
        fnv(&mut h, input.to_string_lossy().as_bytes());
        fnv(&mut h, &bytes);
    }
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
    let lock_path = builds.join(format!("{h:016x}.lock"));
    let lock = std::fs::File::create(&lock_path).map_err(|source| RunError::Io {
        path: lock_path.clone(),
        source,
    })?;
    // SAFETY: flock on a descriptor we own; released when `lock` is dropped (closed).
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(RunError::Io {
            path: lock_path,
            source: std::io::Error::last_os_error(),
        });
    }
    if exe.is_file() {
        return Ok(exe);
    }
    on_event(Event::Building(c.command.join(" ")));
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
    let argv: Vec<String> = c.command.iter().map(subst).collect();
    let output = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(&cfg.scenarios_dir)
        .output()
        .map_err(|source| RunError::Spawn {
            program: argv[0].clone(),
            source,
        })?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = text.lines().collect();
        return Err(RunError::Build {
            command: argv.join(" "),
            status: output.status.to_string(),
            stderr_tail: lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n"),
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&scratch, &dir).map_err(|source| RunError::Io {
        path: dir.clone(),
        source,
    })?;
    drop(lock);
    Ok(exe)
}
