//! `Baseline`: the blessed result of a scenario, `baselines/<name>.json`, and the only module
//! that writes files.
//!
//! Writes are atomic (a temporary file in the same directory, then a rename), so a crash or an
//! interrupt mid-bless leaves every baseline either old or new, never torn. Pending results go
//! to `<name>.json.new` (never in CI); run results for reports go under `target/membound/`.

pub mod git;
pub mod results;

use crate::errors::BaselineError;
use crate::measure::invariant::{Outcome, Unevaluable, Unreached};
use crate::measure::metrics::Measurement;
use crate::scenario::Scenario;
use crate::spec::metric::{Metric, Value};
use crate::{Mark, Timeline, XUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// At most this many timeline points are kept for charts.
pub const CHART_POINTS: usize = 64;
/// At most this many types get their own band in charts.
pub const CHART_TYPES: usize = 6;

/// A scenario's blessed (or pending, or current) result. Field order is the JSON key order.
/// Unknown keys are refused: a misspelt or hand-edited key must not be silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's fingerprint when this result was made.
    pub fingerprint: String,
    /// The scenario's description, for readers of the JSON.
    pub description: String,
    /// Whole-run metrics by name.
    pub metrics: BTreeMap<Metric, Value>,
    /// r² of each growth slope, beside it for readers: a slope with a poor fit is a trend to
    /// doubt. Never compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fit: BTreeMap<String, f64>,
    /// Each invariant's outcome, typed (worded only when shown).
    pub invariants: BTreeMap<String, InvariantRecord>,
    /// Per-type metrics keyed by the whole label.
    pub types: BTreeMap<String, BTreeMap<String, Value>>,
    /// Toolchain versions (`rustc`, `ghc`).
    pub toolchain: BTreeMap<String, String>,
    /// Host facts (`os`, `arch`, `cpus`).
    pub host: BTreeMap<String, String>,
    /// A downsampled timeline for charts.
    pub timeline: ChartTimeline,
}

/// An invariant's outcome as a baseline records it: what a change to it would mean to a
/// reviewer, without the run's details (those are in the failure, not in the baseline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", deny_unknown_fields)]
pub enum InvariantRecord {
    /// Held at every sample of its window.
    Held {
        /// Samples checked.
        samples: usize,
    },
    /// Violated first at this position.
    Violated {
        /// Where (in the timeline's x unit).
        at: u64,
        /// Whether the scenario declared the violation (`expect = "violated"`).
        expected: bool,
    },
    /// Its window had no sample.
    NotReached {
        /// Why.
        reason: Unreached,
    },
    /// Its window had samples that cannot decide it.
    NotEvaluable {
        /// Why.
        reason: Unevaluable,
    },
}

impl InvariantRecord {
    /// The record of an outcome; `expected` says whether the scenario declared a violation.
    pub fn of(o: &Outcome, expected: bool) -> InvariantRecord {
        match o {
            Outcome::Held { samples } => InvariantRecord::Held { samples: *samples },
            Outcome::Violated(v) => InvariantRecord::Violated { at: v.x, expected },
            Outcome::NotReached { reason, .. } => InvariantRecord::NotReached {
                reason: reason.clone(),
            },
            Outcome::NotEvaluable { reason } => InvariantRecord::NotEvaluable {
                reason: reason.clone(),
            },
        }
    }

    /// The record that `describe` wrote as prose in baselines committed before outcomes were
    /// typed: `held (N samples)`, `violated at census N (expected)`. `None` for any other text
    /// (the old prose of an unreached or unevaluable outcome lost its typed reason).
    pub fn from_prose(prose: &str) -> Option<InvariantRecord> {
        let number = |t: &str| t.replace(',', "").parse::<u64>().ok();
        if let Some(rest) = prose.strip_prefix("held (") {
            let n = number(rest.strip_suffix(" samples)")?)?;
            return Some(InvariantRecord::Held {
                samples: usize::try_from(n).ok()?,
            });
        }
        let rest = prose.strip_prefix("violated at ")?;
        let (rest, expected) = match rest.strip_suffix(" (expected)") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        // `cycle 1,234`, `census 32`, `snapshot 7`, `1,250 ms`: the one number is the position.
        let mut numbers = rest.split(' ').filter_map(number);
        let at = numbers.next()?;
        if numbers.next().is_some() {
            return None;
        }
        Some(InvariantRecord::Violated { at, expected })
    }

    /// One line for a reader, with positions in `unit`.
    pub fn describe(&self, unit: XUnit) -> String {
        match self {
            InvariantRecord::Held { samples } => format!("held ({samples} samples)"),
            InvariantRecord::Violated { at, expected } => format!(
                "violated at {}{}",
                unit.at(*at),
                if *expected { " (expected)" } else { "" }
            ),
            InvariantRecord::NotReached { reason } => format!("not reached: {reason}"),
            InvariantRecord::NotEvaluable { reason } => format!("not evaluable: {reason}"),
        }
    }
}

/// At most [`CHART_POINTS`] points of a timeline, with the top types' bytes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartTimeline {
    /// What x counts.
    pub x_unit: XUnit,
    /// Points in increasing x.
    pub points: Vec<ChartPoint>,
    /// Phase marks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
}

/// One chart point.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartPoint {
    /// Position.
    pub x: u64,
    /// Total residency in bytes.
    pub live_bytes: u64,
    /// Bytes of the top types at this point.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, u64>,
}

impl Baseline {
    /// Builds the result of a run; `chart` is [`downsample`] of its timeline.
    pub fn from_run(
        scenario: &Scenario,
        m: &Measurement,
        outcomes: &[(String, Outcome)],
        chart: ChartTimeline,
        toolchain: BTreeMap<String, String>,
    ) -> Baseline {
        // A set, not a scan of the invariants per outcome: linear in many thousands of them.
        let expected: std::collections::HashSet<&str> = scenario
            .invariants
            .iter()
            .filter(|i| {
                matches!(
                    i.expect,
                    crate::spec::invariant::Expectation::Violated { .. }
                )
            })
            .map(|i| i.name.as_str())
            .collect();
        let invariants = outcomes
            .iter()
            .map(|(name, o)| {
                let record = InvariantRecord::of(o, expected.contains(name.as_str()));
                (name.clone(), record)
            })
            .collect();
        Baseline {
            scenario: scenario.name.clone(),
            fingerprint: scenario.fingerprint.clone(),
            description: scenario.description.clone(),
            metrics: m.metrics.clone(),
            types: m.types.clone(),
            fit: m.fit.clone(),
            invariants,
            toolchain,
            host: host_facts(),
            timeline: chart,
        }
    }

    /// The part of a baseline that comparisons diff: everything but host, toolchain and chart.
    pub fn comparable_json(&self) -> String {
        #[derive(Serialize)]
        struct View<'a> {
            scenario: &'a str,
            fingerprint: &'a str,
            metrics: &'a BTreeMap<Metric, Value>,
            types: &'a BTreeMap<String, BTreeMap<String, Value>>,
            invariants: &'a BTreeMap<String, InvariantRecord>,
        }
        let v = View {
            scenario: &self.scenario,
            fingerprint: &self.fingerprint,
            metrics: &self.metrics,
            types: &self.types,
            invariants: &self.invariants,
        };
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    /// Pretty JSON with a trailing newline, as committed: what a reviewer reads first and
    /// small (metrics, fits, invariants, then per-type metrics), the chart last with one point
    /// per line, so that a re-blessed chart is as many changed lines as it has points, not
    /// six per point. Read back by plain `serde_json` like any pretty JSON.
    pub fn to_json(&self) -> String {
        let chartless = Baseline {
            timeline: ChartTimeline {
                points: Vec::new(),
                ..self.timeline.clone()
            },
            ..self.clone()
        };
        // Serialising plain maps and numbers cannot fail; an empty string would show in review.
        let text = serde_json::to_string_pretty(&chartless).unwrap_or_default();
        // The timeline is the last field, so its `points` are the last `"points": []` at its
        // depth; keys inside strings are escaped and cannot match.
        let empty = "\n    \"points\": []";
        let Some(at) = text.rfind(empty) else {
            return text + "\n";
        };
        let mut out = String::with_capacity(text.len() + self.timeline.points.len() * 120);
        out.push_str(&text[..at]);
        out.push_str("\n    \"points\": [");
        for (i, p) in self.timeline.points.iter().enumerate() {
            out.push_str(if i == 0 { "\n      " } else { ",\n      " });
            out.push_str(&serde_json::to_string(p).unwrap_or_default());
        }
        if !self.timeline.points.is_empty() {
            out.push_str("\n    ");
        }
        out.push(']');
        out.push_str(&text[at + empty.len()..]);
        out.push('\n');
        out
    }
}

/// Host facts recorded beside a result (informational; never compared).
pub fn host_facts() -> BTreeMap<String, String> {
    let mut h = BTreeMap::new();
    h.insert("os".into(), std::env::consts::OS.into());
    h.insert("arch".into(), std::env::consts::ARCH.into());
    h.insert(
        "cpus".into(),
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string(),
    );
    h
}

/// Keeps at most [`CHART_POINTS`] evenly spaced samples, always including the first, the last
/// and the peak, with the [`CHART_TYPES`] types of highest peak bytes.
pub fn downsample(tl: &Timeline) -> ChartTimeline {
    let mut chart = ChartSampler::default();
    tl.feed(&mut chart);
    chart.finish(&tl.marks)
}

/// [`downsample`] as the samples stream by, without knowing how many will come: it keeps every
/// `stride`-th sample (the stride doubling whenever more than twice [`CHART_POINTS`] are
/// kept), the last and the peak, with their types' bytes, and each type's peak; the chart's
/// points are chosen evenly among those at the end. Up to twice [`CHART_POINTS`] samples it is
/// an even choice among all of them.
#[derive(Debug)]
pub struct ChartSampler {
    x_unit: XUnit,
    stride: usize,
    index: usize,
    /// The samples at multiples of `stride`, by index.
    kept: Vec<(usize, Snapshot)>,
    /// The last sample's index, position and residency; its types' bytes are in `type_peaks`.
    last: Option<(usize, u64, u64)>,
    /// The last sample of the highest residency so far.
    peak: Option<(usize, Snapshot)>,
    /// Each type's peak bytes, and the index of the last sample that had it, with its bytes
    /// there: what the last sample's snapshot is made of at the end, rather than copying every
    /// sample's types in turn.
    type_peaks: crate::timeline::LabelMap<TypeTrace>,
}

/// A type's figures in a [`ChartSampler`].
#[derive(Debug, Default, Clone, Copy)]
struct TypeTrace {
    peak: u64,
    last_index: usize,
    last_bytes: u64,
}

impl Default for ChartSampler {
    fn default() -> Self {
        ChartSampler {
            x_unit: XUnit::default(),
            stride: 1,
            index: 0,
            kept: Vec::new(),
            last: None,
            peak: None,
            type_peaks: crate::timeline::LabelMap::new(),
        }
    }
}

/// One sample as a chart needs it: position, residency, every type's bytes.
#[derive(Debug, Default, Clone)]
struct Snapshot {
    x: u64,
    live_bytes: u64,
    types: crate::timeline::LabelMap<u64>,
}

impl Snapshot {
    fn of(s: &crate::timeline::Sample) -> Self {
        let mut snap = Snapshot::default();
        snap.set(s);
        snap
    }

    /// Overwrites this snapshot with `s`, reusing its buffers: the peak of a growing run is
    /// replaced at every sample.
    fn set(&mut self, s: &crate::timeline::Sample) {
        self.x = s.x;
        self.live_bytes = s.live_bytes;
        self.types
            .assign_sorted(s.types.iter().map(|(l, t)| (l, t.bytes)));
    }

    fn bytes_of(&self, label: &str) -> u64 {
        self.types.get(label).copied().unwrap_or(0)
    }
}

impl ChartSampler {
    /// The chart of the samples since the last `begin`, with the run's marks.
    pub fn finish(self, marks: &[Mark]) -> ChartTimeline {
        let mut top: Vec<(&str, u64)> = self
            .type_peaks
            .iter()
            .map(|(l, t)| (l.as_str(), t.peak))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top: Vec<&str> = top.into_iter().take(CHART_TYPES).map(|(l, _)| l).collect();
        let last = self.last.map(|(index, x, live_bytes)| {
            let types = self
                .type_peaks
                .iter()
                .filter(|(_, t)| t.last_index == index)
                .map(|(l, t)| (l.clone(), t.last_bytes))
                .collect();
            let snapshot = Snapshot {
                x,
                live_bytes,
                types,
            };
            (index, snapshot)
        });
        let mut candidates: Vec<&(usize, Snapshot)> = self.kept.iter().collect();
        if let Some(last) = &last {
            if candidates.last().is_none_or(|(i, _)| *i != last.0) {
                candidates.push(last);
            }
        }
        let n = candidates.len();
        let mut chosen: Vec<&(usize, Snapshot)> = if n <= CHART_POINTS {
            candidates
        } else {
            (0..CHART_POINTS - 1)
                .map(|i| candidates[i * (n - 1) / (CHART_POINTS - 2)])
                .collect()
        };
        if let Some(peak) = &self.peak {
            if !chosen.iter().any(|(i, _)| *i == peak.0) {
                chosen.push(peak);
                chosen.sort_by_key(|(i, _)| *i);
            }
        }
        let points = chosen
            .into_iter()
            .map(|(_, s)| ChartPoint {
                x: s.x,
                live_bytes: s.live_bytes,
                types: top
                    .iter()
                    .map(|l| ((*l).to_owned(), s.bytes_of(l)))
                    .collect(),
            })
            .collect();
        ChartTimeline {
            x_unit: self.x_unit,
            points,
            marks: marks.to_vec(),
        }
    }
}

impl crate::timeline::SampleSink for ChartSampler {
    fn begin(&mut self, x_unit: XUnit) {
        *self = ChartSampler {
            x_unit,
            ..ChartSampler::default()
        };
    }

    fn sample(&mut self, s: &crate::timeline::Sample) {
        let index = self.index;
        self.index += 1;
        if index.is_multiple_of(self.stride) {
            self.kept.push((index, Snapshot::of(s)));
            if self.kept.len() > 2 * CHART_POINTS {
                self.stride *= 2;
                let stride = self.stride;
                self.kept.retain(|(i, _)| i.is_multiple_of(stride));
            }
        }
        self.last = Some((index, s.x, s.live_bytes));
        // The last of equal peaks, as `Iterator::max_by_key` picks.
        match &mut self.peak {
            Some((_, p)) if p.live_bytes > s.live_bytes => {}
            Some((i, p)) => {
                *i = index;
                p.set(s);
            }
            None => self.peak = Some((index, Snapshot::of(s))),
        }
        crate::timeline::for_each_label(&mut self.type_peaks, &s.types, |p, t| {
            p.peak = p.peak.max(t.bytes);
            p.last_index = index;
            p.last_bytes = t.bytes;
        });
    }
}

/// Where a scenario's files live.
#[derive(Debug, Clone)]
pub struct Store {
    /// `baselines/`.
    pub dir: PathBuf,
    /// Where run results for reports go, e.g. `target/membound/results`.
    pub results_dir: PathBuf,
}

impl Store {
    /// `baselines/<name>.json`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// `baselines/<name>.json.new`.
    pub fn pending_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json.new"))
    }

    /// Reads the blessed baseline; `Ok(None)` when there is none.
    pub fn read(&self, name: &str) -> Result<Option<Baseline>, BaselineError> {
        read_file(&self.path(name), name)
    }

    /// Reads a pending result; `Ok(None)` when there is none.
    pub fn read_pending(&self, name: &str) -> Result<Option<Baseline>, BaselineError> {
        read_file(&self.pending_path(name), name)
    }

    /// Blesses a result: writes `<name>.json` atomically and removes `<name>.json.new`.
    /// Refuses a result whose invariants fail: `problems` are (invariant, explanation).
    pub fn bless(&self, b: &Baseline, problems: &[(String, String)]) -> Result<(), BaselineError> {
        if !problems.is_empty() {
            return Err(BaselineError::InvariantFailed {
                scenario: b.scenario.clone(),
                invariants: problems.iter().map(|(n, _)| n.clone()).collect(),
                explanation: problems
                    .iter()
                    .map(|(_, e)| e.trim_end().to_owned())
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        write_atomic(&self.path(&b.scenario), b.to_json().as_bytes())?;
        self.remove_pending(&b.scenario)
    }

    /// Leaves a mismatching result for review as `<name>.json.new`.
    pub fn write_pending(&self, b: &Baseline) -> Result<PathBuf, BaselineError> {
        let p = self.pending_path(&b.scenario);
        write_atomic(&p, b.to_json().as_bytes())?;
        Ok(p)
    }

    /// Removes a stale `<name>.json.new`, if any.
    pub fn remove_pending(&self, name: &str) -> Result<(), BaselineError> {
        let p = self.pending_path(name);
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(BaselineError::Io { path: p, source }),
        }
    }

    /// Takes the scenario's lock (`<results_dir>/<name>.lock`), so that two invocations on one
    /// work directory (two `bless`es, a `run` beside `cargo test`) take turns on a scenario
    /// instead of sharing its run directory, its result and its pending file. `on_wait` is
    /// called once, before blocking, when another process holds the lock. Released on drop,
    /// and by the kernel if the holder dies.
    pub fn lock(
        &self,
        name: &str,
        on_wait: &mut dyn FnMut(&Path),
    ) -> Result<ScenarioLock, BaselineError> {
        let p = self.results_dir.join(format!("{name}.lock"));
        let io = |source| BaselineError::Io {
            path: p.clone(),
            source,
        };
        std::fs::create_dir_all(&self.results_dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(io)?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        // SAFETY: flock on a descriptor we own for the duration of the call.
        if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(e));
            }
            on_wait(&p);
            // SAFETY: as above; blocks until the other holder releases or dies.
            if unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
                return Err(io(std::io::Error::last_os_error()));
            }
        }
        Ok(ScenarioLock { _file: file })
    }

    /// Removes temporary files that an interrupted write left in `baselines/` (a `kill -9`
    /// between creating and renaming one). Only files whose writing process is gone are
    /// removed: a concurrent writer's file is its own.
    pub fn remove_stale_temps(&self) -> Result<usize, BaselineError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(BaselineError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut removed = 0;
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(temp_owner) else {
                continue;
            };
            if process_alive(pid) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(BaselineError::Io {
                        path: entry.path(),
                        source,
                    })
                }
            }
        }
        Ok(removed)
    }

    /// Writes a run's result for reports: `<results_dir>/<name>.json`, stamped with the
    /// current run (see [`Store::begin_run`]; a run that was not begun is begun here) and the
    /// hash of the scenario file it ran, so that a report never shows it as another run's.
    pub fn write_result<T: Serialize>(
        &self,
        scenario: &Scenario,
        result: &T,
    ) -> Result<PathBuf, BaselineError> {
        let run = match self.current_run()? {
            Some(id) => id,
            None => {
                let id = new_run_id();
                self.begin_run(&id)?;
                id
            }
        };
        let stamped = Stamped {
            run: Some(run),
            // A file that cannot be read now is stamped as unknown: no report can match it.
            scenario_file: std::fs::read(&scenario.path).ok().map(|b| file_hash(&b)),
            result,
        };
        let p = self.results_dir.join(format!("{}.json", scenario.name));
        let text = serde_json::to_string_pretty(&stamped).unwrap_or_default() + "\n";
        write_file(&p, text.as_bytes(), Durability::Replaceable)?;
        Ok(p)
    }

    /// Starts a run: results written from now on belong to run `id`, and those already in the
    /// results directory are an earlier run's. Every front end that runs scenarios begins a
    /// run before anything can refuse it, so that a refused run leaves no result that a report
    /// could take for its own. Beginning the run that is current already changes nothing (the
    /// processes of one nextest run share its id).
    pub fn begin_run(&self, id: &str) -> Result<(), BaselineError> {
        if self.current_run()?.as_deref() == Some(id) {
            return Ok(());
        }
        let p = self.results_dir.join(RUN_FILE);
        write_file(&p, format!("{id}\n").as_bytes(), Durability::Replaceable)
    }

    /// The run the results directory's results belong to; `None` before any run was begun.
    pub fn current_run(&self) -> Result<Option<String>, BaselineError> {
        read_run(&self.results_dir)
    }
}

/// The file in a results directory that names its current run.
pub const RUN_FILE: &str = "run.id";

/// The run a results directory's results belong to (its [`RUN_FILE`]); `None` when it has none
/// (results made before runs were recorded, or by hand).
pub fn read_run(results_dir: &Path) -> Result<Option<String>, BaselineError> {
    let p = results_dir.join(RUN_FILE);
    match std::fs::read_to_string(&p) {
        Ok(t) => Ok(Some(t.trim().to_owned()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(BaselineError::Io { path: p, source }),
    }
}

/// A new run's id: unique across runs on one machine (the time and the process).
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", std::process::id())
}

/// The hash a result records of its scenario file's bytes (FNV-1a, 64 bits).
pub fn file_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

/// A result file: the result, with the run it came from and the scenario file it ran. Both are
/// `None` in results written before they were recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamped<T> {
    /// The run (the results directory's [`RUN_FILE`] when the result was written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// [`file_hash`] of the scenario file the result was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_file: Option<String>,
    /// The result, its fields beside these two.
    #[serde(flatten)]
    pub result: T,
}

/// Where a result file stands against the run its directory holds and the scenario file as it
/// is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Of this run, from the scenario file as it is.
    ThisRun,
    /// From a directory without a [`RUN_FILE`]: written before runs were recorded (or by
    /// hand), so nothing can be checked.
    Unrecorded,
    /// Of an earlier run than the directory's.
    EarlierRun,
    /// Of this run, but the scenario file changed since.
    ScenarioChanged,
}

impl<T> Stamped<T> {
    /// The result's provenance: `dir_run` is its directory's run ([`read_run`]), `scenario`
    /// the bytes of its scenario file now.
    pub fn provenance(&self, dir_run: Option<&str>, scenario: &[u8]) -> Provenance {
        match dir_run {
            None => Provenance::Unrecorded,
            Some(run) if self.run.as_deref() != Some(run) => Provenance::EarlierRun,
            Some(_) if self.scenario_file.as_deref() != Some(file_hash(scenario).as_str()) => {
                Provenance::ScenarioChanged
            }
            Some(_) => Provenance::ThisRun,
        }
    }
}

/// A scenario's lock, held while it is checked or blessed.
#[derive(Debug)]
pub struct ScenarioLock {
    _file: std::fs::File,
}

/// Temporary files are `.membound-<pid>-<random>.tmp`: the pid says whether the writer lives.
const TEMP_PREFIX: &str = ".membound-";
const TEMP_SUFFIX: &str = ".tmp";

/// The writing process of a temporary file name, if it is one of ours.
fn temp_owner(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    rest.split_once('-')?.0.parse().ok()
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Any JSON value in which no object gives a key twice: deserialising it is the check, and
/// its error names the key at the position of its second occurrence.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "key `{key}` is given twice in one object, and only one value can be the baseline's (hint: keep the right one and delete the other)"
                )));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
}

/// A baseline as any commit of this repository wrote it, for `history`: the current form, or
/// an older one this version still understands (invariant outcomes written as prose, `"held
/// (1001 samples)"`, before they were typed). `origin` names the file in errors, e.g.
/// `<commit>:baselines/x.json`. An older form that cannot be read typed (prose this version
/// does not know) is the current form's error, which says where.
pub fn parse_committed(text: &str, origin: &str) -> Result<Baseline, BaselineError> {
    let current = match serde_json::from_str::<Baseline>(text) {
        Ok(b) => return Ok(b),
        Err(e) => e,
    };
    let legacy = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|mut v| {
            for (_, record) in v.get_mut("invariants")?.as_object_mut()? {
                if let Some(prose) = record.as_str() {
                    *record = serde_json::to_value(InvariantRecord::from_prose(prose)?).ok()?;
                }
            }
            serde_json::from_value::<Baseline>(v).ok()
        });
    legacy.ok_or_else(|| BaselineError::Parse {
        path: PathBuf::from(origin),
        line: current.line(),
        column: current.column(),
        message: current.to_string(),
        scenario: String::new(),
    })
}

fn read_file(path: &Path, scenario: &str) -> Result<Option<Baseline>, BaselineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    parse_baseline(&text, path, scenario).map(Some)
}

/// A baseline of `scenario` in the current form, checked: no key given twice, and no other
/// scenario's. `path` names it in errors (a file, or `<ref>:<file>` for one in git).
fn parse_baseline(text: &str, path: &Path, scenario: &str) -> Result<Baseline, BaselineError> {
    let parse_error = |e: serde_json::Error| BaselineError::Parse {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
        scenario: scenario.to_owned(),
    };
    let b: Baseline = serde_json::from_str(text).map_err(parse_error)?;
    // serde_json keeps the last of a key given twice: a hand-merged baseline would be
    // compared with whichever value came last, so such a file is refused.
    serde_json::from_str::<NoDuplicateKeys>(text).map_err(parse_error)?;
    if b.scenario != scenario {
        // A baseline copied from another scenario would be compared with the wrong figures.
        let at = text.find("\"scenario\"").unwrap_or(0);
        let (line, column) = crate::spec::text::line_col(text, at);
        return Err(BaselineError::Parse {
            path: path.to_owned(),
            line,
            column,
            message: format!("it belongs to scenario `{}`, not `{scenario}`", b.scenario),
            scenario: scenario.to_owned(),
        });
    }
    Ok(b)
}

/// How much a write must survive, beyond membound itself crashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flushed to disk before the rename: a baseline, or a pending result awaiting review,
    /// must survive a power loss too, since nothing regenerates it.
    Durable,
    /// Renamed into place without waiting for the disk: a run's result and the report, which
    /// the next run writes again. A crash of membound still leaves the old file or the new;
    /// only a power loss can leave an empty one. (The fsyncs of a passing run's result and
    /// two reports took 1.2 to 3.4 ms, by `strace -T`, on the project's machine.)
    Replaceable,
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers (and a crash) see the old content or the new, never a part; flushed to disk first
/// ([`Durability::Durable`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BaselineError> {
    write_file(path, bytes, Durability::Durable)
}

/// Writes a new file, whole or not at all, never over an existing one (a scenario `explore
/// --new` proposes): an error of kind `AlreadyExists` when `path` is there.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), BaselineError> {
    write(path, bytes, Durability::Durable, false)
}

/// [`write_atomic`] with the durability `path` needs.
pub fn write_file(path: &Path, bytes: &[u8], durability: Durability) -> Result<(), BaselineError> {
    write(path, bytes, durability, true)
}

fn write(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
    replace: bool,
) -> Result<(), BaselineError> {
    let io = |source| BaselineError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    // Temporary files are private (0600); what replaces a file keeps its mode, a new file
    // gets the usual 0644.
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions())
        .unwrap_or_else(|_| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        });
    tmp.as_file().set_permissions(mode).map_err(io)?;
    if durability == Durability::Durable {
        tmp.as_file().sync_all().map_err(io)?;
    }
    if replace {
        tmp.persist(path).map_err(|e| io(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| io(e.error))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sample;

    /// A baseline of `scenario` with no figures and `tl` as its chart.
    fn empty_baseline(scenario: &str, tl: &Timeline) -> Baseline {
        Baseline {
            scenario: scenario.into(),
            fingerprint: "f".into(),
            description: String::new(),
            metrics: BTreeMap::new(),
            types: BTreeMap::new(),
            fit: BTreeMap::new(),
            invariants: BTreeMap::new(),
            toolchain: BTreeMap::new(),
            host: BTreeMap::new(),
            timeline: downsample(tl),
        }
    }

    #[test]
    fn downsampling_keeps_ends_and_peak() {
        let mut tl = Timeline::new("t", XUnit::Cycles);
        for i in 0..1000u64 {
            tl.samples.push(Sample {
                x: i * 10,
                live_bytes: if i == 501 { 10_000 } else { i },
                ..Default::default()
            });
        }
        let c = downsample(&tl);
        assert!(c.points.len() <= CHART_POINTS + 1);
        assert_eq!(c.points.first().map(|p| p.x), Some(0));
        assert_eq!(c.points.last().map(|p| p.x), Some(9990));
        assert!(c.points.iter().any(|p| p.live_bytes == 10_000));
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.json");
        write_atomic(&p, b"old").expect("write");
        write_atomic(&p, b"new content").expect("write");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "new content");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(|e| e.ok())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_corrupt_baseline_says_where() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store {
            dir: dir.path().to_owned(),
            results_dir: dir.path().join("r"),
        };
        std::fs::write(store.path("s"), "{\n  \"scenario\": 3,\n").expect("write");
        let e = store
            .read("s")
            .expect_err("corrupt")
            .with_hint(&|s| crate::judge::verdict::Hints::default().bless_forced(s));
        assert!(
            e.contains("s.json:2:") && e.contains("`cargo xtask bless --force s`"),
            "{e}"
        );
    }

    #[test]
    fn a_key_given_twice_is_refused_naming_it_and_where() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store {
            dir: dir.path().to_owned(),
            results_dir: dir.path().join("r"),
        };
        // A real baseline, its first metric given a second time right after itself.
        let good = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../baselines/register_wb.json"),
        )
        .expect("a blessed baseline");
        let at = good.find("\"metrics\": {\n").expect("metrics") + "\"metrics\": {\n".len();
        let first = &good[at..at + good[at..].find('\n').expect("a metric line") + 1];
        let key = first.trim().split('"').nth(1).expect("a key").to_owned();
        let text = format!("{}{first}{}", &good[..at], &good[at..]);
        let line = good[..at].matches('\n').count() + 2;
        std::fs::write(store.path("register_wb"), &text).expect("write");
        let e = store
            .read("register_wb")
            .expect_err("a duplicate key")
            .to_string();
        assert!(e.contains(&format!("register_wb.json:{line}:")), "{e}");
        assert!(e.contains(&format!("key `{key}` is given twice")), "{e}");
        std::fs::write(store.path("register_wb"), &good).expect("write");
        assert!(store.read("register_wb").is_ok());
    }

    #[test]
    fn a_metric_the_table_does_not_know_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let good = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../baselines/register_wb.json"),
        )
        .expect("a blessed baseline");
        // A metric renamed by hand (or by an older membound): never read as no metric at all.
        let text = good.replacen("\"live_bytes.peak\"", "\"live_bytes.top\"", 1);
        assert_ne!(text, good, "the baseline has live_bytes.peak");
        std::fs::write(store.path("register_wb"), &text).expect("write");
        let e = store
            .read("register_wb")
            .expect_err("an unknown metric")
            .to_string();
        assert!(e.contains("register_wb.json:"), "{e}");
        assert!(e.contains("unknown metric `live_bytes.top`"), "{e}");
    }

    fn store(dir: &Path) -> Store {
        Store {
            dir: dir.to_owned(),
            results_dir: dir.join("r"),
        }
    }

    #[test]
    fn a_baseline_of_another_scenario_or_with_unknown_keys_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let mut tl = Timeline::new("t", XUnit::Cycles);
        tl.samples.push(Sample::default());
        let b = empty_baseline("other", &tl);
        std::fs::write(store.path("s"), b.to_json()).expect("write");
        let e = store.read("s").expect_err("foreign").to_string();
        assert!(e.contains("belongs to scenario `other`, not `s`"), "{e}");
        assert!(e.contains("s.json:2:"), "{e}");
        let extra = b.to_json().replacen("{", "{\n  \"metricz\": {},", 1);
        std::fs::write(store.path("other"), extra).expect("write");
        let e = store.read("other").expect_err("unknown key").to_string();
        assert!(e.contains("unknown field `metricz`"), "{e}");
    }

    #[test]
    fn invariant_outcomes_are_stored_typed_and_prose_is_refused() {
        let held = InvariantRecord::Held { samples: 19 };
        let json = serde_json::to_string(&held).expect("json");
        assert_eq!(json, r#"{"outcome":"held","samples":19}"#);
        assert_eq!(held.describe(XUnit::Census), "held (19 samples)");
        let violated: InvariantRecord =
            serde_json::from_str(r#"{"outcome":"violated","at":32,"expected":true}"#)
                .expect("typed");
        assert_eq!(
            violated.describe(XUnit::Census),
            "violated at census 32 (expected)"
        );
        // The old prose form is not silently accepted as a record.
        assert!(serde_json::from_str::<InvariantRecord>(r#""held (19 samples)""#).is_err());
        assert!(serde_json::from_str::<InvariantRecord>(
            r#"{"outcome":"held","samples":1,"extra":0}"#
        )
        .is_err());
    }

    #[test]
    fn baselines_committed_with_prose_outcomes_are_read_typed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let mut tl = Timeline::new("t", XUnit::Cycles);
        tl.samples.push(Sample::default());
        let mut b = empty_baseline("s", &tl);
        b.invariants
            .insert("bounded".into(), InvariantRecord::Held { samples: 1001 });
        b.invariants.insert(
            "leaks".into(),
            InvariantRecord::Violated {
                at: 12_000,
                expected: true,
            },
        );
        let old = b
            .to_json()
            .replace(
                r#"{
      "outcome": "held",
      "samples": 1001
    }"#,
                r#""held (1001 samples)""#,
            )
            .replace(
                r#"{
      "outcome": "violated",
      "at": 12000,
      "expected": true
    }"#,
                r#""violated at cycle 12,000 (expected)""#,
            );
        assert!(old.contains("held (1001 samples)"), "{old}");
        assert!(old.contains("violated at cycle 12,000 (expected)"), "{old}");
        // The current reader refuses prose; history reads it as the record it stood for.
        std::fs::write(store.path("s"), &old).expect("write");
        assert!(store.read("s").is_err());
        assert_eq!(
            parse_committed(&old, "abc:baselines/s.json").expect("legacy"),
            b
        );
        let unknown = old.replace("held (1001 samples)", "held, more or less");
        let e = parse_committed(&unknown, "abc:baselines/s.json")
            .expect_err("prose of no known form")
            .to_string();
        assert!(e.starts_with("abc:baselines/s.json:"), "{e}");
    }

    #[test]
    fn a_baseline_is_written_reviewers_first_and_its_chart_one_point_per_line() {
        let mut tl = Timeline::new("t", XUnit::Cycles);
        for i in 0..200u64 {
            let mut s = Sample {
                x: i * 1000,
                live_bytes: 40_000 + i,
                ..Sample::default()
            };
            s.types.insert(
                "Signal<u32>::Cons".into(),
                crate::timeline::TypeSample {
                    count: 3,
                    bytes: 72,
                    ..Default::default()
                },
            );
            tl.samples.push(s);
        }
        let mut b = Baseline {
            description: "a \"points\": [] in a description".into(),
            ..empty_baseline("s", &tl)
        };
        b.metrics.insert(
            Metric::of(&crate::spec::metric::LIVE_BYTES_PEAK),
            Value::Int(40_199),
        );
        b.invariants
            .insert("bounded".into(), InvariantRecord::Held { samples: 200 });
        let json = b.to_json();
        let read: Baseline = serde_json::from_str(&json).expect("reads back");
        assert_eq!(read, b);
        let pos = |k: &str| json.find(k).unwrap_or_else(|| panic!("{k} in {json}"));
        assert!(pos("\"metrics\"") < pos("\"invariants\""));
        assert!(pos("\"invariants\"") < pos("\"types\""));
        assert!(pos("\"types\"") < pos("\"timeline\""));
        let point_lines = json
            .lines()
            .filter(|l| l.trim_start().starts_with("{\"x\":"))
            .count();
        assert_eq!(point_lines, b.timeline.points.len(), "{json}");
        // One metric and the chart moved: the diff is that metric's line and the points' lines.
        let mut moved = b.clone();
        moved.metrics.insert(
            Metric::of(&crate::spec::metric::LIVE_BYTES_PEAK),
            Value::Int(40_299),
        );
        for p in &mut moved.timeline.points {
            p.live_bytes += 100;
        }
        let old = b.to_json();
        let new = moved.to_json();
        let changed = old.lines().zip(new.lines()).filter(|(a, b)| a != b).count();
        assert_eq!(old.lines().count(), new.lines().count());
        assert_eq!(changed, 1 + b.timeline.points.len());
    }

    #[test]
    fn a_result_belongs_to_its_run_and_its_scenario_file() {
        let r = Stamped {
            run: Some("r2".to_owned()),
            scenario_file: Some(file_hash(b"cycles = 1")),
            result: (),
        };
        assert_eq!(r.provenance(Some("r2"), b"cycles = 1"), Provenance::ThisRun);
        assert_eq!(
            r.provenance(Some("r3"), b"cycles = 1"),
            Provenance::EarlierRun
        );
        assert_eq!(
            r.provenance(Some("r2"), b"cycles = 2"),
            Provenance::ScenarioChanged
        );
        assert_eq!(r.provenance(None, b"cycles = 2"), Provenance::Unrecorded);
        let unstamped = Stamped {
            run: None,
            scenario_file: None,
            result: (),
        };
        assert_eq!(
            unstamped.provenance(Some("r2"), b""),
            Provenance::EarlierRun
        );
    }

    #[test]
    fn stale_temporary_files_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        // A pid that cannot exist (above pid_max) stands for a writer killed mid-write.
        let dead = dir.path().join(".membound-999999999-abc.tmp");
        let live = dir
            .path()
            .join(format!(".membound-{}-abc.tmp", std::process::id()));
        let other = dir.path().join(".membound-notes.tmp");
        for p in [&dead, &live, &other] {
            std::fs::write(p, "x").expect("write");
        }
        assert_eq!(store.remove_stale_temps().expect("clean"), 1);
        assert!(!dead.exists() && live.exists() && other.exists());
    }

    #[test]
    fn a_scenario_lock_makes_the_second_holder_wait() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let first = store.lock("s", &mut |_| panic!("free lock")).expect("lock");
        let (waiting, waited) = std::sync::mpsc::channel();
        let s2 = store.clone();
        let t = std::thread::spawn(move || {
            let _l = s2
                .lock("s", &mut |_| waiting.send(()).expect("send"))
                .expect("lock");
        });
        // The second holder must announce that it waits while the first holds the lock.
        waited.recv().expect("the second holder waited");
        drop(first);
        t.join()
            .expect("the second holder got the lock once the first let go");
        store
            .lock("other", &mut |_| panic!("another scenario's lock is free"))
            .expect("lock");
    }
}
