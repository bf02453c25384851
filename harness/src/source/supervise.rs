//! Supervision of the children a run starts: each in its own process group, under a timeout
//! and an RSS budget enforced by a watchdog thread, with the tail of its stderr kept for the
//! failure. Also the `/proc` readings the budget and the probe use.

use crate::errors::RunError;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child in its own process group, with a watchdog enforcing the budget and a thread keeping
/// the tail of its stderr.
pub(crate) struct Supervised {
    pid: i32,
    killed: Arc<Mutex<Option<String>>>,
    done: Arc<AtomicBool>,
    peak_rss_polled: Arc<AtomicU64>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

pub(crate) const STDERR_TAIL_LINES: usize = 30;

impl Supervised {
    pub(crate) fn spawn(
        mut cmd: Command,
        budget: crate::scenario::Budget,
    ) -> Result<(Supervised, std::process::Child), RunError> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        cmd.process_group(0).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|source| RunError::Spawn { program, source })?;
        let pid = child.id() as i32;
        let killed = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut threads = Vec::new();
        if let Some(err) = child.stderr.take() {
            let tail = Arc::clone(&tail);
            threads.push(std::thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    if t.len() == STDERR_TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(line);
                }
            }));
        }
        {
            let (killed, done, peak) = (Arc::clone(&killed), Arc::clone(&done), Arc::clone(&peak));
            threads.push(std::thread::spawn(move || {
                let start = Instant::now();
                while !done.load(Ordering::Acquire) {
                    let rss = proc_status_bytes(&pid.to_string(), "VmRSS:").unwrap_or(0);
                    let hwm = proc_status_bytes(&pid.to_string(), "VmHWM:").unwrap_or(0);
                    peak.fetch_max(hwm.max(rss), Ordering::Relaxed);
                    let why = if start.elapsed() > budget.timeout {
                        Some(format!("timed out after {:.0?}", budget.timeout))
                    } else if rss > budget.max_rss {
                        Some(format!(
                            "killed: RSS {} exceeds the budget of {}",
                            crate::units::fmt_bytes(rss as f64),
                            crate::units::fmt_bytes(budget.max_rss as f64)
                        ))
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        *killed.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                        kill_group(pid);
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }));
        }
        Ok((
            Supervised {
                pid,
                killed,
                done,
                peak_rss_polled: peak,
                stderr_tail: tail,
                threads,
            },
            child,
        ))
    }

    /// Kills the whole group (used when a violation stops a run early).
    pub(crate) fn kill(&self) {
        kill_group(self.pid);
    }

    /// Reaps the child; returns its exit description, success, and peak RSS in bytes.
    pub(crate) fn wait(self) -> (String, bool, u64, Option<String>, String) {
        let mut status = 0;
        // Not wait4's ru_maxrss: it starts from the forking parent's high-water mark. The peak
        // is the polled VmHWM, the probe's own report, or the launcher's measurement.
        // SAFETY: pid is our child; the pointer is valid for the call.
        let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
        self.done.store(true, Ordering::Release);
        // Anything else left in the group (a program's own children) goes too.
        kill_group(self.pid);
        for t in self.threads {
            let _ = t.join();
        }
        let peak = self.peak_rss_polled.load(Ordering::Relaxed);
        let (desc, ok) = if r < 0 {
            ("unknown status".to_owned(), false)
        } else if libc::WIFEXITED(status) {
            let code = libc::WEXITSTATUS(status);
            (format!("exit status {code}"), code == 0)
        } else if libc::WIFSIGNALED(status) {
            (
                format!("killed by signal {}", libc::WTERMSIG(status)),
                false,
            )
        } else {
            ("stopped".to_owned(), false)
        };
        let killed = self
            .killed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let tail = self
            .stderr_tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        (desc, ok, peak, killed, tail)
    }
}

fn kill_group(pid: i32) {
    // SAFETY: signalling a process group we created; a stale group id only yields ESRCH.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// A `/proc/<pid>/status` field in bytes (`VmRSS`, `VmHWM`).
fn proc_status_bytes(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// This process's peak RSS since exec (`VmHWM`): unlike `ru_maxrss`, it does not inherit the
/// parent's high-water mark across fork, so it does not depend on which front end ran it.
pub fn own_peak_rss() -> Option<u64> {
    proc_status_bytes("self", "VmHWM:")
}
