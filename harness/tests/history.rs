//! `membound history` over a small git repository built here: baselines committed, changed,
//! left alone by an unrelated commit and deleted; the history shows each metric at the commits
//! that moved it. Also `report --base` in the same repository: the commit that blessed a
//! change, and a scenario the PR removed.

use assert_cmd::Command;
use membound::report::{
    self, Commit, HistoryEntry, HistoryInput, ScenarioHistory, Shallow, Unreadable,
};
use serde_json::{json, Value};
use std::path::Path;

// Shared with the report tests; this one uses only its golden check.
#[allow(dead_code)]
mod report_data;

/// A scenario file the report accepts (one it refuses is reported as refused, not run).
const SCENARIO: &str =
    "description = \"test\"\n[run]\nsimulator = \"register_wb\"\ncycles = 10_000\n";

/// A baseline of scenario `name` with these whole-run metrics changed from the fixture's.
fn baseline(name: &str, metrics: &[(&str, u64)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/report/base/register_wb_steady.json");
    let mut b: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    b["scenario"] = Value::from(name);
    for (m, v) in metrics {
        b["metrics"][*m] = Value::from(*v);
    }
    serde_json::to_string_pretty(&b).expect("json")
}

/// Runs git in `dir` with a fixed identity and clock, so ids and dates are the test's own.
fn git(dir: &Path, args: &[&str], day: u32) -> String {
    let date = format!("2026-11-{day:02}T12:00:00Z");
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

struct Repo {
    dir: tempfile::TempDir,
    /// Short ids of the commits, oldest first.
    ids: Vec<String>,
}

/// Four commits: bless two baselines; change `register_wb` (six slaves); touch only the README;
/// delete `other`.
fn repo() -> Repo {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("baselines")).expect("mkdir");
    std::fs::create_dir_all(d.join("scenarios")).expect("mkdir");
    git(d, &["init", "-q"], 1);
    let write = |name: &str, text: &str| std::fs::write(d.join(name), text).expect("write");
    let mut ids = Vec::new();
    let mut commit = |subject: &str, day: u32| {
        git(d, &["add", "-A"], day);
        git(d, &["commit", "-q", "-m", subject], day);
        ids.push(git(d, &["log", "-1", "--format=%h"], day).trim().to_owned());
    };
    write(
        "baselines/register_wb.json",
        &baseline(
            "register_wb",
            &[
                ("allocations.count", 11_000_190),
                ("live_bytes.peak", 36_966),
            ],
        ),
    );
    write("baselines/other.json", &baseline("other", &[]));
    write("scenarios/register_wb.toml", SCENARIO);
    commit("Bless register_wb and other", 1);
    write(
        "baselines/register_wb.json",
        &baseline(
            "register_wb",
            &[
                ("allocations.count", 15_000_238),
                ("live_bytes.peak", 37_558),
            ],
        ),
    );
    commit("register_wb: six slaves", 2);
    write("README.md", "docs\n");
    commit("Docs only", 3);
    std::fs::remove_file(d.join("baselines/other.json")).expect("rm");
    commit("Remove other", 4);
    Repo { dir, ids }
}

fn membound(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("membound")
        .expect("membound binary")
        .current_dir(dir)
        .env_remove("CI")
        .args(["--work-dir", "work"])
        .args(args)
        .output()
        .expect("run membound")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = membound(dir, args);
    assert!(
        out.status.success(),
        "membound {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn history_shows_each_metric_at_the_commits_that_moved_it() {
    let r = repo();
    let md = ok(r.dir.path(), &["history", "register_wb"]);
    assert!(md.contains("### `register_wb`"), "{md}");
    assert!(
        md.contains("2 commits changed `baselines/register_wb.json`"),
        "{md}"
    );
    assert!(md.contains("**`allocations.count`**"), "{md}");
    assert!(
        md.contains(&format!(
            "| `{}` | 2026-11-01 | Bless register_wb and other | 11,000,190 |  |  |",
            r.ids[0]
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| `{}` | 2026-11-02 | register_wb: six slaves | 15,000,238 | +4,000,048 | +36.4% |",
            r.ids[1]
        )),
        "{md}"
    );
    assert!(
        md.contains("**`live_bytes.peak`**") && md.contains("+1.6%"),
        "{md}"
    );
    // Metrics that never moved, and commits that did not touch the baseline, are not shown.
    assert!(!md.contains("`rss.peak`"), "{md}");
    assert!(
        !md.contains("Docs only") && !md.contains("Remove other"),
        "{md}"
    );
    assert!(
        !md.contains("### `other`"),
        "the filter selects one scenario"
    );
    assert!(!md.contains("Shallow clone"), "{md}");
}

#[test]
fn history_of_one_metric_as_html_draws_a_step_per_commit() {
    let r = repo();
    let html = ok(
        r.dir.path(),
        &[
            "history",
            "register_wb",
            "--metric",
            "allocations.count",
            "--format",
            "html",
        ],
    );
    let mut reader = quick_xml::Reader::from_str(&html);
    reader.config_mut().check_end_names = true;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at byte {}: {e}", reader.buffer_position()),
        }
    }
    assert_eq!(html.matches("<svg").count(), 1, "one chart for one metric");
    assert!(html.contains(&format!(
        r#"data-commit="{}" data-value="11000190""#,
        r.ids[0]
    )));
    assert!(html.contains(&format!(
        r#"data-commit="{}" data-value="15000238""#,
        r.ids[1]
    )));
    assert!(!html.contains("live_bytes.peak"));
}

#[test]
fn a_deleted_baseline_ends_its_history() {
    let r = repo();
    let md = ok(
        r.dir.path(),
        &["history", "other", "--metric", "live_bytes.peak"],
    );
    assert!(
        md.contains(&format!(
            "| `{}` | 2026-11-04 | Remove other | — (no baseline) |  |  |",
            r.ids[3]
        )),
        "{md}"
    );
}

#[test]
fn since_starts_at_the_value_at_the_ref() {
    let r = repo();
    let md = ok(
        r.dir.path(),
        &["history", "register_wb", "--since", &r.ids[1]],
    );
    assert!(md.contains(&format!("Commits after {}", r.ids[1])), "{md}");
    // Nothing moved after the six-slave commit: the start is all there is.
    assert!(md.contains("0 of "), "{md}");
    let md = ok(
        r.dir.path(),
        &["history", "register_wb", "--since", &r.ids[0]],
    );
    assert!(md.contains("+36.4%"), "{md}");
}

#[test]
fn a_shallow_clone_says_how_deep_it_could_see() {
    let r = repo();
    let clone = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", r.dir.path().display());
    git(clone.path(), &["clone", "-q", "--depth", "1", &url, "c"], 5);
    let md = ok(&clone.path().join("c"), &["history"]);
    assert!(
        md.contains("Shallow clone: git could see 1 commit(s)"),
        "{md}"
    );
    assert!(md.contains("git fetch --unshallow"), "{md}");
}

#[test]
fn an_unknown_since_ref_is_an_error_that_says_what_to_fetch() {
    let r = repo();
    let out = membound(r.dir.path(), &["history", "--since", "origin/nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("git does not know the ref `origin/nosuch`")
            && err.contains("git fetch origin nosuch"),
        "{err}"
    );
}

/// `report --base` names the commit that blessed a change and the scenario the PR removed.
#[test]
fn report_against_a_base_names_the_blessing_commit_and_removed_scenarios() {
    let r = repo();
    let d = r.dir.path();
    std::fs::create_dir_all(d.join("results")).expect("mkdir");
    let result = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/report/results/register_wb_steady.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(result).expect("fixture")).expect("json");
    v["scenario"] = Value::from("register_wb");
    std::fs::write(
        d.join("results/register_wb.json"),
        serde_json::to_string(&v).expect("json"),
    )
    .expect("write");
    let md = ok(d, &["report", "--base", &r.ids[0], "--results", "results"]);
    let head: String = md
        .lines()
        .take_while(|l| !l.contains("scenarios run:"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(head.contains("This PR changes 2 baselines"), "{md}");
    assert!(
        head.contains(&format!(
            "- `other` removed: its baseline is deleted (was peak 341 KiB · steady 338 KiB · growth 0 B/kcycle) · in `{}` Remove other",
            r.ids[3]
        )),
        "{head}"
    );
    assert!(
        head.contains(&format!(
            "- `register_wb` re-blessed: allocations.count 11,000,190 → 15,000,238, +36.4%; live_bytes.peak +1.6% · in `{}` register_wb: six slaves",
            r.ids[1]
        )),
        "{head}"
    );
    let out = membound(
        d,
        &["report", "--base", "origin/nosuch", "--results", "results"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("git fetch origin nosuch"), "{err}");
}

/// A baseline at the base ref passes the checks of one read from disk: one copied from another
/// scenario would compare the PR with the wrong figures, so the report refuses it and says where.
#[test]
fn report_refuses_a_base_baseline_of_another_scenario() {
    let r = repo();
    let d = r.dir.path();
    std::fs::write(d.join("baselines/register_wb.json"), baseline("other", &[])).expect("write");
    git(d, &["commit", "-q", "-a", "-m", "Copy other's baseline"], 5);
    // The working tree's own is right: only the committed one is refused.
    std::fs::write(
        d.join("baselines/register_wb.json"),
        baseline("register_wb", &[]),
    )
    .expect("write");
    std::fs::create_dir_all(d.join("results")).expect("mkdir");
    let result = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/report/results/register_wb_steady.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(result).expect("fixture")).expect("json");
    v["scenario"] = Value::from("register_wb");
    std::fs::write(
        d.join("results/register_wb.json"),
        serde_json::to_string(&v).expect("json"),
    )
    .expect("write");
    let out = membound(d, &["report", "--base", "HEAD", "--results", "results"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HEAD:baselines/register_wb.json:")
            && err.contains("it belongs to scenario `other`, not `register_wb`"),
        "{err}"
    );
}

/// The invariant outcomes of a baseline written as the prose committed before they were typed.
fn with_prose_outcomes(json: &str) -> String {
    let mut b: Value = serde_json::from_str(json).expect("json");
    let invariants = b["invariants"].as_object_mut().expect("invariants");
    assert!(!invariants.is_empty(), "the fixture has invariants");
    for (_, v) in invariants.iter_mut() {
        *v = Value::from(match v["outcome"].as_str() {
            Some("held") => format!("held ({} samples)", v["samples"]),
            other => panic!("fixture outcome {other:?}"),
        });
    }
    serde_json::to_string_pretty(&b).expect("json")
}

/// A baseline committed when outcomes were prose, then one that is not JSON at all, then a
/// typed one: the history reads the first, names the second as unreadable, and goes on.
#[test]
fn history_reads_every_committed_format_and_goes_past_an_unreadable_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("baselines")).expect("mkdir");
    git(d, &["init", "-q"], 1);
    let mut ids = Vec::new();
    let mut commit = |text: &str, subject: &str, day: u32| {
        std::fs::write(d.join("baselines/s.json"), text).expect("write");
        git(d, &["add", "-A"], day);
        git(d, &["commit", "-q", "-m", subject], day);
        ids.push(git(d, &["log", "-1", "--format=%h"], day).trim().to_owned());
    };
    let prose = with_prose_outcomes(&baseline("s", &[("allocations.count", 100)]));
    assert!(prose.contains("samples)\""), "{prose}");
    commit(&prose, "Bless s (prose outcomes)", 1);
    commit("{ \"scenario\": \"s\", oops", "Break s", 2);
    commit(
        &baseline("s", &[("allocations.count", 150)]),
        "Re-bless s",
        3,
    );
    let md = ok(d, &["history", "s", "--metric", "allocations.count"]);
    assert!(
        md.contains(&format!(
            "| `{}` | 2026-11-01 | Bless s (prose outcomes) | 100 |  |  |",
            ids[0]
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "Unreadable at {} (2026-11-02, Break s), left out: {}:baselines/s.json:1:",
            ids[1],
            git(d, &["rev-parse", &ids[1]], 4).trim()
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| `{}` | 2026-11-03 | Re-bless s | 150 | +50 | +50.0% |",
            ids[2]
        )),
        "{md}"
    );
}

/// This repository's own history of `baselines/` (every format it ever committed) is read
/// whole: no commit is unreadable. Skipped in a copy without git history (a shallow clone reads
/// what it has).
#[test]
fn history_reads_this_repositorys_own_baselines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let log = std::process::Command::new("git")
        .current_dir(&root)
        .args(["log", "--format=%h", "--", "baselines/"])
        .output()
        .expect("run git");
    let commits = String::from_utf8_lossy(&log.stdout).lines().count();
    if !log.status.success() || commits == 0 {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but the checkout has no git history of baselines/"
        );
        eprintln!("no git history of baselines/: skipped");
        return;
    }
    let md = ok(&root, &["history", "register_wb", "--exact"]);
    assert!(md.contains("### `register_wb`"), "{md}");
    assert!(!md.contains("Unreadable at"), "{md}");
    assert!(
        md.contains("commits changed `baselines/register_wb.json`"),
        "{md}"
    );
    let all = ok(&root, &["history", "--format", "html"]);
    assert!(!all.contains("Unreadable at"), "{all}");
}

fn commit(id: &str, day: u32, subject: &str) -> Commit {
    Commit {
        id: id.into(),
        date: format!("2026-11-{day:02}"),
        subject: subject.into(),
    }
}

/// A baseline with these whole-run metrics and per-type figures, and nothing else.
fn baseline_of(scenario: &str, metrics: Value, types: Value) -> membound::store::Baseline {
    serde_json::from_value(json!({
        "scenario": scenario,
        "fingerprint": "f0",
        "description": "golden",
        "metrics": metrics,
        "types": types,
        "invariants": {},
        "toolchain": {},
        "host": {},
        "timeline": {"x_unit": "cycles", "points": []},
    }))
    .expect("a baseline")
}

/// A fixed history: the scope lines (`--since`, a shallow clone), one scenario whose metrics
/// step and are then removed, with an unreadable commit and text that needs escaping (`|`,
/// `<`, `&`, backticks), and one scenario with nothing to show.
fn golden_input() -> HistoryInput {
    let label = "Signal<Word>|Cons";
    let wishbone = |peak: u64, count: u64, cons: u64| {
        Some(baseline_of(
            "wishbone",
            json!({"live_bytes.peak": peak, "allocations.count": count}),
            json!({label: {"peak_count": cons}}),
        ))
    };
    HistoryInput {
        scenarios: vec![
            ScenarioHistory {
                scenario: "wishbone".into(),
                entries: vec![
                    HistoryEntry {
                        commit: commit("aaaa111", 1, "Bless wishbone"),
                        baseline: wishbone(1000, 50, 10),
                    },
                    HistoryEntry {
                        commit: commit("bbbb222", 2, "Fix `Vec<u8>` | leak <fast> & small"),
                        baseline: wishbone(800, 50, 12),
                    },
                    HistoryEntry {
                        commit: commit("cccc333", 4, "Remove wishbone"),
                        baseline: None,
                    },
                ],
                unreadable: vec![Unreadable {
                    commit: commit("dddd444", 3, "Old <format> | x"),
                    reason: "baselines/wishbone.json: line 3, column 5: unknown field `peak<>`"
                        .into(),
                }],
            },
            ScenarioHistory {
                scenario: "register_wb".into(),
                entries: vec![HistoryEntry {
                    commit: commit("eeee555", 1, "Bless register_wb"),
                    baseline: Some(baseline_of(
                        "register_wb",
                        json!({"live_bytes.peak": 2048}),
                        json!({}),
                    )),
                }],
                unreadable: Vec::new(),
            },
        ],
        metric: None,
        since: Some("v1.0".into()),
        shallow: Some(Shallow {
            oldest: Some(commit("aaaa111", 1, "Start <here> | now")),
            depth: 7,
        }),
    }
}

#[test]
fn history_markdown_matches_golden() {
    report_data::check_golden(
        "history",
        "history.md",
        &report::history_markdown(&golden_input()),
    );
}

#[test]
fn history_html_matches_golden() {
    report_data::check_golden(
        "history",
        "history.html",
        &report::history_html(&golden_input()),
    );
}

/// With no baseline changed, both outputs say so; the page still ends with its footer.
#[test]
fn an_empty_history_says_no_baseline_changed() {
    let input = HistoryInput::default();
    assert_eq!(
        report::history_markdown(&input),
        "## Baseline history\n\nNo baseline changed in the history seen.\n\n"
    );
    let html = report::history_html(&input);
    assert!(
        html.contains(
            "<h1>Baseline history</h1>\n<p>No baseline changed in the history seen.</p>\n<footer>"
        ),
        "{html}"
    );
}
