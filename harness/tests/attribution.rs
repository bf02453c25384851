//! GHC attribution end to end: a small leaking Haskell program (`tests/data/attribution/haskell/`)
//! built and run by `membound run`, its violation attributed by a profiled rerun, and the
//! attribution matched against `expect_site` / `expect_retainer`; and the same program with a
//! library that has no profiling build, where attribution is reported impossible and the
//! verdict is unchanged.

use assert_cmd::Command;
use std::path::Path;

mod common;
use common::have_ghc;

/// The scenario of `file` (`Leak.hs` or `LeakEvents.hs`) with these culprit expectations.
fn scenario(file: &str, expect: &str) -> String {
    format!(
        r#"description = "a list remembered in an IORef"
[build]
command = ["ghc", "-O1", "-rtsopts", "-outputdir", "{{outdir}}", "-o", "{{out}}", "haskell/{file}"]
inputs = ["haskell/{file}"]
[run]
command = ["{{build}}", "200000"]
profile = "ghc-hp"
closure_sizes = {{ "ghc-prim:GHC.Types.:" = 24 }}
[[invariant]]
name = "cells bounded"
type = "ghc-prim:GHC.Types.:"
max_count = 50_000
expect = "violated"
expect_type = "ghc-prim:GHC.Types.:"
{expect}
[budget]
timeout = "120s"
"#
    )
}

/// Runs one scenario with `membound run` in a scratch project whose work directory (builds)
/// is kept across test runs; returns (exit code, stdout, the result's invariant outcome).
fn check(name: &str, text: &str) -> (Option<i32>, String, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir_all(scenarios.join("haskell")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("baselines")).expect("mkdir");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/attribution/haskell");
    for f in ["Leak.hs", "LeakEvents.hs"] {
        std::fs::copy(data.join(f), scenarios.join("haskell").join(f)).expect("copy");
    }
    std::fs::write(scenarios.join(format!("{name}.toml")), text).expect("write");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("attribution");
    let out = Command::cargo_bin("membound")
        .expect("membound binary")
        .env_remove("CI")
        .arg("--scenarios")
        .arg(&scenarios)
        .arg("--baselines")
        .arg(dir.path().join("baselines"))
        .arg("--work-dir")
        .arg(&work)
        .args(["run", name])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.join("results").join(format!("{name}.json")))
            .expect("result file"),
    )
    .expect("result json");
    let outcome = result["invariants"][0]["outcome"].clone();
    (out.status.code(), stdout, outcome)
}

#[test]
fn the_profiled_rerun_names_the_function_that_builds_and_the_one_that_retains() {
    if !have_ghc() {
        return;
    }
    let (_, text, outcome) = check(
        "leak",
        &scenario(
            "Leak.hs",
            "expect_site = \"remember\"\nexpect_retainer = \"main\"",
        ),
    );
    // No baseline yet, so the exit code says nothing here; the culprit check does.
    assert!(
        !text.contains("does not name the culprit"),
        "{text}\n{outcome:#}"
    );
    assert_eq!(
        outcome["attribution"]["attribution"], "found",
        "{outcome:#}"
    );
}

#[test]
fn a_wrong_culprit_function_fails() {
    if !have_ghc() {
        return;
    }
    let (code, text, _) = check("leak_wrong", &scenario("Leak.hs", "expect_site = \"main\""));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the growing closures were not built in `main` (built in: `remember`"),
        "{text}"
    );
}

#[test]
fn missing_profiling_libraries_are_reported_not_fatal() {
    if !have_ghc() {
        return;
    }
    let (_, text, outcome) = check("no_prof_libs", &scenario("LeakEvents.hs", ""));
    assert!(!text.contains("does not name the culprit"), "{text}");
    assert_eq!(outcome["outcome"], "violated", "{outcome:#}");
    let why = &outcome["attribution"]["why"];
    assert_eq!(why["why"], "no_profiling_libraries", "{outcome:#}");
    assert!(
        why["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ghc-events")),
        "{outcome:#}"
    );
    // Declaring a culprit function cannot pass without an attribution.
    let (code, text, _) = check(
        "no_prof_libs_expected",
        &scenario("LeakEvents.hs", "expect_retainer = \"main\""),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("attribution was not possible: the profiling libraries are not installed"),
        "{text}"
    );
}

/// `retained_by` on the leak: the list cells are retained by the `IORef` that `main` made.
fn retained(glob: &str, expect: &str) -> String {
    format!(
        r#"description = "a list remembered in an IORef, by retainer"
[build]
command = ["ghc", "-O1", "-rtsopts", "-outputdir", "{{outdir}}", "-o", "{{out}}", "haskell/Leak.hs"]
inputs = ["haskell/Leak.hs"]
[run]
command = ["{{build}}", "200000"]
profile = "ghc-hp"
diagnose = false
closure_sizes = {{ "ghc-prim:GHC.Types.:" = 24 }}
[[invariant]]
name = "no cells retained by {glob}"
type = "ghc-prim:GHC.Types.:"
retained_by = "{glob}"
absent = true
{expect}
[budget]
timeout = "120s"
"#
    )
}

#[test]
fn retained_by_is_checked_on_a_retainer_profile() {
    if !have_ghc() {
        return;
    }
    let (_, text, outcome) = check("by_main", &retained("main", "expect = \"violated\""));
    assert_eq!(outcome["outcome"], "violated", "{text}\n{outcome:#}");
    assert!(
        outcome["predicate"]
            .as_str()
            .is_some_and(|p| p.contains("no live `ghc-prim:GHC.Types.:`")),
        "{outcome:#}"
    );
    // A glob that matches no retainer is not a pass, and says what was seen.
    let (code, text, outcome) = check("by_nothing", &retained("nosuch*", ""));
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        outcome["reason"]["why"], "no_matching_retainer",
        "{outcome:#}"
    );
    assert!(
        text.contains("`retained_by = \"nosuch*\"` matches no retainer of the retainer profile (hint: retainers seen, nearest first:"),
        "{text}"
    );
}
