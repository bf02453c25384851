//! The streamed paths of `membound profile` against the whole-file reader, on every eventlog
//! fixture, on cuts and corruptions of them, and with declared closure sizes: the summary by
//! label id (`summarise_eventlog`) is `summarise` of `read_eventlog`'s timeline, and the counted
//! censuses (`EventlogStream::counted`, what `--json` writes) are its samples. Where the whole
//! read fails, the streamed one fails with the same error. (`tests/cli.rs` holds the CLI's
//! output to the same references on the intact fixtures.)

mod common;

use membound::report::summary::{summarise, summarise_eventlog};
use membound::source::ghc::eventlog::{
    read_eventlog, CountedCensus, EventlogError, EventlogStream, LabelNames,
};
use membound::source::ghc::{known_closure_size, ReadOptions};
use membound::timeline::{Sample, Timeline, TypeSample};
use std::path::PathBuf;

fn logs() -> Vec<PathBuf> {
    common::eventlog_fixtures()
}

/// The sample a counted census stands for.
fn sample_of(c: &CountedCensus, names: LabelNames<'_>) -> Sample {
    Sample {
        x: c.x,
        live_bytes: c.live_bytes,
        time_ns: Some(c.time_ns),
        bytes_allocated: c.bytes_allocated,
        types: c
            .rows
            .iter()
            .map(|r| {
                (
                    names.name(r.label).into(),
                    TypeSample {
                        count: r.count,
                        bytes: r.bytes,
                        count_estimated: r.count_estimated,
                        ..TypeSample::default()
                    },
                )
            })
            .collect(),
        ..Sample::default()
    }
}

/// What `--json` streams: the first pass's metadata, the second pass's counted censuses.
fn counted(bytes: &[u8], opts: &ReadOptions) -> Result<Timeline, EventlogError> {
    let mut stream = EventlogStream::scan(bytes, opts)?;
    let mut samples = Vec::new();
    let mut order_ok = true;
    stream.counted(bytes, |c, names| {
        order_ok &= c
            .rows
            .windows(2)
            .all(|w| names.name(w[0].label) < names.name(w[1].label));
        samples.push(sample_of(c, names));
        true
    })?;
    assert!(order_ok, "rows come in the order of their labels' names");
    let mut t = stream.finish();
    t.samples = samples;
    Ok(t)
}

fn check(bytes: &[u8], opts: &ReadOptions, what: &str) {
    let whole = read_eventlog(bytes, opts);
    let summary = summarise_eventlog(bytes, bytes, opts);
    match (&whole, &summary) {
        (Ok(t), Ok(s)) => {
            let want = summarise(t);
            assert!(
                *s == want,
                "{what}: the streamed summary differs:\n{}",
                similar::TextDiff::from_lines(want.as_str(), s.as_str())
                    .unified_diff()
                    .header("whole timeline", "streamed")
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
        (a, b) => panic!(
            "{what}: the whole read gives {:?}, the streamed summary {:?}",
            a.as_ref().map(|_| ()),
            b.as_ref().map(|_| ())
        ),
    }
    match (&whole, counted(bytes, opts)) {
        (Ok(a), Ok(b)) => assert!(*a == b, "{what}: the counted censuses differ"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
        (a, b) => panic!(
            "{what}: the whole read gives {:?}, the counted stream {:?}",
            a.as_ref().map(|_| ()),
            b.as_ref().map(|_| ())
        ),
    }
}

/// Declared sizes that exercise every branch of counting: one that does not divide, a zero,
/// one that divides, and one that overrides the built-in table.
fn declared(t: &Timeline) -> ReadOptions {
    let mut labels: Vec<&membound::timeline::Label> =
        t.samples.iter().flat_map(|s| s.types.keys()).collect();
    labels.sort();
    labels.dedup();
    let mut opts = ReadOptions::default();
    for (label, size) in labels.iter().zip([7, 0, 8]) {
        opts.closure_sizes.insert(label.to_string(), size);
    }
    if let Some(known) = labels
        .iter()
        .find(|l| known_closure_size(l).is_some() && !opts.closure_sizes.contains_key(l.as_str()))
    {
        opts.closure_sizes.insert(known.to_string(), 12);
    }
    opts
}

#[test]
fn streamed_summaries_and_counts_are_the_whole_readers() {
    let mut with_censuses = 0;
    for log in logs() {
        let bytes = std::fs::read(&log).expect("read");
        let name = log
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut options = vec![ReadOptions::default()];
        if let Ok(t) = read_eventlog(&bytes[..], &ReadOptions::default()) {
            if !t.samples.is_empty() {
                with_censuses += 1;
                options.push(declared(&t));
            }
        }
        // Cuts anywhere (a killed program), and bytes flipped after the header (corruption).
        let step = (bytes.len() / 40).max(1);
        let mut variants: Vec<(String, Vec<u8>)> = vec![("whole".into(), bytes.clone())];
        for cut in (0..bytes.len())
            .step_by(step)
            .chain(bytes.len().saturating_sub(3)..bytes.len())
        {
            variants.push((format!("cut at {cut}"), bytes[..cut].to_vec()));
        }
        for at in (bytes.len() / 10..bytes.len()).step_by(step.max(7) + 3) {
            let mut b = bytes.clone();
            b[at] ^= 0xff;
            variants.push((format!("byte {at} flipped"), b));
        }
        for opts in &options {
            for (what, b) in &variants {
                check(
                    b,
                    opts,
                    &format!("{name}, {what}, {:?}", opts.closure_sizes),
                );
            }
        }
    }
    assert!(with_censuses > 5, "fixtures with heap censuses");
}
