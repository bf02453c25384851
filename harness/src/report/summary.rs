//! `Summary`: the plain-text summary `membound profile` prints — peak and steady residency,
//! growth, the top types with their peak and growth, the markers.
//!
//! Built sample by sample in memory that does not grow with the profile (a few bytes per
//! sample of the second half, plus one entry per type), so a 200 MB eventlog can be
//! summarised while it streams; [`summarise`] does the same over a whole `Timeline`. A reporter:
//! it never decides pass or fail.

use crate::measure::metrics::Fit;
use crate::units::{fmt_bytes, fmt_int};
use crate::{Mark, Sample, Timeline, XUnit};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How many types the summary lists.
pub const TOP_TYPES: usize = 10;

/// The summary of a timeline, accumulated sample by sample. Growth and the steady state are
/// taken over the second half of the samples, so the number of samples is given up front.
#[derive(Debug)]
pub struct Summary {
    n: usize,
    seen: usize,
    unit: XUnit,
    first_x: Option<u64>,
    last_x: u64,
    peak: Option<(u64, u64)>,
    second_half: Vec<(u64, u64)>,
    types: BTreeMap<String, TypeStats>,
    marks: Vec<Mark>,
}

#[derive(Debug, Default)]
struct TypeStats {
    peak_bytes: u64,
    peak_count: u64,
    estimated: bool,
    /// The gcd of every byte total seen: a multiple of the closure size, for counts when the
    /// samples carry none (a streamed eventlog).
    gcd_bytes: u64,
    fit: Fit,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Summary {
    /// A summary of `n` samples in `unit`.
    pub fn new(n: usize, unit: XUnit) -> Self {
        Summary {
            n,
            seen: 0,
            unit,
            first_x: None,
            last_x: 0,
            peak: None,
            second_half: Vec::new(),
            types: BTreeMap::new(),
            marks: Vec::new(),
        }
    }

    /// Adds the next sample.
    pub fn push(&mut self, s: &Sample) {
        self.first_x.get_or_insert(s.x);
        self.last_x = s.x;
        if self.peak.is_none_or(|(_, b)| s.live_bytes > b) {
            self.peak = Some((s.x, s.live_bytes));
        }
        let in_second_half = self.seen >= self.n / 2;
        if in_second_half {
            self.second_half.push((s.x, s.live_bytes));
        }
        for (label, t) in &s.types {
            // Looked up before inserting: a clone per label per sample was most of the cost.
            let e = match self.types.get_mut(label.as_str()) {
                Some(e) => e,
                None => self.types.entry(label.clone()).or_default(),
            };
            e.peak_bytes = e.peak_bytes.max(t.bytes);
            e.peak_count = e.peak_count.max(t.count);
            e.estimated |= t.count_estimated;
            e.gcd_bytes = gcd(e.gcd_bytes, t.bytes);
        }
        if in_second_half {
            // Every type known so far gets a point, 0 where it is absent from this sample.
            for (label, e) in self.types.iter_mut() {
                e.fit
                    .push(s.x as f64, s.types.get(label).map_or(0, |t| t.bytes) as f64);
            }
        }
        self.seen += 1;
    }

    /// Adds a marker.
    pub fn mark(&mut self, m: Mark) {
        self.marks.push(m);
    }

    /// The text, with the source's facts, totals and notes from `meta` (its samples unused).
    pub fn render(&self, meta: &Timeline) -> String {
        let mut s = String::new();
        let unit = self.unit.label();
        let _ = writeln!(
            s,
            "source: {}{}",
            meta.source,
            if meta.truncated {
                " (truncated: the profile ends mid-record)"
            } else {
                ""
            }
        );
        for (k, v) in &meta.facts {
            let _ = writeln!(s, "{k}: {v}");
        }
        let _ = writeln!(
            s,
            "samples: {} ({unit} {} to {})",
            self.seen,
            self.first_x.unwrap_or(0),
            self.last_x
        );
        if let Some((x, b)) = self.peak {
            let _ = writeln!(s, "peak residency: {} at {unit} {x}", fmt_bytes(b as f64));
        }
        let mut steady: Vec<u64> = self.second_half.iter().map(|(_, b)| *b).collect();
        steady.sort_unstable();
        if let Some(m) = steady.get(steady.len() / 2) {
            let _ = writeln!(
                s,
                "steady residency (median of the second half): {}",
                fmt_bytes(*m as f64)
            );
        }
        let (per, per_name) = (self.unit.per(), self.unit.per_name());
        if let Some((b, r2)) = crate::measure::metrics::slope(
            self.second_half.iter().map(|(x, y)| (*x as f64, *y as f64)),
        ) {
            let _ = writeln!(
                s,
                "growth (second half): {} {per_name} (r² {r2:.2})",
                fmt_bytes(b * per)
            );
        }
        for (k, v) in &meta.totals {
            let shown = if k.contains("bytes") || k.contains("rss") || k.contains("heap") {
                fmt_bytes(*v as f64)
            } else {
                fmt_int(*v as i128)
            };
            let _ = writeln!(s, "{k}: {shown}");
        }
        let mut top: Vec<(&String, &TypeStats)> = self.types.iter().collect();
        top.sort_by(|a, b| b.1.peak_bytes.cmp(&a.1.peak_bytes).then(a.0.cmp(b.0)));
        if !top.is_empty() {
            let _ = writeln!(s, "top types by peak bytes (growth over the second half):");
        }
        for (label, t) in top.into_iter().take(TOP_TYPES) {
            if self.unit == XUnit::Snapshot {
                // massif's allocation sites: bytes, and no objects counted or to infer.
                let _ = writeln!(
                    s,
                    "  {:<50} peak {:>10}, growth {} {per_name}",
                    label,
                    fmt_bytes(t.peak_bytes as f64),
                    t.fit
                        .slope()
                        .map_or("n/a".into(), |(b, _)| fmt_bytes(b * per))
                );
                continue;
            }
            let (count, estimated) = if t.peak_count > 0 || t.peak_bytes == 0 {
                (t.peak_count, t.estimated)
            } else if let Some(size) = crate::source::ghc::known_closure_size(label) {
                (t.peak_bytes / size, false)
            } else {
                (t.peak_bytes / t.gcd_bytes.max(1), true)
            };
            let _ = writeln!(
                s,
                "  {:<50} peak {:>10} ({}{} objects), growth {} {per_name}",
                label,
                fmt_bytes(t.peak_bytes as f64),
                if estimated { "~" } else { "" },
                fmt_int(count as i128),
                t.fit
                    .slope()
                    .map_or("n/a".into(), |(b, _)| fmt_bytes(b * per))
            );
        }
        if !self.marks.is_empty() {
            let _ = writeln!(s, "markers:");
            for m in &self.marks {
                let _ = writeln!(s, "  {unit} {}: {}", m.x, m.label);
            }
        }
        for note in &meta.notes {
            let _ = writeln!(s, "note: {note}");
        }
        s
    }
}

/// The summary text of a whole timeline.
pub fn summarise(tl: &Timeline) -> String {
    let mut s = Summary::new(tl.samples.len(), tl.x_unit);
    for x in &tl.samples {
        s.push(x);
    }
    for m in &tl.marks {
        s.mark(m.clone());
    }
    s.render(tl)
}
