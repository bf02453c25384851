//! RegisterWb throughput: cycles per second with 4 slaves and `leak = none`, census on and off.
//!
//! Run: `cargo bench -p sim` (optionally `-- CYCLES`, default 2,000,000 per run). Each setting
//! runs 5 times alternately; the median is reported, so background load on a shared machine
//! affects both settings alike.

use std::collections::BTreeMap;
use std::time::Instant;

use sim::census;
use sim::circuits::{build, ParamValue};

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Nanoseconds this thread has spent on a CPU (Linux), to separate the simulator's speed from
/// time lost to other processes on a shared machine. `None` where unavailable.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// (cycles per wall-clock second, cycles per CPU second).
fn run(cycles: u64, census_on: bool) -> (f64, f64) {
    census::set_enabled(census_on);
    let mut params = BTreeMap::new();
    params.insert("slaves".to_string(), ParamValue::Int(4));
    params.insert("leak".to_string(), ParamValue::Str("none".into()));
    let mut c = match build("register_wb", &params) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("register_wb: {e}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let cpu0 = thread_cpu_ns();
    for _ in 0..cycles {
        c.step();
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => secs,
    };
    let st = c.status();
    assert_eq!(st.mismatches, 0, "{:?}", st.first_mismatch);
    (cycles as f64 / secs, cycles as f64 / cpu)
}

fn median(v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64) -> f64 {
    let mut v: Vec<f64> = v.iter().map(pick).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; take the first numeric argument as the cycle count.
    let cycles = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(2_000_000);
    run(cycles / 10, true); // warm-up
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        on.push(run(cycles, true));
        off.push(run(cycles, false));
    }
    let wall = |x: &(f64, f64)| x.0;
    let cpu = |x: &(f64, f64)| x.1;
    let (on_w, off_w, on_c, off_c) = (
        median(&on, wall),
        median(&off, wall),
        median(&on, cpu),
        median(&off, cpu),
    );
    println!("register_wb slaves=4 leak=none, {cycles} cycles per run, median of 5:");
    println!("                 per wall-clock second   per CPU second (this thread)");
    println!("  census on : {on_w:>16.0} cycles/s {on_c:>16.0} cycles/s");
    println!("  census off: {off_w:>16.0} cycles/s {off_c:>16.0} cycles/s");
    println!(
        "  census cost: {:.1}% of simulation time (wall), {:.1}% (CPU)",
        (off_w / on_w - 1.0) * 100.0,
        (off_c / on_c - 1.0) * 100.0
    );
}
