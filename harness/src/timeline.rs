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
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<Label, TypeSample>,
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

/// Visits each of `types`' labels with its entry in `per_label` (a default one for a label not
/// seen before), by walking the two sorted maps side by side: a sink keeping figures per label
/// meets the same labels census after census, and a lookup per label compared each long label
/// (`clash-prelude:Clash.Signal.Internal.:-`) with about log₂(labels) others.
pub fn for_each_label<V: Default>(
    per_label: &mut BTreeMap<Label, V>,
    types: &BTreeMap<Label, TypeSample>,
    mut visit: impl FnMut(&mut V, &TypeSample),
) {
    let mut new = Vec::new();
    let mut known = per_label.iter_mut().peekable();
    for (label, t) in types {
        while known.peek().is_some_and(|(k, _)| *k < label) {
            known.next();
        }
        match known.next_if(|(k, _)| *k == label) {
            Some((_, v)) => visit(v, t),
            None => new.push((label, t)),
        }
    }
    for (label, t) in new {
        visit(per_label.entry(label.clone()).or_default(), t);
    }
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
        let mut seen: BTreeMap<Label, Vec<u64>> = BTreeMap::new();
        let census = |labels: &[(&str, u64)]| -> BTreeMap<Label, TypeSample> {
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
