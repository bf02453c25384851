//! Issues #22 and #27, the judge's side: each input that once passed without being evaluated,
//! panicked, or failed with a message that did not say what or where, now fails or is
//! rejected with one that does. Every test drives the `membound` CLI on a scratch project.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

mod common;

use common::{assert_has, register_wb};

/// A scratch project: scenarios/, baselines/ and a work directory.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["scenarios", "baselines"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn scenario(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path("scenarios").join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write scenario");
        path
    }

    /// `membound <args>` in this project, outside CI; its exit code and all it printed.
    fn run(&self, args: &[&str]) -> (Option<i32>, String) {
        self.run_in("scenarios", "baselines", args)
    }

    /// `membound <args>` with these scenarios and baselines directories (relative to the
    /// project, which is the working directory).
    fn run_in(&self, scenarios: &str, baselines: &str, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::cargo_bin("membound")
            .expect("membound binary")
            .env_remove("CI")
            .current_dir(self.dir.path())
            .args(["--scenarios", scenarios, "--baselines", baselines])
            .arg("--work-dir")
            .arg(self.path("work"))
            .args(args)
            .output()
            .expect("run membound");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    }
}

/// An invariant that the lazy-unzip circuit violates within its first few thousand cycles.
const CAUGHT: &str = "[[invariant]]\nname = \"cells bounded\"\ntype = \"Signal<*>::Cons\"\nmax_count = 1_000\nexpect = \"violated\"\nexpect_type = \"Signal<WishboneS2M>::Cons\"\n";

#[test]
fn an_invariant_to_hold_beside_an_expected_violation_is_refused_at_load() {
    // `late` opens at cycle 30,000, after the expected violation stops the run: it would be
    // "not reached", and the scenario used to pass and be blessed.
    let p = Project::new();
    let late = "[[invariant]]\nname = \"late\"\ncycles = [30_000, \"end\"]\nmetric = \"live_bytes\"\nmax = \"1 GiB\"\n";
    p.scenario(
        "both",
        &register_wb("lazy_unzip", 50_000, 1_000, &format!("{CAUGHT}{late}")),
    );
    for cmd in ["check", "run", "bless"] {
        let (code, text) = p.run(&[cmd]);
        assert!(matches!(code, Some(1 | 2)), "{cmd} must fail: {text}");
        assert_has(&text, "both.toml:13:1: invariant `late` (from cycle 30,000 to the end) is expected to hold, but invariant `cells bounded` (always) expects a violation, and a run stops at its first violation");
    }
    assert!(
        !p.path("baselines/both.json").exists(),
        "nothing is blessed"
    );
}

#[test]
fn an_empty_scenarios_directory_is_an_error_naming_it() {
    let p = Project::new();
    for cmd in ["check", "run", "bless"] {
        let (code, text) = p.run(&[cmd]);
        assert_eq!(code, Some(2), "{cmd} must fail: {text}");
        assert_has(
            &text,
            "scenarios: no scenario files (`*.toml`) in this directory",
        );
    }
}

#[test]
fn a_duration_or_size_too_large_is_a_scenario_error_not_a_panic() {
    let p = Project::new();
    let budget = "[budget]\ntimeout = \"18446744073709551615s\"\n";
    p.scenario("forever", &register_wb("none", 5_000, 1_000, budget));
    for cmd in ["check", "run"] {
        let (code, text) = p.run(&[cmd]);
        assert!(matches!(code, Some(1 | 2)), "{cmd} must fail: {text}");
        assert_has(&text, "forever.toml:8:11: `18446744073709551615s` is longer than the longest duration membound accepts, 30 days");
        assert!(!text.contains("panicked"), "{text}");
    }
    let budget = "[budget]\nmax_rss = 9223372036854775807\n";
    p.scenario("forever", &register_wb("none", 5_000, 1_000, budget));
    let (code, text) = p.run(&["check"]);
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "forever.toml:8:11: `9223372036854775807` is larger than the largest byte size membound accepts, 1 EiB");
}

/// The command a failure tells the user to run (after "to accept this run as the new
/// baseline: "), run as pasted into `sh` in the project, with `membound` on `PATH`.
fn paste_hint(p: &Project, text: &str) -> (Option<i32>, String) {
    let hint = text
        .lines()
        .find_map(|l| l.strip_prefix("to accept this run as the new baseline: "))
        .unwrap_or_else(|| panic!("no bless hint in\n{text}"));
    let bin = assert_cmd::cargo::cargo_bin("membound");
    let dir = bin.parent().expect("binary's directory");
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(hint)
        .current_dir(p.dir.path())
        .env("PATH", path)
        .env_remove("CI")
        .output()
        .expect("run sh");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), format!("$ {hint}\n{text}"))
}

const HOLDS: &str =
    "[[invariant]]\nname = \"bytes bounded\"\nmetric = \"live_bytes\"\nmax = \"1 GiB\"\n";

#[test]
fn a_hint_pasted_as_printed_works_with_the_users_directories_and_odd_names() {
    let p = Project::new();
    for dir in ["s6", "b 6"] {
        std::fs::create_dir_all(p.path(dir)).expect("mkdir");
    }
    for name in ["nophase", "-rf"] {
        std::fs::write(
            p.path("s6").join(format!("{name}.toml")),
            register_wb("none", 5_000, 1_000, HOLDS),
        )
        .expect("write");
        let (code, text) = p.run_in("s6", "b 6", &["run", "--exact", "--", name]);
        assert_eq!(code, Some(1), "no baseline yet: {text}");
        let (code, pasted) = paste_hint(&p, &text);
        assert_eq!(code, Some(0), "{pasted}");
        assert!(
            p.path("b 6").join(format!("{name}.json")).exists(),
            "{pasted}"
        );
        let (code, text) = p.run_in("s6", "b 6", &["run", "--exact", "--", name]);
        assert_eq!(code, Some(0), "blessed: {text}");
    }
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

/// An rss scenario that exists to catch `exe`'s growth, with the default tolerances.
fn rss_leak_scenario(exe: &Path, mode: &str) -> String {
    format!(
        r#"description = "catches a growing resident set"
[run]
command = [{:?}, "{mode}"]
profile = "rss"
sample_interval = "25ms"
[phases]
steady = {{ ms = [300, "end"] }}
[[invariant]]
name = "rss flat"
during = "steady"
metric = "rss"
max_growth_per_second = "4 MiB"
expect = "violated"
"#,
        exe.to_string_lossy()
    )
}

#[test]
fn a_blessed_rss_leak_scenario_is_caught_again_on_every_rerun_and_fails_when_not_caught() {
    if !common::have("cc", "--version") {
        eprintln!("cc is not installed: skipped");
        return;
    }
    let build = common::Project::new();
    let exe = build.cc("grow", RSS_PROGRAM);
    let p = Project::new();
    p.scenario("grow", &rss_leak_scenario(&exe, "leaky"));
    let (code, text) = p.run(&["bless", "grow"]);
    assert_eq!(code, Some(0), "{text}");
    // Each run stops at its violation a little later or sooner, and its figures with it.
    for _ in 0..5 {
        let (code, text) = p.run(&["run", "grow"]);
        assert_eq!(code, Some(0), "a caught leak repeats: {text}");
        assert_has(&text, "scenario grow ... leak caught");
        assert_has(&text, "0 passed; 1 leak caught; 0 failed");
    }
    // The same scenario on a program that does not grow: the leak is not caught.
    p.scenario("grow", &rss_leak_scenario(&exe, "fixed"));
    let (code, text) = p.run(&["run", "grow"]);
    assert_eq!(code, Some(1), "{text}");
    assert_has(
        &text,
        "invariant `rss flat` was expected to be violated but held",
    );
}

#[test]
fn a_build_input_that_is_no_file_fails_check_at_its_entry() {
    let p = Project::new();
    let text = "description = \"d\"\n[build]\ncommand = [\"cc\", \"-o\", \"{out}\", \"c/prog.c\"]\ninputs = [\"c/prog.c\", \"c/missing.c\"]\n[run]\ncommand = [\"{build}\"]\nprofile = \"rss\"\n[[invariant]]\nname = \"r\"\nmetric = \"rss\"\nmax = \"1 GiB\"\n";
    std::fs::create_dir_all(p.path("scenarios/c")).expect("mkdir");
    std::fs::write(
        p.path("scenarios/c/prog.c"),
        "int main(void) { return 0; }\n",
    )
    .expect("write");
    p.scenario("built", text);
    let (code, out) = p.run(&["check"]);
    assert_eq!(code, Some(1), "{out}");
    assert_has(
        &out,
        "built.toml:4:23: build input `c/missing.c` is not a file",
    );
    std::fs::write(p.path("scenarios/c/missing.c"), "").expect("write");
    let (code, out) = p.run(&["check"]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_scenario_file_that_is_not_utf8_names_the_first_bad_byte() {
    let p = Project::new();
    let mut text = register_wb("none", 5_000, 1_000, HOLDS).into_bytes();
    // `description = "t\xe9st"`: Latin-1, as an editor might save it.
    text.splice(15..19, b"t\xe9st".iter().copied());
    std::fs::write(p.path("scenarios/latin1.toml"), &text).expect("write");
    let (code, out) = p.run(&["check"]);
    assert_eq!(code, Some(1), "{out}");
    assert_has(
        &out,
        "latin1.toml:1:17: the file is not UTF-8: byte 0xe9 at byte offset 16",
    );
}

#[test]
fn a_filter_matching_nothing_lists_the_nearest_names_and_the_count() {
    let p = Project::new();
    let text = register_wb("none", 5_000, 1_000, HOLDS);
    for i in 0..300 {
        p.scenario(&format!("scenario_{i:04}"), &text);
    }
    let (code, out) = p.run(&["run", "sceanrio_0042"]);
    assert_eq!(code, Some(2), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("no scenario in"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_has(
        line,
        "matches `sceanrio_0042` (300 scenarios; nearest: scenario_0042, ",
    );
    assert!(line.len() < 300, "one short line: {line}");
}

#[test]
fn a_pending_result_that_cannot_be_written_names_the_baselines_directory_and_the_os_error() {
    let p = Project::new();
    p.scenario("w", &register_wb("none", 5_000, 1_000, HOLDS));
    // Where the pending result goes there is a directory: the write fails as on a read-only
    // or full baselines directory would, whoever runs the test (root ignores permissions).
    std::fs::create_dir_all(p.path("baselines/w.json.new/x")).expect("mkdir");
    let (code, out) = p.run(&["run", "w"]);
    assert_eq!(code, Some(1), "{out}");
    assert_has(&out, "cannot write baselines/w.json.new: ");
    assert_has(&out, "(os error");
    assert_has(
        &out,
        "(hint: the directory baselines must exist, be writable and have free space)",
    );
    assert!(!out.contains("work directory"), "{out}");
}

#[test]
fn a_caught_leak_is_its_own_status_in_the_terminal_and_the_reports() {
    let p = Project::new();
    p.scenario("caught", &register_wb("lazy_unzip", 20_000, 1_000, CAUGHT));
    let (code, text) = p.run(&["bless", "caught"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = p.run(&["run", "caught"]);
    assert_eq!(code, Some(0), "{text}");
    assert_has(&text, "scenario caught ... leak caught");
    assert!(!text.contains("caught ... ok"), "{text}");
    assert_has(
        &text,
        "test result: ok. 0 passed; 1 leak caught; 0 failed; 0 ignored",
    );
    let md = std::fs::read_to_string(p.path("work/report.md")).expect("markdown report");
    assert_has(&md, "1 scenario run: 0 passed, 1 leak caught, 0 failed");
    assert_has(&md, "| `caught` | leak caught |");
    assert_has(&md, "0 invariant failures");
    let html = std::fs::read_to_string(p.path("work/report.html")).expect("HTML report");
    assert_has(&html, ">leak caught</span>");
    assert_has(&html, "0 held, 1 caught as expected");
}
