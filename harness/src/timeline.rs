//! `Timeline`: the one shared currency between profile sources and everything downstream.
//!
//! Every source (the simulator probe, a GHC eventlog, a GHC `.hp` file, an RSS poller)
//! produces a `Timeline`; metrics, invariants, baselines and reports consume only this type.
//! It knows nothing of scenarios, TOML or baselines.

use crate::spec::metric::Total;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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

/// A per-type label (a closure type, a cost-centre stack, an allocation site): an interned,
/// immutable string. Every label of one text is the same one for the whole process, made the
/// first time the text is seen and kept from then on (a run meets a few hundred distinct
/// labels, census after census). So a census's labels are never allocated again, two labels
/// are equal exactly when they are the same one (a pointer comparison, where a `memcmp` went
/// over long common prefixes such as `clash-prelude:Clash.Signal.Internal.`), and each has a
/// small dense [`id`](Label::id) by which a sink finds its own entry for it without comparing
/// anything ([`LabelMap::walk_census`]). It orders, hashes and serialises as its text.
#[derive(Clone)]
pub struct Label(&'static Interned);

/// A label's one copy: its text and its id.
struct Interned {
    text: Box<str>,
    id: u32,
}

/// Every label made so far, by text.
fn interned() -> std::sync::MutexGuard<'static, HashMap<&'static str, &'static Interned>> {
    static TABLE: std::sync::OnceLock<std::sync::Mutex<HashMap<&'static str, &'static Interned>>> =
        std::sync::OnceLock::new();
    TABLE
        .get_or_init(Default::default)
        .lock()
        // A panic elsewhere while holding it leaves the table whole: entries are only added.
        .unwrap_or_else(|p| p.into_inner())
}

impl Label {
    /// The label of `text`, made if it is the first.
    fn intern(text: &str) -> Label {
        let mut table = interned();
        if let Some(i) = table.get(text) {
            return Label(i);
        }
        let id = u32::try_from(table.len()).unwrap_or(u32::MAX);
        // Kept for the rest of the process, as every interner keeps its strings.
        let i: &'static Interned = Box::leak(Box::new(Interned {
            text: text.into(),
            id,
        }));
        table.insert(&i.text, i);
        Label(i)
    }

    /// The label's number, dense from 0 in the order labels were first made in this process:
    /// an index for per-label tables. Not stable across runs: never written anywhere.
    pub fn id(&self) -> usize {
        self.0.id as usize
    }
}

impl Label {
    /// The label's text.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0.text
    }
}

impl std::borrow::Borrow<str> for Label {
    fn borrow(&self) -> &str {
        &self.0.text
    }
}

impl AsRef<str> for Label {
    fn as_ref(&self) -> &str {
        &self.0.text
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Self) -> bool {
        // Interned: one text, one label.
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Label {}

impl PartialEq<str> for Label {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Ord for Label {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
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
        self.as_str().hash(state)
    }
}

impl std::fmt::Debug for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Label {
    fn from(s: &str) -> Self {
        Label::intern(s)
    }
}

impl From<String> for Label {
    fn from(s: String) -> Self {
        Label::intern(&s)
    }
}

impl From<&String> for Label {
    fn from(s: &String) -> Self {
        Label::intern(s)
    }
}

impl From<Label> for String {
    fn from(l: Label) -> Self {
        l.as_str().to_owned()
    }
}

impl Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // From the text as the input holds it: no `String` for a label already interned.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Label;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a label")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Label, E> {
                Ok(Label::intern(v))
            }
        }
        d.deserialize_str(Text)
    }
}

/// A map from [`Label`]s, kept as one sorted vector: a census's types. Its API is the part of
/// `BTreeMap`'s the pipeline uses, so it reads like one; the difference is where the time goes.
/// Every census is walked by several sinks, each finding its own per-label figures by the
/// labels' ids (see [`LabelMap::walk_census`]), and a census's map is written over from the
/// next census's rows: over a contiguous vector both are a pass over memory, where a tree's
/// nodes were a pointer chase per label (the walks were about a third of the live watch's time
/// per census). Inserting in the middle is linear, which a census of tens of labels never
/// notices.
#[derive(Clone)]
pub struct LabelMap<V> {
    /// Sorted by label, each label once.
    entries: Vec<(Label, V)>,
    /// For [`LabelMap::walk_census`]: by [`Label::id`], 1 + the label's place in `entries`,
    /// 0 where it has none; built by the first walk after the labels changed.
    by_id: Vec<u32>,
    /// Whether `by_id` is that of the current labels.
    indexed: bool,
}

impl<V> Default for LabelMap<V> {
    fn default() -> Self {
        LabelMap::from_sorted(Vec::new())
    }
}

impl<V: PartialEq> PartialEq for LabelMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<V: Eq> Eq for LabelMap<V> {}

impl<V> LabelMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` labels.
    pub fn with_capacity(n: usize) -> Self {
        LabelMap::from_sorted(Vec::with_capacity(n))
    }

    fn from_sorted(entries: Vec<(Label, V)>) -> Self {
        LabelMap {
            entries,
            by_id: Vec::new(),
            indexed: false,
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
        self.indexed = false;
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
            self.indexed = false;
            self.entries.push((label, value));
            return None;
        }
        match self.find(label.as_str()) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.indexed = false;
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
                self.indexed = false;
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
        let i = self.find(key).ok()?;
        self.indexed = false;
        Some(self.entries.remove(i).1)
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

    /// Walks `census` (labels in increasing order, each with a `T`), visiting each label in
    /// order with its entry here; a label not here yet is visited with `new(label)`, added
    /// once the walk is done. A sink keeping figures per label meets the same labels census
    /// after census: each finds its entry by its [`Label::id`], with no label compared (a
    /// lookup compared each long label with about log₂(labels) others, and a walk side by
    /// side compared every label here that the census lacked).
    pub fn walk_census<'a, T>(
        &mut self,
        census: impl IntoIterator<Item = (&'a Label, T)>,
        mut new: impl FnMut(&Label) -> V,
        mut visit: impl FnMut(&Label, &mut V, T),
    ) {
        if !self.indexed {
            self.reindex();
        }
        let mut added = Vec::new();
        for (label, t) in census {
            match self.by_id.get(label.id()).copied().unwrap_or(0) {
                0 => {
                    let mut v = new(label);
                    visit(label, &mut v, t);
                    added.push((label.clone(), v));
                }
                at => visit(label, &mut self.entries[at as usize - 1].1, t),
            }
        }
        if !added.is_empty() {
            self.extend(added);
        }
    }

    fn reindex(&mut self) {
        self.by_id.clear();
        for (at, (label, _)) in self.entries.iter().enumerate() {
            if label.id() >= self.by_id.len() {
                self.by_id.resize(label.id() + 1, 0);
            }
            self.by_id[label.id()] = at as u32 + 1;
        }
        self.indexed = true;
    }

    /// Replaces the entries with `sorted`, which must be in strictly increasing label order:
    /// the values of a source that produces its rows in order, taken without a search, written
    /// over the old entries in one pass. (A merge that kept the entries of labels already there
    /// spared their reference counts while labels were counted; interned labels have none, and
    /// the labels that come and go from census to census made the merge shift the entries after
    /// each of them.)
    pub fn assign_sorted<'a>(&mut self, sorted: impl IntoIterator<Item = (&'a Label, V)>) {
        self.indexed = false;
        self.entries.clear();
        self.entries.extend(
            sorted
                .into_iter()
                .map(|(label, value)| (label.clone(), value)),
        );
        debug_assert!(
            self.entries.windows(2).all(|w| w[0].0 < w[1].0),
            "labels out of order"
        );
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
        LabelMap::from_sorted(out)
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
        BTreeMap::<Label, V>::deserialize(d).map(|m| LabelMap::from_sorted(m.into_iter().collect()))
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
/// not seen before ([`LabelMap::walk_census`]).
pub fn for_each_label<V: Default>(
    per_label: &mut LabelMap<V>,
    types: &LabelMap<TypeSample>,
    mut visit: impl FnMut(&mut V, &TypeSample),
) {
    per_label.walk_census(types, |_| V::default(), |_, v, t| visit(v, t));
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
        seen.walk_census(
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
    fn walked_after_its_labels_changed_it_finds_each_entry() {
        let add = |m: &mut LabelMap<u64>, census: &[(&str, u64)]| {
            m.walk_census(map(census).iter(), |_| 0, |_, v, t| *v += t);
        };
        let mut m = map(&[("b", 10), ("d", 30)]);
        add(&mut m, &[("b", 1), ("d", 1)]);
        // Every way the labels change moves the entries after them.
        m.insert(Label::from("a"), 5);
        add(&mut m, &[("a", 1), ("b", 1), ("d", 1)]);
        check(&m, &[("a", 6), ("b", 12), ("d", 32)]);
        m.remove("a");
        add(&mut m, &[("b", 1), ("d", 1)]);
        *m.get_or_default(Label::from("c")) += 7;
        add(&mut m, &[("c", 1), ("d", 1)]);
        check(&m, &[("b", 13), ("c", 8), ("d", 34)]);
        let (b, c) = (Label::from("b"), Label::from("c"));
        m.assign_sorted([(&b, 1), (&c, 2)]);
        add(&mut m, &[("b", 1), ("c", 1), ("e", 1)]);
        check(&m, &[("b", 2), ("c", 3), ("e", 1)]);
        m.clear();
        add(&mut m, &[("b", 1)]);
        check(&m, &[("b", 1)]);
    }

    #[test]
    fn one_text_is_one_label() {
        let a = Label::from("interned once");
        let b = Label::from(String::from("interned once"));
        let c: Label = serde_json::from_str("\"interned once\"").unwrap();
        assert!(std::ptr::eq(a.as_str(), b.as_str()) && std::ptr::eq(a.as_str(), c.as_str()));
        assert_eq!((a.id(), a.id()), (b.id(), c.id()));
        assert_ne!(Label::from("interned twice").id(), a.id());
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
