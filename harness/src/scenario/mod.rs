//! `Scenario`: a declarative TOML file parsed and validated before anything runs.
//!
//! Every mistake a user can make in a scenario file is an error that names the file, the line
//! and the column, and lists the valid choices. This module knows nothing of processes,
//! timelines or baselines; it only turns text into a checked `Scenario`: [`model`] is what a
//! valid scenario is, `raw` the shapes of the TOML as written (with positions), and `validate`
//! the checks that turn one into the other.

mod model;
mod raw;
pub mod select;
mod validate;

pub use model::{
    tool, Budget, Build, CabalTarget, CommandRun, Length, OnViolation, ProfileKind, Run, Scenario,
    SimRun, Tool, ToolKind, WindowText, DEFAULT_SAMPLE_EVERY, KNOWN_TOOLS,
};

use crate::errors::ScenarioError;
use crate::spec::text::line_col;
use sim::circuits::Catalog;
use std::path::{Path, PathBuf};
use validate::parse_in;

/// Reads and validates every `*.toml` in `dir`, sorted by name, against the circuits of
/// `catalog`. A file that fails yields its error in place, so one bad file does not hide the
/// others. A directory without any is an error ([`ScenarioError::NoScenarios`]).
pub fn load_dir(
    dir: &Path,
    catalog: &Catalog,
) -> Result<Vec<Result<Scenario, ScenarioError>>, ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    if paths.is_empty() {
        return Err(ScenarioError::NoScenarios {
            path: dir.to_owned(),
        });
    }
    paths.sort();
    Ok(paths.iter().map(|p| load(p, catalog)).collect())
}

/// Reads and validates one scenario file against the circuits of `catalog`.
pub fn load(path: &Path, catalog: &Catalog) -> Result<Scenario, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            // The prefix is valid UTF-8, so line and column count its characters.
            let prefix =
                std::str::from_utf8(bytes.get(..valid).unwrap_or_default()).unwrap_or_default();
            let (line, column) = line_col(prefix, valid);
            return Err(ScenarioError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: format!(
                    "the file is not UTF-8: byte 0x{:02x} at byte offset {valid} does not belong to a UTF-8 character (hint: save the file as UTF-8; TOML files are UTF-8)",
                    bytes.get(valid).copied().unwrap_or_default()
                ),
            });
        }
    };
    // Build inputs are relative to the scenarios directory, the file's own.
    let dir = path.parent().unwrap_or(Path::new("."));
    parse_in(path, &text, catalog, Some(dir))
}

/// Validates scenario text against the circuits of `catalog`; `path` names the file in errors
/// and gives the scenario its name. Files it names are not looked for ([`load`] does).
pub fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Scenario, ScenarioError> {
    parse_in(path, text, catalog, None)
}

/// FNV-1a over the canonical JSON of the measurement-relevant tables: stable across key order,
/// comments and formatting, different when anything that changes the measurement changes.
pub(super) fn fingerprint(text: &str) -> String {
    let value: toml::Value = match toml::from_str(text) {
        Ok(v) => v,
        Err(_) => return String::new(),
    };
    let mut relevant = serde_json::Map::new();
    if let toml::Value::Table(mut t) = value {
        // Keys that change what is reported about a violation, never what is measured: a
        // baseline blessed before them is not stale.
        if let Some(toml::Value::Table(run)) = t.get_mut("run") {
            run.remove("diagnose");
        }
        if let Some(toml::Value::Array(invs)) = t.get_mut("invariant") {
            for inv in invs {
                if let toml::Value::Table(inv) = inv {
                    inv.remove("expect_retainer");
                }
            }
        }
        for key in ["run", "build", "phases", "invariant"] {
            if let Some(v) = t.get(key) {
                // serde_json's map is sorted (no preserve_order feature), so this is canonical.
                relevant.insert(key.to_owned(), serde_json::to_value(v).unwrap_or_default());
            }
        }
    }
    let canon = serde_json::Value::Object(relevant).to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canon.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::validate::{sim_samples_in, suggest_sample_every};
    use super::*;
    use crate::spec::invariant::{Cmp, Endpoint, Predicate, Window};
    use sim::circuits::{ParamKind, ParamValue};
    use std::time::Duration;

    /// Parses against this workspace's catalogue.
    fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        super::parse(path, text, &sim::circuits::catalog())
    }

    fn check_err(text: &str, expect: &str) {
        let err =
            parse(Path::new("scenarios/t.toml"), text).expect_err("scenario should be invalid");
        let msg = err.to_string();
        assert!(
            msg.contains(expect),
            "error\n  {msg}\ndoes not contain\n  {expect}"
        );
    }

    const OK: &str = r#"
description = "d"
[run]
simulator = "register_wb"
cycles = 20_000
sample_every = 1_000
params = { slaves = 4, leak = "none" }
[phases]
init = { cycles = [0, 2_000] }
steady = { cycles = [2_000, "end"] }
[[invariant]]
name = "cells bounded"
during = "steady"
type = "Signal<*>::Cons"
max_count = 5_000
[tolerance]
"rss.peak" = { relative = "10%", absolute = "2 MiB" }
"#;

    #[test]
    fn a_valid_scenario() {
        let s = parse(Path::new("scenarios/t.toml"), OK).expect("valid");
        assert_eq!(s.name, "t");
        assert_eq!(s.phases.len(), 2);
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::TypeCount {
                glob: "Signal<*>::Cons".into(),
                cmp: Cmp::AtMost,
                n: 5000
            }
        );
        assert_eq!(s.tolerances["rss.peak"].absolute, 2.0 * 1024.0 * 1024.0);
        assert!(s.fingerprint.starts_with("fnv1a64:"));
    }

    #[test]
    fn fingerprint_ignores_formatting_and_tolerances() {
        let a = parse(Path::new("t.toml"), OK).expect("valid");
        let reformatted = OK
            .replace("cycles = 20_000", "cycles   =   20000 # same")
            .replace("10%", "20%");
        let b = parse(Path::new("t.toml"), &reformatted).expect("valid");
        assert_eq!(a.fingerprint, b.fingerprint);
        let c = parse(Path::new("t.toml"), &OK.replace("20_000", "30_000")).expect("valid");
        assert_ne!(a.fingerprint, c.fingerprint);
    }

    #[test]
    fn unknown_key_names_line_and_choices() {
        check_err(
            &OK.replace("sample_every", "sample_evry"),
            "t.toml:6:1: unknown field `sample_evry`",
        );
    }

    #[test]
    fn unknown_circuit_lists_choices() {
        check_err(
            &OK.replace("\"register_wb\"", "\"register_wbb\""),
            "t.toml:4:13: unknown circuit `register_wbb` (hint: one of register_wb",
        );
    }

    #[test]
    fn bad_param_value_lists_choices() {
        check_err(
            &OK.replace("\"none\"", "\"nope\""),
            "`leak` = \"nope\" is not a choice (hint: one of none",
        );
        check_err(
            &OK.replace("slaves = 4", "slavs = 4"),
            "has no parameter `slavs`",
        );
    }

    #[test]
    fn phases_must_exist_and_be_ordered() {
        check_err(
            &OK.replace("during = \"steady\"", "during = \"stedy\""),
            "no phase named `stedy` (hint: one of always, init, steady)",
        );
        check_err(
            &OK.replace("[2_000, \"end\"]", "[30_000, 2_000]"),
            "range is empty or reversed",
        );
        check_err(&OK.replace("[0, 2_000]", "[0, 0]"), "range is empty");
        check_err(
            &OK.replace("[0, 2_000]", "[0, 50_000]"),
            "beyond the run's 20000 cycles",
        );
    }

    #[test]
    fn wrong_types_and_metrics() {
        check_err(
            &OK.replace("cycles = 20_000", "cycles = \"many\""),
            "t.toml:5:10: invalid type: string \"many\", expected i64",
        );
        check_err(
            &OK.replace("\"rss.peak\"", "\"rss.peek\""),
            "unknown metric `rss.peek` (hint: one of live_bytes.peak",
        );
        check_err(
            &OK.replace(
                "max_count = 5_000",
                "max_count = 5_000\nmax_growth_per_kcycle = 1",
            ),
            "has 2 bounds",
        );
    }

    #[test]
    fn names_cannot_escape_baselines() {
        let err = parse(Path::new("scenarios/../x.y.toml"), OK).expect_err("invalid");
        assert!(err.to_string().contains("may not contain dots"), "{err}");
    }

    #[test]
    fn never_panics_on_mangled_input() {
        // Every prefix, and every single-byte substitution by a character TOML cares about:
        // each is a scenario or an error, never a panic.
        for end in 0..=OK.len() {
            if let Some(prefix) = OK.get(..end) {
                let _ = parse(Path::new("t.toml"), prefix);
            }
        }
        for (i, _) in OK.char_indices() {
            for c in ['"', '[', ']', '=', '\n', '{', '}', ',', '#', '-', '9', 'x'] {
                let mut t = OK.to_owned();
                let end = i + OK[i..].chars().next().map_or(1, char::len_utf8);
                t.replace_range(i..end, &c.to_string());
                let _ = parse(Path::new("t.toml"), &t);
            }
        }
    }

    #[test]
    fn attribution_keys_belong_to_external_programs_and_leave_the_fingerprint_alone() {
        let cmd = |s: &Scenario| match &s.run {
            Run::Command(c) => c.diagnose,
            Run::Simulator(_) => panic!("a command scenario"),
        };
        let on = parse(Path::new("t.toml"), CMD).expect("valid");
        assert!(cmd(&on), "attribution is on by default");
        let off_text = CMD.replace(
            "command = [\"prog\"]",
            "command = [\"prog\"]\ndiagnose = false",
        );
        let off = parse(Path::new("t.toml"), &off_text).expect("valid");
        assert!(!cmd(&off));
        assert_eq!(
            on.fingerprint, off.fingerprint,
            "diagnose changes no figure"
        );
        let retainer = CMD.replace(
            "max = \"1 MiB\"",
            "max = \"1 MiB\"\nexpect = \"violated\"\nexpect_retainer = \"master\"",
        );
        let violated = CMD.replace("max = \"1 MiB\"", "max = \"1 MiB\"\nexpect = \"violated\"");
        assert_eq!(
            parse(Path::new("t.toml"), &retainer)
                .expect("valid")
                .fingerprint,
            parse(Path::new("t.toml"), &violated)
                .expect("valid")
                .fingerprint,
            "expect_retainer changes no figure"
        );
        check_err(
            &OK.replace(
                "sample_every = 1_000",
                "sample_every = 1_000\ndiagnose = false",
            ),
            "t.toml:7:12: `diagnose` applies to external commands, not to `simulator` runs",
        );
        check_err(
            &OK.replace(
                "max_count = 5_000",
                "max_count = 5_000\nexpect = \"violated\"\nexpect_retainer = \"f\"",
            ),
            "invariant `cells bounded`: `expect_retainer` names a function of a GHC program",
        );
        check_err(
            &CMD.replace(
                "max = \"1 MiB\"",
                "max = \"1 MiB\"\nexpect_retainer = \"f\"",
            ),
            "need `expect = \"violated\"`",
        );
    }

    #[test]
    fn retained_by_needs_a_ghc_program_and_one_exact_constructor() {
        check_err(
            &OK.replace("max_count = 5_000", "max_count = 5_000\nretained_by = \"*f*\""),
            "invariant `cells bounded`: `retained_by` is checked on a GHC retainer profile; simulator runs have none",
        );
        let ghc = |ty: &str, by: &str| {
            CMD.replace(
                "metric = \"heap\"\nmax = \"1 MiB\"",
                &format!("type = \"{ty}\"\nabsent = true\nretained_by = \"{by}\""),
            )
        };
        check_err(
            &ghc("clash-prelude:*", "*f*"),
            "`retained_by` needs `type` to name one constructor exactly",
        );
        check_err(
            &ghc("clash-prelude:Clash.Signal.Internal.:-", " "),
            "`retained_by` is empty",
        );
        let s = parse(
            Path::new("t.toml"),
            &ghc(
                "clash-prelude:Clash.Signal.Internal.:-",
                "*singleMasterInterconnect*",
            ),
        )
        .expect("valid");
        assert_eq!(
            s.invariants[0].retained_by.as_deref(),
            Some("*singleMasterInterconnect*")
        );
    }

    /// An external program's scenario, for checks of `[run]` keys of commands.
    const CMD: &str = r#"
description = "d"
[run]
command = ["prog"]
requires = ["ghc", "clash-prelude"]
closure_sizes = { "x" = 24 }
[[invariant]]
name = "heap bounded"
metric = "heap"
max = "1 MiB"
"#;

    #[test]
    fn build_inputs_may_reach_into_the_repository_but_are_relative() {
        let build = |inputs: &str| {
            CMD.replace("command = [\"prog\"]", "command = [\"{build}\"]")
                + &format!("[build]\ncommand = [\"ghc\", \"-i../src\", \"../src/Main.hs\"]\ninputs = {inputs}\n")
        };
        let s = parse(
            Path::new("t.toml"),
            &build("[\"../src\", \"haskell/*.hs\"]"),
        )
        .expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        let inputs = &c.build.as_ref().expect("a build").inputs;
        assert_eq!(
            inputs,
            &[PathBuf::from("../src"), PathBuf::from("haskell/*.hs")]
        );
        check_err(
            &build("[\"/src/Main.hs\"]"),
            "t.toml:13:11: build input `/src/Main.hs` must be relative to the scenarios directory",
        );
    }

    #[test]
    fn a_cabal_build_names_one_target_and_no_inputs() {
        let cabal = CMD.replace(
            "command = [\"prog\"]",
            "command = [\"{build}\", \"-p\", \"Leaky\"]",
        ) + "[build]\ncabal = \"test:unittests\"\n";
        let s = parse(Path::new("t.toml"), &cabal).expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        let b = c.build.as_ref().expect("a build");
        assert_eq!(b.cabal, Some(CabalTarget("test:unittests".into())));
        assert!(b.command.is_empty() && b.inputs.is_empty());
        check_err(
            &(cabal.clone() + "command = [\"ghc\"]\n"),
            "t.toml:12:9: `[build]` has both `command` and `cabal`",
        );
        check_err(
            &(cabal.clone() + "inputs = [\"src/Counter.hs\"]\n"),
            "t.toml:13:11: `inputs` apply to `command` builds: a `cabal` build is never cached by membound",
        );
        check_err(
            &cabal.replace("\"test:unittests\"", "\"test:unit tests\""),
            "t.toml:12:9: `cabal = \"test:unit tests\"` is not a cabal target",
        );
        check_err(
            &cabal.replace("cabal = \"test:unittests\"\n", "timeout = \"1 min\"\n"),
            "`[build]` needs `command = [\"…\"]` or `cabal = \"TARGET\"`",
        );
    }

    #[test]
    fn growth_windows_with_too_few_samples_are_rejected_with_the_sampling_to_use() {
        // The reproduction: a leak sampled every 40,000 cycles over 100,000 was blessed as
        // "held (4 samples)". A growth fit needs MIN_GROWTH_SAMPLES.
        let leak = OK
            .replace("cycles = 20_000", "cycles = 100_000")
            .replace("sample_every = 1_000", "sample_every = 40_000")
            .replace("[0, 2_000]", "[0, 10_000]")
            .replace("[2_000, \"end\"]", "[0, \"end\"]")
            .replace("max_count = 5_000", "max_growth_per_kcycle = 0");
        check_err(&leak, "t.toml:15:25: invariant `cells bounded`: a growth bound needs at least 5 samples in its window, but cycles 0 to 100000 sampled every 40000 cycles hold 4 (hint: `sample_every = 25000` or less in `[run]`)");
        let metric = leak.replace("type = \"Signal<*>::Cons\"", "metric = \"live_bytes\"");
        check_err(&metric, "hold 4 (hint: `sample_every = 25000` or less");
        // The suggestion is enough: at 25,000 the window holds five samples.
        parse(Path::new("t.toml"), &leak.replace("40_000", "25_000")).expect("valid");
        // A window too short for any sampling says so.
        let short = leak
            .replace("sample_every = 40_000", "sample_every = 1")
            .replace("during = \"steady\"", "cycles = [10, 12]");
        check_err(
            &short,
            "hold 3 (hint: widen the window to at least 4 cycles",
        );
    }

    #[test]
    fn inputs_that_say_nothing_or_too_little_are_rejected() {
        check_err(
            &OK.replace("sample_every = 1_000", "sample_every = 30_000"),
            "t.toml:6:16: `sample_every` = 30000 is larger than `cycles` = 20000",
        );
        check_err(
            &OK.replace("max_count = 5_000", "min_count = 0"),
            "t.toml:15:13: `min_count = 0` always holds (hint: `min_count = 1`",
        );
        check_err(
            &OK.replace("max_count = 5_000", "max_count = 5_000\nexpect = \"holds\"\nexpect_site = \"x\""),
            "t.toml:17:15: `expect_type`, `expect_site` and `expect_retainer` name the culprit of a violation, but `expect = \"holds\"`",
        );
        check_err(
            &OK.replace("name = \"cells bounded\"", "name = \" \""),
            "t.toml:12:8: an invariant's `name` is empty",
        );
        check_err(
            &OK.replace("absolute = \"2 MiB\"", "absolute = -5"),
            "t.toml:17:45: a tolerance's `absolute` must be non-negative, found -5",
        );
        check_err(
            &OK.replace("max_count = 5_000", "max_growth_per_kcycle = -1"),
            "a growth bound must be non-negative",
        );
        check_err(
            &CMD.replace("= 24", "= 0"),
            "t.toml:6:25: closure size of `x` is 0",
        );
        check_err(
            &CMD.replace("\"clash-prelude\"", "\"clash-prelud\""),
            "t.toml:5:20: unknown tool `clash-prelud` in `requires`: a misspelt tool would skip the scenario forever (hint: one of clash-prelude, ",
        );
        let s = parse(Path::new("t.toml"), CMD).expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        assert_eq!(c.requires, ["ghc", "clash-prelude"]);
        assert!(c.requires.iter().all(|r| tool(r).is_some()));
    }

    /// A massif run's scenario with this invariant.
    fn massif(invariant: &str) -> String {
        format!("description = \"d\"\n[run]\ncommand = [\"prog\"]\nprofile = \"massif\"\nrequires = [\"valgrind\"]\n[phases]\nsteady = {{ snapshot = [10, \"end\"] }}\n[[invariant]]\nname = \"i\"\nduring = \"steady\"\n{invariant}\n")
    }

    /// An rss run's scenario with these `[run]` keys and this invariant.
    fn rss(run: &str, invariant: &str) -> String {
        format!("description = \"d\"\n[run]\ncommand = [\"prog\"]\nprofile = \"rss\"\n{run}\n[[invariant]]\nname = \"i\"\n{invariant}\n")
    }

    #[test]
    fn retainers_and_diagnosis_belong_to_ghc_programs() {
        check_err(
            &massif("type = \"f*\"\nmax_bytes = \"64 KiB\"\nretained_by = \"*g*\""),
            "`retained_by` is found by GHC's retainer profiler, which `profile = \"massif\"` does not have",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1\nexpect = \"violated\"\nexpect_retainer = \"g\""),
            "`expect_retainer` is found by GHC's retainer profiler",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1").replace("requires", "diagnose = false\nrequires"),
            "`diagnose` applies to GHC programs",
        );
    }

    #[test]
    fn massif_sites_are_bounded_in_bytes_never_in_counts() {
        let s = parse(
            Path::new("t.toml"),
            &massif("type = \"record_write*\"\nmax_growth_per_snapshot = \"1 KiB\""),
        )
        .expect("valid");
        assert_eq!(s.x_unit(), crate::XUnit::Snapshot);
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::TypeBytesGrowth {
                glob: "record_write*".into(),
                max: 1024.0
            }
        );
        let s = parse(
            Path::new("t.toml"),
            &massif("type = \"f*\"\nmax_bytes = \"64 KiB\""),
        )
        .expect("valid");
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::TypeBytesMax {
                glob: "f*".into(),
                max: 65536
            }
        );
        check_err(&massif("type = \"f*\"\nmax_count = 3"), "t.toml:12:13: `max_count` counts objects, and massif attributes bytes to allocation sites without counting them (hint: `max_bytes = \"1 MiB\"`");
        check_err(
            &massif("metric = \"heap\"\nmax_growth_per_census = 0"),
            "`max_growth_per_census` applies to GHC programs; use `max_growth_per_snapshot`",
        );
        check_err(
            &massif("metric = \"rss\"\nmax = 1"),
            "unknown invariant metric `rss` (hint: `heap` for this kind of run",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1").replace("snapshot = [10", "census = [10"),
            "`census` ranges apply to GHC programs; this run's timeline is indexed by `snapshot`",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1").replace("requires", "rts = [\"-i0\"]\nrequires"),
            "`rts` applies to GHC programs",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1")
                .replace("requires", "sample_interval = \"5ms\"\nrequires"),
            "`sample_interval` applies to `profile = \"rss\"`",
        );
        check_err(
            &massif("metric = \"heap\"\nmax = 1")
                .replace("requires", "on_violation = \"pause\"\nrequires"),
            "`on_violation` does not apply to `profile = \"massif\"`",
        );
    }

    #[test]
    fn rss_runs_bound_the_resident_set_per_second_and_have_no_types() {
        let s = parse(
            Path::new("t.toml"),
            &rss(
                "sample_interval = \"20ms\"",
                "metric = \"rss\"\nmax_growth_per_second = \"1 MiB\"\nms = [500, \"end\"]",
            ),
        )
        .expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        assert_eq!(c.sample_interval, Duration::from_millis(20));
        assert_eq!(
            s.invariants[0].during,
            Window::Range(Endpoint::At(500), Endpoint::End)
        );
        let s = parse(
            Path::new("t.toml"),
            &rss("", "metric = \"rss\"\nmax = \"1 MiB\""),
        )
        .expect("valid");
        let Run::Command(c) = &s.run else {
            panic!("a command run")
        };
        assert_eq!(c.sample_interval, CommandRun::DEFAULT_SAMPLE_INTERVAL);
        check_err(
            &rss("", "type = \"x\"\nmax_bytes = 1"),
            "`profile = \"rss\"` samples the resident set only, with no types",
        );
        check_err(
            &rss("sample_interval = \"0ms\"", "metric = \"rss\"\nmax = 1"),
            "t.toml:5:19: `0ms` must be a positive duration",
        );
        check_err(
            &rss("sample_interval = \"0.5ms\"", "metric = \"rss\"\nmax = 1"),
            "below 1 ms",
        );
        check_err(
            &rss("", "metric = \"rss\"\nmax_growth_per_kcycle = 1"),
            "`max_growth_per_kcycle` applies to simulator runs; use `max_growth_per_second`",
        );
        check_err(
            &rss("", "metric = \"rss\"\nmax = 1\nmarkers = [\"a\", \"b\"]"),
            "unknown field `markers`",
        );
    }

    #[test]
    fn growth_bounds_take_byte_sizes_for_bytes_and_numbers_for_counts() {
        let bytes = OK
            .replace("type = \"Signal<*>::Cons\"", "metric = \"live_bytes\"")
            .replace("max_count = 5_000", "max_growth_per_kcycle = \"1 KiB\"");
        let s = parse(Path::new("t.toml"), &bytes).expect("valid");
        assert_eq!(
            s.invariants[0].predicate,
            Predicate::LiveBytesGrowth(1024.0)
        );
        check_err(
            &OK.replace("max_count = 5_000", "max_growth_per_kcycle = \"1 KiB\""),
            "a type's growth is in objects, not bytes",
        );
        check_err(
            &bytes.replace("1 KiB", "1 parsec"),
            "unknown byte unit `parsec`",
        );
    }

    #[test]
    fn circuits_validate_their_parameters_at_load() {
        check_err(
            &OK.replace("slaves = 4,", "slaves = 4, corrupt_slave = 4,"),
            "t.toml:7:24: register_wb: parameter `corrupt_slave` = 4 must be below `slaves` = 4 (hint: a slave index from 0 to 3, or -1 for none)",
        );
        parse(
            Path::new("t.toml"),
            &OK.replace("slaves = 4,", "slaves = 4, corrupt_slave = 3,"),
        )
        .expect("valid");
        // Defaults take part: `slaves` defaults to 4.
        check_err(
            &OK.replace("slaves = 4,", "corrupt_slave = 7,"),
            "t.toml:7:12: register_wb: parameter `corrupt_slave` = 7 must be below `slaves` = 4",
        );
    }

    #[test]
    fn a_catalogue_of_ones_own() {
        use sim::circuits::{Circuit, CircuitSpec, CircuitStatus, ParamSpec, Params, SimError};
        struct Idle;
        impl Circuit for Idle {
            fn step(&mut self) {}
            fn status(&self) -> CircuitStatus {
                CircuitStatus::default()
            }
        }
        static DEPTH: [ParamSpec; 1] = [ParamSpec {
            name: "depth",
            kind: ParamKind::Int { min: 1, max: 64 },
            default: "2",
            doc: "fifo depth",
        }];
        fn build(_: &Params) -> Result<Box<dyn Circuit>, SimError> {
            Ok(Box::new(Idle))
        }
        fn validate(p: &Params) -> Result<(), String> {
            if p.int("depth").count_ones() != 1 {
                return Err(format!(
                    "`depth` = {} must be a power of two",
                    p.int("depth")
                ));
            }
            Ok(())
        }
        let catalog = Catalog::new(vec![CircuitSpec {
            name: "fifo",
            doc: "a fifo",
            params: &DEPTH,
            build,
            validate,
        }]);
        let text = "description = \"d\"\n[run]\nsimulator = \"fifo\"\ncycles = 100\nparams = { depth = 3 }\n";
        let err = super::parse(Path::new("f.toml"), text, &catalog).expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "f.toml:5:12: fifo: `depth` = 3 must be a power of two"
        );
        let s = super::parse(Path::new("f.toml"), &text.replace("= 3", "= 4"), &catalog)
            .expect("valid");
        assert_eq!(
            s.run,
            Run::Simulator(SimRun {
                circuit: "fifo".into(),
                params: [("depth".to_string(), ParamValue::Int(4))].into(),
                cycles: 100,
                sample_every: 100
            })
        );
        // This workspace's circuits are not in that catalogue.
        let err = super::parse(Path::new("t.toml"), OK, &catalog).expect_err("invalid");
        assert!(
            err.to_string()
                .contains("unknown circuit `register_wb` (hint: one of fifo)"),
            "{err}"
        );
    }

    #[test]
    fn samples_in_a_window() {
        // 0, 1000, ..., 10000: the probe samples cycle 0, every multiple, and the last cycle.
        assert_eq!(sim_samples_in(0, 10_000, 1_000, 10_000), 11);
        assert_eq!(sim_samples_in(3_000, 10_000, 1_000, 10_000), 8);
        assert_eq!(sim_samples_in(0, 100_000, 40_000, 100_000), 4);
        assert_eq!(sim_samples_in(100, 900, 1_000, 10_000), 0);
        assert_eq!(sim_samples_in(0, 10_500, 1_000, 10_500), 12);
        assert_eq!(suggest_sample_every(0, 100_000, 100_000), Some(25_000));
        assert_eq!(suggest_sample_every(10, 12, 100), None);
    }

    #[test]
    fn an_invariant_to_hold_beside_an_expected_violation_is_refused() {
        let both = OK.replace(
            "max_count = 5_000\n",
            "max_count = 5_000\nexpect = \"violated\"\n[[invariant]]\nname = \"late\"\ncycles = [\"50%\", \"end\"]\nmetric = \"live_bytes\"\nmax = 1\n",
        );
        check_err(&both, "t.toml:17:1: invariant `late` (from 50% of the run to the end) is expected to hold, but invariant `cells bounded` (phase \"steady\" (from cycle 2,000 to the end)) expects a violation");
        // Two expected violations are fine: each must happen.
        let two = both.replace("max = 1\n", "max = 1\nexpect = \"violated\"\n");
        assert!(parse(Path::new("scenarios/t.toml"), &two).is_ok());
    }

    #[test]
    fn windows_read_as_the_scenario_writes_them() {
        let s = parse(Path::new("scenarios/t.toml"), OK).expect("valid");
        let text = |w: &Window| s.window_text(w).to_string();
        assert_eq!(text(&Window::Always), "always");
        assert_eq!(
            text(&Window::Range(Endpoint::At(30_000), Endpoint::End)),
            "from cycle 30,000 to the end"
        );
        assert_eq!(
            text(&Window::Phase("init".into())),
            "phase \"init\" (from cycle 0 to cycle 2,000)"
        );
        assert_eq!(
            text(&Window::Range(
                Endpoint::Fraction(0.25),
                Endpoint::Marker("m".into())
            )),
            "from 25% of the run to marker \"m\""
        );
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
