//! The census: constructor counts of every heap node the simulator allocates.
//!
//! Each node type has a readable *label* (`Signal<WishboneS2M>::Cons`) and each node a creation
//! *site* (`interconnect/unzip`, the component and combinator that built it) and a *birth cycle*.
//! Per (label, site) the census keeps: live now, peak live, created in total, and a histogram of
//! the birth cycles of the live nodes, from which [`snapshot`] reports the oldest and newest.
//!
//! Why it is shaped like this:
//! - The hot path (a node born, forced, freed) is a handful of plain `Cell` updates in a
//!   thread-local table: no locks, no hashing, no strings. Labels and sites are interned once,
//!   when a combinator is *elaborated*, into a small integer (a slot id) that nodes carry.
//! - Its memory does not grow with cycles: the table grows only when a new (label, site) pair is
//!   interned, and the birth histogram has a fixed number of buckets per slot.
//! - Birth precision: cycles 0..=7 are exact; above, buckets are 1/8 of an octave wide, so the
//!   reported oldest birth is a lower bound within 12.5% of the true value. The newest birth is
//!   exact when the most recently created node of the slot is still live (the common case: the
//!   newest cell of a signal), otherwise an upper bound within 12.5%.
//! - The simulation is single-threaded: the census is per thread, so parallel tests do not
//!   disturb each other.
//!
//! Nodes created while the census is disabled ([`set_enabled`]`(false)`) are never counted, not
//! even when they are freed after it is enabled again, so the counts stay exact.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// One (label, site) line of a census [`snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CensusEntry {
    /// The node type, e.g. `Signal<WishboneS2M>::Cons` (short type names, no module paths).
    pub label: String,
    /// The creation site, e.g. `interconnect/unzip`.
    pub site: String,
    /// Size in bytes of one node of this label: the requested allocation, `Rc` header included
    /// (so bytes = live × node_bytes; the allocator's size-class rounding is not included). If
    /// nodes of different sizes share a label and site, the largest.
    pub node_bytes: u64,
    /// Nodes alive now.
    pub live: u64,
    /// The largest `live` ever observed.
    pub peak_live: u64,
    /// Nodes created in total.
    pub created: u64,
    /// Birth cycle of the oldest live node (lower bound, see the module doc); `None` if none live.
    pub oldest_birth: Option<u64>,
    /// Birth cycle of the newest live node (see the module doc); `None` if none live.
    pub newest_birth: Option<u64>,
}

/// Turns census bookkeeping on or off for this thread (default on). Used by the benchmark to
/// measure the census's own cost.
pub fn set_enabled(on: bool) {
    HOT.with(|h| h.enabled.set(on));
}

/// Whether census bookkeeping is on for this thread.
pub fn enabled() -> bool {
    HOT.with(|h| h.enabled.get())
}

/// Sets the current cycle, stamped on nodes created from now on as their birth.
pub fn set_cycle(cycle: u64) {
    HOT.with(|h| h.cycle.set(cycle));
}

/// The current cycle as last set by [`set_cycle`].
pub fn cycle() -> u64 {
    HOT.with(|h| h.cycle.get())
}

/// Reads the counters of every (label, site) that ever had a node, sorted by label then site.
/// Cost: proportional to the number of (label, site) pairs, independent of the number of nodes.
pub fn snapshot() -> Vec<CensusEntry> {
    let mut out = Vec::new();
    REGISTRY.with(|r| {
        let r = r.borrow();
        for (id, (label, site)) in r.names.iter().enumerate() {
            let Some(slot) = slot_ref(id as u32) else {
                continue;
            };
            if slot.created.get() == 0 {
                continue;
            }
            let live = slot.live.get();
            let (oldest, newest) = if live == 0 {
                (None, None)
            } else {
                birth_range(slot)
            };
            out.push(CensusEntry {
                label: label.clone(),
                site: site.clone(),
                node_bytes: slot.node_bytes.get(),
                live,
                peak_live: slot.peak.get(),
                created: slot.created.get(),
                oldest_birth: oldest,
                newest_birth: newest,
            });
        }
    });
    out.sort_by(|a, b| (&a.label, &a.site).cmp(&(&b.label, &b.site)));
    out
}

/// Total live bytes over all labels (Σ live × node_bytes).
pub fn live_bytes() -> u64 {
    snapshot().iter().map(|e| e.live * e.node_bytes).sum()
}

/// Runs `build` with `name` as the current component, so that the sites of the combinators it
/// elaborates read `name/op` (e.g. `interconnect/unzip`). Components nest: the innermost wins.
pub fn component<R>(name: &'static str, build: impl FnOnce() -> R) -> R {
    struct Restore(Option<&'static str>);
    impl Drop for Restore {
        fn drop(&mut self) {
            COMPONENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(COMPONENT.with(|c| c.replace(Some(name))));
    build()
}

/// The site string for combinator `op` in the current component.
pub(crate) fn site(op: &str) -> String {
    match COMPONENT.with(|c| c.get()) {
        Some(comp) => format!("{comp}/{op}"),
        None => op.to_string(),
    }
}

/// A pair of consecutive slot ids for a two-state node type (`::Thunk` at `base`, the evaluated
/// state at `base + 1`), interned at elaboration time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotPair {
    pub(crate) base: u32,
}

/// Interns `{type_label}::{first}` and `{type_label}::{second}` at `site` as two consecutive slots.
pub(crate) fn intern_pair(type_label: &str, first: &str, second: &str, site: &str) -> SlotPair {
    let key = (format!("{type_label}::{first}|{second}"), site.to_string());
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(&base) = r.pairs.get(&key) {
            return SlotPair { base };
        }
        let base = r.names.len() as u32;
        r.names
            .push((format!("{type_label}::{first}"), site.to_string()));
        r.names
            .push((format!("{type_label}::{second}"), site.to_string()));
        r.pairs.insert(key, base);
        ensure_chunks(&mut r, base + 1);
        SlotPair { base }
    })
}

/// Interns a one-state node type `label` at `site`.
pub(crate) fn intern_one(label: &str, site: &str) -> u32 {
    let key = (label.to_string(), site.to_string());
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(&id) = r.singles.get(&key) {
            return id;
        }
        let id = r.names.len() as u32;
        r.names.push(key.clone());
        r.singles.insert(key, id);
        ensure_chunks(&mut r, id);
        id
    })
}

/// The census record carried by every counted node: its current slot and its birth cycle.
/// `slot == NONE` means the node was created with the census off and is never counted.
#[derive(Debug)]
pub(crate) struct Tag {
    slot: Cell<u32>,
    birth: u64,
}

const NONE: u32 = u32::MAX;

impl Tag {
    /// Records the birth of a node of `bytes` bytes in slot `slot`.
    #[inline]
    pub(crate) fn born(slot: u32, bytes: usize) -> Tag {
        HOT.with(|h| {
            if !h.enabled.get() {
                return Tag {
                    slot: Cell::new(NONE),
                    birth: 0,
                };
            }
            let birth = h.cycle.get();
            if let Some(s) = hot_slot(h, slot) {
                let live = s.live.get() + 1;
                s.live.set(live);
                if live > s.peak.get() {
                    s.peak.set(live);
                }
                s.created.set(s.created.get() + 1);
                s.newest.set(birth);
                if (bytes as u64) > s.node_bytes.get() {
                    s.node_bytes.set(bytes as u64);
                }
                let b = &s.buckets[bucket(birth)];
                b.set(b.get() + 1);
            }
            Tag {
                slot: Cell::new(slot),
                birth,
            }
        })
    }

    /// Moves the node to slot `to` (a thunk became a value). Counted as a creation in `to`.
    #[inline]
    pub(crate) fn moved(&self, to: u32) {
        let from = self.slot.get();
        if from == NONE {
            return;
        }
        self.slot.set(to);
        HOT.with(|h| {
            let bucket = bucket(self.birth);
            if let Some(s) = hot_slot(h, from) {
                s.live.set(s.live.get() - 1);
                let b = &s.buckets[bucket];
                b.set(b.get() - 1);
            }
            if let Some(s) = hot_slot(h, to) {
                let live = s.live.get() + 1;
                s.live.set(live);
                if live > s.peak.get() {
                    s.peak.set(live);
                }
                s.created.set(s.created.get() + 1);
                if self.birth > s.newest.get() {
                    s.newest.set(self.birth);
                }
                if let Some(from) = hot_slot(h, from) {
                    if from.node_bytes.get() > s.node_bytes.get() {
                        s.node_bytes.set(from.node_bytes.get());
                    }
                }
                let b = &s.buckets[bucket];
                b.set(b.get() + 1);
            }
        });
    }
}

impl Drop for Tag {
    #[inline]
    fn drop(&mut self) {
        let slot = self.slot.get();
        if slot == NONE {
            return;
        }
        // `try_with`: a node freed during thread teardown must not panic.
        let _ = HOT.try_with(|h| {
            if let Some(s) = hot_slot(h, slot) {
                s.live.set(s.live.get() - 1);
                let b = &s.buckets[bucket(self.birth)];
                b.set(b.get() - 1);
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Internals.

/// Buckets: births 0..=7 exactly, then 8 buckets per octave up to 2^64.
const BUCKETS: usize = 8 + 61 * 8;
/// Slots per chunk (about 32 KiB) and chunks per thread: at most 16 × 256 = 4096 (label, site)
/// pairs; a pair beyond that is not counted (never seen in practice: circuits intern a few
/// dozen). Chunks are allocated as pairs are interned, never per node or per cycle.
const CHUNK: usize = 16;
const CHUNKS: usize = 256;

struct Slot {
    live: Cell<u64>,
    peak: Cell<u64>,
    created: Cell<u64>,
    newest: Cell<u64>,
    node_bytes: Cell<u64>,
    buckets: [Cell<u32>; BUCKETS],
}

impl Slot {
    fn new() -> Slot {
        Slot {
            live: Cell::new(0),
            peak: Cell::new(0),
            created: Cell::new(0),
            newest: Cell::new(0),
            node_bytes: Cell::new(0),
            buckets: std::array::from_fn(|_| Cell::new(0)),
        }
    }
}

type Chunk = [Slot; CHUNK];

/// The hot half: no destructor, constant-initialised, so access is a plain TLS offset.
struct Hot {
    enabled: Cell<bool>,
    cycle: Cell<u64>,
    chunks: [Cell<*const Chunk>; CHUNKS],
}

/// The cold half: names, and ownership of the chunks (freed at thread exit).
struct Registry {
    names: Vec<(String, String)>,
    pairs: HashMap<(String, String), u32>,
    singles: HashMap<(String, String), u32>,
    owned: Vec<Box<Chunk>>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        // The chunks go away with us: make the hot half forget them first.
        let _ = HOT.try_with(|h| {
            for c in &h.chunks {
                c.set(std::ptr::null());
            }
        });
    }
}

thread_local! {
    static HOT: Hot = const {
        Hot {
            enabled: Cell::new(true),
            cycle: Cell::new(0),
            chunks: [const { Cell::new(std::ptr::null()) }; CHUNKS],
        }
    };
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry {
        names: Vec::new(),
        pairs: HashMap::new(),
        singles: HashMap::new(),
        owned: Vec::new(),
    });
    static COMPONENT: Cell<Option<&'static str>> = const { Cell::new(None) };
}

fn ensure_chunks(r: &mut Registry, last_id: u32) {
    let need = last_id as usize / CHUNK + 1;
    while r.owned.len() < need.min(CHUNKS) {
        let chunk: Box<Chunk> = Box::new(std::array::from_fn(|_| Slot::new()));
        let idx = r.owned.len();
        HOT.with(|h| h.chunks[idx].set(&*chunk as *const Chunk));
        r.owned.push(chunk);
    }
}

#[inline]
fn hot_slot(h: &Hot, id: u32) -> Option<&Slot> {
    let id = id as usize;
    let chunk = h.chunks.get(id / CHUNK)?.get();
    if chunk.is_null() {
        return None;
    }
    // SAFETY: a non-null chunk pointer points into a `Box<Chunk>` owned by this thread's
    // `Registry`, which nulls the pointers before freeing the chunks. The `Slot`s only hold
    // `Cell`s, so shared references are fine on this single thread.
    Some(unsafe { &(*chunk)[id % CHUNK] })
}

fn slot_ref(id: u32) -> Option<&'static Slot> {
    HOT.with(|h| {
        let p = hot_slot(h, id)? as *const Slot;
        // SAFETY: see `hot_slot`; used only within `snapshot`, on this thread, while the
        // registry (which owns the chunk) is borrowed and so alive.
        Some(unsafe { &*p })
    })
}

#[inline]
fn bucket(birth: u64) -> usize {
    if birth < 8 {
        return birth as usize;
    }
    let e = 63 - birth.leading_zeros() as usize; // >= 3
    let m = ((birth >> (e - 3)) & 7) as usize;
    (e - 2) * 8 + m
}

/// Smallest birth cycle that falls in bucket `idx`.
fn bucket_low(idx: usize) -> u64 {
    if idx < 8 {
        return idx as u64;
    }
    let e = idx / 8 + 2;
    let m = (idx % 8) as u64;
    (8 + m) << (e - 3)
}

fn bucket_high(idx: usize) -> u64 {
    if idx + 1 >= BUCKETS {
        u64::MAX
    } else {
        bucket_low(idx + 1) - 1
    }
}

fn birth_range(s: &Slot) -> (Option<u64>, Option<u64>) {
    let first = s.buckets.iter().position(|b| b.get() > 0);
    let last = s.buckets.iter().rposition(|b| b.get() > 0);
    match (first, last) {
        (Some(f), Some(l)) => {
            let newest = s.newest.get();
            let newest = if bucket(newest) == l {
                newest
            } else {
                bucket_high(l).min(newest)
            };
            (Some(bucket_low(f)), Some(newest))
        }
        _ => (None, None),
    }
}

/// Shortens a `std::any::type_name` to its last path segments:
/// `(u32, sim::wishbone::WishboneS2M)` becomes `(u32, WishboneS2M)`.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if !token.is_empty() {
            out.push_str(token.rsplit("::").next().unwrap_or(token));
            token.clear();
        }
    };
    for ch in full.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == ':' {
            token.push(ch);
        } else {
            flush(&mut token, &mut out);
            out.push(ch);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// The short label of type `T`.
pub(crate) fn type_label<T: ?Sized>() -> String {
    short_type_name(std::any::type_name::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip() {
        for b in [
            0u64,
            1,
            7,
            8,
            9,
            15,
            16,
            17,
            100,
            1000,
            123_456,
            1 << 40,
            u64::MAX,
        ] {
            let i = bucket(b);
            assert!(
                bucket_low(i) <= b && b <= bucket_high(i),
                "{b} in bucket {i}"
            );
            assert!(i < BUCKETS);
        }
        for i in 0..BUCKETS - 1 {
            assert_eq!(bucket(bucket_low(i)), i);
        }
    }

    #[test]
    fn snapshot_counts_and_birth_range() {
        let find = || {
            snapshot()
                .into_iter()
                .find(|e| e.label == "Signal<u8>::Const" && e.site == "constant")
        };
        set_cycle(3);
        let a = crate::Signal::constant(1u8);
        set_cycle(5);
        let b = crate::Signal::constant(2u8);
        let e = find().expect("counted");
        assert_eq!((e.live, e.peak_live, e.created), (2, 2, 2));
        assert_eq!((e.oldest_birth, e.newest_birth), (Some(3), Some(5)));
        assert!(e.node_bytes >= 16);
        drop(a);
        let e = find().expect("counted");
        assert_eq!(
            (e.live, e.peak_live, e.oldest_birth, e.newest_birth),
            (1, 2, Some(5), Some(5))
        );
        drop(b);
        let e = find().expect("still listed");
        assert_eq!(
            (e.live, e.created, e.oldest_birth, e.newest_birth),
            (0, 2, None, None)
        );
        // A node created with the census off is never counted, even when freed with it on.
        set_enabled(false);
        let c = crate::Signal::constant(3u8);
        set_enabled(true);
        drop(c);
        assert_eq!(find().map(|e| (e.live, e.created)), Some((0, 2)));
        // Large birth cycles land in a bucket whose bounds bracket them within 12.5%.
        set_cycle(1_000_000);
        let d = crate::Signal::constant(4u8);
        let e = find().expect("counted");
        let oldest = e.oldest_birth.expect("live");
        assert!(
            oldest <= 1_000_000 && oldest as f64 >= 1_000_000.0 * 0.875,
            "{oldest}"
        );
        assert_eq!(e.newest_birth, Some(1_000_000));
        drop(d);
    }

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("sim::wishbone::WishboneS2M"), "WishboneS2M");
        assert_eq!(
            short_type_name("(u32, sim::wishbone::WishboneS2M)"),
            "(u32, WishboneS2M)"
        );
        assert_eq!(
            short_type_name("[core::option::Option<u32>; 4]"),
            "[Option<u32>; 4]"
        );
    }
}
