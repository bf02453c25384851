//! `Summary`: the plain-text summary `membound profile` prints — peak and steady residency,
//! growth, the top types with their peak and growth, the markers.
//!
//! Built sample by sample in memory that does not grow with the profile (a few bytes per
//! sample of the second half, plus one entry per type), so a 200 MB eventlog can be
//! summarised while it streams; [`summarise`] does the same over a whole `Timeline`. A reporter:
//! it never decides pass or fail.

use crate::measure::metrics::Fit;
use crate::source::ghc;
use crate::source::ghc::eventlog::{self, Census, EventlogError, LabelNames};
use crate::spec::metric::Unit;
use crate::timeline::Label;
use crate::units::{fmt_bytes, fmt_int};
use crate::{Mark, Sample, Timeline, XUnit};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;

/// How many types the summary lists.
pub const TOP_TYPES: usize = 10;

/// The summary of a timeline, accumulated sample by sample. Growth and the steady state are
/// taken over the second half of the samples, so the number of samples is given up front.
#[derive(Debug)]
pub struct Summary {
    res: Residency,
    unit: XUnit,
    types: BTreeMap<Label, TypeStats>,
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

/// The total residency of the samples so far: where they start and end, the peak, and the
/// second half kept for the steady state and the growth. Shared by [`Summary`] and
/// [`CensusSummary`].
#[derive(Debug)]
struct Residency {
    n: usize,
    seen: usize,
    first_x: Option<u64>,
    last_x: u64,
    peak: Option<(u64, u64)>,
    second_half: Vec<(u64, u64)>,
}

impl Residency {
    fn new(n: usize) -> Self {
        Residency {
            n,
            seen: 0,
            first_x: None,
            last_x: 0,
            peak: None,
            second_half: Vec::new(),
        }
    }

    /// Takes in the next sample's total; whether it is in the second half. The caller adds its
    /// types, then calls [`Residency::done`].
    fn push(&mut self, x: u64, live_bytes: u64) -> bool {
        self.first_x.get_or_insert(x);
        self.last_x = x;
        if self.peak.is_none_or(|(_, b)| live_bytes > b) {
            self.peak = Some((x, live_bytes));
        }
        let in_second_half = self.seen >= self.n / 2;
        if in_second_half {
            self.second_half.push((x, live_bytes));
        }
        in_second_half
    }

    /// Ends the sample [`Residency::push`] began.
    fn done(&mut self) {
        self.seen += 1;
    }
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
            res: Residency::new(n),
            unit,
            types: BTreeMap::new(),
            marks: Vec::new(),
        }
    }

    /// Adds the next sample.
    pub fn push(&mut self, s: &Sample) {
        let in_second_half = self.res.push(s.x, s.live_bytes);
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
        self.res.done();
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
            self.res.seen,
            self.res.first_x.unwrap_or(0),
            self.res.last_x
        );
        self.residency(&mut s);
        for (k, v) in &meta.totals {
            let shown = match k.unit() {
                Unit::Bytes => fmt_bytes(*v as f64),
                _ => fmt_int(*v as i128),
            };
            let _ = writeln!(s, "{}: {shown}", k.name());
        }
        self.top_types(&mut s, meta);
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

    /// Peak, steady and growth of the total residency.
    fn residency(&self, s: &mut String) {
        let unit = self.unit.label();
        if let Some((x, b)) = self.res.peak {
            let _ = writeln!(s, "peak residency: {} at {unit} {x}", fmt_bytes(b as f64));
        }
        let mut steady: Vec<u64> = self.res.second_half.iter().map(|(_, b)| *b).collect();
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
            self.res
                .second_half
                .iter()
                .map(|(x, y)| (*x as f64, *y as f64)),
        ) {
            let _ = writeln!(
                s,
                "growth (second half): {} {per_name} (r² {r2:.2})",
                fmt_bytes(b * per)
            );
        }
    }

    /// The largest types by peak bytes, with their growth, and for an allocation site the
    /// program's code that called it (`meta`'s callers).
    fn top_types(&self, s: &mut String, meta: &Timeline) {
        let mut top: Vec<(&Label, &TypeStats)> = self.types.iter().collect();
        top.sort_by(|a, b| b.1.peak_bytes.cmp(&a.1.peak_bytes).then(a.0.cmp(b.0)));
        if !top.is_empty() {
            let _ = writeln!(s, "top types by peak bytes (growth over the second half):");
        }
        for (label, t) in top.into_iter().take(TOP_TYPES) {
            let _ = writeln!(s, "{}", self.type_line(label, t));
            if let Some(c) = meta
                .callers
                .get(label.as_str())
                .and_then(|c| crate::timeline::called_from(c))
            {
                let _ = writeln!(s, "    {c}");
            }
        }
    }

    /// One type's peak (with its objects, counted or inferred) and growth.
    fn type_line(&self, label: &str, t: &TypeStats) -> String {
        let (per, per_name) = (self.unit.per(), self.unit.per_name());
        let growth = t
            .fit
            .slope()
            .map_or("n/a".into(), |(b, _)| fmt_bytes(b * per));
        if self.unit == XUnit::Snapshot {
            // massif's allocation sites: bytes, and no objects counted or to infer.
            return format!(
                "  {:<50} peak {:>10}, growth {growth} {per_name}",
                label,
                fmt_bytes(t.peak_bytes as f64),
            );
        }
        let (count, estimated) = if t.peak_count > 0 || t.peak_bytes == 0 {
            (t.peak_count, t.estimated)
        } else if let Some(size) = crate::source::ghc::known_closure_size(label) {
            (t.peak_bytes / size, false)
        } else {
            (t.peak_bytes / t.gcd_bytes.max(1), true)
        };
        format!(
            "  {:<50} peak {:>10} ({}{} objects), growth {growth} {per_name}",
            label,
            fmt_bytes(t.peak_bytes as f64),
            if estimated { "~" } else { "" },
            fmt_int(count as i128),
        )
    }
}

/// The summary of an eventlog's censuses, accumulated by label id ([`Census`] rows) rather than
/// from [`Sample`]s: no string or map per label per census, so that a 200 MB eventlog is
/// summarised at nearly the speed it is read. [`finish`](Self::finish) gives the [`Summary`]
/// that the censuses' samples (counts assigned as [`ghc::assign_counts`] does) would have
/// given, and the counting notes the reader of the whole log would add.
///
/// Counts need no first pass: a count is bytes divided by the closure size, so a label's peak
/// count is its peak bytes divided by the size (floor division is monotonic), the size is
/// declared or known from the label alone or inferred as the gcd of every row, and whether any
/// row's count was an estimate is whether the size is inferred or fails to divide a row.
#[derive(Debug)]
pub struct CensusSummary {
    res: Residency,
    closure_sizes: BTreeMap<String, u64>,
    /// Per label index, once the label has been in a census.
    labels: Vec<Option<LabelStats>>,
    /// The indices of `labels` in use, in the order they first appeared.
    known: Vec<usize>,
    marks: Vec<Mark>,
}

#[derive(Debug)]
struct LabelStats {
    name: String,
    peak_bytes: u64,
    /// The gcd of every row's bytes (0 until a non-zero row).
    gcd_bytes: u64,
    /// The declared or known closure size, which does not depend on the rows.
    fixed_size: Option<u64>,
    /// The first row's bytes that `fixed_size` does not divide, for the note.
    indivisible: Option<u64>,
    fit: Fit,
    /// The census (its `seen` index) of the last row, and that row's bytes.
    last: Option<(usize, u64)>,
}

impl CensusSummary {
    /// A summary of `n` censuses (as [`count_censuses`](crate::source::ghc::eventlog::count_censuses)
    /// gives) with the closure sizes a scenario declares.
    pub fn new(n: usize, opts: &ghc::ReadOptions) -> Self {
        CensusSummary {
            res: Residency::new(n),
            closure_sizes: opts.closure_sizes.clone(),
            labels: Vec::new(),
            known: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Adds the next census; `names` names its label ids.
    pub fn push(&mut self, c: &Census, names: LabelNames<'_>) {
        let in_second_half = self.res.push(c.x, c.live_bytes);
        for &(id, bytes) in &c.rows {
            let i = id.index();
            if self.labels.len() <= i {
                self.labels.resize_with(i + 1, || None);
            }
            let e = match &mut self.labels[i] {
                Some(e) => e,
                slot => {
                    let name = names.name(id).to_owned();
                    let fixed_size = self
                        .closure_sizes
                        .get(&name)
                        .copied()
                        .or_else(|| ghc::known_closure_size(&name));
                    self.known.push(i);
                    slot.insert(LabelStats {
                        name,
                        peak_bytes: 0,
                        gcd_bytes: 0,
                        fixed_size,
                        indivisible: None,
                        fit: Fit::default(),
                        last: None,
                    })
                }
            };
            e.peak_bytes = e.peak_bytes.max(bytes);
            // A row equal to the label's last one changes nothing but the fit: rows repeat
            // from census to census, and a division per row is a good part of the cost.
            if e.last.is_none_or(|(_, b)| b != bytes) {
                if e.gcd_bytes == 0 {
                    e.gcd_bytes = bytes;
                } else if bytes % e.gcd_bytes != 0 {
                    e.gcd_bytes = gcd(e.gcd_bytes, bytes);
                }
                // The gcd is a multiple of the size while every row is: the first row that
                // is not makes the gcd one too.
                if let Some(size) = e.fixed_size.filter(|&s| s > 0) {
                    if e.indivisible.is_none() && bytes % size != 0 {
                        e.indivisible = Some(bytes);
                    }
                }
            }
            e.last = Some((self.res.seen, bytes));
        }
        if in_second_half {
            // Every label known so far gets a point, 0 where it is absent from this census.
            for &i in &self.known {
                if let Some(e) = &mut self.labels[i] {
                    let y = match e.last {
                        Some((at, b)) if at == self.res.seen => b,
                        _ => 0,
                    };
                    e.fit.push(c.x as f64, y as f64);
                }
            }
        }
        self.res.done();
    }

    /// Adds a marker.
    pub fn mark(&mut self, m: Mark) {
        self.marks.push(m);
    }

    /// The summary, and the counting notes (sizes inferred, sizes that did not divide) that
    /// belong after the reader's notes.
    pub fn finish(self) -> (Summary, Vec<String>) {
        let opts = ghc::ReadOptions {
            closure_sizes: self.closure_sizes,
        };
        let mut inference = ghc::SizeInference::default();
        for e in self.labels.iter().flatten() {
            inference.observe_label(&e.name, e.gcd_bytes);
        }
        let sizes = inference.sizes(&opts);
        let mut counts = inference.counts(&opts);
        let mut types = BTreeMap::new();
        for e in self.labels.into_iter().flatten() {
            let (peak_count, estimated) = match sizes.get(e.name.as_str()) {
                Some(size) if size.bytes() > 0 => {
                    if let Some(bytes) = e.indivisible {
                        counts.note_indivisible(&e.name, bytes);
                    }
                    (
                        e.peak_bytes / size.bytes(),
                        matches!(size, ghc::ClosureSize::Inferred(_)) || e.indivisible.is_some(),
                    )
                }
                _ => (0, false),
            };
            types.insert(
                e.name.into(),
                TypeStats {
                    peak_bytes: e.peak_bytes,
                    peak_count,
                    estimated,
                    gcd_bytes: e.gcd_bytes,
                    fit: e.fit,
                },
            );
        }
        let summary = Summary {
            res: self.res,
            unit: XUnit::Census,
            types,
            marks: self.marks,
        };
        (summary, counts.notes())
    }
}

/// The summary text of an eventlog, streamed in two passes over the same bytes (`first` and
/// `second`), in memory that does not grow with the censuses' contents: equal to [`summarise`]
/// of what [`read_eventlog`](eventlog::read_eventlog) gives, and failing where it fails, with
/// its error.
pub fn summarise_eventlog<R: Read, S: Read>(
    first: R,
    second: S,
    opts: &ghc::ReadOptions,
) -> Result<String, EventlogError> {
    // A count that failed means the full read fails too, at the same place or before (it
    // checks more of each event), and that read's error is the one to report.
    let counted = eventlog::count_censuses(first);
    let n = counted.as_ref().map_or(0, |n| *n as usize);
    let mut summary = CensusSummary::new(n, opts);
    let mut meta = eventlog::for_each_census(second, |c, names| summary.push(c, names))?;
    counted?;
    for m in &meta.marks {
        summary.mark(m.clone());
    }
    let (summary, notes) = summary.finish();
    meta.notes.extend(notes);
    Ok(summary.render(&meta))
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
