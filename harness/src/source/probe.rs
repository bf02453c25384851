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
    // Allocations made by the harness itself (census snapshots, JSON) are subtracted so that
    // `allocations.count` is the simulation's alone.
    let mut harness_allocs = zero.allocations;
    // The driver, not the circuit, keeps the clock: it stamps each cycle on the census.
    let mut circuit = catalog
        .build(&request.circuit, &params)
        .map_err(|e| e.to_string())?;
    let every = request.sample_every.max(1);
    let mut line = Vec::with_capacity(4096);
    let mut emit =
        |cycle: u64, line: &mut Vec<u8>, harness_allocs: &mut u64| -> Result<(), String> {
            let c = counters();
            let mut sample = Sample {
                x: cycle,
                live_bytes: c.live.wrapping_sub(zero.live),
                peak_live_bytes: Some(c.peak.wrapping_sub(zero.live)),
                allocations: Some(c.allocations - *harness_allocs),
                jemalloc: jemalloc.as_ref().and_then(JemallocReader::read),
                // RSS is left to the parent (polled, and the exact peak from wait4): reading
                // /proc here at every sample cost more than the rest of the sample together.
                ..Default::default()
            };
            for e in sim::census::snapshot() {
                if e.live == 0 {
                    continue;
                }
                let t = sample.types.entry(e.label).or_default();
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
            line.clear();
            serde_json::to_writer(&mut *line, &Message::Sample(sample))
                .map_err(|e| e.to_string())?;
            line.push(b'\n');
            out.write_all(line)
                .and_then(|_| out.flush())
                .map_err(|e| format!("writing a sample: {e}"))?;
            *harness_allocs += counters().allocations - c.allocations;
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
    emit(0, &mut line, &mut harness_allocs)?;
    for cycle in 1..=request.cycles {
        circuit.step();
        if cycle % every == 0 || cycle == request.cycles {
            if !go_ahead(acks) {
                return stopped(out, cycle);
            }
            emit(cycle, &mut line, &mut harness_allocs)?;
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
/// program: `__membound-exec RSS_FILE PROGRAM ARGS...`.
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

/// Runs an external program and writes its peak RSS to a file.
///
/// Why a launcher: a child's `ru_maxrss` starts from its parent's high-water mark (Linux carries
/// it across fork and exec), so measured from a large, multi-threaded test harness it says more
/// about the harness than the program. This small, freshly started process is the program's
/// parent instead; it passes the exit status through (128 + signal for a signal).
fn launcher_main(args: &[String]) -> i32 {
    use std::os::unix::process::CommandExt;
    let (Some(rss_file), Some(program)) = (args.first(), args.get(1)) else {
        eprintln!("membound launcher: usage: {EXEC_ARG} RSS_FILE PROGRAM [ARGS...]");
        return 2;
    };
    let mut cmd = std::process::Command::new(program);
    if let Some(name) = std::path::Path::new(program).file_name() {
        cmd.arg0(name);
    }
    let child = match cmd.args(&args[2..]).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("membound launcher: cannot start `{program}`: {e}");
            return 127;
        }
    };
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child's; the pointers are valid for the call.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if r < 0 {
        eprintln!(
            "membound launcher: wait4: {}",
            std::io::Error::last_os_error()
        );
        return 125;
    }
    let _ = std::fs::write(rss_file, (usage.ru_maxrss.max(0) as u64 * 1024).to_string());
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
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
