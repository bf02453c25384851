//! The bare simulation, for the harness-overhead benchmark (`benches/harness_overhead.sh`):
//! RegisterWb with 4 slaves and no leak, census on, jemalloc, no harness; prints the seconds
//! spent stepping. `cargo run -p sim --example bare -- CYCLES`.

use std::collections::BTreeMap;
use std::time::Instant;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cycles: u64 = std::env::args()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000_000);
    let mut params = BTreeMap::new();
    params.insert("slaves".to_string(), sim::circuits::ParamValue::Int(4));
    params.insert("seed".to_string(), sim::circuits::ParamValue::Int(7));
    let mut c = match sim::circuits::build("register_wb", &params) {
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
    println!("{:.4}", start.elapsed().as_secs_f64());
}
