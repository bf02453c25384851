//! Runs RegisterWb and prints the census: `cargo run -p sim --release --example census -- LEAK CYCLES`
//! (LEAK: none | lazy_unzip | lazy_record_update | unshared_iterate; CYCLES default 100000).

use std::collections::BTreeMap;
use std::time::Instant;

use sim::circuits::{build, ParamValue};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let leak = args.first().cloned().unwrap_or_else(|| "none".to_string());
    let cycles: u64 = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(100_000);
    let mut params = BTreeMap::new();
    params.insert("leak".to_string(), ParamValue::Str(leak.clone()));
    let mut c = match build("register_wb", &params) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    for _ in 0..cycles {
        c.step();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "register_wb leak={leak}: {cycles} cycles in {secs:.2} s; {:?}",
        c.status()
    );
    println!(
        "{:<28} {:<28} {:>6} {:>10} {:>10} {:>12} {:>8} {:>8}",
        "label", "site", "bytes", "live", "peak", "created", "oldest", "newest"
    );
    for e in sim::census::snapshot() {
        println!(
            "{:<28} {:<28} {:>6} {:>10} {:>10} {:>12} {:>8} {:>8}",
            e.label,
            e.site,
            e.node_bytes,
            e.live,
            e.peak_live,
            e.created,
            e.oldest_birth.map_or("-".into(), |b| b.to_string()),
            e.newest_birth.map_or("-".into(), |b| b.to_string())
        );
    }
}
