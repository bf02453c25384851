//! GHC `.hp` text heap profiles (`+RTS -h…`): the main function is [`read_hp`], giving the same
//! [`Timeline`] as the eventlog of the same run (x = census index, per-label bytes, counts by
//! [`ghc::assign_counts`]); errors are [`HpError`]s with line numbers.
//!
//! The format: header lines (`JOB "…"`, `DATE "…"`, `SAMPLE_UNIT "…"`, `VALUE_UNIT "…"`), then
//! samples `BEGIN_SAMPLE <seconds>`, rows `<label>\t<bytes>`, `END_SAMPLE <seconds>`, and
//! optionally `MARK <seconds>` lines. The RTS writes an empty sample at time 0 when profiling
//! starts and another when the program exits; neither is a census (the eventlog has neither), so
//! an empty first or last sample is dropped.

use super::labels::{self as ghc, ReadOptions};
use crate::timeline::{Label, Mark, Sample, Timeline, TypeSample, XUnit};
use std::hash::BuildHasherDefault;
use std::io::{self, Read};

/// Why a `.hp` profile could not be read. Every variant carries the 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum HpError {
    /// Reading the underlying stream failed.
    #[error("i/o error at line {line}: {source}")]
    Io {
        /// The line being read.
        line: usize,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line that is not part of the format where it stands.
    #[error("line {line}: {what}")]
    Syntax {
        /// The offending line.
        line: usize,
        /// What is wrong, with a hint where one helps.
        what: String,
    },
}

/// Reads a `.hp` profile into a [`Timeline`] (`source` `ghc-hp`). A profile that stops inside a
/// sample (a killed program) yields its whole samples and sets `truncated`.
///
/// The same parser as the live watch: the whole file is fed to an [`HpFollower`], which then
/// [finishes](HpFollower::finish) it.
pub fn read_hp<R: Read>(r: R, opts: &ReadOptions) -> Result<Timeline, HpError> {
    read_hp_cut(r, opts).map(|(t, _)| t)
}

/// [`read_hp`], and where the profile was cut short if it was (`truncated`): the line of the
/// sample left open, or of the unfinished last line.
pub fn read_hp_cut<R: Read>(
    mut r: R,
    opts: &ReadOptions,
) -> Result<(Timeline, Option<super::Cut>), HpError> {
    let mut follower = HpFollower::new();
    let mut samples = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(HpError::Io {
                    line: follower.line_no + 1,
                    source,
                })
            }
        };
        samples.extend(follower.feed(&buf[..n])?.into_iter().map(|(_, s)| s));
    }
    let cut = follower.cut();
    follower.finish(samples, opts).map(|t| (t, cut))
}

/// A `.hp` profile read while the program writes it: feed it the bytes appended since the last
/// call ([`HpFollower::feed`]); it returns each sample as soon as its `END_SAMPLE` line is whole,
/// with the byte offset just past it. A partial last line is kept for the next call.
///
/// Samples come out as written, bracketing empty ones included (the caller knows when the run
/// has ended, and so which empty sample is the last); counts are not assigned until
/// [`HpFollower::finish`]. Header facts and `MARK` times are kept for it.
#[derive(Debug, Default)]
pub struct HpFollower {
    partial: Vec<u8>,
    /// Bytes consumed in whole lines so far.
    offset: u64,
    line_no: usize,
    saw_job: bool,
    /// The sample being read, with the line that began it.
    open: Option<(usize, Sample)>,
    /// The open sample's rows, as the rank of their normalised label in [`Labels`] and bytes,
    /// in file order: put into its map only when it closes (see [`HpFollower::close`]).
    rows: Vec<(u32, u64)>,
    labels: Labels,
    by_rank: RankSums,
    /// Type maps handed back by [`HpFollower::recycle`], for reuse.
    spare: Vec<crate::timeline::LabelMap<TypeSample>>,
    facts: Vec<(&'static str, String)>,
    mark_times: Vec<u64>,
}

impl HpFollower {
    /// A follower at the start of the file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of whole lines consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Consumes `bytes` (what the file grew by); returns the samples completed, each with the
    /// file offset at its end.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<(u64, Sample)>, HpError> {
        let mut out = Vec::new();
        self.feed_into(bytes, &mut out)?;
        Ok(out)
    }

    /// [`feed`](Self::feed), appending the samples completed to `out`: a watch that keeps one
    /// vector for them allocates none per read.
    pub fn feed_into(&mut self, bytes: &[u8], out: &mut Vec<(u64, Sample)>) -> Result<(), HpError> {
        let mut rest = bytes;
        // A line begun in an earlier read is completed in its own buffer; every other line is
        // read where it lies, in `bytes`: copying each read into one buffer, then shifting its
        // unread tail down, moved every byte of the profile twice.
        if !self.partial.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                self.partial.extend_from_slice(rest);
                return Ok(());
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..=nl]);
            rest = &rest[nl + 1..];
            let taken = self.take_line(&line, out);
            line.clear();
            self.partial = line;
            taken?;
        }
        // Newlines found a word at a time (a byte at a time was a sixth of the watch's own
        // instructions per census).
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', rest) {
            self.take_line(&rest[start..=nl], out)?;
            start = nl + 1;
        }
        self.partial.extend_from_slice(&rest[start..]);
        Ok(())
    }

    /// One whole line, its newline included: a census row straight from its bytes, anything
    /// else as text.
    fn take_line(&mut self, line: &[u8], out: &mut Vec<(u64, Sample)>) -> Result<(), HpError> {
        self.offset += line.len() as u64;
        self.line_no += 1;
        let mut end = line.len();
        while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let line = &line[..end];
        if self.row(line) {
            return Ok(());
        }
        // Valid UTF-8 (every profile GHC writes) is checked by the fast validator; only a
        // line that fails it goes through the lossy one.
        let text = match std::str::from_utf8(line) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        if let Some(sample) = self.line(&text)? {
            out.push((self.offset, sample));
        }
        Ok(())
    }

    /// Takes `line` as a row of the open sample, `<label>\t<digits>`, if it plainly is one,
    /// without decoding it: most of a profile's lines are rows, and a label already seen is
    /// found by its bytes. Anything else, or anything [`line`](Self::line) might read
    /// otherwise (a keyword, a malformed row, a count too large), is left to it: `false`.
    fn row(&mut self, line: &[u8]) -> bool {
        let Some((_, sample)) = self.open.as_mut() else {
            return false;
        };
        if matches!(line.first(), Some(b'B' | b'E'))
            && (line.starts_with(b"BEGIN_SAMPLE") || line.starts_with(b"END_SAMPLE"))
        {
            return false;
        }
        // The count is read from the line's end back to the tab before it, which is then where
        // the label ends: one pass over the digits, no search for the tab. At most 19 digits,
        // which always fit in a u64; anything else (spaces, a longer count) is left to `line`.
        let mut bytes: u64 = 0;
        let mut scale: u64 = 1;
        let mut at = line.len();
        loop {
            let Some(at_before) = at.checked_sub(1) else {
                return false;
            };
            at = at_before;
            let b = line[at];
            if b == b'\t' {
                break;
            }
            let digit = b.wrapping_sub(b'0');
            if digit > 9 || line.len() - at > 19 {
                return false;
            }
            bytes += u64::from(digit) * scale;
            scale = scale.wrapping_mul(10);
        }
        if at == 0 || at + 1 == line.len() {
            // No label, or no count.
            return false;
        }
        sample.live_bytes += bytes;
        let id = self.labels.id(&line[..at]);
        self.rows.push((id, bytes));
        true
    }

    /// Where the bytes fed so far stop short of a whole profile: inside a sample (the line
    /// that began it) or inside a line (its number). `None` when they end after a whole
    /// sample or header line. A file still being written is cut at most places; one whose
    /// writer has exited must not be.
    pub fn cut(&self) -> Option<super::Cut> {
        if let Some((begun, _)) = &self.open {
            return Some(super::Cut::Sample { line: *begun });
        }
        (!self.partial.is_empty()).then_some(super::Cut::Line {
            line: self.line_no + 1,
        })
    }

    /// The whole profile, once the file has ended: `samples` are those [`feed`](Self::feed)
    /// returned. GHC ends every line with a newline, so an unterminated last line was cut off
    /// mid-write (the timeline is `truncated`); a sample left open is dropped, with a note.
    /// Drops the RTS's bracketing empty samples, numbers the censuses, places the marks and
    /// assigns counts.
    pub fn finish(
        mut self,
        mut samples: Vec<Sample>,
        opts: &ReadOptions,
    ) -> Result<Timeline, HpError> {
        let mut timeline = Timeline::new("ghc-hp", XUnit::Census);
        if !self.partial.is_empty() {
            timeline.truncated = true;
            if self.partial.starts_with(b"END_SAMPLE") {
                // The rows are whole; only the end time may be cut.
                if let Some((_, sample)) = self.open.take() {
                    samples.push(self.close(sample));
                }
            }
        }
        if !self.saw_job {
            return Err(HpError::Syntax {
                line: 1,
                what: "empty profile: no `JOB` line".into(),
            });
        }
        if let Some((begun, _)) = self.open {
            timeline.truncated = true;
            timeline.notes.push(format!(
                "dropped the sample begun at line {begun}: the profile stops inside it"
            ));
        }
        // The RTS's bracketing empty samples: at profiling start and at exit.
        if samples.first().is_some_and(|s| s.types.is_empty()) {
            samples.remove(0);
        }
        if !timeline.truncated && samples.last().is_some_and(|s| s.types.is_empty()) {
            samples.pop();
        }
        for (x, s) in samples.iter_mut().enumerate() {
            s.x = x as u64;
        }
        timeline.marks = self
            .mark_times
            .iter()
            .enumerate()
            .map(|(i, t)| Mark {
                x: samples.partition_point(|s| s.time_ns.unwrap_or(0) < *t) as u64,
                label: format!("mark {i}"),
            })
            .collect();
        for (k, v) in self.facts {
            timeline.facts.insert(k.into(), v);
        }
        timeline.samples = samples;
        ghc::assign_counts(&mut timeline, opts);
        Ok(timeline)
    }

    fn line(&mut self, line: &str) -> Result<Option<Sample>, HpError> {
        let line_no = self.line_no;
        let syntax = |what: String| HpError::Syntax {
            line: line_no,
            what,
        };
        if line.trim().is_empty() {
            return Ok(None);
        }
        let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
        match keyword {
            "JOB" | "DATE" | "SAMPLE_UNIT" | "VALUE_UNIT" if self.open.is_none() => {
                let value = unquote(rest.trim());
                match keyword {
                    "JOB" => {
                        self.saw_job = true;
                        self.facts.push(("program", value.to_owned()));
                        if let Some(b) = super::HeapBreakdown::of_rts_flags(value) {
                            self.facts
                                .push((super::BREAKDOWN_FACT, b.name().to_owned()));
                        }
                    }
                    "DATE" => self.facts.push(("date", value.to_owned())),
                    "VALUE_UNIT" if value != "bytes" => {
                        return Err(syntax(format!("VALUE_UNIT {value:?} is not \"bytes\"")));
                    }
                    _ => {}
                }
                Ok(None)
            }
            _ if !self.saw_job => Err(syntax(
                "expected `JOB \"…\"` first (hint: is this a .hp file from `+RTS -h…`?)".into(),
            )),
            "BEGIN_SAMPLE" => {
                if let Some((begun, _)) = &self.open {
                    return Err(syntax(format!(
                        "BEGIN_SAMPLE inside the sample begun at line {begun}"
                    )));
                }
                let time_ns = seconds_to_ns(rest)
                    .ok_or_else(|| syntax(format!("bad sample time {rest:?}")))?;
                let sample = Sample {
                    time_ns: Some(time_ns),
                    ..Sample::default()
                };
                self.open = Some((line_no, sample));
                self.rows.clear();
                Ok(None)
            }
            "END_SAMPLE" => match self.open.take() {
                Some((_, s)) => Ok(Some(self.close(s))),
                None => Err(syntax("END_SAMPLE without BEGIN_SAMPLE".into())),
            },
            "MARK" if self.open.is_none() => {
                let time_ns =
                    seconds_to_ns(rest).ok_or_else(|| syntax(format!("bad mark time {rest:?}")))?;
                self.mark_times.push(time_ns);
                Ok(None)
            }
            _ => {
                let Some((_, sample)) = self.open.as_mut() else {
                    return Err(syntax(format!("unexpected {keyword:?} outside a sample")));
                };
                let (label, value) = split_row(line).ok_or_else(|| {
                    syntax("expected `<label>\\t<bytes>` inside a sample (hint: is the file cut or edited?)".into())
                })?;
                let bytes: u64 = value
                    .parse()
                    .map_err(|_| syntax(format!("bad byte count {value:?}")))?;
                sample.live_bytes += bytes;
                let id = self.labels.id(label.as_bytes());
                self.rows.push((id, bytes));
                Ok(None)
            }
        }
    }
}

impl HpFollower {
    /// The closed sample with its rows: in label order, the rows of one normalised label
    /// summed, and built into the map in one go. GHC writes rows in no order, and a map grown
    /// row by row leaves its nodes half full: a long run's timeline took twice the memory, and
    /// every pass over it twice the time. The rows are put in order by their labels' ranks,
    /// integers, not by the labels: comparing labels (long common prefixes such as
    /// `clash-prelude:Clash.`) was the largest part of the live watch's time per census.
    fn close(&mut self, mut sample: Sample) -> Sample {
        let mut rows = std::mem::take(&mut self.rows);
        self.by_rank.sum(&self.labels.rank, &mut rows);
        let merged = &rows[..];
        let names = &self.labels;
        // The map of a census the caller is done with, written over: its allocation is reused.
        let mut types = self
            .spare
            .pop()
            .unwrap_or_else(|| crate::timeline::LabelMap::with_capacity(self.labels.names.len()));
        types.assign_sorted(merged.iter().map(|&(rank, bytes)| {
            (
                &names.names[names.by_rank[rank as usize] as usize],
                TypeSample {
                    bytes,
                    ..Default::default()
                },
            )
        }));
        sample.types = types;
        // The buffer is kept for the next sample.
        rows.clear();
        self.rows = rows;
        sample
    }

    /// Takes back a sample [`feed`](Self::feed) returned, once the caller is done with it: its
    /// type map is reused for a later census.
    pub fn recycle(&mut self, sample: Sample) {
        // As many as one feed may return before the caller hands them back, and no more.
        const SPARE: usize = 64;
        if self.spare.len() < SPARE && !sample.types.is_empty() {
            self.spare.push(sample.types);
        }
    }
}

/// Puts a census's rows in their labels' order, the rows of one label summed, without sorting:
/// each row's bytes are added at its label's rank, marked in a bitset that is then walked (a
/// sort of the rows was about 7% of the watch's own time per census).
#[derive(Debug, Default)]
struct RankSums {
    /// Bytes by rank, for the ranks marked in `bits`.
    bytes: Vec<u64>,
    /// The ranks present, all zero between calls.
    bits: Vec<u64>,
}

impl RankSums {
    /// Rewrites `rows` (label id, bytes) as (rank, bytes summed), in rank order; `rank` maps
    /// ids to ranks.
    fn sum(&mut self, rank: &[u32], rows: &mut Vec<(u32, u64)>) {
        if self.bytes.len() < rank.len() {
            self.bytes.resize(rank.len(), 0);
            self.bits.resize(rank.len().div_ceil(64), 0);
        }
        for &(id, bytes) in rows.iter() {
            let r = rank[id as usize] as usize;
            let (word, bit) = (r / 64, 1u64 << (r % 64));
            if self.bits[word] & bit == 0 {
                self.bits[word] |= bit;
                self.bytes[r] = bytes;
            } else {
                self.bytes[r] += bytes;
            }
        }
        rows.clear();
        for (w, word) in self.bits.iter_mut().enumerate() {
            let mut b = std::mem::take(word);
            while b != 0 {
                let r = w * 64 + b.trailing_zeros() as usize;
                rows.push((r as u32, self.bytes[r]));
                b &= b - 1;
            }
        }
    }
}

/// The normalised labels of a profile, each with an id (in order of first sight) and a rank
/// (its place in the labels' sorted order). A profile repeats a few dozen labels in every
/// census: each is normalised once, and a census's rows are sorted by rank.
#[derive(Debug, Default)]
struct Labels {
    /// Each raw label seen, with the id of its normalised form (two spellings of one label,
    /// say two versions of a package, share it). Looked up for every row, by [`EndsHasher`]
    /// (SipHash was about 4% of the live watch's CPU).
    raw: std::collections::HashMap<Box<[u8]>, u32, BuildHasherDefault<EndsHasher>>,
    /// Normalised label by id: the one [`Label`] every census of the profile shares.
    names: Vec<Label>,
    /// Rank by id: derived from `by_rank`, kept for the rows' lookup.
    rank: Vec<u32>,
    /// Id by rank.
    by_rank: Vec<u32>,
}

impl Labels {
    /// The id of `raw`'s normalised label, added if new. Adding one renumbers the ranks:
    /// linear in the labels, and done once per label.
    fn id(&mut self, raw: &[u8]) -> u32 {
        if let Some(&id) = self.raw.get(raw) {
            return id;
        }
        let text = String::from_utf8_lossy(raw);
        let name = ghc::normalise_label(&text);
        let at = self
            .by_rank
            .partition_point(|&id| &*self.names[id as usize] < name.as_ref());
        let id = match self.by_rank.get(at) {
            Some(&id) if &*self.names[id as usize] == name.as_ref() => id,
            _ => {
                let id = self.names.len() as u32;
                self.names.push(Label::from(name.into_owned()));
                self.by_rank.insert(at, id);
                // `rank` is `by_rank` inverted.
                self.rank.resize(self.names.len(), 0);
                for (r, &id) in self.by_rank.iter().enumerate() {
                    self.rank[id as usize] = r as u32;
                }
                id
            }
        };
        self.raw.insert(raw.into(), id);
        id
    }
}

/// A hash of a raw label for [`Labels`]' lookup of every row: its length and its first and last
/// eight bytes, mixed by the eventlog reader's Fx hash. A profile's few dozen labels differ
/// there (`:-` and `:`, the package's hash and the module and constructor's names at the end),
/// and the table compares the whole label on a match anyway; hashing all of it, word by word,
/// was most of the lookup's instructions.
#[derive(Default, Clone, Copy)]
struct EndsHasher(super::eventlog::FxHasher);

impl std::hash::Hasher for EndsHasher {
    fn write(&mut self, bytes: &[u8]) {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let n = bytes.len();
        if n <= 8 {
            self.0.add(word(bytes));
        } else {
            self.0.add(word(&bytes[..8]));
            self.0.add(word(&bytes[n - 8..]));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// `label<TAB>bytes`; older tools wrote spaces, so fall back to the last whitespace.
fn split_row(line: &str) -> Option<(&str, &str)> {
    let (label, value) = line
        .rsplit_once('\t')
        .or_else(|| line.trim_end().rsplit_once(char::is_whitespace))?;
    let value = value.trim();
    (!label.is_empty() && !value.is_empty()).then_some((label, value))
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Seconds as GHC writes them (`0.185047`) in nanoseconds. Plain decimals of up to nine
/// places are read exactly from their digits (two per census, and a float parse was a fiftieth
/// of the live watch's own CPU); anything else (an exponent, more places) through `f64`.
fn seconds_to_ns(s: &str) -> Option<u64> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !whole.is_empty() && whole.len() <= 9 && frac.len() <= 9 && digits(whole) && digits(frac) {
        let value = |t: &str| t.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        return Some(value(whole) * 1_000_000_000 + value(frac) * 10u64.pow(9 - frac.len() as u32));
    }
    let secs: f64 = s.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1e9).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn read(text: &str) -> Result<Timeline, HpError> {
        read_hp(text.as_bytes(), &ReadOptions::default())
    }

    const HEAD: &str = "JOB \"leak 4000\"\nDATE \"Thu Nov 26 12:31 2026\"\nSAMPLE_UNIT \"seconds\"\nVALUE_UNIT \"bytes\"\n";

    #[test]
    fn rows_the_fast_path_leaves_read_as_the_text_path_reads_them() {
        let rows = "A\t16\nB\t 32 \nC D\t0\nE\t18446744073709551615\nTAB\tIN\t8\nBLACKHOLE\t24\n";
        let text = format!("{HEAD}BEGIN_SAMPLE 0.5\n{rows}END_SAMPLE 0.5\n");
        let t = read(&text).unwrap();
        let bytes: BTreeMap<&str, u64> = t.samples[0]
            .types
            .iter()
            .map(|(l, ts)| (l.as_str(), ts.bytes))
            .collect();
        assert_eq!(
            bytes,
            BTreeMap::from([
                ("A", 16),
                ("B", 32),
                ("BLACKHOLE", 24),
                ("C D", 0),
                ("E", u64::MAX),
                ("TAB\tIN", 8)
            ])
        );
        let bad = format!("{HEAD}BEGIN_SAMPLE 0.5\nA\t18446744073709551616\nEND_SAMPLE 0.5\n");
        assert!(read(&bad).is_err());
        let bad = format!("{HEAD}BEGIN_SAMPLE 0.5\n\t5\nEND_SAMPLE 0.5\n");
        assert!(read(&bad).is_err());
    }

    #[test]
    fn sample_times_read_as_the_float_parse_reads_them() {
        let float = |s: &str| {
            let secs: f64 = s.parse().unwrap();
            (secs * 1e9).round() as u64
        };
        for t in [
            "0",
            "0.5",
            "0.185047",
            "12.000001",
            "3.",
            "1.123456789",
            "987654321.25",
        ] {
            assert_eq!(seconds_to_ns(t), Some(float(t)), "{t}");
        }
        // Beyond the exact path: an exponent, ten places, a long whole part.
        assert_eq!(seconds_to_ns("1e-3"), Some(1_000_000));
        assert_eq!(seconds_to_ns("0.1234567891"), Some(123_456_789));
        assert_eq!(
            seconds_to_ns("1234567890.5"),
            Some(1_234_567_890_500_000_000)
        );
        for bad in ["", "-1", "x", "1.2.3", "NaN", "inf"] {
            assert_eq!(seconds_to_ns(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_samples_and_drops_the_bracketing_empty_ones() {
        let text = format!(
            "{HEAD}BEGIN_SAMPLE 0.000000\nEND_SAMPLE 0.000000\nBEGIN_SAMPLE 0.5\nTHUNK_1_0\t48\n\
             clash-prelude-1.6.4-LGazv5LCaVL5CedqwbVEjM:Clash.Signal.Internal.:-\t72\nEND_SAMPLE 0.5\n\
             MARK 0.7\nBEGIN_SAMPLE 1.0\nTHUNK_1_0\t24\nEND_SAMPLE 1.0\nBEGIN_SAMPLE 1.1\nEND_SAMPLE 1.1\n"
        );
        let t = read(&text).unwrap();
        assert_eq!(t.samples.len(), 2);
        assert_eq!(t.samples[0].x, 0);
        assert_eq!(t.samples[0].live_bytes, 120);
        assert_eq!(t.samples[0].time_ns, Some(500_000_000));
        let signal = &t.samples[0].types["clash-prelude:Clash.Signal.Internal.:-"];
        assert_eq!(
            (signal.bytes, signal.count, signal.count_estimated),
            (72, 3, false)
        );
        assert_eq!(t.samples[1].types["THUNK_1_0"].count, 1);
        assert_eq!(
            t.marks,
            vec![Mark {
                x: 1,
                label: "mark 0".into()
            }]
        );
        assert_eq!(t.facts["program"], "leak 4000");
        assert!(!t.truncated);
    }

    #[test]
    fn a_cut_profile_keeps_whole_samples() {
        let text = format!(
            "{HEAD}BEGIN_SAMPLE 0.5\nTHUNK_1_0\t48\nEND_SAMPLE 0.5\nBEGIN_SAMPLE 1.0\nTHUNK_1_0\t2"
        );
        let t = read(&text).unwrap();
        assert!(t.truncated);
        assert_eq!(t.samples.len(), 1);
        let text = format!("{HEAD}BEGIN_SAMPLE 0.5\nTHUNK_1_0\t48\nEND_SAMPLE 0.5\nBEGIN_SAMPLE 1.0\nTHUNK_1_0\t24\n");
        let t = read(&text).unwrap();
        assert!(t.truncated);
        assert_eq!(t.samples.len(), 1);
    }

    #[test]
    fn a_follower_yields_each_sample_once_it_is_whole() {
        let text = format!(
            "{HEAD}BEGIN_SAMPLE 0.000000\nEND_SAMPLE 0.000000\nBEGIN_SAMPLE 0.5\nTHUNK_1_0\t48\nEND_SAMPLE 0.5\nBEGIN_SAMPLE 1.0\nTHUNK_1_0\t24\nEND_SAMPLE 1.0\n"
        );
        let whole = read(&text).unwrap();
        let mut f = HpFollower::new();
        let mut got = Vec::new();
        // Byte by byte: every cut, including inside a row, is a partial last line.
        for b in text.as_bytes() {
            got.extend(f.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(
            got.len(),
            3,
            "the bracketing empty sample is the caller's to drop"
        );
        assert!(got[0].1.types.is_empty());
        assert_eq!(got[1].1.live_bytes, whole.samples[0].live_bytes);
        assert_eq!(got[2].1.types["THUNK_1_0"].bytes, 24);
        assert_eq!(got[2].0, text.len() as u64);
        assert_eq!(f.offset(), text.len() as u64);
    }

    fn bytes_by_label(s: &Sample) -> BTreeMap<String, u64> {
        s.types
            .iter()
            .map(|(l, t)| (l.to_string(), t.bytes))
            .collect()
    }

    /// Labels first seen in later censuses sort before, between and after the earlier ones,
    /// and two spellings of one label (two builds of a package) share its row: every census's
    /// map is the sum by normalised label, whatever order the rows come in.
    #[test]
    fn censuses_sum_rows_by_normalised_label_whatever_their_order() {
        let censuses: [&[(&str, u64)]; 4] = [
            &[("m", 8), ("c", 16)],
            &[("z", 24), ("a", 8), ("m", 16), ("c", 8)],
            &[
                ("p-1.0-abc:X.y", 32),
                ("b", 8),
                ("p-1.1-def:X.y", 16),
                ("z", 8),
                ("a", 8),
            ],
            &[
                ("n", 8),
                ("p-1.1-def:X.y", 8),
                ("b", 40),
                ("m", 8),
                ("m", 24),
            ],
        ];
        let mut text = HEAD.to_owned();
        for (i, rows) in censuses.iter().enumerate() {
            text += &format!("BEGIN_SAMPLE {i}.5\n");
            for (label, bytes) in *rows {
                text += &format!("{label}\t{bytes}\n");
            }
            text += &format!("END_SAMPLE {i}.5\n");
        }
        let t = read(&text).unwrap();
        assert_eq!(t.samples.len(), censuses.len());
        for (sample, rows) in t.samples.iter().zip(censuses) {
            let mut expected = BTreeMap::<String, u64>::new();
            for (label, bytes) in rows {
                *expected
                    .entry(ghc::normalise_label(label).into_owned())
                    .or_default() += bytes;
            }
            assert_eq!(bytes_by_label(sample), expected, "census {}", sample.x);
        }
        assert_eq!(t.samples[2].types["p:X.y"].bytes, 48);

        // Handed back census by census, each map is updated into the next census: labels come
        // and go (the third and fourth have labels of their own, the fifth the second's, the
        // sixth the same in another order), and the censuses read the same.
        let mut again = text.clone();
        again += "BEGIN_SAMPLE 9.5\n";
        for (label, bytes) in censuses[1] {
            again += &format!("{label}\t{bytes}\n");
        }
        again += "END_SAMPLE 9.5\n";
        again += "BEGIN_SAMPLE 10.5\n";
        for (label, bytes) in censuses[1].iter().rev() {
            again += &format!("{label}\t{}\n", bytes + 1);
        }
        again += "END_SAMPLE 10.5\n";
        let whole = read(&again).unwrap();
        let mut f = HpFollower::new();
        let mut got = Vec::new();
        for line in again.split_inclusive('\n') {
            for (_, s) in f.feed(line.as_bytes()).unwrap() {
                got.push(bytes_by_label(&s));
                f.recycle(s);
            }
        }
        let want: Vec<_> = whole.samples.iter().map(bytes_by_label).collect();
        assert_eq!(got, want);
    }

    /// A label that is not UTF-8 (a corrupted or hand-edited file) is read, not refused,
    /// with the invalid bytes replaced.
    #[test]
    fn a_label_that_is_not_utf8_is_read_with_replacement() {
        let mut bytes = format!("{HEAD}BEGIN_SAMPLE 0.5\n").into_bytes();
        bytes.extend_from_slice(b"Main.T\xff\t48\nEND_SAMPLE 0.5\n");
        let t = read_hp(bytes.as_slice(), &ReadOptions::default()).unwrap();
        assert_eq!(t.samples[0].types["Main.T\u{FFFD}"].bytes, 48);
    }

    /// Rows are read from their bytes; whatever is not plainly `<label>\t<digits>` is read
    /// as text, as before: the two readings agree on every odd row.
    #[test]
    fn odd_rows_read_as_plain_ones_would() {
        let census = |rows: &str| read(&format!("{HEAD}BEGIN_SAMPLE 0.5\n{rows}END_SAMPLE 0.5\n"));
        let bytes = |rows: &str| bytes_by_label(&census(rows).unwrap().samples[0]);
        // Older tools separated with spaces; CRLF line ends; spaces around the count; a
        // label with spaces; a label that is not UTF-8 is read lossily, as a text line is.
        assert_eq!(bytes("THUNK 48\r\n"), bytes("THUNK\t48\n"));
        assert_eq!(bytes("THUNK\t 48 \n"), bytes("THUNK\t48\n"));
        assert_eq!(bytes("a b\t8\n")["a b"], 8);
        let lossy = read_hp(
            &b"JOB \"x\"\nBEGIN_SAMPLE 0.5\nT\xff\t8\nEND_SAMPLE 0.5\n"[..],
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(bytes_by_label(&lossy.samples[0])["T\u{fffd}"], 8);
        // Keywords inside a sample, empty labels and counts past u64 are errors with lines.
        let err = |rows: &str| census(rows).unwrap_err().to_string();
        assert_eq!(err("\t8\n"), "line 6: expected `<label>\\t<bytes>` inside a sample (hint: is the file cut or edited?)");
        assert_eq!(
            err("T\t99999999999999999999\n"),
            "line 6: bad byte count \"99999999999999999999\""
        );
        assert_eq!(err("T\t-8\n"), "line 6: bad byte count \"-8\"");
    }

    #[test]
    fn errors_name_the_line() {
        let err = |text: String| read(&text).unwrap_err().to_string();
        assert_eq!(
            err(format!(
                "{HEAD}BEGIN_SAMPLE 0.5\nTHUNK_1_0\tlots\nEND_SAMPLE 0.5\n"
            )),
            "line 6: bad byte count \"lots\""
        );
        assert_eq!(
            err(format!("{HEAD}END_SAMPLE 0.5\n")),
            "line 5: END_SAMPLE without BEGIN_SAMPLE"
        );
        assert_eq!(
            err(format!("{HEAD}BEGIN_SAMPLE 0.5\nBEGIN_SAMPLE 0.6\n")),
            "line 6: BEGIN_SAMPLE inside the sample begun at line 5"
        );
        assert!(err("hello\n".into()).starts_with("line 1: expected `JOB"));
        assert_eq!(err(String::new()), "line 1: empty profile: no `JOB` line");
    }
}
