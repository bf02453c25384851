//! The `membound` command line end to end: scenario files in a temporary directory in,
//! exit codes, messages and files out.

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A scratch project: scenarios/, baselines/ and a work directory.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("scenarios")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("baselines")).expect("mkdir");
        Project { dir }
    }

    fn scenario(&self, name: &str, text: &str) -> &Self {
        std::fs::write(
            self.dir
                .path()
                .join("scenarios")
                .join(format!("{name}.toml")),
            text,
        )
        .expect("write scenario");
        self
    }

    fn baseline(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join("baselines")
            .join(format!("{name}.json"))
    }

    fn result(&self, name: &str) -> serde_json::Value {
        let p = self
            .dir
            .path()
            .join("work/results")
            .join(format!("{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(p).expect("result file"))
            .expect("result json")
    }

    /// `membound <args>` in this project, outside CI unless the test says otherwise.
    /// The CLI as `cargo xtask` runs it (hints name `cargo xtask`).
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.bare(&["--hint-command", "cargo xtask"]);
        c.args(args);
        c
    }

    /// The CLI as a user runs it directly, from the project's root with the default
    /// directories (which hints then need not name).
    fn bare(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("membound").expect("membound binary");
        c.env_remove("CI")
            .current_dir(self.dir.path())
            .args(["--scenarios", "scenarios", "--baselines", "baselines"])
            .arg("--work-dir")
            .arg(self.dir.path().join("work"))
            .args(args);
        c
    }
}

fn register_wb(leak: &str, cycles: u64, extra: &str) -> String {
    format!(
        r#"description = "test"
[run]
simulator = "register_wb"
cycles = {cycles}
sample_every = 1_000
params = {{ slaves = 2, seed = 3, leak = "{leak}" }}
[phases]
steady = {{ cycles = [5_000, "end"] }}
{extra}
"#
    )
}

const NO_GROWTH: &str = r#"
[[invariant]]
name = "no growth"
during = "steady"
metric = "live_bytes"
max_growth_per_kcycle = 0
"#;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn an_invalid_scenario_names_file_line_and_choices() {
    let p = Project::new();
    p.scenario("bad", &register_wb("nope", 1000, ""));
    let out = p.cmd(&["check"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "bad.toml:6:41: `leak` = \"nope\" is not a choice (hint: one of none, lazy_unzip"
        ),
        "{text}"
    );
}

#[test]
fn missing_baseline_then_bless_then_pass() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 20_000, NO_GROWTH));
    let out = p.cmd(&["run"]).output().expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("no baseline for `flat` (hint: create it with `cargo xtask bless flat`)"),
        "{text}"
    );
    assert!(
        p.baseline("flat").with_extension("json.new").exists(),
        "a mismatching run leaves its result for review"
    );

    let out = p.cmd(&["bless"]).output().expect("bless");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("accepted pending result"),
        "bless takes the pending result without re-running"
    );
    assert!(p.baseline("flat").exists());
    assert!(!p.baseline("flat").with_extension("json.new").exists());

    let out = p.cmd(&["run"]).output().expect("run");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("test result: ok. 1 passed; 0 failed"));
}

#[test]
fn ci_never_writes_pending_results() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 8_000, ""));
    let out = p.cmd(&["run"]).env("CI", "true").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(!p.baseline("flat").with_extension("json.new").exists());
}

#[test]
fn a_changed_scenario_or_figure_fails_with_table_diff_and_bless_command() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 10_000, ""));
    assert!(p.cmd(&["bless"]).output().expect("bless").status.success());
    // Tamper with one exact figure by one byte: the comparison must see it.
    let path = p.baseline("flat");
    let text = std::fs::read_to_string(&path).expect("baseline");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let peak = v["metrics"]["live_bytes.peak"].as_i64().expect("peak");
    v["metrics"]["live_bytes.peak"] = (peak - 1).into();
    std::fs::write(&path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    let out = p.cmd(&["run"]).output().expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("1 metric(s) regressed beyond tolerance"),
        "{text}"
    );
    assert!(text.contains("live_bytes.peak"), "{text}");
    assert!(text.contains("REGRESSED"), "{text}");
    assert!(
        text.contains(&format!("-    \"live_bytes.peak\": {}", peak - 1)),
        "{text}"
    );
    assert!(text.contains("cargo xtask bless flat"), "{text}");

    // A scenario edited since its blessing is stale.
    p.scenario("flat", &register_wb("none", 12_000, ""));
    let text = stdout(&p.cmd(&["run"]).output().expect("run"));
    assert!(
        text.contains("changed since its baseline was blessed"),
        "{text}"
    );
}

#[test]
fn bless_refuses_a_leak() {
    let p = Project::new();
    p.scenario(
        "leaky",
        &register_wb("lazy_record_update", 30_000, NO_GROWTH),
    );
    let out = p.cmd(&["bless"]).output().expect("bless");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("refusing to bless `leaky`: invariant `no growth` is not as declared"),
        "{text}"
    );
    assert!(!p.baseline("leaky").exists());
}

#[test]
fn an_undetected_culprit_fails() {
    let p = Project::new();
    let expect = format!("{NO_GROWTH}expect = \"violated\"\n");
    p.scenario("culprit", &register_wb("none", 20_000, &expect));
    let text = stdout(&p.cmd(&["run"]).output().expect("run"));
    assert!(
        text.contains("the leak this scenario exists to catch went undetected"),
        "{text}"
    );
}

#[test]
fn a_culprit_stops_within_one_sample_of_the_violation() {
    let p = Project::new();
    let expect = format!("{NO_GROWTH}expect = \"violated\"\nexpect_type = \"LazyM2S::Update\"\nexpect_site = \"interconnect/record_update\"\n");
    p.scenario(
        "culprit",
        &register_wb("lazy_record_update", 1_000_000, &expect),
    );
    let out = p.cmd(&["run"]).output().expect("run");
    let r = p.result("culprit");
    let stopped = r["stopped_at"].as_u64().expect("stopped_at");
    let inv = &r["invariants"][0]["outcome"];
    assert_eq!(inv["outcome"], "violated", "{}", stdout(&out));
    assert_eq!(inv["x"].as_u64(), Some(stopped));
    // The fifth steady sample is the first where a growth bound can be judged.
    assert_eq!(stopped, 5_000 + 4 * 1_000);
    let last = r["current"]["timeline"]["points"]
        .as_array()
        .and_then(|p| p.last())
        .and_then(|p| p["x"].as_u64());
    assert_eq!(last, Some(stopped), "no sample after the violation");
    let simulated: u64 = r["simulated_cycles"].as_u64().expect("simulated_cycles");
    assert!(
        simulated > stopped && simulated <= stopped + 1_000,
        "the child went on for at most one interval: {simulated}"
    );
}

#[test]
fn exact_metrics_are_identical_run_to_run() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 50_000, NO_GROWTH));
    let mut runs = Vec::new();
    for _ in 0..2 {
        p.cmd(&["run"]).output().expect("run");
        let r = p.result("flat");
        let mut m = r["current"]["metrics"]
            .as_object()
            .expect("metrics")
            .clone();
        m.remove("rss.peak");
        m.remove("jemalloc.resident.peak");
        runs.push((m, r["current"]["types"].clone()));
    }
    assert!(runs[0].0.contains_key("allocations.count"));
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn the_budget_kills_a_runaway_run() {
    let p = Project::new();
    p.scenario(
        "slow",
        &register_wb("none", 100_000_000, "[budget]\ntimeout = \"500ms\"\n"),
    );
    let start = std::time::Instant::now();
    let out = p.cmd(&["run"]).output().expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("timed out after"), "{text}");
    // The simulator's samples streamed into the run's figures before the kill: counted, and
    // charted in the result.
    let n = samples_so_far(&text);
    assert!(n > 0, "samples before the timeout: {text}");
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.dir.path().join("work/results/slow.json")).expect("result"),
    )
    .expect("result json");
    assert_eq!(result["samples"].as_u64(), Some(n), "{result}");
    assert!(start.elapsed().as_secs() < 30);
}

#[test]
fn an_interrupted_bless_leaves_every_baseline_whole() {
    let p = Project::new();
    for i in 0..4 {
        p.scenario(
            &format!("s{i}"),
            &register_wb("none", 200_000 + i * 1000, ""),
        );
        // An existing baseline each, to be replaced.
        std::fs::write(p.baseline(&format!("s{i}")), "{\"old\": true}\n").expect("write");
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("membound"))
        .env_remove("CI")
        .args([
            "--scenarios",
            &path(&p, "scenarios"),
            "--baselines",
            &path(&p, "baselines"),
            "--work-dir",
            &path(&p, "work"),
            "bless",
            "--force",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = child.kill();
    let _ = child.wait();
    for i in 0..4 {
        let text =
            std::fs::read_to_string(p.baseline(&format!("s{i}"))).expect("baseline still there");
        let v: serde_json::Value =
            serde_json::from_str(&text).expect("every baseline is whole JSON, old or new");
        assert!(v.get("old").is_some() || v.get("metrics").is_some());
    }
}

fn path(p: &Project, sub: &str) -> String {
    Path::new(p.dir.path())
        .join(sub)
        .to_string_lossy()
        .into_owned()
}

fn clash_fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fixtures/clash/toy-wishbone-ghc-9.0.2-hT-i0.eventlog")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn profile_summarises_an_eventlog() {
    let p = Project::new();
    let out = p
        .cmd(&["profile", &clash_fixture()])
        .output()
        .expect("profile");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("samples: 153 (census index 0 to 152)"),
        "{text}"
    );
    assert!(text.contains("peak residency:"), "{text}");
    assert!(
        text.contains("clash-prelude:Clash.Signal.Internal.:-"),
        "labels are normalised: {text}"
    );
    assert!(text.contains("rts_ident: GHC-9.0.2"), "{text}");
}

#[test]
fn profile_json_is_the_whole_timeline() {
    let p = Project::new();
    let out = p
        .cmd(&["profile", "--json", &clash_fixture()])
        .output()
        .expect("profile");
    assert!(out.status.success());
    let tl: membound::Timeline = serde_json::from_slice(&out.stdout).expect("a Timeline");
    assert_eq!(tl.samples.len(), 153);
    assert_eq!(tl.x_unit, membound::XUnit::Census);
    let cons = tl
        .samples
        .iter()
        .filter_map(|s| s.types.get("clash-prelude:Clash.Signal.Internal.:-"))
        .map(|t| t.count)
        .max();
    assert!(cons.is_some_and(|c| c > 0));
}

#[test]
fn profile_streams_the_same_timeline_summary_and_markers_as_the_whole_file_reader() {
    let p = Project::new();
    let logs = common::eventlog_fixtures();
    let mut with_marks = 0;
    for log in logs {
        let opts = membound::source::ghc::ReadOptions::default();
        let whole = match membound::source::ghc::eventlog::read_eventlog(
            std::fs::File::open(&log).expect("open"),
            &opts,
        ) {
            Ok(t) => t,
            // Damaged fixtures are the robustness tests' business.
            Err(_) => continue,
        };
        let f = log.to_string_lossy();
        let out = p.cmd(&["profile", "--json", &f]).output().expect("profile");
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = serde_json::to_string_pretty(&whole).expect("json") + "\n";
        let got = stdout(&out);
        assert!(
            got == want,
            "{f}: the streamed JSON differs from the whole timeline's:\n{}",
            similar::TextDiff::from_lines(want.as_str(), got.as_str())
                .unified_diff()
                .header("whole timeline", "profile --json")
        );
        // The streamed summary is the whole timeline's, and places markers by the same rule.
        let out = p.cmd(&["profile", &f]).output().expect("profile");
        let text = stdout(&out);
        let want = membound::report::summary::summarise(&whole);
        assert!(
            text == want,
            "{f}: the streamed summary differs from the whole timeline's:\n{}",
            similar::TextDiff::from_lines(want.as_str(), text.as_str())
                .unified_diff()
                .header("whole timeline", "profile")
        );
        for m in &whole.marks {
            with_marks += 1;
            assert!(
                text.contains(&format!("  census index {}: {}\n", m.x, m.label)),
                "{f}: marker {m:?} not at its place in the summary:\n{text}"
            );
        }
    }
    assert!(with_marks > 0, "some fixture has markers");
}

#[test]
fn profile_says_which_invariants_a_profile_breaks() {
    let p = Project::new();
    let scenario = r#"description = "toy"
[run]
command = ["./leak"]
[[invariant]]
name = "few signal cells"
type = "clash-prelude:Clash.Signal.Internal.:-"
max_count = 10
[[invariant]]
name = "heap under 1 MiB"
metric = "heap"
max = "1 MiB"
"#;
    p.scenario("toy", scenario);
    let file = p.dir.path().join("scenarios/toy.toml");
    let out = p
        .cmd(&[
            "profile",
            &clash_fixture(),
            "--scenario",
            &file.to_string_lossy(),
        ])
        .output()
        .expect("profile");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("invariant `few signal cells` violated at census"),
        "{text}"
    );
    assert!(text.contains("heap under 1 MiB: holds"), "{text}");
}

#[test]
fn corrupt_profiles_are_errors_with_offsets_not_panics() {
    let p = Project::new();
    let bytes = std::fs::read(clash_fixture()).expect("fixture");
    let path = p.dir.path().join("cut.eventlog");
    std::fs::write(&path, &bytes[..40]).expect("write");
    let out = p
        .cmd(&["profile", &path.to_string_lossy()])
        .output()
        .expect("profile");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("cut.eventlog: eventlog header cut off at byte 37"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

fn external(command: &str, budget: &str) -> String {
    format!(
        r#"description = "an external program"
[run]
command = ["sh", "-c", "{command}"]
{budget}
"#
    )
}

#[test]
fn a_failing_program_reports_status_and_stderr() {
    let p = Project::new();
    p.scenario(
        "crash",
        &external("echo the simulation fell over >&2; exit 3", ""),
    );
    let out = p.cmd(&["run"]).output().expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("exit status 3"), "{text}");
    assert!(
        text.contains("the simulation fell over"),
        "the tail of stderr: {text}"
    );
}

#[test]
fn a_program_over_budget_is_killed_with_its_children() {
    let p = Project::new();
    // A distinctive duration, to find leftovers by their command line.
    p.scenario(
        "hang",
        &external(
            "sleep 31.4159 & sleep 31.4159; wait",
            "[budget]\ntimeout = \"300ms\"\n",
        ),
    );
    let start = std::time::Instant::now();
    let out = p.cmd(&["run"]).output().expect("run");
    let text = stdout(&out);
    assert!(start.elapsed().as_secs() < 20, "killed promptly");
    assert!(text.contains("timed out after 300ms"), "{text}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.starts_with("sleep 31.4159"))
        .collect();
    assert!(
        survivors.is_empty(),
        "no process of the group survives: {survivors:?}"
    );
}

/// Whether GHC with clash-prelude is here; under CI it must be (`.ci/setup` installs it).
fn have_clash() -> bool {
    let ok = std::process::Command::new("ghc-pkg")
        .args(["--simple-output", "field", "clash-prelude", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but ghc / clash-prelude are missing (hint: bash .ci/setup)");
    }
    if !ok {
        eprintln!("ghc and clash-prelude not installed: skipped (hint: bash .ci/setup)");
    }
    ok
}

#[test]
fn a_killed_ghc_program_fails_with_the_timeline_so_far() {
    if !have_clash() {
        return;
    }
    let p = Project::new();
    std::fs::create_dir_all(p.dir.path().join("scenarios/haskell")).expect("mkdir");
    for file in ["RegisterWb.hs", "Membound.hs"] {
        let haskell = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/haskell")
            .join(file);
        std::fs::copy(&haskell, p.dir.path().join("scenarios/haskell").join(file)).expect("copy");
    }
    p.scenario(
        "killed",
        r#"description = "a leaking Clash run, killed by its budget"
[build]
command = ["ghc", "-O1", "-eventlog", "-rtsopts", "-ihaskell", "-outputdir", "{outdir}", "-o", "{out}", "haskell/RegisterWb.hs"]
inputs = ["haskell/RegisterWb.hs", "haskell/Membound.hs"]
[run]
command = ["{build}", "unshared_iterate", "1000000"]
[budget]
timeout = "3s"
"#,
    );
    // The build is cached across test runs in cargo's scratch directory for integration tests.
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-ghc");
    let mut c = Command::cargo_bin("membound").expect("membound binary");
    let out = c
        .env_remove("CI")
        .arg("--scenarios")
        .arg(p.dir.path().join("scenarios"))
        .arg("--baselines")
        .arg(p.dir.path().join("baselines"))
        .arg("--work-dir")
        .arg(&work)
        .arg("run")
        .output()
        .expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("timed out after 3s (killed by SIGKILL)"),
        "{text}"
    );
    let n = samples_so_far(&text);
    assert!(
        n > 0,
        "the censuses written before the kill are read: {text}"
    );
}

/// N in a failure's `timeline so far: N samples, …`.
fn samples_so_far(text: &str) -> u64 {
    text.split("timeline so far: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no timeline so far in {text}"))
}

/// Each file's content, to see what a command wrote.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                text,
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn bless_writes_only_what_changed_unless_forced() {
    let p = Project::new();
    p.scenario("a", &register_wb("none", 8_000, ""));
    p.scenario("b", &register_wb("none", 9_000, ""));
    assert!(p.cmd(&["bless"]).output().expect("bless").status.success());
    let blessed = snapshot(&p.dir.path().join("baselines"));
    assert_eq!(blessed.len(), 2, "{blessed:?}");
    // Noisy figures (RSS) differ from run to run; within tolerance nothing is rewritten.
    let out = p.cmd(&["bless"]).output().expect("bless");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches("unchanged (within tolerance").count(),
        2,
        "{text}"
    );
    assert_eq!(snapshot(&p.dir.path().join("baselines")), blessed);
    // One scenario moved: only its baseline is written.
    p.scenario("b", &register_wb("none", 10_000, ""));
    let text = stdout(&p.cmd(&["bless"]).output().expect("bless"));
    assert!(
        text.contains("a: unchanged") && text.contains("b: blessed"),
        "{text}"
    );
    let after = snapshot(&p.dir.path().join("baselines"));
    assert_eq!(after[0], blessed[0], "a's baseline is untouched");
    assert_ne!(after[1], blessed[1], "b's baseline is rewritten");
    let text = stdout(&p.cmd(&["bless", "--force"]).output().expect("bless"));
    assert_eq!(
        text.matches(": blessed").count(),
        2,
        "--force rewrites all: {text}"
    );
}

#[test]
fn an_exact_name_selects_one_scenario_and_a_glob_many() {
    let p = Project::new();
    for name in ["wb", "wb_one", "wb_two"] {
        p.scenario(name, &register_wb("none", 8_000, ""));
    }
    let text = stdout(&p.cmd(&["bless", "wb"]).output().expect("bless"));
    assert!(text.contains("wb: blessed"), "{text}");
    assert!(
        !text.contains("wb_one") && !text.contains("wb_two"),
        "{text}"
    );
    let text = stdout(&p.cmd(&["bless", "wb_*"]).output().expect("bless"));
    assert!(
        text.contains("wb_one: blessed") && text.contains("wb_two: blessed"),
        "{text}"
    );
    assert!(!text.contains("wb: "), "{text}");
    let out = p.cmd(&["run", "nothing*"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no scenario") && err.contains("wb_one"),
        "{err}"
    );
}

#[test]
fn hints_name_the_command_the_user_runs() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 8_000, ""));
    let text = stdout(&p.bare(&["run"]).output().expect("run"));
    assert!(
        text.contains("no baseline for `flat` (hint: create it with `membound bless flat`)"),
        "{text}"
    );
    assert!(!text.contains("xtask"), "{text}");
}

#[test]
fn a_corrupt_baseline_names_the_command_that_recovers() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 8_000, ""));
    std::fs::write(p.baseline("flat"), "{\n  \"scenario\": \"flat\",\n  oops\n").expect("write");
    std::fs::write(p.baseline("flat").with_extension("json.new"), "not json").expect("write");
    let text = stdout(&p.cmd(&["run"]).output().expect("run"));
    assert!(text.contains("flat.json:3:"), "{text}");
    assert!(text.contains("`cargo xtask bless --force flat`"), "{text}");
    // A plain bless cannot get past the corrupt pending file, and says what does.
    let out = p.cmd(&["bless", "flat"]).output().expect("bless");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("flat.json.new:1:") && text.contains("--force flat"),
        "{text}"
    );
    // The hint is a command that works.
    let out = p
        .cmd(&["bless", "--force", "flat"])
        .output()
        .expect("bless");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(!p.baseline("flat").with_extension("json.new").exists());
    let out = p.cmd(&["run"]).output().expect("run");
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn a_work_directory_that_cannot_be_written_fails_the_run() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 8_000, ""));
    assert!(p.cmd(&["bless"]).output().expect("bless").status.success());
    // A file where the results directory should be: no write under it can succeed (this
    // holds even for root, unlike a read-only mode).
    std::fs::remove_dir_all(p.dir.path().join("work")).expect("rm");
    std::fs::write(p.dir.path().join("work"), "in the way").expect("write");
    let out = p.cmd(&["run"]).output().expect("run");
    let text = stdout(&out);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("FAILED") || String::from_utf8_lossy(&out.stderr).contains("work"),
        "{text}"
    );
}

#[test]
fn temporary_files_of_a_killed_bless_are_removed_by_the_next_run() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 8_000, ""));
    assert!(p.cmd(&["bless"]).output().expect("bless").status.success());
    // What `kill -9` between creating and renaming a temporary file leaves behind.
    let stale = p.dir.path().join("baselines/.membound-999999999-x1y2.tmp");
    std::fs::write(&stale, "{").expect("write");
    assert!(p.cmd(&["run"]).output().expect("run").status.success());
    assert!(!stale.exists(), "the stale temporary file is gone");
}

#[test]
fn two_runs_at_once_on_one_work_directory_take_turns() {
    let p = Project::new();
    for i in 0..3 {
        p.scenario(&format!("s{i}"), &register_wb("none", 30_000, ""));
    }
    assert!(p.cmd(&["bless"]).output().expect("bless").status.success());
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("membound"))
            .env_remove("CI")
            .args(["--scenarios", &path(&p, "scenarios")])
            .args(["--baselines", &path(&p, "baselines")])
            .args(["--work-dir", &path(&p, "work")])
            .args(["run", "--jobs", "1"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stdout(&out));
    }
}

#[test]
fn profile_refuses_a_simulator_scenario() {
    let p = Project::new();
    p.scenario("flat", &register_wb("none", 8_000, ""));
    let scenario = p.dir.path().join("scenarios/flat.toml");
    let out = p
        .cmd(&["profile", &clash_fixture(), "--scenario"])
        .arg(&scenario)
        .output()
        .expect("profile");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("runs the simulator, not an external program"),
        "{err}"
    );
}

#[test]
fn a_profile_without_a_census_is_never_blessed() {
    let p = Project::new();
    // A `.hp` file with its header and no sample: what a program that ends before its first
    // census leaves.
    let header = r#"JOB \"quick\"\nDATE \"now\"\nSAMPLE_UNIT \"seconds\"\nVALUE_UNIT \"bytes\"\n"#;
    p.scenario(
        "quick",
        &format!(
            r#"description = "a program that writes no census"
[run]
command = ["sh", "-c", "printf '{header}' > quick.hp"]
profile = "ghc-hp"
"#
        ),
    );
    let out = p.cmd(&["bless"]).output().expect("bless");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("the run produced no sample"), "{text}");
    assert!(!p.baseline("quick").exists());
    let out = p.cmd(&["run"]).output().expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("nothing was measured"), "{text}");
}

/// `profile <(cat x.eventlog)`: a pipe is read once into a temporary file, so the kind is
/// told and the eventlog streamed twice as from the file itself.
#[test]
fn profile_reads_a_pipe() {
    let p = Project::new();
    let exe = assert_cmd::cargo::cargo_bin("membound");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("\"$0\" --work-dir \"$1\" profile <(cat \"$2\")")
        .arg(&exe)
        .arg(p.dir.path().join("work"))
        .arg(clash_fixture())
        .output()
        .expect("bash");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("samples: 153 (census index 0 to 152)"),
        "{text}"
    );
}

/// `profile FILE --scenario S` refuses type invariants on a cost-centre profile, where every
/// one of them would hold, as a run does.
#[test]
fn profile_refuses_type_invariants_on_a_cost_centre_profile() {
    let p = Project::new();
    p.scenario(
        "typed",
        r#"description = "type invariant"
[run]
command = ["prog"]
profile = "ghc-hp"
[[invariant]]
name = "no list cells"
type = "ghc-prim:GHC.Types.:"
absent = true
"#,
    );
    let hc = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/attribution/lazy_unzip-hc.hp");
    let scenario = p.dir.path().join("scenarios/typed.toml");
    let out = p
        .cmd(&[
            "profile",
            &hc.to_string_lossy(),
            "--scenario",
            &scenario.to_string_lossy(),
        ])
        .output()
        .expect("profile");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cost centre profile (`-hc`)"), "{text}");
}
