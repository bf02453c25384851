//! `CountingJemalloc` and the probe child: the simulator run inside its own process, streaming
//! one `Sample` per interval to the parent as JSON lines.
//!
//! The child reads exact figures (live bytes, the exact peak since the last sample, allocation
//! count) from a counting wrapper around jemalloc, jemalloc's own statistics after an epoch
//! advance, its RSS, and the simulator's census. After each sample it waits for the parent's
//! go-ahead, so a parent that finds a violation stops the child within one sample interval.
//! This module never decides anything about invariants or baselines.

use crate::{JemallocStats, Sample, SiteSample};
use serde::{Deserialize, Serialize};
use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tikv_jemallocator::Jemalloc;

/// The hidden first argument that turns a front-end binary into a probe child.
pub const PROBE_ARG: &str = "__membound-probe";

static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

/// jemalloc with exact counters of live bytes, peak live bytes and allocations.
///
/// Install it in every front-end binary (`#[global_allocator]`), so that the same binary can
/// serve as a probe child. The counters are updated with plain relaxed loads and stores rather
/// than read-modify-write instructions: the probe child simulates on one thread, where this is
/// exact and costs no bus lock; in a multi-threaded parent the counters are approximate and
/// never read.
pub struct CountingJemalloc;

impl CountingJemalloc {
    /// The allocator, for `#[global_allocator] static A: CountingJemalloc = CountingJemalloc::new();`.
    pub const fn new() -> Self {
        CountingJemalloc
    }
}

impl Default for CountingJemalloc {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn grow(n: u64) {
    let live = LIVE.load(Relaxed).wrapping_add(n);
    LIVE.store(live, Relaxed);
    if live > PEAK.load(Relaxed) {
        PEAK.store(live, Relaxed);
    }
}

#[inline]
fn shrink(n: u64) {
    LIVE.store(LIVE.load(Relaxed).wrapping_sub(n), Relaxed);
}

// SAFETY: every call is forwarded unchanged to jemalloc, which upholds GlobalAlloc's contract;
// the wrapper only updates counters.
unsafe impl GlobalAlloc for CountingJemalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Jemalloc.alloc(layout) };
        if !p.is_null() {
            ALLOCS.store(ALLOCS.load(Relaxed) + 1, Relaxed);
            grow(layout.size() as u64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Jemalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCS.store(ALLOCS.load(Relaxed) + 1, Relaxed);
            grow(layout.size() as u64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { Jemalloc.dealloc(ptr, layout) };
        shrink(layout.size() as u64);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Jemalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCS.store(ALLOCS.load(Relaxed) + 1, Relaxed);
            shrink(layout.size() as u64);
            grow(new_size as u64);
        }
        p
    }
}

/// The allocator's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Bytes live now.
    pub live: u64,
    /// Highest `live` since the last [`reset_peak`].
    pub peak: u64,
    /// Allocations (including reallocations) so far.
    pub allocations: u64,
}

/// Reads the counters.
pub fn counters() -> Counters {
    Counters {
        live: LIVE.load(Relaxed),
        peak: PEAK.load(Relaxed),
        allocations: ALLOCS.load(Relaxed),
    }
}

/// Starts a new peak interval at the current live bytes.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}

/// What the parent asks a probe child to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The circuit's name.
    pub circuit: String,
    /// Its parameters, as JSON numbers and strings.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Cycles to simulate.
    pub cycles: u64,
    /// Cycles between samples.
    pub sample_every: u64,
}

/// One line of the probe's output stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// A sample. The parent answers each with one byte on stdin (`c`: continue; anything else
    /// or end of input: stop), which the child reads before emitting the next sample.
    Sample(Sample),
    /// The run finished; the circuit's own checks.
    Done {
        /// Transactions completed.
        transactions: u64,
        /// Scoreboard mismatches.
        mismatches: u64,
        /// The first mismatch, explained.
        first_mismatch: Option<String>,
        /// The child's peak RSS (`VmHWM`) in bytes.
        #[serde(default)]
        peak_rss: Option<u64>,
    },
    /// The parent said stop (a violation); the run ends here.
    Stopped {
        /// The cycles the child had simulated when it read the stop: at most one sample
        /// interval past the violating sample.
        #[serde(default)]
        cycle: u64,
        /// The child's peak RSS (`VmHWM`) in bytes.
        peak_rss: Option<u64>,
    },
}

fn params_of(req: &Request) -> Result<BTreeMap<String, sim::circuits::ParamValue>, String> {
    req.params
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(|i| (k.clone(), sim::circuits::ParamValue::Int(i)))
                .ok_or_else(|| format!("parameter `{k}` is not an integer")),
            serde_json::Value::String(s) => {
                Ok((k.clone(), sim::circuits::ParamValue::Str(s.clone())))
            }
            other => Err(format!("parameter `{k}` has unsupported value {other}")),
        })
        .collect()
}

/// jemalloc's statistics through management-information-base handles looked up once: reading
/// by name would translate the names at every sample.
struct JemallocReader {
    epoch: tikv_jemalloc_ctl::epoch_mib,
    allocated: tikv_jemalloc_ctl::stats::allocated_mib,
    active: tikv_jemalloc_ctl::stats::active_mib,
    resident: tikv_jemalloc_ctl::stats::resident_mib,
}

impl JemallocReader {
    fn new() -> Option<Self> {
        Some(JemallocReader {
            epoch: tikv_jemalloc_ctl::epoch::mib().ok()?,
            allocated: tikv_jemalloc_ctl::stats::allocated::mib().ok()?,
            active: tikv_jemalloc_ctl::stats::active::mib().ok()?,
            resident: tikv_jemalloc_ctl::stats::resident::mib().ok()?,
        })
    }

    /// Advances the epoch (statistics are cached until then) and reads.
    fn read(&self) -> Option<JemallocStats> {
        self.epoch.advance().ok()?;
        Some(JemallocStats {
            allocated: self.allocated.read().ok()? as u64,
            active: self.active.read().ok()? as u64,
            resident: self.resident.read().ok()? as u64,
        })
    }
}

/// The sample at `cycle`: the counters `c` relative to `zero`, less the harness's own
/// allocations, and the census of live nodes by type and creation site.
fn census_sample(
    cycle: u64,
    c: &Counters,
    zero: &Counters,
    jemalloc: Option<&JemallocReader>,
    harness: &Harness,
) -> Sample {
    let base = zero.live.wrapping_add(harness.live);
    let mut sample = Sample {
        x: cycle,
        live_bytes: c.live.wrapping_sub(base),
        peak_live_bytes: Some(c.peak.wrapping_sub(base)),
        allocations: Some(c.allocations - harness.allocations),
        jemalloc: jemalloc.and_then(JemallocReader::read),
        // RSS is left to the parent (polled, and the exact peak from wait4): reading
        // /proc here at every sample cost more than the rest of the sample together.
        ..Default::default()
    };
    for e in sim::census::snapshot() {
        if e.live == 0 {
            continue;
        }
        let t = sample.types.get_or_default(e.label.into());
        t.count += e.live;
        t.bytes += e.live * e.node_bytes;
        t.sites.push(SiteSample {
            site: e.site,
            count: e.live,
            oldest_birth: e.oldest_birth.unwrap_or(cycle),
            newest_birth: e.newest_birth.unwrap_or(cycle),
        });
    }
    for t in sample.types.values_mut() {
        t.sites
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.site.cmp(&b.site)));
    }
    sample
}

/// What the harness itself allocated in a probe child while emitting samples, taken out of the
/// simulation's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Harness {
    /// Allocations made (census snapshots, JSON).
    allocations: u64,
    /// Bytes left allocated: the first sample to meet a label makes its one interned copy
    /// ([`crate::timeline::Label`]), kept for the rest of the process.
    live: u64,
}

/// Runs a probe child: simulates `request` with a circuit of `catalog`, writing samples to `out`
/// and reading go-aheads from `acks`. Returns an error text for the parent's report.
pub fn run_child(
    request: &Request,
    catalog: &sim::circuits::Catalog,
    out: &mut impl Write,
    acks: &mut impl Read,
) -> Result<(), String> {
    let params = params_of(request)?;
    // Figures are relative to this point, so they do not depend on which front end is the
    // probe (its path and arguments are live bytes too) or where the checkout lives.
    let jemalloc = JemallocReader::new();
    let zero = counters();
    // What the harness itself allocates (census snapshots, JSON, interned labels) is subtracted
    // so that `allocations.count` and the live bytes are the simulation's alone.
    let mut harness = Harness {
        allocations: zero.allocations,
        live: 0,
    };
    // The driver, not the circuit, keeps the clock: it stamps each cycle on the census.
    let mut circuit = catalog
        .build(&request.circuit, &params)
        .map_err(|e| e.to_string())?;
    let every = request.sample_every.max(1);
    let mut line = Vec::with_capacity(4096);
    let mut emit = |cycle: u64, line: &mut Vec<u8>, harness: &mut Harness| -> Result<(), String> {
        let c = counters();
        let sample = census_sample(cycle, &c, &zero, jemalloc.as_ref(), harness);
        line.clear();
        serde_json::to_writer(&mut *line, &Message::Sample(sample)).map_err(|e| e.to_string())?;
        line.push(b'\n');
        out.write_all(line)
            .and_then(|_| out.flush())
            .map_err(|e| format!("writing a sample: {e}"))?;
        let after = counters();
        harness.allocations += after.allocations - c.allocations;
        harness.live = harness.live.wrapping_add(after.live.wrapping_sub(c.live));
        reset_peak();
        Ok(())
    };
    // The go-ahead for a sample is read just before the next one is emitted: the parent checks
    // sample k while the child simulates the interval after it (two cores work at once), and a
    // violation at k still stops the child within one sample interval, before sample k+1.
    let go_ahead = |acks: &mut dyn Read| {
        let mut ack = [0u8; 1];
        matches!(acks.read(&mut ack), Ok(1)) && ack[0] == b'c'
    };
    let stopped = |out: &mut dyn Write, cycle: u64| -> Result<(), String> {
        let msg = Message::Stopped {
            cycle,
            peak_rss: crate::source::own_peak_rss(),
        };
        let text = serde_json::to_string(&msg).map_err(|e| e.to_string())?;
        writeln!(out, "{text}")
            .and_then(|_| out.flush())
            .map_err(|e| e.to_string())
    };
    emit(0, &mut line, &mut harness)?;
    for cycle in 1..=request.cycles {
        circuit.step();
        if cycle % every == 0 || cycle == request.cycles {
            if !go_ahead(acks) {
                return stopped(out, cycle);
            }
            emit(cycle, &mut line, &mut harness)?;
        }
    }
    if !go_ahead(acks) {
        return stopped(out, request.cycles);
    }
    let st = circuit.status();
    let done = Message::Done {
        transactions: st.transactions,
        mismatches: st.mismatches,
        first_mismatch: st.first_mismatch,
        peak_rss: crate::source::own_peak_rss(),
    };
    serde_json::to_writer(&mut *out, &done).map_err(|e| e.to_string())?;
    out.write_all(b"\n")
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())?;
    drop(circuit);
    Ok(())
}

/// The probe child's entry point, called by front ends when their first argument is
/// [`PROBE_ARG`]: reads the request from the next argument and runs it on stdin/stdout with a
/// circuit of `catalog`. Returns the process exit code.
pub fn child_main(request_json: &str, catalog: &sim::circuits::Catalog) -> i32 {
    let request: Request = match serde_json::from_str(request_json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("membound probe: bad request: {e}");
            return 2;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let stdin = std::io::stdin();
    let mut acks = stdin.lock();
    match run_child(&request, catalog, &mut out, &mut acks) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("membound probe: {e}");
            1
        }
    }
}

/// The hidden first argument that turns a front-end binary into the launcher of an external
/// program: `__membound-exec REPORT_FILE PROGRAM ARGS...`.
pub const EXEC_ARG: &str = "__membound-exec";

/// If `args` (the process's arguments, program name first) start a probe child or a launcher,
/// runs it and exits; otherwise returns. Front ends call this first thing in `main`, with the
/// same catalogue they load scenarios with (this workspace's: `sim::circuits::catalog()`).
pub fn maybe_run_as_child(args: &[String], catalog: &sim::circuits::Catalog) {
    match args.get(1).map(String::as_str) {
        Some(PROBE_ARG) => {
            let req = args.get(2).cloned().unwrap_or_default();
            std::process::exit(child_main(&req, catalog));
        }
        Some(EXEC_ARG) => std::process::exit(launcher_main(&args[2..])),
        _ => {}
    }
}

/// What the launcher writes when its program has ended: the program's own peak RSS and its
/// raw wait status (so a signal is reported by name, not as an exit code of 128 + n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LauncherReport {
    /// The program's peak RSS in bytes (`ru_maxrss` from `wait4`).
    pub peak_rss: u64,
    /// The program's raw wait status; `None` if the launcher was told to end before it exited.
    pub status: Option<i32>,
}

impl LauncherReport {
    fn to_text(self) -> String {
        let status = self.status.map_or("none".to_owned(), |s| s.to_string());
        format!("peak_rss={}\nstatus={status}\n", self.peak_rss)
    }

    /// Reads a report the launcher wrote; `None` if it wrote none (it was killed) or it is
    /// not one.
    pub fn read(path: &std::path::Path) -> Option<LauncherReport> {
        let text = std::fs::read_to_string(path).ok()?;
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(str::trim)
        };
        Some(LauncherReport {
            peak_rss: field("peak_rss")?.parse().ok()?,
            status: field("status")?.parse().ok(),
        })
    }
}

/// Set by SIGTERM/SIGHUP (membound ending, or its death through `PR_SET_PDEATHSIG`).
static LAUNCHER_ENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn launcher_on_term(_: libc::c_int) {
    LAUNCHER_ENDING.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// SIGINT reaches the launcher too, as the graceful stop of its process group; only the
/// program is meant to act on it.
extern "C" fn launcher_on_int(_: libc::c_int) {}

/// Runs an external program, ends every process it leaves behind, and writes a
/// [`LauncherReport`].
///
/// Why a launcher: a child's `ru_maxrss` starts from its parent's high-water mark (Linux carries
/// it across fork and exec), so measured from a large, multi-threaded test harness it says more
/// about the harness than the program. This small, freshly started process is the program's
/// parent instead, and a child subreaper (`PR_SET_CHILD_SUBREAPER`): whatever the program
/// starts, even under `setsid` or double-forked, is re-parented here when its parent dies and
/// is killed when the program ends or the launcher is told to end (SIGTERM, sent by membound's
/// watchdog or by the kernel when membound dies). It passes the exit status through
/// (128 + signal for a signal).
fn launcher_main(args: &[String]) -> i32 {
    use std::os::unix::process::CommandExt;
    let (Some(report_file), Some(program)) = (args.first(), args.get(1)) else {
        eprintln!("membound launcher: usage: {EXEC_ARG} REPORT_FILE PROGRAM [ARGS...]");
        return 2;
    };
    // SAFETY: prctl and signal with valid arguments; the handlers only store to an atomic.
    unsafe {
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) != 0 {
            eprintln!(
                "membound launcher: PR_SET_CHILD_SUBREAPER: {}",
                std::io::Error::last_os_error()
            );
            return 125;
        }
        libc::signal(
            libc::SIGTERM,
            launcher_on_term as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGHUP,
            launcher_on_term as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGINT,
            launcher_on_int as *const () as libc::sighandler_t,
        );
    }
    if LAUNCHER_ENDING.load(std::sync::atomic::Ordering::SeqCst) {
        return 125;
    }
    let mut cmd = std::process::Command::new(program);
    if let Some(name) = std::path::Path::new(program).file_name() {
        cmd.arg0(name);
    }
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    // SAFETY: only async-signal-safe calls between fork and exec. If the launcher is killed
    // outright (SIGKILL after its grace), the program goes with it.
    unsafe {
        cmd.pre_exec(move || crate::source::supervise::die_with_parent(me, libc::SIGKILL));
    }
    let child = match cmd.args(&args[2..]).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("membound launcher: cannot start `{program}`: {e}");
            return 127;
        }
    };
    let program_pid = child.id() as i32;
    let mut report = LauncherReport {
        peak_rss: 0,
        status: None,
    };
    // Polled rather than blocking, so that a SIGTERM between a check and a blocking wait
    // cannot be missed: the launcher must never outlive membound. Between polls it waits on a
    // pidfd of the program, so that its exit is seen at once, not up to a poll later.
    let exit = crate::source::supervise::open_pidfd(program_pid);
    while !LAUNCHER_ENDING.load(std::sync::atomic::Ordering::SeqCst) {
        if !launcher_reap(program_pid, &mut report, exit.as_ref()) {
            break;
        }
        if report.status.is_some() {
            break;
        }
    }
    launcher_end_descendants(program_pid, &mut report);
    let _ = std::fs::write(report_file, report.to_text());
    match report.status {
        Some(s) if libc::WIFEXITED(s) => libc::WEXITSTATUS(s),
        Some(s) if libc::WIFSIGNALED(s) => 128 + libc::WTERMSIG(s),
        _ => 125,
    }
}

/// Reaps one child (the program or an adopted orphan) without blocking, waiting briefly when
/// none has exited (on `exit`, a pidfd of the program, while it runs). Returns `false` when
/// the launcher has no children left.
fn launcher_reap(
    program_pid: i32,
    report: &mut LauncherReport,
    exit: Option<&std::os::fd::OwnedFd>,
) -> bool {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointers are valid for the call.
    let r = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut usage) };
    if r == program_pid {
        report.status = Some(status);
        report.peak_rss = usage.ru_maxrss.max(0) as u64 * 1024;
    } else if r == 0 {
        // The program's exit wakes a pidfd wait at once, and a SIGTERM interrupts it, so the
        // timeout only bounds how long an adopted orphan stays a zombie; each wake-up cost
        // the launcher a context switch, about 17 us here, which at 5 ms was a tenth of
        // membound's own CPU on a long run. Without a pidfd, the wait is a sleep and the
        // timeout is how late the exit is seen.
        let wait = match exit {
            Some(_) => std::time::Duration::from_millis(50),
            None => std::time::Duration::from_millis(5),
        };
        // `wait4` tells what ended, whatever the wait saw.
        let _ = crate::source::supervise::wait_on_pidfd(exit, wait);
    } else if r < 0 {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR);
    }
    true
}

/// SIGKILL to every descendant, again and again, until none is left: a dying process's
/// children are re-parented here (subreaper), where the next round finds them.
fn launcher_end_descendants(program_pid: i32, report: &mut LauncherReport) {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    loop {
        for p in crate::source::supervise::tree_of(me).into_iter().skip(1) {
            // SAFETY: p is our own descendant per /proc; at worst ESRCH.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
        if !launcher_reap(program_pid, report, None) {
            return;
        }
    }
}

/// Parses one line of a probe's output.
pub fn parse_line(line: &str) -> Result<Message, String> {
    serde_json::from_str(line.trim_end()).map_err(|e| {
        format!(
            "{e} in line `{}`",
            line.chars().take(120).collect::<String>()
        )
    })
}
