//! Live heap bytes of the whole process (a counting allocator) with `leak = none`: after 1e6
//! cycles within 1% of after 1e4. One test in this binary, so no other thread allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as i64 - l.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn live_bytes_flat_from_1e4_to_1e6_cycles() {
    let base = LIVE.load(Ordering::Relaxed);
    let mut c = sim::circuits::build("register_wb", &BTreeMap::new()).expect("defaults are valid");
    let mut at = Vec::new();
    let mut done = 0u64;
    for target in [10_000u64, 100_000, 1_000_000] {
        while done < target {
            c.step();
            done += 1;
        }
        at.push((target, LIVE.load(Ordering::Relaxed) - base));
    }
    println!("live heap bytes (process, counting allocator) by cycle: {at:?}");
    let (a, b) = (at[0].1 as f64, at[2].1 as f64);
    assert!((b - a).abs() <= a * 0.01, "1e4: {a} B, 1e6: {b} B");
    assert_eq!(c.status().mismatches, 0);
}
