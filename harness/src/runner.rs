//! `run`: turns a `Scenario` into a `Timeline`, in a child process, under a budget.
//!
//! The only module that spawns processes. Simulator scenarios run in a probe child (the front
//! end's own binary with [`crate::probe::PROBE_ARG`]) that streams samples; invariants are
//! checked as each sample arrives and the child is stopped at the first violation. External
//! programs are built (cached by the hash of their inputs), run with the profiling options of
//! their profile kind, and their profile read afterwards. Every child runs in its own process
//! group, killed whole on timeout or when its RSS exceeds the budget; nothing is left behind.
//! The runner reports progress as events and never prints.

use crate::errors::RunError;
use crate::invariant::{check_timeline, Checker, Outcome};
use crate::probe::{self, Message, Request};
use crate::scenario::{CommandRun, ProfileKind, Run, Scenario, SimRun};
use crate::{Timeline, XUnit};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where and how the runner works. Built once by the front end from its environment.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The executable that serves as probe child (the front end's own binary).
    pub probe_program: PathBuf,
    /// The scenarios directory (build inputs and commands are relative to it).
    pub scenarios_dir: PathBuf,
    /// The harness's scratch directory, e.g. `target/membound`: builds, profiles.
    pub work_dir: PathBuf,
}

/// Progress of a run, for reporters.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Building an external program.
    Building(String),
    /// A sample arrived at `x` of about `end`.
    Sample {
        /// Its position.
        x: u64,
        /// The run's expected end, when known.
        end: Option<u64>,
    },
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Every sample up to the end, or up to the first violation.
    pub timeline: Timeline,
    /// Each invariant's outcome.
    pub outcomes: Vec<(String, Outcome)>,
    /// Where the run was stopped by a violation.
    pub stopped_at: Option<u64>,
    /// Toolchain facts of the run (`ghc`), merged with the harness's own.
    pub toolchain: BTreeMap<String, String>,
}

/// Runs a scenario to its timeline, checking invariants on the way.
pub fn run(
    scenario: &Scenario,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunOutput, RunError> {
    match &scenario.run {
        Run::Simulator(s) => run_sim(scenario, s, cfg, on_event),
        Run::Command(c) => run_command(scenario, c, cfg, on_event),
    }
}

/// Checks the tools a scenario requires. `Err` holds a reason with the install command.
pub fn check_requirements(scenario: &Scenario) -> Result<(), String> {
    let Run::Command(c) = &scenario.run else {
        return Ok(());
    };
    for req in &c.requires {
        // A requirement is a program on PATH (`ghc`) or, failing that, a GHC package.
        let found = which(req).is_some() || ghc_package_installed(req);
        if !found {
            return Err(format!(
                "`{req}` is not installed (hint: `sudo apt-get install -y ghc libghc-clash-prelude-dev` on Debian/Ubuntu)"
            ));
        }
    }
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn ghc_package_installed(pkg: &str) -> bool {
    Command::new("ghc-pkg")
        .args(["--simple-output", "field", pkg, "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A child in its own process group, with a watchdog enforcing the budget and a thread keeping
/// the tail of its stderr.
struct Supervised {
    pid: i32,
    killed: Arc<Mutex<Option<String>>>,
    done: Arc<AtomicBool>,
    peak_rss_polled: Arc<AtomicU64>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

const STDERR_TAIL_LINES: usize = 30;

impl Supervised {
    fn spawn(
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
    fn kill(&self) {
        kill_group(self.pid);
    }

    /// Reaps the child; returns its exit description, success, and peak RSS in bytes.
    fn wait(self) -> (String, bool, u64, Option<String>, String) {
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

fn run_sim(
    scenario: &Scenario,
    s: &SimRun,
    cfg: &RunConfig,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunOutput, RunError> {
    let request = Request {
        circuit: s.circuit.clone(),
        params: s
            .params
            .iter()
            .map(|(k, v)| {
                let j = match v {
                    sim::circuits::ParamValue::Int(i) => serde_json::Value::from(*i),
                    sim::circuits::ParamValue::Str(t) => serde_json::Value::from(t.clone()),
                };
                (k.clone(), j)
            })
            .collect(),
        cycles: s.cycles,
        sample_every: s.sample_every,
    };
    let request_json =
        serde_json::to_string(&request).map_err(|e| RunError::Protocol(e.to_string()))?;
    let mut cmd = Command::new(&cfg.probe_program);
    cmd.arg(probe::PROBE_ARG)
        .arg(request_json)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let (sup, mut child) = Supervised::spawn(cmd, scenario.budget)?;
    let mut acks = child
        .stdin
        .take()
        .ok_or_else(|| RunError::Protocol("no stdin".into()))?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| RunError::Protocol("no stdout".into()))?;
    let mut tl = Timeline::new(format!("sim:{}", s.circuit), XUnit::Cycles);
    tl.facts.insert("circuit".into(), s.circuit.clone());
    let mut checker = Checker::new(scenario, s.cycles, &[]);
    let mut stopped_at = None;
    let mut done = None;
    let mut protocol_error = None;
    let mut child_peak_rss = None;
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        match probe::parse_line(&line) {
            Ok(Message::Sample(sample)) => {
                on_event(Event::Sample {
                    x: sample.x,
                    end: Some(s.cycles),
                });
                let violated = checker.check(&sample).is_some();
                let x = sample.x;
                tl.samples.push(sample);
                // Stop at the first violation: the child reads this before its next sample and
                // answers with its peak RSS. The watchdog still bounds the wait.
                let answer: &[u8] = if violated && stopped_at.is_none() {
                    b"s"
                } else {
                    b"c"
                };
                if violated {
                    stopped_at.get_or_insert(x);
                }
                if acks.write_all(answer).and_then(|_| acks.flush()).is_err() {
                    break;
                }
            }
            Ok(Message::Done {
                transactions,
                mismatches,
                first_mismatch,
                peak_rss,
            }) => {
                done = Some((transactions, mismatches, first_mismatch));
                child_peak_rss = peak_rss;
            }
            Ok(Message::Stopped { cycle, peak_rss }) => {
                child_peak_rss = peak_rss;
                tl.facts
                    .insert("stopped_at_cycle".into(), cycle.to_string());
            }
            Err(e) => {
                protocol_error = Some(e);
                sup.kill();
                break;
            }
        }
    }
    let (status, ok, peak_rss, killed, stderr_tail) = sup.wait();
    tl.totals.insert(
        "rss.peak".into(),
        child_peak_rss.unwrap_or(peak_rss).max(peak_rss),
    );
    let outcomes = checker.outcomes();
    if stopped_at.is_none() {
        let what = if let Some(k) = killed {
            Some(k)
        } else if let Some(e) = protocol_error {
            Some(format!("probe protocol error: {e}"))
        } else if !ok {
            Some("the probe child failed".to_owned())
        } else if done.is_none() {
            Some("the probe child ended before finishing the run".to_owned())
        } else {
            None
        };
        if let Some(what) = what {
            return Err(RunError::Child {
                what,
                status,
                stderr_tail,
                timeline: Box::new(tl),
            });
        }
    }
    if let Some((transactions, mismatches, first)) = done {
        tl.totals.insert("transactions".into(), transactions);
        if mismatches > 0 {
            return Err(RunError::Child {
                what: format!(
                    "the circuit's scoreboard found {mismatches} mismatch(es) in {transactions} transactions; first: {}",
                    first.unwrap_or_default()
                ),
                status,
                stderr_tail,
                timeline: Box::new(tl),
            });
        }
    }
    Ok(RunOutput {
        timeline: tl,
        outcomes,
        stopped_at,
        toolchain: BTreeMap::new(),
    })
}

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

/// Where an external program writes its eventlog, relative to its run directory.
const EVENTLOG_FILE: &str = "profile.eventlog";
/// Where it writes `+RTS -t --machine-readable` statistics.
const STATS_FILE: &str = "rts.stats";

fn run_command(
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
    let opts = crate::ghc::ReadOptions {
        closure_sizes: c.closure_sizes.clone(),
    };
    let read = crate::ghc::read_profile(&profile_path, &opts);
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
            if let Ok(from_hp) = crate::ghc::read_profile(&hp, &opts) {
                if !from_hp.samples.is_empty() {
                    tl = from_hp;
                    tl.notes.push("the eventlog was cut off before its first census; read the .hp file GHC wrote beside it".into());
                }
            }
        }
    }
    tl.totals.insert("rss.peak".into(), peak_rss);
    if let Ok(text) = std::fs::read_to_string(&stats) {
        if let Ok(st) = crate::rts_stats::RtsStats::parse(&text) {
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
