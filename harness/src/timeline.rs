//! `Timeline`: the one shared currency between profile sources and everything downstream.
//!
//! Every source (the simulator probe, a GHC eventlog, a GHC `.hp` file, an RSS poller)
//! produces a `Timeline`; metrics, invariants, baselines and reports consume only this type.
//! It knows nothing of scenarios, TOML or baselines.

use crate::spec::metric::Total;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A run's memory over time: samples at an x-position plus phase marks and whole-run totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// What produced the samples, e.g. `sim:register_wb`, `ghc-eventlog`, `ghc-hp`, `rss`.
    pub source: String,
    /// What a sample's `x` counts.
    pub x_unit: XUnit,
    /// Samples in increasing `x`.
    pub samples: Vec<Sample>,
    /// Phase marks: user markers (`traceMarkerIO`) or phase boundaries, in increasing `x`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    /// Whole-run figures that belong to no single sample: metrics (`ghc.max_bytes_used`,
    /// `rss.peak`), facts and the RTS's other statistics, typed by the metric table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub totals: BTreeMap<Total, u64>,
    /// Facts about the program that produced the profile (`rts_ident`, `program`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
    /// Where a label's objects were allocated from, for sources whose labels are allocation
    /// sites (massif): label → the first frames of the program's own code that called it,
    /// nearest first. Extra to the label, never part of it, so that labels (the keys of
    /// baselines and of `type` globs) stay what they are; empty where the source has no stacks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub callers: BTreeMap<String, Vec<String>>,
    /// The profile ended mid-record (a killed program): samples are those that were whole.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Diagnostics a reader wants to surface without failing (unknown events skipped, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

pub use crate::units::XUnit;

/// A per-type label (a closure type, a cost-centre stack, an allocation site): a shared,
/// immutable string. A source makes each distinct label once and every census, sink and check
/// holds that one allocation, so a census's labels are not allocated again census after census,
/// and comparing a label with itself (what the sinks' side-by-side walks do for nearly every
/// label) is a pointer comparison rather than a `memcmp` over a long common prefix such as
/// `clash-prelude:Clash.Signal.Internal.`. It orders, hashes and serialises as its text.
pub struct Label(std::sync::Arc<str>);

impl Clone for Label {
    fn clone(&self) -> Self {
        Label(std::sync::Arc::clone(&self.0))
    }

    /// Overwriting a label with itself (a snapshot updated census after census) leaves the
    /// reference counts alone.
    fn clone_from(&mut self, source: &Self) {
        if !std::sync::Arc::ptr_eq(&self.0, &source.0) {
            self.0 = std::sync::Arc::clone(&source.0);
        }
    }
}

impl Label {
    /// The label's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Label {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Label {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for Label {}

impl PartialEq<str> for Label {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl Ord for Label {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if std::sync::Arc::ptr_eq(&self.0, &other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for Label {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for Label {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `str` hashes: lookups by `&str` (`Borrow<str>`) must find it.
        (*self.0).hash(state)
    }
}

impl std::fmt::Debug for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Label {
    fn from(s: &str) -> Self {
        Label(s.into())
    }
}

impl From<String> for Label {
    fn from(s: String) -> Self {
        Label(s.into())
    }
}

impl From<&String> for Label {
    fn from(s: &String) -> Self {
        Label(s.as_str().into())
    }
}

impl From<Label> for String {
    fn from(l: Label) -> Self {
        l.0.to_string()
    }
}

impl Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Label::from)
    }
}

/// A map from [`Label`]s, kept as one sorted vector: a census's types. Its API is the part of
/// `BTreeMap`'s the pipeline uses, so it reads like one; the difference is where the time goes.
/// Every census is walked by several sinks beside their own per-label figures (see
/// [`for_each_label`]), and a census's map is rebuilt in place from the next census's rows:
/// over a contiguous vector both are a pass over memory, where a tree's nodes were a pointer
/// chase per label (the walks were about a third of the live watch's time per census).
/// Inserting in the middle is linear, which a census of tens of labels never notices.
#[derive(Clone, PartialEq, Eq)]
pub struct LabelMap<V> {
    /// Sorted by label, each label once.
    entries: Vec<(Label, V)>,
}

impl<V> Default for LabelMap<V> {
    fn default() -> Self {
        LabelMap {
            entries: Vec::new(),
        }
    }
}

impl<V> LabelMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` labels.
    pub fn with_capacity(n: usize) -> Self {
        LabelMap {
            entries: Vec::with_capacity(n),
        }
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no label.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every label, keeping the allocation.
    pub fn clear(&mut self) {
        self.entries.clear()
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        Label: std::borrow::Borrow<Q>,
    {
        use std::borrow::Borrow;
        self.entries.binary_search_by(|(l, _)| l.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        Label: std::borrow::Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, to change.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        Label: std::borrow::Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// The stored label equal to `key`, with its value.
    pub fn get_key_value<Q: Ord + ?Sized>(&self, key: &Q) -> Option<(&Label, &V)>
    where
        Label: std::borrow::Borrow<Q>,
    {
        self.find(key).ok().map(|i| {
            let (l, v) = &self.entries[i];
            (l, v)
        })
    }

    /// Whether `key` is there.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        Label: std::borrow::Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets `label`'s value; returns the value it replaces.
    pub fn insert(&mut self, label: Label, value: V) -> Option<V> {
        // Labels mostly come in order: appending needs no search.
        if self.entries.last().is_none_or(|(l, _)| *l < label) {
            self.entries.push((label, value));
            return None;
        }
        match self.find(label.as_str()) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (label, value));
                None
            }
        }
    }

    /// `label`'s value, a default one put there first if it has none.
    pub fn get_or_default(&mut self, label: Label) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(label.as_str()) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (label, V::default()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Takes `key` out; returns its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        Label: std::borrow::Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The labels with their values, in label order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&Label, &V)> + ExactSizeIterator + Clone + '_ {
        self.entries.iter().map(|(l, v)| (l, v))
    }

    /// The labels with their values to change, in label order.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&Label, &mut V)> + ExactSizeIterator + '_ {
        self.entries.iter_mut().map(|(l, v)| (&*l, v))
    }

    /// The labels, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Label> + ExactSizeIterator + Clone + '_ {
        self.entries.iter().map(|(l, _)| l)
    }

    /// The values, in their labels' order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone + '_ {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values to change, in their labels' order.
    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator + '_ {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Walks `census` (labels in increasing order, each with a `T`) beside this map's own
    /// sorted labels, visiting each label in order with its entry here; a label not here yet
    /// is visited with `new(label)`, added once the walk is done. A sink keeping figures per
    /// label meets the same labels census after census: walked side by side, a label meets
    /// its own entry (the same shared [`Label`], compared by pointer) where a lookup compared
    /// each long label (`clash-prelude:Clash.Signal.Internal.:-`) with about log₂(labels)
    /// others.
    pub fn walk_beside<'a, T>(
        &mut self,
        census: impl IntoIterator<Item = (&'a Label, T)>,
        mut new: impl FnMut(&Label) -> V,
        mut visit: impl FnMut(&Label, &mut V, T),
    ) {
        let mut added = Vec::new();
        let mut j = 0;
        for (label, t) in census {
            let here = loop {
                match self.entries.get(j).map(|(k, _)| k.cmp(label)) {
                    Some(std::cmp::Ordering::Less) => j += 1,
                    Some(std::cmp::Ordering::Equal) => break true,
                    _ => break false,
                }
            };
            if here {
                visit(label, &mut self.entries[j].1, t);
                j += 1;
            } else {
                let mut v = new(label);
                visit(label, &mut v, t);
                added.push((label.clone(), v));
            }
        }
        self.extend(added);
    }

    /// The entries as a sorted slice, for walks beside another sorted sequence.
    pub fn as_slice(&self) -> &[(Label, V)] {
        &self.entries
    }

    /// Replaces the entries with `sorted`, which must be in strictly increasing label order:
    /// the values of a source that produces its rows in order, taken without a search.
    /// Merged into the entries in place: a label already there (the same shared label, as a
    /// source's censuses mostly repeat) keeps its entry, with no reference count touched; one
    /// that went is removed and one that came is inserted, without moving the labels past it
    /// (overwriting position by position, one label that came or went changed every label
    /// after it: two atomic reference-count updates each, a tenth of the live watch's time).
    pub fn assign_sorted<'a>(&mut self, sorted: impl IntoIterator<Item = (&'a Label, V)>) {
        let mut n = 0;
        for (label, value) in sorted {
            debug_assert!(
                n == 0 || self.entries[n - 1].0 < *label,
                "labels out of order"
            );
            loop {
                match self.entries.get_mut(n) {
                    Some((l, v)) => match (*l).cmp(label) {
                        std::cmp::Ordering::Equal => {
                            *v = value;
                            break;
                        }
                        // Gone from this census.
                        std::cmp::Ordering::Less => {
                            self.entries.remove(n);
                        }
                        // New in this census.
                        std::cmp::Ordering::Greater => {
                            self.entries.insert(n, (label.clone(), value));
                            break;
                        }
                    },
                    None => {
                        self.entries.push((label.clone(), value));
                        break;
                    }
                }
            }
            n += 1;
        }
        self.entries.truncate(n);
    }
}

impl<V> std::ops::Index<&str> for LabelMap<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        self.get(key)
            .unwrap_or_else(|| panic!("no label {key:?} in the map"))
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for LabelMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> FromIterator<(Label, V)> for LabelMap<V> {
    /// As a `BTreeMap` collects: in label order, a label given twice keeps its last value.
    fn from_iter<I: IntoIterator<Item = (Label, V)>>(iter: I) -> Self {
        let mut entries: Vec<(Label, V)> = iter.into_iter().collect();
        // Stable: of equal labels, the last given is the last here, and is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Label, V)> = Vec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        LabelMap { entries: out }
    }
}

impl<V, const N: usize> From<[(Label, V); N]> for LabelMap<V> {
    fn from(entries: [(Label, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<V> Extend<(Label, V)> for LabelMap<V> {
    fn extend<I: IntoIterator<Item = (Label, V)>>(&mut self, iter: I) {
        for (l, v) in iter {
            self.insert(l, v);
        }
    }
}

impl<V> IntoIterator for LabelMap<V> {
    type Item = (Label, V);
    type IntoIter = std::vec::IntoIter<(Label, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, V> IntoIterator for &'a LabelMap<V> {
    type Item = (&'a Label, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Label, V)>, fn(&'a (Label, V)) -> (&'a Label, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(l, v)| (l, v))
    }
}

impl<'a, V> IntoIterator for &'a mut LabelMap<V> {
    type Item = (&'a Label, &'a mut V);
    type IntoIter = std::iter::Map<
        std::slice::IterMut<'a, (Label, V)>,
        fn(&'a mut (Label, V)) -> (&'a Label, &'a mut V),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter_mut().map(|(l, v)| (&*l, v))
    }
}

impl<V: Serialize> Serialize for LabelMap<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for LabelMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<Label, V>::deserialize(d).map(|m| LabelMap {
            entries: m.into_iter().collect(),
        })
    }
}

/// One observation of the heap.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Position, in the timeline's [`XUnit`].
    pub x: u64,
    /// Total residency at this point in bytes: the simulator's exact live bytes, or the sum of a
    /// GHC heap census.
    pub live_bytes: u64,
    /// Exact peak of live bytes since the previous sample (simulator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_live_bytes: Option<u64>,
    /// Cumulative number of allocations so far (simulator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations: Option<u64>,
    /// Cumulative bytes allocated so far (GHC: from heap-allocated events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_allocated: Option<u64>,
    /// Time since program start in nanoseconds, where the source knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<u64>,
    /// Resident set size of the process at this point, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss: Option<u64>,
    /// jemalloc's own statistics after an epoch advance (simulator probe only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jemalloc: Option<JemallocStats>,
    /// Per-type breakdown keyed by the whole (normalised) label; labels contain dots and colons.
    #[serde(default, skip_serializing_if = "LabelMap::is_empty")]
    pub types: LabelMap<TypeSample>,
}

/// jemalloc's `stats.allocated`, `stats.active` and `stats.resident` at a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JemallocStats {
    /// Bytes allocated by the application.
    pub allocated: u64,
    /// Bytes in active pages.
    pub active: u64,
    /// Bytes in physically resident data pages mapped by the allocator.
    pub resident: u64,
}

/// Live objects of one type at one sample.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TypeSample {
    /// Live objects.
    pub count: u64,
    /// Live bytes.
    pub bytes: u64,
    /// `count` was derived from `bytes` by an inferred closure size, not counted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub count_estimated: bool,
    /// Where the live objects were created (simulator census only), largest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteSample>,
}

/// Live objects of one type created at one site.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SiteSample {
    /// The combinator or component that created them, e.g. `interconnect/unzip`.
    pub site: String,
    /// Live objects created there.
    pub count: u64,
    /// Birth cycle of the oldest live one.
    pub oldest_birth: u64,
    /// Birth cycle of the newest live one.
    pub newest_birth: u64,
}

/// A named point on the x-axis: a user marker or a phase boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Position in the timeline's unit.
    pub x: u64,
    /// The marker's text, e.g. `steady`.
    pub label: String,
}

/// A label's callers ([`Timeline::callers`]) in words, nearest first: ``called from `f (a.c:9)`
/// ← `main (a.c:20)` ``; `None` without callers. The one wording of callers, wherever a
/// growing label is named.
pub fn called_from(callers: &[String]) -> Option<String> {
    if callers.is_empty() {
        return None;
    }
    let frames: Vec<String> = callers.iter().map(|c| format!("`{c}`")).collect();
    Some(format!("called from {}", frames.join(" ← ")))
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Timeline {
    /// An empty timeline from `source`, in `x_unit`.
    pub fn new(source: impl Into<String>, x_unit: XUnit) -> Self {
        Timeline {
            source: source.into(),
            x_unit,
            ..Default::default()
        }
    }

    /// The x-position of the last sample, if any.
    pub fn end(&self) -> Option<u64> {
        self.samples.last().map(|s| s.x)
    }
}

/// Visits each of `types`' labels with its entry in `per_label`, a default one for a label
/// not seen before ([`LabelMap::walk_beside`]).
pub fn for_each_label<V: Default>(
    per_label: &mut LabelMap<V>,
    types: &LabelMap<TypeSample>,
    mut visit: impl FnMut(&mut V, &TypeSample),
) {
    per_label.walk_beside(types, |_| V::default(), |_, v, t| visit(v, t));
}

/// A consumer of a run's samples, one at a time, in increasing `x`: how the figures of a run
/// are computed without a `Timeline` of every sample in memory. A sink needs nothing known in
/// advance (a live watch does not know how long the run will be, nor where its markers
/// fall): what depends on the whole run (the steady window, the chart's spacing) is settled
/// when it is finished, with the run's marks. [`SampleSink::begin`] starts over: a source that
/// finds, after a pass, that fewer samples count (a run cut at a violation found after the
/// fact) begins again.
pub trait SampleSink {
    /// Forgets every sample so far; the samples to come are in `x_unit`.
    fn begin(&mut self, x_unit: XUnit);
    /// One more sample.
    fn sample(&mut self, s: &Sample);
    /// The samples' counts so far were provisional: each type's count is its bytes divided by
    /// `size(label)` (0 for a size of 0). A GHC census's closure sizes are learnt over the
    /// whole run, after its censuses were given live.
    fn recount(&mut self, size: &dyn Fn(&str) -> u64) {
        let _ = size;
    }
}

/// The sink that keeps nothing: for a run whose figures are not wanted (`membound diagnose`
/// wants only its violations).
impl SampleSink for () {
    fn begin(&mut self, _: XUnit) {}
    fn sample(&mut self, _: &Sample) {}
}

impl Timeline {
    /// Streams this timeline's samples into `sink`, from the beginning.
    pub fn feed(&self, sink: &mut dyn SampleSink) {
        sink.begin(self.x_unit);
        for s in &self.samples {
            sink.sample(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Label, XUnit};

    #[test]
    fn a_label_is_its_text_whether_shared_or_not() {
        use std::collections::{BTreeMap, HashMap};
        let shared = Label::from("clash-prelude:Clash.Signal.Internal.:-");
        let copy = Label::from("clash-prelude:Clash.Signal.Internal.:-".to_owned());
        let other = Label::from("ghc-prim:GHC.Types.:");
        // Two allocations of one text are one label; order is the text's.
        assert_eq!(shared, shared.clone());
        assert_eq!(shared, copy);
        assert_eq!(shared.cmp(&copy), std::cmp::Ordering::Equal);
        assert_eq!(shared.cmp(&other), shared.as_str().cmp(other.as_str()));
        assert_eq!(other.cmp(&shared), other.as_str().cmp(shared.as_str()));
        // Maps keyed by labels are searched by text.
        let tree = BTreeMap::from([(shared.clone(), 1), (other.clone(), 2)]);
        assert_eq!(tree.get("ghc-prim:GHC.Types.:"), Some(&2));
        let hash = HashMap::from([(copy.clone(), 1)]);
        assert_eq!(hash.get("clash-prelude:Clash.Signal.Internal.:-"), Some(&1));
        // Serialised as the plain string it was, and read back as one.
        let json = serde_json::to_string(&tree).unwrap();
        assert_eq!(
            json,
            r#"{"clash-prelude:Clash.Signal.Internal.:-":1,"ghc-prim:GHC.Types.:":2}"#
        );
        let back: BTreeMap<Label, i32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tree);
        assert_eq!(
            format!("{shared} {other:?}"),
            r#"clash-prelude:Clash.Signal.Internal.:- "ghc-prim:GHC.Types.:""#
        );
    }

    #[test]
    fn each_axis_names_its_positions_and_its_growth() {
        let table = [
            (
                XUnit::Cycles,
                "cycles",
                "cycle 1,000",
                "per 1000 cycles",
                "live bytes",
            ),
            (
                XUnit::Census,
                "census index",
                "census 1,000",
                "per census",
                "live bytes",
            ),
            (
                XUnit::Millis,
                "ms since start",
                "1,000 ms",
                "per second",
                "resident bytes",
            ),
            (
                XUnit::Snapshot,
                "snapshot index",
                "snapshot 1,000",
                "per snapshot",
                "live bytes",
            ),
        ];
        for (unit, label, at, per, y) in table {
            assert_eq!(
                (
                    unit.label(),
                    unit.at(1000).as_str(),
                    unit.per_name(),
                    unit.residency_label()
                ),
                (label, at, per, y)
            );
        }
        // Each source's growth bound in its own words: massif's and rss's are not GHC's.
        assert_eq!(
            [XUnit::Cycles, XUnit::Census, XUnit::Millis, XUnit::Snapshot].map(XUnit::growth_words),
            [
                "live-byte growth",
                "heap growth",
                "resident-set growth",
                "live-heap growth"
            ]
        );
        // A growth per second of an axis in ms is 1000 x-units; per snapshot, one.
        assert_eq!((XUnit::Millis.per(), XUnit::Snapshot.per()), (1000.0, 1.0));
        assert_eq!(
            serde_json::to_string(&XUnit::Snapshot).ok().as_deref(),
            Some("\"snapshot\"")
        );
    }
}

#[cfg(test)]
mod label_walk_tests {
    use super::*;

    #[test]
    fn every_label_is_visited_once_with_its_own_entry() {
        let t = |count| TypeSample {
            count,
            ..Default::default()
        };
        let mut seen: LabelMap<Vec<u64>> = LabelMap::new();
        let census = |labels: &[(&str, u64)]| -> LabelMap<TypeSample> {
            labels.iter().map(|(l, c)| ((*l).into(), t(*c))).collect()
        };
        for types in [
            census(&[("b", 1), ("d", 2)]),
            census(&[("a", 3), ("b", 4), ("c", 5)]),
            census(&[("d", 6), ("e", 7)]),
        ] {
            for_each_label(&mut seen, &types, |v, t| v.push(t.count));
        }
        let got: Vec<(&str, &[u64])> = seen.iter().map(|(k, v)| (k.as_str(), &v[..])).collect();
        assert_eq!(
            got,
            [
                ("a", &[3][..]),
                ("b", &[1, 4][..]),
                ("c", &[5][..]),
                ("d", &[2, 6][..]),
                ("e", &[7][..])
            ]
        );
    }
}

#[cfg(test)]
mod label_map_tests {
    use super::*;

    fn map(entries: &[(&str, u64)]) -> LabelMap<u64> {
        entries.iter().map(|(l, v)| (Label::from(*l), *v)).collect()
    }

    fn check(m: &LabelMap<u64>, want: &[(&str, u64)]) {
        let got: Vec<(&str, u64)> = m.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn it_keeps_what_a_btree_map_would() {
        // Collected out of order, a label given twice keeping its last value.
        let mut m = map(&[("c", 1), ("a", 2), ("c", 3), ("b", 4)]);
        check(&m, &[("a", 2), ("b", 4), ("c", 3)]);
        assert_eq!(m.insert("bb".into(), 5), None);
        assert_eq!(m.insert("a".into(), 6), Some(2));
        assert_eq!(m.insert("d".into(), 7), None);
        check(&m, &[("a", 6), ("b", 4), ("bb", 5), ("c", 3), ("d", 7)]);
        assert_eq!((m.get("bb"), m.get("x"), m["d"]), (Some(&5), None, 7));
        assert_eq!(m.remove("b"), Some(4));
        *m.get_or_default("0".into()) += 1;
        *m.get_or_default("c".into()) += 1;
        check(&m, &[("0", 1), ("a", 6), ("bb", 5), ("c", 4), ("d", 7)]);
        // Serialised as the map it stands for, and read back the same.
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"0":1,"a":6,"bb":5,"c":4,"d":7}"#);
        assert_eq!(serde_json::from_str::<LabelMap<u64>>(&json).unwrap(), m);
    }

    #[test]
    fn walked_beside_a_census_it_visits_in_label_order_and_keeps_the_new_ones() {
        let mut seen = map(&[("b", 10), ("d", 30)]);
        let census = map(&[("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
        let mut order = Vec::new();
        seen.walk_beside(
            census.iter(),
            |_| 100,
            |l, v, t| {
                order.push(l.to_string());
                *v += t;
            },
        );
        assert_eq!(order, ["a", "b", "c", "d"]);
        check(&seen, &[("a", 101), ("b", 12), ("c", 103), ("d", 34)]);
    }

    #[test]
    fn assigned_in_order_it_is_what_was_assigned() {
        let mut m = LabelMap::new();
        let [a, b, c, d] = ["a", "b", "c", "d"].map(Label::from);
        m.assign_sorted([(&a, 1), (&b, 2), (&c, 3)]);
        m.assign_sorted([(&Label::from("a"), 4), (&c, 5)]);
        check(&m, &[("a", 4), ("c", 5)]);
        m.assign_sorted([(&b, 6), (&c, 7), (&d, 8)]);
        check(&m, &[("b", 6), ("c", 7), ("d", 8)]);
    }
}
