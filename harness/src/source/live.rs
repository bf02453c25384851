//! The live watch of an external GHC program: its `.hp` censuses are read as the RTS flushes
//! them, census by census, and the scenario's invariants checked on each with
//! [`Checker`], as the simulator's samples are; at the first violation the program is stopped
//! (SIGINT to its process group so the RTS writes out its eventlog, SIGKILL after
//! [`STOP_GRACE`]) or paused (SIGSTOP) for a person to inspect.
//!
//! What can be checked live, and the bound on stopping, is written down in `docs/live.md`:
//! - windows of census indices (`always`, `census = [a, b]`, `"end"`) and markers recorded by
//!   `Membound.marker` (scenarios/haskell/Membound.hs), which writes each marker with the
//!   `.hp` file's size *before* the census it precedes. A census is checked only once the
//!   marker file has been read after the census was seen whole, so a marker always reaches the
//!   checker before the censuses it precedes (one poll interval of delay, exact placement);
//! - predicates on total residency, and on counts of one exactly named type with a declared or
//!   known closure size (counts the `.hp` gives exactly).
//!
//! Everything else (fractions of the run, plain `traceMarkerIO` markers that GHC 9.0 keeps in
//! its eventlog buffers until exit, counts from inferred closure sizes or type globs) is
//! checked after the run, on the whole timeline, as before: never passed unchecked.

use super::launch::MARKS_FILE;
use super::supervise::{Root, Supervised};
use super::Event;
use crate::errors::RunError;
use crate::measure::invariant::{Checker, Outcome};
use crate::scenario::{CommandRun, OnViolation, Scenario};
use crate::source::ghc::hp::HpFollower;
use crate::source::ghc::{known_closure_size, Cut, IndivisibleSize, ReadOptions, SizeInference};
use crate::spec::invariant::{Endpoint, Predicate, Window};
use crate::timeline::{LabelMap, Mark, Sample, SampleSink, XUnit};
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the `.hp` and marker files are read. Short: a census is checked one poll after
/// it is seen whole, so a violation stops the program within two polls of GHC writing it, and
/// what is left to check when the program exits is up to two polls' worth of censuses; each
/// poll reads only what the files grew by (5 ms instead of 20 ms: see BENCHMARKS.md).
pub(crate) const LIVE_POLL: Duration = Duration::from_millis(5);

/// How long a program told to stop (SIGINT) has to write out its eventlog before SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);

/// Censuses handed from the parsing thread to the checking one at a time, in a replay.
const REPLAY_BATCH: usize = 64;

/// The parsing half of [`Live::replay`], on its own thread: reads the `.hp` file from its
/// start and sends its first `want` censuses (bracketed as the watch brackets them) in batches
/// of [`REPLAY_BATCH`]. Stops early, without error, once the consumer has hung up.
fn replay_parse(
    file: &mut std::fs::File,
    want: u64,
    tx: &std::sync::mpsc::SyncSender<Vec<Sample>>,
) -> Result<(), String> {
    let mut follower = HpFollower::new();
    let mut brackets = Brackets::default();
    let mut buf = vec![0u8; 1 << 16];
    let mut sent = 0u64;
    let mut batch = Vec::with_capacity(REPLAY_BATCH);
    while sent < want {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        for (end, sample) in follower.feed(&buf[..n]).map_err(|e| e.to_string())? {
            for (_, census) in brackets.accept(end, sample) {
                if sent < want {
                    batch.push(census);
                    sent += 1;
                }
            }
        }
        if batch.len() >= REPLAY_BATCH || sent == want {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(REPLAY_BATCH));
            if tx.send(full).is_err() {
                // The consumer has what it wanted.
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    Ok(())
}

/// Where the live check stopped a run.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    /// The violating census.
    pub census: u64,
}

/// The watcher's state: the `.hp` and marker files as read so far, and the censuses.
pub(crate) struct Live<'s> {
    scenario: &'s Scenario,
    opts: ReadOptions,
    run_dir: PathBuf,
    hp: HpTail,
    marker_file: MarkerFile,
    /// Samples parsed but not yet checked, with the offset at their end.
    parsed: VecDeque<(u64, Sample)>,
    /// The samples one poll completed, on their way to `parsed`: kept, so that its capacity is.
    fresh: Vec<(u64, Sample)>,
    /// The `.hp` offset reached before the marker file was last read: samples ending there
    /// are checked.
    ready: u64,
    /// The `.hp` offset at the end of each accepted census (bracketing empty samples
    /// dropped; x = index): what markers are placed against. The censuses themselves are not
    /// kept: after the run they are read again from the file ([`Live::replay`]), so the
    /// watch's memory does not grow with the run's length.
    ends: Vec<u64>,
    /// The closure sizes learnt from the censuses so far, kept up while the program runs so
    /// that the counts after the run cost no extra pass.
    sizes: SizeInference,
    brackets: Brackets,
    /// The first census bytes of each label that its declared or known closure size does not
    /// divide, for the run's notes.
    indivisible: BTreeMap<String, u64>,
    /// The first census row that a declared closure size does not divide: an error, since
    /// every count of that label is wrong.
    declared_mismatch: Option<IndivisibleSize>,
    /// Each label's size as the watch counts by it, worked out once per label and found by
    /// the label's id for each census: looking each label up, and parsing it for a known layout, census
    /// after census, was a seventh of the watch's own time per census.
    label_sizes: LabelMap<LiveSize>,
    /// Each invariant's outcome over the whole run, when every one was checked live and the
    /// program ended by itself: then no check after the run is needed.
    outcomes: Option<Vec<(String, Outcome)>>,
    /// A marker arrived after a census it precedes had been checked (the program was
    /// descheduled between a census and the marker's write for longer than the watch waits):
    /// that census was checked under the old windows, so the live outcomes are not the run's.
    late_marker: bool,
}

/// The RTS's bracketing empty samples, dropped: the first, and an empty one not followed by
/// another (the one written at exit).
#[derive(Debug, Default)]
struct Brackets {
    /// An empty sample after the first: a census only if another sample follows it.
    pending_empty: Option<(u64, Sample)>,
    seen_first: bool,
}

impl Brackets {
    /// The censuses that `sample` (ending at `end`) makes whole: none, it, or an empty one
    /// held back and then it.
    /// (Two options, not a vector: one allocation per census was measurable.)
    fn accept(&mut self, end: u64, sample: Sample) -> impl Iterator<Item = (u64, Sample)> {
        let (held, this) = if !self.seen_first && sample.types.is_empty() {
            (None, None)
        } else if sample.types.is_empty() {
            (self.pending_empty.replace((end, sample)), None)
        } else {
            (self.pending_empty.take(), Some((end, sample)))
        };
        self.seen_first = true;
        held.into_iter().chain(this)
    }
}

impl<'s> Live<'s> {
    pub(crate) fn new(scenario: &'s Scenario, c: &CommandRun, run_dir: &Path) -> Self {
        Live {
            scenario,
            opts: ReadOptions {
                closure_sizes: c.closure_sizes.clone(),
            },
            run_dir: run_dir.to_owned(),
            hp: HpTail::default(),
            marker_file: MarkerFile::default(),
            parsed: VecDeque::new(),
            fresh: Vec::new(),
            ready: 0,
            ends: Vec::new(),
            sizes: SizeInference::default(),
            brackets: Brackets::default(),
            indivisible: BTreeMap::new(),
            declared_mismatch: None,
            label_sizes: LabelMap::new(),
            outcomes: None,
            late_marker: false,
        }
    }

    /// The first census row a declared closure size does not divide, if one did.
    pub(crate) fn declared_mismatch(&self) -> Option<&IndivisibleSize> {
        self.declared_mismatch.as_ref()
    }

    /// The `.hp` file the watch read, and where it stops short of a whole profile if it does
    /// (meaningful once the program has exited: until then the file is still being written).
    pub(crate) fn hp_cut(&self) -> Option<(PathBuf, Cut)> {
        Some((self.hp.path.clone()?, self.hp.follower.cut()?))
    }

    /// How many censuses have been read so far.
    pub(crate) fn census_count(&self) -> usize {
        self.ends.len()
    }

    /// The outcomes of a run every invariant of which was checked live, if this one was.
    pub(crate) fn outcomes(&self) -> Option<&[(String, Outcome)]> {
        self.outcomes.as_deref()
    }

    /// The closure size of each label the watch saw, declared, known or learnt over every
    /// census read: what its counts are bytes over (a size of 0 counts nothing).
    pub(crate) fn sizes(&self) -> BTreeMap<String, u64> {
        self.sizes
            .sizes(&self.opts)
            .into_iter()
            .map(|(l, s)| (l.to_string(), s.bytes()))
            .collect()
    }

    /// The notes a count of every census read would make: sizes inferred, sizes that did not
    /// divide a census's bytes.
    pub(crate) fn count_notes(&self) -> Vec<String> {
        let mut counts = self.sizes.counts(&self.opts);
        for (label, bytes) in &self.indivisible {
            counts.note_indivisible(label, *bytes);
        }
        counts.notes()
    }

    /// The censuses the watch read, read again from the `.hp` file, in order, up to census
    /// `last`: the same parser and bracketing rule as the watch, counted as the `.hp` reader
    /// counts them (by [`SizeInference`] over the same censuses). `f` may end the pass early.
    /// Returns the notes of the counting (sizes inferred, sizes that did not divide).
    pub(crate) fn replay(
        &self,
        last: u64,
        f: &mut dyn FnMut(&Sample) -> ControlFlow<()>,
    ) -> Result<Vec<String>, RunError> {
        let path = self.hp.path.clone().ok_or_else(|| RunError::Profile {
            path: self.run_dir.clone(),
            message: "the .hp file the watch read is gone".into(),
        })?;
        let err = |message: String| RunError::Profile {
            path: path.clone(),
            message,
        };
        let mut file = std::fs::File::open(&path).map_err(|e| err(e.to_string()))?;
        let mut counts = self.sizes.counts(&self.opts);
        let want = last.saturating_add(1).min(self.census_count() as u64);
        // The program has ended and both cores are free: one parses the file while the other
        // counts, checks and measures what it parsed. Batches keep the hand-over cheap, and
        // a bounded channel keeps the censuses in flight few.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Sample>>(4);
        let (x, ended_early, parsed) = std::thread::scope(|scope| {
            let parser = scope.spawn(move || replay_parse(&mut file, want, &tx));
            let mut x = 0u64;
            let mut ended_early = false;
            'batches: for batch in rx.iter() {
                for mut census in batch {
                    census.x = x;
                    counts.assign(&mut census);
                    x += 1;
                    if f(&census).is_break() {
                        ended_early = true;
                        break 'batches;
                    }
                }
            }
            drop(rx);
            let parsed = parser
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (x, ended_early, parsed)
        });
        parsed.map_err(err)?;
        // The file only grows: it holds every census the watch read.
        if !ended_early && x < want {
            return Err(err(format!(
                "the .hp file holds {x} censuses where the watch read {}",
                self.census_count()
            )));
        }
        Ok(counts.notes())
    }

    /// The markers `Membound.marker` recorded, placed at the census each precedes; `None` if
    /// the program recorded none.
    pub(crate) fn marks(&self) -> Option<Vec<Mark>> {
        (!self.marker_file.marks.is_empty()).then(|| self.resolved_marks())
    }

    fn resolved_marks(&self) -> Vec<Mark> {
        self.marks_before(u64::MAX)
    }

    /// The markers recorded before the `.hp` offset `end`, placed. A marker is placed once a
    /// census after it has been read: until then the censuses it follows are not all known.
    fn marks_before(&self, end: u64) -> Vec<Mark> {
        self.marker_file
            .marks
            .iter()
            .filter(|(offset, _)| *offset < end)
            .map(|(offset, label)| Mark {
                x: self.ends.partition_point(|end| end <= offset) as u64,
                label: label.clone(),
            })
            .collect()
    }

    /// Follows the program until it exits or violates an invariant; then stops or pauses it.
    ///
    /// Each census goes into `sink` as it is read, with the counts of its declared and known
    /// closure sizes ([`SampleSink::recount`] settles the rest once the run has ended).
    pub(crate) fn follow(
        &mut self,
        sup: &mut Supervised,
        on_violation: OnViolation,
        on_event: &mut dyn FnMut(Event),
        sink: &mut dyn SampleSink,
    ) -> Option<Stop> {
        let mut known_marks = 0;
        let live_sc = live_scenario(self.scenario, &[], &self.opts);
        let mut checker = Checker::new(&live_sc, u64::MAX, &[]);
        sink.begin(XUnit::Census);
        // From the second pass on, whether it had exited is what the last wait found.
        let mut exited = sup.has_exited();
        loop {
            self.marker_file.poll(&self.run_dir);
            self.hp.poll(&self.run_dir, &mut self.fresh);
            self.parsed.extend(self.fresh.drain(..));
            // Once the program has exited nothing more will be written: check everything.
            let limit = if exited { u64::MAX } else { self.ready };
            while self.parsed.front().is_some_and(|(end, _)| *end <= limit) {
                let Some((end, sample)) = self.parsed.pop_front() else {
                    break;
                };
                for (end, mut sample) in self.brackets.accept(end, sample) {
                    let x = self.ends.len() as u64;
                    sample.x = x;
                    self.count_known(&mut sample);
                    self.sizes.observe(&sample);
                    self.ends.push(end);
                    sink.sample(&sample);
                    // Counted first, placed only when one more is there: most censuses have
                    // no new marker, and placing them all cloned every label every census.
                    let placed_now = self
                        .marker_file
                        .marks
                        .iter()
                        .filter(|(o, _)| *o < end)
                        .count();
                    if placed_now != known_marks {
                        let placed = self.marks_before(end);
                        self.late_marker |= placed[known_marks..].iter().any(|m| m.x < x);
                        known_marks = placed.len();
                        // A new marker is placed at this census (it was recorded after the
                        // last one was checked), so the windows it opens or closes move only
                        // where no census has been checked yet.
                        let windows = live_scenario(self.scenario, &placed, &self.opts);
                        checker.rewindow(&windows, u64::MAX, &[]);
                    }
                    on_event(Event::Sample { x, end: None });
                    if let Some(v) = checker.check(&sample) {
                        let text = v.explain(XUnit::Census);
                        end_at_violation(sup, on_violation, text, on_event);
                        // A marker the program placed before this census but wrote after it
                        // was checked (descheduled between the two) still places the windows
                        // the run is judged by; one placed after it is dropped there.
                        self.marker_file.poll(&self.run_dir);
                        return Some(Stop { census: x });
                    }
                    self.hp.follower.recycle(sample);
                }
            }
            self.ready = self.hp.offset();
            if exited {
                if live_sc.invariants.len() == self.scenario.invariants.len() && !self.late_marker {
                    // Every invariant was checked live, on every census: placed as a check of
                    // the whole run would place them (its end known, its markers all read),
                    // the windows have seen what that check would see.
                    let last = (self.ends.len() as u64).saturating_sub(1);
                    checker.rewindow(self.scenario, last, &self.marks().unwrap_or_default());
                    self.outcomes = Some(checker.outcomes());
                }
                return None;
            }
            exited = sup.wait_exit_for(LIVE_POLL);
        }
    }
}

/// Ends the program: SIGINT to its group (the RTS throws `UserInterrupt` and writes out its
/// eventlog buffers), SIGKILL if it is still there after [`STOP_GRACE`]. The exit is waited
/// for on a pidfd, so the run goes on the moment the program has ended, not a poll later.
pub(crate) fn stop_gracefully(sup: &mut Supervised) {
    sup.signal_group(libc::SIGINT);
    let deadline = Instant::now() + STOP_GRACE;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // Short waits where the kernel has no pidfd, and the wait is a sleep.
        if sup.wait_exit_for((deadline - now).min(Duration::from_millis(10))) {
            return;
        }
    }
    sup.kill();
}

/// Stops (SIGINT, then SIGKILL after the grace) or pauses (SIGSTOP) the program's group.
pub(crate) fn end_at_violation(
    sup: &mut Supervised,
    on_violation: OnViolation,
    violation: String,
    on_event: &mut dyn FnMut(Event),
) {
    match on_violation {
        OnViolation::Stop => {
            // SIGINT makes GHC's RTS throw UserInterrupt and write out its eventlog buffers.
            stop_gracefully(sup);
        }
        OnViolation::Pause => {
            sup.signal_group(libc::SIGSTOP);
            sup.hold_timeout();
            let pgid = sup.pid();
            // The launcher runs on: should membound die now, the launcher's SIGTERM (from
            // PR_SET_PDEATHSIG) must be acted on, and a stopped process would hold it pending.
            // SAFETY: signalling our own child.
            unsafe {
                libc::kill(pgid, libc::SIGCONT);
            }
            let pid = super::supervise::children_of(pgid)
                .first()
                .copied()
                .unwrap_or(pgid);
            // The stop is asynchronous: say "paused" once it is.
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline
                && !matches!(super::supervise::proc_state(pid), Some('T' | 't'))
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            on_event(Event::Paused {
                violation,
                pid,
                pgid,
            });
            // Until a person continues it (`T` = stopped, `t` = stopped under a debugger) or
            // ends it.
            while !sup.has_exited() && matches!(sup.program_state(Root::Launcher), Some('T' | 't'))
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            sup.release_timeout();
            // Continued: it runs to its end under its budget; the verdict is the violation.
        }
    }
}

/// The sample with counts for the labels whose closure size is declared or known, the only
/// counts the live check uses (see [`live_scenario`]).
/// Counts a census's types whose closure size is declared or known; the rest stay 0 until the
/// sizes inferred over the whole run are known (only those are checked live).
/// A label's closure size, as the live watch counts by it.
#[derive(Debug, Clone, Copy)]
struct LiveSize {
    /// The size the scenario declares, if it does (0 counts nothing).
    declared: Option<u64>,
    /// What counts are bytes over: declared or known, and not 0 ([`size_of`]).
    counted: Option<u64>,
}

impl LiveSize {
    fn of(label: &str, opts: &ReadOptions) -> Self {
        LiveSize {
            declared: opts.closure_sizes.get(label).copied(),
            counted: size_of(label, opts),
        }
    }
}

impl Live<'_> {
    /// Counts `s`'s types of a declared or known closure size, notes the first bytes a size
    /// does not divide, and the first row a declared size does not divide
    /// ([`ReadOptions::check_declared`], in label order as it checks a sample). Each of the
    /// census's labels finds its size by its id ([`LabelMap::walk_census`]).
    fn count_known(&mut self, s: &mut Sample) {
        let (opts, census) = (&self.opts, s.x);
        let (indivisible, declared_mismatch) = (&mut self.indivisible, &mut self.declared_mismatch);
        self.label_sizes.walk_census(
            s.types.iter_mut(),
            |label| LiveSize::of(label, opts),
            |label, size, t| {
                if let Some(counted) = size.counted {
                    t.count = t.bytes / counted;
                    // A multiplication, not a second division.
                    if t.count * counted != t.bytes && !indivisible.contains_key(label.as_str()) {
                        indivisible.insert(label.to_string(), t.bytes);
                    }
                }
                if let Some(declared) = size.declared.filter(|d| *d > 0) {
                    if declared_mismatch.is_none() && !t.bytes.is_multiple_of(declared) {
                        *declared_mismatch = Some(IndivisibleSize {
                            label: label.to_string(),
                            size: declared,
                            census,
                            bytes: t.bytes,
                        });
                    }
                }
            },
        );
    }
}

fn size_of(label: &str, opts: &ReadOptions) -> Option<u64> {
    opts.closure_sizes
        .get(label)
        .copied()
        .or_else(|| known_closure_size(label))
        .filter(|s| *s > 0)
}

/// The scenario's invariants that can be checked live, with marker endpoints resolved against
/// the markers seen so far (see [`marker_windows`]).
fn live_scenario(scenario: &Scenario, marks: &[Mark], opts: &ReadOptions) -> Scenario {
    let mut sc = marker_windows(scenario, marks);
    sc.invariants.retain(|inv| {
        let type_ok = |glob: &str| !glob.contains('*') && size_of(glob, opts).is_some();
        let predicate_ok = match &inv.predicate {
            Predicate::LiveBytesMax(_) | Predicate::LiveBytesGrowth(_) => true,
            Predicate::TypeAbsent(g)
            | Predicate::TypeCount { glob: g, .. }
            | Predicate::TypeGrowth { glob: g, .. }
            | Predicate::TypeBytesMax { glob: g, .. }
            | Predicate::TypeBytesGrowth { glob: g, .. } => type_ok(g),
        };
        let window_ok = match &inv.during {
            Window::Always => true,
            Window::Range(a, b) => !is_fraction(a) && !is_fraction(b),
            Window::Phase(name) => scenario
                .phase(name)
                .is_some_and(|p| !is_fraction(&p.from) && !is_fraction(&p.to)),
        };
        predicate_ok && window_ok
    });
    sc
}

fn is_fraction(e: &Endpoint) -> bool {
    matches!(e, Endpoint::Fraction(_))
}

/// The scenario with every window that has a marker endpoint resolved against `marks`, as
/// the run stands: a start marker not seen yet never opens its window, an end marker not seen
/// yet leaves it open. Used live, and for the final check of a run stopped at a violation
/// (which ends before its `end` marker).
pub(crate) fn marker_windows(scenario: &Scenario, marks: &[Mark]) -> Scenario {
    let mut sc = scenario.clone();
    for inv in &mut sc.invariants {
        let (from, to) = match &inv.during {
            Window::Always => continue,
            Window::Range(a, b) => (a.clone(), b.clone()),
            Window::Phase(name) => match scenario.phase(name) {
                Some(p) => (p.from.clone(), p.to.clone()),
                None => continue,
            },
        };
        if !matches!(from, Endpoint::Marker(_)) && !matches!(to, Endpoint::Marker(_)) {
            continue;
        }
        let at = |label: &str| marks.iter().find(|m| m.label == label).map(|m| m.x);
        let from = match from {
            Endpoint::Marker(m) => Endpoint::At(at(&m).unwrap_or(u64::MAX)),
            e => e,
        };
        let to = match to {
            Endpoint::Marker(m) => at(&m).map_or(Endpoint::End, Endpoint::At),
            e => e,
        };
        inv.during = Window::Range(from, to);
    }
    sc
}

/// Opens a file the program is writing, to read it as it grows, without updating its access
/// time where the kernel allows (`O_NOATIME`: the file's owner, as a program membound started
/// is). Under `relatime` a read of a file modified since it was last read updates its access
/// time, and a followed file is modified between every two polls: each poll's read wrote the
/// inode to the journal, a tenth of the watch's own CPU.
fn open_followed(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)
    {
        // Another user's file: read it as anyone would.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => std::fs::File::open(path),
        opened => opened,
    }
}

/// Bytes asked for per `read` of a followed file: more than a poll's growth of a busy `.hp`
/// (about 50 KiB in 5 ms), so one read nearly always takes all of it.
const READ_CHUNK: usize = 1 << 18;

/// Hands `take` what `file` holds past its offset, read a chunk at a time into `chunk`. A read
/// that does not fill the chunk has reached what is written so far, and ends the pass: reading
/// on until a read returned nothing was a second `read` on every poll of every file, a twentieth
/// of the watch's own CPU. Anything written after that read is read at the next poll.
fn read_appended(
    file: &mut std::fs::File,
    chunk: &mut [u8],
    mut take: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    loop {
        let n = match file.read(chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        take(&chunk[..n]);
        if n < chunk.len() {
            return Ok(());
        }
    }
}

/// A program's `.hp` file, read as it grows and parsed line by line ([`HpFollower`]), found
/// by its extension in the run directory (GHC names it after the program).
#[derive(Debug, Default)]
pub(crate) struct HpTail {
    /// The file, open once found; read on from where the last read ended.
    file: Option<std::fs::File>,
    /// The file, once found.
    path: Option<PathBuf>,
    follower: HpFollower,
    /// What each read reads into, allocated with the file's first read and reused: bytes are
    /// parsed where they were read.
    chunk: Vec<u8>,
    failed: bool,
}

impl HpTail {
    /// Appends to `out` the samples completed since the last call, each with the file offset at
    /// its end. A file that does not parse yields nothing more: it is left to the reader of the
    /// final profile, which reports it with its line.
    pub(crate) fn poll(&mut self, run_dir: &Path, out: &mut Vec<(u64, Sample)>) {
        if self.failed {
            return;
        }
        if self.file.is_none() {
            // Several `.hp` files: which is the program's is not known, and none is followed
            // (the run then fails, listing them: see `command::final_timeline`).
            let found = match files_with_extension(run_dir, "hp").as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            };
            self.file = found.as_deref().and_then(|p| open_followed(p).ok());
            self.path = found.filter(|_| self.file.is_some());
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if self.chunk.is_empty() {
            self.chunk = vec![0; READ_CHUNK];
        }
        let (follower, failed) = (&mut self.follower, &mut self.failed);
        // What a failed read got before failing has been fed; the rest comes with the next
        // poll, from the descriptor's offset.
        let _ = read_appended(file, &mut self.chunk, |bytes| {
            if !*failed && follower.feed_into(bytes, out).is_err() {
                *failed = true;
            }
        });
    }

    /// Bytes of whole lines parsed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.follower.offset()
    }
}

/// The marker file `Membound.marker` appends to (scenarios/haskell/Membound.hs), read as it
/// grows: whole lines `<hp offset> <label>`.
#[derive(Debug, Default)]
pub(crate) struct MarkerFile {
    /// The file, open once it exists: the program only appends to it, so an open descriptor
    /// sees every line without opening the file again every poll.
    file: Option<std::fs::File>,
    partial: Vec<u8>,
    /// Markers as (`.hp` size when recorded, label), in file order.
    pub(crate) marks: Vec<(u64, String)>,
}

impl MarkerFile {
    /// Reads the lines added since the last call.
    pub(crate) fn poll(&mut self, run_dir: &Path) {
        if self.file.is_none() {
            self.file = open_followed(&run_dir.join(MARKS_FILE)).ok();
        }
        let Some(f) = self.file.as_mut() else {
            return;
        };
        // Reading on from where the last read ended: the descriptor's offset is the bytes read.
        let mut chunk = [0u8; 4096];
        let partial = &mut self.partial;
        if read_appended(f, &mut chunk, |bytes| partial.extend_from_slice(bytes)).is_err() {
            return;
        }
        while let Some(nl) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            if let Some((offset, label)) = line.trim_end().split_once(' ') {
                if let Ok(offset) = offset.parse() {
                    self.marks.push((offset, label.to_owned()));
                }
            }
        }
    }
}

/// Every file in `dir` whose extension is `ext`, sorted.
pub(crate) fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort();
    found
}

/// The first file in `dir` whose extension is `ext`.
pub(crate) fn find_with_extension(dir: &Path, ext: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == ext))
}
