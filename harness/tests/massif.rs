//! The non-GHC sources with real programs: massif files from real runs read into timelines
//! (and never a panic on damaged ones), and C programs compiled in the test run end to end
//! under `profile = "massif"` and `profile = "rss"`: the leaky one caught with its function
//! named, the fixed one passing.

use membound::source::massif::{read_massif, read_massif_file};
use membound::{Timeline, XUnit};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{have, Project};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/massif")
        .join(name)
}

fn fixture(name: &str) -> Timeline {
    read_massif_file(&data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The site that gained the most bytes from the first snapshot to the last.
fn top_grower(tl: &Timeline) -> (String, i64) {
    let (first, last) = (&tl.samples[0], tl.samples.last().expect("samples"));
    let growth = membound::measure::invariant::top_growth(first, last);
    growth
        .first()
        .map(|g| (g.label.clone(), g.bytes_delta))
        .unwrap_or_default()
}

#[test]
fn a_leak_through_a_named_function_is_attributed_to_it() {
    let tl = fixture("scoreboard-leaky.massif.out");
    assert_eq!(tl.x_unit, XUnit::Snapshot);
    assert_eq!(tl.samples.len(), 90);
    assert_eq!(tl.facts["time_unit"], "B");
    let (site, bytes) = top_grower(&tl);
    assert_eq!(site, "record_write (scoreboard.c:15)");
    // 20,000 records of 16 bytes, most of them live at the last snapshot.
    assert!(bytes > 250_000, "{bytes}");
    // Every snapshot's sites add up to its heap: nothing is lost in attribution.
    for s in &tl.samples {
        let sum: u64 = s.types.values().map(|t| t.bytes).sum();
        assert_eq!(sum, s.live_bytes, "snapshot {}", s.x);
    }
}

#[test]
fn a_flat_heap_has_no_grower() {
    let tl = fixture("scoreboard-fixed.massif.out");
    let peak = tl.samples.iter().map(|s| s.live_bytes).max().unwrap_or(0);
    // stdout's 4 KiB buffer and the 16-byte register file.
    assert!(peak < 8_000, "fixed peaks at {peak} bytes");
    assert!(tl
        .samples
        .iter()
        .all(|s| !s.types.keys().any(|l| l.starts_with("record_write"))));
}

#[test]
fn standard_library_frames_hand_their_bytes_to_the_program_function() {
    // -O1: `push_back`, `_M_realloc_insert`, `allocate` are inlined frames of libstdc++
    // headers; the site is the program's own function that pushed.
    let tl = fixture("vector.massif.out");
    let labels: std::collections::BTreeSet<String> = tl
        .samples
        .iter()
        .flat_map(|s| s.types.keys().map(|l| l.to_string()))
        .collect();
    assert!(
        labels.contains("log_transaction (vector.cpp:9)"),
        "{labels:?}"
    );
    assert!(
        !labels
            .iter()
            .any(|l| l.contains("stl_vector.h") || l.contains("new_allocator.h")),
        "{labels:?}"
    );
}

#[test]
fn massif_defaults_fold_small_sites_and_leave_snapshots_undetailed_which_is_said() {
    // Massif's own defaults (--threshold=1.0 --detailed-freq=10), which membound does not use.
    let tl = fixture("scoreboard-leaky-defaults.massif.out");
    let folded = tl
        .samples
        .iter()
        .filter(|s| s.types.contains_key("(below massif's threshold)"))
        .count();
    assert!(folded > 0, "small sites are folded into one label");
    for s in tl.samples.iter().filter(|s| !s.types.is_empty()) {
        let sum: u64 = s.types.values().map(|t| t.bytes).sum();
        assert_eq!(sum, s.live_bytes, "snapshot {}", s.x);
    }
    assert!(
        tl.notes
            .iter()
            .any(|n| n.contains("snapshots are not detailed") && n.contains("--detailed-freq=1")),
        "{:?}",
        tl.notes
    );
    assert_eq!(top_grower(&tl).0, "record_write (scoreboard.c:15)");
}

/// Cuts the fixture at many offsets and mutates bytes at many others: each is a timeline or
/// an error that names a line, never a panic.
#[test]
fn damaged_and_truncated_files_are_errors_with_their_line() {
    let text = std::fs::read(data("scoreboard-leaky.massif.out")).expect("fixture");
    let whole = read_massif(&text[..]).expect("whole");
    let step = text.len() / 400;
    let mut errors = 0;
    for cut in (0..text.len()).step_by(step.max(1)) {
        match read_massif(&text[..cut]) {
            Ok(tl) => assert!(tl.samples.len() < whole.samples.len(), "cut at {cut}"),
            Err(e) => {
                errors += 1;
                assert!(e.to_string().contains("line "), "cut at {cut}: {e}");
            }
        }
    }
    assert!(errors > 300, "most cuts are mid-snapshot: {errors}");
    for at in (0..text.len()).step_by(step.max(1) / 3 + 1) {
        for b in [b'9', b'x', b'\n', b' ', b'=', b'n', b':', 0xff] {
            let mut t = text.clone();
            t[at] = b;
            if let Err(e) = read_massif(&t[..]) {
                assert!(e.to_string().contains("line "), "byte {at} = {b}: {e}");
            }
        }
    }
    let e = read_massif(&b"desc: x\ncmd: y\ntime_unit: B\nsnapshot=0\ntime=0\nmem_heap_B=5\n"[..])
        .expect_err("truncated");
    assert!(
        e.to_string()
            .starts_with("line 7: the file ends where a `mem_heap_extra_B=` line should follow"),
        "{e}"
    );
    let mut deep = String::from("desc: x\ncmd: y\ntime_unit: B\nsnapshot=0\ntime=0\nmem_heap_B=8\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=detailed\n");
    for _ in 0..100_000 {
        deep.push_str("n1: 8 0x1: f (a.c:1)\n");
    }
    let e = read_massif(deep.as_bytes()).expect_err("too deep");
    assert!(
        e.to_string()
            .contains("line 212: a heap tree deeper than 201 frames"),
        "{e}"
    );
    let e = read_massif(&b"hello\n"[..]).expect_err("not massif");
    assert!(
        e.to_string().contains("line 1: expected a `desc:` line"),
        "{e}"
    );
}

#[test]
fn membound_profile_reads_massif_files() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("membound"))
        .arg("profile")
        .arg(data("scoreboard-leaky.massif.out"))
        .output()
        .expect("membound profile");
    let t =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("source: massif"), "{t}");
    assert!(t.contains("snapshot index"), "{t}");
    assert!(t.contains("record_write (scoreboard.c:15)"), "{t}");
    // Each site with the program's frames that called it.
    assert!(
        t.contains("    called from `main (scoreboard.c:34)`\n"),
        "{t}"
    );
}

/// A log grown in `record`, called from two paths: `on_write` for every transaction, `on_read`
/// for one in four. Functions kept out of line so that each is a frame.
const CALLERS_PROGRAM: &str = r#"#include <stdlib.h>
struct rec { struct rec *next; long v; };
static struct rec *log_;
static volatile long calls;
__attribute__((noinline)) static void record(long v) {
  struct rec *r = malloc(sizeof *r);
  r->v = v; r->next = log_; log_ = r;
}
__attribute__((noinline)) static void on_write(long v) { record(v); calls++; }
__attribute__((noinline)) static void on_read(long v) { if (v % 4 == 0) record(v); calls++; }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  for (long i = 0; i < n; i++) { on_write(i); on_read(i); }
  return 0;
}
"#;

#[test]
fn a_massif_failure_names_the_growing_function_and_its_heavier_callers() {
    if !have("valgrind", "--version") {
        eprintln!("valgrind is not installed: skipped");
        return;
    }
    let p = Project::new();
    let exe = p.cc("callers", CALLERS_PROGRAM);
    // Not expected to be violated: the run fails, and its failure names the culprit.
    p.scenario("log", &exe, &["20000"], "massif", MASSIF_INVARIANTS);
    let (ok, t) = p.membound(&["run", "log"]);
    assert!(!ok, "{t}");
    assert!(
        t.contains("`record (callers.c:6)`"),
        "the site is the allocating function, as before: {t}"
    );
    assert!(
        t.contains("      called from `on_write (callers.c:9)` ← `main (callers.c:13)`\n"),
        "{t}"
    );
    // The report's line for the invariant, as markdown and HTML show it.
    let (_, report) = p.membound(&["report", "log"]);
    assert!(
        report.contains("`record (callers.c:6)`")
            && report.contains(", called from `on_write (callers.c:9)` ← `main (callers.c:13)`"),
        "{report}"
    );
    // The same file checked by `membound profile --scenario`.
    let runs = p.path("work/runs/log");
    let file = std::fs::read_dir(&runs)
        .expect("the run's directory")
        .map(|e| e.expect("entry").path())
        .find(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("massif.out."))
        })
        .expect("the run's massif.out");
    let scenario = p.path("scenarios/log.toml");
    let f = file.to_string_lossy();
    let (ok, t) = p.membound(&["profile", &f, "--scenario", &scenario.to_string_lossy()]);
    assert!(!ok, "{t}");
    let checked = t.split("invariants of").nth(1).unwrap_or_default();
    assert!(
        checked.contains("`record (callers.c:6)`")
            && checked.contains("called from `on_write (callers.c:9)` ← `main (callers.c:13)`\n"),
        "{t}"
    );
}

impl Project {
    /// Writes a scenario running `exe args` with this profile and the rest of the file.
    fn scenario(&self, name: &str, exe: &Path, args: &[&str], profile: &str, rest: &str) {
        let mut argv = vec![format!("{:?}", exe.to_string_lossy())];
        argv.extend(args.iter().map(|a| format!("{a:?}")));
        let text = format!(
            "description = \"{name}\"\n[run]\ncommand = [{}]\nprofile = \"{profile}\"\n{rest}\n",
            argv.join(", ")
        );
        std::fs::write(self.path("scenarios").join(format!("{name}.toml")), text)
            .expect("write scenario");
    }

    /// `membound <args>` in this project, outside CI: (success, stdout + stderr).
    fn membound(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(assert_cmd::cargo::cargo_bin("membound"))
            .env_remove("CI")
            .arg("--scenarios")
            .arg(self.path("scenarios"))
            .arg("--baselines")
            .arg(self.path("baselines"))
            .arg("--work-dir")
            .arg(self.path("work"))
            .args(args)
            .output()
            .expect("membound");
        let t = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), t)
    }
}

const MASSIF_INVARIANTS: &str = r#"requires = ["valgrind", "cc"]
[phases]
steady = { snapshot = [10, "end"] }
[[invariant]]
name = "heap flat"
during = "steady"
metric = "heap"
max_growth_per_snapshot = 256
"#;

#[test]
fn massif_catches_the_leaky_scoreboard_naming_its_function_and_passes_the_fixed_one() {
    if !have("valgrind", "--version") {
        eprintln!("valgrind is not installed: skipped");
        return;
    }
    let p = Project::new();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/c/scoreboard.c");
    let exe = p.cc_file("scoreboard", &source);
    let expect = "expect = \"violated\"\nexpect_type = \"record_write (*)\"\n";
    p.scenario("leaky", &exe, &["leaky", "20000"], "massif", &format!("{MASSIF_INVARIANTS}{expect}[[invariant]]\nname = \"records bounded\"\ntype = \"record_write*\"\nmax_bytes = \"64 KiB\"\n{expect}"));
    p.scenario(
        "fixed",
        &exe,
        &["fixed", "20000"],
        "massif",
        MASSIF_INVARIANTS,
    );
    for name in ["leaky", "fixed"] {
        let (ok, t) = p.membound(&["bless", name]);
        assert!(ok, "bless {name}: {t}");
        // The figures are exact: a second run matches the baseline to the byte.
        let (ok, t) = p.membound(&["run", name]);
        assert!(ok, "run {name}: {t}");
    }
    let baseline = std::fs::read_to_string(p.path("baselines/leaky.json")).expect("baseline");
    let b: membound::store::Baseline = serde_json::from_str(&baseline).expect("a baseline");
    assert!(
        b.invariants.values().all(|o| matches!(
            o,
            membound::store::InvariantRecord::Violated { expected: true, .. }
        )),
        "{baseline}"
    );
    assert_eq!(b.timeline.x_unit, membound::XUnit::Snapshot);
    assert!(
        baseline.contains("\"heap.growth_per_snapshot\""),
        "{baseline}"
    );
    // Were the leak fixed, the scenario that exists to catch it would say it went undetected.
    p.scenario(
        "leaky",
        &exe,
        &["fixed", "20000"],
        "massif",
        &format!("{MASSIF_INVARIANTS}{expect}"),
    );
    let (ok, t) = p.membound(&["run", "leaky"]);
    assert!(!ok, "{t}");
    assert!(t.contains("went undetected"), "{t}");
}

#[test]
fn a_program_massif_sees_no_heap_of_is_an_error_with_a_hint() {
    if !have("valgrind", "--version") {
        eprintln!("valgrind is not installed: skipped");
        return;
    }
    let p = Project::new();
    let exe = p.cc("nothing", "int main(void) { return 0; }\n");
    p.scenario("nothing", &exe, &[], "massif", MASSIF_INVARIANTS);
    let (ok, t) = p.membound(&["run", "nothing"]);
    assert!(!ok, "{t}");
    assert!(t.contains("massif saw no heap allocation by"), "{t}");
    assert!(t.contains("profile = \"rss\""), "{t}");
}

#[test]
fn a_program_that_writes_no_eventlog_is_an_error_that_points_to_rss_and_massif() {
    let p = Project::new();
    // A C program ignores the `+RTS … -RTS` arguments GHC programs get, and writes no eventlog.
    let exe = p.cc("plain", "int main(void) { return 0; }\n");
    p.scenario(
        "plain",
        &exe,
        &[],
        "ghc-eventlog",
        "[[invariant]]\nname = \"h\"\nmetric = \"heap\"\nmax = 1\n",
    );
    let (ok, t) = p.membound(&["run", "plain"]);
    assert!(!ok, "{t}");
    assert!(
        t.contains(
            "the program wrote no eventlog (hint: `profile = \"ghc-eventlog\"` is for GHC programs"
        ),
        "{t}"
    );
    assert!(t.contains("`profile = \"rss\"`"), "{t}");
}

/// Grows its resident set by 512 KiB every 20 ms for 1.5 s (`leaky`), or touches the same
/// 512 KiB over and over (`fixed`).
const RSS_PROGRAM: &str = r#"
#include <stdlib.h>
#include <string.h>
#include <time.h>
int main(int argc, char **argv) {
    int leaky = argc > 1 && strcmp(argv[1], "leaky") == 0;
    char *same = malloc(512 << 10);
    struct timespec d = { 0, 20 * 1000 * 1000 };
    for (int i = 0; i < 75; i++) {
        char *m = leaky ? malloc(512 << 10) : same;
        memset(m, i, 512 << 10);
        nanosleep(&d, 0);
    }
    return 0;
}
"#;

const RSS_INVARIANTS: &str = r#"sample_interval = "25ms"
[phases]
steady = { ms = [300, "end"] }
[[invariant]]
name = "rss flat"
during = "steady"
metric = "rss"
max_growth_per_second = "4 MiB"
"#;

#[test]
fn rss_catches_a_growing_program_live_and_passes_a_flat_one() {
    let p = Project::new();
    let exe = p.cc("grow", RSS_PROGRAM);
    p.scenario(
        "grow",
        &exe,
        &["leaky"],
        "rss",
        &format!("{RSS_INVARIANTS}expect = \"violated\"\n"),
    );
    p.scenario("flat", &exe, &["fixed"], "rss", RSS_INVARIANTS);
    let (ok, t) = p.membound(&["bless", "grow"]);
    assert!(ok, "bless grow: {t}");
    let baseline = std::fs::read_to_string(p.path("baselines/grow.json")).expect("baseline");
    let b: membound::store::Baseline = serde_json::from_str(&baseline).expect("a baseline");
    assert!(
        matches!(
            b.invariants["rss flat"],
            membound::store::InvariantRecord::Violated { expected: true, .. }
        ),
        "{baseline}"
    );
    assert_eq!(b.timeline.x_unit, membound::XUnit::Millis);
    assert!(baseline.contains("\"rss.growth_per_second\""), "{baseline}");
    let (ok, t) = p.membound(&["bless", "flat"]);
    assert!(ok, "bless flat: {t}");
    let baseline = std::fs::read_to_string(p.path("baselines/flat.json")).expect("baseline");
    let b: membound::store::Baseline = serde_json::from_str(&baseline).expect("a baseline");
    assert!(
        matches!(
            b.invariants["rss flat"],
            membound::store::InvariantRecord::Held { .. }
        ),
        "{baseline}"
    );
}
