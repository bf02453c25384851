//! `Accumulator`: the census being read, accumulated by interned label id so that the hot path
//! (one sample row per live closure type per census, millions in a big log) costs a cache
//! lookup of the raw label bytes (a hash only on a miss) and an array add — no string
//! allocation. A closed census is a [`Census`] of ids; only a caller that wants a [`Sample`]
//! pays for label strings, and `NameOrder` sorts a census by name without comparing names.

use super::{Census, LabelId};
use crate::timeline::{Label, Sample, TypeSample};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Slots of the row cache ([`Labels::cached_id`]): a power of two, a few times the labels of a
/// typical census.
const CACHE_SLOTS: usize = 1 << 10;

/// A cache slot: a spelling's place in `Labels::arena`, its length ([`EMPTY`] if none) and id,
/// kept together so that a hit costs one load before the comparison.
#[derive(Clone, Copy)]
struct Slot {
    at: u32,
    len: u32,
    id: u32,
}

/// The length of an empty [`Slot`]: no row is 4 GiB long.
const EMPTY: u32 = u32::MAX;

/// Label ids: a label's spelling in the log → a dense id of its (normalised) name.
///
/// String rows are looked up in a direct-mapped cache first, indexed by a hash of the row's
/// length and last 16 bytes (cheaper than hashing the whole label, whose leading package id
/// many labels share) and always confirmed by comparing the bytes; only a miss splits the row
/// at its NUL and pays for the full hash map.
pub(crate) struct Labels {
    /// Raw bytes (string rows) → their slot; cleared when what a raw label means may change.
    raw: HashMap<Box<[u8]>, Slot, BuildHasherDefault<FxHasher>>,
    /// The spellings in `raw`, end to end.
    arena: Vec<u8>,
    /// Row hash → a spelling, overwritten on collision.
    cache: Box<[Slot]>,
    /// Cost-centre stack → id.
    stacks: HashMap<Box<[u32]>, u32, BuildHasherDefault<FxHasher>>,
    /// Normalised name → id: two spellings with one name share an id.
    by_name: HashMap<String, u32>,
    /// id → normalised name.
    names: Vec<Label>,
    /// id → position of its name in sorted order, so a census sorts by integer.
    rank: Vec<u32>,
}

const NO_SLOT: Slot = Slot {
    at: 0,
    len: EMPTY,
    id: 0,
};

impl Default for Labels {
    fn default() -> Self {
        Labels {
            raw: HashMap::default(),
            arena: Vec::new(),
            cache: vec![NO_SLOT; CACHE_SLOTS].into_boxed_slice(),
            stacks: HashMap::default(),
            by_name: HashMap::new(),
            names: Vec::new(),
            rank: Vec::new(),
        }
    }
}

/// The little-endian u64 at `b[at..at + 8]` (in bounds by the caller).
#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    let b = &b[at..at + 8];
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The cache slot of a string row's text (its label, a NUL, maybe more).
#[inline]
fn slot(text: &[u8]) -> usize {
    let n = text.len();
    let last = if n >= 8 {
        word(text, n - 8)
    } else {
        // Short labels (`PAP`, `TSO`, `FUN`) by all their bytes.
        text.iter().fold(0, |w, &b| w << 8 | b as u64)
    };
    let before = if n >= 16 { word(text, n - 16) } else { 0 };
    let h = (last ^ before.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - CACHE_SLOTS.trailing_zeros())) as usize
}

/// `a == b` for two slices of one length, by words: labels are a few dozen bytes, where a call
/// to `memcmp` costs more than the comparison.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    // The last word overlaps the one before when n is not a multiple of 8.
    word(a, n - 8) == word(b, n - 8)
}

impl Labels {
    /// The id of the string label whose raw bytes start `text` and end at its first NUL or at
    /// its end, if the cache holds that spelling.
    #[inline]
    pub(crate) fn cached_id(&self, text: &[u8]) -> Option<u32> {
        let s = self.cache[slot(text)];
        let n = s.len as usize;
        // The spelling has no NUL, so equal bytes followed by a NUL or the end are the label.
        let whole = text.len() == n || text.get(n) == Some(&0);
        let spelling = self
            .arena
            .get(s.at as usize..(s.at as usize).saturating_add(n))?;
        (whole && same(&text[..n], spelling)).then_some(s.id)
    }

    /// The id of the raw string label (no NUL) that starts `text`, if seen since the last
    /// [`forget_raw`](Self::forget_raw); `text` is then cached as that spelling.
    pub(crate) fn raw_id(&mut self, text: &[u8], raw: &[u8]) -> Option<u32> {
        let s = *self.raw.get(raw)?;
        self.cache[slot(text)] = s;
        Some(s.id)
    }

    /// Remembers `raw` (no NUL, the label that starts `text`) as a spelling of `name`.
    pub(crate) fn intern_raw(&mut self, text: &[u8], raw: &[u8], name: String) -> u32 {
        let id = self.intern(name);
        let mut s = Slot {
            at: self.arena.len() as u32,
            len: raw.len() as u32,
            id,
        };
        if u32::try_from(self.arena.len() + raw.len()).is_ok() {
            self.arena.extend_from_slice(raw);
        } else {
            // Past 4 GiB of spellings, new ones are found by hash only.
            s.len = EMPTY;
        }
        self.raw.insert(raw.into(), s);
        self.cache[slot(text)] = s;
        id
    }

    /// The id of a cost-centre stack, if seen since the last [`forget_raw`](Self::forget_raw).
    pub(crate) fn stack_id(&self, stack: &[u32]) -> Option<u32> {
        self.stacks.get(stack).copied()
    }

    /// Remembers `stack` as `name`.
    pub(crate) fn intern_stack(&mut self, stack: &[u32], name: String) -> u32 {
        let id = self.intern(name);
        self.stacks.insert(stack.into(), id);
        id
    }

    /// Forgets spellings (not names): new cost centres or info tables may rename them.
    pub(crate) fn forget_raw(&mut self) {
        self.raw.clear();
        self.arena.clear();
        self.cache.fill(NO_SLOT);
        self.stacks.clear();
    }

    /// The normalised name of an id.
    #[inline]
    pub(crate) fn name(&self, id: LabelId) -> &str {
        &self.names[id.0 as usize]
    }

    /// The census as a sample (counts not assigned).
    pub(crate) fn sample(&self, census: &Census) -> Sample {
        let mut rows = census.rows.clone();
        rows.sort_unstable_by_key(|r| self.rank[r.0 .0 as usize]);
        // Sorted input: the map is built in one pass, with no key comparisons to speak of.
        let types: crate::timeline::LabelMap<TypeSample> = rows
            .iter()
            .map(|&(id, bytes)| {
                (
                    self.names[id.0 as usize].clone(),
                    TypeSample {
                        bytes,
                        ..TypeSample::default()
                    },
                )
            })
            .collect();
        Sample {
            x: census.x,
            live_bytes: census.live_bytes,
            time_ns: Some(census.time_ns),
            bytes_allocated: census.bytes_allocated,
            types,
            ..Sample::default()
        }
    }

    /// The number of ids.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    fn intern(&mut self, name: String) -> u32 {
        if let Some(&id) = self.by_name.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.by_name.insert(name.clone(), id);
        self.names.push(name.into());
        // New names are rare (a program has a bounded set of labels): re-rank them all.
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        self.rank = vec![0; order.len()];
        for (r, &id) in order.iter().enumerate() {
            self.rank[id as usize] = r as u32;
        }
        id
    }
}

/// Puts a census's rows in the order of their labels' names (a `Sample`'s order) without
/// comparing names or sorting: each row is scattered to its label's rank in a bitset, which is
/// then walked. Costs a word per 64 labels plus a few operations per row; keeps a `u32` per label.
#[derive(Default)]
pub(crate) struct NameOrder {
    /// Rank → index of the row with that rank in the census being ordered.
    at: Vec<u32>,
    /// The ranks present, all zero between calls.
    bits: Vec<u64>,
}

impl NameOrder {
    /// The indices of `rows` (labels of `labels`) in the order of their labels' names, into
    /// `out`.
    pub(crate) fn order(&mut self, labels: &Labels, rows: &[(LabelId, u64)], out: &mut Vec<u32>) {
        let n = labels.rank.len();
        if self.at.len() < n {
            self.at.resize(n, 0);
            self.bits.resize(n.div_ceil(64), 0);
        }
        for (i, &(id, _)) in rows.iter().enumerate() {
            // Every id of a census is in its reader's table.
            if let Some(&r) = labels.rank.get(id.0 as usize) {
                let r = r as usize;
                self.at[r] = i as u32;
                self.bits[r / 64] |= 1 << (r % 64);
            }
        }
        out.clear();
        for (w, word) in self.bits.iter_mut().enumerate() {
            let mut b = std::mem::take(word);
            while b != 0 {
                out.push(self.at[w * 64 + b.trailing_zeros() as usize]);
                b &= b - 1;
            }
        }
    }
}

/// The census being read; its buffers are reused from one census to the next.
#[derive(Default)]
pub(crate) struct Accumulator {
    /// The census's index, time and the latest heap-allocated figure before it; `None` between
    /// censuses.
    pub(crate) open: Option<(u64, u64, Option<u64>)>,
    /// Bytes per label id, zero for ids not in this census.
    bytes: Vec<u64>,
    present: Vec<bool>,
    touched: Vec<u32>,
    /// The rows of a census its reader is done with, reused by the next (`recycle`).
    spare: Vec<(LabelId, u64)>,
}

impl Accumulator {
    pub(crate) fn begin(&mut self, x: u64, time_ns: u64, bytes_allocated: Option<u64>) {
        self.reset();
        self.open = Some((x, time_ns, bytes_allocated));
    }

    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    #[inline]
    pub(crate) fn add(&mut self, id: u32, residency: u64) {
        let i = id as usize;
        if i >= self.bytes.len() {
            self.bytes.resize(i + 1, 0);
            self.present.resize(i + 1, false);
        }
        if !self.present[i] {
            self.present[i] = true;
            self.touched.push(id);
        }
        self.bytes[i] += residency;
    }

    /// Takes back a closed census's rows, so that the next census allocates none.
    pub(crate) fn recycle(&mut self, census: Census) {
        self.spare = census.rows;
    }

    fn reset(&mut self) {
        for &id in &self.touched {
            self.bytes[id as usize] = 0;
            self.present[id as usize] = false;
        }
        self.touched.clear();
        self.open = None;
    }

    /// Closes the open census, if any.
    pub(crate) fn close(&mut self) -> Option<Census> {
        let (x, time_ns, bytes_allocated) = self.open?;
        let mut rows = std::mem::take(&mut self.spare);
        rows.clear();
        rows.extend(
            self.touched
                .iter()
                .map(|&id| (LabelId(id), self.bytes[id as usize])),
        );
        let live_bytes = rows.iter().map(|r| r.1).sum();
        self.reset();
        Some(Census {
            x,
            time_ns,
            bytes_allocated,
            live_bytes,
            rows,
        })
    }
}

/// The Fx hash (rustc's): labels come from a local file, not an adversary, and the default
/// SipHash was a tenth of the reading time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    /// Mixes one word in.
    pub(crate) fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_share_an_id_and_samples_sort_by_name() {
        let mut labels = Labels::default();
        let b = labels.intern_raw(b"b-1.0:X\0", b"b-1.0:X", "b:X".into());
        let a = labels.intern_raw(b"a\0", b"a", "a".into());
        let b2 = labels.intern_raw(b"b-2.0:X", b"b-2.0:X", "b:X".into());
        assert_eq!(b, b2);
        assert_eq!(labels.raw_id(b"a\0\0", b"a"), Some(a));
        assert_eq!(labels.cached_id(b"a\0\0"), Some(a));
        assert_eq!(labels.cached_id(b"a\0"), Some(a));
        assert_eq!(labels.cached_id(b"b-2.0:X"), Some(b));
        assert_eq!(labels.cached_id(b"b-2.0:X\0junk"), None, "another slot");
        let mut c = Accumulator::default();
        assert!(c.close().is_none());
        c.begin(3, 10, Some(7));
        c.add(b, 16);
        c.add(a, 8);
        c.add(b2, 16);
        let census = c.close().unwrap();
        assert_eq!(census.rows, [(LabelId(b), 32), (LabelId(a), 8)]);
        let s = labels.sample(&census);
        assert_eq!((s.x, s.time_ns, s.bytes_allocated), (3, Some(10), Some(7)));
        assert_eq!(s.live_bytes, 40);
        let got: Vec<(&str, u64)> = s.types.iter().map(|(l, t)| (l.as_str(), t.bytes)).collect();
        assert_eq!(got, [("a", 8), ("b:X", 32)]);
        c.begin(4, 11, None);
        c.add(a, 1);
        assert_eq!(c.close().unwrap().live_bytes, 1);
        labels.forget_raw();
        assert_eq!(labels.raw_id(b"a\0", b"a"), None);
        assert_eq!(labels.cached_id(b"a\0"), None);
    }
}
