//! Cabal projects end to end through the `membound` CLI: the example project
//! (`examples/clash-cabal`) is built by cabal and its leaky test-suite is caught while the
//! fixed one passes; `retained_by` names a function of the project's own package; a program
//! linked without `-rtsopts` is told the `ghc-options` line that
//! fixes it; a failing cabal build keeps GHC's error. cabal runs offline: `CABAL_DIR` is a
//! temporary directory whose empty `config` names no package repository (README, "Cabal
//! projects").

mod common;

use assert_cmd::Command;
use common::have;
use std::path::{Path, PathBuf};

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_owned()
}

/// Whether cabal and GHC are here; under CI they must be.
fn have_cabal() -> bool {
    have("cabal", "--numeric-version") && have("ghc", "--numeric-version")
}

/// Runs `membound run` on the scenarios of `project` (its `scenarios/` and `baselines/`)
/// with an offline cabal: exit code and output.
fn check(project: &Path, work: &Path) -> (Option<i32>, String) {
    let cabal_dir = work.join("cabal-dir");
    std::fs::create_dir_all(&cabal_dir).expect("mkdir");
    std::fs::write(cabal_dir.join("config"), "").expect("config");
    let out = Command::cargo_bin("membound")
        .expect("membound binary")
        .env("CABAL_DIR", &cabal_dir)
        // Under CI=true nothing is written beside the baselines.
        .env("CI", "true")
        .arg("--scenarios")
        .arg(project.join("scenarios"))
        .arg("--baselines")
        .arg(project.join("baselines"))
        .arg("--work-dir")
        .arg(work)
        .arg("run")
        .output()
        .expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A one-package cabal project in a temporary directory: `x.cabal` with the executable `x`
/// linked with `ghc_options`, its `Main.hs`, and one scenario running it.
fn tiny_project(ghc_options: &str, main: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::create_dir_all(p.join("scenarios")).expect("mkdir");
    std::fs::create_dir_all(p.join("baselines")).expect("mkdir");
    std::fs::write(
        p.join("x.cabal"),
        format!("cabal-version: 2.4\nname: x\nversion: 0.1\nbuild-type: Simple\n\nexecutable x\n  main-is: Main.hs\n  build-depends: base\n  default-language: Haskell2010\n  ghc-options: {ghc_options}\n"),
    )
    .expect("cabal file");
    std::fs::write(p.join("Main.hs"), main).expect("Main.hs");
    std::fs::write(
        p.join("scenarios/x.toml"),
        "description = \"a program of a cabal project\"\n[build]\ncabal = \"exe:x\"\n[run]\ncommand = [\"{build}\"]\nrequires = [\"cabal\", \"ghc\"]\n[[invariant]]\nname = \"heap bounded\"\nmetric = \"heap\"\nmax = \"64 MiB\"\n",
    )
    .expect("scenario");
    dir
}

#[test]
fn the_example_projects_leaky_test_is_caught_and_the_fixed_one_passes() {
    if !have_cabal() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (code, text) = check(&repo().join("examples/clash-cabal"), work.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("scenario counter_fixed ... ok"), "{text}");
    // The leaky one's expected violation, found and attributed, is its own status.
    assert!(
        text.contains("scenario counter_leaky ... leak caught"),
        "{text}"
    );
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.path().join("results/counter_leaky.json"))
            .expect("result file"),
    )
    .expect("result json");
    let text = result.to_string();
    assert!(text.contains("\"outcome\":\"violated\""), "{text}");
    assert!(text.contains("\"name\":\"counter.step\""), "{text}");
}

#[test]
fn a_program_linked_without_rtsopts_is_told_the_ghc_options_line() {
    if !have_cabal() {
        return;
    }
    let project = tiny_project(
        "-O0",
        "main :: IO ()\nmain = print (sum [1 .. 1000 :: Int])\n",
    );
    let work = tempfile::tempdir().expect("tempdir");
    let (code, text) = check(project.path(), work.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("was linked without `-rtsopts`"), "{text}");
    assert!(
        text.contains("add `ghc-options: -rtsopts -eventlog` to the component `exe:x`"),
        "{text}"
    );
    // With -rtsopts but no -eventlog, the other half of the same line.
    let project = tiny_project(
        "-O0 -rtsopts",
        "main :: IO ()\nmain = print (sum [1 .. 1000 :: Int])\n",
    );
    let (code, text) = check(project.path(), work.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("was linked without `-eventlog`"), "{text}");
    assert!(text.contains("ghc-options: -rtsopts -eventlog"), "{text}");
}

#[test]
fn a_failing_cabal_build_keeps_ghcs_error() {
    if !have_cabal() {
        return;
    }
    let project = tiny_project(
        "-O0 -rtsopts -eventlog",
        "main :: IO ()\nmain = print (notDefinedAnywhere 3)\n",
    );
    let work = tempfile::tempdir().expect("tempdir");
    let (code, text) = check(project.path(), work.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("build step `cabal build exe:x` failed"),
        "{text}"
    );
    assert!(text.contains("notDefinedAnywhere"), "{text}");
}

#[test]
fn a_cabal_build_outside_any_cabal_project_says_so() {
    let project = tiny_project("-O0", "main = pure ()\n");
    std::fs::remove_file(project.path().join("x.cabal")).expect("rm");
    let work = tempfile::tempdir().expect("tempdir");
    let (code, text) = check(project.path(), work.path());
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("no cabal project at or above"), "{text}");
}

#[test]
fn the_markers_package_is_the_markers_file_the_scenarios_build() {
    // Two copies: the Clash scenarios' fingerprints hash `scenarios/haskell/Membound.hs`, and a
    // cabal project builds the package. They must not drift apart.
    let read = |p: &str| std::fs::read_to_string(repo().join(p)).expect(p);
    assert_eq!(
        read("haskell/membound-markers/src/Membound.hs"),
        read("scenarios/haskell/Membound.hs")
    );
}

#[test]
fn retained_by_names_a_function_of_the_projects_own_package() {
    // The device's reply streams are held by clash-prelude's `map` (a library cost centre),
    // called from the package's `device`: the glob matches only if the package's modules are
    // the program's own code, as the attribution has them.
    if !have_cabal() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    for d in ["scenarios", "baselines", "app"] {
        std::fs::create_dir_all(p.join(d)).expect("mkdir");
    }
    std::fs::write(
        p.join("x.cabal"),
        "cabal-version: 2.4\nname: x\nversion: 0.1\nbuild-type: Simple\n\nexecutable x\n  main-is: Main.hs\n  hs-source-dirs: app\n  build-depends: base, clash-prelude\n  default-language: Haskell2010\n  ghc-options: -O1 -rtsopts\n",
    )
    .expect("cabal file");
    std::fs::copy(
        repo().join("harness/tests/data/holders/DeviceUnzip3.hs"),
        p.join("app/Main.hs"),
    )
    .expect("program");
    let scenario = |variant: &str, expect: &str| {
        format!(
            r#"description = "the device's streams, held through `map`, {variant}"
[build]
cabal = "exe:x"
[run]
command = ["{{build}}", "{variant}", "20000"]
profile = "ghc-hp"
requires = ["cabal", "ghc", "clash-prelude"]
diagnose = false
closure_sizes = {{ "clash-prelude:Clash.Signal.Internal.:-" = 24 }}
[[invariant]]
name = "device holds few cells"
type = "clash-prelude:Clash.Signal.Internal.:-"
retained_by = "device"
max_count = 5000
expect = "{expect}"
[budget]
timeout = "300s"
"#
        )
    };
    std::fs::write(
        p.join("scenarios/held_lazy.toml"),
        scenario("lazy", "violated"),
    )
    .expect("scenario");
    std::fs::write(
        p.join("scenarios/held_fixed.toml"),
        scenario("fixed", "holds"),
    )
    .expect("scenario");
    let work = tempfile::tempdir().expect("tempdir");
    // No baselines: the runs fail on that alone, and their invariants' outcomes are judged.
    let (_, text) = check(p, work.path());
    assert!(!text.contains("not evaluable"), "{text}");
    let outcome = |name: &str| {
        let result = std::fs::read_to_string(work.path().join(format!("results/{name}.json")))
            .expect("result file");
        let v: serde_json::Value = serde_json::from_str(&result).expect("result json");
        v.to_string()
    };
    assert!(
        outcome("held_lazy").contains("\"outcome\":\"violated\""),
        "{text}"
    );
    assert!(
        outcome("held_fixed").contains("\"outcome\":\"held\""),
        "{text}"
    );
}
