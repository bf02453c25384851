//! Every eventlog fixture reads to the same heap censuses and markers as `ghc-events show` says
//! (its text, stored as `<log>.reference`; for logs without one in the shared fixtures, a
//! filtered copy in `tests/data/`).
//!
//! The shared fixtures are committed under `tests/data/fixtures/`.

use membound::source::ghc::eventlog::{read_eventlog, EventlogReader, Record};
use membound::source::ghc::{normalise_label, ReadOptions};
use membound::Timeline;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

fn fixtures() -> Option<PathBuf> {
    // Real profiler output, committed with the tests (see tests/data/fixtures/README.md): a
    // missing directory is a failure, never a skip.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        panic!("fixtures not found at {}", dir.display())
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// What `ghc-events show` says about heap profiling, parsed from its text.
#[derive(Debug, Default)]
struct Reference {
    censuses: Vec<BTreeMap<String, u64>>,
    markers: Vec<(u64, String)>,
    rts_ident: Option<String>,
    breakdown: Option<String>,
    info_tables: u64,
}

fn parse_reference(text: &str) -> Reference {
    let mut r = Reference::default();
    let mut cost_centres: HashMap<u32, String> = HashMap::new();
    for line in text.lines() {
        // `<time>: [cap <n>: ]<event text>`
        let Some((time, rest)) = line.split_once(": ") else {
            continue;
        };
        if time.parse::<u64>().is_err() {
            continue;
        }
        let rest = match rest.strip_prefix("cap ").and_then(|r| r.split_once(": ")) {
            Some((cap, ev)) if cap.parse::<u32>().is_ok() => ev,
            _ => rest,
        };
        if rest.starts_with("start heap prof sample ") {
            r.censuses.push(BTreeMap::new());
        } else if let Some(row) = rest.strip_prefix("heap prof sample ") {
            let (_, row) = row.split_once(", residency ").expect(line);
            let (residency, what) = row.split_once(", ").expect(line);
            let residency: u64 = residency.parse().expect(line);
            let label = if let Some(label) = what.strip_prefix("label ") {
                normalise_label(label).into_owned()
            } else {
                let stack = what.strip_prefix("cost centre stack").expect(line).trim();
                let names: Vec<String> = stack
                    .split(", ")
                    .filter(|s| !s.is_empty())
                    .map(|id| cost_centres[&id.trim().parse::<u32>().expect(line)].clone())
                    .collect();
                if names.is_empty() {
                    "MAIN".to_owned()
                } else {
                    names.join("/")
                }
            };
            *r.censuses
                .last_mut()
                .expect("row before any census")
                .entry(label)
                .or_insert(0) += residency;
        } else if let Some(m) = rest.strip_prefix("marker: ") {
            r.markers.push((r.censuses.len() as u64, m.to_owned()));
        } else if let Some(v) = rest.strip_prefix("capset 0: RTS version ") {
            r.rts_ident = Some(v.trim_matches('"').to_owned());
        } else if let Some(b) = rest.split_once(" broken down by ") {
            r.breakdown = Some(b.1.to_owned());
        } else if let Some(cc) = rest.strip_prefix("cost centre ") {
            let (id, cc) = cc.split_once(' ').expect(line);
            let (label, cc) = cc.split_once(" in ").expect(line);
            let (module, _) = cc.split_once(" at ").expect(line);
            let name = if label == "CAF" {
                format!("{module}.CAF")
            } else {
                label.to_owned()
            };
            cost_centres.insert(id.parse().expect(line), name);
        } else if rest.starts_with("Info Table: ") {
            r.info_tables += 1;
        }
    }
    r
}

fn read(path: &Path) -> Timeline {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_eventlog(BufReader::new(file), &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks one eventlog against one reference text.
fn check(log: &Path, reference: &Path) {
    let name = log.display();
    let want = parse_reference(&std::fs::read_to_string(reference).unwrap());
    let got = read(log);
    assert!(!got.truncated, "{name}: truncated, notes {:?}", got.notes);
    assert_eq!(
        got.samples.len(),
        want.censuses.len(),
        "{name}: census count"
    );
    for (i, (s, w)) in got.samples.iter().zip(&want.censuses).enumerate() {
        let bytes: BTreeMap<String, u64> = s
            .types
            .iter()
            .map(|(l, t)| (l.to_string(), t.bytes))
            .collect();
        assert_eq!(&bytes, w, "{name}: census {i}");
        assert_eq!(s.x, i as u64);
        assert_eq!(
            s.live_bytes,
            w.values().sum::<u64>(),
            "{name}: census {i} live bytes"
        );
    }
    let marks: Vec<(u64, String)> = got.marks.iter().map(|m| (m.x, m.label.clone())).collect();
    assert_eq!(marks, want.markers, "{name}: markers");
    assert_eq!(
        got.facts.get("rts_ident"),
        want.rts_ident.as_ref(),
        "{name}: rts_ident"
    );
    assert_eq!(
        got.facts.get("heap_profile_breakdown"),
        want.breakdown.as_ref(),
        "{name}: breakdown"
    );
    // The built-in closure sizes agree with real censuses: they divide every byte total.
    assert!(
        !got.notes.iter().any(|n| n.contains("does not divide")),
        "{name}: {:?}",
        got.notes
    );

    // The streaming reader agrees with the collecting one, and sees every info table.
    let mut reader = EventlogReader::new(BufReader::new(File::open(log).unwrap())).unwrap();
    let mut censuses = 0;
    for record in reader.by_ref() {
        if let Record::Census(_) = record.unwrap() {
            censuses += 1;
        }
    }
    assert_eq!(
        censuses,
        want.censuses.len(),
        "{name}: streaming census count"
    );
    assert_eq!(
        reader.info_table_events(),
        want.info_tables,
        "{name}: info tables"
    );
}

#[test]
fn shared_ghc_events_fixtures_match_their_references() {
    let Some(dir) = fixtures() else { return };
    let dir = dir.join("ghc-events");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eventlog") {
            let reference = PathBuf::from(format!("{}.reference", path.display()));
            if reference.exists() {
                check(&path, &reference);
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} fixtures with references in {}",
        dir.display()
    );
}

#[test]
fn stop_ht_matches_ghc_events_show() {
    let Some(dir) = fixtures() else { return };
    check(
        &dir.join("ghc-events/stop.hT.eventlog"),
        &data("stop.hT.eventlog.reference"),
    );
}

#[test]
fn clash_fixture_matches_ghc_events_show() {
    let Some(dir) = fixtures() else { return };
    let log = dir.join("clash/toy-wishbone-ghc-9.0.2-hT-i0.eventlog");
    check(&log, &PathBuf::from(format!("{}.reference", log.display())));
    let t = read(&log);
    assert_eq!(t.samples.len(), 153);
    assert_eq!(t.facts["ghc_version"], "9.0.2");
    assert_eq!(
        t.facts["program"],
        "./leak 4000 +RTS -hT -l -i0 -A256k -RTS"
    );
    assert_eq!(t.facts["heap_profile_interval_ns"], "0");
    // The same run's `+RTS -t` statistics say 39599160 bytes allocated.
    assert_eq!(t.totals["ghc.bytes_allocated"], 39_599_160);
    let signal = &t.samples[0].types["clash-prelude:Clash.Signal.Internal.:-"];
    assert_eq!(
        (signal.bytes, signal.count, signal.count_estimated),
        (1152, 48, false)
    );
    let thunk = &t.samples[0].types["THUNK_2_0"];
    assert_eq!((thunk.count, thunk.count_estimated), (39, false));
    assert!(
        t.samples[0].types.values().any(|t| t.count_estimated),
        "ARR_WORDS & co. are inferred"
    );
    assert!(t.samples.windows(2).all(|w| w[0].time_ns < w[1].time_ns));
    assert!(t.samples.iter().all(|s| s.bytes_allocated.is_some()));
}

#[test]
fn churn_fixture_with_markers_matches_ghc_events_show() {
    // Written by benches/eventlog_churn.hs: `eventlog_churn 4000 +RTS -hT -i0 -A256k -l`.
    check(
        &data("churn-hT-i0.eventlog"),
        &data("churn-hT-i0.eventlog.reference"),
    );
    let t = read(&data("churn-hT-i0.eventlog"));
    let labels: Vec<&str> = t.marks.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["init", "phase 1", "phase 2", "phase 3", "done"]);
    assert!(
        t.samples[5]
            .types
            .contains_key("containers:Data.Map.Internal.Bin"),
        "unit id normalised"
    );
}
