//! GHC attribution end to end: a small leaking Haskell program (`tests/data/attribution/haskell/`)
//! built and run by `membound run`, its violation attributed by a profiled rerun, and the
//! attribution matched against `expect_site` / `expect_retainer`; and the same program with a
//! library that has no profiling build, where attribution is reported impossible and the
//! verdict is unchanged. Then leaks whose holder is a library call in the program's own
//! function (`tests/data/holders/`): the failure names that function as the holder, first,
//! and the fixed variant passes.

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
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for f in [
        "attribution/haskell/Leak.hs",
        "attribution/haskell/LeakEvents.hs",
        "holders/DeviceUnzip3.hs",
        "holders/Holders.hs",
    ] {
        let name = Path::new(f).file_name().expect("file name");
        std::fs::copy(data.join(f), scenarios.join("haskell").join(name)).expect("copy");
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

/// A leak of `tests/data/holders/`: `file` run as `file VARIANT N`, its `ty` closures (of
/// `size` bytes) bounded by `max_count`, with these expectations.
#[allow(clippy::too_many_arguments)]
fn holder(
    file: &str,
    variant: &str,
    n: u32,
    ty: &str,
    size: u32,
    max_count: u32,
    expect: &str,
) -> String {
    let requires = if file == "DeviceUnzip3.hs" {
        r#"requires = ["ghc", "clash-prelude"]"#
    } else {
        r#"requires = ["ghc"]"#
    };
    format!(
        r#"description = "{file} {variant}"
[build]
command = ["ghc", "-O1", "-rtsopts", "-outputdir", "{{outdir}}", "-o", "{{out}}", "haskell/{file}"]
inputs = ["haskell/{file}"]
[run]
command = ["{{build}}", "{variant}", "{n}"]
profile = "ghc-hp"
{requires}
closure_sizes = {{ "{ty}" = {size} }}
[[invariant]]
name = "bounded"
type = "{ty}"
max_count = {max_count}
{expect}
[budget]
timeout = "300s"
"#
    )
}

/// The failure's holders, in order: the rows under `held by (…):`, each as its description
/// (`` `device.go.(...)` (via `map` of Clash.Sized.Vector) ``).
fn holders_named(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("held by ("));
    lines.next();
    for l in lines {
        let t = l.trim_start();
        if !t.starts_with('+') {
            if t.contains('/') || t.is_empty() {
                continue;
            }
            break;
        }
        // `+15.2 MiB  `f` (via …)  set …`
        if let Some((_, rest)) = t.split_once("  ") {
            if let Some((who, _)) = rest.split_once("  set ") {
                out.push(who.to_owned());
            }
        }
    }
    out
}

/// Runs the leaking variant, expecting a violation whose first holder is `first` and whose
/// `expect_retainer` is `function`; then the fixed variant, expecting it to hold.
#[allow(clippy::too_many_arguments)]
fn check_holder(
    name: &str,
    file: &str,
    (lazy, fixed): (&str, &str),
    n: u32,
    ty: &str,
    size: u32,
    max_count: u32,
    first: &str,
    function: &str,
) {
    let (_, text, outcome) = check(
        name,
        &holder(
            file,
            lazy,
            n,
            ty,
            size,
            max_count,
            &format!("expect = \"violated\"\nexpect_retainer = \"{function}\""),
        ),
    );
    assert_eq!(outcome["outcome"], "violated", "{text}\n{outcome:#}");
    assert_eq!(
        outcome["attribution"]["attribution"], "found",
        "{text}\n{outcome:#}"
    );
    assert!(!text.contains("does not name the culprit"), "{text}");
    // A met expectation prints no failure: the failure's text is rendered from the result.
    let a: membound::attribution::Attribution =
        serde_json::from_value(outcome["attribution"].clone()).expect("attribution json");
    let failure = a.explain(membound::attribution::Detail::Failure);
    let held = holders_named(&failure);
    assert_eq!(
        held.first().map(String::as_str),
        Some(first),
        "holders {held:?} in\n{failure}"
    );
    let (_, text, outcome) = check(
        &format!("{name}_fixed"),
        &holder(file, fixed, n, ty, size, max_count, "expect = \"holds\""),
    );
    assert_eq!(outcome["outcome"], "held", "{text}\n{outcome:#}");
}

#[test]
fn clash_map_inside_a_lazy_unzip3_is_held_by_the_device_that_called_it() {
    if !have_ghc() {
        return;
    }
    check_holder(
        "device_unzip3",
        "DeviceUnzip3.hs",
        ("lazy", "fixed"),
        20_000,
        "clash-prelude:Clash.Signal.Internal.:-",
        24,
        5_000,
        "`device.go.(...)` (via `map` of Clash.Sized.Vector)",
        "device",
    );
}

#[test]
fn a_lazy_record_field_holding_the_input_is_held_by_the_function_that_built_the_record() {
    if !have_ghc() {
        return;
    }
    check_holder(
        "record_field",
        "Holders.hs",
        ("record_lazy", "record_fixed"),
        300_000,
        "ghc-prim:GHC.Types.:",
        24,
        50_000,
        "`summarise`",
        "summarise",
    );
}

#[test]
fn old_versions_of_a_data_map_kept_by_a_fold_are_held_by_the_folding_function() {
    if !have_ghc() {
        return;
    }
    check_holder(
        "map_versions",
        "Holders.hs",
        ("map_lazy", "map_fixed"),
        20_000,
        "containers:Data.Map.Internal.Bin",
        48,
        20_000,
        "`indexAll`",
        "indexAll",
    );
}

#[test]
fn retained_by_a_device_counts_the_cells_its_library_map_holds() {
    if !have_ghc() {
        return;
    }
    // `map` is clash-prelude's: the glob matches the device that called it.
    let held = |variant: &str, expect: &str| {
        holder(
            "DeviceUnzip3.hs",
            variant,
            20_000,
            "clash-prelude:Clash.Signal.Internal.:-",
            24,
            5_000,
            expect,
        )
        .replace("[[invariant]]", "diagnose = false\n[[invariant]]")
        .replace(
            "name = \"bounded\"",
            "name = \"bounded\"\nretained_by = \"device\"",
        )
    };
    let (_, text, outcome) = check("held_by_device", &held("lazy", "expect = \"violated\""));
    assert_eq!(outcome["outcome"], "violated", "{text}\n{outcome:#}");
    let (_, text, outcome) = check("held_by_device_fixed", &held("fixed", "expect = \"holds\""));
    assert_eq!(outcome["outcome"], "held", "{text}\n{outcome:#}");
}
