//! A suite spread over CI machines: each partition's results in its own directory, merged by
//! `membound report --results DIR --results DIR` into the report of the whole suite run at once,
//! byte for byte.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A scenario file the report accepts (one it refuses is reported as refused, not run).
const SCENARIO: &str =
    "description = \"test\"\n[run]\nsimulator = \"register_wb\"\ncycles = 10_000\n";

/// The report fixture's results, as if one run had written them all.
fn fixture_results() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/report/results");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture results")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

/// A project whose scenarios are those of the fixture (the report skips results of scenarios
/// that no longer exist), with the results in `all/` and split between `p1/` and `p2/`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["scenarios", "baselines", "all", "p1", "p2"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    for (i, p) in fixture_results().iter().enumerate() {
        let name = p.file_name().expect("file name");
        let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
        std::fs::write(
            dir.path().join("scenarios").join(format!("{stem}.toml")),
            SCENARIO,
        )
        .expect("scenario file");
        std::fs::copy(p, dir.path().join("all").join(name)).expect("copy");
        let part = if i % 2 == 0 { "p1" } else { "p2" };
        std::fs::copy(p, dir.path().join(part).join(name)).expect("copy");
    }
    dir
}

fn report(dir: &Path, format: &str, results: &[&str]) -> Vec<u8> {
    let mut c = Command::cargo_bin("membound").expect("membound binary");
    c.current_dir(dir)
        .env_remove("CI")
        .args(["--work-dir", "work", "report", "--format", format]);
    for r in results {
        c.args(["--results", r]);
    }
    let out = c.output().expect("run membound");
    assert!(
        out.status.success(),
        "membound report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn merged_partitions_report_as_the_whole_run() {
    let dir = project();
    for format in ["markdown", "html"] {
        let whole = report(dir.path(), format, &["all"]);
        let merged = report(dir.path(), format, &["p1", "p2"]);
        let reversed = report(dir.path(), format, &["p2", "p1"]);
        assert!(!whole.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&merged),
            String::from_utf8_lossy(&whole),
            "{format}: merged partitions differ from the whole run"
        );
        assert_eq!(merged, reversed, "{format}: the order of --results matters");
    }
    let md = String::from_utf8(report(dir.path(), "markdown", &["p1", "p2"])).expect("utf-8");
    assert!(md.contains("4 scenarios run"), "{md}");
}

#[test]
fn a_scenario_in_two_partitions_is_an_error_naming_both() {
    let dir = project();
    let first = fixture_results().remove(0);
    let name = first.file_name().expect("file name");
    // p1 has it already; put it in p2 too.
    std::fs::copy(&first, dir.path().join("p2").join(name)).expect("copy");
    let out = Command::cargo_bin("membound")
        .expect("membound binary")
        .current_dir(dir.path())
        .env_remove("CI")
        .args([
            "--work-dir",
            "work",
            "report",
            "--results",
            "p1",
            "--results",
            "p2",
        ])
        .output()
        .expect("run membound");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let stem = first.file_stem().expect("stem").to_string_lossy();
    assert!(
        err.contains(&format!("scenario `{stem}` has results in two directories"))
            && err.contains(&format!("p1/{stem}.json"))
            && err.contains(&format!("p2/{stem}.json")),
        "{err}"
    );
}

#[test]
fn a_missing_results_directory_says_how_to_make_it() {
    let dir = project();
    let out = Command::cargo_bin("membound")
        .expect("membound binary")
        .current_dir(dir.path())
        .env_remove("CI")
        .args(["--work-dir", "work", "report", "--results", "p3"])
        .output()
        .expect("run membound");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reading results in p3") && err.contains("hint"),
        "{err}"
    );
}

/// A partition run with its own work directory writes its results there (the directory CI
/// uploads), and a passing scenario's line carries its key figures.
#[test]
fn a_partition_writes_results_in_its_own_work_dir_and_prints_key_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["scenarios", "baselines"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    std::fs::write(
        dir.path().join("scenarios/flat.toml"),
        r#"description = "test"
[run]
simulator = "register_wb"
cycles = 10_000
sample_every = 1_000
params = { slaves = 2, seed = 3, leak = "none" }
[phases]
steady = { cycles = [5_000, "end"] }
"#,
    )
    .expect("scenario");
    let membound = |args: &[&str]| {
        let out = Command::cargo_bin("membound")
            .expect("membound binary")
            .current_dir(dir.path())
            .env_remove("CI")
            .args(["--work-dir", "part-1"])
            .args(args)
            .output()
            .expect("run membound");
        assert!(
            out.status.success(),
            "membound {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    membound(&["bless"]);
    let text = membound(&["run", "--jobs", "1"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("scenario flat ... ok  "))
        .unwrap_or_else(|| panic!("no ok line with figures:\n{text}"));
    assert!(
        line.contains("peak ") && line.contains(" · steady ") && line.contains(" · growth "),
        "{line}"
    );
    assert!(dir.path().join("part-1/results/flat.json").is_file());
    let md = membound(&["report", "--results", "part-1/results"]);
    assert!(md.contains("1 scenario run: 1 passed"), "{md}");
}
