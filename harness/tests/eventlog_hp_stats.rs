//! The three GHC profile sources of one run agree: the `.hp` file gives the eventlog's censuses,
//! the `+RTS -t --machine-readable` statistics merge into them, and `read_profile` tells the
//! three apart by content.

use membound::source::ghc::rts_stats::{read_rts_stats, RtsStats};
use membound::source::ghc::{read_profile, ProfileError, ReadOptions};
use membound::Timeline;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn clash() -> Option<PathBuf> {
    // Real profiler output, committed with the tests (see tests/data/fixtures/README.md): a
    // missing directory is a failure, never a skip.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures");
    let dir = dir.join("clash");
    if dir.is_dir() {
        Some(dir)
    } else {
        panic!("fixtures not found at {}", dir.display())
    }
}

fn read(path: &Path) -> Timeline {
    read_profile(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn bytes_per_census(t: &Timeline) -> Vec<BTreeMap<String, u64>> {
    t.samples
        .iter()
        .map(|s| {
            s.types
                .iter()
                .map(|(l, ty)| (l.to_string(), ty.bytes))
                .collect()
        })
        .collect()
}

fn check_same_run(eventlog: &Path, hp: &Path) {
    let from_log = read(eventlog);
    let from_hp = read(hp);
    assert_eq!(from_log.source, "ghc-eventlog");
    assert_eq!(from_hp.source, "ghc-hp");
    assert!(!from_hp.truncated);
    assert_eq!(
        bytes_per_census(&from_hp),
        bytes_per_census(&from_log),
        "{}",
        hp.display()
    );
    // Same bytes, same closure sizes: the same counts.
    for (a, b) in from_hp.samples.iter().zip(&from_log.samples) {
        assert_eq!(a.types, b.types);
        assert_eq!(a.live_bytes, b.live_bytes);
    }
}

#[test]
fn clash_hp_and_eventlog_of_one_run_give_the_same_censuses() {
    let Some(dir) = clash() else { return };
    check_same_run(
        &dir.join("toy-wishbone-ghc-9.0.2-hT-i0.eventlog"),
        &dir.join("toy-wishbone-ghc-9.0.2-hT-i0.hp"),
    );
    let hp = read(&dir.join("toy-wishbone-ghc-9.0.2-hT-i0.hp"));
    assert_eq!(hp.samples.len(), 153);
    assert_eq!(hp.facts["program"], "leak");
    // Without -i0 the run was too short for a census: only the RTS's bracketing empty samples.
    let hp = read(&dir.join("toy-wishbone-ghc-9.0.2-hT.hp"));
    assert!(hp.samples.is_empty());
}

#[test]
fn churn_hp_and_eventlog_of_one_run_give_the_same_censuses() {
    check_same_run(&data("churn-hT-i0.eventlog"), &data("churn-hT-i0.hp"));
}

#[test]
fn machine_readable_stats_merge_into_the_timeline() {
    let Some(dir) = clash() else { return };
    let path = dir.join("toy-wishbone-ghc-9.0.2-machine-readable.stats");
    let stats: RtsStats = read_rts_stats(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(stats.values.len(), 46);
    assert_eq!(stats.get_u64("max_bytes_used"), Some(69696));
    assert_eq!(stats.get("GC_cpu_seconds"), Some("0.008530"));
    assert!(stats
        .command_line
        .as_deref()
        .unwrap()
        .starts_with("'./leak' '4000' +RTS"));

    let only = read(&path);
    assert_eq!(only.source, "ghc-rts-stats");
    assert!(only.samples.is_empty());
    assert_eq!(only.totals["ghc.bytes_allocated"], 39_599_160);
    assert_eq!(only.totals["ghc.peak_megabytes_allocated"], 1);

    let mut t = read(&dir.join("toy-wishbone-ghc-9.0.2-hT-i0.eventlog"));
    // The eventlog's own last heap-allocated figure is the statistics' total.
    assert_eq!(
        t.totals["ghc.bytes_allocated"],
        stats.get_u64("bytes allocated").unwrap()
    );
    // Its largest heap-live figure is the statistics' max_bytes_used (every GC is major at -i0).
    assert_eq!(
        t.totals["ghc.heap_live.max"],
        stats.get_u64("max_bytes_used").unwrap()
    );
    stats.merge_into(&mut t);
    assert_eq!(t.totals["ghc.max_bytes_used"], 69696);
    assert_eq!(t.facts["ghc.mut_cpu_seconds"], "0.008304");
    assert_eq!(
        t.facts["program"], "./leak 4000 +RTS -hT -l -i0 -A256k -RTS",
        "the eventlog's program stays"
    );
    assert_eq!(t.samples.len(), 153);
}

#[test]
fn read_profile_errors_name_the_file() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "hello, world").unwrap();
    let err = read_profile(f.path(), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ProfileError::UnknownFormat { .. }));
    assert!(
        err.to_string().contains("not a GHC profile (hint:"),
        "{err}"
    );

    let err = read_profile(
        Path::new("/nonexistent/x.eventlog"),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ProfileError::Io { .. }), "{err}");

    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(
        f,
        "JOB \"x\"\nBEGIN_SAMPLE 0.1\nTHUNK\tmany\nEND_SAMPLE 0.1\n"
    )
    .unwrap();
    let err = read_profile(f.path(), &ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: line 3: bad byte count \"many\"", f.path().display())
    );

    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"hdrbhetbetb\0").unwrap();
    let err = read_profile(f.path(), &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "eventlog header cut off at byte 12 (hint: the program died before its first flush)"
        ),
        "{err}"
    );
}

#[test]
fn declared_closure_sizes_make_counts_exact() {
    let mut opts = ReadOptions::default();
    opts.closure_sizes.insert("main:Main.Reg".into(), 32); // Reg !Int Int (Maybe Int): header + 3
    let t = read_profile(&data("churn-hT-i0.eventlog"), &opts).unwrap();
    let regs: Vec<_> = t
        .samples
        .iter()
        .filter_map(|s| s.types.get("main:Main.Reg"))
        .collect();
    assert!(regs.len() > 20);
    assert!(regs
        .iter()
        .all(|r| r.count * 32 == r.bytes && !r.count_estimated));
    assert_eq!(regs.last().unwrap().count, 385);
    let t = read(&data("churn-hT-i0.eventlog"));
    assert!(t
        .samples
        .iter()
        .filter_map(|s| s.types.get("main:Main.Reg"))
        .all(|r| r.count_estimated));
}

/// The pass that skips census rows (used after a live-watched run, whose censuses came from the
/// `.hp`) gives everything else a whole read gives: facts, totals, notes, markers, the census
/// count. The live watch's `.hp` censuses replace only the samples.
#[test]
fn the_eventlog_pass_without_rows_gives_all_but_the_samples() {
    let mut checked = 0;
    let dirs = ["fixtures/ghc-events", "fixtures/clash", "."];
    for dir in dirs {
        for entry in std::fs::read_dir(data(dir)).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "eventlog") {
                continue;
            }
            let open = || std::fs::File::open(&path).expect("open");
            let Ok(whole) =
                membound::source::ghc::eventlog::read_eventlog(open(), &ReadOptions::default())
            else {
                continue;
            };
            let (meta, censuses) =
                membound::source::ghc::eventlog::read_eventlog_meta(open()).expect("meta");
            let f = path.display();
            assert_eq!(censuses, whole.samples.len() as u64, "{f}");
            assert_eq!(meta.facts, whole.facts, "{f}");
            assert_eq!(meta.totals, whole.totals, "{f}");
            assert_eq!(meta.marks, whole.marks, "{f}");
            assert_eq!(meta.truncated, whole.truncated, "{f}");
            // The whole read adds only its notes on counting.
            assert!(whole.notes.starts_with(&meta.notes), "{f}");
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} fixtures");
}
