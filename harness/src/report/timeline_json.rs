//! A GHC eventlog's `Timeline` as the pretty JSON `serde_json` gives for a whole one
//! (`membound profile --json`), written census by census in two streaming passes, so that
//! memory does not grow with the log.
//!
//! The first pass reads the rows (`EventlogStream::scan`), since every label's closure size is
//! needed before its first census; the second writes each census straight from label ids
//! (`TimelineJson`). Like `summary`, a renderer that reads an eventlog by label id: it is
//! the one other place downstream of the sources that knows a GHC profile, for speed.
//! `tests/cli.rs` holds the output to `serde_json::to_string_pretty` of the whole timeline.

use crate::source::ghc::eventlog::{CountedCensus, EventlogError, EventlogStream};
use crate::source::ghc::ReadOptions;
use crate::Timeline;
use std::io::{Read, Write};

/// Why an eventlog could not be written as JSON.
#[derive(Debug, thiserror::Error)]
pub enum TimelineJsonError {
    /// The eventlog could not be read (the error carries its byte offset).
    #[error(transparent)]
    Eventlog(#[from] EventlogError),
    /// The output could not be written.
    #[error(transparent)]
    Write(#[from] std::io::Error),
    /// A timeline could not be serialised.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The JSON is not laid out as this writer expects: a bug of membound, not of the input.
    #[error("{0}")]
    Layout(&'static str),
}

const SAMPLES_ON_ONE_LINE: &str = "the timeline's JSON has its samples on one line";

/// Writes the eventlog that `first` and `second` both read from its start as the pretty JSON
/// of its whole timeline, followed by a newline.
///
/// The second pass reads and counts on a thread of its own while this one writes: the two
/// take about as long, so on two cores this costs little more than the reading. Batches go
/// through a bounded channel and come back to be reused: memory is a few batches, whatever the
/// log's size.
pub fn write_eventlog_json<R: Read, S: Read + Send, W: Write>(
    first: R,
    second: S,
    opts: &ReadOptions,
    out: W,
) -> Result<(), TimelineJsonError> {
    let stream = EventlogStream::scan(first, opts)?;
    let mut json = TimelineJson::begin(out, stream.meta())?;
    let (full, ready) = std::sync::mpsc::sync_channel::<CensusBatch>(4);
    let (spare, spares) = std::sync::mpsc::channel::<CensusBatch>();
    let (read, stream, written) = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut stream = stream;
            let mut batch = CensusBatch::default();
            let mut named = 0;
            let read = stream.counted(second, |c, names| {
                // A census's labels are named before it, in id order.
                while let Some(name) = names.get(named) {
                    batch.names.push(name.to_owned());
                    named += 1;
                }
                batch.push(c);
                if batch.len < CensusBatch::CENSUSES {
                    return true;
                }
                let next = spares.try_recv().unwrap_or_default();
                // A writer that stopped (it failed) stops the reading.
                full.send(std::mem::replace(&mut batch, next)).is_ok()
            });
            if batch.len > 0 {
                let _ = full.send(batch);
            }
            (read, stream)
        });
        let mut written = Ok(());
        for mut batch in ready {
            written = json.batch(&batch);
            if written.is_err() {
                break;
            }
            batch.clear();
            let _ = spare.send(batch);
        }
        let (read, stream) = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (read, stream, written)
    });
    read?;
    written?;
    json.end(&stream.finish())
}

/// A `Timeline` written as the pretty JSON `serde_json` gives for a whole one, census by
/// census: the fields before `samples` from the first pass, those after it at the end, and
/// each census written straight from its label ids in `serde_json`'s layout (each label's key
/// escaped by `serde_json` once), since formatting a `Sample` per census was most of the time.
/// `tests/cli.rs` holds the output to `serde_json::to_string_pretty` of the whole timeline.
struct TimelineJson<W: std::io::Write> {
    out: W,
    /// Text not yet written: handed to `out` in large pieces that end with a newline (stdout is
    /// line-buffered, and finds a piece's last newline at once).
    buf: Vec<u8>,
    first: bool,
    /// Per label index, once the label is seen.
    labels: Vec<Option<JsonLabel>>,
    /// Every label's name, by index, as the batches bring them.
    names: Vec<String>,
}

/// Censuses read by the second pass of `profile --json`, on their way to `TimelineJson`.
#[derive(Default)]
struct CensusBatch {
    /// The first `len` are this batch's; the rest are buffers kept for reuse.
    censuses: Vec<CountedCensus>,
    len: usize,
    /// The label names that the reader's table gained since the last batch, in id order.
    names: Vec<String>,
}

impl CensusBatch {
    /// Censuses per batch: enough that a channel operation is rare, few enough to stay small.
    const CENSUSES: usize = 256;

    fn push(&mut self, c: &CountedCensus) {
        if self.len == self.censuses.len() {
            self.censuses.push(Default::default());
        }
        // Field by field, so that the rows reuse their buffer.
        let d = &mut self.censuses[self.len];
        d.x = c.x;
        d.time_ns = c.time_ns;
        d.bytes_allocated = c.bytes_allocated;
        d.live_bytes = c.live_bytes;
        d.rows.clear();
        d.rows.extend_from_slice(&c.rows);
        self.len += 1;
    }

    fn clear(&mut self) {
        self.len = 0;
        self.names.clear();
    }
}

/// A label's text in `TimelineJson`.
struct JsonLabel {
    /// `\n        "label": {\n          "count": `, escaped by `serde_json`.
    key: Box<[u8]>,
    /// The label's last row (bytes, count, estimated) and its whole text: rows repeat from
    /// census to census, and most are then one copy.
    last: Option<(u64, u64, bool)>,
    text: Vec<u8>,
}

/// How much text `TimelineJson` gathers before writing it.
const JSON_CHUNK: usize = 1 << 20;

impl<W: std::io::Write> TimelineJson<W> {
    /// The fields before `samples`, cut from the JSON of the timeline without samples.
    fn begin(mut out: W, meta: &Timeline) -> Result<Self, TimelineJsonError> {
        let whole = serde_json::to_string_pretty(meta)?;
        let (head, _) = whole
            .split_once("\n  \"samples\": []")
            .ok_or(TimelineJsonError::Layout(SAMPLES_ON_ONE_LINE))?;
        write!(out, "{head}\n  \"samples\": [")?;
        Ok(TimelineJson {
            out,
            buf: Vec::with_capacity(JSON_CHUNK + (1 << 16)),
            first: true,
            labels: Vec::new(),
            names: Vec::new(),
        })
    }

    /// A batch's censuses, its new label names first.
    fn batch(&mut self, batch: &CensusBatch) -> Result<(), TimelineJsonError> {
        self.names.extend(batch.names.iter().cloned());
        for c in &batch.censuses[..batch.len] {
            self.census(c)?;
        }
        Ok(())
    }

    /// One census, as `serde_json::to_string_pretty` of its `Sample` indented into the array.
    fn census(&mut self, c: &CountedCensus) -> Result<(), TimelineJsonError> {
        let b = &mut self.buf;
        b.extend_from_slice(if self.first { b"\n    {" } else { b",\n    {" });
        self.first = false;
        b.extend_from_slice(b"\n      \"x\": ");
        push_u64(b, c.x);
        b.extend_from_slice(b",\n      \"live_bytes\": ");
        push_u64(b, c.live_bytes);
        if let Some(a) = c.bytes_allocated {
            b.extend_from_slice(b",\n      \"bytes_allocated\": ");
            push_u64(b, a);
        }
        b.extend_from_slice(b",\n      \"time_ns\": ");
        push_u64(b, c.time_ns);
        if !c.rows.is_empty() {
            b.extend_from_slice(b",\n      \"types\": {");
            for (i, row) in c.rows.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                let at = row.label.index();
                if self.labels.len() <= at {
                    self.labels.resize_with(at + 1, || None);
                }
                let l = match &mut self.labels[at] {
                    Some(l) => l,
                    slot => {
                        let name = self.names.get(at).ok_or(TimelineJsonError::Layout(
                            "a census's label came without its name",
                        ))?;
                        let name = serde_json::to_string(name)?;
                        let key = format!("\n        {name}: {{\n          \"count\": ");
                        slot.insert(JsonLabel {
                            key: key.into_bytes().into_boxed_slice(),
                            last: None,
                            text: Vec::new(),
                        })
                    }
                };
                let this = (row.bytes, row.count, row.count_estimated);
                if l.last != Some(this) {
                    let t = &mut l.text;
                    t.clear();
                    t.extend_from_slice(&l.key);
                    push_u64(t, row.count);
                    t.extend_from_slice(b",\n          \"bytes\": ");
                    push_u64(t, row.bytes);
                    if row.count_estimated {
                        t.extend_from_slice(b",\n          \"count_estimated\": true");
                    }
                    t.extend_from_slice(b"\n        }");
                    l.last = Some(this);
                }
                b.extend_from_slice(&l.text);
            }
            b.extend_from_slice(b"\n      }");
        }
        b.extend_from_slice(b"\n    }");
        if b.len() >= JSON_CHUNK {
            // A census ends a few bytes after its last newline.
            let cut = b
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(b.len(), |i| i + 1);
            self.out.write_all(&b[..cut])?;
            b.drain(..cut);
        }
        Ok(())
    }

    /// The fields after `samples`: the pretty JSON of the timeline without samples, from just
    /// after its empty `samples` (so field order and skipped fields are serde's own).
    fn end(mut self, meta: &Timeline) -> Result<(), TimelineJsonError> {
        self.out.write_all(&self.buf)?;
        write!(self.out, "{}]", if self.first { "" } else { "\n  " })?;
        let whole = serde_json::to_string_pretty(meta)?;
        let (_, rest) = whole
            .split_once("\n  \"samples\": []")
            .ok_or(TimelineJsonError::Layout(SAMPLES_ON_ONE_LINE))?;
        writeln!(self.out, "{rest}")?;
        self.out.flush()?;
        Ok(())
    }
}

/// Two decimal digits per pair, for `push_u64`.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends `n` in decimal, as `serde_json` (`itoa`) writes an integer.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut text = [0u8; 20];
    let mut at = text.len();
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        at -= 2;
        text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    } else {
        at -= 1;
        text[at] = b'0' + n as u8;
    }
    out.extend_from_slice(&text[at..]);
}

#[cfg(test)]
mod tests {
    use super::push_u64;

    #[test]
    fn integers_print_as_serde_json_prints_them() {
        let mut edges = vec![0, u64::MAX, u64::MAX - 1];
        for p in 0..20 {
            let t = 10u64.pow(p);
            edges.extend([t, t - 1, t + 1, t.wrapping_mul(7) / 3]);
        }
        for n in edges {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, serde_json::to_string(&n).unwrap().into_bytes(), "{n}");
        }
    }
}
