//! GHC eventlogs (`+RTS -l`), read natively and streaming: the main type is [`EventlogReader`],
//! which yields one [`Record`] (a whole heap census, or a user marker) at a time; [`read_eventlog`]
//! collects them into a [`Timeline`].
//!
//! Memory does not grow with the file: bytes go through one fixed buffer, event by event, and the
//! reader keeps only the census being read plus per-program tables (event types, cost centres,
//! label spellings). Every event is skipped by its declared size unless understood (see
//! `format::KNOWN_EVENTS`); ids the reader has never heard of are skipped the same way and
//! counted in a note. A log that stops mid-event (a killed program) yields its whole censuses and
//! sets [`Timeline::truncated`]; bytes that cannot be an eventlog are an [`EventlogError`] with
//! the byte offset. The reader never panics on any input.
//!
//! Architecture invariant: no `ghc-events` at run time; `ghc-events show` is the reference in
//! tests only (`tests/eventlog_reference.rs`).

mod census;
mod format;
mod input;

pub(crate) use census::FxHasher;

use super::labels::{self as ghc, ReadOptions};
use crate::spec::metric::{Total, GHC_BYTES_ALLOCATED, GHC_HEAP_LIVE_MAX, GHC_HEAP_SIZE_MAX};
use crate::timeline::{Mark, Sample, Timeline, XUnit};
use census::{Accumulator, Labels};
use format::{Handling, KnownEvent, KNOWN_EVENTS};
use input::{be_u16, be_u32, be_u64, Input};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};

/// The first four bytes of every eventlog (`hdrb`).
pub const MAGIC: [u8; 4] = format::HEADER_BEGIN.to_be_bytes();

/// Why an eventlog could not be read. Every variant carries the byte offset where it went wrong.
#[derive(Debug, thiserror::Error)]
pub enum EventlogError {
    /// Reading the underlying stream failed.
    #[error("i/o error at byte {offset}: {source}")]
    Io {
        /// Bytes read before the failure.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The stream does not start with the eventlog magic.
    #[error(
        "not an eventlog: no `hdrb` magic at byte 0 (hint: was the program run with `+RTS -l`?)"
    )]
    NotAnEventlog,
    /// The stream ends inside the header, so not one event can be read.
    #[error(
        "eventlog header cut off at byte {offset} (hint: the program died before its first flush)"
    )]
    TruncatedHeader {
        /// Where the stream ended.
        offset: u64,
    },
    /// The header is malformed.
    #[error("malformed eventlog header at byte {offset}: {what}")]
    BadHeader {
        /// Where the unexpected bytes start.
        offset: u64,
        /// What was expected.
        what: String,
    },
    /// An event whose id the header did not declare, so its size is unknowable.
    #[error("event id {id} at byte {offset} is not declared in the header (hint: the log is corrupt from here on)")]
    UndeclaredEvent {
        /// The id read.
        id: u16,
        /// Where the event starts.
        offset: u64,
    },
    /// The log stops without its end-of-data marker where a whole log is needed (its censuses
    /// judged by [`EventlogStream::samples`]): the part that was read is not the run.
    #[error("the log ends mid-record at byte {offset}, without its end-of-data marker: it is incomplete, and a check of the part that was read would not be the run's (hint: the program ended before its runtime finished writing the log; run it again)")]
    Incomplete {
        /// Where it stops.
        offset: u64,
    },
    /// A declared closure size does not divide a census row of its label (found by
    /// [`EventlogStream::samples`]).
    #[error("census ending by byte {offset}: {source}")]
    ClosureSize {
        /// Where the census's last event ends.
        offset: u64,
        /// The label, its size and the row.
        #[source]
        source: ghc::IndivisibleSize,
    },
    /// An understood variable-size event too short for its own fields.
    #[error(
        "{name} event at byte {offset}: its {size}-byte payload is shorter than the {needed} bytes its fields \
         take (hint: the log is corrupt)"
    )]
    ShortEvent {
        /// The event's name.
        name: &'static str,
        /// Where the event starts.
        offset: u64,
        /// Its payload size.
        size: usize,
        /// What its fields need.
        needed: usize,
    },
}

/// One thing of interest in the log, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A whole heap census. [`EventlogReader::sample`] makes it a [`Sample`].
    Census(Census),
    /// A user marker (`traceMarker`).
    Marker {
        /// Event time since program start.
        time_ns: u64,
        /// The marker's text.
        label: String,
        /// The index of the next census, as far as the file has told so far. [`read_eventlog`]
        /// recomputes it from the times, which matters only for multi-capability logs whose
        /// buffers were flushed out of order.
        x: u64,
    },
}

/// A whole heap census, with labels as ids into the reader's table ([`EventlogReader::label`]),
/// so that streaming through a big log allocates no strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Census {
    /// The census's index: 0, 1, 2, … in the log.
    pub x: u64,
    /// Time of the census's begin event since program start.
    pub time_ns: u64,
    /// The latest heap-allocated figure before the census, if any.
    pub bytes_allocated: Option<u64>,
    /// The sum of the rows.
    pub live_bytes: u64,
    /// Bytes per label, in the log's order; rows of one label (two spellings of one normalised
    /// label) are summed.
    pub rows: Vec<(LabelId, u64)>,
}

/// A label's id in an [`EventlogReader`]'s table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelId(u32);

impl LabelId {
    /// The id as an index: ids are dense, 0, 1, 2, … in the order labels first appear, so a
    /// caller can keep per-label state in a `Vec`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A reader's label table, to name the ids of its censuses ([`EventlogReader::labels`]).
#[derive(Clone, Copy)]
pub struct LabelNames<'a>(&'a Labels);

impl<'a> LabelNames<'a> {
    /// The normalised label of `id`.
    #[inline]
    pub fn name(&self, id: LabelId) -> &'a str {
        self.0.name(id)
    }

    /// The normalised label whose id has this [`index`](LabelId::index), if any.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        (index < self.len()).then(|| self.0.name(LabelId(index as u32)))
    }

    /// How many labels the table holds (every id is below it).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A census with its rows in label-name order and counted by closure size, as
/// [`EventlogStream::counted`] yields it: what the census's [`Sample`] says, by label id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountedCensus {
    /// The census's index.
    pub x: u64,
    /// Time of the census's begin event since program start.
    pub time_ns: u64,
    /// The latest heap-allocated figure before the census, if any.
    pub bytes_allocated: Option<u64>,
    /// The sum of the rows.
    pub live_bytes: u64,
    /// One row per label, in the order of the labels' names.
    pub rows: Vec<CountedRow>,
}

/// One label's row of a [`CountedCensus`]: a [`TypeSample`](crate::timeline::TypeSample) by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedRow {
    /// The label.
    pub label: LabelId,
    /// Live bytes.
    pub bytes: u64,
    /// Live objects, by closure size (0 without a size).
    pub count: u64,
    /// `count` is an estimate (an inferred size, or one that does not divide `bytes`).
    pub count_estimated: bool,
}

/// Reads an eventlog into a [`Timeline`] (`source` `ghc-eventlog`, x = census index) with counts
/// assigned per [`ghc::assign_counts`]. Keeps every census; for constant memory use
/// [`EventlogReader`] directly.
///
/// Marks are placed by time: x is the index of the first census that began after the marker.
/// In a truncated log, a marker after the last whole census goes at the end (x = the number of
/// samples), since the censuses that preceded it in time may be the ones cut off.
pub fn read_eventlog<R: Read>(r: R, opts: &ReadOptions) -> Result<Timeline, EventlogError> {
    read_eventlog_cut(r, opts).map(|(t, _)| t)
}

/// [`read_eventlog`], and the byte offset where the log stops without its end-of-data marker
/// if it does (`truncated`).
pub fn read_eventlog_cut<R: Read>(
    r: R,
    opts: &ReadOptions,
) -> Result<(Timeline, Option<u64>), EventlogError> {
    let mut reader = EventlogReader::new(r)?;
    let mut samples = Vec::new();
    let mut markers = Vec::new();
    while let Some(record) = reader.next_record()? {
        match record {
            Record::Census(c) => samples.push(reader.sample(&c)),
            Record::Marker { time_ns, label, .. } => markers.push((time_ns, label)),
        }
    }
    let cut = reader.cut_at();
    let mut timeline = reader.into_timeline();
    let times: Vec<u64> = samples.iter().map(|s| s.time_ns.unwrap_or(0)).collect();
    timeline.marks = place_marks(markers, &times);
    timeline.samples = samples;
    ghc::assign_counts(&mut timeline, opts);
    Ok((timeline, cut))
}

/// What an eventlog says besides its censuses' rows, read in one pass that skips them: the
/// timeline without samples (facts, totals, notes, truncation, markers placed by time) and the
/// number of whole censuses. For a run whose censuses were already read from its `.hp` (the
/// live watch), this is all the eventlog adds, at a fraction of a full read's cost.
pub fn read_eventlog_meta<R: Read>(r: R) -> Result<(Timeline, u64), EventlogError> {
    one_pass(r, true, |_, _| {})
}

/// Reads an eventlog in one pass, calling `each` with every whole census (rows by label id,
/// `names` to name them) in order: the timeline [`read_eventlog`] gives without its samples
/// and without the counting notes (no counts are assigned), markers placed by time. Keeps
/// 8 bytes per census (its time, to place markers) and the reader's tables.
pub fn for_each_census<R: Read>(
    r: R,
    each: impl FnMut(&Census, LabelNames<'_>),
) -> Result<Timeline, EventlogError> {
    Ok(one_pass(r, false, each)?.0)
}

/// The number of whole censuses in an eventlog, in a pass that skips their rows unread: what a
/// summary must know before its first census (growth and the steady state are over the second
/// half). A log that [`read_eventlog`] reads has the same number of samples; an error here
/// means [`read_eventlog`] fails too, at this offset or before.
pub fn count_censuses<R: Read>(r: R) -> Result<u64, EventlogError> {
    Ok(one_pass(r, true, |_, _| {})?.1)
}

/// The one pass the three above make: every census to `each` (empty ones where `skip_rows`),
/// then the timeline without samples, markers placed by time, and the number of censuses.
fn one_pass<R: Read>(
    r: R,
    skip_rows: bool,
    mut each: impl FnMut(&Census, LabelNames<'_>),
) -> Result<(Timeline, u64), EventlogError> {
    let mut reader = EventlogReader::new(r)?;
    reader.state.skip_rows = skip_rows;
    let mut times = Vec::new();
    let mut markers = Vec::new();
    while let Some(record) = reader.next_record()? {
        match record {
            Record::Census(c) => {
                times.push(c.time_ns);
                each(&c, reader.labels());
                reader.state.census.recycle(c);
            }
            Record::Marker { time_ns, label, .. } => markers.push((time_ns, label)),
        }
    }
    let mut meta = reader.into_timeline();
    meta.marks = place_marks(markers, &times);
    Ok((meta, times.len() as u64))
}

/// The one rule for where a marker goes: censuses are in time order (they all go through the
/// RTS's global buffer) but markers come from per-capability buffers, flushed whenever they
/// fill, so a marker is placed by its time: x is the number of censuses that began before it.
fn place_marks(markers: Vec<(u64, String)>, census_times: &[u64]) -> Vec<Mark> {
    let mut marks: Vec<Mark> = markers
        .into_iter()
        .map(|(t, label)| Mark {
            x: census_times.partition_point(|c| *c < t) as u64,
            label,
        })
        .collect();
    marks.sort_by_key(|m| m.x);
    marks
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// An eventlog read in two passes so that memory does not grow with the censuses' contents:
/// [`scan`](Self::scan) learns what a whole-file reader knows only at the end (facts, totals,
/// the markers' places, closure sizes), then [`samples`](Self::samples) yields each census as
/// the [`Sample`] [`read_eventlog`] would give, counts assigned, one at a time, or
/// [`counted`](Self::counted) the same by label id, with no string per label. Keeps 8 bytes
/// per census (its time, to place markers read after it) and one entry per label.
pub struct EventlogStream {
    meta: Timeline,
    /// Where the log stops without its end marker, if it does.
    cut: Option<u64>,
    opts: ReadOptions,
    censuses: u64,
    counts: ghc::Counts,
    /// Every label's closure size, for [`counted`](Self::counted).
    sizes: BTreeMap<crate::timeline::Label, ghc::ClosureSize>,
}

/// How [`EventlogStream::counted`] counts one label, resolved when the label first appears.
#[derive(Clone, Copy, Default)]
struct LabelCount {
    resolved: bool,
    /// Closure size in bytes; 0 leaves the count at 0 (no size, or a declared 0).
    size: u64,
    inferred: bool,
    /// A size that does not divide a row was reported to `counts` (its first such row only).
    noted: bool,
    /// The last row's bytes and what they counted: rows repeat from census to census, and a
    /// division per row is a good part of a pass.
    last: Option<(u64, u64, bool)>,
}

impl EventlogStream {
    /// The first pass over the log.
    pub fn scan<R: Read>(r: R, opts: &ReadOptions) -> Result<Self, EventlogError> {
        let mut reader = EventlogReader::new(r)?;
        let mut times = Vec::new();
        let mut markers = Vec::new();
        // The gcd of each label's bytes and its last row's, by the reader's label id: no
        // strings per census.
        let mut gcds: Vec<Option<(u64, u64)>> = Vec::new();
        while let Some(record) = reader.next_record()? {
            match record {
                Record::Census(c) => {
                    times.push(c.time_ns);
                    for &(id, bytes) in &c.rows {
                        let i = id.0 as usize;
                        if gcds.len() <= i {
                            gcds.resize(i + 1, None);
                        }
                        gcds[i] = Some(match gcds[i] {
                            None => (bytes, bytes),
                            // Rows repeat from census to census, and most are a multiple of
                            // the gcd so far: no division, or one.
                            Some((g, last)) if last == bytes => (g, last),
                            Some((g, _)) if g != 0 && bytes % g == 0 => (g, bytes),
                            Some((g, _)) => (gcd(g, bytes), bytes),
                        });
                    }
                    reader.state.census.recycle(c);
                }
                Record::Marker { time_ns, label, .. } => markers.push((time_ns, label)),
            }
        }
        let mut sizes = ghc::SizeInference::default();
        for (i, g) in gcds.iter().enumerate() {
            if let Some((g, _)) = g {
                sizes.observe_label(reader.label(LabelId(i as u32)), *g);
            }
        }
        let cut = reader.cut_at();
        let mut meta = reader.into_timeline();
        meta.marks = place_marks(markers, &times);
        Ok(EventlogStream {
            meta,
            cut,
            opts: opts.clone(),
            censuses: times.len() as u64,
            counts: sizes.counts(opts),
            sizes: sizes.sizes(opts),
        })
    }

    /// The timeline without its samples: source, facts, totals, marks, truncation, and the
    /// reader's notes (the counting notes come with [`finish`](Self::finish)).
    pub fn meta(&self) -> &Timeline {
        &self.meta
    }

    /// How many whole censuses the log holds.
    pub fn censuses(&self) -> u64 {
        self.censuses
    }

    /// The second pass, over the same bytes: calls `each` with every census in order, until it
    /// returns `false`. For censuses to be judged: a log cut short is refused before the
    /// first ([`EventlogError::Incomplete`]), and a declared closure size that does not divide
    /// a row stops the pass there ([`EventlogError::ClosureSize`]).
    pub fn samples<R: Read>(
        &mut self,
        r: R,
        mut each: impl FnMut(Sample) -> bool,
    ) -> Result<(), EventlogError> {
        if let Some(offset) = self.cut {
            return Err(EventlogError::Incomplete { offset });
        }
        let mut reader = EventlogReader::new(r)?;
        while let Some(record) = reader.next_record()? {
            if let Record::Census(c) = record {
                let mut sample = reader.sample(&c);
                self.opts
                    .check_sample(&sample)
                    .map_err(|source| EventlogError::ClosureSize {
                        offset: reader.offset(),
                        source,
                    })?;
                self.counts.assign(&mut sample);
                if !each(sample) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The second pass by label id: calls `each` with every census in order, its rows sorted
    /// and counted as [`samples`](Self::samples) would give them but with no string per label,
    /// and the reader's label table to name them, until `each` returns `false`.
    pub fn counted<R: Read>(
        &mut self,
        r: R,
        mut each: impl FnMut(&CountedCensus, LabelNames<'_>) -> bool,
    ) -> Result<(), EventlogError> {
        let mut reader = EventlogReader::new(r)?;
        let mut order = census::NameOrder::default();
        let mut idx = Vec::new();
        let mut labels: Vec<LabelCount> = Vec::new();
        let mut out = CountedCensus::default();
        while let Some(record) = reader.next_record()? {
            let Record::Census(c) = record else {
                continue;
            };
            let names = &reader.state.labels;
            order.order(names, &c.rows, &mut idx);
            out.x = c.x;
            out.time_ns = c.time_ns;
            out.bytes_allocated = c.bytes_allocated;
            out.live_bytes = c.live_bytes;
            out.rows.clear();
            for &i in &idx {
                let (label, bytes) = c.rows[i as usize];
                if labels.len() <= label.index() {
                    labels.resize(label.index() + 1, LabelCount::default());
                }
                let (count, count_estimated) =
                    self.count(&mut labels[label.index()], names.name(label), bytes);
                out.rows.push(CountedRow {
                    label,
                    bytes,
                    count,
                    count_estimated,
                });
            }
            if !each(&out, reader.labels()) {
                break;
            }
            reader.state.census.recycle(c);
        }
        Ok(())
    }

    /// One row's count and whether it is estimated, as [`ghc::Counts::assign`] gives it.
    #[inline]
    fn count(&mut self, l: &mut LabelCount, name: &str, bytes: u64) -> (u64, bool) {
        if let Some((b, count, estimated)) = l.last {
            if b == bytes {
                return (count, estimated);
            }
        }
        if !l.resolved {
            l.resolved = true;
            if let Some(size) = self.sizes.get(name) {
                l.size = size.bytes();
                l.inferred = matches!(size, ghc::ClosureSize::Inferred(_));
            }
        }
        let (count, estimated) = if l.size == 0 {
            (0, false)
        } else {
            let exact = bytes.is_multiple_of(l.size);
            if !exact && !l.noted {
                l.noted = true;
                self.counts.note_indivisible(name, bytes);
            }
            (bytes / l.size, l.inferred || !exact)
        };
        l.last = Some((bytes, count, estimated));
        (count, estimated)
    }

    /// The timeline's metadata with every note, as [`read_eventlog`] would give it (no samples).
    pub fn finish(mut self) -> Timeline {
        self.meta.notes.extend(self.counts.notes());
        self.meta
    }
}

/// A streaming eventlog reader: [`new`](Self::new) reads the header, then each
/// [`next_record`](Self::next_record) reads events until a census completes or a marker is seen.
/// Also an `Iterator` of `Result<Record, EventlogError>`.
pub struct EventlogReader<R> {
    input: Input<R>,
    state: State,
}

/// An event type as the header declares it.
#[derive(Clone, Copy)]
struct EventType {
    /// `None` for variable-size events (they carry a u16 size).
    size: Option<u16>,
    known: Option<&'static KnownEvent>,
    /// `known` is a string census row (most of a heap profile's events), told without
    /// following the pointer.
    string_row: bool,
}

#[derive(Default)]
struct State {
    types: Vec<Option<EventType>>,
    done: bool,
    truncated: bool,
    cut_at: Option<u64>,
    census: Accumulator,
    censuses: u64,
    last_allocated: Option<u64>,
    max_live: Option<u64>,
    max_size: Option<u64>,
    breakdown: Option<u32>,
    facts: BTreeMap<String, String>,
    notes: Vec<String>,
    unknown: BTreeMap<u16, u64>,
    too_short: BTreeMap<&'static str, u64>,
    stray_rows: u64,
    labels: Labels,
    cost_centres: HashMap<u32, String>,
    info_tables: HashMap<u64, String>,
    info_table_events: u64,
    /// Census rows are skipped unread ([`read_eventlog_meta`]): censuses come out empty.
    skip_rows: bool,
}

impl<R: Read> EventlogReader<R> {
    /// Reads and checks the header (the event-type table).
    pub fn new(r: R) -> Result<Self, EventlogError> {
        let mut input = Input::new(r);
        let types = read_header(&mut input)?;
        Ok(EventlogReader {
            input,
            state: State {
                types,
                ..State::default()
            },
        })
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Where the log stopped without its end-of-data marker, once the reader has met it.
    pub fn cut_at(&self) -> Option<u64> {
        self.state.cut_at
    }

    /// Info-table provenance events seen (GHC ≥ 9.2 with `-finfo-table-map`).
    pub fn info_table_events(&self) -> u64 {
        self.state.info_table_events
    }

    /// The normalised label of `id` (a label of a census this reader returned).
    pub fn label(&self, id: LabelId) -> &str {
        self.state.labels.name(id)
    }

    /// The label table, to name the ids of the censuses this reader returned.
    pub fn labels(&self) -> LabelNames<'_> {
        LabelNames(&self.state.labels)
    }

    /// A census as a [`Sample`]: `types` keyed by label with bytes only (counts are zero:
    /// [`ghc::assign_counts`] fills them once every census is known).
    pub fn sample(&self, census: &Census) -> Sample {
        self.state.labels.sample(census)
    }

    /// The next whole census or marker; `None` at the end of the data, or where a truncated log
    /// stops (then [`into_timeline`](Self::into_timeline) says `truncated`).
    pub fn next_record(&mut self) -> Result<Option<Record>, EventlogError> {
        while !self.state.done {
            // The fast path, for every event but those that straddle a refill of the buffer.
            let (used, fast) = self.state.events(self.input.bytes(), self.input.offset());
            self.input.consume(used);
            if let Some(record) = fast? {
                return Ok(Some(record));
            }
            // The slow path, one event: refills, the data end, an undeclared id, truncation.
            let offset = self.input.offset();
            let io_err = |source| EventlogError::Io { offset, source };
            if !self.input.fill(2).map_err(io_err)? {
                self.state.truncate(offset);
                break;
            }
            let id = be_u16(self.input.bytes());
            if id == format::DATA_END {
                self.input.consume(2);
                self.state.done = true;
                // Logs before GHC 8.10 have no census-end event: the last census ends here.
                return Ok(self.state.close_census());
            }
            let ty = self.state.types.get(id as usize).copied().flatten();
            let ty = ty.ok_or(EventlogError::UndeclaredEvent { id, offset })?;
            let head = if ty.size.is_some() { 10 } else { 12 };
            if !self.input.fill(head).map_err(io_err)? {
                self.state.truncate(offset);
                break;
            }
            let bytes = self.input.bytes();
            let time = be_u64(&bytes[2..]);
            let size = ty.size.unwrap_or_else(|| be_u16(&bytes[10..])) as usize;
            if !self.input.fill(head + size).map_err(io_err)? {
                self.state.truncate(offset);
                break;
            }
            let payload = &self.input.bytes()[head..head + size];
            let record = self.state.event(id, ty, time, payload, offset)?;
            self.input.consume(head + size);
            if record.is_some() {
                return Ok(record);
            }
        }
        Ok(None)
    }

    /// Everything but the records: source, unit, facts (`rts_ident`, `ghc_version`, `program`,
    /// `heap_profile_breakdown`, `heap_profile_interval_ns`), totals (`ghc.bytes_allocated`, the
    /// last heap-allocated figure; `ghc.heap_live.max`, `ghc.heap_size.max`), `truncated` and
    /// notes. Samples and marks are left empty for the caller.
    pub fn into_timeline(self) -> Timeline {
        let s = self.state;
        let mut t = Timeline::new("ghc-eventlog", XUnit::Census);
        t.facts = s.facts;
        if let Some(b) = s.breakdown {
            t.facts.insert(
                super::BREAKDOWN_FACT.into(),
                format::breakdown_name(b).into(),
            );
        }
        for (key, v) in [
            (Total::metric(&GHC_BYTES_ALLOCATED), s.last_allocated),
            (Total::Fact(&GHC_HEAP_LIVE_MAX), s.max_live),
            (Total::Fact(&GHC_HEAP_SIZE_MAX), s.max_size),
        ] {
            if let Some(v) = v {
                t.totals.insert(key, v);
            }
        }
        t.truncated = s.truncated;
        t.notes = s.notes;
        if !s.unknown.is_empty() {
            let list: Vec<String> = s
                .unknown
                .iter()
                .map(|(id, n)| format!("id {id} ×{n}"))
                .collect();
            t.notes.push(format!(
                "skipped events of types this reader does not know: {}",
                list.join(", ")
            ));
        }
        for (name, n) in s.too_short {
            t.notes.push(format!("skipped {n} {name} events: the header declares them shorter than their known layout"));
        }
        if s.stray_rows > 0 {
            t.notes.push(format!(
                "ignored {} heap-sample rows outside any census",
                s.stray_rows
            ));
        }
        t
    }
}

impl<R: Read> Iterator for EventlogReader<R> {
    type Item = Result<Record, EventlogError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(r) => r.map(Ok),
            Err(e) => {
                self.state.done = true;
                Some(Err(e))
            }
        }
    }
}

fn read_header<R: Read>(input: &mut Input<R>) -> Result<Vec<Option<EventType>>, EventlogError> {
    let offset = input.offset();
    let io = |offset| move |source| EventlogError::Io { offset, source };
    let cut = |offset| EventlogError::TruncatedHeader { offset };
    let first = input
        .u32()
        .map_err(io(offset))?
        .ok_or(EventlogError::NotAnEventlog)?;
    if first != format::HEADER_BEGIN {
        return Err(EventlogError::NotAnEventlog);
    }
    let expect = |input: &mut Input<R>, marker: u32, what: &str| -> Result<(), EventlogError> {
        let offset = input.offset();
        match input.u32().map_err(io(offset))? {
            Some(m) if m == marker => Ok(()),
            Some(_) => Err(EventlogError::BadHeader {
                offset,
                what: format!("expected {what}"),
            }),
            None => Err(cut(offset)),
        }
    };
    expect(input, format::HET_BEGIN, "the event-type table (`hetb`)")?;
    let known: HashMap<u16, &'static KnownEvent> = KNOWN_EVENTS.iter().map(|k| (k.id, k)).collect();
    let mut types: Vec<Option<EventType>> = Vec::new();
    loop {
        let offset = input.offset();
        match input.u32().map_err(io(offset))? {
            None => return Err(cut(offset)),
            Some(format::HET_END) => break,
            Some(format::ET_BEGIN) => {}
            Some(_) => {
                return Err(EventlogError::BadHeader {
                    offset,
                    what: "expected an event type (`etb\\0`) or `hete`".into(),
                })
            }
        }
        let at = input.offset();
        let id = input.u16().map_err(io(at))?.ok_or_else(|| cut(at))?;
        if id == format::DATA_END {
            return Err(EventlogError::BadHeader {
                offset: at,
                what: "event id 0xffff is reserved for the data end".into(),
            });
        }
        let size = input.u16().map_err(io(at))?.ok_or_else(|| cut(at))?;
        // The description and the extra info are skipped: the table's names are ours.
        for _ in 0..2 {
            let at = input.offset();
            let len = input.u32().map_err(io(at))?.ok_or_else(|| cut(at))?;
            if !input.skip(len as u64).map_err(io(at))? {
                return Err(cut(input.offset()));
            }
        }
        expect(input, format::ET_END, "the end of an event type (`ete\\0`)")?;
        let known = known.get(&id).copied();
        let ty = EventType {
            size: (size != format::VARIABLE).then_some(size),
            known,
            string_row: known.is_some_and(|k| k.handling == Handling::SampleString),
        };
        if types.len() <= id as usize {
            types.resize(id as usize + 1, None);
        }
        types[id as usize] = Some(ty);
    }
    expect(input, format::HEADER_END, "the end of the header (`hdre`)")?;
    expect(input, format::DATA_BEGIN, "the data (`datb`)")?;
    Ok(types)
}

impl State {
    fn close_census(&mut self) -> Option<Record> {
        self.census.close().map(Record::Census)
    }

    fn truncate(&mut self, offset: u64) {
        self.done = true;
        self.truncated = true;
        self.cut_at = Some(offset);
        self.notes.push(format!("the log stops at byte {offset} without its end marker (a killed or still running program?)"));
        if let Some((x, _, _)) = self.census.open.take() {
            self.notes
                .push(format!("dropped census {x}: it may be incomplete"));
        }
    }

    /// Interprets the whole events at the start of `buf` (its first byte at `offset` in the
    /// stream) until one yields a record, errs, or is not whole, or the data ends or an id is
    /// undeclared (those are left for `next_record`'s slow path): the bytes consumed, and the
    /// record or error. Not generic over the input, so that the hot loop is compiled once and
    /// with its callees inlined.
    fn events(
        &mut self,
        buf: &[u8],
        offset: u64,
    ) -> (usize, Result<Option<Record>, EventlogError>) {
        let mut at = 0;
        while let Some(bytes) = buf.get(at..at + 12) {
            let id = be_u16(bytes);
            // The data end (0xffff) is never declared: it takes the slow path.
            let Some(&Some(ty)) = self.types.get(id as usize) else {
                break;
            };
            let (head, size) = match ty.size {
                Some(size) => (10, size as usize),
                None => (12, be_u16(&bytes[10..]) as usize),
            };
            let Some(event) = buf.get(at..at + head + size) else {
                break;
            };
            // Census rows are most of a heap profile's events: no record to return, so they
            // skip `event`'s result. A payload shorter than a row's fields goes to `handle`,
            // which knows what to say.
            if ty.string_row && size >= format::SAMPLE_STRING_MIN {
                if !self.skip_rows {
                    self.sample_string(&event[head..]);
                }
                at += head + size;
                continue;
            }
            let time = be_u64(&event[2..]);
            match self.event(id, ty, time, &event[head..], offset + at as u64) {
                Ok(None) => at += head + size,
                Ok(record) => return (at + head + size, Ok(record)),
                Err(e) => return (at, Err(e)),
            }
        }
        (at, Ok(None))
    }

    /// Interprets one whole event of declared type `ty`, `p` its payload.
    #[inline]
    fn event(
        &mut self,
        id: u16,
        ty: EventType,
        time: u64,
        p: &[u8],
        offset: u64,
    ) -> Result<Option<Record>, EventlogError> {
        // As in `events`, for rows read by the slow path.
        if ty.string_row && p.len() >= format::SAMPLE_STRING_MIN {
            if !self.skip_rows {
                self.sample_string(p);
            }
            return Ok(None);
        }
        match ty.known {
            Some(known) if known.handling != Handling::Skip => {
                self.handle(known, ty.size.is_some(), time, p, offset)
            }
            Some(_) => Ok(None),
            None => {
                *self.unknown.entry(id).or_insert(0) += 1;
                Ok(None)
            }
        }
    }

    /// Interprets one understood event; `fixed` says whether its size came from the header.
    fn handle(
        &mut self,
        known: &'static KnownEvent,
        fixed: bool,
        time: u64,
        p: &[u8],
        offset: u64,
    ) -> Result<Option<Record>, EventlogError> {
        if p.len() < known.min_size {
            if fixed {
                *self.too_short.entry(known.name).or_insert(0) += 1;
                return Ok(None);
            }
            return Err(EventlogError::ShortEvent {
                name: known.name,
                offset,
                size: p.len(),
                needed: known.min_size,
            });
        }
        match known.handling {
            Handling::Skip => {}
            Handling::RtsIdentifier => self.rts_identifier(p),
            Handling::ProgramArgs => {
                let args: Vec<String> = trim_nul(&p[4..]).split(|&b| b == 0).map(lossy).collect();
                self.facts.insert("program".into(), args.join(" "));
            }
            Handling::HeapAllocated => self.last_allocated = Some(be_u64(&p[4..])),
            Handling::HeapSize => self.max_size = self.max_size.max(Some(be_u64(&p[4..]))),
            Handling::HeapLive => self.max_live = self.max_live.max(Some(be_u64(&p[4..]))),
            Handling::UserMarker => {
                return Ok(Some(Record::Marker {
                    time_ns: time,
                    label: lossy(trim_nul(p)),
                    x: self.censuses,
                }))
            }
            Handling::HeapProfBegin => self.heap_prof_begin(p),
            Handling::CostCentre => self.cost_centre(p),
            Handling::SampleBegin | Handling::BioSampleBegin => {
                let closed = self.close_census();
                self.census.begin(self.censuses, time, self.last_allocated);
                self.censuses += 1;
                return Ok(closed);
            }
            Handling::SampleEnd => return Ok(self.close_census()),
            Handling::SampleString | Handling::SampleCostCentre if self.skip_rows => {}
            Handling::SampleString => self.sample_string(p),
            Handling::SampleCostCentre => self.sample_cost_centre(known, p, offset)?,
            Handling::InfoTable => self.info_table(p),
        }
        Ok(None)
    }

    fn rts_identifier(&mut self, p: &[u8]) {
        let ident = lossy(trim_nul(&p[4..]));
        if let Some(version) = ident
            .split_whitespace()
            .next()
            .and_then(|w| w.strip_prefix("GHC-"))
        {
            self.facts.insert("ghc_version".into(), version.to_owned());
        }
        self.facts.insert("rts_ident".into(), ident);
    }

    fn heap_prof_begin(&mut self, p: &[u8]) {
        let period = be_u64(&p[1..]);
        let breakdown = be_u32(&p[9..]);
        self.breakdown = Some(breakdown);
        self.facts
            .insert("heap_profile_interval_ns".into(), period.to_string());
        if breakdown != format::BREAKDOWN_INFO_TABLE {
            // Info tables only name samples of an info-table profile; a big program can have
            // hundreds of thousands of them.
            self.info_tables = HashMap::new();
        }
    }

    fn cost_centre(&mut self, p: &[u8]) {
        let id = be_u32(p);
        let mut fields = p[4..].split(|&b| b == 0);
        let label = lossy(fields.next().unwrap_or_default());
        let module = lossy(fields.next().unwrap_or_default());
        // As GHC's .hp output: a CAF prints as `Module.CAF`, others by label alone.
        let name = if label == "CAF" {
            format!("{module}.CAF")
        } else {
            label
        };
        self.cost_centres.insert(id, name);
        self.labels.forget_raw();
    }

    /// A census row labelled by a string (closure type, description, type, retainer set).
    #[inline(always)]
    fn sample_string(&mut self, p: &[u8]) {
        let residency = be_u64(&p[1..]);
        if !self.census.is_open() {
            self.stray_rows += 1;
            return;
        }
        // The label is the text up to its first NUL (or the payload's end).
        let text = &p[9..];
        let id = match self.labels.cached_id(text) {
            Some(id) => id,
            None => self.string_label_id(text),
        };
        self.census.add(id, residency);
    }

    /// A string row's label id when the cache missed: by hash, or interned.
    #[inline(never)]
    fn string_label_id(&mut self, text: &[u8]) -> u32 {
        let raw = text.split(|&b| b == 0).next().unwrap_or_default();
        match self.labels.raw_id(text, raw) {
            Some(id) => id,
            None => {
                let name = self.string_label(raw);
                self.labels.intern_raw(text, raw, name)
            }
        }
    }

    /// A census row labelled by a cost-centre stack, whose depth the payload declares.
    fn sample_cost_centre(
        &mut self,
        known: &'static KnownEvent,
        p: &[u8],
        offset: u64,
    ) -> Result<(), EventlogError> {
        let residency = be_u64(&p[1..]);
        let depth = p[9] as usize;
        let needed = 10 + 4 * depth;
        if p.len() < needed {
            return Err(EventlogError::ShortEvent {
                name: known.name,
                offset,
                size: p.len(),
                needed,
            });
        }
        if !self.census.is_open() {
            self.stray_rows += 1;
            return Ok(());
        }
        let stack: Vec<u32> = p[10..needed].chunks_exact(4).map(be_u32).collect();
        let id = match self.labels.stack_id(&stack) {
            Some(id) => id,
            None => {
                let name = self.stack_label(&stack);
                self.labels.intern_stack(&stack, name)
            }
        };
        self.census.add(id, residency);
        Ok(())
    }

    fn info_table(&mut self, p: &[u8]) {
        self.info_table_events += 1;
        if self
            .breakdown
            .is_none_or(|b| b == format::BREAKDOWN_INFO_TABLE)
        {
            let ptr = be_u64(p);
            self.info_tables.insert(ptr, info_table_label(&p[8..]));
            self.labels.forget_raw();
        }
    }

    fn string_label(&self, raw: &[u8]) -> String {
        let text = String::from_utf8_lossy(raw);
        if self.breakdown == Some(format::BREAKDOWN_INFO_TABLE) {
            let ptr = text
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok());
            if let Some(label) = ptr.and_then(|p| self.info_tables.get(&p)) {
                return label.clone();
            }
        }
        ghc::normalise_label(&text).into_owned()
    }

    /// Innermost cost centre first, `/`-separated, as GHC's .hp files print a stack (without the
    /// stack's numeric id, which changes with every build); the empty stack is `MAIN`.
    fn stack_label(&self, stack: &[u32]) -> String {
        if stack.is_empty() {
            return "MAIN".into();
        }
        let names: Vec<String> = stack
            .iter()
            .map(|id| {
                self.cost_centres
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("cc{id}"))
            })
            .collect();
        names.join("/")
    }
}

/// `Module.label :: type @ srcloc` from the provenance strings (table name, closure type,
/// type, label, module, source location…); stable across rebuilds unlike the table's name,
/// which is used only when the label is empty.
fn info_table_label(strings: &[u8]) -> String {
    let mut fields = trim_nul(strings).split(|&b| b == 0).map(lossy);
    let table = fields.next().unwrap_or_default();
    let _closure_type = fields.next();
    let ty = fields.next().unwrap_or_default();
    let label = fields.next().unwrap_or_default();
    let module = fields.next().unwrap_or_default();
    let srcloc: Vec<String> = fields.filter(|f| !f.is_empty()).collect();
    let name = if label.is_empty() {
        table
    } else {
        format!("{module}.{label}")
    };
    let mut out = name;
    if !ty.is_empty() {
        out.push_str(" :: ");
        out.push_str(&ty);
    }
    if !srcloc.is_empty() {
        out.push_str(" @ ");
        out.push_str(&srcloc.join(":"));
    }
    out
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    &b[..end]
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_table_labels_prefer_stable_names() {
        let check = |raw: &[u8], expect: &str| assert_eq!(info_table_label(raw), expect);
        check(
            b"sat_s154_info\x0021\x00Int\x00go\x00Main\x00Test.hs:5:1-30\x00",
            "Main.go :: Int @ Test.hs:5:1-30",
        );
        check(
            b"Main.T_con_info\x002\x00T\x00\x00Main\x00Test.hs\x003:1-9\x00",
            "Main.T_con_info :: T @ Test.hs:3:1-9",
        );
        check(b"", "");
    }

    #[test]
    fn trims_trailing_nuls_only() {
        assert_eq!(trim_nul(b"a\0b\0\0"), b"a\0b");
        assert_eq!(trim_nul(b"\0"), b"");
    }
}
