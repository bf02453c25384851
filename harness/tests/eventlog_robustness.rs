//! The eventlog reader on logs that are cut, corrupt, or from GHCs newer or older than it knows:
//! whole censuses are kept, cut logs say `truncated`, corrupt bytes are an error with the byte
//! offset, unknown events are a note, and nothing panics.

use membound::source::ghc::eventlog::{read_eventlog, EventlogError, EventlogReader, Record};
use membound::source::ghc::ReadOptions;
use membound::Timeline;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

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

fn read(bytes: &[u8]) -> Result<Timeline, EventlogError> {
    read_eventlog(bytes, &ReadOptions::default())
}

/// Cutting a real log anywhere gives its first censuses, whole, and `truncated`; a cut inside
/// the header is an error; nothing panics.
fn check_cuts(bytes: &[u8]) {
    let full = read(bytes).unwrap();
    assert!(!full.truncated);
    let mut cuts: Vec<usize> = (0..600).chain((600..bytes.len()).step_by(331)).collect();
    cuts.extend(bytes.len() - 40..bytes.len());
    let mut header_errors = 0;
    for cut in cuts {
        match read(&bytes[..cut]) {
            Ok(t) => {
                assert!(t.truncated, "cut at {cut}: not marked truncated");
                assert!(t.samples.len() <= full.samples.len());
                for (got, want) in t.samples.iter().zip(&full.samples) {
                    assert_eq!(
                        got.types.keys().collect::<Vec<_>>(),
                        want.types.keys().collect::<Vec<_>>(),
                        "cut at {cut}"
                    );
                    assert_eq!(
                        got.live_bytes, want.live_bytes,
                        "cut at {cut}: census {}",
                        got.x
                    );
                }
                // A marker followed by a whole census is placed exactly; one after the last whole
                // census may precede (in time) censuses the cut removed, so it goes at the end.
                for m in &t.marks {
                    let want = full.marks.iter().find(|f| f.label == m.label).unwrap();
                    if m.x < t.samples.len() as u64 {
                        assert_eq!(m, want, "cut at {cut}");
                    } else {
                        assert!(m.x <= want.x, "cut at {cut}: {m:?} {want:?}");
                    }
                }
            }
            Err(EventlogError::TruncatedHeader { offset }) => {
                assert!(offset as usize <= cut, "cut at {cut}: offset {offset}");
                header_errors += 1;
            }
            Err(EventlogError::NotAnEventlog) => assert!(cut < 4),
            Err(e) => panic!("cut at {cut}: {e}"),
        }
    }
    assert!(header_errors > 0);
}

#[test]
fn cut_logs_keep_their_whole_censuses() {
    check_cuts(&std::fs::read(data("churn-hT-i0.eventlog")).unwrap());
    if let Some(dir) = fixtures() {
        check_cuts(
            &std::fs::read(dir.join("clash/toy-wishbone-ghc-9.0.2-hT-i0.eventlog")).unwrap(),
        );
        // GHC 8.4, threaded, no census-end events: the open census is dropped at a cut.
        check_cuts(&std::fs::read(dir.join("ghc-events/stop.hT.eventlog")).unwrap());
    }
}

#[test]
fn the_shared_partial_log_is_truncated_not_an_error() {
    let Some(dir) = fixtures() else { return };
    let t = read(&std::fs::read(dir.join("ghc-events/testlog-part.eventlog")).unwrap()).unwrap();
    assert!(t.truncated);
    assert!(
        t.notes.iter().any(|n| n.contains("without its end marker")),
        "{:?}",
        t.notes
    );
    let t = read(&std::fs::read(dir.join("ghc-events/testlog.eventlog")).unwrap()).unwrap();
    assert!(!t.truncated);
}

#[test]
fn corrupt_bytes_never_panic() {
    let mut logs = vec![std::fs::read(data("churn-hT-i0.eventlog")).unwrap()];
    if let Some(dir) = fixtures() {
        logs.push(std::fs::read(dir.join("clash/toy-wishbone-ghc-9.0.2-hT-i0.eventlog")).unwrap());
        logs.push(std::fs::read(dir.join("ghc-events/sleep.hC.eventlog")).unwrap());
    }
    let mut errors = 0;
    for log in &logs {
        for (i, offset) in (0..log.len()).step_by(151).enumerate() {
            for value in [0x00, 0xff, log[offset] ^ (1 << (i % 8))] {
                let mut bad = log.clone();
                bad[offset] = value;
                match read(&bad) {
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        let msg = e.to_string();
                        assert!(
                            msg.contains("at byte") || msg.starts_with("not an eventlog"),
                            "{msg}"
                        );
                    }
                }
            }
        }
    }
    assert!(errors > 0, "some corruption must be detected");
    // Garbage after a valid header, from a fixed-seed generator.
    let header_len = synthetic_header(&[(49, Some(12))]).len();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..300 {
        let mut bytes = synthetic_header(&[
            (49, Some(12)),
            (164, None),
            (58, None),
            (162, Some(8)),
            (165, Some(8)),
        ]);
        assert!(bytes.len() > header_len);
        for _ in 0..(seed % 400) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(if seed & 3 == 0 {
                164
            } else {
                (seed >> 24) as u8
            });
        }
        let _ = read(&bytes);
    }
}

// A synthetic log builder, to pin down the format rules one at a time.

fn synthetic_header(types: &[(u16, Option<u16>)]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(b"hdrbhetb");
    for &(id, size) in types {
        b.extend(b"etb\0");
        b.extend(id.to_be_bytes());
        b.extend(size.unwrap_or(0xffff).to_be_bytes());
        let desc = format!("event {id}");
        b.extend((desc.len() as u32).to_be_bytes());
        b.extend(desc.as_bytes());
        b.extend(3u32.to_be_bytes());
        b.extend(b"xyz"); // extra info, which readers must skip
        b.extend(b"ete\0");
    }
    b.extend(b"hetehdredatb");
    b
}

struct Log {
    bytes: Vec<u8>,
    variable: Vec<u16>,
}

impl Log {
    fn new(types: &[(u16, Option<u16>)]) -> Log {
        Log {
            bytes: synthetic_header(types),
            variable: types
                .iter()
                .filter(|t| t.1.is_none())
                .map(|t| t.0)
                .collect(),
        }
    }

    fn event(&mut self, id: u16, time: u64, payload: &[u8]) -> &mut Self {
        self.bytes.extend(id.to_be_bytes());
        self.bytes.extend(time.to_be_bytes());
        if self.variable.contains(&id) {
            self.bytes.extend((payload.len() as u16).to_be_bytes());
        }
        self.bytes.extend(payload);
        self
    }

    fn end(&mut self) -> Vec<u8> {
        self.bytes.extend(0xffffu16.to_be_bytes());
        self.bytes.clone()
    }
}

fn string_row(residency: u64, label: &str) -> Vec<u8> {
    let mut p = vec![0u8];
    p.extend(residency.to_be_bytes());
    p.extend(label.as_bytes());
    p.push(0);
    p
}

fn u64s(vs: &[u64]) -> Vec<u8> {
    vs.iter().flat_map(|v| v.to_be_bytes()).collect()
}

const TYPES: &[(u16, Option<u16>)] = &[
    (29, None),     // rts identifier
    (30, None),     // program args
    (49, Some(20)), // heap allocated, 8 bytes longer than this reader knows
    (58, None),     // user marker
    (160, None),    // heap prof begin
    (161, None),    // cost centre
    (162, Some(8)), // sample begin
    (163, None),    // cost-centre sample
    (164, None),    // string sample
    (165, Some(8)), // sample end
    (169, None),    // info table
    (300, Some(4)), // unknown to this reader
    (301, None),    // unknown, variable
];

fn heap_allocated(bytes: u64) -> Vec<u8> {
    let mut p = 0u32.to_be_bytes().to_vec();
    p.extend(bytes.to_be_bytes());
    p.extend([0xee; 8]); // a future field
    p
}

#[test]
fn reads_what_it_knows_and_skips_the_rest() {
    let mut log = Log::new(TYPES);
    let mut ident = 0u32.to_be_bytes().to_vec();
    ident.extend(b"GHC-9.12.1 rts_thr");
    let mut args = 0u32.to_be_bytes().to_vec();
    args.extend(b"./sim\0+RTS\0-hT\0");
    let bytes = log
        .event(29, 1, &ident)
        .event(30, 2, &args)
        .event(300, 3, &[1, 2, 3, 4])
        .event(49, 4, &heap_allocated(1000))
        .event(58, 5, b"init")
        .event(162, 10, &u64s(&[0]))
        .event(164, 11, &string_row(48, "THUNK_1_0"))
        .event(
            164,
            12,
            &[
                string_row(24, "containers-0.6.7:Data.Map.Internal.Bin"),
                b"future".to_vec(),
            ]
            .concat(),
        )
        .event(301, 13, b"anything at all")
        .event(165, 14, &u64s(&[0]))
        .event(49, 15, &heap_allocated(5000))
        .event(58, 16, b"steady")
        .event(162, 20, &u64s(&[1]))
        .event(164, 21, &string_row(72, "THUNK_1_0"))
        .event(165, 22, &u64s(&[1]))
        .end();
    let t = read(&bytes).unwrap();
    assert!(!t.truncated);
    assert_eq!(t.facts["rts_ident"], "GHC-9.12.1 rts_thr");
    assert_eq!(t.facts["ghc_version"], "9.12.1");
    assert_eq!(t.facts["program"], "./sim +RTS -hT");
    assert_eq!(t.totals["ghc.bytes_allocated"], 5000);
    assert_eq!(t.samples.len(), 2);
    let s0 = &t.samples[0];
    assert_eq!(
        (s0.x, s0.live_bytes, s0.time_ns, s0.bytes_allocated),
        (0, 72, Some(10), Some(1000))
    );
    assert_eq!(s0.types["THUNK_1_0"].count, 2);
    assert_eq!(s0.types["containers:Data.Map.Internal.Bin"].bytes, 24);
    assert_eq!(t.samples[1].bytes_allocated, Some(5000));
    assert_eq!(t.samples[1].types["THUNK_1_0"].count, 3);
    let marks: Vec<(u64, &str)> = t.marks.iter().map(|m| (m.x, m.label.as_str())).collect();
    assert_eq!(marks, [(0, "init"), (1, "steady")]);
    assert!(
        t.notes.iter().any(|n| n.contains("id 300 ×1, id 301 ×1")),
        "{:?}",
        t.notes
    );
}

#[test]
fn logs_without_census_end_events_end_a_census_at_the_next() {
    // GHC before 8.10: no event 165.
    let types = &[(162, Some(8)), (164, None)];
    let mut log = Log::new(types);
    log.event(162, 1, &u64s(&[0]))
        .event(164, 2, &string_row(16, "A"))
        .event(162, 3, &u64s(&[1]))
        .event(164, 4, &string_row(32, "A"));
    let cut = log.bytes.clone();
    let t = read(&log.end()).unwrap();
    assert_eq!(
        t.samples.iter().map(|s| s.live_bytes).collect::<Vec<_>>(),
        [16, 32]
    );
    // Cut: the last census cannot be known whole.
    let t = read(&cut).unwrap();
    assert!(t.truncated);
    assert_eq!(t.samples.len(), 1);
    assert!(
        t.notes.iter().any(|n| n.contains("dropped census 1")),
        "{:?}",
        t.notes
    );
}

#[test]
fn cost_centre_stacks_and_info_tables_get_readable_labels() {
    let cc = |id: u32, label: &str, module: &str| {
        let mut p = id.to_be_bytes().to_vec();
        for s in [label, module, "Main.hs:1:1"] {
            p.extend(s.as_bytes());
            p.push(0);
        }
        p.push(0);
        p
    };
    let stack_row = |residency: u64, stack: &[u32]| {
        let mut p = vec![0u8];
        p.extend(residency.to_be_bytes());
        p.push(stack.len() as u8);
        p.extend(stack.iter().flat_map(|c| c.to_be_bytes()));
        p
    };
    let begin = |breakdown: u32| {
        let mut p = vec![0u8];
        p.extend(100_000_000u64.to_be_bytes());
        p.extend(breakdown.to_be_bytes());
        p.extend([0u8; 7]);
        p
    };
    let mut log = Log::new(TYPES);
    let bytes = log
        .event(160, 1, &begin(1))
        .event(161, 2, &cc(1, "CAF", "Main"))
        .event(161, 3, &cc(2, "go", "Main"))
        .event(162, 4, &u64s(&[0]))
        .event(163, 5, &stack_row(40, &[2, 1]))
        .event(163, 6, &stack_row(8, &[]))
        .event(163, 7, &stack_row(8, &[9]))
        .event(165, 8, &u64s(&[0]))
        .end();
    let t = read(&bytes).unwrap();
    assert_eq!(t.facts["heap_profile_breakdown"], "cost centre");
    let labels: Vec<&str> = t.samples[0].types.keys().map(|l| l.as_str()).collect();
    assert_eq!(labels, ["MAIN", "cc9", "go/Main.CAF"]);

    let ipe = |ptr: u64, fields: &[&str]| {
        let mut p = ptr.to_be_bytes().to_vec();
        for f in fields {
            p.extend(f.as_bytes());
            p.push(0);
        }
        p
    };
    let mut log = Log::new(TYPES);
    let bytes = log
        .event(160, 1, &begin(8))
        .event(
            169,
            2,
            &ipe(
                0x409f78,
                &["sat_s154_info", "21", "Int", "go", "Main", "Test.hs:5:1-30"],
            ),
        )
        .event(162, 4, &u64s(&[0]))
        .event(164, 5, &string_row(48, "0x409f78"))
        .event(164, 6, &string_row(16, "0x1234"))
        .event(165, 8, &u64s(&[0]))
        .end();
    let t = read(&bytes).unwrap();
    let labels: Vec<&str> = t.samples[0].types.keys().map(|l| l.as_str()).collect();
    assert_eq!(labels, ["0x1234", "Main.go :: Int @ Test.hs:5:1-30"]);
}

#[test]
fn errors_carry_the_byte_offset() {
    let mut log = Log::new(TYPES);
    log.event(162, 1, &u64s(&[0]));
    let at = log.bytes.len();
    log.event(77, 2, &[]); // not declared in the header
    match read(&log.end()) {
        Err(EventlogError::UndeclaredEvent { id: 77, offset }) => assert_eq!(offset as usize, at),
        other => panic!("{other:?}"),
    }

    let mut log = Log::new(TYPES);
    log.event(162, 1, &u64s(&[0]));
    let at = log.bytes.len();
    log.event(164, 2, &[0, 1, 2]); // shorter than profile id + residency
    let err = read(&log.end()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "heap prof sample string event at byte {at}: its 3-byte payload is shorter than the 9 bytes its fields \
             take (hint: the log is corrupt)"
        )
    );

    let mut bad = synthetic_header(&[(49, Some(12))]);
    bad[9] = b'X'; // inside the first `etb\0`
    assert!(
        matches!(read(&bad), Err(EventlogError::BadHeader { offset: 8, .. })),
        "{:?}",
        read(&bad)
    );
    assert!(matches!(read(b"nope"), Err(EventlogError::NotAnEventlog)));
}

#[test]
fn a_fixed_size_event_declared_shorter_than_known_is_skipped_with_a_note() {
    let mut log = Log::new(&[(49, Some(8)), (162, Some(8)), (165, Some(8))]);
    let t = read(&log.event(49, 1, &[0; 8]).event(49, 2, &[0; 8]).end()).unwrap();
    assert!(t.totals.is_empty());
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("skipped 2 heap allocated events")),
        "{:?}",
        t.notes
    );
}

#[test]
fn the_streaming_reader_yields_records_in_file_order() {
    let mut log = Log::new(TYPES);
    let bytes = log
        .event(58, 1, b"a")
        .event(162, 2, &u64s(&[0]))
        .event(164, 3, &string_row(8, "X"))
        .event(165, 4, &u64s(&[0]))
        .event(58, 5, b"b")
        .end();
    let mut reader = EventlogReader::new(&bytes[..]).unwrap();
    let records: Vec<Record> = reader.by_ref().map(Result::unwrap).collect();
    assert!(matches!(&records[0], Record::Marker { x: 0, label, time_ns: 1 } if label == "a"));
    let Record::Census(census) = &records[1] else {
        panic!("{records:?}")
    };
    assert_eq!((census.x, census.time_ns, census.live_bytes), (0, 2, 8));
    assert_eq!(reader.label(census.rows[0].0), "X");
    let sample = reader.sample(census);
    assert_eq!((sample.types["X"].bytes, sample.types["X"].count), (8, 0));
    assert!(matches!(&records[2], Record::Marker { x: 1, .. }));
    assert_eq!(records.len(), 3);
}
